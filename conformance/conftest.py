"""pytest options of the conformance suite: ``--backend`` picks the array library under test,
``--known PATH`` adds a file of known differences (see ``src/xpgrad/conformance/known/``). The
test selection (the quick default, ``--full``, ``--subset N``) is the repository's conftest.py."""

from __future__ import annotations

import re
from fnmatch import fnmatchcase
from pathlib import Path

import pytest

from xpgrad.conformance._suite import (
    load_known,
    load_known_tests,
    mark_report,
    report_teststatus,
    resolve_backend,
)

_HERE = Path(__file__).parent


def pytest_addoption(parser):
    parser.addoption(
        "--backend",
        default="numpy",
        help="array library under test: numpy (default), torch, array_api_strict, jax, dask, cupy, "
        "any importable array API module, module:attr or module:factory(args)",
    )
    parser.addoption(
        "--to-numpy",
        default=None,
        metavar="MODULE:FUNCTION",
        help="a function making a NumPy array of one of the backend's arrays (where DLPack and "
        "__array__ cannot read them)",
    )
    parser.addoption(
        "--known",
        action="append",
        default=[],
        metavar="PATH",
        help="a Python file defining KNOWN = [KnownDifference(...), ...] for the backend under test "
        "(added to xpgrad/conformance/known/<backend>.py); may be repeated",
    )


def backend_name(config) -> str:
    return config.getoption("--backend")


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "needs(capability, reason): the test relies on a backend capability (an attribute of "
        "xpgrad's Backend: 'mutable', 'aliases'); on a backend without it the test is a strict "
        "xfail with that reason",
    )
    name = backend_name(config)
    try:
        resolve_backend(name, to_numpy=config.getoption("--to-numpy"))
    except (ValueError, TypeError, ImportError) as exc:
        raise pytest.UsageError(f"--backend {name!r}: {exc}") from None


_DROPPED = pytest.StashKey[list]()


def record_dropped(request, dropped: list[str]) -> None:
    """Record the comparisons a test could not make (``dropped``: one reason each): they are
    counted and listed in the terminal summary (``pytest_terminal_summary``), never silent."""
    if dropped:
        request.node.stash[_DROPPED] = list(dropped)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    mark_report(item, report)
    dropped = item.stash.get(_DROPPED, None)
    if dropped and report.when == "call":
        report.xpgrad_dropped = dropped  # an attribute: pytest-xdist carries it to the controller
    return report


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """The comparisons that were dropped (one side refuses an in-place change, ...), counted and
    listed per test, with their reasons."""
    tests = [
        r
        for reports in terminalreporter.stats.values()
        for r in reports
        if getattr(r, "when", None) == "call" and getattr(r, "xpgrad_dropped", None)
    ]
    if not tests:
        return
    total = sum(len(r.xpgrad_dropped) for r in tests)
    terminalreporter.section(f"{total} comparisons dropped in {len(tests)} tests", sep="-")
    for r in tests:
        # The same reason for several gradient subsets and targets: counted once per reason.
        reasons: dict[str, int] = {}
        for why in r.xpgrad_dropped:
            key = re.sub(r" of (in|out)\d+:", " of an input:" if " of in" in why else " of an output:", why)
            key = re.sub(r"^grad \([^)]*\): ", "", key)
            reasons[key] = reasons.get(key, 0) + 1
        terminalreporter.line(
            f"{r.nodeid}: {len(r.xpgrad_dropped)} dropped: "
            + "; ".join(f"{n} x {k}" for k, n in reasons.items())
        )


def pytest_report_teststatus(report, config):
    """A check against finite differences (torch has no derivative) is its own outcome."""
    return report_teststatus(report)


def pytest_report_header(config):
    return f"xpgrad conformance backend: {backend_name(config)}"


def known_differences(config):
    """The known differences of the backend under test (xpgrad/conformance/known and --known files)."""
    ns = resolve_backend(backend_name(config))
    return load_known(ns.backend.name, config.getoption("--known"))


@pytest.fixture(scope="session")
def xp(pytestconfig):
    """The xpgrad namespace over the backend under test."""
    return resolve_backend(backend_name(pytestconfig))


def pytest_collection_modifyitems(config, items):
    """Strict xfails, with their reasons, for the backend under test: tests marked
    ``needs(capability, reason)`` where the backend lacks the capability, and the tests its
    ``xpgrad/conformance/known/<backend>.py`` lists in ``TESTS`` (``{"file.py::test[param]": reason}``,
    fnmatch patterns in which brackets are literal)."""
    ns = resolve_backend(backend_name(config))
    backend = ns.backend
    tests = load_known_tests(backend.name)
    for item in items:
        if _HERE not in item.path.parents:
            continue
        for mark in item.iter_markers("needs"):
            capability, reason = mark.args
            if not getattr(backend, capability):
                item.add_marker(pytest.mark.xfail(strict=True, reason=f"{backend.name}: {reason}"))
        ident = f"{item.path.name}::{item.name}"
        for pattern, reason in tests.items():
            if fnmatchcase(ident, pattern.replace("[", "[[]")):  # brackets are literal (test ids)
                item.add_marker(pytest.mark.xfail(strict=True, reason=f"{backend.name}: {reason}"))
                break
