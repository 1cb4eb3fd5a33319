"""Elementwise functions and their VJPs.

Tables map each function name to its VJP(s). A VJP is array API code: ``vjp(xp, g, ...)`` where
the parameters after ``g`` name the values it needs (``x``/``out`` for unary functions,
``x1``/``x2``/``out`` for binary ones); exactly those are saved in the forward pass.

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

from ._math import conj, is_complex, sgn, to_complex
from ._ops import OUT, make_binary, record
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


_LN2 = math.log(2.0)
_LN10 = math.log(10.0)

# name -> vjp(xp, g, [x], [out])
UNARY = {
    "abs": lambda xp, g, x: g * sgn(xp, x),
    "acos": lambda xp, g, x: -g / conj(xp, xp.sqrt(1 - x * x)),
    "acosh": _acosh_vjp,
    "asin": lambda xp, g, x: g / conj(xp, xp.sqrt(1 - x * x)),
    "asinh": lambda xp, g, x: g / conj(xp, xp.sqrt(x * x + 1)),
    "atan": lambda xp, g, x: g / conj(xp, 1 + x * x),
    "atanh": lambda xp, g, x: g / conj(xp, 1 - x * x),
    "ceil": _zeros,
    "conj": lambda xp, g: xp.conj(g) if is_complex(xp, g) else g,
    "cos": lambda xp, g, x: _into(xp, g, -xp.sin(x)),
    "cosh": lambda xp, g, x: _into(xp, g, xp.sinh(x)),
    "exp": lambda xp, g, out: g * conj(xp, out),
    "expm1": lambda xp, g, out: g * conj(xp, out + 1),
    "floor": _zeros,
    "imag": _imag_vjp,
    "log": lambda xp, g, x: g / conj(xp, x),
    "log1p": lambda xp, g, x: g / conj(xp, x + 1),
    "log2": lambda xp, g, x: g / conj(xp, x * _LN2),
    "log10": lambda xp, g, x: g / conj(xp, x * _LN10),
    "negative": lambda xp, g: -g,
    "positive": lambda xp, g: g,
    "real": lambda xp, g: g,
    "reciprocal": lambda xp, g, out: -g * conj(xp, out * out),
    "round": _zeros,
    "sin": lambda xp, g, x: _into(xp, g, xp.cos(x)),
    "sinh": lambda xp, g, x: _into(xp, g, xp.cosh(x)),
    "sqrt": lambda xp, g, out: g / (2 * conj(xp, out)),
    "square": lambda xp, g, x: _into(xp, g, x * 2),
    "tan": lambda xp, g, out: _into(xp, g, out * out + 1),
    "tanh": lambda xp, g, out: _into(xp, g, 1 - out * out),
    "trunc": _zeros,
}

# name -> (vjp for x1, vjp for x2); parameters after (xp, g) from (x1, x2, out)
BINARY = {
    "add": (lambda xp, g: g, lambda xp, g: g),
    "atan2": (_atan2_vjp1, _atan2_vjp2),
    # torch saves the result whenever the node exists (also when only x2 requires grad).
    "copysign": (_copysign_vjp1, lambda xp, g, out: xp.zeros_like(g)),
    "divide": (
        lambda xp, g, x2: g / conj(xp, x2),
        # torch's div_tensor_other_backward: it saves both inputs, not the result.
        lambda xp, g, x1, x2: -g * conj(xp, (x1 / x2) / x2),
    ),
    "floor_divide": (_zeros, _zeros),
    "hypot": (lambda xp, g, x1, out: g * (x1 / out), lambda xp, g, x2, out: g * (x2 / out)),
    "logaddexp": (
        lambda xp, g, x1, x2: g / (1 + xp.exp(x2 - x1)),
        lambda xp, g, x1, x2: g / (1 + xp.exp(x1 - x2)),
    ),
    "maximum": (_maximum_vjp1, _maximum_vjp2),
    "minimum": (_minimum_vjp1, _minimum_vjp2),
    "multiply": (lambda xp, g, x2: g * conj(xp, x2), lambda xp, g, x1: g * conj(xp, x1)),
    # nextafter(x1, x2) moves x1 by one ulp: d/dx1 = 1 (0 where x1 == x2: the result is x2),
    # d/dx2 = 0, as torch.
    "nextafter": (lambda xp, g, x1, x2: xp.where(x1 != x2, g, xp.zeros_like(g)), _zeros),
    "pow": (_pow_vjp1, _pow_vjp2),
    "remainder": (
        lambda xp, g: g,
        lambda xp, g, x1, x2: -g * xp.floor(x1 / x2),
    ),
    "subtract": (lambda xp, g: g, lambda xp, g: -g),
}

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

# clip(x, /, min=None, max=None) has array bounds too, so it is a namespace method (installed
# by _namespace from __all__) rather than a table entry.

__all__ = ["clip", "sign"]

# Unary functions written as namespace methods (their saved set depends on the dtype), sampled
# like the table's.
UNARY_METHODS = ("sign",)


def sign(self, x, /):
    """``sign`` (torch's ``sgn`` for complex input): the saved set follows the dtype.

    A real ``sign`` is piecewise constant and saves nothing (torch's ``sign``); a complex one
    saves the input and the result (torch's ``sgn``).
    """
    x = self._coerce_unary(x, "sign")
    data = self._xp.sign(x._data)
    if self._is_complex_dtype(x.dtype):
        return record(self, "sign", _sgn_vjp, (x,), data, saved=(x, OUT))
    return record(self, "sign", _zeros, (x,), data)


def _pow_vjp1_tensor(xp, g, x1, x2, out):
    # With an array exponent torch saves the result too (pow.Tensor_Tensor), so an in-place
    # change of the result raises even when only the base requires grad.
    return _pow_vjp1(xp, g, x1, x2)


def make_pow(ns, fwd):
    """``pow``: torch's saved set is ``(x1,)`` for a Python exponent (pow.Tensor_Scalar) and
    ``(x1, x2, out)`` for an array exponent (pow.Tensor_Tensor)."""
    fwd = make_pow_forward(fwd, ns._is_differentiable_dtype)
    scalar_pow = make_binary(ns, "pow", fwd, _pow_vjp1, _pow_vjp2)
    array_pow = make_binary(ns, "pow", fwd, _pow_vjp1_tensor, _pow_vjp2)

    def pow(x1, x2, /):
        t = type(x2)
        if t is int or t is float or t is complex or t is bool:
            return scalar_pow(x1, x2)
        return array_pow(x1, x2)

    pow.__name__ = pow.__qualname__ = "pow"
    return pow


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
        return record(self, "clip", _clip_unbounded_vjp, (x, lo, hi), data)
    return record(self, "clip", clip_vjp, (x, lo, hi), data, saved=(x, lo, hi), kw={"needs": needs})


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
