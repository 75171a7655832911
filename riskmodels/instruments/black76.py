r"""Black-76 prices and greeks of European options on a futures or forward price.

Every function broadcasts its arguments like NumPy arrays (one value per option series, or an
``S × K`` grid of scenario forwards) and returns a ``float`` when all of them are scalars.

Conventions
-----------
``forward`` :math:`F` and ``strike`` :math:`K` are in USD per unit of the underlying, ``tau``
:math:`T` is the time to expiry in years (the package uses ACT/365 with 24/7 calendar time, see
:data:`riskmodels.instruments.market.YEAR`), ``sigma`` :math:`\sigma` is the annualized implied
volatility as a decimal (0.6 = 60%) and ``rate`` :math:`r` the continuously compounded discount
rate of the premium currency (Deribit prices its options with :math:`r = 0`). ``kind`` is
``"call"`` or ``"put"``, or an array of them.

Notes
-----
Black (1976), "The pricing of commodity contracts", *Journal of Financial Economics* 3,
167–179; in the notation of Haug (2007), *The Complete Guide to Option Pricing
Formulas*, 2nd ed., chapter 1 ("options on futures"):

.. math::

    c = e^{-rT}\,[F N(d_1) - K N(d_2)], \qquad p = e^{-rT}\,[K N(-d_2) - F N(-d_1)],

    d_1 = \frac{\ln(F/K) + \sigma^2 T/2}{\sigma\sqrt{T}}, \qquad d_2 = d_1 - \sigma\sqrt{T}.

Greeks (derivatives of the price, :math:`\varphi` the standard normal density,
:math:`\epsilon = +1` for a call and :math:`-1` for a put):

* delta :math:`\partial V/\partial F = \epsilon\, e^{-rT} N(\epsilon d_1)`
* gamma :math:`\partial^2 V/\partial F^2 = e^{-rT}\varphi(d_1) / (F\sigma\sqrt{T})`
* vega :math:`\partial V/\partial\sigma = e^{-rT} F \varphi(d_1)\sqrt{T}` (per 1.00 of vol,
  divide by 100 for one vol point)
* theta :math:`\partial V/\partial t = -\partial V/\partial T
  = rV - e^{-rT} F\varphi(d_1)\sigma / (2\sqrt{T})` (per year of calendar time, with
  :math:`F` held fixed; divide by 365 for one day)
* rho :math:`\partial V/\partial r = -T V` (the forward is an input, so only discounting
  depends on :math:`r`).

**Zero total variance.** Where :math:`\sigma\sqrt{T} = 0` (expiry, or zero volatility) the price
is the discounted intrinsic value :math:`e^{-rT}\max(\epsilon(F - K), 0)`, the limit of the
formula. The greeks there are the limits for :math:`F \ne K`: delta
:math:`\epsilon e^{-rT}\mathbf 1\{\epsilon(F-K) > 0\}`, gamma 0, vega 0, theta :math:`rV`,
rho :math:`-TV`. At the money (:math:`F = K`) delta is :math:`\epsilon e^{-rT}/2` (the limit
of :math:`N(d_1)` as :math:`d_1 \to 0`), gamma is ``inf`` (the payoff's kink), vega is
:math:`e^{-rT}F\sqrt{T}\,\varphi(0)` and theta is :math:`rV` when :math:`\sigma = 0` and
``-inf`` when :math:`T = 0 < \sigma`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import special

from riskmodels.exceptions import ConfigError

__all__ = ["Black76Greeks", "delta", "gamma", "greeks", "price", "rho", "theta", "vega"]

_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


@dataclass(frozen=True)
class Black76Greeks:
    """Black-76 price and greeks of one or many options (arrays broadcast together).

    Attributes
    ----------
    price : float or ndarray
        Option value in USD per unit of the underlying.
    delta : float or ndarray
        :math:`\\partial V/\\partial F`.
    gamma : float or ndarray
        :math:`\\partial^2 V/\\partial F^2`.
    vega : float or ndarray
        :math:`\\partial V/\\partial\\sigma` per 1.00 of volatility.
    theta : float or ndarray
        :math:`\\partial V/\\partial t` per year of calendar time.
    rho : float or ndarray
        :math:`\\partial V/\\partial r`.
    """

    price: float | np.ndarray
    delta: float | np.ndarray
    gamma: float | np.ndarray
    vega: float | np.ndarray
    theta: float | np.ndarray
    rho: float | np.ndarray


# -- input handling ----------------------------------------------------------------------------
def call_mask(kind: str | npt.ArrayLike) -> np.ndarray:
    """``True`` where ``kind`` is ``"call"``, ``False`` where it is ``"put"``.

    A boolean array is taken as the mask itself (``True`` = call).

    Raises
    ------
    ConfigError
        If any entry is neither ``"call"`` nor ``"put"``.
    """
    k = np.asarray(kind)
    if k.dtype == bool:
        return k
    if k.dtype.kind not in "UOT":
        raise ConfigError(f"kind must be 'call' or 'put' (got {kind!r}).")
    flat = [str(x).lower() for x in k.ravel()]
    bad = sorted({x for x in flat if x not in ("call", "put")})
    if bad:
        raise ConfigError(f"kind must be 'call' or 'put' (got {bad[:5]!r}).")
    return np.array([x == "call" for x in flat], dtype=bool).reshape(k.shape)


def _as_array(x: npt.ArrayLike, name: str) -> np.ndarray:
    try:
        a = np.asarray(x, dtype="float64")
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{name} must be a number or an array of numbers (got {x!r}).") from exc
    if not np.isfinite(a).all():
        raise ConfigError(
            f"{name} must be finite (got {int((~np.isfinite(a)).sum())} NaN/inf value(s))."
        )
    return a


def _check(
    forward: npt.ArrayLike,
    strike: npt.ArrayLike,
    tau: npt.ArrayLike,
    sigma: npt.ArrayLike,
    rate: npt.ArrayLike,
    kind: str | npt.ArrayLike,
) -> tuple[np.ndarray, ...]:
    f = _as_array(forward, "forward")
    k = _as_array(strike, "strike")
    t = _as_array(tau, "tau")
    s = _as_array(sigma, "sigma")
    r = _as_array(rate, "rate")
    for a, name, fix in (
        (f, "forward", "a futures/forward price in USD, > 0"),
        (k, "strike", "a strike in USD, > 0"),
    ):
        if (a <= 0).any():
            raise ConfigError(
                f"{name} must be > 0 (got {float(a[a <= 0].ravel()[0])!r}); pass {fix}."
            )
    if (t < 0).any():
        raise ConfigError(
            f"tau must be >= 0 years (got {float(t[t < 0].ravel()[0])!r}); an expired option has no "
            "Black-76 value."
        )
    if (s < 0).any():
        raise ConfigError(
            f"sigma must be >= 0 (got {float(s[s < 0].ravel()[0])!r}); pass the annualized implied "
            "volatility as a decimal (0.6 = 60%)."
        )
    is_call = call_mask(kind)
    try:
        return tuple(np.broadcast_arrays(f, k, t, s, r, is_call))
    except ValueError as exc:
        raise ConfigError(
            "forward, strike, tau, sigma, rate and kind must broadcast together (got shapes "
            f"{[np.shape(a) for a in (f, k, t, s, r, is_call)]})."
        ) from exc


def _out(a: np.ndarray) -> float | np.ndarray:
    return float(a) if np.ndim(a) == 0 else a


# -- kernels (no validation: the revaluation engine calls these on checked inputs) -------------
def _d1(f: np.ndarray, k: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``d1`` where the total volatility ``w = sigma*sqrt(T)`` is positive, and that mask."""
    pos = w > 0
    w_safe = np.where(pos, w, 1.0)
    d1 = np.log(f / k) / w_safe + 0.5 * w_safe
    return d1, pos


def price_kernel(
    f: np.ndarray,
    k: np.ndarray,
    t: np.ndarray,
    s: np.ndarray,
    r: np.ndarray | float,
    is_call: np.ndarray | bool,
) -> np.ndarray:
    """Black-76 price on validated, broadcastable arrays (the vectorized revaluation kernel)."""
    w = s * np.sqrt(t)
    disc = np.exp(-r * t)
    eps = np.where(is_call, 1.0, -1.0)
    d1, pos = _d1(f, k, w)
    w_safe = np.where(pos, w, 1.0)
    val = disc * eps * (f * special.ndtr(eps * d1) - k * special.ndtr(eps * (d1 - w_safe)))
    intrinsic = disc * np.maximum(eps * (f - k), 0.0)
    return np.where(pos, val, intrinsic)


def greeks_kernel(
    f: np.ndarray,
    k: np.ndarray,
    t: np.ndarray,
    s: np.ndarray,
    r: np.ndarray | float,
    is_call: np.ndarray | bool,
) -> tuple[np.ndarray, ...]:
    """Price, delta, gamma, vega, theta, rho on validated arrays (see the module Notes)."""
    w = s * np.sqrt(t)
    sqrt_t = np.sqrt(t)
    disc = np.exp(-r * t)
    eps = np.where(is_call, 1.0, -1.0)
    d1, pos = _d1(f, k, w)
    w_safe = np.where(pos, w, 1.0)
    t_safe = np.where(pos, t, 1.0)
    pdf = _INV_SQRT_2PI * np.exp(-0.5 * d1 * d1)
    n_eps_d1 = special.ndtr(eps * d1)

    val = disc * eps * (f * n_eps_d1 - k * special.ndtr(eps * (d1 - w_safe)))
    dlt = eps * disc * n_eps_d1
    gam = disc * pdf / (f * w_safe)
    veg = disc * f * pdf * sqrt_t
    decay = disc * f * pdf * s / (2.0 * np.sqrt(t_safe))

    # zero total variance: the limits documented in the module Notes
    atm = f == k
    itm = eps * (f - k) > 0
    val0 = disc * np.maximum(eps * (f - k), 0.0)
    dlt0 = eps * disc * np.where(atm, 0.5, np.where(itm, 1.0, 0.0))
    gam0 = np.where(atm, np.inf, 0.0)
    veg0 = np.where(atm, disc * f * sqrt_t * _INV_SQRT_2PI, 0.0)
    decay0 = np.where(atm & (s > 0), np.inf, 0.0)

    val = np.where(pos, val, val0)
    dlt = np.where(pos, dlt, dlt0)
    gam = np.where(pos, gam, gam0)
    veg = np.where(pos, veg, veg0)
    the = r * val - np.where(pos, decay, decay0)
    rh = -t * val
    return val, dlt, gam, veg, the, rh


# -- public API --------------------------------------------------------------------------------
def price(
    forward: npt.ArrayLike,
    strike: npt.ArrayLike,
    tau: npt.ArrayLike,
    sigma: npt.ArrayLike,
    *,
    rate: npt.ArrayLike = 0.0,
    kind: str | npt.ArrayLike = "call",
) -> float | np.ndarray:
    r"""Black-76 price of a European option on a futures/forward price.

    Parameters
    ----------
    forward : float or array-like
        Futures/forward price :math:`F` of the underlying at the option's expiry, > 0.
    strike : float or array-like
        Strike :math:`K`, > 0.
    tau : float or array-like
        Time to expiry in years, >= 0.
    sigma : float or array-like
        Annualized implied volatility (decimal), >= 0.
    rate : float or array-like, default 0.0
        Continuously compounded discount rate of the premium currency.
    kind : {"call", "put"} or array-like of them, default "call"

    Returns
    -------
    float or numpy.ndarray
        Option value per unit of the underlying, in the currency of ``forward``.

    Raises
    ------
    ConfigError
        Non-positive ``forward`` or ``strike``, negative ``tau`` or ``sigma``, non-finite
        inputs, an unknown ``kind``, or shapes that do not broadcast.

    Notes
    -----
    Black (1976); see the module Notes for the formula and the zero-variance limit.
    """
    f, k, t, s, r, c = _check(forward, strike, tau, sigma, rate, kind)
    return _out(price_kernel(f, k, t, s, r, c))


def greeks(
    forward: npt.ArrayLike,
    strike: npt.ArrayLike,
    tau: npt.ArrayLike,
    sigma: npt.ArrayLike,
    *,
    rate: npt.ArrayLike = 0.0,
    kind: str | npt.ArrayLike = "call",
) -> Black76Greeks:
    """Black-76 price, delta, gamma, vega, theta and rho in one pass.

    Parameters are those of :func:`price`; the formulas are in the module Notes.

    Returns
    -------
    Black76Greeks
    """
    f, k, t, s, r, c = _check(forward, strike, tau, sigma, rate, kind)
    return Black76Greeks(*(_out(a) for a in greeks_kernel(f, k, t, s, r, c)))


def delta(
    forward: npt.ArrayLike,
    strike: npt.ArrayLike,
    tau: npt.ArrayLike,
    sigma: npt.ArrayLike,
    *,
    rate: npt.ArrayLike = 0.0,
    kind: str | npt.ArrayLike = "call",
) -> float | np.ndarray:
    r""":math:`\partial V/\partial F = \epsilon e^{-rT} N(\epsilon d_1)` (see :func:`price`)."""
    return greeks(forward, strike, tau, sigma, rate=rate, kind=kind).delta


def gamma(
    forward: npt.ArrayLike,
    strike: npt.ArrayLike,
    tau: npt.ArrayLike,
    sigma: npt.ArrayLike,
    *,
    rate: npt.ArrayLike = 0.0,
    kind: str | npt.ArrayLike = "call",
) -> float | np.ndarray:
    r""":math:`\partial^2 V/\partial F^2 = e^{-rT}\varphi(d_1)/(F\sigma\sqrt T)` (same for puts)."""
    return greeks(forward, strike, tau, sigma, rate=rate, kind=kind).gamma


def vega(
    forward: npt.ArrayLike,
    strike: npt.ArrayLike,
    tau: npt.ArrayLike,
    sigma: npt.ArrayLike,
    *,
    rate: npt.ArrayLike = 0.0,
    kind: str | npt.ArrayLike = "call",
) -> float | np.ndarray:
    r""":math:`\partial V/\partial\sigma = e^{-rT}F\varphi(d_1)\sqrt T` per 1.00 of volatility."""
    return greeks(forward, strike, tau, sigma, rate=rate, kind=kind).vega


def theta(
    forward: npt.ArrayLike,
    strike: npt.ArrayLike,
    tau: npt.ArrayLike,
    sigma: npt.ArrayLike,
    *,
    rate: npt.ArrayLike = 0.0,
    kind: str | npt.ArrayLike = "call",
) -> float | np.ndarray:
    r""":math:`\partial V/\partial t = rV - e^{-rT}F\varphi(d_1)\sigma/(2\sqrt T)` per year."""
    return greeks(forward, strike, tau, sigma, rate=rate, kind=kind).theta


def rho(
    forward: npt.ArrayLike,
    strike: npt.ArrayLike,
    tau: npt.ArrayLike,
    sigma: npt.ArrayLike,
    *,
    rate: npt.ArrayLike = 0.0,
    kind: str | npt.ArrayLike = "call",
) -> float | np.ndarray:
    r""":math:`\partial V/\partial r = -TV` with the forward held fixed."""
    return greeks(forward, strike, tau, sigma, rate=rate, kind=kind).rho
