"""Every OpInfo sample x dtype x check against torch.autograd, one pytest test each
(``pytest --pyargs xpgrad.conformance --xpgrad-backend NAME``). Ids read ``<op>-<dtype>-<sample>-<check>``.
Known differences are strict xfails with their reason, as in ``xpgrad-conformance``."""

from __future__ import annotations

from xpgrad.testing import assert_check

from ._suite import pytest_params
from .plugin import backend_name, known_differences


def pytest_generate_tests(metafunc):
    if "case" not in metafunc.fixturenames:
        return
    params = pytest_params(backend_name(metafunc.config), known_differences(metafunc.config))
    metafunc.parametrize(("case", "check"), params)


def test_conformance(case, check, xpgrad_conformance_namespace):
    xp = xpgrad_conformance_namespace
    assert_check(case.op, case.sample, case.dtype, xp, check, sample_name=case.sample_name)
