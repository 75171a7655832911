"""Frames returned by riskmodels.data carry small JSON metadata in ``attrs`` and round-trip
through parquet (issue 15, item 4). Built from a tiny mirror in ``tmp_path``; nothing is timed."""

from __future__ import annotations

import copy
import hashlib
import json
import pickle
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from riskmodels.data import (
    FileRecord,
    MirrorSource,
    check_quality,
    common_sample,
    file_records,
    load_ohlcv,
    load_prices,
    log_returns,
    resample_bars,
    simple_returns,
)
from riskmodels.data._attrs import FrozenDict, FrozenList, freeze, thaw

SYMS = ("BTC", "ETH")


def _bars(n: int, seed: int, p0: float) -> pd.DataFrame:
    g = np.random.default_rng(seed)
    close = p0 * np.exp(np.cumsum(g.normal(0, 0.02, n)))
    open_ = np.r_[p0, close[:-1]]
    return pd.DataFrame(
        {
            "open": open_,
            "high": np.maximum(open_, close) * 1.01,
            "low": np.minimum(open_, close) * 0.99,
            "close": close,
            "volume": np.full(n, 1000.0),
            "quote_volume": 1000.0 * close,
            "trades": np.full(n, 100.0),
        },
        index=pd.date_range("2024-01-01", periods=n, freq="1D", name="date"),
    )


@pytest.fixture
def tiny_mirror(tmp_path: Path) -> Path:
    """A mirror holding only ``tidy/binance_spot_1d_long.csv`` (BTC, ETH; ETH lists later)."""
    parts = []
    for i, s in enumerate(SYMS):
        b = _bars(40 - 5 * i, seed=i, p0=100.0 * (i + 1))
        b.index = b.index + pd.Timedelta(days=5 * i)
        parts.append(b.reset_index().assign(symbol=s))
    long = pd.concat(parts)[["date", "symbol", *parts[0].columns[1:8]]]
    long["date"] = long["date"].dt.strftime("%Y-%m-%d")
    path = tmp_path / "mirror" / "tidy" / "binance_spot_1d_long.csv"
    path.parent.mkdir(parents=True)
    long.to_csv(path, index=False)
    return tmp_path / "mirror"


def _frames(src: MirrorSource) -> dict[str, pd.DataFrame]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        px = load_prices(list(SYMS), source=src, quality="warn")
        return {
            "bars": src.bars("BTC"),
            "load_prices": px,
            "load_ohlcv": load_ohlcv(list(SYMS), source=src, quality="repair"),
            "log_returns": log_returns(px),
            "log_returns_span": log_returns(px, gaps="span"),
            "simple_returns": simple_returns(px),
            "common_sample": common_sample(px),
        }


def _jsonable(x: object) -> object:
    return json.loads(json.dumps(x))


def test_returned_frames_attrs_are_json_serialisable(tiny_mirror):
    for name, frame in _frames(MirrorSource(tiny_mirror)).items():
        text = json.dumps(frame.attrs)  # raises on any object (FileRecord, QualityReport, ...)
        assert len(text) < 4_000, name


def test_attrs_hold_files_as_dicts_with_true_sha256(tiny_mirror):
    px = _frames(MirrorSource(tiny_mirror))["load_prices"]
    (rec,) = px.attrs["files"]
    assert set(rec) == {"path", "sha256", "description", "as_of"}
    assert rec["path"] == "tidy/binance_spot_1d_long.csv"
    assert rec["sha256"] == hashlib.sha256((tiny_mirror / rec["path"]).read_bytes()).hexdigest()
    (fr,) = file_records(px)  # rebuilt as a FileRecord from the JSON form
    assert isinstance(fr, FileRecord) and fr.path == rec["path"] and fr.sha256 == rec["sha256"]
    assert (px.attrs["freq"], px.attrs["market"], px.attrs["price_type"]) == ("1d", "spot", "last")


def test_attrs_hold_the_quality_summary_not_the_report(tiny_mirror):
    frames = _frames(MirrorSource(tiny_mirror))
    q = frames["load_prices"].attrs["quality"]
    assert set(q) == set(SYMS)
    for summary in q.values():
        assert summary["policy"] == "warn" and summary["ok"] is True
        assert {"errors", "warnings", "infos", "repairs", "findings", "repaired"} <= set(summary)
        assert all(isinstance(v, int) for v in summary["findings"].values())
    assert frames["load_ohlcv"].attrs["quality"]["BTC"]["policy"] == "repair"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        off = load_prices("BTC", source=MirrorSource(tiny_mirror), quality="off")
    assert off.attrs["quality"] == {"BTC": None}


def test_quality_report_to_attrs_counts_findings_and_repairs():
    b = _bars(30, seed=3, p0=50.0)
    b.index = b.index.tz_localize("UTC").rename("time")
    b = pd.concat([b, b.iloc[[4]]]).sort_index(kind="stable")  # one duplicate timestamp
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rep = check_quality(b, freq="1d", policy="repair", symbol="BTC")
    s = rep.to_attrs()
    json.dumps(s)
    assert s["errors"] == len(rep.errors) >= 1 and s["ok"] is False
    assert s["findings"]["duplicate_timestamps"] == 1
    assert s["repairs"] == len(rep.repairs) and sum(s["repaired"].values()) == s["repairs"]
    assert s["n_bars"] == 31 and s["freq"] == "1d"


def test_returned_frames_round_trip_through_parquet(tiny_mirror, tmp_path):
    for name, frame in _frames(MirrorSource(tiny_mirror)).items():
        path = tmp_path / f"{name}.parquet"
        frame.to_parquet(path)
        back = pd.read_parquet(path)
        pd.testing.assert_frame_equal(back, frame, check_freq=False)
        assert back.attrs == _jsonable(frame.attrs), name


def test_quality_outputs_round_trip_through_parquet(tiny_mirror, tmp_path):
    bars = MirrorSource(tiny_mirror).bars("BTC")
    bars = pd.concat([bars, bars.iloc[[3]]]).sort_index(kind="stable")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rep = check_quality(bars, freq="1d", policy="repair", symbol="BTC")
    outputs = {
        "data": rep.data,
        "table": rep.table(),
        "repairs": rep.repairs_table(),
        "summary": rep.summary(),
    }
    for name, frame in outputs.items():
        json.dumps(frame.attrs)
        path = tmp_path / f"{name}.parquet"
        frame.to_parquet(path)
        back = pd.read_parquet(path)
        pd.testing.assert_frame_equal(back, frame, check_freq=False)


def test_resampled_bars_attrs_are_json_and_round_trip(tmp_path):
    idx = pd.date_range("2024-01-01", periods=24 * 60, freq="1min", tz="UTC", name="time")
    one = pd.DataFrame(
        {c: np.linspace(100.0, 101.0, idx.size) for c in ("open", "high", "low", "close")}
        | {"volume": 1.0, "quote_volume": 100.0, "trades": 1.0},
        index=idx,
    )
    five = resample_bars(one, "5m")
    json.dumps(five.attrs)
    assert five.attrs["resample"]["from"] == "1m"
    five.to_parquet(tmp_path / "five.parquet")
    assert pd.read_parquet(tmp_path / "five.parquet").attrs == _jsonable(five.attrs)


def test_attrs_values_are_shared_by_copies_not_deep_copied(tiny_mirror):
    # pandas deep-copies attrs on every operation: the metadata is read-only and shared.
    px = _frames(MirrorSource(tiny_mirror))["load_prices"]
    derived = px["BTC"] * 2
    assert derived.attrs["files"] is px.attrs["files"]
    assert derived.attrs["quality"] is px.attrs["quality"]
    assert copy.deepcopy(px.attrs)["quality"] is px.attrs["quality"]
    with pytest.raises(TypeError, match="read-only"):
        px.attrs["quality"]["BTC"]["errors"] = 5
    with pytest.raises(TypeError, match="read-only"):
        px.attrs["files"].append({})
    px.attrs["note"] = "top-level keys can still be added"  # the attrs dict itself is plain


def test_frozen_json_values_compare_dump_and_pickle_like_plain_ones():
    plain = {"a": [1, {"b": [2.5, None]}], "c": "x", "t": (1, 2)}
    frozen = freeze(plain)
    assert isinstance(frozen, FrozenDict) and isinstance(frozen["a"], FrozenList)
    assert frozen == {"a": [1, {"b": [2.5, None]}], "c": "x", "t": [1, 2]}
    assert json.dumps(frozen) == json.dumps({**plain, "t": [1, 2]})
    assert pickle.loads(pickle.dumps(frozen)) == frozen
    assert copy.deepcopy(frozen) is frozen and copy.copy(frozen) is frozen
    mutable = thaw(frozen)
    mutable["a"].append(3)
    assert type(mutable) is dict and frozen["a"] == [1, {"b": [2.5, None]}]


def test_file_record_to_dict_and_back():
    rec = FileRecord("a/b.csv", "ab" * 32, "a file", pd.Timestamp("2026-03-14 08:00", tz="UTC"))
    d = rec.to_dict()
    assert d == {
        "path": "a/b.csv",
        "sha256": "ab" * 32,
        "description": "a file",
        "as_of": "2026-03-14T08:00:00+00:00",
    }
    assert FileRecord.from_dict(d) == rec
    assert FileRecord.from_dict(rec) is rec
    assert FileRecord.from_dict({"path": "x", "sha256": "y"}) == FileRecord("x", "y")
