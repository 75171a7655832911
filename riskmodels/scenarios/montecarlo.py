r"""Monte Carlo scenarios: joint paths simulated from a fitted multivariate (or univariate) model.

>>> gen = MonteCarloScenarios(model=DCC(univariate=GARCH(dist="t")), n=20_000,
...                           innovations="t", window=1000)       # doctest: +SKIP
>>> sc = gen.generate(returns, "2024-01-31", "5d", rng=1)         # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import KW_ONLY, dataclass, field
from typing import Any, ClassVar, Literal, cast

import numpy as np
import pandas as pd

from riskmodels._deprecation import keyword_options
from riskmodels._display import SummaryDisplay, esc
from riskmodels._limits import check_allocation
from riskmodels._typing import DurationLike, SeedLike
from riskmodels.correlation import DCC, CorrelationResult
from riskmodels.exceptions import ConfigError
from riskmodels.scenarios._inputs import (
    DEFAULT_N,
    asof_cut,
    check_n,
    check_window,
    fmt_time,
    prepare_sample,
    resolve_rng,
)
from riskmodels.scenarios._models import (
    CORRELATION_SPECS,
    FittedFromState,
    ModelState,
    fit_univariate,
    horizon_scenarios,
    mu_decimal,
    summary_frame,
)
from riskmodels.scenarios.base import Scenarios, as_horizon
from riskmodels.volatility import GARCH, VolatilityResult, VolatilitySpec

__all__ = ["FittedMonteCarloScenarios", "MonteCarloScenarios"]

_MULTI = ("normal", "t", "bootstrap")
_UNI = ("model", "normal", "bootstrap")


def _min_obs(model: Any) -> int:
    """Fewest observations the model's univariate stage accepts (100 for residual input)."""
    if isinstance(model, VolatilitySpec):
        return model.min_obs
    uni = getattr(model, "univariate", None)
    if isinstance(uni, VolatilitySpec):
        return uni.min_obs
    if isinstance(uni, str) and uni.lower() == "garch":
        return GARCH().min_obs
    return 100


@keyword_options
@dataclass(frozen=True)
class MonteCarloScenarios:
    r"""Monte Carlo scenarios from a fitted conditional model, simulated over the horizon.

    Parameters
    ----------
    model : DCC, CCC, EWMACorrelation or VolatilitySpec, default DCC()
        A correlation model with its univariate stage (``DCC(univariate=GARCH(dist="t"))``),
        or a univariate spec (``GARCH()``) for a single asset.
    n : int, default 10_000
        Default number of scenarios (overridden by ``n`` in ``scenarios``/``generate``).
    innovations : str or None, default None
        Shocks driving the paths. Correlation models: ``"normal"`` (default), ``"t"``
        (standardized multivariate Student t; ``nu`` estimated from the residuals unless
        given) or ``"bootstrap"`` (rows of the decorrelated residuals ``L_t^{-1} z_t``); see
        :meth:`~riskmodels.correlation.CorrelationResult.simulate`. Univariate specs:
        ``"model"`` (default: the spec's fitted distribution, e.g. the t of
        ``GARCH(dist="t")``), ``"normal"`` (standard normal shocks whatever ``dist``) or
        ``"bootstrap"`` (the standardized residuals).
    nu : float, optional
        Degrees of freedom for ``innovations="t"`` (> 2).
    window : int or None, default None
        Bars of history for the estimation: the last ``window`` common rows up to the as-of
        bar (all rows given when None).
    sqrt_time : bool, default False
        One-step scenarios scaled to the horizon by the square-root-of-time rule instead of
        simulated paths; for comparison only (recorded in ``method`` and ``meta``).

    Notes
    -----
    Each scenario is one simulated path of ``h`` bars, summed:
    :math:`R = \sum_{k=1}^{h} r_{T+k}` with :math:`r_{i,T+k} = \mu_i + \sigma_{i,T+k}
    z_{i,T+k}`, :math:`z_{T+k} = L_{T+k} e_{T+k}`, where :math:`\sigma^2_{i,T+k}` follows each
    asset's fitted variance recursion and :math:`R_{T+k} = L_{T+k} L_{T+k}'` the correlation
    model's recursion along the path (:meth:`CorrelationResult.simulate`). Multi-period
    moves therefore carry volatility clustering and correlation dynamics, which the
    square-root-of-time rule leaves out (it is exact only for i.i.d. returns).

    ``update`` filters new bars at the fitted parameters (see
    :mod:`riskmodels.scenarios._models`).
    """

    model: Any = field(default_factory=DCC)
    _: KW_ONLY
    n: int = DEFAULT_N
    innovations: str | None = None
    nu: float | None = None
    window: int | None = None
    sqrt_time: bool = False

    def __post_init__(self) -> None:
        univariate = isinstance(self.model, VolatilitySpec)
        if not univariate and not isinstance(self.model, CORRELATION_SPECS):
            raise ConfigError(
                "model must be a riskmodels.correlation spec (DCC(...), CCC(...), "
                "EWMACorrelation(...)) or, for a single asset, a volatility spec such as "
                f"GARCH() (got {type(self.model).__name__})."
            )
        n = check_n(self.n)
        if n is None:
            raise ConfigError(
                f"n must be a positive number of scenarios (got None), e.g. n={DEFAULT_N}."
            )
        object.__setattr__(self, "n", n)
        choices = _UNI if univariate else _MULTI
        innov = self.innovations
        if innov is None:
            innov = choices[0]
        if innov not in choices:
            hint = (
                " For Student-t shocks of a single asset use GARCH(dist='t') with "
                "innovations='model'."
                if univariate and innov == "t"
                else ""
            )
            kind = "a univariate model" if univariate else "a correlation model"
            raise ConfigError(
                f"innovations must be one of {', '.join(map(repr, choices))} for {kind} (got "
                f"{self.innovations!r}).{hint}"
            )
        object.__setattr__(self, "innovations", innov)
        if self.nu is not None:
            if innov != "t":
                raise ConfigError(
                    f"nu is only used with innovations='t' (got nu={self.nu!r} with "
                    f"innovations={innov!r})."
                )
            if (
                isinstance(self.nu, bool)
                or not isinstance(self.nu, int | float | np.floating)
                or not self.nu > 2
            ):
                raise ConfigError(
                    f"nu must be a number > 2 for unit-variance t shocks (got {self.nu!r}); "
                    "daily crypto returns typically give 3-8."
                )
            object.__setattr__(self, "nu", float(self.nu))
        object.__setattr__(
            self,
            "window",
            check_window(self.window, min_obs=_min_obs(self.model), model=_name(self.model)),
        )
        if not isinstance(self.sqrt_time, bool | np.bool_):
            raise ConfigError(f"sqrt_time must be True or False (got {self.sqrt_time!r}).")

    def fit(self, returns: pd.DataFrame, *, rng: SeedLike = None) -> FittedMonteCarloScenarios:
        """Estimate the model on the last ``window`` common rows of ``returns`` (all when None).

        Parameters
        ----------
        returns : DataFrame of shape (n_observations, n_assets)
            Decimal log returns on a sorted UTC ``DatetimeIndex``, cut by the caller at the
            as-of date; one column for a univariate spec.
        rng : ignored
            Estimation is deterministic (BLAS pinned to one thread).

        Returns
        -------
        FittedMonteCarloScenarios

        Raises
        ------
        ConfigError
            A univariate spec with more than one asset.
        InsufficientDataError, DataError, ConvergenceError
            As for :meth:`FilteredHistoricalScenarios.fit`.
        """
        if isinstance(self.model, VolatilitySpec) and isinstance(returns, pd.DataFrame):
            if returns.shape[1] != 1:
                raise ConfigError(
                    f"model {self.model.name} is univariate but returns has "
                    f"{returns.shape[1]} columns ({[str(c) for c in returns.columns]}). Use "
                    f"DCC(univariate={self.model!r}) for joint scenarios, or pass one column."
                )
        sample, freq = prepare_sample(
            returns, window=self.window, min_obs=_min_obs(self.model), model="MonteCarloScenarios"
        )
        if isinstance(self.model, VolatilitySpec):
            vols: dict[str, VolatilityResult] | None = fit_univariate(sample, self.model)
            corr: CorrelationResult | None = None
        else:
            corr = self.model.fit(sample)
            vols = corr.volatility
        state = ModelState(sample, freq, vols, corr, len(sample))
        return FittedMonteCarloScenarios(spec=self, state=state)

    def generate(
        self,
        returns: pd.DataFrame,
        asof: pd.Timestamp | str,
        horizon: DurationLike,
        rng: SeedLike = None,
        n: int | None = None,
    ) -> Scenarios:
        """``fit(returns.loc[:asof]).scenarios(horizon, n, rng)``: no data after ``asof``."""
        return self.fit(asof_cut(returns, asof)).scenarios(horizon, n, rng)


def _name(model: Any) -> str:
    return model.name if hasattr(model, "name") else type(model).__name__


@dataclass(frozen=True, kw_only=True, eq=False)
class FittedMonteCarloScenarios(FittedFromState, SummaryDisplay):
    """Monte Carlo scenarios from the state at ``asof``.

    Attributes
    ----------
    spec : MonteCarloScenarios
    state : ModelState
        The fitted models and the rows they have filtered.
    """

    spec: MonteCarloScenarios
    state: ModelState

    @property
    def volatility(self) -> dict[str, VolatilityResult] | None:
        """Per-asset volatility results (None for a correlation model on residuals)."""
        return self.state.volatility

    def scenarios(
        self,
        horizon: DurationLike,
        n: int | None = None,
        rng: SeedLike = None,
    ) -> Scenarios:
        """Simulated joint moves over ``horizon`` from the state at ``asof``.

        Parameters
        ----------
        horizon : str or Timedelta
            A whole number ``h`` of bars.
        n : int, optional
            Number of scenarios (default ``spec.n``).
        rng : Generator or int, optional
            None draws a fresh seed, recorded in ``meta["seed"]``.

        Returns
        -------
        Scenarios
            ``returns`` (n x N) summed decimal log returns of the simulated paths (labels
            None); ``meta``: window, filtered rows, parameters, ``sigma_next``, ``steps``,
            ``n``, ``innovations``, ``seed``, ``sqrt_time``.
        """
        st = self.state
        h = as_horizon(horizon, st.freq)
        size = check_n(n)
        if size is None:
            size = self.spec.n
        steps = 1 if self.spec.sqrt_time else h
        innov = self.spec.innovations
        assets = self.assets
        # shocks and paths, (n, steps, N) float64 each
        check_allocation(
            2 * size * steps * len(assets),
            what=f"{size} scenarios x {steps} steps x {len(assets)} assets",
        )
        gen, rng_meta = resolve_rng(rng)
        if st.correlation is not None:
            paths = st.correlation.simulate(
                size,
                steps,
                # one of _MULTI: checked when the spec was built
                innovations=cast(Literal["normal", "t", "bootstrap"], innov),
                rng=gen,
                nu=self.spec.nu,
            )
            label = st.correlation.model
            if st.volatility is not None:
                label += f" with {next(iter(st.volatility.values())).spec.label}"
        else:
            assert st.volatility is not None
            vol = st.volatility[assets[0]]
            if innov == "normal":
                z = gen.standard_normal((size, steps))
                p = vol.simulate(size, steps, innovations=z)
            else:
                p = vol.simulate(size, steps, innovations=innov, rng=gen)  # type: ignore[arg-type]
            paths = p[:, :, None]
            label = vol.spec.label
        R = paths.sum(axis=1)
        vols = st.volatility
        mu = np.array([mu_decimal(None if vols is None else vols[a]) for a in assets])
        R, how = horizon_scenarios(R, h, mu, self.spec.sqrt_time)
        meta: dict[str, Any] = {"window": self.spec.window}
        meta.update(st.meta())
        meta.update(
            {
                "steps": h,
                "n": int(R.shape[0]),
                "innovations": innov,
                "nu": self.spec.nu,
                "sqrt_time": bool(self.spec.sqrt_time),
                "mu": dict(zip(assets, mu.tolist(), strict=True)),
            }
        )
        meta.update(rng_meta)
        return Scenarios(
            returns=R,
            assets=assets,
            horizon=h * st.freq,
            asof=self.asof,
            method=f"Monte Carlo ({label}; shocks: {innov}): {how}; {int(R.shape[0])} paths",
            meta=meta,
        )

    def diagnostics(self) -> dict[str, Any]:
        """Convergence, log-likelihood and parameters of the fitted models (see
        :meth:`ModelState.diagnostics`)."""
        return self.state.diagnostics()

    def summary(self) -> pd.DataFrame:
        """One row per asset: parameters (arch percent units), persistence, ``sigma_{T+1}``."""
        return summary_frame(self.state)

    def __repr__(self) -> str:
        st = self.state
        return (
            f"FittedMonteCarloScenarios({_name(self.spec.model)}, {st.nobs_fit} bars fitted "
            f"{fmt_time(st.returns.index[0])} to {fmt_time(st.returns.index[st.nobs_fit - 1])}, "
            f"asof {fmt_time(self.asof)}, assets={list(self.assets)})"
        )

    summary_kinds: ClassVar[Mapping[str, str]] = {"sigma_next": "pct"}

    def _display_head(self) -> str:
        return f"<p>{esc(repr(self))}</p>"
