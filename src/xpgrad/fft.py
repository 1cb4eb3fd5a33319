"""The ``fft`` extension of the array API standard (2025.12), differentiable.

Each transform runs on the backend's own ``fft`` module and records a VJP written with
``xp.fft`` calls, so one formula gives every order (``xp`` is the backend namespace in a plain
backward and the xpgrad namespace under ``create_graph=True``).

Gradients follow torch's conjugate Wirtinger convention. Every transform is a linear map ``A``
(real-linear for the ``c2r`` ones); its VJP is the adjoint ``A^H g``:

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
import types

from ._creation_functions import _leaf
from ._math import device_of
from ._ops import record
from ._tensor import Tensor

__all__ = ["FFTNamespace", "FUNCTIONS"]

# The functions of the extension (the namespace's own ``__all__``).
FUNCTIONS = (
    "fft",
    "fftfreq",
    "fftn",
    "fftshift",
    "hfft",
    "ifft",
    "ifftn",
    "ifftshift",
    "ihfft",
    "irfft",
    "irfftn",
    "rfft",
    "rfftfreq",
    "rfftn",
)

_NORMS = ("backward", "ortho", "forward")
# The normalisation whose scale equals that of the adjoint of a transform with ``norm``.
_SWAP = {"backward": "forward", "ortho": "ortho", "forward": "backward"}


# --------------------------------------------------------------------------------------------
# Argument checks.


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


def _check_real(ns, fname, x):
    if ns._is_complex_dtype(x._data.dtype):
        raise TypeError(
            f"fft.{fname}(): argument 'x' must have a real-valued floating-point dtype, got "
            f"{x._data.dtype} (use fft.fft for complex input)"
        )


def _nd_params(fname, shape, s, axes, c2r=False):
    """Resolved ``(axes, s)``: non-negative unique axes and one positive length per axis."""
    ndim = len(shape)
    if s is not None:
        if isinstance(s, int) or not hasattr(s, "__len__"):
            raise TypeError(
                f"fft.{fname}(): argument 's' must be a sequence of integers, got {type(s).__name__}"
            )
        s = [_as_int(fname, "s", v) for v in s]
    if axes is None:
        if s is None:
            axes = tuple(range(ndim))
        else:
            if len(s) > ndim:
                raise ValueError(
                    f"fft.{fname}(): argument 's' has {len(s)} entries, more than the {ndim} "
                    "dimensions of the input"
                )
            axes = tuple(range(ndim - len(s), ndim))
    else:
        if isinstance(axes, int) or not hasattr(axes, "__len__"):
            raise TypeError(
                f"fft.{fname}(): argument 'axes' must be a sequence of integers, got {type(axes).__name__}"
            )
        axes = tuple(_check_axis(fname, "axes", a, ndim) for a in axes)
        if len(set(axes)) != len(axes):
            raise ValueError(f"fft.{fname}(): argument 'axes' must not repeat an axis, got {axes}")
    if c2r and not axes:
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
    out = []
    for v, dflt in zip(s, defaults, strict=True):
        out.append(_check_n(fname, None if v == -1 else v, dflt, "s"))
    return axes, tuple(out)


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


def _c2r_weights(ns, n, ndim, axis, dtype, device):
    """Weights of the half-spectrum bins of a length-``n`` c2r transform, shaped to broadcast
    along ``axis``: 1 for the zero bin and (even ``n``) the Nyquist bin, 2 for the others,
    which stand for a bin and its conjugate."""
    half = n // 2 + 1
    w = [2.0] * half
    w[0] = 1.0
    if n % 2 == 0:
        w[-1] = 1.0
    xp = ns._xp
    arr = xp.asarray(w, dtype=dtype, device=device)
    return ns._ensure(xp.reshape(arr, (half,) + (1,) * (ndim - 1 - axis)))


# --------------------------------------------------------------------------------------------
# VJPs.


def _fft_vjp(xp, g, *, n, axis, m, norm):
    return _fit(xp, xp.fft.ifft(g, n=n, axis=axis, norm=_SWAP[norm]), axis, m)


def _ifft_vjp(xp, g, *, n, axis, m, norm):
    return _fit(xp, xp.fft.fft(g, n=n, axis=axis, norm=_SWAP[norm]), axis, m)


def _rfft_vjp(xp, g, x=None, *, n, axis, m, norm):
    # Zero-pad the half spectrum to n (ifft's own n does it), then the adjoint c2c transform.
    return _fit(xp, xp.fft.ifft(g, n=n, axis=axis, norm=_SWAP[norm]), axis, m)


def _ihfft_vjp(xp, g, x=None, *, n, axis, m, norm):
    return _fit(xp, xp.fft.fft(g, n=n, axis=axis, norm=_SWAP[norm]), axis, m)


def _irfft_vjp(xp, g, *, n, axis, m, norm, w):
    return _fit(xp, xp.fft.rfft(g, n=n, axis=axis, norm=_SWAP[norm]) * w, axis, m)


def _hfft_vjp(xp, g, *, n, axis, m, norm, w):
    return _fit(xp, xp.fft.ihfft(g, n=n, axis=axis, norm=_SWAP[norm]) * w, axis, m)


def _fftn_vjp(xp, g, *, s, axes, shape, norm):
    if not axes:
        return g
    return _fit_axes(xp, xp.fft.ifftn(g, s=s, axes=axes, norm=_SWAP[norm]), axes, shape)


def _ifftn_vjp(xp, g, *, s, axes, shape, norm):
    if not axes:
        return g
    return _fit_axes(xp, xp.fft.fftn(g, s=s, axes=axes, norm=_SWAP[norm]), axes, shape)


def _rfftn_vjp(xp, g, x=None, *, s, axes, shape, norm):
    return _fit_axes(xp, xp.fft.ifftn(g, s=s, axes=axes, norm=_SWAP[norm]), axes, shape)


def _irfftn_vjp(xp, g, *, s, axes, shape, norm, w):
    return _fit_axes(xp, xp.fft.rfftn(g, s=s, axes=axes, norm=_SWAP[norm]) * w, axes, shape)


def _fftshift_vjp(xp, g, *, axes):
    return xp.fft.ifftshift(g, axes=axes)


def _ifftshift_vjp(xp, g, *, axes):
    return xp.fft.fftshift(g, axes=axes)


_VJPS_1D = {
    "fft": (_fft_vjp, "c2c"),
    "ifft": (_ifft_vjp, "c2c"),
    "rfft": (_rfft_vjp, "r2c"),
    "ihfft": (_ihfft_vjp, "r2c"),
    "irfft": (_irfft_vjp, "c2r"),
    "hfft": (_hfft_vjp, "c2r"),
}

_VJPS_ND = {
    "fftn": (_fftn_vjp, "c2c"),
    "ifftn": (_ifftn_vjp, "c2c"),
    "rfftn": (_rfftn_vjp, "r2c"),
    "irfftn": (_irfftn_vjp, "c2r"),
}


# --------------------------------------------------------------------------------------------
# Shared drivers.


def _r2c_saved(ns, x, unpadded):
    """What an r2c transform keeps, as torch's ``_fft_r2c`` does: its input (used for its shape
    only), which in torch is a new array when it had to be zero-padded first. Then an in-place
    change of ``x`` must not raise: a Tensor of its own (sharing ``x``'s memory, which is
    never read) stands in for the padded copy."""
    return x if unpadded else Tensor._wrap_plain(ns, x._data)


def _transform_1d(self, fname, x, n, axis, norm):
    ns = self._ns
    x = ns._tensor(x, f"fft.{fname}")
    _check_norm(fname, norm)
    vjp, kind = _VJPS_1D[fname]
    if kind == "r2c":
        _check_real(ns, fname, x)
    d = x._data
    ndim = d.ndim
    if ndim == 0:
        raise ValueError(f"fft.{fname}(): argument 'x' must have at least one dimension, got a 0-d array")
    ax = _check_axis(fname, "axis", axis, ndim)
    m = d.shape[ax]
    n = _check_n(fname, n, 2 * (m - 1) if kind == "c2r" else m)
    data = ns._ensure(getattr(ns._xp.fft, fname)(d, n=n, axis=ax, norm=norm))
    kw = {"n": n, "axis": ax, "m": m, "norm": norm}
    # The c2r bin weights are a raw constant array; they travel in ``kw`` (record's
    # ``OUT in saved`` test compares saved values with ``==``, which an array cannot answer).
    if kind == "c2r":
        kw["w"] = (
            _c2r_weights(ns, n, ndim, ax, data.dtype, ns._backend.device(data)) if x._requires_grad else None
        )
    saved = (_r2c_saved(ns, x, n <= m),) if kind == "r2c" else ()
    return record(ns, f"fft_{fname}", vjp, (x,), data, saved=saved, kw=kw)


def _transform_nd(self, fname, x, s, axes, norm):
    ns = self._ns
    x = ns._tensor(x, f"fft.{fname}")
    _check_norm(fname, norm)
    vjp, kind = _VJPS_ND[fname]
    if kind == "r2c":
        _check_real(ns, fname, x)
    d = x._data
    shape = tuple(d.shape)
    axes, s = _nd_params(fname, shape, s, axes, c2r=kind == "c2r")
    if kind == "r2c" and not axes:
        raise ValueError(f"fft.{fname}(): at least one axis must be transformed")
    data = ns._ensure(getattr(ns._xp.fft, fname)(d, s=s, axes=axes, norm=norm))
    kw = {"s": s, "axes": axes, "shape": shape, "norm": norm}
    if kind == "c2r":
        w = (
            _c2r_weights(ns, s[-1], d.ndim, axes[-1], data.dtype, ns._backend.device(data))
            if x._requires_grad
            else None
        )
        kw["w"] = w
    unpadded = all(n <= shape[a] for n, a in zip(s, axes))
    saved = (_r2c_saved(ns, x, unpadded),) if kind == "r2c" else ()
    return record(ns, f"fft_{fname}", vjp, (x,), data, saved=saved, kw=kw)


def _shift(self, fname, x, axes):
    ns = self._ns
    x = ns._tensor(x, f"fft.{fname}")
    d = x._data
    if axes is None:
        axes = tuple(range(d.ndim))
    elif isinstance(axes, int) or not hasattr(axes, "__len__"):
        axes = (_check_axis(fname, "axes", axes, d.ndim),)
    else:
        axes = tuple(_check_axis(fname, "axes", a, d.ndim) for a in axes)
    data = getattr(ns._xp.fft, fname)(d, axes=axes)
    vjp = _fftshift_vjp if fname == "fftshift" else _ifftshift_vjp
    return record(ns, f"fft_{fname}", vjp, (x,), data, kw={"axes": axes})


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


# --------------------------------------------------------------------------------------------
# The namespace.

_NORM_DOC = """norm: normalization mode. ``"backward"``: no normalization of the forward
            transform (the inverse is scaled by ``1/n``); ``"ortho"``: both directions scaled
            by ``1/sqrt(n)``; ``"forward"``: the forward transform scaled by ``1/n``.
            Default: ``"backward"``."""


class FFTNamespace(types.ModuleType):
    """The array API ``fft`` extension over one backend: every transform is differentiable."""

    def __init__(self, ns):
        super().__init__(f"{ns.__name__}.fft")
        self._ns = ns
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

    # -- one-dimensional transforms ---------------------------------------------------------

    def fft(self, x, /, *, n=None, axis=-1, norm="backward"):
        """Computes the one-dimensional discrete Fourier transform.

        x: input array; should have a complex floating-point data type.
        n: number of elements over which to compute the transform along ``axis``. If ``n`` is
            greater than the length ``M`` of the input along ``axis``, the input is zero-padded
            to ``n``; if less, it is trimmed to ``n``; if ``None``, ``n = M``.
        axis: axis over which to compute the transform. Default: ``-1``.
        {norm}

        Returns an array of the input's (complex) data type, of length ``n`` along ``axis``.
        """
        return _transform_1d(self, "fft", x, n, axis, norm)

    def ifft(self, x, /, *, n=None, axis=-1, norm="backward"):
        """Computes the one-dimensional inverse discrete Fourier transform.

        x: input array; should have a complex floating-point data type.
        n: number of elements over which to compute the transform along ``axis`` (zero-padded
            or trimmed as for :func:`fft`); if ``None``, the length of the input along ``axis``.
        axis: axis over which to compute the inverse transform. Default: ``-1``.
        {norm}

        Returns an array of the input's (complex) data type, of length ``n`` along ``axis``.
        """
        return _transform_1d(self, "ifft", x, n, axis, norm)

    def rfft(self, x, /, *, n=None, axis=-1, norm="backward"):
        """Computes the one-dimensional discrete Fourier transform for real-valued input.

        x: input array; must have a real-valued floating-point data type.
        n: number of elements of the input used along ``axis`` (zero-padded or trimmed);
            if ``None``, the length ``M`` of the input along ``axis``.
        axis: axis over which to compute the transform. Default: ``-1``.
        {norm}

        Returns the non-negative frequency terms (``n//2 + 1`` of them along ``axis``), with
        the complex floating-point data type of the input's precision.
        """
        return _transform_1d(self, "rfft", x, n, axis, norm)

    def irfft(self, x, /, *, n=None, axis=-1, norm="backward"):
        """Computes the one-dimensional inverse of :func:`rfft` for complex-valued input.

        x: input array (the non-negative frequency terms); should have a complex data type.
        n: length of the transformed axis of the output; ``n//2 + 1`` elements of the input are
            used (zero-padded or trimmed). If ``None``, ``n = 2*(M - 1)`` where ``M`` is the
            length of the input along ``axis``.
        axis: axis over which to compute the inverse transform. Default: ``-1``.
        {norm}

        Returns a real-valued array of the input's precision, of length ``n`` along ``axis``.
        The imaginary parts of the zero-frequency term (and, for even ``n``, of the Nyquist
        term) do not enter the result, so their gradient is zero.
        """
        return _transform_1d(self, "irfft", x, n, axis, norm)

    def hfft(self, x, /, *, n=None, axis=-1, norm="backward"):
        """Computes the one-dimensional discrete Fourier transform of a signal with Hermitian
        symmetry.

        x: input array (the first half of a Hermitian signal); should have a complex data type.
        n: length of the transformed axis of the output; ``n//2 + 1`` elements of the input are
            used (zero-padded or trimmed). If ``None``, ``n = 2*(M - 1)`` where ``M`` is the
            length of the input along ``axis``.
        axis: axis over which to compute the transform. Default: ``-1``.
        {norm}

        Returns a real-valued array of the input's precision, of length ``n`` along ``axis``.
        """
        return _transform_1d(self, "hfft", x, n, axis, norm)

    def ihfft(self, x, /, *, n=None, axis=-1, norm="backward"):
        """Computes the one-dimensional inverse discrete Fourier transform of a signal with
        Hermitian symmetry.

        x: input array; must have a real-valued floating-point data type.
        n: number of elements of the input used along ``axis`` (zero-padded or trimmed);
            if ``None``, the length ``M`` of the input along ``axis``.
        axis: axis over which to compute the inverse transform. Default: ``-1``.
        {norm}

        Returns ``n//2 + 1`` terms along ``axis``, with the complex floating-point data type of
        the input's precision.
        """
        return _transform_1d(self, "ihfft", x, n, axis, norm)

    # -- n-dimensional transforms ------------------------------------------------------------

    def fftn(self, x, /, *, s=None, axes=None, norm="backward"):
        """Computes the n-dimensional discrete Fourier transform.

        x: input array; should have a complex floating-point data type.
        s: number of elements over which to compute the transform along each axis of ``axes``:
            axis ``axes[i]`` is zero-padded or trimmed to ``s[i]``; ``s[i] == -1`` uses the
            whole axis. If ``None``, the input's lengths along ``axes``.
        axes: axes over which to compute the transform (unique). If ``None``, all axes (or,
            when ``s`` is given, the last ``len(s)`` axes).
        {norm}

        Returns an array of the input's (complex) data type.
        """
        return _transform_nd(self, "fftn", x, s, axes, norm)

    def ifftn(self, x, /, *, s=None, axes=None, norm="backward"):
        """Computes the n-dimensional inverse discrete Fourier transform.

        x: input array; should have a complex floating-point data type.
        s: number of elements over which to compute the transform along each axis of ``axes``
            (zero-padded or trimmed; ``-1`` uses the whole axis). If ``None``, the input's
            lengths along ``axes``.
        axes: axes over which to compute the inverse transform (unique). If ``None``, all axes
            (or, when ``s`` is given, the last ``len(s)`` axes).
        {norm}

        Returns an array of the input's (complex) data type.
        """
        return _transform_nd(self, "ifftn", x, s, axes, norm)

    def rfftn(self, x, /, *, s=None, axes=None, norm="backward"):
        """Computes the n-dimensional discrete Fourier transform for real-valued input.

        x: input array; must have a real-valued floating-point data type.
        s: number of elements of the input used along each axis of ``axes`` (zero-padded or
            trimmed; ``-1`` uses the whole axis). If ``None``, the input's lengths along
            ``axes``.
        axes: axes over which to compute the transform (unique); the real transform is over the
            last of them. If ``None``, all axes (or, when ``s`` is given, the last ``len(s)``).
        {norm}

        Returns a complex array of the input's precision, with ``s[-1]//2 + 1`` elements along
        the last transformed axis and ``s[i]`` along the others.
        """
        return _transform_nd(self, "rfftn", x, s, axes, norm)

    def irfftn(self, x, /, *, s=None, axes=None, norm="backward"):
        """Computes the n-dimensional inverse of :func:`rfftn` for complex-valued input.

        x: input array; should have a complex floating-point data type.
        s: lengths of the output along ``axes``; ``s[i]`` elements of the input are used along
            each axis except the last transformed one, where ``s[-1]//2 + 1`` are used
            (zero-padded or trimmed). If ``None`` (or for an entry ``-1``), the input's length
            along each axis, except ``2*(M - 1)`` along the last transformed axis.
        axes: axes over which to compute the inverse transform (unique). If ``None``, all axes
            (or, when ``s`` is given, the last ``len(s)`` axes).
        {norm}

        Returns a real-valued array of the input's precision, of length ``s[i]`` along
        ``axes[i]``.
        """
        return _transform_nd(self, "irfftn", x, s, axes, norm)

    # -- helpers ----------------------------------------------------------------------------

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
        """Computes the discrete Fourier transform sample frequencies for :func:`rfft` and
        :func:`irfft`.

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

    def fftshift(self, x, /, *, axes=None):
        """Shifts the zero-frequency component to the center of the spectrum.

        x: input array. axes: axis or axes over which to shift. If ``None``, all axes.

        Returns the shifted array (same shape and data type as ``x``). The gradient is the
        inverse shift, :func:`ifftshift`.
        """
        return _shift(self, "fftshift", x, axes)

    def ifftshift(self, x, /, *, axes=None):
        """Inverse of :func:`fftshift`.

        x: input array. axes: axis or axes over which to shift. If ``None``, all axes.

        Returns the shifted array (same shape and data type as ``x``). The gradient is
        :func:`fftshift`.
        """
        return _shift(self, "ifftshift", x, axes)


for _name in ("fft", "ifft", "rfft", "irfft", "hfft", "ihfft", "fftn", "ifftn", "rfftn", "irfftn"):
    _f = getattr(FFTNamespace, _name)
    _f.__doc__ = _f.__doc__.replace("{norm}", _NORM_DOC)
del _name, _f
