"""Dask (lazy, chunked): the functions array_api_compat.dask lacks or gets wrong, built from
dask.array's own tools (``apply_gufunc``, ``map_blocks``, lazy index arithmetic), in an overlay
namespace; scatter-adds per chunk; linear positions of multi-array indices. Everything
Dask-specific lives here; :mod:`xpgrad._backends` decides when it applies.
"""

from __future__ import annotations

import collections
import contextlib
import functools
import math
import operator
import types
import warnings

import array_api_compat as _compat

from ._overlay import _overlay


def _dask_overlay(xp):
    ns = _overlay(xp, _dask_functions(xp), linalg=_dask_linalg(xp), fft=_dask_fft(xp))
    for module in (ns, ns.linalg, ns.fft):
        for name, fn in list(vars(module).items()):
            if isinstance(fn, types.FunctionType) and not name.startswith("_"):
                setattr(module, name, _dask_empty_in_one_chunk(fn))
    return ns


def _dask_if_empty(name, x, *args, **kwargs):
    """NumPy's ``name(x, *args, **kwargs)`` as a Dask array if ``x`` is empty (of known shape),
    else None. An empty array holds no values, so the result (or the error: a maximum of no
    values) follows from its shape alone; NumPy, computing it on an empty stand-in, has the
    standard's rules where Dask does not."""
    if not any(n == 0 for n in x.shape) or any(n != n for n in x.shape):  # (n != n: nan, unknown)
        return None
    import array_api_compat.numpy as npx
    import dask.array as da
    import numpy as np

    out = getattr(npx, name)(np.zeros(x.shape, dtype=_np_dtype(x)), *args, **kwargs)
    return da.from_array(np.asarray(out))


def _dask_empty_in_one_chunk(fn):
    """``fn`` with its empty Dask array arguments (also inside a list or tuple) in one chunk
    per axis. Dask cannot reshape an empty array cut into several chunks (NotImplementedError,
    or TypeError "reduce() of empty iterable"), which ``ravel``, ``nonzero``, ``unique_*``,
    boolean indexing, ``tile``, norms, ... do inside; an empty array holds no data, so
    rechunking it costs nothing."""
    import dask.array as da

    def fix(a):
        if type(a) is da.Array:
            if 0 in a.shape and any(len(c) > 1 for c in a.chunks):
                return a.rechunk(-1)
        elif type(a) in (list, tuple) and a and type(a[0]) is da.Array:
            return type(a)(fix(b) for b in a)
        return a

    @functools.wraps(fn)
    def call(*args, **kwargs):
        return fn(*[fix(a) for a in args], **{k: fix(v) for k, v in kwargs.items()})

    return call


def _np_dtype(x):
    import numpy as np

    return np.dtype(x.dtype)


def _real_of(t):
    import numpy as np

    return np.empty((), dtype=t).real.dtype


def _gufunc(func, signature, *args, dtypes, sizes=None, **kwargs):
    """``dask.array.apply_gufunc`` with one matrix per task: the core dimensions are rechunked
    to one chunk each (``allow_rechunk``), the batch dimensions keep theirs."""
    import dask.array as da
    import numpy as np

    # ``meta`` rather than ``output_dtypes``: Dask never calls NumPy's linalg on empty metadata
    # arrays (which warns or raises), nor casts a metadata array to each output dtype (which
    # warns for a complex input with a real output: ComplexWarning).
    meta = tuple(np.empty((0,), t) for t in dtypes) if isinstance(dtypes, tuple) else np.empty((0,), dtypes)
    if all(0 in a.shape for a in args):
        # empty input (Dask's apply_gufunc divides by zero): NumPy on empty stand-ins, whose
        # results follow from the shapes alone
        out = func(*(np.zeros(a.shape, dtype=_np_dtype(a)) for a in args))
        if isinstance(out, tuple):
            return tuple(da.from_array(np.asarray(o, dtype=m.dtype)) for o, m in zip(out, meta))
        return da.from_array(np.asarray(out, dtype=meta.dtype))
    return da.apply_gufunc(
        func, signature, *args, meta=meta, output_sizes=sizes, allow_rechunk=True, vectorize=False, **kwargs
    )


def _dask_functions(xp):
    """The main namespace's overrides."""

    def quiet(fn):
        def call(*args, **kwargs):
            with _dask_meta_quiet():
                return fn(*args, **kwargs)

        return call

    def reshape(x, /, shape, *, copy=None):
        # Dask reshapes only when chunk boundaries line up with the merged or split axes. Else:
        # the trailing axes in one chunk each (the leading one keeps its chunks), then the
        # whole array in one chunk as the last resort. An empty array: see _dask_if_empty.
        empty = _dask_if_empty("reshape", x, shape)
        if empty is not None:
            return empty
        try:
            return xp.reshape(x, shape, copy=copy)
        except NotImplementedError:
            pass
        try:
            return xp.reshape(x.rechunk({i: -1 for i in range(1, x.ndim)}), shape, copy=copy)
        except NotImplementedError:
            return xp.reshape(x.rechunk(-1), shape, copy=copy)

    def searchsorted(x1, x2, /, *, side="left", sorter=None):
        import dask.array as da
        import numpy as np

        if sorter is not None:
            x1 = x1[sorter]
        if not hasattr(x2, "shape"):
            x2 = da.asarray(np.asarray(x2, dtype=_np_dtype(x1)))
        if x2.ndim == 0:  # Dask's searchsorted mishandles a 0-d x2
            return da.reshape(xp.searchsorted(x1, da.reshape(x2, (1,)), side=side), ())
        return xp.searchsorted(x1, x2, side=side)

    def on_empty(name):
        # Dask's max and min of an empty array raise for a reduction along non-empty axes and
        # give an empty result for one along an empty axis (NumPy and the standard: the other
        # way round); its roll and reshape cannot reshape some empty arrays.
        fn = getattr(xp, name)

        def call(x, /, *args, **kwargs):
            empty = _dask_if_empty(name, x, *args, **kwargs)
            return fn(x, *args, **kwargs) if empty is None else empty

        return call

    return {
        "reshape": reshape,
        "max": on_empty("max"),
        "min": on_empty("min"),
        "roll": on_empty("roll"),
        "broadcast_to": functools.partial(_dask_broadcast_to, xp),
        "matrix_transpose": functools.partial(_dask_matrix_transpose, xp),
        "matmul": functools.partial(_dask_matmul, xp),
        "tril": quiet(xp.tril),
        "take": quiet(xp.take),
        "triu": quiet(xp.triu),
        "zeros": _dask_small_chunks(xp.zeros),
        "ones": _dask_small_chunks(xp.ones),
        "empty": _dask_small_chunks(xp.empty),
        "full": _dask_small_chunks(xp.full),
        "eye": functools.partial(_dask_eye, xp),
        "take_along_axis": _dask_take_along_axis,
        "repeat": _dask_repeat,
        "searchsorted": searchsorted,
        "from_dlpack": _dask_from_dlpack,
    }


def _dask_small_chunks(fn):
    """Creation function ``fn`` giving chunks of at most 32 MiB rather than Dask's default 128
    MiB to arrays created without a reference (zeros inside a VJP, before the engine rechunks
    the gradient like its input), so that a few of them fit a small worker."""

    def create(shape, *args, chunks=None, **kwargs):
        import dask

        if chunks is None:
            with dask.config.set({"array.chunk-size": "32MiB"}):
                return fn(shape, *args, **kwargs)
        return fn(shape, *args, chunks=chunks, **kwargs)

    return create


def _dask_broadcast_to(xp, x, /, shape):
    # Dask makes each new or stretched dimension ONE chunk (a scalar broadcast to an 8 GiB
    # gradient is one 8 GiB chunk, which a worker must hold or transfer whole). Here those
    # dimensions get bounded chunks instead; the existing ones keep theirs.
    import dask.array as da
    import numpy as np

    shape = tuple(shape)
    if tuple(x.shape) == shape:
        return x
    lead = len(shape) - x.ndim
    want = tuple(
        x.chunks[i - lead] if i >= lead and x.shape[i - lead] == n else "auto" for i, n in enumerate(shape)
    )
    if 0 in shape or "auto" not in want:
        return xp.broadcast_to(x, shape)
    chunks = da.core.normalize_chunks(want, shape, limit="32MiB", dtype=np.dtype(x.dtype))
    return _derived(da.broadcast_to(x, shape, chunks=chunks), _BROADCAST_OF, x)  # see ``rechunked``


# Dask arrays made by the overlay's ``broadcast_to`` and ``matrix_transpose`` keep their source
# (and its key: ``__setitem__`` gives a Dask array a new one), so that a later step can work on
# the source instead of the result's blocks.
_BROADCAST_OF = "_xpgrad_broadcast_of"
_TRANSPOSE_OF = "_xpgrad_transpose_of"


def _derived(out, attr, source):
    setattr(out, attr, (source, source.name))
    return out


def _derived_from(arr, attr):
    """The source that ``arr`` was made from (``_derived``), None if none or since rewritten."""
    kept = getattr(arr, attr, None)
    if kept is None or kept[0].name != kept[1]:
        return None
    return kept[0]


def _dask_matrix_transpose(xp, x, /):
    # The transpose of a transpose is the array itself: under ``create_graph`` the next order
    # transposes what a VJP transposed (``x1^H @ g``), and Dask would keep the blocks of that
    # first transpose, read by two products, in memory between them (issue 25).
    source = _derived_from(x, _TRANSPOSE_OF)
    if source is not None:
        return source
    return _derived(xp.matrix_transpose(x), _TRANSPOSE_OF, x)


def _dask_matmul(xp, x1, x2, /):
    # A transposed matrix operand is contracted from its source (``tensordot`` over the axis
    # the transpose would have moved): no task per block makes a transposed copy, which Dask
    # could not fuse into the product when another task reads it too.
    s1 = _derived_from(x1, _TRANSPOSE_OF) if x1.ndim == 2 and x2.ndim <= 2 else None
    s2 = _derived_from(x2, _TRANSPOSE_OF) if x2.ndim == 2 else None
    if s1 is None and s2 is None:
        return xp.matmul(x1, x2)
    a, a_axis = (x1, x1.ndim - 1) if s1 is None else (s1, 0)
    b, b_axis = (x2, 0) if s2 is None else (s2, 1)
    return xp.tensordot(a, b, axes=((a_axis,), (b_axis,)))


def _dask_eye(xp, n_rows, n_cols=None, /, *, k=0, dtype=None, device=None):
    # dask.array.eye(n, m, k) builds a broken graph when m != n; build the identity from
    # index comparisons instead (lazy, chunked like arange).
    import dask.array as da

    m = n_rows if n_cols is None else n_cols
    dtype = dtype if dtype is not None else xp.float64
    rows = da.arange(n_rows)[:, None]
    cols = da.arange(m)[None, :]
    return (cols - rows == k).astype(dtype)


def _dask_take_along_axis(x, indices, /, *, axis=-1):
    import dask.array as da
    import numpy as np

    axis = axis % x.ndim
    shape = tuple(x.shape[d] if d == axis else max(x.shape[d], indices.shape[d]) for d in range(x.ndim))
    ishape = tuple(indices.shape[d] if d == axis else shape[d] for d in range(x.ndim))
    xs = da.broadcast_to(x, tuple(x.shape[d] if d == axis else shape[d] for d in range(x.ndim)))
    ix = da.broadcast_to(indices, ishape)
    # The taken axis in one chunk, the others aligned: one np.take_along_axis per block.
    xs = xs.rechunk({axis: -1})
    ix = ix.rechunk(tuple(c if d != axis else -1 for d, c in enumerate(xs.chunks)))
    ix = ix.rechunk({d: xs.chunks[d] for d in range(x.ndim) if d != axis})
    if 0 in ix.shape or 0 in xs.shape:
        return da.zeros(ix.shape, dtype=x.dtype)
    return da.map_blocks(
        np.take_along_axis,
        xs,
        ix,
        axis=axis,
        chunks=ix.chunks,
        dtype=x.dtype,
        meta=np.empty((0,) * x.ndim, x.dtype),
    )


def _dask_repeat(x, repeats, /, *, axis=None):
    import dask.array as da
    import numpy as np

    if axis is None:
        x = da.reshape(x, (-1,))
        axis = 0
    if isinstance(repeats, int) and x.shape[axis] > 0:
        return da.repeat(x, repeats, axis=axis)
    # An array of repeats: the result's shape depends on its values, which Dask must know to
    # build the graph; repeats (one integer per element along axis) are computed here.
    r = np.asarray(repeats.compute() if hasattr(repeats, "compute") else repeats, dtype=np.int64)
    n = x.shape[axis]
    idx = np.repeat(np.arange(n), np.broadcast_to(r, (n,)))
    return da.take(x, idx, axis=axis)


def _dask_from_dlpack(x, /, *, device=None, copy=None):
    import dask.array as da
    import numpy as np

    if isinstance(x, da.Array):
        return x.copy() if copy else x
    return da.from_array(np.from_dlpack(x))


def _dask_linalg(xp):
    """``xp.linalg`` with NumPy's linalg applied one matrix per task (``_gufunc``)."""
    import dask.array as da
    import numpy as np

    la = np.linalg

    def cholesky(x, /, *, upper=False):
        out = _gufunc(la.cholesky, "(m,m)->(m,m)", x, dtypes=_np_dtype(x))
        return da.conj(da.swapaxes(out, -1, -2)) if upper else out

    def slogdet(x, /):
        t = _np_dtype(x)
        sign, logabs = _gufunc(lambda a: tuple(la.slogdet(a)), "(m,m)->(),()", x, dtypes=(t, _real_of(t)))
        return _SlogdetResult(sign, logabs)

    def solve(x1, x2, /):
        t = np.result_type(_np_dtype(x1), _np_dtype(x2))
        if x2.ndim == 1:
            return _gufunc(la.solve, "(m,m),(m)->(m)", x1, x2, dtypes=t)
        return _gufunc(la.solve, "(m,m),(m,k)->(m,k)", x1, x2, dtypes=t)

    def eigh(x, /):
        t = _np_dtype(x)
        w, v = _gufunc(lambda a: tuple(la.eigh(a)), "(m,m)->(m),(m,m)", x, dtypes=(_real_of(t), t))
        return _EighResult(w, v)

    def eig(x, /):
        c = np.result_type(_np_dtype(x), np.complex64)
        w, v = _gufunc(lambda a: tuple(r.astype(c) for r in la.eig(a)), "(m,m)->(m),(m,m)", x, dtypes=(c, c))
        return _EigResult(w, v)

    def eigvals(x, /):
        c = np.result_type(_np_dtype(x), np.complex64)
        return _gufunc(lambda a: la.eigvals(a).astype(c), "(m,m)->(m)", x, dtypes=c)

    def matrix_rank(x, /, *, rtol=None):
        s = _dask_svdvals(x)
        m, n = x.shape[-2:]
        if rtol is None:
            rtol = max(m, n) * np.finfo(_real_of(_np_dtype(x))).eps
        tol = da.max(s, axis=-1, keepdims=True) * rtol
        return da.count_nonzero(s > tol, axis=-1)

    def matrix_norm(x, /, *, keepdims=False, ord="fro"):
        if ord in (2, -2, "nuc"):
            s = _dask_svdvals(x)
            r = {2: da.max, -2: da.min, "nuc": da.sum}[ord](s, axis=-1)
            return r[..., None, None] if keepdims else r
        return xp.linalg.matrix_norm(x, keepdims=keepdims, ord=ord)

    def cross(x1, x2, /, *, axis=-1):
        t = np.result_type(_np_dtype(x1), _np_dtype(x2))
        out = _gufunc(
            np.cross, "(i),(i)->(i)", da.moveaxis(x1, axis, -1), da.moveaxis(x2, axis, -1), dtypes=t
        )
        return da.moveaxis(out, -1, axis)

    overrides = {
        "cholesky": cholesky,
        "inv": lambda x, /: _gufunc(la.inv, "(m,m)->(m,m)", x, dtypes=_np_dtype(x)),
        "det": lambda x, /: _gufunc(la.det, "(m,m)->()", x, dtypes=_np_dtype(x)),
        "slogdet": slogdet,
        "solve": solve,
        "eigh": eigh,
        "eigvalsh": lambda x, /: _gufunc(la.eigvalsh, "(m,m)->(m)", x, dtypes=_real_of(_np_dtype(x))),
        "eig": eig,
        "eigvals": eigvals,
        "svd": _dask_svd,
        "svdvals": _dask_svdvals,
        "qr": _dask_qr,
        "pinv": _dask_pinv,
        "matrix_rank": matrix_rank,
        "matrix_power": lambda x, n, /: _gufunc(
            lambda a: la.matrix_power(a, n), "(m,m)->(m,m)", x, dtypes=_np_dtype(x)
        ),
        "matrix_norm": matrix_norm,
        "cross": cross,
    }
    return _overlay(xp.linalg, overrides)


def _dask_svd(x, /, *, full_matrices=True):
    import numpy as np

    t = _np_dtype(x)
    k = min(x.shape[-2:])
    sig = "(m,n)->(m,m),(k),(n,n)" if full_matrices else "(m,n)->(m,k),(k),(k,n)"
    u, s, vh = _gufunc(
        lambda a: tuple(np.linalg.svd(a, full_matrices=full_matrices)),
        sig,
        x,
        dtypes=(t, _real_of(t), t),
        sizes={"k": k},
    )
    return _SVDResult(u, s, vh)


def _dask_svdvals(x, /):
    import numpy as np

    k = min(x.shape[-2:])
    return _gufunc(
        lambda a: np.linalg.svd(a, compute_uv=False),
        "(m,n)->(k)",
        x,
        dtypes=_real_of(_np_dtype(x)),
        sizes={"k": k},
    )


def _dask_qr(x, /, *, mode="reduced"):
    import numpy as np

    t = _np_dtype(x)
    m, n = x.shape[-2:]
    k = m if mode == "complete" else min(m, n)
    q, r = _gufunc(
        lambda a: tuple(np.linalg.qr(a, mode=mode)), "(m,n)->(m,k),(k,n)", x, dtypes=(t, t), sizes={"k": k}
    )
    return _QRResult(q, r)


def _dask_pinv(x, /, *, rtol=None):
    import numpy as np

    t = _np_dtype(x)
    m, n = x.shape[-2:]
    if rtol is None:
        rtol = max(m, n) * np.finfo(_real_of(t)).eps
    return _gufunc(lambda a: np.linalg.pinv(a, rcond=rtol), "(m,n)->(n,m)", x, dtypes=t)


def _dask_fft(xp):
    """``xp.fft``: dask.array.fft transforms only along axes that are one chunk, so those axes
    are rechunked first."""

    def along(fn, nd):
        def call(x, /, *args, **kwargs):
            if nd:
                axes = kwargs.get("axes")
                if axes is None:
                    s_ = kwargs.get("s")
                    axes = range(x.ndim) if s_ is None else range(x.ndim - len(s_), x.ndim)
            else:
                axes = (kwargs.get("axis", -1),)
            x = x.rechunk({a % x.ndim: -1 for a in axes}) if x.ndim else x
            return fn(x, *args, **kwargs)

        return call

    names = ("fft", "ifft", "rfft", "irfft", "hfft", "ihfft")
    overrides = {n: along(getattr(xp.fft, n), False) for n in names if hasattr(xp.fft, n)}
    overrides.update(
        {n + "n": along(getattr(xp.fft, n + "n"), True) for n in names if hasattr(xp.fft, n + "n")}
    )
    return _overlay(xp.fft, overrides)


_SlogdetResult = collections.namedtuple("SlogdetResult", "sign logabsdet")
_EighResult = collections.namedtuple("EighResult", "eigenvalues eigenvectors")
_EigResult = collections.namedtuple("EigResult", "eigenvalues eigenvectors")
_SVDResult = collections.namedtuple("SVDResult", "U S Vh")
_QRResult = collections.namedtuple("QRResult", "Q R")
_UniqueAllResult = collections.namedtuple("UniqueAllResult", "values indices inverse_indices counts")


def _dask_positions(shape, key):
    """Lazy linear positions: ``arange(prod(shape)).reshape(shape)[key]`` for an integer-array key.

    Built from the key's own arrays by index arithmetic (NumPy's advanced-indexing placement
    rules), so it works where Dask's ``__getitem__`` does not (several or multi-dimensional
    integer arrays). Returns None for keys it does not handle (boolean masks, ``None``).
    """
    import dask.array as da
    import numpy as np

    items = list(key) if isinstance(key, tuple) else [key]
    if any(k is None for k in items):
        return None
    if any(hasattr(k, "dtype") and np.dtype(k.dtype) == np.bool_ for k in items):
        return None
    n_explicit = sum(1 for k in items if k is not Ellipsis)
    expanded = []
    for k in items:
        if k is Ellipsis:
            expanded += [slice(None)] * (len(shape) - n_explicit)
        else:
            expanded.append(k)
    expanded += [slice(None)] * (len(shape) - len(expanded))
    strides = [1] * len(shape)
    for d in range(len(shape) - 2, -1, -1):
        strides[d] = strides[d + 1] * shape[d + 1]
    adv = [d for d, k in enumerate(expanded) if not isinstance(k, slice)]
    if not adv:
        return None
    bshape = np.broadcast_shapes(*(tuple(getattr(expanded[d], "shape", ())) for d in adv))
    contiguous = adv == list(range(adv[0], adv[-1] + 1))
    slice_axes = [d for d in range(len(shape)) if d not in adv]
    # Result layout: slice dims before the advanced block, the block, slice dims after (advanced
    # indices adjacent), or the block first (not adjacent).
    if contiguous:
        before = [d for d in slice_axes if d < adv[0]]
        after = [d for d in slice_axes if d > adv[-1]]
    else:
        before, after = [], slice_axes
    nb, na = len(before), len(after)
    lens = {d: len(range(*expanded[d].indices(shape[d]))) for d in slice_axes}
    out_shape = tuple(lens[d] for d in before) + tuple(bshape) + tuple(lens[d] for d in after)
    pos = da.zeros((), dtype=np.int64)
    for d in adv:
        k = expanded[d]
        if isinstance(k, (int, np.integer)):
            k = da.asarray(np.int64(k))
        k = da.asarray(k).astype(np.int64)
        k = k % shape[d] if shape[d] else k
        k = da.reshape(k, (1,) * nb + (1,) * (len(bshape) - k.ndim) + tuple(k.shape) + (1,) * na)
        pos = pos + k * strides[d]
    for i, d in enumerate(before + after):
        r = da.arange(*expanded[d].indices(shape[d]), dtype=np.int64)
        where = i if i < nb else nb + len(bshape) + (i - nb)
        r = da.reshape(r, tuple(lens[d] if j == where else 1 for j in range(len(out_shape))))
        pos = pos + r * strides[d]
    return da.broadcast_to(pos, out_shape)


def _dask_index_add(arr, key, values):
    """``arr[key] += values`` with repeated indices accumulating, per chunk of ``arr``.

    The values and their linear positions are cut into blocks; each (values block, output
    block) pair is one task doing ``np.add.at`` on the output block with the values that fall
    in it, and the partial blocks are summed. Memory per task: one output block plus one values
    block (no one-hot matrix, no gathering of all values).
    """
    import dask.array as da
    import numpy as np
    from dask.base import tokenize
    from dask.highlevelgraph import HighLevelGraph

    pos = _dask_positions(arr.shape, key)
    if pos is None:
        return None
    values = da.asarray(values)
    if values.dtype != arr.dtype:
        values = values.astype(arr.dtype)
    if 0 in pos.shape or 0 in arr.shape:
        return arr
    vals = da.broadcast_to(values, pos.shape).reshape(-1)
    pos = pos.reshape(-1)
    vals = vals.rechunk(pos.chunks)
    offsets = [np.cumsum((0,) + c) for c in arr.chunks]
    shape = arr.shape
    name = "xpgrad-index-add-" + tokenize(arr, key, values)
    dsk = {}
    nj = len(pos.chunks[0])
    for j in range(nj):
        for block in np.ndindex(*arr.numblocks):
            lo = tuple(int(offsets[d][b]) for d, b in enumerate(block))
            hi = tuple(int(offsets[d][b + 1]) for d, b in enumerate(block))
            dsk[(name, j, *block)] = (_scatter_block, (pos.name, j), (vals.name, j), shape, lo, hi, arr.dtype)
    graph = HighLevelGraph.from_collections(name, dsk, dependencies=[pos, vals])
    parts = da.Array(graph, name, ((1,) * nj, *arr.chunks), meta=np.empty((0,) * (arr.ndim + 1), arr.dtype))
    return arr + da.sum(parts, axis=0)


def _scatter_block(pos, vals, shape, lo, hi, dtype):
    import numpy as np

    out = np.zeros(tuple(h - low for low, h in zip(lo, hi)), dtype=dtype)
    coords = np.unravel_index(pos, shape) if len(shape) else ()
    inside = np.ones(pos.shape, dtype=bool)
    for c, low, h in zip(coords, lo, hi):
        inside &= (c >= low) & (c < h)
    np.add.at(out, tuple(c[inside] - low for c, low in zip(coords, lo)), vals[inside])
    return out[None]


def _dask_needs_positions(key) -> bool:
    items = key if isinstance(key, tuple) else (key,)
    arrays = [k for k in items if hasattr(k, "ndim") and hasattr(k, "dtype") and str(k.dtype) != "bool"]
    return len(arrays) > 1 or any(k.ndim != 1 for k in arrays)


@contextlib.contextmanager
def _dask_meta_quiet():
    """Silence the ComplexWarning that Dask raises while building the *metadata* of a complex
    integer-array gather or of tril/triu (it casts an empty complex array to a real one; no
    value is involved). Only that warning, only while the graph is built."""
    import numpy as np

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", np.exceptions.ComplexWarning)
        yield


def _known_chunks(chunks) -> bool:
    return all(c == c for dim in chunks for c in dim)  # nan != nan


def adopt_unknown_chunks(g, like):
    """Raw Dask ``g`` of known shape cut into the blocks of ``like``, an array of the same
    shape but for dimensions of unknown (nan) length (a boolean mask's result): ``g`` itself
    for any other pair.

    A gradient passed for such an output has a known shape; Dask combines arrays with unknown
    chunks only block by block, so the gradient takes the output's blocks: the lengths of the
    output's blocks along each unknown axis (known when the blocks are computed, lazily) give
    the offsets at which ``g`` is cut.
    """
    import dask
    import dask.array as da
    import numpy as np

    if not (_compat.is_dask_array(g) and _compat.is_dask_array(like)) or g.ndim != like.ndim:
        return g
    unknown = [a for a, c in enumerate(like.chunks) if not all(n == n for n in c)]
    if not unknown or not _known_chunks(g.chunks):
        return g
    g = g.rechunk(tuple((n,) if a in unknown else like.chunks[a] for a, n in enumerate(g.shape)))
    like_blocks, g_blocks = like.to_delayed(), g.to_delayed()
    starts = {}
    for a in unknown:
        offsets = [0]
        for j in range(like.numblocks[a] - 1):
            first = like_blocks[tuple(j if d == a else 0 for d in range(like.ndim))]
            offsets.append(dask.delayed(operator.add)(offsets[-1], dask.delayed(_length_along)(first, a)))
        starts[a] = offsets
    parts = np.empty(like.numblocks, dtype=object)
    for idx in np.ndindex(*like.numblocks):
        source = g_blocks[tuple(0 if d in unknown else i for d, i in enumerate(idx))]
        cuts = tuple((a, starts[a][idx[a]]) for a in unknown)
        block = dask.delayed(_cut_like)(source, like_blocks[idx], cuts)
        shape = tuple(math.nan if d in unknown else like.chunks[d][i] for d, i in enumerate(idx))
        parts[idx] = da.from_delayed(block, shape, dtype=g.dtype)
    return da.block(parts.tolist(), allow_unknown_chunksizes=True)


def _length_along(block, axis):
    return block.shape[axis]


def _cut_like(source, like, cuts):
    key = [slice(None)] * source.ndim
    for axis, start in cuts:
        key[axis] = slice(start, start + like.shape[axis])
    return source[tuple(key)]


def _dask_lazy_mask(arr, key, value):
    """The boolean Dask array of a key that is one lazy mask (``arr[mask]``, the mask over the
    leading axes of ``arr``) written with an array value; None for any other write."""
    import numpy as np

    items = key if isinstance(key, tuple) else (key,)
    if len(items) == 2 and items[1] is Ellipsis:  # x[mask, ...] is x[mask]
        items = items[:1]
    if len(items) != 1 or getattr(value, "ndim", 0) == 0:
        return None
    mask = items[0]
    if not _compat.is_dask_array(mask) or np.dtype(mask.dtype) != np.bool_:
        return None
    if not 1 <= mask.ndim <= arr.ndim or tuple(mask.shape) != tuple(arr.shape[: mask.ndim]):
        return None
    return mask


def _dask_mask_put(arr, mask, values, accumulate):
    """``arr[mask] = values`` (``+=`` if ``accumulate``) for a lazy boolean ``mask`` over the
    leading axes of ``arr`` and ``values`` of the masked region's unknown (nan) length, which
    Dask's ``__setitem__`` cannot broadcast to.

    The mask is flattened (C order, the order of ``arr[mask]``'s values); each block of it is
    one task that fills a block of zeros with its slice of the values, at the offset given by
    the counts of the blocks before it. The values are gathered into one task (their blocks
    have unknown lengths, so they cannot be split to match).
    """
    import dask
    import dask.array as da
    import numpy as np

    k = mask.ndim
    rest = tuple(arr.shape[k:])
    flat = mask.reshape(math.prod(arr.shape[:k]))
    values = da.asarray(values)
    if values.dtype != arr.dtype:
        values = values.astype(arr.dtype)
    gathered = dask.delayed(np.block)(values.to_delayed().tolist()) if values.ndim else values
    offset = 0
    parts = []
    for n, block in zip(flat.chunks[0], flat.to_delayed().tolist()):
        part = dask.delayed(_mask_fill_block)(block, gathered, offset, (n, *rest), np.dtype(arr.dtype))
        parts.append(da.from_delayed(part, (n, *rest), dtype=arr.dtype))
        offset = dask.delayed(operator.add)(offset, dask.delayed(np.count_nonzero)(block))
    scattered = da.concatenate(parts, axis=0).reshape(arr.shape)
    if accumulate:
        return arr + scattered
    return da.where(mask.reshape(mask.shape + (1,) * len(rest)), scattered, arr)


def _mask_fill_block(mask, values, offset, shape, dtype):
    import numpy as np

    out = np.zeros(shape, dtype)
    n = int(np.count_nonzero(mask))
    if values.ndim == len(shape) and values.shape[0] != 1:  # one value per masked element
        values = values[offset : offset + n]
    out[mask] = values  # (else: broadcast)
    return out
