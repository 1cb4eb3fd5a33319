"""Graph semantics side by side with torch, on the backend under test.

The scenarios of ``tests/test_autograd.py`` and ``tests/test_inplace.py`` (accumulation,
retain_graph, detach, no_grad, hooks, retain_grad, in-place version errors, leaf errors), written
once against a small adapter ``A`` that is either xpgrad over ``--backend`` or torch. Each runs on
both; their outcomes must agree: the same values (to rounding), flags and identities, or the same
error (exception type and a key phrase of the message).
"""

from __future__ import annotations

import array_api_compat.torch as txp
import numpy as np
import pytest
import torch

import xpgrad
from xpgrad.testing._runner import to_numpy


class _Xpgrad:
    name = "xpgrad"

    def __init__(self, ns):
        self.xp = ns
        self.no_grad = xpgrad.no_grad
        self.enable_grad = xpgrad.enable_grad
        self.grad = xpgrad.grad
        self.backward = xpgrad.backward

    def tensor(self, values, requires_grad=False):
        raw = self.xp._xp.asarray(np.asarray(values, dtype=np.float64))
        return self.xp.asarray(raw, requires_grad=requires_grad)

    def index(self, values):
        return self.xp.asarray(self.xp._xp.asarray(np.asarray(values, dtype=np.int64)))


class _Torch:
    name = "torch"
    xp = txp
    no_grad = staticmethod(torch.no_grad)
    enable_grad = staticmethod(torch.enable_grad)
    grad = staticmethod(torch.autograd.grad)
    backward = staticmethod(torch.autograd.backward)

    def tensor(self, values, requires_grad=False):
        return torch.tensor(np.asarray(values, dtype=np.float64), requires_grad=requires_grad)

    def index(self, values):
        return torch.tensor(np.asarray(values, dtype=np.int64))


def _plain(v):
    """A scenario's result with arrays as numpy (None, bools, numbers and strings kept)."""
    if isinstance(v, (list, tuple)):
        return [_plain(u) for u in v]
    if v is None or isinstance(v, (bool, str, int, float, np.ndarray)):
        return v
    return to_numpy(v.detach())


def _outcome(scenario, A):
    try:
        return ("ok", _plain(scenario(A)))
    except Exception as exc:  # noqa: BLE001 - the error kind is the outcome
        return ("raises", type(exc), str(exc))


def _assert_same(ours, theirs, path="result"):
    if isinstance(theirs, list):
        assert isinstance(ours, list) and len(ours) == len(theirs), (
            f"{path}: xpgrad {ours!r}, torch {theirs!r}"
        )
        for k, (a, b) in enumerate(zip(ours, theirs)):
            _assert_same(a, b, f"{path}[{k}]")
    elif theirs is None or isinstance(theirs, (bool, str)):
        assert ours == theirs, f"{path}: xpgrad {ours!r}, torch {theirs!r}"
    else:
        np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs), rtol=1e-12, atol=1e-12, err_msg=path)


@pytest.fixture
def apis(xp):
    return _Xpgrad(xp), _Torch()


def check(apis, scenario, raises=None):
    """Run ``scenario`` on both; with ``raises=(type, phrase)`` both must raise it."""
    ours, theirs = (_outcome(scenario, A) for A in apis)
    if raises is None:
        assert theirs[0] == "ok", f"torch raised {theirs[1].__name__}: {theirs[2]}"
        assert ours[0] == "ok", f"xpgrad raised {ours[1].__name__}: {ours[2]} (torch did not)"
        _assert_same(ours[1], theirs[1])
        return
    kind, phrase = raises
    import re

    for side, out in (("torch", theirs), ("xpgrad", ours)):
        assert out[0] == "raises", f"{side} did not raise (expected {kind.__name__} matching {phrase!r})"
        assert issubclass(out[1], kind), (
            f"{side} raised {out[1].__name__}: {out[2]}; expected {kind.__name__}"
        )
        assert re.search(phrase, out[2]), f"{side}'s message {out[2]!r} lacks {phrase!r}"


# -- accumulation, retain_graph, second backward ---------------------------------------------------


@pytest.mark.needs(
    "aliases",
    "the scenario reads .grad through a NumPy view taken before a later backward; torch updates "
    ".grad in place, so the view sees the sum; this backend's arrays share no memory, so the view "
    "keeps the earlier value (the accumulated .grad itself is right)",
)
def test_grad_accumulates_over_two_backward_calls(apis):
    def s(A):
        x = A.tensor([1.0, -2.0, 3.0], True)
        y = A.xp.sum(A.xp.sin(x) * x)
        y.backward(retain_graph=True)
        first = _plain(x.grad)
        y.backward()
        return [first, x.grad]

    check(apis, s)


def test_grad_accumulates_across_graphs_and_can_be_reset(apis):
    def s(A):
        x = A.tensor([0.5, 1.5], True)
        A.xp.sum(x * x).backward()
        A.xp.sum(x * 3.0).backward()
        acc = _plain(x.grad)
        x.grad = None
        A.xp.sum(x).backward()
        return [acc, x.grad]

    check(apis, s)


def test_grad_tensor_is_updated_in_place_on_accumulation(apis):
    def s(A):
        x = A.tensor([1.0, 2.0], True)
        A.xp.sum(x * x).backward()
        held = x.grad
        A.xp.sum(x * x).backward()
        return [held, held is x.grad]

    check(apis, s)


def test_second_backward_without_retain_graph_is_an_error(apis):
    def s(A):
        y = A.xp.sum(A.xp.exp(A.tensor([1.0, 2.0], True)))
        y.backward()
        y.backward()

    check(apis, s, raises=(RuntimeError, "second time"))


def test_non_scalar_backward_needs_gradient(apis):
    check(apis, lambda A: (A.tensor([1.0, 2.0], True) * 2.0).backward(),
          raises=(RuntimeError, "implicitly created only for scalar outputs"))  # fmt: skip

    def s(A):
        x = A.tensor([1.0, 2.0], True)
        (x * x).backward(A.tensor([1.0, -3.0]))
        return x.grad

    check(apis, s)


def test_backward_gradient_shape_mismatch_is_an_error(apis):
    check(apis, lambda A: (A.tensor([1.0, 2.0], True) * 2.0).backward(A.tensor([1.0, 2.0, 3.0])),
          raises=(RuntimeError, "[Mm]ismatch in shape"))  # fmt: skip


def test_backward_on_a_tensor_that_does_not_require_grad_is_an_error(apis):
    check(
        apis,
        lambda A: A.xp.sum(A.tensor([1.0, 2.0])).backward(),
        raises=(RuntimeError, "does not require grad"),
    )


# -- detach, no_grad, requires_grad ----------------------------------------------------------------


@pytest.mark.needs(
    "mutable", "an immutable backend (JAX) cannot share memory between a Tensor and its detach()"
)
def test_detach_shares_memory_both_ways(apis):
    def s(A):
        x = A.tensor([1.0, 2.0, 3.0], True)
        d = x.detach()
        with A.no_grad():
            d[0] = 10.0
            x[1] = 20.0
        return [x, d, d.requires_grad, d.is_leaf]

    check(apis, s)


def test_detach_shares_the_version_counter(apis):
    def s(A):
        x = A.tensor([1.0, 2.0], True)
        z = A.xp.exp(x * 1.0)  # saves its output
        d = z.detach()
        with A.no_grad():
            d[0] = 5.0
        A.xp.sum(z).backward()

    check(apis, s, raises=(RuntimeError, "modified by an in-?place operation"))


def test_no_grad_results_do_not_require_grad_and_parameter_update_works(apis):
    def s(A):
        w = A.tensor([1.0, -1.0], True)
        A.xp.sum(w * w).backward()
        with A.no_grad():
            y = w * 2.0
            w -= 0.1 * w.grad
        w.grad = None
        return [y.requires_grad, y.grad_fn is None, w, w.is_leaf, w.requires_grad]

    check(apis, s)


def test_in_place_on_leaf_requiring_grad_is_an_error_outside_no_grad(apis):
    def s(A):
        w = A.tensor([1.0, 2.0], True)
        w += 1.0

    check(apis, s, raises=(RuntimeError, "leaf"))


def test_grad_mode_decorators_and_nesting(apis):
    def s(A):
        x = A.tensor([1.0], True)

        @A.no_grad()
        def f(t):
            return t * 2.0

        with A.no_grad():
            with A.enable_grad():
                inner = x * 2.0
            outer = x * 2.0
        return [f(x).requires_grad, inner.requires_grad, outer.requires_grad]

    check(apis, s)


def test_requires_grad_flag_rules(apis):
    def s(A):
        x = A.tensor([1.0, 2.0])
        x.requires_grad_()
        y = x * 2.0
        return [x.requires_grad, x.is_leaf, y.is_leaf, y.requires_grad]

    check(apis, s)

    def non_leaf(A):
        y = A.tensor([1.0, 2.0], True) * 2.0
        y.requires_grad = False

    check(apis, non_leaf, raises=(RuntimeError, "leaf"))


def test_detach_in_place(apis):
    def s(A):
        y = A.tensor([1.0, 2.0], True) * 2.0
        y.detach_()
        return [y.requires_grad, y.is_leaf, y.grad_fn is None]

    check(apis, s)


# -- hooks and retain_grad ---------------------------------------------------------------------------


def test_hook_may_replace_the_gradient_and_can_be_removed(apis):
    def s(A):
        x = A.tensor([1.0, 2.0], True)
        seen = []
        h = x.register_hook(lambda g: g * 10.0)
        y = x * 3.0
        y.register_hook(lambda g: seen.append(_plain(g)))
        A.xp.sum(y * y).backward()
        first = _plain(x.grad)
        h.remove()
        x.grad = None
        A.xp.sum(x * 3.0).backward()
        return [first, x.grad, seen]

    check(apis, s)


def test_retain_grad_on_non_leaf(apis):
    def s(A):
        x = A.tensor([1.0, 2.0], True)
        y = x * x
        y.retain_grad()
        A.xp.sum(A.xp.sin(y)).backward()
        return [y.retains_grad, y.grad, x.grad, x.retains_grad]

    check(apis, s)


def test_hook_on_non_leaf_runs_before_retain_grad(apis):
    def s(A):
        x = A.tensor([1.0, 2.0], True)
        y = x * 2.0
        y.retain_grad()
        y.register_hook(lambda g: g + 1.0)
        A.xp.sum(y).backward()
        return [y.grad, x.grad]

    check(apis, s)


@pytest.mark.needs(
    "aliases",
    "the scenario reads .grad through a NumPy view taken before a later backward; torch updates "
    ".grad in place, so the view sees the sum; this backend's arrays share no memory, so the view "
    "keeps the earlier value (the accumulated .grad itself is right)",
)
def test_post_accumulate_grad_hook(apis):
    def s(A):
        x = A.tensor([1.0, 2.0], True)
        seen = []
        x.register_post_accumulate_grad_hook(lambda t: seen.append(_plain(t.grad)))
        A.xp.sum(x * x).backward()
        A.xp.sum(x).backward()
        return seen

    check(apis, s)
    check(apis, lambda A: (A.tensor([1.0], True) * 2.0).register_post_accumulate_grad_hook(lambda t: None),
          raises=(RuntimeError, "non-leaf"))  # fmt: skip


def test_hook_on_tensor_without_grad_is_an_error(apis):
    check(
        apis,
        lambda A: A.tensor([1.0]).register_hook(lambda g: g),
        raises=(RuntimeError, "doesn't require gradient"),
    )


# -- grad / backward, higher order -------------------------------------------------------------------


def test_grad_returns_without_touching_dot_grad(apis):
    def s(A):
        x = A.tensor([1.0, 2.0], True)
        w = A.tensor([0.5, -1.0], True)
        gx, gw = A.grad(A.xp.sum(A.xp.exp(x) * w), (x, w))
        return [gx, gw, x.grad is None, w.grad is None]

    check(apis, s)


def test_grad_allow_unused(apis):
    def s(A):
        x, u = A.tensor([1.0], True), A.tensor([1.0], True)
        gx, gu = A.grad(A.xp.sum(x * 2.0), (x, u), allow_unused=True)
        return [gx, gu]

    check(apis, s)

    def unused(A):
        x, u = A.tensor([1.0], True), A.tensor([1.0], True)
        A.grad(A.xp.sum(x * 2.0), (x, u))

    check(apis, unused, raises=(RuntimeError, "allow_unused"))


def test_second_and_third_derivatives_with_create_graph(apis):
    def s(A):
        x = A.tensor([0.3, -1.2, 2.0], True)
        y = A.xp.sum(A.xp.sin(x) * x**3 + A.xp.exp(x) / (x * x + 1.0))
        (g,) = A.grad(y, x, create_graph=True)
        (h,) = A.grad(A.xp.sum(g), x, create_graph=True)
        (t,) = A.grad(A.xp.sum(h * h), x)
        return [g, h, t]

    check(apis, s)


def test_backward_inputs_and_several_roots(apis):
    def s(A):
        x = A.tensor([1.0, 2.0], True)
        w = A.tensor([3.0, 4.0], True)
        A.xp.sum(x * w).backward(inputs=[w])
        first = [x.grad is None, _plain(w.grad)]
        A.backward([A.xp.sum(x * x), x * 3.0], [None, A.tensor([1.0, -1.0])])
        return [first, x.grad]

    check(apis, s)


def test_broadcasting_gradients_are_summed_to_input_shapes(apis):
    def s(A):
        a = A.tensor(np.arange(6.0).reshape(2, 3), True)
        b = A.tensor([[1.0], [2.0]], True)
        c = A.tensor(2.0, True)
        A.xp.sum((a * b + c) ** 2).backward()
        return [a.grad, b.grad, c.grad]

    check(apis, s)


# -- in-place operations, views, version counters ------------------------------------------------


def test_inplace_arithmetic_on_non_leaf(apis):
    def s(A):
        x = A.tensor([1.0, 2.0, 3.0], True)
        y = x * 2.0
        y += x * x
        y *= 3.0
        y -= 1.0
        y /= x
        A.xp.sum(y * y).backward()
        return [y, x.grad]

    check(apis, s)


def test_inplace_multiply_by_tensor_snapshots_the_old_value(apis):
    def s(A):
        x = A.tensor([1.0, -2.0], True)
        w = A.tensor([0.5, 4.0], True)
        y = x * 1.0
        y *= w
        A.xp.sum(y).backward()
        return [x.grad, w.grad]

    check(apis, s)


def test_setitem_with_slices_integers_and_broadcast_values(apis):
    def s(A):
        x = A.tensor(np.arange(12.0).reshape(3, 4), True)
        v = A.tensor([10.0, 20.0, 30.0, 40.0], True)
        c = A.tensor(5.0, True)
        y = x * 1.0
        y[0, :] = v
        y[1:, 1:3] = c * 2.0
        y[2, 0] = v[1] * v[2]
        A.xp.sum(y * y).backward()
        return [y, x.grad, v.grad, c.grad]

    check(apis, s)


def test_setitem_with_a_mask(apis):
    def s(A):
        x = A.tensor(np.arange(6.0).reshape(2, 3), True)
        y = x * 2.0
        y[y > 5.0] = 0.0
        A.xp.sum(y * x).backward()
        return [y, x.grad]

    check(apis, s)


@pytest.mark.needs(
    "aliases",
    "basic-index results, reshapes and transposes are copies, not views, on this backend: a write "
    "through one does not reach the base (docs/guide.md, Backends)",
)
def test_write_through_a_view_updates_the_base_graph(apis):
    def s(A):
        x = A.tensor([1.0, 2.0, 3.0, 4.0], True)
        y = x * 2.0
        v = y[1:3]
        v *= x[0:2]
        w = v * 3.0
        y[0] = x[3] * 5.0
        (A.xp.sum(y * 1.5) + A.xp.sum(w) + A.xp.sum(v * v)).backward()
        return [y, v, x.grad]

    check(apis, s)


@pytest.mark.needs(
    "aliases",
    "basic-index results, reshapes and transposes are copies, not views, on this backend: a write "
    "through one does not reach the base (docs/guide.md, Backends)",
)
def test_view_of_view_and_transpose(apis):
    def s(A):
        x = A.tensor(np.arange(6.0).reshape(2, 3), True)
        y = x * 1.0
        y.mT[1:, 0] = x[0, :2] ** 2
        A.xp.sum(y * y).backward()
        return [y, x.grad]

    check(apis, s)


@pytest.mark.needs(
    "aliases",
    "basic-index results, reshapes and transposes are copies, not views, on this backend: a write "
    "through one does not reach the base (docs/guide.md, Backends)",
)
def test_view_is_rebuilt_after_its_base_changes(apis):
    def s(A):
        x = A.tensor([1.0, 2.0, 3.0], True)
        y = x * 1.0
        v = y[:2]
        y *= 3.0
        A.xp.sum(v * v).backward()
        return [v, x.grad]

    check(apis, s)


def test_modifying_a_saved_value_makes_backward_fail(apis):
    def s(A):
        y = A.tensor([1.0, 2.0], True) * 1.0
        z = y * y
        y += 1.0
        A.xp.sum(z).backward()

    check(apis, s, raises=(RuntimeError, "modified by an in-?place operation"))


@pytest.mark.parametrize(
    "how",
    [
        "augmented",
        "setitem",
        pytest.param(
            "view",
            marks=pytest.mark.needs(
                "aliases",
                "x[:1] is a copy, not a view of the leaf, on this backend: writing into it does not "
                "modify the leaf, so it is allowed",
            ),
        ),
    ],
)
def test_inplace_on_leaf_and_view_of_leaf_are_errors(apis, how):
    def s(A):
        x = A.tensor([1.0, 2.0], True)
        if how == "augmented":
            x *= 2.0
        elif how == "setitem":
            x[0] = 3.0
        else:
            v = x[:1]
            v += 1.0

    check(apis, s, raises=(RuntimeError, "leaf"))


def test_repeated_integer_index_reads_accumulate(apis):
    def s(A):
        x = A.tensor([1.0, 2.0, 3.0], True)
        y = A.xp.take(x, A.index([0, 0, 2, 0]))
        A.xp.sum(y * A.tensor([1.0, 2.0, 3.0, 4.0])).backward()
        return [x.grad]

    check(apis, s)
