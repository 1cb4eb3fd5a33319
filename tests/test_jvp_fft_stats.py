"""Forward-mode rules of the ``fft`` extension and the statistical functions, against central
finite differences.

For every registry sample of each op (float64, and complex128 where the registry samples the op
with complex inputs), the op's JVP rule (``xpgrad._optable.jvp_of``) runs on the NumPy backend
with random tangents (complex for complex inputs) and is compared with
``(f(x + eps t) - f(x - eps t)) / (2 eps)`` of the op's forward on raw NumPy arrays.
"""

from __future__ import annotations

import inspect
import warnings

import numpy as np
import pytest

import xpgrad
from xpgrad import _statistical_functions as stats
from xpgrad import fft as fft_module
from xpgrad._optable import jvp_of
from xpgrad.testing import iter_cases, op_db

torch = pytest.importorskip("torch")

XP = xpgrad.numpy
RAW = XP._xp  # the backend namespace the forwards run on

FFT_OPS = ("fft", "ifft", "rfft", "irfft", "hfft", "ihfft", "fftn", "ifftn", "rfftn", "irfftn")
STAT_OPS = ("sum", "mean", "var", "std", "max", "min", "prod", "cumulative_sum", "cumulative_prod")
ENTRIES = {f"fft.{n}": getattr(fft_module, n) for n in FFT_OPS + ("fftshift", "ifftshift")}
ENTRIES.update({n: getattr(stats, n) for n in STAT_OPS + ("bincount",)})

EPS = 1e-6
RTOL, ATOL = 1e-6, 1e-7

# Samples whose central difference is not the derivative (a kink), keyed "<op>/<sample>".
FD_XFAIL = {
    f"{name}/{sample}": (
        f"{k} tied extrema: the tangent is their mean (torch's amaxamin_jvp); a central difference "
        "gives (max + min) / 2 of their tangents, the mean only for two"
    )
    for name in ("max", "min")
    for sample, k in (("three_way_ties", "three"), ("all_equal", "four"))
}


def _cases():
    ops = [o for o in op_db() if o.name in ENTRIES]
    assert {o.name for o in ops} == set(ENTRIES)
    return iter_cases(ops, dtypes=("float64", "complex128"))


def _params(case):
    marks = []
    reason = FD_XFAIL.get(f"{case.op.name}/{case.sample_name}")
    if reason:
        marks.append(pytest.mark.xfail(strict=True, reason=reason))
    return pytest.param(case, id=case.id, marks=marks)


def _convert(v, dtype):
    """A sample value at ``dtype``'s precision; real arrays become complex under a complex
    ``dtype`` unless the sample holds complex arrays of its own (the registry's rule)."""
    if isinstance(v, np.ndarray) and v.dtype.kind in "fc":
        if dtype == "complex128" or v.dtype.kind == "c":
            return v.astype(np.complex128)
        return v.astype(np.float64)
    return v


def _inputs(case):
    """``(bound, diff)``: the sample's arguments bound to the forward's parameters by name, and
    the names of the differentiable ones that hold arrays."""
    entry = ENTRIES[case.op.name]
    s = case.sample
    has_complex = any(isinstance(a, np.ndarray) and a.dtype.kind == "c" for a in s.args)
    dt = "complex128" if has_complex or case.dtype == "complex128" else "float64"
    kwargs = {k: _convert(v, dt) for k, v in s.kwargs.items()}
    if isinstance(kwargs.get("dtype"), str):
        kwargs["dtype"] = getattr(RAW, kwargs["dtype"])
    names = list(inspect.signature(entry.forward).parameters)[1:]
    bound = dict(zip(names, (_convert(a, dt) for a in s.args)), **kwargs)
    return bound, [n for n in entry.grads if isinstance(bound.get(n), np.ndarray)]


def _forward(entry, bound):
    """The entry's forward on raw NumPy arrays (positional-only parameters passed by position)."""
    params = list(inspect.signature(entry.forward).parameters.values())[1:]
    pos = [bound[p.name] for p in params if p.kind is p.POSITIONAL_ONLY]
    kw = {p.name: bound[p.name] for p in params if p.kind is not p.POSITIONAL_ONLY and p.name in bound}
    return np.asarray(entry.forward(RAW, *pos, **kw))


@pytest.mark.parametrize("case", [_params(c) for c in _cases()])
def test_jvp_matches_central_differences(case):
    entry = ENTRIES[case.op.name]
    bound, diff = _inputs(case)
    rng = np.random.default_rng(12345)
    tangents = {}
    for n in diff:
        x = bound[n]
        t = rng.standard_normal(x.shape)
        if x.dtype.kind == "c":
            t = t + 1j * rng.standard_normal(x.shape)
        tangents[n] = t.astype(x.dtype)
    plus = dict(bound, **{n: bound[n] + EPS * t for n, t in tangents.items()})
    minus = dict(bound, **{n: bound[n] - EPS * t for n, t in tangents.items()})
    expected = (_forward(entry, plus) - _forward(entry, minus)) / (2 * EPS)
    got = jvp_of(entry)(XP, bound, tangents)
    got = np.asarray(got.detach().data if hasattr(got, "detach") else got)
    assert got.shape == expected.shape
    assert got.dtype == _forward(entry, bound).dtype
    np.testing.assert_allclose(got, expected, rtol=RTOL, atol=ATOL * (1 + np.abs(expected).max(initial=0)))


# -- the statistical rules against torch's forward mode (ties, zeros, kinks) ----------------------


def _torch_params():
    out = []
    for case in _cases():
        if case.op.name not in STAT_OPS:
            continue
        out.append(pytest.param(case, id=case.id))
    return out


@pytest.mark.parametrize("case", _torch_params())
def test_statistical_jvp_matches_torch_forward_ad(case):
    import array_api_compat.torch as txp
    import torch.autograd.forward_ad as fwad

    entry = ENTRIES[case.op.name]
    bound, diff = _inputs(case)
    assert diff == ["x"]
    x = bound["x"]
    rng = np.random.default_rng(54321)
    t = rng.standard_normal(x.shape)
    if x.dtype.kind == "c":
        t = t + 1j * rng.standard_normal(x.shape)
    got = jvp_of(entry)(XP, bound, {"x": t.astype(x.dtype)})
    got = np.asarray(got.detach().data if hasattr(got, "detach") else got)
    kwargs = dict(case.sample.kwargs)
    with warnings.catch_warnings():
        # torch's first forward-mode call scripts its jvp decompositions (torch.jit.script
        # is deprecated in torch 2.13: a DeprecationWarning from torch's own code).
        warnings.simplefilter("ignore", DeprecationWarning)
        from torch._decomp import decompositions_for_jvp  # noqa: F401
    with fwad.dual_level():
        dual = fwad.make_dual(torch.from_numpy(np.array(x)), torch.from_numpy(np.array(t.astype(x.dtype))))
        res = case.op.call_torch(txp, dual, *case.sample.args[1:], **kwargs)
        expected = fwad.unpack_dual(res).tangent
        expected = np.zeros(tuple(res.shape), dtype=got.dtype) if expected is None else expected.numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)
