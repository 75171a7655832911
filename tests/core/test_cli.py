"""The `riskmodels` command: exit codes and messages."""

from __future__ import annotations

import pytest

from riskmodels.cli import main


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("riskmodels ")


def test_no_command_prints_help(capsys):
    assert main([]) == 2
    assert "usage: riskmodels" in capsys.readouterr().err


def test_bad_freq_is_a_usage_error(capsys):
    assert main(["data", "check", "--freq", "2m"]) == 2
    assert "freq must be one of" in capsys.readouterr().err


def test_missing_mirror_is_a_data_error(tmp_path, capsys):
    assert main(["data", "check", "--mirror", str(tmp_path / "none")]) == 3
    assert "does not exist" in capsys.readouterr().err


def test_empty_archive_cache_names_the_fetch_command(tmp_path, capsys):
    code = main(
        ["data", "check", "--source", "archive", "--cache-dir", str(tmp_path), "--symbols", "BTC"]
    )
    assert code == 3
    assert "riskmodels data fetch BTC" in capsys.readouterr().err


@pytest.mark.mirror
def test_data_check_on_mirror(mirror_path, tmp_path, capsys):
    # The raw 4h files end with an in-progress candle (PROVENANCE §2.1): an error -> exit 1.
    html = tmp_path / "q.html"
    code = main(
        [
            "data",
            "check",
            "--mirror",
            str(mirror_path),
            "--freq",
            "4h",
            "--symbols",
            "BTC",
            "--html",
            str(html),
        ]
    )
    out = capsys.readouterr()
    assert code == 1
    assert "in_progress BTC 2026-03-14 08:00" in out.out
    assert "missing_bars BTC 2018-06-26 04:00" in out.out
    assert html.read_text().count("<table") >= 1
    # The daily tidy panel of BTC has no error finding -> exit 0
    assert main(["data", "check", "--mirror", str(mirror_path), "--symbols", "BTC"]) == 0


# --------------------------------------------------------------------------- issue 16
def _cache_a_month(cache, *, tz_naive: bool = False, truncate: bool = False):
    """Write one cached 1d month for BTC spot as the archive would (optionally spoiled)."""
    import pandas as pd

    from riskmodels.data.archive import BinanceArchive, _write_parquet_atomic

    idx = pd.date_range("2024-01-01", periods=31, freq="D", tz="UTC", name="time")
    frame = pd.DataFrame(
        {c: 100.0 for c in ("open", "high", "low", "close", "volume", "quote_volume", "trades")},
        index=idx.as_unit("ns"),
    )
    path = BinanceArchive(cache)._cache_path("spot", "BTCUSDT", "1d", "2024-01")
    _write_parquet_atomic(frame, path, {"fetched_at": "2024-02-01T00:00:00+00:00"})
    if tz_naive:
        frame.index = frame.index.tz_localize(None)
        frame.to_parquet(path)
    if truncate:
        path.write_bytes(path.read_bytes()[:100])
    return path


@pytest.mark.parametrize(
    ("kw", "why"),
    [({"tz_naive": True}, "tz-naive"), ({"truncate": True}, "cannot be read")],
    ids=["tz-naive", "truncated"],
)
def test_data_check_on_an_unusable_cached_file_names_it_and_the_fix(tmp_path, capsys, kw, why):
    path = _cache_a_month(tmp_path, **kw)
    code = main(
        ["data", "check", "--source", "archive", "--cache-dir", str(tmp_path), "--symbols", "BTC"]
    )
    err = capsys.readouterr().err
    assert code == 1
    assert "DataError" in err and str(path) in err and why in err
    assert "riskmodels data fetch BTC --freq 1d --market spot --start 2024-01" in err
    assert "--force" in err


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        (["--deadline", "0"], "deadline must be a positive number of seconds"),
        (["--deadline", "nan"], "deadline must be a positive number of seconds"),
        (["--timeout", "-1"], "timeout must be a positive number of seconds"),
    ],
)
def test_data_fetch_bad_timeout_or_deadline_is_a_usage_error(tmp_path, capsys, extra, match):
    args = ["data", "fetch", "BTC", "--start", "2024-01-01", "--cache-dir", str(tmp_path)]
    # an unreachable base URL: the value is refused before any request is made
    assert main([*args, "--base-url", "http://127.0.0.1:9", "--no-progress", *extra]) == 2
    assert match in capsys.readouterr().err


def test_data_fetch_passes_force_timeout_and_deadline(tmp_path, monkeypatch, capsys):
    import riskmodels.data.archive as archive

    seen = {}

    def fake_fetch_many(symbols, freq, market, start, end, **kw):
        seen.update(kw, symbols=symbols)
        return {"BTC": []}

    monkeypatch.setattr(archive, "fetch_many", fake_fetch_many)
    args = ["data", "fetch", "BTC", "--start", "2024-01-01", "--cache-dir", str(tmp_path)]
    assert main([*args, "--force", "--timeout", "7", "--deadline", "90", "--no-progress"]) == 0
    arch = seen["archive"]
    assert seen["force"] is True and seen["progress"] is False
    assert (arch.timeout, arch.deadline, arch.cache_dir) == (7.0, 90.0, tmp_path)
    assert arch.base_url == archive.DEFAULT_BASE_URL
    assert main(args) == 0
    assert seen["force"] is False and seen["archive"].deadline == 600.0  # the default
    assert "BTC: 0 file(s) cached" in capsys.readouterr().out
