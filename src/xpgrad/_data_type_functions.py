"""Data type functions. ``astype`` is differentiable (the gradient is cast back by the engine,
and a complex-to-real cast keeps the real part of the gradient, as torch)."""

from __future__ import annotations

from ._optable import apply, op
from ._tensor import Tensor

__all__ = ["astype", "can_cast", "finfo", "iinfo", "isdtype", "result_type", "__array_namespace_info__"]


def astype(self, x, dtype, /, *, copy=True, device=None):
    """Copy of ``x`` cast to ``dtype`` (``copy=False``: ``x`` itself when nothing changes, or
    a view where the backend can give one).

    Gradient: the output gradient cast back to ``x``'s dtype; a complex-to-real cast keeps the
    real part of the gradient, as torch. Forward rule: the tangent cast the same way (its real
    part for a complex-to-real cast). Deviations: none.
    """
    # Hand-written around the entry below: with copy=False it returns ``x`` itself when
    # nothing changes (no node), as torch's ``to`` returns self.
    x = self._tensor(x, "astype")
    if not copy and x.dtype == dtype and (device is None or device == x.device):
        return x
    return apply(self, _astype, (x,), {"dtype": dtype, "copy": copy, "device": device})


def _astype_vjp(xp, g):
    return g


def _astype_jvp(xp, *, x_t, dtype):
    if xp.isdtype(x_t.dtype, "complex floating") and not xp.isdtype(dtype, "complex floating"):
        x_t = xp.real(x_t)
    return xp.astype(x_t, dtype)


@op(grads={"x": _astype_vjp}, jvp=_astype_jvp, view=True, name="astype")
def _astype(xp, x, dtype, /, *, copy=True, device=None):
    # A view only where the backend returned x's memory (copy=False), as torch's ``to``.
    if device is None:
        return xp.astype(x, dtype, copy=copy)
    return xp.astype(x, dtype, copy=copy, device=device)


def _unwrap(self, v):
    return v._data if type(v) is Tensor else v


def can_cast(self, from_, to, /):
    """Whether a cast from dtype (or array) ``from_`` to dtype ``to`` may occur under the
    standard's casting rules. Not differentiable."""
    if type(from_) is Tensor or self.backend.is_native(from_):
        from_ = from_.dtype  # the standard's meaning; some backends deprecate arrays here
    return self._xp.can_cast(from_, to)


def _dtype_object(self, dt):
    """The namespace's dtype object for ``dt`` (some backends give a name or a NumPy dtype)."""
    name = str(dt).rsplit(".", 1)[-1]
    obj = getattr(self, name, None) if name in _DTYPE_NAMES else None
    return dt if obj is None else obj


_DTYPE_NAMES = frozenset(
    ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float32", "float64")
)


class finfo_object:
    """``finfo`` result as the standard has it: Python scalars and a dtype object of the
    namespace (NumPy gives NumPy scalars, array_api_compat.torch a dtype name)."""

    __slots__ = ("bits", "eps", "max", "min", "smallest_normal", "dtype")

    def __init__(self, fi, dtype):
        self.bits = int(fi.bits)
        self.eps = float(fi.eps)
        self.max = float(fi.max)
        self.min = float(fi.min)
        self.smallest_normal = float(fi.smallest_normal)
        self.dtype = dtype

    def __repr__(self):
        return (
            f"finfo(bits={self.bits}, eps={self.eps}, max={self.max}, min={self.min}, "
            f"smallest_normal={self.smallest_normal}, dtype={self.dtype})"
        )


def finfo(self, type, /):
    """Machine limits of a floating-point dtype (or of an array's dtype)."""
    fi = self._xp.finfo(_unwrap(self, type))
    return finfo_object(fi, _dtype_object(self, fi.dtype))


class iinfo_object:
    """``iinfo`` result with Python ints and a dtype object of the namespace."""

    __slots__ = ("bits", "max", "min", "dtype")

    def __init__(self, ii, dtype):
        self.bits = int(ii.bits)
        self.max = int(ii.max)
        self.min = int(ii.min)
        self.dtype = dtype

    def __repr__(self):
        return f"iinfo(bits={self.bits}, max={self.max}, min={self.min}, dtype={self.dtype})"


def iinfo(self, type, /):
    """Machine limits of an integer dtype (or of an array's dtype)."""
    ii = self._xp.iinfo(_unwrap(self, type))
    return iinfo_object(ii, _dtype_object(self, ii.dtype))


def isdtype(self, dtype, kind):
    """Whether ``dtype`` is of ``kind`` ('real floating', 'integral', a dtype, or a tuple of
    them)."""
    return self._xp.isdtype(dtype, kind)


def result_type(self, *arrays_and_dtypes):
    """The dtype of an operation on the given arrays and dtypes (type promotion)."""
    return self._xp.result_type(*(_unwrap(self, a) for a in arrays_and_dtypes))


def __array_namespace_info__(self):
    """Inspection utilities of the backend (devices, default and supported dtypes)."""
    return self._xp.__array_namespace_info__()
