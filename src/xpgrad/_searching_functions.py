"""Searching functions. Only ``where`` is differentiable (in ``x1`` and ``x2``); the others
return indices or counts, which never require grad."""

from __future__ import annotations

from ._ops import record
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


def where(self, condition, x1, x2, /):
    """Elements of ``x1`` where ``condition`` is True, of ``x2`` elsewhere (broadcast together;
    ``x1``/``x2`` may be Python scalars).

    Differentiable in ``x1`` and ``x2``: ``x1`` gets the output gradient where ``condition``
    holds and zero elsewhere, ``x2`` the rest (torch.where). ``condition`` is a constant.
    """
    c = self._raw(condition, "where", "condition")
    if not self._xp.isdtype(c.dtype, "bool"):
        raise TypeError(f"where(): argument 'condition' must have a boolean dtype, got {c.dtype}")
    d1, r1 = self._operand(x1, "where", "x1")
    d2, r2 = self._operand(x2, "where", "x2")
    data = self._xp.where(c, d1, d2)
    # The condition is kept as given (a Tensor is version-checked at backward, see record).
    return record(
        self,
        "where",
        _where_vjp,
        (x1, x2),
        data,
        kw={"condition": condition if type(condition) is Tensor else c, "needs": (r1, r2)},
    )


def _where_vjp(xp, g, *, condition, needs):
    zero = xp.zeros_like(g)
    g1 = xp.where(condition, g, zero) if needs[0] else None
    g2 = xp.where(condition, zero, g) if needs[1] else None
    return g1, g2
