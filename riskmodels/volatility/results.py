"""Read-only results of univariate volatility fits: one asset and a panel.

Series, forecasts and simulations are in decimals (log returns, 0.01 = 1 %); ``params`` and
``std_errors`` are in arch's percent units (the model was fitted on ``100 * returns``).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import arch
import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.iolib.summary import Summary, fmt_2cols, fmt_params
from statsmodels.iolib.table import SimpleTable

from riskmodels._display import SummaryDisplay, fmt_number, fmt_pvalue
from riskmodels._limits import check_allocation
from riskmodels._random import as_generator
from riskmodels._typing import SeedLike
from riskmodels.exceptions import ConfigError
from riskmodels.volatility.specs import BLAS_THREADS, PCT, at_bounds

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from riskmodels.volatility.specs import VolatilitySpec

__all__ = ["PanelVolatilityResult", "VolatilityResult"]

#: Default number of paths for simulated multi-step forecasts (EGARCH, h > 1). The Monte Carlo
#: standard error of the mean variance is ``std(sigma2_h) / sqrt(n_sims)``: about 0.35 % of the
#: forecast at h = 10 for the EGARCH(1,1,1)-normal fit in ``tests/volatility/test_volatility.py``.
DEFAULT_FORECAST_SIMS = 10_000
#: Seed the package's own callers pass to ``forecast`` where a forecast must be a function of
#: the result (``CorrelationResult.forecast``); ``forecast(rng=None)`` itself draws fresh
#: entropy, the package's one rng policy (:func:`riskmodels._random.as_generator`).
DEFAULT_FORECAST_SEED = 0


def _positive_int(value: object, name: str, hint: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ConfigError(f"{name} must be a positive integer (got {value!r}). {hint}")
    return int(value)


def _annual_scale(annualize: float | None) -> float:
    if annualize is None:
        return 1.0
    if (
        isinstance(annualize, bool)
        or not isinstance(annualize, (int, float, np.integer, np.floating))
        or not np.isfinite(annualize)
        or annualize <= 0
    ):
        raise ConfigError(
            f"annualize must be the number of bars per year, > 0 (got {annualize!r}); "
            "365 for daily crypto bars, 365 * 6 for 4h, 365 * 24 for 1h."
        )
    return float(np.sqrt(annualize))


def _vol_axes_labels(ax: Axes, index: pd.Index, annualize: float | None) -> None:
    from riskmodels.reporting import figures

    ax.set_xlabel("")
    ax.set_ylabel("annualised volatility" if annualize is not None else "volatility per bar")
    figures.percent_axis(ax, "y")
    if isinstance(index, pd.DatetimeIndex):
        figures.date_axis(ax)


@dataclass(frozen=True, eq=False, repr=False, kw_only=True)
class VolatilityResult(SummaryDisplay):
    """A fitted (or fixed) univariate volatility model for one asset.

    Attributes
    ----------
    spec : VolatilitySpec
        The spec that was fitted.
    asset : str
        The asset (the returns' Series name, ``"returns"`` when unnamed).
    params : pandas.Series
        Parameters named as arch names them (``mu``, ``omega``, ``alpha[1]``, ``gamma[1]``,
        ``beta[1]``, ``nu``, ``eta``, ``lambda``), in arch's percent units.
    std_errors : pandas.Series
        Robust (Bollerslev-Wooldridge) standard errors from arch, percent units; NaN for fixed
        parameters.
    loglikelihood : float
        Log-likelihood of the decimal returns: ``loglikelihood_pct + nobs * log(100)``.
    loglikelihood_pct : float
        arch's log-likelihood of the percent returns.
    conditional_volatility : pandas.Series
        ``sigma_t`` in decimals, indexed like the fitted returns.
    std_resid : pandas.Series
        ``z_t = (r_t - mu) / sigma_t``.
    resid : pandas.Series
        ``r_t - mu`` in decimals.
    converged : bool
        The optimizer reported success and the estimates are finite (True for fixed
        parameters: no optimizer ran).
    convergence_flag : int or None
        SLSQP's status (0 = success); None for fixed parameters.
    convergence_message : str
        SLSQP's message.
    params_at_bounds : tuple of str
        Parameters at (within ``1e-6`` of the interval width of) one of arch's bounds, e.g.
        ``alpha[1]`` at 0 or ``nu`` at 500.
    binding_constraints : tuple of str
        Binding multi-parameter constraints, e.g. ``"alpha[1] + beta[1] <= 1"`` (IGARCH).
    bounds : dict
        arch's bounds per parameter (percent units, from this sample).
    estimated : bool
        False when the parameters were given (``spec.fix``).
    failure_note : str or None
        Why the fit was retried or kept unconverged (``on_failure="retry"``/``"warn"``).
    blas_threads : int
        BLAS threads during the fit (always 1: pinned for determinism).
    arch_version : str
        Version of arch that produced the fit.
    arch_result : arch.univariate.base.ARCHModelResult
        arch's own result (percent units), for anything not exposed here.
    """

    spec: VolatilitySpec
    asset: str
    params: pd.Series
    std_errors: pd.Series
    loglikelihood: float
    loglikelihood_pct: float
    conditional_volatility: pd.Series
    std_resid: pd.Series
    resid: pd.Series
    converged: bool
    convergence_flag: int | None
    convergence_message: str
    params_at_bounds: tuple[str, ...]
    binding_constraints: tuple[str, ...]
    bounds: dict[str, tuple[float, float]]
    estimated: bool
    failure_note: str | None
    blas_threads: int
    arch_version: str
    arch_result: Any = field(repr=False)

    # -- construction --------------------------------------------------------------------
    @classmethod
    def _from_arch(
        cls,
        spec: VolatilitySpec,
        asset: str,
        res: Any,
        *,
        estimated: bool,
        converged: bool,
        failure_note: str | None,
    ) -> VolatilityResult:
        names = list(spec.param_names)
        params = pd.Series(np.asarray(res.params, dtype=float), index=names, name="params")
        if estimated and len(names):
            std_errors = pd.Series(
                np.asarray(res.std_err, dtype=float), index=names, name="std_err"
            )
        else:
            std_errors = pd.Series(np.full(len(names), np.nan), index=names, name="std_err")
        vol_pct = res.conditional_volatility
        resid_pct = res.resid
        nobs = int(vol_pct.shape[0])
        ll_pct = float(res.loglikelihood)
        at, binding, bounds = at_bounds(res.model, params.to_numpy(), names)
        if estimated:
            opt = res.optimization_result
            flag: int | None = int(opt.status)
            message = str(opt.message) if opt.message else "no parameters to estimate"
        else:
            flag, message = None, "parameters fixed by the caller (no estimation)"
        vol = (vol_pct / PCT).rename("conditional_volatility")
        resid = (resid_pct / PCT).rename("resid")
        return cls(
            spec=spec,
            asset=asset,
            params=params,
            std_errors=std_errors,
            loglikelihood=ll_pct + nobs * float(np.log(PCT)),
            loglikelihood_pct=ll_pct,
            conditional_volatility=vol,
            std_resid=(resid_pct / vol_pct).rename("std_resid"),
            resid=resid,
            converged=bool(converged),
            convergence_flag=flag,
            convergence_message=message,
            params_at_bounds=at,
            binding_constraints=binding,
            bounds=bounds,
            estimated=estimated,
            failure_note=failure_note,
            blas_threads=BLAS_THREADS,
            arch_version=arch.__version__,
            arch_result=res,
        )

    # -- simple properties ---------------------------------------------------------------
    @property
    def index(self) -> pd.Index:
        """Index of the fitted sample (the asset's listed history)."""
        return self.conditional_volatility.index

    @property
    def nobs(self) -> int:
        """Number of observations in the fit."""
        return int(self.conditional_volatility.shape[0])

    @property
    def n_params(self) -> int:
        """Number of estimated parameters."""
        return int(self.params.shape[0])

    @property
    def aic(self) -> float:
        """Akaike information criterion of the decimal returns, ``-2 loglik + 2k``."""
        return -2.0 * self.loglikelihood + 2.0 * self.n_params

    @property
    def bic(self) -> float:
        """Schwarz criterion of the decimal returns, ``-2 loglik + k log(nobs)``."""
        return -2.0 * self.loglikelihood + self.n_params * float(np.log(self.nobs))

    @property
    def tvalues(self) -> pd.Series:
        """``params / std_errors``."""
        return (self.params / self.std_errors).rename("tvalues")

    @property
    def pvalues(self) -> pd.Series:
        """Two-sided normal p-values of ``tvalues``."""
        return pd.Series(
            2.0 * stats.norm.sf(np.abs(self.tvalues.to_numpy())),
            index=self.params.index,
            name="pvalues",
        )

    @property
    def persistence(self) -> float:
        """``sum(alpha) + 0.5 sum(gamma) + sum(beta)`` (GARCH/GJR), ``sum(beta)`` (EGARCH),
        1 (EWMA)."""
        from riskmodels.volatility.specs import EGARCH, EWMA

        p = self.params
        if isinstance(self.spec, EWMA):
            return 1.0
        betas = float(p[[n for n in p.index if n.startswith("beta[")]].sum())
        if isinstance(self.spec, EGARCH):
            return betas
        alphas = float(p[[n for n in p.index if n.startswith("alpha[")]].sum())
        gammas = float(p[[n for n in p.index if n.startswith("gamma[")]].sum())
        return alphas + 0.5 * gammas + betas

    @property
    def mean_pct(self) -> float:
        """The constant mean ``mu`` in arch's percent units (0 for a zero-mean model)."""
        return float(self.params["mu"]) if "mu" in self.params.index else 0.0

    @property
    def volatility_params(self) -> np.ndarray:
        """The variance recursion's parameters (arch's order and percent units), without the
        mean and the distribution's: the ``vol_params`` of :meth:`VolatilitySpec.recursion`."""
        names = list(self.params.index)
        start = 1 if "mu" in names else 0
        stop = start + self.spec._arch_volatility().num_params
        return self.params.to_numpy()[start:stop]

    def _mu_pct(self) -> float:
        return self.mean_pct

    def _vol_params(self) -> np.ndarray:
        return self.volatility_params

    def _dist_params(self) -> np.ndarray:
        names = list(self.params.index)
        start = (1 if "mu" in names else 0) + self.spec._arch_volatility().num_params
        return self.params.to_numpy()[start:]

    # -- forecasting and simulation --------------------------------------------------------
    def forecast(
        self,
        horizon: int,
        *,
        n_sims: int = DEFAULT_FORECAST_SIMS,
        rng: SeedLike = None,
    ) -> pd.Series:
        """Conditional variance forecasts for steps ``1..horizon`` from the end of the sample.

        Parameters
        ----------
        horizon : int
            Number of steps (bars) ahead.
        n_sims : int, default 10_000
            Paths for simulated forecasts (EGARCH with ``horizon > 1`` only).
        rng : Generator or int, optional
            Random numbers for simulated forecasts (:func:`riskmodels._random.as_generator`):
            pass an int seed for the same forecast on every call; None draws fresh entropy.
            Ignored for analytic forecasts.

        Returns
        -------
        pandas.Series
            ``E_T[sigma^2_{T+h}]`` in decimal² (variance of decimal log returns), index
            ``1..horizon`` named ``"horizon"``.

        Notes
        -----
        GARCH, GJR-GARCH and EWMA use arch's analytic forecasts (the variance recursion with
        ``E[z^2] = 1`` and ``E[z^2 1(z<0)] = 1/2``, which arch assumes for every distribution;
        for a GJR model with skew-t shocks and ``lambda != 0`` the second is an approximation,
        and the mean of ``variance_paths`` under ``draw_innovations("model")`` is exact).
        EGARCH uses arch's analytic one-step forecast and arch's ``method="simulation"`` with
        ``n_sims`` paths of shocks from the fitted distribution for ``h > 1``.
        """
        h = _positive_int(horizon, "horizon", "Use 1 for a one-step-ahead forecast.")
        res = self.arch_result
        if self.spec.analytic_forecast or h == 1:
            f = res.forecast(horizon=h, reindex=False, method="analytic")
        else:
            sims = _positive_int(n_sims, "n_sims", "Use 10_000 or more for a stable mean.")
            # arch keeps simulated returns, variances and shocks, (n_sims, horizon) each
            check_allocation(3 * sims * h, what=f"{sims} simulations x {h} steps")
            dist = self.spec._arch_distribution(seed=as_generator(rng))
            f = res.forecast(
                horizon=h,
                reindex=False,
                method="simulation",
                simulations=sims,
                rng=dist.simulate(self._dist_params()),
            )
        values = np.asarray(f.variance.iloc[-1], dtype=float) / PCT**2
        return pd.Series(values, index=pd.RangeIndex(1, h + 1, name="horizon"), name="variance")

    def draw_innovations(
        self,
        n_paths: int,
        horizon: int,
        *,
        innovations: Literal["model", "bootstrap"] = "model",
        rng: SeedLike = None,
    ) -> np.ndarray:
        """Standardized shocks for :meth:`variance_paths`, shape ``(n_paths, horizon)``.

        ``"model"`` draws from the fitted distribution (arch's simulator: standard normal,
        standardized t, Hansen's skew-t); ``"bootstrap"`` resamples ``std_resid`` with
        replacement (filtered historical simulation, Barone-Adesi et al. 1999).
        """
        n = _positive_int(n_paths, "n_paths", "Use e.g. 10_000 paths.")
        h = _positive_int(horizon, "horizon", "Use 1 for one step ahead.")
        check_allocation(n * h, what=f"{n} paths x {h} steps")
        gen = as_generator(rng)
        if innovations == "model":
            dist = self.spec._arch_distribution(seed=gen)
            return np.asarray(dist.simulate(self._dist_params())((n, h)), dtype=float)
        if innovations == "bootstrap":
            z = self.std_resid.to_numpy()
            return z[gen.integers(0, z.shape[0], size=(n, h))]
        raise ConfigError(
            f"innovations must be 'model', 'bootstrap' or an array of standardized shocks of shape "
            f"(n_paths, horizon) (got {innovations!r})."
        )

    def simulate(
        self,
        n_paths: int,
        horizon: int,
        *,
        innovations: Literal["model", "bootstrap"] | np.ndarray = "model",
        rng: SeedLike = None,
    ) -> np.ndarray:
        """Paths of decimal log returns continuing from the end of the sample.

        Parameters
        ----------
        n_paths, horizon : int
            Shape of the output.
        innovations : {"model", "bootstrap"} or ndarray of shape (n_paths, horizon)
            ``"model"`` draws standardized shocks from the fitted distribution, ``"bootstrap"``
            resamples ``std_resid``; an array gives the standardized shocks ``z`` directly
            (mean 0, variance 1; e.g. correlated draws from a DCC model).
        rng : Generator or int, optional
            Random numbers for ``"model"``/``"bootstrap"``; None uses fresh OS entropy (not
            reproducible). Ignored when ``innovations`` is an array.

        Returns
        -------
        ndarray of shape (n_paths, horizon)
            ``r_{T+h} = mu + sigma_{T+h} z_{T+h}`` in decimals, with ``sigma`` from the model's
            own recursion (see :meth:`variance_paths`).
        """
        n = _positive_int(n_paths, "n_paths", "Use e.g. 10_000 paths.")
        h = _positive_int(horizon, "horizon", "Use 1 for one step ahead.")
        # shocks, returns and variances, (n_paths, horizon) float64 each
        check_allocation(3 * n * h, what=f"{n} paths x {h} steps")
        if isinstance(innovations, str):
            z = self.draw_innovations(n_paths, horizon, innovations=innovations, rng=rng)
        else:
            z = np.asarray(innovations, dtype=float)
            if z.shape != (n, h):
                raise ConfigError(
                    f"innovations must have shape (n_paths, horizon) = {(n, h)} (got {z.shape})."
                )
        return self.variance_paths(z)[0]

    def variance_paths(self, innovations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Returns and conditional variances driven by given standardized shocks.

        Parameters
        ----------
        innovations : ndarray of shape (n_paths, horizon)
            Standardized shocks ``z`` (mean 0, variance 1) for steps ``T+1 .. T+horizon``.

        Returns
        -------
        returns : ndarray of shape (n_paths, horizon)
            Decimal log returns ``mu + sigma_{T+h} z_{T+h}``.
        variances : ndarray of shape (n_paths, horizon)
            ``sigma^2_{T+h}`` in decimal²; column 0 is the one-step variance known at ``T``
            (equal to ``forecast(1)``).

        Notes
        -----
        The recursion is the fitted model's (see ``riskmodels.volatility._recursions``),
        started from the last in-sample residuals and variances and vectorized over paths.
        """
        z = np.asarray(innovations, dtype=float)
        if z.ndim != 2 or z.shape[0] < 1 or z.shape[1] < 1:
            raise ConfigError(
                f"innovations must be a 2-D array of shape (n_paths, horizon) (got shape {z.shape}). "
                "Use z[None, :] for a single path."
            )
        if not np.all(np.isfinite(z)):
            raise ConfigError("innovations must be finite (found NaN or inf).")
        resid = self.resid.to_numpy() * PCT
        sigma2 = (self.conditional_volatility.to_numpy() * PCT) ** 2
        eps, s2 = self.spec._paths(self._vol_params(), resid, sigma2, self.std_resid.to_numpy(), z)
        return (self._mu_pct() + eps) / PCT, s2 / PCT**2

    # -- plots -----------------------------------------------------------------------------
    def plot(
        self,
        *,
        ax: Axes | None = None,
        annualize: float | None = None,
        abs_returns: bool = True,
    ) -> Axes:
        """Draw the conditional volatility over the absolute returns it was fitted to.

        Drawn: ``|r_t|`` as thin grey vertical lines from zero (the realized size of each
        move), and the fitted ``sigma_t`` (:attr:`conditional_volatility`) as a line on top,
        both in percent; under a good fit the spikes cluster where ``sigma_t`` is high.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, optional
            Where to draw; default a new figure in the report style.
        annualize : float, optional
            Bars per year (365 for daily crypto bars, 365 * 6 for 4h): both series are
            multiplied by ``sqrt(annualize)``. Default: per-bar (decimal) volatility.
        abs_returns : bool, default True
            Draw ``|r_t|`` under the volatility.

        Returns
        -------
        matplotlib.axes.Axes
            ``ax.lines[0]`` is ``sigma_t`` (scaled), ``ax.collections[0]`` the ``|r_t|``
            spikes (when drawn).
        """
        from riskmodels.reporting import figures

        scale = _annual_scale(annualize)
        ax = figures.new_axes(ax, figsize=(10.0, 4.0))
        sigma = self.conditional_volatility * scale
        ax.plot(
            sigma.index,
            sigma.to_numpy(),
            color=figures.palette(1)[0],
            linewidth=1.0,
            label="conditional volatility $\\sigma_t$",
            zorder=3,
        )
        if abs_returns:
            returns = self.resid + self._mu_pct() / PCT  # r_t = mu + eps_t, decimals
            ax.vlines(
                returns.index,
                0.0,
                returns.abs().to_numpy() * scale,
                color=figures.REALIZED_COLOUR,
                linewidth=0.5,
                label="$|r_t|$",
                zorder=2,
            )
        _vol_axes_labels(ax, self.index, annualize)
        ax.set_ylim(bottom=0.0)
        ax.set_title(f"{self.asset}: {self.spec.label}")
        ax.legend(loc="upper right", fontsize=8)
        return ax

    # -- presentation ----------------------------------------------------------------------
    def to_frame(self) -> pd.DataFrame:
        """The fitted path as a frame, one row per bar of the sample.

        Returns
        -------
        DataFrame
            Indexed like the returns; columns ``resid`` (decimal residual of the mean),
            ``conditional_volatility`` (decimal ``sigma_t``) and ``std_resid``. ``attrs``
            holds ``asset`` and ``model`` (strings).
        """
        out = pd.DataFrame(
            {
                "resid": self.resid,
                "conditional_volatility": self.conditional_volatility,
                "std_resid": self.std_resid,
            }
        )
        out.attrs = {"asset": str(self.asset), "model": self.spec.label}
        return out

    def summary(self) -> Summary:
        """Parameter and fit tables (statsmodels ``Summary``: text, HTML, LaTeX).

        No date or time is printed, so summaries of the same fit are identical.
        """
        spec = self.spec
        top_left = [
            ("Asset:", self.asset),
            ("Model:", spec.name),
            ("Distribution:", spec._arch_distribution().name),
            ("Mean:", spec.mean),
            ("Method:", "Maximum Likelihood" if self.estimated else "Fixed parameters"),
            ("Sample:", f"{self.index[0]}"),
            ("", f"- {self.index[-1]}"),
        ]
        top_right = [
            ("Log-Likelihood:", f"{self.loglikelihood:#.6g}"),
            ("Log-Lik. (% units):", f"{self.loglikelihood_pct:#.6g}"),
            ("AIC:", f"{self.aic:#.6g}"),
            ("BIC:", f"{self.bic:#.6g}"),
            ("No. Observations:", f"{self.nobs}"),
            ("Converged:", "yes" if self.converged else "NO"),
            ("BLAS threads:", f"{self.blas_threads}"),
        ]
        fmt = copy.deepcopy(fmt_2cols)
        fmt["data_fmts"][1] = "%18s"
        table = SimpleTable(
            [[v] for _, v in top_left],
            stubs=[k for k, _ in top_left],
            title=f"{spec.label} - {self.asset}",
            txt_fmt=fmt,
        )
        table.extend_right(
            SimpleTable([[v] for _, v in top_right], stubs=[f"  {k:<20s}" for k, _ in top_right])
        )
        smry = Summary()
        smry.tables.append(table)
        if self.n_params:
            se = self.std_errors.to_numpy()
            t = self.tvalues.to_numpy()
            pv = self.pvalues.to_numpy()
            rows = []
            for i, value in enumerate(self.params.to_numpy()):
                if self.estimated:
                    lo, hi = value - 1.96 * se[i], value + 1.96 * se[i]
                    rows.append(
                        [
                            fmt_number(value),
                            fmt_number(se[i], 3),
                            f"{t[i]:.3f}",
                            fmt_pvalue(pv[i]),
                            f"[{fmt_number(lo, 3)}, {fmt_number(hi, 3)}]",
                        ]
                    )
                else:
                    rows.append([fmt_number(value), "", "", "", ""])
            smry.tables.append(
                SimpleTable(
                    rows,
                    headers=["coef", "std err", "t", "P>|t|", "95.0% Conf. Int."],
                    stubs=list(self.params.index),
                    title="Parameters (arch percent units: fitted on 100 x returns)",
                    txt_fmt=copy.deepcopy(fmt_params),
                )
            )
        notes = [
            "Covariance estimator: robust (Bollerslev-Wooldridge)."
            if self.estimated
            else "Parameters fixed by the caller."
        ]
        notes.append(f"Persistence: {self.persistence:.4f}.")
        if self.params_at_bounds:
            notes.append(f"At bounds: {', '.join(self.params_at_bounds)}.")
        if self.binding_constraints:
            notes.append(f"Binding constraints: {'; '.join(self.binding_constraints)}.")
        if self.failure_note:
            notes.append(f"Optimizer: {self.failure_note}.")
        elif self.estimated:
            notes.append(f"Optimizer: {self.convergence_message} (status {self.convergence_flag}).")
        smry.add_extra_txt(notes)
        return smry

    def __str__(self) -> str:
        return self.summary().as_text()

    def __repr__(self) -> str:
        return (
            f"VolatilityResult({self.spec.label}, asset={self.asset!r}, nobs={self.nobs}, "
            f"loglikelihood={self.loglikelihood:.6g}, converged={self.converged}, "
            f"params_at_bounds={self.params_at_bounds})"
        )


@dataclass(frozen=True, eq=False, repr=False, kw_only=True)
class PanelVolatilityResult(SummaryDisplay):
    """Univariate fits of every asset of a panel, each over its own listed history.

    Attributes
    ----------
    spec : VolatilitySpec
        The spec fitted to every asset.
    results : dict of str to VolatilityResult
        One result per asset, in the panel's column order.
    std_resid : pandas.DataFrame
        Standardized residuals (T x N) on the panel's index, NaN outside each asset's history.
    conditional_volatility : pandas.DataFrame
        ``sigma_t`` in decimals (T x N), NaN outside each asset's history.
    failures : dict of str to str
        Assets that were retried or kept unconverged, with the reason.
    n_jobs : int
        Worker processes used (results are bit-identical for any value).
    blas_threads : int
        BLAS threads per fit (always 1).
    """

    spec: VolatilitySpec
    results: dict[str, VolatilityResult]
    std_resid: pd.DataFrame
    conditional_volatility: pd.DataFrame
    failures: dict[str, str]
    n_jobs: int
    blas_threads: int

    @property
    def assets(self) -> tuple[str, ...]:
        """Asset names in the panel's column order."""
        return tuple(self.results)

    @property
    def index(self) -> pd.Index:
        """The panel's index (union of every asset's history)."""
        return self.std_resid.index

    def __getitem__(self, asset: str) -> VolatilityResult:
        return self.results[asset]

    def to_frame(self) -> pd.DataFrame:
        """The fitted paths of every asset as a long frame, one row per (bar, asset).

        Returns
        -------
        DataFrame
            Columns ``time``, ``asset``, ``conditional_volatility`` (decimal ``sigma_t``) and
            ``std_resid``, only the bars each asset was fitted on (its own listed history); a
            RangeIndex. ``attrs`` holds ``model`` (a string).
        """
        parts = [
            pd.DataFrame(
                {
                    "time": r.index,
                    "asset": str(asset),
                    "conditional_volatility": r.conditional_volatility.to_numpy(),
                    "std_resid": r.std_resid.to_numpy(),
                }
            )
            for asset, r in self.results.items()
        ]
        cols = ["time", "asset", "conditional_volatility", "std_resid"]
        out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=cols)
        out.attrs = {"model": self.spec.label}
        return out

    def summary(self) -> pd.DataFrame:
        """One row per asset: sample, parameters (percent units), fit statistics and flags."""
        rows = {}
        for asset, r in self.results.items():
            row: dict[str, Any] = {
                "start": r.index[0],
                "end": r.index[-1],
                "nobs": r.nobs,
            }
            row.update(r.params.to_dict())
            row.update(
                {
                    "persistence": r.persistence,
                    "loglikelihood": r.loglikelihood,
                    "converged": r.converged,
                    "params_at_bounds": ", ".join(r.params_at_bounds),
                    "binding_constraints": "; ".join(r.binding_constraints),
                    "failure_note": r.failure_note or "",
                }
            )
            rows[asset] = row
        out = pd.DataFrame.from_dict(rows, orient="index")
        out.index.name = "asset"
        return out

    def plot(
        self,
        *,
        ax: Axes | None = None,
        annualize: float | None = None,
        assets: list[str] | tuple[str, ...] | None = None,
    ) -> Axes:
        """Draw every asset's conditional volatility on one Axes, one coloured line each.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, optional
            Where to draw; default a new figure in the report style.
        annualize : float, optional
            Bars per year (365 for daily crypto bars): ``sigma_t * sqrt(annualize)``. Default:
            per-bar volatility.
        assets : sequence of str, optional
            The assets drawn, in this order (default every asset of the panel).

        Returns
        -------
        matplotlib.axes.Axes
            ``ax.lines[i]`` is asset ``i``'s ``sigma_t`` (scaled) over its own history.
        """
        from riskmodels.reporting import figures

        scale = _annual_scale(annualize)
        chosen = list(self.assets) if assets is None else [str(a) for a in assets]
        unknown = [a for a in chosen if a not in self.results]
        if unknown or not chosen:
            raise ConfigError(
                f"assets must be among {list(self.assets)} (got {unknown or chosen})."
            )
        ax = figures.new_axes(ax, figsize=(11.0, 4.5))
        for colour, asset in zip(figures.palette(len(chosen)), chosen, strict=True):
            sigma = self.results[asset].conditional_volatility * scale
            ax.plot(sigma.index, sigma.to_numpy(), color=colour, linewidth=0.8, label=asset)
        _vol_axes_labels(ax, self.index, annualize)
        ax.set_ylim(bottom=0.0)
        ax.set_title(f"{self.spec.label}: conditional volatility")
        ax.legend(ncol=min(len(chosen), 5), fontsize=8, loc="upper right")
        return ax

    def __repr__(self) -> str:
        return (
            f"PanelVolatilityResult({self.spec.label}, assets={list(self.assets)}, "
            f"failures={list(self.failures)})"
        )

    summary_kinds: ClassVar[Mapping[str, str]] = {"nobs": "count"}
