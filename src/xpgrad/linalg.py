"""The ``linalg`` extension of the array API standard (2025.12), differentiable.

``xp.linalg`` is a :class:`LinalgNamespace` built once per xpgrad namespace. Every function takes
the spec's signature, computes its forward pass with the backend's own ``linalg`` on raw arrays
and records a VJP written against the namespace it is called with (the raw backend in a plain
backward, the xpgrad namespace under ``create_graph=True``), so the same formula serves every
order of derivative. The formulas and conventions are torch.autograd's
(``torch/csrc/autograd/FunctionsManual.cpp``), with complex inputs in torch's conjugate Wirtinger
convention.

Documented deviations from torch:

- ``det``: at a singular matrix the gradient is the cofactor matrix (exact for rank n-1, computed
  through an SVD); torch 2.13 returns zeros there.
- ``svd(full_matrices=True)``: the extra columns of ``U`` (rows of ``Vh``) are only defined up to
  a rotation of the orthogonal complement. A loss that depends on them only through the subspace
  they span (e.g. ``U2 @ U2^H``) gets its exact gradient; one that depends on the particular basis
  raises. torch 2.13 silently ignores their gradient.
- Eigen/singular vector gradients with repeated eigen/singular values are infinite or NaN, as in
  torch, except in the terms the vectors' cotangent contributes exactly nothing to (0 there; in
  particular when the vector outputs get no gradient, the eigen/singular value formula).
- No backward formula branches on computed values (Dask stays lazy; ``jax.jit`` can trace
  them). Checks that a loss does not depend on the phase of complex vectors raise on eager
  backends, as torch; on lazy or traced arrays they turn the affected gradient into nan.
"""

from __future__ import annotations

import types
from collections import namedtuple

from ._math import all_true_at_hand, checked, conj, device_of, is_complex, normalize_axis, real_dtype_of, sgn
from ._ops import OUT, OUTS, needs_grad, record, record_multi
from ._tensor import Tensor

__all__ = [
    "LinalgNamespace",
    "EigResult",
    "EighResult",
    "QRResult",
    "SVDResult",
    "SlogdetResult",
]

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


# --------------------------------------------------------------------------------------------
# Helpers used inside VJPs (array API code against the ``xp`` they receive).


def _mT(xp, a):
    return xp.matrix_transpose(a)


def _mH(xp, a):
    return conj(xp, xp.matrix_transpose(a))


def _eye(xp, n, like, m=None, k=0):
    return xp.eye(n, m, k=k, dtype=like.dtype, device=device_of(like))


def _diag_embed(xp, v):
    """Matrices with ``v`` (..., n) on the diagonal."""
    n = v.shape[-1]
    return v[..., :, None] * _eye(xp, n, v)


def _safe_div(xp, num, den):
    """``num / den``, and 0 where ``num`` is 0 whatever ``den`` is (no nan from 0/0, also in
    the derivative). Backward formulas use it where torch skips a term whose cotangent was
    never given: an output with no gradient reaches a VJP as zeros, and the VJP may not ask
    whether they are (no branch on values: lazy and traced arrays)."""
    zero = num == 0
    return xp.where(zero, xp.zeros_like(num), num / xp.where(zero, xp.ones_like(den), den))


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


# --------------------------------------------------------------------------------------------
# VJPs.


def _cholesky_vjp(xp, g, L, *, upper):
    # Iain Murray (2016), arXiv 1602.07527; torch's cholesky_backward.
    if upper:
        L = _mH(xp, L)
        g = _mH(xp, g)
    phi = xp.tril(xp.matmul(_mH(xp, L), g))
    phi = 0.5 * (phi + _mH(xp, xp.tril(phi, k=-1)))
    lh = _mH(xp, L)
    x = xp.linalg.solve(lh, phi)  # L^{-H} phi
    return _mH(xp, xp.linalg.solve(lh, _mH(xp, x)))  # L^{-H} phi L^{-1}


def _inv_vjp(xp, g, inv):
    ih = _mH(xp, inv)
    return -xp.matmul(ih, xp.matmul(g, ih))


def _solve_vjp(xp, g, a, x, *, needs, vector):
    ah = _mH(xp, a)
    if vector:
        gb = xp.linalg.solve(ah, g[..., None])[..., 0]
    else:
        gb = xp.linalg.solve(ah, g)
    ga = None
    if needs[0]:
        if vector:
            ga = -(gb[..., :, None] * conj(xp, x)[..., None, :])
        else:
            ga = -xp.matmul(gb, _mH(xp, x))
    return ga, (gb if needs[1] else None)


def _det_vjp(xp, g, a, det):
    n = a.shape[-1]
    if n == 0:
        return None
    # The gradient is g * conj(cofactor matrix) = g * conj(det) * A^{-H} when A is invertible.
    # Near or at a singular matrix A^{-1} is inaccurate or undefined, so there the cofactors
    # are computed through A = U S Vh: adj(A)^H = conj(det(U) det(Vh)) U diag(prod_{j!=i} s_j) Vh,
    # which is exact at rank n-1 (torch 2.13 returns zeros at singular matrices). Both are
    # computed, each on a stand-in matrix where the other applies, and selected with where():
    # no branch on values (lazy and traced arrays), no nan in the unused one.
    norms = xp.prod(xp.sqrt(xp.sum(xp.abs(a) ** 2, axis=-2)), axis=-1)
    ratio = xp.abs(det) / norms  # Hadamard ratio, in [0, 1]; small when ill-conditioned
    ok = ratio >= _eps(xp, a) ** 0.5  # False for nan (a zero column)
    okm = ok[..., None, None]
    eye = _eye(xp, n, a)
    c = g * conj(xp, det)
    regular = c[..., None, None] * _mH(xp, xp.linalg.inv(xp.where(okm, a, eye)))
    if all_true_at_hand(xp, ok):
        return regular  # a shortcut only: the selection below would give the same
    # Stand-in for the regular entries: diag(1..n), distinct singular values (finite backward).
    steps = xp.astype(xp.arange(1, n + 1, device=device_of(a)), a.dtype)
    u, s, vh = xp.linalg.svd(xp.where(okm, _diag_embed(xp, steps), a), full_matrices=False)
    alpha = conj(xp, xp.linalg.det(u) * xp.linalg.det(vh))
    p = _prod_others(xp, s)
    if is_complex(xp, a):
        p = xp.astype(p, a.dtype)
    singular = xp.matmul(((g * alpha)[..., None, None] * u) * p[..., None, :], vh)
    return xp.where(okm, regular, singular)


def _slogdet_vjp(xp, g, a, sign):
    gs, gl = g
    if is_complex(xp, a):
        # d log det = tr(A^{-1} dA) = d logabsdet + i d(arg); d sign = i sign d(arg).
        c = gl + 1j * xp.imag(gs * conj(xp, sign))
    else:
        c = gl
    return c[..., None, None] * _mH(xp, xp.linalg.inv(a))


def _eigh_vjp(xp, g, L, V):
    gL, gV = g
    vh = _mH(xp, V)
    vhgv = xp.matmul(vh, gV)
    n = L.shape[-1]
    eye = _eye(xp, n, L)
    e = L[..., None, :] - L[..., :, None] + eye  # e[i, j] = L_j - L_i, 1 on the diagonal
    # Without a gradient for V (zeros) this is V diag(gL) V^H, finite at repeated eigenvalues.
    skew = 0.5 * (vhgv - _mH(xp, vhgv))
    inner = _safe_div(xp, skew, e) * (1 - eye) + _diag_embed(xp, gL)
    r = xp.matmul(V, xp.matmul(inner, vh))
    if is_complex(xp, V):
        im = xp.imag(xp.linalg.diagonal(vhgv))
        r = checked(xp, xp.abs(im) <= 1e-2, lambda: _gauge_error("eigh", "eigenvectors"), r, im.ndim - 1)
    return r


def _eig_vjp(xp, g, L, V):
    gL, gV = g
    vh = _mH(xp, V)
    vhgv = xp.matmul(vh, gV)
    d = xp.linalg.diagonal(vhgv)
    # Project onto the tangent space at V^H V of matrices with columns of norm 1.
    vhgv = vhgv - xp.matmul(vh, V * xp.real(d)[..., None, :])
    n = L.shape[-1]
    eye = _eye(xp, n, V)
    lc = conj(xp, L)
    e = lc[..., None, :] - lc[..., :, None] + eye
    # Without a gradient for V (zeros) this is V^{-H} diag(gL) V^H.
    inner = _safe_div(xp, vhgv, e) * (1 - eye) + xp.astype(_diag_embed(xp, gL), V.dtype)
    r = xp.linalg.solve(vh, xp.matmul(inner, vh))
    im = xp.imag(d)
    return checked(xp, xp.abs(im) <= 1e-2, lambda: _gauge_error("eig", "eigenvectors"), r, im.ndim - 1)


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


def _qr_vjp(xp, g, Q, R, *, m, n):
    gQ, gR = g
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


def _svd_vjp(xp, g, U, S, Vh, *, full):
    # torch's svd_backward. An output without a gradient reaches here as zeros: every term is
    # then zero (_safe_div: also at repeated or zero singular values), as torch skips it.
    gU, gS, gVh = g
    k = S.shape[-1]
    m = U.shape[-2]
    n = Vh.shape[-1]
    if full and m > k:
        gU = _fold_extra_columns(xp, gU, U, k)
        U = U[..., :, :k]
    if full and n > k:
        gVh = _mH(xp, _fold_extra_columns(xp, _mH(xp, gVh), _mH(xp, Vh), k))
        Vh = Vh[..., :k, :]
    cplx = is_complex(xp, U)
    uhgu = xp.matmul(_mH(xp, U), gU)
    vhgv = xp.matmul(Vh, _mH(xp, gVh))
    uhgu = uhgu - _mH(xp, uhgu)
    vhgv = vhgv - _mH(xp, vhgv)
    s2 = S * S
    eye = _eye(xp, k, S)
    e = s2[..., None, :] - s2[..., :, None] + eye
    ga = _safe_div(xp, uhgu * S[..., None, :] + S[..., :, None] * vhgv, e) * (1 - eye)
    ga = ga + _diag_embed(xp, xp.astype(gS, ga.dtype) if cplx else gS)
    if cplx:
        du = xp.linalg.diagonal(uhgu)
        ga = ga + _diag_embed(xp, _safe_div(xp, du, xp.astype(2 * S, du.dtype)))
    if m > k:
        ga = xp.matmul(U, ga)
        gusinv = _safe_div(xp, gU, xp.astype(S, gU.dtype)[..., None, :])
        ga = ga + gusinv - xp.matmul(U, xp.matmul(_mH(xp, U), gusinv))
        ga = xp.matmul(ga, Vh)
    elif n > k:
        ga = xp.matmul(ga, Vh)
        sinvgvh = _safe_div(xp, gVh, xp.astype(S, gVh.dtype)[..., :, None])
        ga = ga + sinvgvh - xp.matmul(xp.matmul(sinvgvh, _mH(xp, Vh)), Vh)
        ga = xp.matmul(U, ga)
    elif m >= n:
        ga = xp.matmul(U, xp.matmul(ga, Vh))
    else:
        ga = xp.matmul(xp.matmul(U, ga), Vh)
    if cplx:
        # The loss must not depend on the phase of the singular vectors (torch's check).
        imu = xp.imag(xp.linalg.diagonal(uhgu))
        imv = xp.imag(xp.linalg.diagonal(vhgv))
        ok = xp.abs(imu + imv) <= 1e-2 * (1 + xp.abs(imv))
        ga = checked(xp, ok, lambda: _gauge_error("svd", "singular vectors"), ga, ok.ndim - 1)
    return ga


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


def _pinv_vjp(xp, g, a, p):
    # torch's pinv_backward.
    m = a.shape[-2]
    n = a.shape[-1]
    ph = _mH(xp, p)
    gh = _mH(xp, g)
    mm = xp.matmul
    if m <= n:
        K = mm(gh, p)
        kph = mm(K, ph)
        return -_mH(xp, mm(p, K)) + kph - mm(mm(a, p), kph) + mm(mm(ph, p), gh - mm(K, a))
    K = mm(p, gh)
    phk = mm(ph, K)
    return -_mH(xp, mm(K, p)) + mm(mm(gh - mm(a, K), p), ph) + phk - mm(mm(phk, p), a)


def _vector_norm_vjp(xp, g, x, out, *, axes, keepdims, ord):
    # torch's norm_backward.
    nd = x.ndim
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


def _trace_vjp(xp, g, *, n, m, offset):
    # A selection, not a product with the identity: an inf or nan in g stays on the diagonal
    # (inf * 0 would put nan elsewhere; torch scatters).
    z = xp.zeros_like(g)[..., None, None]
    on_diagonal = xp.eye(n, m, k=offset, dtype=xp.bool, device=device_of(g))
    return xp.where(on_diagonal, g[..., None, None], z)


def _diagonal_vjp(xp, g, *, n, m, offset):
    # Scatter g (..., L) onto the diagonal `offset` of an (n, m) matrix: Q diag(g) P with
    # selection matrices Q (n, L) and P (L, m).
    length = g.shape[-1]
    if offset >= 0:
        q = _eye(xp, n, g, length)
        p = _eye(xp, length, g, m, k=offset)
    else:
        q = _eye(xp, n, g, length, k=offset)
        p = _eye(xp, length, g, m)
    return xp.matmul(q * g[..., None, :], p)


def _cross_vjp(xp, g, x1, x2, *, needs, axis):
    g1 = xp.linalg.cross(conj(xp, x2), g, axis=axis) if needs[0] else None
    g2 = xp.linalg.cross(g, conj(xp, x1), axis=axis) if needs[1] else None
    return g1, g2


def _outer_vjp(xp, g, x1, x2, *, needs):
    g1 = xp.matmul(g, conj(xp, x2)) if needs[0] else None
    g2 = xp.matmul(conj(xp, x1), g) if needs[1] else None
    return g1, g2


def _zero_vjp(xp, g):
    return xp.zeros_like(g)


def _identity_vjp(xp, g):
    return g


# --------------------------------------------------------------------------------------------
# The namespace.


def _requires(t):
    return type(t) is Tensor and t._requires_grad


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
        self._xp = ns._xp
        self.__all__ = list(FUNCTIONS)

    def __repr__(self):
        return f"<array API namespace {self.__name__!r}>"

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(FUNCTIONS))

    # -- argument handling -----------------------------------------------------------------

    def _arg(self, x, fname, argname="x"):
        return self._ns._tensor(x, f"linalg.{fname}", argname)

    def _matrix(self, x, fname, argname="x", square=False):
        x = self._arg(x, fname, argname)
        if x.ndim < 2:
            raise ValueError(
                f"linalg.{fname}(): argument '{argname}' must have at least 2 dimensions, got {x.ndim}"
            )
        if square and x.shape[-1] != x.shape[-2]:
            raise ValueError(
                f"linalg.{fname}(): argument '{argname}' must be a stack of square matrices, got "
                f"shape {tuple(x.shape)}"
            )
        return x

    def _float(self, x, fname, argname="x"):
        if not self._xp.isdtype(x.dtype, ("real floating", "complex floating")):
            raise TypeError(
                f"linalg.{fname}(): argument '{argname}' must have a floating-point dtype, got {x.dtype}"
            )

    def _rtol(self, rtol, fname):
        if type(rtol) is Tensor:
            return self._ns._raw(rtol, f"linalg.{fname}", "rtol")
        return rtol

    # -- decompositions ----------------------------------------------------------------------

    def cholesky(self, x, /, *, upper=False):
        """Cholesky decomposition of a complex Hermitian or real symmetric positive-definite
        matrix ``x`` (..., M, M): the lower triangular ``L`` with ``x = L L^H`` (``upper=True``:
        the upper triangular ``U = L^H`` with ``x = U^H U``). Only the lower (upper) triangle
        of ``x`` is read; the gradient is torch's (the Hermitian part of the cotangent)."""
        x = self._matrix(x, "cholesky", square=True)
        out = self._xp.linalg.cholesky(x._data, upper=upper)
        return record(
            self._ns, "linalg.cholesky", _cholesky_vjp, (x,), out, saved=(OUT,), kw={"upper": upper}
        )

    def eigh(self, x, /):
        """Eigenvalues (ascending, real) and eigenvectors (columns) of a complex Hermitian or
        real symmetric matrix ``x`` (..., M, M), as ``EighResult(eigenvalues, eigenvectors)``.

        Eigenvectors are defined up to sign (a phase for complex input), so a loss must not
        depend on it (complex: the backward checks this, as torch). Gradients are torch's
        (``V (diag(gL) + skew(V^H gV) / E) V^H``, infinite at repeated eigenvalues unless the
        eigenvectors get no gradient)."""
        x = self._matrix(x, "eigh", square=True)
        w, v = self._xp.linalg.eigh(x._data)
        res = record_multi(self._ns, "linalg.eigh", _eigh_vjp, (x,), (w, v), saved=(OUTS[0], OUTS[1]))
        return EighResult(*res)

    def eigvalsh(self, x, /):
        """Eigenvalues (ascending, real) of a complex Hermitian or real symmetric matrix ``x``
        (..., M, M). Gradient: ``V diag(g) V^H``."""
        x = self._matrix(x, "eigvalsh", square=True)
        if needs_grad(x):
            return self.eigh(x).eigenvalues
        return self._ns._tensor(self._ns._ensure(self._xp.linalg.eigvalsh(x._data)), "linalg.eigvalsh")

    def eig(self, x, /):
        """Eigenvalues and right eigenvectors (columns, unit norm) of a square matrix ``x``
        (..., M, M), as ``EigResult(eigenvalues, eigenvectors)``; both have a complex dtype
        (``complex64`` for ``float32`` input, ``complex128`` for ``float64``).

        Gradients are torch's (``linalg_eig_backward``); eigenvectors are defined up to a
        phase, which a loss must not depend on (the backward checks this, as torch)."""
        x = self._matrix(x, "eig", square=True)
        self._float(x, "eig")
        w, v = self._xp.linalg.eig(x._data)
        w, v = self._complex(w, x), self._complex(v, x)
        res = record_multi(self._ns, "linalg.eig", _eig_vjp, (x,), (w, v), saved=(OUTS[0], OUTS[1]))
        return EigResult(*res)

    def _complex(self, a, x):
        xp = self._xp
        if xp.isdtype(a.dtype, "complex floating"):
            return a
        dt = xp.complex64 if x.dtype == xp.float32 else xp.complex128
        return xp.astype(a, dt)

    def eigvals(self, x, /):
        """Eigenvalues of a square matrix ``x`` (..., M, M), with a complex dtype. Gradient:
        ``V^{-H} diag(g) V^H`` (V the eigenvectors)."""
        x = self._matrix(x, "eigvals", square=True)
        self._float(x, "eigvals")
        if needs_grad(x):
            return self.eig(x).eigenvalues
        w = self._complex(self._xp.linalg.eigvals(x._data), x)
        return self._ns._tensor(self._ns._ensure(w), "linalg.eigvals")

    def qr(self, x, /, *, mode="reduced"):
        """QR decomposition of ``x`` (..., M, N): ``QRResult(Q, R)`` with ``Q`` orthonormal
        columns and ``R`` upper triangular. ``mode``: ``'reduced'`` (Q (..., M, K), R (..., K, N),
        K = min(M, N)) or ``'complete'`` (Q (..., M, M), R (..., M, N)).

        Differentiable except for ``mode='complete'`` with M > N, where Q's extra columns are
        not determined by ``x`` (raises in backward, as torch)."""
        x = self._matrix(x, "qr")
        if mode not in ("reduced", "complete"):
            raise ValueError(f"linalg.qr(): argument 'mode' must be 'reduced' or 'complete', got {mode!r}")
        q, r = self._xp.linalg.qr(x._data, mode=mode)
        m, n = x.shape[-2], x.shape[-1]
        vjp = _qr_vjp
        if mode == "complete" and m > n:
            vjp = _qr_complete_vjp
        res = record_multi(
            self._ns, "linalg.qr", vjp, (x,), (q, r), saved=(OUTS[0], OUTS[1]), kw={"m": m, "n": n}
        )
        return QRResult(*res)

    def svd(self, x, /, *, full_matrices=True):
        """Singular value decomposition ``x = U diag(S) Vh`` of ``x`` (..., M, N), as
        ``SVDResult(U, S, Vh)``; ``S`` descending, real. ``full_matrices``: U (..., M, M) and
        Vh (..., N, N) if True, else (..., M, K) and (..., K, N) with K = min(M, N).

        Gradients are torch's (``svd_backward``). Singular vectors are defined up to sign
        (a shared phase for complex input), which a loss must not depend on. With
        ``full_matrices=True`` the extra columns of U (rows of Vh) span a subspace but their
        basis is arbitrary: a loss may depend on them only through that subspace (deviation:
        torch ignores their gradient)."""
        x = self._matrix(x, "svd")
        u, s, vh = self._xp.linalg.svd(x._data, full_matrices=full_matrices)
        res = record_multi(
            self._ns,
            "linalg.svd",
            _svd_vjp,
            (x,),
            (u, s, vh),
            saved=(OUTS[0], OUTS[1], OUTS[2]),
            kw={"full": bool(full_matrices)},
        )
        return SVDResult(*res)

    def svdvals(self, x, /):
        """Singular values of ``x`` (..., M, N), descending, real. Gradient: ``U diag(g) Vh``."""
        x = self._matrix(x, "svdvals")
        if needs_grad(x):
            return self.svd(x, full_matrices=False).S
        return self._ns._tensor(self._ns._ensure(self._xp.linalg.svdvals(x._data)), "linalg.svdvals")

    # -- inverses and solves ------------------------------------------------------------------

    def inv(self, x, /):
        """Multiplicative inverse of a square matrix ``x`` (..., M, M). Gradient:
        ``-A^{-H} g A^{-H}``."""
        x = self._matrix(x, "inv", square=True)
        out = self._xp.linalg.inv(x._data)
        return record(self._ns, "linalg.inv", _inv_vjp, (x,), out, saved=(OUT,))

    def solve(self, x1, x2, /):
        """Solution ``X`` of ``x1 X = x2`` for a square ``x1`` (..., M, M). ``x2`` of shape (M,)
        is a vector (result (..., M)); otherwise ``x2`` (..., M, K) is a stack of matrices whose
        batch dimensions broadcast with those of ``x1``. Gradients:
        ``gB = A^{-H} g``, ``gA = -gB X^H``."""
        x1 = self._matrix(x1, "solve", "x1", square=True)
        x2 = self._arg(x2, "solve", "x2")
        if x2.ndim == 0:
            raise ValueError("linalg.solve(): argument 'x2' must have at least 1 dimension, got 0")
        out = self._xp.linalg.solve(x1._data, x2._data)
        needs = (_requires(x1), _requires(x2))
        # torch saves A and the result whichever input requires grad (linalg_solve_backward).
        saved = (x1, OUT)
        return record(
            self._ns,
            "linalg.solve",
            _solve_vjp,
            (x1, x2),
            out,
            saved=saved,
            kw={"needs": needs, "vector": x2.ndim == 1},
        )

    def pinv(self, x, /, *, rtol=None):
        """Moore-Penrose pseudo-inverse of ``x`` (..., M, N); singular values at most
        ``rtol * largest`` are treated as zero (default ``max(M, N) * eps``). The gradient is
        torch's (``pinv_backward``), valid where the rank is locally constant; ``rtol`` gets
        no gradient."""
        x = self._matrix(x, "pinv")
        out = self._xp.linalg.pinv(x._data, rtol=self._rtol(rtol, "pinv"))
        return record(self._ns, "linalg.pinv", _pinv_vjp, (x,), out, saved=(x, OUT))

    def matrix_power(self, x, n, /):
        """``x`` (..., M, M) raised to the integer power ``n`` (``n = 0``: the identity, with a
        zero gradient; ``n < 0``: powers of ``inv(x)``). Differentiable through repeated
        ``matmul`` (and ``inv``)."""
        x = self._matrix(x, "matrix_power", square=True)
        if isinstance(n, bool) or not isinstance(n, int):
            raise TypeError(f"linalg.matrix_power(): argument 'n' must be an int, got {type(n).__name__}")
        if n == 0:
            out = self._xp.linalg.matrix_power(x._data, 0)
            return record(self._ns, "linalg.matrix_power", _zero_vjp, (x,), out)
        if n < 0:
            x = self.inv(x)
            if n == -1:
                return x  # inv's own result (torch returns it too: its saved set is inv's)
            n = -n
        if n == 1:
            return record(
                self._ns, "linalg.matrix_power", _identity_vjp, (x,), self._xp.asarray(x._data, copy=True)
            )
        result = None
        base = x
        while True:
            if n & 1:
                result = base if result is None else self._ns.matmul(result, base)
            n >>= 1
            if not n:
                return result
            base = self._ns.matmul(base, base)

    # -- determinants ---------------------------------------------------------------------------

    def det(self, x, /):
        """Determinant of a square matrix ``x`` (..., M, M).

        Gradient: ``g * conj(cofactor matrix)`` (``g * conj(det) * A^{-H}`` when invertible).
        Deviation from torch: at a singular matrix the cofactor matrix is computed through an
        SVD (exact at rank M-1, so it agrees with finite differences); torch 2.13 returns zeros
        there."""
        x = self._matrix(x, "det", square=True)
        out = self._xp.linalg.det(x._data)
        return record(self._ns, "linalg.det", _det_vjp, (x,), out, saved=(x, OUT))

    def slogdet(self, x, /):
        """Sign (or phase, for complex input) and natural log of the absolute value of the
        determinant of ``x`` (..., M, M), as ``SlogdetResult(sign, logabsdet)``. For real input
        ``sign`` requires grad as in torch, with a zero gradient; gradient of ``logabsdet``:
        ``g A^{-H}``."""
        x = self._matrix(x, "slogdet", square=True)
        sign, logabs = self._xp.linalg.slogdet(x._data)
        res = record_multi(
            self._ns,
            "linalg.slogdet",
            _slogdet_vjp,
            (x,),
            (sign, logabs),
            saved=(x, OUTS[0]),
            # A real sign requires grad too, as in torch (its gradient is zero).
            differentiable=(self._ns._is_differentiable_dtype(sign.dtype),) * 2,
        )
        return SlogdetResult(*res)

    def matrix_rank(self, x, /, *, rtol=None):
        """Rank of ``x`` (..., M, N): the number of singular values larger than
        ``rtol * largest`` (default ``max(M, N) * eps``). Not differentiable (integer result)."""
        x = self._matrix(x, "matrix_rank")
        out = self._xp.linalg.matrix_rank(x._data, rtol=self._rtol(rtol, "matrix_rank"))
        return Tensor._wrap_plain(self._ns, self._ns._ensure(out))

    # -- norms -------------------------------------------------------------------------------

    def vector_norm(self, x, /, *, axis=None, keepdims=False, ord=2):
        """Vector ``ord``-norm of ``x`` over ``axis`` (an int, a tuple, or None: all axes,
        flattened). ``ord``: any real number, ``inf`` or ``-inf`` (0 counts non-zero elements).

        Gradients as torch: 0 at the zero vector for ``ord=2``; ties of ``ord=inf``/``-inf``
        share the gradient evenly; ``ord=0`` has a zero gradient."""
        x = self._arg(x, "vector_norm")
        self._float(x, "vector_norm")
        d = x._data
        out = self._xp.linalg.vector_norm(d, axis=axis, keepdims=keepdims, ord=ord)
        axes = normalize_axis(axis, x.ndim, "linalg.vector_norm")
        return record(
            self._ns,
            "linalg.vector_norm",
            _vector_norm_vjp,
            (x,),
            out,
            saved=(x, OUT),
            kw={"axes": axes, "keepdims": keepdims, "ord": float(ord)},
        )

    def matrix_norm(self, x, /, *, keepdims=False, ord="fro"):
        """Matrix norm of ``x`` (..., M, N): ``ord`` one of ``'fro'``, ``'nuc'``, ``1``, ``-1``,
        ``2``, ``-2``, ``inf``, ``-inf``. Differentiable through its definition, as torch:
        ``'fro'`` a vector 2-norm, ``'nuc'`` the sum of the singular values, ``2``/``-2`` the
        largest/smallest singular value, ``1``/``-1`` (``inf``/``-inf``) the max/min absolute
        column (row) sum; ties of max/min share the gradient evenly."""
        x = self._matrix(x, "matrix_norm")
        self._float(x, "matrix_norm")
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

    # -- shape-level functions -------------------------------------------------------------

    def trace(self, x, /, *, offset=0, dtype=None):
        """Sum along the diagonal ``offset`` of the matrices of ``x`` (..., M, N)."""
        x = self._matrix(x, "trace")
        d = x._data
        out = self._xp.linalg.trace(d, offset=offset, dtype=dtype)
        return record(
            self._ns,
            "linalg.trace",
            _trace_vjp,
            (x,),
            out,
            kw={"n": d.shape[-2], "m": d.shape[-1], "offset": offset},
        )

    def diagonal(self, x, /, *, offset=0):
        """The diagonal ``offset`` of the matrices of ``x`` (..., M, N), shape (..., L). A view
        of ``x`` where the backend returns one."""
        x = self._matrix(x, "diagonal")
        d = x._data
        out = self._xp.linalg.diagonal(d, offset=offset)
        t = record(
            self._ns,
            "linalg.diagonal",
            _diagonal_vjp,
            (x,),
            out,
            kw={"n": d.shape[-2], "m": d.shape[-1], "offset": offset},
            view_of=x,
        )
        if t._base is not None:
            self._ns._set_view_fn(t, x, lambda b: self.diagonal(b, offset=offset))
        return t

    def cross(self, x1, x2, /, *, axis=-1):
        """Cross product of 3-element vectors along ``axis`` of ``x1`` and ``x2`` (broadcast
        together). Gradients: ``cross(conj(x2), g)`` and ``cross(g, conj(x1))``."""
        x1 = self._arg(x1, "cross", "x1")
        x2 = self._arg(x2, "cross", "x2")
        out = self._xp.linalg.cross(x1._data, x2._data, axis=axis)
        ax = axis if axis < 0 else axis - out.ndim
        needs = (_requires(x1), _requires(x2))
        saved = (x1 if needs[1] else None, x2 if needs[0] else None)
        return record(
            self._ns, "linalg.cross", _cross_vjp, (x1, x2), out, saved=saved, kw={"needs": needs, "axis": ax}
        )

    def outer(self, x1, x2, /):
        """Outer product of the vectors ``x1`` (M,) and ``x2`` (N,): shape (M, N)."""
        x1 = self._arg(x1, "outer", "x1")
        x2 = self._arg(x2, "outer", "x2")
        for name, t in (("x1", x1), ("x2", x2)):
            if t.ndim != 1:
                raise ValueError(
                    f"linalg.outer(): argument '{name}' must be 1-dimensional, got {t.ndim} dimensions"
                )
        out = self._xp.linalg.outer(x1._data, x2._data)
        needs = (_requires(x1), _requires(x2))
        saved = (x1 if needs[1] else None, x2 if needs[0] else None)
        return record(self._ns, "linalg.outer", _outer_vjp, (x1, x2), out, saved=saved, kw={"needs": needs})

    # -- aliases of main-namespace functions --------------------------------------------------

    def matmul(self, x1, x2, /):
        """Matrix product (same as the main namespace's ``matmul``)."""
        return self._ns.matmul(x1, x2)

    def matrix_transpose(self, x, /):
        """Transpose of the matrices of ``x`` (same as the main namespace's
        ``matrix_transpose``)."""
        return self._ns.matrix_transpose(x)

    def tensordot(self, x1, x2, /, *, axes=2):
        """Tensor contraction over ``axes`` (same as the main namespace's ``tensordot``)."""
        return self._ns.tensordot(x1, x2, axes=axes)

    def vecdot(self, x1, x2, /, *, axis=-1):
        """Vector dot product ``sum(conj(x1) * x2)`` along ``axis`` (same as the main
        namespace's ``vecdot``)."""
        return self._ns.vecdot(x1, x2, axis=axis)


def _qr_complete_vjp(xp, g, Q, R, *, m, n):
    raise NotImplementedError(
        "the derivative of linalg.qr with mode='complete' and more rows than columns is not "
        "implemented: the extra columns of Q are not determined by the input (as in torch). "
        "Use mode='reduced'."
    )
