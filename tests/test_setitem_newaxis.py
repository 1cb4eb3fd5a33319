"""``x[key] = value`` with ``None`` (newaxis) in the key, on every backend, against torch.autograd.

``None`` adds a size-1 axis to the indexed region, which the value broadcasts to. Issue 19: the
key ``None`` alone was taken for "the whole value" (the graph was dropped silently), and the
other backends refused or misplaced ``None`` in a write. Each case runs the same program with
torch: values, both gradients and the graph (``grad_fn``), second order and forward mode.

JAX and Dask are optional: without them their cases skip with the reason, unless
``XPGRAD_REQUIRE_BACKENDS=1`` (CI), where a missing backend fails.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.autograd.forward_ad as tfw

import xpgrad
from xpgrad import forward_ad as xfw

# torch's forward AD goes through torch.jit.script, which warns in torch 2.13.
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")

S = slice(None)


def _int(*v):
    return ("int", np.array(v))


def _mask(*v):
    return ("bool", np.array(v, dtype=bool))


# (id, shape of x, key, shape of the value); index arrays as ("int"/"bool", values).
CASES = [
    ("None", (4, 3, 2), (None,), (1, 4, 3, 2)),
    ("None-bare", (4, 3, 2), None, (1, 4, 3, 2)),
    ("None-broadcast", (4, 3, 2), (None,), (3, 2)),
    ("None-scalar", (4, 3, 2), (None,), ()),
    ("None-issue-shapes", (4, 3, 1), (None,), (1, 4, 3, 1)),
    ("None-extra-leading-ones", (4, 3, 2), (None,), (1, 1, 4, 3, 2)),
    ("None,0", (4, 3, 2), (None, 0), (1, 3, 2)),
    ("None,0-broadcast", (4, 3, 2), (None, 0), (2,)),
    ("...,None", (4, 3, 2), (Ellipsis, None), (4, 3, 2, 1)),
    ("...,None-broadcast", (4, 3, 2), (Ellipsis, None), (2, 1)),
    ("...,None-one", (4, 3, 2), (Ellipsis, None), (1,)),
    ("0,None,:", (4, 3, 2), (0, None, S), (1, 3, 2)),
    ("0,None,:-broadcast", (4, 3, 2), (0, None, S), (3, 1)),
    ("None,...,None", (4, 3, 2), (None, Ellipsis, None), (1, 4, 3, 2, 1)),
    ("None,...,None-broadcast", (4, 3, 2), (None, Ellipsis, None), (3, 2, 1)),
    ("1:3,None,None,1", (4, 3, 2), (slice(1, 3), None, None, 1), (2, 1, 1, 2)),
    ("None,None", (4, 3, 2), (None, None), (2,)),
    ("...,None,0", (4, 3, 2), (Ellipsis, None, 0), (4, 3, 1)),
    ("1,None,...,None,::2", (4, 3, 2), (1, None, Ellipsis, None, slice(None, None, 2)), (1, 3, 1, 1)),
    ("0-d", (), (None,), (1,)),
    ("None,int", (4, 3, 2), (None, _int(0, 2)), (1, 2, 3, 2)),
    ("int,None", (4, 3, 2), (_int(0, 2), None), (2, 1, 3, 2)),
    ("None,int,int", (4, 3, 2), (None, _int(0, 2), _int(1, 1)), (1, 2, 2)),
    # None between index arrays moves their axis first (NumPy's and torch's rule)
    (":,int,None,int", (4, 3, 2), (S, _int(0, 2), None, _int(1, 0)), (2, 4, 1)),
    ("int,None,int", (4, 3, 2), (_int(0, 2), None, _int(1, 0)), (2, 1, 2)),
    ("None,mask", (4, 3, 2), (None, _mask(1, 0, 1, 1)), (1, 3, 3, 2)),
    ("mask,None", (4, 3, 2), (_mask(1, 0, 1, 1), None), (3, 1, 3, 2)),
    ("None,mask-broadcast", (4, 3, 2), (None, _mask(1, 0, 1, 1)), (2,)),
]


def _kind(key):
    items = key if isinstance(key, tuple) else (key,)
    kinds = {k[0] for k in items if isinstance(k, tuple)}
    ints = sum(1 for k in items if isinstance(k, tuple) and k[0] == "int")
    return kinds, ints


def _known(backend, cid, key, order):
    """The backend's own limits, as strict xfails (the same key without ``None`` fails alike)."""
    kinds, ints = _kind(key)
    if backend == "dask" and "bool" in kinds and order == 2 and cid.endswith("-broadcast"):
        # (a value that spans the masked axis takes the gradient g[mask] joined to its shape)
        return "Dask: second order through a boolean index broadcasts to an unknown (nan) length"
    if backend == "array_api_strict" and "int" in kinds:
        return "array_api_strict refuses index arrays in __setitem__ ('Fancy indexing __setitem__')"
    if backend == "array_api_strict" and "bool" in kinds:
        return "array_api_strict allows a boolean index only as the sole index"
    if backend == "dask" and ints > 1:
        return "Dask: no indexing with several index arrays ('Don't yet support nd fancy indexing')"
    return None


BACKENDS = [
    pytest.param("numpy"),
    pytest.param("torch"),
    pytest.param("array_api_strict"),
    pytest.param("jax", marks=pytest.mark.requires_backend("jax")),
    pytest.param("dask", marks=pytest.mark.requires_backend("dask")),
]


def _params():
    for backend in BACKENDS:
        name = backend.values[0]
        for cid, xshape, key, vshape in CASES:
            for order in (1, 2):
                marks = list(backend.marks)
                reason = _known(name, cid, key, order)
                if reason is not None:
                    marks.append(pytest.mark.xfail(strict=True, reason=reason))
                yield pytest.param(name, xshape, key, vshape, order, id=f"{name}-{cid}-{order}", marks=marks)


def _ns(name):
    if name == "jax":
        import jax

        jax.config.update("jax_enable_x64", True)  # float64, as the torch reference
    return xpgrad.namespace(name)


def _raw(ns, a):
    """A NumPy array as a raw array of the backend of ``ns``."""
    if ns.backend.name == "dask":
        import dask.array as da

        return da.from_array(np.asarray(a))
    return ns.backend.xp.asarray(np.asarray(a))


def _key(key, make):
    if isinstance(key, tuple):
        return tuple(make(k[1]) if isinstance(k, tuple) else k for k in key)
    return key


def _np(t):
    d = t.detach().data if isinstance(t, xpgrad.Tensor) else t
    inner = getattr(d, "_array", None)  # array_api_strict
    return np.asarray(d if inner is None else inner)


def _torch_program(key, A, B, W, order):
    a = torch.tensor(A, requires_grad=True)
    b = torch.tensor(B, requires_grad=True)
    v = torch.asinh(a)
    v[_key(key, torch.tensor)] = b
    loss = (v * v * torch.tensor(W)).sum()
    if order == 2:
        ga, gb = torch.autograd.grad(loss, (a, b), create_graph=True)
        loss = (ga * ga).sum() + (gb * torch.sin(gb)).sum()
    loss.backward()
    return v.detach().numpy(), a.grad.numpy(), b.grad.numpy()


def _program(ns, key, A, B, W, order):
    a = ns.asarray(_raw(ns, A), requires_grad=True)
    b = ns.asarray(_raw(ns, B), requires_grad=True)
    v = ns.asinh(a)
    v[_key(key, lambda k: ns.asarray(_raw(ns, k)))] = b
    assert v.requires_grad and v.grad_fn is not None  # the graph is kept (issue 19)
    loss = ns.sum(v * v * ns.asarray(_raw(ns, W)))
    if order == 2:
        ga, gb = xpgrad.grad(loss, (a, b), create_graph=True)
        loss = ns.sum(ga * ga) + ns.sum(gb * ns.sin(gb))
    loss.backward()
    assert a.grad is not None and b.grad is not None
    return _np(v), _np(a.grad), _np(b.grad)


def _inputs(xshape, vshape, seed):
    rng = np.random.default_rng(seed)
    return rng.standard_normal(xshape), rng.standard_normal(vshape), rng.standard_normal(xshape)


@pytest.mark.parametrize(("backend", "xshape", "key", "vshape", "order"), list(_params()))
def test_setitem_with_newaxis_matches_torch(backend, xshape, key, vshape, order):
    A, B, W = _inputs(xshape, vshape, seed=len(vshape) + 7 * order)
    expected = _torch_program(key, A, B, W, order)
    got = _program(_ns(backend), key, A, B, W, order)
    for name, e, g in zip(("value", "a.grad", "b.grad"), expected, got):
        assert g.shape == e.shape, name
        np.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-12, err_msg=name)


def test_the_reduced_program_of_issue_19():
    # v = asinh(a); v[None] = b: the graph was dropped (grad_fn None, both gradients None)
    xp = xpgrad.namespace(np)
    A = np.linspace(-1.0, 1.0, 12).reshape(4, 3, 1)
    B = np.linspace(0.5, 2.0, 12).reshape(1, 4, 3, 1)
    a = xp.asarray(A, requires_grad=True)
    b = xp.asarray(B, requires_grad=True)
    v = xp.asinh(a)
    v[None] = b
    assert v.grad_fn is not None
    xp.sum(v * v).backward()
    assert b.grad.shape == (1, 4, 3, 1)
    np.testing.assert_array_equal(_np(b.grad), 2 * B)  # d sum(v*v)/db = 2 b, v holds b everywhere
    np.testing.assert_array_equal(_np(a.grad), np.zeros((4, 3, 1)))  # a is overwritten everywhere


@pytest.mark.parametrize("backend", ["numpy", "torch", "array_api_strict"])
def test_setitem_with_newaxis_through_a_view(backend):
    # The target is a view; the write reaches its base's graph (torch's CopySlices). JAX and Dask
    # have no views (docs/backends.md): there a slice is a copy, for values and graphs alike.
    A, B, W = _inputs((5, 3, 2), (3, 1), seed=3)
    key = (0, None, S)

    def run(lib, make):
        a, b = make(A), make(B)
        base = lib.asinh(a) * 1.0
        v = base[1:4, ...]
        v[key] = b
        lib.sum(base * base * make(W, False)).backward()
        return a.grad, b.grad

    ta, tb = run(torch, lambda z, g=True: torch.tensor(z, requires_grad=g))
    ns = _ns(backend)
    xa, xb = run(ns, lambda z, g=True: ns.asarray(_raw(ns, z), requires_grad=g))
    np.testing.assert_allclose(_np(xa), ta.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(_np(xb), tb.numpy(), rtol=1e-12, atol=1e-12)


FORWARD_CASES = [c for c in CASES if "bool" not in _kind(c[2])[0] and _kind(c[2])[1] <= 1]


@pytest.mark.parametrize(("cid", "xshape", "key", "vshape"), FORWARD_CASES, ids=[c[0] for c in FORWARD_CASES])
def test_setitem_with_newaxis_forward_mode(cid, xshape, key, vshape):
    rng = np.random.default_rng(5)
    A, B = rng.standard_normal(xshape), rng.standard_normal(vshape)
    TA, TB = rng.standard_normal(xshape), rng.standard_normal(vshape)
    with tfw.dual_level():
        a = tfw.make_dual(torch.tensor(A), torch.tensor(TA))
        b = tfw.make_dual(torch.tensor(B), torch.tensor(TB))
        v = torch.asinh(a)
        v[_key(key, torch.tensor)] = b
        expected = tfw.unpack_dual(torch.sin(v)).tangent.numpy()
    xp = xpgrad.namespace(np)
    with xfw.dual_level():
        a = xfw.make_dual(xp.asarray(A), xp.asarray(TA))
        b = xfw.make_dual(xp.asarray(B), xp.asarray(TB))
        v = xp.asinh(a)
        v[_key(key, xp.asarray)] = b
        got = _np(xfw.unpack_dual(xp.sin(v)).tangent)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    ("key", "vshape"), [((None,), (3, 2)), ((None, Ellipsis, None), (2, 1)), ((0, None, S), (3, 1))]
)
def test_setitem_with_newaxis_without_grad_writes_what_numpy_writes(backend, key, vshape):
    rng = np.random.default_rng(2)
    X, V = rng.standard_normal((4, 3, 2)), rng.standard_normal(vshape)
    expected = X.copy()
    expected[key] = V
    ns = _ns(backend)
    x = ns.asarray(_raw(ns, X))
    x[key] = ns.asarray(_raw(ns, V))
    np.testing.assert_array_equal(_np(x), expected)


def test_a_value_broadcast_to_fewer_axes_than_it_has_gets_its_own_shape_back():
    # The engine sums a gradient to its input's shape also when the input has more (size-1)
    # axes than the gradient (x[0] = v with v of shape (1, 1, 3)); torch does the same.
    xp = xpgrad.namespace(np)
    x = xp.asinh(xp.asarray(np.ones((2, 3)), requires_grad=True))
    v = xp.asarray(np.arange(3.0).reshape(1, 1, 3), requires_grad=True)
    x[0] = v
    xp.sum(x * x).backward()
    assert v.grad.shape == (1, 1, 3)
    np.testing.assert_array_equal(_np(v.grad), 2 * np.arange(3.0).reshape(1, 1, 3))
