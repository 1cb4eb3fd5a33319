"""What the pytest suites and ``xpgrad-conformance`` share: the backend under test, its known
differences, and the list of (case, check) items to run."""

from __future__ import annotations

import importlib
from fnmatch import fnmatchcase

from xpgrad.testing import CHECKS, Case, iter_cases, op_db
from xpgrad.testing._forward_runner import FORWARD_CHECKS
from xpgrad.testing._runner import FINITE_DIFFERENCES
from xpgrad.testing._runner import expected_failure as _expected_failure

from .known import load_known, load_known_tests

__all__ = [
    "BACKENDS",
    "checks_for",
    "expected_failure",
    "forward_checks_for",
    "forward_items",
    "forward_pytest_params",
    "items",
    "load_known",
    "load_known_tests",
    "mark_report",
    "pytest_params",
    "record_reference",
    "report_teststatus",
    "resolve_backend",
]

# Short names documented for --backend; any importable array API module path works too.
BACKENDS = ("numpy", "torch", "array_api_strict", "jax", "dask", "cupy")


def resolve_backend(name: str):
    """The xpgrad namespace over ``name`` (raises ValueError, TypeError or ImportError)."""
    import xpgrad  # the package, for xpgrad.namespace (this module is a part of it)

    if name in ("jax", "jax.numpy"):  # float64 and complex128 are checked too
        importlib.import_module("jax").config.update("jax_enable_x64", True)
    return xpgrad.namespace(name)


def checks_for(op) -> tuple[str, ...]:
    """The checks that apply to ``op``: forward only for a non-differentiable function."""
    if not op.differentiable:
        return ("forward",)
    return CHECKS if op.second_order else CHECKS[:2]


def forward_checks_for(op) -> tuple[str, ...]:
    """The forward-mode checks that apply to ``op``: none for a non-differentiable function;
    forward-over-reverse where second order is checked."""
    if not op.differentiable:
        return ()
    return FORWARD_CHECKS if op.second_order else FORWARD_CHECKS[:1]


def expected_failure(case: Case, check: str, backend: str, known=()) -> str | None:
    """The reason ``check`` of ``case`` is expected to fail on ``backend`` (the backend's known
    differences, then the OpInfo's and sample's xfail, each for this check kind only)."""
    return _expected_failure(case.op, case.sample, case.sample_name, check, case.dtype, backend, known)


def items(only=None, dtypes=None, checks=None) -> list[tuple[Case, str]]:
    """Every (case, check) to run. ``only``: function names or ``fnmatch`` patterns
    ("linalg.*"); ``dtypes`` and ``checks`` restrict those."""
    ops = op_db()
    if only:
        ops = [op for op in ops if any(fnmatchcase(op.name, pat) for pat in only)]
    out = []
    for case in iter_cases(ops, dtypes=dtypes):
        for check in checks_for(case.op):
            if checks is None or check in checks:
                out.append((case, check))
    return out


def forward_items(only=None, dtypes=None, checks=None) -> list[tuple[Case, str]]:
    """Every (case, forward-mode check) to run (issue 14), selected as :func:`items`."""
    ops = op_db()
    if only:
        ops = [op for op in ops if any(fnmatchcase(op.name, pat) for pat in only)]
    out = []
    for case in iter_cases(ops, dtypes=dtypes):
        for check in forward_checks_for(case.op):
            if checks is None or check in checks:
                out.append((case, check))
    return out


def _params(todo, backend_name: str, known) -> list:
    import pytest

    backend = resolve_backend(backend_name)._backend.name
    params = []
    for case, check in todo:
        reason = expected_failure(case, check, backend, known)
        marks = [pytest.mark.xfail(reason=reason, strict=True)] if reason is not None else []
        params.append(pytest.param(case, check, id=f"{case.id}-{check}", marks=marks))
    return params


def forward_pytest_params(backend_name: str, known=()) -> list:
    """One ``pytest.param(case, check)`` per forward-mode item, ids ``<op>-<dtype>-<sample>-<check>``;
    an expected failure (an entry for this very check: ``jvp`` or ``fwd_rev``) is a strict xfail
    with its reason."""
    return _params(forward_items(), backend_name, known)


def pytest_params(backend_name: str, known=()) -> list:
    """One ``pytest.param(case, check)`` per conformance item, ids ``<op>-<dtype>-<sample>-<check>``;
    an expected failure is a strict xfail with its reason. Shared by the installed plugin's suite
    and the clone's ``conformance/``."""
    return _params(items(), backend_name, known)


# The pytest outcome of a check compared with finite differences: a passing test, counted apart
# ("N checked against finite differences" in the summary line, "FD-CHECKED" with -v).
FD_CATEGORY = "checked against finite differences"
_KEY: list = []  # the pytest StashKey (pytest is imported on use)


def _reference_key():
    if not _KEY:
        import pytest

        _KEY.append(pytest.StashKey[str]())
    return _KEY[0]


def record_reference(request, result) -> None:
    """Record on the test item what the check of ``result`` was compared with (``request`` is
    pytest's fixture): :func:`report_teststatus` shows a pass against finite differences as its
    own outcome."""
    request.node.stash[_reference_key()] = result.reference


def mark_report(item, report) -> None:
    """In ``pytest_runtest_makereport``: copy the recorded reference to the report (an attribute,
    so that pytest-xdist carries it to the controller)."""
    reference = item.stash.get(_reference_key(), None)
    if reference is not None and report.when == "call":
        report.xpgrad_reference = reference


def report_teststatus(report):
    """``pytest_report_teststatus`` of the conformance suites: a passing check whose reference is
    finite differences (torch has none) is its own outcome."""
    if report.when == "call" and report.passed and not hasattr(report, "wasxfail"):
        if getattr(report, "xpgrad_reference", None) == FINITE_DIFFERENCES:
            return FD_CATEGORY, "d", "FD-CHECKED"
    return None
