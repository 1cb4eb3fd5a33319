"""Where each backend keeps its own special functions (``xp.special``, see special.py), and how
a backend array goes to NumPy and back for SciPy when it has none. Data and capabilities only:
the functions and their derivatives are in special.py.
"""

from __future__ import annotations

import importlib
import math
from typing import TYPE_CHECKING

import array_api_compat as _compat

from ._profile import read_back

if TYPE_CHECKING:
    from ._backends import Backend

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
    if backend._is_numpy or backend._is_dask:
        return SpecialLibrary(
            _import_or_none("scipy.special"),
            adapters=_SCIPY_ADAPTERS,
            blockwise=backend._is_dask,
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
    """A NumPy array with the values of backend array ``arr`` (copied to host memory if needed),
    read as the backend's profile says (``_profile.read_back``: its converter, DLPack,
    ``__array__``, ...); "cannot read values back" where nothing reads it."""
    if backend._is_numpy:
        return arr
    if backend._is_torch:
        return arr.detach().cpu().numpy()
    return read_back(arr, backend.to_numpy, backend.name)


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
