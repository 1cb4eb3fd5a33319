"""The derivative table's generator (``xpgrad._optable``), on entries written for these tests.

Each kind of entry the table supports (one input, an index argument, a joint VJP, a sequence
input, several outputs, a view, auxiliary values, Python scalars) is checked for its generated
signature, its gradients (against torch.autograd), what its node saves, and its JVP rule
(against finite differences).
"""

from __future__ import annotations

import collections
import inspect

import numpy as np
import pytest
import torch

import xpgrad
from xpgrad._optable import ELEMENTWISE, LINEAR, apply, jvp_of, op

xp = xpgrad.numpy


def _sum_vjp(xp, g, *, x_shape, axis):
    return xp.broadcast_to(xp.expand_dims(g, axis=axis), x_shape)


@op(grads={"x": _sum_vjp}, jvp=LINEAR)
def my_sum(xp, x, /, *, axis=0, dtype=None):
    """Sum along one axis."""
    return xp.sum(x, axis=axis, dtype=dtype)


def _take_vjp(xp, g, *, x_shape, indices, axis):
    z = xp.zeros(x_shape, dtype=g.dtype)
    np.add.at(z, (slice(None),) * axis + (indices,), g)
    return z


@op(grads={"x": _take_vjp}, jvp=LINEAR)
def my_take(xp, x, indices, /, *, axis=0):
    return xp.take(x, indices, axis=axis)


def _mul_vjps(xp, g, x1, x2, *, needs):
    return (g * x2 if needs[0] else None, g * x1 if needs[1] else None)


def _mul_jvp(xp, x1, x2, x1_t, x2_t):
    return x1_t * x2 + x1 * x2_t


@op(grads={("x1", "x2"): _mul_vjps}, jvp=_mul_jvp, scalars=True)
def my_mul(xp, x1, x2, /):
    return xp.multiply(x1, x2)


def _cat_vjp(xp, g, *, arrays_shape, axis):
    out, at = [], 0
    for s in arrays_shape:
        out.append(g[at : at + s[0]])
        at += s[0]
    return tuple(out)


@op(grads={"arrays": _cat_vjp}, jvp=LINEAR)
def my_concat(xp, arrays, /, *, axis=0):
    return xp.concat(arrays, axis=axis)


Pair = collections.namedtuple("Pair", ["first", "second"])


def _split_vjp(xp, g):
    return xp.concat(g)


@op(grads={"x": _split_vjp}, jvp=LINEAR, outputs=Pair)
def my_halves(xp, x, /):
    n = x.shape[0] // 2
    return x[:n] + 0, x[n:] + 0


def _exp_halves_vjp(xp, g, out):
    return xp.concat([g[0] * out[0], g[1] * out[1]])


def _exp_halves_jvp(xp, x_t, first, second):
    n = first.shape[0]
    return first * x_t[:n], second * x_t[n:]


@op(grads={"x": _exp_halves_vjp}, jvp=_exp_halves_jvp, outputs=Pair)
def my_exp_halves(xp, x, /):
    """``exp`` of both halves of ``x`` (the VJP names ``out``: both outputs are saved)."""
    n = x.shape[0] // 2
    return xp.exp(x[:n]), xp.exp(x[n:])


def _first_only_vjp(xp, g, first):
    return xp.concat([g[0] * first, g[1]])


@op(grads={"x": _first_only_vjp}, outputs=Pair)
def my_halves_first(xp, x, /):
    n = x.shape[0] // 2
    return x[:n] * 1, x[n:] * 1


@op(grads={"x": lambda xp, g, *, x_shape: xp.reshape(g, x_shape)}, jvp=LINEAR, view=True)
def my_flat(xp, x, /):
    return xp.reshape(x, (-1,))


def _sort_vjp(xp, g, *, order, x_shape):
    z = xp.zeros(x_shape, dtype=g.dtype)
    z[order] = g
    return z


def _sort_jvp(xp, x_t, *, order):
    return xp.take(x_t, order)


@op(grads={"x": _sort_vjp}, jvp=_sort_jvp, aux=("order",))
def my_sort(xp, x, /):
    order = xp.argsort(x)
    return xp.take(x, order), {"order": order}


def _t(a):
    return torch.tensor(np.asarray(a), dtype=torch.float64, requires_grad=True)


def _fd(entry, inputs, tangents, args, eps=1e-6):
    plus = entry.call(np, tuple(i + eps * t for i, t in zip(inputs, tangents)), args)
    minus = entry.call(np, tuple(i - eps * t for i, t in zip(inputs, tangents)), args)
    if entry.aux:
        plus, minus = plus[0], minus[0]
    if type(plus) is tuple or hasattr(plus, "_fields"):
        return tuple((p - m) / (2 * eps) for p, m in zip(plus, minus))
    return (plus - minus) / (2 * eps)


def test_wrapper_has_the_spec_signature_and_the_forward_docstring():
    assert str(inspect.signature(my_sum.wrapper)) == "(self, x, /, *, axis=0, dtype=None)"
    assert str(inspect.signature(my_take.wrapper)) == "(self, x, indices, /, *, axis=0)"
    assert str(inspect.signature(my_concat.wrapper)) == "(self, arrays, /, *, axis=0)"
    assert my_sum.wrapper.__doc__ == "Sum along one axis."
    assert my_sum.inputs == ("x",) and my_sum.args == ("axis", "dtype")


def test_one_input_gradient_and_saved_values_match_torch():
    a = np.arange(6.0).reshape(2, 3)
    x = xp.asarray(a, requires_grad=True)
    y = my_sum.wrapper(xp, x, axis=1)
    assert y.grad_fn.saved == ()  # only the shape is kept, as torch's sum
    xp.sum(y * y).backward()
    tx = _t(a)
    (tx.sum(1) ** 2).sum().backward()
    np.testing.assert_allclose(x.grad.data, tx.grad.numpy())


def test_index_argument_is_guarded_against_in_place_change():
    x = xp.asarray(np.arange(5.0), requires_grad=True)
    idx = xp.asarray(np.array([0, 2, 2]))
    y = my_take.wrapper(xp, x, idx)
    xp.sum(y).backward(retain_graph=True)
    np.testing.assert_allclose(x.grad.data, [1, 0, 2, 0, 0])
    with xpgrad.no_grad():
        idx[0] = 1
    with pytest.raises(RuntimeError, match="indices.*modified by an in-place operation"):
        xp.sum(y).backward()


def test_joint_vjp_saves_only_what_the_inputs_needing_grad_use():
    w = xp.asarray(np.array([1.0, 2.0]), requires_grad=True)
    c = xp.asarray(np.array([3.0, 4.0]))
    y = my_mul.wrapper(xp, w, c)
    xp.sum(y).backward()
    np.testing.assert_allclose(w.grad.data, [3.0, 4.0])
    y2 = my_mul.wrapper(xp, 2.0, w)  # a Python scalar operand
    xp.sum(y2).backward()
    np.testing.assert_allclose(w.grad.data, [5.0, 6.0])


def test_sequence_input_gets_one_gradient_per_element():
    a = xp.asarray(np.ones(2), requires_grad=True)
    b = xp.asarray(np.ones(3))
    c = xp.asarray(np.ones(1), requires_grad=True)
    y = my_concat.wrapper(xp, [a, b, c])
    xp.sum(y * xp.arange(6.0)).backward()
    np.testing.assert_allclose(a.grad.data, [0, 1])
    np.testing.assert_allclose(c.grad.data, [5])
    with pytest.raises(TypeError, match=r"my_concat\(\): argument 'arrays' must be a tuple or list"):
        my_concat.wrapper(xp, a)


def test_several_outputs_come_as_the_declared_named_tuple():
    x = xp.asarray(np.arange(4.0), requires_grad=True)
    r = my_halves.wrapper(xp, x)
    assert type(r) is Pair
    xp.sum(r.second * 3).backward()  # the first output gets no gradient: zeros
    np.testing.assert_allclose(x.grad.data, [0, 0, 3, 3])


def test_outputs_named_by_a_vjp_are_saved_and_version_checked():
    x = xp.asarray(np.arange(1.0, 5.0), requires_grad=True)
    r = my_exp_halves.wrapper(xp, x)
    xp.sum(r.first + r.second * 10).backward()
    np.testing.assert_allclose(x.grad.data, np.exp(np.arange(1.0, 5.0)) * [1, 1, 10, 10])
    r = my_halves_first.wrapper(xp, x)
    assert len(r.first.grad_fn.saved) == 1  # only the named output
    with xpgrad.no_grad():
        r.second[0] = 0.0  # not saved: backward does not care
    xp.sum(r.first + r.second).backward(retain_graph=True)
    with xpgrad.no_grad():
        r.first[0] = 0.0
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        xp.sum(r.first).backward()


def test_view_entries_are_tracked_views():
    base = xp.asarray(np.arange(4.0).reshape(2, 2), requires_grad=True)
    x = base * 1
    v = my_flat.wrapper(xp, x)
    assert v._base is x
    v[0] = v[1] * 10  # an in-place write through the view reaches x's graph
    xp.sum(x).backward()
    tb = _t(np.arange(4.0).reshape(2, 2))
    tx = tb * 1
    tv = tx.view(-1)
    tv[0] = tv[1] * 10
    tx.sum().backward()
    np.testing.assert_allclose(base.grad.data, tb.grad.numpy())


def test_aux_values_reach_the_vjp_and_the_jvp():
    a = np.array([3.0, 1.0, 2.0])
    x = xp.asarray(a, requires_grad=True)
    y = my_sort.wrapper(xp, x)
    np.testing.assert_allclose(y.data, [1, 2, 3])
    xp.sum(y * xp.asarray(np.array([1.0, 10.0, 100.0]))).backward()
    np.testing.assert_allclose(x.grad.data, [100, 1, 10])
    t = np.array([0.5, -1.0, 2.0])
    np.testing.assert_allclose(jvp_of(my_sort)(np, (t,), (a,), {}), _fd(my_sort, (a,), (t,), {}))


@pytest.mark.parametrize(
    "entry, inputs, args",
    [
        (my_sum, (np.arange(6.0).reshape(2, 3),), {"axis": 1, "dtype": None}),
        (my_mul, (np.array([1.0, -2.0]), np.array([0.5, 3.0])), {}),
        (my_take, (np.arange(4.0),), {"indices": np.array([3, 3, 0]), "axis": 0}),
        (my_exp_halves, (np.array([1.0, -2.0, 3.0, 0.5]),), {}),
    ],
)
def test_jvp_rules_match_finite_differences(entry, inputs, args):
    rng = np.random.default_rng(0)
    tangents = tuple(rng.standard_normal(i.shape) for i in inputs)
    got = jvp_of(entry)(np, tangents, inputs, args)
    np.testing.assert_allclose(got, _fd(entry, inputs, tangents, args), rtol=1e-6)


def test_jvp_rule_on_tensors_is_differentiable():
    """On the xpgrad namespace a rule records a graph (reverse-over-forward)."""
    x = xp.asarray(np.array([1.0, 2.0]), requires_grad=True)
    t = xp.asarray(np.array([1.0, 1.0]))
    jt = jvp_of(my_mul)(xp, (t, t), (x, x), {})  # d(x*x) along t = 2 x t
    xp.sum(jt).backward()
    np.testing.assert_allclose(x.grad.data, [2.0, 2.0])


def test_apply_refuses_a_tensor_of_another_backend():
    other = xpgrad.namespace("array_api_strict")
    with pytest.raises(TypeError, match="my_sum"):
        apply(xp, my_sum, (other.ones(3),), {"axis": 0, "dtype": None})


def test_entry_naming_an_unknown_value_is_refused_at_definition():
    with pytest.raises(TypeError, match="'y'"):
        op(grads={"x": lambda xp, g, y: g})(lambda xp, x, /: x)


def _raises_vjp(xp, g, n):
    raise NotImplementedError("the derivative of my_scale with respect to n is not implemented")


@op(grads={"x": lambda xp, g, n: g * n, "n": _raises_vjp}, jvp=ELEMENTWISE)
def my_scale(xp, x, n, /):
    return x * n


def test_undefined_tangents_are_skipped_by_elementwise_and_zeros_elsewhere():
    x, n = np.array([1.0, 2.0]), np.array([3.0, 4.0])
    # n has no tangent: its VJP (which raises) is never called, as torch's auto_element_wise.
    np.testing.assert_allclose(jvp_of(my_scale)(np, (np.ones(2), None), (x, n), {}), [3.0, 4.0])
    got = jvp_of(my_mul)(np, (None, np.ones(2)), (x, n), {})
    np.testing.assert_allclose(got, x)
    got = jvp_of(my_concat)(np, ((None, np.ones(1)),), ((x, n[:1]),), {"axis": 0})
    np.testing.assert_allclose(got, [0.0, 0.0, 1.0])


def _pad_vjp(xp, g, x, *, x_shape):
    # ``x`` is what the forward saved for it (here only used for its dtype).
    return xp.astype(g[: x_shape[0]] * 2, x.dtype)


@op(grads={"x": _pad_vjp}, jvp=LINEAR, aux=("x",))
def my_pad(xp, x, /, *, n=None):
    """The forward names what is saved for ``x``: the padded copy when it pads (as torch's r2c FFT)."""
    if n is None or n <= x.shape[0]:
        return x * 2, {"x": x}
    padded = xp.concat([x, xp.zeros(n - x.shape[0], dtype=x.dtype)])
    return padded * 2, {"x": padded}


def test_an_aux_value_named_like_an_input_is_what_is_saved_for_it():
    x = xp.asarray(np.arange(3.0), requires_grad=True)
    y = my_pad.wrapper(xp, x)
    assert y.grad_fn.saved[0] is x  # its own array: the input itself, version-checked
    y = my_pad.wrapper(xp, x, n=5)
    assert y.grad_fn.saved[0] is not x and y.grad_fn.saved[0].shape == (5,)
    with xpgrad.no_grad():
        x += 1  # the padded copy is saved, not x: backward does not raise (as torch)
    xp.sum(y).backward()
    np.testing.assert_allclose(x.grad.data, [2.0, 2.0, 2.0])
