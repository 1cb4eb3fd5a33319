"""Every OpInfo sample x dtype x check against torch.autograd (see xpgrad.testing._runner).

Ids read ``<op>-<dtype>-<sample>-<check>``, e.g. ``sin-float64-0d-first``. An OpInfo's or
sample's xfail entry, or an entry of the backend's known differences (``src/xpgrad/conformance/known/``),
becomes ``xfail(strict=True)`` with its reason: a known difference that goes away fails the run,
so the entry gets removed. Where torch has no derivative (``fd_reference``), the check compares
with finite differences and a pass shows as "checked against finite differences"; a check that
needs a library that is not installed (SciPy for ``special`` on NumPy) is skipped, with the
install command.
"""

from __future__ import annotations

from xpgrad.conformance._suite import pytest_params, record_reference
from xpgrad.testing import assert_check

from .conftest import backend_name, known_differences


def pytest_generate_tests(metafunc):
    if "case" not in metafunc.fixturenames:
        return
    params = pytest_params(backend_name(metafunc.config), known_differences(metafunc.config))
    metafunc.parametrize(("case", "check"), params)


def test_conformance(case, check, xp, request):
    r = assert_check(case.op, case.sample, case.dtype, xp, check, sample_name=case.sample_name)
    record_reference(request, r)
