"""Creation functions. Each takes ``requires_grad=False`` and returns a leaf Tensor, except
``asarray`` of Tensors and ``tril``/``triu``, which are differentiable in their array input.
"""

from __future__ import annotations

from ._backends import refuse_tracked
from ._optable import LINEAR, apply, op
from ._tensor import Tensor

__all__ = [
    "arange",
    "asarray",
    "empty",
    "empty_like",
    "eye",
    "from_dlpack",
    "full",
    "full_like",
    "linspace",
    "ones",
    "ones_like",
    "tril",
    "triu",
    "zeros",
    "zeros_like",
]


def _leaf(self, data, requires_grad, fname):
    t = Tensor._wrap_plain(self, self._ensure(data))
    if requires_grad:
        if not isinstance(requires_grad, bool):
            raise TypeError(
                f"{fname}(): argument 'requires_grad' must be a bool, got {type(requires_grad).__name__}"
            )
        if not self._is_differentiable_dtype(t.dtype):
            raise RuntimeError(
                f"{fname}(): only Tensors of floating point or complex dtype can require "
                f"gradients, got dtype {t.dtype}"
            )
        t._requires_grad = True
    return t


def _like_raw(self, x, fname):
    return self._raw(x, fname, "x")


def arange(self, start, /, stop=None, step=1, *, dtype=None, device=None, requires_grad=False):
    """Evenly spaced values within the half-open interval [start, stop), ``step`` apart.

    A leaf (``requires_grad=True`` makes it require grad). Not differentiable in its
    arguments (Python numbers).
    """
    data = self._xp.arange(start, stop, step, dtype=dtype, device=device)
    return _leaf(self, data, requires_grad, "arange")


def _contains_tensor(obj):
    if type(obj) is Tensor:
        return True
    if isinstance(obj, (list, tuple)):
        return any(_contains_tensor(o) for o in obj)
    return False


def _stack_nested(self, obj, dtype, device):
    if isinstance(obj, (list, tuple)):
        parts = [_stack_nested(self, o, dtype, device) for o in obj]
        return self.stack(parts, axis=0)
    if type(obj) is Tensor:
        return obj if dtype is None or obj.dtype == dtype else self.astype(obj, dtype)
    return self.asarray(obj, dtype=dtype, device=device)


def asarray(self, obj, /, *, dtype=None, device=None, copy=None, requires_grad=False):
    """Convert ``obj`` to a Tensor (a leaf for Python values and raw arrays).

    Gradient: a Tensor input stays in the graph (the gradient passes through, cast back to its
    dtype), and so do Tensors nested in lists (they are stacked): gradients are never silently
    dropped. Deviations: none.
    """
    # Hand-written: ``obj`` is a Tensor, a raw array, a Python value or a nested sequence; a
    # Tensor goes through the entry ``_asarray_tensor`` below (``obj`` itself when nothing changes).
    if type(obj) is Tensor:
        if obj._ns is not self:
            raise self._wrong_tensor(obj, "asarray", "obj")
        if requires_grad:
            raise ValueError(
                "asarray(): requires_grad=True with a Tensor input; use x.detach().requires_grad_() "
                "for a new leaf"
            )
        if (
            copy is not True
            and (dtype is None or dtype == obj.dtype)
            and (device is None or device == obj.device)
        ):
            return obj
        return apply(self, _asarray_tensor, (obj,), {"dtype": dtype, "device": device, "copy": copy})
    if isinstance(obj, (list, tuple)) and _contains_tensor(obj):
        if copy is False:
            raise ValueError("asarray(): copy=False is impossible for a nested sequence of Tensors")
        t = _stack_nested(self, obj, dtype, device)
        if requires_grad:
            if t._grad_fn is not None:
                raise ValueError("asarray(): requires_grad=True with Tensors that are in a graph")
            t.requires_grad = True
        return t
    if obj is None or isinstance(obj, (str, bytes, dict, set)):
        raise TypeError(
            "asarray(): argument 'obj' must be an array, a Python scalar (bool, int, float, "
            f"complex) or a nested sequence of them, got {type(obj).__name__}"
        )
    if self.backend.is_native(obj):
        self.backend.constant(obj, "asarray", "obj")
    else:  # another library's array or a sequence, copied: not one that carries torch's gradient
        refuse_tracked(obj, "asarray", "obj")
    data = self._xp.asarray(obj, dtype=dtype, device=device, copy=copy)
    if not _is_array_api_dtype(self, data.dtype):
        raise TypeError(
            f"asarray(): argument 'obj' ({type(obj).__name__}) converts to dtype {data.dtype}, "
            "which is not an array API dtype; expected numbers (bool, int, float, complex), "
            "arrays, or nested sequences of them"
        )
    return _leaf(self, data, requires_grad, "asarray")


_DTYPE_NAMES = (
    "float64",
    "float32",
    "int64",
    "bool",
    "complex128",
    "int32",
    "complex64",
    "int8",
    "int16",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
)


def _is_array_api_dtype(self, dt):
    for name in _DTYPE_NAMES:
        d = getattr(self, name, None)
        if d is not None and dt == d:
            return True
    return False


def _identity_vjp(xp, g):
    return g


@op(grads={"obj": _identity_vjp}, jvp=LINEAR, view=True, name="asarray")
def _asarray_tensor(xp, obj, /, *, dtype=None, device=None, copy=None):
    # asarray of a Tensor: differentiable, and a view where the backend returned obj's memory
    # (copy not True), as torch's ``as_tensor``.
    return xp.asarray(obj, dtype=dtype, device=device, copy=copy)


def empty(self, shape, *, dtype=None, device=None, requires_grad=False):
    """An uninitialized array of ``shape`` (a leaf; ``requires_grad=False`` by default)."""
    return _leaf(self, self._xp.empty(shape, dtype=dtype, device=device), requires_grad, "empty")


def empty_like(self, x, /, *, dtype=None, device=None, requires_grad=False):
    """An uninitialized array with the shape (and dtype, device) of ``x``.

    A leaf: not differentiable in ``x`` (only its shape is used).
    """
    data = self._xp.empty_like(_like_raw(self, x, "empty_like"), dtype=dtype, device=device)
    return _leaf(self, data, requires_grad, "empty_like")


def eye(self, n_rows, n_cols=None, /, *, k=0, dtype=None, device=None, requires_grad=False):
    """A two-dimensional array with ones on the ``k``-th diagonal and zeros elsewhere (a leaf)."""
    data = self._xp.eye(n_rows, n_cols, k=k, dtype=dtype, device=device)
    return _leaf(self, data, requires_grad, "eye")


def from_dlpack(self, x, /, *, device=None, copy=None, requires_grad=False):
    """An array from an object supporting the DLPack protocol (sharing memory where the
    backend does); a leaf. A Tensor that requires grad is refused (call ``.detach()``).
    """
    if type(x) is Tensor:
        x._refuse_if_tracked("from_dlpack")
    kwargs = {}
    if device is not None:
        kwargs["device"] = device
    if copy is not None:
        kwargs["copy"] = copy
    data = self._xp.from_dlpack(x, **kwargs)
    return _leaf(self, data, requires_grad, "from_dlpack")


def full(self, shape, fill_value, *, dtype=None, device=None, requires_grad=False):
    """An array of ``shape`` filled with ``fill_value``: a Python scalar or, as NumPy and
    array_api_compat accept, a 0-d array (its dtype is the default; a 0-d Tensor that requires
    grad gives a result that is differentiable in it, the sum of the result's gradient).

    Deviations: ``torch.full`` takes a 0-d tensor's value and drops its gradient silently;
    xpgrad differentiates in ``fill_value`` (docs/deviations.md).
    """
    # Hand-written: a leaf creator, composed of public functions when fill_value requires grad.
    if type(fill_value) is Tensor or self.backend.is_native(fill_value):
        f = fill_value if type(fill_value) is Tensor else Tensor._wrap_plain(self, self._ensure(fill_value))
        if f._ns is not self:
            raise self._wrong_tensor(f, "full", "fill_value")
        if f.ndim != 0:
            raise ValueError(
                f"full(): argument 'fill_value' must be a Python scalar or a 0-d array, got an array "
                f"of shape {tuple(f.shape)}"
            )
        if not f.requires_grad:
            fill_value = self._scalar(f._data)
            if dtype is None:
                dtype = f.dtype
        else:
            if requires_grad:
                raise RuntimeError(
                    "full(): 'requires_grad=True' makes a leaf, but 'fill_value' requires grad (the "
                    "result is not a leaf); pass a detached fill_value"
                )
            dtype = f.dtype if dtype is None else dtype
            f = self.astype(f, dtype, copy=False)
            return f + self.zeros(shape, dtype=dtype, device=device if device is not None else f.device)
    data = self._xp.full(shape, fill_value, dtype=dtype, device=device)
    return _leaf(self, data, requires_grad, "full")


def full_like(self, x, /, fill_value, *, dtype=None, device=None, requires_grad=False):
    """An array with the shape (and dtype, device) of ``x``, filled with ``fill_value``.

    A leaf: not differentiable in ``x`` (only its shape is used).
    """
    data = self._xp.full_like(_like_raw(self, x, "full_like"), fill_value, dtype=dtype, device=device)
    return _leaf(self, data, requires_grad, "full_like")


def linspace(self, start, stop, /, num, *, dtype=None, device=None, endpoint=True, requires_grad=False):
    """``num`` evenly spaced numbers over [start, stop] (``endpoint=False``: [start, stop)).

    A leaf. Not differentiable in its arguments (Python numbers).
    """
    data = self._xp.linspace(start, stop, num, dtype=dtype, device=device, endpoint=endpoint)
    return _leaf(self, data, requires_grad, "linspace")


def ones(self, shape, *, dtype=None, device=None, requires_grad=False):
    """An array of ``shape`` filled with ones (a leaf)."""
    return _leaf(self, self._xp.ones(shape, dtype=dtype, device=device), requires_grad, "ones")


def ones_like(self, x, /, *, dtype=None, device=None, requires_grad=False):
    """An array of ones with the shape (and dtype, device) of ``x``; a leaf, not
    differentiable in ``x``."""
    data = self._xp.ones_like(_like_raw(self, x, "ones_like"), dtype=dtype, device=device)
    return _leaf(self, data, requires_grad, "ones_like")


def zeros(self, shape, *, dtype=None, device=None, requires_grad=False):
    """An array of ``shape`` filled with zeros (a leaf)."""
    return _leaf(self, self._xp.zeros(shape, dtype=dtype, device=device), requires_grad, "zeros")


def zeros_like(self, x, /, *, dtype=None, device=None, requires_grad=False):
    """An array of zeros with the shape (and dtype, device) of ``x``; a leaf, not
    differentiable in ``x``."""
    data = self._xp.zeros_like(_like_raw(self, x, "zeros_like"), dtype=dtype, device=device)
    return _leaf(self, data, requires_grad, "zeros_like")


def _tril_vjp(xp, g, *, k):
    return xp.tril(g, k=k)


@op(grads={"x": _tril_vjp}, jvp=LINEAR)
def tril(xp, x, /, *, k=0):
    """The lower triangle (on and below the ``k``-th diagonal) of each matrix; zeros above.

    Gradient: the lower triangle of the output gradient. Deviations: none.
    """
    return xp.tril(x, k=k)


def _triu_vjp(xp, g, *, k):
    return xp.triu(g, k=k)


@op(grads={"x": _triu_vjp}, jvp=LINEAR)
def triu(xp, x, /, *, k=0):
    """The upper triangle (on and above the ``k``-th diagonal) of each matrix; zeros below.

    Gradient: the upper triangle of the output gradient. Deviations: none.
    """
    return xp.triu(x, k=k)
