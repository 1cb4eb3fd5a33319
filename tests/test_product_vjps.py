"""Gradients written to avoid copies (issue 25), against torch.autograd on NumPy.

The VJPs of ``matmul`` contract a vector gradient with a matrix operand (``g @ x1``, ``x2 @ g``)
instead of transposing the matrix first; the forward-mode rules of the
products skip the term of an operand without a tangent; the VJP of an index that selects the
whole array (``x[:, None]``, ``x[..., 0]`` on an axis of size 1, ``x[:]``) is a reshape, not a
scatter into zeros. Each layout is checked to first and second order, the ones the sample
registry lacks included (batched @ 2-d, 2-d @ batched, complex).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import xpgrad
from xpgrad.testing import assert_grads_match_torch

RNG = np.random.default_rng(25)


def _m(*shape, dtype=np.float64):
    a = RNG.standard_normal(shape)
    if np.dtype(dtype).kind == "c":
        a = a + 1j * RNG.standard_normal(shape)
    return a.astype(dtype)


MATMUL_LAYOUTS = {
    "1d@1d": ((3,), (3,)),
    "1d@2d": ((3,), (3, 2)),
    "2d@1d": ((4, 3), (3,)),
    "2d@2d": ((4, 3), (3, 2)),
    "batched@2d": ((2, 4, 3), (3, 2)),
    "2d@batched": ((4, 3), (2, 3, 2)),
    "batched@batched_broadcast": ((2, 1, 4, 3), (5, 3, 2)),
    "1d@batched": ((3,), (2, 3, 2)),
    "batched@1d": ((2, 4, 3), (3,)),
}


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
@pytest.mark.parametrize("layout", sorted(MATMUL_LAYOUTS))
def test_matmul_gradients_match_torch(layout, dtype):
    s1, s2 = MATMUL_LAYOUTS[layout]
    assert_grads_match_torch(
        lambda a, b: a @ b, _m(*s1, dtype=dtype), _m(*s2, dtype=dtype), second_order=True
    )


@pytest.mark.parametrize("layout", sorted(MATMUL_LAYOUTS))
@pytest.mark.parametrize("which", [0, 1])
def test_matmul_with_a_constant_operand_matches_torch(layout, which):
    """Only one operand requires grad: the VJP of the other is never built (torch's saved set)."""
    s1, s2 = MATMUL_LAYOUTS[layout]
    a, b = _m(*s1), _m(*s2)
    const = a if which == 0 else b
    if which == 0:
        fn = lambda b: xpgrad.numpy.asarray(const) @ b  # noqa: E731
    else:
        fn = lambda a: a @ xpgrad.numpy.asarray(const)  # noqa: E731
    xp = xpgrad.numpy
    x = xp.asarray(b if which == 0 else a, requires_grad=True)
    out = fn(x)
    (g,) = xpgrad.grad(xp.sum(out * out), [x], create_graph=True)
    (h,) = xpgrad.grad(xp.sum(g), [x])
    t = torch.tensor(b if which == 0 else a, requires_grad=True)
    tc = torch.tensor(const)
    tout = tc @ t if which == 0 else t @ tc
    (tg,) = torch.autograd.grad((tout * tout).sum(), [t], create_graph=True)
    (th,) = torch.autograd.grad(tg.sum(), [t])
    np.testing.assert_allclose(g.detach().data, tg.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(h.data, th.numpy(), rtol=1e-12, atol=1e-12)


# Forward mode: the tangents of a product with a constant operand, against NumPy's product of
# the constant with the tangent (the product is linear in the other operand).


@pytest.mark.parametrize("layout", sorted(MATMUL_LAYOUTS))
def test_matmul_forward_mode_with_a_constant_operand(layout):
    s1, s2 = MATMUL_LAYOUTS[layout]
    X, w, v = _m(*s1), _m(*s2), _m(*s2)
    xp = xpgrad.numpy
    _, jv = xpgrad.functional.jvp(lambda w: xp.asarray(X) @ w, xp.asarray(w), xp.asarray(v))
    np.testing.assert_allclose(jv.data, X @ v, rtol=1e-12, atol=1e-12)
    _, jv = xpgrad.functional.jvp(lambda X: X @ xp.asarray(w), xp.asarray(X), xp.asarray(X[::-1] + 1))
    np.testing.assert_allclose(jv.data, (X[::-1] + 1) @ w, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("axes", [((1,), (0,)), ((0,), (0,)), ((0, 1), (1, 0)), 1])
def test_tensordot_forward_mode_with_a_constant_operand(axes):
    a, b, v = _m(3, 3), _m(3, 3), _m(3, 3)
    xp = xpgrad.numpy
    _, jv = xpgrad.functional.jvp(
        lambda b: xp.tensordot(xp.asarray(a), b, axes=axes), xp.asarray(b), xp.asarray(v)
    )
    np.testing.assert_allclose(jv.data, np.tensordot(a, v, axes=axes), rtol=1e-12, atol=1e-12)


def test_vecdot_forward_mode_with_a_constant_operand():
    a, b, v = _m(4, 3, dtype=np.complex128), _m(4, 3, dtype=np.complex128), _m(4, 3, dtype=np.complex128)
    xp = xpgrad.numpy
    _, jv = xpgrad.functional.jvp(lambda a: xp.vecdot(a, xp.asarray(b)), xp.asarray(a), xp.asarray(v))
    # vecdot conjugates its first operand: J v = sum(conj(v) * b).
    np.testing.assert_allclose(jv.data, np.sum(np.conj(v) * b, axis=-1), rtol=1e-12)


WHOLE_KEYS = {
    "None,slice": (slice(None), None),
    "Ellipsis,None": (Ellipsis, None),
    "slice": slice(None),
    "Ellipsis": Ellipsis,
    "Ellipsis,int_on_size_1": (Ellipsis, 0),
    "negative_int_on_size_1": (slice(None), -1),
    "slice_0_1_on_size_1": (slice(None), slice(0, 1)),
    "reversed_slice_on_size_1": (slice(None), slice(None, None, -1)),
}
PART_KEYS = {
    "reversed": slice(None, None, -1),
    "from_1": slice(1, None),
    "int": 0,
    "step_2": (slice(None), slice(None, None, 2)),
}


@pytest.mark.parametrize("name", sorted(WHOLE_KEYS) + sorted(PART_KEYS))
def test_getitem_gradients(name):
    """Against torch; against finite differences for a negative step (torch has none)."""
    key = WHOLE_KEYS.get(name, PART_KEYS.get(name))
    x = _m(3, 1) if name in WHOLE_KEYS else _m(3, 4)
    if "reversed" not in name:
        assert_grads_match_torch(lambda x: x[key] * x[key], x, second_order=True)
        return
    xt = xpgrad.numpy.asarray(x, requires_grad=True)
    assert xpgrad.gradcheck(lambda x: x[key] * x[key], (xt,))
    assert xpgrad.gradgradcheck(lambda x: x[key] * x[key], (xt,))


@pytest.mark.parametrize("name", sorted(WHOLE_KEYS))
def test_getitem_of_the_whole_array_has_a_reshape_for_gradient(name):
    """No scatter: the gradient graph of ``x[key]`` holds a reshape (or nothing) and no
    ``index_add`` (the differentiable scatter that second order would otherwise build)."""
    xp = xpgrad.numpy
    x = xp.asarray(_m(3, 1), requires_grad=True)
    (g,) = xpgrad.grad(xp.sum(x[WHOLE_KEYS[name]] ** 2), [x], create_graph=True)
    names, stack, seen = [], [g.grad_fn], set()
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen or not hasattr(node, "next_functions"):
            continue
        seen.add(id(node))
        names.append(node.name)
        stack.extend(f for f, _ in node.next_functions)
    assert "index_add" not in names, names
