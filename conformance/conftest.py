"""pytest options of the conformance suite: ``--backend`` picks the array library under test,
``--known PATH`` adds a file of known differences (see ``conformance/known/``)."""

from __future__ import annotations

import pytest

from ._suite import load_known, resolve_backend


def pytest_addoption(parser):
    parser.addoption(
        "--backend",
        default="numpy",
        help="array library under test: numpy (default), torch, array_api_strict, jax, dask, cupy, "
        "or any importable array API module",
    )
    parser.addoption(
        "--known",
        action="append",
        default=[],
        metavar="PATH",
        help="a Python file defining KNOWN = [KnownDifference(...), ...] for the backend under test "
        "(added to conformance/known/<backend>.py); may be repeated",
    )


def backend_name(config) -> str:
    return config.getoption("--backend")


def pytest_configure(config):
    name = backend_name(config)
    try:
        resolve_backend(name)
    except (ValueError, TypeError, ImportError) as exc:
        raise pytest.UsageError(f"--backend {name!r}: {exc}") from None


def pytest_report_header(config):
    return f"xpgrad conformance backend: {backend_name(config)}"


def known_differences(config):
    """The known differences of the backend under test (conformance/known and --known files)."""
    ns = resolve_backend(backend_name(config))
    return load_known(ns._backend.name, config.getoption("--known"))


@pytest.fixture(scope="session")
def xp(pytestconfig):
    """The xpgrad namespace over the backend under test."""
    return resolve_backend(backend_name(pytestconfig))
