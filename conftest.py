"""Loaded by pytest before any other conftest of the repository.

SciPy reads ``SCIPY_ARRAY_API`` once, when it is first imported, and some imports made while
pytest starts (Dask, through conformance/known/) import SciPy. The client suite
(tests/clients/) calls SciPy's array API code paths, so the variable is set here, first.
"""

import os

os.environ.setdefault("SCIPY_ARRAY_API", "1")
