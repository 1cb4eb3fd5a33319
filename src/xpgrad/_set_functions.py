"""Set functions: ``unique_*`` and ``isin``.

The ``unique_*`` results are named tuples with the standard's field names. Their ``values`` are
not differentiated: when ``x`` requires grad (and grad mode is on), ``values`` is recorded in
the graph with a backward that raises, so a gradient can never be silently dropped or wrong
(torch.unique behaves the same). Use ``x.detach()`` first if the values only feed
non-differentiable code. Index and count outputs, and ``isin``, never require grad.
"""

from __future__ import annotations

from collections import namedtuple

from ._ops import record
from ._tensor import Tensor

__all__ = [
    "isin",
    "unique_all",
    "unique_counts",
    "unique_inverse",
    "unique_values",
]

UniqueAllResult = namedtuple("UniqueAllResult", ["values", "indices", "inverse_indices", "counts"])
UniqueCountsResult = namedtuple("UniqueCountsResult", ["values", "counts"])
UniqueInverseResult = namedtuple("UniqueInverseResult", ["values", "inverse_indices"])


def _plain(self, data):
    return Tensor._wrap_plain(self, self._ensure(data))


def _values(self, fname, x, data):
    return record(self, fname, _unique_vjp, (x,), data, kw={"fname": fname})


def _unique_vjp(xp, g, *, fname):
    raise NotImplementedError(
        f"the derivative of {fname} is not implemented: the unique values are not a "
        "differentiable function of the input. Call it on x.detach() if the values do not need "
        "a gradient, or gather them from x with take(x, indices) (unique_all) to differentiate."
    )


def unique_all(self, x, /):
    """The unique elements of ``x`` (sorted, flattened) with the index of each one's first
    occurrence, the inverse indices that rebuild ``x`` and the counts.

    Returns ``UniqueAllResult(values, indices, inverse_indices, counts)``. ``values`` is not
    differentiable: backpropagating through it raises (use ``x.detach()``, or
    ``take(reshape(x, (-1,)), indices)`` for differentiable values); the other fields never
    require grad.
    """
    x = self._tensor(x, "unique_all")
    r = self._xp.unique_all(x._data)
    return UniqueAllResult(
        _values(self, "unique_all", x, r.values),
        _plain(self, r.indices),
        _plain(self, r.inverse_indices),
        _plain(self, r.counts),
    )


def unique_counts(self, x, /):
    """The unique elements of ``x`` (sorted, flattened) and how often each occurs.

    Returns ``UniqueCountsResult(values, counts)``. ``values`` is not differentiable:
    backpropagating through it raises (use ``x.detach()``); ``counts`` never requires grad.
    """
    x = self._tensor(x, "unique_counts")
    r = self._xp.unique_counts(x._data)
    return UniqueCountsResult(_values(self, "unique_counts", x, r.values), _plain(self, r.counts))


def unique_inverse(self, x, /):
    """The unique elements of ``x`` (sorted, flattened) and the indices (of ``x``'s shape)
    that rebuild ``x`` from them.

    Returns ``UniqueInverseResult(values, inverse_indices)``. ``values`` is not
    differentiable: backpropagating through it raises (use ``x.detach()``);
    ``inverse_indices`` never requires grad.
    """
    x = self._tensor(x, "unique_inverse")
    r = self._xp.unique_inverse(x._data)
    return UniqueInverseResult(_values(self, "unique_inverse", x, r.values), _plain(self, r.inverse_indices))


def unique_values(self, x, /):
    """The unique elements of ``x`` (sorted, flattened).

    Not differentiable: when ``x`` requires grad the result is in the graph and
    backpropagating through it raises (use ``x.detach()``).
    """
    x = self._tensor(x, "unique_values")
    return _values(self, "unique_values", x, self._xp.unique_values(x._data))


def isin(self, x1, x2, /, *, invert=False):
    """Whether each element of ``x1`` is in ``x2`` (``invert``: is not); ``x1``/``x2`` may be
    Python scalars. Not differentiable (a boolean result)."""
    d1, _ = self._operand(x1, "isin", "x1")
    d2, _ = self._operand(x2, "isin", "x2")
    xp = self._xp
    data = xp.isin(d1, d2)
    # Negated here rather than passed on: not every backend honours `invert`.
    return _plain(self, xp.logical_not(data) if invert else data)
