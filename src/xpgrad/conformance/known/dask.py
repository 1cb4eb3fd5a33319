"""Dask (dask.array through array_api_compat, NumPy chunks) against torch.

Most entries are functions Dask does not provide or supports only in part (batched linear
algebra, multi-dimensional integer indexing, ``repeat`` with an array); see docs/backends.md.
Regenerate after a Dask upgrade: run ``python -m conformance --backend=dask -q`` and list what fails
for a reason of Dask's own.
"""

from xpgrad.testing import KnownDifference as K

_R0 = "a boolean-mask index gives a Dask result of unknown (nan) size; the gradient's scatter into the input cannot be built lazily"
_R1 = "Dask builds the metadata of a complex integer-array gather (or a complex-to-real astype) with a NumPy complex-to-real cast, which warns (ComplexWarning, an error under -W error)"
_R2 = "Dask allows an integer-array index only with zero or one dimension"
_R3 = "Dask does not support multi-dimensional integer-array indexing (NotImplementedError), in the function or in its gradient's scatter"
_R4 = "torch: can_cast(float64, float32) is True (torch's casting rules); the standard and Dask say False"
_R5 = "Dask's eye(n, m, k) with m != n builds a broken graph ('Missing dependency' at compute); the gradient uses it"
_R6 = "array_api_compat.dask has no from_dlpack"
_R7 = "array_api_compat.dask's cholesky returns the upper factor (dask.array.linalg.cholesky defaults to lower=False) where the standard asks for the lower one"
_R8 = "Dask's tril/triu on complex arrays warn (ComplexWarning from a meta computation, an error under -W error)"
_R9 = "dask.array.linalg supports only unbatched 2-D matrices (solve, inv, cholesky)"
_R10 = "array_api_compat.dask's cholesky calls dask.array.issubdtype, which Dask no longer has"
_R11 = "array_api_compat.dask.array.linalg does not provide this function"
_R12 = "Dask's inv returns float64/complex128 for float32/complex64 input"
_R13 = "dask.array.linalg supports only unbatched 2-D matrices and the reduced SVD/QR"
_R14 = "array_api_compat.dask's svd has no compute_uv (matrix_rank uses it)"
_R15 = "Dask's QR needs a tall-and-skinny single-column-chunked input"
_R16 = "dask.array.repeat supports only an integer repeats with an explicit axis"
_R17 = "dask searchsorted supports no sorter argument and no Python scalar x2"
_R18 = "Dask computes lazily: NumPy's floating-point warning at a domain edge is raised at compute time, outside xpgrad's errstate (an error under -W error; torch is silent)"
_R19 = "array_api_compat.dask has no take_along_axis (sort's gradient uses it)"

KNOWN = [
    K('__getitem__', 'bool_mask', '*', 'first', _R0),
    K('__getitem__', 'bool_mask', '*', 'second', _R0),
    K('__getitem__', 'bool_mask,Ellipsis', '*', 'first', _R0),
    K('__getitem__', 'bool_mask,Ellipsis', '*', 'second', _R0),
    K('__getitem__', 'bool_mask_empty', '*', 'first', _R0),
    K('__getitem__', 'bool_mask_empty', '*', 'second', _R0),
    K('__getitem__', 'int_array,Ellipsis', 'complex*', '*', _R1),
    K('__getitem__', 'int_array_2d_repeated', '*', '*', _R2),
    K('__getitem__', 'int_array_repeated', 'complex*', '*', _R1),
    K('__getitem__', 'int_arrays_broadcast_repeated', '*', '*', _R3),
    K('__getitem__', 'negative_int_array,int', 'complex*', '*', _R1),
    K('__getitem__', 'slice,int_array', 'complex*', '*', _R1),
    K('__getitem__', 'two_int_arrays_repeated_pairs', '*', '*', _R3),
    K('astype', 'to_float64', 'complex*', '*', _R1),
    K('can_cast', 'array', '*', '*', _R4),
    K('can_cast', 'float64->float32', '*', '*', _R4),
    K('eye', 'wide,k=1', '*', '*', _R5),
    K('from_dlpack', '*', '*', '*', _R6),
    K('linalg.cholesky', '3x3', 'complex128', 'forward', _R7),
    K('linalg.cholesky', '3x3', 'complex64', 'forward', _R7),
    K('linalg.cholesky', '3x3', 'float32', 'first', _R7),
    K('linalg.cholesky', '3x3', 'float32', 'forward', _R7),
    K('linalg.cholesky', '3x3', 'float32', 'second', _R7),
    K('linalg.cholesky', '3x3', 'float64', 'first', _R7),
    K('linalg.cholesky', '3x3', 'float64', 'forward', _R7),
    K('linalg.cholesky', '3x3', 'float64', 'second', _R7),
    K('linalg.cholesky', '3x3', 'complex*', 'first', _R8),
    K('linalg.cholesky', '3x3', 'complex*', 'second', _R8),
    K('linalg.cholesky', 'batched_2x3x3', '*', '*', _R9),
    K('linalg.cholesky', 'upper=True', '*', '*', _R10),
    K('linalg.cross', '*', '*', '*', _R11),
    K('linalg.det', '2x2', '*', '*', _R11),
    K('linalg.det', '3x3', '*', '*', _R11),
    K('linalg.det', 'batched_2x3x3', '*', '*', _R11),
    K('linalg.det', 'singular_rank_n-1', '*', 'forward', _R11),
    K('linalg.det', 'singular_rank_n-1', '*', 'second', _R11),
    K('linalg.diagonal', 'offset=1', '*', 'first', _R5),
    K('linalg.diagonal', 'offset=1', '*', 'second', _R5),
    K('linalg.eig', '*', '*', '*', _R11),
    K('linalg.eigh', '*', '*', '*', _R11),
    K('linalg.eigvals', '*', '*', '*', _R11),
    K('linalg.eigvalsh', '*', '*', '*', _R11),
    K('linalg.inv', '1x1', 'complex64', 'forward', _R12),
    K('linalg.inv', '1x1', 'float32', 'forward', _R12),
    K('linalg.inv', '3x3', 'complex64', 'forward', _R12),
    K('linalg.inv', '3x3', 'float32', 'forward', _R12),
    K('linalg.inv', 'batched_2x3x3', '*', '*', _R9),
    K('linalg.matrix_norm', 'batched,_keepdims', '*', '*', _R13),
    K('linalg.matrix_norm', 'nuc,_keepdims', '*', '*', _R13),
    K('linalg.matrix_norm', 'ord=-2', '*', 'forward', _R13),
    K('linalg.matrix_norm', 'ord=2', '*', 'forward', _R13),
    K('linalg.matrix_norm', 'ord=nuc', '*', 'forward', _R13),
    K('linalg.matrix_power', 'n=-1', 'complex64', 'forward', _R12),
    K('linalg.matrix_power', 'n=-1', 'float32', 'forward', _R12),
    K('linalg.matrix_power', 'n=-2', 'complex64', 'forward', _R12),
    K('linalg.matrix_power', 'n=-2', 'float32', 'forward', _R12),
    K('linalg.matrix_power', 'n=0', '*', '*', _R11),
    K('linalg.matrix_rank', '*', '*', '*', _R14),
    K('linalg.pinv', '*', '*', '*', _R11),
    K('linalg.qr', 'batched_tall', '*', '*', _R15),
    K('linalg.qr', 'complete,_wide_3x5', '*', '*', _R13),
    K('linalg.qr', 'square_3x3', 'complex*', 'first', _R8),
    K('linalg.qr', 'square_3x3', 'complex*', 'second', _R8),
    K('linalg.qr', 'tall_4x3', 'complex*', 'first', _R8),
    K('linalg.qr', 'tall_4x3', 'complex*', 'second', _R8),
    K('linalg.qr', 'wide_3x5', 'float*', 'first', _R5),
    K('linalg.qr', 'wide_3x5', 'float*', 'second', _R5),
    K('linalg.qr', 'wide_3x5', 'complex*', 'first', _R8),
    K('linalg.qr', 'wide_3x5', 'complex*', 'second', _R8),
    K('linalg.slogdet', '*', '*', '*', _R11),
    K('linalg.solve', 'batched_A,_broadcast_rhs', '*', '*', _R9),
    K('linalg.solve', 'batched_A,_vector_rhs', '*', '*', _R9),
    K('linalg.solve', 'broadcast_A,_batched_rhs', '*', '*', _R9),
    K('linalg.svd', 'batched_square', '*', '*', _R13),
    K('linalg.svd', 'full_matrices,_tall_4x3', '*', '*', _R13),
    K('linalg.svd', 'full_matrices,_wide_3x5', '*', '*', _R13),
    K('linalg.svdvals', 'batched_2x3x3', '*', '*', _R13),
    K('linalg.svdvals', 'tall_4x3', '*', 'forward', _R13),
    K('linalg.svdvals', 'wide_3x5', '*', 'forward', _R13),
    K('linalg.trace', 'offset=1', '*', 'first', _R5),
    K('linalg.trace', 'offset=1', '*', 'second', _R5),
    K('repeat', '0-d', '*', '*', _R16),
    K('repeat', 'array,_axis=0', '*', '*', _R16),
    K('repeat', 'array,_flattened', '*', '*', _R16),
    K('repeat', 'empty', '*', '*', _R16),
    K('repeat', 'int,_flattened', '*', '*', _R16),
    K('repeat', 'non-contiguous', '*', '*', _R16),
    K('searchsorted', 'scalar_x2', '*', '*', _R17),
    K('searchsorted', 'sorter', '*', '*', _R17),
    K('sign', 'at_zero', 'complex*', 'forward', _R18),
    K('sort', '3-d,_axis=1', '*', 'first', _R19),
    K('sort', '3-d,_axis=1', '*', 'second', _R19),
    K('sort', 'empty', '*', 'first', _R19),
    K('sort', 'empty', '*', 'second', _R19),
    K('sort', 'empty,_axis=0', '*', 'first', _R19),
    K('sort', 'empty,_axis=0', '*', 'second', _R19),
    K('sort', 'non-contiguous', '*', 'first', _R19),
    K('sort', 'non-contiguous', '*', 'second', _R19),
    K('sort', 'non-contiguous_ties', '*', 'first', _R19),
    K('sort', 'non-contiguous_ties', '*', 'second', _R19),
    K('sort', 'stable=False', '*', 'first', _R19),
    K('sort', 'stable=False', '*', 'second', _R19),
    K('sort', 'stable=False,_descending', '*', 'first', _R19),
    K('sort', 'stable=False,_descending', '*', 'second', _R19),
    K('sort', 'ties', '*', 'first', _R19),
    K('sort', 'ties', '*', 'second', _R19),
    K('sort', 'ties,_axis=-1,_descending', '*', 'first', _R19),
    K('sort', 'ties,_axis=-1,_descending', '*', 'second', _R19),
    K('sort', 'ties,_axis=0', '*', 'first', _R19),
    K('sort', 'ties,_axis=0', '*', 'second', _R19),
    K('sort', 'ties,_descending', '*', 'first', _R19),
    K('sort', 'ties,_descending', '*', 'second', _R19),
    K('sqrt', 'at_zero', '*', 'first', _R18),
    K('sqrt', 'at_zero', '*', 'second', _R18),
    K('take', '1d_repeated', 'complex*', '*', _R1),
    K('take', 'axis=-1', 'float*', 'first', _R3),
    K('take', 'axis=-1', 'float*', 'second', _R3),
    K('take', 'axis=-1', 'complex*', '*', _R1),
    K('take', 'axis=0_repeated', 'float*', 'first', _R3),
    K('take', 'axis=0_repeated', 'float*', 'second', _R3),
    K('take', 'axis=0_repeated', 'complex*', '*', _R1),
    K('take', 'axis=1_repeated', 'float*', 'first', _R3),
    K('take', 'axis=1_repeated', 'float*', 'second', _R3),
    K('take', 'axis=1_repeated', 'complex*', '*', _R1),
    K('take', 'empty_indices', 'float*', 'first', _R3),
    K('take', 'empty_indices', 'float*', 'second', _R3),
    K('take', 'empty_indices', 'complex*', '*', _R1),
    K('take', 'noncontig', 'float*', 'first', _R3),
    K('take', 'noncontig', 'float*', 'second', _R3),
    K('take', 'noncontig', 'complex*', '*', _R1),
    K('take_along_axis', '*', '*', '*', _R19),
    K('tril', '*', 'complex*', '*', _R8),
    K('triu', '*', 'complex*', '*', _R8),
]  # fmt: skip


# Tests of the pytest suite that differ on Dask (strict xfails; see conformance/known/__init__.py).
_LAZY_WARNING = (
    "Dask computes lazily: NumPy's floating-point warning (divide by zero, invalid value) at a domain "
    "edge is raised when the value is computed, outside xpgrad's errstate (an error under -W error; "
    "torch is silent)"
)
TESTS = {
    "test_edge_cases.py::test_matches_torch_exactly[sort_ties*]": _R19,
    "test_edge_cases.py::test_matches_torch_exactly[sqrt_at_zero]": _LAZY_WARNING,
    "test_edge_cases.py::test_matches_torch_exactly[log_at_zero]": _LAZY_WARNING,
    "test_edge_cases.py::test_matches_torch_exactly[pow_zero_base_array_exponents]": _LAZY_WARNING,
    "test_edge_cases.py::test_matches_torch_exactly[pow_zero_base_negative_exponent]": _LAZY_WARNING,
    "test_edge_cases.py::test_matches_torch_exactly[pow_zero_base_scalar_0.5]": _LAZY_WARNING,
    "test_edge_cases.py::test_matches_torch_exactly[pow_zero_base_scalar_-1]": _LAZY_WARNING,
    "test_edge_cases.py::test_matches_torch_exactly[hypot_at_origin]": _LAZY_WARNING,
    "test_edge_cases.py::test_matches_torch_exactly[var_correction_N]": _LAZY_WARNING,
    "test_edge_cases.py::test_matches_torch_exactly[std_correction_N]": _LAZY_WARNING,
    "test_edge_cases.py::test_matches_torch_exactly[var_axis_correction_N]": _LAZY_WARNING,
    "test_edge_cases.py::test_matches_torch_exactly[*_correction_above_N]": (
        "Dask's var/std return nan when correction exceeds the number of elements; torch and NumPy "
        "divide by max(N - correction, 0) and give inf"
    ),
    "test_edge_cases.py::test_deviation_det_gradient_at_a_singular_matrix": _R11,
    "test_edge_cases.py::test_deviation_nan_free_at_kinks[sign_complex_zero]": _LAZY_WARNING,
    "test_planted_bugs.py::test_restored_functions_pass[linalg.inv]": (
        "Dask's linalg.inv fails its own conformance samples (batched input, float64 result for float32)"
    ),
}
