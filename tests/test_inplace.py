"""In-place operators, __setitem__, views and version counters, side by side with torch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import xpgrad

xp = xpgrad.namespace(np)


def _x(values, requires_grad=False):
    return xp.asarray(np.asarray(values, dtype=np.float64), requires_grad=requires_grad)


def _t(values, requires_grad=False):
    return torch.tensor(np.asarray(values, dtype=np.float64), requires_grad=requires_grad)


def _run(scenario):
    """Run ``scenario(make, lib)`` with xpgrad and torch; return both results as numpy."""
    ours = scenario(_x, xp)
    theirs = scenario(_t, torch)

    def to_np(v):
        if isinstance(v, (list, tuple)):
            return [to_np(u) for u in v]
        if isinstance(v, xpgrad.Tensor):
            return np.asarray(v.detach().data)
        if isinstance(v, torch.Tensor):
            return v.detach().numpy()
        return v

    return to_np(ours), to_np(theirs)


def _assert_same(pair):
    ours, theirs = pair
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_inplace_arithmetic_on_non_leaf():
    def s(make, lib):
        x = make([1.0, 2.0, 3.0], True)
        y = x * 2.0
        y += x * x
        y *= 3.0
        y -= 1.0
        y /= x
        lib.sum(y * y).backward()
        return [y, x.grad]

    _assert_same(_run(s))


def test_inplace_multiply_by_tensor_snapshots_the_old_value():
    def s(make, lib):
        x = make([1.0, -2.0], True)
        w = make([0.5, 4.0], True)
        y = x * 1.0
        y *= w  # w's gradient needs y's value before the update
        lib.sum(y).backward()
        return [x.grad, w.grad]

    _assert_same(_run(s))


def test_setitem_with_slices_integers_masks_and_broadcast_values():
    def s(make, lib):
        x = make(np.arange(12.0).reshape(3, 4), True)
        v = make([10.0, 20.0, 30.0, 40.0], True)
        s_ = make(5.0, True)
        y = x * 1.0
        y[0] = v  # a row
        y[1:, 1:3] = s_ * 2.0  # broadcast scalar into a block
        mask = y > 25.0
        if isinstance(mask, torch.Tensor):
            y[mask] = 0.0
        else:
            y[mask] = 0.0
        idx = lib.asarray([2, 0]) if lib is xp else torch.tensor([2, 0])
        y[2, idx] = v[:2] * v[:2]
        lib.sum(y * y).backward()
        return [y, x.grad, v.grad, s_.grad]

    _assert_same(_run(s))


def test_write_through_a_view_updates_the_base_graph():
    def s(make, lib):
        x = make([1.0, 2.0, 3.0, 4.0], True)
        y = x * 2.0
        v = y[1:3]
        v *= x[0:2]  # in place on a view of a non-leaf
        w = v * 3.0
        y[0] = x[3] * 5.0  # the base changes after the view was taken
        loss = lib.sum(y * 1.5) + lib.sum(w) + lib.sum(v * v)
        loss.backward()
        return [y, v, x.grad]

    _assert_same(_run(s))


def test_view_of_view_and_transpose():
    def s(make, lib):
        x = make(np.arange(6.0).reshape(2, 3), True)
        y = x * 1.0
        t = y.mT if lib is xp else y.mT
        t[1:, 0] = x[0, :2] ** 2  # writes y[0, 1:]
        lib.sum(y * y).backward()
        return [y, x.grad]

    _assert_same(_run(s))


def test_view_is_rebuilt_after_its_base_changes():
    def s(make, lib):
        x = make([1.0, 2.0, 3.0], True)
        y = x * 1.0
        v = y[:2]
        y *= 3.0  # v now sees 3 * x[:2]
        lib.sum(v * v).backward()
        return [v, x.grad]

    _assert_same(_run(s))


def test_modifying_a_saved_value_makes_backward_fail():
    for make, lib in ((_x, xp), (_t, torch)):
        x = make([1.0, 2.0], True)
        y = x * 1.0
        z = y * y
        y += 1.0
        with pytest.raises(RuntimeError, match="modified by an in-?place operation"):
            lib.sum(z).backward()


def test_inplace_on_leaf_and_view_of_leaf_are_errors():
    for make in (_x, _t):
        x = make([1.0, 2.0], True)
        with pytest.raises(RuntimeError, match="leaf"):
            x *= 2.0
        with pytest.raises(RuntimeError, match="leaf"):
            x[0] = 3.0
        v = x[:1]
        with pytest.raises(RuntimeError, match="leaf"):
            v += 1.0


def test_error_leaves_tensor_unmodified():
    x = _x([1.0, 2.0], True)
    before = x.data.copy()
    with pytest.raises(RuntimeError):
        x += 1.0
    np.testing.assert_array_equal(x.data, before)
    assert x.is_leaf and x._version == 0
    y = _x([1, 2]) if False else xp.asarray([1, 2])
    with pytest.raises(TypeError, match="cannot be stored in place"):
        y += 1.5


def test_version_counter_shared_with_views_and_detach():
    x = _x([1.0, 2.0, 3.0])
    v = x[1:]
    d = x.detach()
    before = x._version
    v += 1.0
    assert x._version == d._version == v._version == before + 1
    np.testing.assert_array_equal(d.data, [1.0, 3.0, 4.0])


def test_no_grad_inplace_on_parameter_keeps_it_a_leaf():
    w = _x([1.0, 2.0], True)
    xp.sum(w * w).backward()
    with xpgrad.no_grad():
        w -= 0.5 * w.grad
        w[0] = 7.0
    assert w.is_leaf and w.requires_grad and w.grad_fn is None
    np.testing.assert_array_equal(w.data, [7.0, 0.0])


def test_setitem_repeated_integer_index_reads_accumulate():
    def s(make, lib):
        x = make([1.0, 2.0, 3.0], True)
        idx = lib.asarray([0, 0, 2, 0]) if lib is xp else torch.tensor([0, 0, 2, 0])
        y = x[idx]
        lib.sum(y * make([1.0, 2.0, 3.0, 4.0])).backward()
        return [x.grad]

    _assert_same(_run(s))
