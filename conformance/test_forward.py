"""Forward mode (issue 14): every OpInfo sample x dtype against torch's forward AD, first order
(``jvp``: the tangents of the outputs) and forward-over-reverse (``fwd_rev``: the tangents of a
VJP computed inside the dual level), by ``xpgrad.testing.run_check``. See
``xpgrad.testing._forward_runner``.

Ids read ``<op>-<dtype>-<sample>-<check>``. Known differences are entries for the check itself
(``jvp`` or ``fwd_rev``, never inherited from ``first``/``second``): strict xfails with their own
reasons. Where torch has no derivative (``fd_reference``) the reference is finite differences
("checked against finite differences"). An op without a forward rule fails;
``test_forward_rule_coverage`` lists them all.
"""

from __future__ import annotations

from xpgrad.conformance._suite import forward_pytest_params, record_reference
from xpgrad.testing import assert_check, iter_cases, op_db, run_check

from .conftest import backend_name, known_differences


def pytest_generate_tests(metafunc):
    if "case" not in metafunc.fixturenames:
        return
    params = forward_pytest_params(backend_name(metafunc.config), known_differences(metafunc.config))
    metafunc.parametrize(("case", "check"), params)


def test_forward_mode(case, check, xp, request):
    r = assert_check(case.op, case.sample, case.dtype, xp, check, sample_name=case.sample_name)
    record_reference(request, r)


def test_forward_rule_coverage(xp):
    """Every differentiable function has a forward rule (checked on the first float64 sample of
    each, or its first dtype)."""
    missing = []
    for op in op_db():
        if not op.differentiable:
            continue
        dtype = "float64" if "float64" in op.dtypes else op.dtypes[0]
        cases = iter_cases([op], dtypes=(dtype,))
        if not cases:
            continue
        c = cases[0]
        r = run_check(op, c.sample, c.dtype, xp, "jvp", sample_name=c.sample_name, apply_xfail=False)
        if r.status == "norule":
            missing.append(op.name)
    assert not missing, f"functions without a forward rule: {', '.join(missing)}"
