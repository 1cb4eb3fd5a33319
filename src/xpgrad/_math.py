"""Small helpers used inside VJPs; each takes the namespace ``xp`` the VJP runs with.

A VJP runs with the raw backend namespace (plain backward) or with the xpgrad namespace
(``create_graph=True``); these helpers work with both.
"""

from __future__ import annotations

from ._backends import values_at_hand
from ._tensor import Tensor

_COMPLEX_CACHE: dict = {}


def is_complex(xp, a) -> bool:
    """True if ``a`` (an array, Tensor or Python scalar) has a complex dtype."""
    if isinstance(a, complex):
        return True
    if isinstance(a, (bool, int, float)):
        return False
    dt = a.dtype
    # Keyed by the dtype object's identity (the entry keeps it alive): no hashing, and dtypes
    # of different libraries are never compared with each other.
    hit = _COMPLEX_CACHE.get(id(dt))
    if hit is not None and hit[0] is dt:
        return hit[1]
    r = bool(xp.isdtype(dt, "complex floating"))
    if len(_COMPLEX_CACHE) < 256:
        _COMPLEX_CACHE[id(dt)] = (dt, r)
    return r


def conj(xp, a):
    """Complex conjugate; free for real values (torch's convention multiplies by conj(f'))."""
    t = type(a)
    if t is float or t is int:
        return a
    if isinstance(a, complex):
        return a.conjugate()
    if is_complex(xp, a):
        return xp.conj(a)
    return a


def real_dtype_of(xp, dtype):
    if dtype == xp.complex64:
        return xp.float32
    if dtype == xp.complex128:
        return xp.float64
    return dtype


def complex_dtype_of(xp, dtype):
    if dtype == xp.float32 or dtype == xp.complex64:
        return xp.complex64
    return xp.complex128


def to_complex(xp, a):
    if is_complex(xp, a):
        return a
    return xp.astype(a, complex_dtype_of(xp, a.dtype))


def sgn(xp, x):
    """``x / |x|`` with 0 at 0 (torch.sgn): the derivative direction of ``abs``."""
    if is_complex(xp, x):
        a = xp.abs(x)
        safe = xp.where(a == 0, xp.ones_like(a), a)
        return xp.where(a == 0, xp.zeros_like(x), x / xp.astype(safe, x.dtype))
    return xp.sign(x)


def zeros_like(xp, g):
    return xp.zeros_like(g)


def normalize_axis(axis, ndim, fname="", argname="axis"):
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, int):
        axis = (axis,)
    out = []
    for a in axis:
        if not -ndim <= a < max(ndim, 1):
            raise IndexError(
                f"{fname}(): argument '{argname}' value {a} is out of range for an array of {ndim} dimensions"
            )
        out.append(a % ndim if ndim else 0)
    return tuple(out)


def expand_reduced(xp, g, shape, axis, keepdims):
    """Reshape a reduction's gradient ``g`` so it broadcasts against the input ``shape``."""
    if keepdims or g.ndim == len(shape):
        return g
    axes = normalize_axis(axis, len(shape))
    if any(n is None for n in shape):  # unknown sizes: insert the reduced axes one by one
        for a in sorted(axes):
            g = xp.expand_dims(g, axis=a)
        return g
    full = tuple(1 if i in axes else n for i, n in enumerate(shape))
    return xp.reshape(g, full)


def broadcast_to_input(xp, g, shape):
    """``g`` broadcast to an input's ``shape``; against the input itself where the shape has
    unknown sizes (a ``_profile.DynamicShape``)."""
    ref = getattr(shape, "ref", None)
    if ref is None:
        return xp.broadcast_to(g, shape)
    return xp.broadcast_arrays(g, ref)[0]


def reduced_count(xp, shape, axis, like):
    """The number of elements a reduction over ``axis`` of an input of ``shape`` combines: an
    int, or where a reduced size is unknown (None) an array counted on the input itself, with
    the reduced axes kept (it broadcasts as ``expand_reduced``'s result)."""
    axes = normalize_axis(axis, len(shape))
    if any(shape[a] is None for a in axes):
        ones = xp.ones_like(shape.ref, dtype=like.dtype)
        return xp.sum(ones, axis=axes, keepdims=True)
    n = 1
    for a in axes:
        n *= shape[a]
    return n


def device_of(a):
    """The device of array ``a`` (a raw backend array or a Tensor)."""
    from array_api_compat import device

    return device(a)


def zeros_along(xp, a, axis, n):
    """Zeros of ``a``'s shape, dtype and device, except for size ``n`` along ``axis``."""
    shape = list(a.shape)
    shape[axis] = n
    return xp.zeros(tuple(shape), dtype=a.dtype, device=device_of(a))


def _values_at_hand(a) -> bool:
    """False for an array whose values are not known without computing it: a Dask array
    (lazy) or a JAX tracer (inside ``jax.jit``/``grad``/``vmap``)."""
    if isinstance(a, Tensor):  # under create_graph: the values are those of its raw array
        a = a._data
    return values_at_hand(a)


def checked(xp, ok, error, result, batch_ndim=0):
    """``result`` after a check that ``ok`` (a boolean array) holds everywhere.

    VJPs never branch on computed values (Dask stays lazy, ``jax.jit`` can trace them). A check
    whose failure means "no well-defined gradient" (e.g. a loss that depends on the phase of
    complex singular vectors) raises ``error()`` where the values are at hand (eager backends,
    as torch raises); on a lazy or traced array it cannot raise, so the entries of ``result``
    whose batch (the leading ``batch_ndim`` axes of ``ok``, reduced over the rest) fails the
    check become nan instead: never a silent wrong gradient.
    """
    if _values_at_hand(ok):
        if not bool(xp.all(ok)):
            raise error()
        return result
    axes = tuple(range(batch_ndim, ok.ndim))
    good = xp.all(ok, axis=axes) if axes else ok
    extra = result.ndim - good.ndim
    good = xp.reshape(good, tuple(good.shape) + (1,) * extra)
    nan = float("nan")
    # complex: nan in both parts, so that no part of a sum with it looks finite
    fill = complex(nan, nan) if is_complex(xp, result) else nan
    return xp.where(good, result, xp.asarray(fill, dtype=result.dtype))


def all_true_at_hand(xp, cond) -> bool:
    """True if ``cond`` holds everywhere and its values are at hand (eager backends); False
    if it does not, or on a lazy or traced array. For shortcuts only: a VJP that takes one
    must give the same result as without it."""
    return _values_at_hand(cond) and bool(xp.all(cond))
