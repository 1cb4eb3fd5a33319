"""The edge points of ``xp.special``, with mpmath as the referee.

One row (:class:`Edge`) per function and point at the edge of its domain (0, +-inf, nan, poles,
the ends of an interval, far tails, overflow, points where a formula cancels), with what the
function and its first derivative are there. Where both are numbers, they come from mpmath at
70 significant digits (``MP``: the function's definition in mpmath, ``mpmath.diff`` for the
derivative, one-sided at the end of a domain); where one is not a number (nan, +-inf, or a limit
at +-inf), the row states it, with the reason. ``tests/test_special_edges.py`` checks every row
on xpgrad (NumPy, torch and array-api-strict backends), in float64 and float32, and that the table of docs/special-edges.md is the one
:func:`render_table` writes from these rows::

    python tests/_special_edges.py > /tmp/table.md   # the table of docs/special-edges.md

A row for every parameter of every function holding nan is added by :func:`nan_rows`: nan in,
nan value and nan derivative out.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import mpmath as mp

NAN = math.nan
INF = math.inf
MP = "mpmath"  # the value (or derivative) is mpmath's at the point
POLE = "pole"  # at a pole whose two sides disagree: +inf, -inf or nan, never a finite number
DPS = 70


def _ginc(a, x):
    # x**a exp(-x) 1F1(1; a+1; x) / Gamma(a+1) (DLMF 8.5.1): no recursion for tiny x
    if x == mp.inf:
        return mp.mpf(1)
    return mp.power(x, a) * mp.exp(-x) * mp.hyp1f1(1, a + 1, x) / mp.gamma(a + 1)


def _gincc(a, x):
    return mp.gammainc(a, x, mp.inf, regularized=True)


def _binc(a, b, x):
    return mp.betainc(a, b, 0, x, regularized=True)


def _bincc(a, b, x):
    return mp.betainc(a, b, x, 1, regularized=True)


def _stdtr(df, t):
    if abs(t) > 1:  # the tails: I_{df/(df+t**2)}(df/2, 1/2) / 2
        w = _binc(df / 2, mp.mpf(1) / 2, df / (df + t * t)) / 2
        return 1 - w if t > 0 else w
    # near 0, analytic in t (no branch at 0): 1/2 + t Gamma((df+1)/2)
    # 2F1(1/2, (df+1)/2; 3/2; -t**2/df) / (sqrt(pi df) Gamma(df/2))
    h = mp.hyp2f1(mp.mpf(1) / 2, (df + 1) / 2, mp.mpf(3) / 2, -t * t / df)
    return mp.mpf(1) / 2 + t * mp.gamma((df + 1) / 2) * h / (mp.sqrt(mp.pi * df) * mp.gamma(df / 2))


def _boxcox(x, lm):
    if x < 0:
        return mp.nan
    return mp.log(x) if lm == 0 else mp.expm1(lm * mp.log(x)) / lm if x > 0 else -1 / lm


def _inv_boxcox(y, lm):
    return mp.exp(y) if lm == 0 else mp.power(1 + lm * y, 1 / lm)


def _pseudo_huber(d, r):
    if d < 0:
        return mp.inf
    return d * mp.sqrt(d * d + r * r) - d * d


def _huber(d, r):
    if d < 0:
        return mp.inf
    return r * r / 2 if abs(r) <= d else d * (abs(r) - d / 2)


def _xlogy(x, y):
    return mp.mpf(0) if x == 0 else x * mp.log(y)


def _xlog1py(x, y):
    return mp.mpf(0) if x == 0 else x * mp.log1p(y)


def _rel_entr(x, y):
    if x > 0 and y > 0:
        return x * mp.log(x / y)
    return mp.mpf(0) if x == 0 and y >= 0 else mp.inf


# name -> function of the parameters (mpf; Python ints for integer orders) in SciPy's order.
REFS = {
    "erf": mp.erf,
    "erfc": mp.erfc,
    "erfcx": lambda x: mp.exp(x * x) * mp.erfc(x),
    "erfinv": mp.erfinv,
    "ndtr": mp.ncdf,
    "log_ndtr": lambda x: mp.log(mp.ncdf(x)),
    "expit": lambda x: 1 / (1 + mp.exp(-x)),
    "logit": lambda x: mp.log(x / (1 - x)),
    "gammaln": lambda x: mp.log(abs(mp.gamma(x))),
    "loggamma": lambda x: mp.loggamma(x),
    "gamma": mp.gamma,
    "rgamma": mp.rgamma,
    "gammasgn": lambda x: mp.sign(mp.gamma(x)),
    "psi": mp.digamma,
    "digamma": mp.digamma,
    "polygamma": lambda n, x: mp.polygamma(n, x),
    "multigammaln": lambda a, d: (
        d * (d - 1) / 4 * mp.log(mp.pi) + mp.fsum(mp.loggamma(a - mp.mpf(j) / 2) for j in range(d))
    ),
    "gammainc": _ginc,
    "gammaincc": _gincc,
    "betaln": lambda a, b: mp.log(abs(mp.beta(a, b))),
    "betainc": _binc,
    "betaincc": _bincc,
    "poch": mp.rf,
    "binom": mp.binomial,
    "zeta": mp.zeta,
    "zetac": lambda x: mp.zeta(x) - 1,
    "i0": lambda x: mp.besseli(0, x),
    "i0e": lambda x: mp.exp(-abs(x)) * mp.besseli(0, x),
    "i1": lambda x: mp.besseli(1, x),
    "i1e": lambda x: mp.exp(-abs(x)) * mp.besseli(1, x),
    "j0": lambda x: mp.besselj(0, x),
    "j1": lambda x: mp.besselj(1, x),
    "y0": lambda x: mp.bessely(0, x),
    "y1": lambda x: mp.bessely(1, x),
    "yn": lambda n, x: mp.bessely(n, x),
    "k0": lambda x: mp.besselk(0, x),
    "k1": lambda x: mp.besselk(1, x),
    "k0e": lambda x: mp.exp(x) * mp.besselk(0, x),
    "k1e": lambda x: mp.exp(x) * mp.besselk(1, x),
    "spherical_bessel_j0": lambda x: mp.mpf(1) if x == 0 else mp.sin(x) / x,
    "xlogy": _xlogy,
    "xlog1py": _xlog1py,
    "entr": lambda x: mp.mpf(0) if x == 0 else -x * mp.log(x),
    "rel_entr": _rel_entr,
    "kl_div": lambda x, y: _rel_entr(x, y) - x + y,
    "huber": _huber,
    "pseudo_huber": _pseudo_huber,
    "boxcox": _boxcox,
    "boxcox1p": lambda x, lm: _boxcox(1 + x, lm),
    "inv_boxcox": _inv_boxcox,
    "inv_boxcox1p": lambda y, lm: _inv_boxcox(y, lm) - 1,
    "cbrt": lambda x: mp.sign(x) * mp.cbrt(abs(x)),
    "exp2": lambda x: mp.power(2, x),
    "exp10": lambda x: mp.power(10, x),
    "exprel": lambda x: mp.mpf(1) if x == 0 else mp.expm1(x) / x,
    "cosm1": lambda x: mp.cos(x) - 1,
    "cosdg": lambda x: mp.cospi(x / 180),
    "sindg": lambda x: mp.sinpi(x / 180),
    "tandg": lambda x: mp.sinpi(x / 180) / mp.cospi(x / 180),
    "cotdg": lambda x: mp.cospi(x / 180) / mp.sinpi(x / 180),
    "radian": lambda d, m, s: (d + m / 60 + s / 3600) * mp.pi / 180,
    "sinc": lambda x: mp.mpf(1) if x == 0 else mp.sinpi(x) / (mp.pi * x),
    "exp1": mp.e1,
    "expi": mp.ei,
    "expn": lambda n, x: mp.expint(n, x),
    "ellipk": mp.ellipk,
    "ellipkm1": lambda p: mp.ellipk(1 - p),
    "ellipe": mp.ellipe,
    "spence": lambda z: mp.polylog(2, 1 - z),
    "hyp1f1": mp.hyp1f1,
    "lpmv": lambda m, v, x: mp.legenp(v, m, x, type=2),
    "chdtr": lambda v, x: _ginc(v / 2, x / 2),
    "chdtrc": lambda v, x: _gincc(v / 2, x / 2),
    "gdtr": lambda a, b, x: _ginc(b, a * x),
    "gdtrc": lambda a, b, x: _gincc(b, a * x),
    "pdtr": lambda k, m: _gincc(mp.floor(k) + 1, m),
    "pdtrc": lambda k, m: _ginc(mp.floor(k) + 1, m),
    "bdtr": lambda k, n, p: _binc(n - mp.floor(k), mp.floor(k) + 1, 1 - p),
    "bdtrc": lambda k, n, p: _bincc(n - mp.floor(k), mp.floor(k) + 1, 1 - p),
    "nbdtr": lambda k, n, p: _binc(n, k + 1, p),
    "nbdtrc": lambda k, n, p: _bincc(n, k + 1, p),
    "fdtr": lambda a, b, x: _binc(a / 2, b / 2, a * x / (b + a * x)),
    "fdtrc": lambda a, b, x: _bincc(a / 2, b / 2, a * x / (b + a * x)),
    "stdtr": _stdtr,
}

# Inverse functions: name -> (the function it inverts, in SciPy's name). The inverse is found by
# mpmath's root finder started at SciPy's value; its derivative is 1 / the function's.
INVERSES = {
    "ndtri": "ndtr",
    "gammaincinv": "gammainc",
    "gammainccinv": "gammaincc",
    "betaincinv": "betainc",
    "chdtri": "chdtrc",
    "pdtri": "pdtr",
    "bdtri": "bdtr",
    "nbdtri": "nbdtr",
    "fdtri": "fdtr",
    "stdtrit": "stdtr",
}
ALIAS_OF = {"digamma": "psi"}


@dataclass(frozen=True)
class Edge:
    """``special.<fn>(*args)`` and its derivative in parameter ``wrt`` (None: no parameter
    has one) at a point on an edge. ``value``/``grad``: ``MP`` (mpmath's, at the point as the
    dtype holds it), the number itself (nan, +-inf, a limit), or ``POLE``. ``side``: the
    derivative is one-sided (+1: from above, -1: from below) where the point ends the domain.
    ``what``: the kind of point, shown in the docs table. ``rtol``: per ``"value:<dtype>"`` or
    ``"grad:<dtype>"``, where the default (a few units in the last place) is too tight for the
    reason given in ``why``; ``atol``: an absolute tolerance in units of the dtype's epsilon (a
    value at a zero of the function, which libraries compute to an absolute accuracy).
    ``dtypes``: where the point is one (1e-300 is 0 in float32). ``dps``: digits mpmath needs
    beyond 70 (``kl_div(1e-300, 2)`` changes by 1e-321 per unit step of x). ``known``: a
    strict xfail, keyed ``"<backend>"``, ``"<dtype>"`` or ``"<backend>:<dtype>"``: why xpgrad
    does not give the truth there."""

    fn: str
    args: tuple
    wrt: int | None = 0
    value: object = MP
    grad: object = MP
    what: str = ""
    side: int = 0
    dtypes: tuple = ("float64", "float32")
    rtol: dict = field(default_factory=dict, hash=False, compare=False)
    atol: float = 0.0
    why: str = ""
    dps: int = 0
    known: dict = field(default_factory=dict, hash=False, compare=False)

    @property
    def id(self):
        args = ", ".join(_fmt_arg(a) for a in self.args)
        return f"{self.fn}({args})" + ("" if self.wrt is None else f"-d{self.wrt}")


def _fmt_arg(a):
    if isinstance(a, float):
        if math.isnan(a):
            return "nan"
        if math.isinf(a):
            return "inf" if a > 0 else "-inf"
        return repr(a)
    return str(a)


EDGES: list[Edge] = []


def _e(fn, *args, **kw):
    EDGES.append(
        Edge(fn, tuple(float(a) if isinstance(a, int) and not isinstance(a, bool) else a for a in args), **kw)
    )


def _ei(fn, *args, ints=(), **kw):
    """A row whose parameters ``ints`` are Python integers."""
    args = tuple(a if i in ints else float(a) for i, a in enumerate(args))
    EDGES.append(Edge(fn, args, **kw))


F64 = ("float64",)
# The derivative of an inverse function is 1 / f'(its value): where f' varies fast (exp(x**2/2)
# for ndtri), the value's last-place error is amplified.
_AMPLIFIED = "the derivative, 1 / f'(value), amplifies the value's last-place error (by value**2 for ndtri)"

# -- the rows -------------------------------------------------------------------------------------
# Error function and normal distribution.
_e("erf", 0, what="0")
_e("erf", 6, what="tail")
_e("erf", -30, what="far tail (derivative underflows)")
_e("erf", INF, value=1.0, grad=0.0, what="+inf")
_e("erf", -INF, value=-1.0, grad=0.0, what="-inf")
_e("erfc", 0, what="0")
_e("erfc", 26, what="far tail", dtypes=F64)
_e("erfc", 9, what="far tail (float32 underflow)")
_e("erfc", -INF, value=2.0, grad=0.0, what="-inf")
_e("erfc", INF, value=0.0, grad=0.0, what="+inf")
_e("erfcx", 0, what="0")
_e("erfcx", 1e5, what="far tail")
_e("erfcx", -26, what="large negative", dtypes=F64)
_e("erfcx", -27, value=INF, grad=-INF, what="overflow")
_e("erfcx", INF, value=0.0, grad=0.0, what="+inf")
_e("erfcx", -INF, value=INF, grad=-INF, what="-inf")
_e("erfinv", 0, what="0")
_e("erfinv", 1 - 2**-40, what="near 1", dtypes=F64)
_e("erfinv", 1, value=INF, grad=INF, what="1 (end of domain)")
_e("erfinv", -1, value=-INF, grad=INF, what="-1 (end of domain)")
_e("erfinv", 1.5, value=NAN, grad=NAN, what="outside [-1, 1]")
_e("ndtr", 0, what="0")
_e("ndtr", -37, what="far tail", dtypes=F64)
_e(
    "ndtr",
    -13,
    what="far tail",
    rtol={"value:float64": 5e-14},
    why="SciPy's ndtr in the far tail: 3e-14 relative",
)
_e("ndtr", 8, what="tail")
_e("ndtr", -INF, value=0.0, grad=0.0, what="-inf")
_e("ndtr", INF, value=1.0, grad=0.0, what="+inf")
_e("ndtri", 0.5, what="1/2")
_e("ndtri", 1e-300, what="far tail", dtypes=F64, rtol={"grad:float64": 2e-13}, why=_AMPLIFIED)
_e("ndtri", 1e-30, what="far tail", rtol={"grad:float64": 5e-14}, why=_AMPLIFIED)
_e("ndtri", 0, value=-INF, grad=INF, what="0 (end of domain)")
_e("ndtri", 1, value=INF, grad=INF, what="1 (end of domain)")
_e("ndtri", -0.5, value=NAN, grad=NAN, what="outside [0, 1]")
_e("log_ndtr", 0, what="0")
_e(
    "log_ndtr",
    10,
    what="tail",
    rtol={"value:float64": 2e-14},
    why="SciPy's log_ndtr for large x: 7e-15 relative",
)
_e("log_ndtr", -40, what="far tail")
_e("log_ndtr", -1000, what="far tail")
_e("log_ndtr", -1e7, what="far tail")
_e("log_ndtr", -INF, value=-INF, grad=INF, what="-inf")
_e("log_ndtr", INF, value=0.0, grad=0.0, what="+inf")
_e("expit", 0, what="0")
_e("expit", 40, what="tail")
_e("expit", -80, what="far tail")
_e("expit", -800, value=0.0, grad=0.0, what="underflow")
_e("expit", INF, value=1.0, grad=0.0, what="+inf")
_e("expit", -INF, value=0.0, grad=0.0, what="-inf")
_e("logit", 0.5, what="1/2")
_e("logit", 1e-30, what="near 0")
_e("logit", 0, value=-INF, grad=INF, what="0 (end of domain)")
_e("logit", 1, value=INF, grad=INF, what="1 (end of domain)")
for _x in (-0.5, 1.5, INF, -INF):
    _e("logit", _x, value=NAN, grad=NAN, what="outside [0, 1]")

# Gamma family.
for _f in ("gammaln", "loggamma"):
    _e(_f, 1, what="1 (a zero)")
    _e(_f, 1e-300, what="near the pole at 0", dtypes=F64)
    _e(_f, 1e-30, what="near the pole at 0")
    _e(_f, 1e300, what="large", dtypes=F64)
    _e(_f, 1e30, what="large")
    _e(_f, INF, value=INF, grad=INF, what="+inf")
_e("gammaln", -0.5, what="negative")
_e("gammaln", -2.5, what="negative")
_e("gammaln", -1, value=INF, grad=POLE, what="pole")
_e("loggamma", -0.5, value=NAN, grad=NAN, what="negative (complex logarithm)")
_e("gamma", 0.5, what="1/2")
_e("gamma", -2.5, what="negative")
_e("gamma", 171.5, what="near overflow", dtypes=F64)
_e("gamma", 172, value=INF, grad=INF, what="overflow", dtypes=F64)
_e("gamma", 36, value=INF, grad=INF, what="overflow", dtypes=("float32",))
_e("gamma", -1, value=POLE, grad=POLE, what="pole")
_e("gamma", INF, value=INF, grad=INF, what="+inf")
_e("gammasgn", 0.5, what="positive")
_e("gammasgn", -0.5, what="negative, sign -1")
_e("gammasgn", -1.5, what="negative, sign +1")
_e("gammasgn", INF, value=1.0, grad=0.0, what="+inf")
_e("rgamma", 0.5, what="1/2")
_e("rgamma", -2, what="zero (pole of gamma)")
_e("rgamma", 0, what="zero (pole of gamma)")
_e("rgamma", 200, what="underflow", dtypes=F64)
_e("rgamma", INF, value=0.0, grad=0.0, what="+inf")
for _f in ("psi", "digamma"):
    _e(_f, 1, what="1")
    _e(_f, 1e-300, what="near the pole at 0", dtypes=F64)
    _e(_f, -0.5, what="negative")
    _e(_f, 1.4616321449683622, what="its zero", atol=4)
    _e(_f, -1, value=POLE, grad=POLE, what="pole")
    _e(_f, INF, value=INF, grad=0.0, what="+inf")
_ei("polygamma", 1, 0.5, ints=(0,), wrt=1, what="order 1")
_ei("polygamma", 2, -1.5, ints=(0,), wrt=1, what="order 2, negative")
_ei("polygamma", 1, 1e-150, ints=(0,), wrt=1, what="near the pole at 0", dtypes=F64)
_ei("polygamma", 1, -1, ints=(0,), wrt=1, value=INF, grad=POLE, what="pole")
_ei("polygamma", 2, -2, ints=(0,), wrt=1, value=POLE, grad=POLE, what="pole")
_ei("polygamma", 1, INF, ints=(0,), wrt=1, value=0.0, grad=0.0, what="+inf")
_ei("multigammaln", 1.5, 3, ints=(1,), wrt=0, what="a near (d - 1) / 2")
_e("gammainc", 2, 1, wrt=1, what="ordinary")
_e("gammainc", 2, 0, wrt=1, grad=0.0, side=1, what="x = 0")
_e("gammainc", 0.5, 0, wrt=1, value=0.0, grad=INF, what="x = 0, a < 1")
_e("gammainc", 1, 0, wrt=1, value=0.0, grad=1.0, what="x = 0, a = 1")
_e("gammainc", 2, 1e-300, wrt=1, what="near 0", dtypes=F64)
_e("gammainc", 3, 50, wrt=1, what="tail")
_e("gammainc", 3, INF, wrt=1, value=1.0, grad=0.0, what="+inf")
_e("gammainc", 2, -1, wrt=1, value=NAN, grad=NAN, what="x < 0")
_e("gammaincc", 2, 1, wrt=1, what="ordinary")
_e("gammaincc", 2, 0, wrt=1, grad=0.0, side=1, what="x = 0")
_e("gammaincc", 0.5, 0, wrt=1, value=1.0, grad=-INF, what="x = 0, a < 1")
_e(
    "gammaincc",
    3,
    500,
    wrt=1,
    what="far tail",
    dtypes=F64,
    rtol={"value:float64": 5e-14},
    why="SciPy's gammaincc in the far tail: 2e-14 relative",
)
_e("gammaincc", 3, 50, wrt=1, what="tail")
_e("gammaincc", 3, INF, wrt=1, value=0.0, grad=0.0, what="+inf")
_e("gammaincinv", 2, 0.5, wrt=1, what="1/2")
_e("gammaincinv", 2, 0, wrt=1, value=0.0, grad=INF, what="0 (end of domain)")
_e("gammaincinv", 2, 1, wrt=1, value=INF, grad=INF, what="1 (end of domain)")
_e(
    "gammaincinv",
    2,
    1e-200,
    wrt=1,
    what="far tail",
    dtypes=F64,
    rtol={"value:float64": 2e-14},
    why="SciPy's gammaincinv in the far tail: 8e-15 relative",
)
_e("gammaincinv", 2, 1.5, wrt=1, value=NAN, grad=NAN, what="outside [0, 1]")
_e("gammainccinv", 2, 0.5, wrt=1, what="1/2")
_e("gammainccinv", 2, 1, wrt=1, value=0.0, grad=-INF, what="1 (end of domain)")
_e("gammainccinv", 2, 0, wrt=1, value=INF, grad=-INF, what="0 (end of domain)")
_e(
    "gammainccinv",
    2,
    1e-200,
    wrt=1,
    what="far tail",
    dtypes=F64,
    rtol={"grad:float64": 5e-14},
    why=_AMPLIFIED,
)
_e("betaln", 0.5, 0.5, wrt=0, what="1/2")
_e("betaln", 1e-300, 2, wrt=0, what="near the pole at 0", dtypes=F64)
_e("betaln", 1e5, 1e5, wrt=1, what="large")
_e("betaln", 0, 2, wrt=0, value=INF, grad=POLE, what="pole")
for _f in ("betainc", "betaincc"):
    _e(_f, 2, 3, 0.4, wrt=2, what="ordinary (float32 precision)")
    _e(_f, 0.5, 3, 0.9, wrt=2, what="ordinary (float32 precision)")
    _e(_f, 2, 3, 0, wrt=2, grad=0.0, side=1, what="x = 0")
    _e(_f, 2, 3, 1, wrt=2, grad=0.0, side=-1, what="x = 1")
    _e(_f, 0.5, 3, 0, wrt=2, grad=INF if _f == "betainc" else -INF, what="x = 0, a < 1")
    _e(_f, 2, 3, 1.5, wrt=2, value=NAN, grad=NAN, what="outside [0, 1]")
_e("betaincinv", 2, 3, 0.5, wrt=2, what="1/2")
_e("betaincinv", 2, 3, 0, wrt=2, value=0.0, grad=INF, what="0 (end of domain)")
_e("betaincinv", 2, 3, 1, wrt=2, value=1.0, grad=INF, what="1 (end of domain)")
_e("betaincinv", 2, 3, 1.5, wrt=2, value=NAN, grad=NAN, what="outside [0, 1]")
_e("poch", 0.5, 2.5, wrt=0, what="ordinary")
_e("poch", 0.5, 2.5, wrt=1, what="ordinary")
_e("binom", 5, 2.5, wrt=0, what="ordinary")
_e("binom", 5, 2.5, wrt=1, what="ordinary")
_e("binom", 5, 0, wrt=0, what="k = 0")

# Zeta.
_e("zeta", 2, 1, wrt=1, what="Riemann zeta(2)")
_e("zeta", 3, 1e-100, wrt=1, what="near the pole at q = 0", dtypes=F64)
_e("zeta", 2, INF, wrt=1, value=0.0, grad=0.0, what="q = +inf")
_e("zeta", 2, 0, wrt=1, value=INF, grad=POLE, what="q = 0 (pole)")
_e("zetac", 2, wrt=None, what="zeta(2) - 1")

# Bessel functions.
_e("i0", 0, what="0")
_e("i0", 700, what="large", dtypes=F64)
_e("i0", 85, what="large")
_e("i0", 720, value=INF, grad=INF, what="overflow", dtypes=F64)
_e("i0", 100, value=INF, grad=INF, what="overflow", dtypes=("float32",))
_e("i0", INF, value=INF, grad=INF, what="+inf")
_e("i0", -INF, value=INF, grad=-INF, what="-inf")
_e("i0e", 0, grad=0.0, what="0 (a kink of |x|: 0, as torch)")
_e("i0e", 1e-3, what="near 0")
_e("i0e", 1e4, what="large")
_e("i0e", INF, value=0.0, grad=0.0, what="+inf")
_e("i1", 0, what="0")
_e("i1", 1e-3, what="near 0")
_e("i1", 700, what="large", dtypes=F64)
_e("i1", 85, what="large")
_e("i1", 720, value=INF, grad=INF, what="overflow", dtypes=F64)
_e("i1", 700, value=INF, grad=INF, what="overflow", dtypes=("float32",))
_e("i1", INF, value=INF, grad=INF, what="+inf")
_e("i1", -INF, value=-INF, grad=INF, what="-inf")
_e("i1e", 0, what="0")
_e("i1e", 1e-3, what="near 0")
_e("i1e", -1e-3, what="near 0")
_e("i1e", 1e4, what="large")
_e("i1e", INF, value=0.0, grad=0.0, what="+inf")
# torch's Bessel functions, whose values xpgrad takes on the torch backend
_TORCH_BESSEL = {
    "torch:float64": "torch.special's bessel_j0/j1/y0/y1 are 1e-13 to 1e-9 off in float64 at "
    "ordinary arguments (SciPy's: 1e-16); xpgrad takes torch's values on the torch backend"
}
for _f in ("j0", "j1", "y0", "y1"):
    _e(_f, 2.5, what="ordinary", known=_TORCH_BESSEL)
    _e(
        _f,
        1e4,
        what="large",
        rtol={"value:float64": 2e-12, "grad:float64": 2e-12},
        why="SciPy's Bessel functions at large arguments: about 1e-12 relative (argument reduction)",
    )
_e("j0", INF, value=0.0, grad=0.0, what="+inf")
_e("j0", -INF, value=0.0, grad=0.0, what="-inf")
_e("j1", INF, value=0.0, grad=0.0, what="+inf")
_e("j1", -INF, value=0.0, grad=0.0, what="-inf")
_e("y0", INF, value=0.0, grad=0.0, what="+inf")
_e("y1", INF, value=0.0, grad=0.0, what="+inf")
_e("j0", 0, what="0")
_e("j0", 2.404825557695773, what="first zero", dtypes=F64, atol=1, known=_TORCH_BESSEL)
_e("j1", 0, what="0")
_e("j1", 1e-3, what="near 0")
_e("j1", 3.8317059702075125, what="first zero", dtypes=F64, atol=1, known=_TORCH_BESSEL)
_e("y0", 0.8935769662791675, what="first zero", dtypes=F64, atol=1)
_e("y0", 1e-300, what="near 0", dtypes=F64)
_e("y0", 0, value=-INF, grad=INF, what="0 (end of domain)")
_e("y0", -1, value=NAN, grad=NAN, what="negative")
_e("y1", 1e-300, grad=INF, what="near 0 (the derivative overflows)", dtypes=F64)
_e("y1", 0, value=-INF, grad=INF, what="0 (end of domain)")
_e("y1", -1, value=NAN, grad=NAN, what="negative")
_ei("yn", 2, 1.5, ints=(0,), wrt=1, what="order 2")
_ei("yn", 2, 0, ints=(0,), wrt=1, value=-INF, grad=INF, what="0 (end of domain)")
_ei("yn", 2, -1, ints=(0,), wrt=1, value=NAN, grad=NAN, what="negative")
for _f in ("k0", "k1", "k0e", "k1e"):
    _e(_f, 1e-3, what="near 0")
    _e(_f, 1.5, what="ordinary")
    _e(_f, -1, value=NAN, grad=NAN, what="negative")
    _e(_f, 0, value=INF, grad=-INF, what="0 (end of domain)")
_e("k0", 700, what="large (underflow)", dtypes=F64)
_e("k1", 700, what="large (underflow)", dtypes=F64)
_e("k0e", 1e4, what="large")
_e("k1e", 1e4, what="large")
_e("k0", INF, value=0.0, grad=0.0, what="+inf")
_e("k0e", INF, value=0.0, grad=0.0, what="+inf")
_e("spherical_bessel_j0", 0, what="0")
_e("spherical_bessel_j0", 1e-3, what="near 0")
_e("spherical_bessel_j0", INF, value=0.0, grad=0.0, what="+inf")

# Information theory and losses.
for _f in ("xlogy", "xlog1py"):
    y0 = 0 if _f == "xlogy" else -1
    _e(_f, 0, 0.5, wrt=0, what="x = 0")
    _e(_f, 0, 0.5, wrt=1, what="x = 0")
    _e(_f, 2, y0, wrt=0, value=-INF, grad=-INF, what="y at the log's pole")
    _e(_f, 0, y0, wrt=0, value=0.0, grad=0.0, what="x = 0, y at the log's pole (torch's 0)")
    _e(_f, 0, INF, wrt=0, value=0.0, grad=INF, what="x = 0, y = +inf")
    _e(_f, 0, NAN, wrt=0, value=NAN, grad=NAN, what="x = 0, y = nan")
    _e(_f, 2, y0 - 1, wrt=0, value=NAN, grad=NAN, what="y outside the log's domain")
_e("entr", 0.5, what="ordinary")
_e("entr", 1e-300, what="near 0", dtypes=F64)
_e("entr", 0, value=0.0, grad=INF, what="0 (end of domain)")
_e("entr", -1, value=-INF, grad=NAN, what="negative")
_e("entr", INF, value=-INF, grad=-INF, what="+inf")
for _f in ("rel_entr", "kl_div"):
    _e(_f, 0.5, 2, wrt=0, what="ordinary")
    _e(_f, 0.5, 2, wrt=1, what="ordinary")
    _e(_f, 1e-300, 2, wrt=0, what="x near 0", dtypes=F64, dps=330)
_e("huber", 1, 0.5, wrt=1, what="inside")
_e("huber", 1, 3, wrt=0, what="outside")
_e("huber", 1, 3, wrt=1, what="outside")
_e("huber", 0, 2, wrt=1, value=0.0, grad=0.0, what="delta = 0")
_e("huber", -1, 2, wrt=1, value=INF, grad=NAN, what="delta < 0 (not a loss)")
_e("huber", -1, 2, wrt=0, value=INF, grad=NAN, what="delta < 0 (not a loss)")
_e("pseudo_huber", 1, 0.5, wrt=0, what="ordinary")
_e("pseudo_huber", 1, 0.5, wrt=1, what="ordinary")
_e("pseudo_huber", 1, 1e-5, wrt=0, what="|r| << delta (cancellation)")
_e("pseudo_huber", 1e-200, 1, wrt=1, what="delta << |r|", dtypes=F64)
_e("pseudo_huber", 1e-200, 1, wrt=0, what="delta << |r|", dtypes=F64)
_e("pseudo_huber", 0, 0, wrt=1, value=0.0, grad=0.0, what="delta = 0, r = 0")
_e("pseudo_huber", 0, 2, wrt=1, value=0.0, grad=0.0, what="delta = 0")
_e("pseudo_huber", 0, 2, wrt=0, value=0.0, grad=2.0, what="delta = 0 (one-sided: |r|)")
_e("pseudo_huber", -1, 2, wrt=1, value=INF, grad=NAN, what="delta < 0 (not a loss)")
_e("pseudo_huber", -1, 2, wrt=0, value=INF, grad=NAN, what="delta < 0 (not a loss)")

# Box-Cox transforms.
_e("boxcox", 2, 0.5, wrt=0, what="ordinary")
_e("boxcox", 2, 0.5, wrt=1, what="ordinary")
_e("boxcox", 2, 0, wrt=1, what="lmbda = 0")
_e("boxcox", 0, 1, wrt=0, value=-1.0, grad=1.0, what="x = 0, lmbda = 1")
_e("boxcox", 0, 2, wrt=0, value=-0.5, grad=0.0, what="x = 0, lmbda > 1")
_e("boxcox", 0, 0.5, wrt=0, value=-2.0, grad=INF, what="x = 0, lmbda < 1")
_e("boxcox", 0, 0.5, wrt=1, value=-2.0, grad=4.0, what="x = 0: -1 / lmbda")
_e("boxcox", -1, 1, wrt=0, value=NAN, grad=NAN, what="x < 0")
_e("boxcox1p", 1e-10, 0.5, wrt=0, what="x near 0")
_e("boxcox1p", 1, 0, wrt=1, what="lmbda = 0")
_e("boxcox1p", -1, 1, wrt=0, value=-1.0, grad=1.0, what="x = -1, lmbda = 1")
_e("boxcox1p", -2, 1, wrt=0, value=NAN, grad=NAN, what="x < -1")
_e("inv_boxcox", 0.5, 0.5, wrt=0, what="ordinary")
_e("inv_boxcox", 0.5, 0.5, wrt=1, what="ordinary")
_e("inv_boxcox", 0.5, 0, wrt=1, what="lmbda = 0")
_e("inv_boxcox1p", 1e-10, 0.5, wrt=0, what="y near 0")
_e("inv_boxcox1p", 0.5, 0, wrt=1, what="lmbda = 0")

# Elementary functions.
_e("cbrt", 8, what="ordinary")
_e("cbrt", -1e-300, what="near 0", dtypes=F64)
_e("cbrt", 0, value=0.0, grad=INF, what="0")
_e("cbrt", INF, value=INF, grad=0.0, what="+inf")
_e("exp2", 0, what="0")
_e("exp2", 1024.5, value=INF, grad=INF, what="overflow", dtypes=F64)
_e("exp2", -INF, value=0.0, grad=0.0, what="-inf")
_e("exp10", 0, what="0")
_e("exp10", 308.5, value=INF, grad=INF, what="overflow", dtypes=F64)
_e("exprel", 0, what="0")
_e("exprel", 1e-8, what="near 0")
_e("exprel", 700, what="large", dtypes=F64)
_e("exprel", 80, what="large")
_e("exprel", 750, value=INF, grad=INF, what="overflow", dtypes=F64)
_e("exprel", 800, value=INF, grad=INF, what="overflow", dtypes=F64)
_e("exprel", -800, what="large negative", dtypes=F64)
_e("exprel", INF, value=INF, grad=INF, what="+inf")
_e("exprel", -INF, value=0.0, grad=0.0, what="-inf")
_e("cosm1", 0, grad=0.0, what="0")
_e("cosm1", 1e-5, what="near 0")
_e("cosm1", INF, value=NAN, grad=NAN, what="+inf")
_e("cosdg", 90, what="90 degrees")
_e("sindg", 180, what="180 degrees")
_e("tandg", 45, what="45 degrees")
_e("tandg", 90, value=POLE, grad=INF, what="pole")
_e("cotdg", 90, what="90 degrees")
_e("radian", 90, 30, 0, wrt=1, what="ordinary")
_e("sinc", 0, what="0")
_e("sinc", 1e-3, what="near 0")
_e("sinc", 1, what="1 (a zero)", atol=1)
_e("sinc", INF, value=0.0, grad=0.0, what="+inf")

# Exponential integrals, elliptic integrals, dilogarithm, hypergeometric, Legendre.
_e("exp1", 1e-300, what="near 0", dtypes=F64)
_e("exp1", 700, what="large", dtypes=F64)
_e("exp1", 0, value=INF, grad=-INF, what="0 (end of domain)")
_e("exp1", INF, value=0.0, grad=0.0, what="+inf")
_e("exp1", -1, value=NAN, grad=NAN, what="negative")
_e("expi", 0.3725074107813666, what="its zero", dtypes=F64, atol=1)
_e("expi", -700, what="large negative", dtypes=F64)
_e("expi", 0, value=-INF, grad=POLE, what="0 (pole)")
_e("expi", INF, value=INF, grad=INF, what="+inf")
_ei("expn", 2, 0, ints=(0,), wrt=1, value=1.0, grad=-INF, what="x = 0")
_ei("expn", 3, 0, ints=(0,), wrt=1, value=0.5, grad=-1.0, what="x = 0")
_ei("expn", 2, 50, ints=(0,), wrt=1, what="tail")
_e("ellipk", 0, what="0")
_e("ellipk", 1 - 1e-12, what="near 1 (log singularity)", dtypes=F64)
_e("ellipk", 1, value=INF, grad=INF, what="1 (end of domain)")
_e("ellipk", -1e10, what="large negative")
_e("ellipk", 2, value=NAN, grad=NAN, what="above 1")
_e("ellipkm1", 1, what="1")
_e("ellipkm1", 1e-12, what="near 0", dtypes=F64)
_e("ellipkm1", 0, value=INF, grad=-INF, what="0 (end of domain)")
_e("ellipe", 0, what="0")
_e("ellipe", 1, value=1.0, grad=-INF, what="1 (end of domain)")
_e("ellipe", 1 - 1e-12, what="near 1", dtypes=F64)
_e("ellipe", 2, value=NAN, grad=NAN, what="above 1")
_e("spence", 1, what="1")
_e("spence", 0, grad=-INF, what="0 (end of domain: log(z) / (1 - z))")
_e("spence", 1e-300, what="near 0", dtypes=F64, dps=330)
_e("spence", -1, value=NAN, grad=NAN, what="negative")
_e("hyp1f1", 0.5, 1.5, 0, wrt=2, what="x = 0")
_e("hyp1f1", 0.5, 1.5, -50, wrt=2, what="large negative")
_ei("lpmv", 1, 2.5, 0.3, ints=(0,), wrt=2, what="ordinary")
_ei("lpmv", 0, 2.0, 1, ints=(0,), wrt=2, value=1.0, grad=3.0, what="x = 1 (end of domain)")

# Distribution functions.
_e("chdtr", 3, 0, wrt=1, grad=0.0, side=1, what="x = 0")
_e("chdtr", 3, 150, wrt=1, what="far tail")
_e("chdtrc", 3, 100, wrt=1, what="tail")
_e("chdtri", 3, 0.5, wrt=1, what="1/2")
_e("chdtri", 3, 1e-100, wrt=1, what="far tail", dtypes=F64)
_e("gdtr", 2, 3, 1, wrt=0, what="ordinary")
_e("gdtr", 2, 3, 1, wrt=2, what="ordinary")
_e("gdtrc", 2, 3, 1, wrt=2, what="ordinary")
_e("pdtr", 2, 0, wrt=1, value=1.0, grad=0.0, side=1, what="m = 0")
_e("pdtr", 2, 30, wrt=1, what="tail")
_e("pdtrc", 2, 30, wrt=1, what="tail")
_ei("pdtri", 3, 0.4, ints=(0,), wrt=1, what="ordinary")
_ei("bdtr", 2, 6, 0.3, ints=(1,), wrt=2, what="ordinary")
_ei("bdtrc", 2, 6, 0.3, ints=(1,), wrt=2, what="ordinary")
_ei("bdtri", 2, 6, 0.3, ints=(1,), wrt=2, what="ordinary")
_ei("nbdtr", 2, 3, 0.4, ints=(0, 1), wrt=2, what="ordinary")
_ei("nbdtrc", 2, 3, 0.4, ints=(0, 1), wrt=2, what="ordinary")
_ei("nbdtri", 2, 3, 0.4, ints=(0, 1), wrt=2, what="ordinary")
_e("fdtr", 2, 5, 1.5, wrt=2, what="ordinary")
_e("fdtr", 2, 5, 0, wrt=2, side=1, what="x = 0")
_e("fdtrc", 2, 5, 1e5, wrt=2, what="tail")
_e("fdtri", 2, 5, 0.5, wrt=2, what="1/2")
_e("stdtr", 3, 0, wrt=1, what="0")
_e("stdtr", 3, -1e5, wrt=1, what="far tail")
_e("stdtr", 3, INF, wrt=1, value=1.0, grad=0.0, what="+inf")
_e("stdtrit", 3, 0.5, wrt=1, what="1/2")
_e("stdtrit", 3, 1e-100, wrt=1, what="far tail", dtypes=F64, rtol={"grad:float64": 5e-14}, why=_AMPLIFIED)


# -- composites: logsumexp, softmax, log_softmax of one row ------------------------------------


@dataclass(frozen=True)
class RowEdge:
    """``special.<fn>(x, axis=-1)`` on one row ``x``, and the gradient of ``sum(w * result)``
    (``w = 1, 2, 3, ...``: softmax sums to 1, so an unweighted sum would have a zero gradient).
    ``value``/``grad``: ``MP`` or the list itself."""

    fn: str
    x: tuple
    value: object = MP
    grad: object = MP
    what: str = ""
    dtypes: tuple = ("float64", "float32")
    known: dict = field(default_factory=dict, hash=False, compare=False)

    @property
    def id(self):
        return f"{self.fn}([{', '.join(_fmt_arg(a) for a in self.x)}])"


def _mp_row(fn, x):
    m = max(x)
    s = mp.fsum(mp.exp(v - m) for v in x)
    lse = m + mp.log(s)
    if fn == "logsumexp":
        return [lse]
    if fn == "log_softmax":
        return [v - lse for v in x]
    return [mp.exp(v - lse) for v in x]


ROW_EDGES: list[RowEdge] = []


def _r(fn, *x, **kw):
    for k in ("value", "grad"):
        if kw.get(k, MP) is not MP:
            kw[k] = tuple(kw[k])
    ROW_EDGES.append(RowEdge(fn, tuple(float(v) for v in x), **kw))


_ORDINARY = (0.3, -1.2, 2.5, 0.7)
_SHIFTED = (100.3, 101.7, 99.1, 100.0)  # float32: the shift by the maximum must not cost digits
for _f in ("logsumexp", "softmax", "log_softmax"):
    n = 1 if _f == "logsumexp" else None  # logsumexp: one value per row
    _r(_f, *_ORDINARY, what="ordinary")
    _r(_f, *_SHIFTED, what="ordinary, large values")
    _r(_f, 1000, 1000.5, -3, what="beyond exp's overflow")
    _r(_f, -INF, 1, 2, what="-inf in the row")
    _r(_f, NAN, 1, 2, value=[NAN] * (n or 3), grad=[NAN] * 3, what="nan in the row")
    _r(_f, -INF, -INF, value=[-INF] if n else [NAN] * 2, grad=[NAN] * 2, what="only -inf (torch's values)")
_r("logsumexp", INF, 800, value=[INF], grad=[NAN, 0.0], what="+inf in the row (torch's values)")
_r("logsumexp", INF, 1, 2, value=[INF], grad=[NAN, 0.0, 0.0], what="+inf in the row (torch's values)")
for _f, _whose in (("softmax", "torch's and SciPy's"), ("log_softmax", "torch's")):
    _r(_f, INF, 1, 2, value=[NAN] * 3, grad=[NAN] * 3, what=f"+inf in the row ({_whose} nan)")
    _r(_f, INF, 800, value=[NAN] * 2, grad=[NAN] * 2, what=f"+inf in the row ({_whose} nan)")


# -- the truth at a point -----------------------------------------------------------------------


def as_dtype(a, dtype):
    """``a`` as the dtype ``"float64"``/``"float32"`` holds it (Python ints stay)."""
    import numpy as np

    if isinstance(a, int):
        return a
    with np.errstate(over="ignore"):
        return float(np.float32(a)) if dtype == "float32" else float(a)


def _mp_args(args):
    return [a if isinstance(a, int) else mp.mpf(a) for a in args]


def _mp_value(fn, args):
    name = ALIAS_OF.get(fn, fn)
    if name in INVERSES:
        return _mp_inverse(name, args)
    return REFS[name](*args)


def _mp_inverse(name, args):
    import scipy.special as sps

    forward = REFS[INVERSES[name]]
    *params, y = args
    x0 = float(getattr(sps, name)(*[p if isinstance(p, int) else float(p) for p in params], float(y)))
    x0 = mp.mpf(x0)
    if x0 > 0:  # in log(x): a tiny root (1e-100) converges relative to itself
        u0 = mp.log(x0)
        u = mp.findroot(lambda u: mp.log(forward(*params, mp.exp(u)) / y), (u0, u0 + mp.mpf(2) ** -30))
        return mp.exp(u)
    return mp.findroot(
        lambda t: mp.log(forward(*params, t) / y), (x0, x0 + max(abs(x0), 1) * mp.mpf(2) ** -30)
    )


def _diff(f, x, side=0, n=1):
    """mpmath's ``n``-th derivative of ``f`` at ``x``, with a step relative to ``|x|`` (1e-300
    and 1e300 are points too)."""
    if x == 0:
        return mp.diff(f, x, n, direction=side)
    return mp.diff(f, x, n, direction=side, h=abs(x) * mp.mpf(10) ** -(DPS // 3))


def _mp_grad(fn, args, wrt, side):
    name = ALIAS_OF.get(fn, fn)
    if name in INVERSES:
        *params, _ = args
        x = _mp_inverse(name, args)
        return 1 / _diff(lambda t: REFS[INVERSES[name]](*params, t), x)

    def partial(t):
        a = list(args)
        a[wrt] = t
        return REFS[name](*a)

    return _diff(partial, args[wrt], side)


def _to_float(v):
    if v is POLE:
        return v
    if mp.isnan(v):
        return NAN
    if mp.isinf(v):
        return INF if v > 0 else -INF
    return float(v)


@functools.cache
def truth(edge: Edge, dtype: str):
    """``(value, derivative)`` of ``edge`` at its point as ``dtype`` holds it, as Python floats
    (rounded to ``dtype`` by the caller); the derivative is None where ``wrt`` is None."""
    args = [as_dtype(a, dtype) for a in edge.args]
    with mp.workdps(DPS + edge.dps):
        margs = _mp_args(args)
        value = _to_float(_mp_value(edge.fn, margs)) if edge.value is MP else edge.value
        if edge.wrt is None:
            return value, None
        grad = _to_float(_mp_grad(edge.fn, margs, edge.wrt, edge.side)) if edge.grad is MP else edge.grad
    return value, grad


@functools.cache
def row_truth(edge: RowEdge, dtype: str):
    """``(values, gradient of sum(w * values))`` of a composite row, as lists of floats."""
    x = [as_dtype(a, dtype) for a in edge.x]
    with mp.workdps(DPS):
        mx = [mp.mpf(v) for v in x]
        value = [_to_float(v) for v in _mp_row(edge.fn, mx)] if edge.value is MP else list(edge.value)
        if edge.grad is not MP:
            return value, list(edge.grad)
        w = list(range(1, len(x) + 1))

        # -inf entries: the limit, taken far out (-1e40), for every entry's derivative
        far = [mp.mpf(-(10**40)) if v == -mp.inf else v for v in mx]

        def loss(j, t):
            y = list(far)
            y[j] = t
            return mp.fsum(wi * v for wi, v in zip(w, _mp_row(edge.fn, y)))

        grad = []
        for j in range(len(x)):
            grad.append(_to_float(_diff(lambda t, j=j: loss(j, t), far[j])))
    return value, grad


# -- nan rows -------------------------------------------------------------------------------------


def nan_rows(table):
    """For every function of ``table`` (special.TABLE) with a row at an ordinary point: that
    point with nan in one parameter (each in turn, integer orders aside): nan value, and nan
    derivative in the row's parameter."""
    base = {}
    for e in EDGES:
        if (
            e.fn not in base
            and e.value is MP
            and all(not math.isinf(a) for a in e.args if isinstance(a, float))
        ):
            base[e.fn] = e
    rows = []
    for fn, e in base.items():
        ints = table[ALIAS_OF.get(fn, fn)].ints
        params = table[ALIAS_OF.get(fn, fn)].params
        for i, a in enumerate(e.args):
            if isinstance(a, int) or params[i] in ints:
                continue
            args = tuple(NAN if j == i else b for j, b in enumerate(e.args))
            grad = NAN if e.wrt is not None else MP
            rows.append(Edge(fn, args, e.wrt, value=NAN, grad=grad, what=f"{params[i]} = nan"))
    return rows


# -- second order -------------------------------------------------------------------------------
# Points where the exact second derivative of a formula cancels (near a removable singularity
# filled by a Taylor polynomial, at the switch to an asymptotic series), as (function, x, rtol
# in float64 or None for the default, why).
SECOND = [
    ("i1e", 1e-3, None, ""),
    ("i1e", -2e-4, None, ""),
    ("i1e", 0.5, None, ""),
    ("i1e", 60.0, None, ""),
    ("i1", 2e-4, None, ""),
    ("i1", 0.05, None, ""),
    ("j1", 2e-4, None, ""),
    ("j1", 0.05, None, ""),
    ("sinc", 1e-3, None, ""),
    ("sinc", 0.02, None, ""),
    ("exprel", 1e-4, None, ""),
    ("exprel", 0.05, None, ""),
    ("exprel", 700.0, None, ""),
    ("spherical_bessel_j0", 0.05, None, ""),
    ("ellipk", 5e-5, None, ""),
    ("ellipk", 0.01, None, ""),
    ("ellipe", 5e-5, None, ""),
    ("ellipkm1", 1 - 5e-5, None, ""),
    ("spence", 1 + 5e-4, None, ""),
    ("log_ndtr", -40.0, None, ""),
    ("log_ndtr", -1000.0, None, ""),
    ("erfcx", 30.0, None, ""),
    ("erfcx", 1e3, None, ""),
    ("expit", 40.0, None, ""),
    ("i0e", 1e4, None, ""),
    ("i0e", 60.0, None, ""),
    ("k0e", 60.0, None, ""),
    ("k1e", 60.0, None, ""),
    ("ndtri", 1e-30, 2e-13, _AMPLIFIED),
]


def _k_second(order):
    """The second derivative of ``k{order}e`` from K0 and K1 (K0' = -K1, K1' = -K0 - K1/x):
    mpmath's Bessel K at 70 digits is slow to differentiate twice numerically."""

    def d2(x):
        k0, k1 = (mp.exp(x) * mp.besselk(n, x) for n in (0, 1))
        d0 = k0 - k1
        d1 = k1 * (1 - 1 / x) - k0
        return d0 - d1 if order == 0 else d1 * (1 - 1 / x) + k1 / (x * x) - d0

    return d2


_SECOND_EXACT = {"k0e": _k_second(0), "k1e": _k_second(1)}


@functools.cache
def second_truth(fn, x, dtype):
    """mpmath's second derivative of ``special.<fn>`` at ``x`` as ``dtype`` holds it."""
    with mp.workdps(DPS):
        v = mp.mpf(as_dtype(x, dtype))
        name = ALIAS_OF.get(fn, fn)
        if name in INVERSES:  # (f^-1)'' = -f''(r) / f'(r)**3 at r = f^-1(v)
            forward = REFS[INVERSES[name]]
            r = _mp_inverse(name, [v])
            return _to_float(-_diff(forward, r, n=2) / _diff(forward, r) ** 3)
        if name in _SECOND_EXACT:
            return _to_float(_SECOND_EXACT[name](v))
        return _to_float(_diff(REFS[name], v, n=2))


# -- the docs table ---------------------------------------------------------------------------

BEGIN = "<!-- special-edges table: generated by `python tests/_special_edges.py`; checked by tests/test_special_edges.py -->"
END = "<!-- end of the special-edges table -->"


def _num(v):
    if v is POLE:
        return "±inf or nan (pole)"
    if isinstance(v, float) and math.isnan(v):
        return "nan"
    if isinstance(v, float) and math.isinf(v):
        return "+inf" if v > 0 else "-inf"
    if v == 0:
        return "0"
    return f"{v:.8g}"


def _arg(a):
    if not isinstance(a, float) or not math.isfinite(a):
        return _num(a) if isinstance(a, float) else str(a)
    return f"{a:g}" if float(f"{a:g}") == a else repr(a)


def render_table(table):
    """The markdown table of docs/special-edges.md: one line per row of ``EDGES`` (nan rows
    are one sentence of the page), then the composites; values and derivatives as the rows
    state them, or mpmath's (float64, 8 digits)."""
    lines = [
        BEGIN,
        "",
        "| function | at | value | derivative | what |",
        "|---|---|---|---|---|",
    ]
    for e in EDGES:
        params = table[ALIAS_OF.get(e.fn, e.fn)].params
        dtype = "float64" if "float64" in e.dtypes else e.dtypes[0]
        value, grad = truth(e, dtype)
        at = ", ".join(f"{p} = {_arg(a)}" for p, a in zip(params, e.args))
        deriv = "" if e.wrt is None else f"d/d{params[e.wrt]}: {_num(grad)}"
        note = e.what + ("" if "float64" in e.dtypes else " (float32)")
        if e.known:
            note += "; " + "; ".join(f"{k}: known difference" for k in sorted(e.known))
        lines.append(f"| `{e.fn}` | {at} | {_num(value)} | {deriv} | {note} |")
    lines += [
        "",
        "| function | x (one row) | value | gradient of sum(w * value), w = 1, 2, ... | what |",
        "|---|---|---|---|---|",
    ]
    for e in ROW_EDGES:
        value, grad = row_truth(e, "float64")
        x = ", ".join(_arg(a) for a in e.x)
        lines.append(
            f"| `{e.fn}` | [{x}] | [{', '.join(map(_num, value))}] | [{', '.join(map(_num, grad))}] | {e.what} |"
        )
    lines += ["", END]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    import sys

    from xpgrad.special import TABLE

    sys.stdout.write(render_table(TABLE))
