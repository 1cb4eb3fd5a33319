"""Linear algebra functions of the main namespace: matmul, matrix_transpose, tensordot, vecdot.

Each VJP computes only the gradients of the inputs that require grad (``needs``), so a product
with a constant costs one matrix product in backward, not two.
"""

from __future__ import annotations

from ._math import conj
from ._ops import record
from ._tensor import Tensor

__all__ = ["matmul", "matrix_transpose", "tensordot", "vecdot"]


def _needs(*xs):
    return tuple(type(x) is Tensor and x._requires_grad for x in xs)


def matmul(self, x1, x2, /):
    x1 = self._tensor(x1, "matmul", "x1")
    x2 = self._tensor(x2, "matmul", "x2")
    needs = _needs(x1, x2)
    data = self._xp.matmul(x1._data, x2._data)
    saved = (x1 if needs[1] else None, x2 if needs[0] else None)
    return record(
        self,
        "matmul",
        _matmul_vjp,
        (x1, x2),
        data,
        saved=saved,
        kw={"needs": needs, "nd1": x1.ndim, "nd2": x2.ndim},
    )


def _mT(xp, a):
    return xp.matrix_transpose(a)


def _matmul_vjp(xp, g, x1, x2, *, needs, nd1, nd2):
    # 1-d operands are promoted to matrices as matmul does; broadcast batch dimensions are
    # summed back by the engine.
    g1 = g2 = None
    if needs[0]:
        b = conj(xp, x2)
        if nd2 == 1:
            g1 = g[..., None] * b if nd1 > 1 else g * b
        elif nd1 == 1:
            g1 = xp.matmul(g[..., None, :], _mT(xp, b))[..., 0, :]
        else:
            g1 = xp.matmul(g, _mT(xp, b))
    if needs[1]:
        a = conj(xp, x1)
        if nd1 == 1:
            g2 = a[:, None] * g[..., None, :] if nd2 > 1 else a * g
        elif nd2 == 1:
            g2 = xp.matmul(_mT(xp, a), g[..., None])[..., 0]
        else:
            g2 = xp.matmul(_mT(xp, a), g)
    return g1, g2


def matrix_transpose(self, x, /):
    x = self._tensor(x, "matrix_transpose")
    if x.ndim < 2:
        raise ValueError(f"matrix_transpose(): argument 'x' must have at least 2 dimensions, got {x.ndim}")
    t = record(
        self, "matrix_transpose", _matrix_transpose_vjp, (x,), self._xp.matrix_transpose(x._data), view_of=x
    )
    if t._base is not None:
        self._set_view_fn(t, x, self.matrix_transpose)
    return t


def _matrix_transpose_vjp(xp, g):
    return xp.matrix_transpose(g)


def _normalize_tensordot_axes(axes, n1, n2):
    if isinstance(axes, int):
        if axes < 0:
            raise ValueError(f"tensordot(): argument 'axes' must be non-negative, got {axes}")
        return tuple(range(n1 - axes, n1)), tuple(range(axes))
    a1, a2 = axes
    a1 = tuple(a % n1 for a in a1)
    a2 = tuple(a % n2 for a in a2)
    return a1, a2


def tensordot(self, x1, x2, /, *, axes=2):
    x1 = self._tensor(x1, "tensordot", "x1")
    x2 = self._tensor(x2, "tensordot", "x2")
    needs = _needs(x1, x2)
    data = self._xp.tensordot(x1._data, x2._data, axes=axes)
    a1, a2 = _normalize_tensordot_axes(axes, x1.ndim, x2.ndim)
    saved = (x1 if needs[1] else None, x2 if needs[0] else None)
    return record(
        self,
        "tensordot",
        _tensordot_vjp,
        (x1, x2),
        data,
        saved=saved,
        kw={"needs": needs, "a1": a1, "a2": a2, "n1": x1.ndim, "n2": x2.ndim},
    )


def _tensordot_vjp(xp, g, x1, x2, *, needs, a1, a2, n1, n2):
    free1 = [i for i in range(n1) if i not in a1]
    free2 = [i for i in range(n2) if i not in a2]
    nf1 = len(free1)
    g1 = g2 = None
    if needs[0]:
        # g: free1 + free2 axes. Contract g's free2 axes with x2's free axes.
        b = conj(xp, x2)
        r = xp.tensordot(g, b, axes=(tuple(range(nf1, g.ndim)), tuple(free2)))
        # r axes: free1 + a2 (in x2's order of the contracted axes, i.e. a2 sorted as remaining)
        rest = [i for i in range(n2) if i in a2]  # order of x2's contracted axes left in b
        order_in_r = [nf1 + rest.index(j) for j in a2]  # position in r of x1's axis a1[k]
        perm = [0] * n1
        for k, i in enumerate(free1):
            perm[i] = k
        for k, i in enumerate(a1):
            perm[i] = order_in_r[k]
        g1 = xp.permute_dims(r, tuple(perm))
    if needs[1]:
        a = conj(xp, x1)
        r = xp.tensordot(a, g, axes=(tuple(free1), tuple(range(nf1))))
        # r axes: x1's contracted axes (in x1's order) + free2
        rest = [i for i in range(n1) if i in a1]
        nc = len(rest)
        perm = [0] * n2
        for k, j in enumerate(a2):
            perm[j] = rest.index(a1[k])
        for k, j in enumerate(free2):
            perm[j] = nc + k
        g2 = xp.permute_dims(r, tuple(perm))
    return g1, g2


def vecdot(self, x1, x2, /, *, axis=-1):
    x1 = self._tensor(x1, "vecdot", "x1")
    x2 = self._tensor(x2, "vecdot", "x2")
    needs = _needs(x1, x2)
    data = self._xp.vecdot(x1._data, x2._data, axis=axis)
    if axis >= 0:
        axis -= max(x1.ndim, x2.ndim)
    saved = (x1 if needs[1] else None, x2 if needs[0] else None)
    return record(self, "vecdot", _vecdot_vjp, (x1, x2), data, saved=saved, kw={"needs": needs, "axis": axis})


def _vecdot_vjp(xp, g, x1, x2, *, needs, axis):
    # vecdot(x1, x2) = sum(conj(x1) * x2): holomorphic in x2 (gradient g * x1) and
    # anti-holomorphic in x1 (gradient conj(g) * x2), in torch's convention.
    ge = xp.expand_dims(g, axis=axis)
    g1 = g2 = None
    if needs[0]:
        g1 = x2 * conj(xp, ge)
    if needs[1]:
        g2 = x1 * ge
    return g1, g2
