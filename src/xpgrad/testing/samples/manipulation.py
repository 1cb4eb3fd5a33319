"""Samples for the manipulation functions (``_manipulation_functions.py``)."""

from __future__ import annotations

import numpy as np

from .._opinfo import ALL_FLOAT, OpInfo, Sample


def _concat(xp, *arrays, **kwargs):
    return xp.concat(list(arrays), **kwargs)


def _stack(xp, *arrays, **kwargs):
    return xp.stack(list(arrays), **kwargs)


def _broadcast_arrays_samples(rng, dtype):
    r = rng.standard_normal
    yield Sample((r((3, 1)), r((4,))), name="2-d with 1-d")
    yield Sample((r((2, 1, 3)), r((4, 1)), r(())), name="three, with 0-d")
    yield Sample((r((3,)),), name="single")
    yield Sample((r((0, 1)), r((3,))), name="empty")
    yield Sample((r((4, 3)).T, r((4,))), name="non-contiguous")


def _broadcast_shapes_samples(rng, dtype):
    yield Sample(((3, 1), (4,)), name="2-d with 1-d")
    yield Sample(((2, 1, 3), (4, 1), ()), name="three, with 0-d")
    yield Sample(((0, 1), (1, 3)), name="empty")


def _broadcast_to_samples(rng, dtype):
    r = rng.standard_normal
    yield Sample((r((3, 1)), (2, 3, 4)), name="new and stretched axes")
    yield Sample((r(()), (2,)), name="0-d")
    yield Sample((r((4,)), (4,)), name="same shape")
    yield Sample((r((1, 3)), (0, 3)), name="to empty")
    yield Sample((r((6,))[::2], (2, 3)), name="non-contiguous")


def _meshgrid_samples(rng, dtype):
    r = rng.standard_normal
    yield Sample((r((3,)), r((4,))), name="xy")
    yield Sample((r((3,)), r((4,))), {"indexing": "ij"}, name="ij")
    yield Sample((r((3,)), r((4,)), r((2,))), name="three xy")
    yield Sample((r((3,)), r((4,)), r((2,))), {"indexing": "ij"}, name="three ij")
    yield Sample((r((3,)),), name="single")
    yield Sample((r((0,)), r((2,))), name="empty")
    yield Sample((r((6,))[::2], r((2,))), name="non-contiguous")


def _concat_samples(rng, dtype):
    r = rng.standard_normal
    yield Sample((r((3, 4)), r((2, 4))), name="axis=0")
    yield Sample((r((3, 4)), r((3, 2))), {"axis": -1}, name="axis=-1")
    yield Sample((r((3, 4)), r((5,))), {"axis": None}, name="axis=None")
    yield Sample((r((2, 3)),), name="single")
    yield Sample((r((3,)), r((0,)), r((2,))), name="1-d with empty")
    yield Sample((r((4, 3)).T, r((1, 4))), name="non-contiguous")
    yield Sample((r((2, 2)), np.ones((1, 2))), grad=(0,), name="constant input")


def _stack_samples(rng, dtype):
    r = rng.standard_normal
    yield Sample((r((3, 4)), r((3, 4))), name="axis=0")
    yield Sample((r((3, 4)), r((3, 4)), r((3, 4))), {"axis": -1}, name="axis=-1")
    yield Sample((r(()), r(())), name="0-d")
    yield Sample((r((2, 3)),), {"axis": 1}, name="single")
    yield Sample((r((0, 2)), r((0, 2))), {"axis": 1}, name="empty")
    yield Sample((r((3, 2)).T, r((2, 3))), name="non-contiguous")


def _unstack_samples(rng, dtype):
    r = rng.standard_normal
    yield Sample((r((3, 4)),), name="axis=0")
    yield Sample((r((3, 4, 2)),), {"axis": -1}, name="axis=-1")
    yield Sample((r((4,)),), name="1-d")
    yield Sample((r((2, 0)),), name="empty entries")
    yield Sample((r((4, 3)).T,), {"axis": 1}, name="non-contiguous")


def _reshape_samples(rng, dtype):
    r = rng.standard_normal
    yield Sample((r((3, 4)), (2, -1)), name="-1")
    yield Sample((r((3, 4)), (12,)), {"copy": True}, name="copy=True")
    yield Sample((r(()), (1, 1)), name="0-d")
    yield Sample((r((1,)), ()), name="to 0-d")
    yield Sample((r((0, 3)), (3, 0)), name="empty")
    yield Sample((r((4, 3)).T, (-1,)), name="non-contiguous")


def _expand_dims_samples(rng, dtype):
    r = rng.standard_normal
    yield Sample((r((3, 4)),), {"axis": 1}, name="axis=1")
    yield Sample((r((3, 4)),), {"axis": -1}, name="axis=-1")
    yield Sample((r(()),), {"axis": 0}, name="0-d")
    yield Sample((r((0, 2)),), {"axis": 0}, name="empty")
    yield Sample((r((4, 3)).T,), {"axis": 0}, name="non-contiguous")


def _squeeze_samples(rng, dtype):
    r = rng.standard_normal
    yield Sample((r((3, 1, 2)),), {"axis": 1}, name="axis=1")
    yield Sample((r((1, 3, 1)),), {"axis": (0, -1)}, name="tuple, negative")
    yield Sample((r((1,)),), {"axis": 0}, name="to 0-d")
    yield Sample((r((0, 1)),), {"axis": -1}, name="empty")
    yield Sample((r((1, 6))[:, ::2],), {"axis": 0}, name="non-contiguous")


def _permute_dims_samples(rng, dtype):
    r = rng.standard_normal
    yield Sample((r((2, 3, 4)), (2, 0, 1)), name="3-d")
    yield Sample((r((2, 3)), (1, 0)), name="2-d")
    yield Sample((r(()), ()), name="0-d")
    yield Sample((r((0, 2)), (1, 0)), name="empty")
    yield Sample((r((4, 3)).T, (1, 0)), name="non-contiguous")


def _moveaxis_samples(rng, dtype):
    r = rng.standard_normal
    yield Sample((r((2, 3, 4)), 0, -1), name="int, negative")
    yield Sample((r((2, 3, 4)), (0, 1), (2, 0)), name="tuples")
    yield Sample((r((0, 3)), 0, 1), name="empty")
    yield Sample((r((4, 3)).T, 1, 0), name="non-contiguous")


def _flip_samples(rng, dtype):
    r = rng.standard_normal
    yield Sample((r((2, 3, 4)),), name="all axes")
    yield Sample((r((2, 3, 4)),), {"axis": 1}, name="axis=1")
    yield Sample((r((2, 3, 4)),), {"axis": (0, -1)}, name="tuple, negative")
    yield Sample((r(()),), name="0-d")
    yield Sample((r((0, 2)),), {"axis": 0}, name="empty")
    yield Sample((r((4, 3)).T,), {"axis": -1}, name="non-contiguous")


def _roll_samples(rng, dtype):
    r = rng.standard_normal
    yield Sample((r((3, 4)), 2), name="flattened")
    yield Sample((r((3, 4)), -1), {"axis": 1}, name="axis=1")
    yield Sample((r((2, 3, 4)), (1, 2)), {"axis": (0, -1)}, name="tuples, negative")
    yield Sample((r((5,)), 7), {"axis": 0}, name="shift > size")
    yield Sample((r((0, 2)), 1), {"axis": 0}, name="empty")
    yield Sample((r((4, 3)).T, 1), {"axis": 0}, name="non-contiguous")


def _repeat_samples(rng, dtype):
    r = rng.standard_normal
    yield Sample((r((3, 4)), 3), {"axis": 1}, name="int, axis=1")
    yield Sample((r((3, 4)), 2), name="int, flattened")
    yield Sample((r((2, 3, 2)), 2), {"axis": -1}, name="int, axis=-1")
    yield Sample((r((3, 4)), np.array([1, 0, 3])), {"axis": 0}, name="array, axis=0")
    yield Sample((r((2, 3)), np.array([1, 0, 3, 2, 1, 1])), name="array, flattened")
    yield Sample((r((3, 4)), 0), {"axis": 0}, name="zero repeats")
    yield Sample((r(()), 3), name="0-d")
    yield Sample((r((0, 2)), 2), {"axis": 0}, name="empty")
    yield Sample((r((4, 3)).T, np.array([2, 1, 0, 1])), {"axis": -1}, name="non-contiguous")


def _tile_samples(rng, dtype):
    r = rng.standard_normal
    yield Sample((r((3, 4)), (2, 3)), name="2-d")
    yield Sample((r((3, 4)), (2, 1, 3)), name="more repetitions than axes")
    yield Sample((r((2, 3, 4)), (2,)), name="fewer repetitions than axes")
    yield Sample((r(()), (3,)), name="0-d")
    yield Sample((r((2, 3)), (0, 1)), name="zero repetitions")
    yield Sample((r((4, 3)).T, (1, 2)), name="non-contiguous")


OPS = [
    OpInfo("broadcast_arrays", _broadcast_arrays_samples, dtypes=ALL_FLOAT),
    OpInfo("broadcast_shapes", _broadcast_shapes_samples, differentiable=False),
    OpInfo("broadcast_to", _broadcast_to_samples, dtypes=ALL_FLOAT),
    OpInfo("concat", _concat_samples, fn=_concat, dtypes=ALL_FLOAT),
    OpInfo("expand_dims", _expand_dims_samples, dtypes=ALL_FLOAT),
    OpInfo("flip", _flip_samples, dtypes=ALL_FLOAT),
    OpInfo("meshgrid", _meshgrid_samples, dtypes=ALL_FLOAT),
    OpInfo("moveaxis", _moveaxis_samples, dtypes=ALL_FLOAT),
    OpInfo("permute_dims", _permute_dims_samples, dtypes=ALL_FLOAT),
    OpInfo("repeat", _repeat_samples, dtypes=ALL_FLOAT),
    OpInfo("reshape", _reshape_samples, dtypes=ALL_FLOAT),
    OpInfo("roll", _roll_samples, dtypes=ALL_FLOAT),
    OpInfo("squeeze", _squeeze_samples, dtypes=ALL_FLOAT),
    OpInfo("stack", _stack_samples, fn=_stack, dtypes=ALL_FLOAT),
    OpInfo("tile", _tile_samples, dtypes=ALL_FLOAT),
    OpInfo("unstack", _unstack_samples, dtypes=ALL_FLOAT),
]
