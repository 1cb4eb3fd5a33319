"""Backend policy lives in ``_backends.py`` as capabilities and data (CONTRIBUTING.md, "Backend
policy"): the workarounds op modules used to make themselves, checked on the backend that needs
them against an independent reference (torch.autograd, NumPy)."""

from __future__ import annotations

import importlib.util
import types
import warnings

import numpy as np
import pytest
import torch

import xpgrad
from xpgrad import _backends, _special_libs


@pytest.mark.parametrize("correction", [0.5, 1.5, 2.0])
@pytest.mark.parametrize("axis", [None, 1])
def test_std_with_any_correction_on_torch_matches_torch(correction, axis):
    # array_api_compat.torch's std refuses a non-integral correction: the torch overlay of
    # _backends computes it. Reference: torch.autograd through torch.var (which takes any).
    a = np.random.default_rng(0).standard_normal((3, 4))
    xp = xpgrad.torch
    x = xp.asarray(torch.tensor(a), requires_grad=True)
    y = xp.std(x, axis=axis, correction=correction)
    xp.sum(y * y * y).backward()
    t = torch.tensor(a, requires_grad=True)
    dim = None if axis is None else (axis,)
    ty = torch.sqrt(torch.var(t, dim=dim, correction=correction))
    (ty**3).sum().backward()
    np.testing.assert_allclose(y.detach().data.numpy(), ty.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(x.grad.data.numpy(), t.grad.numpy(), rtol=1e-10)
    ddof_ref = np.std(a, axis=axis, ddof=correction)  # and NumPy's float ddof agrees
    np.testing.assert_allclose(y.detach().data.numpy(), ddof_ref, rtol=1e-12)


def test_unique_all_on_torch_matches_numpy():
    a = np.array([3.0, 1.0, 3.0, 2.0, 1.0, 3.0, 0.5])
    r = xpgrad.torch.unique_all(xpgrad.torch.asarray(torch.tensor(a)))
    values, index, inverse, counts = np.unique(a, return_index=True, return_inverse=True, return_counts=True)
    np.testing.assert_array_equal(r.values.data.numpy(), values)
    np.testing.assert_array_equal(r.indices.data.numpy(), index)  # first occurrences
    np.testing.assert_array_equal(r.inverse_indices.data.numpy(), inverse)
    np.testing.assert_array_equal(r.counts.data.numpy(), counts)


def test_quiet_enters_numpys_errstate_only_where_arithmetic_uses_it():
    numpy_backend = xpgrad.numpy.backend
    torch_backend = xpgrad.torch.backend
    assert numpy_backend.fp_errstate and not torch_backend.fp_errstate
    with numpy_backend.quiet():
        assert np.geterr()["divide"] == "ignore"
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            np.asarray(1.0) / np.asarray(0.0)
    before = np.geterr()
    with torch_backend.quiet():
        assert np.geterr() == before
    # And a backward with inf at a domain edge stays silent on NumPy (warnings are errors here).
    x = xpgrad.numpy.asarray(np.zeros(2), requires_grad=True)
    xpgrad.numpy.sum(xpgrad.numpy.sqrt(x)).backward()
    assert np.all(np.isinf(x.grad.data))


def test_lazy_shortcuts_come_from_the_backend_table():
    # dir() lists the shortcuts of the installed backends (tests/test_messages.py: absent ones).
    found = importlib.util.find_spec  # not a skip
    installed = {n for n, m in _backends.SHORTCUTS.items() if found(m.split(".")[0])}
    assert {"numpy", "torch"} <= installed
    assert set(_backends.SHORTCUTS) & set(dir(xpgrad)) == installed
    assert xpgrad.numpy is xpgrad.namespace(_backends.SHORTCUTS["numpy"])
    assert xpgrad.torch is xpgrad.namespace("torch")
    with pytest.raises(AttributeError, match="no attribute 'nonsense'"):
        xpgrad.nonsense  # noqa: B018


@pytest.mark.requires_backend("jax", "dask")
def test_values_at_hand():
    import dask.array as da
    import jax
    import jax.numpy as jnp

    assert _backends.values_at_hand(np.ones(2))
    assert _backends.values_at_hand(torch.ones(2))
    assert _backends.values_at_hand(jnp.ones(2))  # eager JAX: checks raise as on NumPy
    assert not _backends.values_at_hand(da.ones(2))
    seen = []
    jax.jit(lambda a: seen.append(_backends.values_at_hand(a)) or a)(jnp.ones(2))
    assert seen == [False]


@pytest.mark.requires_backend("jax", "dask")
def test_special_libraries_are_described_by_capabilities():
    import scipy.special

    numpy_lib = _special_libs.special_library(xpgrad.numpy.backend)
    assert numpy_lib.module is scipy.special
    assert not numpy_lib.blockwise
    assert numpy_lib.native("erf") is scipy.special.erf
    jax_lib = _special_libs.special_library(xpgrad.namespace("jax").backend)
    assert jax_lib.native("sinc") is None  # jax.scipy.special has none: special.py composes it
    assert jax_lib.native("psi") is jax_lib.module.digamma
    dask_lib = _special_libs.special_library(xpgrad.dask.backend)
    assert dask_lib.blockwise
    torch_lib = _special_libs.special_library(xpgrad.torch.backend)
    assert torch_lib.native("psi") is torch.special.digamma
    assert torch_lib.native("j0") is torch.special.bessel_j0
    assert torch_lib.native("hyp2f1") is None  # torch.special has none
    assert not torch_lib.blockwise
    assert torch_lib.native("polygamma")(2, torch.tensor([1.5])).item() == pytest.approx(
        float(scipy.special.polygamma(2, 1.5))
    )
    assert _special_libs.special_library(xpgrad.array_api_strict.backend).module is None


@pytest.mark.parametrize(
    "backend", ["torch", pytest.param("dask", marks=pytest.mark.requires_backend("dask"))]
)
def test_overlay_namespaces_are_plain_modules(backend):
    # Ops read ``xp.<function>`` on every call: a plain module object keeps that lookup as fast
    # as on the backend's own module (a class __getattr__ made it several times slower).
    xp = xpgrad.namespace(backend).backend.xp
    assert type(xp) is types.ModuleType
    assert "__getattr__" not in vars(xp)
    assert xp.__array_api_version__ == "2025.12"
    assert xpgrad.namespace(xp) is xpgrad.namespace(backend)
