"""Every OpInfo sample x dtype x check against torch.autograd (see xpgrad.testing._runner).

Ids read ``<op>-<dtype>-<sample>-<check>``, e.g. ``sin-float64-0d-first``. An OpInfo's or
sample's xfail entry becomes ``xfail(strict=True)`` with its reason: a known difference that
goes away fails the run, so the entry gets removed.
"""

from __future__ import annotations

import pytest

from xpgrad.testing import CHECKS, assert_check, find_xfail, iter_cases, op_db


def _checks(op):
    if not op.differentiable:
        return ("forward",)
    return CHECKS if op.second_order else CHECKS[:2]


def _backend_short_name(name: str) -> str:
    import xpgrad

    return xpgrad.namespace(name)._backend.name


def pytest_generate_tests(metafunc):
    if "case" not in metafunc.fixturenames:
        return
    backend = _backend_short_name(metafunc.config.getoption("--backend"))
    params = []
    for case in iter_cases(op_db()):
        for check in _checks(case.op):
            reason = find_xfail(case.op, case.sample, check, case.dtype, backend)
            marks = (
                [pytest.mark.xfail(reason=reason, strict=not reason.startswith("not strict: "))]
                if reason is not None
                else []
            )
            params.append(pytest.param(case, check, id=f"{case.id}-{check}", marks=marks))
    metafunc.parametrize(("case", "check"), params)


def test_conformance(case, check, xp):
    assert_check(case.op, case.sample, case.dtype, xp, check, sample_name=case.sample_name)
