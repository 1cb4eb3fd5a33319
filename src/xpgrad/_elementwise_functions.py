"""Elementwise functions: their derivative tables, forward-mode rules and docstrings.

``UNARY`` and ``BINARY`` map each function name to its entry, ``unary(vjp, jvp=...)`` or
``binary(vjp1, vjp2, jvp=...)``; the forward is the backend's function of the same name, and the
namespace's function is generated from the entry (``_fastpaths.py``). A VJP is array API code:
``vjp(xp, g, ...)`` where the parameters after ``g`` name the values it needs (``x``/``out`` for
unary functions, ``x1``/``x2``/``out`` for binary ones); exactly those are saved in the forward
pass. The forward-mode rule ``jvp`` is ``ELEMENTWISE`` (derived from the VJPs, as torch's
``auto_element_wise``), ``LINEAR`` (the function of the tangents) or a function of the tangents
(``x_t``) for the non-holomorphic ones (``abs``, complex ``sign``). ``pow`` and ``sign`` have two
entries each (their saved set depends on an argument), ``clip`` is a method (array bounds).

Conventions (torch.autograd's, see derivatives.yaml):
- complex inputs use the conjugate Wirtinger convention: a holomorphic ``f`` gives
  ``g * conj(f'(z))``; ``abs``, ``sign``, ``real``, ``imag``, ``conj`` have their own rules.
- piecewise-constant functions (``floor``, ``ceil``, ``round``, ``trunc``, ``sign`` of a real
  argument, ``floor_divide``) give zero gradients.
- ``maximum``/``minimum`` split the gradient evenly on ties.
- ``atan2`` and ``hypot`` at the origin, ``sqrt``/``log`` at 0 give the same inf/nan as torch.
"""

from __future__ import annotations

import math
import textwrap

from ._fastpaths import (
    ELEMENTWISE,
    LINEAR,
    RECORD_NO_FORWARD,
    _like_result,
    binary,
    build,
    forward_hook,
    name_entries,
    unary,
)
from ._math import conj, is_complex, sgn, to_complex
from ._ops import record
from ._tensor import Tensor


def _into(xp, g, d):
    """``g * conj(d)`` for a temporary ``d`` of ``g``'s shape and dtype (unary VJPs): in a plain
    backward the product is written into ``d``, saving an allocation."""
    if type(g) is Tensor:
        return g * conj(xp, d)
    if is_complex(xp, d):
        d = xp.conj(d)
    d *= g
    return d


def _zeros(xp, g):
    return xp.zeros_like(g)


def _sgn_vjp(xp, g, x, out):
    # torch's sgn_backward: (g - Re(g * conj(sgn)) * sgn) / |x|, and 0 at x == 0.
    a = xp.abs(x)
    safe = xp.where(a == 0, xp.ones_like(a), a)
    gc = to_complex(xp, g)
    r = (gc - xp.real(gc * xp.conj(out)) * out) / safe
    return xp.where(a == 0, xp.zeros_like(r), r)


def _imag_vjp(xp, g):
    # imag(a + ib) = b, so dL/da = 0 and dL/db = g: the gradient is i * g.
    gc = to_complex(xp, g)
    return gc * 1j


def _acosh_vjp(xp, g, x):
    # x - (-1), not x + 1: adding (1 + 0j) turns an imaginary part -0.0 into +0.0, and on the
    # branch cut (x real, < 1) the sign of that zero picks the side the derivative is taken on.
    return g / conj(xp, xp.sqrt(x - 1) * xp.sqrt(x - (-1)))


def small_power(xp, x, p):
    """``x ** p`` for a Python number ``p``, with products for small integer powers.

    NumPy's ``pow`` is up to ~20x slower than ``x*x*x`` (it calls the C library's pow for
    negative bases); torch special-cases the same exponents.
    """
    if p == 2:
        return x * x
    if p == 3:
        return x * x * x
    if p == 1:
        return x
    if p == 4:
        y = x * x
        return y * y
    if p == -1:
        return 1 / x
    if p == -2:
        return 1 / (x * x)
    if p == 0.5:
        return xp.sqrt(x)
    return x**p


def make_pow_forward(xp_pow, is_floating):
    """The forward of ``pow``: products for small Python exponents on floating arrays."""

    def pow_forward(x1, x2):
        t = type(x2)
        if (t is int or t is float) and x2 in _FAST_POWERS and is_floating(x1.dtype):
            if x2 == 2:
                return x1 * x1
            if x2 == 3:
                return x1 * x1 * x1
            if x2 == 4:
                y = x1 * x1
                return y * y
            if x2 == -1:
                return 1 / x1
            if x2 == -2:
                return 1 / (x1 * x1)
        return xp_pow(x1, x2)

    return pow_forward


_FAST_POWERS = (2, 3, 4, -1, -2)


def _scaled(d, c):
    """``d * c`` for a temporary ``d``, in place where possible."""
    if type(d) is not Tensor and type(c) is not complex:
        d *= c
        return d
    return d * c


def _pow_vjp1(xp, g, x1, x2):
    # d/dx1 x1**x2 = x2 * x1**(x2 - 1). torch gives 0 where x2 == 0, including x1 == 0 where
    # the formula is 0 * inf. Only that point is masked here (with a safe base, so no nan
    # leaks into second order): elsewhere the formula itself is 0 at x2 == 0 and keeps its
    # correct derivative with respect to x2 (1 / x1), as finite differences say; torch masks
    # it to 0 (see docs/deviations.md).
    if isinstance(x2, (int, float, complex)) and not isinstance(x2, bool):
        if x2 == 0:
            return xp.zeros_like(g)
        if x2 == 1:
            return g
        if x2 == 2:
            return _into(xp, g, x1 * 2)
        d = small_power(xp, x1, x2 - 1)
        return _into(xp, g, d * x2) if d is x1 else _into(xp, g, _scaled(d, x2))
    # x1 is an array here (this VJP runs only when x1 requires grad).
    mask = xp.logical_and(x1 == 0, x2 == 0)
    d = x2 * xp.where(mask, xp.ones_like(x1), x1) ** (x2 - 1)
    d = xp.where(mask, xp.zeros_like(d), d)
    return g * conj(xp, d)


def _pow_vjp2(xp, g, x1, x2, out):
    # d/dx2 x1**x2 = x1**x2 * log(x1); torch defines it as 0 where x1 == 0 and Re(x2) >= 0
    # (where x2 < 0 it is inf * -inf = -inf, as torch). The log is taken of a safe base in the
    # masked entries so that they carry no nan into second order.
    if isinstance(x1, (int, float, complex)) and not isinstance(x1, bool):
        if x1 == 0:
            # x2 is an array here (this VJP runs only when x2 requires grad).
            d = out * (-math.inf)
            return g * xp.where(xp.real(x2) >= 0 if is_complex(xp, x2) else x2 >= 0, xp.zeros_like(d), d)
        if isinstance(x1, complex) or x1 < 0:
            return g * conj(xp, out * _clog(x1))  # a negative real base: complex power
        return g * conj(xp, out * math.log(x1))
    re2 = xp.real(x2) if is_complex(xp, x2) else x2
    mask = xp.logical_and(x1 == 0, re2 >= 0)
    if is_complex(xp, out) and not is_complex(xp, x1):
        x1 = to_complex(xp, x1)  # a real base to a complex power: log of a negative base
    d = out * xp.log(xp.where(mask, xp.ones_like(x1), x1))
    d = xp.where(mask, xp.zeros_like(d), d)
    return g * conj(xp, d)


def _clog(z):
    import cmath

    return cmath.log(z)


def _maximum_vjp1(xp, g, x1, x2):
    r = xp.where(x1 == x2, g / 2, g)
    return xp.where(x1 < x2, xp.zeros_like(r), r)


def _maximum_vjp2(xp, g, x1, x2):
    r = xp.where(x1 == x2, g / 2, g)
    return xp.where(x1 > x2, xp.zeros_like(r), r)


def _minimum_vjp1(xp, g, x1, x2):
    r = xp.where(x1 == x2, g / 2, g)
    return xp.where(x1 > x2, xp.zeros_like(r), r)


def _minimum_vjp2(xp, g, x1, x2):
    r = xp.where(x1 == x2, g / 2, g)
    return xp.where(x1 < x2, xp.zeros_like(r), r)


def _copysign_vjp1(xp, g, x1, out):
    # torch: grad * (result / self), with 0 where self == 0.
    safe = xp.where(x1 == 0, xp.ones_like(x1), x1)
    ratio = xp.where(x1 == 0, xp.zeros_like(out), out / safe)
    return g * ratio


def _atan2_recip(xp, x1, x2):
    # 1 / (x1^2 + x2^2), with 0 at the origin as torch 2.13 gives (atan2 has no derivative
    # there); a safe denominator keeps nan out of second order.
    d = x1 * x1 + x2 * x2
    zero = d == 0
    return xp.where(zero, xp.zeros_like(d), 1 / xp.where(zero, xp.ones_like(d), d))


def _atan2_vjp1(xp, g, x1, x2):
    return g * (x2 * _atan2_recip(xp, x1, x2))


def _atan2_vjp2(xp, g, x1, x2):
    return g * (-x1 * _atan2_recip(xp, x1, x2))


def _abs_jvp(xp, x_t, x):
    # torch: handle_r_to_c(result, self_t.conj() * self.sgn()): d|z| = Re(conj(t) * sgn(z)).
    if is_complex(xp, x):
        return xp.real(xp.conj(x_t) * sgn(xp, x))
    return x_t * xp.sign(x)


def _sgn_jvp(xp, x_t, x, out):
    # torch: sgn_backward(self_p, self_t, result): sgn's Jacobian is symmetric (not Hermitian),
    # so the VJP's formula applied to the tangent is the JVP.
    return _sgn_vjp(xp, x_t, x, out)


_LN2 = math.log(2.0)
_LN10 = math.log(10.0)

# name -> unary(vjp(xp, g, [x], [out]), jvp=rule); the forward is the backend's function.
UNARY = name_entries(
    {
        "abs": unary(lambda xp, g, x: g * sgn(xp, x), jvp=_abs_jvp),
        "acos": unary(lambda xp, g, x: -g / conj(xp, xp.sqrt(1 - x * x)), jvp=ELEMENTWISE),
        "acosh": unary(_acosh_vjp, jvp=ELEMENTWISE),
        "asin": unary(lambda xp, g, x: g / conj(xp, xp.sqrt(1 - x * x)), jvp=ELEMENTWISE),
        "asinh": unary(lambda xp, g, x: g / conj(xp, xp.sqrt(x * x + 1)), jvp=ELEMENTWISE),
        "atan": unary(lambda xp, g, x: g / conj(xp, 1 + x * x), jvp=ELEMENTWISE),
        "atanh": unary(lambda xp, g, x: g / conj(xp, 1 - x * x), jvp=ELEMENTWISE),
        "ceil": unary(_zeros, jvp=ELEMENTWISE),
        "conj": unary(lambda xp, g: xp.conj(g) if is_complex(xp, g) else g, jvp=LINEAR),
        "cos": unary(lambda xp, g, x: _into(xp, g, -xp.sin(x)), jvp=ELEMENTWISE),
        "cosh": unary(lambda xp, g, x: _into(xp, g, xp.sinh(x)), jvp=ELEMENTWISE),
        "exp": unary(lambda xp, g, out: g * conj(xp, out), jvp=ELEMENTWISE),
        "expm1": unary(lambda xp, g, out: g * conj(xp, out + 1), jvp=ELEMENTWISE),
        "floor": unary(_zeros, jvp=ELEMENTWISE),
        "imag": unary(_imag_vjp, jvp=LINEAR),
        "log": unary(lambda xp, g, x: g / conj(xp, x), jvp=ELEMENTWISE),
        "log1p": unary(lambda xp, g, x: g / conj(xp, x + 1), jvp=ELEMENTWISE),
        "log2": unary(lambda xp, g, x: g / conj(xp, x * _LN2), jvp=ELEMENTWISE),
        "log10": unary(lambda xp, g, x: g / conj(xp, x * _LN10), jvp=ELEMENTWISE),
        "negative": unary(lambda xp, g: -g, jvp=LINEAR),
        "positive": unary(lambda xp, g: g, jvp=LINEAR),
        "real": unary(lambda xp, g: g, jvp=LINEAR),
        "reciprocal": unary(lambda xp, g, out: -g * conj(xp, out * out), jvp=ELEMENTWISE),
        "round": unary(_zeros, jvp=ELEMENTWISE),
        "sin": unary(lambda xp, g, x: _into(xp, g, xp.cos(x)), jvp=ELEMENTWISE),
        "sinh": unary(lambda xp, g, x: _into(xp, g, xp.cosh(x)), jvp=ELEMENTWISE),
        "sqrt": unary(lambda xp, g, out: g / (2 * conj(xp, out)), jvp=ELEMENTWISE),
        "square": unary(lambda xp, g, x: _into(xp, g, x * 2), jvp=ELEMENTWISE),
        "tan": unary(lambda xp, g, out: _into(xp, g, out * out + 1), jvp=ELEMENTWISE),
        "tanh": unary(lambda xp, g, out: _into(xp, g, 1 - out * out), jvp=ELEMENTWISE),
        "trunc": unary(_zeros, jvp=ELEMENTWISE),
    }
)

# name -> binary(vjp for x1, vjp for x2, jvp=rule); VJP parameters after (xp, g) from (x1, x2, out).
# The real-only functions (atan2, copysign, hypot, ...) and the piecewise ones (maximum at ties:
# torch's result formula gives (t1 + t2) / 2, as the VJPs' even split) take ELEMENTWISE.
BINARY = name_entries(
    {
        "add": binary(lambda xp, g: g, lambda xp, g: g, jvp=LINEAR),
        "atan2": binary(_atan2_vjp1, _atan2_vjp2, jvp=ELEMENTWISE),
        # torch saves the result whenever the node exists (also when only x2 requires grad).
        "copysign": binary(_copysign_vjp1, lambda xp, g, out: xp.zeros_like(g), jvp=ELEMENTWISE),
        "divide": binary(
            lambda xp, g, x2: g / conj(xp, x2),
            # torch's div_tensor_other_backward: it saves both inputs, not the result.
            lambda xp, g, x1, x2: -g * conj(xp, (x1 / x2) / x2),
            jvp=ELEMENTWISE,
        ),
        "floor_divide": binary(_zeros, _zeros, jvp=ELEMENTWISE),
        "hypot": binary(
            lambda xp, g, x1, out: g * (x1 / out), lambda xp, g, x2, out: g * (x2 / out), jvp=ELEMENTWISE
        ),
        "logaddexp": binary(
            lambda xp, g, x1, x2: g / (1 + xp.exp(x2 - x1)),
            lambda xp, g, x1, x2: g / (1 + xp.exp(x1 - x2)),
            jvp=ELEMENTWISE,
        ),
        "maximum": binary(_maximum_vjp1, _maximum_vjp2, jvp=ELEMENTWISE),
        "minimum": binary(_minimum_vjp1, _minimum_vjp2, jvp=ELEMENTWISE),
        "multiply": binary(
            lambda xp, g, x2: g * conj(xp, x2), lambda xp, g, x1: g * conj(xp, x1), jvp=ELEMENTWISE
        ),
        # nextafter(x1, x2) moves x1 by one ulp: d/dx1 = 1 (0 where x1 == x2: the result is x2),
        # d/dx2 = 0, as torch.
        "nextafter": binary(
            lambda xp, g, x1, x2: xp.where(x1 != x2, g, xp.zeros_like(g)), _zeros, jvp=ELEMENTWISE
        ),
        # pow's saved set depends on the exponent's type: see make_pow (and _POW_ARRAY).
        "pow": binary(_pow_vjp1, _pow_vjp2, jvp=ELEMENTWISE),
        "remainder": binary(lambda xp, g: g, lambda xp, g, x1, x2: -g * xp.floor(x1 / x2), jvp=ELEMENTWISE),
        "subtract": binary(lambda xp, g: g, lambda xp, g: -g, jvp=LINEAR),
    }
)

NONDIFF_UNARY = ("bitwise_invert", "isfinite", "isinf", "isnan", "logical_not", "signbit")

NONDIFF_BINARY = (
    "bitwise_and",
    "bitwise_left_shift",
    "bitwise_or",
    "bitwise_right_shift",
    "bitwise_xor",
    "equal",
    "greater",
    "greater_equal",
    "less",
    "less_equal",
    "logical_and",
    "logical_or",
    "logical_xor",
    "not_equal",
)


# -- functions with two entries: the saved set depends on an argument's type ------------------------


def _pow_vjp1_tensor(xp, g, x1, x2, out):
    # With an array exponent torch saves the result too (pow.Tensor_Tensor), so an in-place
    # change of the result raises even when only the base requires grad.
    return _pow_vjp1(xp, g, x1, x2)


_POW_ARRAY = binary(_pow_vjp1_tensor, _pow_vjp2, jvp=ELEMENTWISE)
_POW_ARRAY.name = "pow"


def make_pow(ns, fwd):
    """``pow``: torch's saved set is ``(x1,)`` for a Python exponent (pow.Tensor_Scalar) and
    ``(x1, x2, out)`` for an array exponent (pow.Tensor_Tensor): two fast paths."""
    fwd = make_pow_forward(fwd, ns._is_differentiable_dtype)
    scalar_pow = build(ns, BINARY["pow"], fwd)
    array_pow = build(ns, _POW_ARRAY, fwd)

    def pow(x1, x2, /):
        t = type(x2)
        if t is int or t is float or t is complex or t is bool:
            return scalar_pow(x1, x2)
        return array_pow(x1, x2)

    return pow


# ``sign`` is torch's ``sign`` for real input (piecewise constant: saves nothing) and its ``sgn``
# for complex input (saves the input and the result).
UNARY_METHODS = ("sign",)
_SIGN_REAL = unary(_zeros, jvp=ELEMENTWISE)
_SIGN_COMPLEX = unary(_sgn_vjp, jvp=_sgn_jvp)
_SIGN_REAL.name = _SIGN_COMPLEX.name = "sign"


def make_sign(ns, fwd):
    """``sign``: two fast paths, chosen by the dtype."""
    real_sign = build(ns, _SIGN_REAL, fwd)
    complex_sign = build(ns, _SIGN_COMPLEX, fwd)
    coerce = ns._coerce_unary
    is_complex_dtype = ns._is_complex_dtype

    def sign(x, /):
        if type(x) is not Tensor or x._ns is not ns:
            x = coerce(x, "sign")
        if is_complex_dtype(x._data.dtype):
            return complex_sign(x)
        return real_sign(x)

    return sign


# -- clip: a namespace method (its bounds may be arrays or Python scalars, passed by keyword) -------

__all__ = ["clip"]


def clip(self, x, /, min=None, max=None):
    x = self._tensor(x, "clip")
    bounds = []
    for b, argname in ((min, "min"), (max, "max")):
        if b is None or isinstance(b, (int, float)):
            bounds.append(b)
        else:
            bounds.append(self._tensor(b, "clip", argname))
    lo, hi = bounds
    raw = [b._data if type(b) is Tensor else b for b in bounds]
    data = self._xp.clip(x._data, raw[0], raw[1])
    needs = tuple(type(a) is Tensor and a._requires_grad for a in (x, lo, hi))
    if lo is None and hi is None:
        t = record(self, "clip", _clip_unbounded_vjp, (x, lo, hi), data, **RECORD_NO_FORWARD)
    else:
        kw = {"needs": needs}
        t = record(self, "clip", clip_vjp, (x, lo, hi), data, saved=(x, lo, hi), kw=kw, **RECORD_NO_FORWARD)
    forward_hook(self, "clip", _clip_rule, (x, lo, hi), t)
    return t


def _clip_unbounded_vjp(xp, g):
    return g, None, None


def clip_vjp(xp, g, x, lo, hi, *, needs):
    """Bounds are inclusive, as torch.clamp: the gradient passes where lo <= x <= hi."""
    zero = xp.zeros_like(g)
    inside = None
    if lo is not None:
        inside = x >= lo
    if hi is not None:
        inside = (x <= hi) if inside is None else xp.logical_and(inside, x <= hi)
    gx = g if inside is None else xp.where(inside, g, zero)
    glo = ghi = None
    if needs[1]:
        glo = xp.where(x < lo, g, zero)
        if hi is not None:
            glo = xp.where(lo > hi, zero, glo)
    if needs[2]:
        ghi = xp.where(x > hi, g, zero)
        if lo is not None:
            # When lo > hi torch returns hi everywhere: all the gradient goes to hi.
            ghi = xp.where(lo > hi, g, ghi)
            gx = xp.where(lo > hi, zero, gx)
    return gx, glo, ghi


def _clip_rule(xp, tangents, inputs, args=None, out=None, aux=None):
    """torch's clamp_jvp (array bounds) and auto_element_wise (Python scalar bounds, whose
    tangent is 0): the tangent of whichever of x, min, max the result takes. Ties go as in
    torch: to x when both bounds are given, to the bound when only one array bound is."""
    x, lo, hi = inputs
    x_t, lo_t, hi_t = tangents
    if out is None:
        out = xp.clip(x, lo, hi)
    if x_t is None:
        x_t = xp.zeros_like(out)
    zero = xp.zeros_like(x_t)
    lo_t = zero if lo_t is None else lo_t
    hi_t = zero if hi_t is None else hi_t
    if lo is not None and hi is not None:
        r = xp.where(x > hi, hi_t, x_t)
        r = xp.where(x < lo, lo_t, r)
        swapped = lo > hi  # the result is max everywhere (torch's rule): a Python bool for scalars
        if hasattr(swapped, "shape"):
            r = xp.where(swapped, hi_t, r)
        elif swapped:
            r = hi_t
    elif lo is not None:
        r = xp.where(x > lo, x_t, lo_t) if hasattr(lo, "shape") else xp.where(x >= lo, x_t, zero)
    elif hi is not None:
        r = xp.where(x < hi, x_t, hi_t) if hasattr(hi, "shape") else xp.where(x <= hi, x_t, zero)
    else:
        r = x_t
    return _like_result(xp, r, out)


# -- the namespace's functions --------------------------------------------------------------------


def functions(ns):
    """``(name, function)`` of every elementwise function of namespace ``ns`` (its table entries
    and the functions with two entries), each with its docstring."""
    xp = ns._xp
    fns = {name: build(ns, entry, getattr(xp, name)) for name, entry in UNARY.items()}
    fns.update((name, build(ns, entry, getattr(xp, name))) for name, entry in BINARY.items() if name != "pow")
    fns["pow"] = make_pow(ns, xp.pow)
    fns["sign"] = make_sign(ns, xp.sign)
    fns.update((name, build(ns, 1, getattr(xp, name), name)) for name in NONDIFF_UNARY)
    fns.update((name, build(ns, 2, getattr(xp, name), name)) for name in NONDIFF_BINARY)
    for name, f in fns.items():
        f.__name__ = f.__qualname__ = name
        f.__doc__ = docstring(name)
        f.__module__ = ns.__name__
    return fns.items()


# -- docstrings -----------------------------------------------------------------------------------

_EACH = "for each element x_i of the input array x"
_PAIR = "for each element x1_i of the input array x1 with the respective element x2_i of x2"

# name -> (the standard's one-line summary, the gradient convention)
_DOCS = {
    "abs": (f"Calculates the absolute value {_EACH}.", "g * sgn(x), with sgn(0) = 0 (complex: x / |x|)"),
    "acos": (f"Principal value of the inverse cosine {_EACH}.", "-g / conj(sqrt(1 - x**2))"),
    "acosh": (f"Inverse hyperbolic cosine {_EACH}.", "g / conj(sqrt(x - 1) * sqrt(x + 1))"),
    "add": (f"Calculates the sum {_PAIR}.", "g for both inputs"),
    "asin": (f"Principal value of the inverse sine {_EACH}.", "g / conj(sqrt(1 - x**2))"),
    "asinh": (f"Inverse hyperbolic sine {_EACH}.", "g / conj(sqrt(x**2 + 1))"),
    "atan": (f"Principal value of the inverse tangent {_EACH}.", "g / conj(1 + x**2)"),
    "atan2": (
        "Inverse tangent of the quotient x1/x2, in [-pi, pi], for each pair (x1_i, x2_i).",
        "g * x2 / (x1**2 + x2**2) and -g * x1 / (x1**2 + x2**2); 0 at the origin, as torch",
    ),
    "atanh": (f"Inverse hyperbolic tangent {_EACH}.", "g / conj(1 - x**2)"),
    "ceil": (f"Rounds to the smallest integer-valued number not less than x_i, {_EACH}.", "zero, as torch"),
    "clip": (
        "Clamps each element x_i of the input array x to the range [min, max].",
        "g where min <= x <= max (inclusive, as torch.clamp), else zero; array bounds get g where "
        "they are selected (all of it to max where min > max, as torch)",
    ),
    "conj": (f"Returns the complex conjugate {_EACH}.", "conj(g)"),
    "copysign": (
        "The magnitude of x1_i with the sign of x2_i, for each element of x1.",
        "g * copysign(1, x2) * sign(x1), i.e. g * out / x1 (0 where x1 == 0, as torch); zero for x2",
    ),
    "cos": (f"Calculates the cosine {_EACH}.", "-g * conj(sin(x))"),
    "cosh": (f"Calculates the hyperbolic cosine {_EACH}.", "g * conj(sinh(x))"),
    "divide": (f"Calculates the division {_PAIR}.", "g / conj(x2) and -g * conj(x1 / x2**2)"),
    "exp": (f"Calculates the exponential function {_EACH}.", "g * conj(exp(x))"),
    "expm1": (f"Calculates exp(x) - 1 {_EACH}.", "g * conj(exp(x))"),
    "floor": (
        f"Rounds to the greatest integer-valued number not greater than x_i, {_EACH}.",
        "zero, as torch",
    ),
    "floor_divide": (f"Rounds the result of the division down to an integer-valued number, {_PAIR}.", "zero"),
    "hypot": (f"Square root of the sum of squares {_PAIR}.", "g * x1 / out and g * x2 / out"),
    "imag": (f"Returns the imaginary component {_EACH}.", "1j * g (d imag(a + ib) / db = 1)"),
    "log": (f"Calculates the natural logarithm {_EACH}.", "g / conj(x)"),
    "log1p": (f"Calculates log(1 + x) {_EACH}.", "g / conj(x + 1)"),
    "log2": (f"Calculates the base 2 logarithm {_EACH}.", "g / conj(x * ln(2))"),
    "log10": (f"Calculates the base 10 logarithm {_EACH}.", "g / conj(x * ln(10))"),
    "logaddexp": (
        f"Calculates log(exp(x1) + exp(x2)) {_PAIR}.",
        "g / (1 + exp(x2 - x1)) and g / (1 + exp(x1 - x2))",
    ),
    "maximum": (
        f"Computes the maximum value {_PAIR}.",
        "g to the larger input; split evenly at ties, as torch",
    ),
    "minimum": (
        f"Computes the minimum value {_PAIR}.",
        "g to the smaller input; split evenly at ties, as torch",
    ),
    "multiply": (f"Calculates the product {_PAIR}.", "g * conj(x2) and g * conj(x1)"),
    "negative": (f"Computes the numerical negative {_EACH}.", "-g"),
    "nextafter": (
        "The next representable floating-point value after x1_i in the direction of x2_i.",
        "g for x1 (zero where x1 == x2, where the result is x2), zero for x2, as torch",
    ),
    "positive": (f"Computes the numerical positive {_EACH}.", "g"),
    "pow": (
        "Raises each element x1_i (the base) to the power of the respective element x2_i.",
        "g * conj(x2 * x1**(x2 - 1)) and g * conj(x1**x2 * log(x1)), with torch's values at "
        "x2 == 0 (zero for x1) and x1 == 0 (zero for x2 where Re(x2) >= 0)",
    ),
    "real": (f"Returns the real component {_EACH}.", "g (as a complex gradient with zero imaginary part)"),
    "reciprocal": (f"Returns the reciprocal {_EACH}.", "-g * conj(1 / x**2)"),
    "remainder": (f"Returns the remainder of division {_PAIR}.", "g and -g * floor(x1 / x2)"),
    "round": (f"Rounds to the nearest integer-valued number (half to even) {_EACH}.", "zero, as torch"),
    "sign": (
        f"Returns an indication of the sign (x / |x| for complex x) {_EACH}.",
        "zero for real input (torch's sign); complex input: torch's sgn_backward, "
        "(g - Re(g * conj(sgn(x))) * sgn(x)) / |x|",
    ),
    "sin": (f"Calculates the sine {_EACH}.", "g * conj(cos(x))"),
    "sinh": (f"Calculates the hyperbolic sine {_EACH}.", "g * conj(cosh(x))"),
    "sqrt": (f"Calculates the principal square root {_EACH}.", "g / (2 * conj(sqrt(x))); inf at 0, as torch"),
    "square": ("Squares each element x_i of the input array x.", "g * conj(2 * x)"),
    "subtract": (f"Calculates the difference {_PAIR}.", "g and -g"),
    "tan": (f"Calculates the tangent {_EACH}.", "g * conj(1 + tan(x)**2)"),
    "tanh": (f"Calculates the hyperbolic tangent {_EACH}.", "g * conj(1 - tanh(x)**2)"),
    "trunc": (
        f"Rounds to the nearest integer-valued number closer to zero than x_i, {_EACH}.",
        "zero, as torch",
    ),
    # not differentiable
    "bitwise_and": (f"Computes the bitwise AND {_PAIR}.", None),
    "bitwise_invert": (f"Inverts (flips) each bit {_EACH}.", None),
    "bitwise_left_shift": (f"Shifts the bits of x1_i to the left by x2_i, {_PAIR}.", None),
    "bitwise_or": (f"Computes the bitwise OR {_PAIR}.", None),
    "bitwise_right_shift": (f"Shifts the bits of x1_i to the right by x2_i, {_PAIR}.", None),
    "bitwise_xor": (f"Computes the bitwise XOR {_PAIR}.", None),
    "equal": (f"Computes the truth value of x1_i == x2_i {_PAIR}.", None),
    "greater": (f"Computes the truth value of x1_i > x2_i {_PAIR}.", None),
    "greater_equal": (f"Computes the truth value of x1_i >= x2_i {_PAIR}.", None),
    "isfinite": (f"Tests whether x_i is finite, {_EACH}.", None),
    "isinf": (f"Tests whether x_i is equal to positive or negative infinity, {_EACH}.", None),
    "isnan": (f"Tests whether x_i is NaN, {_EACH}.", None),
    "less": (f"Computes the truth value of x1_i < x2_i {_PAIR}.", None),
    "less_equal": (f"Computes the truth value of x1_i <= x2_i {_PAIR}.", None),
    "logical_and": (f"Computes the logical AND {_PAIR}.", None),
    "logical_not": (f"Computes the logical NOT {_EACH}.", None),
    "logical_or": (f"Computes the logical OR {_PAIR}.", None),
    "logical_xor": (f"Computes the logical XOR {_PAIR}.", None),
    "not_equal": (f"Computes the truth value of x1_i != x2_i {_PAIR}.", None),
    "signbit": (f"Determines whether the sign bit is set {_EACH}.", None),
}

# name -> the deviations from torch that apply (docs/deviations.md)
_DEVIATIONS = {
    "acosh": "a real x below -1 gives a nan gradient (torch: a finite one for a nan value); on the "
    "complex cut between -1 and 1 the signed zero of the imaginary part picks the side, as the value",
    "atan2": "the second derivative and the forward-mode tangent at the origin are 0 (torch: nan)",
    "conj": "a complex x gives a new array, not a conjugate view (torch: a write into the view changes x)",
    "copysign": "the second derivative at x1 == 0 is 0 (torch: nan)",
    "divide": "a Python scalar s in s / x saves x, so an in-place change of x makes backward raise "
    "(torch computes reciprocal(x) * s and saves the reciprocal)",
    "floor_divide": "torch raises 'derivative not implemented'; xpgrad gives zeros",
    "pow": "at x2 == 0 the mixed second derivative is 1/x1 (torch masks it to 0); at x1 == 0 the "
    "second derivative is the finite limit (torch: nan)",
    "remainder": "remainder(s, x) with a Python scalar s is differentiable in x (torch raises)",
    "sign": "a complex 0 gets gradient 0 (torch: nan)",
}
_SCALAR_OPERAND = (
    "a Python scalar operand stays a Python number, never saved (through array_api_compat.torch "
    "torch makes it a 0-d tensor, which it saves)"
)


def docstring(name):
    """The docstring of elementwise function ``name``: the standard's summary, the gradient
    convention (complex inputs: torch's, ``g`` times the conjugate derivative), the deviations."""
    summary, gradient = _DOCS[name]
    if gradient is None:
        return f"{summary}\n\nNot differentiable: the result never requires grad."
    deviations = _DEVIATIONS.get(name)
    if name in BINARY and any(v != "out" for names in BINARY[name].names for v in names):
        deviations = _SCALAR_OPERAND if deviations is None else f"{deviations}; {_SCALAR_OPERAND}"
    paragraphs = (summary, f"Gradient: {gradient}.", f"Deviations from torch: {deviations or 'none'}.")
    return "\n\n".join(textwrap.fill(p, 88) for p in paragraphs)


clip.__doc__ = docstring("clip")
