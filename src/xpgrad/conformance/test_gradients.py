"""Every OpInfo sample x dtype x check against torch.autograd, one pytest test each
(``pytest --pyargs xpgrad.conformance --xpgrad-backend NAME``). Ids read ``<op>-<dtype>-<sample>-<check>``.
Known differences are strict xfails with their reason, as in ``xpgrad-conformance``."""

from __future__ import annotations

import pytest

from xpgrad.testing import assert_check

from ._suite import expected_failure, items, resolve_backend
from .plugin import backend_name, known_differences


def pytest_generate_tests(metafunc):
    if "case" not in metafunc.fixturenames:
        return
    backend = resolve_backend(backend_name(metafunc.config))._backend.name
    known = known_differences(metafunc.config)
    params = []
    for case, check in items():
        reason = expected_failure(case, check, backend, known)
        marks = (
            [pytest.mark.xfail(reason=reason, strict=not reason.startswith("not strict: "))]
            if reason is not None
            else []
        )
        params.append(pytest.param(case, check, id=f"{case.id}-{check}", marks=marks))
    metafunc.parametrize(("case", "check"), params)


def test_conformance(case, check, xpgrad_conformance_namespace):
    xp = xpgrad_conformance_namespace
    assert_check(case.op, case.sample, case.dtype, xp, check, sample_name=case.sample_name)
