"""xpgrad.func against torch.func: per-sample gradients, composition, pytrees, batching rules
and their errors, on NumPy, torch, array-api-strict and JAX (float64)."""

from __future__ import annotations

import array_api_compat
import numpy as np
import pytest
import torch
import torch.func as tf

import xpgrad
from xpgrad.func import (
    VmapFallbackWarning,
    _batched,
    grad,
    grad_and_value,
    hessian,
    jacfwd,
    jacrev,
    jvp,
    vjp,
    vmap,
)

# torch's forward AD goes through torch.jit.script, which warns in torch 2.13.
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")

RNG = np.random.default_rng(23)
TOL = {"rtol": 1e-10, "atol": 1e-12}

BACKENDS = [
    "numpy",
    "torch",
    "array_api_strict",
    pytest.param("jax", marks=pytest.mark.requires_backend("jax")),
]


def _ns(name):
    if name == "jax":
        import jax

        jax.config.update("jax_enable_x64", True)
        return xpgrad.namespace("jax.numpy")
    return xpgrad.namespace(name)


def _raw(name, a):
    a = np.asarray(a, dtype=np.float64)
    if name == "numpy":
        return a
    if name == "torch":
        return torch.tensor(a)
    if name == "array_api_strict":
        import array_api_strict

        return array_api_strict.asarray(a)
    import jax.numpy as jnp

    return jnp.asarray(a)


def _x(ns_name, a):
    return _ns(ns_name).asarray(_raw(ns_name, a))


def _np(t):
    return np.asarray(t.tolist(), dtype=np.float64)


def _close(ours, theirs):
    np.testing.assert_allclose(_np(ours), theirs.detach().numpy(), **TOL)


def _close_tree(ours, theirs):
    if isinstance(theirs, dict):
        assert set(ours) == set(theirs)
        for k in theirs:
            _close_tree(ours[k], theirs[k])
    elif isinstance(theirs, (tuple, list)):
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            _close_tree(a, b)
    else:
        _close(ours, theirs)


# User code: array-API functions that take their namespace from their arguments.


def mlp_loss(params, x, y):
    ns = array_api_compat.array_namespace(x)
    h = ns.tanh(x @ params["w1"] + params["b1"])
    o = h @ params["w2"] + params["b2"]
    return ns.mean((o - y) ** 2)


def f_scalar(x):
    ns = array_api_compat.array_namespace(x)
    return ns.sum(ns.sin(x) ** 3) + ns.sum(x[:2] * x[1:3]) * ns.max(x)


def f_vec(x, w):
    ns = array_api_compat.array_namespace(x, w)
    return ns.tanh(w @ x) * ns.sum(x * x)


def f_manip(x):
    ns = array_api_compat.array_namespace(x)
    y = ns.reshape(x, (2, 3))
    z = ns.concat([y, ns.flip(y, axis=1)], axis=0)
    z = ns.permute_dims(z, (1, 0))
    s = ns.cumulative_sum(z, axis=1)
    m = ns.stack([ns.mean(s, axis=0), ns.std(s, axis=0)], axis=-1)
    return ns.expand_dims(m, axis=0) * ns.linalg.vector_norm(x)


def _params(name):
    p = {
        "w1": RNG.standard_normal((4, 8)),
        "b1": RNG.standard_normal(8),
        "w2": RNG.standard_normal((8, 3)),
        "b2": RNG.standard_normal(3),
    }
    return {k: _x(name, v) for k, v in p.items()}, {k: torch.tensor(v) for k, v in p.items()}


@pytest.mark.parametrize("name", BACKENDS)
def test_per_sample_gradients_of_an_mlp_match_torch_func(name):
    params, tparams = _params(name)
    X, Y = RNG.standard_normal((16, 4)), RNG.standard_normal((16, 3))
    ours = vmap(grad(mlp_loss), in_dims=(None, 0, 0))(params, _x(name, X), _x(name, Y))
    theirs = tf.vmap(tf.grad(mlp_loss), in_dims=(None, 0, 0))(tparams, torch.tensor(X), torch.tensor(Y))
    _close_tree(ours, theirs)


@pytest.mark.parametrize("name", BACKENDS)
def test_grad_and_value_with_aux_and_tuple_argnums(name):
    def f(x, w):
        ns = array_api_compat.array_namespace(x)
        v = ns.sum(ns.tanh(w @ x) ** 2)
        return v, {"v2": v * 2}

    x, w = RNG.standard_normal(3), RNG.standard_normal((2, 3))
    (g, (v, aux)) = grad_and_value(f, argnums=(0, 1), has_aux=True)(_x(name, x), _x(name, w))
    (tg, (tv, taux)) = tf.grad_and_value(f, argnums=(0, 1), has_aux=True)(torch.tensor(x), torch.tensor(w))
    _close_tree(g, tg)
    _close(v, tv)
    _close(aux["v2"], taux["v2"])


@pytest.mark.parametrize("name", BACKENDS)
def test_jacobians_and_hessian_match_torch_func(name):
    x, w = RNG.standard_normal(4), RNG.standard_normal((3, 4))
    X, W = _x(name, x), _x(name, w)
    tx, tw = torch.tensor(x), torch.tensor(w)
    _close_tree(jacrev(f_vec, argnums=(0, 1))(X, W), tf.jacrev(f_vec, argnums=(0, 1))(tx, tw))
    _close_tree(jacfwd(f_vec, argnums=(0, 1))(X, W), tf.jacfwd(f_vec, argnums=(0, 1))(tx, tw))
    _close(hessian(f_scalar)(X), tf.hessian(f_scalar)(tx))
    _close(jacfwd(jacrev(f_scalar))(X), tf.jacfwd(tf.jacrev(f_scalar))(tx))
    _close(jacrev(jacrev(f_scalar))(X), tf.jacrev(tf.jacrev(f_scalar))(tx))


@pytest.mark.parametrize("name", BACKENDS)
def test_vjp_and_jvp_match_torch_func(name):
    x, w = RNG.standard_normal(4), RNG.standard_normal((3, 4))
    ct, t1, t2 = RNG.standard_normal(3), RNG.standard_normal(4), RNG.standard_normal((3, 4))
    out, fn = vjp(f_vec, _x(name, x), _x(name, w))
    tout, tfn = tf.vjp(f_vec, torch.tensor(x), torch.tensor(w))
    _close(out, tout)
    _close_tree(fn(_x(name, ct)), tfn(torch.tensor(ct)))
    p, t = jvp(f_vec, (_x(name, x), _x(name, w)), (_x(name, t1), _x(name, t2)))
    tp, tt = tf.jvp(f_vec, (torch.tensor(x), torch.tensor(w)), (torch.tensor(t1), torch.tensor(t2)))
    _close(p, tp)
    _close(t, tt)


@pytest.mark.parametrize("name", BACKENDS)
def test_composition_at_depth(name):
    xb = RNG.standard_normal((3, 4))
    X, tx = _x(name, xb), torch.tensor(xb)
    _close(vmap(hessian(f_scalar))(X), tf.vmap(tf.hessian(f_scalar))(tx))
    _close(vmap(jacrev(f_scalar))(X), tf.vmap(tf.jacrev(f_scalar))(tx))

    def total(x):
        ns = array_api_compat.array_namespace(x)
        return ns.sum(vmap(f_scalar)(x))

    def ttotal(x):
        return torch.sum(tf.vmap(f_scalar)(x))

    _close(grad(total)(X), tf.grad(ttotal)(tx))
    _close(
        vmap(vmap(grad(f_scalar)))(_x(name, xb[None] * np.ones((2, 1, 1)))),
        tf.vmap(tf.vmap(tf.grad(f_scalar)))(tx[None].repeat(2, 1, 1)),
    )
    _close(grad(f_scalar)(X[0, ...]), tf.grad(f_scalar)(tx[0]))


@pytest.mark.parametrize("name", BACKENDS)
def test_vmap_in_dims_out_dims_and_pytrees(name):
    a, b = RNG.standard_normal((4, 2, 3)), RNG.standard_normal((2, 3))

    def f(d, c):
        ns = array_api_compat.array_namespace(d["a"])
        return {"m": d["a"] @ c, "s": (ns.sum(d["a"], axis=0), ns.expand_dims(c, axis=1) * 2.0)}

    ours = vmap(f, in_dims=({"a": 2}, 1), out_dims={"m": 1, "s": (0, -1)})({"a": _x(name, a)}, _x(name, b))
    theirs = tf.vmap(f, in_dims=({"a": 2}, 1), out_dims={"m": 1, "s": (0, -1)})(
        {"a": torch.tensor(a)}, torch.tensor(b)
    )
    _close_tree(ours, theirs)
    x = RNG.standard_normal((5, 6))
    _close(vmap(f_manip)(_x(name, x)), tf.vmap(f_manip)(torch.tensor(x)))
    _close(vmap(f_manip, chunk_size=2)(_x(name, x)), tf.vmap(f_manip, chunk_size=2)(torch.tensor(x)))


def test_vmap_rules_on_numpy_against_a_loop():
    xp = xpgrad.numpy
    x = RNG.standard_normal((3, 4, 4))
    y = RNG.standard_normal((4,))

    def f(a):
        ns = a.__array_namespace__()
        v = ns.asarray(y)
        s = ns.linalg.solve(a + 4 * ns.eye(4), v)
        return ns.concat(
            [
                s,
                ns.linalg.det(a)[None],
                ns.argmax(a, axis=None, keepdims=False)[None] * 1.0,
                ns.vecdot(a, v),
                ns.take(a, ns.asarray([0, 2]), axis=1)[0],
                (a[1:3, ::2] * 2)[0],
                ns.roll(a, 3)[0],
                ns.real(ns.fft.rfft(a, axis=0))[:, 0],
                ns.matmul(v, a),
                ns.linalg.outer(v, v)[0],
            ]
        )

    ours = vmap(f)(xp.asarray(x))
    loop = np.stack([f(xp.asarray(x[i])).data for i in range(3)])
    np.testing.assert_allclose(ours.data, loop, **TOL)


def test_python_control_flow_on_a_batched_value_is_a_clear_error():
    xp = xpgrad.numpy

    def f(x):
        if x.__array_namespace__().sum(x) > 0:
            return x
        return -x

    with pytest.raises(RuntimeError, match=r"vmap: bool\(\) on a batched value"):
        vmap(f)(xp.ones((2, 3)))
    with pytest.raises(RuntimeError, match=r"vmap: float\(\)"):
        vmap(lambda x: float(x[0]) * x)(xp.ones((2, 3)))


def test_bad_in_dims_are_clear_errors():
    xp = xpgrad.numpy
    with pytest.raises(ValueError, match="vmap: the mapped dimensions have different sizes"):
        vmap(lambda a, b: a + b)(xp.ones((2, 3)), xp.ones((3, 3)))
    with pytest.raises(ValueError, match="vmap: in_dims 2 is out of range"):
        vmap(lambda a: a, in_dims=2)(xp.ones((2, 3)))
    with pytest.raises(ValueError, match="at least one argument must be mapped"):
        vmap(lambda a: a, in_dims=None)(xp.ones((2, 3)))
    with pytest.raises(RuntimeError, match="grad: the function must return a 0-d array"):
        grad(lambda a: a * 2)(xp.ones(3))


def test_fallback_warns_once_naming_the_function():
    xp = xpgrad.numpy
    _batched._WARNED.discard("linalg.tensordot")
    x = RNG.standard_normal((3, 2, 2))
    w = RNG.standard_normal((2, 2))

    def f(a, b):
        return a.__array_namespace__().linalg.tensordot(a, b, axes=1)

    with pytest.warns(VmapFallbackWarning, match="linalg.tensordot has no batching rule"):
        ours = vmap(f, in_dims=(0, None))(xp.asarray(x), xp.asarray(w))
    np.testing.assert_allclose(ours.data, np.stack([x[i] @ w for i in range(3)]), **TOL)
    ours = vmap(f, in_dims=(0, None))(
        xp.asarray(x), xp.asarray(w)
    )  # once: no second warning (warnings are errors)


def test_results_of_value_dependent_shape_are_a_clear_error():
    xp = xpgrad.numpy
    _batched._WARNED.add("unique_values")
    x = xp.asarray(np.array([[1.0, 1.0, 2.0], [1.0, 2.0, 3.0]]))
    with pytest.raises(ValueError, match="vmap: unique_values gives results of different shapes"):
        vmap(lambda a: a.__array_namespace__().unique_values(a))(x)


def test_setitem_and_inplace_under_vmap():
    xp = xpgrad.numpy
    x = RNG.standard_normal((3, 4))

    def f(a):
        ns = a.__array_namespace__()
        z = ns.zeros_like(a)
        z[1:3] = a[:2] * 2
        z += 1
        return z

    expected = np.ones((3, 4))
    expected[:, 1:3] += 2 * x[:, :2]
    np.testing.assert_allclose(vmap(f)(xp.asarray(x)).data, expected, **TOL)

    def g(a):
        z = xp.zeros(4)
        z[0] = a[0]
        return z

    with pytest.raises(TypeError, match="got BatchedTensor"):
        vmap(g)(xp.asarray(x))


# The user-code functions of tests/test_user_code.py under vmap, vmap(grad) and vmap(jacrev).
from test_user_code import CASES as USER_CASES  # noqa: E402  (tests/ is on sys.path under pytest)

_USER_SCALAR = ("softmax_cross_entropy", "rosenbrock", "least_squares")
_SCALES = np.array([1.0, 1.05, 1.1])


def _batch(a):
    return np.stack([a * s for s in _SCALES])


@pytest.mark.parametrize("name", BACKENDS)
@pytest.mark.parametrize("case", USER_CASES, ids=[c[0] for c in USER_CASES])
def test_user_code_under_vmap_matches_torch_func(case, name):
    cname, fn, inputs = case
    ours_in = tuple(_x(name, _batch(a)) for a in inputs)
    theirs_in = tuple(torch.tensor(_batch(a)) for a in inputs)
    _close_tree(vmap(fn)(*ours_in), tf.vmap(fn)(*theirs_in))
    argnums = tuple(range(len(inputs)))
    if cname in _USER_SCALAR:
        _close_tree(
            vmap(grad(fn, argnums=argnums))(*ours_in), tf.vmap(tf.grad(fn, argnums=argnums))(*theirs_in)
        )
    elif cname != "stack_concat_index":
        _close_tree(
            vmap(jacrev(fn, argnums=argnums))(*ours_in), tf.vmap(tf.jacrev(fn, argnums=argnums))(*theirs_in)
        )
