"""Backends we did not write (issue 20): reading their values back into NumPy, and naming them
(``--backend module``, ``module:attr``, ``module:factory(args)``).

The opaque backend below is a minimal array API namespace over NumPy whose arrays have neither
DLPack nor ``__array__`` (as a sparse or graph-building library's): the harness must refuse it
once, naming the remedy, and with a converter check it as any other.
"""

from __future__ import annotations

import operator
import os
import subprocess
import sys
import types
from pathlib import Path

import array_api_compat
import array_api_compat.numpy as cnp
import numpy as np
import pytest

import xpgrad
from xpgrad.conformance._suite import load_object, resolve_backend
from xpgrad.testing import assert_grads_match_torch, to_numpy


class Opaque:
    """An array with no ``__dlpack__``, no ``__array__``, no ``todense()``."""

    __slots__ = ("_a",)

    def __init__(self, a):
        self._a = np.asarray(a)

    def __array_namespace__(self, api_version=None):
        return OPAQUE

    shape = property(lambda self: self._a.shape)
    dtype = property(lambda self: self._a.dtype)
    ndim = property(lambda self: self._a.ndim)
    size = property(lambda self: self._a.size)
    device = property(lambda self: "cpu")
    T = property(lambda self: Opaque(self._a.T))
    mT = property(lambda self: Opaque(np.swapaxes(self._a, -1, -2)))

    def __getitem__(self, key):
        return _wrap(self._a[_unwrap(key)])

    def __setitem__(self, key, value):
        self._a[_unwrap(key)] = _unwrap(value)

    def __bool__(self):
        return bool(self._a)

    def __float__(self):
        return float(self._a)

    def __int__(self):
        return int(self._a)

    def __index__(self):
        return operator.index(self._a)

    def __len__(self):
        return len(self._a)

    def __repr__(self):
        return f"Opaque({self._a!r})"


def _unwrap(x):
    if isinstance(x, Opaque):
        return x._a
    if isinstance(x, (list, tuple)):
        return type(x)(_unwrap(v) for v in x)
    return x


def _wrap(x):
    if isinstance(x, (np.ndarray, np.generic)) and not isinstance(x, np.dtype):
        return Opaque(x)
    if isinstance(x, (list, tuple)):
        return type(x)(_wrap(v) for v in x)
    return x


def _method(name):
    def method(self, *args):
        return _wrap(getattr(self._a, name)(*_unwrap(args)))

    method.__name__ = name
    return method


for _name in (
    "add radd sub rsub mul rmul truediv rtruediv floordiv rfloordiv pow rpow mod rmod matmul rmatmul "
    "neg pos abs invert and rand or ror xor rxor lshift rlshift rshift rrshift "
    "eq ne lt le gt ge"
).split():
    setattr(Opaque, f"__{_name}__", _method(f"__{_name}__"))


def _function(fn):
    def call(*args, **kwargs):
        return _wrap(fn(*_unwrap(args), **{k: _unwrap(v) for k, v in kwargs.items()}))

    return call


class _OpaqueNamespace(types.ModuleType):
    """array_api_compat.numpy, its arrays wrapped in :class:`Opaque`."""

    __array_api_version__ = cnp.__array_api_version__

    def __getattr__(self, name):
        value = getattr(cnp, name)
        if isinstance(value, types.ModuleType):  # linalg, fft
            sub = _OpaqueNamespace(f"{self.__name__}.{name}")
            sub.__dict__["_base"] = value
            return sub
        return _function(value) if callable(value) and not isinstance(value, type) else value


OPAQUE = _OpaqueNamespace("opaque")


def read_opaque(a):
    return np.array(a._a)


@pytest.fixture
def opaque():
    """The xpgrad namespace over the opaque backend, its converter unset before and after."""
    ns = xpgrad.namespace(OPAQUE)
    ns.backend.to_numpy = None
    yield ns
    ns.backend.to_numpy = None


# -- reading values back --------------------------------------------------------------------------


def test_an_array_without_dlpack_or_array_is_refused_with_the_remedy():
    with pytest.raises(
        TypeError, match=r"cannot read values back from .*pass a converter \(to_numpy=\.\.\.\)"
    ):
        to_numpy(Opaque([1.0, 2.0]))


def test_an_object_array_from_array_is_refused_not_compared():
    class ObjectOnly(Opaque):
        def __array__(self, dtype=None, copy=None):
            return np.asarray([self], dtype=object)[0:1]

    with pytest.raises(TypeError, match="cannot read values back"):
        to_numpy(ObjectOnly([1.0]))


class NoKeywordDLPack:
    """marray's DLPack: ``__dlpack__(self)`` without ``stream``/``max_version``, no device."""

    def __init__(self, a):
        self.a = np.asarray(a)

    def __dlpack__(self):
        return self.a.__dlpack__()


def test_dlpack_without_max_version_is_read():
    value = np.arange(12.0, dtype=np.float32).reshape(2, 3, 2)
    out = to_numpy(NoKeywordDLPack(value))
    assert out.dtype == np.float32 and out.shape == (2, 3, 2)
    np.testing.assert_array_equal(out, value)
    assert to_numpy(NoKeywordDLPack(np.float64(2.5))).shape == ()


class _LegacyNamespace:
    @staticmethod
    def asarray(a, copy=None):
        return NoKeywordDLPack(np.array(a.a) if copy else a.a)


class ReadOnlyLegacy(NoKeywordDLPack):
    """A read-only view behind legacy DLPack (marray's broadcast results): NumPy refuses to export
    it ("signalling readonly is unsupported"); a copy the backend makes is read instead."""

    def __array_namespace__(self, api_version=None):
        return _LegacyNamespace


def test_a_read_only_view_behind_legacy_dlpack_is_read_through_a_copy():
    value = np.broadcast_to(np.asarray([1 + 2j, 3j]), (3, 2))
    with pytest.raises(BufferError):
        NoKeywordDLPack(value).__dlpack__()
    out = to_numpy(ReadOnlyLegacy(value))
    assert out.dtype == np.complex128 and out.shape == (3, 2)
    np.testing.assert_array_equal(out, value)


def test_todense_and_to_numpy_methods_are_read():
    class Sparse:
        def todense(self):
            return np.eye(2)

    class Graph:
        def to_numpy(self):
            return np.array([1, 2], dtype=np.int16)

    np.testing.assert_array_equal(to_numpy(Sparse()), np.eye(2))
    out = to_numpy(Graph())
    assert out.dtype == np.int16 and out.tolist() == [1, 2]


def test_numpy_values_and_python_sequences_are_read_as_before():
    assert to_numpy([1.0, 2.0]).tolist() == [1.0, 2.0]
    assert to_numpy(3).dtype == np.asarray(3).dtype
    out = to_numpy(np.float32(1.5))
    assert out.dtype == np.float32 and out.shape == ()


def test_a_converter_argument_reads_the_array():
    out = to_numpy(Opaque([1.0, 2.0]), converter=read_opaque)
    assert out.tolist() == [1.0, 2.0]
    with pytest.raises(TypeError, match="gave no numeric NumPy array"):
        to_numpy(Opaque([1.0]), converter=lambda a: a)


def test_the_backend_converter_reads_tensors_and_raw_arrays(opaque):
    opaque.backend.to_numpy = read_opaque
    t = opaque.asarray([1.0, 2.0])
    assert to_numpy(t).tolist() == [1.0, 2.0]
    assert to_numpy(t.data).tolist() == [1.0, 2.0]


def test_resolve_backend_refuses_an_unreadable_backend_once(opaque):
    with pytest.raises(TypeError, match=r"cannot read values back from opaque: pass a converter"):
        resolve_backend(OPAQUE)
    ns = resolve_backend(OPAQUE, to_numpy=read_opaque)
    assert ns is opaque and opaque.backend.to_numpy is read_opaque


def test_assert_grads_match_torch_with_a_converter(opaque):
    def f(x):
        xp = array_api_compat.array_namespace(x)
        return xp.sum(xp.sin(x) ** 2)

    x = Opaque(np.linspace(0.1, 1.0, 6).reshape(2, 3))
    with pytest.raises(TypeError, match="cannot read values back"):
        assert_grads_match_torch(f, x, backend=OPAQUE)
    assert_grads_match_torch(f, x, backend=OPAQUE, to_numpy=read_opaque)
    assert opaque.backend.to_numpy is None  # restored after the call

    def wrong(x):
        xp = array_api_compat.array_namespace(x)
        return xp.sum(xp.sin(x) ** 2) if isinstance(x, xpgrad.Tensor) else (x.sin() ** 3).sum()

    with pytest.raises(AssertionError, match="values differ"):
        assert_grads_match_torch(wrong, x, backend=OPAQUE, to_numpy=read_opaque)


# -- naming the backend ---------------------------------------------------------------------------

FACTORY = """
import array_api_compat.numpy as ns
CALLS = []


def make(base, scale=1.0, name=None):
    CALLS.append((base, scale, name))
    return ns


def broken():
    raise RuntimeError("no GPU")
"""


@pytest.fixture
def factory_module(tmp_path, monkeypatch):
    (tmp_path / "xpgrad_spec_factory.py").write_text(FACTORY)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield
    sys.modules.pop("xpgrad_spec_factory", None)


def test_backend_as_a_module_name():
    assert resolve_backend("numpy") is xpgrad.namespace("numpy")
    assert resolve_backend("array_api_strict").backend.name == "array_api_strict"


def test_backend_as_module_attr(factory_module):
    assert resolve_backend("xpgrad_spec_factory:ns") is xpgrad.namespace("numpy")
    assert resolve_backend("array_api_compat:numpy") is xpgrad.namespace("numpy")
    assert resolve_backend("array_api_compat.numpy:") is xpgrad.namespace("numpy")


def test_backend_as_a_factory_call(factory_module):
    import xpgrad_spec_factory

    assert resolve_backend("xpgrad_spec_factory:make(numpy, 2.5, name='a')") is xpgrad.namespace("numpy")
    assert xpgrad_spec_factory.CALLS[-1] == (np, 2.5, "a")
    resolve_backend("xpgrad_spec_factory:make(numpy.linalg)")
    assert xpgrad_spec_factory.CALLS[-1][0] is np.linalg
    # once per spec: a factory may make a new namespace on each call (marray's does)
    calls = len(xpgrad_spec_factory.CALLS)
    first = resolve_backend("xpgrad_spec_factory:make(numpy, 3)")
    assert resolve_backend(" xpgrad_spec_factory:make(numpy, 3) ") is first
    assert len(xpgrad_spec_factory.CALLS) == calls + 1


@pytest.mark.parametrize(
    ("spec", "why"),
    [
        ("", "it is empty"),
        ("1x", "'1x' is not a module name"),
        ("no_such_module_xyz:ns", "could not be imported"),
        ("xpgrad_spec_factory:nope", "has no attribute 'nope'"),
        ("xpgrad_spec_factory:make(", "is not an attribute or a call"),
        ("xpgrad_spec_factory:[1]", "is not an attribute or a call"),
        ("xpgrad_spec_factory:make(__import__('os'))", "neither a module name nor a literal"),
        ("xpgrad_spec_factory:make(no_such_module_xyz)", "not an importable module"),
        ("xpgrad_spec_factory:make(*[1])", r"\*args and \*\*kwargs are not supported"),
        ("xpgrad_spec_factory:broken()", "raised RuntimeError: no GPU"),
    ],
)
def test_a_bad_backend_spec_names_the_spec_and_the_forms(factory_module, spec, why):
    with pytest.raises(ValueError, match=why) as info:
        load_object(spec)
    assert repr(spec) in str(info.value) and "module:factory(args)" in str(info.value)


def test_no_code_is_evaluated(factory_module, tmp_path):
    marker = tmp_path / "evaluated"
    with pytest.raises(ValueError, match="neither a module name nor a literal"):
        load_object(f"xpgrad_spec_factory:make(open({str(marker)!r}, 'w'))")
    assert not marker.exists()


HERE = str(Path(__file__).parent)  # this module, importable in a subprocess: test_any_backend:OPAQUE


def _run(command, *args, env_path=HERE):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (env_path, *sys.path) if p)
    return subprocess.run(
        [sys.executable, "-m", *command, *args], capture_output=True, text=True, env=env, timeout=300
    )


def _cli(*args, env_path=HERE):
    return _run(("xpgrad.conformance", "--no-progress", "-q"), *args, env_path=env_path)


def test_cli_refuses_an_unreadable_backend_once_and_checks_it_with_a_converter():
    r = _cli("--backend", "test_any_backend:OPAQUE", "--only", "sin")
    assert r.returncode == 2, r.stdout + r.stderr
    assert r.stderr.count("cannot read values back from opaque: pass a converter") == 1
    assert r.stdout == ""
    r = _cli(
        "--backend", "test_any_backend:OPAQUE", "--to-numpy", "test_any_backend:read_opaque", "--only", "sin"
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert " passed," in r.stdout and " 0 failed," in r.stdout


def test_pytest_plugin_backend_spec_and_converter():
    plugin = ("pytest", "-p", "no:cacheprovider", "--pyargs", "xpgrad.conformance", "-q")
    r = _run(plugin, "--xpgrad-backend", "test_any_backend:OPAQUE")
    assert r.returncode == 4, r.stdout + r.stderr  # pytest's usage error
    assert "cannot read values back from opaque: pass a converter" in r.stdout + r.stderr
    r = _run(
        plugin,
        "--xpgrad-backend",
        "test_any_backend:OPAQUE",
        "--xpgrad-to-numpy",
        "test_any_backend:read_opaque",
        "-k",
        "test_gradients and sin-float64-1d",
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert " passed" in r.stdout and "failed" not in r.stdout


def test_cli_bad_spec_is_a_usage_error():
    r = _cli("--backend", "numpy:masked(", "--only", "sin")
    assert r.returncode == 2, r.stderr
    assert "--backend 'numpy:masked('" in r.stderr and "module:factory(args)" in r.stderr


def test_cli_factory_backend_and_converter(tmp_path):
    (tmp_path / "xpgrad_spec_factory.py").write_text(FACTORY + "\n\ndef read(a):\n    return a\n")
    r = _cli(
        "--backend",
        "xpgrad_spec_factory:make(numpy, 1.0)",
        "--to-numpy",
        "xpgrad_spec_factory:read",
        "--only",
        "sin",
        "--dtypes",
        "float64",
        env_path=str(tmp_path),
    )
    assert r.returncode == 0, r.stdout + r.stderr
    r = _cli(
        "--backend",
        "numpy",
        "--to-numpy",
        "xpgrad_spec_factory:nope",
        "--only",
        "sin",
        env_path=str(tmp_path),
    )
    assert r.returncode == 2 and "has no attribute 'nope'" in r.stderr


# -- selecting checks in the installed command (--subset, --shard) ---------------------------


def test_subset_and_shards_partition_the_selection():
    from xpgrad.conformance.__main__ import parse_shard, select

    todo = list(range(23))
    assert select(todo, 4) == [0, 4, 8, 12, 16, 20]
    shards = [select(todo, 2, (i, 3)) for i in (1, 2, 3)]
    assert sorted(x for s in shards for x in s) == select(todo, 2)  # disjoint, complete
    assert parse_shard("2/3") == (2, 3)
    for bad in ("0/3", "4/3", "a/b", "3"):
        with pytest.raises(ValueError, match="--shard"):
            parse_shard(bad)


def test_cli_subset_and_shard(capsys):
    from xpgrad.conformance.__main__ import main

    assert main(["--backend=numpy", "--only=sin", "--checks=first", "--subset=2", "--shard=1/2", "-q"]) == 0
    assert main(["--backend=numpy", "--only=sin", "--shard=3/2"]) == 2
    assert "--shard" in capsys.readouterr().err


# -- the profile: detected without computing, declared by the author, overridden by the user ---


def _fresh(monkeypatch, name):
    """A new opaque namespace (its arrays name it as theirs), not yet known to xpgrad."""
    ns = _OpaqueNamespace(name)
    monkeypatch.setattr(Opaque, "__array_namespace__", lambda self, api_version=None: ns)
    return ns


def test_the_profile_is_detected_without_computing(monkeypatch):
    computed = []
    for name in ("__bool__", "__float__", "__int__", "__index__"):
        monkeypatch.setattr(Opaque, name, lambda self, name=name: computed.append(name) or 0)
    p = xpgrad.namespace(_fresh(monkeypatch, "opaque_profile")).backend.profile
    assert computed == []
    assert (p.mutable, p.lazy, p.chunked) == (True, False, False)  # __setitem__, no compute()
    assert p.extensions == {"linalg", "fft"} and "float64" in p.dtypes


def test_the_author_declares_and_the_user_overrides_the_profile(monkeypatch):
    ns = _fresh(monkeypatch, "opaque_declared")
    ns.__xpgrad_profile__ = {"mutable": False, "to_numpy": read_opaque}
    p = xpgrad.namespace(ns, profile={"extensions": ("linalg",)}).backend.profile
    assert (p.mutable, p.to_numpy, p.extensions) == (False, read_opaque, {"linalg"})
    # a declared converter reads the arrays back (no "cannot read values back")
    x = xpgrad.namespace(ns).asarray(OPAQUE.asarray([1.0, 2.0]))
    np.testing.assert_array_equal(to_numpy(x), [1.0, 2.0])
    with pytest.raises(ValueError, match="exists already with profile"):
        xpgrad.namespace(ns, profile={"mutable": True})


@pytest.mark.parametrize(
    "profile, match",
    [({"lazzy": True}, "unknown profile field.*'lazzy'"), ({"lazy": "yes"}, "'lazy' must be True or False")],
)
def test_a_bad_profile_names_the_field(profile, match, monkeypatch):
    with pytest.raises(TypeError, match=match):
        xpgrad.namespace(_fresh(monkeypatch, "opaque_bad"), profile=profile)


def test_to_host_reads_through_the_profile_converter(monkeypatch):
    # special functions computed with SciPy read the backend's arrays through the read-back chain
    from xpgrad import _special_libs

    ns = _fresh(monkeypatch, "opaque_host")
    b = xpgrad.namespace(ns, profile={"to_numpy": read_opaque}).backend
    np.testing.assert_array_equal(_special_libs.to_host(b, ns.asarray([3.0])), [3.0])
    bare = xpgrad.namespace(_fresh(monkeypatch, "opaque_host_bare")).backend
    with pytest.raises(TypeError, match="cannot read values back"):
        _special_libs.to_host(bare, ns.asarray([3.0]))
