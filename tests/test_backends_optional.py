"""xpgrad on the optional backends (JAX, Dask) against xpgrad on NumPy.

JAX and Dask are not test dependencies: without them these tests are skipped with a reason
(``pip install xpgrad[backends]``), except where ``XPGRAD_REQUIRE_BACKENDS=1`` is set (CI sets it:
there a missing backend is a failure, not a skip; the ``requires_backend`` marker, conftest.py). The full comparison with torch is
``python -m conformance --backend=jax`` / ``--backend=dask`` (docs/backends.md).
"""

from __future__ import annotations

import numpy as np
import pytest

import xpgrad

BACKENDS = [
    pytest.param("jax", marks=pytest.mark.requires_backend("jax")),
    pytest.param("dask", marks=pytest.mark.requires_backend("dask")),
]


@pytest.fixture(params=BACKENDS)
def xp(request):
    if request.param == "jax":
        import jax

        jax.config.update("jax_enable_x64", True)  # float64, as the NumPy reference
    return xpgrad.namespace(request.param)


def _np(t):
    return np.asarray(t.detach() if isinstance(t, xpgrad.Tensor) else t)


def _leaf(ns, a):
    return ns.asarray(ns._xp.asarray(np.asarray(a, dtype=np.float64)), requires_grad=True)


def _both(xp, fn, *arrays):
    """Run ``fn(ns, *leaves)`` on ``xp`` and on xpgrad.numpy; compare values and gradients."""
    results = []
    for ns in (xp, xpgrad.numpy):
        leaves = [_leaf(ns, a) for a in arrays]
        out = fn(ns, *leaves)
        grads = xpgrad.grad(ns.sum(out), leaves)
        results.append((_np(out), [_np(g) for g in grads]))
    (v, gs), (v_ref, gs_ref) = results
    np.testing.assert_allclose(v, v_ref, rtol=1e-10, atol=1e-12)
    for g, g_ref in zip(gs, gs_ref):
        np.testing.assert_allclose(g, g_ref, rtol=1e-10, atol=1e-12)


A = np.array([[1.0, -2.0, 0.5], [0.3, 2.0, -1.0]])
B = np.array([[0.2, 1.0], [-1.5, 0.7], [2.0, 0.1]])


def test_namespace_and_backward(xp):
    assert xp is xpgrad.namespace(xp.backend.xp)
    w = _leaf(xp, A)
    loss = xp.sum(xp.sin(w) ** 2 + xp.exp(-w) * w)
    loss.backward()
    ref = _leaf(xpgrad.numpy, A)
    xpgrad.numpy.sum(xpgrad.numpy.sin(ref) ** 2 + xpgrad.numpy.exp(-ref) * ref).backward()
    assert w.grad.shape == w.shape and w.grad.dtype == w.dtype
    np.testing.assert_allclose(_np(w.grad), _np(ref.grad), rtol=1e-12)
    assert isinstance(loss.item(), float)


def test_matmul_reductions_and_indexing(xp):
    _both(xp, lambda ns, a, b: ns.tanh(a @ b)[:, ::-1] * ns.max(a, axis=1, keepdims=True), A, B)
    _both(xp, lambda ns, a: ns.cumulative_sum(a, axis=1) * ns.prod(a, axis=0), A)


def test_second_order(xp):
    results = []
    for ns in (xp, xpgrad.numpy):
        x = _leaf(ns, A)
        (g,) = xpgrad.grad(ns.sum(x**3 * ns.sin(x)), x, create_graph=True)
        (h,) = xpgrad.grad(ns.sum(g * g), x)
        results.append((_np(g), _np(h)))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-10)
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-10)


def test_inplace_and_setitem(xp):
    def fn(ns, a, b):
        y = a * 1.0
        y *= b[:, :1].mT  # in-place on a non-leaf, broadcast
        y[0, 1] = ns.sum(b)  # differentiable __setitem__
        y[1] = y[1] + 2.0
        return y

    _both(xp, fn, A, B)


def test_update_under_no_grad_rebinds_or_writes(xp):
    w = _leaf(xp, A)
    xp.sum(w * w).backward()
    with xpgrad.no_grad():
        w -= 0.1 * w.grad
        w[0, 0] = 5.0
    expected = A - 0.2 * A
    expected[0, 0] = 5.0
    np.testing.assert_allclose(_np(w), expected, rtol=1e-12)
    assert w.is_leaf and w.requires_grad


def test_leaf_inplace_is_an_error(xp):
    w = _leaf(xp, A)
    with pytest.raises(RuntimeError, match="leaf"):
        w += 1.0


def test_linalg_and_fft(xp):
    _both(xp, lambda ns, a: ns.linalg.matrix_norm(a @ a.mT) + ns.linalg.vector_norm(a), A)
    _both(xp, lambda ns, a, b: ns.linalg.solve(a @ b + 3.0 * ns.eye(2, dtype=a.dtype), a[:, 0]), A, B)
    _both(xp, lambda ns, a: ns.abs(ns.fft.fft(a, axis=-1)) + ns.fft.irfft(ns.fft.rfft(a), n=3), A)
    _both(xp, lambda ns, a: ns.real(ns.fft.fftn(a * 1j)) ** 2, A)


def test_mixing_with_numpy_tensors_is_an_error(xp):
    with pytest.raises(TypeError, match="different backends"):
        _leaf(xp, A) + _leaf(xpgrad.numpy, A)


# -- torch interop: raw torch tensors given to xpgrad.namespace(torch) ---------------------------


def test_raw_torch_tensor_that_requires_grad_is_refused():
    """Treated as a constant it would silently lose its gradient: every entry point refuses it."""
    import torch

    xt = xpgrad.namespace(torch)
    t = torch.ones(3, requires_grad=True)
    w = xt.asarray(torch.ones(3), requires_grad=True)
    for call in (
        lambda: xt.sin(t),
        lambda: xt.add(w, t),
        lambda: w * t,
        lambda: xt.take(w, t),
        lambda: xt.asarray(t),
    ):
        with pytest.raises(TypeError, match="torch tensor that requires grad.*detach"):
            call()
    assert t.grad is None
    # The documented alternatives work: a detached constant, or a new xpgrad leaf.
    leaf = xt.asarray(t.detach(), requires_grad=True)
    xt.sum(xt.sin(leaf) * t.detach()).backward()
    np.testing.assert_allclose(leaf.grad.data.numpy(), np.cos(np.ones(3)))


def test_torch_setitem_unsigned_with_integer_array_key():
    """torch has no index_put_ for uint64: xpgrad writes through a signed view (array-api-tests
    test_setitem, uint8 value into a uint64 array)."""
    import torch

    xt = xpgrad.namespace(torch)
    x = xt.asarray(torch.zeros(4, dtype=torch.uint64))
    x[xt.asarray(torch.tensor([0, 2]))] = xt.asarray(torch.tensor([5, 255], dtype=torch.uint8))
    assert x.data.dtype == torch.uint64
    assert x.data.tolist() == [5, 0, 255, 0]
    big = xt.asarray(torch.zeros(2, dtype=torch.uint64))
    big[xt.asarray(torch.tensor([1]))] = 2**63 + 1
    assert big.data.tolist() == [0, 2**63 + 1]


def test_torch_take_along_axis_negative_indices():
    import torch

    xt = xpgrad.namespace(torch)
    x = xt.asarray(torch.arange(12.0).reshape(3, 4), requires_grad=True)
    idx = torch.tensor([[-1], [-4], [0]])
    y = xt.take_along_axis(x, xt.asarray(idx), axis=1)
    assert y.data.reshape(-1).tolist() == [3.0, 4.0, 8.0]
    xt.sum(y).backward()
    expect = np.zeros((3, 4))
    expect[0, 3] = expect[1, 0] = expect[2, 0] = 1.0
    np.testing.assert_array_equal(x.grad.data.numpy(), expect)
