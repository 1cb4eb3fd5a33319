"""The client suite: real calls of SciPy, scikit-learn, array-api-extra and einops on xpgrad
Tensors, compared with the same calls on torch tensors under torch.autograd.

SciPy reads ``SCIPY_ARRAY_API`` once, when it is first imported, and scikit-learn's
``array_api_dispatch`` needs it too: it is set here, before any test module of this directory
imports SciPy. If SciPy was imported earlier in the same process without it (another plugin or
conftest), the suite stops with a clear error rather than testing SciPy's NumPy-only paths.
"""

from __future__ import annotations

import os
import sys

import pytest

os.environ["SCIPY_ARRAY_API"] = "1"


def pytest_collection_modifyitems(config, items):
    here = os.path.dirname(__file__)
    for item in items:
        if str(item.path).startswith(here):
            # The torch reference side: SciPy's vendored array_api_compat calls torch.asarray on
            # tensors that require grad, and torch 2.13 warns about its changed default.
            item.add_marker(pytest.mark.filterwarnings("ignore:torch.asarray:UserWarning"))
    if "scipy" in sys.modules:
        from scipy._lib._array_api import SCIPY_ARRAY_API

        if not SCIPY_ARRAY_API:
            raise pytest.UsageError(
                "tests/clients: SciPy was imported before SCIPY_ARRAY_API=1 was set; run the client "
                "suite with SCIPY_ARRAY_API=1 in the environment"
            )


@pytest.fixture(autouse=True)
def _sklearn_array_api_dispatch():
    sklearn = pytest.importorskip("sklearn")
    with sklearn.config_context(array_api_dispatch=True):
        yield
