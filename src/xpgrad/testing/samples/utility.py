"""Samples for the utility functions (``_utility_functions.py``)."""

from __future__ import annotations

import numpy as np

from .._opinfo import ALL_FLOAT, OpInfo, Sample


def _all_any_samples(rng, dtype):
    x = rng.integers(0, 2, size=(3, 4)).astype(np.float64)
    yield Sample((x,), name="all axes")
    yield Sample((x,), {"axis": 1}, name="axis=1")
    yield Sample((x,), {"axis": (0, -1), "keepdims": True}, name="tuple, keepdims")
    yield Sample((np.array(0.0),), name="0-d")
    yield Sample((np.zeros((0, 2)),), {"axis": 0}, name="empty")
    yield Sample((x.T,), name="non-contiguous")


def _diff(xp, x, prepend=None, append=None, **kwargs):
    # prepend/append are positional here so that the runners convert and differentiate them.
    return xp.diff(x, prepend=prepend, append=append, **kwargs)


def _diff_samples(rng, dtype):
    r = rng.standard_normal
    yield Sample((r((3, 4)),), name="default")
    yield Sample((r((3, 4)),), {"axis": 0}, name="axis=0")
    yield Sample((r((2, 3, 5)),), {"axis": -2, "n": 2}, name="n=2, axis=-2")
    yield Sample((r((6,)),), {"n": 3}, name="n=3")
    yield Sample((r((3, 4)), r((3, 2)), r((3, 1))), {"axis": 1}, name="prepend, append")
    yield Sample((r((3, 4)), r((1, 4)), r((2, 4))), {"axis": 0, "n": 2}, name="n=2, prepend, append")
    yield Sample((r((5,)), r((1,))), name="prepend only")
    yield Sample((r((5,)), None, r((2,))), name="append only")
    yield Sample((r((3,)),), {"n": 5}, name="n > length")
    yield Sample((r((3,)),), {"n": 0}, name="n=0")
    yield Sample((r((0, 3)),), {"axis": 0}, name="empty")
    yield Sample((r((4, 3)).T,), {"n": 2}, name="non-contiguous")


OPS = [
    OpInfo("all", _all_any_samples, differentiable=False),
    OpInfo("any", _all_any_samples, differentiable=False),
    OpInfo("diff", _diff_samples, fn=_diff, dtypes=ALL_FLOAT),
]
