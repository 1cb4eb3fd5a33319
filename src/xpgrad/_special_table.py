"""The table of ``xp.special``: one row per function (``_def``), apart from the machinery that
makes its rows into derivative-table entries and the namespace (``special.py``).

A row holds the function's parameters, one derivative per parameter (a VJP ``vjp(xp, g,
<names>)`` as the derivative table's: the names after ``g`` are the parameters and ``out`` it
needs, which is what the node saves; array API code on the ``xp`` it is handed, calling special
functions through ``special_of(xp)``, so the same formula serves a plain backward on raw arrays,
``create_graph=True`` on Tensors, every order and forward mode), or the reason it has none, a
summary, the composition from the standard's functions where the backend lacks one
(``generic``), and the values at the edges of the domain a formula cannot reach (``at=``).
Formulas that cancel or overflow use Taylor polynomials near removable singularities (``_near``)
and asymptotic series in the tails (``_far``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

__all__ = ["ALIASES", "COMPOSITES", "FUNCTIONS", "TABLE", "special_of"]


def _not_attached(xp):
    raise RuntimeError("xpgrad._special_table is used without xpgrad.special: import xpgrad first")


class _Upper:
    """What this table needs from the module above it, attached by ``special.py`` when it is
    imported: ``special_of(xp)``, the special functions a derivative computes with (made from
    this table's rows)."""

    __slots__ = ("special_of",)

    def __init__(self):
        self.special_of = _not_attached


UPPER = _Upper()


def special_of(xp):
    """The special functions to use with namespace ``xp`` inside a derivative (``special.special_of``)."""
    return UPPER.special_of(xp)


_SQRT_PI = math.sqrt(math.pi)
_SQRT_2PI = math.sqrt(2 * math.pi)
_DEG = math.pi / 180


@dataclass
class _Fn:
    name: str
    params: tuple
    grads: tuple  # per parameter: its VJP vjp(xp, g, <names>), or a str: why it has none
    doc: str
    generic: object = None  # composition from the standard's functions: generic(xp, *args)
    ints: frozenset = field(default_factory=frozenset)  # parameters that are integers
    defaults: dict = field(default_factory=dict)
    # Values and derivatives at points where the library or the formula gives no number (the
    # limits at +-inf, the end of a domain): {point: (value or None: the library's, derivative)}.
    at: dict = field(default_factory=dict)
    own: bool = False  # the composition ``generic`` is more accurate than the libraries'
    # float32 computed in float32: the function and its derivative are accurate there (products,
    # quotients and exponentials of the arguments, no cancellation), so no float64 detour
    single: bool = False


TABLE: dict[str, _Fn] = {}


def _def(name, params, grads, doc, generic=None, ints=(), defaults=None, at=None, own=False, single=False):
    params = tuple(params.split())
    if not isinstance(grads, tuple):
        grads = (grads,)
    assert len(grads) == len(params), name
    assert not at or len(params) == 1, name  # points of functions of one argument
    TABLE[name] = _Fn(
        name, params, grads, doc, generic, frozenset(ints), defaults or {}, at or {}, own, single
    )


# --------------------------------------------------------------------------------------------
# Helpers used inside derivatives (``xp``: backend namespace or xpgrad namespace).


def _fill(xp, ref, v):
    return xp.full_like(ref, v)


def _safe(xp, x, bad, v=1.0):
    """``x`` with ``v`` where ``bad``: keeps the untaken branch of a ``where`` finite, so that
    its (zero) gradient stays zero under ``create_graph``."""
    return xp.where(bad, _fill(xp, x, v), x)


def _near(xp, x, at, eps, series, exact):
    """``series(x - at)`` where ``|x - at| < eps``, else ``exact(x)``: a removable singularity
    of a formula at ``at`` is filled by its Taylor polynomial, which, unlike a constant, also
    gives the right higher-order derivatives there."""
    t = x - at
    small = xp.abs(t) < eps
    xs = _safe(xp, x, small, at + 0.5)
    return xp.where(small, series(t), exact(xs))


def _h(xp, u):
    """``(u exp(u) - expm1(u)) / u**2`` = sum of ``u**k (k+1)/(k+2)!``: the derivative of
    ``expm1(u) / u``. Above 1 it is ``exp(u) (u - 1) / u**2 + 1/u**2``, with ``exp(u)`` in two
    halves: ``u exp(u)`` overflows (to inf - inf) before the result does; 0 at -inf, inf at
    +inf."""

    def exact(v):
        inf = xp.isinf(v)
        big = (v > 1) & ~inf
        vb = _safe(xp, v, ~big, 2.0)
        vs = _safe(xp, v, big | inf, -1.0)
        e = xp.exp(vb / 2)  # exp(u) (u - 1) / u**2 as e * (e * ...): overflows only with it
        r = xp.where(
            big,
            e * (e * ((1 - 1 / vb) / vb)) + 1 / (vb * vb),
            (vs * xp.exp(vs) - xp.expm1(vs)) / (vs * vs),
        )
        return xp.where(inf, xp.where(v > 0, _fill(xp, v, math.inf), xp.zeros_like(v)), r)

    return _near(xp, u, 0.0, 0.1, lambda t: _poly(t, _H_NEAR_0), exact)


# sum(u**k (k+1)/(k+2)!): 10 terms, below 1e-17 relative for |u| < 0.1 (the exact form cancels
# there, and its derivative more)
_H_NEAR_0 = tuple((k + 1) / math.factorial(k + 2) for k in range(10))


def _poly(t, coeffs):
    """``sum(c * t**k)`` (Horner)."""
    r = coeffs[-1]
    for c in reversed(coeffs[:-1]):
        r = r * t + c
    return r


def _far(xp, x, at, far, exact):
    """``far(x)`` where ``x > at`` (an asymptotic series, where ``exact`` cancels or
    overflows), else ``exact(x)``; each branch sees safe values only."""
    big = x > at
    return xp.where(big, far(_safe(xp, x, ~big, 2.0 * at)), exact(_safe(xp, x, big, 1.0)))


def _nan_where(xp, r, bad):
    """``r`` with nan where ``bad`` (a derivative outside the domain of the function)."""
    return xp.where(bad, _fill(xp, r, math.nan), r)


def _bessel_series(nu_a, nu_b, sign):
    """Coefficients ``c_k`` of ``sum(c_k z**-k)`` in the asymptotic expansion of
    ``A_{nu_a}(z) - A_{nu_b}(z)``, ``A_nu`` being ``exp(-z) I_nu(z) sqrt(2 pi z)`` (sign -1) or
    ``exp(z) K_nu(z) sqrt(2 z / pi)`` (sign +1), whose terms are
    ``sign**k prod_{j<=k}(4 nu**2 - (2j - 1)**2) / (k! 8**k)`` (DLMF 10.40.1, 10.40.2). The
    differences of the scaled Bessel functions in their derivatives cancel (by 2z relative);
    the series does not. 15 terms: below 1e-17 relative for z > 50."""

    def a(nu, k):
        p = 1.0
        for j in range(1, k + 1):
            p *= (4 * nu * nu - (2 * j - 1) ** 2) / (8 * j)
        return sign**k * p

    return tuple(a(nu_a, k) - a(nu_b, k) for k in range(15))


_I0_MINUS_I1 = _bessel_series(0, 1, -1)
_K1_MINUS_K0 = _bessel_series(1, 0, 1)
_BESSEL_FAR = 50.0


def _i0e_minus_i1e(xp, z):
    """``i0e(z) - i1e(z)`` for ``z >= 0``."""
    sp = special_of(xp)
    return _far(
        xp,
        z,
        _BESSEL_FAR,
        lambda v: _poly(1 / v, _I0_MINUS_I1) / xp.sqrt(2 * math.pi * v),
        lambda v: sp.i0e(v) - sp.i1e(v),
    )


def _k1e_minus_k0e(xp, x):
    """``k1e(x) - k0e(x)`` for ``x > 0``."""
    sp = special_of(xp)
    return _far(
        xp,
        x,
        _BESSEL_FAR,
        lambda v: _poly(1 / v, _K1_MINUS_K0) * xp.sqrt(math.pi / (2 * v)),
        lambda v: sp.k1e(v) - sp.k0e(v),
    )


def _like(xp, a, x):
    """``a`` as an array of ``x``'s dtype where it is a Python number (a special function of
    Python numbers alone computes in the default dtype: float32 on torch)."""
    return xp.full_like(x, a) if isinstance(a, (int, float)) else a


def _gamma_density(xp, a, x):
    """d/dx gammainc(a, x) = x**(a-1) exp(-x) / Gamma(a) (0 at x = +inf, where the exponent
    is inf - inf)."""
    sp = special_of(xp)
    a = _like(xp, a, x)
    far = x == math.inf
    xs = _safe(xp, x, far)
    return xp.where(far, xp.zeros_like(xs), xp.exp(sp.xlogy(a - 1, xs) - xs - sp.gammaln(a)))


def _beta_density(xp, a, b, x, xc=None):
    """d/dx betainc(a, b, x) = x**(a-1) (1-x)**(b-1) / B(a, b); ``xc``: ``1 - x`` where the
    caller has it without cancellation (x near 1)."""
    sp = special_of(xp)
    a, b = _like(xp, a, x), _like(xp, b, x)
    tail = sp.xlog1py(b - 1, -x) if xc is None else sp.xlogy(b - 1, xc)
    return xp.exp(sp.xlogy(a - 1, x) + tail - sp.betaln(a, b))


def _t_density(xp, df, t):
    sp = special_of(xp)
    return xp.exp(
        sp.gammaln((df + 1) / 2)
        - sp.gammaln(df / 2)
        - 0.5 * xp.log(df * math.pi)
        - (df + 1) / 2 * xp.log1p(t * t / df)
    )


def _f_density(xp, dfn, dfd, x):
    """d/dx fdtr(dfn, dfd, x)."""
    den = dfd + dfn * x
    return _beta_density(xp, dfn / 2, dfd / 2, dfn * x / den, dfd / den) * (dfn * dfd / (den * den))


def _floor(xp, k):
    return xp.floor(k) if not isinstance(k, (int, float)) else float(math.floor(k))


def _no(reason):
    """No derivative in this parameter: ``reason`` ends the ``NotImplementedError`` raised when
    a gradient reaches it."""
    return reason


_INT_ORDER = "it is an integer order"
_SHAPE = "as in torch, which has no derivative of the incomplete gamma and beta functions in their shape parameters"
_DF = "the derivative in the degrees of freedom is not implemented (as for gammainc's a in torch)"
_DISCRETE = "it is a count (the function is piecewise constant in it)"

# --------------------------------------------------------------------------------------------
# Generic compositions (raw or xpgrad ``xp``; used where the backend has no function).


def _g_expit(xp, x):
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1 / (1 + e), e / (1 + e))


# 0 where x == 0, unless y is nan (SciPy's, torch's; array-api-strict has no xlogy)
def _g_xlogy(xp, x, y):
    return xp.where((x == 0) & ~xp.isnan(y), xp.zeros_like(x * y), x * xp.log(y))


def _g_xlog1py(xp, x, y):
    return xp.where((x == 0) & ~xp.isnan(y), xp.zeros_like(x * y), x * xp.log1p(y))


def _g_entr(xp, x):
    pos = x > 0
    xs = _safe(xp, x, ~pos)
    below = xp.where(x == 0, xp.zeros_like(x), xp.where(x < 0, _fill(xp, x, -math.inf), x))  # nan: nan
    return xp.where(pos, -x * xp.log(xs), below)


def _g_rel_entr(xp, x, y):
    x, y = xp.broadcast_arrays(x, y)
    both = (x > 0) & (y > 0)
    v = x * xp.log(_safe(xp, x, ~both) / _safe(xp, y, ~both))
    r = xp.where(both, v, _fill(xp, v, math.inf))
    r = xp.where((x == 0) & (y >= 0), xp.zeros_like(r), r)
    return xp.where(xp.isnan(x) | xp.isnan(y), _fill(xp, r, math.nan), r)


def _g_kl_div(xp, x, y):
    x, y = xp.broadcast_arrays(x, y)
    both = (x > 0) & (y > 0)
    v = x * xp.log(_safe(xp, x, ~both) / _safe(xp, y, ~both)) - x + y
    r = xp.where(both, v, _fill(xp, v, math.inf))
    r = xp.where((x == 0) & (y >= 0), y, r)
    return xp.where(xp.isnan(x) | xp.isnan(y), _fill(xp, r, math.nan), r)


def _g_huber(xp, delta, r):
    delta, r = xp.broadcast_arrays(delta, r)
    a = xp.abs(r)
    v = xp.where(a <= delta, 0.5 * r * r, delta * (a - 0.5 * delta))
    return xp.where(delta < 0, _fill(xp, v, math.inf), v)


def _g_pseudo_huber(xp, delta, r):
    zero, ds, rs, h, q = _pseudo_huber_parts(xp, delta, r)
    v = xp.where(zero, xp.zeros_like(h), ds * q)
    return xp.where(delta < 0, _fill(xp, v, math.inf), v)


def _g_boxcox(xp, x, lmbda):
    return _boxcox_from_log(xp, xp.log(x), lmbda)


def _g_boxcox1p(xp, x, lmbda):
    return _boxcox_from_log(xp, xp.log1p(x), lmbda)


def _boxcox_from_log(xp, lx, lmbda):
    lx, lmbda = xp.broadcast_arrays(lx, lmbda)
    lz = lmbda == 0
    ls = _safe(xp, lmbda, lz)
    return xp.where(lz, lx, xp.expm1(ls * lx) / ls)


def _g_inv_boxcox1p(xp, y, lmbda):
    y, lmbda = xp.broadcast_arrays(y, lmbda)
    lz = lmbda == 0
    ls = _safe(xp, lmbda, lz)
    return xp.where(lz, xp.expm1(y), xp.expm1(xp.log1p(ls * y) / ls))


def _g_inv_boxcox(xp, y, lmbda):
    return 1 + _g_inv_boxcox1p(xp, y, lmbda)


def _g_cbrt(xp, x):
    # |x| ** (1/3) (1/3 rounded: 1e-14 off for tiny or huge x), then one Newton step
    a = xp.abs(x)
    y = a ** (1 / 3)
    ok = (a > 0) & (a < math.inf)
    ys = _safe(xp, y, ~ok)
    return xp.sign(x) * xp.where(ok, ys - (ys * ys * ys - a) / (3 * ys * ys), y)


def _g_sinc(xp, x):
    z = x == 0
    xs = _safe(xp, x, z)
    return xp.where(z, xp.ones_like(x), xp.sin(math.pi * xs) / (math.pi * xs))


def _g_sph_j0(xp, x):
    z = x == 0
    xs = _safe(xp, x, z)
    return xp.where(z, xp.ones_like(x), xp.sin(xs) / xs)


def _deg_sin_cos(xp, x):
    """``(sin, cos)`` of ``x`` degrees, reduced exactly to [-45, 45] degrees (``x - 90 n`` is
    exact): exact zeros at multiples of 90 degrees, as SciPy's (``cos(pi / 2)`` is 6e-17)."""
    n = xp.round(x / 90)
    r = (x - 90 * n) * _DEG
    s, c = xp.sin(r), xp.cos(r)
    q = xp.remainder(n, 4.0)
    sin = xp.where(q == 0, s, xp.where(q == 1, c, xp.where(q == 2, -s, -c)))
    cos = xp.where(q == 0, c, xp.where(q == 1, -s, xp.where(q == 2, -c, s)))
    return sin, cos


def _g_tandg(xp, x):
    s, c = _deg_sin_cos(xp, x)
    return s / c


def _g_cotdg(xp, x):
    s, c = _deg_sin_cos(xp, x)
    return c / s


def _g_exprel(xp, x):
    z = x == 0
    xs = _safe(xp, x, z)
    return xp.where(z, xp.ones_like(x), xp.expm1(xs) / xs)


def _g_radian(xp, d, m, s):
    return (d + m / 60 + s / 3600) * _DEG


# --------------------------------------------------------------------------------------------
# The table. Derivatives are VJPs vjp(xp, g, <parameters and out they need>).

# Error function and normal distribution.
_def("erf", "x", lambda xp, g, x: g * (2 / _SQRT_PI) * xp.exp(-x * x), "Error function.")
_def(
    "erfc",
    "x",
    lambda xp, g, x: g * (-2 / _SQRT_PI) * xp.exp(-x * x),
    "Complementary error function, ``1 - erf(x)``.",
)
# erfcx'(x) = 2 x erfcx(x) - 2/sqrt(pi) cancels (by 2 x**2 relative) for large x: there the
# asymptotic series -1/(sqrt(pi) x**2) sum((-1)**n (2n+1)!! / (2 x**2)**n) (13 terms: below
# 1e-17 relative for x > 12).
_ERFCX_FAR = tuple((-1) ** n * math.prod(range(1, 2 * n + 2, 2)) / 2**n for n in range(13))


def _erfcx_grad(xp, g, x, out):
    def far(v):
        t = 1 / (v * v)
        return -t * _poly(t, _ERFCX_FAR) / _SQRT_PI

    return g * _far(xp, x, 12.0, far, lambda v: 2 * v * out - 2 / _SQRT_PI)


_def(
    "erfcx",
    "x",
    _erfcx_grad,
    "Scaled complementary error function, ``exp(x**2) * erfc(x)``.",
    at={-math.inf: (math.inf, -math.inf)},
)
_def(
    "erfinv",
    "y",
    # erfinv(y) again, not the result: torch's saved set (an in-place change of the result does
    # not reach the gradient)
    lambda xp, g, y: g * (_SQRT_PI / 2) * xp.exp(special_of(xp).erfinv(y) ** 2),
    "Inverse of the error function.",
)
_def(
    "ndtr",
    "x",
    lambda xp, g, x: g * xp.exp(-0.5 * x * x) / _SQRT_2PI,
    "Standard normal cumulative distribution function.",
)
_def(
    "ndtri",
    "y",
    lambda xp, g, out: g * _SQRT_2PI * xp.exp(0.5 * out * out),
    "Inverse of ``ndtr``: the standard normal quantile function.",
)


def _log_ndtr_grad(xp, g, x):
    # ndtr'(x) / ndtr(x). Left of 0: sqrt(2/pi) / erfcx(-x/sqrt(2)), no exp(-x**2/2 - log_ndtr(x))
    # whose exponent cancels in the tail (float32 at -1000: 985.9 for 1000; float64 at -1e7: 1%).
    # Right of 0: pdf(x) / ndtr(x) (ndtr >= 1/2), where erfcx(-x/sqrt(2)) overflows and its own
    # derivative, inf / inf, made the second order nan (true 0). Each branch on a safe input.
    sp = special_of(xp)
    left = x < 0
    zero = xp.zeros_like(x)
    xl, xr = xp.where(left, x, zero), xp.where(left, zero, x)
    tail = math.sqrt(2 / math.pi) / sp.erfcx(xl * -math.sqrt(0.5))
    body = xp.exp(-0.5 * xr * xr) / (_SQRT_2PI * sp.ndtr(xr))
    return g * xp.where(left, tail, body)


_def("log_ndtr", "x", _log_ndtr_grad, "Logarithm of the standard normal cumulative distribution function.")


def _expit_grad(xp, g, x):
    # expit(x) expit(-x) = e / (1 + e)**2, e = exp(-|x|): out * (1 - out) is 0 once out
    # rounds to 1 (x > 37 in float64), where the derivative is exp(-x).
    e = xp.exp(-xp.abs(x))
    return g * (e / ((1 + e) * (1 + e)))


_def("expit", "x", _expit_grad, "Logistic sigmoid, ``1 / (1 + exp(-x))``.", generic=_g_expit, single=True)
_def(
    "logit",
    "x",
    lambda xp, g, x: g / (x * (1 - x)),
    "Logit, ``log(x / (1 - x))``, the inverse of ``expit``.",
    generic=lambda xp, x: xp.log(x) - xp.log1p(-x),
    single=True,
)

# Gamma family.
_def(
    "gammaln",
    "x",
    lambda xp, g, x: g * special_of(xp).psi(x),
    "Logarithm of the absolute value of the gamma function.",
)
_def(
    "loggamma",
    "x",
    lambda xp, g, x: g * special_of(xp).psi(x),
    "Principal branch of the logarithm of the gamma function (real arguments).",
)
_def("gamma", "x", lambda xp, g, x, out: g * out * special_of(xp).psi(x), "Gamma function.")


def _rgamma_grad(xp, g, x, out):
    # -psi(x) / gamma(x), which is 0 * inf at the zeros of 1/gamma: at x = -k (k = 0, 1, ...)
    # the derivative is (-1)**k k!; at +inf it is 0.
    sp = special_of(xp)
    pole = (x <= 0) & (x == xp.floor(x))
    k = -_safe(xp, x, ~pole, 0.0)
    at_pole = (1 - 2 * xp.remainder(k, 2.0)) * sp.gamma(k + 1)
    xs = _safe(xp, x, pole | (x == math.inf), 0.5)
    return g * xp.where(pole, at_pole, -_safe(xp, out, pole, 1.0) * sp.psi(xs))


_def("rgamma", "x", _rgamma_grad, "Reciprocal of the gamma function, ``1 / gamma(x)``.")
_def(
    "gammasgn",
    "x",
    lambda xp, g, x: xp.zeros_like(g * x),
    "Sign of the gamma function (piecewise constant: zero gradient).",
    single=True,
)
_def(
    "psi",
    "x",
    lambda xp, g, x: g * special_of(xp).polygamma(1, x),
    "Digamma function, the derivative of ``gammaln``.",
)
_def(
    "digamma",
    "x",
    lambda xp, g, x: g * special_of(xp).polygamma(1, x),
    "Digamma function (alias of ``psi``).",
)
_def(
    "polygamma",
    "n x",
    (_no(_INT_ORDER), lambda xp, g, n, x: g * special_of(xp).polygamma(n + 1, x)),
    "Polygamma function, the ``n``-th derivative of the digamma function (``n``: integer order).",
    ints=("n",),
)
_def(
    "multigammaln",
    "a d",
    (
        lambda xp, g, a, d: g * sum(special_of(xp).psi(a - j / 2) for j in range(int(d))),
        _no("it is the integer dimension"),
    ),
    "Logarithm of the multivariate gamma function of dimension ``d`` (a Python integer).",
    ints=("d",),
)
_def(
    "gammainc",
    "a x",
    (_no(_SHAPE), lambda xp, g, a, x: g * _gamma_density(xp, a, x)),
    "Regularized lower incomplete gamma function.",
)
_def(
    "gammaincc",
    "a x",
    (_no(_SHAPE), lambda xp, g, a, x: -g * _gamma_density(xp, a, x)),
    "Regularized upper incomplete gamma function, ``1 - gammainc(a, x)``.",
)
_def(
    "gammaincinv",
    "a y",
    (_no(_SHAPE), lambda xp, g, a, out: g / _gamma_density(xp, a, out)),
    "Inverse of ``gammainc`` in ``x``.",
)
_def(
    "gammainccinv",
    "a y",
    (_no(_SHAPE), lambda xp, g, a, out: -g / _gamma_density(xp, a, out)),
    "Inverse of ``gammaincc`` in ``x``.",
)
_def(
    "betaln",
    "a b",
    (
        lambda xp, g, a, b: g * (special_of(xp).psi(a) - special_of(xp).psi(a + b)),
        lambda xp, g, a, b: g * (special_of(xp).psi(b) - special_of(xp).psi(a + b)),
    ),
    "Natural logarithm of the absolute value of the beta function.",
)
_def(
    "betainc",
    "a b x",
    (_no(_SHAPE), _no(_SHAPE), lambda xp, g, a, b, x: g * _beta_density(xp, a, b, x)),
    "Regularized incomplete beta function.",
)
_def(
    "betaincc",
    "a b x",
    (_no(_SHAPE), _no(_SHAPE), lambda xp, g, a, b, x: -g * _beta_density(xp, a, b, x)),
    "Complement of the regularized incomplete beta function, ``1 - betainc(a, b, x)``.",
)
_def(
    "betaincinv",
    "a b y",
    (_no(_SHAPE), _no(_SHAPE), lambda xp, g, a, b, out: g / _beta_density(xp, a, b, out)),
    "Inverse of ``betainc`` in ``x``.",
)
_def(
    "poch",
    "z m",
    (
        lambda xp, g, z, m, out: g * out * (special_of(xp).psi(z + m) - special_of(xp).psi(z)),
        lambda xp, g, z, m, out: g * out * special_of(xp).psi(z + m),
    ),
    "Pochhammer symbol, ``gamma(z + m) / gamma(z)``.",
)
_def(
    "binom",
    "n k",
    (
        lambda xp, g, n, k, out: g * out * (special_of(xp).psi(n + 1) - special_of(xp).psi(n - k + 1)),
        lambda xp, g, n, k, out: g * out * (special_of(xp).psi(n - k + 1) - special_of(xp).psi(k + 1)),
    ),
    "Binomial coefficient as a function of two real variables.",
)

# Zeta.
_def(
    "zeta",
    "x q",
    (
        _no("as in torch, the derivative of the Hurwitz zeta function in its exponent is not implemented"),
        lambda xp, g, x, q: -g * x * special_of(xp).zeta(x + 1, q),
    ),
    "Hurwitz zeta function ``sum((k + q)**-x for k >= 0)``; the Riemann zeta function when ``q`` is None.",
    defaults={"q": None},
)
_def(
    "zetac",
    "x",
    _no("as in torch, the derivative of the zeta function in its exponent is not implemented"),
    "Riemann zeta function minus one.",
)

# Bessel functions.
_INF = {math.inf: (math.inf, math.inf), -math.inf: (math.inf, -math.inf)}  # i0 at +-inf
_ZERO_AT_INF = {math.inf: (0.0, 0.0), -math.inf: (0.0, 0.0)}  # decaying oscillations
_def(
    "i0",
    "x",
    lambda xp, g, x: g * special_of(xp).i1(x),
    "Modified Bessel function of the first kind, order 0.",
    at=_INF,
)
_def(
    "i0e",
    "x",
    # i1e(x) - sign(x) i0e(x), which cancels for large |x| (see _bessel_series)
    lambda xp, g, x: -g * xp.sign(x) * _i0e_minus_i1e(xp, xp.abs(x)),
    "Exponentially scaled modified Bessel function of the first kind, order 0.",
)


def _bessel_1_near_0(sign):
    """Coefficients in ``x**2`` of ``I1'(x)`` (``sign`` 1) or ``J1'(x)`` (-1):
    ``sign**j (2j + 1) / (2 * 4**j j! (j + 1)!)``; six terms: below 1e-17 relative for |x| < 0.1."""
    return tuple(
        sign**j * (2 * j + 1) / (2 * 4**j * math.factorial(j) * math.factorial(j + 1)) for j in range(6)
    )


def _i1e_near_0():
    """Coefficients in ``|x|`` of ``i1e'(x)`` (even in x): ``(k + 1) c_{k+1}``, ``c_m`` those of
    ``exp(-x) I1(x)``; thirteen terms: below 1e-17 relative for |x| < 0.1."""
    from fractions import Fraction

    def c(m):
        return sum(
            Fraction((-1) ** (m - 2 * j - 1), math.factorial(m - 2 * j - 1))
            / (2 ** (2 * j + 1) * math.factorial(j) * math.factorial(j + 1))
            for j in range((m - 1) // 2 + 1)
        )

    return tuple(float((k + 1) * c(k + 1)) for k in range(13))


_I1_NEAR_0 = _bessel_1_near_0(1)
_J1_NEAR_0 = _bessel_1_near_0(-1)
_I1E_NEAR_0 = _i1e_near_0()


# Near 0, I1(x)/x and J1(x)/x cancel in the exact derivatives and, more, in their derivatives
# (the second order): Taylor polynomials for |x| < 0.1.
def _i1_grad(xp, g, x):
    sp = special_of(xp)

    def exact(v):  # exp(|x|) (i0e - i1e / x): no inf - inf where i0 and i1 overflow
        return xp.exp(xp.abs(v)) * (sp.i0e(v) - sp.i1e(v) / v)

    return g * _near(xp, x, 0.0, 0.1, lambda t: _poly(t * t, _I1_NEAR_0), exact)


def _i1e_grad(xp, g, x):
    # i0e(x) - i1e(x) (sign(x) + 1/x), even in x: (i0e - i1e)(|x|) - i1e(|x|) / |x|
    sp = special_of(xp)
    return g * _near(
        xp,
        xp.abs(x),
        0.0,
        0.1,
        lambda t: _poly(t, _I1E_NEAR_0),
        lambda v: _i0e_minus_i1e(xp, v) - sp.i1e(v) / v,
    )


def _j1_grad(xp, g, x):
    sp = special_of(xp)
    return g * _near(xp, x, 0.0, 0.1, lambda t: _poly(t * t, _J1_NEAR_0), lambda v: sp.j0(v) - sp.j1(v) / v)


def _yn_grad(xp, g, n, x):
    # (Y_{n-1} - Y_{n+1}) / 2, which is -inf + inf at 0, where the derivative is +inf
    sp = special_of(xp)
    zero = x == 0
    xs = _safe(xp, x, zero)
    return g * xp.where(zero, _fill(xp, x, math.inf), (sp.yn(n - 1, xs) - sp.yn(n + 1, xs)) / 2)


_def(
    "i1",
    "x",
    _i1_grad,
    "Modified Bessel function of the first kind, order 1.",
    at={math.inf: (math.inf, math.inf), -math.inf: (-math.inf, math.inf)},
)
_def("i1e", "x", _i1e_grad, "Exponentially scaled modified Bessel function of the first kind, order 1.")
_def(
    "j0",
    "x",
    lambda xp, g, x: -g * special_of(xp).j1(x),
    "Bessel function of the first kind, order 0.",
    at=_ZERO_AT_INF,
)
_def("j1", "x", _j1_grad, "Bessel function of the first kind, order 1.", at=_ZERO_AT_INF)
_def(
    "y0",
    "x",
    lambda xp, g, x: -g * special_of(xp).y1(x),
    "Bessel function of the second kind, order 0.",
    at={math.inf: (0.0, 0.0)},
)
_def(
    "y1",
    "x",
    lambda xp, g, x, out: g * (special_of(xp).y0(x) - out / x),
    "Bessel function of the second kind, order 1.",
    at={math.inf: (0.0, 0.0), 0.0: (None, math.inf)},
)
_def(
    "yn",
    "n x",
    (_no(_INT_ORDER), _yn_grad),
    "Bessel function of the second kind of integer order ``n``.",
    ints=("n",),
)
_def(
    "k0",
    "x",
    lambda xp, g, x: -g * special_of(xp).k1(x),
    "Modified Bessel function of the second kind, order 0.",
)
_def(
    "k1",
    "x",
    lambda xp, g, x, out: g * (-special_of(xp).k0(x) - out / x),
    "Modified Bessel function of the second kind, order 1.",
)
_def(
    "k0e",
    "x",
    lambda xp, g, x: -g * _k1e_minus_k0e(xp, x),
    "Exponentially scaled modified Bessel function of the second kind, order 0.",
    at={0.0: (None, -math.inf)},
)
_def(
    "k1e",
    "x",
    lambda xp, g, x, out: g * (_k1e_minus_k0e(xp, x) - out / x),
    "Exponentially scaled modified Bessel function of the second kind, order 1.",
    at={0.0: (None, -math.inf)},
)


# (cos(x) - sin(x)/x) / x = x sum((-1)**k 2k x**(2k-2) / (2k+1)!, k >= 1): 7 terms, below
# 1e-20 relative for |x| < 0.1 (the exact form cancels there, and its derivative more).
_SPH_J0_NEAR_0 = tuple((-1) ** k * 2 * k / math.factorial(2 * k + 1) for k in range(1, 8))


def _sph_j0_grad(xp, g, x):
    return g * _near(
        xp, x, 0.0, 0.1, lambda t: t * _poly(t * t, _SPH_J0_NEAR_0), lambda v: (xp.cos(v) - xp.sin(v) / v) / v
    )


_def(
    "spherical_bessel_j0",
    "x",
    _sph_j0_grad,
    "Spherical Bessel function of the first kind, order 0, ``sin(x) / x``.",
    generic=_g_sph_j0,
    at=_ZERO_AT_INF,
)

# Information theory and losses.


def _xlogy_dx(xp, g, x, y):
    # torch's: log(y), but 0 where x == 0 and log(y) is -inf or nan (y <= 0); nan for nan y
    zero = (x == 0) & (y <= 0)
    ys = _safe(xp, y, zero)
    return g * xp.where(zero, xp.zeros_like(ys), xp.log(ys))


def _xlog1py_dx(xp, g, x, y):
    # torch's: log1p(y), but 0 where x == 0 and y <= -1; nan for nan y
    zero = (x == 0) & (y <= -1)
    ys = _safe(xp, y, zero, 0.0)
    return g * xp.where(zero, xp.zeros_like(ys), xp.log1p(ys))


_def(
    "xlogy",
    "x y",
    (_xlogy_dx, lambda xp, g, x, y: g * x / y),
    "``x * log(y)``, zero where ``x == 0``.",
    generic=_g_xlogy,
    single=True,
)
_def(
    "xlog1py",
    "x y",
    (_xlog1py_dx, lambda xp, g, x, y: g * x / (1 + y)),
    "``x * log1p(y)``, zero where ``x == 0``.",
    generic=_g_xlog1py,
    single=True,
)
_def(
    "entr",
    "x",
    lambda xp, g, x: -g * (xp.log(x) + 1),
    "Elementwise entropy, ``-x * log(x)`` (0 at 0, -inf below).",
    generic=_g_entr,
    single=True,
)
_def(
    "rel_entr",
    "x y",
    (
        lambda xp, g, x, y: g * (xp.log(x / y) + 1),
        lambda xp, g, x, y: -g * x / y,
    ),
    "Elementwise relative entropy, ``x * log(x / y)`` for positive ``x`` and ``y``.",
    generic=_g_rel_entr,
    single=True,
)
_def(
    "kl_div",
    "x y",
    (
        lambda xp, g, x, y: g * xp.log(x / y),
        lambda xp, g, x, y: g * (1 - x / y),
    ),
    "Elementwise Kullback-Leibler divergence, ``x * log(x / y) - x + y``.",
    generic=_g_kl_div,
    single=True,
)


# The losses are inf for delta < 0 (not a loss): their derivatives are nan there.


def _huber_ddelta(xp, g, delta, r):
    a = xp.abs(r) + 0 * delta
    return g * _nan_where(xp, xp.where(a <= delta, xp.zeros_like(a), a - delta), delta < 0)


def _huber_dr(xp, g, delta, r):
    d = delta + 0 * r
    return g * _nan_where(xp, xp.where(xp.abs(r) <= d, r + 0 * d, d * xp.sign(r)), delta < 0)


def _pseudo_huber_parts(xp, delta, r):
    """``(zero, delta, r, h, q)`` of pseudo_huber = ``delta * q``: ``h = hypot(delta, r)``,
    ``q = h - delta = r * (r / (h + delta))`` (no cancellation for |r| << delta, no overflow
    of ``(r / delta)**2`` for |r| >> delta); ``delta`` and ``r`` safe (1) where both are 0."""
    zero = (delta == 0) & (r == 0)
    ds, rs = _safe(xp, delta, zero), _safe(xp, r, zero)
    h = xp.hypot(ds, rs)
    return zero, ds, rs, h, rs * (rs / (h + ds))


def _pseudo_huber_ddelta(xp, g, delta, r):
    # 2 delta (s - 1) - r**2 / (delta s), s = h / delta, is q**2 / h (|r| at delta = 0, the
    # derivative from inside the domain delta >= 0)
    zero, ds, rs, h, q = _pseudo_huber_parts(xp, delta, r)
    return g * _nan_where(xp, xp.where(zero, xp.zeros_like(h), q * (q / h)), delta < 0)


def _pseudo_huber_dr(xp, g, delta, r):
    # r / sqrt(1 + (r / delta)**2) = r delta / h: 0 at delta = 0 (the loss is 0 for every r)
    zero, ds, rs, h, q = _pseudo_huber_parts(xp, delta, r)
    return g * _nan_where(xp, xp.where(zero, xp.zeros_like(h), rs * (ds / h)), delta < 0)


_def(
    "huber",
    "delta r",
    (_huber_ddelta, _huber_dr),
    "Huber loss: ``r**2 / 2`` where ``|r| <= delta``, else ``delta * (|r| - delta / 2)``.",
    generic=_g_huber,
    single=True,
)
_def(
    "pseudo_huber",
    "delta r",
    (_pseudo_huber_ddelta, _pseudo_huber_dr),
    "Pseudo-Huber loss, ``delta**2 * (sqrt(1 + (r / delta)**2) - 1)``.",
    generic=_g_pseudo_huber,
    own=True,  # SciPy's overflows in (r / delta)**2 (nan for delta = 1e-200, r = 1)
)

# Box-Cox transforms.


def _boxcox_grads(log_of, end, inside):
    """The derivatives of ``(exp(lmbda L) - 1) / lmbda``, ``L = log_of(x)`` (``log`` or
    ``log1p``), which is -inf at ``x = end``; ``inside``: a safe value of ``x``."""

    def dx(xp, g, x, lmbda):
        # exp((lmbda - 1) L): exactly 1 for lmbda = 1, also at x = end (exp(0 * -inf) is nan)
        one = lmbda == 1
        xs = _safe(xp, x, one, inside)
        return g * xp.where(one, xp.ones_like(xs), xp.exp((lmbda - 1) * log_of(xp, xs)))

    def dl(xp, g, x, lmbda):
        # L**2 h(lmbda L), h the derivative of expm1(u)/u; at x = end, L = -inf: the value is
        # -1/lmbda for lmbda > 0 (derivative 1/lmbda**2), -inf otherwise (derivative +inf)
        at_end = x == end
        xs = _safe(xp, x, at_end, inside)
        lx = log_of(xp, xs)
        ls = _safe(xp, lmbda, ~(at_end & (lmbda > 0)))
        limit = xp.where(lmbda > 0, 1 / (ls * ls), _fill(xp, ls, math.inf))
        return g * xp.where(at_end, limit, lx * lx * _h(xp, lmbda * lx))

    return dx, dl


_def(
    "boxcox",
    "x lmbda",
    _boxcox_grads(lambda xp, x: xp.log(x), 0.0, 1.0),
    "Box-Cox transform, ``(x**lmbda - 1) / lmbda`` (``log(x)`` where ``lmbda == 0``).",
    generic=_g_boxcox,
)
_def(
    "boxcox1p",
    "x lmbda",
    _boxcox_grads(lambda xp, x: xp.log1p(x), -1.0, 0.0),
    "Box-Cox transform of ``1 + x``.",
    generic=_g_boxcox1p,
)


def _inv_boxcox_grads(shift):
    def dy(xp, g, y, lmbda, out):
        return g * (out + shift) / (1 + lmbda * y)

    def dl(xp, g, y, lmbda, out):
        # d/dl log1p(l*y)/l = y**2 q(l*y), q(v) = (v/(1+v) - log1p(v)) / v**2.
        def series(t):
            return -1 / 2 + t * (2 / 3 + t * (-3 / 4 + t * (4 / 5 - t * 5 / 6)))

        q = _near(xp, lmbda * y, 0.0, 1e-3, series, lambda v: (v / (1 + v) - xp.log1p(v)) / (v * v))
        return g * (out + shift) * y * y * q

    return dy, dl


_def(
    "inv_boxcox", "y lmbda", _inv_boxcox_grads(0), "Inverse of the Box-Cox transform.", generic=_g_inv_boxcox
)
_def("inv_boxcox1p", "y lmbda", _inv_boxcox_grads(1), "Inverse of ``boxcox1p``.", generic=_g_inv_boxcox1p)

# Elementary functions.
_def("cbrt", "x", lambda xp, g, out: g / (3 * out * out), "Cube root.", generic=_g_cbrt, single=True)
_def(
    "exp2",
    "x",
    lambda xp, g, out: g * out * math.log(2),
    "``2**x``.",
    generic=lambda xp, x: 2.0**x,
    single=True,
)
_def(
    "exp10",
    "x",
    lambda xp, g, out: g * out * math.log(10),
    "``10**x``.",
    generic=lambda xp, x: 10.0**x,
    single=True,
)


def _exprel_grad(xp, g, x):
    return g * _h(xp, x)


_def(
    "exprel",
    "x",
    _exprel_grad,
    "Relative error exponential, ``(exp(x) - 1) / x``.",
    generic=_g_exprel,
    at={math.inf: (math.inf, math.inf), -math.inf: (0.0, 0.0)},
)
_def(
    "cosm1",
    "x",
    lambda xp, g, x: -g * xp.sin(x),
    "``cos(x) - 1``, accurate near 0.",
    generic=lambda xp, x: -2 * xp.sin(x / 2) ** 2,
)
_def(
    "cosdg",
    "x",
    lambda xp, g, x: -g * _DEG * _deg_sin_cos(xp, x)[0],
    "Cosine of an angle in degrees.",
    generic=lambda xp, x: _deg_sin_cos(xp, x)[1],
    single=True,
)
_def(
    "sindg",
    "x",
    lambda xp, g, x: g * _DEG * _deg_sin_cos(xp, x)[1],
    "Sine of an angle in degrees.",
    generic=lambda xp, x: _deg_sin_cos(xp, x)[0],
    single=True,
)
_def(
    "tandg",
    "x",
    lambda xp, g, out: g * _DEG * (1 + out * out),
    "Tangent of an angle in degrees.",
    generic=_g_tandg,
    single=True,
)
_def(
    "cotdg",
    "x",
    lambda xp, g, out: -g * _DEG * (1 + out * out),
    "Cotangent of an angle in degrees.",
    generic=_g_cotdg,
    single=True,
)
_def(
    "radian",
    "d m s",
    (
        lambda xp, g: g * _DEG,
        lambda xp, g: g * (_DEG / 60),
        lambda xp, g: g * (_DEG / 3600),
    ),
    "An angle given in degrees, minutes and seconds, in radians.",
    generic=_g_radian,
    single=True,
)


def _sinc_grad(xp, g, x):
    # pi * spherical_bessel_j0'(pi x)
    def exact(v):
        pv = math.pi * v
        return (xp.cos(pv) - xp.sin(pv) / pv) / v

    def series(t):
        pt = math.pi * t
        return math.pi * pt * _poly(pt * pt, _SPH_J0_NEAR_0)

    return g * _near(xp, x, 0.0, 0.1 / math.pi, series, exact)


_def(
    "sinc",
    "x",
    _sinc_grad,
    "Normalized sinc, ``sin(pi x) / (pi x)`` (1 at 0).",
    generic=_g_sinc,
    at=_ZERO_AT_INF,
)

# Exponential integrals, elliptic integrals, dilogarithm, hypergeometric, Legendre.
_def("exp1", "x", lambda xp, g, x: -g * xp.exp(-x) / x, "Exponential integral E1.")
_def(
    "expi",
    "x",
    lambda xp, g, x: g * xp.exp(x) / x,
    "Exponential integral Ei.",
    at={math.inf: (None, math.inf)},
)


def _expn_grad(xp, g, n, x):

    sp = special_of(xp)

    # d/dx E_n(x) = -E_{n-1}(x); E_{-1}(x) = exp(-x) (x + 1) / x**2.
    def e_minus_1():
        return xp.exp(-x) * (x + 1) / (x * x)

    if isinstance(n, int):
        return -g * (e_minus_1() if n == 0 else sp.expn(n - 1, x))
    n0 = n == 0
    nm1 = xp.where(n0, xp.ones_like(n), n - 1)
    return -g * xp.where(n0, e_minus_1(), sp.expn(nm1, x))


_def(
    "expn",
    "n x",
    (_no(_INT_ORDER), _expn_grad),
    "Generalized exponential integral E_n of integer order ``n``.",
    ints=("n",),
)


# Near m = 0 the exact derivatives cancel (by 1/m, their own derivatives by 1/m**2): the series
# K(m) = pi/2 sum(c_n m**n), E(m) = pi/2 sum(-c_n m**n / (2n - 1)), c_n = (binom(2n, n) / 4**n)**2,
# differentiated; 13 terms: below 1e-17 relative for |m| < 0.05.
def _c(n):
    return (math.comb(2 * n, n) / 4**n) ** 2


_DK_NEAR_0 = tuple(math.pi / 2 * n * _c(n) for n in range(1, 14))
_DE_NEAR_0 = tuple(-math.pi / 2 * n * _c(n) / (2 * n - 1) for n in range(1, 14))


def _ellipk_grad(xp, g, m):
    sp = special_of(xp)

    def exact(v):
        return (sp.ellipe(v) - (1 - v) * sp.ellipk(v)) / (2 * v * (1 - v))

    return g * _near(xp, m, 0.0, 0.05, lambda t: _poly(t, _DK_NEAR_0), exact)


def _ellipkm1_grad(xp, g, p):
    sp = special_of(xp)

    def exact(v):
        return (sp.ellipe(1 - v) - v * sp.ellipkm1(v)) / (2 * v * (1 - v))

    return -g * _near(xp, p, 1.0, 0.05, lambda t: _poly(-t, _DK_NEAR_0), exact)


def _ellipe_grad(xp, g, m):
    sp = special_of(xp)

    def exact(v):
        return (sp.ellipe(v) - sp.ellipk(v)) / (2 * v)

    return g * _near(xp, m, 0.0, 0.05, lambda t: _poly(t, _DE_NEAR_0), exact)


# At m = 1 (p = 0) K has a log singularity: its derivative is +inf (the formula: 0 * inf).
_def(
    "ellipk",
    "m",
    _ellipk_grad,
    "Complete elliptic integral of the first kind, parameter ``m``.",
    at={1.0: (None, math.inf)},
)
_def(
    "ellipkm1",
    "p",
    _ellipkm1_grad,
    "Complete elliptic integral of the first kind around ``m = 1``: ``ellipk(1 - p)``.",
    at={0.0: (None, -math.inf)},
)
_def("ellipe", "m", _ellipe_grad, "Complete elliptic integral of the second kind, parameter ``m``.")


# log(z) / (1 - z) = -log1p(t) / t = -sum((-t)**k / (k + 1)), t = z - 1: 14 terms, below 1e-18
# relative for |t| < 0.05 (the exact form cancels there, and its derivative more).
_SPENCE_NEAR_1 = tuple(-((-1) ** k) / (k + 1) for k in range(14))


def _spence_grad(xp, g, z):
    return g * _near(xp, z, 1.0, 0.05, lambda t: _poly(t, _SPENCE_NEAR_1), lambda v: xp.log(v) / (1 - v))


_def(
    "spence",
    "z",
    _spence_grad,
    "Spence's function (dilogarithm), ``integral from 1 to z of log(t) / (1 - t)``.",
)
_def(
    "hyp1f1",
    "a b x",
    (
        _no("the derivative in the parameters is not implemented"),
        _no("the derivative in the parameters is not implemented"),
        lambda xp, g, a, b, x: g * (a / b) * special_of(xp).hyp1f1(a + 1, b + 1, x),
    ),
    "Confluent hypergeometric function 1F1.",
)


def _lpmv_dx(xp, g, m, v, x, out):
    # (v x P - (v + m) P_{v-1}) / (x**2 - 1) is 0/0 at x = 1; for m = 0 the limit is v (v + 1) / 2
    sp = special_of(xp)
    end = (x == 1) & (m == 0)
    xs = _safe(xp, x, end, 0.5)
    exact = (v * xs * out - (v + m) * sp.lpmv(m, v - 1, xs)) / (xs * xs - 1)
    return g * xp.where(end, v * (v + 1) / 2 + 0 * xs, exact)


_def(
    "lpmv",
    "m v x",
    (
        _no(_INT_ORDER),
        _no("the derivative in the degree is not implemented"),
        _lpmv_dx,
    ),
    "Associated Legendre function of integer order ``m`` and real degree ``v``.",
)

# Distribution functions (cumulative, survival and inverse) in their continuous argument.
_def(
    "chdtr",
    "v x",
    (_no(_DF), lambda xp, g, v, x: g * 0.5 * _gamma_density(xp, v / 2, x / 2)),
    "Chi-square cumulative distribution function.",
)
_def(
    "chdtrc",
    "v x",
    (_no(_DF), lambda xp, g, v, x: -g * 0.5 * _gamma_density(xp, v / 2, x / 2)),
    "Chi-square survival function.",
)
_def(
    "chdtri",
    "v p",
    (_no(_DF), lambda xp, g, v, out: -g / (0.5 * _gamma_density(xp, v / 2, out / 2))),
    "Inverse of ``chdtrc`` in ``x``.",
)
_def(
    "gdtr",
    "a b x",
    (
        lambda xp, g, a, b, x: g * x * _gamma_density(xp, b, a * x),
        _no(_SHAPE),
        lambda xp, g, a, b, x: g * a * _gamma_density(xp, b, a * x),
    ),
    "Gamma distribution cumulative distribution function (rate ``a``, shape ``b``).",
)
_def(
    "gdtrc",
    "a b x",
    (
        lambda xp, g, a, b, x: -g * x * _gamma_density(xp, b, a * x),
        _no(_SHAPE),
        lambda xp, g, a, b, x: -g * a * _gamma_density(xp, b, a * x),
    ),
    "Gamma distribution survival function.",
)
_def(
    "pdtr",
    "k m",
    (_no(_DISCRETE), lambda xp, g, k, m: -g * _gamma_density(xp, _floor(xp, k) + 1, m)),
    "Poisson cumulative distribution function.",
)
_def(
    "pdtrc",
    "k m",
    (_no(_DISCRETE), lambda xp, g, k, m: g * _gamma_density(xp, _floor(xp, k) + 1, m)),
    "Poisson survival function.",
)
_def(
    "pdtri",
    "k y",
    (_no(_DISCRETE), lambda xp, g, k, out: -g / _gamma_density(xp, _floor(xp, k) + 1, out)),
    "Inverse of ``pdtr`` in ``m``.",
    ints=("k",),
)


def _bdtr_dp(xp, k, n, p):
    k = _floor(xp, k)
    return -_beta_density(xp, n - k, k + 1, 1 - p)


_def(
    "bdtr",
    "k n p",
    (_no(_DISCRETE), _no(_DISCRETE), lambda xp, g, k, n, p: g * _bdtr_dp(xp, k, n, p)),
    "Binomial cumulative distribution function.",
    ints=("n",),
)
_def(
    "bdtrc",
    "k n p",
    (_no(_DISCRETE), _no(_DISCRETE), lambda xp, g, k, n, p: -g * _bdtr_dp(xp, k, n, p)),
    "Binomial survival function.",
    ints=("n",),
)
_def(
    "bdtri",
    "k n y",
    (_no(_DISCRETE), _no(_DISCRETE), lambda xp, g, k, n, out: g / _bdtr_dp(xp, k, n, out)),
    "Inverse of ``bdtr`` in ``p``.",
    ints=("n",),
)
_def(
    "nbdtr",
    "k n p",
    (_no(_DISCRETE), _no(_DISCRETE), lambda xp, g, k, n, p: g * _beta_density(xp, n, k + 1, p)),
    "Negative binomial cumulative distribution function.",
    ints=("k", "n"),
)
_def(
    "nbdtrc",
    "k n p",
    (_no(_DISCRETE), _no(_DISCRETE), lambda xp, g, k, n, p: -g * _beta_density(xp, n, k + 1, p)),
    "Negative binomial survival function.",
    ints=("k", "n"),
)
_def(
    "nbdtri",
    "k n y",
    (
        _no(_DISCRETE),
        _no(_DISCRETE),
        lambda xp, g, k, n, out: g / _beta_density(xp, n, k + 1, out),
    ),
    "Inverse of ``nbdtr`` in ``p``.",
    ints=("k", "n"),
)
_def(
    "fdtr",
    "dfn dfd x",
    (_no(_DF), _no(_DF), lambda xp, g, dfn, dfd, x: g * _f_density(xp, dfn, dfd, x)),
    "F distribution cumulative distribution function.",
)
_def(
    "fdtrc",
    "dfn dfd x",
    (_no(_DF), _no(_DF), lambda xp, g, dfn, dfd, x: -g * _f_density(xp, dfn, dfd, x)),
    "F distribution survival function.",
)
_def(
    "fdtri",
    "dfn dfd p",
    (_no(_DF), _no(_DF), lambda xp, g, dfn, dfd, out: g / _f_density(xp, dfn, dfd, out)),
    "Inverse of ``fdtr`` in ``x``.",
)
_def(
    "stdtr",
    "df t",
    (_no(_DF), lambda xp, g, df, t: g * _t_density(xp, df, t)),
    "Student t cumulative distribution function.",
)
_def(
    "stdtrit",
    "df p",
    (_no(_DF), lambda xp, g, df, out: g / _t_density(xp, df, out)),
    "Inverse of ``stdtr`` in ``t``.",
)

# torch.special's names of functions above (their own entries, with their own docs).
ALIASES = {
    "bessel_j0": "j0",
    "bessel_j1": "j1",
    "bessel_y0": "y0",
    "bessel_y1": "y1",
    "modified_bessel_i0": "i0",
    "modified_bessel_i1": "i1",
    "modified_bessel_k0": "k0",
    "modified_bessel_k1": "k1",
    "scaled_modified_bessel_k0": "k0e",
    "scaled_modified_bessel_k1": "k1e",
}
# Composite functions (written with the namespace's differentiable functions).
COMPOSITES = ("logsumexp", "softmax", "log_softmax", "expm1", "log1p")

FUNCTIONS = tuple(sorted(set(TABLE) | set(ALIASES) | set(COMPOSITES)))
