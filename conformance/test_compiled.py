"""The compiled column: every OpInfo sample, recorded by ``xpgrad.compile`` and replayed on fresh
inputs of the same shapes, equals eager (values and first-order gradients, bitwise). It runs
when the suite runs on NumPy (the default ``--backend``).

Ids read ``<op>-<dtype>-<sample>-compiled``. A sample the recorder cannot replay (a result whose
shape depends on the values) runs eagerly and passes as such; a known difference is a strict
xfail with its reason (``KNOWN`` below); complex 0-d samples are compared to 4 ulp
(``_scalar_math``). NumPy only: the recorder records NumPy's calls.
"""

from __future__ import annotations

import numpy as np
import pytest

import xpgrad
from xpgrad.testing import op_db
from xpgrad.testing._runner import _as_list, _random, _xpgrad_inputs, iter_cases, seed_for

from .conftest import backend_name


# Samples whose eager values NumPy computes on Python/NumPy complex *scalars* (0-d inputs give
# scalar results), while the replay keeps 0-d arrays: the two take different loops, which may
# round the last bit differently (depending on the CPU's SIMD kernels). Compared to 4 ulp, not
# bitwise, so the check holds on every machine.
def _scalar_math(case_id: str) -> bool:
    return case_id.endswith("-complex128-0d")


KNOWN: dict[str, str] = {}  # id (without "-compiled") -> why the replay differs from eager


DTYPES = ("float64", "complex128")


def _cases():
    out = []
    for case in iter_cases(op_db(), dtypes=DTYPES):
        reason = KNOWN.get(case.id)
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
        out.append(pytest.param(case, id=f"{case.id}-compiled", marks=marks))
    return out


def _perturbed(sample, seed):
    """The sample with its floating arrays moved slightly (same shapes, dtypes, structure)."""
    rng = np.random.default_rng(seed)

    def move(v):
        if isinstance(v, np.ndarray) and v.dtype.kind in "fc" and v.size:
            return np.asarray(v + (1e-3 * (np.abs(v) + 1) * rng.standard_normal(v.shape)).astype(v.dtype))
        if isinstance(v, (list, tuple)):
            return type(v)(move(e) for e in v)
        return v

    from dataclasses import replace

    return replace(sample, args=move(sample.args), kwargs={k: move(v) for k, v in sample.kwargs.items()})


def _leaves(obj, out):
    if isinstance(obj, xpgrad.Tensor):
        if obj.requires_grad:
            out.append(obj)
    elif isinstance(obj, (list, tuple)):
        for e in obj:
            _leaves(e, out)
    elif isinstance(obj, dict):
        for e in obj.values():
            _leaves(e, out)
    return out


def _step(op, ns):
    def step(args, kwargs, cots):
        res = op.call(ns, *args, **kwargs)
        outs = _as_list(op.output(ns, res) if op.output is not None else res)
        diff = [x for x in outs if isinstance(x, xpgrad.Tensor) and x.requires_grad]
        leaves = _leaves((args, kwargs), [])
        grads = []
        if diff and leaves and cots is not None:
            grads = xpgrad.grad(diff, leaves, cots[: len(diff)], allow_unused=True)
        return [x.detach() if isinstance(x, xpgrad.Tensor) else x for x in outs], list(grads)

    return step


def _numpy(obj):
    if isinstance(obj, xpgrad.Tensor):
        return np.asarray(obj.detach()._data)
    return obj


def pytest_generate_tests(metafunc):
    if "case" not in metafunc.fixturenames:
        return
    # NumPy's column only: on another backend (--backend) the recorder runs eagerly by design
    cases = _cases() if backend_name(metafunc.config) == "numpy" else []
    metafunc.parametrize("case", cases)


def test_compiled_equals_eager(case):
    op, sample, dtype = case.op, case.sample, case.dtype
    ns = xpgrad.numpy
    step = _step(op, ns)
    seed = seed_for(case.id, "compiled")
    with np.errstate(all="ignore"):
        samples = [sample, _perturbed(sample, seed)]
    inputs = [_xpgrad_inputs(s, dtype, ns, differentiate=op.differentiable) for s in samples]
    with np.errstate(all="ignore"):
        try:
            outs, _ = step(inputs[0].args, inputs[0].kwargs, None)
        except Exception as exc:  # noqa: BLE001 - a sample that raises eagerly has nothing to compare
            pytest.skip(f"the sample raises eagerly: {type(exc).__name__}")
        rng = np.random.default_rng(seed)
        cots = [
            ns.asarray(_random(rng, tuple(x.shape), np.asarray(x._data).dtype))
            for x in outs
            if isinstance(x, xpgrad.Tensor) and ns._is_differentiable_dtype(x.dtype)
        ]
        try:
            step(inputs[1].args, inputs[1].kwargs, cots)
        except Exception as exc:  # noqa: BLE001 - e.g. a derivative that is not implemented
            pytest.skip(f"the sample's gradient raises eagerly: {type(exc).__name__}")
        compiled = xpgrad.compile(step)
        for inp in inputs:
            compiled(inp.args, inp.kwargs, cots)
        fresh = _xpgrad_inputs(samples[1], dtype, ns, differentiate=op.differentiable)
        got = compiled(fresh.args, fresh.kwargs, cots)
        want = step(inputs[1].args, inputs[1].kwargs, cots)
    if compiled.stats["replayed"] == 0:
        assert compiled.stats["eager"] > 0 or compiled.variants[0].eager_reason, compiled.explain()
    for g, w in zip(got[0] + got[1], want[0] + want[1]):
        gn, wn = _numpy(g), _numpy(w)
        if isinstance(wn, np.ndarray) and _scalar_math(case.id):
            eps = np.finfo(wn.dtype).eps
            np.testing.assert_allclose(gn, wn, rtol=4 * eps, atol=0)
            assert gn.dtype == wn.dtype and gn.shape == wn.shape
        elif isinstance(wn, np.ndarray):
            np.testing.assert_array_equal(gn, wn)
            assert gn.dtype == wn.dtype and gn.shape == wn.shape
        else:
            assert gn == wn or (gn is None and wn is None)
