"""Every differentiable OpInfo sample against finite differences (xpgrad.gradcheck and, for ops
with second_order, xpgrad.gradgradcheck), on NumPy and array-api-strict, in float64 and
complex128: Richardson-extrapolated central differences (one-sided at the edge of a domain), at a
tolerance that catches a 1e-6 relative error. For the functions torch cannot differentiate
(special functions without torch derivative, ``floor_divide``, ``bincount``'s weights) this is the
reference of the gradients.

Known differences are strict ``xfail`` entries ("gradcheck"/"gradgradcheck") of the OpInfo or
sample, with a reason (a point where finite differences do not apply: a tie, a kink, a jump).
"""

from __future__ import annotations

import numpy as np
import pytest

import xpgrad
from xpgrad.testing import iter_cases, op_db, seed_for
from xpgrad.testing._runner import _xpgrad_inputs, find_xfail

BACKENDS = ("numpy", "array_api_strict")
DTYPES = ("float64", "complex128")
# Finite differences cost four to sixteen evaluations per input element (twice that for complex,
# and gradgradcheck adds the cotangents): beyond this many elements a sample is too slow here.
MAX_ELEMENTS = 64
# Richardson-extrapolated differences (xpgrad.gradcheck's method="richardson") are accurate to
# about 1e-10 relative on these samples (8e-9 at worst: ellipk's second order near 0), so an
# element passes within RTOL (and ATOL for gradients near 0): a gradient 1e-6 off relative is
# caught wherever its magnitude exceeds 1.1e-3 (tests/test_resolution.py plants such errors).
RTOL = 1e-7
ATOL = 1e-9
FD = {"method": "richardson", "rtol": RTOL, "atol": ATOL, "fast_mode": True, "check_grad_dtypes": True}
# A sample with an output in single precision (astype to float32): its rounding (6e-8 relative)
# divided by the steps limits the differences to about 3e-5.
SINGLE = {"rtol": 1e-4, "atol": 1e-6}


def _size(sample) -> int:
    n = 0

    def count(v):
        nonlocal n
        if isinstance(v, np.ndarray) and v.dtype.kind in "fc":
            n += v.size
        elif isinstance(v, (list, tuple)):
            for w in v:
                count(w)

    for v in list(sample.args) + list(sample.kwargs.values()):
        count(v)
    return n


def _params():
    params = []
    cases = iter_cases([op for op in op_db() if op.differentiable], dtypes=DTYPES)
    for case in cases:
        checks = ("gradcheck", "gradgradcheck") if case.op.second_order else ("gradcheck",)
        for backend in BACKENDS:
            for check in checks:
                marks = []
                reason = find_xfail(case.op, case.sample, check, case.dtype, backend)
                if reason is not None:
                    marks.append(pytest.mark.xfail(reason=reason, strict=True))
                params.append(
                    pytest.param(case, backend, check, id=f"{case.id}-{backend}-{check}", marks=marks)
                )
    return params


@pytest.mark.parametrize(("case", "backend", "check"), _params())
def test_finite_differences(case, backend, check):
    ns = xpgrad.namespace(backend)
    op = case.op
    inputs = _xpgrad_inputs(case.sample, case.dtype, ns, differentiate=True)
    # Registry rules, enforced rather than skipped: samples stay small enough for finite
    # differences, and a differentiable op's sample differentiates something.
    assert _size(case.sample) <= MAX_ELEMENTS, f"sample over {MAX_ELEMENTS} elements: make it smaller"
    assert inputs.leaves, "sample has no differentiable input: mark the OpInfo or sample differently"
    # gradcheck perturbs positional Tensors: the leaves become the arguments of a closure that
    # puts them back where the sample has them (also inside lists and keyword arguments).
    leaf_ids = [id(t) for t in inputs.leaves]

    def substitute(value, leaves):
        if isinstance(value, list):
            return [substitute(v, leaves) for v in value]
        if isinstance(value, tuple):
            return tuple(substitute(v, leaves) for v in value)
        if id(value) in leaf_ids:
            return leaves[leaf_ids.index(id(value))]
        return value

    def fn(*leaves):
        args = substitute(inputs.args, leaves)
        kwargs = {k: substitute(v, leaves) for k, v in inputs.kwargs.items()}
        result = op.call(ns, *args, **kwargs)
        if op.output is not None:
            result = op.output(ns, result)
        if isinstance(result, list):
            result = tuple(result)
        return result

    seed = seed_for(op.name, case.sample_name, case.dtype, backend, check)
    outputs = fn(*inputs.leaves)
    single = any(
        o.dtype in (ns.float32, ns.complex64) for o in (outputs if isinstance(outputs, tuple) else (outputs,))
    )
    options = {**FD, **SINGLE} if single else FD
    if check == "gradcheck":
        xpgrad.gradcheck(fn, tuple(inputs.leaves), seed=seed, **options)
    else:
        xpgrad.gradgradcheck(fn, tuple(inputs.leaves), seed=seed, **options)
