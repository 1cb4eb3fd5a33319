"""What xpgrad knows of a backend, in one place: its :class:`Profile`.

A profile says how to read a backend's values back into NumPy, whether its arrays can be
written in place (``mutable``), whether their values are computed only on demand (``lazy``),
whether they are cut into chunks (``chunked``), which optional extensions (``linalg``, ``fft``)
and which dtypes it has. Everything is detected from the namespace and the *type* of one array
it creates, without computing anything (no ``bool()`` of an array, no ``compute()``):

- ``mutable``: the array type defines ``__setitem__`` and array_api_compat does not know it to
  be read-only (JAX's arrays define one that raises);
- ``lazy``: array_api_compat's answer for the libraries it knows (it tests their classes), and
  for others whether the array type has a ``compute`` method (Dask's and cubed's protocol);
- ``chunked``: the array has ``chunks`` and a ``rechunk`` method (Dask, cubed);
- ``extensions`` and ``dtypes``: ``hasattr(xp, "linalg")``, ``__array_namespace_info__().dtypes()``.

A backend's author overrides any of these by giving the namespace (or its module) a
``__xpgrad_profile__`` mapping, e.g. ``{"lazy": True, "chunked": False}``; a user passes the same
mapping as ``xpgrad.namespace(backend, profile={...})``. ``to_numpy`` is a function making a
NumPy array of one of the backend's arrays, where :func:`read_back` cannot find one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

import array_api_compat as _compat

__all__ = ["DynamicShape", "Profile", "cannot_read_back", "detect", "input_shape", "read_back"]

EXTENSIONS = ("linalg", "fft")
# The standard's dtypes, as names (a backend lists those it has in __array_namespace_info__).
DTYPES = "bool int8 int16 int32 int64 uint8 uint16 uint32 uint64 float32 float64 complex64 complex128".split()


@dataclasses.dataclass(frozen=True)
class Profile:
    """What a backend is and can do (see the module docstring for how each field is found)."""

    mutable: bool
    lazy: bool
    chunked: bool
    extensions: frozenset = frozenset(EXTENSIONS)
    dtypes: frozenset = frozenset(DTYPES)
    to_numpy: Callable[[Any], Any] | None = None

    def overridden(self, overrides: Mapping[str, Any] | None, where: str = "profile") -> Profile:
        """This profile with the fields of ``overrides`` replaced (unknown fields refused)."""
        if not overrides:
            return self
        if not isinstance(overrides, Mapping):
            raise TypeError(f"{where}: expected a mapping of profile fields, got {type(overrides).__name__}")
        fields = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(overrides) - fields)
        if unknown:
            raise TypeError(
                f"{where}: unknown profile field(s) {', '.join(map(repr, unknown))}; the fields are "
                f"{', '.join(sorted(fields))}"
            )
        values = dict(overrides)
        for name in ("mutable", "lazy", "chunked"):
            if name in values and not isinstance(values[name], bool):
                raise TypeError(f"{where}: field {name!r} must be True or False, got {values[name]!r}")
        for name in ("extensions", "dtypes"):
            if name in values:
                values[name] = frozenset(values[name])
        if values.get("to_numpy") is not None and not callable(values["to_numpy"]):
            raise TypeError(f"{where}: field 'to_numpy' must be a function making a NumPy array")
        return dataclasses.replace(self, **values)


def _known_to_compat(sample) -> bool:
    """Whether array_api_compat knows ``sample``'s library (then it answers from the class)."""
    return any(
        test(sample)
        for test in (
            _compat.is_numpy_array,
            _compat.is_cupy_array,
            _compat.is_torch_array,
            _compat.is_dask_array,
            _compat.is_jax_array,
            _compat.is_pydata_sparse_array,
            _compat.is_ndonnx_array,
        )
    )


def detect(xp, sample, overrides: Mapping[str, Any] | None = None) -> Profile:
    """The profile of namespace ``xp``, from the type of its array ``sample`` (nothing computed),
    with the backend author's ``__xpgrad_profile__`` and then ``overrides`` applied."""
    cls = type(sample)
    known = _known_to_compat(sample)
    mutable = callable(getattr(cls, "__setitem__", None)) and bool(_compat.is_writeable_array(sample))
    if _compat.is_array_api_strict_namespace(xp):
        lazy = False  # (NumPy underneath)
    elif known:
        lazy = bool(_compat.is_lazy_array(sample))
    else:
        lazy = callable(getattr(cls, "compute", None))
    chunked = getattr(sample, "chunks", None) is not None and callable(getattr(sample, "rechunk", None))
    extensions = frozenset(e for e in EXTENSIONS if getattr(xp, e, None) is not None)
    profile = Profile(mutable, lazy, chunked, extensions, _dtypes(xp))
    declared = getattr(xp, "__xpgrad_profile__", None)
    return profile.overridden(declared, "__xpgrad_profile__").overridden(overrides)


def _dtypes(xp) -> frozenset:
    info = getattr(xp, "__array_namespace_info__", None)
    if info is not None:
        try:
            return frozenset(str(name) for name in info().dtypes())
        except Exception:  # noqa: BLE001 - a broken inspection API: fall back to the names
            pass
    return frozenset(name for name in DTYPES if getattr(xp, name, None) is not None)


# -- reading values back into NumPy -------------------------------------------------------------

_READ_ERRORS = (TypeError, RuntimeError, BufferError, ValueError, AttributeError, NotImplementedError)
# Methods of array libraries that give a NumPy array (or something np.asarray reads): sparse
# arrays' todense(), to_numpy() / numpy(), CuPy-like get().
_READ_METHODS = ("todense", "to_numpy", "numpy", "get")


def cannot_read_back(arr, name=None) -> TypeError:
    """The one error for a backend whose arrays cannot be turned into NumPy."""
    name = name or type(arr).__module__.split(".")[0]
    return TypeError(
        f"cannot read values back from {name}: pass a converter (to_numpy=...). Its arrays "
        f"({type(arr).__module__}.{type(arr).__qualname__}) have no DLPack (__dlpack__), no "
        f"__array__ and no {'(), '.join(_READ_METHODS)}() giving a NumPy array: pass a function "
        "making a NumPy array of one, as assert_grads_match_torch(..., to_numpy=f), "
        "xpgrad.namespace(backend, profile={'to_numpy': f}) or xpgrad-conformance --to-numpy "
        "module:function (pytest: --to-numpy, --xpgrad-to-numpy)"
    )


class _NoKeywordDLPack:
    """``arr`` for ``np.from_dlpack`` where ``arr.__dlpack__`` takes no keywords (marray's:
    ``__dlpack__(self)``): NumPy's own call passes ``max_version`` and may raise TypeError."""

    def __init__(self, arr):
        self.arr = arr

    def __dlpack__(self, **_):
        return self.arr.__dlpack__()

    def __dlpack_device__(self):
        device = getattr(self.arr, "__dlpack_device__", None)
        return device() if device is not None else (1, 0)  # kDLCPU


def _numeric(value):
    """``np.asarray(value)``, or None where that gives an object array (NumPy could not read it)."""
    import numpy as np

    try:
        out = np.asarray(value)
    except _READ_ERRORS:
        return None
    return None if out.dtype == object else out


def _read_foreign(a):
    """A NumPy array of array ``a`` of a library xpgrad does not know, or None."""
    import numpy as np

    try:
        return np.from_dlpack(a)
    except _READ_ERRORS:
        pass
    if hasattr(a, "__dlpack__"):
        try:
            return np.from_dlpack(_NoKeywordDLPack(a))
        except _READ_ERRORS:
            pass
    out = _numeric(a) if hasattr(a, "__array__") else None
    if out is not None:
        return out
    for method in _READ_METHODS:
        fn = getattr(a, method, None)
        if callable(fn):
            try:
                value = fn()
            except _READ_ERRORS:
                continue
            out = value if isinstance(value, np.ndarray) else _read_foreign(value) if value is not a else None
            out = _numeric(out) if out is not None else None
            if out is not None:
                return out
    return None


def _read_a_copy(a):
    """A NumPy array of a copy the backend makes of ``a``, or None: a read-only view (a broadcast
    result) cannot leave through DLPack without ``max_version``, which cannot say "read-only"
    (marray's ``__dlpack__``); a fresh copy is writable and contiguous."""
    try:
        xp = _compat.array_namespace(a)
        copy = xp.asarray(a, copy=True)
    except Exception:  # noqa: BLE001 - any failure: the array cannot be read this way either
        return None
    return _read_foreign(copy) if copy is not a else None


def read_back(a, converter=None, name=None):
    """A NumPy array with the values of backend array ``a`` (copied to host memory if needed).

    ``converter`` (a profile's ``to_numpy``) if given, else: NumPy as is, torch (detached, on
    the CPU), CuPy's ``get()``, array-api-strict's wrapped array, DLPack (with or without
    ``max_version``), ``__array__``, ``todense()``, ``to_numpy()``, ``numpy()``, ``get()``, the
    same of a copy the backend makes. Raises :func:`cannot_read_back` where none gives a numeric
    NumPy array, never an object array.
    """
    import numpy as np

    if converter is not None:
        out = _numeric(converter(a))
        if out is None:
            raise TypeError(
                f"to_numpy: the converter {getattr(converter, '__qualname__', converter)!r} gave no "
                f"numeric NumPy array for a {type(a).__qualname__}"
            )
        return out
    if isinstance(a, (np.ndarray, np.generic)):
        return np.asarray(a)
    if _compat.is_torch_array(a):
        if a._is_zerotensor():
            # torch's ZeroTensor gradients (e.g. second order through abs or amax) have no
            # storage: .numpy(force=True) can read or write through a null pointer (segfault).
            import torch

            return torch.zeros(tuple(a.shape), dtype=a.dtype).numpy()
        return a.detach().cpu().numpy(force=True)  # force: resolves conjugate/negative views
    if _compat.is_cupy_array(a):
        return a.get()
    inner = getattr(a, "_array", None)  # array_api_strict wraps a NumPy array
    if isinstance(inner, np.ndarray):
        return inner
    out = _read_foreign(a)
    if out is None:
        out = _read_a_copy(a)
    if out is None:
        raise cannot_read_back(a, name)
    return out


# -- dynamic dimensions -------------------------------------------------------------------------


class DynamicShape(tuple):
    """An array's shape holding unknown sizes (``None``, as the standard allows for libraries
    that build graphs), with the array itself as ``ref``: what a gradient is broadcast against
    or counted over, the sizes being known to the backend only. Kept (a reference, no copy) only
    where a shape has a ``None``; elsewhere a shape is a plain tuple."""

    ref: Any


def input_shape(arr):
    """``arr.shape``, or a :class:`DynamicShape` referring to ``arr`` where a size is None."""
    shape = arr.shape
    if any(n is None for n in shape):
        dynamic = DynamicShape(shape)
        dynamic.ref = arr
        return dynamic
    return shape
