"""Samples for the creation functions (``_creation_functions.py``).

``tril``/``triu`` and ``asarray`` of Tensors are differentiable; the other creation functions
make leaves from shapes and scalars and are checked forward only (``differentiable=False``: their
results must not require grad, even from an input that does).
"""

from __future__ import annotations

from .._opinfo import ALL_FLOAT, OpInfo, Sample
from ._common import dtype_of, make, noncontig


def _tri_samples(rng, dtype):
    yield Sample((make(rng, (4, 4), dtype),), name="square")
    yield Sample((make(rng, (3, 5), dtype),), {"k": 1}, name="wide,k=1")
    yield Sample((make(rng, (5, 3), dtype),), {"k": -1}, name="tall,k=-1")
    yield Sample((make(rng, (2, 3, 3), dtype),), {"k": 2}, name="batched,k=2")
    yield Sample((make(rng, (0, 3), dtype),), name="empty")
    yield Sample((noncontig(make(rng, (3, 3), dtype)),), name="noncontig")


def _asarray_samples(rng, dtype):
    yield Sample((make(rng, (2, 3), dtype),), name="tensor")
    yield Sample((make(rng, (2, 3), dtype),), {"copy": True}, name="tensor,copy=True")
    yield Sample((make(rng, (), dtype),), {"copy": True}, name="0d,copy=True")


def _asarray(xp, x, **kwargs):
    return xp.asarray(x, **kwargs)


def _asarray_nested(xp, a, b):
    return xp.asarray([a, b])


def _asarray_nested_samples(rng, dtype):
    yield Sample((make(rng, (3,), dtype), make(rng, (3,), dtype)), name="list_of_tensors")
    yield Sample((make(rng, (), dtype), make(rng, (), dtype)), name="list_of_0d")


def _forward_only(name, samples, fn=None, dtypes=("float64",)):
    return OpInfo(name, samples, fn=fn, dtypes=dtypes, differentiable=False)


def _with_dtype(fname):
    def fn(xp, *args, dtype=None, **kwargs):
        if dtype is not None:
            kwargs["dtype"] = dtype_of(xp, dtype)
        return getattr(xp, fname)(*args, **kwargs)

    return fn


def _arange_samples(rng, dtype):
    yield Sample((5,), name="stop")
    yield Sample((1, 7, 2), name="start,stop,step")
    yield Sample((0.5, 2.0, 0.25), name="float")
    yield Sample((3,), {"dtype": dtype}, name="dtype")
    yield Sample((3, 3), name="empty")


def _shape_samples(rng, dtype):
    yield Sample(((2, 3),), name="2d")
    yield Sample(((),), name="0d")
    yield Sample(((0, 2),), name="empty")
    yield Sample(((2,),), {"dtype": dtype}, name="dtype")


def _full_samples(rng, dtype):
    yield Sample(((2, 3), 1.5), name="float")
    yield Sample(((2,), 3), name="int")
    yield Sample(((), 2.5), {"dtype": dtype}, name="0d,dtype")


def _like_samples(rng, dtype):
    yield Sample((rng.standard_normal((2, 3)),), name="2d")
    yield Sample((rng.standard_normal(()),), name="0d")
    yield Sample((rng.standard_normal((3,)),), {"dtype": "float32"}, name="dtype=float32")


def _full_like_samples(rng, dtype):
    yield Sample((rng.standard_normal((2, 3)), 0.5), name="2d")
    yield Sample((rng.standard_normal(()), 2), name="0d,int")


def _eye_samples(rng, dtype):
    yield Sample((3,), name="square")
    yield Sample((2, 4), {"k": 1}, name="wide,k=1")
    yield Sample((4, 3), {"k": -2}, name="tall,k=-2")
    yield Sample((3,), {"dtype": dtype}, name="dtype")


def _linspace_samples(rng, dtype):
    yield Sample((0.0, 1.0, 5), name="closed")
    yield Sample((-1.0, 2.0, 4), {"endpoint": False}, name="endpoint=False")
    yield Sample((0.0, 1.0, 1), name="num=1")


def _zeros_of(xp, result):
    # empty/empty_like values are arbitrary: compare shape and dtype only.
    return [xp.zeros_like(result)]


def _from_dlpack(xp, x):
    return xp.from_dlpack(x)


def _from_dlpack_samples(rng, dtype):
    # from_dlpack refuses a Tensor that requires grad: the input is a constant.
    yield Sample((rng.standard_normal((2, 3)),), name="2d", grad=())


_LIKE = ("empty_like", "ones_like", "zeros_like")

OPS = [
    OpInfo("tril", _tri_samples, dtypes=ALL_FLOAT),
    OpInfo("triu", _tri_samples, dtypes=ALL_FLOAT),
    OpInfo(
        "asarray",
        _asarray_samples,
        fn=_asarray,
        # torch.asarray of a tensor warns about requires_grad; a Tensor stays in the graph, as
        # the input itself or (copy=True) as a differentiable copy.
        torch_fn=lambda txp, x, copy=None: x.clone() if copy else x,
        dtypes=ALL_FLOAT,
    ),
    OpInfo(
        "asarray",
        _asarray_nested_samples,
        fn=_asarray_nested,
        # torch.asarray does not stack tensors (it would read their values); stack does the same.
        torch_fn=lambda txp, a, b: txp.stack([a, b]),
        dtypes=ALL_FLOAT,
    ),
    _forward_only("arange", _arange_samples, fn=_with_dtype("arange")),
    OpInfo(
        "empty",
        _shape_samples,
        fn=_with_dtype("empty"),
        dtypes=("float64",),
        differentiable=False,
        output=_zeros_of,
    ),
    OpInfo(
        "empty_like",
        _like_samples,
        fn=_with_dtype("empty_like"),
        dtypes=("float64",),
        differentiable=False,
        output=_zeros_of,
    ),
    _forward_only("eye", _eye_samples, fn=_with_dtype("eye")),
    _forward_only("from_dlpack", _from_dlpack_samples, fn=_from_dlpack),
    _forward_only("full", _full_samples, fn=_with_dtype("full")),
    _forward_only("full_like", _full_like_samples, fn=_with_dtype("full_like")),
    _forward_only("linspace", _linspace_samples, fn=_with_dtype("linspace")),
    _forward_only("ones", _shape_samples, fn=_with_dtype("ones")),
    _forward_only("ones_like", _like_samples, fn=_with_dtype("ones_like")),
    _forward_only("zeros", _shape_samples, fn=_with_dtype("zeros")),
    _forward_only("zeros_like", _like_samples, fn=_with_dtype("zeros_like")),
]
