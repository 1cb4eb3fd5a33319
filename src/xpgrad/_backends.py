"""Everything that depends on *which* backend is wrapped lives here, and only here.

A :class:`Backend` holds the backend's array API namespace (reached through
``array_api_compat``) and the few capabilities the rest of xpgrad asks about: how to recognise
a native array, whether arrays are mutable, how to write into one, whether a value may alias
memory the user holds. Code elsewhere never tests backend names.
"""

from __future__ import annotations

import collections
import contextlib
import functools
import importlib
import math
import operator
import types
import warnings

import array_api_compat as _compat

__all__ = ["Backend", "chunk_meta", "like_chunks", "resolve"]

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
        "scalar_results",
        "fp_errstate",
        "to_numpy",
        "_raw_xp",
        "_is_numpy",
        "_is_torch",
        "_np_ndarray",
        "_np_asarray",
    )

    def __init__(self, xp, sample):
        self.xp = xp
        self.name = _short_name(xp)
        self.native_type = type(sample)
        self._is_numpy = _compat.is_numpy_namespace(xp)
        self._is_torch = _compat.is_torch_namespace(xp)
        self.mutable = _compat.is_writeable_array(sample)
        self.lazy = _compat.is_lazy_array(sample)
        # Whether arrays share memory: a write into one is seen through its views, through
        # ``detach()`` aliases and through NumPy views of it. Not on JAX (immutable: writes make
        # new arrays) nor on Dask (lazy: a write replaces the written array's own task graph,
        # a slice of it is a separate array).
        self.aliases = self.mutable and not self.lazy
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
        # A function making a NumPy array of one of this backend's arrays, for the testing
        # harness (``xpgrad.testing.to_numpy``) where DLPack and ``__array__`` cannot read it:
        # None (found automatically) unless the backend author passes one.
        self.to_numpy = None
        self._raw_xp = xp
        # Chunked arrays (Dask): gradients take their input's chunks (see ``like_chunks``), and
        # the namespace is an overlay adding what array_api_compat.dask lacks or gets wrong.
        self.chunked = _compat.is_dask_namespace(xp)
        if self.chunked:
            self.xp = _dask_overlay(xp)
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
        raise TypeError(f"__setitem__: arrays of backend {self.name!r} cannot be modified")

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
        return _generic_index_add(self.xp, arr, key, values)

    def getitem(self, arr, key):
        """``arr[key]`` (after :meth:`fix_key`). Dask indexes with several or multi-dimensional
        integer arrays through their linear positions (one 1-d gather), which it supports."""
        if self.chunked:
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


def resolve(backend) -> Backend:
    xp, sample = _raw_namespace(backend)
    hit = _CACHE.get(id(xp))
    if hit is not None and hit[0] is xp:
        return hit[1]
    b = Backend(xp, sample)
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


# ============================================================================================
# Special functions (``xp.special``, see special.py): where each backend keeps its own special
# functions, and how a backend array goes to NumPy and back for SciPy when it has none.
# This block is data and capabilities only; the functions and their derivatives are in
# special.py.
# ============================================================================================

# The names torch.special uses for SciPy's functions (others have SciPy's name or are absent).
TORCH_SPECIAL_NAMES = {
    "psi": "digamma",
    "digamma": "digamma",
    "j0": "bessel_j0",
    "j1": "bessel_j1",
    "y0": "bessel_y0",
    "y1": "bessel_y1",
    "k0": "modified_bessel_k0",
    "k1": "modified_bessel_k1",
    "k0e": "scaled_modified_bessel_k0",
    "k1e": "scaled_modified_bessel_k1",
}
# SciPy functions torch.special also has under a name above or SciPy's own name (torch.special
# has more functions whose signatures differ from SciPy's; those are called by special.py).
TORCH_SPECIAL_SAME = frozenset(
    "entr erf erfc erfcx erfinv exp2 expit gammainc gammaincc gammaln i0 i0e i1 i1e log_ndtr "
    "logit ndtr ndtri sinc xlog1py xlogy spherical_bessel_j0".split()
)
# The names jax.scipy.special uses, where they differ from SciPy's.
JAX_SPECIAL_NAMES = {"psi": "digamma"}


class SpecialLibrary:
    """A backend's own library of special functions, as special.py calls it.

    ``module``: the library (None: none, or not installed); ``native(name)``: its function for
    SciPy's function ``name``, taking SciPy's arguments (None: it has none, special.py composes
    the function or computes it with SciPy on a NumPy copy); ``blockwise``: call it on each
    block of a chunked array (``map_blocks``). (special.py computes single-precision arguments
    in double precision where the backend has it, whatever the library.)
    """

    __slots__ = ("module", "blockwise", "_names", "_adapters")

    def __init__(self, module, *, names=None, adapters=None, blockwise=False):
        self.module = module
        self.blockwise = blockwise
        self._names = names if names is not None else (lambda name: name)
        self._adapters = adapters or {}

    def native(self, name: str):
        if self.module is None:
            return None
        adapt = self._adapters.get(name)
        if adapt is not None:
            return adapt(self.module)
        native_name = self._names(name)
        return None if native_name is None else getattr(self.module, native_name, None)


def _none(lib):
    return None


def _scipy_spherical_j0(lib):
    sph = getattr(lib, "spherical_jn", None)
    return None if sph is None else (lambda x: sph(0, x))


def _torch_polygamma(lib):
    # torch.special.polygamma takes a Python integer order; an array order is left to SciPy.
    # Order 1 is torch's trigamma, 5e-10 off in float64 and finite at the poles (6.6e32 at -1):
    # (-1)**(n+1) n! zeta(n + 1, x) instead, as torch itself computes the orders above 1.
    def polygamma(n, x):
        if not _is_scalar_int(n):
            return None
        n = int(n)
        if n == 0:
            return lib.digamma(x)
        return _torch_zeta(lib)(float(n + 1), x) * ((-1) ** (n + 1) * float(math.factorial(n)))

    return polygamma


def _torch_zeta(lib):
    # torch.special.zeta(x, q): SciPy's argument order; nan at q = +inf, where it is 0
    def zeta(x, q):
        z = lib.zeta(x, q)
        return z.masked_fill(q == math.inf, 0.0) if hasattr(q, "shape") else z

    return zeta


def _torch_ndtr(lib):
    # torch.special.ndtr is (1 + erf(x / sqrt(2))) / 2: 0 below -8 (ndtr(-13) is 6e-39)
    return lambda x: lib.erfc(x * -math.sqrt(0.5)) * 0.5


def _is_scalar_int(n) -> bool:
    return isinstance(n, int) or getattr(n, "ndim", 1) == 0


# Adapters to SciPy's signatures, per kind of library (name -> function(library) -> callable).
_SCIPY_ADAPTERS = {
    "spherical_bessel_j0": _scipy_spherical_j0,  # SciPy has spherical_jn(n, x): order 0
    "zeta": lambda lib: lambda x, q: lib.zeta(x, q),  # always the Hurwitz form (q given)
}
_CUPY_ADAPTERS = {
    **_SCIPY_ADAPTERS,
    "sinc": _none,  # not SciPy's normalized sinc: special.py composes it
}
_JAX_ADAPTERS = {
    "spherical_bessel_j0": _none,  # jax.scipy.special has none
    "sinc": _none,  # jax.scipy.special has none: special.py composes it
}
_TORCH_ADAPTERS = {
    "polygamma": _torch_polygamma,
    "ndtr": _torch_ndtr,
    "multigammaln": lambda lib: lambda a, d: lib.multigammaln(a, int(d)),  # d: a Python int
    "zeta": _torch_zeta,
}


def _torch_special_name(name: str) -> str | None:
    if name in TORCH_SPECIAL_NAMES:
        return TORCH_SPECIAL_NAMES[name]
    return name if name in TORCH_SPECIAL_SAME else None


def _import_or_none(name):
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def special_library(backend: Backend) -> SpecialLibrary:
    """The backend's own library of special functions: scipy.special for NumPy (and for each
    block of a Dask array), torch.special, jax.scipy.special, cupyx.scipy.special; none for
    array-api-strict and unknown libraries. SciPy is optional (then ``module`` is None)."""
    xp = backend._raw_xp  # not Dask's overlay namespace
    if backend._is_numpy or backend.chunked:
        return SpecialLibrary(
            _import_or_none("scipy.special"),
            adapters=_SCIPY_ADAPTERS,
            blockwise=backend.chunked,
        )
    if backend._is_torch:
        return SpecialLibrary(
            _import_or_none("torch.special"), names=_torch_special_name, adapters=_TORCH_ADAPTERS
        )
    if _compat.is_jax_namespace(xp):
        return SpecialLibrary(
            _import_or_none("jax.scipy.special"),
            names=lambda name: JAX_SPECIAL_NAMES.get(name, name),
            adapters=_JAX_ADAPTERS,
        )
    if _compat.is_cupy_namespace(xp):
        return SpecialLibrary(_import_or_none("cupyx.scipy.special"), adapters=_CUPY_ADAPTERS)
    return SpecialLibrary(None)


def to_host(backend: Backend, arr):
    """A NumPy array with the values of backend array ``arr`` (copied to host memory if needed)."""
    import numpy

    if backend._is_numpy:
        return arr
    if backend._is_torch:
        return arr.detach().cpu().numpy()
    if _compat.is_cupy_namespace(backend._raw_xp):
        return arr.get()
    inner = getattr(arr, "_array", None)  # array_api_strict wraps a NumPy array
    if isinstance(inner, numpy.ndarray):
        return inner
    return numpy.asarray(arr)


def from_host(backend: Backend, arr, device):
    """A backend array with the values of NumPy array ``arr``, on ``device``."""
    if backend._is_numpy:
        return arr
    return backend.xp.asarray(arr, device=device)


def map_blocks(backend: Backend, fn, *args, dtype):
    """``fn`` (elementwise, on NumPy arrays) applied to each block of Dask arrays ``args``.

    The arguments are broadcast to one shape first: Dask's blockwise aligns the chunks of
    arrays of equal shape, but refuses to broadcast a dimension split into several chunks
    against one of length 1."""
    import dask.array as da

    arrays = [i for i, a in enumerate(args) if isinstance(a, da.Array)]
    if len(arrays) > 1:
        args = list(args)
        for i, a in zip(arrays, da.broadcast_arrays(*(args[i] for i in arrays))):
            args[i] = a
    import numpy

    def block(*blocks):
        # SciPy computes some functions of float32 in double precision: the block must have the
        # dtype the graph declares.
        return numpy.asarray(fn(*blocks)).astype(dtype, copy=False)

    return da.map_blocks(block, *args, dtype=dtype)


# Dask (lazy, chunked). Everything Dask-specific is in this block: gradients keep their input's
# chunks (``chunked`` capability, ``like_chunks``), scatter-adds run per chunk, and the
# functions array_api_compat.dask lacks or gets wrong are built from dask.array's own tools
# (``apply_gufunc``, ``map_blocks``, lazy index arithmetic) in an overlay namespace.


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
    """Raw array ``arr`` with ``chunks``; ``arr`` itself when they agree or are unknown.

    A broadcast made by ``_dask_broadcast_to`` (a reduction's gradient) is broadcast again
    with ``chunks``, block by block from its small source, rather than split and merged.
    """
    have = getattr(arr, "chunks", None)
    if have is None or have == chunks or not _known_chunks(chunks) or not _known_chunks(have):
        return arr
    source = _derived_from(arr, _BROADCAST_OF)
    if source is not None:
        import dask.array as da

        lead = arr.ndim - source.ndim
        kept = tuple(chunks[i + lead] if n != 1 else (1,) for i, n in enumerate(source.shape))
        return da.broadcast_to(rechunked(source, kept), arr.shape, chunks=chunks)
    return arr.rechunk(chunks)


def _known_chunks(chunks) -> bool:
    return all(c == c for dim in chunks for c in dim)  # nan != nan


def chunk_meta(inputs):
    """Gradient metadata ``(shape, dtype, chunks)`` per input of an op (None: no gradient
    wanted). ``inputs`` are Tensors (``_requires_grad``, ``_data``) or constants."""
    return tuple(
        (a._data.shape, a._data.dtype, a._data.chunks) if getattr(a, "_requires_grad", False) else None
        for a in inputs
    )


# What makes a module object a particular module (not copied into an overlay).
_MODULE_IDENTITY = frozenset(
    {"__name__", "__doc__", "__spec__", "__loader__", "__file__", "__path__", "__package__", "__cached__"}
)


def _overlay(base, overrides, **submodules):
    """A namespace with the attributes of ``base`` except for the functions in ``overrides``.

    A plain module object holding a copy of the base's attributes: ``xp.<function>``, read by
    ops on every call, stays as fast as on the base module. (A class with ``__getattr__``, or a
    module ``__getattr__`` (PEP 562), makes every lookup several times slower.)
    """
    ns = types.ModuleType(base.__name__, getattr(base, "__doc__", None))
    ns.__dict__.update((k, v) for k, v in vars(base).items() if k not in _MODULE_IDENTITY)
    ns.__dict__.update(overrides)
    ns.__dict__.update(submodules)
    return ns


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


# Dask: the functions array_api_compat.dask lacks or gets wrong, built from dask.array's own
# tools (``apply_gufunc``, ``map_blocks``, lazy index arithmetic).


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
