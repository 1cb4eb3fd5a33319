"""Samples for the searching functions (``_searching_functions.py``)."""

from __future__ import annotations

import numpy as np

from .._opinfo import ALL_FLOAT, OpInfo, Sample


def _ties(rng, shape):
    # Small integers as floats: repeated values exercise the first-occurrence rule.
    return rng.integers(-2, 3, size=shape).astype(np.float64)


def _arg_samples(rng, dtype):
    yield Sample((_ties(rng, (3, 4)),), name="flattened, ties")
    yield Sample((_ties(rng, (3, 4)),), {"axis": 1}, name="axis=1")
    yield Sample((_ties(rng, (2, 3, 4)),), {"axis": -1, "keepdims": True}, name="axis=-1, keepdims")
    yield Sample((rng.standard_normal(()),), name="0-d")
    yield Sample((rng.standard_normal((4, 3)).T,), {"axis": 0}, name="non-contiguous")


def _count_nonzero_samples(rng, dtype):
    yield Sample((_ties(rng, (3, 4)),), name="all axes")
    yield Sample((_ties(rng, (3, 4)),), {"axis": 1}, name="axis=1")
    yield Sample((_ties(rng, (2, 3, 4)),), {"axis": (0, -1), "keepdims": True}, name="tuple, keepdims")
    yield Sample((np.zeros((0, 3)),), {"axis": 0}, name="empty")
    yield Sample((_ties(rng, (4, 3)).T,), name="non-contiguous")


def _nonzero_samples(rng, dtype):
    yield Sample((_ties(rng, (5,)),), name="1-d")
    yield Sample((_ties(rng, (3, 4)),), name="2-d")
    yield Sample((np.zeros((0, 2)),), name="empty")
    yield Sample((_ties(rng, (4, 3)).T,), name="non-contiguous")


def _searchsorted(xp, x1, x2, sorter=None, **kwargs):
    # sorter is positional here so that the runners convert it to the backend under test.
    return xp.searchsorted(x1, x2, sorter=sorter, **kwargs)


def _searchsorted_samples(rng, dtype):
    sorted_ = np.array([-1.0, 0.0, 0.0, 1.5, 3.0])
    yield Sample((sorted_, _ties(rng, (3, 4))), name="left")
    yield Sample((sorted_, _ties(rng, (6,))), {"side": "right"}, name="right")
    yield Sample((sorted_, 0.0), name="scalar x2")
    yield Sample((np.array([3.0, -1.0, 0.5]), _ties(rng, (4,)), np.array([1, 2, 0])), name="sorter")
    yield Sample((np.zeros((0,)), _ties(rng, (2,))), name="empty x1")


def _where_samples(rng, dtype):
    r = rng.standard_normal
    cond = rng.random((3, 4)) > 0.5
    yield Sample((cond, r((3, 4)), r((3, 4))), name="same shapes")
    yield Sample((cond, r((4,)), r((3, 1))), name="broadcast")
    yield Sample((cond, r((3, 4)), 0.0), name="scalar x2")
    yield Sample((cond, 1.5, r((3, 4))), name="scalar x1")
    yield Sample((np.array(True), r(()), r(())), name="0-d")
    yield Sample((cond[:1], r((0, 4)), r((0, 4))), name="empty")
    yield Sample((cond.T, r((4, 3)), r((3, 4)).T), name="non-contiguous")
    yield Sample((cond, r((3, 4)), r((3, 4))), grad=(1,), name="x2 constant")


OPS = [
    OpInfo("argmax", _arg_samples, differentiable=False),
    OpInfo("argmin", _arg_samples, differentiable=False),
    OpInfo("count_nonzero", _count_nonzero_samples, differentiable=False),
    OpInfo("nonzero", _nonzero_samples, differentiable=False),
    OpInfo("searchsorted", _searchsorted_samples, fn=_searchsorted, differentiable=False),
    OpInfo("where", _where_samples, dtypes=ALL_FLOAT),
]
