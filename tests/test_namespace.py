"""The namespace factory, completeness against the standard, and mixing rules."""

from __future__ import annotations

import inspect
import pickle

import array_api_compat
import array_api_strict
import numpy as np
import pytest
import torch

import xpgrad

BACKENDS = ["numpy", "array_api_strict", "torch"]


def _spec_names(module):
    """Public functions and constants of array_api_strict's namespace (the standard's list)."""
    skip = {
        "ArrayAPIStrictFlags",
        "Device",
        "ModuleType",
        "get_array_api_strict_flags",
        "reset_array_api_strict_flags",
        "set_array_api_strict_flags",
        "Array",
        "DType",
        "Literal",
        "NamedTuple",
        "Sequence",
        "np",
        "numpy",
        "partial",
        "requires_api_version",
        "requires_extension",
        "normalize_axis_tuple",
        "ALL_DEVICES",
        "device_supports_dtype",
        "EigResult",
        "EighResult",
        "QRResult",
        "SVDResult",
        "SlogdetResult",
        "linalg",
        "fft",
    }
    return {n for n in dir(module) if not n.startswith("_") and n not in skip}


# Names that array_api_strict's submodules re-export but that are not part of the extension.
_NOT_IN_EXTENSION = {
    "linalg": {"complex64", "complex128", "finfo", "reshape", "conj"},
    "fft": {"astype", "float32", "complex64"},
}


@pytest.mark.parametrize("backend", BACKENDS)
def test_namespace_has_every_name_of_the_standard(backend):
    xp = xpgrad.namespace(backend)
    missing = sorted(n for n in _spec_names(array_api_strict) if not hasattr(xp, n))
    assert not missing, f"{xp.__name__} lacks {missing}"
    for ext in ("linalg", "fft"):
        names = _spec_names(getattr(array_api_strict, ext)) - _NOT_IN_EXTENSION[ext]
        missing = sorted(n for n in names if not hasattr(getattr(xp, ext), n))
        assert not missing, f"{xp.__name__}.{ext} lacks {missing}"
    assert xp.__array_api_version__ == "2025.12"
    assert callable(xp.__array_namespace_info__)


def _param_shape(sig):
    return [(p.name, p.kind) for p in sig.parameters.values()]


@pytest.mark.parametrize("ext", ["", "linalg", "fft"])
def test_signatures_match_the_standard(ext):
    xp = xpgrad.namespace("numpy")
    ours_mod = getattr(xp, ext) if ext else xp
    ref_mod = getattr(array_api_strict, ext) if ext else array_api_strict
    names = _spec_names(ref_mod) - _NOT_IN_EXTENSION.get(ext, set())
    mismatched = []
    for name in sorted(names):
        ref = getattr(ref_mod, name)
        if not callable(ref) or isinstance(ref, type):
            continue
        ours = getattr(ours_mod, name)
        ref_params = _param_shape(inspect.signature(ref))
        # xpgrad adds requires_grad= (keyword-only) to creation functions.
        our_params = [p for p in _param_shape(inspect.signature(ours)) if p[0] != "requires_grad"]
        if ref_params != our_params:
            mismatched.append(f"{name}: {our_params} != {ref_params}")
    assert not mismatched, "\n".join(mismatched)


def test_namespace_is_cached_and_named_per_backend():
    a = xpgrad.namespace(np)
    assert xpgrad.namespace("numpy") is a
    assert xpgrad.namespace(array_api_compat.numpy) is a
    assert xpgrad.numpy is a
    assert a.__name__ == "xpgrad.numpy"
    assert xpgrad.namespace(torch).__name__ == "xpgrad.torch"
    assert xpgrad.array_api_strict.__name__ == "xpgrad.array_api_strict"
    assert pickle.loads(pickle.dumps(a)) is a


def test_array_namespace_finds_the_xpgrad_namespace():
    xp = xpgrad.namespace(np)
    x = xp.asarray([1.0, 2.0], requires_grad=True)
    assert x.__array_namespace__() is xp
    assert array_api_compat.array_namespace(x) is xp


def test_unknown_attributes_are_not_forwarded():
    xp = xpgrad.namespace(np)
    with pytest.raises(AttributeError):
        xp.einsum  # noqa: B018 - NumPy has it, the standard does not
    with pytest.raises(AttributeError):
        xp.random  # noqa: B018


def test_bad_backend_errors():
    with pytest.raises(ValueError, match="could not be imported"):
        xpgrad.namespace("no_such_library_xyz")
    with pytest.raises(TypeError, match="backend"):
        xpgrad.namespace(42)


def test_python_scalars_follow_the_standard():
    xp = xpgrad.namespace(np)
    x32 = xp.asarray([1.0, 2.0], dtype=xp.float32, requires_grad=True)
    assert (x32 * 2.5).dtype == xp.float32
    assert (2 + x32).dtype == xp.float32
    assert (x32 / 3).dtype == xp.float32
    i = xp.asarray([1, 2], dtype=xp.int32)
    assert (i + 1).dtype == xp.int32
    z = xp.asarray([1.0 + 1j], dtype=xp.complex64)
    assert (z * 2.0).dtype == xp.complex64


def test_raw_array_of_same_backend_is_a_constant():
    xp = xpgrad.namespace(np)
    x = xp.asarray([1.0, 2.0], requires_grad=True)
    c = np.array([3.0, 4.0])
    for y in (x * c, c * x, xp.multiply(c, x)):
        assert isinstance(y, xpgrad.Tensor) and y.requires_grad
    (g,) = xpgrad.grad(xp.sum(c * x), x)
    np.testing.assert_array_equal(g.data, c)


def test_mixing_backends_is_a_clear_error():
    xn = xpgrad.namespace(np).asarray([1.0])
    xt = xpgrad.namespace(torch).asarray([1.0])
    with pytest.raises(TypeError, match="add\\(\\): argument 'x2' is a Tensor of backend 'torch'"):
        xn + xt
    with pytest.raises(TypeError, match="different backends"):
        xpgrad.namespace(np).matmul(xn, xt)
    with pytest.raises(TypeError, match="different backends"):
        xpgrad.namespace(np).sin(xt)


def test_bad_argument_types_name_function_and_argument():
    xp = xpgrad.namespace(np)
    with pytest.raises(TypeError, match=r"sin\(\): argument 'x' must be an array"):
        xp.sin([1.0, 2.0])
    with pytest.raises(TypeError, match=r"sum\(\): argument 'x'"):
        xp.sum("abc")
    with pytest.raises(TypeError, match="at least one of 'x1', 'x2' must be an array"):
        xp.add(1.0, 2.0)


def test_tensor_array_api_attributes():
    xp = xpgrad.namespace(np)
    x = xp.reshape(xp.arange(6.0), (2, 3))
    assert x.shape == (2, 3) and x.ndim == 2 and x.size == 6
    assert x.dtype == xp.float64
    assert x.device == np.empty(0).device
    np.testing.assert_array_equal(x.mT.data, x.data.T)
    np.testing.assert_array_equal(x.T.data, x.data.T)
    assert isinstance(x.to_device(x.device), xpgrad.Tensor)
    assert xp.from_dlpack(x).shape == (2, 3)
    assert bool(xp.asarray(1.0)) and int(xp.asarray(3)) == 3 and float(xp.asarray(2.5)) == 2.5
    assert complex(xp.asarray(1j)) == 1j
    assert [1, 2, 3][xp.asarray(1)] == 2


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_backward_pass_on_each_backend(backend):
    xp = xpgrad.namespace(backend)
    x = xp.asarray([0.5, -1.0, 2.0], dtype=xp.float64, requires_grad=True)
    loss = xp.sum(xp.exp(x) * xp.sin(x) + x**2)
    loss.backward()
    expected = np.exp([0.5, -1.0, 2.0]) * (
        np.sin([0.5, -1.0, 2.0]) + np.cos([0.5, -1.0, 2.0])
    ) + 2 * np.array([0.5, -1.0, 2.0])
    got = np.from_dlpack(x.grad.data)
    np.testing.assert_allclose(got, expected, rtol=1e-13)
    assert type(x.grad.data) is type(x.data)


@pytest.mark.parametrize("backend", ["numpy", "array_api_strict", "torch"])
def test_dir_lists_every_public_name(backend):
    # Tab completion: dir() of the namespace and of its extensions lists the standard's names
    # (array_api_strict's own public names, less its flag helpers and classes).
    import array_api_strict

    xp = xpgrad.namespace(backend)
    strict_only = {"ArrayAPIStrictFlags", "Device", "ModuleType"}
    for mod, ours in (
        (array_api_strict, xp),
        (array_api_strict.linalg, xp.linalg),
        (array_api_strict.fft, xp.fft),
    ):
        expected = {
            n for n in dir(mod) if not n.startswith("_") and "flags" not in n and n not in strict_only
        }
        expected &= set(getattr(mod, "__all__", expected))
        missing = sorted(expected - set(dir(ours)))
        assert not missing, f"dir() of {ours.__name__} misses {missing}"


@pytest.mark.parametrize("backend", ["numpy", "array_api_strict", "torch"])
def test_every_public_function_has_a_docstring(backend):
    xp = xpgrad.namespace(backend)
    undocumented = [
        n
        for n in dir(xp)
        if not n.startswith("_")
        and callable(getattr(xp, n))
        and not (getattr(getattr(xp, n), "__doc__", None) or "").strip()
    ]
    assert not undocumented, f"help() is empty for {undocumented}"
