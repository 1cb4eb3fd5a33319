"""The ``linalg`` extension of the array API standard (2025.12), differentiable.

``xp.linalg`` is a :class:`LinalgNamespace` built once per xpgrad namespace. Each differentiable
function is an entry of the derivative table (:mod:`xpgrad._optable`): its forward on raw arrays
with the spec's signature (computed with the backend's own ``linalg``), its VJP(s) and its
forward-mode rule side by side below, the public method generated from them by ``install``.
VJPs and rules are array API code on the namespace they are handed (the raw backend in a plain
backward, the xpgrad namespace under ``create_graph=True`` or in forward mode), so the same
formula serves every order of derivative. The formulas and conventions are torch.autograd's
(``torch/csrc/autograd/FunctionsManual.cpp``: ``*_backward`` and ``*_jvp``), with complex
inputs in torch's conjugate Wirtinger convention and torch's gauge for the tangents of
eigenvectors and singular vectors.

Conventions shared by the decompositions (each function's docstring says which apply; the
deviations from torch are listed in ``docs/deviations.md``):

- Eigen/singular vector derivatives at repeated eigen/singular values are infinite or NaN, as
  in torch (``_over_gaps``). An output that got no gradient reaches the VJP as None (the
  entries' ``undefined=True``) and its terms are skipped, as torch skips undefined gradients:
  the eigen/singular values alone have finite gradients there.
- No derivative formula branches on computed values (Dask stays lazy; ``jax.jit`` can trace
  them). Checks that a loss does not depend on the phase of complex vectors raise on eager
  backends, as torch; on lazy or traced arrays they turn the affected gradient into nan.

Hand-written methods (not entries), each with the reason beside it: ``eigvalsh``, ``eigvals``,
``svdvals``, ``matrix_norm`` and ``matrix_power`` are built from other functions (as torch's
composite functions), ``matrix_rank`` is not differentiable, and ``matmul``,
``matrix_transpose``, ``tensordot`` and ``vecdot`` are the main namespace's own functions.
"""

from __future__ import annotations

import sys
import types
from collections import namedtuple

from ._forward import FORWARD_MODE
from ._math import all_true_at_hand, checked, conj, device_of, is_complex, normalize_axis, real_dtype_of, sgn
from ._ops import needs_grad
from ._optable import LINEAR, apply, install, op
from ._tensor import Tensor

EigResult = namedtuple("EigResult", ["eigenvalues", "eigenvectors"])
EighResult = namedtuple("EighResult", ["eigenvalues", "eigenvectors"])
QRResult = namedtuple("QRResult", ["Q", "R"])
SVDResult = namedtuple("SVDResult", ["U", "S", "Vh"])
SlogdetResult = namedtuple("SlogdetResult", ["sign", "logabsdet"])

FUNCTIONS = (
    "cholesky",
    "cross",
    "det",
    "diagonal",
    "eig",
    "eigh",
    "eigvals",
    "eigvalsh",
    "inv",
    "matmul",
    "matrix_norm",
    "matrix_power",
    "matrix_rank",
    "matrix_transpose",
    "outer",
    "pinv",
    "qr",
    "slogdet",
    "solve",
    "svd",
    "svdvals",
    "tensordot",
    "trace",
    "vecdot",
    "vector_norm",
)

# The table entries (installed on LinalgNamespace by ``install`` at the end of this module).
ENTRIES = (
    "cholesky",
    "cross",
    "det",
    "diagonal",
    "eig",
    "eigh",
    "inv",
    "outer",
    "pinv",
    "qr",
    "slogdet",
    "solve",
    "svd",
    "trace",
    "vector_norm",
)

__all__ = ["LinalgNamespace", "EigResult", "EighResult", "QRResult", "SVDResult", "SlogdetResult", *ENTRIES]


# --------------------------------------------------------------------------------------------
# Helpers: argument checks on raw arrays (forwards), array API code for the derivatives.


def _matrix(x, fname, argname="x", square=False):
    """Check that raw array ``x`` is a stack of matrices (square ones if ``square``)."""
    if x.ndim < 2:
        raise ValueError(
            f"linalg.{fname}(): argument '{argname}' must have at least 2 dimensions, got {x.ndim}"
        )
    if square and x.shape[-1] != x.shape[-2]:
        raise ValueError(
            f"linalg.{fname}(): argument '{argname}' must be a stack of square matrices, got "
            f"shape {tuple(x.shape)}"
        )


def _floating(xp, x, fname, argname="x"):
    if not xp.isdtype(x.dtype, ("real floating", "complex floating")):
        raise TypeError(
            f"linalg.{fname}(): argument '{argname}' must have a floating-point dtype, got {x.dtype}"
        )


def _mH(xp, a):
    return conj(xp, xp.matrix_transpose(a))


def _eye(xp, n, like, m=None, k=0):
    return xp.eye(n, m, k=k, dtype=like.dtype, device=device_of(like))


def _diag_embed(xp, v):
    """Matrices with ``v`` (..., n) on the diagonal."""
    n = v.shape[-1]
    return v[..., :, None] * _eye(xp, n, v)


def _real(xp, a):
    return xp.real(a) if is_complex(xp, a) else a


def _over_gaps(xp, m, w):
    """``m[..., i, j] / (w[..., j] - w[..., i])`` off the diagonal, 0 on it: torch's ``m / E``,
    the vectors' part of the derivatives of ``eigh``, ``eig`` and ``svd``.

    A plain division, as torch's: inf or nan where ``w`` repeats. No value of ``m`` may be
    trusted to mean "no contribution" there: ``m[i, j]`` is also exactly 0 when the loss depends
    on the pair through ``w`` (``V diag(f(w)) V^H``: ``m[i, j]`` carries ``f(w_j) - f(w_i)``),
    where the quotient's limit is not 0; and a mask on values (``where(m == 0, ...)``) would
    also take the derivative of ``m`` away from every entry where it is 0, at any order. Terms
    of an output that got no gradient are skipped by structure instead (``undefined=True``).
    """
    eye = _eye(xp, w.shape[-1], w)
    return m / (w[..., None, :] - w[..., :, None] + eye) * (1 - eye)


def _eps(xp, a):
    return 1.1920929e-07 if real_dtype_of(xp, a.dtype) == xp.float32 else 2.220446049250313e-16


def _prod_others(xp, s):
    """``prod_{j != i} s_j`` along the last axis, exact with zeros (no division)."""
    n = s.shape[-1]
    eye = _eye(xp, n, s)
    m = s[..., None, :] * (1 - eye) + eye
    return xp.prod(m, axis=-1)


def _gauge_error(fname, what):
    return RuntimeError(
        f"linalg.{fname}() backward: the {what} in the complex case are specified up to "
        "multiplication by e^{i phi}. The specified loss function depends on this phase term, "
        "making it ill-defined."
    )


def _expand(xp, g, ndim, axes):
    """Insert size-1 axes into a reduction result ``g`` at ``axes`` (of an ``ndim`` input)."""
    key = tuple(None if i in axes else slice(None) for i in range(ndim))
    return g[key]


def _complex_like(xp, a, x):
    """``a`` with the complex dtype of real or complex ``x`` (complex64 for float32 input)."""
    if xp.isdtype(a.dtype, "complex floating"):
        return a
    return xp.astype(a, xp.complex64 if x.dtype == xp.float32 else xp.complex128)


# --------------------------------------------------------------------------------------------
# Decompositions.


def _cholesky_vjp(xp, g, out, upper):
    # Iain Murray (2016), arXiv 1602.07527; torch's cholesky_backward.
    L = out
    if upper:
        L = _mH(xp, L)
        g = _mH(xp, g)
    phi = xp.tril(xp.matmul(_mH(xp, L), g))
    phi = 0.5 * (phi + _mH(xp, xp.tril(phi, k=-1)))
    lh = _mH(xp, L)
    x = xp.linalg.solve(lh, phi)  # L^{-H} phi
    return _mH(xp, xp.linalg.solve(lh, _mH(xp, x)))  # L^{-H} phi L^{-1}


def _cholesky_jvp(xp, x_t, out, upper):
    # torch's cholesky_jvp: dL = L pi(L^{-1} dA L^{-H}), pi(X) = tril(X) - diag(X) / 2.
    L = _mH(xp, out) if upper else out
    y = xp.linalg.solve(L, x_t)
    y = _mH(xp, xp.linalg.solve(L, _mH(xp, y)))
    dl = xp.matmul(L, xp.tril(y) - 0.5 * _diag_embed(xp, xp.linalg.diagonal(y)))
    return _mH(xp, dl) if upper else dl


@op(grads={"x": _cholesky_vjp}, jvp=_cholesky_jvp)
def cholesky(xp, x, /, *, upper=False):
    """Cholesky decomposition of a complex Hermitian or real symmetric positive-definite matrix
    ``x`` (..., M, M): the lower triangular ``L`` with ``x = L L^H`` (``upper=True``: the upper
    triangular ``U = L^H`` with ``x = U^H U``).

    Only the lower (upper) triangle of ``x`` is read. Gradient: torch's (``cholesky_backward``),
    the Hermitian part ``L^{-H} Phi L^{-1}`` of the cotangent; the forward-mode rule is torch's
    ``cholesky_jvp`` (for a Hermitian tangent). Deviations: none.
    """
    _matrix(x, "cholesky", square=True)
    return xp.linalg.cholesky(x, upper=upper)


# The decompositions' VJPs receive None for an output that got no gradient (``undefined=True``)
# and skip its terms, as torch does (``torch/csrc/autograd/FunctionsManual.cpp``).


def _eigh_vjp(xp, g, out):
    gL, gV = g
    L, V = out
    vh = _mH(xp, V)
    if gV is None:  # V diag(gL) V^H: finite at repeated eigenvalues
        return xp.matmul(V * gL[..., None, :], vh)
    vhgv = xp.matmul(vh, gV)
    inner = _over_gaps(xp, 0.5 * (vhgv - _mH(xp, vhgv)), L)
    if gL is not None:
        inner = inner + _diag_embed(xp, gL)
    r = xp.matmul(V, xp.matmul(inner, vh))
    if is_complex(xp, V):
        im = xp.imag(xp.linalg.diagonal(vhgv))
        r = checked(xp, xp.abs(im) <= 1e-2, lambda: _gauge_error("eigh", "eigenvectors"), r, im.ndim - 1)
    return r


def _eigh_jvp(xp, x_t, out):
    # torch's linalg_eig_jvp (is_hermitian): dP = V^H dA V, dL = re(diag(dP)),
    # dV = V (dP / E) with E[i, j] = L_j - L_i and 0 on the diagonal (torch's gauge).
    L, V = out
    dp = xp.matmul(_mH(xp, V), xp.matmul(x_t, V))
    return _real(xp, xp.linalg.diagonal(dp)), xp.matmul(V, _over_gaps(xp, dp, L))


@op(grads={"x": _eigh_vjp}, jvp=_eigh_jvp, outputs=EighResult, undefined=True)
def eigh(xp, x, /):
    """Eigenvalues (ascending, real) and eigenvectors (columns) of a complex Hermitian or real
    symmetric matrix ``x`` (..., M, M), as ``EighResult(eigenvalues, eigenvectors)``.

    Eigenvectors are defined up to sign (a phase for complex input), so a loss must not depend
    on it (complex: the backward checks this, as torch). Gradient: torch's,
    ``V (diag(gL) + skew(V^H gV) / E) V^H`` with ``E[i, j] = L_j - L_i``; the forward-mode rule
    is torch's ``linalg_eig_jvp`` (Hermitian tangent; torch's gauge: ``V^H dV`` has a zero
    diagonal). Infinite or nan at repeated eigenvalues once the eigenvectors get a gradient, as
    torch; the eigenvalues alone have a finite gradient there. Deviations: none.
    """
    _matrix(x, "eigh", square=True)
    return tuple(xp.linalg.eigh(x))


def _eig_vjp(xp, g, out):
    gL, gV = g
    L, V = out
    vh = _mH(xp, V)
    if gV is None:  # V^{-H} diag(gL) V^H
        return xp.linalg.solve(vh, gL[..., :, None] * vh)
    vhgv = xp.matmul(vh, gV)
    d = xp.linalg.diagonal(vhgv)
    # Project onto the tangent space at V^H V of matrices with columns of norm 1.
    vhgv = vhgv - xp.matmul(vh, V * xp.real(d)[..., None, :])
    inner = _over_gaps(xp, vhgv, conj(xp, L))
    if gL is not None:
        inner = inner + _diag_embed(xp, gL)
    r = xp.linalg.solve(vh, xp.matmul(inner, vh))
    im = xp.imag(d)
    return checked(xp, xp.abs(im) <= 1e-2, lambda: _gauge_error("eig", "eigenvectors"), r, im.ndim - 1)


def _eig_jvp(xp, x_t, out):
    # torch's linalg_eig_jvp: dP = V^{-1} dA V, dL = diag(dP), dV = V (dP / E) (0 diagonal),
    # then projected so that the columns keep norm 1 (re(diag(V^H dV)) = 0).
    L, V = out
    dp = xp.linalg.solve(V, xp.matmul(_complex_like(xp, x_t, x_t), V))
    dv = xp.matmul(V, _over_gaps(xp, dp, L))
    norm = xp.real(xp.linalg.diagonal(xp.matmul(_mH(xp, V), dv)))
    return xp.linalg.diagonal(dp), dv - V * xp.astype(norm, V.dtype)[..., None, :]


@op(grads={"x": _eig_vjp}, jvp=_eig_jvp, outputs=EigResult, undefined=True)
def eig(xp, x, /):
    """Eigenvalues and right eigenvectors (columns, unit norm) of a square matrix ``x``
    (..., M, M), as ``EigResult(eigenvalues, eigenvectors)``; both have a complex dtype
    (``complex64`` for ``float32`` input, ``complex128`` for ``float64``).

    Gradient: torch's (``linalg_eig_backward``); the forward-mode rule is torch's
    ``linalg_eig_jvp`` (its gauge: ``V^{-1} dV`` has a zero diagonal, then the columns keep
    norm 1). Eigenvectors are defined up to a phase, which a loss must not depend on (the
    backward checks this, as torch). Deviations: none; at repeated eigenvalues, as ``eigh``.
    """
    _matrix(x, "eig", square=True)
    _floating(xp, x, "eig")
    w, v = xp.linalg.eig(x)
    return _complex_like(xp, w, x), _complex_like(xp, v, x)


def _qr_unsupported(mode, x_shape):
    if mode == "complete" and x_shape[-2] > x_shape[-1]:
        raise NotImplementedError(
            "the derivative of linalg.qr with mode='complete' and more rows than columns is not "
            "implemented: the extra columns of Q are not determined by the input (as in torch). "
            "Use mode='reduced'."
        )


def _qr_tall(xp, gQ, gR, Q, R):
    # A = QR with m >= n: gA = (gQ + Q copyltu(M)) R^{-H}, M = R gR^H - gQ^H Q.
    m = xp.matmul(R, _mH(xp, gR)) - xp.matmul(_mH(xp, gQ), Q)
    low = xp.tril(m, k=-1)
    n = m.shape[-1]
    eye = _eye(xp, n, m)
    d = xp.linalg.diagonal(m)
    if is_complex(xp, m):
        d = xp.astype(xp.real(d), m.dtype)
    sym = low + _mH(xp, low) + d[..., :, None] * eye
    b = gQ + xp.matmul(Q, sym)
    return _mH(xp, xp.linalg.solve(R, _mH(xp, b)))  # b R^{-H}


def _qr_vjp(xp, g, out, x_shape, mode):
    _qr_unsupported(mode, x_shape)
    gQ, gR = g
    Q, R = out
    m, n = x_shape[-2], x_shape[-1]
    if m >= n:
        return _qr_tall(xp, gQ, gR, Q, R)
    # Wide: A = Q [X | Y] with X = R[:, :m] square; Y = Q^H A_Y.
    x = R[..., :, :m]
    y = R[..., :, m:]
    gx = gR[..., :, :m]
    gy = gR[..., :, m:]
    gq = gQ + xp.matmul(xp.matmul(Q, y), _mH(xp, gy))
    gax = _qr_tall(xp, gq, gx, Q, x)
    gay = xp.matmul(Q, gy)
    # [gax | gay] without concatenation: selection matrices [I 0] and [0 I].
    return xp.matmul(gax, _eye(xp, m, gax, n)) + xp.matmul(gay, _eye(xp, n - m, gay, n, k=m))


def _qr_tall_jvp(xp, dA, Q, R):
    # m >= n: dR = pi(sym(Q^H dA R^{-1})) R, dQ = dA R^{-1} - Q pi(...), pi = triu with half
    # the diagonal.
    dar = _mH(xp, xp.linalg.solve(_mH(xp, R), _mH(xp, dA)))  # dA R^{-1}
    x = xp.matmul(_mH(xp, Q), dar)
    s = x + _mH(xp, x)
    s = xp.triu(s) - 0.5 * _diag_embed(xp, xp.linalg.diagonal(s))
    return dar - xp.matmul(Q, s), xp.matmul(s, R)


def _qr_jvp(xp, x_t, out, x_shape, mode):
    # torch's linalg_qr_jvp; wide A = [X | Y]: (dQ, dR_X) from X, dR_Y = Q^H (dY - dQ R_Y).
    _qr_unsupported(mode, x_shape)
    Q, R = out
    m, n = x_shape[-2], x_shape[-1]
    if m >= n:
        return _qr_tall_jvp(xp, x_t, Q, R)
    dq, drx = _qr_tall_jvp(xp, x_t[..., :, :m], Q, R[..., :, :m])
    dry = xp.matmul(_mH(xp, Q), x_t[..., :, m:] - xp.matmul(dq, R[..., :, m:]))
    return dq, xp.concat([drx, dry], axis=-1)


@op(grads={"x": _qr_vjp}, jvp=_qr_jvp, outputs=QRResult)
def qr(xp, x, /, *, mode="reduced"):
    """QR decomposition of ``x`` (..., M, N): ``QRResult(Q, R)`` with ``Q`` orthonormal columns
    and ``R`` upper triangular. ``mode``: ``'reduced'`` (Q (..., M, K), R (..., K, N),
    K = min(M, N)) or ``'complete'`` (Q (..., M, M), R (..., M, N)).

    Gradient and forward-mode rule: torch's (``linalg_qr_backward``, ``linalg_qr_jvp``).
    Not differentiable for ``mode='complete'`` with M > N, where Q's extra columns are not
    determined by ``x`` (raises in backward and forward mode, as torch). Deviations: none.
    """
    _matrix(x, "qr")
    if mode not in ("reduced", "complete"):
        raise ValueError(f"linalg.qr(): argument 'mode' must be 'reduced' or 'complete', got {mode!r}")
    return tuple(xp.linalg.qr(x, mode=mode))


def _svd_vjp(xp, g, out, full_matrices):
    # torch's svd_backward, each term only for the outputs that got a gradient.
    gU, gS, gVh = g
    U, S, Vh = out
    k = S.shape[-1]
    m = U.shape[-2]
    n = Vh.shape[-1]
    if full_matrices and m > k:
        gU = None if gU is None else _fold_extra_columns(xp, gU, U, k)
        U = U[..., :, :k]
    if full_matrices and n > k:
        gVh = None if gVh is None else _mH(xp, _fold_extra_columns(xp, _mH(xp, gVh), _mH(xp, Vh), k))
        Vh = Vh[..., :k, :]
    if gU is None and gVh is None:  # U diag(gS) Vh: finite at repeated or zero singular values
        return xp.matmul(U * gS[..., None, :], Vh)
    uhgu = None if gU is None else _skew(xp, xp.matmul(_mH(xp, U), gU))
    vhgv = None if gVh is None else _skew(xp, xp.matmul(Vh, _mH(xp, gVh)))
    ga = _over_gaps(xp, _svd_gap_terms(xp, uhgu, vhgv, S), S * S)
    if gS is not None:
        ga = ga + _diag_embed(xp, xp.astype(gS, ga.dtype) if is_complex(xp, ga) else gS)
    if uhgu is not None and is_complex(xp, U):
        ga = ga + _diag_embed(xp, xp.linalg.diagonal(uhgu) / xp.astype(2 * S, uhgu.dtype))
    if m > k and gU is not None:
        gusinv = gU / xp.astype(S, gU.dtype)[..., None, :]
        ga = xp.matmul(U, ga) + gusinv - xp.matmul(U, xp.matmul(_mH(xp, U), gusinv))
        ga = xp.matmul(ga, Vh)
    elif n > k and gVh is not None:
        sinvgvh = gVh / xp.astype(S, gVh.dtype)[..., :, None]
        ga = xp.matmul(ga, Vh) + sinvgvh - xp.matmul(xp.matmul(sinvgvh, _mH(xp, Vh)), Vh)
        ga = xp.matmul(U, ga)
    elif m >= n:
        ga = xp.matmul(U, xp.matmul(ga, Vh))
    else:
        ga = xp.matmul(xp.matmul(U, ga), Vh)
    if is_complex(xp, U):
        # The loss must not depend on the phase of the singular vectors (torch's check).
        imu = xp.zeros_like(S) if uhgu is None else xp.imag(xp.linalg.diagonal(uhgu))
        imv = xp.zeros_like(S) if vhgv is None else xp.imag(xp.linalg.diagonal(vhgv))
        ok = xp.abs(imu + imv) <= 1e-2 * (1 + xp.abs(imv))
        ga = checked(xp, ok, lambda: _gauge_error("svd", "singular vectors"), ga, ok.ndim - 1)
    return ga


def _skew(xp, a):
    return a - _mH(xp, a)


def _svd_gap_terms(xp, uhgu, vhgv, S):
    """The numerator of the singular vectors' terms (torch's svd_backward): ``skew(U^H gU) S +
    S skew(V^H gV)``, with the term of an output that got no gradient left out."""
    if vhgv is None:
        return uhgu * S[..., None, :]
    if uhgu is None:
        return S[..., :, None] * vhgv
    return uhgu * S[..., None, :] + S[..., :, None] * vhgv


def _fold_extra_columns(xp, gU, U, k):
    """Fold the gradient of the extra columns ``U2`` of a full ``U`` into the first ``k``.

    ``U2`` is only defined up to ``U2 Q`` (Q unitary); for a loss invariant under that choice
    (``U2^H gU2`` Hermitian) dU2 = -U1 dU1^H U2 + U2 (skew), so the gradient of ``U1`` gains
    ``-U2 gU2^H U1``. A loss that depends on the basis itself has no well-defined gradient.
    """
    u1 = U[..., :, :k]
    u2 = U[..., :, k:]
    g1 = gU[..., :, :k]
    g2 = gU[..., :, k:]
    h = xp.matmul(_mH(xp, u2), g2)
    skew = xp.max(xp.abs(h - _mH(xp, h)))
    scale = xp.max(xp.abs(h))
    ok = skew <= 64 * _eps(xp, h) ** 0.5 * scale  # also True when g2 is zero
    return checked(xp, ok, _basis_error, g1 - xp.matmul(u2, xp.matmul(_mH(xp, g2), u1)))


def _basis_error():
    return RuntimeError(
        "linalg.svd() backward: with full_matrices=True, the loss depends on the extra "
        "singular vectors (columns of U or rows of Vh beyond min(M, N)) through their "
        "particular basis, which is not determined by the input; only a dependence through "
        "the subspace they span (e.g. U2 @ U2^H) is differentiable. Use "
        "full_matrices=False, or U[..., :k] / Vh[..., :k, :]."
    )


def _svd_jvp(xp, x_t, out, full_matrices):
    # torch's linalg_svd_jvp: dP = U^H dA V, dS = re(diag(dP)); U^H dU and V^H dV from the
    # off-diagonal of dP (over E[i, j] = S_j^2 - S_i^2) and, for complex input, half of the
    # imaginary part of diag(dP) / S each (torch's gauge); plus the parts of dU (dVh) outside
    # the span of U (V) when M > K (N > K).
    U, S, Vh = out
    k = S.shape[-1]
    m, n = x_t.shape[-2], x_t.shape[-1]
    u, vh = U[..., :, :k], Vh[..., :k, :]
    v = _mH(xp, vh)
    dp = xp.matmul(_mH(xp, u), xp.matmul(x_t, v))
    d = xp.linalg.diagonal(dp)
    dpo = dp * (1 - _eye(xp, k, S))
    s2 = S * S
    om_u = _over_gaps(xp, dpo * S[..., None, :] + S[..., :, None] * _mH(xp, dpo), s2)
    om_v = _over_gaps(xp, S[..., :, None] * dpo + _mH(xp, dpo) * S[..., None, :], s2)
    if is_complex(xp, dp):
        half = _diag_embed(xp, (d - xp.astype(xp.real(d), d.dtype)) / xp.astype(2 * S, d.dtype))
        om_u = om_u + half
        om_v = om_v - half
    du = xp.matmul(u, om_u)
    dvh = -xp.matmul(om_v, vh)
    if m > k:
        davs = xp.matmul(x_t, v) / S[..., None, :]
        du = du + davs - xp.matmul(u, xp.matmul(_mH(xp, u), davs))
    if n > k:
        suda = xp.matmul(_mH(xp, u), x_t) / S[..., :, None]
        dvh = dvh + suda - xp.matmul(xp.matmul(suda, v), vh)
    # The extra columns of a full U (rows of Vh) follow the first K so that U stays unitary:
    # dU2 = -U1 dU1^H U2 (deviation: torch gives them a zero tangent).
    if full_matrices and m > k:
        du = xp.concat([du, -xp.matmul(u, xp.matmul(_mH(xp, du), U[..., :, k:]))], axis=-1)
    if full_matrices and n > k:
        dvh = xp.concat([dvh, -xp.matmul(xp.matmul(Vh[..., k:, :], _mH(xp, dvh)), vh)], axis=-2)
    return du, _real(xp, d), dvh


@op(grads={"x": _svd_vjp}, jvp=_svd_jvp, outputs=SVDResult, undefined=True)
def svd(xp, x, /, *, full_matrices=True):
    """Singular value decomposition ``x = U diag(S) Vh`` of ``x`` (..., M, N), as
    ``SVDResult(U, S, Vh)``; ``S`` descending, real. ``full_matrices``: U (..., M, M) and
    Vh (..., N, N) if True, else (..., M, K) and (..., K, N) with K = min(M, N).

    Gradient and forward-mode rule: torch's (``svd_backward``, ``linalg_svd_jvp``, with its
    gauge for the singular vectors). Singular vectors are defined up to sign (a shared phase
    for complex input), which a loss must not depend on. At repeated singular values (and at
    zero ones when M != N), as ``eigh``. Deviation: with ``full_matrices=True`` the extra columns of U (rows of Vh) span a
    subspace but their basis is arbitrary: a loss may depend on them only through that
    subspace (e.g. ``U2 @ U2^H``), which gets its exact gradient (any other dependence raises
    in backward); torch ignores their gradient. Their tangent keeps U (Vh) unitary,
    ``dU2 = -U1 dU1^H U2``; torch's is zero.
    """
    _matrix(x, "svd")
    return tuple(xp.linalg.svd(x, full_matrices=full_matrices))


# --------------------------------------------------------------------------------------------
# Inverses and solves.


def _inv_vjp(xp, g, out):
    ih = _mH(xp, out)
    return -xp.matmul(ih, xp.matmul(g, ih))


def _inv_jvp(xp, x_t, out):
    return -xp.matmul(out, xp.matmul(x_t, out))


@op(grads={"x": _inv_vjp}, jvp=_inv_jvp)
def inv(xp, x, /):
    """Multiplicative inverse of a square matrix ``x`` (..., M, M).

    Gradient: ``-A^{-H} g A^{-H}``; forward mode: ``-A^{-1} dA A^{-1}``. Deviations: none.
    """
    _matrix(x, "inv", square=True)
    return xp.linalg.inv(x)


def _solve_vjp(xp, g, x1, out, x2_shape, needs):
    vector = len(x2_shape) == 1
    ah = _mH(xp, x1)
    if vector:
        gb = xp.linalg.solve(ah, g[..., None])[..., 0]
    else:
        gb = xp.linalg.solve(ah, g)
    ga = None
    if needs[0]:
        if vector:
            ga = -(gb[..., :, None] * conj(xp, out)[..., None, :])
        else:
            ga = -xp.matmul(gb, _mH(xp, out))
    return ga, (gb if needs[1] else None)


def _solve_jvp(xp, x1_t, x2_t, x1, out, x2_shape, needs):
    # torch's linalg_solve_jvp: dX = A^{-1} (dB - dA X) (a term only for a defined tangent).
    vector = len(x2_shape) == 1
    r = (x2_t[..., None] if vector else x2_t) if needs[1] else None
    if needs[0]:
        da_x = xp.matmul(x1_t, out[..., None] if vector else out)
        r = -da_x if r is None else r - da_x
    dx = xp.linalg.solve(x1, r)
    return dx[..., 0] if vector else dx


# torch saves A and the result whichever input requires grad (linalg_solve_backward): one
# joint VJP naming both.
@op(grads={("x1", "x2"): _solve_vjp}, jvp=_solve_jvp)
def solve(xp, x1, x2, /):
    """Solution ``X`` of ``x1 X = x2`` for a square ``x1`` (..., M, M). ``x2`` of shape (M,) is
    a vector (result (..., M)); otherwise ``x2`` (..., M, K) is a stack of matrices whose batch
    dimensions broadcast with those of ``x1``.

    Gradients: ``gB = A^{-H} g``, ``gA = -gB X^H``; forward mode: ``A^{-1} (dB - dA X)``.
    Deviations: none (torch also saves its LU factorisation; see docs/deviations.md).
    """
    _matrix(x1, "solve", "x1", square=True)
    if x2.ndim == 0:
        raise ValueError("linalg.solve(): argument 'x2' must have at least 1 dimension, got 0")
    return xp.linalg.solve(x1, x2)


def _pinv_vjp(xp, g, x, out):
    # torch's pinv_backward.
    mm, p, ph, gh = xp.matmul, out, _mH(xp, out), _mH(xp, g)
    if x.shape[-2] <= x.shape[-1]:
        K = mm(gh, p)
        kph = mm(K, ph)
        return -_mH(xp, mm(p, K)) + kph - mm(mm(x, p), kph) + mm(mm(ph, p), gh - mm(K, x))
    K = mm(p, gh)
    phk = mm(ph, K)
    return -_mH(xp, mm(K, p)) + mm(mm(gh - mm(x, K), p), ph) + phk - mm(mm(phk, p), x)


def _pinv_jvp(xp, x_t, x, out):
    # torch's pinv_jvp.
    mm, p, ph, th = xp.matmul, out, _mH(xp, out), _mH(xp, x_t)
    if x.shape[-2] <= x.shape[-1]:
        K = mm(ph, th)
        return mm(p, K - _mH(xp, K) - mm(K, mm(x, p))) + mm(th - mm(p, mm(x, th)), mm(ph, p))
    K = mm(p, x_t)
    kh = _mH(xp, K)
    return mm(kh - K - mm(mm(p, x), kh), p) + mm(mm(p, ph), th - mm(mm(th, x), p))


@op(grads={"x": _pinv_vjp}, jvp=_pinv_jvp)
def pinv(xp, x, /, *, rtol=None):
    """Moore-Penrose pseudo-inverse of ``x`` (..., M, N); singular values at most
    ``rtol * largest`` are treated as zero (default ``max(M, N) * eps``).

    Gradient and forward-mode rule: torch's (``pinv_backward``, ``pinv_jvp``), valid where the
    rank is locally constant; ``rtol`` gets no gradient. Deviations: none.
    """
    _matrix(x, "pinv")
    return xp.linalg.pinv(x, rtol=rtol)


# --------------------------------------------------------------------------------------------
# Determinants.


def _det_vjp(xp, g, x, out):
    n = x.shape[-1]
    if n == 0:
        return None
    # The gradient is g * conj(cofactor matrix) = g * conj(det) * A^{-H} when A is invertible.
    # Near or at a singular matrix A^{-1} is inaccurate or undefined, so there the cofactors
    # are computed through A = U S Vh: adj(A)^H = conj(det(U) det(Vh)) U diag(prod_{j!=i} s_j) Vh,
    # which is exact at rank n-1 (torch 2.13 returns zeros at singular matrices). Both are
    # computed, each on a stand-in matrix where the other applies, and selected with where():
    # no branch on values (lazy and traced arrays), no nan in the unused one.
    norms = xp.prod(xp.sqrt(xp.sum(xp.abs(x) ** 2, axis=-2)), axis=-1)
    ratio = xp.abs(out) / norms  # Hadamard ratio, in [0, 1]; small when ill-conditioned
    ok = ratio >= _eps(xp, x) ** 0.5  # False for nan (a zero column)
    okm = ok[..., None, None]
    eye = _eye(xp, n, x)
    c = g * conj(xp, out)
    regular = c[..., None, None] * _mH(xp, xp.linalg.inv(xp.where(okm, x, eye)))
    if all_true_at_hand(xp, ok):
        return regular  # a shortcut only: the selection below would give the same
    # Stand-in for the regular entries: diag(1..n), distinct singular values (finite backward).
    steps = xp.astype(xp.arange(1, n + 1, device=device_of(x)), x.dtype)
    u, s, vh = xp.linalg.svd(xp.where(okm, _diag_embed(xp, steps), x), full_matrices=False)
    alpha = conj(xp, xp.linalg.det(u) * xp.linalg.det(vh))
    p = _prod_others(xp, s)
    if is_complex(xp, x):
        p = xp.astype(p, x.dtype)
    singular = xp.matmul(((g * alpha)[..., None, None] * u) * p[..., None, :], vh)
    return xp.where(okm, regular, singular)


def _det_jvp(xp, x_t, x, out):
    # d det = tr(adj(A) dA): the cofactor matrix of the VJP (also at singular matrices, where
    # torch 2.13 perturbs its LU instead), transposed.
    if x.shape[-1] == 0:
        return xp.zeros_like(out)
    cof = conj(xp, _det_vjp(xp, xp.ones_like(out), x, out))
    return xp.sum(cof * x_t, axis=(-2, -1))


@op(grads={"x": _det_vjp}, jvp=_det_jvp)
def det(xp, x, /):
    """Determinant of a square matrix ``x`` (..., M, M).

    Gradient: ``g * conj(cofactor matrix)`` (``g * conj(det) * A^{-H}`` when invertible);
    forward mode: ``tr(adj(A) dA)``. Deviation from torch: at a singular matrix the cofactor
    matrix is computed through an SVD (exact at rank M-1, so it agrees with finite
    differences); torch 2.13 returns zeros there.
    """
    _matrix(x, "det", square=True)
    return xp.linalg.det(x)


def _slogdet_vjp(xp, g, x, sign):
    gs, gl = g
    if is_complex(xp, x):
        # d log det = tr(A^{-1} dA) = d logabsdet + i d(arg); d sign = i sign d(arg).
        c = gl + 1j * xp.imag(gs * conj(xp, sign))
    else:
        c = gl
    return c[..., None, None] * _mH(xp, xp.linalg.inv(x))


def _slogdet_jvp(xp, x_t, x, sign):
    # torch's slogdet_jvp: t = tr(A^{-1} dA); d logabsdet = re(t), d sign = i im(t) sign (0 for
    # real input).
    t = xp.sum(xp.linalg.diagonal(xp.linalg.solve(x, x_t)), axis=-1)
    if is_complex(xp, t):
        return 1j * xp.imag(t) * sign, xp.real(t)
    return xp.zeros_like(sign), t


# torch saves A and sign (not logabsdet): the VJP names that output only.
@op(grads={"x": _slogdet_vjp}, jvp=_slogdet_jvp, outputs=SlogdetResult)
def slogdet(xp, x, /):
    """Sign (or phase, for complex input) and natural log of the absolute value of the
    determinant of ``x`` (..., M, M), as ``SlogdetResult(sign, logabsdet)``.

    For real input ``sign`` requires grad as in torch, with a zero derivative. Gradient of
    ``logabsdet``: ``g A^{-H}`` (complex: with the phase's ``i im(g_sign conj(sign))``);
    forward mode (torch's ``slogdet_jvp``), with ``t = tr(A^{-1} dA)``: ``re(t)``, and
    ``i im(t) sign`` for a complex sign. Deviations: none.
    """
    _matrix(x, "slogdet", square=True)
    return tuple(xp.linalg.slogdet(x))


# --------------------------------------------------------------------------------------------
# Norms.


def _vector_norm_vjp(xp, g, x, out, axis, keepdims, ord):
    # torch's norm_backward.
    nd = x.ndim
    axes = normalize_axis(axis, nd)
    if not keepdims:
        g = _expand(xp, g, nd, axes)
        out = _expand(xp, out, nd, axes)
    if ord == 0:
        return xp.zeros_like(x)
    if ord == 1:
        return sgn(xp, x) * g
    if ord == 2:
        zero = out == 0
        safe = xp.where(zero, xp.ones_like(out), out)
        scale = xp.where(zero, xp.zeros_like(out), g / safe)
        return x * scale
    ax = xp.abs(x)
    if ord in (float("inf"), float("-inf")):
        mask = xp.logical_or(ax == out, xp.isnan(ax))
        mask = xp.astype(mask, g.dtype)
        count = xp.sum(mask, axis=axes, keepdims=True)
        return sgn(xp, x) * ((g / count) * mask)
    if ord < 1:
        zx = x == 0
        safe = xp.where(zx, xp.ones_like(ax), ax)
        scaled = sgn(xp, x) * xp.where(zx, xp.zeros_like(ax), safe ** (ord - 1))
        return scaled * (g * out ** (1 - ord))
    zero = out == 0
    safe = xp.where(zero, xp.ones_like(out), out)
    scale = xp.where(zero, xp.zeros_like(out), g / safe ** (ord - 1))
    if ord < 2:
        return (sgn(xp, x) * ax ** (ord - 1)) * scale
    return (x * ax ** (ord - 2)) * scale


def _vector_norm_jvp(xp, x_t, x, out, axis, keepdims, ord):
    # torch's norm_jvp: the norm is real, so its tangent is re(sum(conj(G) dx)) with G its
    # gradient for a cotangent of ones (the same masks: 0 at 0, ties of inf/-inf share).
    G = _vector_norm_vjp(xp, xp.ones_like(out), x, out, axis, keepdims, ord)
    return xp.sum(_real(xp, conj(xp, G) * x_t), axis=normalize_axis(axis, x.ndim), keepdims=keepdims)


@op(grads={"x": _vector_norm_vjp}, jvp=_vector_norm_jvp)
def vector_norm(xp, x, /, *, axis=None, keepdims=False, ord=2):
    """Vector ``ord``-norm of ``x`` over ``axis`` (an int, a tuple, or None: all axes,
    flattened). ``ord``: any real number, ``inf`` or ``-inf`` (0 counts non-zero elements).

    Gradients and forward-mode rule as torch (``norm_backward``, ``norm_jvp``): 0 at the zero
    vector for ``ord=2``; ties of ``ord=inf``/``-inf`` share evenly; ``ord=0`` has a zero
    derivative. Deviation: the second-order gradient at the zero vector is 0 (torch: nan).
    """
    _floating(xp, x, "vector_norm")
    normalize_axis(axis, x.ndim, "linalg.vector_norm")
    return xp.linalg.vector_norm(x, axis=axis, keepdims=keepdims, ord=ord)


# --------------------------------------------------------------------------------------------
# Shape-level and bilinear functions.


def _trace_vjp(xp, g, x_shape, offset):
    # A selection, not a product with the identity: an inf or nan in g stays on the diagonal
    # (inf * 0 would put nan elsewhere; torch scatters).
    z = xp.zeros_like(g)[..., None, None]
    on_diagonal = xp.eye(x_shape[-2], x_shape[-1], k=offset, dtype=xp.bool, device=device_of(g))
    return xp.where(on_diagonal, g[..., None, None], z)


@op(grads={"x": _trace_vjp}, jvp=LINEAR)
def trace(xp, x, /, *, offset=0, dtype=None):
    """Sum along the diagonal ``offset`` of the matrices of ``x`` (..., M, N).

    Gradient: ``g`` on that diagonal, 0 elsewhere (linear). Deviations: none.
    """
    _matrix(x, "trace")
    return xp.linalg.trace(x, offset=offset, dtype=dtype)


def _diagonal_vjp(xp, g, x_shape, offset):
    # Scatter g (..., L) onto the diagonal `offset` of an (n, m) matrix: Q diag(g) P with
    # selection matrices Q (n, L) and P (L, m).
    n, m = x_shape[-2], x_shape[-1]
    length = g.shape[-1]
    if offset >= 0:
        q = _eye(xp, n, g, length)
        p = _eye(xp, length, g, m, k=offset)
    else:
        q = _eye(xp, n, g, length, k=offset)
        p = _eye(xp, length, g, m)
    return xp.matmul(q * g[..., None, :], p)


@op(grads={"x": _diagonal_vjp}, jvp=LINEAR, view=True)
def diagonal(xp, x, /, *, offset=0):
    """The diagonal ``offset`` of the matrices of ``x`` (..., M, N), shape (..., L). A view of
    ``x`` where the backend returns one.

    Gradient: ``g`` scattered onto that diagonal (linear). Deviations: none.
    """
    _matrix(x, "diagonal")
    return xp.linalg.diagonal(x, offset=offset)


def _vector_axis(axis, ndim):
    # A non-negative axis counts in the broadcast shape (the spec): make it negative, so that
    # it also names the right axis of an operand with fewer dimensions.
    return axis if axis < 0 else axis - ndim


def _cross_x1_vjp(xp, g, x2, axis):
    return xp.linalg.cross(conj(xp, x2), g, axis=_vector_axis(axis, g.ndim))


def _cross_x2_vjp(xp, g, x1, axis):
    return xp.linalg.cross(g, conj(xp, x1), axis=_vector_axis(axis, g.ndim))


def _cross_jvp(xp, x1_t, x2_t, x1, x2, axis, needs):
    return _product_rule(xp.linalg.cross, x1_t, x2_t, x1, x2, needs, axis=axis)


def _product_rule(f, x1_t, x2_t, x1, x2, needs, **kw):
    """The tangent of bilinear ``f(x1, x2)``: a term per defined tangent (``needs``)."""
    a = f(x1_t, x2, **kw) if needs[0] else None
    b = f(x1, x2_t, **kw) if needs[1] else None
    return b if a is None else (a if b is None else a + b)


@op(grads={"x1": _cross_x1_vjp, "x2": _cross_x2_vjp}, jvp=_cross_jvp)
def cross(xp, x1, x2, /, *, axis=-1):
    """Cross product of 3-element vectors along ``axis`` of ``x1`` and ``x2`` (broadcast
    together).

    Gradients: ``cross(conj(x2), g)`` and ``cross(g, conj(x1))``; forward mode: the product
    rule. Deviations: none.
    """
    return xp.linalg.cross(x1, x2, axis=axis)


def _outer_x1_vjp(xp, g, x2):
    return xp.matmul(g, conj(xp, x2))


def _outer_x2_vjp(xp, g, x1):
    return xp.matmul(conj(xp, x1), g)


def _outer_jvp(xp, x1_t, x2_t, x1, x2, needs):
    return _product_rule(xp.linalg.outer, x1_t, x2_t, x1, x2, needs)


@op(grads={"x1": _outer_x1_vjp, "x2": _outer_x2_vjp}, jvp=_outer_jvp)
def outer(xp, x1, x2, /):
    """Outer product of the vectors ``x1`` (M,) and ``x2`` (N,): shape (M, N).

    Gradients: ``g @ conj(x2)`` and ``conj(x1) @ g``; forward mode: the product rule.
    Deviations: none.
    """
    for name, a in (("x1", x1), ("x2", x2)):
        if a.ndim != 1:
            raise ValueError(
                f"linalg.outer(): argument '{name}' must be 1-dimensional, got {a.ndim} dimensions"
            )
    return xp.linalg.outer(x1, x2)


# matrix_power's two base cases (its other powers are products: see LinalgNamespace).


def _power01_vjp(xp, g, n):
    return g if n else xp.zeros_like(g)


def _power01_jvp(xp, x_t, n):
    return x_t * 1 if n else xp.zeros_like(x_t)


@op(grads={"x": _power01_vjp}, jvp=_power01_jvp, name="matrix_power")
def _power01(xp, x, n):
    """``x`` to the power ``n`` = 0 (the identity) or 1 (a copy of ``x``)."""
    return xp.asarray(x, copy=True) if n else xp.linalg.matrix_power(x, 0)


_power01.node_name = "linalg.matrix_power"


# --------------------------------------------------------------------------------------------
# The namespace: the entries above are installed as its methods (end of module); the methods
# below are hand-written, each with the reason.


class LinalgNamespace(types.ModuleType):
    """The ``linalg`` extension of an xpgrad namespace (array API standard 2025.12)."""

    EigResult = EigResult
    EighResult = EighResult
    QRResult = QRResult
    SVDResult = SVDResult
    SlogdetResult = SlogdetResult

    def __init__(self, ns):
        super().__init__(f"{ns.__name__}.linalg")
        self.__doc__ = f"The array API linalg extension of {ns.__name__} (differentiable)."
        self._ns = ns
        self._root = ns  # the namespace the generated methods record in
        self._xp = ns._xp
        self.__all__ = list(FUNCTIONS)
        # Not entries: the main namespace's own functions, the same (bound) methods.
        self.matmul = ns.matmul
        self.matrix_transpose = ns.matrix_transpose
        self.tensordot = ns.tensordot
        self.vecdot = ns.vecdot

    def __repr__(self):
        return f"<array API namespace {self.__name__!r}>"

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(FUNCTIONS))

    def _arg(self, x, fname, square=False):
        """``x`` as a Tensor of this namespace, checked as a stack of (square) matrices."""
        t = self._ns._tensor(x, f"linalg.{fname}")
        _matrix(t._data, fname, square=square)
        return t

    def _plain(self, raw):
        return Tensor._wrap_plain(self._ns, self._ns._ensure(raw))

    @staticmethod
    def _wants_derivative(x):
        # torch's _may_require_fw_or_bw_grad: grad mode on and x requires grad, or forward mode.
        return needs_grad(x) or bool(FORWARD_MODE.active)

    # Not entries: with a derivative to take they are the values of a decomposition (torch's
    # composite functions, which compute the vectors then too, and save what it saves);
    # without, the backend's cheaper function.

    def eigvalsh(self, x, /):
        """Eigenvalues (ascending, real) of a complex Hermitian or real symmetric matrix ``x``
        (..., M, M).

        Gradient: ``V diag(g) V^H``; forward mode: ``re(diag(V^H dA V))`` (V the eigenvectors;
        those of ``eigh``, which computes it when a derivative may be taken). Deviations: none.
        """
        x = self._arg(x, "eigvalsh", square=True)
        if self._wants_derivative(x):
            return self.eigh(x).eigenvalues
        return self._plain(self._xp.linalg.eigvalsh(x._data))

    def eigvals(self, x, /):
        """Eigenvalues of a square matrix ``x`` (..., M, M), with a complex dtype.

        Gradient: ``V^{-H} diag(g) V^H``; forward mode: ``diag(V^{-1} dA V)`` (V the
        eigenvectors; those of ``eig``, which computes it when a derivative may be taken).
        Deviations: none.
        """
        x = self._arg(x, "eigvals", square=True)
        _floating(self._xp, x._data, "eigvals")
        if self._wants_derivative(x):
            return self.eig(x).eigenvalues
        return self._plain(_complex_like(self._xp, self._xp.linalg.eigvals(x._data), x._data))

    def svdvals(self, x, /):
        """Singular values of ``x`` (..., M, N), descending, real.

        Gradient: ``U diag(g) Vh``; forward mode: ``re(diag(U^H dA V))`` (from ``svd``, which
        computes it when a derivative may be taken). Deviations: none.
        """
        x = self._arg(x, "svdvals")
        if self._wants_derivative(x):
            return self.svd(x, full_matrices=False).S
        return self._plain(self._xp.linalg.svdvals(x._data))

    # Not an entry: a product of matmuls (and an inv), as torch's composite matrix_power, so
    # that it saves what torch saves; its derivatives are theirs (the product rule).
    def matrix_power(self, x, n, /):
        """``x`` (..., M, M) raised to the integer power ``n`` (``n = 0``: the identity, with a
        zero derivative; ``n < 0``: powers of ``inv(x)``).

        Differentiable through repeated ``matmul`` (and ``inv``), as torch: the product rule in
        both modes. Deviations: none.
        """
        x = self._arg(x, "matrix_power", square=True)
        if isinstance(n, bool) or not isinstance(n, int):
            raise TypeError(f"linalg.matrix_power(): argument 'n' must be an int, got {type(n).__name__}")
        if n < 0:
            x = self.inv(x)
            if n == -1:
                return x  # inv's own result (torch returns it too: its saved set is inv's)
            n = -n
        if n <= 1:
            return apply(self._ns, _power01, (x,), {"n": n})
        result = None
        base = x
        while True:
            if n & 1:
                result = base if result is None else self._ns.matmul(result, base)
            n >>= 1
            if not n:
                return result
            base = self._ns.matmul(base, base)

    # Not an entry: defined through vector_norm, svdvals, sum, abs and max/min, as torch's
    # composite matrix_norm, whose derivatives (and saved values) are theirs.
    def matrix_norm(self, x, /, *, keepdims=False, ord="fro"):
        """Matrix norm of ``x`` (..., M, N): ``ord`` one of ``'fro'``, ``'nuc'``, ``1``, ``-1``,
        ``2``, ``-2``, ``inf``, ``-inf``.

        Differentiable through its definition, as torch: ``'fro'`` a vector 2-norm, ``'nuc'``
        the sum of the singular values, ``2``/``-2`` the largest/smallest singular value,
        ``1``/``-1`` (``inf``/``-inf``) the max/min absolute column (row) sum; ties of max/min
        share the derivative evenly. Deviations: none.
        """
        x = self._arg(x, "matrix_norm")
        _floating(self._xp, x._data, "matrix_norm")
        ns = self._ns
        inf = float("inf")
        if isinstance(ord, str):
            if ord == "fro":
                return self.vector_norm(x, axis=(-2, -1), keepdims=keepdims, ord=2)
            if ord != "nuc":
                raise ValueError(f"linalg.matrix_norm(): invalid 'ord' {ord!r}")
            r = ns.sum(self.svdvals(x), axis=-1)
        elif ord in (2, -2):
            s = self.svdvals(x)
            r = ns.max(s, axis=-1) if ord == 2 else ns.min(s, axis=-1)
        elif ord in (1, -1, inf, -inf):
            a = ns.sum(ns.abs(x), axis=-2 if ord in (1, -1) else -1)
            r = ns.max(a, axis=-1) if ord > 0 else ns.min(a, axis=-1)
        else:
            raise ValueError(
                f"linalg.matrix_norm(): argument 'ord' must be one of 'fro', 'nuc', 1, -1, 2, -2, "
                f"inf, -inf, got {ord!r}"
            )
        if keepdims:
            r = r[..., None, None]
        return r

    # Not an entry: not differentiable (an integer result).
    def matrix_rank(self, x, /, *, rtol=None):
        """Rank of ``x`` (..., M, N): the number of singular values larger than
        ``rtol * largest`` (default ``max(M, N) * eps``). Not differentiable (integer result)."""
        x = self._arg(x, "matrix_rank")
        if type(rtol) is Tensor:
            rtol = self._ns._raw(rtol, "linalg.matrix_rank", "rtol")
        return self._plain(self._xp.linalg.matrix_rank(x._data, rtol=rtol))


install(LinalgNamespace, sys.modules[__name__], prefix="linalg.")
