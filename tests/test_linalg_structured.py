"""Derivatives of ``eigh``, ``eig`` and ``svd`` on structured matrices (issue 19), at every order.

Structured input (exact zeros off the diagonal, decoupled blocks, integer-valued entries,
diagonal matrices) makes exact zeros appear inside the derivative formulas: entries of
``skew(V^H gV)`` that are 0 although their derivative is not. A mask on those values
(``where(num == 0, 0, num / den)``) took the derivative away from them: the first order was
right, the second silently wrong (issue 19's program: -0.135 where torch and finite differences
give -1.622). Each case is compared with torch.autograd (first order, double backward with
``create_graph``, forward mode, forward-over-reverse) and checked by ``gradgradcheck``, through
gauge-invariant outputs (``|v|^2`` elementwise, ``U diag(w) Vh``, ``U2 U2^H``), on NumPy, torch and
array-api-strict.

At exactly repeated eigen/singular values the vectors' terms divide by 0, as torch's: the value
of a cotangent cannot tell "no contribution" from "a contribution whose limit is not 0" (the
tests at the end show a loss where a zero cotangent entry has a non-zero limit), so only an
output that got no gradient at all is skipped (the eigenvalues alone stay finite there).
"""

from __future__ import annotations

import warnings

import array_api_compat.torch as txp
import numpy as np
import pytest

import xpgrad
import xpgrad.forward_ad as fwAD

torch = pytest.importorskip("torch")

BACKENDS = ["numpy", "torch", "array_api_strict"]


def _ns(backend):
    if backend == "array_api_strict":
        pytest.importorskip("array_api_strict")
    return xpgrad.namespace(backend)


def _np(a):
    return xpgrad.testing.to_numpy(a)


# -- the gauge-invariant functions, written once for xpgrad's namespaces and for torch ---------


def _is_complex(xp, a):
    return xp.isdtype(a.dtype, "complex floating")


def _mH(xp, a):
    t = xp.matrix_transpose(a)
    return xp.conj(t) if _is_complex(xp, a) else t


def _sq(xp, v):
    """``|v|^2`` elementwise: invariant under the sign (phase) of each vector, smooth at 0."""
    return xp.real(v * xp.conj(v)) if _is_complex(xp, v) else v * v


def _eigh_outputs(xp, x):
    w, v = xp.linalg.eigh(x + _mH(xp, x))
    return w, _sq(xp, v)


# eig's outputs are invariant under the phase of each eigenvector and under the order of the
# eigenpairs (which LAPACK does not fix: finite differences reorder them at structured matrices).


def _eig_weighted(xp, x):
    # sum_i |v_ki|^2 w_i: keeps the structure (exact zeros) of V in the cotangent of V.
    w, v = xp.linalg.eig(x)
    m = xp.sum(_sq(xp, v) * w[..., None, :], axis=-1)
    return xp.real(m), xp.imag(m)


def _eig_expm(xp, x):
    # V diag(exp(w)) V^{-1} = expm(x).
    w, v = xp.linalg.eig(x)
    f = xp.matmul(v * xp.exp(w)[..., None, :], xp.linalg.inv(v))
    return xp.real(f), xp.imag(f)


def _svd_outputs(full_matrices, pairs=False, extra=False):
    """Gauge-invariant outputs of svd: ``|U|^2``, ``S``, ``|Vh|^2`` elementwise (which keep the
    structure of U and Vh in their cotangents); ``pairs``: ``U diag(w) Vh`` instead of S; ``extra``:
    the projectors on the extra columns of a full U (rows of Vh), whose gradient torch ignores
    (docs/deviations.md)."""

    def outputs(xp, x):
        u, s, vh = xp.linalg.svd(x, full_matrices=full_matrices)
        k = s.shape[-1]
        u1, vh1 = u[..., :, :k], vh[..., :k, :]
        w = xp.asarray([0.7, -1.3, 2.1][:k], dtype=s.dtype)
        outs = [_sq(xp, u1), xp.matmul(u1 * w, vh1) if pairs else s, _sq(xp, vh1)]
        if extra and u.shape[-1] > k:
            u2 = u[..., :, k:]
            outs.append(xp.matmul(u2, _mH(xp, u2)))  # the extra columns through their subspace
        if extra and vh.shape[-2] > k:
            vh2 = vh[..., k:, :]
            outs.append(xp.matmul(_mH(xp, vh2), vh2))
        return tuple(outs)

    return outputs


# -- structured matrices (distinct eigen/singular values) ---------------------------------------

ISSUE_X6 = [[2.0, -0.5, -1.5], [0.5, 2.0, 0.5], [-0.5, -0.5, 1.0]]  # x6 + x6^T has exact zeros

EIGH_CASES = {  # eigh(x + x^H)
    "issue 19: exact zeros": ISSUE_X6,
    "decoupled blocks": [[1.0, 0.5, 0, 0], [0.5, 1.5, 0, 0], [0, 0, -0.5, 0.25], [0, 0, 0.25, 2.0]],
    "integer-valued": [[2.0, 1, 0], [0, -1, 1], [1, 0, 0]],
    "diagonal": [[1.0, 0, 0], [0, 2.5, 0], [0, 0, -3.0]],
}
EIG_CASES = {
    "triangular, integer-valued": [[2.0, 1, 0], [0, -1, 0], [0, 0, 3]],
    "rotation block (complex pair)": [[0.0, -2, 0], [1, 0, 0], [0, 0, 3]],
    "decoupled blocks": [[1.0, 2, 0, 0], [0, 3, 0, 0], [0, 0, -1, 1], [0, 0, 2, 0.5]],
    "diagonal": [[1.0, 0, 0], [0, -2, 0], [0, 0, 3.5]],
}
SVD_CASES = {
    "tall, decoupled blocks": [[3.0, 0, 0], [0, 1, 2], [0, 0, 1], [0, 0, 0]],
    "tall diagonal": [[3.0, 0, 0], [0, -2, 0], [0, 0, 1], [0, 0, 0]],
    "wide, integer-valued": [[1.0, 0, 2, 0], [0, 3, 0, 0], [-1, 0, 1, 1]],
    "square, exact zeros": [[2.0, 1, 0], [0, 1, 0], [0, 0, -3]],
}


# Complex input with exact zeros (x + x^H keeps the zeros of the issue's matrix).
COMPLEX_CASES = {
    "eigh": [[2.0, -0.5, -1.5 + 0.5j], [0.5, 2.0, 0.5], [-0.5, -0.5, 1.0]],
    "svd": [[2.0, 1j, 0], [0, 1, 0], [0, 0, -3j], [0, 0, 0]],
}


def _cases():
    for name, x in EIGH_CASES.items():
        yield pytest.param(_eigh_outputs, x, id=f"eigh-{name}")
    for name, x in EIG_CASES.items():
        yield pytest.param(_eig_weighted, x, id=f"eig, |V|^2 w-{name}")
        yield pytest.param(_eig_expm, x, id=f"eig, V exp(w) V^-1-{name}")
    for full in (False, True):
        for name, x in SVD_CASES.items():
            yield pytest.param(_svd_outputs(full), x, id=f"svd(full_matrices={full})-{name}")
            yield pytest.param(_svd_outputs(full, True), x, id=f"svd(full_matrices={full}), U w Vh-{name}")
    yield pytest.param(_eigh_outputs, COMPLEX_CASES["eigh"], id="eigh-complex, exact zeros")
    for full in (False, True):
        yield pytest.param(_svd_outputs(full), COMPLEX_CASES["svd"], id=f"svd(full_matrices={full})-complex")


CASES = list(_cases())
# Checked against finite differences only (torch ignores the gradient of the extra columns).
EXTRA_CASES = [
    pytest.param(_svd_outputs(True, extra=True), x, id=f"svd(full_matrices=True), extra columns-{name}")
    for name, x in SVD_CASES.items()
    if np.shape(x)[0] != np.shape(x)[1]
]


def _cotangents(outs, seed):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(tuple(o.shape)) for o in outs]


def _like(x0, seed):
    """A random array of the shape and kind (real or complex) of ``x0``."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(np.shape(x0))
    return a + 1j * rng.standard_normal(np.shape(x0)) if np.iscomplexobj(np.array(x0)) else a


def _inner(xp, a, b):
    """The real inner product ``re <a, b>`` (a real loss for complex input)."""
    return xp.sum(xp.real(a * xp.conj(b))) if _is_complex(xp, a) else xp.sum(a * b)


def _grads_xpgrad(ns, f, x0, seed):
    """First order, and the second order ``d/dx <g(x), u2>`` by double backward."""
    x = ns.asarray(np.array(x0), requires_grad=True)
    outs = f(ns, x)
    us = _cotangents(outs, seed)
    loss = sum(ns.sum(o * ns.asarray(u)) for o, u in zip(outs, us))
    (g,) = xpgrad.grad(loss, x, create_graph=True)
    u2 = ns.asarray(_like(x0, seed + 1))
    (gg,) = xpgrad.grad(_inner(ns, g, u2), x)
    return _np(g), _np(gg)


def _grads_torch(f, x0, seed):
    x = torch.tensor(np.array(x0), requires_grad=True)
    outs = f(txp, x)
    us = _cotangents(outs, seed)
    loss = sum((o * torch.tensor(u)).sum() for o, u in zip(outs, us))
    (g,) = torch.autograd.grad(loss, x, create_graph=True)
    (gg,) = torch.autograd.grad(_inner(txp, g, torch.tensor(_like(x0, seed + 1))), x)
    return g.detach().numpy(), gg.numpy()


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("f, x0", CASES)
def test_first_and_second_order_match_torch(backend, f, x0):
    ns = _ns(backend)
    for seed in (0, 1):
        g, gg = _grads_xpgrad(ns, f, x0, seed)
        tg, tgg = _grads_torch(f, x0, seed)
        np.testing.assert_allclose(g, tg, rtol=1e-9, atol=1e-10)
        np.testing.assert_allclose(gg, tgg, rtol=1e-8, atol=1e-9)


@pytest.mark.parametrize("backend", ["numpy", "array_api_strict"])
@pytest.mark.parametrize("f, x0", CASES + EXTRA_CASES)
def test_gradgradcheck(backend, f, x0):
    ns = _ns(backend)
    x = ns.asarray(np.array(x0), requires_grad=True)
    assert xpgrad.gradgradcheck(lambda a: f(ns, a), (x,), atol=1e-6, rtol=1e-4)


def _issue_program(a0, u, u2):
    """Issue 19's reduced program: the gradient of ``<g, u2>``, g the gradient of ``sum(v*v*u)``."""
    ns = xpgrad.numpy
    a = ns.asarray(a0, requires_grad=True)
    w, v = ns.linalg.eigh(a)
    (g,) = xpgrad.grad(ns.sum(v * v * ns.asarray(u)), a, create_graph=True)
    (gg,) = xpgrad.grad(ns.sum(g * ns.asarray(u2)), a)
    return _np(gg)


def test_issue_19_program_has_torchs_second_order():
    x6 = np.array(ISSUE_X6)
    a0 = x6 + x6.T
    rng = np.random.default_rng(0)
    u, u2 = rng.standard_normal((3, 3)), rng.standard_normal((3, 3))
    gg = _issue_program(a0, u, u2)
    t = torch.tensor(a0, requires_grad=True)
    tw, tv = torch.linalg.eigh(t)
    (tg,) = torch.autograd.grad((tv * tv * torch.tensor(u)).sum(), t, create_graph=True)
    (tgg,) = torch.autograd.grad((tg * torch.tensor(u2)).sum(), t)
    np.testing.assert_allclose(gg, tgg.numpy(), rtol=1e-10, atol=1e-12)
    assert gg[0, 1] == pytest.approx(-0.70226014, abs=1e-8)  # torch 2.13's value (xpgrad gave -0.2346)


def test_issue_19_program_has_the_finite_difference_second_order():
    # For symmetric directions d1, d2: <grad <g, d1>, d2> is the mixed second derivative of
    # loss(a) = sum(v*v*u) (NumPy's eigh), by central differences.
    x6 = np.array(ISSUE_X6)
    a0 = x6 + x6.T
    rng = np.random.default_rng(5)
    u = rng.standard_normal((3, 3))
    d1, d2 = (m + m.T for m in rng.standard_normal((2, 3, 3)))

    def loss(m):
        return np.sum(np.linalg.eigh(m)[1] ** 2 * u)

    h = 1e-4
    fd = sum(si * sj * loss(a0 + si * h * d1 + sj * h * d2) for si in (1, -1) for sj in (1, -1)) / (4 * h * h)
    assert np.sum(_issue_program(a0, u, d1) * d2) == pytest.approx(fd, rel=1e-6, abs=1e-7)


# -- forward mode: jvp and forward-over-reverse -------------------------------------------------


def _tangent(x0, seed=7):
    return _like(x0, seed)


REAL_CASES = [c for c in CASES if not np.iscomplexobj(np.array(c.values[1]))]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("f, x0", CASES)
def test_jvp_matches_torch(backend, f, x0):
    ns = _ns(backend)
    t0 = _tangent(x0)
    with fwAD.dual_level():
        x = fwAD.make_dual(ns.asarray(np.array(x0)), ns.asarray(t0))
        tangents = [_np(fwAD.unpack_dual(o).tangent) for o in f(ns, x)]
    with warnings.catch_warnings():  # torch's forward AD loads its decompositions with jit.script
        warnings.filterwarnings("ignore", "`torch.jit.script` is deprecated", DeprecationWarning)
        _, ttangents = torch.func.jvp(lambda a: f(txp, a), (torch.tensor(np.array(x0)),), (torch.tensor(t0),))
    for a, b in zip(tangents, ttangents):
        np.testing.assert_allclose(a, b.numpy(), rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("f, x0", REAL_CASES)
def test_forward_over_reverse_matches_torch_double_backward(backend, f, x0):
    # The tangent of the gradient is the Hessian-vector product, torch's double backward (real
    # input: complex input is checked by the registry's samples in conformance/test_forward.py).
    ns = _ns(backend)
    t0 = _tangent(x0)
    with fwAD.dual_level():
        x = fwAD.make_dual(ns.asarray(np.array(x0), requires_grad=True), ns.asarray(t0))
        outs = f(ns, x)
        us = _cotangents(outs, 3)
        (g,) = xpgrad.grad(sum(ns.sum(o * ns.asarray(u)) for o, u in zip(outs, us)), x)
        hvp = _np(fwAD.unpack_dual(g).tangent)
    xt = torch.tensor(x0, dtype=torch.float64, requires_grad=True)
    outs = f(txp, xt)
    (tg,) = torch.autograd.grad(
        sum((o * torch.tensor(u)).sum() for o, u in zip(outs, us)), xt, create_graph=True
    )
    (thvp,) = torch.autograd.grad((tg * torch.tensor(t0)).sum(), xt)
    np.testing.assert_allclose(hvp, thvp.numpy(), rtol=1e-8, atol=1e-9)


# -- exactly repeated eigen/singular values -------------------------------------------------------


def _fd_grad(loss, x0, h=1e-6):
    x0 = np.array(x0, dtype=float)
    fd = np.zeros_like(x0)
    for idx in np.ndindex(x0.shape):
        e = np.zeros_like(x0)
        e[idx] = h
        fd[idx] = (loss(x0 + e) - loss(x0 - e)) / (2 * h)
    return fd


REPEATED_EIGH = {
    "diag(1, 1, 3)": np.diag([0.5, 0.5, 1.5]),  # x + x^T
    "identity": 0.5 * np.eye(3),
    "repeated 0 in a block": np.array([[0.0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 1, 0.5], [0, 0, 0.5, 2]]),
}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("x0", list(REPEATED_EIGH.values()), ids=list(REPEATED_EIGH))
def test_functions_of_the_eigenvalues_at_repeated_eigenvalues_first_order(backend, x0):
    # sum(w^3) = tr((x + x^T)^3): gradient 6 (x + x^T)^2, defined at repeated eigenvalues; the
    # eigenvectors get no gradient, their terms are skipped (torch too).
    ns = _ns(backend)
    x = ns.asarray(x0, requires_grad=True)
    for w in (ns.linalg.eigvalsh(x + x.mT), ns.linalg.eigh(x + x.mT).eigenvalues):
        (g,) = xpgrad.grad(ns.sum(w**3), x)
        a = x0 + x0.T
        np.testing.assert_allclose(_np(g), 6 * a @ a, atol=1e-12)
        np.testing.assert_allclose(
            _np(g), _fd_grad(lambda m: np.sum(np.linalg.eigvalsh(m + m.T) ** 3), x0), atol=1e-6
        )


@pytest.mark.parametrize("backend", BACKENDS)
def test_functions_of_the_singular_values_at_repeated_and_zero_singular_values(backend):
    # sum(s^2) = ||x||_F^2 (gradient 2x) and the nuclear norm away from its kink, with singular
    # values 2, 2, 0 (tall: the m > k term divides by S when U gets a gradient).
    ns = _ns(backend)
    x0 = np.array([[2.0, 0, 0], [0, 0, 0], [0, 2, 0], [0, 0, 0]])
    x = ns.asarray(x0, requires_grad=True)
    for s in (ns.linalg.svdvals(x), ns.linalg.svd(x, full_matrices=True).S):
        (g,) = xpgrad.grad(ns.sum(s**2), x)
        np.testing.assert_allclose(_np(g), 2 * x0, atol=1e-12)
    xt = torch.tensor(x0, requires_grad=True)
    (tg,) = torch.autograd.grad((torch.linalg.svdvals(xt) ** 2).sum(), xt)
    np.testing.assert_allclose(_np(g), tg.numpy(), atol=1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_zero_cotangent_entry_is_not_taken_as_no_contribution(backend):
    # x = V diag(w) V^T rebuilt from eigh at the identity: skew(V^T gV) is exactly 0 at every
    # repeated pair (its entries carry w_j - w_i), yet the quotient's limit is not 0 (the
    # gradient is the identity map). xpgrad gave a silent, wrong diagonal matrix here (0 for
    # those terms); torch and xpgrad now give nan, never a wrong number.
    ns = _ns(backend)
    u = np.random.default_rng(0).standard_normal((3, 3))
    x = ns.asarray(np.eye(3), requires_grad=True)
    w, v = ns.linalg.eigh(x)
    (g,) = xpgrad.grad(ns.sum(ns.matmul(v * w, v.mT) * ns.asarray(u)), x)
    xt = torch.eye(3, dtype=torch.float64, requires_grad=True)
    tw, tv = torch.linalg.eigh(xt)
    (tg,) = torch.autograd.grad(((tv * tw) @ tv.mT * torch.tensor(u)).sum(), xt)
    assert np.isnan(tg.numpy()).all()
    assert np.isnan(_np(g)).all()


@pytest.mark.parametrize("backend", BACKENDS)
def test_second_order_of_eigenvalue_functions_at_repeated_eigenvalues_is_nan_as_torch(backend):
    # d^2/dx^2 sum(w^2) is defined (sum(w^2) = ||x + x^T||_F^2), but its chain rule through the
    # eigenvectors needs (f'(w_j) - f'(w_i)) / (w_j - w_i) at w_i = w_j, whose limit f''(w) the
    # backward cannot see: 0/0, nan as torch's (docs/deviations.md), not the 0 xpgrad gave.
    ns = _ns(backend)
    x0 = np.diag([0.5, 0.5, 1.5])
    u2 = np.random.default_rng(1).standard_normal((3, 3))
    x = ns.asarray(x0, requires_grad=True)
    (g,) = xpgrad.grad(ns.sum(ns.linalg.eigvalsh(x + x.mT) ** 2), x, create_graph=True)
    np.testing.assert_allclose(_np(g), 4 * (x0 + x0.T), atol=1e-12)  # first order: right
    (gg,) = xpgrad.grad(ns.sum(g * ns.asarray(u2)), x)
    xt = torch.tensor(x0, requires_grad=True)
    (tg,) = torch.autograd.grad((torch.linalg.eigvalsh(xt + xt.mT) ** 2).sum(), xt, create_graph=True)
    (tgg,) = torch.autograd.grad((tg * torch.tensor(u2)).sum(), xt)
    assert np.isnan(tgg.numpy()).any()
    assert np.isnan(_np(gg)).any()
    true = 4 * (u2 + u2.T)  # the Hessian of ||x + x^T||^2 applied to u2
    finite = ~np.isnan(_np(gg))
    np.testing.assert_allclose(_np(gg)[finite], true[finite], atol=1e-12)
