"""Dask gradients keep their input's chunks, on an 8 GiB lazy array in 64 MiB chunks.

Nothing here computes: the array is ``dask.array.ones`` (a lazy graph of 128 blocks) and each
test only builds the forward and backward graphs and reads the gradient's ``chunks``. Dask's own
defaults would have given several of these gradients as one 8 GiB block (``zeros(shape)`` and
``broadcast_to`` without chunks); xpgrad rechunks every gradient to its input's chunks in one
place (``_backends.like_chunks``, called by the engine's gradient normalisation).
"""

from __future__ import annotations

import pytest

import xpgrad

pytestmark = pytest.mark.requires_backend("dask")

SHAPE = (16384, 65536)  # float64: 8 GiB
CHUNKS = (2048, 4096)  # 64 MiB each, 8 x 16 = 128 blocks


def _never_compute(*args, **kwargs):
    raise AssertionError("the gradient graph was computed")


@pytest.fixture
def big():
    import dask
    import dask.array as da

    ns = xpgrad.namespace("dask")
    with dask.config.set(scheduler=_never_compute):
        x = ns.asarray(da.ones(SHAPE, chunks=CHUNKS, dtype="float64"), requires_grad=True)
        yield ns, x


OPS = {
    "sum": lambda ns, x: ns.sum(x),
    "mean": lambda ns, x: ns.mean(x),
    "reshape": lambda ns, x: ns.sum(ns.reshape(x, (SHAPE[0] // 2, SHAPE[1] * 2)) ** 2),
    "cumulative_sum": lambda ns, x: ns.sum(ns.cumulative_sum(x, axis=1)),
    "flip": lambda ns, x: ns.sum(ns.flip(x, axis=0) * ns.arange(SHAPE[1], dtype=ns.float64)),
    "concat": lambda ns, x: ns.sum(ns.concat([ns.sin(x), x])),
    "stack": lambda ns, x: ns.sum(ns.stack([x, ns.cos(x)])),
    "max": lambda ns, x: ns.max(x),
    "sort": lambda ns, x: ns.sum(ns.sort(x, axis=0)[:10, :]),
    "vector_norm": lambda ns, x: ns.linalg.vector_norm(x),
    "where": lambda ns, x: ns.sum(ns.where(x > 0.5, x, 0.0)),
    "slice": lambda ns, x: ns.sum(x[::2, 100:]),
    "broadcast": lambda ns, x: ns.sum(x * ns.ones((1, SHAPE[1]), dtype=ns.float64)),
}


@pytest.mark.parametrize("op", sorted(OPS))
def test_gradient_keeps_the_input_chunks(big, op):
    ns, x = big
    loss = OPS[op](ns, x)
    loss.backward()
    g = x.grad._data
    assert g.shape == SHAPE
    assert g.chunks == x._data.chunks, f"{op}: gradient chunks {g.chunksize} vs input {CHUNKS}"
