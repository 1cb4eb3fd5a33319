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

import functools

import numpy as np
import pytest

import xpgrad
from xpgrad import _statistical_functions as _stats
from xpgrad import special as _special
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
# caught wherever its magnitude exceeds 1.1e-3 (test_a_planted_error_is_caught below).
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


# -- resolution: where torch has no derivative, finite differences catch a 1e-6 error -------------

PLANTED = {
    "special.j0": lambda: _special.j0,
    "special.kl_div": lambda: _special.kl_div,
    "bincount": lambda: _stats.bincount,
}


def _bias(order, eps=1e-6):
    """A VJP's result ``(1 + eps)`` times too large (first order), or with only its derivatives
    so (second order: ``v + eps (v - detach(v))``, the value unchanged)."""

    def bias(v):
        if v is None:
            return v
        if order == "first":
            return v * (1 + eps)
        return v + (v - v.detach()) * eps if hasattr(v, "detach") else v

    return bias


@pytest.mark.parametrize("order", ["first", "second"])
@pytest.mark.parametrize("name", list(PLANTED))
def test_a_planted_error_is_caught(name, order, monkeypatch):
    """Functions torch cannot differentiate (a Bessel function, a divergence, bincount's weights):
    a relative error of 1e-6 planted into the VJP fails gradcheck (first order) or gradgradcheck
    (second order only; gradcheck still passes) on every sample."""
    entry = PLANTED[name]()
    bias = _bias(order)

    def biased(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            out = fn(*args, **kwargs)
            return tuple(bias(v) for v in out) if isinstance(out, tuple) else bias(out)

        return wrapper

    monkeypatch.setattr(entry, "grads", [gr._replace(vjp=biased(gr.vjp)) for gr in entry.grads])
    monkeypatch.setattr(entry, "_plans", {})
    params = [p for p in _params() if p.values[0].op.name == name and p.values[1] == "numpy" and not p.marks]
    caught = {"gradcheck": [], "gradgradcheck": []}
    for p in params:
        case, backend, check = p.values
        if case.dtype != "float64":
            continue
        try:
            test_finite_differences(case, backend, check)
            caught[check].append(False)
        except xpgrad.GradcheckError:
            caught[check].append(True)
    failing = "gradcheck" if order == "first" else "gradgradcheck"
    assert caught[failing] and all(caught[failing]), (name, order, caught)
    if order == "second":
        assert not any(caught["gradcheck"]), (name, caught)
