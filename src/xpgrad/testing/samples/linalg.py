"""Samples for the ``linalg`` extension.

Matrices are small and well conditioned (a random matrix plus a multiple of the identity);
``eigh``, ``eigvalsh`` and ``svd`` also have structured samples (exact zeros, decoupled blocks,
integer-valued and diagonal matrices, with distinct eigen/singular values).
Functions of Hermitian input (``eigh``, ``eigvalsh``, ``cholesky``) are called on a Hermitian
(positive-definite) matrix built inside ``fn``, as torch's own tests do, so that the gradient is
that of a function of an unconstrained matrix. Eigenvectors and singular vectors are defined up
to a sign (a phase for complex input), so their samples compare gauge-invariant quantities
(``|v|^2`` elementwise, smooth at exact zeros).
"""

from __future__ import annotations

import numpy as np

from .._opinfo import ALL_FLOAT, FLOAT, OpInfo, Sample


def _tol32(rtol, atol, why):
    """float32 and complex64 tolerance overrides (OpInfo keyword arguments) with their reason."""
    single = ("float32", "complex64")
    return {
        "rtol": dict.fromkeys(single, rtol),
        "atol": dict.fromkeys(single, atol),
        "tolerance_reasons": dict.fromkeys(single, why),
    }


# Single precision through a decomposition: the derivatives of eigen- and singular vectors divide
# by the gaps between eigenvalues (singular values), the second order by their squares, so the
# float32 round-off of the decomposition grows by the inverse gaps. torch computes in float32
# LAPACK; NumPy's float32 linalg computes in float64 (xpgrad on NumPy is then the more accurate
# side), JAX's in float32; the round-off depends on the LAPACK build. The figures: the largest
# error against the same inputs in float64, relative to max(|value|, 0.1), float32 / complex64;
# each tolerance leaves a margin of 10 or more to the differences measured with torch
# (tools/tolerance_margins.py on NumPy and JAX).
_SINGLE32 = (
    "float32 {what}: against a float64 reference torch's are off by up to {torch}, xpgrad's by "
    "{numpy} on NumPy (float64 LAPACK) and {jax} on JAX (float32 LAPACK) (float32 / complex64); "
    "the round-off depends on the LAPACK build"
)
_GAPS = "derivatives through {} divide by gaps between {} (the second order by their squares)"


def _single32(rtol, what, torch, numpy, jax):
    return _tol32(rtol, rtol / 10, _SINGLE32.format(what=what, torch=torch, numpy=numpy, jax=jax))


# The singular sample has a zero row, so that the determinant is exactly 0 on every machine: any LU
# elimination (any BLAS/LAPACK kernel, pivot order, thread count, FMA or not) keeps the zero row
# exactly zero (its multipliers are 0 / pivot = 0), so the last pivot is an exact 0 and torch's
# formulas below take their singular branch everywhere. (A nearly singular matrix, e.g. a row twice
# another, gives a pivot of 0 or of 1e-16 depending on the kernel, and torch's gradient is then 0 or
# the adjugate: a known difference on some CPUs only. conformance/test_edge_cases.py checks the
# premise, an exact zero determinant in torch, on the machine under test.)
_DET_SINGULAR = (
    "torch 2.13's det backward gives 0 at a singular matrix (grad * det * A^-H, with the exact zero "
    "pivot of its LU replaced by eps: det = 0 times a finite inverse); xpgrad gives the cofactor matrix, "
    "the derivative everywhere, as finite differences do"
)
_DET_SINGULAR_JVP = (
    "torch 2.13's forward-mode derivative of det is 0 at a singular matrix (det * tr(A^-1 dA), with the "
    "exact zero pivot of its LU replaced by eps); xpgrad gives tr(adj(A) dA), as finite differences do"
)

# A tie of the extremum an inf/1-norm picks: the first-order gradient is shared among the tied
# entries (torch's convention; central differences agree, gradcheck passes), but it jumps to one
# entry on either side of the tie, so central differences of the gradient grow as 1/eps.
_NORM_TIE = (
    "the gradient jumps at the tie (shared at it, one entry's on either side): central differences "
    "of the gradient grow as 1/eps; xpgrad (as torch) gives the second derivative of the shared form"
)


def _is_complex(dtype):
    return dtype.startswith("complex")


def _rand(rng, dtype, *shape):
    a = rng.standard_normal(shape)
    if _is_complex(dtype):
        a = a + 1j * rng.standard_normal(shape)
    return a


def _wellcond(rng, dtype, *shape):
    n = shape[-1]
    return _rand(rng, dtype, *shape) + 3.0 * np.eye(n)


def _mH(xp, a):
    t = xp.matrix_transpose(a)
    return xp.conj(t) if xp.isdtype(a.dtype, "complex floating") else t


def _herm(xp, a):
    return a + _mH(xp, a)


def _pd(xp, a):
    n = a.shape[-1]
    return xp.matmul(a, _mH(xp, a)) + 3.0 * xp.eye(n, dtype=a.dtype)


# -- samples ------------------------------------------------------------------------------------


def _torch_det(txp, a):
    # torch 2.13's det backward raises for float32/complex64 input when torch's default dtype is
    # float64 (linalg.lu_solve dtype mismatch), as under the NumPy backend: compute it in double.
    if a.dtype == txp.float32 or a.dtype == txp.complex64:
        hi = txp.float64 if a.dtype == txp.float32 else txp.complex128
        return txp.astype(txp.linalg.det(txp.astype(a, hi)), a.dtype)
    return txp.linalg.det(a)


def _square_samples(rng, dtype):
    yield Sample((_wellcond(rng, dtype, 3, 3),), name="3x3")
    yield Sample((_wellcond(rng, dtype, 2, 3, 3),), name="batched 2x3x3")
    yield Sample((_wellcond(rng, dtype, 1, 1),), name="1x1")


def _rect_samples(rng, dtype):
    yield Sample((_rand(rng, dtype, 4, 3),), name="tall 4x3")
    yield Sample((_rand(rng, dtype, 3, 5),), name="wide 3x5")
    yield Sample((_wellcond(rng, dtype, 2, 3, 3),), name="batched 2x3x3")


def _det_samples(rng, dtype):
    yield Sample((_wellcond(rng, dtype, 3, 3),), name="3x3")
    yield Sample((_wellcond(rng, dtype, 2, 3, 3),), name="batched 2x3x3")
    yield Sample((_wellcond(rng, dtype, 2, 2),), name="2x2")
    if not _is_complex(dtype):
        # Rank 2 with a zero row: the determinant is exactly 0 (see _DET_SINGULAR above), the
        # gradient is the (non-zero) cofactor matrix, nonzero in the zero row only.
        yield Sample(
            (np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0], [1.0, 0.0, 1.0]]),),
            name="singular rank n-1",
            xfail={"first": _DET_SINGULAR, "jvp": _DET_SINGULAR_JVP},
        )


def _solve_samples(rng, dtype):
    a = _wellcond(rng, dtype, 3, 3)
    yield Sample((a, _rand(rng, dtype, 3, 2)), name="matrix rhs")
    yield Sample((a, _rand(rng, dtype, 3)), name="vector rhs (1-d)")
    yield Sample((_wellcond(rng, dtype, 2, 3, 3), _rand(rng, dtype, 3)), name="batched A, vector rhs")
    yield Sample((_wellcond(rng, dtype, 2, 3, 3), _rand(rng, dtype, 3, 2)), name="batched A, broadcast rhs")
    yield Sample((a, _rand(rng, dtype, 2, 3, 1)), name="broadcast A, batched rhs")


# Structured matrices (issue 19): exact zeros and decoupled blocks put exact zeros inside the
# derivative formulas, whose derivatives must survive (second order, forward-over-reverse).
_ISSUE_19 = np.array([[2.0, -0.5, -1.5], [0.5, 2.0, 0.5], [-0.5, -0.5, 1.0]])  # x + x^H: zeros


def _herm_samples(rng, dtype):
    yield Sample((_rand(rng, dtype, 3, 3),), name="3x3")
    yield Sample((_rand(rng, dtype, 2, 3, 3),), name="batched 2x3x3")
    yield Sample((_ISSUE_19,), name="structured: exact zeros")
    blocks = np.array([[1.0, 0.5, 0, 0], [0.5, 1.5, 0, 0], [0, 0, -0.5, 0.25], [0, 0, 0.25, 2.0]])
    yield Sample((blocks,), name="structured: decoupled blocks")
    yield Sample((np.diag([1.0, 2.5, -3.0]),), name="structured: diagonal")


def _cholesky_samples(rng, dtype):
    yield Sample((_rand(rng, dtype, 3, 3),), name="3x3")
    yield Sample((_rand(rng, dtype, 2, 3, 3),), name="batched 2x3x3")
    yield Sample((_rand(rng, dtype, 3, 3),), {"upper": True}, name="upper=True")


def _qr_samples(rng, dtype):
    yield Sample((_rand(rng, dtype, 4, 3),), name="tall 4x3")
    yield Sample((_rand(rng, dtype, 3, 3),), name="square 3x3")
    yield Sample((_rand(rng, dtype, 3, 5),), name="wide 3x5")
    yield Sample((_rand(rng, dtype, 2, 4, 3),), name="batched tall")
    yield Sample((_rand(rng, dtype, 3, 5),), {"mode": "complete"}, name="complete, wide 3x5")


def _svd_samples(rng, dtype):
    yield Sample((_rand(rng, dtype, 4, 3),), {"full_matrices": False}, name="tall 4x3")
    yield Sample((_rand(rng, dtype, 3, 5),), {"full_matrices": False}, name="wide 3x5")
    yield Sample((_rand(rng, dtype, 2, 3, 3),), {"full_matrices": False}, name="batched square")
    yield Sample((_rand(rng, dtype, 4, 3),), {"full_matrices": True}, name="full_matrices, tall 4x3")
    yield Sample((_rand(rng, dtype, 3, 5),), {"full_matrices": True}, name="full_matrices, wide 3x5")
    blocks = np.array([[3.0, 0, 0], [0, 1, 2], [0, 0, 1], [0, 0, 0]])
    for full in (False, True):
        yield Sample((blocks,), {"full_matrices": full}, name=f"structured: blocks, full_matrices={full}")
        yield Sample(
            (blocks.T,), {"full_matrices": full}, name=f"structured: blocks, wide, full_matrices={full}"
        )
    yield Sample(
        (np.array([[2.0, 1, 0], [0, 1, 0], [0, 0, -3]]),), {"full_matrices": False}, name="structured: square"
    )


def _sq(xp, v):
    # |v|^2: invariant under the sign/phase of each vector, and smooth at the exact zeros of
    # structured input (|v| is not).
    return xp.real(v * xp.conj(v)) if xp.isdtype(v.dtype, "complex floating") else v * v


def _svd_output(xp, r):
    # |U|^2 and |Vh|^2 are invariant under the sign/phase of each singular vector pair; with
    # full_matrices=True only the first K columns of U (rows of Vh) are determined.
    k = r.S.shape[-1]
    return [_sq(xp, r.U[..., :, :k]), r.S, _sq(xp, r.Vh[..., :k, :])]


def _eig_output(xp, r):
    return [r.eigenvalues, _sq(xp, r.eigenvectors)]


def _eig_samples(rng, dtype):
    yield Sample((_rand(rng, dtype, 3, 3),), name="3x3")
    yield Sample((_rand(rng, dtype, 2, 3, 3),), name="batched 2x3x3")


def _pinv_samples(rng, dtype):
    yield Sample((_rand(rng, dtype, 4, 3),), name="tall 4x3")
    yield Sample((_rand(rng, dtype, 3, 5),), name="wide 3x5")
    yield Sample((_wellcond(rng, dtype, 2, 3, 3),), name="batched square")
    yield Sample((_rand(rng, dtype, 3, 4),), {"rtol": 1e-8}, name="rtol")


def _matrix_power_samples(rng, dtype):
    a = rng.standard_normal((3, 3)) * 0.5 + np.eye(3)
    if _is_complex(dtype):
        a = a + 0.5j * rng.standard_normal((3, 3))
    for n in (0, 1, 2, 3, 5, -1, -2):
        yield Sample((a, n), name=f"n={n}")
    yield Sample((_wellcond(rng, dtype, 2, 3, 3) / 3, 3), name="batched, n=3")


def _matrix_norm_samples(rng, dtype):
    for ord in ("fro", "nuc", 1, -1, 2, -2, float("inf"), float("-inf")):
        yield Sample((_rand(rng, dtype, 3, 4),), {"ord": ord}, name=f"ord={ord}")
    yield Sample((_rand(rng, dtype, 2, 3, 3),), {"ord": 2, "keepdims": True}, name="batched, keepdims")
    yield Sample((_rand(rng, dtype, 2, 3, 3),), {"ord": "nuc", "keepdims": True}, name="nuc, keepdims")
    # Ties in the max absolute column and row sums (ord=1, inf) share the gradient; the minimum
    # ones (ord=-1, -inf: the third column and row) are not tied.
    t = np.array([[1.0, -2.0, 0.5], [-2.0, 1.0, 0.5], [0.5, 0.5, 2.0]])
    for ord in (1, -1, float("inf"), float("-inf")):
        tied = ord in (1, float("inf"))
        yield Sample(
            (t,), {"ord": ord}, name=f"ties, ord={ord}", xfail={"gradgradcheck": _NORM_TIE} if tied else {}
        )


def _vector_norm_samples(rng, dtype):
    for ord in (2, 1, 0, 3, 1.5, 0.5, -1, float("inf"), float("-inf")):
        yield Sample((_rand(rng, dtype, 2, 4),), {"ord": ord, "axis": -1}, name=f"ord={ord}, axis=-1")
    yield Sample((_rand(rng, dtype, 2, 3, 4),), {}, name="all axes")
    yield Sample(
        (_rand(rng, dtype, 2, 3, 4),), {"axis": (0, 2), "keepdims": True}, name="axis tuple, keepdims"
    )
    yield Sample((_rand(rng, dtype, 3),), {"ord": 3, "keepdims": True}, name="1-d, keepdims")
    yield Sample((np.array(1.5),), {}, name="0-d")
    z = np.array([[0.0, 0.0, 0.0], [1.0, -2.0, 2.0]])
    yield Sample(
        (z,),
        {"axis": 1},
        name="zero vector, ord=2",
        xfail={
            "second": "torch 2.13 gives NaN second-order gradients of vector_norm at the zero vector; xpgrad 0",
            "fwd_rev": "torch 2.13's double backward of vector_norm at the zero vector gives NaN (the "
            "reference Hessian-vector product); xpgrad 0",
            "gradgradcheck": "the 2-norm's gradient x / |x| jumps at the zero vector (its direction is "
            "undefined): central differences of it grow as 1/eps, xpgrad (as torch's subgradient) gives 0",
        },
    )
    # ord=inf: the largest |x| of the second row is tied (2, 2); ord=-inf: the smallest (1) is not.
    yield Sample(
        (z,), {"axis": 1, "ord": float("inf")}, name="ties, ord=inf", xfail={"gradgradcheck": _NORM_TIE}
    )
    yield Sample((z,), {"axis": 1, "ord": float("-inf")}, name="ties, ord=-inf")


def _trace_samples(rng, dtype):
    yield Sample((_rand(rng, dtype, 3, 3),), name="3x3")
    yield Sample((_rand(rng, dtype, 2, 3, 4),), {"offset": 1}, name="offset=1")
    yield Sample((_rand(rng, dtype, 4, 3),), {"offset": -2}, name="offset=-2")


def _diagonal_samples(rng, dtype):
    yield Sample((_rand(rng, dtype, 3, 3),), name="3x3")
    yield Sample((_rand(rng, dtype, 2, 3, 5),), {"offset": 1}, name="offset=1")
    yield Sample((_rand(rng, dtype, 4, 3),), {"offset": -1}, name="offset=-1")


def _cross_samples(rng, dtype):
    yield Sample((_rand(rng, dtype, 3), _rand(rng, dtype, 3)), name="vectors")
    yield Sample((_rand(rng, dtype, 2, 3), _rand(rng, dtype, 3)), name="broadcast")
    yield Sample((_rand(rng, dtype, 3, 2), _rand(rng, dtype, 3, 2)), {"axis": -2}, name="axis=-2")


def _outer_samples(rng, dtype):
    yield Sample((_rand(rng, dtype, 3), _rand(rng, dtype, 4)), name="3 x 4")
    yield Sample((_rand(rng, dtype, 1), _rand(rng, dtype, 2)), name="1 x 2")


def _matmul_samples(rng, dtype):
    yield Sample((_rand(rng, dtype, 2, 3), _rand(rng, dtype, 3, 4)), name="matrices")
    yield Sample((_rand(rng, dtype, 2, 2, 3), _rand(rng, dtype, 3)), name="batched @ vector")


def _transpose_samples(rng, dtype):
    yield Sample((_rand(rng, dtype, 2, 3, 4),), name="batched")


def _tensordot_samples(rng, dtype):
    yield Sample((_rand(rng, dtype, 2, 3, 4), _rand(rng, dtype, 3, 4, 2)), name="axes=2")
    yield Sample((_rand(rng, dtype, 2, 3), _rand(rng, dtype, 3, 2)), {"axes": ((1,), (0,))}, name="axes pair")


def _vecdot_samples(rng, dtype):
    yield Sample((_rand(rng, dtype, 2, 3), _rand(rng, dtype, 3)), name="broadcast")
    yield Sample((_rand(rng, dtype, 3, 2), _rand(rng, dtype, 3, 2)), {"axis": -2}, name="axis=-2")


def _rank_samples(rng, dtype):
    yield Sample((_rand(rng, dtype, 3, 4),), name="full rank")
    yield Sample((np.array([[1.0, 2.0], [2.0, 4.0]]),), name="rank 1")


OPS = [
    OpInfo("linalg.inv", _square_samples, dtypes=ALL_FLOAT),
    OpInfo("linalg.det", _det_samples, dtypes=ALL_FLOAT, torch_fn=_torch_det),
    OpInfo("linalg.slogdet", _square_samples, dtypes=ALL_FLOAT),
    OpInfo("linalg.solve", _solve_samples, dtypes=ALL_FLOAT),
    OpInfo(
        "linalg.cholesky",
        _cholesky_samples,
        fn=lambda xp, a, **kw: xp.linalg.cholesky(_pd(xp, a), **kw),
        dtypes=ALL_FLOAT,
    ),
    OpInfo(
        "linalg.eigh",
        _herm_samples,
        fn=lambda xp, a: xp.linalg.eigh(_herm(xp, a)),
        output=_eig_output,
        dtypes=ALL_FLOAT,
        **_single32(
            3e-4,
            _GAPS.format("eigenvectors", "eigenvalues"),
            "9.3e-6 / 1.8e-6",
            "8e-7 / 7.3e-7",
            "9.9e-6 / 6.7e-6",
        ),
    ),
    OpInfo(
        "linalg.eigvalsh",
        _herm_samples,
        fn=lambda xp, a: xp.linalg.eigvalsh(_herm(xp, a)),
        dtypes=ALL_FLOAT,
        **_single32(
            1e-4,
            "second derivatives of eigenvalues divide by the gaps between them",
            "2.2e-6 / 2e-6",
            "7e-7 / 6.5e-7",
            "2.5e-6 / 2.4e-6",
        ),
    ),
    OpInfo(
        "linalg.eig",
        _eig_samples,
        output=_eig_output,
        dtypes=ALL_FLOAT,
        **_single32(
            1e-4,
            _GAPS.format("eigenvectors", "eigenvalues"),
            "4.6e-6 / 4.2e-6",
            "8.3e-7 / 8.4e-7",
            "6.6e-6 / 2.8e-6",
        ),
    ),
    OpInfo(
        "linalg.eigvals",
        _eig_samples,
        dtypes=ALL_FLOAT,
        **_single32(
            3e-4,
            _GAPS.format("the eigendecomposition", "eigenvalues"),
            "6.3e-6 / 3.1e-6",
            "8.1e-7 / 5e-7",
            "1.5e-5 / 4.3e-6",
        ),
    ),
    OpInfo(
        "linalg.qr",
        _qr_samples,
        dtypes=ALL_FLOAT,
        **_single32(
            1e-3,
            "second derivatives of Q and R (triangular solves with R, products of three factors)",
            "2.7e-5 / 4e-6",
            "8.7e-6 / 2.4e-6",
            "3.9e-5 / 5.9e-6",
        ),
    ),
    OpInfo(
        "linalg.svd",
        _svd_samples,
        output=_svd_output,
        dtypes=ALL_FLOAT,
        **_single32(
            3e-3,
            _GAPS.format("singular vectors", "singular values"),
            "1.05e-4 / 2.7e-5",
            "4.2e-6 / 2.9e-6",
            "1.2e-4 / 4.1e-5",
        ),
    ),
    OpInfo(
        "linalg.svdvals",
        _rect_samples,
        dtypes=ALL_FLOAT,
        **_single32(
            3e-4,
            _GAPS.format("the singular value decomposition", "singular values"),
            "5.8e-6 / 2.3e-5",
            "9.8e-7 / 1.1e-6",
            "6.7e-6 / 7.9e-6",
        ),
    ),
    OpInfo(
        "linalg.pinv",
        _pinv_samples,
        dtypes=ALL_FLOAT,
        **_single32(
            1e-2,
            "second derivatives of the pseudo-inverse (products of three pseudo-inverses: the condition "
            "number cubed, sample 'rtol', a 3x4 matrix)",
            "6.6e-4 / 8e-6",
            "3.8e-4 / 3.4e-6",
            "5.5e-4 / 9.5e-6",
        ),
    ),
    OpInfo(
        "linalg.matrix_power",
        _matrix_power_samples,
        dtypes=ALL_FLOAT,
        **_tol32(
            1e-4,
            1e-5,
            "float32 second derivatives of a negative power go through the inverse twice (the condition "
            "number squared, n=-1): against a float64 reference torch's are off by up to 2.6e-5, xpgrad's "
            "by 2.2e-5 on NumPy and 1.7e-5 on JAX (float32; complex64 within them)",
        ),
    ),
    OpInfo(
        "linalg.matrix_norm",
        _matrix_norm_samples,
        dtypes=ALL_FLOAT,
        **_single32(
            3e-4,
            _GAPS.format("the SVD of the 2- and nuclear norms", "singular values"),
            "5.4e-6 / 1.05e-5",
            "1.5e-6 / 6.3e-7",
            "9.1e-6 / 1.4e-6",
        ),
    ),
    OpInfo("linalg.vector_norm", _vector_norm_samples, dtypes=ALL_FLOAT),
    OpInfo("linalg.trace", _trace_samples, dtypes=ALL_FLOAT),
    OpInfo("linalg.diagonal", _diagonal_samples, dtypes=ALL_FLOAT),
    OpInfo("linalg.cross", _cross_samples, dtypes=ALL_FLOAT),
    OpInfo("linalg.outer", _outer_samples, dtypes=ALL_FLOAT),
    OpInfo("linalg.matmul", _matmul_samples, dtypes=ALL_FLOAT),
    OpInfo("linalg.matrix_transpose", _transpose_samples, dtypes=ALL_FLOAT),
    OpInfo("linalg.tensordot", _tensordot_samples, dtypes=ALL_FLOAT),
    OpInfo("linalg.vecdot", _vecdot_samples, dtypes=ALL_FLOAT),
    OpInfo("linalg.matrix_rank", _rank_samples, dtypes=FLOAT, differentiable=False),
]
