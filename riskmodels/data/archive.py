"""Downloader and parquet cache for Binance's public data archive (data.binance.vision).

The archive publishes one zip per symbol, interval and period, each with a sibling
``<zip>.CHECKSUM`` file holding ``<sha256-hex>  <file name>``. The layout used here is the one
documented by Binance in https://github.com/binance/binance-public-data (``README.md``, sections
"Where do I access it" and "CHECKSUM"; ``python/src/binance_public_data/utility.py::get_path``
for the futures prefix ``data/futures/um``)::

    <base>/data/spot/monthly/klines/BTCUSDT/1h/BTCUSDT-1h-2023-01.zip
    <base>/data/spot/daily/klines/BTCUSDT/1h/BTCUSDT-1h-2023-01-05.zip
    <base>/data/futures/um/monthly/klines/BTCUSDT/1h/BTCUSDT-1h-2023-01.zip
    <base>/data/futures/um/daily/klines/BTCUSDT/1h/BTCUSDT-1h-2023-01-05.zip
    <base>/data/futures/um/monthly/markPriceKlines/BTCUSDT/1m/BTCUSDT-1m-2023-01.zip
    <base>/data/futures/um/daily/indexPriceKlines/BTCUSDT/1m/BTCUSDT-1m-2023-01-05.zip
    <base>/data/futures/um/monthly/fundingRate/BTCUSDT/BTCUSDT-fundingRate-2023-01.zip

Markets: ``"spot"`` (``data/spot/.../klines``), ``"perp"`` (USDⓈ-M last price,
``data/futures/um/.../klines``), ``"mark"`` (``.../markPriceKlines``) and ``"index"``
(``.../indexPriceKlines``); intervals ``1m, 5m, 15m, 1h, 4h, 1d`` (the archive's names).

Kline CSVs (also mark and index price, whose volumes are 0) have 12 columns (open_time, open,
high, low, close, volume, close_time, quote_volume, count, taker_buy_volume,
taker_buy_quote_volume, ignore); spot files have no header row, USDⓈ-M futures files may have
one. Whether the first row is a header is decided from its content
(:func:`riskmodels.data._frames.csv_has_header`): a numeric first field is data, a known
column name is a header, anything else is refused. Spot timestamps are milliseconds before
2025-01-01 and microseconds from then on (README, "SPOT" note), and futures files may use
either; the unit is detected per value by magnitude
(:func:`riskmodels.data._frames.epoch_index`), in integer arithmetic so that every millisecond
is kept exactly. Funding-rate CSVs have the header
``calc_time,funding_interval_hours,last_funding_rate``.

Every downloaded zip is verified against its published SHA-256, inspected for unsafe member
names before anything is read, parsed in memory (nothing is ever extracted to disk) and
written to the cache as one parquet file per period, atomically (temporary file in the same
folder, ``fsync``, ``os.replace``), so a failed or corrupt download never replaces or deletes
a good cached file. The source URL, the zip's SHA-256 and the fetch time are stored in the
parquet file's schema metadata (key ``riskmodels.archive``). Each GET is bounded twice: by
``timeout`` per socket read and by ``deadline`` for the whole request (a server that drips
bytes never hangs a fetch). A cached file that cannot be read (truncated, corrupt, tz-naive
index) is re-downloaded by :meth:`BinanceArchive.fetch` with a warning naming it; reading it
with :meth:`BinanceArchive.bars` raises :class:`~riskmodels.exceptions.DataError` naming it
and the ``force=True`` / ``--force`` fetch that replaces it.

Cache layout: ``<cache_dir>/binance/<market>/<SYMBOL>USDT/<interval>/<period>.parquet`` (market
``spot``, ``perp``, ``mark`` or ``index``) with
``<period>`` ``2023-01`` (monthly file) or ``2023-01-05`` (daily file); funding rates go to
``<cache_dir>/binance/perp/<SYMBOL>USDT/fundingRate/<period>.parquet``.
"""

from __future__ import annotations

import calendar
import hashlib
import http.client
import io
import json
import os
import re
import time
import urllib.error
import urllib.request
import warnings
import zipfile
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from tqdm.auto import tqdm

from riskmodels._io import atomic_writer, sweep_temp_files
from riskmodels.data._attrs import freeze
from riskmodels.data._frames import (
    KLINE_COLUMNS,
    MARKETS,
    epoch_index,
    parse_freq,
    parse_market,
    parse_symbol,
    price_type,
    read_csv_table,
    read_kline_csv,
)
from riskmodels.data.base import FileRecord, Source, json_time, sha256_file
from riskmodels.exceptions import (
    ChecksumError,
    ConfigError,
    DataError,
    DataNotFoundError,
    DownloadError,
    RiskModelsWarning,
    UnsafeArchiveError,
)

__all__ = [
    "DEFAULT_BASE_URL",
    "KLINE_COLUMNS",
    "BinanceArchive",
    "SkippedPeriod",
    "default_cache_dir",
    "fetch_many",
]

DEFAULT_BASE_URL = "https://data.binance.vision"

#: Column order of the archive's funding-rate CSVs (header row present in the files).
_FUNDING_COLUMNS: tuple[str, ...] = ("calc_time", "funding_interval_hours", "last_funding_rate")

#: Path prefix of each market inside the archive.
_MARKET_PREFIX = {"spot": "data/spot", "perp": "data/futures/um"}

#: (prefix, data type) of the kline files of each market the archive serves
#: (binance-public-data README: ``klines``, ``markPriceKlines``, ``indexPriceKlines``).
_KLINE_KIND = {
    "spot": (_MARKET_PREFIX["spot"], "klines"),
    "perp": (_MARKET_PREFIX["perp"], "klines"),
    "mark": (_MARKET_PREFIX["perp"], "markPriceKlines"),
    "index": (_MARKET_PREFIX["perp"], "indexPriceKlines"),
}

#: Schema-metadata key of the provenance JSON stored in each cached parquet file.
_META_KEY = b"riskmodels.archive"

#: A monthly file whose month ended less than this long ago may not be published yet
#: (Binance uploads monthly files in the first days of the next month); a 404 for such a
#: month falls back to the month's daily files. Older months that 404 are missing data.
_MONTHLY_GRACE = pd.Timedelta(days=31)

#: Refuse zip members that inflate to more than this (a 1m monthly kline CSV is ~7 MB).
_MAX_MEMBER_BYTES = 1 << 30

#: Bytes asked for per read of a response body (each read returns what has arrived, up to this).
_READ_CHUNK = 1 << 16

#: Default whole-request deadline: ``max(_MIN_DEADLINE, _DEADLINE_PER_TIMEOUT * timeout)`` s.
_MIN_DEADLINE = 300.0
_DEADLINE_PER_TIMEOUT = 20.0

_SYMBOL_RE = re.compile(r"^[A-Z0-9]{1,20}$")
_MONTH_RE = re.compile(r"^\d{4}-\d{2}$")
_DAY_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_HEX64_RE = re.compile(r"^[0-9a-fA-F]{64}$")
_DRIVE_RE = re.compile(r"^[A-Za-z]:")


_FETCH_HINT = "riskmodels data fetch {symbol} --freq {freq} --market {market} --start YYYY-MM-DD"


@dataclass(frozen=True)
class SkippedPeriod:
    """A period that :meth:`BinanceArchive.fetch` skipped under ``missing="skip"``.

    Attributes
    ----------
    symbol : str
        Archive symbol, e.g. ``"BTCUSDT"``.
    period : str
        ``"2023-01"`` (monthly) or ``"2023-01-05"`` (daily).
    url : str
        The URL that answered HTTP 404.
    """

    symbol: str
    period: str
    url: str


@dataclass(frozen=True)
class _Period:
    """One file to fetch: a month or a day, with the days to try if a recent month 404s."""

    kind: Literal["monthly", "daily"]
    label: str
    fallback_days: tuple[str, ...] = ()


class _NotFound(Exception):
    """Internal: the server answered 404 for ``url``."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.url = url


class _DeadlineExceeded(Exception):
    """Internal: a response body was still arriving when the request's deadline passed."""

    def __init__(self, received: int, elapsed: float) -> None:
        super().__init__(received, elapsed)
        self.received = received
        self.elapsed = elapsed


def default_cache_dir() -> Path:
    """The cache folder used when none is given.

    ``$RISKMODELS_CACHE`` if set; otherwise ``<repo root>/data/cache`` where the repo root is
    the folder holding ``pyproject.toml`` above the ``riskmodels`` package (an editable
    install or a checkout); otherwise ``~/.cache/riskmodels`` (a regular install).
    """
    env = os.environ.get("RISKMODELS_CACHE")
    if env:
        return Path(env).expanduser()
    root = Path(__file__).resolve().parents[2]
    if (root / "pyproject.toml").is_file() and (root / "riskmodels").is_dir():
        return root / "data" / "cache"
    return Path.home() / ".cache" / "riskmodels"


def _utc_now() -> pd.Timestamp:
    return pd.Timestamp.now(tz="UTC")


def _to_day(value: Any, name: str) -> pd.Timestamp:
    """A date-like value as a UTC midnight timestamp, or ConfigError naming ``name``."""
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise ConfigError(
            f"{name} must be a date such as '2023-01-31' (got {value!r}): {exc}."
        ) from None
    if ts is pd.NaT or pd.isna(ts):
        raise ConfigError(f"{name} must be a date such as '2023-01-31' (got {value!r}).")
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return ts.normalize()


def _month_end(month_start: pd.Timestamp) -> pd.Timestamp:
    days = calendar.monthrange(month_start.year, month_start.month)[1]
    return month_start + pd.Timedelta(days=days - 1)


def _archive_market(market: str) -> str:
    """The canonical market, if the archive downloader serves it (else ConfigError)."""
    m = parse_market(market)
    if m not in _KLINE_KIND:
        raise ConfigError(
            f"market must be 'spot' or 'perp' (USDⓈ-M last price), 'mark' or 'index' (USDⓈ-M "
            f"mark / index price) for BinanceArchive; COIN-M series are not fetched (got "
            f"{market!r})."
        )
    return m


def _check_symbol(symbol: str) -> str:
    base = parse_symbol(symbol)
    if not _SYMBOL_RE.match(base):
        raise ConfigError(
            f"symbol must be letters and digits only, such as 'BTC' or 'BTCUSDT' (got {symbol!r})."
        )
    return base


def _unsafe_member_reason(name: str) -> str | None:
    """Why a zip member name could escape an extraction folder, or None if it cannot."""
    if not name:
        return "empty name"
    if "\x00" in name:
        return "NUL byte in name"
    if name.startswith(("/", "\\")):
        return "absolute path"
    if _DRIVE_RE.match(name):
        return "drive letter"
    if ".." in re.split(r"[/\\]", name):
        return "'..' component"
    return None


#: Folders of the mirror already swept for dead writers' temporary files by this process.
_SWEPT: set[Path] = set()


def _write_parquet_atomic(frame: pd.DataFrame, path: Path, meta: dict[str, Any]) -> None:
    """Write ``frame`` to ``path`` atomically and durably (:func:`riskmodels._io.atomic_writer`).

    The first write into a folder also removes the temporary files of writers that died there
    (:func:`riskmodels._io.sweep_temp_files`).
    """
    table = pa.Table.from_pandas(frame, preserve_index=True)
    schema_meta = dict(table.schema.metadata or {})
    schema_meta[_META_KEY] = json.dumps(meta, sort_keys=True).encode()
    table = table.replace_schema_metadata(schema_meta)
    folder = path.parent
    if folder not in _SWEPT:
        sweep_temp_files(folder)
        _SWEPT.add(folder)
    with atomic_writer(path, mode=None) as fh:  # mode kept as before (0o600 of mkstemp)
        pq.write_table(table, fh)


def _read_meta(path: Path) -> dict[str, Any]:
    meta = pq.read_schema(path).metadata or {}
    raw = meta.get(_META_KEY)
    if raw is None:
        return {}
    try:
        out = json.loads(raw)
    except ValueError:
        return {}
    return out if isinstance(out, dict) else {}


class _UnusableCache(Exception):
    """Internal: a cached parquet file cannot be used; ``reason`` says why."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(path, reason)
        self.path = path
        self.reason = reason


def _read_frame(path: Path) -> pd.DataFrame:
    """A cached parquet file as a frame with a UTC ns index ``time``; ``_UnusableCache`` if not.

    A file that cannot be read (truncated, corrupt, not parquet) or whose index is not a
    tz-aware time index (written by something else) is unusable.
    """
    try:
        frame = pd.read_parquet(path)
    except (OSError, ValueError, pa.ArrowException) as exc:
        raise _UnusableCache(path, f"cannot be read ({type(exc).__name__}: {exc})") from None
    idx = frame.index
    if not isinstance(idx, pd.DatetimeIndex):
        raise _UnusableCache(
            path, f"has a {type(idx).__name__} index where the cache holds bar times"
        )
    if idx.tz is None:
        raise _UnusableCache(
            path, "has a tz-naive time index where the cache holds UTC times (tz-aware)"
        )
    frame.index = pd.DatetimeIndex(idx.tz_convert("UTC").as_unit("ns"), name="time")
    return frame


class BinanceArchive(Source):
    """Binance public data archive with a local parquet cache.

    :meth:`fetch` downloads, verifies and caches monthly/daily kline files; :meth:`bars` reads
    the cache only (it never touches the network).

    Parameters
    ----------
    cache_dir : str or Path, optional
        Cache root; default :func:`default_cache_dir` (``$RISKMODELS_CACHE``, else
        ``<repo>/data/cache``, else ``~/.cache/riskmodels``).
    base_url : str
        Archive root, ``http://`` or ``https://``.
    retries : int
        Attempts per HTTP GET (at least 1). Connection errors, timeouts, HTTP 5xx and 429 are
        retried; other 4xx and a request past ``deadline`` are not.
    backoff : float
        Seconds before the second attempt; attempt ``k + 2`` waits ``backoff * 2**k``.
    timeout : float
        Socket timeout, in seconds: the longest wait for the connection or for any single read
        (a server that goes silent this long fails the attempt, which is retried).
    deadline : float, optional
        Whole-request deadline, in seconds: the longest one GET may take from sending the
        request to the last byte of the body, checked while the body streams in (a read that
        is under way when it passes may still take up to ``timeout``). It bounds a server that
        keeps sending a few bytes just often enough to never hit ``timeout``. A request that
        runs past it raises :class:`DownloadError` naming the URL and is not retried; nothing
        is cached. Default ``max(300, 20 * timeout)`` (600 s for the default ``timeout``); a
        1m monthly zip is a few MB.
    sleep : callable, optional
        Function used to wait between attempts (tests pass a recorder); default ``time.sleep``.
    clock : callable, optional
        Returns the current UTC time as a ``pandas.Timestamp``; decides which months are
        complete and stamps ``as_of``. Default: the system clock.

    Notes
    -----
    A month whose last day is before today (UTC) is fetched as one monthly file; the days of
    the current month up to yesterday are fetched as daily files (Binance publishes a daily
    file the next day). A monthly file that 404s within 31 days after its month ended (not
    yet published) is replaced by that month's daily files.
    """

    name = "binance-archive"

    def __init__(
        self,
        cache_dir: str | Path | None = None,
        *,
        base_url: str = DEFAULT_BASE_URL,
        retries: int = 4,
        backoff: float = 0.5,
        timeout: float = 30.0,
        deadline: float | None = None,
        sleep: Callable[[float], None] | None = None,
        clock: Callable[[], pd.Timestamp] | None = None,
    ) -> None:
        if not isinstance(base_url, str) or not re.match(r"^https?://", base_url):
            raise ConfigError(
                f"base_url must start with http:// or https:// (got {base_url!r}); "
                f"the public archive is {DEFAULT_BASE_URL!r}."
            )
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 1:
            raise ConfigError(f"retries must be an integer >= 1 (got {retries!r}). Typical: 4.")
        if not np.isfinite(backoff) or backoff < 0:
            raise ConfigError(f"backoff must be a finite number >= 0 (got {backoff!r}).")
        if not np.isfinite(timeout) or timeout <= 0:
            raise ConfigError(f"timeout must be a positive number of seconds (got {timeout!r}).")
        if deadline is None:
            deadline = max(_MIN_DEADLINE, _DEADLINE_PER_TIMEOUT * float(timeout))
        elif (
            isinstance(deadline, bool)
            or not isinstance(deadline, (int, float, np.integer, np.floating))
            or not np.isfinite(deadline)
            or deadline <= 0
        ):
            raise ConfigError(
                f"deadline must be a positive number of seconds per request, or None for "
                f"max(300, 20 * timeout) (got {deadline!r}). Typical: 600."
            )
        self.cache_dir = Path(cache_dir).expanduser() if cache_dir else default_cache_dir()
        self.base_url = base_url.rstrip("/")
        self.retries = retries
        self.backoff = float(backoff)
        self.timeout = float(timeout)
        self.deadline = float(deadline)
        self._sleep = sleep if sleep is not None else time.sleep
        self._clock = clock if clock is not None else _utc_now
        self._opener = urllib.request.build_opener()
        #: Periods skipped under ``missing="skip"`` by every fetch on this instance, in order.
        self.skipped: list[SkippedPeriod] = []

    # ------------------------------------------------------------------ paths and URLs
    def describe(self) -> str:
        return f"Binance public archive {self.base_url}, cache {self.cache_dir}"

    def _symbol_dir(self, market: str, pair: str) -> Path:
        return self.cache_dir / "binance" / market / pair

    def _cache_path(self, market: str, pair: str, interval: str, label: str) -> Path:
        return self._symbol_dir(market, pair) / interval / f"{label}.parquet"

    def kline_url(self, symbol: str, freq: str, market: str, period: str) -> str:
        """URL of the kline zip for ``period`` (``"2023-01"`` monthly, ``"2023-01-05"`` daily).

        ``market`` ``"mark"`` and ``"index"`` give the USDⓈ-M ``markPriceKlines`` and
        ``indexPriceKlines`` files (same file names as the ``klines``).
        """
        pair = _check_symbol(symbol) + "USDT"
        interval = parse_freq(freq)
        prefix, data_type = _KLINE_KIND[_archive_market(market)]
        kind = self._period_kind(period)
        return (
            f"{self.base_url}/{prefix}/{kind}/{data_type}/{pair}/{interval}/"
            f"{pair}-{interval}-{period}.zip"
        )

    def funding_url(self, symbol: str, month: str) -> str:
        """URL of the USDⓈ-M funding-rate zip for ``month`` (``"2023-01"``)."""
        pair = _check_symbol(symbol) + "USDT"
        if not _MONTH_RE.match(month):
            raise ConfigError(f"month must look like '2023-01' (got {month!r}).")
        return (
            f"{self.base_url}/{_MARKET_PREFIX['perp']}/monthly/fundingRate/{pair}/"
            f"{pair}-fundingRate-{month}.zip"
        )

    @staticmethod
    def _period_kind(period: str) -> Literal["monthly", "daily"]:
        if _MONTH_RE.match(period):
            return "monthly"
        if _DAY_RE.match(period):
            return "daily"
        raise ConfigError(f"period must look like '2023-01' or '2023-01-05' (got {period!r}).")

    # ------------------------------------------------------------------ HTTP
    def _read_body(self, resp: Any, started: float) -> bytes:
        """The whole body of ``resp``, read as it arrives; ``_DeadlineExceeded`` past the deadline.

        ``read1`` returns whatever has arrived (at most one socket read, itself bounded by
        ``timeout``), so the deadline is checked between reads however slowly the bytes come.
        """
        read1 = getattr(resp, "read1", None)
        if read1 is None:  # not an http.client response: no streaming, only the socket timeout
            return resp.read()
        chunks: list[bytes] = []
        received = 0
        while True:
            elapsed = time.monotonic() - started
            if elapsed > self.deadline:
                raise _DeadlineExceeded(received, elapsed)
            chunk = read1(_READ_CHUNK)
            if not chunk:
                break
            chunks.append(chunk)
            received += len(chunk)
        body = b"".join(chunks)
        # http.client's read1 ends quietly at a premature EOF; read() would raise this.
        left = getattr(resp, "length", None)
        if isinstance(left, int) and left > 0:
            raise http.client.IncompleteRead(body, left)
        return body

    def _get(self, url: str) -> bytes:
        """GET ``url`` with retries; ``_NotFound`` on 404, DownloadError on failure.

        Each attempt must finish within ``deadline`` seconds (a slow body raises DownloadError
        at once, without a retry).
        """
        last = "no attempt made"
        for attempt in range(1, self.retries + 1):
            request = urllib.request.Request(url, headers={"User-Agent": "riskmodels"})
            started = time.monotonic()
            try:
                with self._opener.open(request, timeout=self.timeout) as resp:
                    return self._read_body(resp, started)
            except _DeadlineExceeded as exc:
                raise DownloadError(
                    f"GET {url} did not finish within its deadline of {self.deadline:g} s "
                    f"({exc.received} bytes received in {exc.elapsed:.1f} s; the server sends "
                    f"too slowly although each read came within timeout={self.timeout:g} s). "
                    "Retry later, or pass a larger deadline= to BinanceArchive (riskmodels data "
                    "fetch --deadline SECONDS). Nothing was cached; a cached copy is untouched."
                ) from None
            except urllib.error.HTTPError as exc:
                exc.close()
                if exc.code == 404:
                    raise _NotFound(url) from None
                if exc.code != 429 and not 500 <= exc.code < 600:
                    raise DownloadError(
                        f"GET {url} failed with HTTP {exc.code} {exc.reason} (not retried: a "
                        "client error will not go away). Check base_url, symbol and freq."
                    ) from None
                last = f"HTTP {exc.code} {exc.reason}"
            except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
                # Connection refused/reset, DNS failure, timeout, truncated body.
                last = f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}"
            if attempt < self.retries:
                self._sleep(self.backoff * 2 ** (attempt - 1))
        raise DownloadError(
            f"GET {url} failed after {self.retries} attempts (last error: {last}). Check the "
            "network and base_url, or pass a larger retries=/backoff= to BinanceArchive."
        )

    def _expected_sha256(self, url: str, file_name: str) -> str:
        checksum_url = url + ".CHECKSUM"
        try:
            text = self._get(checksum_url).decode("utf-8", errors="replace")
        except _NotFound:
            raise ChecksumError(
                f"{file_name}: no published checksum at {checksum_url} (HTTP 404); refusing to "
                "cache an unverified file. Retry later, or check base_url."
            ) from None
        fields = text.split()
        if not fields or not _HEX64_RE.match(fields[0]):
            raise ChecksumError(
                f"{file_name}: {checksum_url} does not hold '<sha256-hex>  <file name>' "
                f"(got {text[:80]!r}); refusing to cache an unverified file."
            )
        if len(fields) > 1 and fields[1].lstrip("*") != file_name:
            raise ChecksumError(
                f"{file_name}: {checksum_url} is the checksum of {fields[1]!r}, not of "
                f"{file_name!r}; refusing to cache an unverified file."
            )
        return fields[0].lower()

    # ------------------------------------------------------------------ zip handling
    @staticmethod
    def _read_single_csv(data: bytes, file_name: str) -> bytes:
        """The bytes of the only CSV member of zip ``data``, after checking every member name."""
        try:
            zf = zipfile.ZipFile(io.BytesIO(data))
        except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as exc:
            raise DownloadError(
                f"{file_name}: not a valid zip archive ({exc}); the file is truncated or "
                "corrupt. Retry the fetch; the cached copy (if any) is untouched."
            ) from None
        with zf:
            infos = zf.infolist()
            # Every name is checked before any member is read.
            for info in infos:
                for name in {info.orig_filename, info.filename}:
                    reason = _unsafe_member_reason(name)
                    if reason is not None:
                        raise UnsafeArchiveError(
                            f"{file_name}: member {name!r} is unsafe ({reason}); refusing the "
                            "archive. Nothing was extracted or cached."
                        )
            csvs = [i for i in infos if not i.is_dir() and i.filename.lower().endswith(".csv")]
            if len(csvs) != 1:
                raise DownloadError(
                    f"{file_name}: expected exactly one CSV member, found {len(csvs)} "
                    f"(members: {[i.filename for i in infos]})."
                )
            member = csvs[0]
            if member.file_size > _MAX_MEMBER_BYTES:
                raise DownloadError(
                    f"{file_name}: member {member.filename!r} inflates to {member.file_size} "
                    f"bytes (limit {_MAX_MEMBER_BYTES}); refusing it."
                )
            try:
                return zf.read(member)
            except (zipfile.BadZipFile, EOFError, OSError, ValueError, zlib.error) as exc:
                raise DownloadError(
                    f"{file_name}: member {member.filename!r} cannot be read ({exc}); the zip "
                    "is corrupt. Retry the fetch; the cached copy (if any) is untouched."
                ) from None

    # ------------------------------------------------------------------ parsing
    @staticmethod
    def _read_csv(raw: bytes, file_name: str, names: tuple[str, ...]) -> pd.DataFrame:
        """CSV bytes (header row optional, detected by content) as a table with ``names``."""
        if not raw[:256].decode("utf-8", errors="replace").strip():
            raise DownloadError(f"{file_name}: the CSV member is empty.")
        try:
            return read_csv_table(raw, names, what=file_name)
        except DataError as exc:
            raise DownloadError(str(exc)) from None

    @staticmethod
    def _epoch_index(values: pd.Series, file_name: str) -> pd.DatetimeIndex:
        """Integer epochs (s, ms or µs, decided per value by magnitude) as an exact UTC index.

        See :func:`riskmodels.data._frames.epoch_index`; used for every kind of file (klines,
        mark and index price klines, funding rates).
        """
        if not pd.api.types.is_integer_dtype(values):
            raise DownloadError(
                f"{file_name}: column {values.name!r} must hold integer epoch timestamps "
                f"(got dtype {values.dtype}, first value {values.iloc[0]!r})."
            )
        try:
            return epoch_index(
                values.to_numpy(dtype="int64"), f"{file_name}: column {values.name!r}"
            )
        except DataError as exc:
            raise DownloadError(str(exc)) from None

    @classmethod
    def _parse_klines(cls, raw: bytes, file_name: str) -> pd.DataFrame:
        """Kline CSV bytes (with or without header row; also mark/index price) as a bar frame."""
        if not raw[:256].strip():
            raise DownloadError(f"{file_name}: the CSV member is empty.")
        try:
            return read_kline_csv(raw, what=file_name)
        except DataError as exc:
            raise DownloadError(str(exc)) from None

    @classmethod
    def _parse_funding(cls, raw: bytes, file_name: str) -> pd.DataFrame:
        """Funding-rate CSV bytes as a frame with columns funding_rate, funding_interval_hours."""
        table = cls._read_csv(raw, file_name, _FUNDING_COLUMNS)
        idx = cls._epoch_index(table["calc_time"], file_name)

        def num(col: str) -> np.ndarray:
            return pd.to_numeric(table[col], errors="coerce").to_numpy(dtype="float64")

        return pd.DataFrame(
            {
                "funding_rate": num("last_funding_rate"),
                "funding_interval_hours": num("funding_interval_hours"),
            },
            index=idx,
        )

    # ------------------------------------------------------------------ one file
    def _download(
        self,
        url: str,
        path: Path,
        parse: Callable[[bytes, str], pd.DataFrame],
        describe: str,
    ) -> FileRecord:
        """Download, verify, parse and atomically cache one zip; return the parquet's record."""
        file_name = url.rsplit("/", 1)[-1]
        data = self._get(url)  # _NotFound propagates to the planner
        expected = self._expected_sha256(url, file_name)
        actual = hashlib.sha256(data).hexdigest()
        if actual != expected:
            raise ChecksumError(
                f"{file_name}: SHA-256 mismatch: expected {expected} (published in "
                f"{url}.CHECKSUM), got {actual} for {len(data)} downloaded bytes. The download "
                "is corrupt or the archive changed; retry later. The cached copy is untouched."
            )
        frame = parse(self._read_single_csv(data, file_name), file_name)
        fetched = self._clock()
        meta = {
            "source_url": url,
            "checksum_url": url + ".CHECKSUM",
            "zip_sha256": actual,
            "fetched_at": fetched.isoformat(),
            "rows": len(frame),
            "description": describe,
        }
        _write_parquet_atomic(frame, path, meta)
        return self._record(path)

    @staticmethod
    def _record(path: Path) -> FileRecord:
        meta = _read_meta(path)
        fetched = meta.get("fetched_at")
        desc = meta.get("description", "")
        if meta.get("source_url"):
            desc = f"{desc} from {meta['source_url']} (zip sha256 {meta.get('zip_sha256', '?')})"
        return FileRecord(
            path=str(path),
            sha256=sha256_file(path),
            description=desc.strip(),
            as_of=pd.Timestamp(fetched).tz_convert("UTC") if fetched else None,
        )

    # ------------------------------------------------------------------ planning
    def _plan(
        self, start: Any, end: Any, *, monthly_only: bool = False
    ) -> tuple[list[_Period], pd.Timestamp]:
        if start is None:
            raise ConfigError("start is required (a date such as '2023-01-01').")
        today = self._clock().tz_convert("UTC").normalize()
        last = today - pd.Timedelta(days=1)  # daily files appear the next day
        t0 = _to_day(start, "start")
        asked = None if end is None else _to_day(end, "end")
        if asked is not None and t0 > asked:
            raise ConfigError(
                f"start ({t0.date()}) is after end ({asked.date()}); pass start <= end."
            )
        t1 = last if asked is None else min(asked, last)
        if t0 > t1:
            raise ConfigError(
                f"start ({t0.date()}) is after the last day the archive can hold "
                f"({last.date()}, yesterday UTC); pass an earlier start."
            )
        plan: list[_Period] = []
        month = t0.replace(day=1)
        while month <= t1:
            m_end = _month_end(month)
            first, final = max(t0, month), min(t1, m_end)
            days = tuple(d.strftime("%Y-%m-%d") for d in pd.date_range(first, final, freq="D"))
            label = month.strftime("%Y-%m")
            if m_end <= last:
                recent = today - (m_end + pd.Timedelta(days=1)) < _MONTHLY_GRACE
                fallback = days if recent and not monthly_only else ()
                plan.append(_Period("monthly", label, fallback))
            elif not monthly_only:
                plan.extend(_Period("daily", d) for d in days)
            month = m_end + pd.Timedelta(days=1)
        return plan, last

    # ------------------------------------------------------------------ public: fetch
    def fetch(
        self,
        symbol: str,
        freq: str = "1d",
        market: str = "spot",
        start: Any = None,
        end: Any = None,
        *,
        progress: bool = False,
        missing: Literal["raise", "skip"] = "raise",
        force: bool = False,
    ) -> list[FileRecord]:
        """Download the kline files covering ``[start, end]`` into the cache.

        Parameters
        ----------
        symbol : str
            Base asset (``"BTC"``) or USDT pair (``"BTCUSDT"``).
        freq : {"1d", "4h", "1h", "15m", "5m", "1m"}
            Kline interval.
        market : {"spot", "perp", "mark", "index"}
            Spot; the USDⓈ-M perpetual's traded price (``data/futures/um/.../klines``), its
            mark price (``markPriceKlines``) or its index price (``indexPriceKlines``).
        start, end : date-like
            First and last UTC day wanted (inclusive). ``end`` defaults to, and is clipped to,
            yesterday (UTC): the last day the archive can hold.
        progress : bool
            Show a tqdm progress bar over the files.
        missing : {"raise", "skip"}
            What to do when a file is not in the archive (HTTP 404): raise
            :class:`DataNotFoundError`, or skip it and append a :class:`SkippedPeriod` to
            :attr:`skipped`.
        force : bool
            Download again even if the period is cached (the cached file is replaced only
            after the new one is verified and written). Without it, a cached file that cannot
            be read (truncated, corrupt, or with a tz-naive index) is treated as not cached:
            it is downloaded again with a :class:`~riskmodels.exceptions.RiskModelsWarning`
            naming it.

        Returns
        -------
        list of FileRecord
            One record per cached parquet file covering the range (already-cached periods
            included, without any request), in period order.

        Raises
        ------
        ConfigError
            Bad symbol, freq, market, dates or ``missing``.
        DataNotFoundError
            A file is not in the archive and ``missing="raise"``; the message names the URL.
        ChecksumError, UnsafeArchiveError, DownloadError
            A download failed, does not match its checksum, or is not a usable zip; or it
            did not finish within ``deadline`` (the message names the URL).
        """
        base = _check_symbol(symbol)
        interval = parse_freq(freq)
        mkt = _archive_market(market)
        if missing not in ("raise", "skip"):
            raise ConfigError(f"missing must be 'raise' or 'skip' (got {missing!r}).")
        plan, _ = self._plan(start, end)
        pair = base + "USDT"
        records: list[FileRecord] = []

        def one(label: str) -> FileRecord:
            path = self._cache_path(mkt, pair, interval, label)
            url = self.kline_url(base, interval, mkt, label)
            if not force and self._cache_usable(path, url):
                return self._record(path)
            describe = f"Binance {MARKETS[mkt]} {interval} klines {pair} {label}"
            return self._download(url, path, self._parse_klines, describe)

        def skip_or_raise(label: str, url: str, extra: str = "") -> None:
            if missing == "skip":
                self.skipped.append(SkippedPeriod(pair, label, url))
                return
            raise DataNotFoundError(
                f"{url} is not in the archive (HTTP 404){extra}: no {mkt} {interval} klines "
                f"for {pair} in {label}. Check the symbol's listing date and pass a later "
                "start, or fetch with missing='skip'."
            )

        bar = self._progress(len(plan), f"{pair} {interval} {mkt}", progress)
        try:
            for period in plan:
                try:
                    records.append(one(period.label))
                except _NotFound as nf:
                    if not period.fallback_days:
                        skip_or_raise(period.label, nf.url)
                    else:
                        # A recently ended month whose monthly file is not published yet.
                        for day in period.fallback_days:
                            try:
                                records.append(one(day))
                            except _NotFound as nf_day:
                                skip_or_raise(
                                    day,
                                    nf_day.url,
                                    f" (tried after the monthly file {nf.url} also 404'd)",
                                )
                bar.update(1)
        finally:
            bar.close()
        return records

    @staticmethod
    def _progress(total: int, desc: str, enabled: bool) -> Any:
        return tqdm(total=total, desc=desc, unit="file", disable=not enabled, leave=False)

    def fetch_funding(
        self,
        symbol: str,
        start: Any = None,
        end: Any = None,
        *,
        progress: bool = False,
        missing: Literal["raise", "skip"] = "raise",
        force: bool = False,
    ) -> list[FileRecord]:
        """Download USDⓈ-M monthly funding-rate files for complete months in ``[start, end]``.

        The archive publishes funding rates monthly only, so the current month is never
        fetched; a recently ended month whose file is not published yet is skipped (recorded
        in :attr:`skipped`). Other arguments, returns and errors as in :meth:`fetch`.
        """
        base = _check_symbol(symbol)
        if missing not in ("raise", "skip"):
            raise ConfigError(f"missing must be 'raise' or 'skip' (got {missing!r}).")
        plan, _ = self._plan(start, end, monthly_only=True)
        today = self._clock().tz_convert("UTC").normalize()
        pair = base + "USDT"
        records: list[FileRecord] = []
        bar = self._progress(len(plan), f"{pair} funding", progress)
        try:
            for period in plan:
                path = self._symbol_dir("perp", pair) / "fundingRate" / f"{period.label}.parquet"
                url = self.funding_url(base, period.label)
                if not force and self._cache_usable(path, url, stacklevel=3):
                    records.append(self._record(path))
                else:
                    try:
                        describe = f"Binance USDⓈ-M funding rates {pair} {period.label}"
                        records.append(self._download(url, path, self._parse_funding, describe))
                    except _NotFound:
                        m_end = _month_end(pd.Timestamp(period.label + "-01", tz="UTC"))
                        recent = today - (m_end + pd.Timedelta(days=1)) < _MONTHLY_GRACE
                        if missing == "skip" or recent:
                            self.skipped.append(SkippedPeriod(pair, period.label, url))
                        else:
                            raise DataNotFoundError(
                                f"{url} is not in the archive (HTTP 404): no funding rates for "
                                f"{pair} in {period.label}. Pass a later start, or "
                                "missing='skip'."
                            ) from None
                bar.update(1)
        finally:
            bar.close()
        return records

    # ------------------------------------------------------------------ public: cache reads
    def cached_periods(self, symbol: str, freq: str = "1d", market: str = "spot") -> list[str]:
        """Labels of the cached kline files (``"2023-01"``, ``"2023-02-05"``, ...), sorted."""
        pair = _check_symbol(symbol) + "USDT"
        folder = self._symbol_dir(_archive_market(market), pair) / parse_freq(freq)
        if not folder.is_dir():
            return []
        return sorted(
            p.stem
            for p in folder.glob("*.parquet")
            if _MONTH_RE.match(p.stem) or _DAY_RE.match(p.stem)
        )

    @staticmethod
    def _cache_usable(path: Path, url: str, stacklevel: int = 4) -> bool:
        """Whether ``path`` is a readable cached file; warns (a cache miss) if it exists but is not.

        An unusable file (truncated, corrupt, tz-naive index) is left in place: the download
        that follows replaces it atomically once the new file is verified.
        """
        if not path.is_file():
            return False
        try:
            _read_frame(path)
        except _UnusableCache as exc:
            warnings.warn(
                f"cached file {path} {exc.reason}; treating it as not cached and downloading "
                f"{url} again.",
                RiskModelsWarning,
                stacklevel=stacklevel,
            )
            return False
        return True

    def _read_cached(
        self, paths: Iterable[Path], fix: Callable[[str], str]
    ) -> tuple[list[pd.DataFrame], list[FileRecord]]:
        """Read cached files; DataError naming the file and ``fix(label)`` if one is unusable."""
        frames, records = [], []
        for path in paths:
            try:
                frames.append(_read_frame(path))
            except _UnusableCache as exc:
                raise DataError(
                    f"cached file {path} {exc.reason}. Download it again (the bad file is "
                    f"replaced once the new one is verified) with {fix(path.stem)}."
                ) from None
            records.append(self._record(path))
        return frames, records

    @staticmethod
    def _attach(frame: pd.DataFrame, records: list[FileRecord]) -> None:
        stamps = [r.as_of for r in records if r.as_of is not None]
        frame.attrs["files"] = freeze([r.to_dict() for r in records])
        frame.attrs["as_of"] = json_time(max(stamps)) if stamps else None

    def bars(self, symbol: str, freq: str = "1d", market: str = "spot") -> pd.DataFrame:
        """Cached bars of one symbol (no network access).

        Monthly files are used whole; a daily file is used only for a day whose month has no
        cached monthly file. Rows are sorted by time; duplicates inside files are kept as
        found (quality checks decide). ``attrs["files"]`` lists the parquet files read (as
        :meth:`FileRecord.to_dict` dicts), ``attrs["as_of"]`` the latest fetch time (ISO
        string), and the JSON strings ``attrs["symbol"]``,
        ``attrs["market"]``, ``attrs["freq"]`` and ``attrs["price_type"]`` (``"last"``,
        ``"mark"`` or ``"index"``, see :func:`riskmodels.data._frames.price_type`) say what the
        bars are.

        Raises
        ------
        DataNotFoundError
            Nothing is cached for the symbol, freq and market; the message gives the
            ``riskmodels data fetch`` command that fetches it.
        DataError
            A cached file cannot be read (truncated, corrupt) or has a tz-naive index; the
            message names the file and the ``fetch(..., force=True)`` / ``riskmodels data fetch
            ... --force`` command that replaces it.
        """
        base = _check_symbol(symbol)
        interval = parse_freq(freq)
        mkt = _archive_market(market)
        pair = base + "USDT"
        labels = self.cached_periods(base, interval, mkt)
        months = {lab for lab in labels if _MONTH_RE.match(lab)}
        used = [lab for lab in labels if _MONTH_RE.match(lab) or lab[:7] not in months]
        if not used:
            held = self.symbols(interval, mkt)
            raise DataNotFoundError(
                f"no cached {MARKETS[mkt]} {interval} bars for {pair} under {self.cache_dir} "
                f"(cached {interval} {mkt} symbols: {held or 'none'}). Fetch them with: "
                + _FETCH_HINT.format(symbol=base, freq=interval, market=mkt)
            )
        folder = self._symbol_dir(mkt, pair) / interval
        frames, records = self._read_cached(
            (folder / f"{lab}.parquet" for lab in used),
            lambda lab: (
                f"BinanceArchive.fetch({base!r}, {interval!r}, {mkt!r}, start={lab!r}, "
                f"end={lab!r}, force=True) or: "
                + _FETCH_HINT.format(symbol=base, freq=interval, market=mkt).replace(
                    "YYYY-MM-DD", f"{lab} --end {lab} --force"
                )
            ),
        )
        out = pd.concat(frames).sort_index(kind="stable")
        out.index.name = "time"
        self._attach(out, records)
        out.attrs.update(
            {"symbol": base, "market": mkt, "freq": interval, "price_type": price_type(mkt)}
        )
        return out

    def funding(self, symbol: str) -> pd.Series:
        """Cached USDⓈ-M funding rates (fraction per funding interval), UTC index ``time``.

        Raises
        ------
        DataNotFoundError
            No funding file is cached for the symbol.
        """
        base = _check_symbol(symbol)
        pair = base + "USDT"
        folder = self._symbol_dir("perp", pair) / "fundingRate"
        paths = sorted(p for p in folder.glob("*.parquet") if _MONTH_RE.match(p.stem))
        if not paths:
            raise DataNotFoundError(
                f"no cached funding rates for {pair} under {self.cache_dir}. Fetch them with "
                f"BinanceArchive.fetch_funding({base!r}, start='YYYY-MM-DD')."
            )
        frames, records = self._read_cached(
            paths,
            lambda lab: (
                f"BinanceArchive.fetch_funding({base!r}, start={lab!r}, end={lab!r}, force=True)"
            ),
        )
        out = pd.concat(frames).sort_index(kind="stable")["funding_rate"]
        out.index.name = "time"
        self._attach(out, records)
        return out

    def symbols(self, freq: str = "1d", market: str = "spot") -> list[str]:
        """Base symbols with at least one cached kline file at ``freq`` on ``market``."""
        interval = parse_freq(freq)
        root = self.cache_dir / "binance" / _archive_market(market)
        if not root.is_dir():
            return []
        out = []
        for pair_dir in root.iterdir():
            name = pair_dir.name
            if not (pair_dir.is_dir() and name.endswith("USDT") and len(name) > 4):
                continue
            folder = pair_dir / interval
            if folder.is_dir() and any(
                _MONTH_RE.match(p.stem) or _DAY_RE.match(p.stem) for p in folder.glob("*.parquet")
            ):
                out.append(name[:-4])
        return sorted(out)


def fetch_many(
    symbols: Iterable[str],
    freq: str = "1d",
    market: str = "spot",
    start: Any = None,
    end: Any = None,
    *,
    cache_dir: str | Path | None = None,
    progress: bool = True,
    missing: Literal["raise", "skip"] = "raise",
    force: bool = False,
    archive: BinanceArchive | None = None,
) -> dict[str, list[FileRecord]]:
    """Fetch several symbols from the Binance archive into the cache (``riskmodels data fetch``).

    Parameters
    ----------
    symbols : iterable of str
        Base assets or USDT pairs, e.g. ``["BTC", "ETH"]``.
    freq, market, start, end, progress, missing, force
        As in :meth:`BinanceArchive.fetch`.
    cache_dir : str or Path, optional
        Cache root for a new :class:`BinanceArchive`; not allowed together with ``archive``.
    archive : BinanceArchive, optional
        A configured archive to use (base URL, retries, ...). Skipped periods are appended to
        its :attr:`~BinanceArchive.skipped`.

    Returns
    -------
    dict
        Base symbol -> list of :class:`FileRecord`, in the order given.

    Raises
    ------
    ConfigError
        No symbols, both ``cache_dir`` and ``archive``, or an invalid argument (all symbols
        are validated before anything is downloaded).
    """
    if archive is not None and cache_dir is not None:
        raise ConfigError(
            "pass either cache_dir or archive to fetch_many, not both "
            f"(got cache_dir={str(cache_dir)!r} and an archive with cache {archive.cache_dir})."
        )
    if isinstance(symbols, str):
        symbols = [symbols]
    bases = list(dict.fromkeys(_check_symbol(s) for s in symbols))
    if not bases:
        raise ConfigError("symbols is empty; pass at least one symbol such as ['BTC'].")
    parse_freq(freq)
    _archive_market(market)
    arch = archive if archive is not None else BinanceArchive(cache_dir)
    return {
        base: arch.fetch(
            base, freq, market, start, end, progress=progress, missing=missing, force=force
        )
        for base in bases
    }
