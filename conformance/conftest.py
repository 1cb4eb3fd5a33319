"""pytest options of the conformance suite: ``--backend`` picks the array library under test."""

from __future__ import annotations

import importlib

import pytest


def pytest_addoption(parser):
    parser.addoption(
        "--backend",
        default="numpy",
        help="array library under test: numpy (default), torch, array_api_strict, jax, or any "
        "importable array API module",
    )


def backend_name(config) -> str:
    return config.getoption("--backend")


def pytest_configure(config):
    name = backend_name(config)
    import xpgrad

    try:
        xpgrad.namespace(name)
    except (ValueError, TypeError, ImportError) as exc:
        raise pytest.UsageError(f"--backend {name!r}: {exc}") from None
    if name == "jax":  # float64 and complex128 are checked too
        importlib.import_module("jax").config.update("jax_enable_x64", True)


def pytest_report_header(config):
    return f"xpgrad conformance backend: {backend_name(config)}"


@pytest.fixture(scope="session")
def xp(pytestconfig):
    """The xpgrad namespace over the backend under test."""
    import xpgrad

    return xpgrad.namespace(backend_name(pytestconfig))
