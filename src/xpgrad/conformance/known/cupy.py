"""CuPy (CUDA) against torch. NOT YET RUN ON A GPU: this list is prepared from what CuPy is known to
lack through array_api_compat, and must be regenerated on the first GPU run
(``tools/gpu_check.py``, which runs ``python -m conformance --backend=cupy`` first).

Entries are expected failures: an entry that does not fail on the GPU fails the run (strict), so
a wrong guess here shows up at once and is removed.
"""

from xpgrad.testing import KnownDifference as K

_CAST = "torch: can_cast(float64, float32) is True (torch's casting rules); the standard and CuPy say False"

KNOWN = [
    # Casting rules: CuPy follows the standard (as NumPy), torch its own.
    K("can_cast", "float64->float32", "*", "forward", _CAST),
    K("can_cast", "array", "*", "forward", _CAST),
]  # fmt: skip

# Tests of the pytest suite that differ on CuPy (strict xfails; see conformance/known/__init__.py).
TESTS: dict[str, str] = {}
