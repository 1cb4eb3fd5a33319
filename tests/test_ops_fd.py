"""Every differentiable OpInfo sample against central finite differences (xpgrad.gradcheck and,
for ops with second_order, xpgrad.gradgradcheck), on NumPy and array-api-strict, in float64 and
complex128.

Known differences are ``xfail`` entries ("gradcheck"/"gradgradcheck") of the OpInfo or sample,
with a reason; samples too large for finite differences are skipped with a reason.
"""

from __future__ import annotations

import fnmatch

import numpy as np
import pytest

import xpgrad
from xpgrad.testing import iter_cases, op_db, seed_for
from xpgrad.testing._runner import _xpgrad_inputs, find_xfail

BACKENDS = ("numpy", "array_api_strict")
DTYPES = ("float64", "complex128")
# Finite differences cost two evaluations per input element (four for complex, and gradgradcheck
# adds the cotangents): beyond this many elements a sample is too slow for this file.
MAX_ELEMENTS = 64


# Points where finite differences do not apply, in sample files whose OpInfos do not list
# gradcheck xfails yet (fnmatch patterns on "<op>-<dtype>-<sample>-<backend>-<check>").
# Move an entry into the sample's ``xfail`` when its file is next edited. These xfails are not
# strict: at a point of non-differentiability central differences may agree by accident.
FD_NOT_APPLICABLE = {
    "sort-*-ties*-*-*": "sort at ties: central differences average the two orders of the tied "
    "elements; torch (and xpgrad) route each gradient through one stable order",
    "linalg.vector_norm-*-zero_vector*-*-gradgradcheck": "the norm's gradient jumps at the zero "
    "vector: central differences of it blow up",
    "linalg.vector_norm-*-ties*-*-gradgradcheck": "the inf-norm's gradient jumps at a tie: central "
    "differences of it may blow up",
    "linalg.matrix_norm-*-ties*-*-gradgradcheck": "the 1/inf-norm's gradient jumps at a tie: central "
    "differences of it may blow up",
}


def _not_applicable(test_id):
    for pattern, reason in FD_NOT_APPLICABLE.items():
        if fnmatch.fnmatchcase(test_id, pattern):
            return reason
    return None


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
                test_id = f"{case.id}-{backend}-{check}"
                reason = find_xfail(case.op, case.sample, check, case.dtype, backend)
                not_applicable = _not_applicable(test_id)
                if reason is not None:
                    marks.append(
                        pytest.mark.xfail(reason=reason, strict=not reason.startswith("not strict: "))
                    )
                elif not_applicable is not None:
                    marks.append(pytest.mark.xfail(reason=not_applicable, strict=False))
                params.append(pytest.param(case, backend, check, id=test_id, marks=marks))
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
    if check == "gradcheck":
        xpgrad.gradcheck(fn, tuple(inputs.leaves), fast_mode=True, check_grad_dtypes=True, seed=seed)
    else:
        xpgrad.gradgradcheck(fn, tuple(inputs.leaves), fast_mode=True, check_grad_dtypes=True, seed=seed)
