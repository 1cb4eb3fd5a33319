"""Samples for the elementwise functions (``_elementwise_functions.py``).

Every function of the ``UNARY`` and ``BINARY`` tables gets samples in its domain (``acosh``
above 1, ``log`` above 0, complex values off the branch cuts), plus 0-d, empty, broadcast,
non-contiguous and Python-scalar operands. Points where a function is not differentiable (ties,
kinks, jumps) are separate named samples: torch's convention decides the gradient there, and
where central finite differences cannot agree (they average the one-sided slopes) the sample
says so in its ``xfail``.
"""

from __future__ import annotations

import numpy as np

from ... import _elementwise_functions as ef
from .._opinfo import ALL_FLOAT, COMPLEX, FLOAT, OpInfo, Sample
from ._common import away_from_zero, is_complex, make, noncontig

# -- unary ---------------------------------------------------------------------------------------

# name -> (real domain (low, high), complex domain ((re low, re high), (im low, im high)))
# Complex domains keep away from branch cuts and poles.
_SMALL = ((-0.7, 0.7), (-0.7, 0.7))
_RIGHT = ((0.2, 2.0), (-1.0, 1.0))
_DOMAINS = {
    "acos": ((-0.9, 0.9), _SMALL),
    "acosh": ((1.1, 3.0), ((1.2, 2.5), (-1.0, 1.0))),
    "asin": ((-0.9, 0.9), _SMALL),
    "asinh": ((-2.0, 2.0), _SMALL),
    "atan": ((-2.0, 2.0), _SMALL),
    "atanh": ((-0.9, 0.9), _SMALL),
    "log": ((0.1, 3.0), _RIGHT),
    "log1p": ((-0.9, 2.0), ((-0.5, 2.0), (-1.0, 1.0))),
    "log2": ((0.1, 3.0), _RIGHT),
    "log10": ((0.1, 3.0), _RIGHT),
    "sqrt": ((0.1, 3.0), _RIGHT),
    "tan": ((-1.2, 1.2), _SMALL),
    "tanh": ((-2.0, 2.0), _SMALL),
    # Piecewise constant: keep well inside (k, k + 1/2) so perturbations do not cross a jump.
    "ceil": ((0.1, 0.4), None),
    "floor": ((0.1, 0.4), None),
    "round": ((0.1, 0.4), None),
    "trunc": ((0.1, 0.4), None),
}
_REAL_ONLY = {"ceil", "floor", "round", "trunc"}
_NONZERO = {"abs", "reciprocal", "sign"}  # kinks/poles at 0: sampled away from it

_GRAD_JUMPS = "the first derivative jumps here (kink or tie): central differences of the gradient blow up"
_FD_JUMP = "jump at an integer: central finite differences see the step (torch's gradient is 0)"


def _unary_values(name, rng, shape, dtype):
    if name in _NONZERO:
        return away_from_zero(rng, shape, dtype)
    real, cplx = _DOMAINS.get(name, ((-2.0, 2.0), ((-1.5, 1.5), (-1.0, 1.0))))
    if is_complex(dtype):
        (rl, rh), im = cplx
        a = make(rng, shape, dtype, rl, rh, im)
    else:
        a = make(rng, shape, dtype, *real)
    if name in _REAL_ONLY:
        a = a + rng.integers(-3, 3, size=shape)  # several integer parts
    return np.asarray(a)


_SIGN_ZERO_COMPLEX = {
    # On NumPy the forward warns as well: conformance/known/numpy.py.
    **{
        f"{check}:*:numpy": "array_api_compat.numpy.sign computes x / |x| and warns 'invalid value "
        "encountered in divide' at 0j (an error under -W error); xpgrad calls it unguarded"
        for check in ("gradcheck", "gradgradcheck")
    },
    "first": "torch 2.13 gives nan for sgn's gradient at 0j; xpgrad gives 0 (torch's sgn_backward formula "
    "masked at 0, see _sign_vjp); sgn is not differentiable there",
    "second": "torch 2.13 gives nan for sgn's gradient at 0j; xpgrad gives 0",
    "fwd_rev": "torch 2.13's double backward of sgn at 0j gives nan (the reference Hessian-vector "
    "product); xpgrad gives 0",
    "gradcheck": "sgn is not differentiable at 0j: central differences give 1/eps",
}


def _unary_kinks(name, dtype):
    """Named samples at the function's special points."""
    if is_complex(dtype):
        if name == "abs":
            yield Sample((np.array([0j, 1 + 1j, -2j]),), name="at_zero", xfail={"gradgradcheck": _GRAD_JUMPS})
        elif name == "sign":
            yield Sample((np.array([0j, 1 + 1j, -2j]),), name="at_zero", xfail=_SIGN_ZERO_COMPLEX)
        return
    if name == "abs":
        # torch: sgn(0) = 0; central differences give (|h| - |-h|) / 2h = 0 as well.
        yield Sample((np.array([0.0, -1.0, 2.0]),), name="at_zero", xfail={"gradgradcheck": _GRAD_JUMPS})
    elif name == "sign":
        yield Sample(
            (np.array([0.0, -1.0, 2.0]),),
            name="at_zero",
            xfail={"gradcheck": _FD_JUMP.replace("an integer", "0")},
        )
    elif name in ("floor", "ceil", "trunc"):
        yield Sample((np.array([-1.0, 0.0, 2.0]),), name="at_integer", xfail={"gradcheck": _FD_JUMP})
    elif name == "round":
        yield Sample((np.array([-2.5, 0.5, 1.5]),), name="at_half_integer", xfail={"gradcheck": _FD_JUMP})
    elif name == "sqrt":
        # torch: d sqrt(x) / dx = 1 / (2 sqrt(x)) is inf at 0; finite differences read nan there.
        yield Sample(
            (np.array([0.0, 1.0]),),
            name="at_zero",
            xfail={
                "gradcheck": "infinite derivative at 0 (torch gives inf; finite differences of sqrt(-h) are nan)",
                "gradgradcheck": "infinite derivative at 0 (torch gives inf; finite differences of sqrt(-h) are nan)",
            },
        )


def _unary_samples(name):
    def samples(rng, dtype):
        v = lambda shape: _unary_values(name, rng, shape, dtype)
        yield Sample((v(()),), name="0d")
        yield Sample((v((5,)),), name="1d")
        yield Sample((v((2, 3)),), name="2d")
        yield Sample((v((0, 3)),), name="empty")
        yield Sample((noncontig(v((3, 2))),), name="noncontig")
        yield from _unary_kinks(name, dtype)

    return samples


def _unary_op(name):
    real_only = name in _REAL_ONLY
    # imag is specified for complex arrays only (torch and array_api_strict reject real ones).
    dtypes = FLOAT if real_only else COMPLEX if name == "imag" else ALL_FLOAT
    return OpInfo(name, _unary_samples(name), dtypes=dtypes)


# -- binary --------------------------------------------------------------------------------------

_BINARY_REAL_ONLY = {
    "atan2",
    "copysign",
    "floor_divide",
    "hypot",
    "logaddexp",
    "maximum",
    "minimum",
    "nextafter",
    "remainder",
}


def _binary_values(name, rng, s1, s2, dtype):
    """(x1, x2) in the function's domain for shapes s1, s2."""
    c = is_complex(dtype)
    if name == "divide":
        return make(rng, s1, dtype), away_from_zero(rng, s2, dtype)
    if name == "pow":
        if c:
            return make(rng, s1, dtype, 0.3, 2.0, (-1.0, 1.0)), make(rng, s2, dtype, -1.5, 1.5, (-0.5, 0.5))
        return make(rng, s1, dtype, 0.3, 2.0), make(rng, s2, dtype, -2.0, 2.0)
    if name in ("atan2", "hypot", "copysign"):
        return away_from_zero(rng, s1, dtype), away_from_zero(rng, s2, dtype)
    if name in ("remainder", "floor_divide"):
        # x2 = +-(1 +- 5%) and x1 = k + u, u in (1/4, 3/4), |k| <= 2: every x1 / x2 stays at least
        # 0.1 away from an integer, so no perturbation crosses a jump of floor(x1 / x2).
        x1 = rng.integers(-2, 2, size=s1) + rng.uniform(0.25, 0.75, size=s1)
        x2 = rng.uniform(0.95, 1.05, size=s2) * rng.choice([-1.0, 1.0], size=s2)
        return np.asarray(x1), np.asarray(x2)
    return make(rng, s1, dtype), make(rng, s2, dtype)


_POW_MASK = {
    "second": "deviation (docs/deviations.md): torch's pow_backward masks d/dx1 to 0 where x2 == 0 "
    "with a where(), which also zeroes the mixed second derivative; xpgrad keeps its true value "
    "1/x1, as finite differences do (gradgradcheck passes)",
    "fwd_rev": "deviation (docs/deviations.md): torch's pow_backward masks d/dx1 to 0 where x2 == 0, so "
    "the mixed second derivative in its Hessian-vector product (double backward) is 0; xpgrad gives 1/x1",
}
_POW_ZERO_BASE = {
    "second": "deviation (docs/deviations.md): torch 2.13's second derivative of pow is nan at x1 == 0 "
    "(log(0) inside its mask); xpgrad gives the finite limit",
    "fwd_rev": "deviation (docs/deviations.md): torch 2.13's Hessian-vector product of pow (double "
    "backward) is nan at x1 == 0 (log(0) inside its mask); xpgrad gives the finite limit",
    "gradgradcheck": "central differences move the zero base to -eps, where pow with a perturbed "
    "(non-integer) exponent is nan",
}


def _binary_kinks(name, dtype):
    if is_complex(dtype):
        if name == "pow":
            yield Sample(
                (np.array([1 + 1j, 2 - 1j]), np.array([0j, 0j])), name="zero_exponent", xfail=_POW_MASK
            )
        return
    if name in ("maximum", "minimum"):
        # torch splits the gradient evenly on ties; central differences give 1/2 each as well.
        yield Sample(
            (np.array([1.0, -0.5, 2.0, 0.3]), np.array([1.0, 0.7, 2.0, -0.3])),
            name="ties",
            xfail={"gradgradcheck": _GRAD_JUMPS},
        )
    elif name == "pow":
        yield Sample(
            (np.array([0.5, 1.5, 2.0]), np.array([0.0, 0.0, 0.0])), name="zero_exponent", xfail=_POW_MASK
        )
        # torch: d/dx2 of 0 ** x2 is 0 for x2 >= 0 (not nan from log(0)).
        yield Sample(
            (np.array([0.0, 0.0, 1.5]), np.array([2.0, 3.0, 2.0])),
            name="zero_base",
            xfail=_POW_ZERO_BASE,
        )
    elif name == "copysign":
        # torch: the gradient for x1 is 0 where x1 == 0.
        yield Sample(
            (np.array([0.0, 1.5, -2.0]), np.array([-1.0, -1.0, 1.0])),
            name="zero_x1",
            xfail={
                "gradgradcheck": _GRAD_JUMPS,
                "second": "torch's second derivative is nan at x1 = 0 (its copysign backward divides by x1 "
                "inside a where); the first derivative is piecewise constant, xpgrad gives 0",
                "fwd_rev": "torch's Hessian-vector product of copysign (double backward) is nan at x1 = 0 "
                "(its copysign backward divides by x1 inside a where); xpgrad gives 0",
            },
        )


def _binary_samples(name):
    def samples(rng, dtype):
        v = lambda s1, s2: _binary_values(name, rng, s1, s2, dtype)
        yield Sample(v((2, 3), (2, 3)), name="2d")
        yield Sample(v((), ()), name="0d")
        yield Sample(v((3, 1), (1, 4)), name="broadcast")
        yield Sample(v((2, 1, 3), (3,)), name="broadcast_rank")
        yield Sample(v((), (2, 2)), name="0d_with_2d")
        yield Sample(v((0, 3), (3,)), name="empty")
        a, b = v((3, 2), (3, 2))
        yield Sample((noncontig(a), noncontig(b)), name="noncontig")
        a, b = v((4,), ())
        scalar = complex(b) if is_complex(dtype) else float(b)
        yield Sample((a, scalar), name="scalar_x2")
        if name not in ("remainder", "floor_divide", "nextafter", "copysign"):
            a, b = v((), (4,))
            scalar = complex(a) if is_complex(dtype) else float(a)
            yield Sample((scalar, b), name="scalar_x1")
        yield from _binary_kinks(name, dtype)
        if name == "pow":
            x = make(rng, (4,), dtype, 0.3, 2.0)
            yield Sample((x, 2), name="int_exponent")
            yield Sample((x, 0.5), name="float_exponent")
            yield Sample((x, 0), name="exponent_0")
            yield Sample((x, 1), name="exponent_1")

    return samples


_FLOOR_DIVIDE = "torch raises 'derivative for aten::floor_divide is not implemented' (xpgrad gives zeros)"


def _binary_op(name):
    fd_reference = {}
    if name == "floor_divide":
        fd_reference = dict.fromkeys(("first", "second", "jvp", "fwd_rev"), _FLOOR_DIVIDE)
    return OpInfo(
        name,
        _binary_samples(name),
        dtypes=FLOAT if name in _BINARY_REAL_ONLY else ALL_FLOAT,
        fd_reference=fd_reference,
    )


# -- clip ----------------------------------------------------------------------------------------


def _clip(xp, x, lo=None, hi=None):
    return xp.clip(x, lo, hi)


def _clip_samples(rng, dtype):
    x = rng.uniform(-2, 2, size=(3, 4))
    yield Sample((x, -0.5, 0.5), name="scalar_bounds")
    yield Sample((x, -0.5), name="min_only")
    yield Sample((x, None, 0.5), name="max_only")
    yield Sample((x,), name="no_bounds")
    yield Sample((x, rng.uniform(-1, -0.2, size=(3, 1)), rng.uniform(0.2, 1, size=(4,))), name="array_bounds")
    yield Sample((rng.uniform(-2, 2, size=()), np.array(-0.5), np.array(0.5)), name="0d")
    yield Sample((rng.uniform(-2, 2, size=(0, 2)), -0.5, 0.5), name="empty")
    yield Sample(
        (np.array([-0.5, 0.5, 0.0, 1.0]), -0.5, 0.5),
        name="at_bounds",
        xfail={
            "gradcheck": "kink at a bound: torch passes the gradient (inclusive bounds), finite differences give 1/2",
            "gradgradcheck": _GRAD_JUMPS,
        },
    )
    # Unspecified by the standard; torch returns max everywhere (all the gradient goes to max).
    # array_api_strict raises (conformance/known/array_api_strict.py).
    yield Sample(
        (x, np.full((3, 4), 0.5), np.full((3, 4), -0.5)),
        name="min_above_max",
        xfail={
            f"{c}:*:array_api_strict": "array_api_strict raises for min > max (unspecified by the standard)"
            for c in ("gradcheck", "gradgradcheck")
        },
    )


# -- non-differentiable ----------------------------------------------------------------------------


def _int_samples(rng, dtype, nargs):
    if nargs == 1:
        yield Sample((rng.integers(0, 16, size=(2, 3)),), name="2d")
        yield Sample((rng.integers(0, 16, size=()),), name="0d")
        return
    yield Sample((rng.integers(0, 16, size=(2, 3)), rng.integers(0, 4, size=(3,))), name="broadcast")
    yield Sample((rng.integers(0, 16, size=()), rng.integers(0, 4, size=())), name="0d")


def _bool_samples(rng, dtype, nargs):
    b = lambda shape: rng.integers(0, 2, size=shape).astype(bool)
    if nargs == 1:
        yield Sample((b((2, 3)),), name="2d")
        return
    yield Sample((b((2, 3)), b((3,))), name="broadcast")


def _float_samples(rng, dtype, nargs):
    special = np.array([0.0, -0.0, 1.5, -2.0, np.inf, -np.inf, np.nan])
    if nargs == 1:
        yield Sample((special,), name="special_values")
        yield Sample((rng.standard_normal((2, 3)),), name="2d")
        return
    a = rng.standard_normal((3, 4))
    b = a.copy()
    b[0] += 1
    yield Sample((a, b), name="with_equal_entries")
    yield Sample((a, rng.standard_normal((4,))), name="broadcast")
    yield Sample((a, 0.5), name="scalar_x2")


_NONDIFF_KIND = {
    "bitwise_and": "int",
    "bitwise_invert": "int",
    "bitwise_left_shift": "int",
    "bitwise_or": "int",
    "bitwise_right_shift": "int",
    "bitwise_xor": "int",
    "logical_and": "bool",
    "logical_not": "bool",
    "logical_or": "bool",
    "logical_xor": "bool",
}


def _nondiff_op(name, nargs):
    kind = _NONDIFF_KIND.get(name, "float")
    gen = {"int": _int_samples, "bool": _bool_samples, "float": _float_samples}[kind]
    dtypes = {"int": ("int64",), "bool": ("bool",), "float": ("float64",)}[kind]
    return OpInfo(name, lambda rng, dtype: gen(rng, dtype, nargs), dtypes=dtypes, differentiable=False)


OPS = (
    [_unary_op(name) for name in (*ef.UNARY, *ef.UNARY_METHODS)]
    + [_binary_op(name) for name in ef.BINARY]
    + [OpInfo("clip", _clip_samples, fn=_clip, dtypes=FLOAT)]
    + [_nondiff_op(name, 1) for name in ef.NONDIFF_UNARY]
    + [_nondiff_op(name, 2) for name in ef.NONDIFF_BINARY]
)
