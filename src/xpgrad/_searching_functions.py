"""Searching functions. Only ``where`` is differentiable (in ``x1`` and ``x2``); the others
return indices or counts, which never require grad."""

from __future__ import annotations

from ._optable import op
from ._tensor import Tensor

__all__ = ["argmax", "argmin", "count_nonzero", "nonzero", "searchsorted", "where"]


def _plain(self, data):
    return Tensor._wrap_plain(self, self._ensure(data))


def argmax(self, x, /, *, axis=None, keepdims=False):
    """Indices of the maximum values of ``x`` along ``axis`` (of the flattened array if None);
    the first occurrence on ties. Not differentiable (an integer result)."""
    return _plain(self, self._xp.argmax(self._raw(x, "argmax"), axis=axis, keepdims=keepdims))


def argmin(self, x, /, *, axis=None, keepdims=False):
    """Indices of the minimum values of ``x`` along ``axis`` (of the flattened array if None);
    the first occurrence on ties. Not differentiable (an integer result)."""
    return _plain(self, self._xp.argmin(self._raw(x, "argmin"), axis=axis, keepdims=keepdims))


def count_nonzero(self, x, /, *, axis=None, keepdims=False):
    """Number of non-zero elements of ``x`` along ``axis`` (all axes if None). Not
    differentiable (an integer result)."""
    return _plain(self, self._xp.count_nonzero(self._raw(x, "count_nonzero"), axis=axis, keepdims=keepdims))


def nonzero(self, x, /):
    """Indices of the non-zero elements of ``x``: a tuple of one integer array per dimension.
    Not differentiable."""
    d = self._raw(x, "nonzero")
    if d.ndim == 0:
        raise ValueError("nonzero(): argument 'x' must have at least 1 dimension, got a 0-d array")
    return tuple(_plain(self, i) for i in self._xp.nonzero(d))


def searchsorted(self, x1, x2, /, *, side="left", sorter=None):
    """Indices at which the elements of ``x2`` would be inserted into the sorted 1-d ``x1``
    (``side`` 'left' or 'right'; ``sorter`` sorts an unsorted ``x1``). ``x2`` may be a Python
    scalar. Not differentiable (an integer result)."""
    d1 = self._raw(x1, "searchsorted", "x1")
    d2, _ = self._operand(x2, "searchsorted", "x2")
    if sorter is not None:
        sorter = self._raw(sorter, "searchsorted", "sorter")
    return _plain(self, self._xp.searchsorted(d1, d2, side=side, sorter=sorter))


def _where_x1_vjp(xp, g, *, condition):
    return xp.where(condition, g, xp.zeros_like(g))


def _where_x2_vjp(xp, g, *, condition):
    return xp.where(condition, xp.zeros_like(g), g)


def _where_jvp(xp, *, condition, x1_t, x2_t):
    return xp.where(condition, x1_t, x2_t)


@op(grads={"x1": _where_x1_vjp, "x2": _where_x2_vjp}, jvp=_where_jvp, scalars=True)
def where(xp, condition, x1, x2, /):
    """Elements of ``x1`` where ``condition`` is True, of ``x2`` elsewhere (broadcast together;
    ``x1``/``x2`` may be Python scalars).

    Gradient: ``x1`` gets the output gradient where ``condition`` holds and zero elsewhere,
    ``x2`` the rest (torch.where); ``condition`` is a constant, and an in-place change of it
    before backward raises, as in torch. Deviations: none.
    """
    if not hasattr(condition, "dtype"):
        raise TypeError(f"where(): argument 'condition' must be an array, got {type(condition).__name__}")
    if not xp.isdtype(condition.dtype, "bool"):
        raise TypeError(f"where(): argument 'condition' must have a boolean dtype, got {condition.dtype}")
    return xp.where(condition, x1, x2)
