"""W1 per-op cost: a chain of 200 elementwise ops on 16 float64 values, forward + backward.

The arrays are tiny, so this measures the fixed cost of recording an op and running its backward
(the mix is in ``_chain``). Reported per op: the time of one forward + backward (200 ops, then
``sum`` and ``backward()``) divided by 200.
"""

from ._chain import BUILDERS
from ._harness import small_timing

KEY = "W1"
TITLE = "W1 per-op cost: 200-op elementwise chain on 16 float64, forward + backward"
UNIT = "µs/op"
N_OPS = 200
RTOL = 1e-9
ATOL = 1e-12

__all__ = ["BUILDERS", "KEY", "TITLE", "UNIT", "RTOL", "ATOL", "config", "per_unit"]


def config(quick: bool) -> dict:
    return {"n_ops": N_OPS, "size": 16, **small_timing(quick)}


def per_unit(seconds: float) -> float:
    return seconds / N_OPS * 1e6
