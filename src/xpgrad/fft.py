"""The ``fft`` extension of the array API standard (2025.12), differentiable: the derivative table.

Each transform is an entry: the forward on raw arrays (the backend's own ``fft`` module) with the
standard's signature, its VJP beside it, written with ``xp.fft`` calls so one formula gives every
order (``xp`` is the backend namespace in a plain backward and the xpgrad namespace under
``create_graph=True``), and its forward-mode rule.

Gradients follow torch's conjugate Wirtinger convention. Every transform is a linear map ``A``
(real-linear for the ``c2r`` ones); its VJP is the adjoint ``A^H g`` and its tangent ``A t``
(``LINEAR``: the transform of the tangent, as torch's forward rules):

- c2c (``fft``/``ifft``/``fftn``/``ifftn``): the opposite transform with the swapped
  normalisation (``"backward"`` <-> ``"forward"``, ``"ortho"`` stays), so the scale matches.
- r2c (``rfft``/``rfftn``/``ihfft``): the half spectrum is zero-padded to the full length
  (the transform's own ``n``/``s`` does it) before the opposite c2c transform; the engine takes
  the real part for the real input (torch's ``fft_r2c_backward``).
- c2r (``irfft``/``irfftn``/``hfft``): the opposite r2c transform of ``g``, with the bins that
  stand for two conjugate bins (all but the zero and, for even ``n``, the Nyquist bin) doubled
  (torch's ``fft_c2r_backward``).

The input is first cropped or zero-padded to the transform length ``n``; the adjoint of that is
the opposite crop / zero-pad back to the input's length.
"""

from __future__ import annotations

import operator
import sys
import types

from ._creation_functions import _leaf
from ._math import device_of
from ._optable import LINEAR, install, op

# The table entries (installed on FFTNamespace by ``install`` at the end of this module) and
# the functions of the extension (the namespace's own ``__all__``): the entries and the two
# hand-written frequency functions.
ENTRIES = (
    *("fft", "ifft", "rfft", "irfft", "hfft", "ihfft"),
    *("fftn", "ifftn", "rfftn", "irfftn"),
    *("fftshift", "ifftshift"),
)
FUNCTIONS = tuple(sorted(ENTRIES + ("fftfreq", "rfftfreq")))

__all__ = ["FFTNamespace", "FUNCTIONS", *ENTRIES]

_NORMS = ("backward", "ortho", "forward")
# The normalisation whose scale equals that of the adjoint of a transform with ``norm``.
_SWAP = {"backward": "forward", "ortho": "ortho", "forward": "backward"}
# The kind of each transform: complex to complex, real to complex (half spectrum), complex
# (half spectrum) to real.
_KINDS_1D = {"fft": "c2c", "ifft": "c2c", "rfft": "r2c", "ihfft": "r2c", "irfft": "c2r", "hfft": "c2r"}
_KINDS_ND = {"fftn": "c2c", "ifftn": "c2c", "rfftn": "r2c", "irfftn": "c2r"}
# The transform whose (normalisation-swapped) application is each transform's adjoint.
_ADJOINTS = {
    "fft": "ifft",
    "ifft": "fft",
    "rfft": "ifft",
    "ihfft": "fft",
    "irfft": "rfft",
    "hfft": "ihfft",
    "fftn": "ifftn",
    "ifftn": "fftn",
    "rfftn": "ifftn",
    "irfftn": "rfftn",
}


# --------------------------------------------------------------------------------------------
# Argument checks (in the forwards, before anything is recorded).


def _check_norm(fname, norm):
    if not isinstance(norm, str) or norm not in _NORMS:
        raise ValueError(
            f"fft.{fname}(): argument 'norm' must be one of 'backward', 'ortho', 'forward', got {norm!r}"
        )


def _as_int(fname, argname, v):
    if isinstance(v, bool):
        raise TypeError(f"fft.{fname}(): argument '{argname}' must be an integer, got bool")
    try:
        return operator.index(v)
    except TypeError:
        raise TypeError(
            f"fft.{fname}(): argument '{argname}' must be an integer, got {type(v).__name__}"
        ) from None


def _check_axis(fname, argname, axis, ndim):
    axis = _as_int(fname, argname, axis)
    if not -ndim <= axis < ndim:
        raise IndexError(
            f"fft.{fname}(): argument '{argname}' value {axis} is out of range for an array of "
            f"{ndim} dimensions"
        )
    return axis % ndim


def _check_n(fname, n, default, argname="n"):
    if n is None:
        if default < 1:
            raise ValueError(
                f"fft.{fname}(): the default output length 2*(m-1) is {default} for an input of "
                f"length m={default // 2 + 1} along the transformed axis; pass '{argname}' >= 1"
            )
        return default
    n = _as_int(fname, argname, n)
    if n < 1:
        raise ValueError(
            f"fft.{fname}(): invalid number of data points {n} given by '{argname}' (expected >= 1)"
        )
    return n


def _check_input(xp, fname, x, real):
    if real and xp.isdtype(x.dtype, "complex floating"):
        raise TypeError(
            f"fft.{fname}(): argument 'x' must have a real-valued floating-point dtype, got "
            f"{x.dtype} (use fft.fft for complex input)"
        )
    if x.ndim == 0 and fname in _KINDS_1D:
        raise ValueError(f"fft.{fname}(): argument 'x' must have at least one dimension, got a 0-d array")


def _params_1d(fname, shape, n, axis):
    """Resolved ``(axis, m, n)``: the non-negative axis, the input length along it and the
    transform length."""
    ax = _check_axis(fname, "axis", axis, len(shape))
    m = shape[ax]
    return ax, m, _check_n(fname, n, 2 * (m - 1) if _KINDS_1D[fname] == "c2r" else m)


def _nd_params(fname, shape, s, axes):
    """Resolved ``(axes, s)``: non-negative unique axes and one positive length per axis."""
    c2r = _KINDS_ND[fname] == "c2r"
    ndim = len(shape)
    if s is not None:
        if isinstance(s, int) or not hasattr(s, "__len__"):
            raise TypeError(
                f"fft.{fname}(): argument 's' must be a sequence of integers, got {type(s).__name__}"
            )
        s = [_as_int(fname, "s", v) for v in s]
    if axes is None:
        if s is not None and len(s) > ndim:
            raise ValueError(
                f"fft.{fname}(): argument 's' has {len(s)} entries, more than the {ndim} "
                "dimensions of the input"
            )
        axes = tuple(range(0 if s is None else ndim - len(s), ndim))
    else:
        if isinstance(axes, int) or not hasattr(axes, "__len__"):
            raise TypeError(
                f"fft.{fname}(): argument 'axes' must be a sequence of integers, got {type(axes).__name__}"
            )
        axes = tuple(_check_axis(fname, "axes", a, ndim) for a in axes)
        if len(set(axes)) != len(axes):
            raise ValueError(f"fft.{fname}(): argument 'axes' must not repeat an axis, got {axes}")
    if _KINDS_ND[fname] != "c2c" and not axes:
        raise ValueError(f"fft.{fname}(): at least one axis must be transformed")
    defaults = [shape[a] for a in axes]
    if c2r:
        defaults[-1] = 2 * (defaults[-1] - 1)
    if s is None:
        s = [-1] * len(axes)
    elif len(s) != len(axes):
        raise ValueError(
            f"fft.{fname}(): arguments 's' and 'axes' must have the same length, got {len(s)} and {len(axes)}"
        )
    return axes, tuple(_check_n(fname, None if v == -1 else v, d, "s") for v, d in zip(s, defaults))


def _shift_axes(fname, axes, ndim):
    if axes is None:
        return tuple(range(ndim))
    if isinstance(axes, int) or not hasattr(axes, "__len__"):
        return (_check_axis(fname, "axes", axes, ndim),)
    return tuple(_check_axis(fname, "axes", a, ndim) for a in axes)


# --------------------------------------------------------------------------------------------
# Helpers used inside VJPs (``xp``: backend namespace or xpgrad namespace).


def _fit(xp, a, axis, size):
    """``a`` cropped or zero-padded (at the end) to ``size`` along ``axis``."""
    cur = a.shape[axis]
    if cur == size:
        return a
    if cur > size:
        return a[(slice(None),) * axis + (slice(0, size), Ellipsis)]
    pad = list(a.shape)
    pad[axis] = size - cur
    z = xp.zeros(tuple(pad), dtype=a.dtype, device=device_of(a))
    return xp.concat((a, z), axis=axis)


def _fit_axes(xp, a, axes, shape):
    for ax in axes:
        a = _fit(xp, a, ax, shape[ax])
    return a


def _c2r_weighted(xp, h, n, axis):
    """The half spectrum ``h`` (``n//2 + 1`` bins along ``axis``) with the bins that stand for
    a bin and its conjugate doubled: all but the zero bin and, for even ``n``, the Nyquist bin
    (the adjoint of a length-``n`` c2r transform; torch's ``fft_c2r_backward``)."""
    half = n // 2 + 1
    w = [2.0] * half
    w[0] = 1.0
    if n % 2 == 0:
        w[-1] = 1.0
    dtype = xp.float32 if h.dtype == xp.complex64 else xp.float64
    arr = xp.asarray(w, dtype=dtype, device=device_of(h))
    return h * xp.reshape(arr, (half,) + (1,) * (h.ndim - 1 - axis))


# --------------------------------------------------------------------------------------------
# One-dimensional transforms. The VJP of a transform with length n along ``axis`` of an input
# of length m: the adjoint transform of ``g``, cropped or zero-padded back to m.


def _transform_1d(xp, fname, x, n, axis, norm):
    _check_norm(fname, norm)
    _check_input(xp, fname, x, _KINDS_1D[fname] == "r2c")
    ax, m, n = _params_1d(fname, tuple(x.shape), n, axis)
    res = getattr(xp.fft, fname)(x, n=n, axis=ax, norm=norm)
    return _r2c_saved(res, x, n > m) if _KINDS_1D[fname] == "r2c" else res


def _r2c_saved(res, x, padded):
    """An r2c transform's result and what its node saves for ``x`` (``aux``): as torch's
    ``_fft_r2c``, its input, or when ``n`` (``s``) zero-pads it, the padded copy, a new array,
    so that an in-place change of ``x`` afterwards does not make backward raise. The VJP reads
    only its shape: a new array object sharing ``x``'s memory stands in for the copy."""
    return res, {"x": x[...] if padded else x}


def _adjoint_1d(xp, g, fname, shape, n, axis, norm):
    """The VJP of 1-d transform ``fname``: the adjoint transform of ``g`` (``_ADJOINTS``) with
    the swapped normalisation, its conjugate-pair bins doubled for a c2r transform, cropped or
    zero-padded back to the input's length."""
    ax, m, n = _params_1d(fname, shape, n, axis)
    h = getattr(xp.fft, _ADJOINTS[fname])(g, n=n, axis=ax, norm=_SWAP[norm])
    return _fit(xp, _c2r_weighted(xp, h, n, ax) if _KINDS_1D[fname] == "c2r" else h, ax, m)


def _fft_vjp(xp, g, *, x_shape, n, axis, norm):
    return _adjoint_1d(xp, g, "fft", x_shape, n, axis, norm)


@op(grads={"x": _fft_vjp}, jvp=LINEAR)
def fft(xp, x, /, *, n=None, axis=-1, norm="backward"):
    """Computes the one-dimensional discrete Fourier transform.

    ``x`` should be complex; ``n`` points along ``axis`` are used (the input is cropped or
    zero-padded; default: its length). Gradient: the adjoint transform (``ifft`` with the
    swapped normalisation), cropped or zero-padded back. Forward mode: linear. Deviations: none.
    """
    return _transform_1d(xp, "fft", x, n, axis, norm)


def _ifft_vjp(xp, g, *, x_shape, n, axis, norm):
    return _adjoint_1d(xp, g, "ifft", x_shape, n, axis, norm)


@op(grads={"x": _ifft_vjp}, jvp=LINEAR)
def ifft(xp, x, /, *, n=None, axis=-1, norm="backward"):
    """Computes the one-dimensional inverse discrete Fourier transform.

    ``x`` should be complex; ``n`` points along ``axis`` are used (cropped or zero-padded;
    default: its length). Gradient: the adjoint transform (``fft`` with the swapped
    normalisation), cropped or zero-padded back. Forward mode: linear. Deviations: none.
    """
    return _transform_1d(xp, "ifft", x, n, axis, norm)


def _rfft_vjp(xp, g, x, *, n, axis, norm):
    # ``x``: what the forward chose to save (``_r2c_saved``), read for its shape only. The half
    # spectrum is zero-padded to n by ifft's own ``n``.
    return _adjoint_1d(xp, g, "rfft", tuple(x.shape), n, axis, norm)


@op(grads={"x": _rfft_vjp}, jvp=LINEAR, aux=("x",))
def rfft(xp, x, /, *, n=None, axis=-1, norm="backward"):
    """Computes the one-dimensional discrete Fourier transform for real-valued input.

    ``x`` must be real; ``n`` points along ``axis`` are used (cropped or zero-padded; default:
    its length); the result holds the ``n//2 + 1`` non-negative frequency terms. Gradient: the
    half spectrum zero-padded to ``n``, transformed back (the real part; torch's
    ``fft_r2c_backward``). Forward mode: linear. Deviations: none.
    """
    return _transform_1d(xp, "rfft", x, n, axis, norm)


def _ihfft_vjp(xp, g, x, *, n, axis, norm):
    return _adjoint_1d(xp, g, "ihfft", tuple(x.shape), n, axis, norm)


@op(grads={"x": _ihfft_vjp}, jvp=LINEAR, aux=("x",))
def ihfft(xp, x, /, *, n=None, axis=-1, norm="backward"):
    """Computes the one-dimensional inverse discrete Fourier transform of a signal with
    Hermitian symmetry.

    ``x`` must be real; ``n`` points along ``axis`` are used; the result holds ``n//2 + 1``
    terms. Gradient: as ``rfft``'s, with ``fft``. Forward mode: linear. Deviations: none.
    """
    return _transform_1d(xp, "ihfft", x, n, axis, norm)


def _irfft_vjp(xp, g, *, x_shape, n, axis, norm):
    return _adjoint_1d(xp, g, "irfft", x_shape, n, axis, norm)


@op(grads={"x": _irfft_vjp}, jvp=LINEAR)
def irfft(xp, x, /, *, n=None, axis=-1, norm="backward"):
    """Computes the one-dimensional inverse of ``rfft`` for complex-valued input.

    The output has length ``n`` along ``axis`` (default ``2*(m - 1)``); ``n//2 + 1`` input
    terms are used. Gradient: the ``rfft`` of ``g`` with the bins that stand for two conjugate
    bins doubled (torch's ``fft_c2r_backward``): the imaginary parts of the zero (and, for even
    ``n``, the Nyquist) term do not enter the result and get a zero gradient. Forward mode:
    linear (real-linear: the ``irfft`` of the tangent). Deviations: none.
    """
    return _transform_1d(xp, "irfft", x, n, axis, norm)


def _hfft_vjp(xp, g, *, x_shape, n, axis, norm):
    return _adjoint_1d(xp, g, "hfft", x_shape, n, axis, norm)


@op(grads={"x": _hfft_vjp}, jvp=LINEAR)
def hfft(xp, x, /, *, n=None, axis=-1, norm="backward"):
    """Computes the one-dimensional discrete Fourier transform of a signal with Hermitian
    symmetry.

    ``x`` is the first half of a Hermitian signal; the real output has length ``n`` along
    ``axis`` (default ``2*(m - 1)``). Gradient: as ``irfft``'s, with ``ihfft``. Forward mode:
    linear (real-linear). Deviations: none.
    """
    return _transform_1d(xp, "hfft", x, n, axis, norm)


# --------------------------------------------------------------------------------------------
# n-dimensional transforms.


def _transform_nd(xp, fname, x, s, axes, norm):
    _check_norm(fname, norm)
    _check_input(xp, fname, x, _KINDS_ND[fname] == "r2c")
    axes, s = _nd_params(fname, tuple(x.shape), s, axes)
    res = getattr(xp.fft, fname)(x, s=s, axes=axes, norm=norm)
    if _KINDS_ND[fname] != "r2c":
        return res
    return _r2c_saved(res, x, any(n > x.shape[a] for n, a in zip(s, axes)))


def _adjoint_nd(xp, g, fname, shape, s, axes, norm):
    """The VJP of n-d transform ``fname``, as :func:`_adjoint_1d`."""
    axes, s = _nd_params(fname, shape, s, axes)
    if not axes:  # c2c over no axis: the identity
        return g
    h = getattr(xp.fft, _ADJOINTS[fname])(g, s=s, axes=axes, norm=_SWAP[norm])
    if _KINDS_ND[fname] == "c2r":
        h = _c2r_weighted(xp, h, s[-1], axes[-1])
    return _fit_axes(xp, h, axes, shape)


def _fftn_vjp(xp, g, *, x_shape, s, axes, norm):
    return _adjoint_nd(xp, g, "fftn", x_shape, s, axes, norm)


@op(grads={"x": _fftn_vjp}, jvp=LINEAR)
def fftn(xp, x, /, *, s=None, axes=None, norm="backward"):
    """Computes the n-dimensional discrete Fourier transform.

    ``s[i]`` points are used along ``axes[i]`` (cropped or zero-padded; ``-1``: the whole
    axis); ``axes`` default to all (or the last ``len(s)``). Gradient: ``ifftn`` with the
    swapped normalisation, cropped or zero-padded back. Forward mode: linear. Deviations: none.
    """
    return _transform_nd(xp, "fftn", x, s, axes, norm)


def _ifftn_vjp(xp, g, *, x_shape, s, axes, norm):
    return _adjoint_nd(xp, g, "ifftn", x_shape, s, axes, norm)


@op(grads={"x": _ifftn_vjp}, jvp=LINEAR)
def ifftn(xp, x, /, *, s=None, axes=None, norm="backward"):
    """Computes the n-dimensional inverse discrete Fourier transform.

    ``s`` and ``axes`` as for ``fftn``. Gradient: ``fftn`` with the swapped normalisation,
    cropped or zero-padded back. Forward mode: linear. Deviations: none.
    """
    return _transform_nd(xp, "ifftn", x, s, axes, norm)


def _rfftn_vjp(xp, g, x, *, s, axes, norm):
    # ``x``: what the forward chose to save (``_r2c_saved``), read for its shape only.
    return _adjoint_nd(xp, g, "rfftn", tuple(x.shape), s, axes, norm)


@op(grads={"x": _rfftn_vjp}, jvp=LINEAR, aux=("x",))
def rfftn(xp, x, /, *, s=None, axes=None, norm="backward"):
    """Computes the n-dimensional discrete Fourier transform for real-valued input.

    ``x`` must be real; ``s`` and ``axes`` as for ``fftn``; the real transform is over the last
    of ``axes`` (``s[-1]//2 + 1`` terms there). Gradient: the half spectrum zero-padded and
    transformed back (the real part; torch's ``fft_r2c_backward``). Forward mode: linear.
    Deviations: none.
    """
    return _transform_nd(xp, "rfftn", x, s, axes, norm)


def _irfftn_vjp(xp, g, *, x_shape, s, axes, norm):
    return _adjoint_nd(xp, g, "irfftn", x_shape, s, axes, norm)


@op(grads={"x": _irfftn_vjp}, jvp=LINEAR)
def irfftn(xp, x, /, *, s=None, axes=None, norm="backward"):
    """Computes the n-dimensional inverse of ``rfftn`` for complex-valued input.

    ``s`` is the output's lengths along ``axes`` (default: the input's, ``2*(m - 1)`` along the
    last axis). Gradient: ``rfftn`` of ``g`` with the conjugate-pair bins doubled (torch's
    ``fft_c2r_backward``). Forward mode: linear (real-linear). Deviations: none.
    """
    return _transform_nd(xp, "irfftn", x, s, axes, norm)


# --------------------------------------------------------------------------------------------
# Shifts: permutations (rolls, copies), whose adjoint is the inverse shift.


def _fftshift_vjp(xp, g, *, axes):
    return xp.fft.ifftshift(g, axes=axes)


@op(grads={"x": _fftshift_vjp}, jvp=LINEAR)
def fftshift(xp, x, /, *, axes=None):
    """Shifts the zero-frequency component to the center of the spectrum.

    ``axes``: an axis or axes to shift (default: all). Gradient: the inverse shift,
    ``ifftshift``. Forward mode: linear. Deviations: none.
    """
    return xp.fft.fftshift(x, axes=_shift_axes("fftshift", axes, x.ndim))


def _ifftshift_vjp(xp, g, *, axes):
    return xp.fft.fftshift(g, axes=axes)


@op(grads={"x": _ifftshift_vjp}, jvp=LINEAR)
def ifftshift(xp, x, /, *, axes=None):
    """Inverse of ``fftshift``.

    ``axes``: an axis or axes to shift (default: all). Gradient: ``fftshift``. Forward mode:
    linear. Deviations: none.
    """
    return xp.fft.ifftshift(x, axes=_shift_axes("ifftshift", axes, x.ndim))


# --------------------------------------------------------------------------------------------
# Frequencies: creation functions (they take ``requires_grad`` and make a leaf), so not
# entries: hand-written methods of the namespace below.


def _freq(self, fname, n, d, dtype, device, requires_grad):
    ns = self._ns
    n = _as_int(fname, "n", n)
    if n < 1:
        raise ValueError(f"fft.{fname}(): argument 'n' must be a positive integer, got {n}")
    if isinstance(d, bool) or not isinstance(d, (int, float)):
        raise TypeError(f"fft.{fname}(): argument 'd' must be a Python float, got {type(d).__name__}")
    if dtype is not None and not (dtype in ns._diff_dtypes and not ns._is_complex_dtype(dtype)):
        raise ValueError(f"fft.{fname}(): argument 'dtype' must be a real floating-point dtype, got {dtype}")
    kwargs = {"d": d}
    if dtype is not None:
        kwargs["dtype"] = dtype
    if device is not None:
        kwargs["device"] = device
    data = getattr(ns._xp.fft, fname)(n, **kwargs)
    return _leaf(ns, data, requires_grad, f"fft.{fname}")


class FFTNamespace(types.ModuleType):
    """The array API ``fft`` extension over one backend: every transform is differentiable.

    The transforms are installed on the class from this module's entries; the frequency
    functions are written here.
    """

    def __init__(self, ns):
        super().__init__(f"{ns.__name__}.fft")
        self._ns = self._root = ns  # _root: the namespace the generated methods record in
        self.__all__ = list(FUNCTIONS)
        self.__doc__ = (
            f"The array API standard fft extension over {ns._xp.__name__}, differentiable (xpgrad)."
        )

    def __repr__(self):
        return f"<array API namespace {self.__name__!r} (xpgrad fft extension)>"

    def __reduce__(self):
        return (getattr, (self._ns, "fft"))

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(FUNCTIONS))

    def fftfreq(self, n, /, *, d=1.0, dtype=None, device=None, requires_grad=False):
        """Computes the discrete Fourier transform sample frequencies.

        For a transform of length ``n`` and sample spacing ``d``, the result is
        ``[0, 1, ..., n/2-1, -n/2, ..., -1] / (d*n)`` for even ``n`` and
        ``[0, 1, ..., (n-1)/2, -(n-1)/2, ..., -1] / (d*n)`` for odd ``n``.

        n: window length. d: sample spacing (the inverse of the sampling rate). Default: 1.0.
        dtype: output data type; must be a real-valued floating-point data type (default: the
            default real-valued floating-point data type). device: device of the output.
        requires_grad: whether the returned leaf Tensor requires grad (xpgrad).

        Returns a one-dimensional array of length ``n``.
        """
        return _freq(self, "fftfreq", n, d, dtype, device, requires_grad)

    def rfftfreq(self, n, /, *, d=1.0, dtype=None, device=None, requires_grad=False):
        """Computes the discrete Fourier transform sample frequencies for ``rfft`` and
        ``irfft``.

        For a transform of length ``n`` and sample spacing ``d``, the result is
        ``[0, 1, ..., n/2-1, n/2] / (d*n)`` for even ``n`` and
        ``[0, 1, ..., (n-1)/2] / (d*n)`` for odd ``n``.

        n: window length. d: sample spacing. Default: 1.0.
        dtype: output data type; must be a real-valued floating-point data type (default: the
            default real-valued floating-point data type). device: device of the output.
        requires_grad: whether the returned leaf Tensor requires grad (xpgrad).

        Returns a one-dimensional array of length ``n//2 + 1``.
        """
        return _freq(self, "rfftfreq", n, d, dtype, device, requires_grad)


install(FFTNamespace, sys.modules[__name__], prefix="fft.")
