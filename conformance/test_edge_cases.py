"""Edge cases: torch's exact derivative at ties, kinks and domain edges, on the backend under test.

Each case is array API code ``fn(xp, *inputs)`` at a point where the derivative is a convention
(a tie, a kink) or sits at the edge of the domain. It runs once on xpgrad over ``--backend`` and
once on torch (through ``array_api_compat.torch``, with ``torch.autograd``); the values and the
gradients of ``sum(w * fn(...))`` (fixed weights ``w = 1, 2, 3, ...``, so that routing through
ties shows) must agree to rounding, non-finite values exactly. Where the case is second order,
the gradients of ``sum(v * grad)`` must agree too.

Deliberate deviations (``docs/deviations.md``) assert the finite-difference value instead, and
that torch still differs (so the documentation gets updated when torch changes).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import array_api_compat.torch as txp
import numpy as np
import pytest
import torch

import xpgrad
from xpgrad.testing._runner import to_numpy

DEVIATIONS = "docs/deviations.md"


@dataclass
class Edge:
    """``fn(xp, *inputs)`` at ``inputs`` (float64 numpy arrays, all differentiated)."""

    name: str
    fn: object
    inputs: tuple
    second_order: bool = False


def _e(name, fn, *inputs, second_order=False, bug=None):
    arrays = tuple(np.asarray(a, dtype=np.float64) for a in inputs)
    marks = [pytest.mark.xfail(reason=f"BUG: {bug}", strict=True)] if bug else []
    return pytest.param(Edge(name, fn, arrays, second_order), id=name, marks=marks)


def _pow(a):
    return lambda xp, x: xp.pow(x, a)


CASES = [
    # -- ties: torch splits max/min (full and per-axis reductions, maximum/minimum) evenly among
    # the tied elements; sort routes each gradient through its stable order.
    _e("max_full_ties", lambda xp, x: xp.max(x), [1.0, 3.0, 3.0, 2.0]),
    _e("min_full_ties", lambda xp, x: xp.min(x), [2.0, -1.0, 0.0, -1.0]),
    _e("max_full_ties_2d", lambda xp, x: xp.max(x), [[1.0, 4.0], [4.0, 4.0]]),
    _e("max_axis1_ties", lambda xp, x: xp.max(x, axis=1), [[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]]),
    _e(
        "min_axis0_ties", lambda xp, x: xp.min(x, axis=0, keepdims=True), [[1.0, 0.0], [1.0, 2.0], [1.0, 0.0]]
    ),
    _e(
        "maximum_ties", lambda xp, a, b: xp.maximum(a, b), [1.0, 2.0, 3.0], [1.0, 0.0, 3.0], second_order=True
    ),
    _e(
        "minimum_ties",
        lambda xp, a, b: xp.minimum(a, b),
        [1.0, 2.0, -3.0],
        [1.0, 5.0, -3.0],
        second_order=True,
    ),
    _e("maximum_ties_broadcast", lambda xp, a, b: xp.maximum(a, b), [[1.0, 2.0], [2.0, 0.0]], [2.0]),
    _e("sort_ties", lambda xp, x: xp.sort(x), [2.0, 1.0, 2.0, 1.0, 2.0], second_order=True),
    _e("sort_ties_descending", lambda xp, x: xp.sort(x, descending=True), [2.0, 1.0, 2.0, 1.0, 2.0]),
    _e("sort_ties_axis0", lambda xp, x: xp.sort(x, axis=0), [[1.0, 0.0], [1.0, 0.0], [0.5, 0.0]]),
    # -- kinks: torch's one-sided conventions.
    _e("abs_at_zero", lambda xp, x: xp.abs(x), [0.0, -1.0, 2.0], second_order=True),
    _e("clip_at_both_bounds", lambda xp, x: xp.clip(x, -0.5, 0.5), [-0.5, 0.5, 0.0, 1.0, -1.0]),
    _e(
        "clip_at_array_bounds",
        lambda xp, x, lo, hi: xp.clip(x, lo, hi),
        [-0.5, 0.5, 0.0, 1.0],
        [-0.5, -0.5, -0.5, -0.5],
        [0.5, 0.5, 0.5, 0.5],
    ),
    _e("vector_norm_at_zero", lambda xp, x: xp.linalg.vector_norm(x), [0.0, 0.0, 0.0]),
    _e("vector_norm_at_zero_ord1", lambda xp, x: xp.linalg.vector_norm(x, ord=1), [0.0, 0.0, 0.0]),
    _e("vector_norm_at_zero_ordinf", lambda xp, x: xp.linalg.vector_norm(x, ord=float("inf")), [0.0, 0.0]),
    _e("vector_norm_zero_row", lambda xp, x: xp.linalg.vector_norm(x, axis=1), [[0.0, 0.0], [3.0, 4.0]]),
    # -- domain edges.
    _e("sqrt_at_zero", lambda xp, x: xp.sqrt(x), [0.0, 1.0]),
    _e("log_at_zero", lambda xp, x: xp.log(x), [0.0, 1.0]),
    _e(
        "pow_zero_base_array_exponents",
        lambda xp, a, b: xp.pow(a, b),
        [0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        [0.0, 0.5, 1.0, 2.0, 3.0, 2.5],
    ),
    _e(
        "pow_zero_base_negative_exponent",
        lambda xp, a, b: xp.pow(a, b),
        [0.0, 0.0],
        [-1.0, -2.0],
    ),
    _e("pow_zero_base_scalar_0", _pow(0.0), [0.0, 1.0]),
    _e("pow_zero_base_scalar_0.5", _pow(0.5), [0.0, 1.0]),
    _e("pow_zero_base_scalar_1", _pow(1.0), [0.0, 1.0], second_order=True),
    _e("pow_zero_base_scalar_2", _pow(2.0), [0.0, 1.0], second_order=True),
    _e("pow_zero_base_scalar_3", _pow(3.0), [0.0, 1.0], second_order=True),
    _e("pow_zero_base_scalar_-1", _pow(-1.0), [0.0, 1.0]),
    _e(
        "atan2_at_origin",
        lambda xp, a, b: xp.atan2(a, b),
        [0.0, 1.0],
        [0.0, 1.0],
    ),
    _e("hypot_at_origin", lambda xp, a, b: xp.hypot(a, b), [0.0, 3.0], [0.0, 4.0]),
    # -- var/std with correction >= N (inf/nan, as torch), prod with zeros.
    _e("var_correction_N", lambda xp, x: xp.var(x, correction=3), [1.0, 2.0, 4.0]),
    _e("var_correction_above_N", lambda xp, x: xp.var(x, correction=4), [1.0, 2.0, 4.0]),
    _e("std_correction_N", lambda xp, x: xp.std(x, correction=3), [1.0, 2.0, 4.0]),
    _e("std_correction_above_N", lambda xp, x: xp.std(x, correction=4.0), [1.0, 2.0, 4.0]),
    _e("var_axis_correction_N", lambda xp, x: xp.var(x, axis=0, correction=2), [[1.0, 2.0], [3.0, 5.0]]),
    _e("prod_one_zero", lambda xp, x: xp.prod(x), [2.0, 0.0, 3.0], second_order=True),
    _e("prod_two_zeros", lambda xp, x: xp.prod(x), [0.0, 2.0, 0.0], second_order=True),
    _e(
        "prod_axis_zeros",
        lambda xp, x: xp.prod(x, axis=1),
        [[0.0, 2.0, 0.0], [2.0, 0.0, 3.0]],
        second_order=True,
    ),
]


# -- the two sides -------------------------------------------------------------------------------


@dataclass
class _Side:
    xp: object
    tensor: object
    grad: object
    results: dict = field(default_factory=dict)


def _xpgrad_side(ns):
    return _Side(ns, lambda a: ns.asarray(ns._xp.asarray(a), requires_grad=True), xpgrad.grad)


def _torch_side():
    return _Side(txp, lambda a: torch.tensor(np.asarray(a), requires_grad=True), torch.autograd.grad)


def _weights(shape, seed=0):
    n = int(np.prod(shape)) if shape else 1
    return (np.arange(1.0, n + 1.0) + 0.25 * seed).reshape(shape)


def _derivatives(side: _Side, edge: Edge, order: int):
    """[value, first-order gradients..., (second-order gradients...)] as numpy arrays.

    First order: the gradients of ``L = sum(Re(conj(c) * fn(...)))`` for fixed weights ``c``.
    Second order (as the conformance runner): the gradients of ``sum(v * grad)`` with respect to
    the inputs and to ``c`` (``c`` then requires grad).
    """
    xp = side.xp
    inputs = [side.tensor(a) for a in edge.inputs]
    # The forward values at a domain edge (log(0) = -inf, var with correction >= N) are the
    # backend's business: NumPy and torch warn there.
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.simplefilter("ignore")
        out = edge.fn(xp, *inputs)
    c = side.tensor(_weights(tuple(out.shape)).astype(to_numpy(out.detach()).dtype))
    if order == 1:
        c = c.detach()
    loss = xp.sum(xp.real(xp.conj(c) * out)) if xp.isdtype(out.dtype, "complex floating") else xp.sum(c * out)
    grads = side.grad(loss, inputs, create_graph=order > 1, allow_unused=True)
    result = [to_numpy(out.detach())] + [_np(g, a) for g, a in zip(grads, edge.inputs)]
    if order > 1:
        terms = [
            xp.real(xp.sum(g * _like(xp, _weights(a.shape, seed=1))))
            for g, a in zip(grads, edge.inputs)
            if g is not None
        ]
        terms = [t for t in terms if t.requires_grad]
        targets = [*inputs, c]
        if terms:
            s = terms[0]
            for t in terms[1:]:
                s = s + t
            grads2 = side.grad(s, targets, allow_unused=True)
        else:
            grads2 = [None] * len(targets)
        result += [_np(g, to_numpy(a.detach())) for g, a in zip(grads2, targets)]
    return result


def _const(ns, a):
    return ns.asarray(ns._xp.asarray(a))


def _like(xp, a):
    return xp.asarray(a) if xp is txp else _const(xp, a)


def _np(g, a):
    """A gradient as numpy; no gradient (None) is zeros, as torch's convention for unused inputs."""
    return np.zeros_like(a) if g is None else to_numpy(g.detach())


def _assert_same(ours, theirs, what):
    for k, (x, t) in enumerate(zip(ours, theirs)):
        label = "value" if k == 0 else f"derivative #{k}"
        np.testing.assert_allclose(
            x, t, rtol=1e-12, atol=1e-14, equal_nan=True, err_msg=f"{what}: {label} (xpgrad vs torch)"
        )


@pytest.mark.parametrize("edge", CASES)
def test_matches_torch_exactly(edge, xp):
    order = 2 if edge.second_order else 1
    ours = _derivatives(_xpgrad_side(xp), edge, order)
    theirs = _derivatives(_torch_side(), edge, order)
    _assert_same(ours, theirs, edge.name)


# -- deliberate deviations: finite differences decide ----------------------------------------------


def _central_difference(f, inputs, k, h=1e-6, one_sided=False):
    """d f(inputs) / d inputs[k] by central (or forward) differences, f returning a numpy array."""
    base = [np.array(a, dtype=np.float64) for a in inputs]
    out_shape = np.shape(f(*base))
    jac = np.zeros(out_shape + base[k].shape)
    for idx in np.ndindex(base[k].shape):
        plus = [a.copy() for a in base]
        minus = [a.copy() for a in base]
        plus[k][idx] += h
        if one_sided:
            jac[(...,) + idx] = (f(*plus) - f(*minus)) / h
        else:
            minus[k][idx] -= h
            jac[(...,) + idx] = (f(*plus) - f(*minus)) / (2 * h)
    return jac


def _first_grad(ns, fn, k):
    """inputs -> numpy gradient of sum(fn(...)) w.r.t. inputs[k], computed by xpgrad."""

    def g(*arrays):
        ts = [ns.asarray(ns._xp.asarray(a), requires_grad=True) for a in arrays]
        (gk,) = xpgrad.grad(ns.sum(fn(ns, *ts)), [ts[k]], allow_unused=True)
        return np.zeros_like(arrays[k]) if gk is None else to_numpy(gk.detach())

    return g


def _value(ns, fn):
    def f(*arrays):
        ts = [ns.asarray(ns._xp.asarray(a)) for a in arrays]
        return to_numpy(ns.sum(fn(ns, *ts)))

    return f


def _second(side, fn, inputs, i, j):
    """d/d inputs[j] of sum(d sum(fn) / d inputs[i]), on xpgrad or torch."""
    xp = side.xp
    ts = [side.tensor(a) for a in inputs]
    (gi,) = side.grad(xp.sum(fn(xp, *ts)), [ts[i]], create_graph=True)
    (gij,) = side.grad(xp.sum(gi), [ts[j]], allow_unused=True)
    return _np(gij, inputs[j])


def _pow_fn(xp, a, b):
    return xp.pow(a, b)


def _det_fn(xp, a):
    return xp.linalg.det(a)


def _floor_divide_fn(xp, a, b):
    return xp.floor_divide(a, b)


def test_deviation_det_gradient_at_a_singular_matrix(xp):
    # docs/deviations.md: torch's first-order gradient is 0 at a singular matrix; the adjugate
    # (what finite differences give) is the derivative everywhere. The matrix has a zero row, so
    # its determinant is exactly 0 whatever the LAPACK kernel, the pivot order and the threads
    # (the premise, checked first: a nearly singular matrix made this difference machine-dependent).
    a = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0], [1.0, 0.0, 1.0]])
    ours = _first_grad(xp, _det_fn, 0)(a)
    fd = _central_difference(_value(xp, _det_fn), [a], 0)
    np.testing.assert_allclose(
        ours, fd, rtol=1e-6, atol=1e-8, err_msg=f"det: xpgrad vs finite differences ({DEVIATIONS})"
    )
    assert np.abs(fd).max() > 1, "the adjugate of this matrix is not zero"
    t = torch.tensor(a, requires_grad=True)
    det = torch.linalg.det(t)
    assert det.item() == 0.0, f"torch's determinant of a matrix with a zero row is {det.item()!r}, not 0"
    (theirs,) = torch.autograd.grad(det, [t])
    assert not np.allclose(theirs.numpy(), fd, atol=1e-6), (
        f"torch now follows finite differences: update {DEVIATIONS}"
    )


@pytest.mark.parametrize(
    ("x1", "x2", "i", "j", "one_sided"),
    [
        pytest.param([0.5, 1.5, 2.0], [0.0, 0.0, 0.0], 0, 1, False, id="d2/dx1dx2_at_x2=0"),
        # x1^x2 * log(x1) (the gradient for x2) is defined for x1 >= 0 only: one-sided differences.
        pytest.param([0.0, 0.0, 1.5], [2.0, 3.0, 2.0], 1, 0, True, id="d2/dx2dx1_at_x1=0"),
    ],
)
def test_deviation_pow_second_order(xp, x1, x2, i, j, one_sided):
    # docs/deviations.md: torch masks d/dx1 to 0 where x2 == 0 (zeroing the mixed derivative, whose
    # value is 1/x1) and gives nan at x1 == 0; xpgrad follows finite differences of its own first
    # derivative (which agrees with torch's: test_matches_torch_exactly).
    inputs = [np.asarray(x1), np.asarray(x2)]
    ours = _second(_xpgrad_side(xp), _pow_fn, inputs, i, j)
    fd = np.diagonal(_central_difference(_first_grad(xp, _pow_fn, i), inputs, j, one_sided=one_sided))
    np.testing.assert_allclose(
        ours, fd, rtol=1e-4, atol=1e-4, err_msg=f"pow: xpgrad vs finite differences ({DEVIATIONS})"
    )
    theirs = _second(_torch_side(), _pow_fn, inputs, i, j)
    assert not np.allclose(theirs, fd, rtol=1e-4, atol=1e-4), (
        f"torch now follows finite differences: update {DEVIATIONS}"
    )


def test_deviation_floor_divide_gradient_is_zero(xp):
    # docs/deviations.md: torch has no derivative for floor_divide; it is piecewise constant, and
    # finite differences away from the jumps give 0.
    a, b = np.array([2.5, -3.5, 7.25]), np.array([2.0, 1.5, -2.0])
    fd = _central_difference(_value(xp, _floor_divide_fn), [a, b], 0)
    ours = _first_grad(xp, _floor_divide_fn, 0)(a, b)
    np.testing.assert_array_equal(ours, fd)
    np.testing.assert_array_equal(_first_grad(xp, _floor_divide_fn, 1)(a, b), 0.0)
    ta, tb = torch.tensor(a, requires_grad=True), torch.tensor(b)
    with pytest.raises(RuntimeError, match="not implemented"):
        torch.floor_divide(ta, tb).sum().backward()


# At a point of non-differentiability finite differences have no value: the documented value (0,
# consistent with the first-order value there) is asserted, and that torch still gives nan.
_KINK_DEVIATIONS = [
    pytest.param(
        Edge("sign", lambda xp, x: xp.sign(x), (np.array([0j, 1 + 1j]),)), 1, id="sign_complex_zero"
    ),
    pytest.param(
        Edge("std", lambda xp, x: xp.std(x), (np.array([1.0, 1.0, 1.0]),), True), 2, id="std_at_zero"
    ),
    pytest.param(
        Edge("vector_norm", lambda xp, x: xp.linalg.vector_norm(x), (np.array([0.0, 0.0]),), True),
        2,
        id="vector_norm_at_zero_vector",
    ),
    pytest.param(
        Edge(
            "copysign",
            lambda xp, a, b: xp.copysign(a, b),
            (np.array([0.0, 1.5]), np.array([-1.0, 1.0])),
            True,
        ),
        2,
        id="copysign_at_x1=0",
    ),
]


@pytest.mark.parametrize(("edge", "order"), _KINK_DEVIATIONS)
def test_deviation_nan_free_at_kinks(xp, edge, order):
    # docs/deviations.md: xpgrad gives 0 where torch gives nan (the order-th derivatives).
    ours = _derivatives(_xpgrad_side(xp), edge, order)
    theirs = _derivatives(_torch_side(), edge, order)
    n = len(edge.inputs)
    tail = slice(1 + n, None) if order == 2 else slice(1, 1 + n)
    _assert_same(ours[: tail.start], theirs[: tail.start], edge.name)  # lower orders agree
    assert all(np.all(np.isfinite(x)) for x in ours[tail]), (
        f"{edge.name}: xpgrad gives non-finite values ({DEVIATIONS})"
    )
    assert any(np.any(np.isnan(t)) for t in theirs[tail]), (
        f"{edge.name}: torch no longer gives nan: update {DEVIATIONS}"
    )
    for x, t in zip(ours[tail], theirs[tail]):
        finite = np.isfinite(t)
        np.testing.assert_allclose(x[finite], t[finite], rtol=1e-12, atol=1e-14)
        np.testing.assert_array_equal(x[~finite], 0.0)
