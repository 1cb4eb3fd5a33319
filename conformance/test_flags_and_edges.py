"""Flags and edge values as torch gives them (requires_grad of outputs, branch cuts, inf and nan
in backward), and the documented deviations of docs/deviations.md that are about edge values.

Each test runs the same program on xpgrad (NumPy backend) and on torch; where torch is wrong the
test compares with finite differences and says so.
"""

from __future__ import annotations

import numpy as np
import pytest

import xpgrad

torch = pytest.importorskip("torch")

xp = xpgrad.namespace("numpy")


def T(a, requires_grad=True):
    return torch.tensor(np.asarray(a)).requires_grad_(requires_grad)


def X(a, requires_grad=True):
    return xp.asarray(np.asarray(a), requires_grad=requires_grad)


def _np(t):
    if isinstance(t, torch.Tensor):
        return t.detach().numpy(force=True)
    return np.asarray(t.data)


def test_slogdet_sign_requires_grad_with_a_zero_gradient():
    a = np.array([[2.0, 1.0], [1.0, -3.0]])
    ts = torch.linalg.slogdet(T(a))
    xs = xp.linalg.slogdet(X(a))
    assert xs.sign.requires_grad == ts.sign.requires_grad is True
    t = T(a)
    (gt,) = torch.autograd.grad(torch.linalg.slogdet(t).sign * 3.0, t, allow_unused=True)
    x = X(a)
    (gx,) = xpgrad.grad(xp.linalg.slogdet(x).sign * 3.0, x, allow_unused=True)
    assert gt is None  # torch: the sign does not depend on the input
    np.testing.assert_array_equal(_np(gx), np.zeros((2, 2)))


@pytest.mark.parametrize("full_matrices", [False, True])
def test_complex_svd_with_a_gradient_for_u_only(full_matrices):
    rng = np.random.default_rng(0)
    c = rng.standard_normal((4, 3)) + 1j * rng.standard_normal((4, 3))
    w = np.arange(1.0, 5.0)[:, None]
    t = T(c)
    u = torch.linalg.svd(t, full_matrices=full_matrices).U[:, :3]
    (gt,) = torch.autograd.grad((u.abs() ** 2 * torch.tensor(w)).sum(), t)
    x = X(c)
    ux = xp.linalg.svd(x, full_matrices=full_matrices).U[:, :3]
    (gx,) = xpgrad.grad(xp.sum(xp.abs(ux) ** 2 * xp.asarray(w)), x)
    np.testing.assert_allclose(_np(gx), _np(gt), rtol=1e-10, atol=1e-12)


def test_negative_real_base_to_a_complex_power():
    base = np.array([-2.0, 3.0, -0.5])
    e = np.array([0.5 + 1j, 2 + 0.5j, -1.5 + 0.25j])
    t1, t2 = T(base), T(e)
    gt = torch.autograd.grad(torch.pow(t1, t2).abs().sum(), (t1, t2))
    x1, x2 = X(base), X(e)
    gx = xpgrad.grad(xp.sum(xp.abs(xp.pow(x1, x2))), (x1, x2))
    for a, b in zip(gx, gt):
        np.testing.assert_allclose(_np(a), _np(b), rtol=1e-10)
    # A negative Python scalar base.
    t2 = T(e)
    (gt,) = torch.autograd.grad(torch.pow(-2.0, t2).abs().sum(), t2)
    x2 = X(e)
    (gx,) = xpgrad.grad(xp.sum(xp.abs(xp.pow(-2.0, x2))), x2)
    np.testing.assert_allclose(_np(gx), _np(gt), rtol=1e-10)


def _fd_conj_derivative(f, z, h=1e-7):
    """conj(f'(z)) of a holomorphic f by central differences along the real axis."""
    return np.conj((f(z + h) - f(z - h)) / (2 * h))


def test_complex_acosh_on_its_branch_cut_keeps_the_signed_zero():
    # Outside [-1, 1] the derivative is continuous across the cut: torch and finite differences
    # agree, on both sides.
    z = np.array([complex(-2.0, -0.0), complex(-2.0, 0.0), complex(-3.5, -0.0)])
    t = T(z)
    (gt,) = torch.autograd.grad(torch.acosh(t), t, torch.ones(3, dtype=torch.complex128))
    x = X(z)
    (gx,) = xpgrad.grad(xp.acosh(x), x, xp.asarray(np.ones(3, dtype=complex)))
    np.testing.assert_allclose(_np(gx), _np(gt), rtol=1e-12)
    side = np.where(np.signbit(z.imag), -1e-12, 1e-12)
    np.testing.assert_allclose(_np(gx), _fd_conj_derivative(np.arccosh, z.real + 1j * side), rtol=1e-6)


def test_complex_acosh_between_minus_one_and_one_deviation():
    # On (-1, 1) the derivative jumps across the cut. xpgrad takes the side the signed zero says
    # (as the forward value does); torch loses the sign of a -0.0 imaginary part and always
    # gives the upper side's (docs/deviations.md).
    z = np.array([complex(0.5, -0.0), complex(0.5, 0.0), complex(-0.25, -0.0)])
    x = X(z)
    (gx,) = xpgrad.grad(xp.acosh(x), x, xp.asarray(np.ones(3, dtype=complex)))
    side = np.where(np.signbit(z.imag), -1e-12, 1e-12)
    np.testing.assert_allclose(_np(gx), _fd_conj_derivative(np.arccosh, z.real + 1j * side), rtol=1e-6)
    t = T(z)
    (gt,) = torch.autograd.grad(torch.acosh(t), t, torch.ones(3, dtype=torch.complex128))
    upper = _fd_conj_derivative(np.arccosh, z.real + 1e-12j)
    np.testing.assert_allclose(_np(gt), upper, rtol=1e-6)  # torch: the upper side everywhere
    assert not np.allclose(_np(gx)[0], _np(gt)[0])


@pytest.mark.parametrize("fname", ["cumulative_sum", "cumulative_prod"])
def test_cumulative_include_initial_on_array_api_strict(fname):
    pytest.importorskip("array_api_strict")
    import array_api_strict as aas

    s = xpgrad.namespace("array_api_strict")
    v = np.array([[1.5, -2.0, 0.0], [0.5, 3.0, -1.0]])
    w = np.arange(8.0).reshape(2, 4)
    x = s.asarray(aas.asarray(v), requires_grad=True)
    y = getattr(s, fname)(x, axis=1, include_initial=True)
    (gx,) = xpgrad.grad(s.sum(y * s.asarray(aas.asarray(w)) * y), x, create_graph=True)
    (hx,) = xpgrad.grad(s.sum(gx * gx), x)
    t = T(v)
    fn = torch.cumsum if fname == "cumulative_sum" else torch.cumprod
    yt = torch.cat([torch.ones(2, 1, dtype=t.dtype) * (fname == "cumulative_prod"), fn(t, dim=1)], dim=1)
    (gt,) = torch.autograd.grad((yt * torch.tensor(w) * yt).sum(), t, create_graph=True)
    (ht,) = torch.autograd.grad((gt * gt).sum(), t)
    np.testing.assert_allclose(np.asarray(y.data), _np(yt), rtol=1e-12)
    np.testing.assert_allclose(np.asarray(gx.data), _np(gt), rtol=1e-10)
    np.testing.assert_allclose(np.asarray(hx.data), _np(ht), rtol=1e-10)


def test_setitem_under_create_graph_gives_no_nan():
    v = np.array([1.0, 2.0, 3.0])
    t = T(v)
    y = t * 1
    y[1] = 0.0
    (gt,) = torch.autograd.grad(torch.sqrt(y).sum(), t, create_graph=True)
    (ht,) = torch.autograd.grad(gt.sum(), t)
    x = X(v)
    yx = x * 1
    yx[1] = 0.0
    (gx,) = xpgrad.grad(xp.sum(xp.sqrt(yx)), x, create_graph=True)
    (hx,) = xpgrad.grad(xp.sum(gx), x)
    np.testing.assert_allclose(_np(gx), _np(gt), rtol=1e-12)  # 0 where overwritten, not inf * 0
    np.testing.assert_allclose(_np(hx), _np(ht), rtol=1e-12)


@pytest.mark.parametrize("offset", [0, 1])
def test_trace_gradient_keeps_inf_on_the_diagonal(offset):
    m = np.array([[1.0, 2.0, 0.5], [3.0, 4.0, -1.0]])
    t = T(m)
    (gt,) = torch.autograd.grad(torch.diagonal(t, offset).sum() * torch.tensor(np.inf), t, create_graph=True)
    x = X(m)
    (gx,) = xpgrad.grad(xp.linalg.trace(x, offset=offset) * np.inf, x, create_graph=True)
    np.testing.assert_array_equal(_np(gx), _np(gt))  # inf on the diagonal, 0 elsewhere


def test_vector_norm_ord_0_has_a_zero_gradient():
    v = np.array([0.0, 1.0, -2.0])
    x = X(v)
    (gx,) = xpgrad.grad(xp.linalg.vector_norm(x, ord=0), x, allow_unused=True)
    t = T(v)
    (gt,) = torch.autograd.grad(torch.linalg.vector_norm(t, ord=0), t, allow_unused=True)
    assert gt is None  # torch: not in the graph at all
    np.testing.assert_array_equal(_np(gx), np.zeros(3))
    # Second order through a term that does depend on x: finite, as torch.
    t = T(v)
    (gt,) = torch.autograd.grad(torch.linalg.vector_norm(t * t, ord=0) + (t**3).sum(), t, create_graph=True)
    (ht,) = torch.autograd.grad(gt.sum(), t)
    x = X(v)
    (gx,) = xpgrad.grad(xp.linalg.vector_norm(x * x, ord=0) + xp.sum(x**3), x, create_graph=True)
    (hx,) = xpgrad.grad(xp.sum(gx), x)
    np.testing.assert_allclose(_np(gx), _np(gt), rtol=1e-12)
    np.testing.assert_allclose(_np(hx), _np(ht), rtol=1e-12)


# -- documented deviations (docs/deviations.md) -------------------------------------------------


def test_remainder_of_a_scalar_by_an_array_deviation():
    # torch has no derivative for remainder(Scalar, Tensor); xpgrad's is -floor(x1 / x2).
    import array_api_compat.torch as txp

    v = np.array([1.5, -2.2, 4.0])
    t = T(v)
    with pytest.raises(RuntimeError, match="not implemented"):
        torch.autograd.grad(txp.remainder(5.0, t).sum(), t)
    x = X(v)
    (gx,) = xpgrad.grad(xp.sum(xp.remainder(5.0, x)), x)
    h = 1e-6
    fd = (np.remainder(5.0, v + h) - np.remainder(5.0, v - h)) / (2 * h)
    np.testing.assert_allclose(_np(gx), fd, rtol=1e-6)


def test_atan2_second_order_at_the_origin_deviation():
    # First order: 0 on both sides. Second order: torch nan, xpgrad 0 (consistent with the
    # first-order value; atan2 has no derivative at the origin).
    t1, t2 = T(0.0), T(0.0)
    gt = torch.autograd.grad(torch.atan2(t1, t2), (t1, t2), create_graph=True)
    ht = torch.autograd.grad(gt[0], (t1, t2), retain_graph=True)
    x1, x2 = X(0.0), X(0.0)
    gx = xpgrad.grad(xp.atan2(x1, x2), (x1, x2), create_graph=True)
    hx = xpgrad.grad(gx[0], (x1, x2), retain_graph=True)
    np.testing.assert_array_equal([_np(g) for g in gx], [_np(g) for g in gt])
    assert all(np.isnan(_np(h)) for h in ht)
    np.testing.assert_array_equal([_np(h) for h in hx], [0.0, 0.0])


def test_real_acosh_below_minus_one_deviation():
    # The value is nan (no real acosh there) on both sides; torch's gradient formula
    # 1 / sqrt(x*x - 1) still gives a finite number, xpgrad's gives nan.
    v = np.array([-2.0, 0.5, 2.0])
    t = T(v)
    (gt,) = torch.autograd.grad(torch.acosh(t).sum(), t)
    x = X(v)
    with np.errstate(invalid="ignore"):
        (gx,) = xpgrad.grad(xp.sum(xp.acosh(x)), x)
    assert np.isfinite(_np(gt)[0]) and np.isnan(_np(gx)[0])
    np.testing.assert_array_equal(np.isnan(_np(gx)[1:]), np.isnan(_np(gt)[1:]))
    np.testing.assert_allclose(_np(gx)[2], _np(gt)[2], rtol=1e-12)


def test_clip_with_array_bounds_at_ties_follows_torch():
    # Bounds are inclusive: at x == min or x == max the gradient goes to x, none to the bound
    # (finite differences would give 1/2 to each); a bound equal to the other goes to x too.
    xv = np.array([1.0, 2.0, 3.0, 0.5])
    lo = np.array([1.0, 0.0, 3.0, 1.0])
    hi = np.array([2.0, 2.0, 3.0, 0.5])
    ts = [T(a) for a in (xv, lo, hi)]
    gt = torch.autograd.grad(torch.clamp(*ts).sum(), ts)
    xs = [X(a) for a in (xv, lo, hi)]
    gx = xpgrad.grad(xp.sum(xp.clip(xs[0], min=xs[1], max=xs[2])), xs)
    for a, b in zip(gx, gt):
        np.testing.assert_array_equal(_np(a), _np(b))


def test_eigh_at_repeated_eigenvalues_divides_by_zero_as_torch():
    # Eigenvalues 1, 1, 3; the loss reads only the eigenvector of 3. Its cotangent is exactly 0
    # in the rotation of the repeated pair, but a zero cotangent cannot be told from one whose
    # quotient by the zero gap has a non-zero limit (tests/test_linalg_structured.py), so
    # xpgrad divides 0 by 0 as torch does (nan), where it gave a finite value before issue 19.
    # The eigenvalues alone (no gradient for the vectors) stay finite: their terms are skipped.
    a = np.diag([1.0, 1.0, 3.0])  # exactly repeated eigenvalues
    w = np.array([0.3, -1.2, 2.0])
    t = T(a)
    vt = torch.linalg.eigh(t).eigenvectors[:, 2]
    (gt,) = torch.autograd.grad((torch.tensor(w) * vt * vt).sum(), t)
    x = X(a)
    vx = xp.linalg.eigh(x).eigenvectors[:, 2]
    (gx,) = xpgrad.grad(xp.sum(xp.asarray(w) * vx * vx), x)
    assert np.isnan(_np(gt)).any()
    assert np.isnan(_np(gx)).any()
    (gt,) = torch.autograd.grad((torch.tensor(w) * torch.linalg.eigh(t).eigenvalues).sum(), t)
    (gx,) = xpgrad.grad(xp.sum(xp.asarray(w) * xp.linalg.eigh(x).eigenvalues), x)
    np.testing.assert_array_equal(_np(gx), _np(gt))
    np.testing.assert_array_equal(_np(gx), np.diag(w))
