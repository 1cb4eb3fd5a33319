"""Forward-mode rules of the ``fft`` extension and the statistical functions, against central
finite differences.

For every registry sample of each op (float64, and complex128 where the registry samples the op
with complex inputs), the op's JVP rule (``xpgrad._optable.jvp_of``) runs on the NumPy backend
with random tangents (complex for complex inputs) and is compared with
``(f(x + eps t) - f(x - eps t)) / (2 eps)`` of the op's forward on raw NumPy arrays; and with
the tangent torch's forward mode (``torch.autograd.forward_ad``) gives for the same program.
"""

from __future__ import annotations

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
    """``(inputs, args)`` for the entry: one value per differentiable input, and every other
    parameter by name (the sample's value or the default)."""
    entry = ENTRIES[case.op.name]
    s = case.sample
    has_complex = any(isinstance(a, np.ndarray) and a.dtype.kind == "c" for a in s.args)
    dt = "complex128" if has_complex or case.dtype == "complex128" else "float64"
    bound = {p.name: p.default for p in entry.params}
    bound.update(zip((p.name for p in entry.params), (_convert(a, dt) for a in s.args)))
    bound.update((k, _convert(v, dt)) for k, v in s.kwargs.items())
    if isinstance(bound.get("dtype"), str):
        bound["dtype"] = getattr(RAW, bound["dtype"])
    inputs = tuple(bound.pop(n) for n in entry.inputs)
    return inputs, bound


def _tangents(rng, inputs):
    out = []
    for x in inputs:
        t = rng.standard_normal(x.shape)
        if x.dtype.kind == "c":
            t = t + 1j * rng.standard_normal(x.shape)
        out.append(t.astype(x.dtype))
    return tuple(out)


def _forward(entry, inputs, args):
    res = entry.call(RAW, inputs, args)
    return np.asarray(res[0] if entry.aux else res)  # (result, aux values) for r2c transforms


@pytest.mark.parametrize("case", [_params(c) for c in _cases()])
def test_jvp_matches_central_differences(case):
    entry = ENTRIES[case.op.name]
    inputs, args = _inputs(case)
    tangents = _tangents(np.random.default_rng(12345), inputs)
    plus = tuple(x + EPS * t for x, t in zip(inputs, tangents))
    minus = tuple(x - EPS * t for x, t in zip(inputs, tangents))
    expected = (_forward(entry, plus, args) - _forward(entry, minus, args)) / (2 * EPS)
    out = _forward(entry, inputs, args)
    tol = {"rtol": RTOL, "atol": ATOL * (1 + np.abs(expected).max(initial=0))}
    # On raw arrays (the backend namespace) ...
    got = np.asarray(jvp_of(entry)(RAW, tangents, inputs, args))
    assert got.shape == expected.shape and got.dtype == out.dtype
    np.testing.assert_allclose(got, expected, **tol)
    # ... and on Tensors (the xpgrad namespace, as forward mode runs it).
    tin = tuple(XP.asarray(x) for x in inputs)
    res = jvp_of(entry)(XP, tuple(XP.asarray(t) for t in tangents), tin, args, out=XP.asarray(out))
    assert type(res) is xpgrad.Tensor and res.dtype == out.dtype
    np.testing.assert_allclose(np.asarray(res.data), expected, **tol)


# -- against torch's forward mode (ties, zeros, kinks; torch's c2r/r2c conventions) -------------


def _torch_params():
    # torch.bincount has no derivative in its weights (docs/deviations.md).
    return [pytest.param(c, id=c.id) for c in _cases() if c.op.name != "bincount"]


@pytest.mark.parametrize("case", _torch_params())
def test_jvp_matches_torch_forward_ad(case):
    import array_api_compat.torch as txp
    import torch.autograd.forward_ad as fwad

    entry = ENTRIES[case.op.name]
    inputs, args = _inputs(case)
    (x,) = inputs
    (t,) = _tangents(np.random.default_rng(54321), inputs)
    got = np.asarray(jvp_of(entry)(RAW, (t,), inputs, args))
    kwargs = dict(case.sample.kwargs)
    with warnings.catch_warnings():
        # torch's first forward-mode call scripts its jvp decompositions (torch.jit.script
        # is deprecated in torch 2.13: a DeprecationWarning from torch's own code).
        warnings.simplefilter("ignore", DeprecationWarning)
        from torch._decomp import decompositions_for_jvp  # noqa: F401
    with fwad.dual_level():
        dual = fwad.make_dual(torch.from_numpy(np.array(x)), torch.from_numpy(np.array(t)))
        res = case.op.call_torch(txp, dual, *case.sample.args[1:], **kwargs)
        expected = fwad.unpack_dual(res).tangent
        expected = (
            np.zeros(tuple(res.shape), dtype=got.dtype)
            if expected is None
            else expected.resolve_conj().numpy()
        )
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)
