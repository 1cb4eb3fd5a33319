"""Statistical functions (reductions and cumulative ops): the derivative table.

Each entry is the forward on raw arrays (``xp``: the backend namespace) with the standard's
signature, its VJP beside it (array API code on the ``xp`` it is handed: the backend namespace
in a plain backward, the xpgrad namespace under ``create_graph=True``) and its forward-mode
rule (``jvp``). Conventions, as torch.autograd (``derivatives.yaml``):

- ``max``/``min`` split the gradient evenly among tied extrema (torch.amax/amin); their tangent
  is the mean of the tangents at the tied extrema (torch's ``amaxamin_jvp``).
- ``prod`` and ``cumulative_prod`` are exact with zeros in the input (products of the *other*
  elements, no division by zero).
- ``var``/``std`` with ``correction >= N`` give the same inf/nan gradients as torch.
"""

from __future__ import annotations

import builtins
import math

from ._backends import resolve
from ._math import (
    broadcast_to_input,
    conj,
    device_of,
    expand_reduced,
    is_complex,
    normalize_axis,
    reduced_count,
)
from ._optable import LINEAR, op
from ._tensor import Tensor

__all__ = [
    "bincount",
    "cumulative_prod",
    "cumulative_sum",
    "max",
    "mean",
    "median",
    "min",
    "prod",
    "std",
    "sum",
    "var",
]


def _count(shape, axis):
    n = 1
    for a in normalize_axis(axis, len(shape)):
        n *= shape[a]
    return n


def _along(ndim, axis, s):
    """A basic index applying slice ``s`` along ``axis`` (a slice, not ``take`` with an
    ``arange``: no integer-array gather, which lazy backends handle poorly)."""
    return (slice(None),) * (axis % ndim) + (s, Ellipsis)  # array_api_strict wants every axis or a ...


def _cumulative_axis(fname, x, axis):
    """The axis of a cumulative op: ``axis``, or 0 for a 1-d array when it is None."""
    if axis is None:
        if x.ndim != 1:
            raise ValueError(f"{fname}(): argument 'axis' is required for a {x.ndim}-d array")
        return 0
    return axis


# -- sum, mean -----------------------------------------------------------------------------------


def _sum_vjp(xp, g, *, x_shape, axis, keepdims):
    return broadcast_to_input(xp, expand_reduced(xp, g, x_shape, axis, keepdims), x_shape)


@op(grads={"x": _sum_vjp}, jvp=LINEAR)
def sum(xp, x, /, *, axis=None, dtype=None, keepdims=False):
    """Sum along the given axes.

    Gradient: ``g`` broadcast back over the reduced axes (cast back to ``x``'s dtype when
    ``dtype`` widens it). Forward mode: linear. Deviations: none.
    """
    return xp.sum(x, axis=axis, dtype=dtype, keepdims=keepdims)


def _mean_vjp(xp, g, *, x_shape, axis, keepdims):
    n = reduced_count(xp, x_shape, axis, g)
    return broadcast_to_input(xp, expand_reduced(xp, g, x_shape, axis, keepdims) / n, x_shape)


@op(grads={"x": _mean_vjp}, jvp=LINEAR)
def mean(xp, x, /, *, axis=None, keepdims=False):
    """Arithmetic mean along the given axes.

    Gradient: ``g / N`` broadcast back over the reduced axes (``N`` elements reduced). Forward
    mode: linear. Deviations: none.
    """
    return xp.mean(x, axis=axis, keepdims=keepdims)


# -- var, std ------------------------------------------------------------------------------------


def _var_scale(shape, axis, correction):
    # torch computes 2 / (n - correction) in double: inf at 0, negative below.
    d = _count(shape, axis) - correction
    return 2.0 / d if d != 0 else math.inf


def _centered(xp, x, axis):
    return x - xp.mean(x, axis=axis, keepdims=True)


def _var_vjp(xp, g, x, *, axis, correction, keepdims):
    scale = _var_scale(x.shape, axis, correction)
    return (scale * expand_reduced(xp, g, x.shape, axis, keepdims)) * _centered(xp, x, axis)


def _var_jvp(xp, x, x_t, *, axis, correction, keepdims):
    # torch's var_jvp: 2 / (N - correction) * sum(Re(conj(t) * (x - mean))).
    p = conj(xp, x_t) * _centered(xp, x, axis)
    if is_complex(xp, p):
        p = xp.real(p)
    return _var_scale(x.shape, axis, correction) * xp.sum(p, axis=axis, keepdims=keepdims)


@op(grads={"x": _var_vjp}, jvp=_var_jvp)
def var(xp, x, /, *, axis=None, correction=0.0, keepdims=False):
    """Variance along the given axes, with a correction (0: population).

    Gradient: ``2 / (N - correction) * g * (x - mean(x))``, as torch: inf/nan where
    ``correction >= N``. Forward mode: torch's ``var_jvp``. Deviations: none.
    """
    return xp.var(x, axis=axis, correction=correction, keepdims=keepdims)


def _safe_inverse(xp, a):
    """``1 / a``, and a mask of where ``a == 0`` (where the caller puts 0 instead)."""
    zero = a == 0
    return 1 / xp.where(zero, xp.ones_like(a), a), zero


def _std_vjp(xp, g, x, out, *, axis, correction, keepdims):
    # d std = d var / (2 std); torch defines it as 0 where std == 0 (e.g. a constant slice).
    oe = expand_reduced(xp, out, x.shape, axis, keepdims)
    inv, zero = _safe_inverse(xp, oe)
    r = _var_vjp(
        xp,
        expand_reduced(xp, g, x.shape, axis, keepdims) * inv / 2,
        x,
        axis=axis,
        correction=correction,
        keepdims=True,
    )
    return xp.where(zero, xp.zeros_like(r), r)


def _std_jvp(xp, x, x_t, out, *, axis, correction, keepdims):
    # torch's std jvp: var_jvp / (2 std), 0 where std == 0 (as torch, and as the VJP).
    inv, zero = _safe_inverse(xp, out)
    t = _var_jvp(xp, x, x_t, axis=axis, correction=correction, keepdims=keepdims) * inv / 2
    return xp.where(zero, xp.zeros_like(t), t)


@op(grads={"x": _std_vjp}, jvp=_std_jvp)
def std(xp, x, /, *, axis=None, correction=0.0, keepdims=False):
    """Standard deviation along the given axes, with a correction (0: population).

    Gradient: ``g * (x - mean(x)) / ((N - correction) * std)``, 0 where ``std == 0`` (as torch's
    first order). Forward mode: ``var``'s tangent over ``2 std`` (0 where ``std == 0``, as torch).
    Deviations: the second-order gradient is 0 where ``std == 0`` (torch: nan).
    """
    return xp.std(x, axis=axis, correction=correction, keepdims=keepdims)


# -- max, min ------------------------------------------------------------------------------------


def _tie_weights(xp, x, out, axis, keepdims, dtype):
    """``mask / count``: 1/k at each of the k tied extrema of a reduced slice, 0 elsewhere."""
    oe = expand_reduced(xp, out, x.shape, axis, keepdims)
    mask = xp.astype(x == oe, dtype)
    return mask / xp.sum(mask, axis=axis, keepdims=True)


def _extremum_vjp(xp, g, x, out, *, axis, keepdims):
    # Ties share the gradient evenly (torch.amax / torch.amin).
    ge = expand_reduced(xp, g, x.shape, axis, keepdims)
    return ge * _tie_weights(xp, x, out, axis, keepdims, g.dtype)


def _extremum_jvp(xp, x, x_t, out, *, axis, keepdims):
    # torch's amaxamin_jvp: the mean of the tangents at the tied extrema.
    w = _tie_weights(xp, x, out, axis, keepdims, x_t.dtype)
    return xp.sum(w * x_t, axis=axis, keepdims=keepdims)


@op(grads={"x": _extremum_vjp}, jvp=_extremum_jvp)
def max(xp, x, /, *, axis=None, keepdims=False):
    """Maximum along the given axes.

    Gradient: at ties split evenly among the maxima (torch.amax); forward mode: the mean of
    the tangents at the tied maxima. Deviations: none.
    """
    return xp.max(x, axis=axis, keepdims=keepdims)


@op(grads={"x": _extremum_vjp}, jvp=_extremum_jvp)
def min(xp, x, /, *, axis=None, keepdims=False):
    """Minimum along the given axes.

    Gradient: at ties split evenly among the minima (torch.amin); forward mode: the mean of
    the tangents at the tied minima. Deviations: none.
    """
    return xp.min(x, axis=axis, keepdims=keepdims)


# -- prod ----------------------------------------------------------------------------------------


def _exclusive_cumprods(xp, x, axis):
    """Products of the elements before and after each position along ``axis`` (no division)."""
    n = x.shape[axis]
    left = xp.cumulative_prod(x, axis=axis, include_initial=True)
    left = left[_along(left.ndim, axis, slice(0, n))]
    rev = xp.flip(x, axis=axis)
    right = xp.cumulative_prod(rev, axis=axis, include_initial=True)
    right = right[_along(right.ndim, axis, slice(0, n))]
    return left, xp.flip(right, axis=axis)


def _prod_others(xp, x, axis):
    """For each element of ``x``, the product of the other elements of its reduced slice
    (``d prod / d x_i``), exact with zeros: no division."""
    shape = x.shape
    nd = len(shape)
    axes = normalize_axis(axis, nd)
    if nd == 0:
        return xp.ones_like(x)
    if any(shape[a] == 0 for a in axes):
        return xp.zeros_like(x)  # an empty product has no inputs to differentiate
    # Move the reduced axes to the end and flatten them into one.
    keep = [i for i in range(nd) if i not in axes]
    perm = keep + list(axes)
    xt = xp.permute_dims(x, tuple(perm))
    xf = xp.reshape(xt, tuple(shape[i] for i in keep) + (_count(shape, axes),))
    left, right = _exclusive_cumprods(xp, xf, -1)
    others = xp.reshape(left * right, tuple(xt.shape))
    inv = [0] * nd
    for i, p in enumerate(perm):
        inv[p] = i
    return xp.permute_dims(others, tuple(inv))


def _prod_vjp(xp, g, x, out, *, axis, keepdims):
    # ``out`` is unused, but torch's prod_backward saves the result: the saved set is torch's.
    ge = expand_reduced(xp, g, x.shape, axis, keepdims)
    return ge * conj(xp, _prod_others(xp, x, axis))


def _prod_jvp(xp, x, x_t, *, axis, dtype, keepdims):
    # sum_i t_i * prod_{j != i} x_j (torch: the VJP of ones, conjugated, times the tangent).
    return xp.sum(_prod_others(xp, x, axis) * x_t, axis=axis, dtype=dtype, keepdims=keepdims)


@op(grads={"x": _prod_vjp}, jvp=_prod_jvp)
def prod(xp, x, /, *, axis=None, dtype=None, keepdims=False):
    """Product along the given axes.

    Gradient: ``g`` times the product of the other elements (conjugated), exact with zeros, as
    torch. Deviations: none.
    """
    return xp.prod(x, axis=axis, dtype=dtype, keepdims=keepdims)


# -- cumulative_sum, cumulative_prod -------------------------------------------------------------


def _reverse_cumsum(xp, g, axis):
    return xp.flip(xp.cumulative_sum(xp.flip(g, axis=axis), axis=axis), axis=axis)


def _drop_first(xp, g, axis):
    return g[_along(g.ndim, axis, slice(1, None))]


def _cumsum_vjp(xp, g, *, axis, include_initial):
    axis = 0 if axis is None else axis
    if include_initial:
        g = _drop_first(xp, g, axis)
    return _reverse_cumsum(xp, g, axis)


@op(grads={"x": _cumsum_vjp}, jvp=LINEAR)
def cumulative_sum(xp, x, /, *, axis=None, dtype=None, include_initial=False):
    """Cumulative sum along an axis.

    Gradient: the reversed cumulative sum of ``g`` (without its first element when
    ``include_initial``). Forward mode: linear. Deviations: none.
    """
    axis = _cumulative_axis("cumulative_sum", x, axis)
    return xp.cumulative_sum(x, axis=axis, dtype=dtype, include_initial=include_initial)


def _cumprod_vjp(xp, g, x, out, *, axis, include_initial):
    # torch's cumprod_backward, without a branch on the values (lazy backends, jit).
    axis = (0 if axis is None else axis) % x.ndim
    if include_initial:
        g = _drop_first(xp, g, axis)
        out = _drop_first(xp, out, axis)
    if x.shape[axis] == 0:
        return xp.zeros_like(x)
    if type(g) is Tensor:
        return _cumprod_vjp_quadratic(xp, g, x, axis)
    # O(n), exact with zeros: with z the first zero along the axis (if any),
    #   i < z:  grad_i = sum_{k >= i} g_k conj(out_k) / conj(x_i)     (x_i != 0)
    #   i == z: grad_z = sum_{k >= z} g_k conj(out'_k), out' the cumprod with x_z replaced by 1
    #   i > z:  grad_i = 0                                              (every term has x_z)
    before, first, safe, out1 = _first_zero(xp, x, axis)
    g_before = _reverse_cumsum(xp, g * conj(xp, out), axis) / conj(xp, safe)
    g_first = _reverse_cumsum(xp, g * conj(xp, out1), axis)
    zeros = xp.zeros_like(g_before)
    return xp.where(before, g_before, xp.where(first, g_first, zeros))


def _cumprod_vjp_quadratic(xp, g, x, axis):
    """create_graph: d out_k / d x_i = prod_{j <= k, j != i} x_j for k >= i, built for each i
    as the cumulative product of x with x_i replaced by 1 (O(n^2) along the axis, as torch in
    grad mode): exact with zeros, and differentiable again."""
    n = x.shape[axis]
    xm = xp.moveaxis(x, axis, -1)  # (..., n)
    gm = xp.moveaxis(g, axis, -1)
    eye = xp.eye(n, dtype=xp.bool, device=device_of(x))
    rep = xp.where(eye, xp.ones_like(xm[..., None, :]), xm[..., None, :])  # (..., i, j)
    c = xp.cumulative_prod(rep, axis=-1)  # (..., i, k)
    upper = xp.astype(xp.triu(xp.ones((n, n), dtype=xp.int8, device=device_of(x))), c.dtype)
    grad = xp.sum(conj(xp, c) * upper * gm[..., None, :], axis=-1)
    return xp.moveaxis(grad, -1, axis)


def _first_zero(xp, x, axis):
    """Where each position stands relative to the first zero ``z`` along ``axis``: ``before``
    (k < z), ``first`` (k == z), ``x`` with the positions from ``z`` on replaced by 1 (``safe``,
    to divide by) and the cumulative product with ``x_z`` replaced by 1 (``out1``)."""
    zero = x == 0
    seen = xp.cumulative_sum(xp.astype(zero, xp.int32), axis=axis)
    before = seen == 0
    first = xp.logical_and(zero, seen == 1)
    one = xp.ones_like(x)
    safe = xp.where(before, x, one)
    out1 = xp.cumulative_prod(xp.where(first, one, x), axis=axis)
    return before, first, safe, out1


def _cumprod_jvp(xp, x, x_t, *, axis, dtype, include_initial):
    # d out_k = sum_{i <= k} t_i prod_{j <= k, j != i} x_j, exact with zeros (torch's
    # cumprod_jvp): with z the first zero along the axis,
    #   k < z:  out_k * sum_{i <= k} t_i / x_i
    #   k >= z: t_z * out'_k, out' the cumprod with x_z replaced by 1 (the other terms hold x_z)
    axis = (0 if axis is None else axis) % x.ndim
    if dtype is not None:
        x, x_t = xp.astype(x, dtype), xp.astype(x_t, dtype)
    if x.shape[axis] == 0:
        t = x_t
    else:
        before, first, safe, out1 = _first_zero(xp, x, axis)
        t_z = xp.sum(xp.where(first, x_t, xp.zeros_like(x_t)), axis=axis, keepdims=True)
        t = out1 * xp.where(before, xp.cumulative_sum(x_t / safe, axis=axis), t_z)
    if include_initial:
        shape = list(t.shape)
        shape[axis] = 1
        t = xp.concat((xp.zeros(tuple(shape), dtype=t.dtype, device=device_of(t)), t), axis=axis)
    return t


@op(grads={"x": _cumprod_vjp}, jvp=_cumprod_jvp)
def cumulative_prod(xp, x, /, *, axis=None, dtype=None, include_initial=False):
    """Cumulative product along an axis.

    Gradient: exact with zeros in the input (no division by zero), as torch; forward mode
    likewise (torch's ``cumprod_jvp``). Deviations: none.
    """
    axis = _cumulative_axis("cumulative_prod", x, axis)
    return xp.cumulative_prod(x, axis=axis, dtype=dtype, include_initial=include_initial)


# -- beyond the standard: functions array API libraries look up by name ---------------------


# Not an entry: built from public functions (sort, indexing, where), whose VJPs and forward
# rules give its gradient and tangent at every order; torch.quantile is composite in torch too.
def median(self, x, /, *, axis=None, keepdims=False):
    """Median along ``axis`` (an int, a tuple of ints or None for all elements), as NumPy's:
    the mean of the two middle values for an even count, nan where a value is nan.

    Not part of the standard; scikit-learn looks it up (``hasattr(xp, "median")``). Computed
    from a stable ``sort``, so the gradient goes to the middle element(s) in sorted order (half
    to each of the two for an even count), as ``torch.quantile(x, 0.5)``, which is what
    scikit-learn calls on torch (``torch.median`` takes the lower middle value instead).
    """
    x = self._tensor(x, "median")
    ndim = x.ndim
    axes = normalize_axis(axis, ndim, "median")
    if len(set(axes)) != len(axes):
        raise ValueError(f"median(): argument 'axis' repeats an axis: {axis}")
    if not self._is_differentiable_dtype(x.dtype):
        x = self.astype(x, self._xp.asarray(0.0, device=self.backend.device(x._data)).dtype)
    kept = tuple(a for a in range(ndim) if a not in axes)
    moved = self.permute_dims(x, kept + axes) if ndim else x
    n = _count(x.shape, axes)
    flat = self.reshape(moved, tuple(x.shape[a] for a in kept) + (n,))
    if n == 0:
        m = self.sum(flat, axis=-1) * math.nan
    else:
        s = self.sort(flat, axis=-1)
        lo, hi = (n - 1) // 2, n // 2
        m = s[..., lo] if lo == hi else (s[..., lo] + s[..., hi]) / 2
        m = self.where(self.any(self.isnan(flat), axis=-1), self.full_like(m, math.nan), m)
    if keepdims:
        m = self.reshape(m, tuple(1 if a in axes else x.shape[a] for a in range(ndim)))
    return m


def _bincount_vjp(xp, g, *, x):
    return xp.take(g, x, axis=0)


@op(grads={"weights": _bincount_vjp}, jvp=LINEAR)
def bincount(xp, x, /, weights=None, minlength=0):
    """Number of occurrences of each value of ``x`` (a 1-d array of non-negative integers), or
    with ``weights`` the sum of the weights of each value; of length ``max(max(x) + 1,
    minlength)``, as NumPy's and torch's.

    Not part of the standard; scikit-learn looks it up (``hasattr(xp, "bincount")``).
    Gradient in ``weights``: bin ``k``'s gradient goes to every element where ``x == k``;
    forward mode: linear in ``weights``. Deviations: torch's ``bincount`` has no derivative in
    ``weights`` (it raises).
    """
    backend = resolve(xp)
    if not backend.is_native(x):
        raise TypeError(f"bincount(): argument 'x' must be an array, got {type(x).__name__}")
    if not xp.isdtype(x.dtype, "integral") or x.ndim != 1:
        raise TypeError(
            f"bincount(): argument 'x' must be a 1-d array of integers, got a {x.ndim}-d array of {x.dtype}"
        )
    if isinstance(minlength, bool) or not isinstance(minlength, int) or minlength < 0:
        raise ValueError(
            f"bincount(): argument 'minlength' must be a non-negative integer, got {minlength!r}"
        )
    if weights is not None and tuple(weights.shape) != tuple(x.shape):
        raise ValueError(
            f"bincount(): argument 'weights' must have the shape of 'x' {tuple(x.shape)}, got {tuple(weights.shape)}"
        )
    n = x.shape[0]
    if n and int(xp.min(x)) < 0:
        raise ValueError("bincount(): argument 'x' must not contain negative values")
    size = builtins.max(int(xp.max(x)) + 1 if n else 0, minlength)
    device = device_of(x)
    if weights is None:
        weights = xp.ones(x.shape, dtype=xp.int64, device=device)
    # A scatter-add is not in the standard: the backend's own (``Backend.index_add``).
    return backend.index_add(xp.zeros(size, dtype=weights.dtype, device=device), x, weights)
