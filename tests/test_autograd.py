"""The behaviours people rely on, each run side by side with torch.autograd.

Each scenario is written once against a small "autograd API" object, ``A``, that is either
xpgrad over NumPy or torch itself; the test runs it on both and compares the outcomes.
"""

from __future__ import annotations

import threading

import array_api_compat
import array_api_compat.torch
import numpy as np
import pytest
import torch

import xpgrad


class _XpgradAPI:
    name = "xpgrad"
    xp = xpgrad.namespace(np)
    no_grad = staticmethod(xpgrad.no_grad)
    enable_grad = staticmethod(xpgrad.enable_grad)
    grad = staticmethod(xpgrad.grad)
    backward = staticmethod(xpgrad.backward)

    def tensor(self, values, requires_grad=False, dtype=None):
        return self.xp.asarray(np.asarray(values, dtype=dtype or np.float64), requires_grad=requires_grad)

    @staticmethod
    def value(t):
        return None if t is None else np.asarray(t.detach().data)


class _TorchAPI:
    name = "torch"
    xp = array_api_compat.torch
    no_grad = staticmethod(torch.no_grad)
    enable_grad = staticmethod(torch.enable_grad)
    grad = staticmethod(torch.autograd.grad)
    backward = staticmethod(torch.autograd.backward)

    def tensor(self, values, requires_grad=False, dtype=None):
        return torch.tensor(np.asarray(values, dtype=dtype or np.float64), requires_grad=requires_grad)

    @staticmethod
    def value(t):
        return None if t is None else t.detach().numpy()


APIS = [_XpgradAPI(), _TorchAPI()]


def both(scenario):
    """Run ``scenario(A)`` on xpgrad and torch; return the two results."""
    return [scenario(api) for api in APIS]


def assert_same(results, rtol=1e-12, atol=1e-12):
    ours, theirs = results

    def cmp(a, b, path="result"):
        if isinstance(a, (list, tuple)):
            assert isinstance(b, (list, tuple)) and len(a) == len(b), f"{path}: {a!r} vs {b!r}"
            for i, (u, v) in enumerate(zip(a, b)):
                cmp(u, v, f"{path}[{i}]")
        elif a is None or b is None or isinstance(a, (bool, str, type)):
            assert a == b, f"{path}: xpgrad {a!r} vs torch {b!r}"
        else:
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=rtol, atol=atol, err_msg=path)

    cmp(ours, theirs)


# ---------------------------------------------------------------------------------------------
# Accumulation, retain_graph, second backward


def test_grad_accumulates_over_two_backward_calls():
    def s(A):
        x = A.tensor([1.0, -2.0, 3.0], requires_grad=True)
        y = A.xp.sum(A.xp.sin(x) * x)
        y.backward(retain_graph=True)
        first = A.value(x.grad)
        y.backward()
        return [first, A.value(x.grad)]

    assert_same(both(s))


def test_grad_accumulates_across_graphs_and_can_be_reset():
    def s(A):
        x = A.tensor([0.5, 1.5], requires_grad=True)
        A.xp.sum(x * x).backward()
        A.xp.sum(x * 3.0).backward()
        acc = A.value(x.grad)
        x.grad = None
        A.xp.sum(x).backward()
        return [acc, A.value(x.grad)]

    assert_same(both(s))


def test_grad_tensor_is_updated_in_place_on_accumulation():
    def s(A):
        x = A.tensor([1.0, 2.0], requires_grad=True)
        A.xp.sum(x * x).backward()
        held = x.grad
        A.xp.sum(x * x).backward()
        return [A.value(held), held is x.grad]

    assert_same(both(s))


def test_second_backward_without_retain_graph_is_an_error():
    for A in APIS:
        x = A.tensor([1.0, 2.0], requires_grad=True)
        y = A.xp.sum(A.xp.exp(x))
        y.backward()
        with pytest.raises(RuntimeError, match="second time"):
            y.backward()


def test_non_scalar_backward_needs_gradient():
    for A in APIS:
        x = A.tensor([1.0, 2.0], requires_grad=True)
        with pytest.raises(RuntimeError, match="implicitly created only for scalar outputs"):
            (x * 2.0).backward()

    def s(A):
        x = A.tensor([1.0, 2.0], requires_grad=True)
        (x * x).backward(A.tensor([1.0, -3.0]))
        return A.value(x.grad)

    assert_same(both(s))


def test_backward_gradient_shape_mismatch_is_an_error():
    for A in APIS:
        x = A.tensor([1.0, 2.0], requires_grad=True)
        with pytest.raises(RuntimeError, match="[Mm]ismatch in shape"):
            (x * 2.0).backward(A.tensor([1.0, 2.0, 3.0]))


def test_integer_tensor_cannot_require_grad():
    xp = xpgrad.namespace(np)
    with pytest.raises(RuntimeError, match="floating point or complex"):
        xp.asarray([1, 2, 3], requires_grad=True)
    x = xp.asarray([1, 2, 3])
    with pytest.raises(RuntimeError, match="floating point or complex"):
        x.requires_grad = True
    with pytest.raises(RuntimeError, match="floating point"):
        torch.tensor([1, 2, 3], requires_grad=True)


def test_backward_on_a_tensor_that_does_not_require_grad_is_an_error():
    for A in APIS:
        x = A.tensor([1.0, 2.0])
        with pytest.raises(RuntimeError, match="does not require grad"):
            A.xp.sum(x).backward()


# ---------------------------------------------------------------------------------------------
# Dynamic graphs


def test_python_control_flow_that_depends_on_values():
    def f(A, x):
        y = x
        steps = 0
        while float(A.xp.sum(y * y).detach()) < 100.0:
            if float(y[0].detach()) > 0:
                y = y * 2.0 + x
            else:
                y = A.xp.sin(y) - 3.0 * x
            steps += 1
        return A.xp.sum(y), steps

    def s(A):
        out = []
        for start in ([0.5, -1.0], [-0.3, 0.2]):
            x = A.tensor(start, requires_grad=True)
            y, steps = f(A, x)
            y.backward()
            out.append([A.value(x.grad), steps])
        return out

    assert_same(both(s))


def test_long_chain_backpropagates_without_recursion_error():
    xp = xpgrad.namespace(np)
    x = xp.asarray([1.0], requires_grad=True)
    y = x
    n = 1_000_000
    for _ in range(n):
        y = y + 1.0
    xp.sum(y).backward()
    assert x.grad.data[0] == 1.0


def test_each_node_runs_once_in_dependency_order():
    # A diamond repeated many times: exponential paths, linear nodes.
    calls = []
    xp = xpgrad.namespace(np)
    x = xp.asarray([1.0], requires_grad=True)
    y = x
    for _ in range(60):
        y = y * 0.5 + y * 0.5
    y.register_hook(lambda g: calls.append(1))
    xp.sum(y).backward()
    assert calls == [1]
    assert x.grad.data[0] == pytest.approx(1.0)


# ---------------------------------------------------------------------------------------------
# detach, no_grad, requires_grad


def test_detach_shares_memory_both_ways():
    def s(A):
        x = A.tensor([1.0, 2.0, 3.0], requires_grad=True)
        d = x.detach()
        with A.no_grad():
            d[0] = 10.0
            x[1] = 20.0
        return [A.value(x), A.value(d), d.requires_grad, d.is_leaf]

    assert_same(both(s))


def test_detach_shares_the_version_counter():
    for A in APIS:
        x = A.tensor([1.0, 2.0], requires_grad=True)
        y = x * 1.0
        z = A.xp.exp(y)  # saves its output
        d = z.detach()
        with A.no_grad():
            d[0] = 5.0
        with pytest.raises(RuntimeError, match="modified by an inplace operation|in-place"):
            A.xp.sum(z).backward()


def test_no_grad_results_do_not_require_grad_and_parameter_update_works():
    def s(A):
        w = A.tensor([1.0, -1.0], requires_grad=True)
        loss = A.xp.sum(w * w)
        loss.backward()
        with A.no_grad():
            y = w * 2.0
            w -= 0.1 * w.grad
        w.grad = None
        return [y.requires_grad, y.grad_fn is None, A.value(w), w.is_leaf, w.requires_grad]

    assert_same(both(s))


def test_in_place_on_leaf_requiring_grad_is_an_error_outside_no_grad():
    for A in APIS:
        w = A.tensor([1.0, 2.0], requires_grad=True)
        with pytest.raises(RuntimeError, match="leaf"):
            w += 1.0


def test_grad_mode_decorators_and_nesting():
    def s(A):
        x = A.tensor([1.0], requires_grad=True)

        @A.no_grad()
        def f(t):
            return t * 2.0

        with A.no_grad():
            with A.enable_grad():
                inner = x * 2.0
            outer = x * 2.0
        return [f(x).requires_grad, inner.requires_grad, outer.requires_grad]

    assert_same(both(s))


def test_set_grad_enabled_and_inference_mode():
    xp = xpgrad.namespace(np)
    x = xp.asarray([1.0], requires_grad=True)
    with xpgrad.set_grad_enabled(False):
        assert not (x * 2).requires_grad
        assert not xpgrad.is_grad_enabled()
    assert xpgrad.is_grad_enabled()
    xpgrad.set_grad_enabled(False)
    try:
        assert not xpgrad.is_grad_enabled()
    finally:
        xpgrad.set_grad_enabled(True)
    with xpgrad.inference_mode():
        assert not (x * 2).requires_grad
    with xpgrad.inference_mode(False):
        assert (x * 2).requires_grad

    @xpgrad.set_grad_enabled(False)
    def f():
        return xpgrad.is_grad_enabled()

    assert xpgrad.is_grad_enabled()
    assert f() is False
    assert xpgrad.is_grad_enabled()


def test_grad_mode_is_thread_local():
    seen = {}

    def worker():
        seen["worker"] = xpgrad.is_grad_enabled()

    with xpgrad.no_grad():
        t = threading.Thread(target=worker)
        t.start()
        t.join()
        seen["main"] = xpgrad.is_grad_enabled()
    assert seen == {"worker": True, "main": False}


def test_requires_grad_flag_rules():
    def s(A):
        x = A.tensor([1.0, 2.0])
        x.requires_grad_()
        y = x * 2.0
        return [x.requires_grad, x.is_leaf, y.is_leaf, y.requires_grad]

    assert_same(both(s))
    for A in APIS:
        x = A.tensor([1.0, 2.0], requires_grad=True)
        y = x * 2.0
        with pytest.raises(RuntimeError, match="leaf"):
            y.requires_grad = False


def test_detach_in_place():
    def s(A):
        x = A.tensor([1.0, 2.0], requires_grad=True)
        y = x * 2.0
        y.detach_()
        return [y.requires_grad, y.is_leaf, y.grad_fn is None]

    assert_same(both(s))


# ---------------------------------------------------------------------------------------------
# Hooks and retain_grad


def test_hook_may_replace_the_gradient_and_can_be_removed():
    def s(A):
        x = A.tensor([1.0, 2.0], requires_grad=True)
        seen = []
        h = x.register_hook(lambda g: g * 10.0)
        y = x * 3.0
        y.register_hook(lambda g: seen.append(A.value(g)))
        A.xp.sum(y * y).backward()
        first = A.value(x.grad)
        h.remove()
        x.grad = None
        A.xp.sum(x * 3.0).backward()
        return [first, A.value(x.grad), seen]

    assert_same(both(s))


def test_retain_grad_on_non_leaf():
    def s(A):
        x = A.tensor([1.0, 2.0], requires_grad=True)
        y = x * x
        y.retain_grad()
        z = A.xp.sum(A.xp.sin(y))
        z.backward()
        return [y.retains_grad, A.value(y.grad), A.value(x.grad), x.retains_grad]

    assert_same(both(s))


def test_hook_on_non_leaf_runs_before_retain_grad():
    def s(A):
        x = A.tensor([1.0, 2.0], requires_grad=True)
        y = x * 2.0
        y.retain_grad()
        y.register_hook(lambda g: g + 1.0)
        A.xp.sum(y).backward()
        return [A.value(y.grad), A.value(x.grad)]

    assert_same(both(s))


def test_post_accumulate_grad_hook():
    def s(A):
        x = A.tensor([1.0, 2.0], requires_grad=True)
        seen = []
        x.register_post_accumulate_grad_hook(lambda t: seen.append(A.value(t.grad)))
        A.xp.sum(x * x).backward()
        A.xp.sum(x).backward()
        return seen

    assert_same(both(s))
    for A in APIS:
        y = A.tensor([1.0], requires_grad=True) * 2.0
        with pytest.raises(RuntimeError, match="non-leaf"):
            y.register_post_accumulate_grad_hook(lambda t: None)


def test_hook_on_tensor_without_grad_is_an_error():
    for A in APIS:
        with pytest.raises(RuntimeError, match="doesn't require gradient"):
            A.tensor([1.0]).register_hook(lambda g: g)


# ---------------------------------------------------------------------------------------------
# xpgrad.grad / xpgrad.backward, higher order


def test_grad_returns_without_touching_dot_grad():
    def s(A):
        x = A.tensor([1.0, 2.0], requires_grad=True)
        w = A.tensor([0.5, -1.0], requires_grad=True)
        y = A.xp.sum(A.xp.exp(x) * w)
        gx, gw = A.grad(y, (x, w))
        return [A.value(gx), A.value(gw), x.grad is None, w.grad is None]

    assert_same(both(s))


def test_grad_with_grad_outputs_and_non_leaf_inputs():
    def s(A):
        x = A.tensor([1.0, 2.0, 3.0], requires_grad=True)
        h = x * x
        y = A.xp.sin(h)
        (gh,) = A.grad(y, h, A.tensor([1.0, 0.5, -1.0]))
        return A.value(gh)

    assert_same(both(s))


def test_grad_allow_unused():
    def s(A):
        x = A.tensor([1.0], requires_grad=True)
        u = A.tensor([1.0], requires_grad=True)
        y = A.xp.sum(x * 2.0)
        gx, gu = A.grad(y, (x, u), allow_unused=True)
        return [A.value(gx), gu]

    assert_same(both(s))
    for A in APIS:
        x = A.tensor([1.0], requires_grad=True)
        u = A.tensor([1.0], requires_grad=True)
        with pytest.raises(RuntimeError, match="allow_unused"):
            A.grad(A.xp.sum(x * 2.0), (x, u))


def test_second_and_third_derivatives_with_create_graph():
    def s(A):
        x = A.tensor([0.3, -1.2, 2.0], requires_grad=True)
        y = A.xp.sum(A.xp.sin(x) * x**3 + A.xp.exp(x) / (x * x + 1.0))
        (g,) = A.grad(y, x, create_graph=True)
        (h,) = A.grad(A.xp.sum(g), x, create_graph=True)
        (t,) = A.grad(A.xp.sum(h * h), x)
        return [A.value(g), A.value(h), A.value(t)]

    assert_same(both(s), rtol=1e-11, atol=1e-11)


@pytest.mark.filterwarnings("ignore:Using backward\\(\\) with create_graph=True:UserWarning")
def test_backward_with_create_graph_gives_differentiable_grad():
    def s(A):
        x = A.tensor([0.5, 1.5], requires_grad=True)
        y = A.xp.sum(x**3)
        y.backward(create_graph=True)
        g = x.grad
        g_requires = g.requires_grad
        (h,) = A.grad(A.xp.sum(g), x)
        return [A.value(g), g_requires, A.value(h)]

    assert_same(both(s))


def test_backward_inputs_restricts_accumulation():
    def s(A):
        x = A.tensor([1.0, 2.0], requires_grad=True)
        w = A.tensor([3.0, 4.0], requires_grad=True)
        y = A.xp.sum(x * w)
        y.backward(inputs=[w])
        return [x.grad is None, A.value(w.grad)]

    assert_same(both(s))


def test_functional_backward_with_several_roots():
    def s(A):
        x = A.tensor([1.0, 2.0], requires_grad=True)
        a = A.xp.sum(x * x)
        b = x * 3.0
        A.backward([a, b], [None, A.tensor([1.0, -1.0])])
        return A.value(x.grad)

    assert_same(both(s))


def test_broadcasting_gradients_are_summed_to_input_shapes():
    def s(A):
        a = A.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
        b = A.tensor([[1.0], [2.0]], requires_grad=True)
        c = A.tensor(2.0, requires_grad=True)
        y = A.xp.sum((a * b + c) ** 2)
        y.backward()
        return [A.value(a.grad), A.value(b.grad), A.value(c.grad)]

    assert_same(both(s))


def test_float32_gradients_keep_their_dtype():
    xp = xpgrad.namespace(np)
    x = xp.asarray([1.0, 2.0], dtype=xp.float32, requires_grad=True)
    y = xp.sum(x * np.asarray([1.0, 2.0], dtype=np.float64))  # promotes to float64
    assert y.dtype == xp.float64
    y.backward()
    assert x.grad.dtype == xp.float32
    np.testing.assert_allclose(x.grad.data, [1.0, 2.0])


def test_parameter_is_a_leaf_that_requires_grad():
    p = xpgrad.Parameter(np.ones(3))
    assert p.requires_grad and p.is_leaf
    assert p.__array_namespace__() is xpgrad.namespace(np)


def test_data_item_tolist():
    xp = xpgrad.namespace(np)
    x = xp.asarray([[1.0, 2.0]], requires_grad=True)
    assert isinstance(x.data, np.ndarray)
    assert x.data is x.detach().data
    assert x.tolist() == [[1.0, 2.0]]
    assert xp.sum(x).item() == 3.0
    with pytest.raises(ValueError, match="one element"):
        x.item()


@pytest.mark.parametrize("backend", ["numpy", "array_api_strict", "torch"])
@pytest.mark.parametrize("shape", [(), (1,), (1, 1)])
def test_item_of_one_element_of_any_shape(backend, shape):
    # As torch's Tensor.item(); array-api-strict's float() takes 0-d arrays only.
    xp = xpgrad.namespace(backend)
    for value, dtype in [(1.5, xp.float64), (3, xp.int64), (True, xp.bool)]:
        x = xp.reshape(xp.asarray(value, dtype=dtype), shape)
        item = x.item()
        assert item == value and type(item) is type(value)


def test_conversion_of_tracked_tensor_to_numpy_is_refused():
    xp = xpgrad.namespace(np)
    x = xp.asarray([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="detach"):
        np.asarray(x)
    with pytest.raises(RuntimeError, match="detach"):
        x.__dlpack__()
    np.testing.assert_array_equal(np.asarray(x.detach()), [1.0, 2.0])


def test_graph_is_freed_by_reference_counting():
    import gc
    import weakref

    xp = xpgrad.namespace(np)
    gc.disable()
    try:
        x = xp.asarray(np.ones(10), requires_grad=True)
        y = xp.exp(x * 2.0)
        z = xp.sum(y)
        node_ref = weakref.ref(z.grad_fn)
        inner_ref = weakref.ref(y.grad_fn)
        del y, z
        assert node_ref() is None
        assert inner_ref() is None
    finally:
        gc.enable()


# ---------------------------------------------------------------------------------------------
# Hooks and gradients are checked as torch checks them: never silently cast


def _hook_cases(A):
    other = A.xp.float32
    return {
        "dtype": (lambda g: A.xp.astype(g, other), RuntimeError, "has changed the type of value"),
        "complex": (
            lambda g: A.xp.astype(g, A.xp.complex128),
            RuntimeError,
            "has changed the type of value",
        ),
        "shape": (lambda g: g[:1], RuntimeError, "has changed the size of value"),
        "not a Tensor": (lambda g: 1.0, TypeError, "hook .*returned 'float'"),
    }


@pytest.mark.parametrize("case", ["dtype", "complex", "shape", "not a Tensor"])
@pytest.mark.parametrize("where", ["leaf", "non-leaf"])
def test_hook_changing_the_gradient_raises_as_torch(case, where):
    for A in APIS:
        hook, exc, message = _hook_cases(A)[case]
        x = A.tensor([1.0, 2.0], requires_grad=True)
        y = x * 2.0
        (x if where == "leaf" else y).register_hook(hook)
        with pytest.raises(exc, match=message):
            A.xp.sum(y * y).backward()
        assert x.grad is None, A.name


def test_hook_changing_the_gradient_raises_under_create_graph():
    for A in APIS:
        x = A.tensor([1.0, 2.0], requires_grad=True)
        y = x * 2.0
        y.register_hook(lambda g, A=A: A.xp.astype(g, A.xp.float32))
        with pytest.raises(RuntimeError, match="has changed the type of value"):
            A.grad(A.xp.sum(y * y), x, create_graph=True)


def test_hook_returning_a_native_array_or_another_backend_raises():
    x = xpgrad.namespace(np).asarray([1.0, 2.0], requires_grad=True)
    x.register_hook(lambda g: np.asarray(g.data))
    with pytest.raises(TypeError, match="returned 'ndarray'"):
        xpgrad.namespace(np).sum(x * 2.0).backward()
    txp = xpgrad.namespace(torch)
    y = xpgrad.namespace(np).asarray([1.0, 2.0], requires_grad=True)
    y.register_hook(lambda g: txp.asarray(torch.ones(2, dtype=torch.float64)))
    with pytest.raises(RuntimeError, match="has changed the type of value .*backend 'torch'"):
        xpgrad.namespace(np).sum(y * 2.0).backward()


def _strict_pair():
    import array_api_strict

    sxp = xpgrad.namespace(array_api_strict)
    return sxp, array_api_strict.Device("device1")


def test_hook_moving_the_gradient_to_another_device_raises():
    # torch on CPU only has the 'meta' device to try; array_api_strict has several devices.
    t = torch.ones(2, requires_grad=True)
    t.register_hook(lambda g: g.to("meta"))
    with pytest.raises(RuntimeError, match="has changed the type of value"):
        (t * 2.0).sum().backward()
    sxp, other = _strict_pair()
    x = sxp.asarray([1.0, 2.0], requires_grad=True)
    y = x * 2.0
    y.register_hook(lambda g: g.to_device(other))
    with pytest.raises(RuntimeError, match="has changed the type of value .*device"):
        sxp.sum(y * y).backward()
    assert x.grad is None


def test_gradient_argument_on_another_device_raises_as_torch():
    t = torch.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="expected device cpu but got meta"):
        (t * 2.0).backward(torch.ones(2, device="meta"))
    with pytest.raises(RuntimeError, match="expected device cpu but got meta"):
        torch.autograd.grad(t * 2.0, t, torch.ones(2, device="meta"))
    with pytest.raises(RuntimeError, match="device"):
        t.grad = torch.ones(2, device="meta")
    sxp, other = _strict_pair()
    x = sxp.asarray([1.0, 2.0], requires_grad=True)
    g = sxp.ones(2, device=other)
    with pytest.raises(
        RuntimeError, match=r"Tensor\.backward\(\): invalid gradient 'gradient' - expected device"
    ):
        (x * 2.0).backward(g)
    with pytest.raises(
        RuntimeError, match=r"backward\(\): invalid gradient 'grad_tensors'\[0\] - expected device"
    ):
        xpgrad.backward(x * 2.0, g)
    with pytest.raises(
        RuntimeError, match=r"grad\(\): invalid gradient 'grad_outputs'\[0\] - expected device"
    ):
        xpgrad.grad(x * 2.0, x, g)
    with pytest.raises(RuntimeError, match="grad: assigned gradient is on device"):
        x.grad = g
    assert x.grad is None
    # The same device is accepted, as before.
    (x * 2.0).backward(sxp.ones(2))
    assert sxp.all(x.grad == 2.0)


def test_gradient_argument_dtype_and_shape_as_torch():
    def s(A):
        x = A.tensor([1.0, 2.0], requires_grad=True)
        # Another real dtype is cast (torch accepts it).
        (g,) = A.grad(x * 2.0, x, A.tensor([1.0, 1.0], dtype=np.float32))
        out = [A.value(g), str(g.dtype).rsplit(".", 1)[-1]]
        try:
            A.grad(x * 2.0, x, A.tensor([1.0, 1.0], dtype=np.complex128))
            out.append("no error")
        except RuntimeError:
            out.append("RuntimeError")
        try:
            A.grad(x * 2.0, x, A.tensor([1.0, 1.0, 1.0]))
            out.append("no error")
        except RuntimeError:
            out.append("RuntimeError")
        return out

    assert_same(both(s))


def test_assigned_grad_of_another_shape_or_dtype_raises_as_torch():
    for A in APIS:
        x = A.tensor([1.0, 2.0], requires_grad=True)
        with pytest.raises(RuntimeError):
            x.grad = A.tensor([1.0, 2.0, 3.0])
        with pytest.raises(RuntimeError):
            x.grad = A.tensor([1.0, 2.0], dtype=np.float32)
        assert x.grad is None


def test_backward_with_roots_of_two_backends():
    # Each graph is differentiated with its own backend; nothing is taken from the first root.
    nxp = xpgrad.namespace(np)
    txp = xpgrad.namespace(torch)
    xt = torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64, requires_grad=True)
    (torch.sin(xt) * xt + torch.exp(xt) * xt).sum().backward()
    expected = xt.grad.numpy()
    for order in ("numpy first", "torch first"):
        a = nxp.asarray([0.5, -1.0, 2.0], requires_grad=True)
        b = txp.asarray(torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64), requires_grad=True)
        ra = nxp.sum(nxp.sin(a) * a + nxp.exp(a) * a)
        rb = txp.sum(txp.sin(b) * b + txp.exp(b) * b)
        roots = [ra, rb] if order == "numpy first" else [rb, ra]
        xpgrad.backward(roots)
        assert isinstance(a.grad.data, np.ndarray) and isinstance(b.grad.data, torch.Tensor)
        np.testing.assert_allclose(a.grad.data, expected, rtol=1e-12)
        np.testing.assert_allclose(b.grad.data.numpy(), expected, rtol=1e-12)


def test_gradient_argument_of_another_backend_raises():
    nxp = xpgrad.namespace(np)
    txp = xpgrad.namespace(torch)
    x = nxp.asarray([1.0, 2.0], requires_grad=True)
    for g in (txp.ones(2, dtype=txp.float64), torch.ones(2, dtype=torch.float64)):
        with pytest.raises(TypeError, match=r"Tensor\.backward\(\): .*'gradient'"):
            (x * 2.0).backward(g)
        with pytest.raises(TypeError, match=r"backward\(\): .*'grad_tensors"):
            xpgrad.backward(x * 2.0, g)
        with pytest.raises(TypeError, match="grad_outputs"):
            xpgrad.grad(x * 2.0, x, g)
        with pytest.raises(TypeError, match="grad"):
            x.grad = g
    assert x.grad is None
