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

_ATOL32 = {"float32": 1e-4, "complex64": 1e-4}
_RTOL32 = {"float32": 1e-3, "complex64": 1e-3}
_ATOL32_LOOSE = {"float32": 1e-3, "complex64": 1e-3}
_RTOL32_LOOSE = {"float32": 5e-3, "complex64": 5e-3}


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
    # Ties in the max/min absolute column and row sums share the gradient.
    t = np.array([[1.0, -2.0, 0.5], [-2.0, 1.0, 0.5], [0.5, 0.5, 2.0]])
    for ord in (1, -1, float("inf"), float("-inf")):
        yield Sample((t,), {"ord": ord}, name=f"ties, ord={ord}")


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
        },
    )
    for ord in (float("inf"), float("-inf")):
        yield Sample((z,), {"axis": 1, "ord": ord}, name=f"ties, ord={ord}")


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
    OpInfo("linalg.inv", _square_samples, dtypes=ALL_FLOAT, rtol=_RTOL32, atol=_ATOL32),
    OpInfo(
        "linalg.det", _det_samples, dtypes=ALL_FLOAT, torch_fn=_torch_det, rtol=_RTOL32, atol=_ATOL32_LOOSE
    ),
    OpInfo("linalg.slogdet", _square_samples, dtypes=ALL_FLOAT, rtol=_RTOL32, atol=_ATOL32),
    OpInfo("linalg.solve", _solve_samples, dtypes=ALL_FLOAT, rtol=_RTOL32, atol=_ATOL32),
    OpInfo(
        "linalg.cholesky",
        _cholesky_samples,
        fn=lambda xp, a, **kw: xp.linalg.cholesky(_pd(xp, a), **kw),
        dtypes=ALL_FLOAT,
        rtol=_RTOL32,
        atol=_ATOL32,
    ),
    OpInfo(
        "linalg.eigh",
        _herm_samples,
        fn=lambda xp, a: xp.linalg.eigh(_herm(xp, a)),
        output=_eig_output,
        dtypes=ALL_FLOAT,
        rtol=_RTOL32_LOOSE,
        atol=_ATOL32_LOOSE,
    ),
    OpInfo(
        "linalg.eigvalsh",
        _herm_samples,
        fn=lambda xp, a: xp.linalg.eigvalsh(_herm(xp, a)),
        dtypes=ALL_FLOAT,
        rtol=_RTOL32,
        atol=_ATOL32,
    ),
    OpInfo(
        "linalg.eig",
        _eig_samples,
        output=_eig_output,
        dtypes=ALL_FLOAT,
        rtol=_RTOL32_LOOSE,
        atol=_ATOL32_LOOSE,
    ),
    OpInfo("linalg.eigvals", _eig_samples, dtypes=ALL_FLOAT, rtol=_RTOL32_LOOSE, atol=_ATOL32_LOOSE),
    OpInfo("linalg.qr", _qr_samples, dtypes=ALL_FLOAT, rtol=_RTOL32_LOOSE, atol=_ATOL32_LOOSE),
    OpInfo(
        "linalg.svd",
        _svd_samples,
        output=_svd_output,
        dtypes=ALL_FLOAT,
        rtol=_RTOL32_LOOSE,
        atol=_ATOL32_LOOSE,
    ),
    OpInfo("linalg.svdvals", _rect_samples, dtypes=ALL_FLOAT, rtol=_RTOL32, atol=_ATOL32),
    OpInfo("linalg.pinv", _pinv_samples, dtypes=ALL_FLOAT, rtol=_RTOL32_LOOSE, atol=_ATOL32_LOOSE),
    OpInfo("linalg.matrix_power", _matrix_power_samples, dtypes=ALL_FLOAT, rtol=_RTOL32, atol=_ATOL32_LOOSE),
    OpInfo("linalg.matrix_norm", _matrix_norm_samples, dtypes=ALL_FLOAT, rtol=_RTOL32, atol=_ATOL32),
    OpInfo("linalg.vector_norm", _vector_norm_samples, dtypes=ALL_FLOAT, rtol=_RTOL32, atol=_ATOL32),
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
