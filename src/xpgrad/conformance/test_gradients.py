"""Every OpInfo sample x dtype x check against torch.autograd, one pytest test each
(``pytest --pyargs xpgrad.conformance --xpgrad-backend NAME``). Ids read ``<op>-<dtype>-<sample>-<check>``.
Known differences are strict xfails with their reason, as in ``xpgrad-conformance``; a check
against finite differences (torch has no derivative) passes as "checked against finite
differences"; one that needs a library that is not installed is skipped with the install command."""

from __future__ import annotations

from xpgrad.testing import assert_check

from ._suite import pytest_params, record_reference
from .plugin import backend_name, known_differences


def pytest_generate_tests(metafunc):
    if "case" not in metafunc.fixturenames:
        return
    params = pytest_params(backend_name(metafunc.config), known_differences(metafunc.config))
    metafunc.parametrize(("case", "check"), params)


def test_conformance(case, check, xpgrad_conformance_namespace, request):
    xp = xpgrad_conformance_namespace
    r = assert_check(case.op, case.sample, case.dtype, xp, check, sample_name=case.sample_name)
    record_reference(request, r)
