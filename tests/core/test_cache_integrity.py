"""Integrity of the on-disk task cache (issue 16): entries carry a SHA-256 and an HMAC-SHA256
under the cache's secret key, checked before anything is unpickled.

Where expected numbers come from
--------------------------------
* Data are iid Student-t(5) daily log returns (scale 2%) from a seeded generator; the values do
  not matter, only that a damaged cache must give exactly what a run without a cache gives.
* The reference is the same walk-forward run without a cache (``backend="sequential"``). A
  corrupt, tampered or planted entry is ignored and its task recomputed with the same inputs and
  seeds, so results must equal the reference exactly (``check_exact=True``).
"""

from __future__ import annotations

import hashlib
import os
import pickle
import re
import stat
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from riskmodels.backtest import ParametricModel, walk_forward
from riskmodels.exceptions import ConfigError
from riskmodels.parallel import (
    CACHE_KEY_FILE,
    ENTRY_MAGIC,
    CacheIntegrityWarning,
    TaskCache,
    verify_cache,
)
from riskmodels.volatility import EWMA

#: 600 bars, window 250, refits every 50, 2 refits per chunk -> 4 tasks (cache entries).
KWARGS = dict(window=250, refit_every=50, chunk_size=2, seed=2024, progress=False)
N_TASKS = 4
HEADER = len(ENTRY_MAGIC) + 64


def simulate(nobs: int = 600, seed: int = 11) -> pd.DataFrame:
    gen = np.random.default_rng(seed)
    index = pd.date_range("2000-01-01", periods=nobs, freq="D", tz="UTC", name="time")
    return pd.DataFrame({"X": 0.02 * gen.standard_t(5, nobs)}, index=index)


def models() -> dict[str, Any]:
    return {"EWMA": ParametricModel(EWMA(0.94))}


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return simulate()


@pytest.fixture(scope="module")
def reference(data):
    return walk_forward(models(), data, None, backend="sequential", **KWARGS)


def run(data, cache_dir):
    return walk_forward(models(), data, None, backend="sequential", cache_dir=cache_dir, **KWARGS)


def entries(cache_dir: Path) -> list[Path]:
    return sorted(p for p in cache_dir.glob("*.pkl") if not p.name.startswith("."))


def warned_about(path: Path) -> Any:
    return pytest.warns(CacheIntegrityWarning, match=re.escape(str(path)))


def payload_of(blob: bytes) -> bytes:
    """The pickled payload of an entry."""
    assert blob.startswith(ENTRY_MAGIC)
    return blob[HEADER:]


class Planted:
    """Unpickling it creates ``marker`` (stands for arbitrary code run by ``pickle.load``)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> Any:
        return (Path.touch, (self.marker,))


@pytest.fixture
def cached(data, reference, tmp_path):
    """A cache folder filled by one run (whose results equal the reference)."""
    cache_dir = tmp_path / "cache"
    first = run(data, cache_dir)
    assert first.config["cache_hits"] == 0
    assert_frame_equal(first.forecasts, reference.forecasts, check_exact=True)
    assert len(entries(cache_dir)) == N_TASKS
    return cache_dir


# -- the walk-forward engine with a damaged cache ------------------------------------------------
def test_flipped_bit_is_detected_and_recomputed(data, reference, cached):
    victim = entries(cached)[1]
    blob = bytearray(victim.read_bytes())
    out, _ = pickle.loads(payload_of(bytes(blob)))
    at = bytes(blob).index(out.var.tobytes())  # inside the VaR array: still unpicklable
    blob[at + 3] ^= 0x10
    victim.write_bytes(bytes(blob))
    assert TaskCache(cached).verify().set_index("file").loc[str(victim), "status"] == "corrupt"

    with warned_about(victim):
        again = run(data, cached)
    assert again.config["cache_hits"] == N_TASKS - 1  # the damaged entry was a miss
    assert_frame_equal(again.forecasts, reference.forecasts, check_exact=True)
    # overwritten with a good entry: the next run loads everything, silently
    assert (TaskCache(cached).verify()["status"] == "ok").all()
    third = run(data, cached)
    assert third.config["cache_hits"] == N_TASKS
    assert_frame_equal(third.forecasts, reference.forecasts, check_exact=True)


def test_tampered_value_with_a_fresh_digest_is_untrusted(data, reference, cached):
    """A cached VaR multiplied by 10 and re-pickled, with the SHA-256 recomputed (anyone can):
    only the HMAC catches it."""
    victim = entries(cached)[0]
    blob = victim.read_bytes()
    out, warns = pickle.loads(payload_of(blob))
    var = out.var.copy()
    var.flat[0] *= 10
    forged = pickle.dumps((type(out)(var, out.es, out.diagnostics), warns), protocol=4)
    tag = blob[len(ENTRY_MAGIC) + 32 : HEADER]
    victim.write_bytes(ENTRY_MAGIC + hashlib.sha256(forged).digest() + tag + forged)
    report = TaskCache(cached).verify().set_index("file")
    assert report.loc[str(victim), "status"] == "untrusted"
    assert (report.drop(str(victim))["status"] == "ok").all()

    with warned_about(victim):
        again = run(data, cached)
    assert again.config["cache_hits"] == N_TASKS - 1
    assert_frame_equal(again.forecasts, reference.forecasts, check_exact=True)


@pytest.mark.parametrize("form", ["raw-pickle", "forged-header"])
def test_planted_pickle_is_never_unpickled(data, reference, cached, tmp_path, form):
    marker = tmp_path / "pwned"
    victim = entries(cached)[2]
    evil = pickle.dumps(Planted(marker), protocol=4)
    assert not marker.exists()
    if form == "raw-pickle":  # what the cache wrote before integrity tags
        victim.write_bytes(evil)
        status = "old-format"
    else:  # the attacker knows the format but not the key
        fake_tag = hashlib.sha256(b"guess").digest()
        victim.write_bytes(ENTRY_MAGIC + hashlib.sha256(evil).digest() + fake_tag + evil)
        status = "untrusted"
    assert TaskCache(cached).verify().set_index("file").loc[str(victim), "status"] == status

    with warned_about(victim):
        again = run(data, cached)
    assert not marker.exists()
    assert again.config["cache_hits"] == N_TASKS - 1
    assert_frame_equal(again.forecasts, reference.forecasts, check_exact=True)
    assert (TaskCache(cached).verify()["status"] == "ok").all()
    assert not marker.exists()  # verify() never unpickles either


def test_entry_copied_under_another_key_is_untrusted(data, reference, cached):
    a, b = entries(cached)[:2]
    b.write_bytes(a.read_bytes())  # a valid entry, but signed for another key
    assert TaskCache(cached).verify().set_index("file").loc[str(b), "status"] == "untrusted"
    with warned_about(b):
        again = run(data, cached)
    assert_frame_equal(again.forecasts, reference.forecasts, check_exact=True)


def test_lost_key_makes_every_entry_untrusted(data, reference, cached):
    (cached / CACHE_KEY_FILE).unlink()
    assert (TaskCache(cached).verify()["status"] == "untrusted").all()
    with pytest.warns(CacheIntegrityWarning, match=rf"{N_TASKS} entries ignored and recomputed"):
        again = run(data, cached)
    assert again.config["cache_hits"] == 0
    assert_frame_equal(again.forecasts, reference.forecasts, check_exact=True)
    assert (TaskCache(cached).verify()["status"] == "ok").all()  # signed with a new key


# -- TaskCache ------------------------------------------------------------------------------------
def test_entry_layout_and_round_trip(tmp_path):
    cache = TaskCache(tmp_path)
    assert not (tmp_path / CACHE_KEY_FILE).exists()  # made on the first store, not before
    assert cache.store("k", {"x": np.arange(3.0)}) is True
    blob = cache.file("k").read_bytes()
    payload = payload_of(blob)
    assert blob[len(ENTRY_MAGIC) : len(ENTRY_MAGIC) + 32] == hashlib.sha256(payload).digest()
    np.testing.assert_array_equal(cache.load("k")["x"], np.arange(3.0))
    assert cache.check("k")[0] == "ok"
    assert cache.check("absent") == ("missing", "", None)


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_key_file_is_private_and_checked(tmp_path):
    cache = TaskCache(tmp_path)
    cache.store("k", [1, 2])
    key = tmp_path / CACHE_KEY_FILE
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert len(key.read_bytes()) == 32
    key.chmod(0o644)
    with pytest.raises(ConfigError, match=r"cache\.key' is readable or writable by others"):
        TaskCache(tmp_path).load("k")
    key.chmod(0o600)
    key.write_bytes(b"short")
    with pytest.raises(ConfigError, match=r"holds 5 bytes, not 32.*Delete that file"):
        TaskCache(tmp_path).load("k")
    key.unlink()
    key.symlink_to(tmp_path / "k.pkl")
    with pytest.raises((ConfigError, OSError)):
        TaskCache(tmp_path).load("k")


def test_concurrent_first_stores_share_one_key(tmp_path):
    """Caches opened on the same folder at once agree on one key (created atomically)."""
    caches = [TaskCache(tmp_path) for _ in range(8)]
    barrier = threading.Barrier(len(caches))
    errors: list[BaseException] = []

    def store(i: int) -> None:
        try:
            barrier.wait()
            caches[i].store(f"k{i}", i)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=store, args=(i,)) for i in range(len(caches))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    fresh = TaskCache(tmp_path)
    assert [fresh.load(f"k{i}") for i in range(len(caches))] == list(range(len(caches)))
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [CACHE_KEY_FILE] + [f"k{i}.pkl" for i in range(len(caches))]
    )


def test_load_warns_and_verify_lists_and_deletes(tmp_path):
    cache = TaskCache(tmp_path)
    cache.store("good", {"a": 1})
    cache.store("flipped", {"a": 2})
    cache.store("tampered", {"a": 3})
    blob = bytearray(cache.file("flipped").read_bytes())
    blob[-3] ^= 0x01
    cache.file("flipped").write_bytes(bytes(blob))
    forged = pickle.dumps({"a": 30}, protocol=4)
    tag = cache.file("tampered").read_bytes()[len(ENTRY_MAGIC) + 32 : HEADER]
    cache.file("tampered").write_bytes(ENTRY_MAGIC + hashlib.sha256(forged).digest() + tag + forged)
    cache.file("old").write_bytes(pickle.dumps({"a": 4}, protocol=4))
    cache.file("empty").write_bytes(b"")
    (tmp_path / ".tmp-abc.pkl").write_bytes(b"a writer's temporary file")

    for k in ("flipped", "tampered", "old", "empty"):
        with warned_about(cache.file(k)):
            assert cache.load(k) is None
    assert cache.load("good") == {"a": 1}
    assert cache.load("old", warn=False) is None

    got = verify_cache(tmp_path)
    assert list(got.columns) == ["file", "key", "status", "detail", "bytes", "deleted"]
    assert dict(zip(got["key"], got["status"], strict=True)) == {
        "empty": "corrupt",
        "flipped": "corrupt",
        "good": "ok",
        "old": "old-format",
        "tampered": "untrusted",
    }
    assert not got["deleted"].any()
    assert got.set_index("key").loc["flipped", "detail"] == "SHA-256 of the payload does not match"

    cleaned = cache.verify(delete=True)
    assert dict(zip(cleaned["key"], cleaned["deleted"], strict=True)) == {
        "empty": True,
        "flipped": True,
        "good": False,
        "old": True,
        "tampered": True,
    }
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        ".tmp-abc.pkl",
        CACHE_KEY_FILE,
        "good.pkl",
    ]
    assert list(cache.verify()["status"]) == ["ok"]


def test_verify_cache_needs_an_existing_folder(tmp_path):
    with pytest.raises(ConfigError, match=r"is not a task-cache folder \(no such directory\)"):
        verify_cache(tmp_path / "nope")
    assert not (tmp_path / "nope").exists()  # not created
    assert verify_cache(tmp_path).empty


def test_cli_cache_verify_lists_bad_entries_and_exits_1(tmp_path, capsys):
    """`riskmodels cache verify DIR` (issue 16 item 3): ok entries pass (exit 0); a flipped
    byte is listed as not ok (exit 1) and --delete removes it."""
    from riskmodels.cli import main
    from riskmodels.parallel import TaskCache

    cache = TaskCache(tmp_path)
    assert cache.store("a", [1.0, 2.0]) is True
    assert cache.store("b", {"x": 3}) is True
    assert main(["cache", "verify", str(tmp_path)]) == 0
    assert "2 ok" in capsys.readouterr().out
    f = tmp_path / "b.pkl"
    raw = bytearray(f.read_bytes())
    raw[-3] ^= 0xFF
    f.write_bytes(bytes(raw))
    assert main(["cache", "verify", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "b.pkl" in out and "1 ok" in out
    assert main(["cache", "verify", str(tmp_path), "--delete"]) == 1
    assert not f.exists()
    assert main(["cache", "verify", str(tmp_path)]) == 0


# ----------------------------------------------------------------------------- durable writes
def _dead_pid() -> int:
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_store_fsyncs_the_entry_and_the_folder(tmp_path, monkeypatch):
    """Issue 16: the temporary file is flushed and fsync-ed before os.replace, the folder
    after it (so a crash cannot leave a renamed but empty entry)."""
    cache = TaskCache(tmp_path)
    cache.store("warm", 0)  # the key file exists: only the entry's writes are seen below
    events: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        events.append("fsync dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "fsync file")
        real_fsync(fd)

    def replace(src: Any, dst: Any) -> None:
        events.append("replace")
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    assert cache.store("k", {"a": 1})
    assert events == ["fsync file", "replace", "fsync dir"]
    assert cache.load("k") == {"a": 1}
    assert stat.S_IMODE(cache.file("k").stat().st_mode) == 0o600  # private, as the key


def test_temp_files_of_dead_writers_are_swept_on_open_and_verify(tmp_path, capsys):
    """Issue 16: temporary files a killed writer left are removed when the cache is next
    opened or verified: at once when their writer process is gone, else after an hour."""
    from riskmodels._io import HOST_TAG, STALE_TMP_S
    from riskmodels.cli import main

    cache = TaskCache(tmp_path)
    cache.store("k", 1)
    old = os.path.getmtime(cache.file("k")) - STALE_TMP_S - 60
    dead, me = _dead_pid(), os.getpid()
    planted = {
        "stale_legacy": f".tmp-{'a' * 8}.pkl",  # name of older versions, 1 h old
        "stale_report": ".latest.x1y2.tmp",  # reporting/archive name of older versions, 1 h old
        "dead_writer": f".k.pkl.tmp-{dead}-{HOST_TAG}-ab12.tmp",
        "live_writer": f".k.pkl.tmp-{me}-{HOST_TAG}-cd34.tmp",
        "other_host": f".k.pkl.tmp-{dead}-00000000-ef56.tmp",  # pid unknowable: age rule
        "fresh_legacy": ".tmp-fresh.pkl",
    }
    for label, name in planted.items():
        (tmp_path / name).write_bytes(b"partial")
        if label.startswith("stale"):
            os.utime(tmp_path / name, (old, old))
    (tmp_path / ".tmp-folder").mkdir()  # not a file: never touched

    reopened = TaskCache(tmp_path)
    assert sorted(p.name for p in reopened.removed_temp_files) == sorted(
        planted[k] for k in ("stale_legacy", "stale_report", "dead_writer")
    )
    left = {p.name for p in tmp_path.iterdir()}
    assert {planted[k] for k in ("live_writer", "other_host", "fresh_legacy")} <= left
    assert reopened.load("k") == 1  # entries untouched

    os.utime(tmp_path / planted["other_host"], (old, old))
    table = verify_cache(tmp_path)
    assert table.attrs["removed_temp_files"] == [str(tmp_path / planted["other_host"])]
    assert list(table["key"]) == ["k"] and (table["status"] == "ok").all()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [".tmp-folder", CACHE_KEY_FILE, "k.pkl", planted["live_writer"], planted["fresh_legacy"]]
    )

    os.utime(tmp_path / planted["fresh_legacy"], (old, old))
    assert main(["cache", "verify", str(tmp_path)]) == 0
    assert "removed 1 temporary file(s) left by dead writers" in capsys.readouterr().out


def test_archive_writer_sweeps_its_folder(tmp_path):
    """The data mirror's parquet writer (same atomic writer) sweeps a folder on its first
    write there."""
    from riskmodels._io import HOST_TAG
    from riskmodels.data.archive import _write_parquet_atomic

    folder = tmp_path / "spot" / "BTCUSDT"
    folder.mkdir(parents=True)
    stray = folder / f".2024-01.parquet.tmp-{_dead_pid()}-{HOST_TAG}-zz.tmp"
    stray.write_bytes(b"partial")
    frame = pd.DataFrame({"close": [1.0, 2.0]}, index=pd.date_range("2024", periods=2, tz="UTC"))
    _write_parquet_atomic(frame, folder / "2024-01.parquet", {"rows": 2})
    assert sorted(p.name for p in folder.iterdir()) == ["2024-01.parquet"]
    assert_frame_equal(pd.read_parquet(folder / "2024-01.parquet"), frame, check_freq=False)
