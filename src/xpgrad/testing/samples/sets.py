"""Samples for the set functions (``_set_functions.py``).

The ``unique_*`` values are not differentiable (backpropagating through them raises), so those
functions are declared non-differentiable and their samples run on detached inputs.
"""

from __future__ import annotations

import numpy as np

from .._opinfo import OpInfo, Sample


def _detached(x):
    detach = getattr(x, "detach", None)
    return detach() if detach is not None else x


def _unique(name):
    def fn(xp, x, **kwargs):
        return getattr(xp, name)(_detached(x), **kwargs)

    return fn


def _unique_all_reference(xp, x):
    # torch has no unique_all (pytorch/pytorch#36748): built from unique_inverse and
    # unique_counts; each value's first occurrence starts its run in a stable sort of the
    # inverse indices.
    x = _detached(x)
    values, inverse = xp.unique_inverse(x)
    counts = xp.unique_counts(x).counts
    order = xp.argsort(xp.reshape(inverse, (-1,)), stable=True)
    starts = xp.cumulative_sum(counts, include_initial=True)[:-1]
    return values, xp.take(order, xp.astype(starts, order.dtype), axis=0), inverse, counts


def _unique_samples(rng, dtype):
    ties = rng.integers(-2, 3, size=(3, 4)).astype(np.float64)
    yield Sample((ties,), name="2-d, repeated values")
    yield Sample((np.array([3.0, 1.0, 3.0, 2.0, 1.0]),), name="1-d")
    yield Sample((np.array(2.0),), name="0-d")
    yield Sample((np.zeros((0,)),), name="empty")
    yield Sample((ties.T,), name="non-contiguous")


def _isin_samples(rng, dtype):
    x1 = rng.integers(-3, 4, size=(3, 4))
    x2 = np.array([0, 2, -1])
    yield Sample((x1, x2), name="2-d")
    yield Sample((x1, x2), {"invert": True}, name="invert")
    yield Sample((x1, 2), name="scalar x2")
    yield Sample((np.array(1), x2), name="0-d x1")
    yield Sample((np.zeros((0,), dtype=np.int64), x2), name="empty")
    yield Sample((x1.T, x2[::2]), name="non-contiguous")


OPS = [
    OpInfo("isin", _isin_samples, differentiable=False),
    OpInfo(
        "unique_all",
        _unique_samples,
        fn=_unique("unique_all"),
        torch_fn=_unique_all_reference,
        differentiable=False,
    ),
    OpInfo("unique_counts", _unique_samples, fn=_unique("unique_counts"), differentiable=False),
    OpInfo("unique_inverse", _unique_samples, fn=_unique("unique_inverse"), differentiable=False),
    OpInfo("unique_values", _unique_samples, fn=_unique("unique_values"), differentiable=False),
]
