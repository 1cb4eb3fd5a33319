"""What the pytest suites and ``xpgrad-conformance`` share: the backend under test, its known
differences, and the list of (case, check) items to run."""

from __future__ import annotations

import importlib
from fnmatch import fnmatchcase

from xpgrad.testing import CHECKS, Case, find_known, find_xfail, iter_cases, op_db

from .known import load_known, load_known_tests

__all__ = [
    "BACKENDS",
    "checks_for",
    "expected_failure",
    "items",
    "load_known",
    "load_known_tests",
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


def expected_failure(case: Case, check: str, backend: str, known=()) -> str | None:
    """The reason ``check`` of ``case`` is expected to fail on ``backend`` (OpInfo, then known)."""
    reason = find_xfail(case.op, case.sample, check, case.dtype, backend)
    if reason is None:
        reason = find_known(known, case.op.name, case.sample_name, case.dtype, check)
    return reason


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


def pytest_params(backend_name: str, known=()) -> list:
    """One ``pytest.param(case, check)`` per conformance item, ids ``<op>-<dtype>-<sample>-<check>``;
    an expected failure is a strict xfail with its reason (``"not strict: ..."`` ones are not
    strict). Shared by the installed plugin's suite and the clone's ``conformance/``."""
    import pytest

    backend = resolve_backend(backend_name)._backend.name
    params = []
    for case, check in items():
        reason = expected_failure(case, check, backend, known)
        marks = (
            [pytest.mark.xfail(reason=reason, strict=not reason.startswith("not strict: "))]
            if reason is not None
            else []
        )
        params.append(pytest.param(case, check, id=f"{case.id}-{check}", marks=marks))
    return params
