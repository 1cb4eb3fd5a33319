"""Everything that depends on *which* backend is wrapped lives here, and only here.

A :class:`Backend` holds the backend's array API namespace (reached through
``array_api_compat``) and the few capabilities the rest of xpgrad asks about: how to recognise
a native array, whether arrays are mutable, how to write into one, whether a value may alias
memory the user holds. Code elsewhere never tests backend names.
"""

from __future__ import annotations

import importlib
import operator
import types

import array_api_compat as _compat

__all__ = ["Backend", "resolve"]

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
            raise ValueError(f"namespace(): backend {backend!r} could not be imported ({exc})") from None
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


class Backend:
    """Capabilities of one wrapped array library."""

    __slots__ = (
        "xp",
        "name",
        "native_type",
        "mutable",
        "lazy",
        "aliases",
        "checks_bounds",
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
            return _compat.array_namespace(obj) is self.xp
        except TypeError:
            return False

    def ensure(self, data):
        """Make a backend result a proper array (NumPy returns scalars for 0-d results)."""
        if self._is_numpy and type(data) is not self._np_ndarray:
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

        Mutable backends write in place; immutable ones (JAX) get a functional update.
        """
        if self.mutable:
            if self._is_torch and getattr(value, "dtype", arr.dtype) != arr.dtype:
                value = value.to(arr.dtype)  # index_put_ (array keys) does not cast, unlike slices
            if self.lazy and _compat.is_dask_array(arr) and 0 in arr[key].shape:
                return arr  # nothing to write; Dask's __setitem__ rejects empty regions
            arr[key] = value
            return arr
        at = getattr(arr, "at", None)
        if at is not None:
            return at[key].set(value)
        raise TypeError(f"__setitem__: arrays of backend {self.name!r} cannot be modified")

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
        if self._is_numpy:
            import numpy

            numpy.add.at(arr, key, values)
            return arr
        if self._is_torch:
            return _torch_index_add(arr, key, values)
        at = getattr(arr, "at", None)
        if at is not None and not self.mutable:
            return at[key].add(values)
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

    def quiet(self):
        """A context in which the backend does not warn about inf/nan arithmetic.

        Backward formulas legitimately produce inf/nan at domain edges (sqrt at 0, ...), as
        torch's do, without warnings; NumPy would warn for each.
        """
        import numpy

        # Harmless for backends that do not compute with NumPy; needed for those that do
        # (NumPy itself, array_api_strict, Dask on NumPy chunks).
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


def _check_range(lo, hi, n, axis, fname):
    bad = lo if lo < -n else hi if hi >= n else None
    if bad is not None:
        raise IndexError(f"{fname}: index {bad} is out of bounds for axis {axis} with size {n}")


def _unwrap_key(key):
    if isinstance(key, tuple):
        return tuple(_unwrap_key(k) for k in key)
    return getattr(key, "_array", key)


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


def special_library(backend: Backend):
    """``(kind, module)``: the backend's own library of special functions.

    kind is "scipy" (NumPy: scipy.special), "torch" (torch.special), "jax"
    (jax.scipy.special), "cupy" (cupyx.scipy.special), "dask" (scipy.special applied to each
    block) or None (array-api-strict and unknown libraries); module is None when the library
    is not installed (SciPy is optional).
    """
    xp = backend.xp
    try:
        if backend._is_numpy:
            return "scipy", importlib.import_module("scipy.special")
        if backend._is_torch:
            return "torch", importlib.import_module("torch.special")
        if _compat.is_jax_namespace(xp):
            return "jax", importlib.import_module("jax.scipy.special")
        if _compat.is_cupy_namespace(xp):
            return "cupy", importlib.import_module("cupyx.scipy.special")
        if _compat.is_dask_namespace(xp):
            return "dask", importlib.import_module("scipy.special")
    except ImportError:
        if backend._is_numpy or _compat.is_dask_namespace(xp):
            return "scipy", None
        return None, None
    return None, None


def special_native_name(kind: str, name: str) -> str | None:
    """The name of SciPy's function ``name`` in a library of ``kind`` (None: look for none)."""
    if kind == "torch":
        if name in TORCH_SPECIAL_NAMES:
            return TORCH_SPECIAL_NAMES[name]
        return name if name in TORCH_SPECIAL_SAME else None
    if kind == "jax":
        return JAX_SPECIAL_NAMES.get(name, name)
    return name


def to_host(backend: Backend, arr):
    """A NumPy array with the values of backend array ``arr`` (copied to host memory if needed)."""
    import numpy

    if backend._is_numpy:
        return arr
    if backend._is_torch:
        return arr.detach().cpu().numpy()
    if _compat.is_cupy_namespace(backend.xp):
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
    """``fn`` (elementwise, on NumPy arrays) applied to each block of Dask arrays ``args``."""
    return backend.xp.map_blocks(fn, *args, dtype=dtype)
