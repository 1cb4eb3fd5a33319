"""Indexing: ``__getitem__``, ``take``, ``take_along_axis`` and their VJPs.

The gradient of an indexing read is a scatter-*add* into zeros, so an integer index that repeats
accumulates (as torch's ``index_put_(accumulate=True)``); the scatter is itself differentiable
(its VJP is the gather), which gives second order.
"""

from __future__ import annotations

from . import _backends, _inplace
from ._math import device_of
from ._ops import record
from ._optable import LINEAR, op
from ._tensor import Tensor

__all__ = [
    "_getitem",
    "_normalize_key",
    "_index_add",
    "_keys",
    "_set_view_fn",
    "take",
    "take_along_axis",
]


def _set_view_fn(self, t, x, fn):
    _inplace.set_view_fn(self, t, x, fn)


def _is_basic(key):
    items = key if isinstance(key, tuple) else (key,)
    for k in items:
        if not (k is None or k is Ellipsis or isinstance(k, (int, slice))) or isinstance(k, bool):
            return False
    return True


def _one_int_per_axis(key, ndim):
    """Whether basic ``key`` is ``ndim >= 1`` integers alone (one element, no ``...``)."""
    items = key if type(key) is tuple else (key,)
    return ndim >= 1 and len(items) == ndim and all(type(k) is int for k in items)


def _normalize_key(self, key, x, fname="__getitem__", keep=False):
    """Replace Tensors in ``key`` by their raw arrays; reject what the standard does not allow.

    ``keep=True``: keep the Tensors (checked to be of this namespace), for a key a node keeps:
    ``record`` then guards them by version.
    """
    if type(key) is Tensor:
        if key._ns is not self:
            raise self._wrong_tensor(key, fname, "key")
        return key if keep else key._data
    if isinstance(key, tuple):
        if any(type(k) is Tensor or isinstance(k, (list, tuple)) for k in key):
            return tuple(self._normalize_key(k, x, fname, keep) for k in key)
        return key
    if isinstance(key, list):
        raise IndexError(
            f"{fname}: a list is not a valid index in the array API standard; use an integer "
            "array (xp.asarray([...])) or a tuple of indices"
        )
    return key


def _has_int_array(self, key):
    """Whether ``key`` holds an integer array (whose repeated entries must accumulate)."""
    items = key if isinstance(key, tuple) else (key,)
    for k in items:
        if self.backend.is_native(k) and not self._xp.isdtype(k.dtype, "bool"):
            return True
    return False


def _keys(self, x, key, fname):
    """The raw key to index ``x`` with, and the key a node keeps (Tensors in it kept)."""
    kept = self._normalize_key(key, x, fname, keep=True)
    raw = _raw_key(kept)
    fixed = self.backend.fix_key(x._data, raw)
    self.backend.check_key(x._data, fixed, fname)
    return fixed, (kept if fixed is raw else fixed)


def _raw_key(key):
    if type(key) is Tensor:
        return key._data
    if type(key) is tuple:
        for k in key:
            if type(k) is Tensor:
                return tuple(k._data if type(k) is Tensor else k for k in key)
    return key


def _getitem(self, x, key):
    key, kept = _keys(self, x, key, "__getitem__")
    basic = _is_basic(key)
    d = x._data
    if basic and self.backend.aliases and _one_int_per_axis(key, d.ndim):
        # NumPy (and array-api-strict) answer one element as a scalar copy; torch as a 0-d view.
        # A trailing ``...`` asks for the view, so that an in-place change reaches ``x``.
        key = (key if type(key) is tuple else (key,)) + (Ellipsis,)
    data = self.backend.getitem(d, key)
    t = record(
        self,
        "getitem",
        _getitem_vjp,
        (x,),
        data,
        kw={"key": kept, "ns": self, "accumulate": _has_int_array(self, key), "shape": d.shape},
        view_of=x if basic else None,
    )
    if t._base is not None:
        self._set_view_fn(t, x, lambda b: self._getitem(b, key))
    return t


def _selects_all(key, shape):
    """Whether basic ``key`` selects every element of an array of ``shape`` in order (``...``,
    full slices, integers on axes of size 1, ``None``): its gradient is then the output gradient
    reshaped (the axes ``None`` inserted have size 1), with no scatter into zeros (which Dask
    runs as a ``setitem`` through rechunked blocks)."""
    items = key if type(key) is tuple else (key,)
    if not _is_basic(items):
        return False
    ndim = len(shape)
    spanned = ndim - sum(1 for k in items if k is not Ellipsis and k is not None)  # what ``...`` stands for
    axis = 0
    for k in items:
        if k is None:  # a new axis of size 1 in the result: no axis of ``shape``
            continue
        if k is Ellipsis:
            axis += spanned
            continue
        if axis >= ndim:
            return False
        n = shape[axis]
        if n is None or n != n:  # an unknown size (Dask's nan)
            return False
        if isinstance(k, slice):
            if range(*k.indices(n)) != range(n):
                return False
        elif n != 1:
            return False
        axis += 1
    return True


def _getitem_vjp(xp, g, *, key, ns, accumulate, shape):
    # (a key holding ``None`` scatters on every backend: see _backends.Backend.setitem)
    if _selects_all(key, shape):
        return xp.reshape(g, shape)
    if type(g) is Tensor:  # create_graph: a differentiable scatter
        return ns._index_add(shape, g.dtype, key, g)
    b = ns.backend
    z = ns._xp.zeros(shape, dtype=g.dtype, device=b.device(g))
    return b.index_add(z, key, g) if accumulate else b.setitem(z, key, g)


def _index_add(self, shape, dtype, key, values, device=None):
    """A new Tensor of zeros with ``values`` scatter-added at ``key`` (differentiable in values)."""
    vd = values._data if type(values) is Tensor else values
    b = self.backend
    z = self._xp.zeros(shape, dtype=dtype, device=device if device is not None else b.device(vd))
    data = b.index_add(z, key, vd) if _has_int_array(self, key) else b.setitem(z, key, vd)
    return record(self, "index_add", _index_add_vjp, (values,), data, kw={"key": key, "getitem": b.getitem})


def _index_add_vjp(xp, g, *, key, getitem):
    return g[key] if type(g) is Tensor else getitem(g, key)


def _take_axis(axis, ndim, fname=""):
    """``take``'s axis as a non-negative int (``None`` only for a 1-d ``x``)."""
    if axis is None:
        if ndim != 1:
            raise ValueError(f"{fname}(): argument 'axis' is required for a {ndim}-d array")
        return 0
    if not -max(ndim, 1) <= axis < max(ndim, 1):
        raise IndexError(
            f"{fname}(): argument 'axis' value {axis} is out of range for an array of {ndim} dimensions"
        )
    return axis % max(ndim, 1)


def _check_indices(indices, fname):
    if not hasattr(indices, "dtype"):
        raise TypeError(f"{fname}(): argument 'indices' must be an array, got {type(indices).__name__}")


def _backend_of(xp):
    """The :class:`Backend` of raw namespace ``xp`` (a VJP is handed the namespace only)."""
    return _backends.backend_of(xp)


def _take_vjp(xp, g, *, indices, axis, x_shape):
    return take_vjp(xp, g, indices=indices, axis=_take_axis(axis, len(x_shape)), x_shape=x_shape)


@op(grads={"x": _take_vjp}, jvp=LINEAR)
def take(xp, x, indices, /, *, axis=None):
    """Elements of ``x`` at the integer ``indices`` along ``axis`` (required unless ``x`` is 1-d).

    Gradient: the output gradient scatter-added at ``indices`` (repeated indices accumulate, as
    torch's ``index_select``); a later in-place change of ``indices`` makes backward raise, as
    in torch. Deviations: none.
    """
    _check_indices(indices, "take")
    ax = _take_axis(axis, x.ndim, "take")
    _backend_of(xp).check_take(x, indices, ax, "take")
    return xp.take(x, indices, axis=ax)


def _take_along_axis_vjp(xp, g, *, x, index, axis):
    # ``x`` is named only to be saved, as torch's gather saves its input (for its shape).
    ax = _take_axis(axis, x.ndim)
    return take_vjp(xp, g, indices=index, axis=ax, x_shape=tuple(x.shape), along=True)


@op(grads={"x": _take_along_axis_vjp}, jvp=LINEAR, aux=("index",))
def take_along_axis(xp, x, indices, /, *, axis=-1):
    """Values of ``x`` at ``indices`` matched along ``axis`` (``indices`` broadcasts with ``x``
    on the other axes).

    Gradient: the output gradient scatter-added at ``indices`` (repeated indices accumulate).
    The node keeps its own copy of ``indices``, as torch's ``take_along_dim`` does: a later
    in-place change of them changes nothing. Deviations: none.
    """
    _check_indices(indices, "take_along_axis")
    ax = _take_axis(axis, x.ndim, "take_along_axis")
    b = _backend_of(xp)
    b.check_take(x, indices, ax, "take_along_axis")
    out = xp.take_along_axis(x, indices, axis=ax)
    return out, {"index": b.copy(indices) if b.mutable else indices}


def _along_key(xp, idx, axis, ndim):
    """Integer-array key selecting what take_along_axis(x, idx, axis) selected."""
    dev = device_of(idx)
    key = []
    for d in range(ndim):
        if d == axis:
            key.append(idx)
        else:
            shape = [1] * ndim
            shape[d] = idx.shape[d]
            key.append(xp.reshape(xp.arange(idx.shape[d], device=dev), tuple(shape)))
    return tuple(key)


def _scatter_key(xp, idx, axis, along, in_shape):
    """Integer-array key (all axes advanced) for scatter-adding take's gradient."""
    ndim = len(in_shape)
    if along:
        return _along_key(xp, idx, axis, ndim)
    dev = device_of(idx)
    nd_idx = idx.ndim
    out_nd = ndim - 1 + nd_idx
    key = []
    for d in range(ndim):
        shape = [1] * out_nd
        if d == axis:
            for k in range(nd_idx):
                shape[axis + k] = idx.shape[k]
            key.append(xp.reshape(idx, tuple(shape)))
        else:
            pos = d if d < axis else d - 1 + nd_idx
            shape[pos] = in_shape[d]
            key.append(xp.reshape(xp.arange(in_shape[d], device=dev), tuple(shape)))
    return tuple(key)


def take_vjp(xp, g, *, indices, axis, x_shape, along=False):
    """Zeros of ``x_shape`` with ``g`` scatter-added where ``take(x, indices, axis=axis)``
    (``take_along_axis`` if ``along``) read: the adjoint of that gather, for any ``xp``. Under
    ``create_graph`` (``g`` a Tensor) the scatter is recorded, its VJP being the gather."""
    if type(g) is Tensor:
        key = _scatter_key(g._ns._xp, indices, axis, along, x_shape)
        return xp._index_add(x_shape, g.dtype, key, g)
    b = _backend_of(xp)
    if b.writes_by_where and not along and indices.ndim == 1:
        return b.take_adjoint(g, indices, axis, x_shape[axis])
    key = _scatter_key(xp, indices, axis, along, x_shape)
    z = xp.zeros(x_shape, dtype=g.dtype, device=b.device(g))
    return b.index_add(z, key, g)
