"""The pytest plugin of the installed suite (entry point ``pytest11``: ``xpgrad_conformance``).

It adds two options, used by the suite's own test module (``pytest --pyargs xpgrad.conformance``):

- ``--xpgrad-backend NAME``: the array library under test (default numpy);
- ``--xpgrad-to-numpy MODULE:FUNCTION``: how to read the backend's arrays back into NumPy,
  where DLPack and ``__array__`` cannot;
- ``--xpgrad-known PATH``: a file of known differences (``KNOWN = [KnownDifference(...)]``),
  added to ``xpgrad/conformance/known/<backend>.py``; may be repeated.

The names are prefixed because the plugin is loaded in every pytest run where xpgrad is
installed; it does nothing else unless the suite's tests are collected.
"""

from __future__ import annotations

import sys

import pytest


def pytest_addoption(parser):
    group = parser.getgroup(
        "xpgrad-conformance", "xpgrad gradient conformance (pytest --pyargs xpgrad.conformance)"
    )
    group.addoption(
        "--xpgrad-backend",
        default=None,
        metavar="NAME",
        help="array library under test: numpy (default), torch, array_api_strict, jax, dask, cupy, "
        "any importable array API module, module:attr or module:factory(args)",
    )
    group.addoption(
        "--xpgrad-to-numpy",
        default=None,
        metavar="MODULE:FUNCTION",
        help="a function making a NumPy array of one of the backend's arrays (where DLPack and "
        "__array__ cannot read them)",
    )
    group.addoption(
        "--xpgrad-known",
        action="append",
        default=[],
        metavar="PATH",
        help="a Python file defining KNOWN = [KnownDifference(...), ...] for the backend under test; "
        "may be repeated",
    )


def backend_name(config) -> str:
    return config.getoption("--xpgrad-backend") or "numpy"


def pytest_configure(config):
    name, to_numpy = config.getoption("--xpgrad-backend"), config.getoption("--xpgrad-to-numpy")
    if name is None and to_numpy is None:
        return
    name = backend_name(config)
    # on use: pytest loads this plugin in every run; xpgrad and its samples only when asked
    from ._suite import resolve_backend

    try:
        resolve_backend(name, to_numpy=to_numpy)
    except (ValueError, TypeError, ImportError) as exc:
        raise pytest.UsageError(f"--xpgrad-backend {name!r}: {exc}") from None


def pytest_report_header(config):
    name = config.getoption("--xpgrad-backend")
    return None if name is None else f"xpgrad conformance backend: {name}"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    suite = sys.modules.get(f"{__package__}._suite")
    if suite is not None:  # the suite's tests ran (this plugin is loaded in every pytest run)
        suite.mark_report(item, report)
    return report


def pytest_report_teststatus(report, config):
    """A check of the suite against finite differences (torch has no derivative) is its own
    outcome: "N checked against finite differences" in the summary line."""
    if getattr(report, "xpgrad_reference", None) is None:
        return None  # any other test (the plugin is loaded in every run)
    # on use: pytest loads this plugin in every run; xpgrad and its samples only when asked
    from ._suite import report_teststatus

    return report_teststatus(report)


def known_differences(config):
    # on use: pytest loads this plugin in every run; xpgrad and its samples only when asked
    from ._suite import load_known, resolve_backend

    ns = resolve_backend(backend_name(config))
    return load_known(ns.backend.name, config.getoption("--xpgrad-known"))


@pytest.fixture(scope="session")
def xpgrad_conformance_namespace(pytestconfig):
    """The xpgrad namespace over the backend under test (``--xpgrad-backend``)."""
    # on use: pytest loads this plugin in every run; xpgrad and its samples only when asked
    from ._suite import resolve_backend

    return resolve_backend(backend_name(pytestconfig))
