"""Samples for the linear algebra functions of the main namespace
(``_linear_algebra_functions.py``): matmul, matrix_transpose, tensordot, vecdot."""

from __future__ import annotations

from .._opinfo import ALL_FLOAT, OpInfo, Sample
from ._common import make, noncontig


def _matmul_samples(rng, dtype):
    m = lambda *shape: make(rng, shape, dtype)
    yield Sample((m(3), m(3)), name="1d@1d")
    yield Sample((m(3), m(3, 2)), name="1d@2d")
    yield Sample((m(2, 3), m(3)), name="2d@1d")
    yield Sample((m(2, 3), m(3, 4)), name="2d@2d")
    yield Sample((m(2, 1, 2, 3), m(3, 3, 2)), name="batched_broadcast")
    yield Sample((m(3), m(2, 3, 2)), name="1d@batched")
    yield Sample((m(2, 2, 3), m(3)), name="batched@1d")
    yield Sample((m(2, 0), m(0, 3)), name="empty_inner")
    yield Sample((noncontig(m(2, 3)), noncontig(m(3, 2))), name="noncontig")
    yield Sample((m(2, 3), m(3, 2)), name="x1_only", grad=(0,))
    yield Sample((m(2, 3), m(3, 2)), name="x2_only", grad=(1,))


def _tensordot_samples(rng, dtype):
    m = lambda *shape: make(rng, shape, dtype)
    yield Sample((m(2, 3, 4), m(3, 4, 2)), name="axes=2")
    yield Sample((m(2, 3), m(3, 4)), {"axes": 1}, name="axes=1")
    yield Sample((m(2, 3), m(2)), {"axes": 0}, name="axes=0")
    yield Sample((m(2, 3, 4), m(4, 2, 3)), {"axes": ((1, 2), (2, 0))}, name="tuple_axes")
    yield Sample((m(3, 2), m(2, 3)), {"axes": ((0, 1), (1, 0))}, name="tuple_axes_full")
    yield Sample((m(2, 3, 4), m(5, 3)), {"axes": ((1,), (1,))}, name="tuple_axes_one")
    yield Sample((m(2, 3), m(3, 2)), {"axes": ((-1,), (0,))}, name="negative_axes")


def _vecdot_samples(rng, dtype):
    m = lambda *shape: make(rng, shape, dtype)
    yield Sample((m(4), m(4)), name="1d")
    yield Sample((m(2, 3), m(2, 3)), name="axis=-1")
    yield Sample((m(3, 2), m(3, 2)), {"axis": -2}, name="axis=-2")
    yield Sample((m(2, 1, 3), m(4, 3)), name="broadcast")
    yield Sample((m(3, 4), m(3, 1)), {"axis": -2}, name="broadcast,axis=-2")
    yield Sample((m(2, 0), m(2, 0)), name="empty_axis")


def _transpose_samples(rng, dtype):
    m = lambda *shape: make(rng, shape, dtype)
    yield Sample((m(2, 3),), name="2d")
    yield Sample((m(2, 3, 4),), name="batched")
    yield Sample((m(0, 3),), name="empty")
    yield Sample((noncontig(m(3, 2)),), name="noncontig")


OPS = [
    OpInfo("matmul", _matmul_samples, dtypes=ALL_FLOAT),
    OpInfo("tensordot", _tensordot_samples, dtypes=ALL_FLOAT),
    OpInfo("vecdot", _vecdot_samples, dtypes=ALL_FLOAT),
    OpInfo("matrix_transpose", _transpose_samples, dtypes=ALL_FLOAT),
]
