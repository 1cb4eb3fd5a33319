"""Forward-mode AD (``xpgrad.forward_ad``, ``Function.jvp``, forward-over-reverse) against
torch's forward AD (``torch.autograd.forward_ad``, ``torch.func.jvp``) and finite differences.

The functions are written once against an array namespace and run on xpgrad (NumPy,
array-api-strict, torch backends) and on torch itself."""

from __future__ import annotations

import array_api_compat
import numpy as np
import pytest
import torch
import torch.autograd.forward_ad as tfw

import xpgrad
import xpgrad.forward_ad as fwAD
from xpgrad import _ops

# torch's forward AD goes through torch.jit.script, which warns in torch 2.13.
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")

BACKENDS = ["numpy", "array_api_strict", "torch"]
RNG = np.random.default_rng(14)
X0 = RNG.uniform(0.2, 1.5, (3, 4))
V0 = RNG.standard_normal((3, 4))
W0 = RNG.standard_normal((4, 2))


def _xp(name):
    return xpgrad.namespace(name)


def _np(t):
    if t is None:
        return None
    if isinstance(t, torch.Tensor):
        return t.detach().numpy()
    if isinstance(t, np.ndarray):
        return t
    data = t.detach().data
    if isinstance(data, torch.Tensor):
        return data.numpy()
    return np.asarray(data)


def _close(a, b, tol=1e-10):
    np.testing.assert_allclose(_np(a), _np(b), rtol=tol, atol=tol)


def _torch_jvp(fn, primals, tangents):
    ps = tuple(torch.tensor(p) for p in primals)
    ts = tuple(torch.tensor(t) for t in tangents)
    return torch.func.jvp(fn, ps, ts)


def _our_jvp(xp, fn, primals, tangents):
    with fwAD.dual_level():
        duals = [fwAD.make_dual(xp.asarray(p), xp.asarray(t)) for p, t in zip(primals, tangents)]
        out = fn(*duals)
        primal, tangent = fwAD.unpack_dual(out)
    return primal, tangent


def f_chain(x, w):
    ns = array_api_compat.array_namespace(x, w)
    y = ns.sin(x) * ns.exp(x / 3) + x**2 - 1.5 * x
    z = ns.matmul(ns.tanh(y), w)
    return ns.sum(z * z, axis=0) + ns.mean(ns.reshape(y, (4, 3))[1:, ::2])


def f_broadcast(x, w):
    ns = array_api_compat.array_namespace(x, w)
    return ns.log(x[:, :2] + 3.0) * w[None, 0, :] - ns.sqrt(x[0, 2:])


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("fn", [f_chain, f_broadcast])
def test_jvp_matches_torch(backend, fn):
    xp = _xp(backend)
    t_w = RNG.standard_normal(W0.shape)
    primal, tangent = _our_jvp(xp, fn, (X0, W0), (V0, t_w))
    e_primal, e_tangent = _torch_jvp(fn, (X0, W0), (V0, t_w))
    _close(primal, e_primal)
    _close(tangent, e_tangent)


def test_jvp_matches_finite_differences():
    xp = _xp("numpy")
    t_w = RNG.standard_normal(W0.shape)
    _, tangent = _our_jvp(xp, f_chain, (X0, W0), (V0, t_w))
    eps = 1e-6

    def at(s):
        return np.asarray(f_chain(xp.asarray(X0 + s * V0), xp.asarray(W0 + s * t_w)).data)

    np.testing.assert_allclose(_np(tangent), (at(eps) - at(-eps)) / (2 * eps), rtol=1e-6, atol=1e-8)


def test_complex_holomorphic_and_not():
    xp = _xp("numpy")
    z0 = RNG.standard_normal(5) + 1j * RNG.standard_normal(5)
    v0 = RNG.standard_normal(5) + 1j * RNG.standard_normal(5)

    def f(z):
        ns = array_api_compat.array_namespace(z)
        return ns.exp(z) * z + ns.abs(z) + ns.real(z) * ns.conj(z)

    primal, tangent = _our_jvp(xp, f, (z0,), (v0,))
    e_primal, e_tangent = _torch_jvp(f, (z0,), (v0,))
    _close(primal, e_primal)
    _close(tangent, e_tangent)


def test_unpack_dual_returns_the_tangent_given_and_none_elsewhere():
    xp = _xp("numpy")
    x = xp.asarray(X0)
    t = xp.asarray(V0)
    assert fwAD.unpack_dual(x) == (x, None)
    with fwAD.dual_level():
        d = fwAD.make_dual(x, t)
        p, tan = fwAD.unpack_dual(d)
        assert tan is t
        assert fwAD.unpack_dual(p).tangent is None
        assert fwAD.unpack_dual(x).tangent is None
        assert isinstance(fwAD.unpack_dual(d), fwAD.UnpackedDualTensor)
        y = xp.sin(d)
        assert fwAD.unpack_dual(y.detach()).tangent is None  # detach drops tangents, as torch
        z = y * 1.0
        z.detach_()
        assert fwAD.unpack_dual(z).tangent is None
    # Leaving the level drops its tangents.
    assert fwAD.unpack_dual(d).tangent is None
    assert fwAD.unpack_dual(y).tangent is None


def test_forward_mode_ignores_grad_mode():
    xp = _xp("numpy")
    with xpgrad.no_grad(), fwAD.dual_level():
        d = fwAD.make_dual(xp.asarray(X0), xp.asarray(V0))
        tan = fwAD.unpack_dual(xp.sin(d)).tangent
    _close(tan, np.cos(X0) * V0)


def test_make_dual_errors_as_torch():
    xp = _xp("numpy")
    x = xp.asarray(X0)
    with pytest.raises(RuntimeError, match="no level exists"):
        fwAD.make_dual(x, x)
    with fwAD.dual_level():
        with pytest.raises(RuntimeError, match="different size"):
            fwAD.make_dual(x, xp.ones((4,), dtype=xp.float64))
        with pytest.raises(RuntimeError, match="argument 'tangent' has dtype float32"):
            fwAD.make_dual(x, xp.ones((3, 4), dtype=xp.float32))
        with pytest.raises(ValueError, match="floating point or complex"):
            fwAD.make_dual(xp.arange(3), xp.arange(3))
        with pytest.raises(TypeError, match="argument 'tangent' must be a Tensor"):
            fwAD.make_dual(x, V0)
        with pytest.raises(TypeError, match="backend"):
            fwAD.make_dual(x, _xp("torch").asarray(V0))
        d = fwAD.make_dual(x, xp.asarray(V0))
        with pytest.raises(RuntimeError, match="already has a forward gradient at the same level 0"):
            fwAD.make_dual(d, xp.asarray(V0))
        with pytest.raises(RuntimeError, match="invalid level"):
            fwAD.make_dual(x, xp.asarray(V0), level=3)
    # Torch's matching errors, so that these stay where torch raises.
    tx = torch.tensor(X0)
    with pytest.raises(RuntimeError, match="no level exists"):
        tfw.make_dual(tx, tx)
    with tfw.dual_level():
        with pytest.raises(RuntimeError, match="different size"):
            tfw.make_dual(tx, torch.ones(4, dtype=torch.float64))
        with pytest.raises(ValueError, match="floating point or complex"):
            tfw.make_dual(torch.arange(3), torch.arange(3))
        d = tfw.make_dual(tx, tx)
        with pytest.raises(RuntimeError, match="already has a forward gradient at the same level 0"):
            tfw.make_dual(d, tx)


def test_levels_exit_in_order():
    outer = fwAD.enter_dual_level()
    inner = fwAD.enter_dual_level()
    try:
        with pytest.raises(RuntimeError, match="not the innermost"):
            fwAD.exit_dual_level(level=outer)
    finally:
        fwAD.exit_dual_level(level=inner)
        fwAD.exit_dual_level(level=outer)
    with pytest.raises(RuntimeError, match="no dual level is open"):
        fwAD.exit_dual_level()


def test_nested_levels_give_second_derivatives():
    # Forward-over-forward (torch raises on nesting: compare with torch.func.jvp of jvp).
    xp = _xp("numpy")
    x0, u0, w0 = X0[0], V0[0], V0[1]

    def f(x):
        ns = array_api_compat.array_namespace(x)
        return ns.sin(x) * ns.exp(x) + x**3

    with fwAD.dual_level():
        a = fwAD.make_dual(xp.asarray(x0), xp.asarray(u0))
        with fwAD.dual_level():
            b = fwAD.make_dual(a, xp.asarray(w0))
            y = f(b)
            inner_tangent = fwAD.unpack_dual(y).tangent  # f'(x) w, carrying its own tangent
        second = fwAD.unpack_dual(inner_tangent).tangent  # f''(x) u w
        first = fwAD.unpack_dual(y).tangent  # f'(x) u at the outer level

    def df(x):
        return torch.func.jvp(f, (x,), (torch.tensor(w0),))[1]

    tx = torch.tensor(x0)
    _close(first, torch.func.jvp(f, (tx,), (torch.tensor(u0),))[1])
    _close(second, torch.func.jvp(df, (tx,), (torch.tensor(u0),))[1])


def test_op_without_forward_rule_raises():
    xp = _xp("numpy")

    def untabled(x):  # an op recorded with no forward rule anywhere
        return _ops.record(xp, "untabled_op", lambda xp_, g: g, (x,), np.sin(x.data))

    assert fwAD.unpack_dual(untabled(xp.asarray(X0))).tangent is None  # outside a level: fine
    with fwAD.dual_level():
        untabled(xp.asarray(X0))  # no tangent on the input: fine
        d = fwAD.make_dual(xp.asarray(X0), xp.asarray(V0))
        with pytest.raises(
            NotImplementedError, match="forward-mode derivative of untabled_op is not implemented"
        ):
            untabled(d)


# -- views and in-place -----------------------------------------------------------------------------


def _views_program(ns, fw, x0, v0):
    """A program of in-place writes through views, run with either forward-AD module."""
    with fw.dual_level():
        d = fw.make_dual(ns.asarray(x0), ns.asarray(v0))
        base = ns.zeros((3, 5), dtype=ns.float64)
        view = base[:, 1:]  # a view of a base that has no tangent yet
        view[...] = d  # written through the view: the base gets a tangent (zeros elsewhere)
        row = base[1]  # a view of a dual base
        row *= 3.0  # in place on a view: its tangent, and so the base's, is updated
        early = base[2, :2]  # a view made before the next in-place change of its base
        base += ns.sin(base)
        plain = ns.ones((3, 5), dtype=ns.float64)
        plain[0, 1:] = d[0]  # a dual written into a plain tensor
        out = [base, row, early, plain, view]
        return [(fw.unpack_dual(t).primal * 1.0, fw.unpack_dual(t).tangent * 1.0) for t in out]


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_views_and_in_place_follow_torch(backend):
    xp = _xp(backend)
    ours = _views_program(xp, fwAD, X0, V0)
    theirs = _views_program(array_api_compat.torch_namespace if False else _torch_ns(), tfw, X0, V0)
    for (p, t), (ep, et) in zip(ours, theirs):
        _close(p, ep)
        _close(t, et)


def _torch_ns():
    import array_api_compat.torch as tns

    return tns


def test_view_tangent_is_a_view_of_the_base_tangent():
    xp = _xp("numpy")
    with fwAD.dual_level():
        t = xp.asarray(V0)
        d = fwAD.make_dual(xp.asarray(X0), t)
        v = xp.reshape(d, (12,))[3:7]
        tv = fwAD.unpack_dual(v).tangent
        t[...] = 0.0  # the base's tangent, changed in place, is seen through the view's
        _close(tv, np.zeros(4))


@pytest.mark.parametrize("program", ["row", "saved"])
def test_in_place_on_dual_with_reverse_mode(program):
    # An in-place op on a dual tensor in the graph: value, tangent, gradient and the gradient's
    # tangent (forward-over-reverse) as torch. "saved": the in-place multiply saves the value it
    # overwrites (for the other factor's gradient): its snapshot must keep the old tangent.
    xp = _xp("numpy")
    x = xp.asarray(X0, requires_grad=True)
    tx = torch.tensor(X0, requires_grad=True)
    results = []
    for ns, fw, leaf in ((xp, fwAD, x), (_torch_ns(), tfw, tx)):
        with fw.dual_level():
            # (a copy: an in-place change of a dual writes into the tangent it was given)
            d = fw.make_dual(leaf * 1.0, ns.asarray(V0.copy()))
            if program == "row":
                d[0] *= ns.exp(d[1])
                d += 2.0
            else:
                w = ns.exp(d[1]) * 1.0
                d *= w[None, :]
            y = ns.sum(d**2)
            g = (xpgrad.grad(y, leaf) if ns is xp else torch.autograd.grad(y, leaf))[0]
            results.append((fw.unpack_dual(y).tangent * 1.0, g, fw.unpack_dual(g).tangent))
    _close(results[0][0], results[1][0], tol=1e-9)
    _close(results[0][1], results[1][1])
    _close(results[0][2], results[1][2], tol=1e-9)


def test_in_place_writes_into_the_given_tangent_as_torch():
    xp = _xp("numpy")
    given = xp.asarray(V0.copy())
    tgiven = torch.tensor(V0.copy())
    with fwAD.dual_level():
        d = fwAD.make_dual(xp.asarray(X0.copy()), given)
        d *= 2.0
    with tfw.dual_level():
        td = tfw.make_dual(torch.tensor(X0.copy()), tgiven)
        td *= 2.0
    _close(given, tgiven)
    _close(given, 2 * V0)


# -- custom Functions -------------------------------------------------------------------------------


def _make_scale_exp(base):
    class ScaleExp(base):
        @staticmethod
        def forward(ctx, x, k):
            out = (x.__array_namespace__() if hasattr(x, "__array_namespace__") else torch).exp(x) * k
            ctx.save_for_forward(out)
            ctx.save_for_backward(out)
            ctx.k = k
            return out

        @staticmethod
        def backward(ctx, g):
            (out,) = ctx.saved_tensors
            return g * out, None

        @staticmethod
        def jvp(ctx, tx, tk):
            assert tk is None
            (out,) = ctx.saved_tensors
            return tx * out

    return ScaleExp


def test_function_jvp_matches_torch():
    xp = _xp("numpy")
    Ours = _make_scale_exp(xpgrad.Function)
    Theirs = _make_scale_exp(torch.autograd.Function)
    with fwAD.dual_level():
        d = fwAD.make_dual(xp.asarray(X0), xp.asarray(V0))
        ours = fwAD.unpack_dual(Ours.apply(d, 2.0))
    with tfw.dual_level():
        d = tfw.make_dual(torch.tensor(X0), torch.tensor(V0))
        theirs = tfw.unpack_dual(Theirs.apply(d, 2.0))
    _close(ours.primal, theirs.primal)
    _close(ours.tangent, theirs.tangent)


def test_function_without_jvp_raises_as_torch():
    class NoJvp(xpgrad.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2

    xp = _xp("numpy")
    NoJvp.apply(xp.asarray(X0))  # no dual level: fine
    with fwAD.dual_level():
        d = fwAD.make_dual(xp.asarray(X0), xp.asarray(V0))
        with pytest.raises(NotImplementedError, match="You must implement the jvp function"):
            NoJvp.apply(d)


# -- forward-over-reverse and reverse-over-forward --------------------------------------------------


def f_scalar(x):
    ns = array_api_compat.array_namespace(x)
    y = ns.exp(x) * ns.tanh(x) + ns.sqrt(x) * ns.flip(x, axis=0) ** 3  # saved outputs (exp, tanh, sqrt)
    return ns.sum(ns.reciprocal(1.0 + y * y)) + ns.sum(x[1, :] * x[2, :])


@pytest.mark.parametrize("backend", BACKENDS)
def test_grad_inside_a_dual_level_gives_hvp(backend):
    xp = _xp(backend)
    x = xp.asarray(X0, requires_grad=True)
    with fwAD.dual_level():
        d = fwAD.make_dual(x, xp.asarray(V0))
        (g,) = xpgrad.grad(f_scalar(d), x)
        hv = fwAD.unpack_dual(g).tangent
        assert not g.requires_grad
    _, e_hv = torch.autograd.functional.hvp(f_scalar, torch.tensor(X0), torch.tensor(V0))
    _close(g, torch.func.grad(f_scalar)(torch.tensor(X0)))
    _close(hv, e_hv)


def test_reverse_over_forward():
    xp = _xp("numpy")
    x = xp.asarray(X0, requires_grad=True)
    v = xp.asarray(V0, requires_grad=True)
    with fwAD.dual_level():
        jv = fwAD.unpack_dual(f_chain(fwAD.make_dual(x, v), xp.asarray(W0))).tangent
        gx, gv = xpgrad.grad(xp.sum(jv * jv), (x, v))
    tx = torch.tensor(X0, requires_grad=True)
    tv = torch.tensor(V0, requires_grad=True)
    with tfw.dual_level():
        tjv = tfw.unpack_dual(f_chain(tfw.make_dual(tx, tv), torch.tensor(W0))).tangent
        egx, egv = torch.autograd.grad(torch.sum(tjv * tjv), (tx, tv))
    _close(gx, egx)
    _close(gv, egv)


# -- xpgrad.functional on forward mode --------------------------------------------------------------

import torch.autograd.functional as TF  # noqa: E402

import xpgrad.functional as F  # noqa: E402


def f_tall(x, w):  # R^(3x4) x R^(4x2) -> two outputs, many more elements than inputs of w
    ns = array_api_compat.array_namespace(x, w)
    y = ns.matmul(ns.sin(x), w)
    return ns.exp(y / 4) * y, ns.sum(x * x, axis=1)


def f_wide(x):  # R^(3x4) -> R^2
    ns = array_api_compat.array_namespace(x)
    return ns.stack([ns.sum(ns.tanh(x) ** 2), ns.mean(ns.log(x + 2.0) * x)])


def f_energy(x, w):
    ns = array_api_compat.array_namespace(x, w)
    return ns.sum(ns.matmul(x, w) ** 3) / 7 + ns.sum(ns.exp(x) * ns.cos(x))


def _ours(*arrays):
    xp = _xp("numpy")
    return tuple(xp.asarray(a) for a in arrays)


def _theirs(*arrays):
    return tuple(torch.tensor(a) for a in arrays)


def _close_nested(a, b, tol=1e-10):
    if isinstance(a, (tuple, list)):
        assert isinstance(b, (tuple, list)) and len(a) == len(b)
        for u, v in zip(a, b):
            _close_nested(u, v, tol)
        return
    assert tuple(a.shape) == tuple(b.shape)
    _close(a, b, tol)


@pytest.mark.parametrize(
    ("fn", "primals"),
    [(f_chain, (X0, W0)), (f_broadcast, (X0, W0)), (f_tall, (X0, W0)), (f_wide, (X0,)), (f_energy, (X0, W0))],
)
def test_functional_jvp_matches_torch(fn, primals):
    tangents = tuple(RNG.standard_normal(p.shape) for p in primals)
    ours = F.jvp(fn, _ours(*primals), _ours(*tangents))
    theirs = TF.jvp(fn, _theirs(*primals), _theirs(*tangents))
    _close_nested(ours, theirs)


def test_functional_jvp_uses_forward_mode():
    # A Function with a jvp whose backward raises: only forward mode can give the JVP.
    class NoBackward(xpgrad.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_forward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            raise AssertionError("backward must not run")

        @staticmethod
        def jvp(ctx, t):
            (x,) = ctx.saved_tensors
            return 2 * x * t

    (x,) = _ours(X0)
    (v,) = _ours(V0)
    _, jv = F.jvp(NoBackward.apply, x, v)
    _close(jv, 2 * X0 * V0)


def test_functional_jvp_create_graph_matches_torch():
    x, w = (xpgrad.namespace("numpy").asarray(a, requires_grad=True) for a in (X0, W0))
    v = xpgrad.namespace("numpy").asarray(V0, requires_grad=True)
    tx, tw = (torch.tensor(a, requires_grad=True) for a in (X0, W0))
    tv = torch.tensor(V0, requires_grad=True)
    _, (jv,) = F.jvp(lambda a: (f_energy(a, w),), x, v, create_graph=True)
    _, (tjv,) = TF.jvp(lambda a: (f_energy(a, tw),), tx, tv, create_graph=True)
    ours = xpgrad.grad(jv, (x, w, v))
    theirs = torch.autograd.grad(tjv, (tx, tw, tv))
    _close_nested(ours, theirs)


@pytest.mark.parametrize(("fn", "primals"), [(f_tall, (X0, W0)), (f_wide, (X0,)), (f_chain, (X0, W0))])
def test_jacobian_forward_mode_matches_torch(fn, primals):
    ours = F.jacobian(fn, _ours(*primals), vectorize=True, strategy="forward-mode")
    theirs = TF.jacobian(fn, _theirs(*primals), vectorize=True, strategy="forward-mode")
    _close_nested(ours, theirs)
    # A single input and a single output give bare Tensors, as torch.
    ours = F.jacobian(
        lambda a: fn(a, *_ours(*primals[1:]))[0] if fn is f_tall else fn(a, *_ours(*primals[1:])),
        _ours(primals[0])[0],
        vectorize=True,
        strategy="forward-mode",
    )
    theirs = TF.jacobian(
        lambda a: fn(a, *_theirs(*primals[1:]))[0] if fn is f_tall else fn(a, *_theirs(*primals[1:])),
        _theirs(primals[0])[0],
        vectorize=True,
        strategy="forward-mode",
    )
    _close_nested(ours, theirs)


def test_hessian_forward_over_reverse_matches_torch():
    ours = F.hessian(
        f_energy, _ours(X0[:2, :3], W0[:3]), vectorize=True, outer_jacobian_strategy="forward-mode"
    )
    theirs = TF.hessian(
        f_energy, _theirs(X0[:2, :3], W0[:3]), vectorize=True, outer_jacobian_strategy="forward-mode"
    )
    _close_nested(ours, theirs)


@pytest.mark.parametrize("create_graph", [False, True])
def test_hvp_matches_torch(create_graph):
    tangents = (V0, RNG.standard_normal(W0.shape))
    ours = F.hvp(f_energy, _ours(X0, W0), _ours(*tangents), create_graph=create_graph)
    theirs = TF.hvp(f_energy, _theirs(X0, W0), _theirs(*tangents), create_graph=create_graph)
    _close_nested(ours, theirs)
    ours = F.hvp(f_scalar, _ours(X0)[0], _ours(V0)[0])
    theirs = TF.hvp(f_scalar, _theirs(X0)[0], _theirs(V0)[0])
    _close_nested(ours, theirs)


def test_hvp_create_graph_is_differentiable():
    xp = _xp("numpy")
    x = xp.asarray(X0, requires_grad=True)
    tx = torch.tensor(X0, requires_grad=True)
    _, hv = F.hvp(f_scalar, x, xp.asarray(V0), create_graph=True)
    _, thv = TF.hvp(f_scalar, tx, torch.tensor(V0), create_graph=True)
    _close(xpgrad.grad(xp.sum(hv), x)[0], torch.autograd.grad(torch.sum(thv), tx)[0], tol=1e-9)


def test_strict_mode_as_torch():
    def linear(x):
        return x * 3.0

    (x,) = _ours(X0)
    with pytest.raises(RuntimeError, match="strict"):
        F.hvp(lambda a: xpgrad.namespace("numpy").sum(linear(a)), x, x, strict=True)
    with pytest.raises(RuntimeError, match="strict"):
        TF.hvp(lambda a: torch.sum(linear(a)), *_theirs(X0, X0), strict=True)

    def ignores_second(a, b):
        return a * 2.0

    with pytest.raises(RuntimeError, match="strict"):
        F.jvp(ignores_second, _ours(X0, X0), _ours(V0, V0), strict=True)
    with pytest.raises(RuntimeError, match="strict"):
        TF.jvp(ignores_second, _theirs(X0, X0), _theirs(V0, V0), strict=True)
    _, (jv,) = F.jvp(lambda a, b: (ignores_second(a, b),), _ours(X0, X0), _ours(V0, V0))
    _close(jv, 2 * V0)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"strategy": "forward-mode"}, NotImplementedError, "only implemented for `vectorize=True`"),
        (
            {"strategy": "forward-mode", "vectorize": True, "create_graph": True},
            NotImplementedError,
            "create_graph=True",
        ),
        ({"vectorize": True, "strict": True}, RuntimeError, "`strict=True` and `vectorize"),
    ],
)
def test_jacobian_argument_checks_as_torch(kwargs, error, match):
    with pytest.raises(error, match=match):
        F.jacobian(f_wide, _ours(X0)[0], **kwargs)
    with pytest.raises(error, match=match.replace("only implemented", "isonly implemented")):
        TF.jacobian(f_wide, _theirs(X0)[0], **kwargs)
    with pytest.raises(error, match=match):
        F.hessian(
            f_scalar,
            _ours(X0)[0],
            **{("outer_jacobian_strategy" if k == "strategy" else k): v for k, v in kwargs.items()},
        )


def test_jacobian_strategy_must_be_known():
    with pytest.raises(ValueError, match="'forward-mode' or 'reverse-mode'"):
        F.jacobian(f_wide, _ours(X0)[0], strategy="sideways")
    with pytest.raises(ValueError, match="'forward-mode' or 'reverse-mode'"):
        F.hessian(f_scalar, _ours(X0)[0], outer_jacobian_strategy="sideways")


# -- the derivative table's rules through propagate -------------------------------------------------

from xpgrad._optable import ELEMENTWISE, LINEAR, apply, op  # noqa: E402


def _tbl_mul_vjps(xp, g, x1, x2, *, needs):
    return (g * x2 if needs[0] else None, g * x1 if needs[1] else None)


def _tbl_mul_jvp(xp, x1, x2, x1_t, x2_t):
    return x1_t * x2 + x1 * x2_t


@op(grads={("x1", "x2"): _tbl_mul_vjps}, jvp=_tbl_mul_jvp, scalars=True)
def tbl_mul(xp, x1, x2, /):
    return xp.multiply(x1, x2)


@op(grads={"x": lambda xp, g, x: g * xp.cos(x)}, jvp=ELEMENTWISE)
def tbl_sin(xp, x, /):
    return xp.sin(x)


@op(
    grads={"x": lambda xp, g, *, x_shape, axis: xp.broadcast_to(xp.expand_dims(g, axis=axis), x_shape)},
    jvp=LINEAR,
)
def tbl_sum(xp, x, /, *, axis=0):
    return xp.sum(x, axis=axis)


@op(grads={"x": lambda xp, g: g})
def tbl_norule(xp, x, /):
    return xp.asarray(x, copy=True)


def test_table_rules_reach_propagate():
    xp = _xp("numpy")
    w = xp.asarray(W0)  # no tangent: an undefined (None) tangent for the rule
    with fwAD.dual_level():
        d = fwAD.make_dual(xp.asarray(X0), xp.asarray(V0))
        y = apply(xp, tbl_sum, (apply(xp, tbl_mul, (apply(xp, tbl_sin, (d,), {}), 2.0), {}),), {"axis": 1})
        z = apply(xp, tbl_mul, (w, w), {})  # no input has a tangent: no rule runs
        assert fwAD.unpack_dual(z).tangent is None
        with pytest.raises(
            NotImplementedError, match="forward-mode derivative of tbl_norule is not implemented"
        ):
            apply(xp, tbl_norule, (d,), {})
        tangent = fwAD.unpack_dual(y).tangent
    _close(tangent, np.sum(2.0 * np.cos(X0) * V0, axis=1))


# -- every registry op with a forward rule against finite differences -------------------------------

from xpgrad._gradcheck import richardson_derivative  # noqa: E402
from xpgrad.testing import iter_cases, op_db  # noqa: E402
from xpgrad.testing._forward_runner import _tangents_for, _xpgrad_duals  # noqa: E402
from xpgrad.testing._runner import _as_list, _convert, find_xfail  # noqa: E402


def _fd_params():
    params, seen = [], set()
    for case in iter_cases([o for o in op_db() if o.differentiable], dtypes=("float64",)):
        if case.op.name in seen or find_xfail(case.op, case.sample, "gradcheck", "float64", "numpy"):
            continue  # one sample per function; kinks listed as gradcheck xfails are not FD points
        if "tie" in case.sample_name:
            continue  # ties (sort, max): central differences average the tied branches
        seen.add(case.op.name)
        params.append(pytest.param(case, id=case.id))
    return params


def _outputs(op, ns, args, kwargs):
    res = op.call(ns, *args, **kwargs)
    res = _as_list(op.output(ns, res)) if op.output else _as_list(res)
    return [r for r in res if type(r) is xpgrad.Tensor and ns._is_differentiable_dtype(r.dtype)]


@pytest.mark.parametrize("case", _fd_params())
def test_registry_jvps_match_finite_differences(case):
    """The tangent an op's forward rule gives through dual Tensors (the runtime path: propagate,
    normalisation) against finite differences of the op, first float64 sample of each op."""
    op, sample = case.op, case.sample
    ns = _xp("numpy")
    tangents = _tangents_for(sample, "float64", 14)
    try:
        with fwAD.dual_level():
            xin = _xpgrad_duals(sample, "float64", ns, tangents, False)
            got = [fwAD.unpack_dual(o).tangent for o in _outputs(op, ns, xin.args, xin.kwargs)]
    except NotImplementedError as exc:  # every differentiable op has a rule: a missing one fails
        raise AssertionError(f"{op.name}: {exc}") from exc

    def at(s):
        it = iter(tangents)

        def make_float(a, want_grad):
            return ns.asarray(a + s * next(it) if want_grad else a)

        conv = _convert(sample, "float64", make_float, lambda a: ns.asarray(a), True)
        return tuple(np.asarray(o.data) for o in _outputs(op, ns, conv.args, conv.kwargs))

    # Richardson-extrapolated differences (gradcheck's method="richardson"); a single-precision
    # output (astype to float32) rounds by 6e-8, which its differences resolve to about 3e-5.
    fds = richardson_derivative(at)
    assert len(got) == len(fds)
    for k, (g, fd) in enumerate(zip(got, fds)):
        ours = np.zeros_like(fd) if g is None else _np(g)
        rtol, atol = (1e-4, 1e-5) if fd.dtype in (np.float32, np.complex64) else (1e-5, 1e-6)
        np.testing.assert_allclose(ours, fd, rtol=rtol, atol=atol, err_msg=f"{op.name} output {k}")


def test_dual_levels_are_per_thread():
    import threading

    xp = _xp("numpy")
    results = {}

    def worker(k):
        v = np.full(X0.shape, float(k))
        with fwAD.dual_level():
            d = fwAD.make_dual(xp.asarray(X0), xp.asarray(v))
            for _ in range(50):
                d = xp.sin(d) + d
            results[k] = _np(fwAD.unpack_dual(d).tangent)

    threads = [threading.Thread(target=worker, args=(k,)) for k in (1, 2)]
    with fwAD.dual_level():  # a level of this thread only
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    expected = np.ones_like(X0)
    x = X0.copy()
    for _ in range(50):
        expected = np.cos(x) * expected + expected
        x = np.sin(x) + x
    _close(results[1], expected)
    _close(results[2], 2 * expected)
