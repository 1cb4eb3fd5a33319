"""Indexing: ``__getitem__``, ``take``, ``take_along_axis`` and their VJPs.

The gradient of an indexing read is a scatter-*add* into zeros, so an integer index that repeats
accumulates (as torch's ``index_put_(accumulate=True)``); the scatter is itself differentiable
(its VJP is the gather), which gives second order.
"""

from __future__ import annotations

from . import _inplace
from ._ops import record
from ._tensor import Tensor

__all__ = ["_getitem", "_normalize_key", "_index_add", "_set_view_fn", "take", "take_along_axis"]


def _set_view_fn(self, t, x, fn):
    _inplace.set_view_fn(self, t, x, fn)


def _is_basic(key):
    items = key if isinstance(key, tuple) else (key,)
    for k in items:
        if not (k is None or k is Ellipsis or isinstance(k, (int, slice))) or isinstance(k, bool):
            return False
    return True


def _normalize_key(self, key, x, fname="__getitem__"):
    """Replace Tensors in ``key`` by their raw arrays; reject what the standard does not allow."""
    if type(key) is Tensor:
        if key._ns is not self:
            raise self._wrong_tensor(key, fname, "key")
        return key._data
    if isinstance(key, tuple):
        if any(type(k) is Tensor or isinstance(k, (list, tuple)) for k in key):
            return tuple(self._normalize_key(k, x, fname) for k in key)
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
        if self._backend.is_native(k) and not self._xp.isdtype(k.dtype, "bool"):
            return True
    return False


def _getitem(self, x, key):
    key = self._normalize_key(key, x)
    data = x._data[key]
    basic = _is_basic(key)
    d = x._data
    t = record(
        self,
        "getitem",
        _getitem_vjp,
        (x,),
        data,
        kw={"key": key, "ns": self, "accumulate": _has_int_array(self, key), "shape": d.shape},
        view_of=x if basic else None,
    )
    if t._base is not None:
        self._set_view_fn(t, x, lambda b: self._getitem(b, key))
    return t


def _getitem_vjp(xp, g, *, key, ns, accumulate, shape):
    if type(g) is Tensor:  # create_graph: a differentiable scatter
        return ns._index_add(shape, g.dtype, key, g)
    b = ns._backend
    z = ns._xp.zeros(shape, dtype=g.dtype, device=b.device(g))
    return b.index_add(z, key, g) if accumulate else b.setitem(z, key, g)


def _index_add(self, shape, dtype, key, values, device=None):
    """A new Tensor of zeros with ``values`` scatter-added at ``key`` (differentiable in values)."""
    vd = values._data if type(values) is Tensor else values
    b = self._backend
    z = self._xp.zeros(shape, dtype=dtype, device=device if device is not None else b.device(vd))
    data = b.index_add(z, key, vd) if _has_int_array(self, key) else b.setitem(z, key, vd)
    return record(self, "index_add", _index_add_vjp, (values,), data, kw={"key": key})


def _index_add_vjp(xp, g, *, key):
    return g[key]


def take(self, x, indices, /, *, axis=None):
    x = self._tensor(x, "take")
    idx = self._raw(indices, "take", "indices")
    if axis is None:
        if x.ndim != 1:
            raise ValueError(f"take(): argument 'axis' is required for a {x.ndim}-d array")
        axis = 0
    data = self._xp.take(x._data, idx, axis=axis)
    key = (slice(None),) * (axis % max(x.ndim, 1)) + (idx,)
    return record(
        self, "take", _getitem_vjp, (x,), data,
        kw={"key": key, "ns": self, "accumulate": True, "shape": x._data.shape},
    )


def take_along_axis(self, x, indices, /, *, axis=-1):
    x = self._tensor(x, "take_along_axis")
    idx = self._raw(indices, "take_along_axis", "indices")
    xp = self._xp
    data = xp.take_along_axis(x._data, idx, axis=axis)
    nd = x.ndim
    ax = axis % nd
    # Open-mesh integer key selecting x[..., idx, ...] along `axis`, broadcast with indices.
    key = []
    for d in range(nd):
        if d == ax:
            key.append(idx)
        else:
            shape = [1] * nd
            shape[d] = idx.shape[d]
            key.append(xp.reshape(xp.arange(idx.shape[d], device=self._backend.device(idx)), tuple(shape)))
    return record(
        self, "take_along_axis", _getitem_vjp, (x,), data,
        kw={"key": tuple(key), "ns": self, "accumulate": True, "shape": x._data.shape},
    )
