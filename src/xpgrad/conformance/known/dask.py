"""Dask (dask.array through array_api_compat, NumPy chunks) against torch.

The runner splits every sample into several chunks (three layouts: halves, uneven, one element
per chunk), so gradients cross chunk boundaries. What Dask lacks, xpgrad builds from dask.array's
own tools in the backend layer (src/xpgrad/_backends.py, docs/backends.md); what is left here are
real limits of lazy, chunked arrays. Regenerate after a Dask upgrade: run
``python -m conformance --backend=dask -q`` and list what fails for a reason of Dask's own.
"""

from xpgrad.testing import KnownDifference as K

_MASK_TANGENT = (
    "a boolean-mask index gives a Dask result of unknown (nan) size: forward mode broadcasts the "
    "tangent to that shape, which Dask cannot do (nor rechunk) without computing the mask"
)
_CAST = "torch: can_cast(float64, float32) is True (torch's casting rules); the standard and Dask say False"
_LAZY = (
    "Dask computes lazily: NumPy's warning (ComplexWarning for a complex-to-real astype, a floating-point "
    "warning at a domain edge) is raised at compute time, outside xpgrad's errstate (an error under "
    "-W error; torch is silent)"
)
_DLPACK = "a Dask array has no __dlpack__ (it is a lazy graph, not a buffer): from_dlpack of one cannot be zero-copy"

KNOWN = [
    K("__getitem__", "bool_mask", "*", "jvp", _MASK_TANGENT),
    K("__getitem__", "bool_mask", "*", "fwd_rev", _MASK_TANGENT),
    K("__getitem__", "bool_mask,Ellipsis", "*", "jvp", _MASK_TANGENT),
    K("__getitem__", "bool_mask,Ellipsis", "*", "fwd_rev", _MASK_TANGENT),
    K("__getitem__", "bool_mask_empty", "*", "jvp", _MASK_TANGENT),
    K("__getitem__", "bool_mask_empty", "*", "fwd_rev", _MASK_TANGENT),
    K("astype", "to_float64", "complex*", "*", _LAZY),
    K("can_cast", "array", "*", "*", _CAST),
    K("can_cast", "float64->float32", "*", "*", _CAST),
    K("from_dlpack", "*", "*", "*", _DLPACK),
    K("sign", "at_zero", "complex*", "forward", _LAZY),
    K("sign", "at_zero", "complex*", "jvp", _LAZY),
    K("sqrt", "at_zero", "*", "first", _LAZY),
    K("sqrt", "at_zero", "*", "second", _LAZY),
    K("sqrt", "at_zero", "*", "jvp", _LAZY),
    K("sqrt", "at_zero", "*", "fwd_rev", _LAZY),
]  # fmt: skip


# Tests of the pytest suite that differ on Dask (strict xfails; see conformance/known/__init__.py).
TESTS = {
    "test_edge_cases.py::test_matches_torch_exactly[sqrt_at_zero]": _LAZY,
    "test_edge_cases.py::test_matches_torch_exactly[log_at_zero]": _LAZY,
    "test_edge_cases.py::test_matches_torch_exactly[pow_zero_base_array_exponents]": _LAZY,
    "test_edge_cases.py::test_matches_torch_exactly[pow_zero_base_negative_exponent]": _LAZY,
    "test_edge_cases.py::test_matches_torch_exactly[pow_zero_base_scalar_0.5]": _LAZY,
    "test_edge_cases.py::test_matches_torch_exactly[pow_zero_base_scalar_-1]": _LAZY,
    "test_edge_cases.py::test_matches_torch_exactly[hypot_at_origin]": _LAZY,
    "test_edge_cases.py::test_matches_torch_exactly[var_correction_N]": _LAZY,
    "test_edge_cases.py::test_matches_torch_exactly[std_correction_N]": _LAZY,
    "test_edge_cases.py::test_matches_torch_exactly[var_axis_correction_N]": _LAZY,
    "test_edge_cases.py::test_matches_torch_exactly[*_correction_above_N]": (
        "Dask's var/std return nan when correction exceeds the number of elements; torch and NumPy "
        "divide by max(N - correction, 0) and give inf"
    ),
    "test_edge_cases.py::test_deviation_nan_free_at_kinks[sign_complex_zero]": _LAZY,
}
