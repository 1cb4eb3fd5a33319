"""Dynamic dimensions: the standard lets ``shape`` hold ``None`` for a size a library does not
know (libraries that build graphs). Reductions' and broadcasts' gradients must not compute with
it (``int *= None``, ``broadcast_to(g, (None, 3))``): they broadcast against and count over the
input itself.

The backend below is array_api_compat.numpy with arrays whose leading size is reported as
``None`` when it is the batch size (5), as a graph-building library reports a batch axis; the
values underneath are NumPy's, so the gradients are checked against torch.autograd.
"""

from __future__ import annotations

import operator
import types

import array_api_compat.numpy as cnp
import numpy as np
import pytest
import torch

import xpgrad

BATCH = 5


class Sym:
    """An array whose leading size is unknown (None) when it is the batch size."""

    __slots__ = ("_a",)

    def __init__(self, a):
        self._a = np.asarray(a)

    def __array_namespace__(self, api_version=None):
        return SYM

    @property
    def shape(self):
        s = self._a.shape
        return (None,) + s[1:] if s and s[0] == BATCH else s

    dtype = property(lambda self: self._a.dtype)
    ndim = property(lambda self: self._a.ndim)
    device = property(lambda self: "cpu")

    @property
    def size(self):
        return None if None in self.shape else self._a.size

    def __getitem__(self, key):
        return _wrap(self._a[_unwrap(key)])

    def __setitem__(self, key, value):
        self._a[_unwrap(key)] = _unwrap(value)

    def __bool__(self):
        return bool(self._a)

    def __float__(self):
        return float(self._a)

    def __index__(self):
        return operator.index(self._a)

    def __dlpack__(self, **kwargs):
        return self._a.__dlpack__(**kwargs)

    def __dlpack_device__(self):
        return self._a.__dlpack_device__()


def _unwrap(x):
    if isinstance(x, Sym):
        return x._a
    if isinstance(x, (list, tuple)):
        if any(n is None for n in x):
            raise TypeError(f"a shape holding None reached the backend: {x}")
        return type(x)(_unwrap(v) for v in x)
    return x


def _wrap(x):
    if isinstance(x, (np.ndarray, np.generic)):
        return Sym(x)
    if isinstance(x, (list, tuple)):
        return type(x)(_wrap(v) for v in x)
    return x


def _method(name):
    def method(self, *args):
        return _wrap(getattr(self._a, name)(*_unwrap(args)))

    return method


for _name in (
    "add radd sub rsub mul rmul truediv rtruediv pow rpow matmul rmatmul neg pos abs eq ne lt le gt ge"
).split():
    setattr(Sym, f"__{_name}__", _method(f"__{_name}__"))


def _function(fn):
    def call(*args, **kwargs):
        return _wrap(fn(*_unwrap(args), **{k: _unwrap(v) for k, v in kwargs.items()}))

    return call


class _SymNamespace(types.ModuleType):
    __array_api_version__ = cnp.__array_api_version__

    def __getattr__(self, name):
        value = getattr(cnp, name)
        if isinstance(value, types.ModuleType):
            raise AttributeError(name)  # no extensions
        return _function(value) if callable(value) and not isinstance(value, type) else value


SYM = _SymNamespace("sym")


def _check(fn, x_np, *others):
    xp = xpgrad.namespace(SYM)
    x = xp.asarray(Sym(x_np), requires_grad=True)
    assert x.shape[0] is None
    fn(xp, x, *(xp.asarray(Sym(o)) for o in others)).backward()
    t = torch.tensor(x_np, requires_grad=True)
    fn(torch, t, *(torch.tensor(o) for o in others)).backward()
    np.testing.assert_allclose(x.grad.data._a, t.grad.numpy(), rtol=1e-12)


X = np.random.default_rng(0).standard_normal((BATCH, 3))


@pytest.mark.parametrize("axis", [None, 0, 1, (0, 1)])
def test_sum_gradient_with_an_unknown_size(axis):
    _check(lambda xp, x: xp.sum(xp.sum(x * x, axis=axis)), X)


@pytest.mark.parametrize("axis", [None, 0, 1])
@pytest.mark.parametrize("keepdims", [False, True])
def test_mean_gradient_with_an_unknown_size(axis, keepdims):
    # the count of a reduced unknown axis is the backend's (torch: 5)
    _check(lambda xp, x: xp.sum(xp.mean(x * x, axis=axis, keepdims=keepdims)), X)


def test_broadcast_gradient_with_an_unknown_size():
    # (None, 3) + (3,) and (None, 3) * (1, 3): the smaller operand's gradient sums over the batch
    w = np.asarray([0.5, -1.0, 2.0])

    def f(xp, x, w, w2):
        return xp.sum((x + w) * w2)

    xp = xpgrad.namespace(SYM)
    x = xp.asarray(Sym(X), requires_grad=True)
    wt = xp.asarray(Sym(w), requires_grad=True)
    w2 = xp.asarray(Sym(w[None, :] * 3), requires_grad=True)
    f(xp, x, wt, w2).backward()
    tx, tw, tw2 = (torch.tensor(a, requires_grad=True) for a in (X, w, w[None, :] * 3))
    f(torch, tx, tw, tw2).backward()
    for ours, theirs in ((x, tx), (wt, tw), (w2, tw2)):
        np.testing.assert_allclose(ours.grad.data._a, theirs.grad.numpy(), rtol=1e-12)
