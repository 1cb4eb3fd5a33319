"""Manipulation functions (shapes, axes, joining and splitting) and their derivatives.

Every function here is linear, so every forward rule is ``LINEAR`` (the op applied to the
tangents) and every gradient is a rearrangement of the output gradient: the inverse shape
change, the inverse permutation, a split for joins, a sum over the copies for ``broadcast_to``,
``repeat``, ``tile`` and ``meshgrid``. Ops whose result may share memory with the input
(``reshape``, ``permute_dims``, ``expand_dims``, ``squeeze``, ``moveaxis``, ``broadcast_to``)
are declared views, so in-place writes through them reach the base's graph.
"""

from __future__ import annotations

import math

from ._indexing_functions import take_vjp
from ._math import device_of, normalize_axis
from ._optable import LINEAR, VARIABLE, apply, op

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


def _sequence(arrays, fname):
    if not isinstance(arrays, (list, tuple)):
        raise TypeError(
            f"{fname}(): argument 'arrays' must be a tuple or list of arrays, got {type(arrays).__name__}"
        )
    if not arrays:
        raise ValueError(f"{fname}(): argument 'arrays' must hold at least one array")


def _outputs(g):
    # The engine hands a node with a single output its gradient itself, not a 1-tuple.
    return g if type(g) is tuple else (g,)


# -- broadcasting ------------------------------------------------------------------------------


def broadcast_arrays(self, *arrays):
    """Broadcast ``arrays`` against each other; returns a tuple of arrays of the common shape.

    Gradient: each input's gradient is its output's gradient summed over the broadcast
    dimensions. Each result is a view of its own input only, as in torch
    (``torch.broadcast_tensors``), so it requires grad only if its input does.
    Deviations: none.
    """
    # Hand-written: each output is a view of its *own* input (an entry's views are all of its
    # first input), so each is one application of the entry below.
    ts = tuple(self._tensor(a, "broadcast_arrays", f"arrays[{i}]") for i, a in enumerate(arrays))
    shape = self.broadcast_shapes(*(t.shape for t in ts))
    return tuple(apply(self, _broadcast_one, (t,), {"shape": shape}) for t in ts)


def _identity_vjp(xp, g):
    return g


@op(grads={"x": _identity_vjp}, jvp=LINEAR, view=True, name="broadcast_arrays")
def _broadcast_one(xp, x, /, shape):
    # One result of broadcast_arrays. Not broadcast_to: NumPy's broadcast_to gives a read-only
    # view, its broadcast_arrays a writeable one (as torch's expand).
    if tuple(x.shape) == shape:
        return xp.broadcast_arrays(x)[0]
    return xp.broadcast_arrays(x, xp.broadcast_to(xp.zeros((), dtype=x.dtype, device=device_of(x)), shape))[0]


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


@op(grads={"x": _identity_vjp}, jvp=LINEAR, view=True)
def broadcast_to(xp, x, /, shape):
    """Broadcast ``x`` to ``shape`` (a view).

    Gradient: the output gradient summed over the broadcast dimensions (by the engine, which
    sums every gradient back to its input's shape). Deviations: none.
    """
    if tuple(x.shape) == tuple(shape):
        # A writeable view, as torch's expand to the same shape (NumPy's broadcast_to is read-only).
        return xp.broadcast_arrays(x)[0]
    return xp.broadcast_to(x, tuple(shape))


def _meshgrid_vjp(xp, g, *, arrays_shape, indexing):
    n = len(arrays_shape)
    axes = list(range(n))
    if indexing == "xy" and n >= 2:
        axes[0], axes[1] = 1, 0
    grads = []
    for i, gi in enumerate(_outputs(g)):
        others = tuple(a for a in range(n) if a != axes[i])
        grads.append(xp.sum(gi, axis=others) if others else gi)
    return tuple(grads)


@op(grads={"arrays": _meshgrid_vjp}, jvp=LINEAR, outputs=VARIABLE)
def meshgrid(xp, *arrays, indexing="xy"):
    """Coordinate matrices from 1-d coordinate vectors (``indexing`` 'xy' or 'ij').

    Gradient: input ``i``'s gradient is the gradient of output ``i`` summed over every axis
    but the one that input varies along. The results are new arrays (torch's are broadcast
    views of the inputs): an in-place change of a result leaves the inputs alone.
    """
    if indexing not in ("xy", "ij"):
        raise ValueError(f"meshgrid(): argument 'indexing' must be 'xy' or 'ij', got {indexing!r}")
    for i, a in enumerate(arrays):
        if a.ndim != 1:
            raise ValueError(
                f"meshgrid(): argument 'arrays[{i}]' must be 1-dimensional, got {a.ndim} dimensions"
            )
    if not arrays:
        return ()
    return tuple(xp.meshgrid(*arrays, indexing=indexing))


# -- joining and splitting ------------------------------------------------------------------------


def _concat_vjp(xp, g, *, arrays_shape, axis):
    if axis is None:
        sizes = [math.prod(s) for s in arrays_shape]
        ax = 0
    else:
        ax = normalize_axis(axis, len(arrays_shape[0]))[0]
        sizes = [s[ax] for s in arrays_shape]
    lead = (slice(None),) * ax
    grads = []
    start = 0
    for shape, n in zip(arrays_shape, sizes, strict=True):
        gi = g[lead + (slice(start, start + n), ...)]
        grads.append(xp.reshape(gi, shape) if axis is None else gi)
        start += n
    return tuple(grads)


@op(grads={"arrays": _concat_vjp}, jvp=LINEAR)
def concat(xp, arrays, /, *, axis=0):
    """Join ``arrays`` along an existing ``axis`` (``None``: flatten them first).

    Gradient: each input gets its slice of the output gradient (reshaped back to its shape
    when ``axis`` is None). Deviations: none.
    """
    _sequence(arrays, "concat")
    if axis is not None:
        normalize_axis(axis, arrays[0].ndim, "concat")
    return xp.concat(list(arrays), axis=axis)


def _stack_vjp(xp, g, *, arrays_shape, axis):
    ax = normalize_axis(axis, len(arrays_shape[0]) + 1)[0]
    lead = (slice(None),) * ax
    return tuple(g[lead + (i, ...)] for i in range(len(arrays_shape)))


@op(grads={"arrays": _stack_vjp}, jvp=LINEAR)
def stack(xp, arrays, /, *, axis=0):
    """Join ``arrays`` (all of one shape) along a new ``axis``.

    Gradient: each input gets the slice of the output gradient at its index. Deviations: none.
    """
    _sequence(arrays, "stack")
    normalize_axis(axis, arrays[0].ndim + 1, "stack")
    return xp.stack(list(arrays), axis=axis)


def _unstack_vjp(xp, g, *, axis):
    return xp.stack(_outputs(g), axis=axis)


@op(grads={"x": _unstack_vjp}, jvp=LINEAR, view=True, outputs=VARIABLE)
def unstack(xp, x, /, *, axis=0):
    """Split ``x`` along ``axis`` into a tuple of arrays, one per index (views of ``x``).

    Gradient: the entries' gradients stacked (zeros for entries that got none). Deviations:
    the entries are ordinary tracked views, so backward gives the gradient after an in-place
    change of ``x`` or of an entry, where torch's ``unbind`` raises (docs/deviations.md).
    """
    if x.ndim == 0:
        raise ValueError("unstack(): argument 'x' must have at least 1 dimension, got a 0-d array")
    normalize_axis(axis, x.ndim, "unstack")
    return tuple(xp.unstack(x, axis=axis))


# -- shapes ---------------------------------------------------------------------------------------


def _reshape_vjp(xp, g, *, x_shape):
    return xp.reshape(g, x_shape)


@op(grads={"x": _reshape_vjp}, jvp=LINEAR, view=True)
def reshape(xp, x, /, shape, *, copy=None):
    """Give ``x`` a new ``shape`` with the same elements (a view unless ``copy`` or the layout
    requires a copy).

    Gradient: the output gradient reshaped back. Deviations: none.
    """
    shape = tuple(shape)
    if copy is None:
        return xp.reshape(x, shape)
    return xp.reshape(x, shape, copy=copy)


@op(grads={"x": _reshape_vjp}, jvp=LINEAR, view=True)
def expand_dims(xp, x, /, axis):
    """Insert a dimension of size one at ``axis`` (a view).

    Gradient: the output gradient reshaped back. Deviations: none.
    """
    return xp.expand_dims(x, axis=axis)


@op(grads={"x": _reshape_vjp}, jvp=LINEAR, view=True)
def squeeze(xp, x, /, axis):
    """Remove the dimensions of size one at ``axis`` (a view).

    Gradient: the output gradient reshaped back. Deviations: none.
    """
    for a in normalize_axis(axis, x.ndim, "squeeze"):
        if x.shape[a] != 1:
            raise ValueError(f"squeeze(): cannot remove axis {a} of size {x.shape[a]} (it must have size 1)")
    return xp.squeeze(x, axis=axis)


def _permute_dims_vjp(xp, g, *, axes):
    nd = len(axes)
    inverse = [0] * nd
    for i, a in enumerate(axes):
        inverse[a % nd] = i
    return xp.permute_dims(g, tuple(inverse))


@op(grads={"x": _permute_dims_vjp}, jvp=LINEAR, view=True)
def permute_dims(xp, x, /, axes):
    """Permute the axes of ``x`` (a view).

    Gradient: the output gradient with the inverse permutation. Deviations: none.
    """
    axes = tuple(axes)
    nd = x.ndim
    if len(axes) != nd:
        raise ValueError(f"permute_dims(): argument 'axes' must have {nd} entries, got {axes}")
    if len(set(normalize_axis(axes, nd, "permute_dims", "axes"))) != nd:
        raise ValueError(f"permute_dims(): argument 'axes' must be a permutation of range({nd}), got {axes}")
    return xp.permute_dims(x, axes)


def _moveaxis_vjp(xp, g, *, source, destination):
    return xp.moveaxis(g, destination, source)


@op(grads={"x": _moveaxis_vjp}, jvp=LINEAR, view=True)
def moveaxis(xp, x, source, destination, /):
    """Move axes ``source`` of ``x`` to positions ``destination`` (a view).

    Gradient: the output gradient with the axes moved back. Deviations: none.
    """
    return xp.moveaxis(x, source, destination)


def _flip_vjp(xp, g, *, axis):
    return xp.flip(g, axis=axis)


@op(grads={"x": _flip_vjp}, jvp=LINEAR)
def flip(xp, x, /, *, axis=None):
    """Reverse the order of elements along ``axis`` (all axes if None).

    Gradient: the output gradient flipped back. A new array, as ``torch.flip`` (NumPy's view
    is copied): an in-place change of the result leaves ``x`` alone. Deviations: none.
    """
    return xp.flip(x, axis=axis)


def _roll_vjp(xp, g, *, shift, axis):
    back = tuple(-s for s in shift) if isinstance(shift, (tuple, list)) else -shift
    return xp.roll(g, back, axis=axis)


@op(grads={"x": _roll_vjp}, jvp=LINEAR)
def roll(xp, x, /, shift, *, axis=None):
    """Shift elements of ``x`` cyclically by ``shift`` along ``axis`` (of the flattened array
    if None).

    Gradient: the output gradient rolled back by ``-shift``. Deviations: none.
    """
    return xp.roll(x, shift, axis=axis)


# -- repetition -----------------------------------------------------------------------------------


def _repeat_vjp(xp, g, *, x_shape, repeats, axis, index):
    flat = axis is None
    base = (math.prod(x_shape),) if flat else tuple(x_shape)
    ax = 0 if flat else normalize_axis(axis, len(x_shape))[0]
    if index is None:
        # (..., n * repeats, ...) -> (..., n, repeats, ...), summed over the copies.
        split = base[:ax] + (base[ax], repeats) + base[ax + 1 :]
        r = xp.sum(xp.reshape(g, split), axis=ax + 1)
    else:
        r = take_vjp(xp, g, indices=index, axis=ax, x_shape=base)
    return xp.reshape(r, x_shape) if flat else r


@op(grads={"x": _repeat_vjp}, jvp=LINEAR, aux=("index",))
def repeat(xp, x, repeats, /, *, axis=None):
    """Repeat each element of ``x`` along ``axis`` (of the flattened array if None) ``repeats``
    times: an int, or an integer array with one count per element along the axis.

    Gradient: the sum of the gradients of an element's copies (a reshape and sum for an int
    ``repeats``, the adjoint of a ``take`` for an array). Deviations: none.
    """
    if isinstance(repeats, bool) or not (isinstance(repeats, int) or hasattr(repeats, "shape")):
        raise TypeError(
            f"repeat(): argument 'repeats' must be an int or an integer array, got {type(repeats).__name__}"
        )
    out = xp.repeat(x, repeats, axis=axis)
    index = None
    if not isinstance(repeats, int):
        # repeat(x, repeats) is take(x, index): its gradient is take's (a scatter-add).
        n = math.prod(x.shape) if axis is None else x.shape[normalize_axis(axis, x.ndim, "repeat")[0]]
        index = xp.repeat(xp.arange(n, device=device_of(x)), repeats)
    return out, {"index": index}


def _tile_vjp(xp, g, *, x_shape, repetitions):
    nd = max(len(x_shape), len(repetitions))
    full = (1,) * (nd - len(x_shape)) + tuple(x_shape)
    reps = (1,) * (nd - len(repetitions)) + tuple(repetitions)
    blocks = []
    for r, n in zip(reps, full, strict=True):
        blocks += [r, n]
    r = xp.sum(xp.reshape(g, tuple(blocks)), axis=tuple(range(0, 2 * nd, 2)))
    return xp.reshape(r, x_shape)


@op(grads={"x": _tile_vjp}, jvp=LINEAR)
def tile(xp, x, repetitions, /):
    """Construct an array by repeating ``x`` ``repetitions[i]`` times along each axis.

    Gradient: the sum of the tiles (the output gradient viewed as interleaved (repetition,
    size) blocks, summed over the repetition axes). Deviations: none.
    """
    return xp.tile(x, tuple(repetitions))
