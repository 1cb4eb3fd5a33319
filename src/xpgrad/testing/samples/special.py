"""Samples for the ``special`` namespace (``xpgrad/special.py``).

Each function is sampled inside its domain (``_DOMAINS``), on 1-d, broadcast and 0-d arrays,
with a Python scalar for its first argument, and at the removable singularities of its
derivative formula (``sinc`` and ``exprel`` at 0, ``ellipk`` at 0, ``spence`` at 1, ...).
Arguments without a derivative (integer orders, shape parameters, degrees of freedom) are
constants of the sample.

The torch reference of each function (``_torch_ref``) is, in order of preference:
``torch.special``'s own function where it has a derivative; a composition of torch functions
(``rel_entr`` as ``x * log(x / y)``, the chi-square, gamma and Poisson distribution functions
through ``torch.special.gammainc``); otherwise SciPy's values only. Where torch has no derivative (its
function lacks one, or only SciPy's values are at hand), and at points where the torch
composition is 0/0, the gradient checks (``first``, ``second``, ``jvp``, ``fwd_rev``) compare
xpgrad with finite differences of its own function instead (``fd_reference``): reported as
"checked against finite differences", not as known differences.
"""

from __future__ import annotations

import math

import numpy as np

from ...special import ALIASES, TABLE
from .._opinfo import FLOAT, OpInfo, Sample

# Per parameter: (low, high) a float array (differentiated when the function has a derivative
# in it); ("c", low, high) a constant float array; ("k", low, high) a constant float array of
# integer values; ("i", n) a Python integer.
_P = (0.3, 4.0)
_DOMAINS = {
    "erf": [(-2, 2)],
    "erfc": [(-2, 2)],
    "erfcx": [(-2, 2)],
    "erfinv": [(-0.9, 0.9)],
    "ndtr": [(-3, 3)],
    "ndtri": [(0.05, 0.95)],
    "log_ndtr": [(-4, 3)],
    "expit": [(-4, 4)],
    "logit": [(0.05, 0.95)],
    "gammaln": [_P],
    "loggamma": [_P],
    "gamma": [_P],
    "rgamma": [_P],
    "gammasgn": [_P],
    "psi": [_P],
    "digamma": [_P],
    "polygamma": [("i", 1), (0.5, 3)],
    "multigammaln": [(2.0, 4.0), ("i", 3)],
    "gammainc": [("c", 0.5, 3), (0.2, 3)],
    "gammaincc": [("c", 0.5, 3), (0.2, 3)],
    "gammaincinv": [("c", 0.5, 3), (0.1, 0.9)],
    "gammainccinv": [("c", 0.5, 3), (0.1, 0.9)],
    "betaln": [(0.5, 3), (0.5, 3)],
    "betainc": [("c", 0.5, 3), ("c", 0.5, 3), (0.1, 0.9)],
    "betaincc": [("c", 0.5, 3), ("c", 0.5, 3), (0.1, 0.9)],
    "betaincinv": [("c", 0.5, 3), ("c", 0.5, 3), (0.1, 0.9)],
    "poch": [(0.5, 3), (0.2, 2)],
    "binom": [(3, 6), (0.5, 2.5)],
    "zeta": [("c", 1.5, 4), (0.5, 3)],
    "zetac": [(1.5, 4)],
    "i0": [(-3, 3)],
    "i0e": [(-3, 3)],
    "i1": [(-3, 3)],
    "i1e": [(-3, 3)],
    "j0": [(-5, 5)],
    "j1": [(-5, 5)],
    "y0": [_P],
    "y1": [_P],
    "yn": [("i", 2), (0.5, 4)],
    "k0": [_P],
    "k1": [_P],
    "k0e": [_P],
    "k1e": [_P],
    "spherical_bessel_j0": [(-4, 4)],
    "xlogy": [(-2, 2), (0.2, 3)],
    "xlog1py": [(-2, 2), (-0.5, 3)],
    "entr": [(0.1, 3)],
    "rel_entr": [(0.1, 3), (0.1, 3)],
    "kl_div": [(0.1, 3), (0.1, 3)],
    "huber": [(0.5, 2), (-3, 3)],
    "pseudo_huber": [(0.5, 2), (-3, 3)],
    "boxcox": [(0.3, 3), (-1, 1)],
    "boxcox1p": [(-0.5, 3), (-1, 1)],
    "inv_boxcox": [(0.1, 1.0), (-0.5, 0.5)],
    "inv_boxcox1p": [(0.1, 1.0), (-0.5, 0.5)],
    "cbrt": [(0.2, 2)],
    "exp2": [(-2, 2)],
    "exp10": [(-1, 1)],
    "exprel": [(-2, 2)],
    "cosm1": [(-2, 2)],
    "cosdg": [(-200, 200)],
    "sindg": [(-200, 200)],
    "tandg": [(-60, 60)],
    "cotdg": [(20, 160)],
    "radian": [(-90, 90), (0, 60), (0, 60)],
    "sinc": [(-2, 2)],
    "exp1": [(0.2, 3)],
    "expi": [(0.2, 3)],
    "expn": [("i", 2), (0.2, 3)],
    "ellipk": [(-0.5, 0.9)],
    "ellipkm1": [(0.1, 0.95)],
    "ellipe": [(-0.5, 0.9)],
    "spence": [(0.2, 3)],
    "hyp1f1": [("c", 0.5, 2), ("c", 1.0, 3), (-1, 1)],
    "lpmv": [("i", 1), ("c", 1.5, 3), (-0.9, 0.9)],
    "chdtr": [("c", 1, 5), (0.2, 5)],
    "chdtrc": [("c", 1, 5), (0.2, 5)],
    "chdtri": [("c", 1, 5), (0.1, 0.9)],
    "gdtr": [(0.5, 2), ("c", 1, 3), (0.2, 3)],
    "gdtrc": [(0.5, 2), ("c", 1, 3), (0.2, 3)],
    "pdtr": [("k", 0, 5), (0.2, 5)],
    "pdtrc": [("k", 0, 5), (0.2, 5)],
    "pdtri": [("i", 3), (0.1, 0.9)],
    "bdtr": [("k", 0, 4), ("i", 6), (0.1, 0.9)],
    "bdtrc": [("k", 0, 4), ("i", 6), (0.1, 0.9)],
    "bdtri": [("k", 0, 4), ("i", 6), (0.1, 0.9)],
    "nbdtr": [("i", 2), ("i", 3), (0.1, 0.9)],
    "nbdtrc": [("i", 2), ("i", 3), (0.1, 0.9)],
    "nbdtri": [("i", 2), ("i", 3), (0.1, 0.9)],
    "fdtr": [("c", 1, 5), ("c", 2, 6), (0.2, 3)],
    "fdtrc": [("c", 1, 5), ("c", 2, 6), (0.2, 3)],
    "fdtri": [("c", 1, 5), ("c", 2, 6), (0.1, 0.9)],
    "stdtr": [("c", 1, 6), (-3, 3)],
    "stdtrit": [("c", 1, 6), (0.1, 0.9)],
}

# Extra named samples at points where a derivative formula has a removable singularity (the
# Taylor polynomial used there is checked to second order) or a branch of the definition.
_POINTS = {
    "sinc": [((np.array([0.0, 1e-4, -2e-3]),), "near 0")],
    "spherical_bessel_j0": [((np.array([0.0, 1e-4, -2e-3]),), "near 0")],
    "exprel": [((np.array([0.0, 1e-4, -5e-3]),), "near 0")],
    "i1": [((np.array([0.0, 2e-4]),), "near 0")],
    "j1": [((np.array([0.0, -2e-4]),), "near 0")],
    "ellipk": [((np.array([0.0, 5e-5]),), "near 0")],
    "ellipe": [((np.array([0.0, 5e-5]),), "near 0")],
    "ellipkm1": [((np.array([1.0, 1 - 5e-5]),), "near 1")],
    "spence": [((np.array([1.0, 1 + 5e-4]),), "near 1")],
    "boxcox": [((np.array([0.5, 2.0]), np.array([0.0, 1e-4])), "lmbda near 0")],
    "boxcox1p": [((np.array([0.5, 2.0]), np.array([0.0, -1e-4])), "lmbda near 0")],
    "inv_boxcox": [((np.array([0.5, 0.8]), np.array([0.0, 1e-4])), "lmbda near 0")],
    "inv_boxcox1p": [((np.array([0.5, 0.8]), np.array([0.0, -1e-4])), "lmbda near 0")],
    "expn": [((0, np.array([0.5, 2.0])), "n=0")],
    "polygamma": [((0, np.array([0.7, 2.5])), "n=0"), ((3, np.array([0.7, 2.5])), "n=3")],
}


def _value(rng, spec, shape):
    if isinstance(spec, tuple) and spec and spec[0] == "i":
        return spec[1], False
    if isinstance(spec, tuple) and spec and spec[0] == "c":
        return np.asarray(rng.uniform(spec[1], spec[2], size=shape)), False
    if isinstance(spec, tuple) and spec and spec[0] == "k":
        return np.asarray(rng.integers(spec[1], spec[2], size=shape).astype(np.float64)), False
    lo, hi = spec
    return np.asarray(rng.uniform(lo, hi, size=shape)), True


def _differentiable(fn):
    return {i for i, d in enumerate(fn.grads) if not isinstance(d, str)}


def _samples_for(name):
    fn = TABLE[ALIASES.get(name, name)]
    domains = _DOMAINS[fn.name]
    diff = _differentiable(fn)
    nfloat = sum(1 for s in domains if not (isinstance(s, tuple) and s and s[0] == "i"))

    def gen(rng, dtype):
        shapes = [("1-d", [(4,)] * len(domains)), ("0-d", [()] * len(domains))]
        if nfloat > 1:
            shapes.append(("broadcast", [(3, 1)] + [(4,)] * (len(domains) - 1)))
        else:
            shapes.append(("2-d", [(2, 3)] * len(domains)))
        for label, shp in shapes:
            args, grad = [], []
            for i, (spec, s) in enumerate(zip(domains, shp)):
                v, wants = _value(rng, spec, s)
                args.append(v)
                if wants and i in diff:
                    grad.append(i)
            yield Sample(tuple(args), name=label, grad=tuple(grad) or (len(args) - 1,))
        if nfloat > 1:  # a Python scalar for the first float argument
            args, grad = [], []
            done = False
            for i, spec in enumerate(domains):
                v, wants = _value(rng, spec, (3,))
                if not done and isinstance(v, np.ndarray):
                    v = float(v[0])
                    done = True
                    wants = False
                args.append(v)
                if wants and i in diff:
                    grad.append(i)
            if grad:
                yield Sample(tuple(args), name="python scalar", grad=tuple(grad))
        for args, label in _POINTS.get(fn.name, ()) if dtype == "float64" else ():
            grad = tuple(i for i, a in enumerate(args) if isinstance(a, np.ndarray) and i in diff)
            yield Sample(
                tuple(a.copy() if isinstance(a, np.ndarray) else a for a in args), name=label, grad=grad
            )

    return gen


# -- torch references ---------------------------------------------------------------------------


def _tensors(args):
    import torch

    like = next((a for a in args if isinstance(a, torch.Tensor) and a.is_floating_point()), None)
    out = []
    for a in args:
        if isinstance(a, float):
            a = torch.tensor(a, dtype=like.dtype)
        out.append(a)
    return out


def _same(tname):
    def ref(txp, *args):
        import torch

        return getattr(torch.special, tname)(*_tensors(args))

    return ref


def _composed(f):
    def ref(txp, *args):
        import torch

        return f(torch, *_tensors(args))

    return ref


def _scipy_values(name):
    def ref(txp, *args):
        import scipy.special
        import torch

        ts = [a for a in args if isinstance(a, torch.Tensor) and a.is_floating_point()]
        # In double precision: SciPy deprecates its single-precision loops taking integers as floats.
        np_args = [
            a.detach().double().numpy()
            if isinstance(a, torch.Tensor) and a.is_floating_point()
            else (a.numpy() if isinstance(a, torch.Tensor) else a)
            for a in args
        ]
        return torch.as_tensor(np.asarray(getattr(scipy.special, name)(*np_args)), dtype=ts[0].dtype)

    return ref


_D = math.pi / 180
_TORCH_SAME = {
    n: n
    for n in "erf erfc erfcx erfinv ndtr ndtri log_ndtr expit logit gammaln digamma i0 i0e i1 i1e entr "
    "sinc exp2 xlogy xlog1py polygamma multigammaln zeta gammainc gammaincc".split()
}
_TORCH_SAME["psi"] = "digamma"
_TORCH_NO_GRAD = {
    "j0": "bessel_j0",
    "j1": "bessel_j1",
    "y0": "bessel_y0",
    "y1": "bessel_y1",
    "k0": "modified_bessel_k0",
    "k1": "modified_bessel_k1",
    "k0e": "scaled_modified_bessel_k0",
    "k1e": "scaled_modified_bessel_k1",
    "spherical_bessel_j0": "spherical_bessel_j0",
}
_TORCH_COMPOSED = {
    "loggamma": lambda t, x: t.lgamma(x),
    "gamma": lambda t, x: t.exp(t.lgamma(x)),
    "rgamma": lambda t, x: t.exp(-t.lgamma(x)),
    "gammasgn": lambda t, x: x * 0 + 1,
    "betaln": lambda t, a, b: t.lgamma(a) + t.lgamma(b) - t.lgamma(a + b),
    "poch": lambda t, z, m: t.exp(t.lgamma(z + m) - t.lgamma(z)),
    "binom": lambda t, n, k: t.exp(t.lgamma(n + 1) - t.lgamma(k + 1) - t.lgamma(n - k + 1)),
    "zetac": lambda t, x: t.special.zeta(x, t.ones_like(x)) - 1,
    "rel_entr": lambda t, x, y: x * t.log(x / y),
    "kl_div": lambda t, x, y: x * t.log(x / y) - x + y,
    "huber": lambda t, d, r: t.where(r.abs() <= d, r * r / 2, d * (r.abs() - d / 2)),
    "pseudo_huber": lambda t, d, r: d * d * (t.sqrt(1 + (r / d) ** 2) - 1),
    "boxcox": lambda t, x, lm: t.expm1(lm * t.log(x)) / lm,
    "boxcox1p": lambda t, x, lm: t.expm1(lm * t.log1p(x)) / lm,
    "inv_boxcox": lambda t, y, lm: t.exp(t.log1p(lm * y) / lm),
    "inv_boxcox1p": lambda t, y, lm: t.expm1(t.log1p(lm * y) / lm),
    "cbrt": lambda t, x: t.sign(x) * x.abs() ** (1 / 3),
    "exp10": lambda t, x: 10.0**x,
    "exprel": lambda t, x: t.expm1(x) / x,
    "cosm1": lambda t, x: t.cos(x) - 1,
    "cosdg": lambda t, x: t.cos(x * _D),
    "sindg": lambda t, x: t.sin(x * _D),
    "tandg": lambda t, x: t.tan(x * _D),
    "cotdg": lambda t, x: 1 / t.tan(x * _D),
    "radian": lambda t, d, m, s: (d + m / 60 + s / 3600) * _D,
    "chdtr": lambda t, v, x: t.special.gammainc(v / 2, x / 2),
    "chdtrc": lambda t, v, x: t.special.gammaincc(v / 2, x / 2),
    "gdtr": lambda t, a, b, x: t.special.gammainc(b, a * x),
    "gdtrc": lambda t, a, b, x: t.special.gammaincc(b, a * x),
    "pdtr": lambda t, k, m: t.special.gammaincc(t.floor(k) + 1, m),
    "pdtrc": lambda t, k, m: t.special.gammainc(t.floor(k) + 1, m),
}
_NO_TORCH = "torch has no {name} (the values are checked against SciPy's)"
_NO_TORCH_GRAD = "torch.special.{tname} has no derivative (its result silently does not require grad)"
_NOT_IMPLEMENTED = "the derivative of {name} in {param} is not implemented, as in torch (both raise)"
_REF_SINGULAR = "the torch reference formula is 0/0 at this point (its value and gradient are nan)"
_FD_CHECKS = ("first", "second", "jvp", "fwd_rev")


# Tolerance overrides {dtype: (rtol, atol, reason)} (by the table's name; aliases share them):
# where the reference, or the float32 computation itself, is less accurate than
# DEFAULT_TOLERANCES, measured against mpmath (float64) or the same inputs in float64 (float32).
# Every other special function is checked at the default tolerances.
_TORCH_BESSEL = (
    1e-6,
    1e-6,
    "torch's float64 bessel_j0/j1/y0/y1 values are off by up to 8e-7 (absolute, 7e-6 relative; "
    "mpmath on [0.3, 6]), SciPy's (xpgrad's) by 1e-15; torch gives no gradient, the gradients are "
    "checked against finite differences",
)
_TORCH_TRIGAMMA = (
    1e-7,
    1e-9,
    "the reference's second derivative is a difference of torch's float64 trigammas, which are off "
    "by up to 4.9e-10 relative (mpmath); the difference cancels: up to 2.7e-8 on these samples",
)
_BOXCOX32 = (
    "float32 second derivatives in lmbda are differences of nearly equal terms (the removable "
    "singularity at lmbda = 0 is near): against the same inputs in float64, torch's are off by up "
    "to {torch} and xpgrad's by up to {xpgrad}"
)
_TOLERANCES = {
    "j0": {"float64": _TORCH_BESSEL},
    "j1": {"float64": _TORCH_BESSEL},
    "y0": {"float64": _TORCH_BESSEL},
    "y1": {"float64": _TORCH_BESSEL},
    "poch": {"float64": _TORCH_TRIGAMMA},
    "binom": {
        "float64": _TORCH_TRIGAMMA,
        "float32": (
            3e-4,
            3e-5,
            "float32 derivatives of binom are differences of digammas (psi(n + 1) - psi(n - k + 1)), "
            "which cancel: against float64 torch's are off by up to 3.8e-6, xpgrad's by 2.2e-6 on NumPy "
            "(SciPy's digamma, 6e-8 relative) and 3.4e-5 on JAX (jax.scipy's float32 digamma, 3.6e-6)",
        ),
    },
    "i1": {
        "float32": (
            4e-3,
            6e-3,
            "i1's second derivative (i1 - (x i1' - i1) / x**2) cancels near 0: torch's float32 formula "
            "is off by up to 1.9e-2 against float64, xpgrad's by 4e-7",
        )
    },
    "boxcox": {"float32": (1e-3, 2e-4, _BOXCOX32.format(torch="7.6e-5", xpgrad="1.4e-5 (3.9e-4 on JAX)"))},
    "boxcox1p": {"float32": (5e-4, 5e-5, _BOXCOX32.format(torch="9.5e-5", xpgrad="6.3e-5"))},
    "inv_boxcox": {"float32": (5e-3, 5e-4, _BOXCOX32.format(torch="1.1e-3", xpgrad="1.1e-3"))},
    "inv_boxcox1p": {"float32": (3e-4, 3e-5, _BOXCOX32.format(torch="5.6e-5", xpgrad="5.8e-5"))},
    "exprel": {
        "float32": (
            1e-4,
            1e-5,
            "float32 second derivative of expm1(x) / x cancels: against float64, torch's composition "
            "is off by up to 4.3e-5, xpgrad's by 1e-5",
        )
    },
    "log_ndtr": {
        "float32": (
            1e-4,
            1e-5,
            "float32 second derivative: against float64, torch's is off by up to 8e-6, xpgrad's by 2.5e-6",
        )
    },
    "fdtri": {
        "float32": (
            1e-4,
            1e-5,
            "float32 values from SciPy's single-precision loop are off by up to 1.2e-5 relative; the "
            "reference is SciPy's float64 value rounded to float32",
        )
    },
}


def _op(public):
    name = ALIASES.get(public, public)
    fn = TABLE[name]
    xfail, fd_reference = {}, {}
    if name in _TORCH_SAME:
        torch_fn = _same(_TORCH_SAME[name])
    elif name in _TORCH_COMPOSED:
        torch_fn = _composed(_TORCH_COMPOSED[name])
    elif name in _TORCH_NO_GRAD:
        torch_fn = _same(_TORCH_NO_GRAD[name])
        fd_reference = dict.fromkeys(_FD_CHECKS, _NO_TORCH_GRAD.format(tname=_TORCH_NO_GRAD[name]))
    else:
        torch_fn = _scipy_values(name)
        fd_reference = dict.fromkeys(_FD_CHECKS, _NO_TORCH.format(name=name))
    if not _differentiable(fn):
        reason = _NOT_IMPLEMENTED.format(name=name, param=fn.params[0])
        xfail = {c: reason for c in ("first", "second", "jvp", "fwd_rev", "gradcheck", "gradgradcheck")}
        fd_reference = {}

    gen = _samples_for(public)

    def samples(rng, dtype, gen=gen, name=name):
        for s in gen(rng, dtype):
            if s.name in ("near 0", "lmbda near 0", "near 1") and name in _TORCH_COMPOSED:
                s.xfail = {"forward": _REF_SINGULAR}
                s.fd_reference = dict.fromkeys(_FD_CHECKS, _REF_SINGULAR)
            if s.name == "near 0" and name == "sinc":
                reason = "torch's second derivative of sinc at 0 is nan (0/0 in its formula)"
                s.fd_reference = {"second": reason, "fwd_rev": reason}
            yield s

    tols = _TOLERANCES.get(name, {})
    return OpInfo(
        f"special.{public}",
        samples,
        dtypes=FLOAT,
        xfail=xfail,
        fd_reference=fd_reference,
        torch_fn=torch_fn,
        rtol={d: r for d, (r, _, _) in tols.items()},
        atol={d: a for d, (_, a, _) in tols.items()},
        tolerance_reasons={d: why for d, (_, _, why) in tols.items()},
    )


def _composite_samples(rng, dtype):
    yield Sample((rng.standard_normal((3, 4)),), {"axis": 1}, name="axis=1")
    yield Sample((rng.standard_normal((3, 4)),), {"axis": 0}, name="axis=0")
    yield Sample((rng.standard_normal((2, 3)),), {"axis": None}, name="all axes")
    yield Sample((rng.standard_normal((5,)) * 30,), {"axis": -1}, name="large values")


def _logsumexp_samples(rng, dtype):
    yield from _composite_samples(rng, dtype)
    yield Sample((rng.standard_normal((3, 4)),), {"axis": 1, "keepdims": True}, name="keepdims")
    yield Sample((rng.standard_normal((2, 3, 2)),), {"axis": (0, 2)}, name="axis=(0,2)")


def _torch_axis(f):
    def ref(txp, x, axis=None, keepdims=False):
        import torch

        dim = tuple(range(x.ndim)) if axis is None else axis
        if f == "logsumexp":
            return torch.special.logsumexp(x, dim, keepdim=keepdims)
        if axis is None:
            flat = getattr(torch.special, f)(x.reshape(-1), 0)
            return flat.reshape(x.shape)
        return getattr(torch.special, f)(x, dim)

    return ref


def _unary_samples(rng, dtype):
    yield Sample((rng.uniform(-0.9, 2.0, size=(4,)),), name="1-d")
    yield Sample((np.asarray(rng.uniform(-0.9, 2.0)),), name="0-d")


OPS = [_op(name) for name in sorted(set(TABLE) | set(ALIASES))] + [
    OpInfo("special.logsumexp", _logsumexp_samples, torch_fn=_torch_axis("logsumexp")),
    OpInfo("special.softmax", _composite_samples, torch_fn=_torch_axis("softmax")),
    OpInfo("special.log_softmax", _composite_samples, torch_fn=_torch_axis("log_softmax")),
    OpInfo("special.expm1", _unary_samples, torch_fn=lambda txp, x: __import__("torch").special.expm1(x)),
    OpInfo("special.log1p", _unary_samples, torch_fn=lambda txp, x: __import__("torch").special.log1p(x)),
]
