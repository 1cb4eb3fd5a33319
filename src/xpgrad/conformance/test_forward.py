"""Forward mode (issue 14), one pytest test per OpInfo sample x dtype x forward-mode check
(``jvp``, ``fwd_rev``) against torch (``pytest --pyargs xpgrad.conformance --xpgrad-backend NAME``).
A function without a forward-mode rule fails; known differences are strict xfails of their own
(per check); where torch has no derivative, finite differences are the reference."""

from __future__ import annotations

from xpgrad.testing import assert_check

from ._suite import forward_pytest_params, record_reference
from .plugin import backend_name, known_differences


def pytest_generate_tests(metafunc):
    if "case" not in metafunc.fixturenames:
        return
    params = forward_pytest_params(backend_name(metafunc.config), known_differences(metafunc.config))
    metafunc.parametrize(("case", "check"), params)


def test_forward_mode(case, check, xpgrad_conformance_namespace, request):
    xp = xpgrad_conformance_namespace
    r = assert_check(case.op, case.sample, case.dtype, xp, check, sample_name=case.sample_name)
    record_reference(request, r)
