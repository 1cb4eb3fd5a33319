"""Manipulation functions (shapes, axes, joining and splitting) and their VJPs.

Every gradient here is a rearrangement of the output gradient: the inverse shape change, the
inverse permutation, a split for joins, a sum over the copies for ``broadcast_to``, ``repeat``,
``tile`` and ``meshgrid``. Ops whose result may share memory with the input (``reshape``,
``permute_dims``, ``expand_dims``, ``squeeze``, ``moveaxis``, ``flip``, ``broadcast_to`` and the
entries of ``unstack``) are recorded as views, so in-place writes through them reach the base's
graph. ``meshgrid`` and ``unstack`` have one node with several outputs.
"""

from __future__ import annotations

from ._math import normalize_axis
from ._ops import needs_grad, record, record_multi
from ._tensor import Tensor

__all__ = [
    "broadcast_arrays",
    "broadcast_shapes",
    "broadcast_to",
    "concat",
    "expand_dims",
    "flip",
    "meshgrid",
    "moveaxis",
    "permute_dims",
    "repeat",
    "reshape",
    "roll",
    "squeeze",
    "stack",
    "tile",
    "unstack",
]


def _needs(xs):
    return tuple(type(x) is Tensor and x._requires_grad for x in xs)


def _tensors(self, arrays, fname):
    if not isinstance(arrays, (list, tuple)):
        raise TypeError(
            f"{fname}(): argument 'arrays' must be a tuple or list of arrays, got {type(arrays).__name__}"
        )
    return tuple(self._tensor(a, fname, f"arrays[{i}]") for i, a in enumerate(arrays))


def _one_or_tuple(grads):
    return grads[0] if len(grads) == 1 else tuple(grads)


def _outputs(g):
    # The engine hands a node with a single output its gradient itself, not a 1-tuple.
    return g if type(g) is tuple else (g,)


# -- broadcasting ------------------------------------------------------------------------------


def broadcast_arrays(self, *arrays):
    """Broadcast ``arrays`` against each other; returns a tuple of arrays of the common shape.

    Differentiable in every input: each input's gradient is its output's gradient summed over
    the broadcast dimensions. Each result is a view of its own input only (as in torch), so it
    requires grad only if its input does (``torch.broadcast_tensors``).
    """
    ts = tuple(self._tensor(a, "broadcast_arrays", f"arrays[{i}]") for i, a in enumerate(arrays))
    if not ts:
        return ()
    outs = self._xp.broadcast_arrays(*(t._data for t in ts))
    res = []
    for src, out in zip(ts, outs):  # the backend's views (NumPy's stay writeable, as torch's)
        t = record(self, "broadcast_arrays", _identity_vjp, (src,), out, view_of=src)
        if t._base is not None:
            self._set_view_fn(t, src, lambda b, shape=tuple(out.shape): self.broadcast_to(b, shape))
        res.append(t)
    return tuple(res)


def broadcast_shapes(self, *shapes):
    """The shape that arrays of ``shapes`` broadcast to, by the standard's broadcasting rules.

    A non-array utility: it computes on tuples of ints (``None``, an unknown dimension, gives an
    unknown result dimension unless another shape fixes it) and raises ``ValueError`` for
    incompatible shapes.
    """
    ndim = max((len(s) for s in shapes), default=0)
    out = []
    for i in range(ndim):
        dim = 1
        for s in shapes:
            k = len(s) - ndim + i
            if k < 0:
                continue
            n = s[k]
            if n is None:
                if dim == 1:
                    dim = None
                continue
            if n == 1:
                continue
            if dim == 1 or dim is None:
                dim = n
            elif dim != n:
                raise ValueError(
                    f"broadcast_shapes(): shapes {', '.join(str(tuple(s)) for s in shapes)} cannot be "
                    f"broadcast together (dimension {i - ndim}: {dim} vs {n})"
                )
        out.append(dim)
    return tuple(out)


def broadcast_to(self, x, /, shape):
    """Broadcast ``x`` to ``shape`` (a view). The gradient is summed over the broadcast
    dimensions (by the engine, which sums every gradient back to its input's shape)."""
    x = self._tensor(x, "broadcast_to")
    shape = tuple(shape)
    data = self._xp.broadcast_to(x._data, shape)
    t = record(self, "broadcast_to", _identity_vjp, (x,), data, view_of=x)
    if t._base is not None:
        self._set_view_fn(t, x, lambda b: self.broadcast_to(b, shape))
    return t


def _identity_vjp(xp, g):
    return g


def meshgrid(self, *arrays, indexing="xy"):
    """Coordinate matrices from 1-d coordinate vectors (``indexing`` 'xy' or 'ij').

    Differentiable in every input: input ``i``'s gradient is the gradient of output ``i``
    summed over every axis but the one that input varies along.
    """
    if indexing not in ("xy", "ij"):
        raise ValueError(f"meshgrid(): argument 'indexing' must be 'xy' or 'ij', got {indexing!r}")
    ts = tuple(self._tensor(a, "meshgrid", f"arrays[{i}]") for i, a in enumerate(arrays))
    for i, t in enumerate(ts):
        if t.ndim != 1:
            raise ValueError(
                f"meshgrid(): argument 'arrays[{i}]' must be 1-dimensional, got {t.ndim} dimensions"
            )
    if not ts:
        return ()
    outs = self._xp.meshgrid(*(t._data for t in ts), indexing=indexing)
    n = len(ts)
    axes = list(range(n))
    if indexing == "xy" and n >= 2:
        axes[0], axes[1] = 1, 0
    return record_multi(
        self, "meshgrid", _meshgrid_vjp, ts, tuple(outs), kw={"needs": _needs(ts), "axes": tuple(axes)}
    )


def _meshgrid_vjp(xp, g, *, needs, axes):
    n = len(axes)
    grads = []
    for i, gi in enumerate(_outputs(g)):
        if not needs[i]:
            grads.append(None)
            continue
        others = tuple(a for a in range(n) if a != axes[i])
        grads.append(xp.sum(gi, axis=others) if others else gi)
    return _one_or_tuple(grads)


# -- joining and splitting ------------------------------------------------------------------------


def concat(self, arrays, /, *, axis=0):
    """Join ``arrays`` along an existing ``axis`` (``None``: flatten them first).

    Differentiable in every input: each gets its slice of the output gradient (reshaped back
    to its shape when ``axis`` is None).
    """
    ts = _tensors(self, arrays, "concat")
    if not ts:
        raise ValueError("concat(): argument 'arrays' must hold at least one array")
    data = self._xp.concat([t._data for t in ts], axis=axis)
    if axis is None:
        sizes = tuple(self._backend.size(t._data) for t in ts)
        ax = 0
    else:
        ax = normalize_axis(axis, ts[0].ndim, "concat")[0]
        sizes = tuple(t.shape[ax] for t in ts)
    return record(
        self,
        "concat",
        _concat_vjp,
        ts,
        data,
        kw={
            "needs": _needs(ts),
            "axis": ax,
            "sizes": sizes,
            "shapes": tuple(t.shape for t in ts) if axis is None else None,
        },
    )


def _concat_vjp(xp, g, *, needs, axis, sizes, shapes):
    grads = []
    start = 0
    lead = (slice(None),) * axis
    for i, n in enumerate(sizes):
        if needs[i]:
            gi = g[lead + (slice(start, start + n), ...)]
            if shapes is not None:
                gi = xp.reshape(gi, shapes[i])
            grads.append(gi)
        else:
            grads.append(None)
        start += n
    return _one_or_tuple(grads)


def stack(self, arrays, /, *, axis=0):
    """Join ``arrays`` (all of one shape) along a new ``axis``.

    Differentiable in every input: each gets the slice of the output gradient at its index.
    """
    ts = _tensors(self, arrays, "stack")
    if not ts:
        raise ValueError("stack(): argument 'arrays' must hold at least one array")
    data = self._xp.stack([t._data for t in ts], axis=axis)
    ax = normalize_axis(axis, ts[0].ndim + 1, "stack")[0]
    return record(self, "stack", _stack_vjp, ts, data, kw={"needs": _needs(ts), "axis": ax})


def _stack_vjp(xp, g, *, needs, axis):
    lead = (slice(None),) * axis
    return _one_or_tuple([g[lead + (i, ...)] if need else None for i, need in enumerate(needs)])


def unstack(self, x, /, *, axis=0):
    """Split ``x`` along ``axis`` into a tuple of arrays, one per index (views of ``x``).

    The gradient stacks the entries' gradients (zeros for entries that got none).
    """
    x = self._tensor(x, "unstack")
    if x.ndim == 0:
        raise ValueError("unstack(): argument 'x' must have at least 1 dimension, got a 0-d array")
    ax = normalize_axis(axis, x.ndim, "unstack")[0]
    outs = self._xp.unstack(x._data, axis=ax)
    ts = record_multi(
        self, "unstack", _unstack_vjp, (x,), tuple(outs), kw={"axis": ax}, view_of=(x,) * len(outs)
    )
    if self._backend.mutable:
        for i, t in enumerate(ts):
            if t._base is not None:
                self._set_view_fn(t, x, lambda b, i=i: self.unstack(b, axis=ax)[i])
    return ts


def _unstack_vjp(xp, g, *, axis):
    return xp.stack(_outputs(g), axis=axis)


# -- shapes ---------------------------------------------------------------------------------------


def reshape(self, x, /, shape, *, copy=None):
    """Give ``x`` a new ``shape`` with the same elements (a view unless ``copy`` or the layout
    requires a copy). The gradient is the output gradient reshaped back."""
    x = self._tensor(x, "reshape")
    d = x._data
    shape = tuple(shape)
    if copy is None:
        data = self._xp.reshape(d, shape)
    else:
        data = self._xp.reshape(d, shape, copy=copy)
    t = record(self, "reshape", _reshape_vjp, (x,), data, kw={"shape": d.shape}, view_of=x)
    if t._base is not None:
        self._set_view_fn(t, x, lambda b: self.reshape(b, shape))
    return t


def _reshape_vjp(xp, g, *, shape):
    return xp.reshape(g, shape)


def expand_dims(self, x, /, axis):
    """Insert a dimension of size one at ``axis`` (a view). The gradient is reshaped back."""
    x = self._tensor(x, "expand_dims")
    d = x._data
    data = self._xp.expand_dims(d, axis=axis)
    t = record(self, "expand_dims", _reshape_vjp, (x,), data, kw={"shape": d.shape}, view_of=x)
    if t._base is not None:
        self._set_view_fn(t, x, lambda b: self.expand_dims(b, axis=axis))
    return t


def squeeze(self, x, /, axis):
    """Remove the dimensions of size one at ``axis`` (a view). The gradient is reshaped back."""
    x = self._tensor(x, "squeeze")
    d = x._data
    for a in normalize_axis(axis, x.ndim, "squeeze"):
        if d.shape[a] != 1:
            raise ValueError(f"squeeze(): cannot remove axis {a} of size {d.shape[a]} (it must have size 1)")
    data = self._xp.squeeze(d, axis=axis)
    t = record(self, "squeeze", _reshape_vjp, (x,), data, kw={"shape": d.shape}, view_of=x)
    if t._base is not None:
        self._set_view_fn(t, x, lambda b: self.squeeze(b, axis=axis))
    return t


def permute_dims(self, x, /, axes):
    """Permute the axes of ``x`` (a view). The gradient applies the inverse permutation."""
    x = self._tensor(x, "permute_dims")
    axes = tuple(axes)
    nd = x.ndim
    if len(axes) != nd:
        raise ValueError(f"permute_dims(): argument 'axes' must have {nd} entries, got {axes}")
    norm = normalize_axis(axes, nd, "permute_dims", "axes")
    if len(set(norm)) != nd:
        raise ValueError(f"permute_dims(): argument 'axes' must be a permutation of range({nd}), got {axes}")
    data = self._xp.permute_dims(x._data, axes)
    inverse = [0] * nd
    for i, a in enumerate(norm):
        inverse[a] = i
    t = record(self, "permute_dims", _permute_dims_vjp, (x,), data, kw={"inverse": tuple(inverse)}, view_of=x)
    if t._base is not None:
        self._set_view_fn(t, x, lambda b: self.permute_dims(b, axes))
    return t


def _permute_dims_vjp(xp, g, *, inverse):
    return xp.permute_dims(g, inverse)


def moveaxis(self, x, source, destination, /):
    """Move axes ``source`` of ``x`` to positions ``destination`` (a view). The gradient moves
    them back."""
    x = self._tensor(x, "moveaxis")
    data = self._xp.moveaxis(x._data, source, destination)
    t = record(
        self,
        "moveaxis",
        _moveaxis_vjp,
        (x,),
        data,
        kw={"source": source, "destination": destination},
        view_of=x,
    )
    if t._base is not None:
        self._set_view_fn(t, x, lambda b: self.moveaxis(b, source, destination))
    return t


def _moveaxis_vjp(xp, g, *, source, destination):
    return xp.moveaxis(g, destination, source)


def flip(self, x, /, *, axis=None):
    """Reverse the order of elements along ``axis`` (all axes if None). The gradient is
    flipped back. A new array, as ``torch.flip`` (NumPy's view is copied): an in-place change
    of the result leaves ``x`` alone."""
    x = self._tensor(x, "flip")
    data = self._xp.flip(x._data, axis=axis)
    return record(self, "flip", _flip_vjp, (x,), data, kw={"axis": axis})


def _flip_vjp(xp, g, *, axis):
    return xp.flip(g, axis=axis)


def roll(self, x, /, shift, *, axis=None):
    """Shift elements of ``x`` cyclically by ``shift`` along ``axis`` (of the flattened array
    if None). The gradient is rolled back by ``-shift``."""
    x = self._tensor(x, "roll")
    data = self._xp.roll(x._data, shift, axis=axis)
    back = tuple(-s for s in shift) if isinstance(shift, (tuple, list)) else -shift
    return record(self, "roll", _roll_vjp, (x,), data, kw={"shift": back, "axis": axis})


def _roll_vjp(xp, g, *, shift, axis):
    return xp.roll(g, shift, axis=axis)


# -- repetition -----------------------------------------------------------------------------------


def repeat(self, x, repeats, /, *, axis=None):
    """Repeat each element of ``x`` along ``axis`` (of the flattened array if None) ``repeats``
    times: an int, or an integer array with one count per element along the axis.

    The gradient of an element is the sum of the gradients of its copies: a reshape and sum
    for an int ``repeats``, a scatter-add over the repeated indices for an array (itself
    differentiable: its VJP is ``take`` along the axis).
    """
    x = self._tensor(x, "repeat")
    if type(repeats) is Tensor or self._backend.is_native(repeats):
        rep = self._raw(repeats, "repeat", "repeats")
    elif isinstance(repeats, int) and not isinstance(repeats, bool):
        rep = repeats
    else:
        raise TypeError(
            f"repeat(): argument 'repeats' must be an int or an integer array, got {type(repeats).__name__}"
        )
    d = x._data
    data = self._xp.repeat(d, rep, axis=axis)
    if not needs_grad(x):
        return record(self, "repeat", None, (x,), data)
    shape = d.shape
    if axis is None:
        flat = (self._backend.size(d),)
        ax = 0
    else:
        flat = None
        ax = normalize_axis(axis, x.ndim, "repeat")[0]
    kw = {"shape": shape, "flat": flat, "axis": ax, "ns": self, "index": None, "count": None}
    if isinstance(rep, int):
        kw["count"] = rep
    else:
        n = (flat or shape)[ax]
        kw["index"] = self._xp.repeat(self._xp.arange(n, device=self._backend.device(d)), rep)
    return record(self, "repeat", _repeat_vjp, (x,), data, kw=kw)


def _repeat_vjp(xp, g, *, shape, flat, axis, ns, index, count):
    base = flat if flat is not None else shape
    if count is not None:
        # (..., n * count, ...) -> (..., n, count, ...), summed over the copies.
        split = base[:axis] + (base[axis], count) + base[axis + 1 :]
        r = xp.sum(xp.reshape(g, split), axis=axis + 1)
    else:
        r = _add_at(ns, g, index, axis, base)
    return xp.reshape(r, shape) if flat is not None else r


def _add_at(ns, g, index, axis, shape):
    """Zeros of ``shape`` with ``g`` added at ``index`` along ``axis`` (repeated indices
    accumulate); the adjoint of ``take(., index, axis=axis)``, and differentiable (its VJP is
    that ``take``) when ``g`` is a Tensor."""
    vd = g._data if type(g) is Tensor else g
    b = ns._backend
    z = ns._xp.zeros(shape, dtype=vd.dtype, device=b.device(vd))
    data = b.index_add(z, (slice(None),) * axis + (index,), vd)
    if type(g) is not Tensor:
        return data
    return record(ns, "add_at", _add_at_vjp, (g,), data, kw={"index": index, "axis": axis})


def _add_at_vjp(xp, g, *, index, axis):
    return xp.take(g, index, axis=axis)


def tile(self, x, repetitions, /):
    """Construct an array by repeating ``x`` ``repetitions[i]`` times along each axis.

    The gradient sums the tiles: the output gradient is viewed as interleaved
    (repetition, size) blocks and summed over the repetition axes.
    """
    x = self._tensor(x, "tile")
    repetitions = tuple(repetitions)
    data = self._xp.tile(x._data, repetitions)
    return record(self, "tile", _tile_vjp, (x,), data, kw={"shape": x.shape, "reps": repetitions})


def _tile_vjp(xp, g, *, shape, reps):
    nd = max(len(shape), len(reps))
    full = (1,) * (nd - len(shape)) + tuple(shape)
    reps = (1,) * (nd - len(reps)) + tuple(reps)
    blocks = []
    for r, n in zip(reps, full, strict=True):
        blocks += [r, n]
    r = xp.sum(xp.reshape(g, tuple(blocks)), axis=tuple(range(0, 2 * nd, 2)))
    return xp.reshape(r, shape)
