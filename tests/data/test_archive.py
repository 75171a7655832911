"""Tests of the Binance public-archive downloader against a local HTTP server.

Every file served is built here from a simulated random walk (never real data): a kline CSV in
the archive's 12-column layout, zipped, with a ``.CHECKSUM`` sibling holding its SHA-256. URL
paths in the tests are written out literally from Binance's documented layout
(github.com/binance/binance-public-data README, "Where do I access it"), independently of the
module's URL builder.

Expected bars come from the simulated arrays directly (not from parsing the CSV), so
"equal" checks the whole path CSV -> zip -> HTTP -> parse -> parquet -> read. Prices are
rounded to 2 decimals and written with 8, so the text parses back to the identical float64;
comparisons are therefore exact.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import socket
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from riskmodels.data.archive import BinanceArchive, SkippedPeriod, default_cache_dir, fetch_many
from riskmodels.data.base import FileRecord, file_records, sha256_file
from riskmodels.exceptions import (
    ChecksumError,
    ConfigError,
    DataNotFoundError,
    DownloadError,
    UnsafeArchiveError,
)

pytestmark = pytest.mark.network

NOW = pd.Timestamp("2024-03-10 12:00", tz="UTC")
MAX_REQUESTS = 400  # hard cap per test: a runaway retry loop fails instead of hanging


# --------------------------------------------------------------------------- local server
class _Routes:
    """What the server answers: path -> list of responses; the last one repeats.

    A response is ``(status, body)``; status ``"short"`` announces more bytes than it sends
    (a truncated transfer), ``"slow"`` waits 0.5 s before answering 200.
    """

    def __init__(self) -> None:
        self.routes: dict[str, list[tuple[int | str, bytes]]] = {}
        self.requests: list[str] = []
        self.lock = threading.Lock()

    def put(self, path: str, *responses: tuple[int | str, bytes]) -> None:
        with self.lock:
            self.routes[path] = list(responses)

    def count(self, path: str | None = None) -> int:
        with self.lock:
            return len(self.requests) if path is None else self.requests.count(path)


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        routes: _Routes = self.server.routes  # type: ignore[attr-defined]
        path = self.path.split("?", 1)[0]
        with routes.lock:
            routes.requests.append(path)
            seen = routes.requests.count(path)
            total = len(routes.requests)
            answers = routes.routes.get(path)
        if total > MAX_REQUESTS:
            self._send(410, b"request cap reached")
            return
        if answers is None:
            self._send(404, b"<Error><Code>NoSuchKey</Code></Error>")
            return
        status, body = answers[min(seen, len(answers)) - 1]
        if status == "short":
            self.send_response(200)
            self.send_header("Content-Length", str(len(body) + 1000))
            self.end_headers()
            self.wfile.write(body)
            return
        if status == "slow":
            time.sleep(0.5)
            status = 200
        self._send(int(status), body)

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that timed out and hung up is expected in one test


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[_Server]:
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    srv = _Server(("127.0.0.1", 0), _Handler)
    srv.routes = _Routes()  # type: ignore[attr-defined]
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join(timeout=5)


def base_url(srv: _Server) -> str:
    host, port = srv.server_address[:2]
    return f"http://{host}:{port}"


def routes(srv: _Server) -> _Routes:
    return srv.routes  # type: ignore[attr-defined]


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def make_archive(
    tmp_path: Path, server: _Server, sleeps: list[float]
) -> Callable[..., BinanceArchive]:
    def make(now: pd.Timestamp = NOW, **kw: object) -> BinanceArchive:
        kw.setdefault("retries", 3)
        kw.setdefault("timeout", 5.0)
        return BinanceArchive(
            tmp_path / "cache",
            base_url=base_url(server),
            sleep=sleeps.append,
            clock=lambda: now,
            **kw,  # type: ignore[arg-type]
        )

    return make


# --------------------------------------------------------------------------- synthetic data
def synth_bars(start: str, periods: int, step: str, seed: int, p0: float = 20_000.0):
    """A random-walk bar frame (prices rounded to cents) with a UTC ns index named time."""
    rng = np.random.default_rng(seed)
    times = pd.date_range(pd.Timestamp(start, tz="UTC"), periods=periods, freq=step)
    close = np.round(p0 * np.exp(np.cumsum(0.01 * rng.standard_normal(periods))), 2)
    open_ = np.concatenate([[p0], close[:-1]])
    high = np.round(np.maximum(open_, close) * (1 + 0.003 * rng.random(periods)), 2)
    low = np.round(np.minimum(open_, close) * (1 - 0.003 * rng.random(periods)), 2)
    volume = np.round(rng.uniform(10.0, 1000.0, periods), 4)
    return pd.DataFrame(
        {
            "open": open_,
            "high": high,
            "low": low,
            "close": close,
            "volume": volume,
            "quote_volume": np.round(volume * close, 4),
            "trades": rng.integers(100, 10_000, periods).astype("float64"),
        },
        index=pd.DatetimeIndex(times.as_unit("ns"), freq=None, name="time"),
    )


def kline_csv(bars: pd.DataFrame, *, unit: str = "ms", header: bool = False) -> bytes:
    """The archive's 12-column kline CSV for ``bars`` (open/close times in ms or µs)."""
    div = {"ms": 10**6, "us": 10**3}[unit]
    ns = bars.index.asi8
    step = (ns[1] - ns[0]) // div if len(ns) > 1 else 86_400 * 10**9 // div
    lines = []
    if header:
        lines.append(
            "open_time,open,high,low,close,volume,close_time,quote_volume,count,"
            "taker_buy_volume,taker_buy_quote_volume,ignore"
        )
    for t, row in zip(ns // div, bars.itertuples(index=False), strict=True):
        lines.append(
            f"{t},{row.open:.8f},{row.high:.8f},{row.low:.8f},{row.close:.8f},"
            f"{row.volume:.8f},{t + step - 1},{row.quote_volume:.8f},{int(row.trades)},"
            f"{row.volume / 2:.8f},{row.quote_volume / 2:.8f},0"
        )
    return ("\n".join(lines) + "\n").encode()


def make_zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def publish(srv: _Server, path: str, zip_bytes: bytes, *, checksum_of: bytes | None = None) -> str:
    """Serve ``zip_bytes`` at ``path`` and its CHECKSUM (of ``checksum_of`` if given)."""
    name = path.rsplit("/", 1)[-1]
    digest = hashlib.sha256(zip_bytes if checksum_of is None else checksum_of).hexdigest()
    routes(srv).put(path, (200, zip_bytes))
    routes(srv).put(path + ".CHECKSUM", (200, f"{digest}  {name}\n".encode()))
    return digest


def spot_month(pair: str, interval: str, month: str) -> str:
    return f"/data/spot/monthly/klines/{pair}/{interval}/{pair}-{interval}-{month}.zip"


def spot_day(pair: str, interval: str, day: str) -> str:
    return f"/data/spot/daily/klines/{pair}/{interval}/{pair}-{interval}-{day}.zip"


def publish_bars(srv: _Server, path: str, bars: pd.DataFrame, **csv_kw: object) -> bytes:
    name = path.rsplit("/", 1)[-1].replace(".zip", ".csv")
    data = make_zip({name: kline_csv(bars, **csv_kw)})  # type: ignore[arg-type]
    publish(srv, path, data)
    return data


def snapshot(folder: Path) -> dict[str, str]:
    """Relative path -> SHA-256 of every file under ``folder``."""
    if not folder.exists():
        return {}
    return {str(p.relative_to(folder)): sha256_file(p) for p in folder.rglob("*") if p.is_file()}


JAN_1H = "2024-01"
JAN_PATH = spot_month("BTCUSDT", "1h", JAN_1H)


def jan_bars(seed: int = 1) -> pd.DataFrame:
    return synth_bars("2024-01-01", 31 * 24, "1h", seed=seed)


# --------------------------------------------------------------------------- good files
def test_good_spot_month_is_cached_and_read_back_exactly(server, make_archive, tmp_path):
    expected = jan_bars()
    zip_bytes = publish_bars(server, JAN_PATH, expected)
    arch = make_archive()
    records = arch.fetch("BTC", "1h", "spot", start="2024-01-01", end="2024-01-31")

    target = tmp_path / "cache" / "binance" / "spot" / "BTCUSDT" / "1h" / "2024-01.parquet"
    assert [r.path for r in records] == [str(target)]
    assert records[0].sha256 == sha256_file(target)
    assert records[0].as_of == NOW  # the injected clock
    # Only the parquet file is left in the cache: no temp files, nothing extracted.
    assert list(snapshot(tmp_path / "cache")) == ["binance/spot/BTCUSDT/1h/2024-01.parquet"]

    meta = json.loads(pq.read_schema(target).metadata[b"riskmodels.archive"])
    assert meta["source_url"] == base_url(server) + JAN_PATH
    assert meta["zip_sha256"] == hashlib.sha256(zip_bytes).hexdigest()
    assert pd.Timestamp(meta["fetched_at"]) == NOW

    bars = arch.bars("BTC", "1h", "spot")
    pd.testing.assert_frame_equal(bars, expected, check_exact=True)
    # attrs hold JSON values: the records as dicts, as_of as an ISO string
    assert bars.attrs["files"] == [r.to_dict() for r in records]
    assert file_records(bars) == records
    assert pd.Timestamp(bars.attrs["as_of"]) == NOW
    assert isinstance(file_records(bars)[0], FileRecord)
    json.dumps(bars.attrs)
    assert arch.symbols("1h", "spot") == ["BTC"]
    assert arch.symbols("1h", "perp") == []
    assert arch.symbols("1d", "spot") == []


def test_futures_month_with_header_row(server, make_archive):
    expected = synth_bars("2024-02-01", 29 * 6, "4h", seed=2, p0=3000.0)
    path = "/data/futures/um/monthly/klines/ETHUSDT/4h/ETHUSDT-4h-2024-02.zip"
    publish_bars(server, path, expected, header=True)
    arch = make_archive()
    arch.fetch("ethusdt", "4h", "perp", start="2024-02-01", end="2024-02-29")
    pd.testing.assert_frame_equal(arch.bars("ETH", "4h", "perp"), expected, check_exact=True)
    assert arch.symbols("4h", "perp") == ["ETH"]


def test_2025_spot_month_with_microsecond_timestamps(server, make_archive):
    # Binance spot files switched to µs epochs on 2025-01-01 (binance-public-data README).
    expected = synth_bars("2025-01-01", 31, "1D", seed=3, p0=95_000.0)
    path = spot_month("BTCUSDT", "1d", "2025-01")
    zip_bytes = publish_bars(server, path, expected, unit="us")
    with zipfile.ZipFile(io.BytesIO(zip_bytes)) as zf:
        first_field = zf.read(zf.namelist()[0]).split(b",", 1)[0]
    assert first_field == b"1735689600000000"  # 2025-01-01T00:00Z in microseconds

    arch = make_archive(now=pd.Timestamp("2025-03-10", tz="UTC"))
    arch.fetch("BTC", "1d", "spot", start="2025-01-01", end="2025-01-31")
    bars = arch.bars("BTC", "1d", "spot")
    assert bars.index[0] == pd.Timestamp("2025-01-01 00:00", tz="UTC")
    assert bars.index[-1] == pd.Timestamp("2025-01-31 00:00", tz="UTC")
    pd.testing.assert_frame_equal(bars, expected, check_exact=True)


def test_epoch_units_are_detected_per_row(server, make_archive):
    # One file mixing ms and µs rows (units switch on 2025-01-01 for spot): each row's unit
    # is decided by its magnitude, and the times come out exact.
    expected = synth_bars("2024-12-31", 2, "1D", seed=14)
    ms_row, us_row = kline_csv(expected.iloc[:1]), kline_csv(expected.iloc[1:], unit="us")
    path = spot_month("BTCUSDT", "1d", "2024-12")
    publish(server, path, make_zip({"BTCUSDT-1d-2024-12.csv": ms_row + us_row}))
    arch = make_archive(now=pd.Timestamp("2025-03-01", tz="UTC"))
    arch.fetch("BTC", "1d", start="2024-12-01", end="2024-12-31")
    pd.testing.assert_frame_equal(arch.bars("BTC", "1d"), expected, check_exact=True)


@pytest.mark.parametrize(
    ("first_field", "match"),
    [
        ("1704067200000.5", r"column 'open_time' must hold integer epoch timestamps"),
        ("1704067200000000000", r"1 epoch value\(s\) outside 1970..2286"),
    ],
    ids=["float", "nanoseconds"],
)
def test_bad_open_time_is_refused(server, make_archive, tmp_path, first_field, match):
    row = b"," + b",".join([b"1"] * 11) + b"\n"
    publish(server, JAN_PATH, make_zip({"a.csv": first_field.encode() + row}))
    with pytest.raises(DownloadError, match=match):
        make_archive().fetch("BTC", "1h", start="2024-01-01", end="2024-01-31")
    assert snapshot(tmp_path / "cache") == {}


# --------------------------------------------------------------------------- integrity
def test_wrong_checksum_raises_and_leaves_cache_untouched(server, make_archive, tmp_path):
    good = publish_bars(server, JAN_PATH, jan_bars())
    arch = make_archive()
    arch.fetch("BTC", "1h", start="2024-01-01", end="2024-01-31")
    before = snapshot(tmp_path / "cache")

    bad = make_zip({"BTCUSDT-1h-2024-01.csv": kline_csv(jan_bars(seed=99))})
    publish(server, JAN_PATH, bad, checksum_of=good)
    good_hex = hashlib.sha256(good).hexdigest()
    bad_hex = hashlib.sha256(bad).hexdigest()
    with pytest.raises(
        ChecksumError, match=rf"BTCUSDT-1h-2024-01\.zip: SHA-256 mismatch: expected {good_hex}"
    ) as err:
        arch.fetch("BTC", "1h", start="2024-01-01", end="2024-01-31", force=True)
    assert f"got {bad_hex}" in str(err.value)
    assert snapshot(tmp_path / "cache") == before


def test_wrong_checksum_on_fresh_period_writes_nothing(server, make_archive, tmp_path):
    data = publish_bars(server, JAN_PATH, jan_bars())
    publish(server, JAN_PATH, data, checksum_of=b"something else")
    with pytest.raises(ChecksumError, match="SHA-256 mismatch"):
        make_archive().fetch("BTC", "1h", start="2024-01-01", end="2024-01-31")
    assert snapshot(tmp_path / "cache") == {}


@pytest.mark.parametrize(
    ("checksum_body", "match"),
    [
        (None, r"no published checksum at .*BTCUSDT-1h-2024-01\.zip\.CHECKSUM \(HTTP 404\)"),
        (b"not-a-hash  BTCUSDT-1h-2024-01.zip\n", r"does not hold '<sha256-hex>  <file name>'"),
        (b"0" * 64 + b"  ETHUSDT-1h-2024-01.zip\n", r"is the checksum of 'ETHUSDT-1h-2024-01"),
    ],
    ids=["missing", "malformed", "other-file"],
)
def test_unusable_checksum_file(server, make_archive, tmp_path, checksum_body, match):
    routes(server).put(JAN_PATH, (200, make_zip({"a.csv": kline_csv(jan_bars())})))
    if checksum_body is not None:
        routes(server).put(JAN_PATH + ".CHECKSUM", (200, checksum_body))
    with pytest.raises(ChecksumError, match=match):
        make_archive().fetch("BTC", "1h", start="2024-01-01", end="2024-01-31")
    assert snapshot(tmp_path / "cache") == {}


def test_truncated_zip_raises_download_error(server, make_archive, tmp_path):
    # The archive itself serves a truncated zip whose published checksum matches it.
    full = make_zip({"BTCUSDT-1h-2024-01.csv": kline_csv(jan_bars())})
    publish(server, JAN_PATH, full[: len(full) // 2])
    with pytest.raises(
        DownloadError, match=r"BTCUSDT-1h-2024-01\.zip: not a valid zip archive"
    ) as err:
        make_archive().fetch("BTC", "1h", start="2024-01-01", end="2024-01-31")
    assert type(err.value) is DownloadError
    assert snapshot(tmp_path / "cache") == {}


def test_corrupt_deflate_stream_raises_download_error(server, make_archive, tmp_path):
    # Valid zip directory, damaged compressed bytes: fails when the member is read.
    full = bytearray(make_zip({"BTCUSDT-1h-2024-01.csv": kline_csv(jan_bars())}))
    for i in range(60, 160):
        full[i] ^= 0xFF
    publish(server, JAN_PATH, bytes(full))
    with pytest.raises(DownloadError, match=r"BTCUSDT-1h-2024-01\.zip: .*(corrupt|not a valid)"):
        make_archive().fetch("BTC", "1h", start="2024-01-01", end="2024-01-31")
    assert snapshot(tmp_path / "cache") == {}


@pytest.mark.parametrize(
    "member",
    [
        "../evil.csv",
        "/tmp/evil.csv",
        "ABSOLUTE_UNDER_TMP",
        "C:/evil.csv",
        "..\\evil.csv",
        "sub/../../evil.csv",
    ],
)
def test_zip_slip_member_is_refused_before_anything_is_read(server, make_archive, tmp_path, member):
    if member == "ABSOLUTE_UNDER_TMP":
        member = str(tmp_path / "outside" / "evil.csv")
    tmp_evil_existed = os.path.exists("/tmp/evil.csv")
    good = kline_csv(jan_bars())
    # A harmless CSV first, then the unsafe member: the check must cover every member.
    publish(server, JAN_PATH, make_zip({"BTCUSDT-1h-2024-01.csv": good, member: good}))
    with pytest.raises(UnsafeArchiveError, match=re.escape(f"member {member!r} is unsafe")):
        make_archive().fetch("BTC", "1h", start="2024-01-01", end="2024-01-31")
    assert snapshot(tmp_path / "cache") == {}
    assert not list(tmp_path.rglob("evil.csv"))
    assert not (tmp_path.parent / "evil.csv").exists()
    assert os.path.exists("/tmp/evil.csv") == tmp_evil_existed


@pytest.mark.parametrize(
    ("members", "match"),
    [
        ({"a.csv": b"1,2\n", "b.csv": b"1,2\n"}, r"expected exactly one CSV member, found 2"),
        ({"readme.txt": b"hello"}, r"expected exactly one CSV member, found 0"),
        ({"a.csv": b"1704067200000,1,2,3\n"}, r"expected 12 columns \(open_time, .*\), found 4"),
        ({"a.csv": b""}, r"the CSV member is empty"),
    ],
    ids=["two-csv", "no-csv", "wrong-columns", "empty"],
)
def test_unusable_zip_content(server, make_archive, tmp_path, members, match):
    publish(server, JAN_PATH, make_zip(members))
    with pytest.raises(DownloadError, match=match):
        make_archive().fetch("BTC", "1h", start="2024-01-01", end="2024-01-31")
    assert snapshot(tmp_path / "cache") == {}


def _break_checksum(srv: _Server) -> None:
    publish(srv, JAN_PATH, make_zip({"x.csv": kline_csv(jan_bars(7))}), checksum_of=b"other")


def _break_truncate(srv: _Server) -> None:
    full = make_zip({"x.csv": kline_csv(jan_bars(7))})
    publish(srv, JAN_PATH, full[:100])


def _break_zip_slip(srv: _Server) -> None:
    publish(srv, JAN_PATH, make_zip({"../x.csv": kline_csv(jan_bars(7))}))


def _break_server(srv: _Server) -> None:
    routes(srv).put(JAN_PATH, (500, b"oops"))


def _break_columns(srv: _Server) -> None:
    publish(srv, JAN_PATH, make_zip({"x.csv": b"1704067200000,1,2\n"}))


@pytest.mark.parametrize(
    ("breaker", "error"),
    [
        (_break_checksum, ChecksumError),
        (_break_truncate, DownloadError),
        (_break_zip_slip, UnsafeArchiveError),
        (_break_server, DownloadError),
        (_break_columns, DownloadError),
    ],
    ids=["checksum", "truncated", "zip-slip", "http-500", "bad-csv"],
)
def test_failed_redownload_keeps_the_good_cached_file(
    server, make_archive, tmp_path, breaker, error
):
    expected = jan_bars()
    publish_bars(server, JAN_PATH, expected)
    arch = make_archive()
    arch.fetch("BTC", "1h", start="2024-01-01", end="2024-01-31")
    before = snapshot(tmp_path / "cache")
    breaker(server)
    with pytest.raises(error):
        arch.fetch("BTC", "1h", start="2024-01-01", end="2024-01-31", force=True)
    assert snapshot(tmp_path / "cache") == before
    pd.testing.assert_frame_equal(arch.bars("BTC", "1h"), expected, check_exact=True)


def test_forced_redownload_replaces_the_cached_file(server, make_archive):
    publish_bars(server, JAN_PATH, jan_bars(seed=1))
    arch = make_archive()
    arch.fetch("BTC", "1h", start="2024-01-01", end="2024-01-31")
    newer = jan_bars(seed=5)
    publish_bars(server, JAN_PATH, newer)
    arch.fetch("BTC", "1h", start="2024-01-01", end="2024-01-31", force=True)
    pd.testing.assert_frame_equal(arch.bars("BTC", "1h"), newer, check_exact=True)


# --------------------------------------------------------------------------- HTTP behaviour
def test_404_month_raises_naming_the_url(server, make_archive, tmp_path):
    arch = make_archive()
    url = base_url(server) + spot_month("BTCUSDT", "1d", "2023-06")
    with pytest.raises(DataNotFoundError, match=re.escape(url) + r" is not in the archive"):
        arch.fetch("BTC", "1d", start="2023-06-01", end="2023-06-30")
    # A month that ended long ago does not fall back to 30 daily requests.
    assert routes(server).count() == 1
    assert snapshot(tmp_path / "cache") == {}


def test_404_month_skipped_and_recorded(server, make_archive):
    july = synth_bars("2023-07-01", 31, "1D", seed=4)
    publish_bars(server, spot_month("BTCUSDT", "1d", "2023-07"), july)
    arch = make_archive()
    records = arch.fetch("BTC", "1d", start="2023-06-01", end="2023-07-31", missing="skip")
    assert [Path(r.path).name for r in records] == ["2023-07.parquet"]
    url = base_url(server) + spot_month("BTCUSDT", "1d", "2023-06")
    assert arch.skipped == [SkippedPeriod("BTCUSDT", "2023-06", url)]
    pd.testing.assert_frame_equal(arch.bars("BTC", "1d"), july, check_exact=True)


def test_404_daily_file_raises_naming_the_url(server, make_archive):
    url = base_url(server) + spot_day("BTCUSDT", "1d", "2024-03-01")
    with pytest.raises(DataNotFoundError, match=re.escape(url)):
        make_archive().fetch("BTC", "1d", start="2024-03-01", end="2024-03-05")


def test_500_then_success_is_retried(server, make_archive, sleeps):
    expected = jan_bars()
    data = make_zip({"BTCUSDT-1h-2024-01.csv": kline_csv(expected)})
    publish(server, JAN_PATH, data)
    routes(server).put(JAN_PATH, (500, b"busy"), (200, data))
    arch = make_archive(backoff=0.5)
    arch.fetch("BTC", "1h", start="2024-01-01", end="2024-01-31")
    assert routes(server).count(JAN_PATH) == 2
    assert sleeps == [0.5]  # backoff * 2**0 before the second attempt
    pd.testing.assert_frame_equal(arch.bars("BTC", "1h"), expected, check_exact=True)


@pytest.mark.parametrize("first", [(429, b"slow down"), ("short", b"PK\x03\x04partial")])
def test_rate_limit_and_truncated_transfer_are_retried(server, make_archive, sleeps, first):
    expected = jan_bars()
    data = make_zip({"BTCUSDT-1h-2024-01.csv": kline_csv(expected)})
    publish(server, JAN_PATH, data)
    routes(server).put(JAN_PATH, first, (200, data))
    arch = make_archive()
    arch.fetch("BTC", "1h", start="2024-01-01", end="2024-01-31")
    assert routes(server).count(JAN_PATH) == 2
    assert len(sleeps) == 1
    pd.testing.assert_frame_equal(arch.bars("BTC", "1h"), expected, check_exact=True)


def test_timeout_is_retried(server, make_archive, sleeps):
    expected = jan_bars()
    data = make_zip({"BTCUSDT-1h-2024-01.csv": kline_csv(expected)})
    publish(server, JAN_PATH, data)
    routes(server).put(JAN_PATH, ("slow", data), (200, data))  # first answer after 0.5 s
    arch = make_archive(timeout=0.1)
    arch.fetch("BTC", "1h", start="2024-01-01", end="2024-01-31")
    assert routes(server).count(JAN_PATH) == 2
    assert len(sleeps) == 1


def test_persistent_500_fails_after_retries_attempts(server, make_archive, sleeps, tmp_path):
    routes(server).put(JAN_PATH, (500, b"down"))
    arch = make_archive(retries=3, backoff=0.25)
    with pytest.raises(DownloadError, match=r"failed after 3 attempts \(last error: HTTP 500"):
        arch.fetch("BTC", "1h", start="2024-01-01", end="2024-01-31")
    assert routes(server).count(JAN_PATH) == 3
    assert sleeps == [0.25, 0.5]  # backoff * 2**k for k = 0, 1; none after the last attempt
    assert snapshot(tmp_path / "cache") == {}


def test_client_error_is_not_retried(server, make_archive, sleeps):
    routes(server).put(JAN_PATH, (403, b"forbidden"))
    with pytest.raises(DownloadError, match=r"HTTP 403 .*not retried"):
        make_archive().fetch("BTC", "1h", start="2024-01-01", end="2024-01-31")
    assert routes(server).count(JAN_PATH) == 1
    assert sleeps == []


def test_connection_refused_fails_after_retries(tmp_path, sleeps, monkeypatch):
    monkeypatch.delenv("http_proxy", raising=False)
    monkeypatch.delenv("HTTP_PROXY", raising=False)
    with socket.socket() as sock:  # a port that nothing listens on once closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    arch = BinanceArchive(
        tmp_path / "cache",
        base_url=f"http://127.0.0.1:{port}",
        retries=2,
        backoff=0.1,
        sleep=sleeps.append,
        clock=lambda: NOW,
    )
    with pytest.raises(DownloadError, match=r"failed after 2 attempts \(last error: .*refused"):
        arch.fetch("BTC", "1h", start="2024-01-01", end="2024-01-31")
    assert sleeps == [0.1]


def test_cached_month_is_not_requested_again(server, make_archive):
    publish_bars(server, JAN_PATH, jan_bars())
    arch = make_archive()
    first = arch.fetch("BTC", "1h", start="2024-01-01", end="2024-01-31")
    n = routes(server).count()
    assert n == 2  # the zip and its CHECKSUM
    again = make_archive().fetch("BTC", "1h", start="2024-01-01", end="2024-01-31")
    assert routes(server).count() == n
    assert again == first


# --------------------------------------------------------------------------- periods
def test_daily_files_fill_the_current_month(server, make_archive):
    # Clock 2024-03-10 12:00: February is complete (monthly file); March 1-9 are daily
    # files; March 10 (today) is not published yet and must not be requested.
    path_bars = synth_bars("2024-02-01", (29 + 9) * 6, "4h", seed=6)
    feb = path_bars.loc[:"2024-02-29 20:00"]
    publish_bars(server, spot_month("BTCUSDT", "4h", "2024-02"), feb)
    for day in pd.date_range("2024-03-01", "2024-03-09", freq="D"):
        label = day.strftime("%Y-%m-%d")
        one_day = path_bars.loc[label]
        publish_bars(server, spot_day("BTCUSDT", "4h", label), one_day)
    arch = make_archive()
    records = arch.fetch("BTC", "4h", start="2024-02-01", progress=True)
    labels = [Path(r.path).stem for r in records]
    assert labels == ["2024-02"] + [f"2024-03-0{d}" for d in range(1, 10)]
    assert routes(server).count(spot_day("BTCUSDT", "4h", "2024-03-10")) == 0
    bars = arch.bars("BTC", "4h")
    pd.testing.assert_frame_equal(bars, path_bars, check_exact=True)
    assert len(bars.attrs["files"]) == 10


def test_end_after_yesterday_is_clipped(server, make_archive):
    day = synth_bars("2024-03-09", 1, "1D", seed=8)
    publish_bars(server, spot_day("BTCUSDT", "1d", "2024-03-09"), day)
    records = make_archive().fetch("BTC", "1d", start="2024-03-09", end="2024-12-31")
    assert [Path(r.path).stem for r in records] == ["2024-03-09"]
    assert routes(server).count(spot_day("BTCUSDT", "1d", "2024-03-10")) == 0


def test_unpublished_recent_month_falls_back_to_daily_then_monthly_supersedes(server, make_archive):
    # 2024-03-03: February's monthly file is not published yet (404) -> 29 daily files.
    daily_view = synth_bars("2024-02-01", 29, "1D", seed=9)
    for t in daily_view.index:
        label = t.strftime("%Y-%m-%d")
        publish_bars(server, spot_day("BTCUSDT", "1d", label), daily_view.loc[label:label])
    early = make_archive(now=pd.Timestamp("2024-03-03 08:00", tz="UTC"))
    records = early.fetch("BTC", "1d", start="2024-02-01", end="2024-02-29")
    assert len(records) == 29
    pd.testing.assert_frame_equal(early.bars("BTC", "1d"), daily_view, check_exact=True)

    # Later the monthly file appears (content differs, to see which one bars() reads).
    monthly_view = synth_bars("2024-02-01", 29, "1D", seed=10)
    publish_bars(server, spot_month("BTCUSDT", "1d", "2024-02"), monthly_view)
    late = make_archive(now=pd.Timestamp("2024-03-20", tz="UTC"))
    n_daily = routes(server).count()
    records = late.fetch("BTC", "1d", start="2024-02-01", end="2024-02-29")
    assert [Path(r.path).stem for r in records] == ["2024-02"]
    assert routes(server).count() == n_daily + 2
    bars = late.bars("BTC", "1d")
    pd.testing.assert_frame_equal(bars, monthly_view, check_exact=True)
    assert [Path(r.path).stem for r in file_records(bars)] == ["2024-02"]


def test_missing_days_of_an_unpublished_month_raise_with_both_urls(server, make_archive):
    arch = make_archive(now=pd.Timestamp("2024-03-03", tz="UTC"))
    month_url = base_url(server) + spot_month("BTCUSDT", "1d", "2024-02")
    day_url = base_url(server) + spot_day("BTCUSDT", "1d", "2024-02-01")
    with pytest.raises(DataNotFoundError, match=re.escape(day_url)) as err:
        arch.fetch("BTC", "1d", start="2024-02-01", end="2024-02-29")
    assert month_url in str(err.value)


# --------------------------------------------------------------------------- cache reads
def test_bars_on_empty_cache_gives_the_fetch_command(make_archive):
    with pytest.raises(
        DataNotFoundError,
        match=r"no cached .* 1h bars for BTCUSDT .* riskmodels data fetch BTC --freq 1h "
        r"--market spot --start YYYY-MM-DD",
    ):
        make_archive().bars("BTC", "1h", "spot")


def test_funding_rates_fetched_and_read(server, make_archive):
    rng = np.random.default_rng(11)
    times = pd.date_range("2024-01-01", periods=93, freq="8h", tz="UTC").as_unit("ns")
    rates = np.round(rng.normal(1e-4, 5e-5, 93), 8)
    body = "calc_time,funding_interval_hours,last_funding_rate\n" + "".join(
        f"{t // 10**6 + 1},8,{r:.8f}\n" for t, r in zip(times.asi8, rates, strict=True)
    )  # calc_time is 1 ms after the hour, as in the archive
    path = "/data/futures/um/monthly/fundingRate/BTCUSDT/BTCUSDT-fundingRate-2024-01.zip"
    publish(server, path, make_zip({"BTCUSDT-fundingRate-2024-01.csv": body.encode()}))
    arch = make_archive()
    with pytest.raises(DataNotFoundError, match=r"no cached funding rates for BTCUSDT"):
        arch.funding("BTC")
    records = arch.fetch_funding("BTC", start="2024-01-01", end="2024-01-31")
    assert len(records) == 1
    got = arch.funding("BTC")
    expected = pd.Series(
        rates,
        index=pd.DatetimeIndex(times + pd.Timedelta("1ms"), name="time"),
        name="funding_rate",
    )
    pd.testing.assert_series_equal(got, expected, check_exact=True, check_freq=False)
    assert file_records(got) == records


def test_fetch_many_and_its_arguments(server, make_archive, tmp_path):
    for pair, seed in (("BTCUSDT", 12), ("ETHUSDT", 13)):
        publish_bars(
            server, spot_month(pair, "1d", "2024-01"), synth_bars("2024-01-01", 31, "1D", seed)
        )
    arch = make_archive()
    out = fetch_many(
        ["BTC", "ethusdt", "BTC"], "1d", "spot", "2024-01-01", "2024-01-31", archive=arch
    )
    assert list(out) == ["BTC", "ETH"]
    assert all(len(v) == 1 for v in out.values())
    assert arch.symbols("1d") == ["BTC", "ETH"]
    with pytest.raises(ConfigError, match="either cache_dir or archive"):
        fetch_many(["BTC"], start="2024-01-01", cache_dir=tmp_path, archive=arch)
    with pytest.raises(ConfigError, match="symbols is empty"):
        fetch_many([], start="2024-01-01", archive=arch)


# --------------------------------------------------------------------------- USDⓈ-M mark/index 1m
# URL paths written out from the binance-public-data README layout ("markPriceKlines",
# "indexPriceKlines" next to "klines" under data/futures/um/{monthly,daily}).
MARK_JAN_1M = "/data/futures/um/monthly/markPriceKlines/BTCUSDT/1m/BTCUSDT-1m-2025-01.zip"
INDEX_DAY_1M = "/data/futures/um/daily/indexPriceKlines/BTCUSDT/1m/BTCUSDT-1m-2025-03-05.zip"
PERP_DAY_1M = "/data/futures/um/daily/klines/BTCUSDT/1m/BTCUSDT-1m-2025-03-06.zip"
NOW_2025 = pd.Timestamp("2025-03-10 12:00", tz="UTC")
NEW_ATTRS = ("symbol", "market", "freq", "price_type")


def mark_like(bars: pd.DataFrame) -> pd.DataFrame:
    """Mark/index price klines have zero volumes (PROVENANCE §2.14: volume, quote_volume 0)."""
    out = bars.copy()
    out[["volume", "quote_volume"]] = 0.0
    return out


def test_mark_price_1m_month_with_microsecond_timestamps(server, make_archive, tmp_path):
    expected = mark_like(synth_bars("2025-01-01", 31 * 1440, "1min", seed=21, p0=95_000.0))
    zip_bytes = publish_bars(server, MARK_JAN_1M, expected, unit="us", header=True)
    with zipfile.ZipFile(io.BytesIO(zip_bytes)) as zf:
        second_line = zf.read(zf.namelist()[0]).split(b"\n")[1]
    assert second_line.startswith(b"1735689600000000,")  # 2025-01-01T00:00Z in µs
    arch = make_archive(now=NOW_2025)
    records = arch.fetch("BTC", "1m", "mark", start="2025-01-01", end="2025-01-31")
    target = tmp_path / "cache" / "binance" / "mark" / "BTCUSDT" / "1m" / "2025-01.parquet"
    assert [r.path for r in records] == [str(target)]
    meta = json.loads(pq.read_schema(target).metadata[b"riskmodels.archive"])
    assert meta["zip_sha256"] == hashlib.sha256(zip_bytes).hexdigest()  # checksum verified
    bars = arch.bars("BTC", "1m", "mark")
    pd.testing.assert_frame_equal(bars, expected, check_exact=True)  # cache round trip
    assert bars.attrs["price_type"] == "mark"
    attrs = {k: bars.attrs[k] for k in NEW_ATTRS}
    assert attrs == {"symbol": "BTC", "market": "mark", "freq": "1m", "price_type": "mark"}
    json.dumps(attrs)
    assert arch.symbols("1m", "mark") == ["BTC"] and arch.symbols("1m", "perp") == []
    # cached: a second fetch makes no request
    before = routes(server).count()
    arch.fetch("BTC", "1m", "mark", start="2025-01-01", end="2025-01-31")
    assert routes(server).count() == before


def test_index_price_day_file(server, make_archive):
    expected = mark_like(synth_bars("2025-03-05", 1440, "1min", seed=22, p0=88_000.0))
    publish_bars(server, INDEX_DAY_1M, expected, header=True)
    arch = make_archive(now=NOW_2025)
    arch.fetch("BTC", "1min", "index", start="2025-03-05", end="2025-03-05")
    bars = arch.bars("BTC", "1m", "index")
    pd.testing.assert_frame_equal(bars, expected, check_exact=True)
    assert bars.attrs["price_type"] == "index" and bars.attrs["market"] == "index"
    assert arch.cached_periods("BTC", "1m", "index") == ["2025-03-05"]


def test_perp_1m_day_without_header_keeps_its_first_row(server, make_archive):
    # A file whose first line is data: the first row must not be dropped as a header.
    expected = synth_bars("2025-03-06", 1440, "1min", seed=23, p0=90_000.0)
    publish_bars(server, PERP_DAY_1M, expected, header=False)
    arch = make_archive(now=NOW_2025)
    arch.fetch("BTC", "1m", "perp", start="2025-03-06", end="2025-03-06")
    bars = arch.bars("BTC", "1m", "perp")
    assert len(bars) == 1440 and bars.index[0] == pd.Timestamp("2025-03-06", tz="UTC")
    pd.testing.assert_frame_equal(bars, expected, check_exact=True)
    assert bars.attrs["price_type"] == "last"


def test_unrecognised_first_line_is_refused(server, make_archive, tmp_path):
    # Neither a number nor a known column name: refused, never guessed (nothing cached).
    body = kline_csv(synth_bars("2025-03-06", 3, "1min", seed=24), header=False)
    publish(server, PERP_DAY_1M, make_zip({"a.csv": b"Open Time,Open\n" + body}))
    with pytest.raises(DownloadError, match="cannot tell whether the first line"):
        make_archive(now=NOW_2025).fetch("BTC", "1m", "perp", "2025-03-06", "2025-03-06")
    assert snapshot(tmp_path / "cache") == {}


@pytest.mark.parametrize("header", [True, False], ids=["header", "no-header"])
def test_funding_file_with_microsecond_calc_time(server, make_archive, header):
    times = pd.date_range("2025-01-01", periods=93, freq="8h", tz="UTC").as_unit("ns")
    rates = np.round(np.random.default_rng(25).normal(1e-4, 5e-5, 93), 8)
    lines = ["calc_time,funding_interval_hours,last_funding_rate"] if header else []
    lines += [f"{t // 10**3 + 1000},8,{r:.8f}" for t, r in zip(times.asi8, rates, strict=True)]
    path = "/data/futures/um/monthly/fundingRate/BTCUSDT/BTCUSDT-fundingRate-2025-01.zip"
    publish(server, path, make_zip({"f.csv": ("\n".join(lines) + "\n").encode()}))
    arch = make_archive(now=NOW_2025)
    arch.fetch_funding("BTC", start="2025-01-01", end="2025-01-31")
    got = arch.funding("BTC")
    # calc_time = settlement + 1 ms, written in µs: 93 settlements, none dropped as a header
    expected = pd.Series(
        rates, index=pd.DatetimeIndex(times + pd.Timedelta("1ms"), name="time"), name="funding_rate"
    )
    pd.testing.assert_series_equal(got, expected, check_exact=True, check_freq=False)


def test_mark_and_index_urls_and_coinm_refused(make_archive):
    arch = make_archive()
    root = arch.base_url
    assert arch.kline_url("BTC", "1m", "mark", "2025-01") == root + MARK_JAN_1M
    assert arch.kline_url("BTCUSDT", "1m", "index", "2025-03-05") == root + INDEX_DAY_1M
    assert arch.kline_url("BTC", "15m", "perp", "2025-01").endswith(
        "/data/futures/um/monthly/klines/BTCUSDT/15m/BTCUSDT-15m-2025-01.zip"
    )
    with pytest.raises(ConfigError, match=r"COIN-M series are not fetched \(got 'coinm_mark'\)"):
        arch.kline_url("BTC", "1m", "coinm_mark", "2025-01")


# --------------------------------------------------------------------------- validation
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"freq": "7x"}, r"freq must be one of .* \(got '7x'\)"),
        ({"market": "coinm"}, r"market must be 'spot' or 'perp' .*\(got 'coinm'\)"),
        ({"symbol": "BTC/../X"}, r"symbol must be letters and digits .*\(got 'BTC/../X'\)"),
        ({"symbol": " "}, r"symbol must be a non-empty string"),
        ({"start": None}, r"start is required"),
        ({"start": "not a date"}, r"start must be a date .*\(got 'not a date'\)"),
        ({"end": "2023-12-01"}, r"start \(2024-01-01\) is after end \(2023-12-01\)"),
        ({"start": "2024-03-10", "end": None}, r"after the last day the archive can hold"),
        ({"missing": "ignore"}, r"missing must be 'raise' or 'skip' \(got 'ignore'\)"),
    ],
)
def test_fetch_argument_errors(server, make_archive, kwargs, match):
    args = {"symbol": "BTC", "freq": "1h", "market": "spot", "start": "2024-01-01"}
    args["end"] = "2024-01-31"
    args.update(kwargs)
    with pytest.raises(ConfigError, match=match):
        make_archive().fetch(**args)
    assert routes(server).count() == 0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"retries": 0}, r"retries must be an integer >= 1 \(got 0\)"),
        ({"backoff": -1.0}, r"backoff must be a finite number >= 0 \(got -1.0\)"),
        ({"timeout": 0.0}, r"timeout must be a positive number of seconds \(got 0.0\)"),
        ({"base_url": "ftp://example"}, r"base_url must start with http:// or https://"),
    ],
)
def test_constructor_argument_errors(tmp_path, kwargs, match):
    with pytest.raises(ConfigError, match=match):
        BinanceArchive(tmp_path, **kwargs)


def test_default_cache_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("RISKMODELS_CACHE", str(tmp_path / "elsewhere"))
    assert default_cache_dir() == tmp_path / "elsewhere"
    assert BinanceArchive().cache_dir == tmp_path / "elsewhere"
    monkeypatch.delenv("RISKMODELS_CACHE")
    # This checkout is an editable install: <repo root>/data/cache.
    assert default_cache_dir() == Path(__file__).resolve().parents[2] / "data" / "cache"


# --------------------------------------------------------------------------- the CLI
def test_cli_fetch_then_check_from_the_cache(server, tmp_path, capsys):
    # `riskmodels data fetch` downloads into the cache; `data check --source archive` reads it.
    from riskmodels.cli import main

    expected = jan_bars(seed=7)
    publish_bars(server, JAN_PATH, expected)
    cache = tmp_path / "cache"
    args = ["data", "fetch", "BTC", "--freq", "1h", "--market", "spot", "--start", "2024-01-01"]
    args += ["--end", "2024-01-31", "--cache-dir", str(cache), "--no-progress"]
    assert main([*args, "--base-url", base_url(server)]) == 0
    assert "BTC: 1 file(s) cached" in capsys.readouterr().out
    code = main(
        [
            "data",
            "check",
            "--source",
            "archive",
            "--cache-dir",
            str(cache),
            "--symbols",
            "BTC",
            "--freq",
            "1h",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "BTC" in out and "744 bars" in out
    # a month the server does not have: exit code 3 and the URL in the message
    assert (
        main(
            [
                *args[:8],
                "2023-01-01",
                "--end",
                "2023-01-31",
                "--cache-dir",
                str(cache),
                "--no-progress",
                "--base-url",
                base_url(server),
            ]
        )
        == 3
    )
    assert "2023-01" in capsys.readouterr().err


def test_cli_fetch_accepts_mark_price_minutes(server, tmp_path, capsys):
    # The CLI runs on the real clock: a month long past is fetched as one monthly file.
    from riskmodels.cli import main

    expected = mark_like(synth_bars("2025-02-01", 28 * 96, "15min", seed=26, p0=88_000.0))
    path = "/data/futures/um/monthly/markPriceKlines/BTCUSDT/15m/BTCUSDT-15m-2025-02.zip"
    publish_bars(server, path, expected, header=True)
    cache = tmp_path / "cache"
    args = ["data", "fetch", "BTC", "--freq", "15m", "--market", "mark", "--start", "2025-02-01"]
    args += ["--end", "2025-02-28", "--cache-dir", str(cache), "--no-progress"]
    assert main([*args, "--base-url", base_url(server)]) == 0
    assert "BTC: 1 file(s) cached" in capsys.readouterr().out
    bars = BinanceArchive(cache).bars("BTC", "15m", "mark")
    pd.testing.assert_frame_equal(bars, expected, check_exact=True)
    # COIN-M is not in the archive downloader: a usage error (exit 2) naming the markets
    bad = [*args[:6], "coinm", *args[7:], "--base-url", base_url(server)]
    assert main(bad) == 2
    assert "COIN-M series are not fetched" in capsys.readouterr().err


# --------------------------------------------------------------------------- issue 16: reliability
# A server that sends its headers, then one body byte every 0.5 s: every read comes well within
# the socket timeout, so only a whole-request deadline can end the download.
DRIP_PATH = JAN_PATH
DRIP_INTERVAL = 0.5
DRIP_MAX_BYTES = 60  # 30 s at most: a missing deadline fails the test instead of hanging it


class _DripHandler(_Handler):
    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path != DRIP_PATH:
            super().do_GET()
            return
        routes_ = self.server.routes  # type: ignore[attr-defined]
        with routes_.lock:
            routes_.requests.append(path)
        stop: threading.Event = self.server.stop  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Length", "100000")
        self.end_headers()
        self.wfile.flush()
        for _ in range(DRIP_MAX_BYTES):
            if stop.wait(DRIP_INTERVAL):
                return
            try:
                self.wfile.write(b"P")
                self.wfile.flush()
            except OSError:
                return  # the client gave up


@pytest.fixture
def drip_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[_Server]:
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    srv = _Server(("127.0.0.1", 0), _DripHandler)
    srv.routes = _Routes()  # type: ignore[attr-defined]
    srv.stop = threading.Event()  # type: ignore[attr-defined]
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield srv
    finally:
        srv.stop.set()  # type: ignore[attr-defined]
        srv.shutdown()
        srv.server_close()
        thread.join(timeout=5)


def _drip_archive(srv: _Server, cache: Path, sleeps: list[float], **kw: object) -> BinanceArchive:
    return BinanceArchive(
        cache,
        base_url=base_url(srv),
        sleep=sleeps.append,
        clock=lambda: NOW,
        **kw,  # type: ignore[arg-type]
    )


def test_slow_drip_download_fails_at_the_deadline(drip_server, tmp_path, sleeps):
    arch = _drip_archive(
        drip_server, tmp_path / "cache", sleeps, timeout=2, deadline=1.5, retries=3
    )
    assert arch.deadline == 1.5
    started = time.monotonic()
    with pytest.raises(DownloadError) as info:
        arch.fetch("BTC", "1h", start="2024-01-01", end="2024-01-31")
    elapsed = time.monotonic() - started
    msg = str(info.value)
    assert base_url(drip_server) + DRIP_PATH in msg  # names the URL
    assert "deadline of 1.5 s" in msg and "deadline=" in msg and "--deadline" in msg
    assert "Retry later" in msg
    assert elapsed < 10  # bounded (timing is not asserted more precisely)
    # not retried: a second slow attempt would double the wait
    assert routes(drip_server).count(DRIP_PATH) == 1 and sleeps == []
    assert snapshot(tmp_path / "cache") == {}  # nothing half-written


def test_slow_drip_redownload_keeps_the_good_cached_file(server, drip_server, tmp_path, sleeps):
    cache = tmp_path / "cache"
    publish_bars(server, JAN_PATH, jan_bars())
    _drip_archive(server, cache, sleeps).fetch("BTC", "1h", start="2024-01-01", end="2024-01-31")
    before = snapshot(cache)
    assert len(before) == 1
    arch = _drip_archive(drip_server, cache, sleeps, timeout=2, deadline=1.0)
    with pytest.raises(DownloadError, match="did not finish within its deadline of 1 s"):
        arch.fetch("BTC", "1h", start="2024-01-01", end="2024-01-31", force=True)
    assert snapshot(cache) == before  # atomic: the cached month is untouched, no temp file left
    pd.testing.assert_frame_equal(arch.bars("BTC", "1h"), jan_bars(), check_exact=True)


def test_deadline_default_and_argument_errors(tmp_path):
    assert BinanceArchive(tmp_path).deadline == 600.0  # 20 x the default 30 s timeout
    assert BinanceArchive(tmp_path, timeout=2).deadline == 300.0  # never below 300 s
    assert BinanceArchive(tmp_path, deadline=45).deadline == 45.0
    for bad in (0, -1.0, float("nan"), float("inf"), "10", True):
        with pytest.raises(ConfigError, match=r"deadline must be a positive number of seconds"):
            BinanceArchive(tmp_path, deadline=bad)  # type: ignore[arg-type]


def test_fast_download_within_the_deadline_and_truncation_still_retried(
    server, make_archive, sleeps
):
    # Streaming the body must not hide a truncated transfer (read1 ends quietly at EOF).
    expected = jan_bars()
    data = make_zip({"BTCUSDT-1h-2024-01.csv": kline_csv(expected)})
    publish(server, JAN_PATH, data)
    routes(server).put(JAN_PATH, ("short", data[:1000]), (200, data))
    arch = make_archive(deadline=30)
    arch.fetch("BTC", "1h", start="2024-01-01", end="2024-01-31")
    assert routes(server).count(JAN_PATH) == 2 and len(sleeps) == 1
    pd.testing.assert_frame_equal(arch.bars("BTC", "1h"), expected, check_exact=True)


def test_cli_fetch_deadline_option(drip_server, tmp_path, capsys):
    from riskmodels.cli import main

    args = ["data", "fetch", "BTC", "--freq", "1h", "--start", "2024-01-01", "--end", "2024-01-31"]
    args += ["--cache-dir", str(tmp_path / "cache"), "--no-progress", "--timeout", "2"]
    args += ["--deadline", "1", "--base-url", base_url(drip_server)]
    started = time.monotonic()
    assert main(args) == 3
    assert time.monotonic() - started < 10
    err = capsys.readouterr().err
    assert "DownloadError" in err and DRIP_PATH in err and "--deadline" in err
    assert snapshot(tmp_path / "cache") == {}
    # a bad value is a configuration error (exit 2), before any request
    before = routes(drip_server).count()
    assert main([*args[:-4], "--deadline", "0", "--base-url", base_url(drip_server)]) == 2
    assert "deadline must be a positive number" in capsys.readouterr().err
    assert routes(drip_server).count() == before


# Header detection: a first row that is data (numbers) is never dropped as a header.
JAN_1D_PATH = spot_month("BTCUSDT", "1d", "2024-01")


def test_month_whose_first_row_is_data_keeps_all_31_rows(server, make_archive):
    expected = synth_bars("2024-01-01", 31, "1D", seed=31)
    zip_bytes = publish_bars(server, JAN_1D_PATH, expected, header=False)
    with zipfile.ZipFile(io.BytesIO(zip_bytes)) as zf:
        first_line = zf.read(zf.namelist()[0]).split(b"\n")[0]
    assert first_line.startswith(b"1704067200000,")  # 2024-01-01T00:00Z in ms: a data row
    arch = make_archive()
    arch.fetch("BTC", "1d", start="2024-01-01", end="2024-01-31")
    bars = arch.bars("BTC", "1d")
    assert len(bars) == 31 and bars.index[0] == pd.Timestamp("2024-01-01", tz="UTC")
    pd.testing.assert_frame_equal(bars, expected, check_exact=True)


def test_first_line_decision_is_made_from_content():
    from riskmodels.data._frames import KLINE_COLUMNS, csv_has_header, read_kline_csv

    body = kline_csv(synth_bars("2024-01-01", 31, "1D", seed=32)).decode()
    header = ",".join(KLINE_COLUMNS) + "\n"
    for text in (body, body.replace("\n", "\r\n"), "\ufeff" + body, header + body):
        assert len(read_kline_csv(text.encode())) == 31
    assert not csv_has_header(body.splitlines()[0], KLINE_COLUMNS)
    assert csv_has_header(header, KLINE_COLUMNS)


@pytest.mark.parametrize("header", [False, True], ids=["new-no-header", "new-header"])
def test_forced_refetch_of_a_good_month_never_loses_a_row(server, make_archive, header):
    first = synth_bars("2024-01-01", 31, "1D", seed=33)
    publish_bars(server, JAN_1D_PATH, first, header=False)
    arch = make_archive()
    arch.fetch("BTC", "1d", start="2024-01-01", end="2024-01-31")
    assert len(arch.bars("BTC", "1d")) == 31
    second = synth_bars("2024-01-01", 31, "1D", seed=34)
    publish_bars(server, JAN_1D_PATH, second, header=header)
    arch.fetch("BTC", "1d", start="2024-01-01", end="2024-01-31", force=True)
    bars = arch.bars("BTC", "1d")
    assert len(bars) == 31 and bars.index[0] == pd.Timestamp("2024-01-01", tz="UTC")
    pd.testing.assert_frame_equal(bars, second, check_exact=True)


# Unusable cached parquet files: a cache miss on fetch (with a warning), a named error on read.
def _cached_jan(tmp_path: Path) -> Path:
    return tmp_path / "cache" / "binance" / "spot" / "BTCUSDT" / "1h" / "2024-01.parquet"


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _make_tz_naive(path: Path) -> None:
    frame = pd.read_parquet(path)
    frame.index = frame.index.tz_localize(None)
    frame.to_parquet(path)


@pytest.mark.parametrize("spoil", [_truncate, _make_tz_naive], ids=["truncated", "tz-naive"])
def test_unusable_cached_file_is_refetched_with_a_warning(server, make_archive, tmp_path, spoil):
    from riskmodels.exceptions import RiskModelsWarning

    expected = jan_bars()
    publish_bars(server, JAN_PATH, expected)
    arch = make_archive()
    arch.fetch("BTC", "1h", start="2024-01-01", end="2024-01-31")
    target = _cached_jan(tmp_path)
    spoil(target)
    with pytest.warns(RiskModelsWarning, match=re.escape(str(target))) as rec:
        records = arch.fetch("BTC", "1h", start="2024-01-01", end="2024-01-31")
    assert "downloading" in str(rec[0].message) and JAN_PATH in str(rec[0].message)
    assert routes(server).count(JAN_PATH) == 2  # re-downloaded
    assert [r.path for r in records] == [str(target)]
    pd.testing.assert_frame_equal(arch.bars("BTC", "1h"), expected, check_exact=True)


@pytest.mark.parametrize(
    ("spoil", "why"),
    [(_truncate, "cannot be read"), (_make_tz_naive, "tz-naive")],
    ids=["truncated", "tz-naive"],
)
def test_unusable_cached_file_read_names_the_file_and_the_fix(
    server, make_archive, tmp_path, spoil, why
):
    from riskmodels.exceptions import DataError

    publish_bars(server, JAN_PATH, jan_bars())
    arch = make_archive()
    arch.fetch("BTC", "1h", start="2024-01-01", end="2024-01-31")
    target = _cached_jan(tmp_path)
    spoil(target)
    with pytest.raises(DataError) as info:
        arch.bars("BTC", "1h")
    msg = str(info.value)
    assert str(target) in msg and why in msg
    assert "force=True" in msg
    assert "riskmodels data fetch BTC --freq 1h --market spot --start 2024-01" in msg
    assert "--force" in msg
    # the fix the message gives works
    arch.fetch("BTC", "1h", start="2024-01", end="2024-01", force=True)
    pd.testing.assert_frame_equal(arch.bars("BTC", "1h"), jan_bars(), check_exact=True)


def test_truncated_cached_funding_file(server, make_archive, tmp_path):
    from riskmodels.exceptions import DataError, RiskModelsWarning

    times = pd.date_range("2024-01-01", periods=93, freq="8h", tz="UTC").as_unit("ns")
    lines = [f"{t // 10**6},8,0.0001" for t in times.asi8]
    path = "/data/futures/um/monthly/fundingRate/BTCUSDT/BTCUSDT-fundingRate-2024-01.zip"
    publish(server, path, make_zip({"f.csv": ("\n".join(lines) + "\n").encode()}))
    arch = make_archive()
    arch.fetch_funding("BTC", start="2024-01-01", end="2024-01-31")
    target = tmp_path / "cache" / "binance" / "perp" / "BTCUSDT" / "fundingRate" / "2024-01.parquet"
    _truncate(target)
    with pytest.raises(DataError, match=r"fetch_funding\('BTC'.*force=True"):
        arch.funding("BTC")
    with pytest.warns(RiskModelsWarning, match=re.escape(str(target))):
        arch.fetch_funding("BTC", start="2024-01-01", end="2024-01-31")
    assert len(arch.funding("BTC")) == 93


def test_cli_fetch_force_replaces_the_cached_month(server, tmp_path, capsys):
    from riskmodels.cli import main

    cache = tmp_path / "cache"
    publish_bars(server, JAN_PATH, jan_bars(seed=40))
    args = ["data", "fetch", "BTC", "--freq", "1h", "--start", "2024-01-01", "--end", "2024-01-31"]
    args += ["--cache-dir", str(cache), "--no-progress", "--base-url", base_url(server)]
    assert main(args) == 0
    publish_bars(server, JAN_PATH, jan_bars(seed=41))
    assert main(args) == 0  # cached: not requested again
    assert routes(server).count(JAN_PATH) == 1
    pd.testing.assert_frame_equal(BinanceArchive(cache).bars("BTC", "1h"), jan_bars(seed=40))
    assert main([*args, "--force"]) == 0
    assert routes(server).count(JAN_PATH) == 2
    pd.testing.assert_frame_equal(BinanceArchive(cache).bars("BTC", "1h"), jan_bars(seed=41))
    assert "BTC: 1 file(s) cached" in capsys.readouterr().out
