"""Samples for the data type functions (``_data_type_functions.py``).

``astype`` is differentiable: the gradient comes back in the input's dtype (float32 <-> float64,
real -> complex keeps the real part of the gradient, complex -> real sends a real gradient back).
The inspection functions are checked forward only.
"""

from __future__ import annotations

import numpy as np

from .._opinfo import COMPLEX, FLOAT, OpInfo, Sample
from ._common import dtype_name, make


def _astype(xp, x, to, **kwargs):
    return xp.astype(x, getattr(xp, to), **kwargs)


def _astype_samples(rng, dtype):
    x = make(rng, (2, 3), dtype)
    yield Sample((x, "float32"), name="to_float32")
    yield Sample((x, "float64"), name="to_float64")
    yield Sample((x, "complex128"), name="to_complex128")
    yield Sample((x, "complex64"), name="to_complex64")
    yield Sample((make(rng, (), dtype), "float64"), {"copy": False}, name="0d,copy=False")
    yield Sample((make(rng, (0, 2), dtype), "float32"), name="empty")


def _astype_complex_samples(rng, dtype):
    z = make(rng, (2, 3), dtype)
    yield Sample((z, "complex64"), name="to_complex64")
    yield Sample((z, "complex128"), name="to_complex128")
    yield Sample((z, "float64"), name="to_float64")


def _astype_complex_torch(txp, x, to, **kwargs):
    # torch warns when a complex tensor is cast to a real dtype; its real part is the same
    # value with the same gradient (the real part of the cotangent, as a complex number).
    if x.is_complex() and not to.startswith("complex"):
        x = txp.real(x)
    return txp.astype(x, getattr(txp, to), **kwargs)


# Backend differences in the finite-difference checks (tests/test_ops_fd.py); their torch
# conformance counterparts are entries of conformance/known/<backend>.py.
_FD_CHECKS = ("gradcheck", "gradgradcheck")
_FD_COMPLEX_TO_REAL = {
    **{
        f"{c}:*:numpy": "NumPy warns (ComplexWarning) when astype casts complex to real, an error under "
        "-W error; the standard leaves complex-to-real casts unspecified"
        for c in _FD_CHECKS
    },
    **{
        f"{c}:*:array_api_strict": "array_api_strict refuses complex-to-real astype (TypeError)"
        for c in _FD_CHECKS
    },
}


def _astype_complex_samples_all(rng, dtype):
    for s in _astype_complex_samples(rng, dtype):
        if s.name == "to_float64":
            s.xfail = dict(_FD_COMPLEX_TO_REAL)
        yield s


# -- inspection (forward only) -----------------------------------------------------------------


def _can_cast(xp, a, b):
    return xp.can_cast(getattr(xp, a), getattr(xp, b))


def _can_cast_samples(rng, dtype):
    for a, b in [
        ("float32", "float64"),
        ("float64", "float32"),
        ("int32", "float64"),
        ("float64", "complex128"),
    ]:
        # torch's casting rules differ from the standard's (conformance/known/<backend>.py).
        yield Sample((a, b), name=f"{a}->{b}")


def _can_cast_array(xp, x, b):
    return xp.can_cast(x, getattr(xp, b))


def _finfo(xp, name):
    f = xp.finfo(getattr(xp, name))
    return [float(f.eps), float(f.max), float(f.min), float(f.smallest_normal), int(f.bits)]


def _finfo_samples(rng, dtype):
    for name in ("float32", "float64", "complex64", "complex128"):
        yield Sample((name,), name=name)


def _finfo_array(xp, x):
    f = xp.finfo(x)
    return [float(f.eps), int(f.bits)]


def _iinfo(xp, name):
    i = xp.iinfo(getattr(xp, name))
    return [int(i.max), int(i.min), int(i.bits)]


def _iinfo_samples(rng, dtype):
    for name in ("int8", "int32", "int64", "uint8"):
        yield Sample((name,), name=name)


def _isdtype(xp, name, kind):
    return xp.isdtype(getattr(xp, name), kind)


def _isdtype_samples(rng, dtype):
    for name, kind in [
        ("float32", "real floating"),
        ("complex64", "real floating"),
        ("int16", "integral"),
        ("float64", ("integral", "numeric")),
        ("bool", "bool"),
    ]:
        yield Sample((name, kind), name=f"{name},{kind}".replace(" ", "_").replace("'", ""))


def _result_type(xp, *args):
    args = [getattr(xp, a) if isinstance(a, str) else a for a in args]
    return dtype_name(xp, xp.result_type(*args))


def _result_type_samples(rng, dtype):
    yield Sample(("float32", "float64"), name="dtypes")
    yield Sample((rng.standard_normal(3).astype(np.float32), "complex64"), name="array_and_dtype")
    yield Sample((rng.standard_normal(3), 1.5), name="array_and_scalar")


def _info(xp):
    info = xp.__array_namespace_info__()
    return [sorted(info.dtypes(kind="complex floating"))]


OPS = [
    OpInfo("astype", _astype_samples, fn=_astype, dtypes=FLOAT),
    OpInfo("astype", _astype_complex_samples_all, fn=_astype, torch_fn=_astype_complex_torch, dtypes=COMPLEX),
    OpInfo("can_cast", _can_cast_samples, fn=_can_cast, dtypes=("float64",), differentiable=False),
    OpInfo(
        "can_cast",
        lambda rng, dtype: iter([Sample((rng.standard_normal(2), "float32"), name="array")]),
        fn=_can_cast_array,
        dtypes=("float64",),
        differentiable=False,
    ),
    OpInfo("finfo", _finfo_samples, fn=_finfo, dtypes=("float64",), differentiable=False),
    OpInfo(
        "finfo",
        lambda rng, dtype: iter([Sample((rng.standard_normal(2),), name="array")]),
        fn=_finfo_array,
        dtypes=("float64",),
        differentiable=False,
    ),
    OpInfo("iinfo", _iinfo_samples, fn=_iinfo, dtypes=("float64",), differentiable=False),
    OpInfo("isdtype", _isdtype_samples, fn=_isdtype, dtypes=("float64",), differentiable=False),
    OpInfo("result_type", _result_type_samples, fn=_result_type, dtypes=("float64",), differentiable=False),
    OpInfo(
        "__array_namespace_info__",
        lambda rng, dtype: iter([Sample((), name="complex_dtypes")]),
        fn=_info,
        dtypes=("float64",),
        differentiable=False,
    ),
]
