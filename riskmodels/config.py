"""Run configurations: TOML files validated into frozen, typed objects.

A run config says what a report (or any scripted run) uses: the asset universe and sample, the
quality policy, which reports to build, and the seed. It is read with :mod:`tomllib`, checked
key by key, and returned as a frozen :class:`RunConfig`; a report records
:meth:`RunConfig.to_dict` and :meth:`RunConfig.digest` in its provenance.

Example (``configs/default.toml``)::

    [run]
    seed = 20240917
    profile = "default"
    backend = "loky"        # where walk-forward backtests run: loky | dask | sequential
    n_jobs = 1              # worker processes (-1: every core); results do not depend on it
    # scheduler = "tcp://10.0.0.5:8786"   # backend = "dask" only: an existing cluster
    # cache_dir = "../data/walkforward"   # task cache: an interrupted run resumes from it
    retries = 1             # re-runs of a task after a worker crash

    [data]
    universe = ["BTC", "ETH", "BNB", "SOL", "XRP", "ADA", "DOGE", "LTC", "LINK", "AVAX"]
    freq = "1d"
    market = "spot"
    # start, end: omit for the full history; dates are UTC bar open times, inclusive
    quality = "raise"
    check_freqs = ["1d", "4h"]

    [report]
    include = ["data", "calibration", "validation"]
    execution_timeout = 600

    [quick]                 # what --quick (tests, smoke runs) replaces in [data]
    universe = ["BTC", "ETH", "LINK"]
    start = 2019-06-01
    end = 2021-05-31

Every mistake raises :class:`~riskmodels.exceptions.ConfigError` naming the file, the key and the
value, and saying the fix: unknown keys (with the closest known key), wrong types, bad values.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import difflib
import hashlib
import json
import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from riskmodels.data._frames import (
    DEFAULT_UNIVERSE,
    FREQUENCIES,
    parse_freq,
    parse_market,
    parse_symbol,
)
from riskmodels.exceptions import ConfigError
from riskmodels.parallel import BACKENDS as _BACKENDS

__all__ = [
    "BACKENDS",
    "QUALITY_POLICIES",
    "REPORT_NAMES",
    "DataConfig",
    "QuickConfig",
    "ReportConfig",
    "RunConfig",
    "RunSection",
    "default_config_path",
    "load_config",
]

#: Quality policies of :func:`riskmodels.data.load_prices`.
QUALITY_POLICIES: tuple[str, ...] = ("raise", "warn", "repair", "off")

#: Execution backends of :func:`riskmodels.backtest.walk_forward` and
#: :func:`riskmodels.calibration.calibration_grid`.
BACKENDS: tuple[str, ...] = _BACKENDS

#: Reports a config may ask for (``riskmodels.reporting.REPORTS`` has one entry for each).
REPORT_NAMES: tuple[str, ...] = ("data", "calibration", "validation")

_PROFILE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
# Default quick window: two years around the March 2020 crash (Timestamps are immutable).
_QUICK_START = pd.Timestamp("2019-06-01", tz="UTC")
_QUICK_END = pd.Timestamp("2021-05-31", tz="UTC")


# -- sections ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class DataConfig:
    """``[data]``: which market data a run uses.

    Attributes
    ----------
    universe : tuple of str
        Base symbols, e.g. ``("BTC", "ETH")``; default the ten majors.
    freq : {"1d", "4h", "1h", "15m", "5m", "1m"}
        Bar frequency of the analysis panel.
    market : {"spot", "perp", "mark", "index", "coinm", "coinm_mark"}
        Binance spot or USDⓈ-M perpetual (last price), or another price series of
        :data:`riskmodels.data.MARKETS`.
    start, end : pandas.Timestamp or None
        Inclusive UTC window on bar open times; ``None`` is the full history.
    quality : {"raise", "warn", "repair", "off"}
        Quality policy used when loading the analysis panel
        (see :func:`riskmodels.data.load_prices`).
    mirror : pathlib.Path or None
        Data mirror folder; ``None`` uses ``RISKMODELS_MIRROR`` or ``../shared/data``. A relative
        path in a file is taken relative to that file's folder.
    check_freqs : tuple of str
        Frequencies on which the data report runs the quality checks.
    """

    universe: tuple[str, ...] = DEFAULT_UNIVERSE
    freq: str = "1d"
    market: str = "spot"
    start: pd.Timestamp | None = None
    end: pd.Timestamp | None = None
    quality: str = "raise"
    mirror: Path | None = None
    check_freqs: tuple[str, ...] = ("1d", "4h")


@dataclass(frozen=True)
class ReportConfig:
    """``[report]``: which reports ``riskmodels report all`` builds, and how.

    Attributes
    ----------
    include : tuple of str
        Report names built by ``all`` (a subset of ``("data", "calibration", "validation")``).
    execution_timeout : int
        Seconds a single notebook cell may run before the report fails.
    """

    include: tuple[str, ...] = REPORT_NAMES
    execution_timeout: int = 600


@dataclass(frozen=True)
class RunSection:
    """``[run]``: seed, profile name and where the walk-forward backtests run.

    The execution keys are passed to :func:`riskmodels.backtest.walk_forward` by the notebooks
    (see its docstring); the forecasts are bit-identical for every backend and ``n_jobs``.

    Attributes
    ----------
    seed : int
        Seed of every random number generator of the run (non-negative).
    profile : str
        A label recorded in reports (``"default"``, ``"quick"``, ...).
    backend : {"loky", "dask", "sequential"}
        ``"loky"``: joblib processes (in the notebook's process when ``n_jobs = 1``);
        ``"dask"``: dask.distributed (``pip install riskmodels[distributed]``);
        ``"sequential"``: always in the notebook's process.
    n_jobs : int
        Worker processes, ``>= 1``, or ``-1`` for every core. With ``backend = "dask"`` and no
        ``scheduler``, the workers of the local cluster started for each backtest.
    scheduler : str or None
        ``backend = "dask"`` only: the address of a running dask scheduler, e.g.
        ``"tcp://10.0.0.5:8786"``; ``None`` starts a local cluster for each backtest.
    cache_dir : pathlib.Path or None
        Folder where each backtest task's output is stored as it finishes, so that an
        interrupted run resumes; ``None``: no cache. A relative path in a file is taken
        relative to that file's folder.
    retries : int
        How many times a task is run again after a worker crash (``>= 0``).
    """

    seed: int = 20240917
    profile: str = "default"
    backend: str = "loky"
    n_jobs: int = 1
    scheduler: str | None = None
    cache_dir: Path | None = None
    retries: int = 1


@dataclass(frozen=True)
class QuickConfig:
    """``[quick]``: what :meth:`RunConfig.with_quick` (``--quick``) replaces in ``[data]``.

    Attributes
    ----------
    universe : tuple of str
        A few assets. The default keeps LINK so that the documented 2020-03-12 bad tick is in.
    start, end : pandas.Timestamp or None
        A short window (default two years around the March 2020 crash).
    """

    universe: tuple[str, ...] = ("BTC", "ETH", "LINK")
    start: pd.Timestamp | None = _QUICK_START
    end: pd.Timestamp | None = _QUICK_END


_SECTIONS: dict[str, type] = {
    "data": DataConfig,
    "report": ReportConfig,
    "run": RunSection,
    "quick": QuickConfig,
}


@dataclass(frozen=True)
class RunConfig:
    """A validated run configuration.

    Build one with :func:`load_config` (from a TOML file) or :meth:`from_dict`; the defaults
    equal ``configs/default.toml``.

    Attributes
    ----------
    data : DataConfig
    report : ReportConfig
    run : RunSection
    quick : QuickConfig
    path : pathlib.Path or None
        The file it was read from (not part of :meth:`to_dict` or :meth:`digest`).
    """

    data: DataConfig = field(default_factory=DataConfig)
    report: ReportConfig = field(default_factory=ReportConfig)
    run: RunSection = field(default_factory=RunSection)
    quick: QuickConfig = field(default_factory=QuickConfig)
    path: Path | None = field(default=None, compare=False)

    # -- conversions --------------------------------------------------------------------------
    def to_dict(self) -> dict[str, dict[str, Any]]:
        """Plain JSON- and TOML-friendly dict (timestamps as ISO strings, omitted when None).

        ``RunConfig.from_dict(cfg.to_dict()) == cfg``.
        """
        out: dict[str, dict[str, Any]] = {}
        for name in _SECTIONS:
            sec = getattr(self, name)
            d: dict[str, Any] = {}
            for f in dataclasses.fields(sec):
                v = _plain(getattr(sec, f.name))
                if v is not None:
                    d[f.name] = v
            out[name] = d
        return out

    @classmethod
    def from_dict(
        cls, raw: Mapping[str, Any], *, path: str | os.PathLike[str] | None = None
    ) -> RunConfig:
        """Validate a parsed TOML document (or :meth:`to_dict` output).

        Parameters
        ----------
        raw : mapping
            Sections ``data``, ``report``, ``run`` and ``quick``; each is optional.
        path : path-like, optional
            The file ``raw`` came from: named in messages, and relative ``data.mirror`` and
            ``run.cache_dir`` paths are resolved against its folder.

        Raises
        ------
        ConfigError
            For an unknown section or key, a wrong type or a bad value.
        """
        v = _Validator(Path(path) if path is not None else None)
        if not isinstance(raw, Mapping):
            raise v.error(f"a config must be a table of sections (got {type(raw).__name__}).")
        v.unknown("", raw, _SECTIONS)
        for name in _SECTIONS:
            sec = raw.get(name, {})
            if not isinstance(sec, Mapping):
                raise v.error(
                    f"[{name}] must be a table (got {name} = {sec!r}). Write it as a "
                    f"section: a line `[{name}]` followed by `key = value` lines."
                )
            v.unknown(name, sec, _SECTIONS[name])
        data = v.data(raw.get("data", {}))
        quick = v.quick(raw.get("quick", {}))
        return cls(
            data=data,
            report=v.report(raw.get("report", {})),
            run=v.run(raw.get("run", {})),
            quick=quick,
            path=Path(path) if path is not None else None,
        )

    def to_toml(self) -> str:
        """The config as TOML text (round-trips through :func:`load_config`)."""
        lines: list[str] = []
        for name, sec in self.to_dict().items():
            lines.append(f"[{name}]")
            for k, val in sec.items():
                lines.append(f"{k} = {_toml_value(val)}")
            lines.append("")
        return "\n".join(lines)

    def digest(self) -> str:
        """SHA-256 of the canonical JSON of :meth:`to_dict` (stable across runs and machines,
        except for an explicit ``mirror`` or ``cache_dir`` path)."""
        text = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    # -- variants -----------------------------------------------------------------------------
    def with_quick(self) -> RunConfig:
        """The small, fast variant used by ``--quick``: ``[quick]`` replaces the universe and
        window of ``[data]`` and the profile becomes ``"quick"``.

        Returns
        -------
        RunConfig
            A new config; this one is unchanged.
        """
        return dataclasses.replace(
            self,
            data=dataclasses.replace(
                self.data,
                universe=self.quick.universe,
                start=self.quick.start,
                end=self.quick.end,
            ),
            run=dataclasses.replace(self.run, profile="quick"),
        )

    def with_run(self, **changes: Any) -> RunConfig:
        """A copy with ``[run]`` keys replaced, validated like a file's ``[run]`` section.

        Parameters
        ----------
        **changes
            ``[run]`` keys and their new values, e.g. ``backend="dask", n_jobs=4``. ``None``
            removes a key (back to its default: no ``scheduler``, no ``cache_dir``). A relative
            ``cache_dir`` is taken relative to the working directory.

        Returns
        -------
        RunConfig
            A new config; this one is unchanged.

        Raises
        ------
        ConfigError
            For an unknown key or a bad value (the same messages as for a file), including a
            ``scheduler`` left in place while ``backend`` becomes something other than ``"dask"``.

        Examples
        --------
        >>> RunConfig().with_run(backend="dask", n_jobs=2).run.backend
        'dask'
        """
        v = _Validator(None)
        v.unknown("run", changes, RunSection)
        raw: dict[str, Any] = self.to_dict()["run"]
        for key, val in changes.items():
            if val is None:
                raw.pop(key, None)
            else:
                raw[key] = os.fspath(val) if isinstance(val, os.PathLike) else val
        return dataclasses.replace(self, run=v.run(raw))


# -- loading -------------------------------------------------------------------------------------
def default_config_path() -> Path | None:
    """``configs/default.toml`` in the working directory, else beside the package's source tree.

    Returns
    -------
    pathlib.Path or None
        ``None`` when neither exists (the built-in defaults, equal to that file, are used).
    """
    for cand in (
        Path.cwd() / "configs" / "default.toml",
        Path(__file__).resolve().parents[1] / "configs" / "default.toml",
    ):
        if cand.is_file():
            return cand
    return None


def load_config(path: str | os.PathLike[str] | None = None, *, quick: bool = False) -> RunConfig:
    """Read and validate a run config.

    Parameters
    ----------
    path : path-like, optional
        A TOML file. Default :func:`default_config_path` (or the built-in defaults).
    quick : bool
        Return :meth:`RunConfig.with_quick` of the file's config.

    Returns
    -------
    RunConfig

    Raises
    ------
    ConfigError
        If the file is missing, is not UTF-8 text, is not valid TOML, or fails validation.

    Examples
    --------
    >>> cfg = load_config("configs/default.toml")         # doctest: +SKIP
    >>> cfg.data.universe[:3]                             # doctest: +SKIP
    ('BTC', 'ETH', 'BNB')
    """
    p = Path(path).expanduser() if path is not None else default_config_path()
    if p is None:
        cfg = RunConfig()
    else:
        if not p.is_file():
            raise ConfigError(
                f"config file {str(p)!r} not found. Pass an existing TOML file, e.g. "
                "--config configs/default.toml."
            )
        try:
            text = p.read_bytes().decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ConfigError(
                f"the config file is not UTF-8 text: {p} (byte {exc.start}: {exc.reason}). "
                "Save it as UTF-8 (TOML files must be UTF-8)."
            ) from exc
        try:
            raw = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(
                f"{p}: not valid TOML ({exc}). Check quoting: strings need quotes, "
                'lists are written ["BTC", "ETH"].'
            ) from exc
        cfg = RunConfig.from_dict(raw, path=p)
    return cfg.with_quick() if quick else cfg


# -- validation ----------------------------------------------------------------------------------
class _Validator:
    """Checks one document; every message starts with the file name when known."""

    def __init__(self, path: Path | None) -> None:
        self.path = path

    def error(self, msg: str) -> ConfigError:
        return ConfigError(f"{self.path}: {msg}" if self.path is not None else msg)

    def unknown(self, section: str, table: Mapping[str, Any], known: Any) -> None:
        names = (
            list(known)
            if isinstance(known, dict)
            else [f.name for f in dataclasses.fields(known) if f.name != "path"]
        )
        for key, val in table.items():
            if key in names:
                continue
            where = f"[{section}] key {key!r}" if section else f"section [{key}]"
            close = difflib.get_close_matches(str(key), names, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            shown = _short(val)
            raise self.error(
                f"unknown {where} (value {shown}).{hint} Known "
                f"{'keys in [' + section + ']' if section else 'sections'}: {', '.join(names)}."
            )

    # scalar helpers ------------------------------------------------------------------------
    def _str(self, key: str, val: Any, example: str) -> str:
        if not isinstance(val, str):
            raise self.error(
                f"{key} must be a string (got {_short(val)}, a {type(val).__name__}). "
                f"Write e.g. {key.split('.')[-1]} = {example}."
            )
        return val

    def _path(self, key: str, text: str) -> Path:
        """``text`` as an absolute path (``~`` expanded, relative to the config file's folder),
        or a ConfigError for a NUL character or an unknown ``~user``."""
        if "\x00" in text:
            raise self.error(
                f"{key} = {_short(text)} contains a NUL character, which no path may hold. "
                "Write the folder's path as plain text."
            )
        try:
            p = Path(text).expanduser()
        except RuntimeError:  # "~nobody/x": no such user, or no home directory
            raise self.error(
                f"{key} = {_short(text)}: '~' cannot be expanded (unknown user or no home "
                "directory). Write the path out in full, or relative to the config file."
            ) from None
        if not p.is_absolute() and self.path is not None:
            p = self.path.parent / p
        try:
            return p.resolve()
        except (OSError, RuntimeError, ValueError) as exc:
            raise self.error(f"{key} = {_short(text)} is not a usable path ({exc}).") from None

    def _symbols(self, key: str, val: Any) -> tuple[str, ...]:
        if isinstance(val, str) or not isinstance(val, Sequence) or not val:
            raise self.error(
                f"{key} must be a non-empty list of symbols (got {_short(val)}). "
                f'Write e.g. {key.split(".")[-1]} = ["BTC", "ETH"].'
            )
        out = []
        for s in val:
            if not isinstance(s, str) or not s.strip():
                raise self.error(
                    f"{key} must hold symbol strings such as 'BTC' (got {_short(s)} in "
                    f"{_short(val)})."
                )
            out.append(parse_symbol(s))
        dup = sorted({s for s in out if out.count(s) > 1})
        if dup:
            raise self.error(f"{key} lists {dup} more than once (got {_short(val)}).")
        return tuple(out)

    def _freqs(self, key: str, val: Any) -> tuple[str, ...]:
        if isinstance(val, str) or not isinstance(val, Sequence) or not val:
            raise self.error(
                f'{key} must be a non-empty list of frequencies such as ["1d", "4h"] '
                f"(got {_short(val)})."
            )
        out = tuple(self._freq(key, f) for f in val)
        if len(set(out)) != len(out):
            raise self.error(f"{key} lists a frequency more than once (got {_short(val)}).")
        return out

    def _freq(self, key: str, val: Any) -> str:
        text = self._str(key, val, '"1d"')
        try:
            return parse_freq(text)
        except ConfigError:
            raise self.error(
                f"{key} = {_short(val)} is not a supported bar frequency: use one of "
                f"{', '.join(repr(f) for f in FREQUENCIES)}."
            ) from None

    def _time(self, key: str, val: Any) -> pd.Timestamp | None:
        if isinstance(val, _dt.time) or isinstance(val, bool):
            raise self.error(
                f"{key} must be a date such as 2024-01-01 (got {_short(val)}). Omit the key "
                "for the full history."
            )
        if isinstance(val, _dt.date | str | pd.Timestamp):
            try:
                ts = pd.Timestamp(val)
            except (ValueError, TypeError):
                ts = None
            if ts is not None and not pd.isna(ts):
                return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
        raise self.error(
            f"{key} = {_short(val)} is not a date. Write an ISO date (start = 2024-01-01) or "
            "datetime (start = 2024-01-01T04:00:00Z); omit the key for the full history."
        )

    def _window(self, sec: str, raw: Mapping[str, Any], default: Any) -> tuple[Any, Any]:
        s = self._time(f"{sec}.start", raw["start"]) if "start" in raw else default.start
        e = self._time(f"{sec}.end", raw["end"]) if "end" in raw else default.end
        if s is not None and e is not None and s > e:
            raise self.error(
                f"{sec}.start ({s.date()}) is after {sec}.end ({e.date()}). Swap them, or omit "
                "one for an open-ended window."
            )
        return s, e

    # sections --------------------------------------------------------------------------
    def data(self, raw: Mapping[str, Any]) -> DataConfig:
        d = DataConfig()
        universe = self._symbols("data.universe", raw["universe"]) if "universe" in raw else None
        freq = self._freq("data.freq", raw["freq"]) if "freq" in raw else d.freq
        market = d.market
        if "market" in raw:
            text = self._str("data.market", raw["market"], '"spot"')
            try:
                market = parse_market(text)
            except ConfigError:
                raise self.error(
                    f"data.market = {_short(raw['market'])} is not a market: use 'spot' or "
                    "'perp' (Binance USDⓈ-M perpetual), or one of 'mark', 'index', 'coinm', "
                    "'coinm_mark'."
                ) from None
        start, end = self._window("data", raw, d)
        quality = d.quality
        if "quality" in raw:
            quality = self._str("data.quality", raw["quality"], '"raise"')
            if quality not in QUALITY_POLICIES:
                raise self.error(
                    f"data.quality = {quality!r} is not a quality policy: use one of "
                    f"{', '.join(repr(q) for q in QUALITY_POLICIES)}."
                )
        mirror = None
        if "mirror" in raw:
            m = self._path(
                "data.mirror", self._str("data.mirror", raw["mirror"], '"../shared/data"')
            )
            if not m.is_dir():
                raise self.error(
                    f"data.mirror = {raw['mirror']!r} is not a folder (resolved to {str(m)!r}). "
                    "Fix the path, or remove the key to use RISKMODELS_MIRROR or ../shared/data."
                )
            mirror = m
        check = (
            self._freqs("data.check_freqs", raw["check_freqs"])
            if "check_freqs" in raw
            else d.check_freqs
        )
        return DataConfig(
            universe=universe if universe is not None else d.universe,
            freq=freq,
            market=market,
            start=start,
            end=end,
            quality=quality,
            mirror=mirror,
            check_freqs=check,
        )

    def report(self, raw: Mapping[str, Any]) -> ReportConfig:
        d = ReportConfig()
        include = d.include
        if "include" in raw:
            val = raw["include"]
            if isinstance(val, str) or not isinstance(val, Sequence):
                raise self.error(
                    f"report.include must be a list of report names (got {_short(val)}). "
                    f'Write e.g. include = ["data"].'
                )
            for n in val:
                if n not in REPORT_NAMES:
                    raise self.error(
                        f"report.include names an unknown report {_short(n)}: use any of "
                        f"{', '.join(repr(r) for r in REPORT_NAMES)}."
                    )
            if len(set(val)) != len(val):
                raise self.error(f"report.include lists a report twice (got {_short(val)}).")
            include = tuple(val)
        timeout = d.execution_timeout
        if "execution_timeout" in raw:
            timeout = raw["execution_timeout"]
            if isinstance(timeout, bool) or not isinstance(timeout, int) or timeout <= 0:
                raise self.error(
                    f"report.execution_timeout must be a positive number of seconds "
                    f"(got {_short(timeout)}). Typical: 600."
                )
        return ReportConfig(include=include, execution_timeout=timeout)

    def run(self, raw: Mapping[str, Any]) -> RunSection:
        d = RunSection()
        seed = d.seed
        if "seed" in raw:
            seed = raw["seed"]
            if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63:
                raise self.error(
                    f"run.seed must be a non-negative integer below 2**63 (got {_short(seed)}). "
                    "Write e.g. seed = 20240917."
                )
        profile = d.profile
        if "profile" in raw:
            profile = self._str("run.profile", raw["profile"], '"default"')
            if not _PROFILE_RE.match(profile):
                raise self.error(
                    f"run.profile = {profile!r} must be a short name of letters, digits, '-', "
                    "'_' or '.' (it names runs and files)."
                )
        backend = d.backend
        if "backend" in raw:
            backend = self._str("run.backend", raw["backend"], '"loky"')
            if backend not in BACKENDS:
                raise self.error(
                    f"run.backend = {backend!r} is not a backend: use 'loky' (joblib processes), "
                    "'dask' (dask.distributed) or 'sequential' (this process)."
                )
        n_jobs = d.n_jobs
        if "n_jobs" in raw:
            n_jobs = raw["n_jobs"]
            if (
                isinstance(n_jobs, bool)
                or not isinstance(n_jobs, int)
                or n_jobs == 0
                or n_jobs < -1
            ):
                raise self.error(
                    f"run.n_jobs must be a positive integer, or -1 for every core (got "
                    f"{_short(n_jobs)}). Write e.g. n_jobs = 4; the results do not depend on it."
                )
        scheduler = None
        if "scheduler" in raw:
            scheduler = self._str("run.scheduler", raw["scheduler"], '"tcp://10.0.0.5:8786"')
            if "://" not in scheduler:
                raise self.error(
                    f"run.scheduler = {scheduler!r} is not a dask scheduler address: write it "
                    'with its protocol, e.g. scheduler = "tcp://10.0.0.5:8786", or remove the key '
                    "to start a local cluster for each backtest."
                )
            if backend != "dask":
                raise self.error(
                    f'run.scheduler = {scheduler!r} is only used with backend = "dask" (got '
                    f'backend = {backend!r}). Set backend = "dask", or remove scheduler.'
                )
        cache_dir = None
        if "cache_dir" in raw:
            text = self._str("run.cache_dir", raw["cache_dir"], '"cache/walkforward"')
            if not text.strip():
                raise self.error(
                    "run.cache_dir is empty. Name a folder, e.g. cache_dir = "
                    '"cache/walkforward", or remove the key to run without a cache.'
                )
            c = self._path("run.cache_dir", text)
            if c.exists() and not c.is_dir():
                raise self.error(
                    f"run.cache_dir = {text!r} is a file, not a folder (resolved to "
                    f"{str(c)!r}). Name a folder (it is created when missing), or remove the key "
                    "to run without a cache."
                )
            cache_dir = c
        retries = d.retries
        if "retries" in raw:
            retries = raw["retries"]
            if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
                raise self.error(
                    f"run.retries must be a non-negative integer (got {_short(retries)}): how "
                    "many times a backtest task is run again after a worker crash. Typical: 1."
                )
        return RunSection(
            seed=seed,
            profile=profile,
            backend=backend,
            n_jobs=n_jobs,
            scheduler=scheduler,
            cache_dir=cache_dir,
            retries=retries,
        )

    def quick(self, raw: Mapping[str, Any]) -> QuickConfig:
        d = QuickConfig()
        universe = (
            self._symbols("quick.universe", raw["universe"]) if "universe" in raw else d.universe
        )
        start, end = self._window("quick", raw, d)
        return QuickConfig(universe=universe, start=start, end=end)


# -- helpers --------------------------------------------------------------------------------------
def _short(val: Any, limit: int = 80) -> str:
    s = repr(val)
    return s if len(s) <= limit else s[: limit - 3] + "..."


def _plain(v: Any) -> Any:
    if isinstance(v, pd.Timestamp):
        if v == v.normalize():
            return v.strftime("%Y-%m-%d")
        return v.isoformat()
    if isinstance(v, Path):
        return str(v)
    if isinstance(v, tuple):
        return [_plain(x) for x in v]
    return v


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return json.dumps(str(v), ensure_ascii=False)
