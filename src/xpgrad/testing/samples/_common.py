"""Helpers shared by the sample modules (private: not a sample module itself)."""

from __future__ import annotations

import numpy as np

from ..._namespace import DTYPE_NAMES


def is_complex(dtype: str) -> bool:
    return dtype.startswith("complex")


def uniform(rng, shape, low=-2.0, high=2.0):
    return rng.uniform(low, high, size=shape)


def make(rng, shape, dtype, low=-2.0, high=2.0, imag=(-1.0, 1.0)):
    """Values in ``[low, high)``; for a complex ``dtype`` with an imaginary part in ``imag``."""
    a = rng.uniform(low, high, size=shape)
    if is_complex(dtype):
        a = a + 1j * rng.uniform(imag[0], imag[1], size=shape)
    return np.asarray(a)


def away_from_zero(rng, shape, dtype, low=0.5, high=2.0):
    """Values with ``low <= |x| < high`` and a random sign (complex: a random direction)."""
    mag = rng.uniform(low, high, size=shape)
    if is_complex(dtype):
        return np.asarray(mag * np.exp(1j * rng.uniform(-np.pi, np.pi, size=shape)))
    return np.asarray(mag * rng.choice([-1.0, 1.0], size=shape))


def noncontig(a: np.ndarray) -> np.ndarray:
    """A non-contiguous view with the values of ``a`` (every other column of a wider array)."""
    if a.ndim == 0:
        return a
    wide = np.zeros(a.shape[:-1] + (2 * a.shape[-1],), dtype=a.dtype)
    wide[..., ::2] = a
    view = wide[..., ::2]
    assert not view.flags.c_contiguous or view.size <= 1
    return view


def dtype_of(xp, name):
    """The dtype object called ``name`` in namespace ``xp`` (None stays None)."""
    return None if name is None else getattr(xp, name)


def dtype_name(xp, dtype) -> str:
    """The standard name of a dtype object of namespace ``xp``."""
    for name in DTYPE_NAMES:
        if getattr(xp, name, None) is not None and dtype == getattr(xp, name):
            return name
    return str(dtype)
