r"""Filtered historical simulation (Barone-Adesi, Giannopoulos and Vosper 1999).

Historical standardized residuals, rescaled to today's volatility (and, with a correlation
model, re-correlated with today's correlation), pushed through the fitted recursions over the
horizon.

>>> gen = FilteredHistoricalScenarios(volatility=GARCH(dist="t"), window=1000)  # doctest: +SKIP
>>> sc = gen.generate(returns, "2024-01-31", "1d")   # one scenario per residual   # doctest: +SKIP
>>> gen = FilteredHistoricalScenarios(GARCH(), correlation=DCC(), window=1000)  # doctest: +SKIP
>>> sc = gen.generate(returns, "2024-01-31", "5d", rng=1, n=20_000)            # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import KW_ONLY, dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from riskmodels._deprecation import keyword_options
from riskmodels._display import SummaryDisplay, esc
from riskmodels._limits import check_allocation
from riskmodels._typing import DurationLike, SeedLike
from riskmodels.exceptions import ConfigError
from riskmodels.scenarios._inputs import (
    DEFAULT_N,
    asof_cut,
    check_n,
    check_window,
    fmt_time,
    labels_of,
    prepare_sample,
    resolve_rng,
)
from riskmodels.scenarios._models import (
    FittedFromState,
    ModelState,
    check_correlation_spec,
    fit_univariate,
    horizon_scenarios,
    mu_decimal,
    summary_frame,
)
from riskmodels.scenarios.base import Scenarios, as_horizon
from riskmodels.volatility import GARCH, VolatilityResult, VolatilitySpec

__all__ = ["FilteredHistoricalScenarios", "FittedFilteredHistoricalScenarios"]


@keyword_options
@dataclass(frozen=True)
class FilteredHistoricalScenarios:
    r"""Filtered historical simulation (FHS) of Barone-Adesi, Giannopoulos and Vosper (1999).

    Parameters
    ----------
    volatility : VolatilitySpec, default GARCH()
        The univariate model fitted to each asset on the window (:func:`fit_panel`), e.g.
        ``GARCH(dist="t")``, ``GJR()``, ``EGARCH()``, ``EWMA()``.
    correlation : DCC, CCC, EWMACorrelation or None, default None
        Optional correlation model, fitted on the same window to the standardized residuals
        of ``volatility`` (its own ``univariate`` setting is not used). With None the
        residual vectors are resampled as they are (their cross-sectional dependence is the
        historical one).
    window : int or None, default None
        Bars of history: the last ``window`` rows where every asset has data, up to the as-of
        bar (every row given when None). At least ``volatility.min_obs``.
    n : int or None, default None
        Default number of scenarios (overridden by ``n`` in ``scenarios``/``generate``). None:
        one scenario per filtered residual (classical FHS) for a one-step horizon without a
        correlation model (and with ``sqrt_time``), ``10_000`` simulated paths otherwise.
    sqrt_time : bool, default False
        Use one-step scenarios scaled to the horizon by the square-root-of-time rule
        (``h mu + sqrt(h) (r - mu)``) instead of paths through the recursions. For
        comparison only; recorded in ``Scenarios.method`` and ``meta["sqrt_time"]``.

    Notes
    -----
    Barone-Adesi, Giannopoulos and Vosper (1999), "VaR without correlations for portfolios of
    derivative securities", *J. Futures Markets* 19(5); Barone-Adesi, Giannopoulos and Vosper
    (2002), "Backtesting derivative portfolios with filtered historical simulation",
    *European Financial Management* 8(1).

    Fit each asset's model on the window, giving :math:`\sigma_{i,t}` and the standardized
    residuals :math:`z_{i,t} = (r_{i,t} - \mu_i)/\sigma_{i,t}`, :math:`t = 1..W`.

    *One step, no correlation model* (the classical scheme): one scenario per residual row,

    .. math:: r^{(t)}_{i,T+1} = \mu_i + \sigma_{i,T+1} z_{i,t}, \qquad t = 1, \dots, W,

    with :math:`\sigma_{i,T+1}` the one-step forecast, labelled by the residual's date.

    *h steps*: each path draws ``h`` residual rows :math:`z_{t_1}, \dots, z_{t_h}` with
    replacement (whole rows, so the assets' joint tails are kept) and runs them through each
    asset's variance recursion (``VolatilityResult.simulate(innovations=z)``):
    :math:`r_{i,T+k} = \mu_i + \sigma_{i,T+k} z_{i,t_k}` with :math:`\sigma_{i,T+k}` updated
    from the simulated :math:`r_{i,T+k-1}`; the scenario is :math:`\sum_{k=1}^{h} r_{T+k}`.
    Volatility clustering over the horizon is thus simulated, not assumed away by scaling.

    *With a correlation model* the residuals are first decorrelated,
    :math:`e_t = L_t^{-1} z_t` with :math:`L_t L_t' = R_t` (Cholesky), and each path draws
    rows :math:`e` and re-correlates them with the path's own forecast correlation,
    :math:`z_{T+k} = L_{T+k} e`, where :math:`Q` (hence :math:`R_{T+k}`) follows the fitted
    DCC recursion along the path and :math:`R_{T+1}` is known at ``T``. This is exactly
    :meth:`~riskmodels.correlation.CorrelationResult.simulate` with
    ``innovations="bootstrap"``, which is reused here.

    ``update`` filters new bars with the fitted parameters (see
    :mod:`riskmodels.scenarios._models`); the new residuals join the resampled pool, which
    thus holds the estimation window plus the bars filtered since the last ``fit``.
    """

    volatility: VolatilitySpec = field(default_factory=GARCH)
    _: KW_ONLY
    correlation: Any = None
    window: int | None = None
    n: int | None = None
    sqrt_time: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.volatility, VolatilitySpec):
            raise ConfigError(
                "volatility must be a riskmodels.volatility spec such as GARCH(dist='t'), GJR(), "
                f"EGARCH() or EWMA() (got {type(self.volatility).__name__})."
            )
        if self.correlation is not None:
            check_correlation_spec(self.correlation, "correlation")
        object.__setattr__(
            self,
            "window",
            check_window(self.window, min_obs=self.volatility.min_obs, model=self.volatility.name),
        )
        object.__setattr__(self, "n", check_n(self.n))
        if not isinstance(self.sqrt_time, bool | np.bool_):
            raise ConfigError(f"sqrt_time must be True or False (got {self.sqrt_time!r}).")

    def fit(
        self, returns: pd.DataFrame, *, rng: SeedLike = None
    ) -> FittedFilteredHistoricalScenarios:
        """Fit the models on the last ``window`` common rows of ``returns`` (all when None).

        Parameters
        ----------
        returns : DataFrame of shape (n_observations, n_assets)
            Decimal log returns on a sorted UTC ``DatetimeIndex``, cut by the caller at the
            as-of date. Assets may start at different dates; the last row must hold every
            asset.
        rng : ignored
            Estimation is deterministic (BLAS pinned to one thread).

        Returns
        -------
        FittedFilteredHistoricalScenarios

        Raises
        ------
        InsufficientDataError
            Fewer than ``max(window, volatility.min_obs)`` common rows (the message names the
            assets that start latest), or too few for the correlation model.
        DataError
            NaN inside the rows used, an asset without data at the last row, bad input.
        ConvergenceError
            An estimation failed (the message names the asset).
        """
        sample, freq = prepare_sample(
            returns,
            window=self.window,
            min_obs=self.volatility.min_obs,
            model="FilteredHistoricalScenarios",
        )
        vols = fit_univariate(sample, self.volatility)
        corr = None if self.correlation is None else self.correlation.fit(sample, volatility=vols)
        state = ModelState(sample, freq, vols, corr, len(sample))
        return FittedFilteredHistoricalScenarios(spec=self, state=state)

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


@dataclass(frozen=True, kw_only=True, eq=False)
class FittedFilteredHistoricalScenarios(FittedFromState, SummaryDisplay):
    """Filtered historical simulation from the state at ``asof``.

    Attributes
    ----------
    spec : FilteredHistoricalScenarios
    state : ModelState
        The fitted models and the rows they have filtered.
    """

    spec: FilteredHistoricalScenarios
    state: ModelState

    @property
    def volatility(self) -> dict[str, VolatilityResult]:
        """Per-asset volatility results over the filtered rows."""
        assert self.state.volatility is not None
        return self.state.volatility

    @property
    def std_resid(self) -> pd.DataFrame:
        """The filtered standardized residuals ``z_t`` (T x N): the resampled pool."""
        return pd.DataFrame({a: r.std_resid for a, r in self.volatility.items()})

    @property
    def conditional_volatility(self) -> pd.DataFrame:
        """``sigma_t`` (T x N) in decimals."""
        return pd.DataFrame({a: r.conditional_volatility for a, r in self.volatility.items()})

    def scenarios(
        self,
        horizon: DurationLike,
        n: int | None = None,
        rng: SeedLike = None,
    ) -> Scenarios:
        """Joint moves over ``horizon`` from the state at ``asof``.

        Parameters
        ----------
        horizon : str or Timedelta
            A whole number ``h`` of bars (``"1h"``, ``"4h"``, ``"1d"``, ``"5d"``).
        n : int, optional
            Number of scenarios; default ``spec.n``, then (see the class notes) one per
            filtered residual for a one-step horizon without a correlation model, else 10_000.
        rng : Generator or int, optional
            Random numbers for the resampling (unused for the classical one-step set). None
            draws a fresh seed, recorded in ``meta["seed"]``.

        Returns
        -------
        Scenarios
            ``returns`` (S x N) summed decimal log returns; ``labels`` the residual dates for
            the classical set (None for simulated paths); ``meta``: window, filtered rows,
            parameters, ``sigma_next``, ``steps``, ``n``, ``seed``, ``sqrt_time``.
        """
        st = self.state
        h = as_horizon(horizon, st.freq)
        n_req = check_n(n)
        if n_req is None:
            n_req = self.spec.n
        steps = 1 if self.spec.sqrt_time else h
        vols = self.volatility
        assets = self.assets
        labels = None
        rng_meta: dict[str, Any] = {"seed": None}
        if n_req is not None or steps > 1:
            S_req = DEFAULT_N if n_req is None else n_req
            # shocks and paths, (S, steps, N) float64 each
            check_allocation(
                2 * S_req * steps * len(assets),
                what=f"{S_req} scenarios x {steps} steps x {len(assets)} assets",
            )
        if st.correlation is None:
            Z = np.column_stack([vols[a].std_resid.to_numpy() for a in assets])
            if n_req is None and steps == 1:
                z = Z[:, None, :]
                labels = labels_of(st.returns.index)
                draws = f"one scenario per filtered residual ({len(Z)})"
            else:
                gen, rng_meta = resolve_rng(rng)
                size = DEFAULT_N if n_req is None else n_req
                z = Z[gen.integers(0, len(Z), size=(size, steps))]
                draws = f"{size} draws of whole residual rows with replacement"
            S = z.shape[0]
            paths = np.empty((S, steps, len(assets)))
            for i, a in enumerate(assets):
                paths[:, :, i] = vols[a].simulate(S, steps, innovations=z[:, :, i])
        else:
            gen, rng_meta = resolve_rng(rng)
            S = DEFAULT_N if n_req is None else n_req
            paths = st.correlation.simulate(S, steps, innovations="bootstrap", rng=gen)
            draws = (
                f"{S} draws of whole decorrelated residual rows with replacement, "
                f"re-correlated with the {st.correlation.model} forecast correlation"
            )
        R = paths.sum(axis=1)
        mu = np.array([mu_decimal(vols[a]) for a in assets])
        label = self.spec.volatility.label
        if st.correlation is not None:
            label += f" + {st.correlation.model} correlation"
        R, how = horizon_scenarios(R, h, mu, self.spec.sqrt_time)
        meta: dict[str, Any] = {"window": self.spec.window}
        meta.update(st.meta())
        meta.update(
            {
                "steps": h,
                "n": int(R.shape[0]),
                "draws": draws,
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
            labels=labels,
            method=f"filtered historical simulation ({label}): {how}; {draws}",
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
        corr = "" if st.correlation is None else f" + {st.correlation.model}"
        return (
            f"FittedFilteredHistoricalScenarios({self.spec.volatility.name}{corr}, "
            f"{st.nobs_fit} bars fitted {fmt_time(st.returns.index[0])} to "
            f"{fmt_time(st.returns.index[st.nobs_fit - 1])}, asof {fmt_time(self.asof)}, "
            f"assets={list(self.assets)})"
        )

    summary_kinds: ClassVar[Mapping[str, str]] = {"sigma_next": "pct"}

    def _display_head(self) -> str:
        return f"<p>{esc(repr(self))}</p>"
