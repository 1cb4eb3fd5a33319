"""Dask gradients keep their input's chunks, on an 8 GiB lazy array in 64 MiB chunks.

Nothing here computes (except one small test at the end): the array is ``dask.array.ones`` (a
lazy graph of 128 blocks) and each test only builds the forward and backward graphs and reads the
gradient's ``chunks``, or the task families of its graph. Dask's own
defaults would have given several of these gradients as one 8 GiB block (``zeros(shape)`` and
``broadcast_to`` without chunks); xpgrad rechunks every gradient to its input's chunks in one
place (``_backends.like_chunks``, called by the engine's gradient normalisation).
"""

from __future__ import annotations

import collections

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


# Second order over a constant design matrix (issue 25). Least squares on X of 2^24 x 64 float64
# (8 GiB) in 128 blocks of 64 MiB: the Hessian-vector product through ``create_graph`` and the
# Gauss-Newton product (forward-mode J v, then J^T) must build the graph of the hand-written
# 2/n X^T (X v): each block of X read by as many tasks, no transposed, re-chunked or scattered
# copy of anything X-sized. (Before: 128 rechunk-merge, 128 rechunk-split, 128 swapaxes and a
# setitem scatter on 64 blocks, which held X in memory between the two products.)

LSTSQ_SHAPE = (2**24, 64)
LSTSQ_CHUNKS = (2**17, 64)
COPY_FAMILIES = ("rechunk-merge", "rechunk-split", "swapaxes", "transpose", "setitem", "zeros_like")


def _families(arr):
    """Task count of the Dask graph of ``arr`` per family (a key's name without its token)."""
    names = (k[0] if isinstance(k, tuple) else k for k in arr.__dask_graph__())
    return collections.Counter(name.rsplit("-", 1)[0] for name in names)


def _most_reads(arr, source):
    """The largest number of tasks of ``arr``'s graph that take one block of ``source``."""
    from dask.core import flatten, get_dependencies

    dsk = dict(arr.__dask_graph__())
    blocks = set(flatten(source.__dask_keys__()))
    reads = collections.Counter(d for k in dsk for d in get_dependencies(dsk, k) if d in blocks)
    assert set(reads) == blocks, "the graph does not read every block of the source"
    return max(reads.values())


@pytest.fixture
def lstsq():
    import dask
    import dask.array as da
    import numpy as np

    ns = xpgrad.namespace("dask")
    with dask.config.set(scheduler=_never_compute):
        rng = da.random.default_rng(0)
        X = rng.standard_normal(LSTSQ_SHAPE, chunks=LSTSQ_CHUNKS)
        y = rng.standard_normal(LSTSQ_SHAPE[:1], chunks=LSTSQ_CHUNKS[:1])
        cols = LSTSQ_SHAPE[1]
        v = np.arange(cols) / cols
        w = ns.asarray(da.from_array(np.full(cols, 0.5)), requires_grad=True)
        hand = 2.0 / LSTSQ_SHAPE[0] * (X.T @ (X @ v))
        yield ns, X, y, w, ns.asarray(da.from_array(v)), hand


def _assert_like_hand_written(got, hand, X):
    families = _families(got)
    assert {f: families[f] for f in COPY_FAMILIES if families[f]} == {}
    assert _most_reads(got, X) <= _most_reads(hand, X)
    assert len(got.__dask_graph__()) <= 1.3 * len(hand.__dask_graph__())


def test_hessian_vector_product_graph_is_the_hand_written_one(lstsq):
    ns, X, y, w, v, hand = lstsq
    loss = ns.mean((ns.asarray(X) @ w - ns.asarray(y)) ** 2)
    (g,) = xpgrad.grad(loss, [w], create_graph=True)
    (hv,) = xpgrad.grad(ns.sum(g * v), [w])
    assert hv._data.chunks == w._data.chunks
    _assert_like_hand_written(hv._data, hand, X)


def test_gauss_newton_product_graph_is_the_hand_written_one(lstsq):
    ns, X, y, w, v, hand = lstsq

    def residual(w):
        return ns.asarray(X) @ w - ns.asarray(y)

    _, jv = xpgrad.functional.jvp(residual, w.detach(), v)
    # The forward-mode rule of X @ w has no term for X (no tangent): no zeros of X's size.
    assert _families(jv._data)["zeros_like"] == 0
    (gn,) = xpgrad.grad(residual(w), [w], grad_outputs=[2.0 / LSTSQ_SHAPE[0] * jv])
    _assert_like_hand_written(gn._data, hand, X)


def test_first_order_gradient_graph_has_no_rechunk(lstsq):
    """The mean's gradient (a scalar broadcast to the residual's shape) is broadcast again
    block by block with the residual's chunks, not split and merged."""
    ns, X, y, w, _, _ = lstsq
    loss = ns.mean((ns.asarray(X) @ w - ns.asarray(y)) ** 2)
    loss.backward()
    w0 = w._data
    hand = 2.0 / LSTSQ_SHAPE[0] * (X.T @ (X @ w0 - y))
    _assert_like_hand_written(w.grad._data, hand, X)


@pytest.mark.parametrize("w_chunks", [2, 3], ids=["aligned", "misaligned"])
@pytest.mark.parametrize("create_graph", [False, True])
def test_a_broadcast_gradient_is_broadcast_again_with_the_input_chunks(w_chunks, create_graph):
    """The gradient of ``mean(x, axis=1)`` is its (6, 1) output gradient broadcast to x's (6, 4):
    built block by block with x's 2 x 2 chunks (when the output gradient's chunks line up with
    them, no rechunk task at all; else the small output gradient is rechunked), plain or
    recorded under ``create_graph``. Small and computed: the values are checked too."""
    import dask.array as da
    import numpy as np

    ns = xpgrad.namespace("dask")
    x = ns.asarray(da.ones((6, 4), chunks=2), requires_grad=True)
    w = ns.asarray(da.from_array(np.arange(6.0), chunks=w_chunks))
    loss = ns.sum(ns.mean(x, axis=1) * w)
    (g,) = xpgrad.grad(loss, [x], create_graph=create_graph)
    assert g._data.chunks == x._data.chunks
    if w_chunks == 2:
        assert _families(g._data)["rechunk-merge"] + _families(g._data)["rechunk-split"] == 0
    want = np.broadcast_to(np.arange(6.0)[:, None] / 4, (6, 4))
    np.testing.assert_allclose(g._data.compute(scheduler="sync"), want)


def test_matmul_contracts_a_transposed_operand_from_its_source():
    """On Dask, ``matrix_transpose`` keeps its source: ``matmul`` contracts a transposed matrix
    operand from it (no task makes a transposed copy, which Dask could not fuse into the
    product when another task reads it too), and the transpose of a transpose is the array
    itself. A source rewritten since (``__setitem__`` gives it a new key) is not used: the
    transpose keeps the values it was made from. Small and computed."""
    import dask.array as da
    import numpy as np

    raw = xpgrad.namespace("dask").backend.xp
    rng = np.random.default_rng(0)
    a0, b0, v0 = rng.standard_normal((6, 4)), rng.standard_normal((6, 3)), rng.standard_normal(6)
    a, b, v = (da.from_array(m, chunks=2) for m in (a0, b0, v0))
    aT, bT = raw.matrix_transpose(a), raw.matrix_transpose(b)
    cT = raw.matrix_transpose(da.from_array(a0.T.copy(), chunks=2))
    assert raw.matrix_transpose(aT) is a
    cases = {
        "aT @ b": (raw.matmul(aT, b), a0.T @ b0),
        "aT @ v": (raw.matmul(aT, v), a0.T @ v0),
        "bT @ a": (raw.matmul(bT, a), b0.T @ a0),
        "v @ a": (raw.matmul(v, a), v0 @ a0),
        "a @ aT": (raw.matmul(a, aT), a0 @ a0.T),
        "aT @ bT.T": (raw.matmul(aT, raw.matrix_transpose(bT)), a0.T @ b0),
        "bT @ cT (both transposed)": (raw.matmul(bT, cT), b0.T @ a0),
        "batched @ aT": (raw.matmul(da.stack([a, a]), aT), np.stack([a0, a0]) @ a0.T),
    }
    for name, (got, want) in cases.items():
        families = _families(got)
        assert families["swapaxes"] + families["transpose"] == 0, name
        np.testing.assert_allclose(got.compute(scheduler="sync"), want, rtol=1e-12, err_msg=name)
    a[0, 0] = 100.0  # Dask's __setitem__ rewrites ``a``'s graph: aT still holds the old values
    assert raw.matrix_transpose(aT) is not a
    np.testing.assert_allclose(raw.matmul(aT, b).compute(scheduler="sync"), a0.T @ b0, rtol=1e-12)
    np.testing.assert_allclose(raw.matrix_transpose(aT).compute(scheduler="sync"), a0, rtol=1e-12)
