"""Crypto market data: sources, quality checks, aligned panels and returns.

>>> from riskmodels.data import load_prices, log_returns, common_sample
>>> px = load_prices()                      # ten majors, Binance spot daily closes  # doctest: +SKIP
>>> r = log_returns(common_sample(px))      # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

from riskmodels.data._frames import (
    BAR_COLUMNS,
    DEFAULT_UNIVERSE,
    FREQUENCIES,
    MARKETS,
    normalize_bars,
    parse_freq,
    parse_market,
    parse_symbol,
    price_type,
)
from riskmodels.data.bars import bars_from_trades, resample_bars
from riskmodels.data.base import FileRecord, FrameSource, Source, file_records, sha256_file
from riskmodels.data.loaders import (
    common_sample,
    default_source,
    load_funding,
    load_ohlcv,
    load_open_interest,
    load_prices,
)
from riskmodels.data.mirror import MirrorSource, default_mirror_path
from riskmodels.data.returns import log_returns, returns, simple_returns

__all__ = [
    "BAR_COLUMNS",
    "CHECKS",
    "DEFAULT_UNIVERSE",
    "FREQUENCIES",
    "MARKETS",
    "BinanceArchive",
    "FileRecord",
    "Finding",
    "FrameSource",
    "MirrorSource",
    "QualityCheck",
    "QualityReport",
    "QualityThresholds",
    "Repair",
    "Source",
    "available_checks",
    "bars_from_trades",
    "check_quality",
    "combine",
    "common_sample",
    "default_mirror_path",
    "default_source",
    "fetch_many",
    "file_records",
    "load_funding",
    "load_ohlcv",
    "load_open_interest",
    "load_prices",
    "log_returns",
    "normalize_bars",
    "parse_freq",
    "parse_market",
    "parse_symbol",
    "price_type",
    "resample_bars",
    "returns",
    "sha256_file",
    "simple_returns",
]

_LAZY = {
    "check_quality": "riskmodels.data.quality",
    "QualityReport": "riskmodels.data.quality",
    "Finding": "riskmodels.data.quality",
    "Repair": "riskmodels.data.quality",
    "QualityThresholds": "riskmodels.data.quality",
    "combine": "riskmodels.data.quality",
    "CHECKS": "riskmodels.data.quality",
    "QualityCheck": "riskmodels.data.quality",
    "available_checks": "riskmodels.data.quality",
    "BinanceArchive": "riskmodels.data.archive",
    "fetch_many": "riskmodels.data.archive",
}


def __getattr__(name: str) -> Any:
    # Lazy: the archive pulls in network code and the checks are only needed on load.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'riskmodels.data' has no attribute {name!r}")
