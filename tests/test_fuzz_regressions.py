"""Regressions of the differences the differential fuzzer (conformance/fuzz/) found, each program
run on xpgrad and on torch.autograd side by side, and issue 10's dtype normalisation.

Each test names the fuzzer's class it came from; docs/fuzzing.md lists the runs.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import xpgrad
from xpgrad._fastpaths import make_binary, make_unary

BACKENDS = ["numpy", "array_api_strict", "torch"]


def _ns(backend):
    if backend == "array_api_strict":
        pytest.importorskip("array_api_strict")
    return xpgrad.namespace(backend)


def _np(a):
    return xpgrad.testing.to_numpy(a)


# -- issue 10: every gradient is cast to its input's dtype, on the fast paths too ----------------


def _float64_sin_vjp(xp, g, x):
    return xp.astype(g * xp.cos(x), xp.float64)  # a VJP that returns another dtype


def _float64_mul_vjp1(xp, g, x2):
    return xp.astype(g * x2, xp.float64)


def _float64_mul_vjp2(xp, g, x1):
    return xp.astype(g * x1, xp.float64)


class _TorchFloat64Sin(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.sin(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return (g * torch.cos(x)).to(torch.float64)


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_a_unary_vjp_of_another_dtype_gives_the_inputs_dtype(backend):
    ns = _ns(backend)
    f = make_unary(ns, "sin", ns._xp.sin, _float64_sin_vjp)
    values = np.array([0.3, -0.6], dtype=np.float32)
    x = ns.asarray(values, requires_grad=True)
    a = x * 2.0
    a.retain_grad()
    ns.sum(f(a)).backward()
    # torch's engine casts a gradient to its input's dtype.
    tx = torch.tensor(values, requires_grad=True)
    ta = tx * 2.0
    ta.retain_grad()
    _TorchFloat64Sin.apply(ta).sum().backward()
    assert tx.grad.dtype == torch.float32 and ta.grad.dtype == torch.float32
    assert x.grad.dtype == ns.float32 and a.grad.dtype == ns.float32
    np.testing.assert_allclose(_np(x.grad), tx.grad.numpy(), rtol=1e-6)
    np.testing.assert_allclose(_np(a.grad), ta.grad.numpy(), rtol=1e-6)


@pytest.mark.parametrize("scalar_first", [False, True])
def test_a_binary_vjp_with_a_python_scalar_gives_the_inputs_dtype(scalar_first):
    ns = _ns("numpy")
    f = make_binary(ns, "multiply", ns._xp.multiply, _float64_mul_vjp1, _float64_mul_vjp2)
    x = ns.asarray(np.array([0.5, 2.0], dtype=np.float32), requires_grad=True)
    ns.sum(f(3.0, x) if scalar_first else f(x, 3.0)).backward()
    assert x.grad.dtype == ns.float32
    np.testing.assert_allclose(_np(x.grad), [3.0, 3.0])


# -- aliasing results as torch: flip is a copy; conj/real/positive of a real array is the array --


@pytest.mark.parametrize("backend", BACKENDS)
def test_flip_is_a_new_array_as_torch(backend):
    # fuzz: "forward / raise mismatch: xpgrad raises, torch does not / flip, iadd"
    ns = _ns(backend)
    c = ns.asarray([1.0, 2.0, 3.0])
    v = ns.flip(c)
    v += 1.0
    tc = torch.tensor([1.0, 2.0, 3.0])
    tv = torch.flip(tc, dims=(0,))
    tv += 1.0
    np.testing.assert_array_equal(_np(c), tc.numpy())  # unchanged on both
    x = ns.asarray([1.0, 2.0, 3.0], requires_grad=True)
    w = ns.asarray([0.5, -1.0, 2.0])
    y = ns.flip(x)
    y *= w  # torch: no error (flip of a leaf is no view)
    ns.sum(y * y).backward()
    tx = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    ty = torch.flip(tx, dims=(0,))
    ty *= torch.tensor([0.5, -1.0, 2.0])
    (ty * ty).sum().backward()
    np.testing.assert_allclose(_np(x.grad), tx.grad.numpy())


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", ["conj", "real", "positive"])
def test_conj_real_positive_of_a_real_array_is_the_array_as_torch(backend, name):
    # fuzz: "forward / raise mismatch: torch raises, xpgrad does not / conj, iadd"
    ns = _ns(backend)
    tx = torch.tensor([1.0, 2.0], requires_grad=True)
    x = ns.asarray([1.0, 2.0], requires_grad=True)
    assert getattr(torch, name)(tx) is tx
    assert getattr(ns, name)(x) is x
    with pytest.raises(RuntimeError, match="leaf"):
        getattr(torch, name)(tx).add_(0.5)
    with pytest.raises(RuntimeError, match="leaf"):
        v = getattr(ns, name)(x)
        v += 0.5
    # An in-place change of the result is one of the input, as in torch.
    c = ns.asarray([1.0, 2.0])
    v = getattr(ns, name)(c)
    v += 0.5
    np.testing.assert_array_equal(_np(c), [1.5, 2.5])


# -- x[i] of a 1-D array is a 0-d view, as in torch --------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_one_element_by_integers_is_a_view_as_torch(backend):
    # fuzz: "forward / forward values differ / getitem_scalar, imul"
    ns = _ns(backend)
    c = ns.asarray([1.0, 2.0])
    v = c[0]
    c *= 0.5
    tc = torch.tensor([1.0, 2.0])
    tv = tc[0]
    tc *= 0.5
    assert float(v) == float(tv) == 0.5
    x = ns.asarray([1.0, 2.0], requires_grad=True)
    a = x * 1.0
    e = a[1]
    e *= 3.0
    ns.sum(a * a).backward()
    tx = torch.tensor([1.0, 2.0], requires_grad=True)
    ta = tx * 1.0
    te = ta[1]
    te *= 3.0
    (ta * ta).sum().backward()
    np.testing.assert_allclose(_np(x.grad), tx.grad.numpy())
    # A view of a leaf: in-place raises on both sides.
    with pytest.raises(RuntimeError, match="view of a leaf"):
        tx[1][...] = 0.5
    with pytest.raises(RuntimeError, match="view of a leaf"):
        x[1][...] = 0.5


# -- linalg backward on the torch backend --------------------------------------------------------


@pytest.mark.parametrize("fname", ["det", "eigvalsh", "svdvals"])
def test_linalg_first_order_on_the_torch_backend(fname):
    # fuzz (torch): "xpgrad raises AttributeError: 'Tensor' object has no attribute '_data'"
    # (a torch.Tensor was taken for an xpgrad Tensor by its class name).
    ns = _ns("torch")
    a = np.array([[2.0, 0.3], [0.3, 1.0]])
    x = ns.asarray(torch.tensor(a), requires_grad=True)
    (g,) = xpgrad.grad(ns.sum(getattr(ns.linalg, fname)(x)), [x])
    tx = torch.tensor(a, requires_grad=True)
    (tg,) = torch.autograd.grad(getattr(torch.linalg, fname)(tx).sum(), [tx])
    np.testing.assert_allclose(_np(g), tg.numpy(), rtol=1e-10, atol=1e-12)


# -- explained differences (conformance/fuzz/_known.py) ---------------------------------------


def test_take_raises_after_its_index_changes_as_index_select():
    # array_api_compat.torch's take copies the index, so the fuzzer's reference does not raise;
    # torch.index_select itself does, and so does xpgrad.
    tx = torch.ones(3, requires_grad=True)
    ti = torch.tensor([0, 1])
    ty = torch.index_select(tx, 0, ti)
    ti[0] = 2
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        ty.sum().backward()
    ns = _ns("numpy")
    x = ns.asarray(np.ones(3), requires_grad=True)
    i = ns.asarray([0, 1])
    y = ns.take(x, i, axis=0)
    i[0] = 2
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        ns.sum(y).backward()


@pytest.mark.parametrize("op", ["*=", "/="])
def test_self_inplace_multiply_gives_the_gradient_deviation(op):
    # docs/deviations.md (Saved values): torch's mul_/div_ save their operand, which is the
    # target they then overwrite, so backward raises; xpgrad gives the gradient.
    values = np.array([0.5, -2.0])
    tx = torch.tensor(values, requires_grad=True)
    tv = tx * 1.5
    if op == "*=":
        tv *= tv
    else:
        tv /= tv
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        tv.sum().backward()
    ns = _ns("numpy")
    x = ns.asarray(values, requires_grad=True)
    v = x * 1.5
    if op == "*=":
        v *= v
    else:
        v /= v
    ns.sum(v).backward()
    # (1.5 x)**2 has the derivative 4.5 x; (1.5 x) / (1.5 x) == 1 has 0.
    expected = 4.5 * values if op == "*=" else np.zeros(2)
    tx2 = torch.tensor(values, requires_grad=True)
    tw = tx2 * 1.5
    (tw * tw if op == "*=" else tw / tw).sum().backward()  # out of place: torch agrees
    np.testing.assert_allclose(tx2.grad.numpy(), expected, atol=1e-15)
    np.testing.assert_allclose(_np(x.grad), expected, atol=1e-15)


@pytest.mark.parametrize("backend", BACKENDS)
def test_broadcast_arrays_results_require_grad_as_their_inputs(backend):
    # fuzz (array_api_strict, 5,000 programs): "forward / requires_grad differs / broadcast_arrays"
    ns = _ns(backend)
    x = ns.asarray([1.0, 2.0], requires_grad=True)
    c = ns.asarray([[3.0], [4.0], [5.0]])
    a, b = ns.broadcast_arrays(c, x)
    tx = torch.tensor([1.0, 2.0], requires_grad=True)
    ta, tb = torch.broadcast_tensors(torch.tensor([[3.0], [4.0], [5.0]]), tx)
    assert (a.requires_grad, b.requires_grad) == (ta.requires_grad, tb.requires_grad) == (False, True)
    ns.sum(a * b).backward()
    (ta * tb).sum().backward()
    np.testing.assert_allclose(_np(x.grad), tx.grad.numpy())


def test_a_view_op_that_copies_shares_no_version_counter():
    # fuzz (torch, 5,000 programs): "xpgrad raises: output 0 of linalg.inv ... modified" after an
    # in-place change of reshape(inv(a), (-1,)), which torch's reshape copies (inv's result is
    # column-major): the copy shared inv's version counter.
    ns = _ns("torch")
    a = np.array([[2.0, 0.3], [0.1, 1.0]])
    x = ns.asarray(torch.tensor(a), requires_grad=True)
    v = ns.linalg.inv(x)
    r = ns.reshape(v, (-1,))
    r *= 0.5
    assert v._version == 0
    ns.sum(v).backward()
    tx = torch.tensor(a, requires_grad=True)
    tv = torch.linalg.inv(tx)
    tr = tv.reshape(-1)
    tr *= 0.5
    tv.sum().backward()
    np.testing.assert_allclose(_np(x.grad), tx.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("backend", ["numpy", "array_api_strict", "torch"])
def test_broadcast_to_the_same_shape_is_a_writeable_view_as_torch(backend):
    # Found by the fuzzer (seed 2026015241): NumPy's broadcast_to returns a read-only view even
    # when nothing is broadcast; torch's expand to the same shape is a writeable view.
    xp = xpgrad.namespace(backend)
    a = xp.asarray([1.0, 2.0, 3.0], dtype=xp.float64, requires_grad=True)
    v = xp.sin(a)
    w = xp.broadcast_to(v, (3,))
    w[::2] = 0.5
    xp.sum(v * v).backward()
    ta = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64, requires_grad=True)
    tv = torch.sin(ta)
    tw = tv.expand(3)
    tw[::2] = 0.5
    torch.sum(tv * tv).backward()
    np.testing.assert_allclose(np.asarray(v.detach().tolist()), tv.detach().numpy())
    np.testing.assert_allclose(np.asarray(a.grad.tolist()), ta.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("backend", ["numpy", "array_api_strict", "torch"])
def test_log_ndtr_second_order_at_a_large_argument(backend):
    # Found by the fuzzer (seed 2026010271): the derivative sqrt(2/pi) / erfcx(-x/sqrt(2)) overflows
    # right of 0, and its own derivative was inf / inf = nan (true 0; torch -0.0).
    xp = xpgrad.namespace(backend)
    values = [-5.0, 0.0, 5.0, 30.0, 1e5]  # (the far left tail, where torch is wrong: special-edges)
    x = xp.asarray(values, dtype=xp.float64, requires_grad=True)
    (g,) = xpgrad.grad(xp.sum(xp.special.log_ndtr(x)), [x], create_graph=True)
    (h,) = xpgrad.grad(xp.sum(g), [x])
    t = torch.tensor(values, dtype=torch.float64, requires_grad=True)
    (tg,) = torch.autograd.grad(torch.special.log_ndtr(t).sum(), [t], create_graph=True)
    (th,) = torch.autograd.grad(tg.sum(), [t])
    np.testing.assert_allclose(np.asarray(g.tolist()), tg.detach().numpy(), rtol=1e-12, atol=0)
    np.testing.assert_allclose(np.asarray(h.tolist()), th.numpy(), rtol=1e-10, atol=0)


# -- a boolean mask on Dask: the result's length is unknown (nan) --------------------------------

MASK = np.array([[True, False, True], [False, False, False], [False, True, False]])
X34 = np.arange(12.0).reshape(3, 4) / 7 - 0.5


def _dask_leaf(a):
    import dask.array as da

    return xpgrad.namespace("dask").asarray(da.from_array(a, chunks=2), requires_grad=True)


@pytest.mark.requires_backend("dask")
@pytest.mark.parametrize("how", ["grad", "backward"])
def test_a_masked_result_of_unknown_length_takes_a_gradient_of_known_shape(how):
    # Found by the fuzzer on Dask (seed 32): x[..., 1:][m] has shape (nan,); a gradient of
    # shape (3,) for it raised "mismatch in shape" (an unknown dimension matches any), and the
    # scatter back into x[..., 1:] could not broadcast to the nan length.
    import dask.array as da

    xp = xpgrad.namespace("dask")
    x = _dask_leaf(X34)
    v = x[..., 1:][xp.asarray(da.from_array(MASK, chunks=2))]
    assert v.shape[0] != v.shape[0]  # nan: unknown until computed
    cot = np.array([1.0, -2.0, 3.0])
    t = torch.tensor(X34, requires_grad=True)
    (tg,) = torch.autograd.grad(t[..., 1:][torch.tensor(MASK)], [t], torch.tensor(cot))
    if how == "grad":
        (g,) = xpgrad.grad([v], [x], [xp.asarray(da.from_array(cot))])
    else:
        v.backward(xp.asarray(da.from_array(cot)))
        g = x.grad
    np.testing.assert_array_equal(np.asarray(g.data.compute()), tg.numpy())


@pytest.mark.requires_backend("dask")
def test_a_mask_over_the_leading_axes_on_dask_scatters_its_rows_back():
    import dask.array as da

    xp = xpgrad.namespace("dask")
    rows = np.array([True, False, True])
    x = _dask_leaf(X34)
    v = x[xp.asarray(da.from_array(rows, chunks=2))]  # (nan, 4)
    w = np.arange(8.0).reshape(2, 4) - 3
    (g,) = xpgrad.grad([xp.sin(v)], [x], [xp.asarray(da.from_array(w, chunks=(1, 3)))])
    t = torch.tensor(X34, requires_grad=True)
    (tg,) = torch.autograd.grad(torch.sin(t[torch.tensor(rows)]), [t], torch.tensor(w))
    np.testing.assert_allclose(np.asarray(g.data.compute()), tg.numpy(), rtol=1e-14)


@pytest.mark.requires_backend("dask")
def test_an_unknown_dimension_matches_but_a_known_one_is_still_checked():
    import dask.array as da

    xp = xpgrad.namespace("dask")
    x = _dask_leaf(X34)
    v = x[xp.asarray(da.from_array(np.array([True, False, True])))]  # (nan, 4)
    for bad in (np.ones((2, 3)), np.ones(2)):
        with pytest.raises(RuntimeError, match=r"grad\(\): mismatch in shape"):
            xpgrad.grad([v], [x], [xp.asarray(da.from_array(bad))])


@pytest.mark.parametrize("backend", BACKENDS)
def test_sinc_second_order_near_0_is_mpmaths_where_torchs_is_not(backend):
    # The fuzzer's "torch wrong" through special.sinc near 0 (a known entry in
    # conformance/fuzz/_known.py): torch's double backward of sinc is nan at 0 and loses digits
    # near it (sin(pi x) / (pi x) differentiated twice cancels); xpgrad's Taylor branch is
    # mpmath's to 1e-13.
    import mpmath

    mpmath.mp.dps = 50
    values = [0.0, 1e-6, -3e-4, 1e-3]

    def sinc(t):
        return mpmath.mpf(1) if t == 0 else mpmath.sin(mpmath.pi * t) / (mpmath.pi * t)

    truth = np.array([float(mpmath.diff(sinc, mpmath.mpf(v), 2)) for v in values])
    xp = xpgrad.namespace(backend)
    x = xp.asarray(values, dtype=xp.float64, requires_grad=True)
    (g,) = xpgrad.grad(xp.sum(xp.special.sinc(x)), [x], create_graph=True)
    (h,) = xpgrad.grad(xp.sum(g), [x])
    np.testing.assert_allclose(np.asarray(h.tolist()), truth, rtol=1e-13, atol=0)
    t = torch.tensor(values, dtype=torch.float64, requires_grad=True)
    (tg,) = torch.autograd.grad(torch.special.sinc(t).sum(), [t], create_graph=True)
    (th,) = torch.autograd.grad(tg.sum(), [t])
    th = th.numpy()
    # torch is still wrong here (else the known entry is stale): nan at 0, off by more than the
    # fuzzer's float64 tolerance (rtol 1e-6) at 1e-6
    assert np.isnan(th[0]), th
    assert abs(th[1] - truth[1]) > 1e-6 * abs(truth[1]), (th[1], truth[1])


@pytest.mark.parametrize("backend", BACKENDS)
def test_pow_second_order_at_a_zero_exponent_where_torchs_is_not(backend):
    # The fuzzer's "torch wrong" through pow (seed 2028010663; a known entry): f(x) = (x + c)**x
    # at x = 0 has f'' = log(c)**2 + 2 / c. torch's base gradient where(y == 0, 0, ...) drops
    # the derivative of that term in the exponent there.
    c = 0.5
    truth = math.log(c) ** 2 + 2 / c
    xp = xpgrad.namespace(backend)
    x = xp.asarray(0.0, dtype=xp.float64, requires_grad=True)
    (g,) = xpgrad.grad(xp.pow(x + c, x), [x], create_graph=True)
    (h,) = xpgrad.grad(g, [x])
    assert abs(float(h) - truth) < 1e-12 * truth
    t = torch.tensor(0.0, dtype=torch.float64, requires_grad=True)
    (tg,) = torch.autograd.grad(torch.pow(t + c, t), [t], create_graph=True)
    (th,) = torch.autograd.grad(tg, [t])
    assert abs(th.item() - truth) > 1.0, "torch's pow is right at a zero exponent now: drop the known entry"


def test_svd_vectors_from_two_calls_give_the_gauge_invariant_gradient():
    # The fuzzer's "torch wrong" through svd (seed 2026015324, a known entry): U from one call
    # of svd and Vh from another make a gauge-invariant program together, but not per call.
    # Both libraries judge each call alone and raise when its loss depends on the phase of U
    # beyond a tolerance (here at cotangent 1). Below it (cotangent 0.006, the fuzzer's) torch
    # returns a gradient that is not the program's; xpgrad, which drops the phase term, gives
    # the program's: the one torch gives for the same program written with one svd call.
    a0 = np.array([[1.7 - 2.3j, -2.1 - 0.9j, 1.2 - 1.4j], [-0.9 - 1.8j, -0.7 - 0.1j, 1.3 - 0.9j]])
    mask = np.array([[True, False, False], [False, False, True]])

    def program(xp, x, svd_twice):
        svdvals = xp.linalg.svdvals(x)
        first = xp.linalg.svd(x, full_matrices=True)
        second = xp.linalg.svd(x, full_matrices=True) if svd_twice else first
        v = (first.U[..., :2] * xp.tanh(svdvals)) @ second.Vh[..., :2, :]
        return xp.linalg.vector_norm(v[mask], axis=0)

    import array_api_compat.torch as txp

    t = torch.tensor(a0, requires_grad=True)
    (want,) = torch.autograd.grad(program(txp, t, False), [t])
    xp = xpgrad.numpy
    x = xp.asarray(a0, requires_grad=True)
    (g,) = xpgrad.grad(program(xp, x, True), [x], xp.asarray(0.006))
    np.testing.assert_allclose(np.asarray(g.tolist()), 0.006 * want.numpy(), rtol=1e-8, atol=0)
    x = xp.asarray(a0, requires_grad=True)
    with pytest.raises(RuntimeError, match="specified up to multiplication by e"):
        xpgrad.grad(program(xp, x, True), [x], xp.asarray(1.0))
    t = torch.tensor(a0, requires_grad=True)
    with pytest.raises(RuntimeError, match="specified up to multiplication by e"):
        torch.autograd.grad(program(txp, t, True), [t], torch.tensor(1.0, dtype=torch.float64))
    t = torch.tensor(a0, requires_grad=True)
    (small,) = torch.autograd.grad(program(txp, t, True), [t], torch.tensor(0.006, dtype=torch.float64))
    assert not np.allclose(small.numpy(), 0.006 * want.numpy(), rtol=1e-3), (
        "torch is right now: drop the entry"
    )
