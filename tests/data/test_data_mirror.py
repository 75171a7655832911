"""Integration: the loaders on the real data mirror (../shared/data or RISKMODELS_MIRROR).

Expected values come from the mirror's own files and from PROVENANCE.md (coverage, quirks).
"""

from __future__ import annotations

import hashlib
import warnings

import numpy as np
import pandas as pd
import pytest

from riskmodels.data import (
    DEFAULT_UNIVERSE,
    MirrorSource,
    common_sample,
    file_records,
    load_funding,
    load_ohlcv,
    load_open_interest,
    load_prices,
    log_returns,
)
from riskmodels.exceptions import ConfigError, DataNotFoundError, DataQualityError

pytestmark = pytest.mark.mirror


def test_default_panel_equals_tidy_wide_exactly(mirror_source, mirror_path):
    # The acceptance criterion: closes equal tidy/binance_spot_1d_close_wide.csv exactly.
    px = load_prices(source=mirror_source)
    wide = pd.read_csv(mirror_path / "tidy" / "binance_spot_1d_close_wide.csv")
    wide.index = pd.DatetimeIndex(pd.to_datetime(wide.pop("date"), utc=True), name="time")
    assert list(px.columns) == list(DEFAULT_UNIVERSE) == list(wide.columns)
    assert px.index[-1] == pd.Timestamp("2026-03-12", tz="UTC")
    assert px.index[0] == pd.Timestamp("2017-08-17", tz="UTC")
    pd.testing.assert_index_equal(px.index, wide.index.as_unit("ns"), check_freq=False)
    np.testing.assert_array_equal(px.to_numpy(), wide.to_numpy(dtype="float64"))  # exact, NaN too
    # provenance: every file read is recorded with its true SHA-256
    rec = file_records(px)[0]
    assert rec.path == "tidy/binance_spot_1d_long.csv"
    digest = hashlib.sha256((mirror_path / rec.path).read_bytes()).hexdigest()
    assert rec.sha256 == digest


def test_common_sample_matches_provenance(mirror_source):
    # PROVENANCE §2.13: the all-10-asset sample is 2020-09-22 -> 2026-03-12 (1998 days).
    cs = common_sample(load_prices(source=mirror_source))
    assert cs.index[0] == pd.Timestamp("2020-09-22", tz="UTC")
    assert cs.index[-1] == pd.Timestamp("2026-03-12", tz="UTC")
    assert len(cs) == 1998
    r = log_returns(cs).iloc[1:]
    assert r.notna().all().all()
    # 2020-03-12 is outside; 2022-11-09 BTC close-to-close -14.1% (PROVENANCE §4)
    assert np.expm1(r.loc["2022-11-09", "BTC"]) == pytest.approx(-0.141, abs=0.001)


def test_4h_spot_raises_on_in_progress_candle_then_repairs(mirror_source):
    # The raw 4h files end with in-progress candles (PROVENANCE §2.1): by default that is an
    # error; with quality="repair" they are dropped and the repair is listed.
    with pytest.raises(DataQualityError, match=r"in.progress"):
        load_prices(["BTC"], freq="4h", source=mirror_source)
    with pytest.warns(UserWarning):
        px = load_prices(["BTC", "ETH"], freq="4h", source=mirror_source, quality="repair")
    assert px.index[-1] < pd.Timestamp("2026-03-14 08:00", tz="UTC")
    assert px.index[0] == pd.Timestamp("2017-08-17 04:00", tz="UTC")  # v3-trading-system history
    # the documented fetch time of the wave-structure-engine files decides (PROVENANCE §2.1)
    assert pd.Timestamp(mirror_source.bars("BTC", "4h").attrs["as_of"]) == pd.Timestamp(
        "2026-03-14 08:00", tz="UTC"
    )
    rep = px.attrs["quality"]["BTC"]  # the report's JSON summary
    assert rep["policy"] == "repair" and rep["repairs"] >= 1
    assert any("progress" in check for check in rep["repaired"])
    # Binance outage on 2018-06-26: missing 4h bars stay NaN (never filled)
    day = px.loc["2018-06-26", "BTC"]
    assert day.isna().any()


def test_4h_window_before_the_end_loads_without_repair(mirror_source):
    # Findings outside the requested window do not block it.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        px = load_prices(
            ["SOL"], freq="4h", start="2021-01-01", end="2021-12-31", source=mirror_source
        )
    assert px.index[0] == pd.Timestamp("2021-01-01", tz="UTC")
    assert len(px) == 364 * 6 + 1  # open times 2021-01-01 00:00 .. 2021-12-31 00:00 inclusive


def test_1h_spot_and_perp(mirror_source):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        spot = load_prices(["BTC", "ETH"], freq="1h", source=mirror_source, quality="repair")
        perp = load_prices(
            ["ETH", "BNB", "XRP"],
            freq="1h",
            market="perp",
            start="2020-03-01",
            end="2026-03-01",
            source=mirror_source,
        )
    assert spot.index[0] == pd.Timestamp("2022-04-29 08:00", tz="UTC")
    assert spot.loc["2022-11-09"].notna().all().all()  # FTX at 1h spot
    # as_of comes from the file supplying the final row (quant-strategy-river, not gravestone)
    assert pd.Timestamp(mirror_source.bars("ETH", "1h", "perp").attrs["as_of"]) == pd.Timestamp(
        "2026-03-31 03:00", tz="UTC"
    )
    # quant-strategy-river has no gaps 2020-03 -> 2026-03 (PROVENANCE §2.8)
    assert perp.notna().all().all()
    # the 2025-10-10 21:00 UTC crash hour is there
    assert perp.loc["2025-10-10 21:00"].notna().all()


def test_perp_daily_and_ohlcv_long(mirror_source):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        long = load_ohlcv(["BTC", "LINK"], market="perp", source=mirror_source, quality="repair")
    assert set(long.symbol) == {"BTC", "LINK"}
    assert long.time.min() == pd.Timestamp("2024-01-10", tz="UTC")
    # gravestone-data was fetched 2026-03-19 19:49 UTC: the 2026-03-19 daily bar is in progress
    assert long.time.max() == pd.Timestamp("2026-03-18", tz="UTC")


def test_bad_tick_in_low_raises_for_ohlcv_but_not_for_close(mirror_source):
    # LINK printed a low of 0.0001 on 2020-03-12 (PROVENANCE §2.1).
    px = load_prices(["LINK"], source=mirror_source)  # close is fine: no error
    assert px.loc["2020-03-12", "LINK"] > 1.0
    with pytest.raises(DataQualityError, match="LINK"):
        load_prices(["LINK"], field="low", source=mirror_source)
    with pytest.warns(UserWarning):
        low = load_prices(["LINK"], field="low", source=mirror_source, quality="repair")
    assert low.loc["2020-03-12", "LINK"] > 1.0


def test_funding_and_open_interest(mirror_source):
    f = load_funding("BTC", source=mirror_source)
    # hsbc-algo-genetic: 2019-09-10 08:00, 8h settlements, capped at +-0.003 (PROVENANCE §2.3)
    assert f.index[0] == pd.Timestamp("2019-09-10 08:00", tz="UTC")
    assert f.loc["2020-03-13 08:00"] == pytest.approx(-0.003)
    assert f.abs().max() <= 0.003 + 1e-12
    assert not f.index.has_duplicates
    oi = load_open_interest("BTC", "1d", source=mirror_source, contract="coinm")
    assert oi.index[0] == pd.Timestamp("2021-09-15", tz="UTC")
    assert len(oi) == 1503
    usdm = load_open_interest("ETH", "4h", source=mirror_source)
    assert (usdm["open_interest_value"] > 0).all()
    with pytest.raises(ConfigError, match="contract must be 'usdm' or 'coinm'"):
        load_open_interest("BTC", source=mirror_source, contract="inverse")


def test_mirror_errors(tmp_path, mirror_source):
    with pytest.raises(DataNotFoundError, match="does not exist"):
        MirrorSource(tmp_path / "nope")
    with pytest.raises(DataNotFoundError, match=r"no perp 1h bars for 'LTC'.*holds"):
        MirrorSource(tmp_path).bars("LTC", "1h", "perp")
    with pytest.raises(DataNotFoundError, match="no spot 1h bars for 'SOL'"):
        mirror_source.bars("SOL", "1h", "spot")
    with pytest.raises(DataNotFoundError, match="Bitstamp daily series is BTC only"):
        mirror_source.reference_close("ETH", "bitstamp")


def test_reference_prices_agree_with_binance(mirror_source):
    # PROVENANCE §3: Binance vs Coinbase BTC median abs diff 0.040%.
    cb = mirror_source.reference_close("BTC", "coinbase")
    bn = load_prices(["BTC"], source=mirror_source)["BTC"]
    both = pd.concat([bn, cb], axis=1, join="inner").dropna()
    med = (both.iloc[:, 1] / both.iloc[:, 0] - 1).abs().median() * 100
    assert med == pytest.approx(0.040, abs=0.005)
