"""Linear algebra functions of the main namespace: matmul, matrix_transpose, tensordot, vecdot.

The products are bilinear: one VJP per input, each naming only the other input, so a product
with a constant saves one array and costs one product in backward (torch's saved sets), and the
forward rule is the product rule ``x1_t * x2 + x1 * x2_t``.
"""

from __future__ import annotations

from ._math import conj
from ._optable import LINEAR, op

__all__ = ["matmul", "matrix_transpose", "tensordot", "vecdot"]


def _mT(xp, a):
    return xp.matrix_transpose(a)


# 1-d operands are promoted to matrices as matmul does; broadcast batch dimensions are summed
# back by the engine. Against a matrix, a vector gradient is contracted without a transpose
# (``g @ x1``, ``x2 @ g``), so that the second order of ``X @ w`` with a constant ``X`` is ``X @ v``
# again. The matrix cases keep ``g @ x2^H`` and ``x1^H @ g``, as torch: a transpose is a free view
# on NumPy and torch, and Dask's overlay contracts a transposed operand without copying it
# (``_backends._dask_matmul``).


def _matmul_x1_vjp(xp, g, *, x2, x1_shape):
    b = conj(xp, x2)
    nd1 = len(x1_shape)
    if b.ndim == 1:
        return g[..., None] * b if nd1 > 1 else g * b
    if nd1 == 1:
        return xp.matmul(b, g) if g.ndim == 1 else xp.matmul(b, g[..., None])[..., 0]
    return xp.matmul(g, _mT(xp, b))


def _matmul_x2_vjp(xp, g, *, x1, x2_shape):
    a = conj(xp, x1)
    nd2 = len(x2_shape)
    if a.ndim == 1:
        return a[:, None] * g[..., None, :] if nd2 > 1 else a * g
    if nd2 == 1:
        return xp.matmul(g, a) if g.ndim == 1 else xp.matmul(g[..., None, :], a)[..., 0, :]
    return xp.matmul(_mT(xp, a), g)


def _product_rule(f, x1, x2, x1_t, x2_t, needs, **kw):
    """The tangent of bilinear ``f(x1, x2)``: one term per defined tangent (``needs``), so a
    product with a constant (no tangent) costs one product, not one with zeros of its size."""
    a = f(x1_t, x2, **kw) if needs[0] else None
    b = f(x1, x2_t, **kw) if needs[1] else None
    return b if a is None else (a if b is None else a + b)


def _matmul_jvp(xp, *, x1, x2, x1_t, x2_t, needs):
    return _product_rule(xp.matmul, x1, x2, x1_t, x2_t, needs)


@op(grads={"x1": _matmul_x1_vjp, "x2": _matmul_x2_vjp}, jvp=_matmul_jvp)
def matmul(xp, x1, x2, /):
    """Matrix product, with the standard's rules for 1-d operands and batch broadcasting.

    Gradient: ``g @ x2^H`` and ``x1^H @ g`` (batch dimensions summed back), as torch; the
    forward rule is ``x1_t @ x2 + x1 @ x2_t``. Deviations: with broadcast batch dimensions or a
    1-d operand against a batch, torch saves reshaped copies of the operands (an in-place change
    of an operand then does not raise there); xpgrad saves the operands and raises
    (docs/deviations.md, "Saved values").
    """
    return xp.matmul(x1, x2)


def _matrix_transpose_vjp(xp, g):
    return xp.matrix_transpose(g)


@op(grads={"x": _matrix_transpose_vjp}, jvp=LINEAR, view=True)
def matrix_transpose(xp, x, /):
    """Transposes the last two axes (a view).

    Gradient: the output gradient transposed back. Deviations: none.
    """
    if x.ndim < 2:
        raise ValueError(f"matrix_transpose(): argument 'x' must have at least 2 dimensions, got {x.ndim}")
    return xp.matrix_transpose(x)


def _tensordot_axes(axes, n1, n2):
    """``axes`` as two tuples of non-negative axes of ``x1`` and ``x2``."""
    if isinstance(axes, int):
        if axes < 0:
            raise ValueError(f"tensordot(): argument 'axes' must be non-negative, got {axes}")
        return tuple(range(n1 - axes, n1)), tuple(range(axes))
    a1, a2 = axes
    return tuple(a % n1 for a in a1), tuple(a % n2 for a in a2)


def _tensordot_x1_vjp(xp, g, *, x2, axes, x1_shape):
    n1, n2 = len(x1_shape), x2.ndim
    a1, a2 = _tensordot_axes(axes, n1, n2)
    free1 = [i for i in range(n1) if i not in a1]
    free2 = [i for i in range(n2) if i not in a2]
    nf1 = len(free1)
    # g has free1 + free2 axes: contract its free2 axes with x2's free axes. The result has
    # free1 + x2's contracted axes (in x2's order); x1's axis a1[k] pairs with x2's a2[k].
    r = xp.tensordot(g, conj(xp, x2), axes=(tuple(range(nf1, g.ndim)), tuple(free2)))
    rest = [i for i in range(n2) if i in a2]
    perm = [0] * n1
    for k, i in enumerate(free1):
        perm[i] = k
    for k, i in enumerate(a1):
        perm[i] = nf1 + rest.index(a2[k])
    return xp.permute_dims(r, tuple(perm))


def _tensordot_x2_vjp(xp, g, *, x1, axes, x2_shape):
    n1, n2 = x1.ndim, len(x2_shape)
    a1, a2 = _tensordot_axes(axes, n1, n2)
    free1 = [i for i in range(n1) if i not in a1]
    free2 = [i for i in range(n2) if i not in a2]
    # The result has x1's contracted axes (in x1's order) + free2.
    r = xp.tensordot(conj(xp, x1), g, axes=(tuple(free1), tuple(range(len(free1)))))
    rest = [i for i in range(n1) if i in a1]
    perm = [0] * n2
    for k, j in enumerate(a2):
        perm[j] = rest.index(a1[k])
    for k, j in enumerate(free2):
        perm[j] = len(rest) + k
    return xp.permute_dims(r, tuple(perm))


def _tensordot_jvp(xp, *, x1, x2, x1_t, x2_t, axes, needs):
    return _product_rule(xp.tensordot, x1, x2, x1_t, x2_t, needs, axes=axes)


@op(grads={"x1": _tensordot_x1_vjp, "x2": _tensordot_x2_vjp}, jvp=_tensordot_jvp)
def tensordot(xp, x1, x2, /, *, axes=2):
    """Sum of products over the given axes of two arrays.

    Gradient: the output gradient contracted with the conjugate of the other operand over its
    free axes, axes put back in place; the forward rule is the product rule. Deviations: with
    permuted axes torch saves permuted copies of the operands (an in-place change of an operand
    then does not raise there); xpgrad saves the operands and raises (docs/deviations.md).
    """
    _tensordot_axes(axes, x1.ndim, x2.ndim)
    return xp.tensordot(x1, x2, axes=axes)


def _vecdot_g(xp, g, axis, n1, n2):
    ax = axis if axis < 0 else axis - max(n1, n2)
    return xp.expand_dims(g, axis=ax)


# vecdot(x1, x2) = sum(conj(x1) * x2): holomorphic in x2 (gradient g * x1) and anti-holomorphic
# in x1 (gradient conj(g) * x2), in torch's convention.


def _vecdot_x1_vjp(xp, g, *, x2, axis, x1_shape):
    return x2 * conj(xp, _vecdot_g(xp, g, axis, len(x1_shape), x2.ndim))


def _vecdot_x2_vjp(xp, g, *, x1, axis, x2_shape):
    return x1 * _vecdot_g(xp, g, axis, x1.ndim, len(x2_shape))


def _vecdot_jvp(xp, *, x1, x2, x1_t, x2_t, axis, needs):
    return _product_rule(xp.vecdot, x1, x2, x1_t, x2_t, needs, axis=axis)


@op(grads={"x1": _vecdot_x1_vjp, "x2": _vecdot_x2_vjp}, jvp=_vecdot_jvp)
def vecdot(xp, x1, x2, /, *, axis=-1):
    """Dot product of vectors along ``axis`` (conjugating ``x1`` for complex inputs).

    Gradient: ``conj(g) * x2`` for ``x1`` and ``g * x1`` for ``x2`` (torch's convention for
    the conjugated operand); the forward rule is ``vecdot(x1_t, x2) + vecdot(x1, x2_t)``.
    Deviations: when the operands broadcast, torch saves expanded copies (an in-place change of
    an operand then does not raise there); xpgrad saves the operands and raises
    (docs/deviations.md).
    """
    return xp.vecdot(x1, x2, axis=axis)
