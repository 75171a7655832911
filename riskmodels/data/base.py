"""The interface every price source implements.

Later code never cares where prices came from: it asks a :class:`Source` for a bar frame of one
symbol at one frequency on one market, and for provenance (which files, with which content
hashes) to record in reports.
"""

from __future__ import annotations

import abc
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from riskmodels.exceptions import DataNotFoundError

__all__ = ["FileRecord", "FrameSource", "Source", "file_records", "json_time", "sha256_file"]


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """SHA-256 hex digest of a file's bytes, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


@dataclass(frozen=True)
class FileRecord:
    """Where a piece of data came from: a file, its content hash, and what it is.

    Attributes
    ----------
    path : str
        Path relative to the source's root (or absolute for caches).
    sha256 : str
        SHA-256 of the file's bytes.
    description : str
        A short human description (e.g. "Binance spot 4h klines, wave-structure-engine").
    as_of : pandas.Timestamp or None
        When the file was fetched, if known: bars closing after it are in progress.
    """

    path: str
    sha256: str
    description: str = ""
    as_of: pd.Timestamp | None = field(default=None)

    def to_dict(self) -> dict[str, Any]:
        """The record as JSON-serialisable values (the form kept in a frame's ``attrs``).

        Returns
        -------
        dict
            ``{"path", "sha256", "description", "as_of"}``; ``as_of`` is an ISO string or None.
        """
        return {
            "path": self.path,
            "sha256": self.sha256,
            "description": self.description,
            "as_of": json_time(self.as_of),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | FileRecord) -> FileRecord:
        """The record back from :meth:`to_dict` (a FileRecord is returned as is).

        Parameters
        ----------
        data : mapping or FileRecord
            At least ``path`` and ``sha256``; ``description`` and ``as_of`` (ISO) optional.

        Returns
        -------
        FileRecord
        """
        if isinstance(data, FileRecord):
            return data
        as_of = data.get("as_of")
        return cls(
            str(data["path"]),
            str(data["sha256"]),
            str(data.get("description", "")),
            None if as_of is None else pd.Timestamp(as_of),
        )


def json_time(t: Any) -> str | None:
    """A timestamp as an ISO string for ``attrs`` (None stays None; strings are normalised).

    Parameters
    ----------
    t : timestamp-like or None

    Returns
    -------
    str or None
    """
    if t is None:
        return None
    ts = pd.Timestamp(t)
    return None if ts is pd.NaT else ts.isoformat()


def file_records(obj: Any) -> list[FileRecord]:
    """The input files of a frame or series (its ``attrs["files"]``) as :class:`FileRecord`.

    Parameters
    ----------
    obj : DataFrame, Series, or iterable of FileRecord / dicts
        A frame returned by :mod:`riskmodels.data` (``attrs["files"]`` holds
        :meth:`FileRecord.to_dict` dicts), or such a list itself.

    Returns
    -------
    list of FileRecord
    """
    recs: Iterable[Any] = obj.attrs.get("files", []) if hasattr(obj, "attrs") else obj
    return [FileRecord.from_dict(r) for r in recs]


class Source(abc.ABC):
    """A source of crypto market data.

    Subclasses implement :meth:`bars` (required) and may implement :meth:`funding` and
    :meth:`open_interest`. Every method raises :class:`~riskmodels.exceptions.DataNotFoundError`
    for data the source does not hold, naming what it does hold.
    """

    #: Short name used in reports and messages.
    name: str = "source"

    @abc.abstractmethod
    def bars(self, symbol: str, freq: str = "1d", market: str = "spot") -> pd.DataFrame:
        """Raw bars of one symbol as a bar frame (see :mod:`riskmodels.data._frames`).

        Bars are returned as stored: no quality repair is applied here. ``attrs`` holds only
        JSON-serialisable values: ``attrs["files"]`` the files the frame was read from as
        :meth:`FileRecord.to_dict` dicts (:func:`file_records` gives them back as
        FileRecords) and ``attrs["as_of"]`` the latest known fetch time as an ISO string
        (or ``None``).
        """

    @abc.abstractmethod
    def symbols(self, freq: str = "1d", market: str = "spot") -> list[str]:
        """Base symbols available at ``freq`` on ``market``."""

    def funding(self, symbol: str) -> pd.Series:
        """Funding rate per settlement (fraction per funding interval), UTC index."""
        raise DataNotFoundError(f"{self.name} has no funding-rate data (asked for {symbol!r}).")

    def open_interest(self, symbol: str, freq: str = "1d") -> pd.DataFrame:
        """Open interest (columns ``open_interest`` in contracts/coins where known and
        ``open_interest_value`` in USD), UTC index."""
        raise DataNotFoundError(f"{self.name} has no open-interest data (asked for {symbol!r}).")

    def describe(self) -> str:
        """One line saying what the source is, for reports."""
        return self.name

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.describe()})"


class FrameSource(Source):
    """A source over bar frames held in memory (your own data, or data a test made).

    Parameters
    ----------
    bars : dict
        ``{symbol: bar_frame}`` or ``{(symbol, freq, market): bar_frame}``; plain symbol keys
        serve every frequency and market.
    as_of : pandas.Timestamp, optional
        When the data was taken; bars closing after it are in progress.
    name : str
        Name shown in reports.
    """

    def __init__(
        self,
        bars: dict[Any, pd.DataFrame],
        *,
        as_of: pd.Timestamp | str | None = None,
        name: str = "frames",
    ) -> None:
        from riskmodels.data._frames import parse_symbol

        self._bars: dict[object, pd.DataFrame] = {}
        for k, v in bars.items():
            key = (parse_symbol(k[0]), *k[1:]) if isinstance(k, tuple) else parse_symbol(k)
            self._bars[key] = v
        self.as_of = pd.Timestamp(as_of) if as_of is not None else None
        self.name = name

    def _get(self, symbol: str, freq: str, market: str) -> pd.DataFrame | None:
        from riskmodels.data._frames import parse_symbol

        s = parse_symbol(symbol)
        return self._bars.get((s, freq, market), self._bars.get(s))

    def bars(self, symbol: str, freq: str = "1d", market: str = "spot") -> pd.DataFrame:
        from riskmodels.data._attrs import frozen_attrs
        from riskmodels.data._frames import parse_freq, parse_market, price_type

        f, m = parse_freq(freq), parse_market(market)
        b = self._get(symbol, f, m)
        if b is None:
            raise DataNotFoundError(
                f"{self.name} has no {m} {f} bars for {symbol!r} "
                f"(it holds {sorted(map(str, self._bars))})."
            )
        out = b.copy()
        out.attrs = frozen_attrs(
            {
                "files": [],
                "as_of": json_time(self.as_of),
                "symbol": symbol,
                "freq": f,
                "market": m,
                "price_type": price_type(m),
            }
        )
        return out

    def symbols(self, freq: str = "1d", market: str = "spot") -> list[str]:
        return sorted({k[0] if isinstance(k, tuple) else str(k) for k in self._bars})
