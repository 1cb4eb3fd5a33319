"""``xp.special``: completeness against SciPy's dispatch list, SciPy finding it, backends,
errors for missing derivatives and a missing SciPy. Values and gradients of every function are
checked by the OpInfo registry (tests/test_ops_fd.py, conformance/)."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import torch

import xpgrad
from xpgrad import special as special_mod

# SciPy's array API dispatch list (scipy/special/_support_alternative_backends.py), read from
# the installed SciPy in a subprocess so that SCIPY_ARRAY_API does not leak into this process.
_LIST = subprocess.run(
    [
        sys.executable,
        "-c",
        "import scipy.special._support_alternative_backends as m; print(' '.join(m.__all__))",
    ],
    capture_output=True,
    text=True,
    check=True,
    env={**os.environ, "SCIPY_ARRAY_API": "1"},
).stdout.split()


def test_dispatch_list_is_read():
    assert len(_LIST) >= 80 and "erf" in _LIST and "gammainc" in _LIST


@pytest.mark.parametrize("backend", ["numpy", "torch", "array_api_strict"])
def test_every_function_of_scipys_dispatch_list_is_present(backend):
    sp = xpgrad.namespace(backend).special
    missing = [n for n in _LIST if not callable(getattr(sp, n, None))]
    assert not missing, f"xp.special lacks {missing}"


def test_torch_specials_own_functions_are_present():
    sp = xpgrad.torch.special
    for name in (
        "polygamma",
        "zeta",
        "multigammaln",
        "sinc",
        "softmax",
        "log_softmax",
        "logsumexp",
        "spherical_bessel_j0",
        "bessel_j0",
        "modified_bessel_k1",
        "scaled_modified_bessel_k0",
        "digamma",
        "expm1",
        "log1p",
    ):
        assert callable(getattr(sp, name)), name


def test_every_function_has_a_docstring():
    sp = xpgrad.numpy.special
    for name in special_mod.FUNCTIONS:
        doc = getattr(sp, name).__doc__
        assert doc and len(doc.strip()) > 30, name


_SCRIPT = r"""
import numpy as np, torch, xpgrad, scipy.special as sps, scipy.stats as stats
for backend in ("numpy", "torch", "array_api_strict"):
    xp = xpgrad.namespace(backend)
    x = xp.asarray([0.3, 1.2, 2.5], requires_grad=True)
    y = sps.erf(x)
    assert type(y) is xpgrad.Tensor and y.requires_grad, (backend, type(y))
    xp.sum(sps.gammaln(x) + sps.xlogy(x, x) + sps.gammainc(2.0, x)).backward()
    t = torch.tensor([0.3, 1.2, 2.5], dtype=torch.float64, requires_grad=True)
    (torch.special.gammaln(t) + torch.special.xlogy(t, t) + torch.special.gammainc(torch.tensor(2.0, dtype=torch.float64), t)).sum().backward()
    np.testing.assert_allclose(np.asarray(xpgrad.numpy.asarray(np.asarray(x.grad.tolist()))), t.grad.numpy(), rtol=1e-6)
rng = np.random.default_rng(0)
xp = xpgrad.numpy
x = xp.asarray(rng.standard_normal(40), requires_grad=True)
r = stats.jarque_bera(x)
r.statistic.backward()
t = torch.tensor(rng.standard_normal(1) * 0 + np.asarray(x.detach().tolist()), requires_grad=True)
rt = stats.jarque_bera(t)
rt.statistic.backward()
np.testing.assert_allclose(float(r.pvalue), float(rt.pvalue.detach()), rtol=1e-10)
np.testing.assert_allclose(np.asarray(x.grad.tolist()), t.grad.numpy(), rtol=1e-8)
print("ok")
"""


def test_scipy_finds_xp_special_and_jarque_bera_differentiates():
    """SciPy's dispatcher (SCIPY_ARRAY_API=1) looks up ``xp.special.<name>``: its result on a
    Tensor that requires grad is a Tensor with a graph, matching torch.special's gradients;
    ``scipy.stats.jarque_bera`` (p-value through ``chdtrc``) differentiates and matches torch."""
    r = subprocess.run(
        [sys.executable, "-W", "error", "-W", "ignore:torch.asarray:UserWarning", "-c", _SCRIPT],
        capture_output=True,
        text=True,
        env={**os.environ, "SCIPY_ARRAY_API": "1"},
    )
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.strip() == "ok"


@pytest.mark.parametrize(
    ("name", "args", "param"),
    [
        ("gammainc", (1, 0), "a"),
        ("gammaincc", (1, 0), "a"),
        ("betainc", (1, 0, 0), "a"),
        ("zeta", (1, 0), "x"),
        ("chdtrc", (1, 0), "v"),
    ],
)
def test_missing_derivative_raises_naming_function_and_argument(name, args, param):
    xp = xpgrad.numpy
    vals = {
        "gammainc": (2.0, 1.0),
        "gammaincc": (2.0, 1.0),
        "betainc": (2.0, 3.0, 0.4),
        "zeta": (2.5, 1.5),
        "chdtrc": (3.0, 1.0),
    }[name]
    tensors = [xp.asarray(v, requires_grad=bool(flag)) for v, flag in zip(vals, args)]
    y = getattr(xp.special, name)(*tensors)
    assert y.requires_grad
    with pytest.raises(
        NotImplementedError, match=f"derivative of special.{name} with respect to {param} is not implemented"
    ):
        y.backward()


def test_torch_raises_for_the_same_missing_derivative():
    a = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
    with pytest.raises((RuntimeError, NotImplementedError), match="not implemented"):
        torch.special.gammainc(a, torch.tensor(1.0, dtype=torch.float64)).backward()


def test_integer_order_is_a_constant():
    xp = xpgrad.numpy
    x = xp.asarray([0.5, 1.5], requires_grad=True)
    (g,) = xpgrad.grad(xp.sum(xp.special.polygamma(2, x)), [x])
    t = torch.tensor([0.5, 1.5], dtype=torch.float64, requires_grad=True)
    (tg,) = torch.autograd.grad(torch.special.polygamma(2, t).sum(), [t])
    np.testing.assert_allclose(np.asarray(g.tolist()), tg.numpy(), rtol=1e-10)


def test_third_order_through_the_namespace():
    """d^3/dx^3 gammaln = polygamma(2, x): each order calls special functions on Tensors."""
    xp = xpgrad.numpy
    x = xp.asarray([0.7, 2.0], requires_grad=True)
    y = xp.sum(xp.special.gammaln(x))
    (g1,) = xpgrad.grad(y, [x], create_graph=True)
    (g2,) = xpgrad.grad(xp.sum(g1), [x], create_graph=True)
    (g3,) = xpgrad.grad(xp.sum(g2), [x])
    t = torch.tensor([0.7, 2.0], dtype=torch.float64)
    np.testing.assert_allclose(np.asarray(g3.tolist()), torch.special.polygamma(2, t).numpy(), rtol=1e-10)


def test_complex_input_is_refused():
    xp = xpgrad.numpy
    with pytest.raises(TypeError, match=r"special.erf\(\): argument 'x' must have a real-valued dtype"):
        xp.special.erf(xp.asarray([1 + 1j]))


def test_bad_argument_names_function_and_argument():
    xp = xpgrad.numpy
    with pytest.raises(
        TypeError, match=r"special.xlogy\(\): argument 'y' must be an array or a real Python number"
    ):
        xp.special.xlogy(xp.asarray([1.0]), "2")
    with pytest.raises(TypeError, match=r"special.gammainc\(\) missing required argument 'x'"):
        xp.special.gammainc(xp.asarray([1.0]))


def test_without_scipy_numpy_still_works_and_special_says_what_to_install(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_scipy(name, *args, **kwargs):
        if name == "scipy" or name.startswith("scipy."):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_scipy)
    monkeypatch.setattr("importlib.import_module", lambda name, *a: no_scipy(name))
    sp = special_mod.SpecialNamespace(xpgrad.numpy)  # a fresh one: nothing cached
    monkeypatch.setattr(special_mod, "_RAW", {})
    sp = special_mod.SpecialNamespace(xpgrad.numpy)
    xp = xpgrad.numpy
    x = xp.asarray([0.5, 1.0], requires_grad=True)
    xp.sum(xp.sin(x)).backward()  # the namespace itself works
    assert sp.expit(x).shape == (2,)  # composed from the standard's functions
    with pytest.raises(
        ImportError, match=r"special.erf\(\) on the numpy backend needs SciPy.*pip install scipy"
    ):
        sp.erf(x)


@pytest.mark.parametrize(
    "backend", [pytest.param(n, marks=pytest.mark.requires_backend(n)) for n in ["jax", "dask"]]
)
def test_optional_backends_forward_and_gradient(backend):
    if backend == "jax":
        import jax

        jax.config.update("jax_enable_x64", True)
    xp = xpgrad.namespace(backend)
    vals = np.array([0.3, 1.2, 2.5])
    x = xp.asarray(vals, dtype=xp.float64, requires_grad=True)
    y = xp.sum(xp.special.gammaln(x) + xp.special.erf(x) + xp.special.i1e(x) + xp.special.gammaincc(2.0, x))
    y.backward()
    t = torch.tensor(vals, requires_grad=True)
    two = torch.tensor(2.0, dtype=torch.float64)
    yt = (
        torch.special.gammaln(t)
        + torch.special.erf(t)
        + torch.special.i1e(t)
        + torch.special.gammaincc(two, t)
    ).sum()
    yt.backward()
    np.testing.assert_allclose(float(y.item()), yt.item(), rtol=1e-10)
    np.testing.assert_allclose(np.asarray(x.grad.tolist()), t.grad.numpy(), rtol=1e-8)


def test_torch_backend_uses_host_scipy_for_functions_torch_lacks():
    xp = xpgrad.torch
    x = xp.asarray(torch.tensor([0.2, 0.6], dtype=torch.float32), requires_grad=True)
    y = xp.special.betaincinv(2.0, 3.0, x)
    assert isinstance(y.data, torch.Tensor) and y.dtype == torch.float32
    import scipy.special as sps

    np.testing.assert_allclose(y.data.numpy(), sps.betaincinv(2.0, 3.0, np.array([0.2, 0.6])), rtol=1e-5)
    xp.sum(y).backward()
    assert x.grad.dtype == torch.float32


def test_logsumexp_softmax_match_torch_and_accept_dim():
    xp = xpgrad.numpy
    vals = np.array([[1.0, 2.0, 700.0], [-3.0, 0.5, 0.0]])
    x = xp.asarray(vals, requires_grad=True)
    y = xp.special.logsumexp(x, dim=1)
    t = torch.tensor(vals, requires_grad=True)
    np.testing.assert_allclose(np.asarray(y.tolist()), torch.special.logsumexp(t, 1).detach().numpy())
    sm = xp.special.softmax(x, axis=1)
    np.testing.assert_allclose(
        np.asarray(sm.tolist()), torch.special.softmax(t, 1).detach().numpy(), atol=1e-15
    )
    with pytest.raises(TypeError, match="not both"):
        xp.special.logsumexp(x, 1, dim=1)


# -- what libraries look up by name -------------------------------------------------------------


@pytest.mark.parametrize("backend", ["numpy", "torch", "array_api_strict"])
def test_full_accepts_a_0d_array(backend):
    xp = xpgrad.namespace(backend)
    a = xp.full(3, xp.asarray(1), dtype=xp.int32)
    assert a.dtype == xp.int32 and a.tolist() == [1, 1, 1]
    b = xp.full((2,), xp.asarray(2.5))
    assert b.dtype == xp.asarray(2.5).dtype and b.tolist() == [2.5, 2.5]
    f = xp.asarray(2.0, requires_grad=True)
    y = xp.full((2, 2), f)
    xp.sum(3 * y).backward()
    assert f.grad.item() == 12.0
    with pytest.raises(
        ValueError, match="full\\(\\): argument 'fill_value' must be a Python scalar or a 0-d array"
    ):
        xp.full(2, xp.asarray([1.0, 2.0]))


def test_median_is_numpys_and_sklearn_finds_it():
    xp = xpgrad.numpy
    vals = np.array([[3.0, 1.0, 2.0, 8.0], [np.nan, 1.0, 2.0, 0.0]])
    m = xp.median(xp.asarray(vals), axis=1)
    np.testing.assert_array_equal(np.asarray(m.tolist()), np.median(vals, axis=1))
    assert hasattr(xp, "median")
    with pytest.raises(ValueError, match="repeats"):
        xp.median(xp.asarray(vals), axis=(1, 1))


@pytest.mark.parametrize("backend", ["numpy", "torch", "array_api_strict"])
def test_bincount_counts_and_weighted_sums_match_numpy(backend):
    xp = xpgrad.namespace(backend)
    x = np.array([0, 2, 2, 5, 0])
    counts = xp.bincount(xp.asarray(x), minlength=7)
    assert counts.tolist() == np.bincount(x, minlength=7).tolist()
    assert not counts.requires_grad
    w = xp.asarray([0.5, 1.0, 2.0, 3.0, 4.0], dtype=xp.float64, requires_grad=True)
    s = xp.bincount(xp.asarray(x), weights=w)
    np.testing.assert_allclose(np.asarray(s.tolist()), np.bincount(x, weights=[0.5, 1.0, 2.0, 3.0, 4.0]))
    xp.sum(s * xp.asarray([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], dtype=xp.float64)).backward()
    assert w.grad.tolist() == [1.0, 3.0, 3.0, 6.0, 1.0]
    with pytest.raises(ValueError, match="bincount\\(\\): argument 'x' must not contain negative values"):
        xp.bincount(xp.asarray([1, -1]))
    with pytest.raises(TypeError, match="bincount\\(\\): argument 'x' must be a 1-d array of integers"):
        xp.bincount(xp.asarray([1.0]))
