"""Results of the correlation models: paths of conditional correlation/covariance matrices,
forecasts, simulation, standard errors and summaries."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from scipy import stats
from scipy.optimize import minimize_scalar
from scipy.special import gammaln
from statsmodels.iolib.summary import Summary
from statsmodels.iolib.table import SimpleTable

from riskmodels._display import SummaryDisplay, fmt_number, fmt_pvalue
from riskmodels._limits import check_allocation
from riskmodels._random import as_generator
from riskmodels._time import bar_frequency, horizon_bars
from riskmodels._typing import DurationLike, SeedLike
from riskmodels.correlation._data import TargetRepair
from riskmodels.correlation._likelihood import Problem
from riskmodels.correlation._linalg import check_correlation_stack, cov2cor
from riskmodels.exceptions import ConfigError, ModelError

if TYPE_CHECKING:  # pragma: no cover
    from riskmodels.correlation.models import DCC

__all__ = [
    "CorrelationForecast",
    "CorrelationResult",
    "DCCResult",
    "MatrixPath",
]

_PATH_CHUNK_BYTES = 64 * 2**20


# ---------------------------------------------------------------------------------------------
# A path of N x N matrices with a by-date accessor and a tidy frame
# ---------------------------------------------------------------------------------------------


class MatrixPath:
    """A ``(T, N, N)`` path of conditional correlation or covariance matrices.

    Behaves like the array (``np.asarray(path)``, ``path.shape``, ``path[t]``) and adds labelled
    access: ``path.at("2022-11-09")`` is the N x N DataFrame at that date,
    ``path.pair("BTC", "ETH")`` a time series, and ``path.tidy()`` a long frame
    ``(time, asset_i, asset_j, value)`` over the pairs ``i < j`` for plotting (seaborn
    ``relplot(x="time", y=..., hue="pair")``).
    """

    def __init__(
        self, values: np.ndarray, index: pd.Index, assets: tuple[str, ...], name: str
    ) -> None:
        self._values = values
        self._values.setflags(write=False)
        self.index = index
        self.assets = assets
        self.name = name

    @property
    def values(self) -> np.ndarray:
        """The read-only ``(T, N, N)`` array."""
        return self._values

    @property
    def shape(self) -> tuple[int, ...]:
        return self._values.shape

    def __len__(self) -> int:
        return self._values.shape[0]

    def __getitem__(self, item: Any) -> np.ndarray:
        return self._values[item]

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return self._values if dtype is None else self._values.astype(dtype)

    def __repr__(self) -> str:
        return (
            f"MatrixPath({self.name}: {self.shape[0]} dates x {self.shape[1]} assets, "
            f"{self.index[0]} to {self.index[-1]})"
        )

    def at(self, date: Any) -> pd.DataFrame:
        """The N x N matrix at ``date`` (a label of the index; strings are parsed)."""
        try:
            pos = self.index.get_loc(pd.Timestamp(date) if isinstance(date, str) else date)
        except (KeyError, TypeError, ValueError):
            raise KeyError(
                f"{date!r} is not a date of this {self.name} path ({self.index[0]} to "
                f"{self.index[-1]}); use path.index to list the dates."
            ) from None
        if not isinstance(pos, int | np.integer):
            raise KeyError(f"{date!r} matches more than one date; pass one timestamp.")
        return pd.DataFrame(self._values[pos], index=list(self.assets), columns=list(self.assets))

    def pair(self, a: str, b: str) -> pd.Series:
        """The ``(a, b)`` element as a time series."""
        i, j = self._pos(a), self._pos(b)
        return pd.Series(self._values[:, i, j], index=self.index, name=f"{a}-{b}")

    def _pos(self, asset: str) -> int:
        try:
            return self.assets.index(asset)
        except ValueError:
            raise KeyError(f"{asset!r} is not one of the assets {list(self.assets)}.") from None

    def tidy(self) -> pd.DataFrame:
        """Long frame with columns ``time, asset_i, asset_j, pair, <name>`` for ``i < j``."""
        N = len(self.assets)
        iu, ju = np.triu_indices(N, 1)
        T = len(self.index)
        vals = self._values[:, iu, ju]
        a = np.array(self.assets, dtype=object)
        return pd.DataFrame(
            {
                "time": np.repeat(self.index.to_numpy(), len(iu)),
                "asset_i": np.tile(a[iu], T),
                "asset_j": np.tile(a[ju], T),
                "pair": np.tile(
                    np.char.add(np.char.add(a[iu].astype(str), "-"), a[ju].astype(str)), T
                ),
                self.name: vals.reshape(-1),
            }
        )

    def plot(
        self,
        pairs: Sequence[tuple[str, str]] | None = None,
        *,
        mean: bool = True,
        ax: Any = None,
    ) -> Any:
        """Draw the path of each pair ``(a, b)`` over time, and the average over all pairs.

        Parameters
        ----------
        pairs : sequence of (str, str), optional
            The pairs to draw; default every pair ``i < j`` for up to 4 assets (6 pairs),
            else none (only the average).
        mean : bool, default True
            Also draw :meth:`mean_pairwise` (black, thicker).
        ax : matplotlib Axes, optional
            Draw into it; default a new figure in the report style.

        Returns
        -------
        matplotlib.axes.Axes
            One line per pair (labelled ``"a-b"``), then the average.
        """
        from riskmodels.reporting import figures

        ax = figures.new_axes(ax)
        n = len(self.assets)
        if pairs is None:
            pairs = (
                [(self.assets[i], self.assets[j]) for i in range(n) for j in range(i + 1, n)]
                if n <= 4
                else []
            )
        for a, b in pairs:
            ser = self.pair(a, b)
            ax.plot(ser.index, ser.to_numpy(), lw=0.9, label=f"{a}-{b}")
        if mean and n > 1:
            m = self.mean_pairwise()
            ax.plot(m.index, m.to_numpy(), color="black", lw=1.8, label=f"mean {self.name}")
        ax.set_ylabel(f"conditional {self.name}")
        ax.set_xlabel("")
        if ax.lines:
            ax.legend(loc="best", fontsize="small")
        figures.date_axis(ax)
        return ax

    def mean_pairwise(self) -> pd.Series:
        """Average off-diagonal element at each date (e.g. average pairwise correlation)."""
        N = len(self.assets)
        iu, ju = np.triu_indices(N, 1)
        return pd.Series(
            self._values[:, iu, ju].mean(axis=1), index=self.index, name=f"mean {self.name}"
        )


# ---------------------------------------------------------------------------------------------
# Forecasts
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class CorrelationForecast:
    """Correlation and covariance forecasts for steps ``1..horizon`` after the sample.

    Attributes
    ----------
    correlation : ndarray of shape (horizon, N, N)
        ``R_{T+h}``; step 1 is exact, later steps use the Engle-Sheppard (2001) approximation.
    covariance : ndarray of shape (horizon, N, N)
        ``H_{T+h} = D_{T+h} R_{T+h} D_{T+h}`` with the univariate variance forecasts on the
        diagonal of ``D^2`` (decimal²). Equals ``correlation`` when the model was fitted on
        standardized residuals (``univariate=None``).
    assets : tuple of str
    origin : Timestamp
        The last date of the sample.
    """

    correlation: np.ndarray
    covariance: np.ndarray
    assets: tuple[str, ...]
    origin: Any

    def __post_init__(self) -> None:
        R = check_correlation_stack(self.correlation, "CorrelationForecast.correlation")
        try:
            H = np.array(self.covariance, dtype="float64")
        except (TypeError, ValueError) as exc:
            raise ModelError(f"CorrelationForecast.covariance must be numeric ({exc}).") from exc
        if H.ndim == 2:
            H = H[None]
        if H.shape != R.shape:
            raise ModelError(
                f"CorrelationForecast.covariance must have the shape of correlation {R.shape} "
                f"(got {np.shape(self.covariance)})."
            )
        if not np.isfinite(H).all():
            raise ModelError("CorrelationForecast.covariance has NaN or infinite entries.")
        if isinstance(self.assets, str | bytes) or not isinstance(self.assets, Iterable):
            raise ModelError(
                f"CorrelationForecast.assets must be a sequence of asset names, one per row "
                f"(got {self.assets!r}), e.g. ('BTC', 'ETH')."
            )
        assets = tuple(self.assets)
        if len(assets) != R.shape[1]:
            raise ModelError(
                f"CorrelationForecast has {len(assets)} assets but {R.shape[1]}x{R.shape[1]} "
                "matrices: give one asset name per row."
            )
        object.__setattr__(self, "correlation", R)
        object.__setattr__(self, "covariance", H)
        object.__setattr__(self, "assets", assets)

    @property
    def horizon(self) -> int:
        return int(self.correlation.shape[0])

    def correlation_matrix(self, step: int | None = None) -> pd.DataFrame:
        """The N x N correlation forecast at ``step`` (default: the last)."""
        return self._frame(self.correlation, step)

    def covariance_matrix(self, step: int | None = None) -> pd.DataFrame:
        """The N x N covariance forecast at ``step`` (default: the last)."""
        return self._frame(self.covariance, step)

    def cumulative_covariance(self) -> pd.DataFrame:
        """Covariance of the log return summed over the horizon, ``sum_h H_{T+h}``.

        Exact for serially uncorrelated returns (zero or constant mean): the cross-period
        covariances of a martingale difference sequence vanish.
        """
        return pd.DataFrame(
            self.covariance.sum(axis=0), index=list(self.assets), columns=list(self.assets)
        )

    def _frame(self, arr: np.ndarray, step: int | None) -> pd.DataFrame:
        h = self.horizon if step is None else int(step)
        if not 1 <= h <= self.horizon:
            raise ConfigError(f"step must be in 1..{self.horizon} (got {step!r}).")
        return pd.DataFrame(arr[h - 1], index=list(self.assets), columns=list(self.assets))

    def mean_pairwise(self) -> pd.Series:
        """Average off-diagonal forecast correlation per step (NaN for one asset)."""
        iu, ju = np.triu_indices(len(self.assets), 1)
        vals = (
            self.correlation[:, iu, ju].mean(axis=1) if iu.size else np.full(self.horizon, np.nan)
        )
        return pd.Series(
            vals, index=pd.RangeIndex(1, self.horizon + 1, name="step"), name="mean correlation"
        )

    def to_frame(self) -> pd.DataFrame:
        """The forecasts as a long frame, one row per step and pair ``i <= j``.

        Returns
        -------
        DataFrame
            Columns ``step`` (1..horizon), ``asset_i``, ``asset_j``, ``correlation``,
            ``covariance`` (the variance where ``asset_i == asset_j``).
        """
        N = len(self.assets)
        iu, ju = np.triu_indices(N)
        a = np.array(self.assets, dtype=object)
        H = self.horizon
        return pd.DataFrame(
            {
                "step": np.repeat(np.arange(1, H + 1), iu.size),
                "asset_i": np.tile(a[iu], H).astype(str),
                "asset_j": np.tile(a[ju], H).astype(str),
                "correlation": self.correlation[:, iu, ju].reshape(-1),
                "covariance": self.covariance[:, iu, ju].reshape(-1),
            }
        )

    def _headline(self) -> str:
        n = len(self.assets)
        shown = ", ".join(self.assets[:6]) + (f", … (+{n - 6})" if n > 6 else "")
        origin = self.origin
        if isinstance(origin, pd.Timestamp):
            origin = origin.strftime(
                "%Y-%m-%d" if origin == origin.normalize() else "%Y-%m-%d %H:%M"
            )
        mp = self.mean_pairwise()
        tail = (
            ""
            if n < 2
            else f"; mean correlation {mp.iloc[0]:.3f} at step 1, {mp.iloc[-1]:.3f} at step {self.horizon}"
        )
        return f"{n} assets [{shown}], steps 1..{self.horizon} after {origin}{tail}"

    def __repr__(self) -> str:
        return f"CorrelationForecast({self._headline()})"

    def _repr_html_(self) -> str:
        from riskmodels._display import esc, table_html

        out = f"<div><p><b>CorrelationForecast</b>: {esc(self._headline())}.</p>"
        if len(self.assets) <= 12:
            steps = sorted({1, self.horizon})
            for h in steps:
                out += f"<p>Correlation at step {h}:</p>" + table_html(self.correlation_matrix(h))
        else:
            out += table_html(self.mean_pairwise().iloc[:20])
        return out + "</div>"


# ---------------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False, kw_only=True)
class CorrelationResult(SummaryDisplay):
    """A fitted (or fixed) conditional correlation model: EWMA, CCC, DCC, cDCC or ADCC.

    Attributes
    ----------
    model : str
        ``"EWMA"``, ``"CCC"``, ``"DCC"``, ``"cDCC"`` or ``"ADCC"``.
    spec : object
        The spec that produced the result.
    assets : tuple of str
    index : DatetimeIndex
        The common sample (rows where every asset has data).
    params : Series
        Correlation parameters (``a, b`` or ``a, b, g``; ``lam`` for EWMA; empty for CCC).
    loglikelihood : float
        Two-step Gaussian quasi log-likelihood ``loglikelihood_volatility +
        loglikelihood_correlation`` (Engle 2002, eq. 26). It is the exact Gaussian joint
        log-likelihood of the returns when the univariate models are normal.
    loglikelihood_correlation : float
        Correlation stage ``L_C = -1/2 sum_t (log|R_t| + z_t' R_t^{-1} z_t - z_t' z_t)`` of the
        full N-variate model, also when the parameters were estimated by composite likelihood.
    loglikelihood_volatility : float
        Sum over assets of the univariate log-likelihoods of the decimal returns on the common
        sample. With ``univariate=None`` it is the standard-normal log-likelihood of ``z``.
    composite_loglikelihood : float or None
        The maximised composite objective (sum over contiguous pairs), when
        ``likelihood="composite"``.
    llt : ndarray of shape (T,)
        Per-date correlation-stage log-likelihood.
    std_resid : DataFrame
        Standardized residuals ``z_t`` (T x N) the correlation stage used.
    returns : DataFrame or None
        The returns on the common sample (None with ``univariate=None``).
    volatility : dict or None
        The univariate results used, keyed by asset (``VolatilityResult``).
    conditional_volatility : DataFrame or None
        ``sigma_t`` on the common sample (decimals).
    target : DataFrame
        ``Qbar`` (DCC, ADCC, EWMA's ``Q_0``, CCC's moment matrix) or ``S`` (cDCC, evaluated at
        the estimates).
    asymmetry_target : DataFrame or None
        ADCC's ``Nbar``.
    delta : float or None
        ADCC's ``lambda_max(Qbar^{-1/2} Nbar Qbar^{-1/2})``.
    target_source : str
        ``"sample"``, ``"pairwise"`` or ``"given"``.
    target_repair : TargetRepair or None
        How a non-positive-definite target was repaired, when it was.
    converged : bool
    estimated : bool
        False for :meth:`DCC.fix`.
    params_at_bounds : tuple of str
    optimizer : dict
        What the optimiser did (method, iterations, evaluations, message, stages).
    backend : str
        ``"numba"`` or ``"numpy"``.
    blas_threads : int
        BLAS threads during the fit (pinned to 1 for determinism).
    """

    model: str
    spec: Any
    assets: tuple[str, ...]
    index: pd.Index
    params: pd.Series
    loglikelihood: float
    loglikelihood_correlation: float
    loglikelihood_volatility: float
    composite_loglikelihood: float | None
    llt: np.ndarray = field(repr=False)
    std_resid: pd.DataFrame = field(repr=False)
    returns: pd.DataFrame | None = field(repr=False)
    volatility: dict[str, Any] | None = field(repr=False)
    conditional_volatility: pd.DataFrame | None = field(repr=False)
    target: pd.DataFrame = field(repr=False)
    asymmetry_target: pd.DataFrame | None = field(repr=False)
    delta: float | None
    target_source: str
    target_repair: TargetRepair | None
    converged: bool
    estimated: bool
    params_at_bounds: tuple[str, ...]
    optimizer: dict[str, Any] = field(repr=False)
    backend: str
    blas_threads: int
    _problem: Problem = field(repr=False)
    _Q_last: np.ndarray = field(repr=False)
    _Nbar_uncentred: np.ndarray | None = field(repr=False, default=None)

    # -- sizes ------------------------------------------------------------------------------

    @property
    def nobs(self) -> int:
        return len(self.index)

    @property
    def n_assets(self) -> int:
        return len(self.assets)

    @property
    def kind(self) -> str:
        return self._problem.kind

    def _theta(self) -> np.ndarray:
        return np.asarray(self.params.to_numpy(), dtype=float) if self._problem.k else np.empty(0)

    # -- paths ------------------------------------------------------------------------------

    @cached_property
    def _R(self) -> np.ndarray:
        ev = self._problem.evaluate(self._theta(), likelihood="full", want_path=True)
        assert ev.R is not None
        return ev.R

    @cached_property
    def correlation(self) -> MatrixPath:
        """Conditional correlations ``R_t`` (T x N x N), computed on first access."""
        return MatrixPath(self._R, self.index, self.assets, "correlation")

    def plot(self, pairs: Sequence[tuple[str, str]] | None = None, *, ax: Any = None) -> Any:
        """Conditional correlation paths (:meth:`MatrixPath.plot` on :attr:`correlation`)."""
        ax = self.correlation.plot(pairs, ax=ax)
        ax.set_title(f"{self.kind} conditional correlations")
        return ax

    @cached_property
    def covariance(self) -> MatrixPath:
        """Conditional covariances ``H_t = D_t R_t D_t`` in decimal² (T x N x N).

        With ``univariate=None`` this equals the correlation path.
        """
        if self.conditional_volatility is None:
            return MatrixPath(self._R.copy(), self.index, self.assets, "covariance")
        s = self.conditional_volatility.to_numpy()
        return MatrixPath(
            self._R * s[:, :, None] * s[:, None, :], self.index, self.assets, "covariance"
        )

    @cached_property
    def Q(self) -> MatrixPath:
        """The unnormalised ``Q_t`` path (T x N x N); ``R_t`` is its correlation matrix.

        Computed by a plain numpy loop over the recursion (independent of the likelihood
        kernels, which the tests compare it with).
        """
        z = self.std_resid.to_numpy()
        _, _, _, Q0, _, _, _, _ = self._problem.inputs(self._theta(), target=self._target_array())
        out = np.empty((len(z), *Q0.shape))
        Q = Q0.copy()
        for t in range(len(z)):
            if t > 0:
                Q = self._next_Q(Q, z[t - 1])
            out[t] = Q
        return MatrixPath(out, self.index, self.assets, "Q")

    def to_frame(self) -> pd.DataFrame:
        """The conditional correlations and covariances as a long frame, one row per date and
        pair ``i < j``.

        Returns
        -------
        DataFrame
            Columns ``time``, ``asset_i``, ``asset_j``, ``pair`` (``"a-b"``),
            ``correlation`` and ``covariance`` (decimal², :attr:`covariance`); a RangeIndex.
            Plain columns only, so it round-trips through parquet.
        """
        out = self.correlation.tidy()
        out["covariance"] = self.covariance.tidy()["covariance"].to_numpy()
        for col in ("asset_i", "asset_j", "pair"):
            out[col] = out[col].astype(str)
        return out

    def is_positive_definite(self) -> pd.Series:
        """Whether ``R_t`` is positive definite at each date (Cholesky succeeds)."""
        ok = np.ones(self.nobs, dtype=bool)
        for start in range(0, self.nobs, 512):
            blk = self._R[start : start + 512]
            try:
                np.linalg.cholesky(blk)
            except np.linalg.LinAlgError:
                ok[start : start + 512] = np.linalg.eigvalsh(blk)[:, 0] > 0
        return pd.Series(ok, index=self.index, name="positive definite")

    # -- forecasting ------------------------------------------------------------------------

    @cached_property
    def _dynamics(self) -> tuple[np.ndarray, float, float, float]:
        _, _, C, _, _, a, b, g = self._problem.inputs(self._theta(), target=self._target_array())
        return C, a, b, g

    def _next_Q(self, Q: np.ndarray, z: np.ndarray) -> np.ndarray:
        """One step of the recursion, vectorised over a leading path axis."""
        pb = self._problem
        C, a, b, g = self._dynamics
        if pb.kind == "cdcc":
            xz = np.sqrt(np.diagonal(Q, axis1=-2, axis2=-1)) * z
        else:
            xz = z
        out = C + a * xz[..., :, None] * xz[..., None, :] + b * Q
        if g != 0.0:
            n = np.minimum(z, 0.0)
            out = out + g * n[..., :, None] * n[..., None, :]
        return out

    def _target_array(self) -> np.ndarray:
        return self.target.to_numpy()

    def _persistence(self) -> float:
        a, b, _ = self._problem.abg(self._theta())
        return a + b

    def _long_run_correlation(self) -> np.ndarray:
        """``Rbar`` of the Engle-Sheppard forecast: the correlation of the fixed point of
        ``E_t Q_{t+k} = C + (a + b) E_t Q_{t+k-1} + g E[n n']`` with ``E[n n']`` the uncentred
        sample moment (so ``Qbar`` itself for DCC, cDCC and uncentred ADCC)."""
        S = self._target_array()
        pb = self._problem
        a, b, g = pb.abg(self._theta())
        if pb.kind == "adcc" and self._Nbar_uncentred is not None and pb.Nbar is not None:
            S = S + g * (self._Nbar_uncentred - pb.Nbar) / (1.0 - a - b)
        return cov2cor(S)

    def forecast(self, horizon: int | DurationLike = 1) -> CorrelationForecast:
        """Correlation and covariance forecasts for steps ``1..horizon``.

        Parameters
        ----------
        horizon : int, str or Timedelta
            Number of bars, or a duration that is a whole number of bars (``"10D"`` on daily
            data).

        Notes
        -----
        ``Q_{T+1}`` is known at ``T``. For ``h > 1`` the Engle and Sheppard (2001, Section 2)
        approximation ``E_T[R_{T+h}] ~ (1 - (a+b)^{h-1}) Rbar + (a+b)^{h-1} R_{T+1}`` is used
        (for ADCC with the uncentred ``Nbar`` the asymmetric term averages to zero in ``Q``;
        EWMA has ``a + b = 1``: the forecast is flat; CCC: ``R`` is constant). The covariance
        is ``D_{T+h} R_{T+h} D_{T+h}`` with the univariate models' variance forecasts.
        """
        h = _steps(horizon, "horizon", self.index)
        z_last = self.std_resid.to_numpy()[-1]
        R1 = cov2cor(self._next_Q(self._Q_last, z_last))
        phi = self._persistence()
        Rbar = self._long_run_correlation()
        w = phi ** np.arange(h)  # (a+b)^{h-1} for h = 1..horizon
        Rs = w[:, None, None] * R1[None] + (1.0 - w)[:, None, None] * Rbar[None]
        if self.volatility is None:
            H = Rs.copy()
        else:
            from riskmodels.volatility.results import DEFAULT_FORECAST_SEED

            # a fixed seed: an EGARCH forecast (simulated for h > 1) is a function of the result
            var = np.column_stack(
                [
                    self.volatility[a].forecast(h, rng=DEFAULT_FORECAST_SEED).to_numpy()
                    for a in self.assets
                ]
            )  # (h, N)
            sd = np.sqrt(var)
            H = Rs * sd[:, :, None] * sd[:, None, :]
        return CorrelationForecast(
            correlation=Rs, covariance=H, assets=self.assets, origin=self.index[-1]
        )

    # -- simulation -------------------------------------------------------------------------

    @cached_property
    def _decorrelated(self) -> np.ndarray:
        """``e_t = L_t^{-1} z_t`` with ``L_t L_t' = R_t``: approximately i.i.d. with identity
        covariance under the model (the bootstrap resamples these rows)."""
        L = np.linalg.cholesky(self._R)
        return np.linalg.solve(L, self.std_resid.to_numpy()[:, :, None])[:, :, 0]

    @cached_property
    def nu(self) -> float:
        """Degrees of freedom of a standardized multivariate Student t fitted to ``z_t`` given
        ``R_t`` (one-dimensional ML at the estimated correlations; used by
        ``simulate(innovations="t")``)."""
        e = self._decorrelated
        q = (e * e).sum(axis=1)  # z' R^{-1} z
        N = self.n_assets

        def negll(nu: float) -> float:
            return -float(
                np.sum(
                    gammaln((nu + N) / 2)
                    - gammaln(nu / 2)
                    - 0.5 * N * np.log((nu - 2) * np.pi)
                    - 0.5 * (nu + N) * np.log1p(q / (nu - 2))
                )
            )

        res = minimize_scalar(negll, bounds=(2.05, 500.0), method="bounded")
        return float(res.x)

    def simulate_std_resid(
        self,
        n_paths: int,
        horizon: int | DurationLike,
        *,
        innovations: Literal["normal", "t", "bootstrap"] = "normal",
        rng: SeedLike = None,
        nu: float | None = None,
    ) -> np.ndarray:
        """Paths of standardized shocks ``z_{T+1..T+h}`` with correlations from the model.

        Returns
        -------
        ndarray of shape (n_paths, horizon, N)
        """
        P = _positive_int(n_paths, "n_paths")
        h = _steps(horizon, "horizon", self.index)
        check_allocation(
            P * h * self.n_assets, what=f"{P} paths x {h} steps x {self.n_assets} assets"
        )
        if innovations not in ("normal", "t", "bootstrap"):
            raise ConfigError(
                f"innovations must be 'normal', 't' or 'bootstrap' (got {innovations!r})."
            )
        gen = as_generator(rng)
        N = self.n_assets
        if innovations == "t":
            nu = self.nu if nu is None else float(nu)
            if not nu > 2:
                raise ConfigError(f"nu must be > 2 for unit-variance t shocks (got {nu}).")
        pool = self._decorrelated if innovations == "bootstrap" else None
        out = np.empty((P, h, N))
        z_last = self.std_resid.to_numpy()[-1]
        Q1 = self._next_Q(self._Q_last, z_last)
        block = max(1, _PATH_CHUNK_BYTES // (8 * N * N * 4))
        for s in range(0, P, block):
            m = min(P, s + block) - s
            Q = np.broadcast_to(Q1, (m, N, N)).copy()
            for k in range(h):
                if k > 0:
                    Q = self._next_Q(Q, out[s : s + m, k - 1])
                L = np.linalg.cholesky(cov2cor(Q))
                if innovations == "normal":
                    e = gen.standard_normal((m, N))
                elif innovations == "t":
                    assert nu is not None
                    e = (
                        gen.standard_normal((m, N))
                        * np.sqrt((nu - 2.0) / gen.chisquare(nu, m))[:, None]
                    )
                else:
                    assert pool is not None
                    e = pool[gen.integers(0, pool.shape[0], size=m)]
                out[s : s + m, k] = np.matmul(L, e[:, :, None])[:, :, 0]
        return out

    def simulate(
        self,
        n_paths: int,
        horizon: int | DurationLike,
        *,
        innovations: Literal["normal", "t", "bootstrap"] = "normal",
        rng: SeedLike = None,
        nu: float | None = None,
    ) -> np.ndarray:
        """Joint paths of decimal log returns continuing from the end of the sample.

        Parameters
        ----------
        n_paths : int
        horizon : int, str or Timedelta
            Bars ahead, or a duration that is a whole number of bars.
        innovations : {"normal", "t", "bootstrap"}
            Shocks ``e`` with identity covariance, turned into ``z = L_{T+k} e`` with
            ``L L' = R_{T+k}``: standard normal; standardized multivariate Student t with
            ``nu`` degrees of freedom (default :attr:`nu`); or rows of the in-sample
            decorrelated residuals ``L_t^{-1} z_t`` drawn with replacement (filtered historical
            simulation, which keeps the joint tails of the data).
        rng : Generator or int, optional
        nu : float, optional

        Returns
        -------
        ndarray of shape (n_paths, horizon, N)
            Decimal log returns from each asset's univariate model driven by the correlated
            ``z`` (``VolatilityResult.simulate(..., innovations=z[:, :, i])``); the
            standardized shocks themselves when the model was fitted with
            ``univariate=None``.

        Notes
        -----
        ``Q`` follows the model's recursion along each path (``Q_{T+1}`` is known at ``T``).
        """
        if self.volatility is not None:
            P = _positive_int(n_paths, "n_paths")
            h = _steps(horizon, "horizon", self.index)
            # the shocks and the returns, (n_paths, horizon, N) float64 each
            check_allocation(
                2 * P * h * self.n_assets,
                what=f"{P} paths x {h} steps x {self.n_assets} assets",
            )
        z = self.simulate_std_resid(n_paths, horizon, innovations=innovations, rng=rng, nu=nu)
        if self.volatility is None:
            return z
        out = np.empty_like(z)
        P, h = z.shape[0], z.shape[1]
        for i, a in enumerate(self.assets):
            out[:, :, i] = self.volatility[a].simulate(
                P, h, innovations=np.ascontiguousarray(z[:, :, i])
            )
        return out

    # -- presentation -----------------------------------------------------------------------

    def _param_table(self) -> pd.DataFrame:
        return pd.DataFrame({"coef": self.params})

    def summary(self) -> Summary:
        """Fit and parameter tables (statsmodels ``Summary``: text, HTML, LaTeX).

        No date or time is printed, so summaries of the same fit are identical.
        """
        smry = Summary()
        lik = getattr(self.spec, "likelihood", "full")
        left = [
            ("Model:", self.model),
            ("Likelihood:", lik if self._problem.k else "-"),
            ("Assets:", str(self.n_assets)),
            ("Observations:", str(self.nobs)),
            ("Sample start:", str(self.index[0])),
            ("Sample end:", str(self.index[-1])),
            ("Target:", self.target_source + (" (repaired)" if self.target_repair else "")),
        ]
        right = [
            ("Log-likelihood:", f"{self.loglikelihood:#.6g}"),
            ("Corr. stage LL:", f"{self.loglikelihood_correlation:#.6g}"),
            ("Vol. stage LL:", f"{self.loglikelihood_volatility:#.6g}"),
            ("Method:", "Two-step QML" if self.estimated else "Fixed parameters"),
            ("Converged:", str(self.converged)),
            ("Backend:", self.backend),
            ("BLAS threads:", str(self.blas_threads)),
        ]
        rows = [[a[0], a[1], b[0], b[1]] for a, b in zip(left, right, strict=True)]
        smry.tables.append(SimpleTable(rows, title=f"{self.model} correlation model"))
        tab = self._param_table()
        if len(tab):
            fmts = [fmt_pvalue if c.startswith("P>") else fmt_number for c in tab.columns]
            data = [[f(v) for f, v in zip(fmts, row, strict=True)] for row in tab.to_numpy()]
            smry.tables.append(
                SimpleTable(
                    data,
                    headers=list(tab.columns),
                    stubs=list(tab.index),
                    title="Correlation parameters",
                )
            )
        notes = []
        if "std err" in tab.columns:
            notes.append(
                "Standard errors: robust sandwich of the correlation stage, conditional on the "
                "standardized residuals and the target (cov_params('two-step') corrects for "
                "the first stage)."
            )
        if self.target_repair is not None:
            notes.append(str(self.target_repair))
        if self.params_at_bounds:
            notes.append(f"Parameters at a bound: {', '.join(self.params_at_bounds)}.")
        smry.add_extra_txt(notes)
        return smry

    def __str__(self) -> str:
        return str(self.summary())

    def __repr__(self) -> str:
        p = ", ".join(f"{k}={v:.4g}" for k, v in self.params.items())
        return (
            f"{type(self).__name__}({self.model}: {self.n_assets} assets, {self.nobs} obs"
            f"{', ' + p if p else ''}, loglik={self.loglikelihood:.6g})"
        )


@dataclass(frozen=True, eq=False, repr=False)  # CorrelationResult.__repr__, not every field
class DCCResult(CorrelationResult):
    """A fitted DCC, cDCC or ADCC model (see :class:`CorrelationResult` for the attributes).

    Attributes
    ----------
    std_errors : Series
        Robust (sandwich) standard errors of the correlation stage, ``H^{-1} J H^{-1}`` with
        ``J`` the outer product of the per-date scores and ``H`` the Hessian of the maximised
        objective (Godambe information for composite likelihood). They treat the standardized
        residuals and the target as given; :meth:`cov_params` with ``kind="two-step"`` adds the
        first-stage correction. NaN for fixed parameters and parameters at a bound.
    """

    std_errors: pd.Series = field(default_factory=lambda: pd.Series(dtype=float))
    _scores: np.ndarray | None = field(repr=False, default=None)
    _hessian: np.ndarray | None = field(repr=False, default=None)

    @property
    def tvalues(self) -> pd.Series:
        return self.params / self.std_errors

    @property
    def pvalues(self) -> pd.Series:
        return pd.Series(2 * stats.norm.sf(np.abs(self.tvalues)), index=self.params.index)

    def _param_table(self) -> pd.DataFrame:
        se = self.std_errors
        t = self.params / se
        return pd.DataFrame(
            {
                "coef": self.params,
                "std err": se,
                "t": t,
                "P>|t|": 2 * stats.norm.sf(np.abs(t)),
                "[0.025": self.params - 1.959964 * se,
                "0.975]": self.params + 1.959964 * se,
            }
        )

    def cov_params(
        self, kind: Literal["robust", "nonrobust", "two-step"] = "robust"
    ) -> pd.DataFrame:
        """Covariance matrix of the correlation parameters.

        Parameters
        ----------
        kind : {"robust", "nonrobust", "two-step"}
            ``"robust"``: ``H^{-1} J H^{-1}`` of the correlation stage (as :attr:`std_errors`).
            ``"nonrobust"``: ``-H^{-1}`` (full likelihood only; the inverse Hessian is not a
            variance for composite likelihood). ``"two-step"``: the Newey-McFadden (1994,
            Theorem 6.1) / Engle-Sheppard (2001) two-step sandwich that adds the estimation
            error of the univariate parameters and of the sample target (see
            :func:`riskmodels.correlation._inference.two_step_cov`); it needs numerical scores
            of every univariate model and is computed on request.
        """
        names = list(self.params.index)
        if self._hessian is None or self._scores is None:
            return pd.DataFrame(np.nan, index=names, columns=names)
        Hinv = np.linalg.inv(self._hessian)
        if kind == "robust":
            J = self._scores.T @ self._scores
            V = Hinv @ J @ Hinv
        elif kind == "nonrobust":
            if getattr(self.spec, "likelihood", "full") == "composite":
                raise ModelError(
                    "kind='nonrobust' is not a variance under composite likelihood (the "
                    "information equality fails); use kind='robust' (Godambe sandwich)."
                )
            V = -Hinv
        elif kind == "two-step":
            V = self._two_step
        else:
            raise ConfigError(f"kind must be 'robust', 'nonrobust' or 'two-step' (got {kind!r}).")
        return pd.DataFrame(V, index=names, columns=names)

    @cached_property
    def _two_step(self) -> np.ndarray:
        from riskmodels.correlation._inference import two_step_cov

        return two_step_cov(self)

    def std_errors_for(self, kind: Literal["robust", "nonrobust", "two-step"]) -> pd.Series:
        """Standard errors of ``kind`` (see :meth:`cov_params`)."""
        V = self.cov_params(kind)
        return pd.Series(np.sqrt(np.diag(V.to_numpy())), index=self.params.index, name=kind)

    def fix(self, params: Any) -> DCCResult:
        """The same model and data evaluated at other correlation parameters (validation).

        The univariate stage is reused as it is; see :meth:`DCC.fix`.
        """
        spec: DCC = self.spec
        data = self.returns if self.returns is not None else self.std_resid
        return spec.fix(data, params, volatility=self.volatility)


def _positive_int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or int(value) < 1:
        raise ConfigError(
            f"{name} must be a positive integer number of bars or a pandas Timedelta "
            f"(got {value!r}), e.g. 10 or '10D'."
        )
    return int(value)


def _steps(value: object, name: str, index: pd.Index) -> int:
    """A horizon in bars: an int, or a Timedelta / string that is a whole number of bars.

    The bar is :func:`riskmodels._time.bar_frequency` of the index and the conversion
    :func:`riskmodels._time.horizon_bars`, the package's one rule for each.
    """
    if isinstance(value, str | pd.Timedelta) and not isinstance(value, bool):
        if not isinstance(index, pd.DatetimeIndex) or len(index) < 2:
            raise ConfigError(
                f"{name}={value!r} needs a DatetimeIndex to convert time into bars; pass an int."
            )
        return horizon_bars(value, bar_frequency(index), name)
    return _positive_int(value, name)
