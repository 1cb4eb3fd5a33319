"""Statistical functions (reductions and cumulative ops) and their VJPs.

Conventions, as torch.autograd:
- ``max``/``min`` split the gradient evenly among tied extrema (torch.amax/amin).
- ``prod`` is exact with zeros in the input (products of the *other* elements, no division).
- ``var``/``std`` with ``correction >= N`` give the same inf/nan gradients as torch.
"""

from __future__ import annotations

import builtins
import math

from ._math import conj, device_of, expand_reduced, normalize_axis
from ._ops import OUT, record
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


def sum(self, x, /, *, axis=None, dtype=None, keepdims=False):
    x = self._tensor(x, "sum")
    d = x._data
    data = self._xp.sum(d, axis=axis, dtype=dtype, keepdims=keepdims)
    return record(
        self, "sum", _sum_vjp, (x,), data, kw={"shape": d.shape, "axis": axis, "keepdims": keepdims}
    )


def _sum_vjp(xp, g, *, shape, axis, keepdims):
    return xp.broadcast_to(expand_reduced(xp, g, shape, axis, keepdims), shape)


def mean(self, x, /, *, axis=None, keepdims=False):
    x = self._tensor(x, "mean")
    d = x._data
    data = self._xp.mean(d, axis=axis, keepdims=keepdims)
    return record(
        self,
        "mean",
        _mean_vjp,
        (x,),
        data,
        kw={"shape": d.shape, "axis": axis, "keepdims": keepdims, "n": _count(d.shape, axis)},
    )


def _mean_vjp(xp, g, *, shape, axis, keepdims, n):
    return xp.broadcast_to(expand_reduced(xp, g, shape, axis, keepdims) / n, shape)


def _var_scale(n, correction):
    # torch computes 2 / (n - correction) in double: inf at 0, negative below.
    d = n - correction
    return 2.0 / d if d != 0 else math.inf


def var(self, x, /, *, axis=None, correction=0.0, keepdims=False):
    x = self._tensor(x, "var")
    d = x._data
    data = self._xp.var(d, axis=axis, correction=correction, keepdims=keepdims)
    return record(
        self,
        "var",
        _var_vjp,
        (x,),
        data,
        saved=(x,),
        kw={"axis": axis, "keepdims": keepdims, "scale": _var_scale(_count(d.shape, axis), correction)},
    )


def _var_vjp(xp, g, x, *, axis, keepdims, scale):
    centered = x - xp.mean(x, axis=axis, keepdims=True)
    return (scale * expand_reduced(xp, g, x.shape, axis, keepdims)) * centered


def std(self, x, /, *, axis=None, correction=0.0, keepdims=False):
    x = self._tensor(x, "std")
    d = x._data
    data = self._xp.std(d, axis=axis, correction=correction, keepdims=keepdims)
    n = _count(d.shape, axis)
    return record(
        self,
        "std",
        _std_vjp,
        (x,),
        data,
        saved=(x, OUT),
        kw={"axis": axis, "keepdims": keepdims, "scale": _var_scale(n, correction)},
    )


def _std_vjp(xp, g, x, out, *, axis, keepdims, scale):
    # d std = d var / (2 std); torch defines it as 0 where std == 0 (e.g. a constant slice).
    centered = x - xp.mean(x, axis=axis, keepdims=True)
    ge = expand_reduced(xp, g, x.shape, axis, keepdims)
    oe = expand_reduced(xp, out, x.shape, axis, keepdims)
    zero = oe == 0
    safe = xp.where(zero, xp.ones_like(oe), oe)
    r = (scale * (ge / (2 * safe))) * centered
    return xp.where(zero, xp.zeros_like(r), r)


def _extremum(self, fname, x, axis, keepdims):
    x = self._tensor(x, fname)
    d = x._data
    data = getattr(self._xp, fname)(d, axis=axis, keepdims=keepdims)
    return record(
        self,
        fname,
        _extremum_vjp,
        (x,),
        data,
        saved=(x, OUT),
        kw={"axis": axis, "keepdims": keepdims},
    )


def _extremum_vjp(xp, g, x, out, *, axis, keepdims):
    # Ties share the gradient evenly (torch.amax / torch.amin).
    oe = expand_reduced(xp, out, x.shape, axis, keepdims)
    mask = xp.astype(x == oe, g.dtype)
    count = xp.sum(mask, axis=axis, keepdims=True)
    ge = expand_reduced(xp, g, x.shape, axis, keepdims)
    return ge * (mask / count)


def max(self, x, /, *, axis=None, keepdims=False):
    return _extremum(self, "max", x, axis, keepdims)


def min(self, x, /, *, axis=None, keepdims=False):
    return _extremum(self, "min", x, axis, keepdims)


def prod(self, x, /, *, axis=None, dtype=None, keepdims=False):
    x = self._tensor(x, "prod")
    d = x._data
    data = self._xp.prod(d, axis=axis, dtype=dtype, keepdims=keepdims)
    return record(
        self,
        "prod",
        _prod_vjp,
        (x,),
        data,
        saved=(x, OUT),  # torch's prod_backward saves the result too
        kw={"axis": axis, "keepdims": keepdims},
    )


def _exclusive_cumprods(xp, x, axis):
    """Products of the elements before and after each position along ``axis`` (no division)."""
    n = x.shape[axis]
    left = xp.cumulative_prod(x, axis=axis, include_initial=True)
    left = left[_along(left.ndim, axis, slice(0, n))]
    rev = xp.flip(x, axis=axis)
    right = xp.cumulative_prod(rev, axis=axis, include_initial=True)
    right = right[_along(right.ndim, axis, slice(0, n))]
    return left, xp.flip(right, axis=axis)


def _prod_vjp(xp, g, x, out, *, axis, keepdims):
    shape = x.shape
    nd = len(shape)
    axes = normalize_axis(axis, nd)
    ge = expand_reduced(xp, g, shape, axis, keepdims)
    if nd == 0:
        return xp.broadcast_to(ge, shape)
    if any(shape[a] == 0 for a in axes):
        return xp.zeros_like(x)  # an empty product has no inputs to differentiate
    # Move the reduced axes to the end and flatten them into one.
    keep = [i for i in range(nd) if i not in axes]
    perm = keep + list(axes)
    xt = xp.permute_dims(x, tuple(perm))
    kshape = tuple(shape[i] for i in keep)
    k = 1
    for a in axes:
        k *= shape[a]
    xf = xp.reshape(xt, kshape + (k,))
    left, right = _exclusive_cumprods(xp, xf, -1)
    others = xp.reshape(left * right, tuple(xt.shape))
    inv = [0] * nd
    for i, p in enumerate(perm):
        inv[p] = i
    others = xp.permute_dims(others, tuple(inv))
    return ge * conj(xp, others)


def cumulative_sum(self, x, /, *, axis=None, dtype=None, include_initial=False):
    x = self._tensor(x, "cumulative_sum")
    if axis is None:
        if x.ndim != 1:
            raise ValueError(f"cumulative_sum(): argument 'axis' is required for a {x.ndim}-d array")
        axis = 0
    data = self._xp.cumulative_sum(x._data, axis=axis, dtype=dtype, include_initial=include_initial)
    return record(
        self,
        "cumulative_sum",
        _cumsum_vjp,
        (x,),
        data,
        kw={"axis": axis, "include_initial": include_initial},
    )


def _reverse_cumsum(xp, g, axis):
    return xp.flip(xp.cumulative_sum(xp.flip(g, axis=axis), axis=axis), axis=axis)


def _drop_first(xp, g, axis):
    return g[_along(g.ndim, axis, slice(1, None))]


def _along(ndim, axis, s):
    """A basic index applying slice ``s`` along ``axis`` (a slice, not ``take`` with an
    ``arange``: no integer-array gather, which lazy backends handle poorly)."""
    return (slice(None),) * (axis % ndim) + (s,)


def _cumsum_vjp(xp, g, *, axis, include_initial):
    if include_initial:
        g = _drop_first(xp, g, axis)
    return _reverse_cumsum(xp, g, axis)


def cumulative_prod(self, x, /, *, axis=None, dtype=None, include_initial=False):
    x = self._tensor(x, "cumulative_prod")
    if axis is None:
        if x.ndim != 1:
            raise ValueError(f"cumulative_prod(): argument 'axis' is required for a {x.ndim}-d array")
        axis = 0
    data = self._xp.cumulative_prod(x._data, axis=axis, dtype=dtype, include_initial=include_initial)
    return record(
        self,
        "cumulative_prod",
        _cumprod_vjp,
        (x,),
        data,
        saved=(x, OUT),  # torch's cumprod_backward saves the result too
        kw={"axis": axis, "include_initial": include_initial},
    )


def _cumprod_vjp(xp, g, x, out, *, axis, include_initial):
    # torch's cumprod_backward, without a branch on the values (lazy backends, jit).
    if include_initial:
        g = _drop_first(xp, g, axis)
        out = _drop_first(xp, out, axis)
    n = x.shape[axis]
    if n == 0:
        return xp.zeros_like(x)
    axis = axis % x.ndim
    if type(g) is Tensor:
        # create_graph: d out_k / d x_i = prod_{j <= k, j != i} x_j for k >= i, built for each
        # i as the cumulative product of x with x_i replaced by 1 (O(n^2) along the axis, as
        # torch in grad mode): exact with zeros, and differentiable again.
        xm = xp.moveaxis(x, axis, -1)  # (..., n)
        gm = xp.moveaxis(g, axis, -1)
        eye = xp.eye(n, dtype=xp.bool, device=device_of(x))
        rep = xp.where(eye, xp.ones_like(xm[..., None, :]), xm[..., None, :])  # (..., i, j)
        c = xp.cumulative_prod(rep, axis=-1)  # (..., i, k)
        upper = xp.astype(xp.triu(xp.ones((n, n), dtype=xp.int8, device=device_of(x))), c.dtype)
        grad = xp.sum(conj(xp, c) * upper * gm[..., None, :], axis=-1)
        return xp.moveaxis(grad, -1, axis)
    # O(n), exact with zeros: with z the first zero along the axis (if any),
    #   i < z:  grad_i = sum_{k >= i} g_k conj(out_k) / conj(x_i)     (x_i != 0)
    #   i == z: grad_z = sum_{k >= z} g_k conj(out'_k), out' the cumprod with x_z replaced by 1
    #   i > z:  grad_i = 0                                              (every term has x_z)
    zero = x == 0
    seen = xp.cumulative_sum(xp.astype(zero, xp.int32), axis=axis)
    before = seen == 0
    first = xp.logical_and(zero, seen == 1)
    one = xp.ones_like(x)
    safe = xp.where(before, x, one)
    g_before = _reverse_cumsum(xp, g * conj(xp, out), axis) / conj(xp, safe)
    out1 = xp.cumulative_prod(xp.where(first, one, x), axis=axis)
    g_first = _reverse_cumsum(xp, g * conj(xp, out1), axis)
    zeros = xp.zeros_like(g_before)
    return xp.where(before, g_before, xp.where(first, g_first, zeros))


# -- beyond the standard: functions array API libraries look up by name ---------------------


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
        x = self.astype(x, self._xp.asarray(0.0, device=self._backend.device(x._data)).dtype)
    kept = tuple(a for a in range(ndim) if a not in axes)
    moved = self.permute_dims(x, kept + axes) if ndim else x
    n = 1
    for a in axes:
        n *= x.shape[a]
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


def bincount(self, x, /, weights=None, minlength=0):
    """Number of occurrences of each value of ``x`` (a 1-d array of non-negative integers), or
    with ``weights`` the sum of the weights of each value; of length ``max(max(x) + 1,
    minlength)``, as NumPy's and torch's.

    Not part of the standard; scikit-learn looks it up (``hasattr(xp, "bincount")``).
    Differentiable in ``weights``: bin ``k``'s gradient goes to every element where ``x == k``
    (torch's ``bincount`` has no derivative there and raises).
    """
    xp = self._xp
    xd = self._raw(x, "bincount", "x")
    if not xp.isdtype(xd.dtype, "integral") or xd.ndim != 1:
        raise TypeError(
            f"bincount(): argument 'x' must be a 1-d array of integers, got a {xd.ndim}-d array of {xd.dtype}"
        )
    if isinstance(minlength, bool) or not isinstance(minlength, int) or minlength < 0:
        raise ValueError(
            f"bincount(): argument 'minlength' must be a non-negative integer, got {minlength!r}"
        )
    n = xd.shape[0]
    if n and int(xp.min(xd)) < 0:
        raise ValueError("bincount(): argument 'x' must not contain negative values")
    size = builtins.max(int(xp.max(xd)) + 1 if n else 0, minlength)
    device = self._backend.device(xd)
    if weights is None:
        out = xp.zeros(size, dtype=xp.int64, device=device)
        out = self._backend.index_add(out, xd, xp.ones(xd.shape, dtype=xp.int64, device=device))
        return Tensor._wrap_plain(self, self._ensure(out))
    w = self._tensor(weights, "bincount", "weights")
    if tuple(w.shape) != tuple(xd.shape):
        raise ValueError(
            f"bincount(): argument 'weights' must have the shape of 'x' {tuple(xd.shape)}, got {tuple(w.shape)}"
        )
    out = self._backend.index_add(xp.zeros(size, dtype=w.dtype, device=device), xd, w._data)
    return record(self, "bincount", _bincount_vjp, (w,), out, kw={"x": xd})


def _bincount_vjp(xp, g, *, x):
    return xp.take(g, x, axis=0)
