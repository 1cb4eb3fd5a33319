"""Forward-mode rules of the manipulation, indexing, searching, sorting, utility, creation, data
type and main-namespace linear algebra entries, against central finite differences.

For every registry sample of these ops (float64, and complex128 where the op takes complex),
the entry's rule (``xpgrad._optable.jvp_of``) runs on raw NumPy arrays with random tangents and
is compared with ``(f(x + eps*t) - f(x - eps*t)) / (2*eps)`` of the entry's forward (for
complex inputs, the tangent of ``f(x + eps*t)`` with a complex ``t``). At tied values ``sort``
has no derivative (finite differences average the orders of the tied elements): there its rule
is compared with torch's (``torch.func.jvp`` of a stable sort). A second test runs each rule
on the xpgrad namespace (Tensors), as forward mode does, and compares it with the raw run.
"""

from __future__ import annotations

import contextlib
import warnings

import numpy as np
import pytest
import torch
import torch.autograd.forward_ad as fwAD

import xpgrad
from xpgrad import (
    _creation_functions,
    _data_type_functions,
    _indexing_functions,
    _linear_algebra_functions,
    _manipulation_functions,
    _searching_functions,
    _sorting_functions,
    _utility_functions,
)
from xpgrad._optable import Op, jvp_of
from xpgrad.testing import op_db

NS = xpgrad.numpy
RAW = NS._xp  # the raw backend namespace the forwards and rules run on
MODULES = (
    _creation_functions,
    _data_type_functions,
    _indexing_functions,
    _linear_algebra_functions,
    _manipulation_functions,
    _searching_functions,
    _sorting_functions,
    _utility_functions,
)
# Public functions written by hand around an internal entry (the entry under test).
ENTRY_OF = {
    "astype": _data_type_functions._astype,
    "broadcast_arrays": _manipulation_functions._broadcast_one,
}
# The ops here are linear, bilinear or piecewise linear, so central differences are exact up to
# rounding: a small step for double precision, a larger one where a result is single precision.
EPS = {np.float64: 1e-6, np.complex128: 1e-6, np.float32: 1e-2, np.complex64: 1e-2}
RTOL = {np.float64: 1e-6, np.complex128: 1e-6, np.float32: 1e-4, np.complex64: 1e-4}


def _entries():
    entries = {}
    for module in MODULES:
        for name in module.__all__:
            entry = getattr(module, name)
            if type(entry) is Op:
                entries[name] = entry
    entries.update(ENTRY_OF)
    return entries


ENTRIES = _entries()


class _Capture:
    """A stand-in namespace: records the call a sample's ``fn`` makes (``xp.<name>(...)``)."""

    def __getattr__(self, name):
        dt = getattr(np, name, None)
        if name in ("float32", "float64", "complex64", "complex128"):
            return dt

        def call(*args, **kwargs):
            self.call = (name, args, kwargs)

        return call


def _convert(a, dtype, rng):
    if isinstance(a, np.generic):  # a 0-d sample value (rng.standard_normal(()))
        a = np.asarray(a)
    if isinstance(a, np.ndarray) and a.dtype.kind in "fc":
        if dtype == "complex128" and a.dtype.kind == "f":
            return np.asarray(a + 1j * rng.standard_normal(a.shape))
        return a.astype(np.complex128 if a.dtype.kind == "c" else np.float64)
    if isinstance(a, (list, tuple)):
        return type(a)(_convert(e, dtype, rng) for e in a)
    return a


def _tangent(v, rng):
    if v is None:
        return None
    if type(v) is tuple:
        return tuple(_tangent(e, rng) for e in v)
    if not isinstance(v, np.ndarray):  # a Python scalar (where's x1/x2): no tangent
        return np.zeros(())
    t = rng.standard_normal(v.shape)
    return np.asarray(t + 1j * rng.standard_normal(v.shape)) if v.dtype.kind == "c" else t


def _shift(v, t, eps):
    if v is None or not isinstance(v, (np.ndarray, tuple)):
        return v
    if type(v) is tuple:
        return tuple(_shift(a, b, eps) for a, b in zip(v, t, strict=True))
    return v + eps * t


def _calls(info, sample, dtype, rng):
    """(entry, inputs, args) for one sample: the call(s) the sample makes, bound to the entry's
    signature (every argument given, defaults included)."""
    cap = _Capture()
    args = _convert(tuple(sample.args), dtype, rng)
    kwargs = {k: _convert(v, dtype, rng) for k, v in sample.kwargs.items()}
    fn = info.fn or (lambda xp, *a, **k: getattr(xp, info.name)(*a, **k))
    fn(cap, *args, **kwargs)
    name, a, k = cap.call
    entry = ENTRIES[name]
    if name == "broadcast_arrays":  # one entry application per input
        shape = np.broadcast_shapes(*(np.shape(v) for v in a))
        return [(entry, (v,), {"shape": shape}) for v in a]
    if a and isinstance(a[0], list):  # concat/stack: the sequence input
        a = (tuple(a[0]), *a[1:])
    bound = entry.signature.bind(*a, **k)
    bound.apply_defaults()
    inputs = tuple(bound.arguments[n] for n in entry.inputs)
    return [(entry, inputs, {n: bound.arguments[n] for n in entry.args})]


@contextlib.contextmanager
def _quiet():
    # astype from complex to real on NumPy warns that it drops the imaginary part (the cast
    # the rule is checked against; the rule itself takes the real part first).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", np.exceptions.ComplexWarning)
        yield


def _run(entry, inputs, args):
    """The entry's forward on raw arrays: its result and its auxiliary values (or None)."""
    with _quiet():
        res = entry.call(RAW, inputs, args)
    return res if entry.aux else (res, None)


def _rule(entry, tangents, inputs, args):
    """The entry's rule on raw arrays (it runs the forward for ``out`` and ``aux``)."""
    with _quiet():
        return jvp_of(entry)(RAW, tangents, inputs, args)


def _forward(entry, inputs, args):
    return _run(entry, inputs, args)[0]


def _as_list(r):
    return [np.asarray(e) for e in r] if isinstance(r, tuple) else [np.asarray(r)]


def _cases():
    params = []
    for info in op_db():
        if not info.differentiable or (info.name not in ENTRIES and info.name != "asarray"):
            continue
        if info.name == "asarray":
            continue  # asarray of a Tensor: its entry (_asarray_tensor) is checked in a test below
        for dtype in ("float64", "complex128"):
            if dtype not in info.dtypes:
                continue
            for k, sample in enumerate(info.samples(np.random.default_rng(0), dtype)):
                params.append(pytest.param(info, k, dtype, id=f"{info.name}-{dtype}-{sample.name}"))
    return params


def _sample(info, k, dtype):
    return list(info.samples(np.random.default_rng(0), dtype))[k]


def _torch_sort_jvp(x, t, args):
    # (torch's forward AD warns of its deprecated torch.jit.script as it first loads)
    with warnings.catch_warnings(), fwAD.dual_level():
        warnings.simplefilter("ignore", DeprecationWarning)
        dual = fwAD.make_dual(torch.from_numpy(x), torch.from_numpy(t))
        y = torch.sort(dual, dim=args["axis"], descending=args["descending"], stable=True).values
        return fwAD.unpack_dual(y).tangent.numpy()


@pytest.mark.parametrize(("info", "k", "dtype"), _cases())
def test_rule_matches_finite_differences(info, k, dtype):
    rng = np.random.default_rng(1)
    sample = _sample(info, k, dtype)
    for entry, inputs, args in _calls(info, sample, dtype, rng):
        tangents = tuple(_tangent(v, rng) for v in inputs)
        got = _as_list(_rule(entry, tangents, inputs, args))
        out = _as_list(_forward(entry, inputs, args))
        eps = min((EPS[o.dtype.type] for o in out), default=1e-6)
        if info.name == "sort" and "ties" in sample.name:
            want = [_torch_sort_jvp(inputs[0], tangents[0], args)]
        else:
            plus = _as_list(_forward(entry, _shift(inputs, tangents, eps), args))
            minus = _as_list(_forward(entry, _shift(inputs, tangents, -eps), args))
            want = [(p - m) / (2 * eps) for p, m in zip(plus, minus, strict=True)]
        assert len(got) == len(want) == len(out)
        for g, w, o in zip(got, want, out, strict=True):
            assert g.shape == w.shape == o.shape
            assert g.dtype == o.dtype
            np.testing.assert_allclose(g, w, rtol=RTOL[o.dtype.type], atol=RTOL[o.dtype.type])


def _tensors(v):
    if type(v) is tuple:
        return tuple(_tensors(e) for e in v)
    if isinstance(v, np.ndarray):
        return NS.asarray(v)
    return v


@pytest.mark.parametrize(("info", "k", "dtype"), [p for p in _cases() if "float64" in p.id])
def test_rule_runs_on_the_namespace(info, k, dtype):
    # Forward mode runs each rule on Tensors (so that reverse-over-forward works): same values.
    rng = np.random.default_rng(2)
    for entry, inputs, args in _calls(info, _sample(info, k, dtype), dtype, rng):
        tangents = tuple(_tangent(v, rng) for v in inputs)
        raw = _as_list(_rule(entry, tangents, inputs, args))
        out, aux = _run(entry, inputs, args)
        out = tuple(NS.asarray(o) for o in out) if isinstance(out, tuple) else NS.asarray(out)
        aux = None if aux is None else dict(aux)
        got = jvp_of(entry)(NS, _tensors(tangents), _tensors(inputs), args, out=out, aux=aux)
        got = got if isinstance(got, tuple) else (got,)
        assert [type(g) for g in got] == [xpgrad.Tensor] * len(got)
        for g, w in zip(got, raw, strict=True):
            np.testing.assert_allclose(np.asarray(g.data), w, rtol=1e-12, atol=1e-12)


def test_asarray_of_a_tensor_is_linear():
    x = np.random.default_rng(3).standard_normal((2, 3))
    t = np.random.default_rng(4).standard_normal((2, 3))
    entry = _creation_functions._asarray_tensor
    args = {"dtype": None, "device": None, "copy": True}
    np.testing.assert_array_equal(_rule(entry, (t,), (x,), args), t)


def test_astype_complex_to_real_keeps_the_real_part_of_the_tangent():
    z = np.array([1.0 + 2.0j, -0.5j])
    t = np.array([0.25 - 1.0j, 3.0 + 4.0j])
    args = {"dtype": np.float64, "copy": True, "device": None}
    got = _rule(_data_type_functions._astype, (t,), (z,), args)
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, [0.25, 3.0])


def test_every_entry_of_these_modules_has_a_rule():
    assert all(entry.jvp is not None for entry in ENTRIES.values()), [
        name for name, entry in ENTRIES.items() if entry.jvp is None
    ]


def test_every_differentiable_op_of_these_modules_is_checked():
    names = {p.values[0].name for p in _cases()}
    assert set(ENTRIES) - {"asarray"} <= names, set(ENTRIES) - names
