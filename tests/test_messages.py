"""Error messages (issue 18): each names the function, the argument, what was expected and
what to do, and each suggested fix is run to show that it works. Where torch has the same
situation, the test runs torch too.

Also the package's own attributes: ``help(xpgrad)``, ``inspect.getmembers``, ``hasattr`` and
``dir`` behave as in any well-kept package, whichever backends are installed.
"""

from __future__ import annotations

import inspect
import pydoc
import sys

import array_api_compat
import numpy as np
import pytest
import torch

import xpgrad
from xpgrad.testing import assert_grads_match_torch

needs_jax = pytest.mark.requires_backend("jax")

X0 = np.array([0.3, -0.7, 1.1])


def _leaf(ns=None, values=X0):
    ns = ns or xpgrad.numpy
    return ns.asarray(np.array(values), requires_grad=True)


# ---------------------------------------------------------------------------------------------
# The package: help(), inspect.getmembers(), hasattr(), dir()


class _Refuse:
    """A finder that makes ``import <name>`` raise ``error`` (ahead of the real finders)."""

    def __init__(self, name, error):
        self.name = name
        self.error = error

    def find_spec(self, name, path=None, target=None):
        if name == self.name:
            raise self.error
        return None


def _make_absent(monkeypatch, name, error):
    monkeypatch.delitem(sys.modules, name, raising=False)
    monkeypatch.delitem(vars(xpgrad), name, raising=False)
    monkeypatch.setattr(sys, "meta_path", [_Refuse(name, error), *sys.meta_path])


@pytest.fixture
def without_cupy(monkeypatch):
    """CuPy absent, whether or not this machine has it."""
    _make_absent(monkeypatch, "cupy", ModuleNotFoundError("No module named 'cupy'", name="cupy"))


def test_an_absent_backend_is_a_missing_attribute(without_cupy):
    assert not hasattr(xpgrad, "cupy")
    with pytest.raises(
        AttributeError, match=r"xpgrad\.cupy .*could not be imported.*pip install cupy"
    ) as info:
        xpgrad.cupy  # noqa: B018
    assert isinstance(info.value.__cause__, ImportError)
    assert getattr(xpgrad, "cupy", "default") == "default"
    # namespace() by name: the same hint (a ValueError, as before).
    with pytest.raises(
        ValueError, match=r"namespace\(\): backend 'cupy' could not be imported.*pip install cupy"
    ):
        xpgrad.namespace("cupy")


def test_a_backend_that_fails_to_import_is_a_missing_attribute(monkeypatch):
    # A broken install (an import that raises something else than ImportError) is as absent.
    _make_absent(monkeypatch, "cupy", RuntimeError("incompatible CUDA driver"))
    assert not hasattr(xpgrad, "cupy")
    with pytest.raises(AttributeError, match="RuntimeError: incompatible CUDA driver"):
        xpgrad.cupy  # noqa: B018
    assert "cupy" not in dir(xpgrad)


def test_help_and_getmembers_work_without_a_backend(without_cupy):
    text = pydoc.render_doc(xpgrad, renderer=pydoc.plaintext)
    for name in ("namespace", "Tensor", "OperandTypeError", "checkpoint"):
        assert name in text
    members = dict(inspect.getmembers(xpgrad))
    assert members["Tensor"] is xpgrad.Tensor
    assert members["numpy"] is xpgrad.numpy
    assert "cupy" not in members


def test_dir_lists_the_public_api_and_the_installed_shortcuts(without_cupy):
    names = dir(xpgrad)
    assert set(xpgrad.__all__) <= set(names)
    assert {"numpy", "torch", "array_api_strict", "testing", "functional", "optim", "__version__"} <= set(
        names
    )
    assert "cupy" not in names
    for implementation in ("annotations", "importlib", "sys", "ModuleType", "import_module"):
        assert implementation not in names
    assert not [n for n in names if n.startswith("_") and not n.startswith("__")]
    # Everything dir() lists can be read.
    for name in names:
        getattr(xpgrad, name)


def test_star_import_gives_the_public_api():
    scope: dict = {}
    exec("from xpgrad import *", scope)
    assert set(scope) - {"__builtins__"} == set(xpgrad.__all__)


# ---------------------------------------------------------------------------------------------
# Arrays of two libraries


# operator -> (function, the namespace function of ``w op t``, of ``t op w``, argument of t
# there). A reflected comparison is the swapped one (Python calls ``w.__gt__(t)`` for ``t < w``).
OPS = {
    "+": (lambda a, b: a + b, "add", "add", "x1"),
    "-": (lambda a, b: a - b, "subtract", "subtract", "x1"),
    "*": (lambda a, b: a * b, "multiply", "multiply", "x1"),
    "@": (lambda a, b: a @ b, "matmul", "matmul", "x1"),
    "<": (lambda a, b: a < b, "less", "greater", "x2"),
    "==": (lambda a, b: a == b, "equal", "equal", "x2"),
}


@pytest.mark.parametrize("op", list(OPS))
@pytest.mark.parametrize("requires_grad", [False, True])
def test_a_torch_tensor_next_to_a_numpy_tensor(op, requires_grad):
    f, direct, reflected, reflected_arg = OPS[op]
    w = _leaf()
    t = torch.ones(3, dtype=torch.float64, requires_grad=requires_grad)
    # torch returns NotImplemented for a Tensor: ours in both orders (never False for ==).
    for a, b, fname, arg in ((w, t, direct, "x2"), (t, w, reflected, reflected_arg)):
        with pytest.raises(TypeError) as info:
            f(a, b)
        msg = str(info.value)
        assert msg.startswith(f"{fname}(): argument '{arg}' is an array of torch (torch.Tensor)")
        assert "this is xpgrad.numpy" in msg and "arrays of numpy" in msg
        assert ("asarray(t.detach())" if requires_grad else "xpgrad.numpy.asarray(...)") in msg
        assert "xpgrad.namespace('torch')" in msg
    # The fix the message gives works.
    np.testing.assert_array_equal(
        np.asarray(f(w, xpgrad.numpy.asarray(t.detach())).detach()), f(X0, np.ones(3))
    )


def test_a_numpy_array_next_to_a_torch_tensor():
    w = _leaf(xpgrad.torch)
    a = np.ones(3)
    for x, y, arg in ((w, a, "x2"), (a, w, "x1")):
        with pytest.raises(
            TypeError,
            match=rf"add\(\): argument '{arg}' is an array of numpy \(numpy.ndarray\), "
            r"but this is xpgrad.torch",
        ):
            x + y
    with pytest.raises(TypeError, match=r"argument 'x2' is an array of numpy \(numpy.float32\)"):
        w * np.float32(2.0)
    np.testing.assert_array_equal((w + xpgrad.torch.asarray(a)).detach().data.numpy(), X0 + 1)


def test_in_place_with_an_array_of_another_library():
    w = xpgrad.numpy.asarray(X0)
    with pytest.raises(TypeError, match=r"__iadd__\(\): argument 'other' is an array of torch"):
        w += torch.ones(3)
    t = torch.ones(3)
    with pytest.raises(TypeError, match=r"add\(\): argument 'x1' is an array of torch"):
        t += w
    # A tracked in-place update names the operand too.
    y = _leaf() * 1.0
    with pytest.raises(TypeError, match=r"argument 'x2' is an array of torch"):
        y *= torch.ones(3)


@needs_jax
def test_a_jax_array_next_to_a_numpy_tensor():
    import jax.numpy as jnp

    w = _leaf()
    for x, y, arg in ((w, jnp.ones(3), "x2"), (jnp.ones(3), w, "x1")):
        with pytest.raises(
            TypeError, match=rf"argument '{arg}' is an array of jax .*xpgrad.namespace\('jax'\)"
        ):
            x + y


def test_tensors_of_two_backends():
    w = _leaf()
    v = _leaf(xpgrad.torch)
    for a, b, other in ((w, v, "torch"), (v, w, "numpy")):
        with pytest.raises(TypeError) as info:
            a + b
        msg = str(info.value)
        assert f"argument 'x2' is a Tensor of backend '{other}' (xpgrad.{other})" in msg
        assert "no gradient flows from one to the other" in msg
        assert "from_dlpack(t.detach())" in msg
    # The fix the message gives works.
    copied = xpgrad.numpy.from_dlpack(v.detach())
    np.testing.assert_array_equal((w + copied).detach().data, 2 * X0)


def test_an_operand_of_another_type_leaves_the_reflected_method_its_turn():
    class Right:
        def __radd__(self, other):
            return "reflected"

    assert _leaf() + Right() == "reflected"
    with pytest.raises(TypeError, match="unsupported operand"):
        _leaf() + None
    assert (_leaf() == None) is False  # noqa: E711 - Python's identity fallback, as torch's


# ---------------------------------------------------------------------------------------------
# Arguments of the wrong type


def test_a_list_argument_is_a_public_type_error():
    with pytest.raises(TypeError) as info:
        xpgrad.numpy.sin([1.0])
    exc = info.value
    assert type(exc) is xpgrad.OperandTypeError
    assert f"{type(exc).__module__}.{type(exc).__qualname__}" == "xpgrad.OperandTypeError"
    assert str(exc) == (
        "sin(): argument 'x' must be an array (a Tensor of xpgrad.numpy or an array of numpy), got "
        "list; convert it with xpgrad.numpy.asarray(...)"
    )
    with pytest.raises(
        xpgrad.OperandTypeError,
        match=r"add\(\): argument 'x2' must be an array \(a Tensor of xpgrad.numpy, an array of numpy "
        r"or a Python scalar\), got NoneType",
    ):
        xpgrad.numpy.add(_leaf(), None)
    with pytest.raises(
        xpgrad.OperandTypeError, match=r"at least one of 'x1', 'x2' must be an array.*asarray"
    ):
        xpgrad.numpy.add(1.0, 2.0)
    # The fix works.
    xpgrad.numpy.sin(xpgrad.numpy.asarray([1.0]))


@pytest.mark.parametrize("backend", ["numpy", "array_api_strict", "torch"])
def test_a_torch_tensor_that_requires_grad_is_refused_on_every_backend(backend):
    ns = xpgrad.namespace(backend)
    t = torch.tensor(X0, requires_grad=True)
    with pytest.raises(TypeError) as info:
        ns.asarray(t)
    msg = str(info.value)
    assert msg.startswith("asarray(): argument 'obj' is a torch tensor that requires grad")
    assert "t.detach()" in msg and "requires_grad=True" in msg
    # The fix works on every backend.
    x = ns.asarray(t.detach(), requires_grad=True)
    assert x.requires_grad and x.is_leaf
    # In a list too (torch.asarray of 0-d tensors that require grad drops their graph with a
    # warning; NumPy's conversion raises torch's own error).
    s = torch.tensor(1.0, requires_grad=True)
    with pytest.raises(
        TypeError, match=r"asarray\(\): argument 'obj' holds a torch tensor that requires grad"
    ):
        ns.asarray([s, s])


# ---------------------------------------------------------------------------------------------
# backward() and grad()


def test_a_non_scalar_output_names_the_callers_argument():
    for call, fname, arg in (
        (lambda y: y.backward(), r"Tensor\.backward", "'gradient' with a gradient of shape \\(3,\\)"),
        (
            lambda y: xpgrad.backward(y),
            "backward",
            "'grad_tensors' with a gradient of shape \\(3,\\) for output 0",
        ),
        (
            lambda y: xpgrad.grad(y, _leaf()),
            "grad",
            "'grad_outputs' with a gradient of shape \\(3,\\) for output 0",
        ),
    ):
        y = xpgrad.numpy.sin(_leaf())
        with pytest.raises(
            RuntimeError,
            match=rf"^{fname}\(\): grad can be implicitly created only for scalar outputs.*Pass {arg}",
        ):
            call(y)
    # torch has the same condition (and the same words, without the argument).
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar outputs"):
        torch.sin(torch.tensor(X0, requires_grad=True)).backward()
    # The fix works.
    w = _leaf()
    xpgrad.numpy.sin(w).backward(gradient=xpgrad.numpy.ones(3, dtype=xpgrad.numpy.float64))
    np.testing.assert_allclose(w.grad.data, np.cos(X0))


def test_tensor_backward_names_gradient_in_its_other_errors():
    y = xpgrad.numpy.sin(_leaf())
    with pytest.raises(
        RuntimeError,
        match=r"Tensor\.backward\(\): mismatch in shape: 'gradient' has shape \(2,\) and this tensor",
    ):
        y.backward(xpgrad.numpy.ones(2))
    with pytest.raises(RuntimeError, match=r"Tensor\.backward\(\): this tensor does not require grad"):
        xpgrad.numpy.sin(xpgrad.numpy.asarray(X0)).backward()
    with pytest.raises(RuntimeError, match=r"backward\(\): element 0 of 'tensors' does not require grad"):
        xpgrad.backward(xpgrad.numpy.asarray(X0))
    with pytest.raises(
        RuntimeError, match=r"grad\(\): 'inputs'\[0\] does not require grad; pass Tensors that do"
    ):
        xpgrad.grad(xpgrad.numpy.sum(y), xpgrad.numpy.asarray(X0))


def test_grad_checks_unused_inputs_before_running_backward():
    x, unused = _leaf(), _leaf()
    y = xpgrad.numpy.sum(xpgrad.numpy.sin(x) * 2.0)
    with pytest.raises(
        RuntimeError,
        match=r"grad\(\): 'inputs'\[1\] is not part of the graph of 'outputs'.*allow_unused=True",
    ):
        xpgrad.grad(y, [x, unused])
    # The graph is intact: a corrected call works (its saved values were not freed).
    g, none = xpgrad.grad(y, [x, unused], allow_unused=True)
    np.testing.assert_allclose(g.data, 2 * np.cos(X0))
    assert none is None

    # torch raises for the same call (after its backward pass).
    tx, tu = torch.tensor(X0, requires_grad=True), torch.tensor(X0, requires_grad=True)
    ty = (torch.sin(tx) * 2.0).sum()
    with pytest.raises(RuntimeError, match="index 1 appears to not have been used in the graph"):
        torch.autograd.grad(ty, [tx, tu])


def test_an_unused_output_of_a_multi_output_node_is_found_first():
    x = _leaf()
    parts = xpgrad.numpy.unstack(x * 1.0)
    y = parts[0] ** 2
    with pytest.raises(RuntimeError, match=r"'inputs'\[0\] is not part of the graph"):
        xpgrad.grad(y, [parts[1]])
    (g,) = xpgrad.grad(y, [parts[0]])
    np.testing.assert_allclose(g.data, 2 * X0[0])
    tparts = torch.unbind(torch.tensor(X0, requires_grad=True) * 1.0)
    with pytest.raises(RuntimeError, match="appears to not have been used"):
        torch.autograd.grad(tparts[0] ** 2, [tparts[1]])


def test_an_input_whose_paths_give_no_gradient_is_found_by_the_pass():
    class HalfDetached(xpgrad.Function):
        @staticmethod
        def forward(ctx, a, b):
            return a * 2.0 + b

        @staticmethod
        def backward(ctx, g):
            return g * 2.0, None

    x, u = _leaf(), _leaf()
    y = xpgrad.numpy.sum(HalfDetached.apply(x, u))
    with pytest.raises(RuntimeError, match=r"'inputs'\[1\] received no gradient.*allow_unused=True"):
        xpgrad.grad(y, [x, u])


# ---------------------------------------------------------------------------------------------
# checkpoint


def _doubles_its_input(a):
    a *= 2.0
    return xpgrad.numpy.sin(a)


def test_checkpoint_of_a_function_that_modifies_its_input():
    x = _leaf() * 1.0
    y = xpgrad.checkpoint(_doubles_its_input, x)
    with pytest.raises(
        RuntimeError,
        match=r"checkpoint\(\): argument 0 of the checkpointed function _doubles_its_input was "
        r"modified in place.*out-of-place",
    ):
        xpgrad.numpy.sum(y).backward()
    # torch raises in the same situation.
    tx = torch.tensor(X0, requires_grad=True) * 1.0

    def t_doubles(a):
        a.mul_(2.0)
        return torch.sin(a)

    ty = torch.utils.checkpoint.checkpoint(t_doubles, tx, use_reentrant=False)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        ty.sum().backward()


def _scales_a_keyword(*, a):
    a[...] = a * 3.0
    return xpgrad.numpy.exp(a)


def test_checkpoint_names_a_keyword_argument():
    y = xpgrad.checkpoint(_scales_a_keyword, a=_leaf() * 1.0)
    with pytest.raises(
        RuntimeError, match=r"checkpoint\(\): keyword argument 'a' of the checkpointed function"
    ):
        xpgrad.numpy.sum(y).backward()


def test_checkpoint_out_of_place_is_fine():
    w = _leaf()
    y = xpgrad.checkpoint(lambda a: xpgrad.numpy.sin(a * 2.0), w * 1.0)
    xpgrad.numpy.sum(y).backward()
    np.testing.assert_allclose(w.grad.data, 2 * np.cos(2 * X0))


def test_in_place_errors_name_the_operator():
    w = _leaf()
    with pytest.raises(RuntimeError, match=r"^__imul__: a leaf Tensor that requires grad"):
        w *= 2.0
    with pytest.raises(RuntimeError, match=r"^__itruediv__: a leaf Tensor"):
        w /= 2.0


# ---------------------------------------------------------------------------------------------
# assert_grads_match_torch


def _calls_numpy(x):
    return np.sum(np.sin(x))


def _array_api(x):
    xp = array_api_compat.array_namespace(x)
    return xp.sum(xp.sin(x))


def test_a_checked_function_that_calls_numpy_gets_a_hint():
    with pytest.raises(TypeError) as info:
        assert_grads_match_torch(_calls_numpy, X0)
    msg = str(info.value)
    assert msg.startswith(
        "assert_grads_match_torch(): _calls_numpy called a NumPy function on an xpgrad Tensor"
    )
    assert "array_api_compat.array_namespace(x)" in msg
    assert "does not support ufuncs" in str(info.value.__cause__)
    assert_grads_match_torch(_array_api, X0)  # the fix


def test_converting_a_tensor_that_requires_grad_says_what_to_use_instead():
    with pytest.raises(RuntimeError, match=r"Call tensor.detach\(\) first for a constant; .*array_namespace"):
        np.asarray(_leaf())


@needs_jax
def test_assert_grads_match_torch_on_jax_without_x64():
    import jax

    before = jax.config.read("jax_enable_x64")
    jax.config.update("jax_enable_x64", False)
    try:
        with pytest.raises(
            TypeError,
            match=r"input 0 has dtype float64, but xpgrad.jax made it float32.*"
            r'jax.config.update\("jax_enable_x64", True\)',
        ):
            assert_grads_match_torch(_array_api, X0, backend="jax")
        assert_grads_match_torch(_array_api, X0.astype(np.float32), backend="jax")  # one fix
        jax.config.update("jax_enable_x64", True)
        assert_grads_match_torch(_array_api, X0, backend="jax")  # the other
    finally:
        jax.config.update("jax_enable_x64", before)
