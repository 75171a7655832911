"""Read the local data mirror (a folder laid out like ``../shared/data``).

The mirror holds byte-identical copies of public repositories' crypto market files plus a tidy
daily panel derived from them; ``PROVENANCE.md`` in the mirror documents each file. This module
knows which file serves which (market, frequency, symbol), stitches sources that cover different
periods, and records every file it read with its SHA-256 so reports can state their inputs.

The files are never copied into the project: the mirror is read in place. Its location comes from
``RISKMODELS_MIRROR``, else ``../shared/data`` beside the repository.
"""

from __future__ import annotations

import functools
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from riskmodels.data._attrs import freeze, frozen_attrs
from riskmodels.data._frames import (
    DEFAULT_UNIVERSE,
    FREQUENCIES,
    csv_has_header,
    empty_bars,
    normalize_bars,
    parse_freq,
    parse_market,
    parse_symbol,
    price_type,
    read_kline_csv,
)
from riskmodels.data.bars import bars_from_trades, resample_bars
from riskmodels.data.base import FileRecord, Source, json_time, sha256_file
from riskmodels.exceptions import ConfigError, DataError, DataNotFoundError

__all__ = ["MirrorSource", "default_mirror_path"]

_ENV = "RISKMODELS_MIRROR"


def _repo_root() -> Path:
    return Path(__file__).resolve().parents[2]


def default_mirror_path() -> Path | None:
    """The mirror folder: ``$RISKMODELS_MIRROR``, else ``../shared/data`` beside the repository.

    Returns
    -------
    pathlib.Path or None
        The folder, or ``None`` when neither exists.
    """
    env = os.environ.get(_ENV)
    if env:
        return Path(env).expanduser().resolve()
    for cand in (_repo_root().parent / "shared" / "data", Path.cwd().parent / "shared" / "data"):
        if cand.is_dir():
            return cand.resolve()
    return None


@dataclass(frozen=True)
class _Entry:
    """One file serving one (market, freq, symbol); earlier entries take precedence."""

    path: str
    description: str
    as_of: str | None = None  # fetch time when documented (bars closing later are in progress)
    symbol_filter: bool = False  # the file is long with a `symbol` column
    #: "csv": a CSV with a header row; "kline": a Binance kline CSV or zip (header row optional,
    #: detected by content); "trades": a Tardis trades CSV(.gz) turned into bars.
    kind: str = "csv"
    #: The documented coverage: first and last bar open time (UTC ISO, inclusive).
    window: tuple[str, str] | None = None
    contract_size_usd: float | None = None  # trades of inverse (COIN-M) contracts


_SPOT = "Binance spot"
_PERP = "Binance USDⓈ-M perpetual"
# Documented fetch time of gravestone-data (manifest.json "last_updated").
_GRAVESTONE_AS_OF = "2026-03-19 19:49:00+00:00"
# Lower bounds on the other files' fetch times: the open of the last (in-progress) 4h/1h bar of
# the same fetch (PROVENANCE §2.1, §2.2, §2.8). A bar is complete only if it closed by then.
_WAVE_OLD = {"BTC", "ETH", "BNB", "SOL", "DOGE"}  # commit 3176b85, fetched 2026-03-14
_WAVE_AS_OF_OLD = "2026-03-14 08:00:00+00:00"
_WAVE_AS_OF_HEAD = "2026-03-17 08:00:00+00:00"  # ADA, AVAX, LINK, LTC, XRP at HEAD
_V3_AS_OF = "2026-03-04 00:00:00+00:00"
_RIVER_AS_OF = "2026-03-31 03:00:00+00:00"
_MARKETTREND = {"BTC", "ETH", "SOL", "BNB", "DOGE", "LINK", "AVAX"}
_RIVER = {"ETH", "BNB", "XRP"}


# Minute data (PROVENANCE §2.14, §2.15, §2.17). Every file is a closed exchange archive (or a
# row extract of one): a monthly file exists only once its month has ended and a daily file
# once its day has, so the first instant after the covered period is a lower bound on the fetch
# time (as_of) and no bar is in progress.
_COINM = "Binance COIN-M perpetual"
#: isda-1m row extracts of the monthly USDⓈ-M BTCUSDT 1m files: (first day, last day).
_ISDA_1M_WINDOWS: tuple[tuple[str, str], ...] = (
    ("2020-03-12", "2020-03-13"),
    ("2021-05-19", "2021-05-19"),
    ("2022-05-09", "2022-05-12"),
    ("2022-11-08", "2022-11-10"),
    ("2023-09-04", "2023-09-06"),
    ("2024-08-05", "2024-08-05"),
    ("2025-10-10", "2025-10-11"),
)
_THEGLORY = "theglory/analysis"
_COINM_TRADES = {"AVAX", "ATOM", "DOT", "AAVE"}  # COIN-M perps with 2025-10-10 trades
_COINM_ALT_CONTRACT_USD = 10.0  # Binance COIN-M alt perpetuals: 10 USD per contract


def _day_window(first: str, last: str, freq: str) -> tuple[str, str]:
    """Window of the bars opening on UTC days ``first``..``last`` (inclusive)."""
    end = pd.Timestamp(last, tz="UTC") + pd.Timedelta(days=1) - FREQUENCIES[freq]
    return (pd.Timestamp(first, tz="UTC").isoformat(), end.isoformat())


def _after_day(day: str) -> str:
    return (pd.Timestamp(day, tz="UTC") + pd.Timedelta(days=1)).isoformat()


def _after_month(day: str) -> str:
    return (pd.Timestamp(day, tz="UTC").normalize() + pd.offsets.MonthBegin(1)).isoformat()


def _minute_catalog(market: str, freq: str, sym: str) -> list[_Entry]:
    """Native minute files of one series (PROVENANCE §1, §2.14, §2.15, §2.17)."""
    out: list[_Entry] = []
    if market == "perp" and freq == "1m":
        if sym == "BTC":
            for d0, d1 in _ISDA_1M_WINDOWS:
                tag = d0 if d0 == d1 else f"{d0}_{d1[-2:]}"
                out.append(
                    _Entry(
                        f"isda-1m/BTCUSDT-1m-{tag}.csv",
                        f"{_PERP} 1m BTCUSDT (last price), row extract {d0}..{d1} of the "
                        "data.binance.vision monthly file (isda-1m)",
                        as_of=_after_month(d1),
                        kind="kline",
                        window=_day_window(d0, d1, "1m"),
                    )
                )
        elif sym == "AVAX":
            out.append(
                _Entry(
                    "isda/AVAXUSDT-1m-2023-09.csv",
                    f"{_PERP} 1m AVAXUSDT (last price) 2023-09 (isda)",
                    as_of=_after_month("2023-09-30"),
                    kind="kline",
                    window=_day_window("2023-09-01", "2023-09-30", "1m"),
                )
            )
    elif market == "coinm_mark" and freq == "1m" and sym == "BTC":
        for day in ("2025-10-09", "2025-10-10"):
            out.append(
                _Entry(
                    f"{_THEGLORY}/timeline/BTCUSD_PERP-1m-{day}.zip",
                    f"{_COINM} BTCUSD_PERP mark price 1m {day} (data.binance.vision, theglory)",
                    as_of=_after_day(day),
                    kind="kline",
                    window=_day_window(day, day, "1m"),
                )
            )
    elif market == "mark" and freq == "5m" and sym == "BTC":
        for day in pd.date_range("2025-10-01", "2025-10-31", freq="D").strftime("%Y-%m-%d"):
            if day == "2025-10-04":
                continue  # not in the source (PROVENANCE §2.14): a gap, never filled
            space = " " if day == "2025-10-10" else ""  # the source's file name has a space
            out.append(
                _Entry(
                    f"{_THEGLORY}/etf/data/binance data/BTCUSDT-5m-{day}{space}.zip",
                    f"{_PERP} BTCUSDT mark price 5m {day} (data.binance.vision, theglory)",
                    as_of=_after_day(day),
                    kind="kline",
                    window=_day_window(day, day, "5m"),
                )
            )
    elif market == "coinm" and freq == "1m" and sym in _COINM_TRADES:
        day = "2025-10-10"
        out.append(
            _Entry(
                f"{_THEGLORY}/spotandFutures/coin_margined/"
                f"binance-delivery_trades_{day}_{sym}USD_PERP.csv.gz",
                f"{_COINM} {sym}USD_PERP 1m bars built from every trade of {day} "
                "(Tardis.dev, theglory; 10 USD contracts)",
                as_of=_after_day(day),
                kind="trades",
                window=_day_window(day, day, "1m"),
                contract_size_usd=_COINM_ALT_CONTRACT_USD,
            )
        )
    return out


def _merge_windows(windows: list[tuple[str, str] | None], freq: str) -> list[list[str]]:
    """Sorted ``[first open, last open]`` windows, merged where one starts a bar after the
    previous one ends (adjacent day files) or they overlap."""
    step = FREQUENCIES[freq]
    spans = sorted((pd.Timestamp(a), pd.Timestamp(b)) for a, b in windows if a and b)  # type: ignore[misc]
    out: list[list[pd.Timestamp]] = []
    for a, b in spans:
        if out and a <= out[-1][1] + step:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return [[a.isoformat(), b.isoformat()] for a, b in out]


#: Symbols with minute data, beyond the default universe.
_MINUTE_SYMBOLS: tuple[str, ...] = ("BTC", "AVAX", "ATOM", "DOT", "AAVE")


def _catalog(market: str, freq: str, sym: str) -> list[_Entry]:
    """Files for one series, in order of precedence (see PROVENANCE.md §1-2)."""
    s = sym
    out: list[_Entry] = list(_minute_catalog(market, freq, sym))
    if market == "spot" and freq == "1d":
        if s in DEFAULT_UNIVERSE:
            out.append(
                _Entry(
                    "tidy/binance_spot_1d_long.csv",
                    f"{_SPOT} 1d, tidy panel (wave-structure-engine + v3-trading-system), "
                    "truncated at 2026-03-12",
                    symbol_filter=True,
                )
            )
    elif market == "spot" and freq == "4h":
        if s in DEFAULT_UNIVERSE:
            out.append(
                _Entry(
                    f"wave-structure-engine/data/{s}USDT_4h.csv",
                    f"{_SPOT} 4h",
                    as_of=_WAVE_AS_OF_OLD if s in _WAVE_OLD else _WAVE_AS_OF_HEAD,
                )
            )
        if s in {"BTC", "ETH"}:
            out.append(
                _Entry(
                    f"v3-trading-system/data/{s}USDT_4h.csv",
                    f"{_SPOT} 4h from listing",
                    as_of=_V3_AS_OF,
                )
            )
    elif market == "spot" and freq == "1h":
        if s == "BTC":
            out += [
                _Entry("alphamind/data/BTCUSDT_cached.csv", f"{_SPOT} 1h 2022-04..2025-04"),
                _Entry("alphamind/BTCUSDT_cached.csv", f"{_SPOT} 1h 2022-07..2025-07"),
                _Entry("quant-lab/data/BTCUSDT_1h.csv", f"{_SPOT} 1h 2024-11..2025-11 (gappy)"),
            ]
        elif s == "ETH":
            out.append(_Entry("alphamind/data/ethereum.csv", f"{_SPOT} 1h 2022-04..2025-04"))
    elif market == "perp" and freq in ("1d", "4h"):
        if s in DEFAULT_UNIVERSE:
            out.append(
                _Entry(
                    f"gravestone-data/data/{freq}/{s}USDT.csv",
                    f"{_PERP} {freq} (rolling window)",
                    as_of=_GRAVESTONE_AS_OF,
                )
            )
    elif market == "perp" and freq == "1h":
        if s in _RIVER:
            out.append(
                _Entry(
                    f"quant-strategy-river/data/1h/{s}USDT_1h.csv",
                    f"{_PERP} 1h 2020-03..2026-03",
                    as_of=_RIVER_AS_OF,
                )
            )
        if s in _MARKETTREND:
            out.append(
                _Entry(f"markettrend/data/crypto/{s}USDT_1h.csv", f"{_PERP} 1h 2020..2024-04")
            )
        if s in DEFAULT_UNIVERSE:
            out.append(
                _Entry(
                    f"gravestone-data/data/1h/{s}USDT.csv",
                    f"{_PERP} 1h 2025-09..2026-03",
                    as_of=_GRAVESTONE_AS_OF,
                )
            )
    return out


@functools.lru_cache(maxsize=64)
def _read_csv_cached(path: str, mtime_ns: int, size: int) -> pd.DataFrame:
    return pd.read_csv(path)


def _zip_csv_bytes(path: str, rel: str) -> bytes:
    """The bytes of the one CSV member of a local zip (read in memory, never extracted)."""
    try:
        with zipfile.ZipFile(path) as zf:
            csvs = [i for i in zf.infolist() if i.filename.lower().endswith(".csv")]
            if len(csvs) != 1:
                raise DataError(
                    f"Mirror file {rel!r}: expected one CSV member, found "
                    f"{[i.filename for i in zf.infolist()]}."
                )
            return zf.read(csvs[0])
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise DataError(f"Mirror file {rel!r} is not a readable zip ({exc}).") from None


@functools.lru_cache(maxsize=128)
def _kline_cached(path: str, rel: str, mtime_ns: int, size: int) -> pd.DataFrame:
    raw = _zip_csv_bytes(path, rel) if path.lower().endswith(".zip") else Path(path).read_bytes()
    return read_kline_csv(raw, what=rel)


_TRADE_COLUMNS = ("exchange", "symbol", "timestamp", "local_timestamp", "id", "side", "price")


@functools.lru_cache(maxsize=16)
def _trade_bars_cached(
    path: str, rel: str, mtime_ns: int, size: int, contract_size_usd: float | None
) -> pd.DataFrame:
    try:
        raw = pd.read_csv(path, usecols=["symbol", "timestamp", "price", "amount"])
    except (ValueError, pd.errors.ParserError, OSError, EOFError) as exc:
        raise DataError(
            f"Mirror file {rel!r} could not be read as a trades CSV with columns "
            f"{', '.join(_TRADE_COLUMNS)}, amount: {exc}"
        ) from None
    held = pd.unique(raw["symbol"].astype(str))
    if len(held) != 1:
        raise DataError(f"Mirror file {rel!r} mixes the trades of {list(held)[:5]}.")
    bars = bars_from_trades(raw, "1m", contract_size_usd=contract_size_usd)
    bars.attrs["instrument"] = str(held[0])
    return bars


@functools.lru_cache(maxsize=256)
def _sha_cached(path: str, mtime_ns: int, size: int) -> str:
    return sha256_file(path)


class MirrorSource(Source):
    """Market data from a local mirror folder laid out like ``../shared/data``.

    Parameters
    ----------
    path : str or Path, optional
        The mirror folder. Default: :func:`default_mirror_path`.

    Notes
    -----
    Which file serves what (precedence in this order; later files only fill timestamps the
    earlier ones lack; overlaps are compared and the largest close difference is recorded in
    ``attrs["stitch"]``):

    ==========  =====  ==========================================================================
    market      freq   files
    ==========  =====  ==========================================================================
    spot        1d     ``tidy/binance_spot_1d_long.csv`` (10 majors, to 2026-03-12)
    spot        4h     ``wave-structure-engine`` (10 majors), ``v3-trading-system`` (BTC/ETH 2017)
    spot        1h     ``alphamind`` (BTC, ETH 2022-2025), ``quant-lab`` (BTC 2024-11..2025-11)
    perp        1d/4h  ``gravestone-data`` (10 majors, 2024-2026)
    perp        1h     ``quant-strategy-river`` (ETH/BNB/XRP), ``markettrend`` (7 assets 2020-24),
                       ``gravestone-data`` (10 majors, 2025-09..2026-03)
    perp        1m     BTC: ``isda-1m`` (7 disjoint windows of crash days and a calm control,
                       2020-03 .. 2025-10); AVAX: ``isda`` (2023-09)
    mark        5m     BTC: ``theglory`` USDⓈ-M BTCUSDT mark price, 2025-10-01..31 (10-04 missing)
    coinm_mark  1m     BTC: ``theglory`` COIN-M BTCUSD_PERP mark price, 2025-10-09..10
    coinm       1m     AVAX, ATOM, DOT, AAVE: built from every COIN-M perp trade of 2025-10-10
                       (``theglory``, Tardis; minutes without a trade have no bar)
    ==========  =====  ==========================================================================

    Other frequencies of these markets (``5m``, ``15m``, ``1h``, ...) are aggregated from the
    finest native series with :func:`~riskmodels.data.bars.resample_bars` (complete coarse
    bars only). The minute series carry ``attrs["windows"]`` (their documented coverage).

    Raw files keep their quirks (in-progress last candles, LINK's 0.0001 low on 2020-03-12):
    :func:`riskmodels.data.check_quality` finds them; nothing is repaired here.

    Examples
    --------
    >>> src = MirrorSource()                          # doctest: +SKIP
    >>> src.bars("BTC", "4h").close.tail()            # doctest: +SKIP
    """

    name = "mirror"

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        p = Path(path).expanduser().resolve() if path is not None else default_mirror_path()
        if p is None:
            raise DataNotFoundError(
                "No data mirror found: set RISKMODELS_MIRROR to a folder laid out like "
                "shared/data, or place it at ../shared/data beside the repository. "
                "Users with internet access can download with `riskmodels data fetch`."
            )
        if not p.is_dir():
            raise DataNotFoundError(f"Mirror folder {str(p)!r} does not exist or is not a folder.")
        self.path = p

    def describe(self) -> str:
        return f"local mirror at {self.path}"

    # -- files -------------------------------------------------------------------------------
    def _abs(self, rel: str) -> Path:
        return self.path / rel

    def file_record(self, rel: str, description: str = "", as_of: str | None = None) -> FileRecord:
        """A :class:`FileRecord` (with SHA-256) for a file relative to the mirror root."""
        p = self._abs(rel)
        st = p.stat()
        return FileRecord(
            path=rel,
            sha256=_sha_cached(str(p), st.st_mtime_ns, st.st_size),
            description=description,
            as_of=pd.Timestamp(as_of) if as_of else None,
        )

    def _table(self, rel: str) -> pd.DataFrame:
        p = self._abs(rel)
        if not p.is_file():
            raise DataNotFoundError(f"Mirror file {rel!r} is missing under {self.path}.")
        st = p.stat()
        try:
            return _read_csv_cached(str(p), st.st_mtime_ns, st.st_size)
        except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
            raise DataError(f"Mirror file {rel!r} could not be parsed as CSV: {exc}") from exc

    def read_file(self, rel: str, symbol: str | None = None) -> pd.DataFrame:
        """Read any kline CSV of the mirror as a bar frame, exactly as stored.

        Parameters
        ----------
        rel : str
            Path relative to the mirror root, e.g. ``"wave-structure-engine/data/BTCUSDT_1d.csv"``.
        symbol : str, optional
            For long files with a ``symbol`` column, the symbol to keep.

        Returns
        -------
        DataFrame
            A bar frame, rows in file order (duplicates and disorder kept for the checks).

        Notes
        -----
        Binance kline files, including zipped ones (``.zip`` with one CSV member, read in
        memory), are recognised by content: a first line whose first field is a number is data
        (there is no header row), a first line naming the columns is a header
        (:func:`riskmodels.data._frames.csv_has_header`).
        """
        p = self._abs(rel)
        if not p.is_file():
            raise DataNotFoundError(f"Mirror file {rel!r} is missing under {self.path}.")
        if symbol is None and self._is_kline_file(rel):
            st = p.stat()
            bars = _kline_cached(str(p), rel, st.st_mtime_ns, st.st_size).copy()
            bars.attrs = frozen_attrs({"files": [self.file_record(rel).to_dict()]})
            return bars
        raw = self._table(rel)
        if symbol is not None:
            if "symbol" not in raw.columns:
                raise DataError(f"{rel!r} has no 'symbol' column to filter on.")
            raw = raw[raw["symbol"].astype(str).str.upper() == parse_symbol(symbol)]
        bars = normalize_bars(raw, what=rel)
        bars.attrs["files"] = freeze([self.file_record(rel).to_dict()])
        return bars

    def _is_kline_file(self, rel: str) -> bool:
        """A zip, or a CSV whose first line is a data row (no header): Binance kline layout."""
        if rel.lower().endswith(".zip"):
            return True
        if not rel.lower().endswith(".csv"):
            return False
        with open(self._abs(rel), "rb") as fh:
            head = fh.read(512).decode("utf-8", errors="replace")
        try:
            return not csv_has_header(head, what=rel)
        except DataError:
            return False  # a header with other names: the generic CSV reader decides

    def _read_entry(self, e: _Entry, sym: str) -> pd.DataFrame:
        """One catalog entry as a bar frame (``attrs["files"]`` set)."""
        if e.kind == "csv":
            return self.read_file(e.path, symbol=sym if e.symbol_filter else None)
        p = self._abs(e.path)
        st = p.stat()
        if e.kind == "kline":
            bars = _kline_cached(str(p), e.path, st.st_mtime_ns, st.st_size).copy()
        elif e.kind == "trades":
            cached = _trade_bars_cached(
                str(p), e.path, st.st_mtime_ns, st.st_size, e.contract_size_usd
            )
            if not cached.attrs.get("instrument", "").startswith(sym):
                raise DataError(
                    f"Mirror file {e.path!r} holds trades of {cached.attrs.get('instrument')!r}, "
                    f"not of {sym!r}."
                )
            bars = cached.copy()
        else:  # pragma: no cover - the catalog only makes the kinds above
            raise DataError(f"unknown catalog entry kind {e.kind!r}")
        bars.attrs = frozen_attrs({"files": [self.file_record(e.path).to_dict()]})
        return bars

    def _native(self, m: str, f: str, s: str) -> list[_Entry]:
        return [e for e in _catalog(m, f, s) if self._abs(e.path).is_file()]

    def _finer_source(self, m: str, f: str, s: str) -> str | None:
        """The finest frequency the mirror holds natively for (m, s) that divides ``f``."""
        step = FREQUENCIES[f]
        finer = [
            k
            for k, v in FREQUENCIES.items()
            if v < step and step % v == pd.Timedelta(0) and self._native(m, k, s)
        ]
        return min(finer, key=lambda k: FREQUENCIES[k]) if finer else None

    # -- Source interface ----------------------------------------------------------------------
    def symbols(self, freq: str = "1d", market: str = "spot") -> list[str]:
        """Base symbols held at ``freq`` on ``market``: natively, or aggregated from a finer
        native series of the same market (see :meth:`bars`)."""
        f, m = parse_freq(freq), parse_market(market)
        cands = [*DEFAULT_UNIVERSE, *(x for x in _MINUTE_SYMBOLS if x not in DEFAULT_UNIVERSE)]
        return [s for s in cands if self._native(m, f, s) or self._finer_source(m, f, s)]

    def bars(self, symbol: str, freq: str = "1d", market: str = "spot") -> pd.DataFrame:
        """Raw bars of ``symbol`` at ``freq`` on ``market``, stitched over the mirror's files.

        Series the mirror does not hold at ``freq`` but holds at a finer frequency of the same
        market (e.g. ``freq="5m", market="perp"`` for BTC from the 1m extracts, ``"15m"``
        ``"mark"`` from 5m) are aggregated from the finest such series by
        :func:`~riskmodels.data.bars.resample_bars`: a coarse bar is built only from a complete
        set of finer bars, never from part of them.

        Returns
        -------
        DataFrame
            A bar frame sorted by time, with ``attrs["files"]`` (the files read, as
            :meth:`FileRecord.to_dict` dicts), ``attrs["as_of"]`` (documented fetch time of
            the latest file as an ISO string, or None),
            ``attrs["stitch"]`` (per extra file: bars added, bars overlapping, largest relative
            close difference on the overlap), and the JSON-serialisable ``attrs["symbol"]``,
            ``attrs["market"]``, ``attrs["freq"]``, ``attrs["price_type"]`` (``"last"``,
            ``"mark"`` or ``"index"``). Series made of files with a documented coverage (the
            minute data) also have ``attrs["windows"]``: the disjoint windows of that coverage
            as ``[first bar open, last bar open]`` ISO strings (inclusive; adjacent files
            merged), so ``bars.loc[start:end]`` gives one window. Bars between windows were
            never staged: the gaps between windows are not filled, and
            :func:`~riskmodels.data.check_quality` reports missing bars only inside windows.
            Aggregated series add ``attrs["resample"]`` (source frequency and the coarse bars
            dropped as incomplete).

        Raises
        ------
        DataNotFoundError
            If the mirror holds nothing for this series (the message lists what it holds).
        """
        f, m, s = parse_freq(freq), parse_market(market), parse_symbol(symbol)
        entries = self._native(m, f, s)
        if not entries:
            src_f = self._finer_source(m, f, s)
            if src_f is not None:
                fine = self.bars(s, src_f, m)
                out = resample_bars(fine, f, source_freq=src_f)
                out.attrs["source"] = self.describe()
                return out
            held = self.symbols(f, m)
            raise DataNotFoundError(
                f"The mirror has no {m} {f} bars for {s!r}. At {m} {f} it holds: "
                f"{', '.join(held) if held else 'nothing'}. "
                "Use BinanceArchive (`riskmodels data fetch`) for other series."
            )
        frames: list[tuple[_Entry, pd.DataFrame]] = []
        records: list[dict[str, Any]] = []
        stitch: list[dict[str, object]] = []
        as_of: pd.Timestamp | None = None
        weak: list[pd.Timestamp] = []
        combined = empty_bars()
        for e in entries:
            part = self._read_entry(e, s)
            records.append(self.file_record(e.path, e.description, e.as_of).to_dict())
            if not frames:
                combined = part
            else:
                # A file's final row may have been captured in progress: where a later file
                # also holds that bar, the later file's (complete) bar replaces it.
                replaced = [t for t in weak if t in part.index and t in combined.index]
                if replaced:
                    combined = pd.concat(
                        [combined.loc[~combined.index.isin(replaced)], part.loc[replaced]]
                    )
                new = ~part.index.isin(combined.index)
                overlap = part.index[~new]
                if len(overlap):
                    a = combined.loc[~combined.index.duplicated()].close.reindex(overlap)
                    b = part.loc[~part.index.duplicated()].close.reindex(overlap)
                    diff = float(np.nanmax(np.abs(b.to_numpy() / a.to_numpy() - 1.0)))
                else:
                    diff = 0.0
                stitch.append(
                    {
                        "file": e.path,
                        "added": int(new.sum()),
                        "replaced_final_rows": [str(t) for t in replaced],
                        "overlap": len(overlap),
                        "max_rel_close_diff": diff,
                    }
                )
                combined = pd.concat([combined, part.loc[new]])
            frames.append((e, part))
            if len(part):
                weak.append(part.index.max())
        if len(frames) > 1:
            combined = combined.sort_index(kind="stable")
        # as_of belongs to the file that supplied the final row: a later file's complete bar
        # replaces an earlier file's final row, otherwise precedence decides.
        if len(combined):
            last = combined.index.max()
            holders = [(e, part) for e, part in frames if last in part.index]
            inner = [e for e, part in holders if part.index.max() != last]
            supplier = inner[0] if inner else holders[0][0]
            as_of = pd.Timestamp(supplier.as_of) if supplier.as_of else None
        # the stitched series' own final row stays as it is: the quality checks judge it
        combined.attrs = frozen_attrs(
            {
                "files": records,
                "as_of": json_time(as_of),
                "stitch": stitch,
                "symbol": s,
                "freq": f,
                "market": m,
                "price_type": price_type(m),
                "source": self.describe(),
            }
        )
        if all(e.window is not None for e in entries):
            combined.attrs["windows"] = freeze(_merge_windows([e.window for e in entries], f))
        return combined

    def funding(self, symbol: str) -> pd.Series:
        """Funding rate per 8h settlement of the Binance USDⓈ-M perpetual (fraction).

        BTC: ``hsbc-algo-genetic`` (2019-09-10 → 2026-02-07) then ``gravestone-data``;
        the other majors: ``gravestone-data`` only (2026-01-12 → 2026-03-20). Settlement times
        carry a few ms of jitter and are floored to the hour.
        """
        s = parse_symbol(symbol)
        files = []
        if s == "BTC":
            files.append("hsbc-algo-genetic/data/funding_rate_BTCUSDT.csv")
        files.append(f"gravestone-data/data/funding/{s}USDT.csv")
        parts, records = [], []
        for rel in files:
            if not self._abs(rel).is_file():
                continue
            raw = self._table(rel)
            t = raw["timestamp"]
            idx = (
                pd.to_datetime(t, unit="ms", utc=True)
                if pd.api.types.is_numeric_dtype(t)
                else pd.to_datetime(t, utc=True, format="mixed")
            )
            ser = pd.Series(
                pd.to_numeric(raw["funding_rate"], errors="coerce").to_numpy(dtype="float64"),
                index=pd.DatetimeIndex(idx).floor("h").as_unit("ns"),
                name="funding_rate",
            )
            parts.append(ser)
            records.append(self.file_record(rel, f"{_PERP} funding {s}").to_dict())
        if not parts:
            raise DataNotFoundError(
                f"The mirror has no funding rates for {s!r} (it has BTC from 2019-09 and the "
                "ten majors for 2026-01-12..2026-03-20)."
            )
        out = parts[0]
        for p in parts[1:]:
            out = pd.concat([out, p.loc[~p.index.isin(out.index)]])
        out = out.sort_index()
        out.index.name = "time"
        out.attrs = frozen_attrs({"files": records, "symbol": s})
        return out

    def open_interest(self, symbol: str, freq: str = "1d", contract: str = "usdm") -> pd.DataFrame:
        """Open interest of the Binance perpetual.

        Parameters
        ----------
        symbol : str
            Base symbol.
        freq : {"1d", "4h"}
            Bar frequency (``coinm`` has daily only).
        contract : {"usdm", "coinm"}
            ``"usdm"``: Binance USDⓈ-M ``openInterestHist`` from ``gravestone-data`` (the last
            ~30 days, 2026-02-20 → 2026-03-20; columns ``open_interest`` in coins and
            ``open_interest_value`` in USD). ``"coinm"``: Coinalyze daily OI (close) of the
            Binance COIN-M inverse perpetual, USD notional, 2021-09-15 → 2025-10-26, in
            ``open_interest_value`` (``open_interest`` is NaN).
        """
        s = parse_symbol(symbol)
        f = parse_freq(freq)
        if contract == "usdm":
            if f not in ("1d", "4h"):
                raise ConfigError(f"USDⓈ-M open interest is held at 1d and 4h (got {freq!r}).")
            rel = f"gravestone-data/data/oi_{f}/{s}USDT.csv"
            if not self._abs(rel).is_file():
                raise DataNotFoundError(f"The mirror has no USDⓈ-M open interest for {s!r}.")
            raw = self._table(rel)
            idx = pd.to_datetime(raw["timestamp"], unit="ms", utc=True)
            out = pd.DataFrame(
                {
                    "open_interest": raw["sum_open_interest"].to_numpy(dtype="float64"),
                    "open_interest_value": raw["sum_open_interest_value"].to_numpy(dtype="float64"),
                },
                index=pd.DatetimeIndex(idx, name="time").as_unit("ns"),
            )
        elif contract == "coinm":
            if f != "1d":
                raise ConfigError(f"COIN-M open interest (Coinalyze) is daily only (got {freq!r}).")
            rel = (
                "trading-for-new-dads/data/raw/"
                "historical_open_interest_top10_since2020_20251026_040214.csv"
            )
            raw = self._table(rel)
            sub = raw[raw["symbol"] == f"{s}USD_PERP.A"]
            if sub.empty:
                raise DataNotFoundError(f"The mirror has no COIN-M open interest for {s!r}.")
            out = pd.DataFrame(
                {
                    "open_interest": np.nan,
                    "open_interest_value": sub["oi_close"].to_numpy(dtype="float64"),
                },
                index=pd.DatetimeIndex(pd.to_datetime(sub["date"], utc=True), name="time").as_unit(
                    "ns"
                ),
            )
        else:
            raise ConfigError(f"contract must be 'usdm' or 'coinm' (got {contract!r}).")
        out = out.sort_index()
        out.attrs = frozen_attrs(
            {"files": [self.file_record(rel).to_dict()], "symbol": s, "contract": contract}
        )
        return out

    def reference_close(self, symbol: str, venue: str = "coinbase") -> pd.Series:
        """Independent daily USD closes for cross-checks (not Binance).

        Parameters
        ----------
        symbol : str
            Base symbol.
        venue : {"coinbase", "yahoo", "bitstamp"}
            ``coinbase``: BTC, ETH, LTC, LINK 2020-01 → 2025-10; ``yahoo``: the ten majors to
            2025-02-11; ``bitstamp``: BTC 2021-12 → 2024-08.
        """
        s = parse_symbol(symbol)
        if venue == "coinbase":
            rel = (
                "trading-for-new-dads/data/raw/coinbase_top200_daily_20200101_to_present_"
                "20251025_171425.csv"
            )
            raw = self._table(rel)
            raw = raw[raw["base"] == s]
        elif venue == "yahoo":
            rel = f"crypto-dataset-yahoo/cryptos/{s.lower()}/{s}-USD_1d.csv"
            if not self._abs(rel).is_file():
                raise DataNotFoundError(f"The mirror has no Yahoo prices for {s!r}.")
            raw = self._table(rel)
        elif venue == "bitstamp":
            if s != "BTC":
                raise DataNotFoundError(
                    f"The mirror's Bitstamp daily series is BTC only (got {s!r})."
                )
            rel = "hsbc-algo-genetic/data/BTC_USD_1d.csv"
            raw = self._table(rel)
        else:
            raise ConfigError(f"venue must be 'coinbase', 'yahoo' or 'bitstamp' (got {venue!r}).")
        if raw.empty:
            raise DataNotFoundError(f"The mirror has no {venue} prices for {s!r}.")
        bars = normalize_bars(raw, what=rel)
        out = bars["close"].rename(s)
        out.attrs = frozen_attrs({"files": [self.file_record(rel).to_dict()], "venue": venue})
        return out
