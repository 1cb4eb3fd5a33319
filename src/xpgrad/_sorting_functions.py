"""Sorting functions. ``sort`` is differentiable: the gradient follows the sorting permutation
back, as torch.sort's (``values`` gradient scattered to ``indices``). Tied elements are ordered
by a stable sort (descending keeps their original order too), so each tied element gets the
gradient of the position it moved to, exactly as torch's stable sort. ``argsort`` returns
indices, which never require grad."""

from __future__ import annotations

from ._ops import needs_grad, record
from ._tensor import Tensor

__all__ = ["argsort", "sort"]


def argsort(self, x, /, *, axis=-1, descending=False, stable=True):
    """Indices that sort ``x`` along ``axis`` (``descending``; ``stable`` keeps tied elements in
    their original order). Not differentiable (an integer result)."""
    d = self._raw(x, "argsort")
    data = self._xp.argsort(d, axis=axis, descending=descending, stable=stable)
    return Tensor._wrap_plain(self, self._ensure(data))


def sort(self, x, /, *, axis=-1, descending=False, stable=True):
    """``x`` sorted along ``axis`` (``descending``; ``stable`` keeps tied elements in their
    original order).

    Differentiable: the gradient of output position ``j`` goes to the input element sorted to
    ``j``. For the gradient the permutation is always computed with a stable sort (a valid
    result for ``stable=False`` too), so the tie rule is deterministic and matches torch.
    """
    x = self._tensor(x, "sort")
    d = x._data
    xp = self._xp
    if not needs_grad(x):
        return record(self, "sort", None, (x,), xp.sort(d, axis=axis, descending=descending, stable=stable))
    if d.ndim == 0:
        raise ValueError("sort(): argument 'x' must have at least 1 dimension, got a 0-d array")
    perm = xp.argsort(d, axis=axis, descending=descending, stable=True)
    data = xp.take_along_axis(d, perm, axis=axis)
    return record(self, "sort", _sort_vjp, (x,), data, kw={"perm": perm, "axis": axis})


def _sort_vjp(xp, g, *, perm, axis):
    # out[..., j] = x[..., perm[j]], so grad[..., perm[j]] = g[..., j]: gather g through the
    # inverse permutation (itself an argsort of perm, as perm is a permutation).
    inverse = xp.argsort(perm, axis=axis)
    return xp.take_along_axis(g, inverse, axis=axis)
