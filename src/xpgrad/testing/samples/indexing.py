"""Samples for indexing (``_indexing_functions.py``): ``__getitem__`` with basic, integer-array
(with repeated indices: their gradients accumulate), boolean and None/Ellipsis keys; ``take``;
``take_along_axis``. Keys are sample arguments: integer and boolean arrays in them become
constants of the backend under test."""

from __future__ import annotations

import numpy as np

from .._opinfo import ALL_FLOAT, OpInfo, Sample
from ._common import make, noncontig


def _getitem(xp, x, key):
    return x[key]


# Index forms beyond the standard's minimum, refused by array_api_strict: finite-difference
# checks here, torch conformance in conformance/known/array_api_strict.py.
_CHECKS = ("gradcheck", "gradgradcheck")
_STRICT_INT = {
    f"{c}:*:array_api_strict": "array_api_strict allows integer arrays only with integer indices "
    "(the standard's minimum; NumPy and torch allow slices and Ellipsis)"
    for c in _CHECKS
}
_STRICT_MASK = {
    f"{c}:*:array_api_strict": "array_api_strict allows a boolean mask only as the sole index "
    "(the standard's minimum)"
    for c in _CHECKS
}


def _getitem_samples(rng, dtype):
    x = make(rng, (4, 5), dtype)
    s = slice
    yield Sample((x, (s(1, None), s(None, None, 2))), name="slices")
    yield Sample((x, (1, s(None))), name="int,slice")
    yield Sample((x, (2, 3)), name="ints_0d_result")
    yield Sample((x, (None, Ellipsis, 1)), name="None,Ellipsis,int")
    yield Sample((x, (Ellipsis, None)), name="Ellipsis,None")
    yield Sample((x, (s(1, 1), s(None))), name="empty_slice")
    yield Sample((make(rng, (), dtype), ()), name="0d,empty_tuple")
    yield Sample((make(rng, (), dtype), Ellipsis), name="0d,Ellipsis")
    yield Sample((noncontig(make(rng, (4, 3), dtype)), (s(None, None, 2), s(1, None))), name="noncontig")
    yield Sample((make(rng, (5,), dtype), np.array([0, 2, 0, 0, 3])), name="int_array_repeated")
    yield Sample((make(rng, (5,), dtype), np.array([[1, 1], [4, 0]])), name="int_array_2d_repeated")
    yield Sample((x, (np.array([0, 1, 1]), np.array([2, 2, 2]))), name="two_int_arrays_repeated_pairs")
    yield Sample((x, (np.array([[3, 3]]), np.array([[1], [1]]))), name="int_arrays_broadcast_repeated")
    yield Sample((x, (np.array([-1, 0, -1]), 2)), name="negative_int_array,int")
    # Beyond the standard's minimum (integer arrays with slices/Ellipsis, a mask with other indices):
    yield Sample((x, (np.array([0, 2, 0]), Ellipsis)), name="int_array,Ellipsis", xfail=_STRICT_INT)
    yield Sample((x, (s(None), np.array([1, 1, 4]))), name="slice,int_array", xfail=_STRICT_INT)
    mask = rng.standard_normal((4, 5)) > 0
    mask[0, 0] = True
    yield Sample((x, mask), name="bool_mask")
    yield Sample((x, np.zeros((4, 5), dtype=bool)), name="bool_mask_empty")
    yield Sample(
        (make(rng, (2, 3, 2), dtype), (np.array([True, False]), Ellipsis)),
        name="bool_mask,Ellipsis",
        xfail=_STRICT_MASK,
    )


def _take_samples(rng, dtype):
    yield Sample((make(rng, (5,), dtype), np.array([0, 3, 3, 1])), name="1d_repeated")
    x = make(rng, (3, 4), dtype)
    yield Sample((x, np.array([2, 0, 2])), {"axis": 0}, name="axis=0_repeated")
    yield Sample((x, np.array([1, 1, 1, 3])), {"axis": 1}, name="axis=1_repeated")
    yield Sample((x, np.array([3, 0])), {"axis": -1}, name="axis=-1")
    yield Sample((x, np.zeros((0,), dtype=np.int64)), {"axis": 0}, name="empty_indices")
    yield Sample((noncontig(make(rng, (3, 4), dtype)), np.array([0, 2])), {"axis": 1}, name="noncontig")


def _take_along_axis_samples(rng, dtype):
    x = make(rng, (3, 4), dtype)
    yield Sample((x, np.array([[0, 0], [3, 1], [2, 2]])), {"axis": 1}, name="axis=1_repeated")
    yield Sample((x, np.array([[0, 2, 2, 1], [0, 0, 0, 0]])), {"axis": 0}, name="axis=0_repeated")
    yield Sample((x, np.array([[1], [0], [3]])), name="default_axis")
    y = make(rng, (2, 3, 4), dtype)
    yield Sample(
        (y, np.argsort(rng.standard_normal((2, 3, 4)), axis=-1)), {"axis": -1}, name="3d_permutation"
    )
    yield Sample((y, np.ones((2, 3, 2), dtype=np.int64)), {"axis": 2}, name="3d_repeated")


OPS = [
    OpInfo("__getitem__", _getitem_samples, fn=_getitem, dtypes=ALL_FLOAT),
    OpInfo("take", _take_samples, dtypes=ALL_FLOAT),
    OpInfo("take_along_axis", _take_along_axis_samples, dtypes=ALL_FLOAT),
]
