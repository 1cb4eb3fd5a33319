"""Array API code written the way users write it (namespace from array_namespace, no backend
imports) gives torch.autograd's values and gradients to 1e-12 in float64, first and second order.
"""

from __future__ import annotations

import array_api_compat
import numpy as np
import pytest

from xpgrad.testing import assert_grads_match_torch

RNG = np.random.default_rng(1234)


def logsumexp_rows(x):
    xp = array_api_compat.array_namespace(x)
    m = xp.max(x, axis=1, keepdims=True)
    return xp.squeeze(m, axis=1) + xp.log(xp.sum(xp.exp(x - m), axis=1))


def softmax_cross_entropy(w, x, y):
    xp = array_api_compat.array_namespace(w, x, y)
    logits = x @ w
    logits = logits - xp.max(logits, axis=1, keepdims=True)
    logp = logits - xp.log(xp.sum(xp.exp(logits), axis=1, keepdims=True))
    return -xp.mean(xp.sum(logp * y, axis=1))


def layer_norm(x, gamma, beta):
    xp = array_api_compat.array_namespace(x, gamma, beta)
    mu = xp.mean(x, axis=-1, keepdims=True)
    var = xp.var(x, axis=-1, keepdims=True)
    return (x - mu) / xp.sqrt(var + 1e-5) * gamma + beta


def attention(q, k, v):
    xp = array_api_compat.array_namespace(q, k, v)
    s = q @ xp.matrix_transpose(k) / 2.0
    s = s - xp.max(s, axis=-1, keepdims=True)
    p = xp.exp(s)
    p = p / xp.sum(p, axis=-1, keepdims=True)
    return p @ v


def rosenbrock(x):
    xp = array_api_compat.array_namespace(x)
    return xp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def polynomial_and_friends(x):
    xp = array_api_compat.array_namespace(x)
    y = xp.where(x > 0, x**3 - 2 * x, xp.sin(x) * xp.cosh(x))
    return xp.cumulative_sum(y * xp.tanh(x)) + xp.linalg.vector_norm(x) * xp.prod(xp.exp(-(x**2)))


def least_squares(a, b):
    xp = array_api_compat.array_namespace(a, b)
    sol = xp.linalg.solve(
        xp.matrix_transpose(a) @ a + xp.eye(a.shape[1], dtype=a.dtype), xp.matrix_transpose(a) @ b
    )
    return xp.sum((a @ sol - b) ** 2) + xp.linalg.slogdet(xp.matrix_transpose(a) @ a).logabsdet


def stack_concat_index(x, y):
    xp = array_api_compat.array_namespace(x, y)
    z = xp.concat([x, y * 2.0], axis=0)
    s = xp.stack([z, xp.flip(z, axis=0)], axis=1)
    idx = xp.asarray([0, 2, 2, 1])
    return xp.take(s, idx, axis=0) ** 2, xp.flip(xp.sort(s, axis=0), axis=1)


CASES = [
    ("logsumexp_rows", logsumexp_rows, (RNG.standard_normal((4, 5)),)),
    (
        "softmax_cross_entropy",
        softmax_cross_entropy,
        (RNG.standard_normal((4, 3)), RNG.standard_normal((6, 4)), np.eye(3)[RNG.integers(0, 3, 6)]),
    ),
    ("layer_norm", layer_norm, (RNG.standard_normal((3, 5)), RNG.standard_normal(5), RNG.standard_normal(5))),
    (
        "attention",
        attention,
        (RNG.standard_normal((2, 3, 4)), RNG.standard_normal((2, 5, 4)), RNG.standard_normal((2, 5, 3))),
    ),
    ("rosenbrock", rosenbrock, (RNG.standard_normal(6),)),
    ("polynomial_and_friends", polynomial_and_friends, (RNG.standard_normal(7),)),
    ("least_squares", least_squares, (RNG.standard_normal((6, 3)), RNG.standard_normal(6))),
    ("stack_concat_index", stack_concat_index, (RNG.standard_normal((2, 3)), RNG.standard_normal((1, 3)))),
]


@pytest.mark.parametrize("name,fn,inputs", CASES, ids=[c[0] for c in CASES])
def test_user_code_matches_torch_to_1e_12(name, fn, inputs):
    assert_grads_match_torch(fn, *inputs, second_order=True, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("backend", ["array_api_strict", "torch"])
def test_user_code_on_other_backends(backend):
    for _, fn, inputs in CASES[:5]:
        assert_grads_match_torch(fn, *inputs, second_order=True, rtol=1e-10, atol=1e-10, backend=backend)


# -- forward mode on the same user code (issue 14): functional.jvp, forward-mode jacobian and
# forward-over-reverse hvp against torch.autograd.functional ------------------------------------

_SINGLE = [c for c in CASES if c[0] != "stack_concat_index"]  # one output each
_SCALAR = ("softmax_cross_entropy", "rosenbrock", "least_squares")


def _both(inputs):
    import torch

    import xpgrad

    xp = xpgrad.numpy
    return tuple(xp.asarray(a) for a in inputs), tuple(torch.asarray(a) for a in inputs)


def _torch(f, *args, **kwargs):
    import warnings

    with warnings.catch_warnings():  # torch's vmap path warns that torch.jit.script is deprecated
        warnings.simplefilter("ignore", DeprecationWarning)
        return f(*args, **kwargs)


def _close(ours, theirs):
    if isinstance(theirs, (tuple, list)):  # torch's forward-mode jacobian gives a list
        assert isinstance(ours, tuple) and len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            _close(a, b)
        return
    np.testing.assert_allclose(np.asarray(ours.data), theirs.detach().numpy(), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("name,fn,inputs", _SINGLE, ids=[c[0] for c in _SINGLE])
def test_user_code_forward_mode_matches_torch_functional(name, fn, inputs):
    import torch.autograd.functional as tf

    from xpgrad import functional as xf

    ours, theirs = _both(inputs)
    rng = np.random.default_rng(7)
    v = [rng.standard_normal(np.shape(a)) for a in inputs]
    v_ours, v_theirs = _both(v)
    out_o, jvp_o = xf.jvp(fn, ours, v_ours)
    out_t, jvp_t = _torch(tf.jvp, fn, theirs, v_theirs)
    _close(out_o, out_t)
    _close(jvp_o, jvp_t)
    jac_o = xf.jacobian(fn, ours, strategy="forward-mode", vectorize=True)
    jac_t = _torch(tf.jacobian, fn, theirs, strategy="forward-mode", vectorize=True)
    _close(jac_o, jac_t)


@pytest.mark.parametrize("name,fn,inputs", [c for c in _SINGLE if c[0] in _SCALAR], ids=list(_SCALAR))
def test_user_code_hvp_forward_over_reverse_matches_torch(name, fn, inputs):
    import torch.autograd.functional as tf

    from xpgrad import functional as xf

    ours, theirs = _both(inputs)
    rng = np.random.default_rng(8)
    v = [rng.standard_normal(np.shape(a)) for a in inputs]
    v_ours, v_theirs = _both(v)
    if len(inputs) == 1:
        ours, theirs, v_ours, v_theirs = ours[0], theirs[0], v_ours[0], v_theirs[0]
    _, hv_o = xf.hvp(fn, ours, v_ours)
    _, hv_t = _torch(tf.hvp, fn, theirs, v_theirs)
    _close(hv_o, hv_t)
    h_o = xf.hessian(fn, ours, outer_jacobian_strategy="forward-mode", vectorize=True)
    h_t = _torch(tf.hessian, fn, theirs, outer_jacobian_strategy="forward-mode", vectorize=True)
    _close(h_o, h_t)
