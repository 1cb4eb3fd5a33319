"""Sorting functions. ``sort`` is differentiable: the gradient follows the sorting permutation
back, as torch.sort's (``values`` gradient scattered to ``indices``). Tied elements are ordered
by a stable sort (descending keeps their original order too), so each tied element gets the
gradient of the position it moved to, exactly as torch's stable sort. ``argsort`` returns
indices, which never require grad."""

from __future__ import annotations

from ._optable import op
from ._tensor import Tensor

__all__ = ["argsort", "sort"]


def argsort(self, x, /, *, axis=-1, descending=False, stable=True):
    """Indices that sort ``x`` along ``axis`` (``descending``; ``stable`` keeps tied elements in
    their original order). Not differentiable (an integer result)."""
    d = self._raw(x, "argsort")
    data = self._xp.argsort(d, axis=axis, descending=descending, stable=stable)
    return Tensor._wrap_plain(self, self._ensure(data))


def _sort_vjp(xp, g, *, perm, axis):
    # out[..., j] = x[..., perm[j]], so grad[..., perm[j]] = g[..., j]: gather g through the
    # inverse permutation (itself an argsort of perm, as perm is a permutation).
    inverse = xp.argsort(perm, axis=axis)
    return xp.take_along_axis(g, inverse, axis=axis)


def _sort_jvp(xp, *, x_t, perm, axis):
    return xp.take_along_axis(x_t, perm, axis=axis)


@op(grads={"x": _sort_vjp}, jvp=_sort_jvp, aux=("perm",))
def sort(xp, x, /, *, axis=-1, descending=False, stable=True):
    """``x`` sorted along ``axis`` (``descending``; ``stable`` keeps tied elements in their
    original order).

    Gradient: the gradient of output position ``j`` goes to the input element sorted to ``j``;
    the forward rule gathers the tangent through the same permutation. The permutation is
    always computed with a stable sort (a valid result for ``stable=False`` too), so the tie
    rule is deterministic and matches torch. Deviations: none.
    """
    if x.ndim == 0:
        raise ValueError("sort(): argument 'x' must have at least 1 dimension, got a 0-d array")
    perm = xp.argsort(x, axis=axis, descending=descending, stable=True)
    return xp.take_along_axis(x, perm, axis=axis), {"perm": perm}
