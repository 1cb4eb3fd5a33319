"""Utility functions: ``all`` and ``any`` (boolean results, never differentiable) and ``diff``.

``diff`` is linear, so its VJP is the transposed difference: with ``c`` the input with
``prepend``/``append`` joined, ``y = D^n c`` and ``D^T g = -diff(g padded with a zero at each
end)``, hence ``(D^T)^n g = (-1)^n diff(g padded with n zeros at each end, n)``. It is written
with ``diff`` itself, so every order of derivative works.
"""

from __future__ import annotations

from ._math import normalize_axis, zeros_along
from ._optable import op
from ._tensor import Tensor

__all__ = ["all", "any", "diff"]


def all(self, x, /, *, axis=None, keepdims=False):
    """Whether every element of ``x`` along ``axis`` (all axes if None) is true (non-zero).
    Not differentiable (a boolean result)."""
    data = self._xp.all(self._raw(x, "all"), axis=axis, keepdims=keepdims)
    return Tensor._wrap_plain(self, self._ensure(data))


def any(self, x, /, *, axis=None, keepdims=False):
    """Whether any element of ``x`` along ``axis`` (all axes if None) is true (non-zero).
    Not differentiable (a boolean result)."""
    data = self._xp.any(self._raw(x, "any"), axis=axis, keepdims=keepdims)
    return Tensor._wrap_plain(self, self._ensure(data))


def _diff_vjp(xp, g, *, x_shape, axis, n, sizes):
    ax = normalize_axis(axis, len(x_shape))[0]
    total = sizes[0] + sizes[1] + sizes[2]
    if n == 0 and g.shape[ax] == sizes[1]:  # the backend returned x itself
        return g, None, None
    if total < n:  # empty result: no element depends on the inputs
        gc = zeros_along(xp, g, ax, total)
    else:
        pad = zeros_along(xp, g, ax, n)
        gc = xp.diff(g, axis=ax, n=n, prepend=pad, append=pad)
        if n % 2:
            gc = -gc
    # gc is the gradient of prepend, x and append joined along the axis: split it.
    lead = (slice(None),) * ax
    parts = []
    start = 0
    for size in sizes:
        parts.append(gc[lead + (slice(start, start + size), ...)] if size else None)
        start += size
    return parts[1], parts[0], parts[2]


def _diff_jvp(xp, *, x_t, prepend_t, append_t, prepend, append, axis, n):
    kwargs = {}
    if prepend is not None:
        kwargs["prepend"] = prepend_t
    if append is not None:
        kwargs["append"] = append_t
    return xp.diff(x_t, axis=axis, n=n, **kwargs)


@op(grads={("x", "prepend", "append"): _diff_vjp}, jvp=_diff_jvp, aux=("sizes",))
def diff(xp, x, /, *, axis=-1, n=1, prepend=None, append=None):
    """The ``n``-th discrete difference of ``x`` along ``axis``, after joining ``prepend`` and
    ``append`` to ``x`` along that axis.

    Gradient: ``x``, ``prepend`` and ``append`` each get their slice of the transposed
    difference of the output gradient (diff is linear; as torch.diff, which is composed of
    differentiable slices and a concatenation). Deviations: none.
    """
    if not isinstance(n, int) or isinstance(n, bool) or n < 0:
        raise ValueError(f"diff(): argument 'n' must be a non-negative int, got {n!r}")
    if x.ndim == 0:
        raise ValueError("diff(): argument 'x' must have at least 1 dimension, got a 0-d array")
    ax = normalize_axis(axis, x.ndim, "diff")[0]
    kwargs = {}
    sizes = [0, x.shape[ax], 0]
    for k, name, v in ((0, "prepend", prepend), (2, "append", append)):
        if v is not None:
            kwargs[name] = v
            sizes[k] = v.shape[ax] if v.ndim == x.ndim else 1
    return xp.diff(x, axis=ax, n=n, **kwargs), {"sizes": tuple(sizes)}
