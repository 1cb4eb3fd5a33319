"""xpgrad.functional, custom Functions, checkpoint, saved_tensors_hooks, detect_anomaly —
each against torch's equivalent on the NumPy backend (float64, 1e-10)."""

from __future__ import annotations

import gc
import tracemalloc

import array_api_compat
import numpy as np
import pytest
import torch
import torch.autograd.functional as TF

import xpgrad
import xpgrad.functional as F

xp = xpgrad.namespace(np)
RNG = np.random.default_rng(7)
A0 = RNG.standard_normal((3, 3))
X0 = RNG.standard_normal(3)
Y0 = RNG.standard_normal(2)
V3 = RNG.standard_normal(3)
V2 = RNG.standard_normal(2)


def f_vec(x, y):
    ns = array_api_compat.array_namespace(x, y)
    a = ns.asarray(A0) if ns is xp else torch.tensor(A0)
    z = ns.tanh(a @ x) * ns.sum(y * y) + ns.sin(x)
    return z[:2] * y, ns.sum(ns.exp(x))


def f_scalar(x, y):
    ns = array_api_compat.array_namespace(x, y)
    return ns.sum(ns.sin(x) ** 2) * ns.sum(y**3) + ns.sum(x[:2] * y * x[1:])


def _x(a, rg=False):
    return xp.asarray(np.asarray(a, dtype=np.float64), requires_grad=rg)


def _t(a, rg=False):
    return torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=rg)


def _np(v):
    if isinstance(v, (tuple, list)):
        return [_np(u) for u in v]
    if isinstance(v, xpgrad.Tensor):
        return np.asarray(v.detach().data)
    if isinstance(v, np.ndarray):
        return v
    return v.detach().numpy()


def _close(a, b, tol=1e-10):
    a, b = _np(a), _np(b)
    _close_np(a, b, tol)


def _close_np(a, b, tol):
    if isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b)
        for u, v in zip(a, b):
            _close_np(u, v, tol)
        return
    assert a.shape == b.shape, (a.shape, b.shape)
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


def test_vjp_matches_torch():
    ours = F.vjp(f_vec, (_x(X0), _x(Y0)), (_x(V2), _x(1.5)))
    theirs = TF.vjp(f_vec, (_t(X0), _t(Y0)), (_t(V2), _t(1.5)))
    _close(ours, theirs)


def test_jvp_matches_torch():
    ours = F.jvp(f_vec, (_x(X0), _x(Y0)), (_x(V3), _x(V2)))
    theirs = TF.jvp(f_vec, (_t(X0), _t(Y0)), (_t(V3), _t(V2)))
    _close(ours, theirs)


# torch's forward-mode jacobian goes through torch.jit.script, which warns in torch 2.13.
@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")
@pytest.mark.parametrize("strategy", ["reverse-mode", "forward-mode"])
def test_jacobian_matches_torch(strategy):
    ours = F.jacobian(f_vec, (_x(X0), _x(Y0)), vectorize=strategy == "forward-mode", strategy=strategy)
    theirs = TF.jacobian(f_vec, (_t(X0), _t(Y0)), vectorize=strategy == "forward-mode", strategy=strategy)
    _close(ours, theirs)


def test_jacobian_single_tensor_structure():
    def g(x):
        return array_api_compat.array_namespace(x).sin(x) * 2.0

    ours = F.jacobian(g, _x(X0))
    theirs = TF.jacobian(g, _t(X0))
    _close(ours, theirs)


def test_hessian_matches_torch():
    _close(F.hessian(f_scalar, (_x(X0), _x(Y0))), TF.hessian(f_scalar, (_t(X0), _t(Y0))))

    def g(x):
        return array_api_compat.array_namespace(x).sum(x**4)

    _close(F.hessian(g, _x(X0)), TF.hessian(g, _t(X0)))


def test_hvp_and_vhp_match_torch():
    _close(
        F.hvp(f_scalar, (_x(X0), _x(Y0)), (_x(V3), _x(V2))),
        TF.hvp(f_scalar, (_t(X0), _t(Y0)), (_t(V3), _t(V2))),
    )
    _close(
        F.vhp(f_scalar, (_x(X0), _x(Y0)), (_x(V3), _x(V2))),
        TF.vhp(f_scalar, (_t(X0), _t(Y0)), (_t(V3), _t(V2))),
    )


def test_strict_mode_rejects_independent_outputs():
    def g(x, y):
        return array_api_compat.array_namespace(x).sum(x * 2.0)

    with pytest.raises(RuntimeError, match="strict"):
        F.vjp(g, (_x(X0), _x(Y0)), strict=True)
    with pytest.raises(RuntimeError):
        TF.vjp(g, (_t(X0), _t(Y0)), strict=True)
    # Without strict, the unused input gets zeros, as torch.
    _close(F.vjp(g, (_x(X0), _x(Y0))), TF.vjp(g, (_t(X0), _t(Y0))))


def test_create_graph_keeps_the_callers_graph():
    def run(make, grad):
        x = make(X0, True)
        _, (gx, _) = (F if make is _x else TF).vjp(f_scalar, (x * 1.0, make(Y0)), create_graph=True)
        return grad(sum_(gx), x)[0]

    def sum_(t):
        return t.sum() if isinstance(t, torch.Tensor) else xp.sum(t)

    _close(run(_x, xpgrad.grad), run(_t, torch.autograd.grad))


# ---------------------------------------------------------------------------------------------
# Custom Functions


class XCube(xpgrad.Function):
    @staticmethod
    def forward(ctx, x, scale):
        ctx.scale = scale
        ctx.save_for_backward(x)
        return x * x * x * scale

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * 3.0 * x * x * ctx.scale, None


class TCube(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, scale):
        ctx.scale = scale
        ctx.save_for_backward(x)
        return x * x * x * scale

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * 3.0 * x * x * ctx.scale, None


class XSplit(xpgrad.Function):
    """Two outputs, one of them non-differentiable; materialize_grads off."""

    @staticmethod
    def forward(ctx, x):
        ns = x.__array_namespace__()
        ctx.set_materialize_grads(False)
        idx = ns.argmax(x)
        ctx.mark_non_differentiable(idx)
        out = ns.exp(x)
        ctx.save_for_backward(out)
        return out, ns.sin(x), idx

    @staticmethod
    def backward(ctx, g_exp, g_sin, g_idx):
        (out,) = ctx.saved_tensors
        assert g_idx is None
        return g_exp * out if g_exp is not None else None


class TSplit(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.set_materialize_grads(False)
        idx = torch.argmax(x)
        ctx.mark_non_differentiable(idx)
        out = torch.exp(x)
        ctx.save_for_backward(out)
        return out, torch.sin(x), idx

    @staticmethod
    def backward(ctx, g_exp, g_sin, g_idx):
        (out,) = ctx.saved_tensors
        return g_exp * out if g_exp is not None else None


def test_custom_function_first_and_second_order():
    def run(make, Fn, grad):
        x = make(X0, True)
        y = Fn.apply(x, 2.0)
        (g,) = grad(y.sum() if isinstance(y, torch.Tensor) else xp.sum(y), x, create_graph=True)
        (h,) = grad(g.sum() if isinstance(g, torch.Tensor) else xp.sum(g), x)
        return [y, g, h]

    _close(run(_x, XCube, xpgrad.grad), run(_t, TCube, torch.autograd.grad))


def test_custom_function_needs_input_grad_and_several_outputs():
    def run(make, Fn, lib):
        x = make(X0, True)
        e, s, idx = Fn.apply(x)
        assert not idx.requires_grad
        loss = (e * 2.0).sum() if lib is torch else xp.sum(e * 2.0)
        loss.backward()
        return [e, s, x.grad]

    _close(run(_x, XSplit, xp), run(_t, TSplit, torch))

    seen = {}

    class Probe(xpgrad.Function):
        @staticmethod
        def forward(ctx, a, b, k):
            seen["needs"] = ctx.needs_input_grad
            return a * b

        @staticmethod
        def backward(ctx, g):
            return g, g, None

    Probe.apply(_x(X0, True), _x(X0), 3)
    assert seen["needs"] == (True, False, False)


def test_custom_function_saved_tensor_modified_in_place_is_detected():
    x = _x(X0, True)
    y = x * 1.0
    z = XCube.apply(y, 1.0)
    with xpgrad.no_grad():
        y += 1.0
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        xp.sum(z).backward()


def test_function_is_not_instantiated():
    with pytest.raises(RuntimeError, match="apply"):
        XCube()


# ---------------------------------------------------------------------------------------------
# checkpoint


def _chain(x):
    ns = array_api_compat.array_namespace(x)
    for _ in range(20):
        x = ns.sin(x) * 1.1 + 0.1
    return x


def test_checkpoint_gives_identical_gradients_and_second_order():
    x1 = _x(RNG.standard_normal(50), True)
    xpgrad.grad(xp.sum(_chain(x1)), x1)
    (g_plain,) = xpgrad.grad(xp.sum(_chain(x1)), x1)
    (g_ckpt,) = xpgrad.grad(xp.sum(xpgrad.checkpoint(_chain, x1)), x1)
    np.testing.assert_array_equal(g_plain.data, g_ckpt.data)
    (g2,) = xpgrad.grad(xp.sum(xpgrad.checkpoint(_chain, x1)), x1, create_graph=True)
    (h_ckpt,) = xpgrad.grad(xp.sum(g2), x1)
    (g1,) = xpgrad.grad(xp.sum(_chain(x1)), x1, create_graph=True)
    (h_plain,) = xpgrad.grad(xp.sum(g1), x1)
    np.testing.assert_allclose(h_ckpt.data, h_plain.data, rtol=1e-12)


def test_checkpoint_lowers_peak_memory():
    def peak(use_ckpt):
        gc.collect()
        x = _x(np.ones(200_000), True)
        tracemalloc.start()
        y = x
        for _ in range(4):
            y = xpgrad.checkpoint(_chain, y) if use_ckpt else _chain(y)
        loss = xp.sum(y)
        _, p = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        loss.backward()
        return p

    assert peak(True) < 0.25 * peak(False)


# ---------------------------------------------------------------------------------------------
# saved_tensors_hooks and detect_anomaly


def test_saved_tensors_hooks_pack_and_unpack_every_saved_value():
    packed = []

    def pack(t):
        packed.append(tuple(t.shape))
        return np.array(t.data, copy=True)  # e.g. offload to host memory

    def unpack(a):
        return xp.asarray(a)

    def run(hooks):
        x = _x(X0, True)
        if hooks:
            with xpgrad.saved_tensors_hooks(pack, unpack):
                y = xp.sum(xp.exp(xp.sin(x)) * x)
        else:
            y = xp.sum(xp.exp(xp.sin(x)) * x)
        y.backward()
        return x.grad.data

    np.testing.assert_allclose(run(True), run(False), rtol=1e-14)
    assert packed, "pack hook never ran"

    # Same count as torch for the same expression.
    count = []
    with torch.autograd.graph.saved_tensors_hooks(lambda t: count.append(1) or t, lambda t: t):
        x = _t(X0, True)
        torch.sum(torch.exp(torch.sin(x)) * x).backward()
    assert len(packed) == len(count)


def test_detect_anomaly_names_the_op_and_forward_trace():
    x = _x([0.0, 1.0], True)
    with xpgrad.detect_anomaly():
        y = xp.sqrt(x)  # gradient inf at 0
        loss = xp.sum(y)
        with pytest.raises(RuntimeError, match="sqrt") as info:
            loss.backward()
    assert "test_functional.py" in str(info.value)
    # Without anomaly mode the same backward just produces inf, as torch.
    x2 = _x([0.0, 1.0], True)
    xp.sum(xp.sqrt(x2)).backward()
    assert np.isinf(x2.grad.data[0])


def test_checkpoint_gives_gradients_to_captured_tensors_as_torch():
    import torch.utils.checkpoint

    def run(make, ckpt, lib):
        w = make([2.0, 3.0], True)
        x = make([1.0, 1.0], True)
        y = ckpt(lambda y: lib.sin(y * w), x)
        (y.sum() if lib is torch else xp.sum(y)).backward()
        return [x.grad, w.grad]

    ours = run(_x, xpgrad.checkpoint, xp)
    theirs = run(_t, lambda f, a: torch.utils.checkpoint.checkpoint(f, a, use_reentrant=False), torch)
    _close(ours, theirs)


def test_checkpoint_of_a_nondeterministic_function_is_an_error():
    calls = []

    def f(y):
        calls.append(1)
        return xp.sin(y) if len(calls) == 1 else xp.sin(xp.sin(y))

    x = _x(X0, True)
    y = xpgrad.checkpoint(f, x)
    with pytest.raises(RuntimeError, match="deterministic"):
        xp.sum(y).backward()


def test_mark_dirty_returns_the_modified_input_as_torch():
    class XDirty(xpgrad.Function):
        @staticmethod
        def forward(ctx, x):
            x *= 2.0
            ctx.mark_dirty(x)
            return x

        @staticmethod
        def backward(ctx, g):
            return 2.0 * g

    class TDirty(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            x.mul_(2.0)
            ctx.mark_dirty(x)
            return x

        @staticmethod
        def backward(ctx, g):
            return 2.0 * g

    def run(make, Fn, lib):
        a = make([1.0, 2.0], True)
        b = a * 1.0
        c = Fn.apply(b)
        assert c is b
        (b * 3.0).sum().backward() if lib is torch else xp.sum(b * 3.0).backward()
        return [b, a.grad]

    _close(run(_x, XDirty, xp), run(_t, TDirty, torch))
    with pytest.raises(RuntimeError, match="leaf"):
        XDirty.apply(_x([1.0], True))
