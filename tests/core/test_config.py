"""Run configs: TOML → validated frozen dataclasses, with teaching error messages."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import pandas as pd
import pytest

from riskmodels.config import (
    DataConfig,
    QuickConfig,
    RunConfig,
    default_config_path,
    load_config,
)
from riskmodels.data import DEFAULT_UNIVERSE
from riskmodels.exceptions import ConfigError

REPO = Path(__file__).resolve().parents[2]
DEFAULT = REPO / "configs" / "default.toml"
QUICK = REPO / "configs" / "quick.toml"


def write(tmp_path: Path, text: str, name: str = "run.toml") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


# -- the shipped files ---------------------------------------------------------------------------
def test_default_file_equals_builtin_defaults():
    cfg = load_config(DEFAULT)
    assert cfg == RunConfig()  # `path` is excluded from equality
    assert cfg.data.universe == DEFAULT_UNIVERSE
    assert (cfg.data.freq, cfg.data.market, cfg.data.start, cfg.data.end) == (
        "1d",
        "spot",
        None,
        None,
    )
    assert cfg.data.check_freqs == ("1d", "4h")
    assert cfg.run.profile == "default"
    assert cfg.path == DEFAULT


def test_quick_file_is_small_and_its_own_quick_variant():
    cfg = load_config(QUICK)
    assert cfg.data.universe == ("BTC", "ETH", "LINK")
    assert cfg.data.start == pd.Timestamp("2019-06-01", tz="UTC")
    assert cfg.data.end == pd.Timestamp("2021-05-31", tz="UTC")
    assert cfg.run.profile == "quick"
    # the window holds LINK's documented bad tick of 2020-03-12 (PROVENANCE.md §2.1)
    assert cfg.data.start <= pd.Timestamp("2020-03-12", tz="UTC") <= cfg.data.end
    assert cfg.with_quick() == cfg


def test_with_quick_replaces_universe_window_and_profile_only():
    cfg = load_config(DEFAULT)
    q = cfg.with_quick()
    assert q.data.universe == cfg.quick.universe
    assert (q.data.start, q.data.end) == (cfg.quick.start, cfg.quick.end)
    assert q.run.profile == "quick"
    assert q.run.seed == cfg.run.seed
    assert dataclasses.replace(q.data, universe=cfg.data.universe, start=None, end=None) == (
        cfg.data
    )
    assert load_config(DEFAULT, quick=True) == q
    assert cfg.data.universe == DEFAULT_UNIVERSE  # the original is unchanged (frozen)


def test_configs_are_frozen():
    cfg = RunConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.run.seed = 1  # type: ignore[misc]


# -- round trips and the digest ------------------------------------------------------------------
def test_to_dict_round_trips_and_is_json(tmp_path):
    cfg = load_config(QUICK)
    d = cfg.to_dict()
    json.dumps(d)  # plain types only
    assert d["data"]["start"] == "2019-06-01"
    assert "mirror" not in d["data"]  # None values are omitted (TOML has no null)
    assert RunConfig.from_dict(d) == cfg
    assert load_config(write(tmp_path, cfg.to_toml())) == cfg


def test_digest_is_canonical_json_and_ignores_the_file_path(tmp_path):
    cfg = load_config(DEFAULT)
    text = json.dumps(cfg.to_dict(), sort_keys=True, separators=(",", ":"))
    assert cfg.digest() == hashlib.sha256(text.encode()).hexdigest()
    copy = load_config(write(tmp_path, DEFAULT.read_text()))
    assert copy.digest() == cfg.digest()
    reseeded = dataclasses.replace(cfg, run=dataclasses.replace(cfg.run, seed=1))
    assert reseeded.digest() != cfg.digest()


def test_dates_and_datetimes_are_utc(tmp_path):
    p = write(
        tmp_path,
        "[data]\nstart = 2024-01-01\nend = 2024-06-30T12:00:00+02:00\n",
    )
    cfg = load_config(p)
    assert cfg.data.start == pd.Timestamp("2024-01-01 00:00", tz="UTC")
    assert cfg.data.end == pd.Timestamp("2024-06-30 10:00", tz="UTC")
    assert cfg.to_dict()["data"]["end"] == "2024-06-30T10:00:00+00:00"
    s = load_config(write(tmp_path, '[data]\nstart = "2024-02-01"\n', "s.toml"))
    assert s.data.start == pd.Timestamp("2024-02-01", tz="UTC")


def test_symbols_are_normalized(tmp_path):
    cfg = load_config(write(tmp_path, '[data]\nuniverse = ["btcusdt", "Eth"]\n'))
    assert cfg.data.universe == ("BTC", "ETH")


def test_relative_mirror_is_resolved_against_the_config_folder(tmp_path):
    (tmp_path / "mirror").mkdir()
    sub = tmp_path / "cfg"
    sub.mkdir()
    cfg = load_config(write(sub, '[data]\nmirror = "../mirror"\n'))
    assert cfg.data.mirror == (tmp_path / "mirror").resolve()


def test_empty_file_gives_defaults(tmp_path):
    assert load_config(write(tmp_path, "")) == RunConfig()


def test_default_config_path_prefers_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert default_config_path() == DEFAULT.resolve()  # falls back to the source checkout
    (tmp_path / "configs").mkdir()
    own = write(tmp_path / "configs", "[run]\nseed = 7\n", "default.toml")
    assert default_config_path() == own
    assert load_config().run.seed == 7


def test_quick_section_defaults():
    q = QuickConfig()
    assert "LINK" in q.universe
    assert RunConfig().with_quick().data.universe == q.universe
    assert DataConfig().quality == "raise"


# -- errors --------------------------------------------------------------------------------------
BAD = [
    # (toml text, regex the message must match)
    ("[dat]\nfreq = '1d'\n", r"unknown section \[dat\].*Did you mean 'data'"),
    ("[data]\nfrq = '1d'\n", r"unknown \[data\] key 'frq' \(value '1d'\).*Did you mean 'freq'"),
    ("[run]\nsede = 3\n", r"unknown \[run\] key 'sede' \(value 3\).*Did you mean 'seed'"),
    ("data = 3\n", r"\[data\] must be a table \(got data = 3\)"),
    ("[data]\nuniverse = 'BTC'\n", r"data.universe must be a non-empty list.*got 'BTC'"),
    ("[data]\nuniverse = []\n", r"data.universe must be a non-empty list.*got \[\]"),
    ("[data]\nuniverse = ['BTC', 3]\n", r"data.universe must hold symbol strings.*got 3"),
    ("[data]\nuniverse = ['BTC', 'btc']\n", r"data.universe lists \['BTC'\] more than once"),
    ("[data]\nfreq = '2m'\n", r"data.freq = '2m' is not a supported bar frequency.*'1d', '4h'"),
    ("[data]\nfreq = 1\n", r"data.freq must be a string \(got 1, a int\)"),
    ("[data]\nmarket = 'options'\n", r"data.market = 'options' is not a market.*'spot' or"),
    ("[data]\nquality = 'ignore'\n", r"data.quality = 'ignore' is not a quality policy.*'repair'"),
    ("[data]\nstart = 'last year'\n", r"data.start = 'last year' is not a date.*ISO date"),
    ("[data]\nstart = 12:00:00\n", r"data.start must be a date such as 2024-01-01"),
    ("[data]\nend = true\n", r"data.end must be a date such as 2024-01-01 \(got True\)"),
    (
        "[data]\nstart = 2024-02-01\nend = 2024-01-01\n",
        r"data.start \(2024-02-01\) is after data.end \(2024-01-01\)\. Swap them",
    ),
    ("[data]\nmirror = 'no/such/folder'\n", r"data.mirror = 'no/such/folder' is not a folder"),
    ("[data]\ncheck_freqs = '4h'\n", r"data.check_freqs must be a non-empty list"),
    ("[data]\ncheck_freqs = ['4h', '4H']\n", r"data.check_freqs lists a frequency more than once"),
    ("[report]\ninclude = 'data'\n", r"report.include must be a list of report names"),
    ("[report]\ninclude = ['data', 'risk']\n", r"report.include names an unknown report 'risk'"),
    ("[report]\ninclude = ['data', 'data']\n", r"report.include lists a report twice"),
    ("[report]\nexecution_timeout = 0\n", r"report.execution_timeout must be a positive.*got 0"),
    ("[report]\nexecution_timeout = true\n", r"report.execution_timeout must be a positive"),
    ("[run]\nseed = -1\n", r"run.seed must be a non-negative integer.*got -1"),
    ("[run]\nseed = 1.5\n", r"run.seed must be a non-negative integer.*got 1.5"),
    ("[run]\nseed = false\n", r"run.seed must be a non-negative integer.*got False"),
    ("[run]\nprofile = 'my run'\n", r"run.profile = 'my run' must be a short name"),
    ("[quick]\nuniverse = 'BTC'\n", r"quick.universe must be a non-empty list"),
    ("[quick]\nstart = 2021-01-01\nend = 2020-01-01\n", r"quick.start \(2021-01-01\) is after"),
    ("[quick]\nfreq = '1d'\n", r"unknown \[quick\] key 'freq'.*Known keys in \[quick\]"),
]


@pytest.mark.parametrize(("text", "match"), BAD, ids=[b[1][:40] for b in BAD])
def test_bad_values_raise_config_error_naming_key_and_value(tmp_path, text, match):
    p = write(tmp_path, text)
    with pytest.raises(ConfigError, match=match) as info:
        load_config(p)
    assert str(info.value).startswith(str(p))  # the message names the file


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match=r"config file '.*nope.toml' not found.*--config"):
        load_config(tmp_path / "nope.toml")


def test_invalid_toml(tmp_path):
    p = write(tmp_path, "[data]\nfreq = 1d\n")
    with pytest.raises(
        ConfigError, match=r"run.toml: not valid TOML \(.*line 2.*strings need quotes"
    ):
        load_config(p)


def test_from_dict_rejects_non_tables():
    with pytest.raises(ConfigError, match=r"a config must be a table of sections \(got list\)"):
        RunConfig.from_dict([1, 2])  # type: ignore[arg-type]
