"""Everything that depends on *which* backend is wrapped lives here, and only here.

A :class:`Backend` holds the backend's array API namespace (reached through
``array_api_compat``) and the few capabilities the rest of xpgrad asks about: how to recognise
a native array, whether arrays are mutable, how to write into one, whether a value may alias
memory the user holds. Code elsewhere never tests backend names.
"""

from __future__ import annotations

import collections
import contextlib
import importlib
import math
import operator
import types

import array_api_compat as _compat

from ._dask import (
    _BROADCAST_OF,
    _dask_index_add,
    _dask_lazy_mask,
    _dask_mask_put,
    _dask_meta_quiet,
    _dask_needs_positions,
    _dask_overlay,
    _dask_positions,
    _derived,
    _derived_from,
    _known_chunks,
    adopt_unknown_chunks,
)
from ._overlay import _overlay
from ._profile import detect

__all__ = ["Backend", "adopt_unknown_chunks", "chunk_meta", "like_chunks", "resolve", "shapes_match"]

# Short module names accepted by ``xpgrad.namespace("...")``.
_ALIASES = {
    "numpy": "numpy",
    "np": "numpy",
    "torch": "torch",
    "jax": "jax.numpy",
    "jax.numpy": "jax.numpy",
    "cupy": "cupy",
    "dask": "dask.array",
    "dask.array": "dask.array",
    "array_api_strict": "array_api_strict",
}
# The lazy namespaces ``xpgrad.<name>`` (``xpgrad.numpy``, ``xpgrad.jax``, ...): each is
# ``xpgrad.namespace(<module>)``, made on first access (xpgrad/__init__.py).
SHORTCUTS = {name: _ALIASES[name] for name in ("numpy", "torch", "jax", "cupy", "dask", "array_api_strict")}
# How to install each known backend (by top-level module): the hint of the errors raised when
# one cannot be imported (``namespace("cupy")``, ``xpgrad.cupy``).
INSTALL = {
    "numpy": "pip install numpy",
    "torch": "pip install torch",
    "jax": 'pip install "jax[cpu]" (or a CUDA build, see the JAX installation guide)',
    "cupy": "pip install cupy-cuda12x (or the package of your CUDA version, see the CuPy installation guide)",
    "dask": 'pip install "dask[array]"',
    "array_api_strict": "pip install array-api-strict",
}


def shapes_match(a, b) -> bool:
    """True if shapes ``a`` and ``b`` can be the same: equal lengths, and each pair of
    dimensions equal or one of them unknown (``None`` in the array API standard, ``nan`` on
    Dask, e.g. after a boolean mask), as the shape checks of ``grad``/``backward`` need."""
    a, b = tuple(a), tuple(b)
    if a == b:
        return True
    return len(a) == len(b) and all(
        m == n or m is None or n is None or m != m or n != n  # (n != n: nan)
        for m, n in zip(a, b)
    )


def install_hint(backend: str) -> str:
    """How to install ``backend`` (a short or module name), for error messages."""
    top = _ALIASES.get(backend, backend).split(".")[0]
    hint = INSTALL.get(top) or f"pip install {top.replace('_', '-')}"
    return f"install it: {hint}"


def _short_name(xp) -> str:
    name = getattr(xp, "__name__", type(xp).__name__)
    if name.startswith("array_api_compat."):
        name = name[len("array_api_compat.") :]
    for suffix in (".numpy", ".array"):
        if name.endswith(suffix) and name != suffix[1:]:
            name = name[: -len(suffix)]
    return name.replace(".", "_")


def _raw_namespace(backend):
    """Return the array API compliant namespace for ``backend`` (module, name or namespace)."""
    if isinstance(backend, str):
        module_name = _ALIASES.get(backend, backend)
        try:
            backend = importlib.import_module(module_name)
        except ImportError as exc:
            raise ValueError(
                f"namespace(): backend {backend!r} could not be imported ({exc}); "
                f"{install_hint(backend)}, or pass an installed library"
            ) from None
    if not isinstance(backend, types.ModuleType) and not hasattr(backend, "asarray"):
        raise TypeError(
            "namespace(): argument 'backend' must be an array API library (a module, a module "
            f"name or an array namespace), got {type(backend).__name__}"
        )
    if getattr(backend, "__name__", "").startswith("xpgrad"):
        raise TypeError("namespace(): argument 'backend' is already an xpgrad namespace")
    try:
        sample = backend.asarray(0.0)
    except Exception as exc:  # noqa: BLE001 - any failure means "not an array library"
        raise TypeError(
            f"namespace(): backend {getattr(backend, '__name__', backend)!r} cannot create "
            f"arrays with asarray() ({exc})"
        ) from None
    try:
        return _compat.array_namespace(sample), sample
    except TypeError:
        if hasattr(backend, "__array_api_version__"):
            return backend, sample
        raise TypeError(
            f"namespace(): {getattr(backend, '__name__', backend)!r} is not an array API "
            "compliant library known to array_api_compat"
        ) from None


# NumPy ``ndarray`` subclasses that ``Backend.ensure`` keeps as they are (xpgrad.compile's
# recorder registers its array type here; every other subclass becomes a plain array).
KEEP_ARRAY_TYPES: set[type] = set()


class Backend:
    """Capabilities of one wrapped array library.

    ``xp`` is the backend's array API namespace as xpgrad uses it: array_api_compat's, or an
    overlay of it (:func:`_overlay`) where a function is missing or wrong (torch's ``std`` with
    a non-integral correction and ``unique_all``; Dask's linear algebra, FFTs, ...). Every op's
    forward and every VJP in a plain backward call it, so a workaround made here serves them all
    and no op module catches a backend's ``NotImplementedError``.

    The capability flags (set in ``__init__``, one comment each) are what the rest of xpgrad
    asks; it never tests which backend it has.
    """

    __slots__ = (
        "xp",
        "name",
        "native_type",
        "mutable",
        "lazy",
        "aliases",
        "checks_bounds",
        "chunked",
        "profile",
        "scalar_results",
        "fp_errstate",
        "to_numpy",
        "_raw_xp",
        "_is_numpy",
        "_is_torch",
        "_is_dask",
        "writes_by_where",
        "_np_ndarray",
        "_np_asarray",
    )

    def __init__(self, xp, sample, overrides=None):
        self.xp = xp
        self.name = _short_name(xp)
        self.native_type = type(sample)
        self._is_numpy = _compat.is_numpy_namespace(xp)
        self._is_torch = _compat.is_torch_namespace(xp)
        # What the backend is (mutable, lazy, chunked, extensions, dtypes, read-back), detected
        # from the sample's type without computing anything, as the author declared, as the
        # user overrode (_profile.py). The flags below are copies read on hot paths.
        self.profile = profile = detect(xp, sample, overrides)
        self.mutable = profile.mutable
        self.lazy = profile.lazy
        self.aliases = self.mutable and not self.lazy
        # Whether writes (a slice's or a gather's gradient) are built as new arrays with
        # ``where`` and one-hot products (``_functional_write``): immutable arrays without
        # JAX's ``.at`` (cubed).
        self.writes_by_where = not self.mutable and getattr(sample, "at", None) is None
        # Whether the backend itself raises IndexError for out-of-range indices, in reads and
        # before writing anything. Elsewhere xpgrad checks (check_key): JAX clamps reads and
        # drops writes, Dask drops writes, CuPy wraps, torch writes the in-range part of an
        # integer-array setitem before raising and wraps negative take_along_dim indices.
        self.checks_bounds = self._is_numpy or _compat.is_array_api_strict_namespace(xp)
        # Whether 0-d results may come back as scalars rather than arrays (NumPy's reductions
        # and ufuncs return NumPy scalars): then ``ensure`` makes them arrays.
        self.scalar_results = self._is_numpy
        # Whether arithmetic reports inf/nan through NumPy's floating-point error state (NumPy;
        # array_api_strict and Dask compute with NumPy; unknown libraries may): ``quiet`` then
        # enters ``numpy.errstate``. torch, JAX and CuPy never warn about inf/nan values.
        self.fp_errstate = not (
            self._is_torch or _compat.is_jax_namespace(xp) or _compat.is_cupy_namespace(xp)
        )
        # A function making a NumPy array of one of this backend's arrays (the profile's
        # ``to_numpy``), for ``to_host`` and the testing harness (``xpgrad.testing.to_numpy``)
        # where DLPack and ``__array__`` cannot read it: None (found automatically) unless given.
        self.to_numpy = profile.to_numpy
        self._raw_xp = xp
        # Chunked arrays (Dask, cubed): gradients take their input's chunks (``like_chunks``).
        # Dask's namespace is an overlay adding what array_api_compat.dask lacks or gets wrong;
        # another chunked library's an overlay whose ``broadcast_to`` keeps its source.
        self.chunked = profile.chunked
        self._is_dask = _compat.is_dask_namespace(xp)
        if self._is_dask:
            self.xp = _dask_overlay(xp)
        elif self.chunked:
            self.xp = _chunked_overlay(xp)
        elif self._is_torch:
            self.xp = _torch_overlay(xp)
        if self._is_numpy:
            import numpy

            self._np_ndarray = numpy.ndarray
            self._np_asarray = numpy.asarray

    # -- recognising arrays -------------------------------------------------------------------

    def is_native(self, obj) -> bool:
        """True if ``obj`` is an array of this backend (not a Python scalar)."""
        if type(obj) is self.native_type:
            return True
        if self._is_numpy:
            import numpy

            return isinstance(obj, (numpy.ndarray, numpy.generic))
        try:
            return _compat.array_namespace(obj) is self._raw_xp
        except TypeError:
            return False

    def constant(self, arr, fname, argname):
        """``arr``, a raw array given where a Tensor may be, used as a constant.

        A torch tensor that requires grad is refused: xpgrad would treat it as a constant, its
        ``.grad`` would stay None and torch would record a graph underneath, a silent loss of
        gradients.
        """
        if self._is_torch and arr.requires_grad:
            raise tracked_error(fname, argname)
        return arr

    def foreign_error(self, obj, fname, argname):
        """The ``TypeError`` for ``obj`` if it is an array of another library than this
        backend (a torch tensor given to ``xpgrad.numpy``), else None.

        Such an array cannot be combined with this backend's Tensors, and no other library can
        combine it with a Tensor either: the operators raise this error rather than return
        NotImplemented, in either operand order.
        """
        if not _compat.is_array_api_obj(obj) or self.is_native(obj):
            return None
        try:
            lib = _short_name(_compat.array_namespace(obj))
        except TypeError:
            lib = type(obj).__module__.split(".")[0]
        kind = f"{type(obj).__module__}.{type(obj).__qualname__}"
        ns_name = f"xpgrad.{self.name}"  # the namespace's name (_namespace.Namespace)
        value = "t.detach()" if _compat.is_torch_array(obj) and obj.requires_grad else "..."
        return TypeError(
            f"{fname}(): argument '{argname}' is an array of {lib} ({kind}), but this is "
            f"{ns_name}, which takes its own Tensors, arrays of {self.name} and Python scalars: "
            f"arrays of two libraries cannot be mixed. Convert it with {ns_name}.asarray({value}) "
            "(a constant copy; xpgrad does not follow another library's graph, requires_grad=True "
            f"makes it a leaf of xpgrad's), or compute on xpgrad.namespace({lib!r}) throughout"
        )

    def ensure(self, data):
        """Make a backend result a proper array (NumPy returns scalars for 0-d results)."""
        if self._is_numpy and type(data) is not self._np_ndarray:
            if type(data) in KEEP_ARRAY_TYPES:  # xpgrad.compile's recording arrays
                return data
            return self._np_asarray(data)
        return data

    # -- memory ---------------------------------------------------------------------------------

    def may_alias(self, arr) -> bool:
        """Whether ``arr`` may share memory with an array someone else holds."""
        if not self.mutable:
            return False
        if self._is_numpy:
            return not arr.flags.owndata
        if self._is_torch:
            return arr._base is not None
        return True

    def copy(self, arr):
        return self.xp.asarray(arr, copy=True)

    def add_inplace(self, a, b):
        """``a += b`` where the backend allows it; returns the array now holding the sum."""
        if self.mutable:
            try:
                a += b
                return a
            except (TypeError, ValueError, RuntimeError):
                pass
        return a + b

    def setitem(self, arr, key, value):
        """Write ``value`` into ``arr[key]``; returns the array that holds the result.

        Mutable backends write in place; immutable ones (JAX) get a functional update. A key
        holding ``None`` is written through :meth:`_setitem_newaxes` on every backend.
        """
        if _has_newaxis(key):
            return self._setitem_newaxes(arr, key, value)
        if self.mutable:
            if self._is_torch:
                if getattr(value, "dtype", arr.dtype) != arr.dtype:
                    value = value.to(arr.dtype)  # index_put_ (array keys) does not cast, unlike slices
                signed = _TORCH_UNSIGNED_AS_SIGNED.get(str(arr.dtype))
                if signed is not None and _has_torch_tensor(key):
                    # torch has no index_put_ for uint16/32/64: write the same bits through a
                    # signed view of the same width.
                    import torch

                    sd = getattr(torch, signed)
                    v = (
                        value.view(sd)
                        if hasattr(value, "view")
                        else torch.tensor(value, dtype=arr.dtype).view(sd)
                    )
                    arr.view(sd)[key] = v
                    return arr
            if self.chunked:
                mask = _dask_lazy_mask(arr, key, value)
                if mask is not None:  # Dask's __setitem__ cannot broadcast to a nan length
                    return _dask_mask_put(arr, mask, value, accumulate=False)
            if self.lazy and _compat.is_dask_array(arr) and 0 in arr[key].shape:
                return arr  # nothing to write; Dask's __setitem__ rejects empty regions
            arr[key] = value
            return arr
        at = getattr(arr, "at", None)
        if at is not None:
            # JAX's ``.at`` refuses a value with leading size-1 axes beyond the region's (NumPy,
            # torch and the standard's broadcasting accept them): drop them.
            lead = getattr(value, "ndim", 0) - _index_ndim(self, arr.ndim, key)
            if lead > 0 and all(n == 1 for n in value.shape[:lead]):
                value = self.xp.reshape(value, value.shape[lead:])
            return at[key].set(value)
        # Immutable without ``.at`` (cubed): a new array, computed by ``where`` (no write).
        return _functional_write(self.xp, arr, key, value, add=False)

    def _setitem_newaxes(self, arr, key, value):
        """``arr[key] = value`` for a ``key`` holding ``None``, written as
        ``expanded[key2] = value`` (see :meth:`_newaxes_as_slices`): array_api_strict refuses
        ``None`` in a write, Dask misplaces it, JAX's ``.at`` rejects it with index arrays."""
        expanded, key, axes = self._newaxes_as_slices(arr, key)
        new = self.setitem(expanded, key, value)
        return arr if self.aliases and new is expanded else self.xp.squeeze(new, axis=axes)

    def _newaxes_as_slices(self, arr, key):
        """``(expanded, key2, axes)`` with ``expanded[key2]`` the same region as ``arr[key]``
        (``key`` holding ``None``), and ``key2`` free of ``None``.

        Each ``None`` becomes ``:`` over a size-1 axis inserted into ``arr`` at ``axes``
        (``expand_dims``: a view on backends that alias). The region, its shape and the order
        of its axes are those of the original key, on NumPy's rules as on torch's: ``None`` and
        ``:`` are both basic indices, so index arrays stay adjacent or apart alike. ``key2`` ends
        with ``...`` if the key had none (array_api_strict wants every axis indexed).
        """
        xp = self.xp
        items = key if type(key) is tuple else (key,)

        def width(k):  # how many axes of ``arr`` the index ``k`` consumes
            if k is None or k is Ellipsis or isinstance(k, bool):
                return 0
            return k.ndim if self.is_native(k) and xp.isdtype(k.dtype, "bool") else 1

        consumed = sum(width(k) for k in items)
        axes, key, pos = [], [], 0
        for k in items:
            if k is None:
                axes.append(pos)
                key.append(slice(None))
                pos += 1
            else:
                key.append(k)
                pos += arr.ndim - consumed if k is Ellipsis else width(k)
        if not any(k is Ellipsis for k in key):
            key.append(Ellipsis)
        expanded = arr
        for axis in axes:
            expanded = xp.expand_dims(expanded, axis=axis)
        return expanded, tuple(key), tuple(axes)

    def fix_key(self, arr, key):
        """An index ``key`` of ``arr`` that the backend accepts with the standard's meaning.

        PyTorch rejects slices with a negative step: one such slice (with no array index in the
        key) becomes the equivalent integer array, which torch places where the slice was
        (torch applies integer indices as basic ones), so the result and the writes are the
        same, only as a copy instead of a view.
        """
        if not self._is_torch:
            return key
        items = key if isinstance(key, tuple) else (key,)
        neg = [i for i, k in enumerate(items) if isinstance(k, slice) and k.step is not None and k.step < 0]
        if len(neg) != 1 or any(
            not (k is None or k is Ellipsis or isinstance(k, (int, slice))) for k in items
        ):
            return key
        import torch

        explicit = sum(1 for k in items if k is not None and k is not Ellipsis)
        axis = 0
        for k in items[: neg[0]]:
            if k is Ellipsis:
                axis += arr.ndim - explicit
            elif k is not None:
                axis += 1
        s = items[neg[0]]
        if axis >= arr.ndim:
            return key
        idx = torch.arange(*s.indices(arr.shape[axis]), device=arr.device)
        return (*items[: neg[0]], idx, *items[neg[0] + 1 :])

    def may_be_view(self, arr) -> bool:
        """A cheap test: False when ``arr`` certainly owns its memory (then it shares memory
        with another array only if it *is* that array). True when unsure."""
        if not self.aliases:
            return False
        if self._is_numpy:
            return arr.base is not None
        if self._is_torch:
            return arr._base is not None
        return True  # (array_api_strict may wrap the input's very NumPy array in a new object)

    def check_key(self, arr, key, fname):
        """Raise IndexError for an out-of-range integer (or integer array) in ``key``, on
        backends that would clamp or drop it instead (before anything is read or written)."""
        if self.checks_bounds:
            return
        items = key if isinstance(key, tuple) else (key,)
        consumed = 0
        for k in items:
            if k is None or k is Ellipsis or isinstance(k, bool):
                continue
            if not isinstance(k, (int, slice)) and self.is_native(k) and self.xp.isdtype(k.dtype, "bool"):
                consumed += k.ndim
            else:
                consumed += 1
        axis = 0
        for k in items:
            if k is None or isinstance(k, bool):
                continue
            if k is Ellipsis:
                axis += arr.ndim - consumed
                continue
            if axis >= arr.ndim:
                return  # too many indices: the backend's own error
            if isinstance(k, slice):
                axis += 1
                continue
            if isinstance(k, int) or (hasattr(k, "__index__") and not self.is_native(k)):
                k = operator.index(k)  # also NumPy integers
                _check_range(k, k, arr.shape[axis], axis, fname)
                axis += 1
                continue
            if self.is_native(k):
                if self.xp.isdtype(k.dtype, "bool"):
                    axis += k.ndim
                    continue
                self.check_take(arr, k, axis, fname)
            axis += 1

    def check_take(self, arr, idx, axis, fname):
        """Raise IndexError if integer array ``idx`` has entries out of range for ``axis`` of
        ``arr`` (only on backends that do not check, see :meth:`check_key`)."""
        if self.checks_bounds or arr.ndim == 0 or _compat.size(idx) == 0:
            return
        xp = self.xp
        if not xp.isdtype(idx.dtype, "integral"):
            return
        _check_range(int(xp.min(idx)), int(xp.max(idx)), arr.shape[axis], axis, fname)

    def shares_memory(self, a, b) -> bool:
        """Whether result ``a`` may share memory with input ``b`` (so ``a`` is a view of ``b``).

        Unknown mutable backends answer True: treating a copy as a view only costs an
        unnecessary graph rebuild, while the converse would give silently wrong gradients.
        """
        if not self.aliases:
            return False
        if self._is_numpy:
            import numpy

            return bool(numpy.may_share_memory(a, b))
        if self._is_torch:
            try:
                return a.untyped_storage().data_ptr() == b.untyped_storage().data_ptr()
            except RuntimeError:
                return False
        inner_a = getattr(a, "_array", None)  # array_api_strict wraps a NumPy array
        inner_b = getattr(b, "_array", None)
        if inner_a is not None and inner_b is not None:
            import numpy

            return bool(numpy.may_share_memory(inner_a, inner_b))
        if _compat.is_cupy_namespace(self.xp):
            import cupy

            return bool(cupy.may_share_memory(a, b))
        return True

    def index_add(self, arr, key, values):
        """``arr[key] += values`` with repeated indices accumulating; returns the result."""
        if _has_newaxis(key):
            expanded, key, axes = self._newaxes_as_slices(arr, key)
            new = self.index_add(expanded, key, values)
            return arr if self.aliases and new is expanded else self.xp.squeeze(new, axis=axes)
        if self._is_numpy:
            import numpy

            numpy.add.at(arr, key, values)
            return arr
        if self._is_torch:
            return _torch_index_add(arr, key, values)
        at = getattr(arr, "at", None)
        if at is not None and not self.mutable:
            return at[key].add(values)
        if self.chunked:
            mask = _dask_lazy_mask(arr, key, values)
            if mask is not None:
                return _dask_mask_put(arr, mask, values, accumulate=True)
        if self._is_dask:
            out = _dask_index_add(arr, key, values)
            if out is not None:
                return out
        if _compat.is_cupy_namespace(self.xp):
            import cupyx

            cupyx.scatter_add(arr, key, values)
            return arr
        inner = getattr(arr, "_array", None)
        if inner is not None:  # array_api_strict
            import numpy

            k = _unwrap_key(key)
            numpy.add.at(inner, k, numpy.asarray(getattr(values, "_array", values)))
            return arr
        if not self.mutable:
            return _functional_write(self.xp, arr, key, values, add=True)
        return _generic_index_add(self.xp, arr, key, values)

    def take_adjoint(self, g, indices, axis, n):
        """The gradient of ``take(x, indices, axis=axis)`` for ``x`` of length ``n`` along
        ``axis``, 1-d ``indices``: ``g`` contracted with the one-hot matrix of the indices
        (m x n), repeated indices accumulating. For ``writes_by_where`` backends, where no
        scatter writes: O(m n) per row, not the one-hot of the whole array."""
        xp = self.xp
        idx = xp.where(indices < 0, indices + n, indices)
        onehot = xp.astype(xp.reshape(idx, (-1, 1)) == xp.reshape(xp.arange(n), (1, -1)), g.dtype)
        out = xp.tensordot(g, onehot, axes=((axis,), (0,)))  # (positive axes: cubed#tensordot)
        last = out.ndim - 1
        if axis == last:
            return out
        order = list(range(last))
        order.insert(axis, last)
        return xp.permute_dims(out, tuple(order))  # (cubed's moveaxis warns: numpy.core)

    def getitem(self, arr, key):
        """``arr[key]`` (after :meth:`fix_key`). Dask indexes with several or multi-dimensional
        integer arrays through their linear positions (one 1-d gather), which it supports."""
        if self._is_dask:
            if _has_newaxis(key):
                # Dask fails on ``None`` beside index arrays; ``:`` over an inserted axis works
                arr, key, _ = self._newaxes_as_slices(arr, key)
            with _dask_meta_quiet():
                if _dask_needs_positions(key):
                    pos = _dask_positions(arr.shape, key)
                    if pos is not None:
                        flat = self.xp.reshape(arr, (-1,))
                        return self.xp.reshape(flat[self.xp.reshape(pos, (-1,))], pos.shape)
                return arr[key]
        return arr[key]

    def rechunk(self, arr, chunks):
        """``arr`` with the given chunks (chunked backends only)."""
        return arr.rechunk(chunks)

    def quiet(self):
        """A context in which the backend does not warn about inf/nan arithmetic.

        Backward formulas legitimately produce inf/nan at domain edges (sqrt at 0, ...), as
        torch's do, without warnings; NumPy would warn for each. A no-op context on backends
        without NumPy's floating-point error state (``fp_errstate``).
        """
        if not self.fp_errstate:
            return contextlib.nullcontext()
        import numpy

        return numpy.errstate(all="ignore")

    # -- lazy backends: materialising between steps (used by xpgrad.optim.persist_each_step) --

    def persist(self, *arrays):
        """``arrays`` with their values computed and kept (Dask's ``persist``); as-is elsewhere.

        A training loop on a lazy backend otherwise grows each parameter's task graph by every
        step's update. One ``dask.persist`` call computes all arrays together (shared tasks once).
        """
        if not self.lazy or not arrays:
            return arrays
        if _compat.is_dask_array(arrays[0]):
            import dask

            return dask.persist(*arrays)
        return tuple(a.persist() if hasattr(a, "persist") else a for a in arrays)

    def device(self, arr):
        return _compat.device(arr)

    def to_device(self, arr, device, stream=None):
        return _compat.to_device(arr, device, stream=stream)

    def size(self, arr):
        return _compat.size(arr)

    def __repr__(self):
        return f"Backend({self.name})"


_CACHE: dict[int, tuple[object, Backend]] = {}


def resolve(backend, profile=None) -> Backend:
    """The :class:`Backend` of ``backend`` (cached per namespace). ``profile``: overrides of the
    detected profile (``_profile.Profile`` fields), given when the backend is first resolved."""
    xp, sample = _raw_namespace(backend)
    hit = _CACHE.get(id(xp))
    if hit is not None and hit[0] is xp:
        b = hit[1]
        if profile and b.profile.overridden(profile, "namespace(profile=...)") != b.profile:
            raise ValueError(
                f"namespace(): the namespace of {b.name} exists already with profile {b.profile}; "
                "pass profile=... at its first creation (or declare __xpgrad_profile__)"
            )
        return b
    b = Backend(xp, sample, profile)
    _CACHE[id(xp)] = (xp, b)
    return b


def backend_of(xp) -> Backend:
    """The :class:`Backend` of raw namespace ``xp``, from the cache (a VJP is handed only its
    namespace, and a scatter needs the backend's ``index_add``)."""
    hit = _CACHE.get(id(xp))
    return hit[1] if hit is not None and hit[0] is xp else resolve(xp)


def backend_of_array(arr) -> Backend | None:
    """The :class:`Backend` already made whose arrays have ``arr``'s type, or None."""
    for _, b in list(_CACHE.values()):
        if type(arr) is b.native_type:
            return b
    return None


def dtype_hint(backend: Backend, dtype_name: str) -> str:
    """What to do when ``backend`` gives a lower precision than ``dtype_name`` was asked for."""
    if _compat.is_jax_namespace(backend._raw_xp) and dtype_name in ("float64", "complex128"):
        return (
            'JAX computes in 32 bits unless 64-bit mode is enabled: call jax.config.update("jax_enable_x64", '
            "True) before making arrays, or pass float32 inputs"
        )
    return f"pass inputs of a dtype {backend.name} supports"


def tracked_error(fname, argname, verb="is"):
    """The ``TypeError`` for a torch tensor that requires grad where xpgrad takes an array.

    xpgrad would treat it as a constant: its ``.grad`` would stay None while torch records a
    graph underneath, a silent loss of gradients. Raised on every backend.
    """
    return TypeError(
        f"{fname}(): argument '{argname}' {verb} a torch tensor that requires grad; xpgrad cannot "
        "differentiate through torch's own graph and would treat it as a constant. Pass "
        "t.detach() for a constant, or xp.asarray(t.detach(), requires_grad=True) for a leaf of "
        "xpgrad's graph"
    )


def refuse_tracked(obj, fname, argname) -> None:
    """Raise :func:`tracked_error` if ``obj`` is a torch tensor that requires grad, or a nested
    sequence that starts with one (any backend: ``xpgrad.numpy.asarray(t)`` would otherwise fail
    inside torch's own conversion, and torch's ``asarray([t0, t1])`` of 0-d tensors would drop
    their graph with a warning). Only the first element is looked at: O(depth)."""
    first = obj
    while isinstance(first, (list, tuple)) and first:
        first = first[0]
    if _compat.is_torch_array(first) and first.requires_grad:
        raise tracked_error(fname, argname, "is" if first is obj else "holds")


def values_at_hand(arr) -> bool:
    """False for a raw array whose values are not known without computing it: a Dask array
    (lazy) or a JAX tracer (inside ``jax.jit``/``grad``/``vmap``); True for eager arrays.

    Not ``array_api_compat.is_lazy_array``, which answers True for every JAX array: eager JAX
    arrays have their values at hand, and a check on them raises as on NumPy.
    """
    if _compat.is_dask_array(arr):
        return False
    if _compat.is_jax_array(arr):
        import jax

        return not isinstance(arr, jax.core.Tracer)
    return True


def _check_range(lo, hi, n, axis, fname):
    bad = lo if lo < -n else hi if hi >= n else None
    if bad is not None:
        raise IndexError(f"{fname}: index {bad} is out of bounds for axis {axis} with size {n}")


_TORCH_UNSIGNED_AS_SIGNED = {"torch.uint16": "int16", "torch.uint32": "int32", "torch.uint64": "int64"}


def _has_torch_tensor(key) -> bool:
    import torch

    items = key if isinstance(key, tuple) else (key,)
    return any(isinstance(k, torch.Tensor) for k in items)


def _unwrap_key(key):
    if isinstance(key, tuple):
        return tuple(_unwrap_key(k) for k in key)
    return getattr(key, "_array", key)


def _index_ndim(backend, ndim, key) -> int:
    """The number of axes of ``arr[key]`` for an ``ndim``-d ``arr`` (from the key alone)."""
    items = key if type(key) is tuple else (key,)
    out, consumed, arrays = 0, 0, -1
    for k in items:
        if k is None or isinstance(k, bool):
            out += 1
        elif k is Ellipsis:
            continue
        elif isinstance(k, slice):
            out += 1
            consumed += 1
        elif backend.is_native(k):
            mask = backend.xp.isdtype(k.dtype, "bool")
            consumed += k.ndim if mask else 1
            arrays = max(arrays, 1 if mask else k.ndim)  # index arrays broadcast together
        else:
            consumed += 1  # an integer
    return out + max(arrays, 0) + (ndim - consumed)  # ``...`` or the implicit trailing axes


def _has_newaxis(key) -> bool:
    """Whether index ``key`` holds ``None`` (identity tests: a key may hold arrays)."""
    if type(key) is tuple:
        return any(k is None for k in key)
    return key is None


def _torch_index_add(arr, key, values):
    import torch

    if not isinstance(key, tuple):
        key = (key,)
    has_adv = any(isinstance(k, torch.Tensor) for k in key)
    if not has_adv:
        arr[key] += values
        return arr
    if any(isinstance(k, torch.Tensor) and k.dtype == torch.bool for k in key) or not all(
        isinstance(k, torch.Tensor) for k in key
    ):
        # Mixed basic/advanced or boolean keys: scatter through a linear index of positions.
        idx = torch.arange(arr.numel(), device=arr.device).reshape(arr.shape)[key]
        flat = arr.reshape(-1)
        flat.index_put_((idx.reshape(-1),), values.broadcast_to(idx.shape).reshape(-1), accumulate=True)
        return arr
    arr.index_put_(key, values.broadcast_to(arr[key].shape), accumulate=True)
    return arr


def _functional_write(xp, arr, key, values, *, add):
    """``arr`` with ``values`` written (``add``: added, repeated indices accumulating) at
    ``key``, as a new array built by ``where`` and gathers: for backends whose arrays cannot be
    written and that have no ``.at`` (cubed). Nothing is computed and nothing written in place.

    A key of integers, slices and ``...`` (a slice's gradient): each axis's positions select
    the region, and the values are gathered back to the array's shape along each axis (one 1-d
    ``take`` per sliced axis). A key of integer arrays only: their linear positions, scattered
    by a one-hot product (``_generic_index_add``'s route, without indexing by several arrays).
    """
    items = key if type(key) is tuple else (key,)
    if all(k is Ellipsis or isinstance(k, (int, slice)) for k in items):
        return _where_region(xp, arr, items, values, add)
    if len(items) == arr.ndim and all(hasattr(k, "dtype") and xp.isdtype(k.dtype, "integral") for k in items):
        n = math.prod(arr.shape)
        pos, stride = 0, 1
        for k, size in zip(reversed(items), reversed(arr.shape)):
            pos = pos + xp.astype(xp.where(k < 0, k + size, k), xp.int64) * stride
            stride *= size
        shape = xp.broadcast_arrays(*items)[0].shape
        pos = xp.reshape(xp.broadcast_to(pos, shape), (-1,))
        vals = xp.reshape(xp.broadcast_to(xp.asarray(values, dtype=arr.dtype), shape), (-1,))
        onehot = xp.astype(xp.reshape(pos, (-1, 1)) == xp.reshape(xp.arange(n), (1, -1)), arr.dtype)
        scattered = xp.reshape(xp.matmul(vals, onehot), arr.shape)
        if add:
            return arr + scattered
        hit = xp.reshape(
            xp.any(xp.reshape(pos, (-1, 1)) == xp.reshape(xp.arange(n), (1, -1)), axis=0), arr.shape
        )
        return xp.where(hit, scattered, arr)
    if add:
        return _generic_index_add(xp, arr, key, values)
    raise TypeError(
        f"__setitem__: arrays of {getattr(xp, '__name__', xp)} cannot be modified and this key "
        f"({key!r}) has no functional form here; use integers, slices and ... or integer arrays"
    )


def _where_region(xp, arr, items, values, add):
    ndim = arr.ndim
    explicit = sum(1 for k in items if k is not Ellipsis)
    per_axis = []
    for k in items:
        if k is Ellipsis:
            per_axis.extend([slice(None)] * (ndim - explicit))
        else:
            per_axis.append(k)
    per_axis.extend([slice(None)] * (ndim - len(per_axis)))
    region = []
    for k, n in zip(per_axis, arr.shape):
        if isinstance(k, int):
            i = k + n if k < 0 else k
            region.append((i, i + 1, 1, True))
        else:
            start, stop, step = k.indices(n)
            region.append((start, stop, step, False))
    counts = [len(range(a, b, c)) for a, b, c, _ in region]
    if 0 in counts:
        return arr
    shape = tuple(c for c, (*_, dropped) in zip(counts, region) if not dropped)
    v = xp.broadcast_to(xp.asarray(values, dtype=arr.dtype), shape)
    for axis, (*_, dropped) in enumerate(region):
        if dropped:
            v = xp.expand_dims(v, axis=axis)
    mask = None
    for axis, ((start, _stop, step, _), n, m) in enumerate(zip(region, arr.shape, counts)):
        if m == n and step == 1:
            continue  # the whole axis, in order
        i = xp.arange(n)
        offset = i - start
        inside = (offset % step == 0) & (offset // step >= 0) & (offset // step < m)
        gather = xp.clip(offset // step, 0, m - 1) if m > 1 else xp.zeros(n, dtype=i.dtype)
        v = xp.take(v, xp.astype(gather, xp.int64), axis=axis)
        along = [1] * ndim
        along[axis] = n
        inside = xp.reshape(inside, tuple(along))
        mask = inside if mask is None else mask & inside
    if mask is None:  # the whole array
        return arr + v if add else xp.broadcast_to(v, arr.shape)
    return xp.where(mask, arr + v if add else v, arr)


def _generic_index_add(xp, arr, key, values):
    """Scatter-add with array API functions only: via the linear positions of ``key``."""
    n = 1
    for s in arr.shape:
        n *= s
    pos = xp.reshape(xp.arange(n), arr.shape)[key]
    pos = xp.reshape(pos, (-1,))
    vals = xp.reshape(xp.broadcast_to(values, arr[key].shape), (-1,))
    onehot = xp.astype(xp.reshape(pos, (-1, 1)) == xp.reshape(xp.arange(n), (1, -1)), vals.dtype)
    return arr + xp.reshape(xp.matmul(vals, onehot), arr.shape)


# Chunked backends (Dask, cubed): gradients keep their input's chunks (``chunked`` in the
# profile, ``like_chunks``). Dask's own overlay, scatter-adds and indexing are in _dask.py.


def _chunked_overlay(xp):
    """A chunked library's namespace (not Dask's: _dask.py) whose ``broadcast_to`` keeps its
    source on the result, so that ``rechunked`` broadcasts a reduction's gradient again with
    the input's chunks (cubed's ``broadcast_to`` gives one chunk per element otherwise)."""
    raw = xp.broadcast_to

    def broadcast_to(x, /, shape):
        out = raw(x, shape)
        if tuple(x.shape) != tuple(shape) and 0 not in tuple(shape):
            _derived(out, _BROADCAST_OF, x)
        return out

    return _overlay(xp, {"broadcast_to": broadcast_to})


def like_chunks(xp, g, chunks):
    """``g`` (raw array, or Tensor under ``create_graph``) rechunked to ``chunks``.

    Called by the engine's gradient normalisation for backends with ``chunked`` arrays, so the
    gradient of every input has that input's chunks (a ``broadcast_to`` or ``zeros`` inside a
    VJP would otherwise give Dask's default chunks: one chunk of the whole array for a
    broadcast scalar). A no-op when the chunks already agree or are unknown (nan). Under
    ``create_graph`` ``xp`` is the xpgrad namespace, which records the rechunk as an op
    (``Namespace._record_rechunk``), so this module needs no Tensor.
    """
    recorded = getattr(xp, "_record_rechunk", None)
    if recorded is not None:
        return recorded(g, chunks)
    return rechunked(g, chunks)


def rechunked(arr, chunks):
    """Raw array ``arr`` with ``chunks``; ``arr`` itself when they agree or ``chunks`` are
    unknown. An ``arr`` of unknown chunks (a boolean mask's result) is first joined into one
    block of the known shape.

    A broadcast made by ``_dask_broadcast_to`` (a reduction's gradient) is broadcast again
    with ``chunks``, block by block from its small source, rather than split and merged.
    """
    have = getattr(arr, "chunks", None)
    if have is None or have == chunks or not _known_chunks(chunks):
        return arr
    if not _known_chunks(have):  # a boolean mask's result, for an input of known shape
        if len(have) != len(chunks):
            return arr
        arr = _dask_of_known_shape(arr, tuple(sum(c) for c in chunks))
    source = _derived_from(arr, _BROADCAST_OF)
    if source is not None:
        if _compat.is_dask_array(source):
            import dask.array as da

            broadcast_to = da.broadcast_to
        else:  # (cubed's broadcast_to takes chunks too)
            broadcast_to = _compat.array_namespace(source).broadcast_to
        lead = arr.ndim - source.ndim
        kept = tuple(chunks[i + lead] if n != 1 else (1,) for i, n in enumerate(source.shape))
        return broadcast_to(rechunked(source, kept), arr.shape, chunks=chunks)
    return arr.rechunk(chunks)


def _dask_of_known_shape(arr, shape):
    """Dask ``arr`` of unknown (nan) chunks as one block of ``shape``, its known shape (lazy:
    one task joins the blocks)."""
    import dask
    import dask.array as da
    import numpy as np

    joined = dask.delayed(np.block)(arr.to_delayed().tolist())
    return da.from_delayed(joined, shape, dtype=arr.dtype, meta=arr._meta)


def chunk_meta(inputs):
    """Gradient metadata ``(shape, dtype, chunks)`` per input of an op (None: no gradient
    wanted). ``inputs`` are Tensors (``_requires_grad``, ``_data``) or constants."""
    return tuple(
        (a._data.shape, a._data.dtype, a._data.chunks) if getattr(a, "_requires_grad", False) else None
        for a in inputs
    )


# torch (through array_api_compat.torch): the functions it lacks or restricts.


def _torch_overlay(xp):
    """array_api_compat.torch with ``std`` for a non-integral ``correction`` (torch's ``std``
    takes integers only, pytorch/pytorch#61492; its ``var`` takes any, and ``std`` is its square
    root), ``unique_all`` (``torch.unique`` returns no first-occurrence indices,
    pytorch/pytorch#36748), and ``add``, ``subtract`` and ``take_along_axis`` of uint16, uint32
    and uint64, which torch has no kernels for (see :func:`_torch_unsigned`)."""

    def std(x, /, *, axis=None, correction=0.0, keepdims=False):
        try:
            return xp.std(x, axis=axis, correction=correction, keepdims=keepdims)
        except NotImplementedError:
            return xp.sqrt(xp.var(x, axis=axis, correction=correction, keepdims=keepdims))

    def unique_all(x, /):
        try:
            return xp.unique_all(x)
        except NotImplementedError:
            return _unique_all_from_inverse(xp, x)

    def unsigned_fallback(name):
        fn = getattr(xp, name)

        def call(x1, x2, /, **kwargs):
            try:
                return fn(x1, x2, **kwargs)
            except NotImplementedError:
                out = _torch_unsigned(fn, name, x1, x2, **kwargs)
                if out is None:
                    raise
                return out

        return call

    overrides = {"std": std, "unique_all": unique_all}
    overrides.update((name, unsigned_fallback(name)) for name in ("add", "subtract", "take_along_axis"))
    return _overlay(xp, overrides)


def _torch_unsigned(fn, name, x1, x2, **kwargs):
    """``fn(x1, x2)`` (the function ``name``) for torch's uint16/uint32/uint64, or None where it
    cannot be routed.

    torch (2.13) has dtypes but few kernels for them ("add_stub", "scatter_gather" not
    implemented): ``add`` and ``subtract`` of two arrays of one such dtype (or of one and a
    Python int) run on the signed integers of the same width, whose two's complement arithmetic
    wraps modulo 2**bits exactly as the unsigned one; ``take_along_axis`` gathers the same bits
    through a signed view. Anything else (mixed dtypes: torch cannot promote them) stays an
    error.
    """
    import torch

    first = x1 if isinstance(x1, torch.Tensor) else x2
    signed = _TORCH_UNSIGNED_AS_SIGNED.get(str(getattr(first, "dtype", None)))
    if signed is None:
        return None
    sd = getattr(torch, signed)
    if name == "take_along_axis":
        return fn(x1.view(sd), x2, **kwargs).view(x1.dtype)
    bits = torch.iinfo(sd).bits

    def as_signed(v):
        if isinstance(v, torch.Tensor):
            return v.view(sd) if v.dtype == first.dtype else None
        if isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 2**bits:
            return v - 2**bits if v >= 2 ** (bits - 1) else v  # the same bits, signed
        return None

    a, b = as_signed(x1), as_signed(x2)
    if a is None or b is None:
        return None
    out = torch.add(a, b) if name == "add" else torch.sub(a, b)
    return out.view(first.dtype)


def _unique_all_from_inverse(xp, x):
    """``unique_all`` from ``unique_inverse`` and ``unique_counts``: the first occurrence of
    each value is where its run starts in a stable sort of the inverse indices."""
    values, inverse = xp.unique_inverse(x)
    counts = xp.unique_counts(x).counts
    order = xp.argsort(xp.reshape(inverse, (-1,)), stable=True)
    starts = xp.cumulative_sum(counts, include_initial=True)[:-1]
    indices = xp.take(order, xp.astype(starts, order.dtype), axis=0)
    return _UniqueAllResult(values, indices, inverse, counts)


_UniqueAllResult = collections.namedtuple("UniqueAllResult", "values indices inverse_indices counts")
