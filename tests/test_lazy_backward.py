"""Backward formulas never branch on computed values: Dask stays lazy and xpgrad runs inside
``jax.jit`` (first order and ``create_graph``), for elementwise, reduction and linear algebra
ops. Gradients are compared with xpgrad on NumPy (itself checked against torch by the
conformance suite), and the values computed under ``jax.jit`` with those computed eagerly.

JAX and Dask are optional backends: without them these tests are skipped with a reason
(``pip install xpgrad[backends]``).
"""

from __future__ import annotations

import numpy as np
import pytest

import xpgrad

rng = np.random.default_rng(7)
A = rng.standard_normal((3, 3))
SPD = A @ A.T + 3 * np.eye(3)
WIDE = rng.standard_normal((2, 4))
V = np.array([0.5, 0.0, -1.5, 2.0, 0.0])  # zeros: prod / cumulative_prod take their exact branch

# name -> (f(ns, x) -> Tensor, input). Each loss is non-linear in x (second order exists).
CASES = {
    "det": (lambda ns, x: ns.linalg.det(x) ** 2, A),
    "det_singular": (lambda ns, x: ns.linalg.det(x) ** 2, np.array([[1.0, 2.0], [2.0, 4.0]])),
    "slogdet": (lambda ns, x: ns.linalg.slogdet(x).logabsdet, A),
    "inv": (lambda ns, x: ns.sum(ns.linalg.inv(x) ** 2), A),
    "solve": (lambda ns, x: ns.sum(ns.linalg.solve(x, ns.sin(x)) ** 2), A),
    "eigh": (
        lambda ns, x: (
            ns.sum(ns.linalg.eigh(x).eigenvalues ** 2)
            + ns.sum(ns.linalg.eigh(x).eigenvectors[:, 0] ** 2 * ns.linalg.eigh(x).eigenvalues)
        ),
        SPD,
    ),
    "eigvalsh": (lambda ns, x: ns.sum(ns.linalg.eigvalsh(x) ** 3), SPD),
    "svd": (
        lambda ns, x: (
            ns.sum(ns.linalg.svd(x, full_matrices=False).S ** 2)
            + ns.sum(ns.linalg.svd(x, full_matrices=False).U ** 4)
        ),
        WIDE,
    ),
    "svd_full": (lambda ns, x: ns.sum(ns.linalg.svd(x).S ** 3), WIDE),
    "svdvals": (lambda ns, x: ns.sum(ns.linalg.svdvals(x) ** 3), A),
    "cholesky": (lambda ns, x: ns.sum(ns.linalg.cholesky(x) ** 2), SPD),
    "qr": (lambda ns, x: ns.sum(ns.linalg.qr(x).R ** 2), A),
    "matrix_norm_2": (lambda ns, x: ns.linalg.matrix_norm(x, ord=2) ** 2, A),
    "vector_norm": (lambda ns, x: ns.linalg.vector_norm(x, ord=3) ** 2, V),
    "prod": (lambda ns, x: ns.prod(ns.sin(x) + x) ** 2, V),
    "cumulative_prod": (lambda ns, x: ns.sum(ns.cumulative_prod(x) ** 2), V),
    "std": (lambda ns, x: ns.std(x) ** 2, V),
    "max": (lambda ns, x: ns.max(x * x), V),
    "where": (lambda ns, x: ns.sum(ns.where(x > 0, x * x, ns.sin(x))), V),
    "pow": (lambda ns, x: ns.sum(ns.abs(x) ** x), V + 1.0),
    "sign_abs": (lambda ns, x: ns.sum(ns.sign(x) * x * x + ns.abs(x) ** 3), V),
}

# Under jax.jit: the ops whose backward once branched on values, and a few others (each jit
# compiles for seconds; the full set runs on Dask, where it is cheap).
JAX_CASES = (
    "cumulative_prod",
    "det",
    "det_singular",
    "eigh",
    "matrix_norm_2",
    "prod",
    "sign_abs",
    "svd",
    "svd_full",
    "svdvals",
    "where",
)

# Dask has no eigh, det, slogdet or full_matrices svd (array_api_compat): JAX only.
NOT_ON_DASK = {"det", "det_singular", "slogdet", "eigh", "eigvalsh", "svd_full"}


def _grads(ns, f, raw, order):
    x = ns.asarray(raw, requires_grad=True)
    (g,) = xpgrad.grad(f(ns, x), x, create_graph=order == 2)
    if order == 2:
        (g,) = xpgrad.grad(ns.sum(g * g), x)
    return g


def _reference(f, a, order):
    ref = xpgrad.numpy
    return np.asarray(_grads(ref, f, ref._xp.asarray(a), order).data)


needs_jax = pytest.mark.requires_backend("jax")
needs_dask = pytest.mark.requires_backend("dask")


JAX_PARAMS = [(n, 1) for n in JAX_CASES] + [
    (n, 2) for n in ("cumulative_prod", "det_singular", "eigh", "svd", "svd_full")
]


@needs_jax
@pytest.mark.parametrize(("name", "order"), JAX_PARAMS)
def test_backward_inside_jax_jit(name, order):
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    ns = xpgrad.namespace("jax")
    f, a = CASES[name]

    def run(raw):
        return _grads(ns, f, raw, order).data

    traced = np.asarray(jax.jit(run)(jnp.asarray(a)))
    np.testing.assert_allclose(traced, np.asarray(run(jnp.asarray(a))), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(traced, _reference(f, a, order), rtol=1e-7, atol=1e-10)


@needs_jax
def test_gauge_check_under_jax_jit_gives_nan_not_a_wrong_gradient():
    # A loss that depends on the phase of complex eigenvectors has no gradient: eagerly it
    # raises (as torch); under jit it cannot raise, so the gradient is nan.
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    ns = xpgrad.namespace("jax")
    h = np.array([[2.0, 1.0 + 1.0j], [1.0 - 1.0j, 3.0]])

    def run(raw):
        x = ns.asarray(raw, requires_grad=True)
        v = ns.linalg.eigh(x).eigenvectors
        (g,) = xpgrad.grad(ns.sum(ns.real(v[0, :]) + ns.imag(v[0, :])), x)
        return g.data

    with pytest.raises(RuntimeError, match="phase"):
        run(jnp.asarray(h))
    assert np.all(np.isnan(np.asarray(jax.jit(run)(jnp.asarray(h)))))


@needs_dask
@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("name", sorted(set(CASES) - NOT_ON_DASK))
def test_dask_backward_computes_nothing(name, order):
    import dask
    import dask.array as da

    ns = xpgrad.namespace("dask")
    f, a = CASES[name]
    computed = []

    def refuse(*args, **kwargs):
        computed.append(True)
        raise AssertionError("the backward computed a Dask array")

    raw = da.from_array(a, chunks=-1)
    with dask.config.set(scheduler=refuse):
        g = _grads(ns, f, raw, order)
    assert not computed
    assert isinstance(g.data, da.Array)
    np.testing.assert_allclose(np.asarray(g.data.compute()), _reference(f, a, order), rtol=1e-7, atol=1e-10)


@needs_dask
def test_gauge_check_on_dask_gives_nan_not_a_wrong_gradient():
    # The fuzzer's eigh program (Dask seed 19): |V|^2 written as V * conj(V) with two eigh calls
    # is gauge-invariant, but each call alone depends on the phase of the eigenvectors, so
    # torch's backward raises, as xpgrad's does eagerly. Dask cannot raise without computing:
    # the gradient is nan, in both parts of every entry, also where another term adds a finite
    # gradient (no finite part of it is wrong).
    import dask.array as da
    import torch

    h = np.array([[2.0, 1.0 + 1.0j], [1.0 - 1.0j, 3.0]])
    cot = np.array([[1.0 + 0.5j, -0.3j], [0.2, 1.0 - 1.0j]])

    def run(ns, x, leaf):
        out = ns.linalg.eigh(x).eigenvectors * ns.conj(ns.linalg.eigh(x).eigenvectors)
        return xpgrad.grad(ns.sum(ns.real(ns.conj(ns.asarray(cot)) * out)) + ns.sum(ns.real(x)), leaf)[0]

    t = torch.tensor(h, requires_grad=True)
    with pytest.raises(RuntimeError, match="specified up to multiplication by e\\^\\{i phi\\}"):
        tv = torch.linalg.eigh(t).eigenvectors * torch.conj(torch.linalg.eigh(t).eigenvectors)
        torch.sum(torch.real(torch.conj(torch.tensor(cot)) * tv)).backward()
    x = xpgrad.numpy.asarray(h, requires_grad=True)
    with pytest.raises(RuntimeError, match="specified up to multiplication by e\\^\\{i phi\\}"):
        run(xpgrad.numpy, x, x)
    ns = xpgrad.namespace("dask")
    x = ns.asarray(da.from_array(h), requires_grad=True)
    g = np.asarray(run(ns, x, x).data.compute())
    assert np.all(np.isnan(g.real)) and np.all(np.isnan(g.imag))
