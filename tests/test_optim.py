"""xpgrad.optim next to torch.optim: the same problem, step by step, parameters equal to 1e-10.

Each optimiser runs on a small float64 MLP least-squares loss written once in array
API code, on xpgrad tensors (several backends) and on torch tensors with torch.optim; the
parameters are compared after every step, including across a ``state_dict`` round trip in the
middle of the run. The learning-rate schedulers are tested in test_lr_scheduler.py.
"""

from __future__ import annotations

import copy

import array_api_compat.torch as tx
import numpy as np
import pytest
import torch

import xpgrad
from xpgrad import optim

BACKENDS = [
    pytest.param("numpy"),
    pytest.param("array_api_strict"),
    pytest.param("torch"),
    pytest.param("jax", marks=pytest.mark.requires_backend("jax")),
    pytest.param("dask", marks=pytest.mark.requires_backend("dask")),
]

RTOL, ATOL = 1e-10, 1e-12
STEPS = 8
RELOAD_AT = 4


def _problem(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((10, 4))
    Y = rng.standard_normal((10, 2))
    params = [
        rng.standard_normal((4, 5)),
        0.1 * rng.standard_normal(5),
        rng.standard_normal((5, 2)),
        np.zeros(2),
    ]
    return X, Y, params


def mlp_loss(xp, params, X, Y):
    W1, b1, W2, b2 = params
    h = xp.tanh(X @ W1 + b1)
    out = h @ W2 + b2
    return xp.mean((out - Y) ** 2)


def to_numpy(t):
    data = t.detach().data if isinstance(t, xpgrad.Tensor) else t.detach()
    inner = getattr(data, "_array", None)  # array_api_strict
    if inner is not None:
        data = inner
    if hasattr(data, "compute"):
        data = data.compute()
    return np.asarray(data)


class Run:
    """The same training problem on xpgrad (backend ``backend``) and on torch."""

    def __init__(self, backend, seed=0):
        if backend == "jax":
            import jax

            jax.config.update("jax_enable_x64", True)  # float64, as torch's side
        X, Y, params = _problem(seed)
        self.xp = xpgrad.namespace(backend)
        self.X, self.Y = self.xp.asarray(X), self.xp.asarray(Y)
        self.params = [self.xp.asarray(p, requires_grad=True) for p in params]
        self.tX, self.tY = torch.from_numpy(X), torch.from_numpy(Y)
        self.tparams = [torch.tensor(p, requires_grad=True) for p in params]

    def loss(self):
        return mlp_loss(self.xp, self.params, self.X, self.Y)

    def tloss(self):
        return mlp_loss(tx, self.tparams, self.tX, self.tY)

    def backward(self, opt, topt):
        opt.zero_grad()
        topt.zero_grad()
        self.loss().backward()
        self.tloss().backward()

    def check(self, what):
        for i, (p, tp) in enumerate(zip(self.params, self.tparams)):
            np.testing.assert_allclose(
                to_numpy(p), tp.detach().numpy(), rtol=RTOL, atol=ATOL, err_msg=f"{what}, param {i}"
            )


OPTIMIZERS = [
    ("SGD", {"lr": 0.05}),
    ("SGD", {"lr": 0.05, "momentum": 0.9}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "dampening": 0.2, "weight_decay": 0.01}),
    ("SGD", {"lr": 0.05, "momentum": 0.8, "nesterov": True, "weight_decay": 0.1}),
    ("SGD", {"lr": 0.01, "momentum": 0.5, "maximize": True}),
    ("Adam", {"lr": 0.01}),
    ("Adam", {"lr": 0.01, "betas": (0.8, 0.9), "weight_decay": 0.1, "amsgrad": True}),
    ("Adam", {"lr": 0.01, "maximize": True, "eps": 1e-6}),
    ("AdamW", {"lr": 0.01}),
    ("AdamW", {"lr": 0.01, "weight_decay": 0.2, "amsgrad": True}),
    ("RMSprop", {"lr": 0.01}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.9, "centered": True, "weight_decay": 0.01}),
    ("RMSprop", {"lr": 0.01, "alpha": 0.9, "centered": True, "maximize": True}),
    ("Adagrad", {"lr": 0.1}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.05, "weight_decay": 0.1, "initial_accumulator_value": 0.2}),
]


def _ids(case):
    """A test id that is the same in every process (no object address: pytest-xdist's workers
    must collect the same tests)."""
    name, kw = case
    return name + "(" + ",".join(f"{k}={getattr(v, '__name__', v)}" for k, v in kw.items()) + ")"


def _groups(params, lr):
    """Two parameter groups, the second with its own learning rate."""
    return [{"params": params[:2]}, {"params": params[2:], "lr": lr * 0.5}]


# Every case on the eager backends; on JAX and Dask (slower per op) one case per algorithm, with
# its richest options.
_SLOW = {1, 6, 9, 11, 14}
OPTIMIZER_RUNS = [
    pytest.param(b.values[0], c, id=f"{_ids(c)}-{b.values[0]}", marks=b.marks)
    for i, c in enumerate(OPTIMIZERS)
    for b in BACKENDS
    if not b.marks or i in _SLOW
]


@pytest.mark.parametrize(("backend", "case"), OPTIMIZER_RUNS)
def test_optimizer_matches_torch(backend, case):
    name, kw = case
    run = Run(backend)
    cls, tcls = getattr(optim, name), getattr(torch.optim, name)
    opt = cls(_groups(run.params, kw["lr"]), **kw)
    if backend == "dask":
        optim.persist_each_step(opt)  # otherwise every step recomputes all previous ones
    topt = tcls(_groups(run.tparams, kw["lr"]), **kw)
    for step in range(STEPS):
        run.backward(opt, topt)
        opt.step()
        topt.step()
        run.check(f"{name} step {step}")
        if step == RELOAD_AT:
            # A fresh optimiser resumed from a snapshot of the state continues identically.
            saved = copy.deepcopy(opt.state_dict())
            opt = cls(_groups(run.params, 1.0), **{**kw, "lr": 1.0})
            opt.load_state_dict(saved)
            if backend == "dask":
                optim.persist_each_step(opt)


@pytest.mark.parametrize("case", OPTIMIZERS, ids=[_ids(c) for c in OPTIMIZERS])
def test_state_dict_layout_is_torchs(case):
    """Same keys as torch's state_dict, and torch's own state (as NumPy arrays) loads into ours."""
    name, kw = case
    run = Run("numpy")
    cls, tcls = getattr(optim, name), getattr(torch.optim, name)
    opt = cls(_groups(run.params, kw["lr"]), **kw)
    topt = tcls(_groups(run.tparams, kw["lr"]), **kw)
    for _ in range(3):
        run.backward(opt, topt)
        opt.step()
        topt.step()
    sd, tsd = opt.state_dict(), topt.state_dict()
    assert sd["state"].keys() == tsd["state"].keys()
    for i in sd["state"]:
        assert sd["state"][i].keys() == tsd["state"][i].keys()
    for g, tg in zip(sd["param_groups"], tsd["param_groups"]):
        assert g["params"] == tg["params"]
        assert set(g) <= set(tg), set(g) - set(tg)
        assert all(g[k] == tg[k] for k in g)
    # torch's state, converted to NumPy, continues our run exactly as torch continues.
    as_numpy = {
        "state": {i: {k: v.numpy() for k, v in s.items()} for i, s in tsd["state"].items()},
        "param_groups": copy.deepcopy(tsd["param_groups"]),
    }
    opt2 = cls(_groups(run.params, kw["lr"]), **kw)
    opt2.load_state_dict(as_numpy)
    for step in range(3):
        run.backward(opt2, topt)
        opt2.step()
        topt.step()
        run.check(f"after loading torch's state, step {step}")


def test_step_closure_returns_loss():
    run = Run("numpy")
    opt = optim.SGD(run.params, lr=0.1)
    topt = torch.optim.SGD(run.tparams, lr=0.1)

    def closure():
        opt.zero_grad()
        loss = run.loss()
        loss.backward()
        return loss

    def tclosure():
        topt.zero_grad()
        loss = run.tloss()
        loss.backward()
        return loss

    for _ in range(3):
        with xpgrad.no_grad():  # step enables grad for the closure, as torch does
            loss = opt.step(closure)
        tloss = topt.step(tclosure)
        np.testing.assert_allclose(float(loss.detach()), float(tloss.detach()), rtol=RTOL)
        run.check("closure")


@pytest.mark.parametrize("backend", BACKENDS)
def test_zero_grad(backend):
    xp = xpgrad.namespace(backend)
    w = xp.asarray([1.0, 2.0], requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    xp.sum(w * w).backward()
    opt.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(to_numpy(w.grad), [0.0, 0.0])
    xp.sum(w * w).backward()
    np.testing.assert_array_equal(to_numpy(w.grad), [2.0, 4.0])
    opt.zero_grad()
    assert w.grad is None
    opt.step()  # no gradient: the parameter is left alone
    np.testing.assert_array_equal(to_numpy(w), [1.0, 2.0])


def test_update_is_in_place_on_numpy():
    """As torch: views and detach() aliases see the new value; the version counter moves, so a
    graph that saved the old value refuses to backward."""
    xp = xpgrad.numpy
    w = xp.asarray([1.0, 2.0], requires_grad=True)
    alias = w.detach()
    raw = w.data
    opt = optim.SGD([w], lr=0.5)
    y = xp.sum(w * w)
    y.backward(retain_graph=True)
    opt.step()
    np.testing.assert_array_equal(to_numpy(alias), [0.0, 0.0])
    assert w.data is raw
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        y.backward()


@pytest.mark.requires_backend("jax")
def test_jax_parameters_are_rebound_and_stay_leaves():
    import jax

    jax.config.update("jax_enable_x64", True)
    xp = xpgrad.jax
    w = xp.asarray([1.0, 2.0], requires_grad=True)
    before = w.data
    opt = optim.Adam([w], lr=0.1)
    xp.sum(w * w).backward()
    opt.step()
    assert w.data is not before and w.is_leaf and w.requires_grad
    np.testing.assert_array_equal(np.asarray(before), [1.0, 2.0])  # the old array is unchanged


def test_add_param_group():
    run = Run("numpy")
    opt = optim.Adam(run.params[:2], lr=0.01)
    topt = torch.optim.Adam(run.tparams[:2], lr=0.01)
    opt.add_param_group({"params": run.params[2:], "lr": 0.02, "amsgrad": True})
    topt.add_param_group({"params": run.tparams[2:], "lr": 0.02, "amsgrad": True})
    assert opt.param_groups[1]["betas"] == (0.9, 0.999) and opt.param_groups[1]["amsgrad"]
    for _ in range(4):
        run.backward(opt, topt)
        opt.step()
        topt.step()
        run.check("add_param_group")


def _leaf():
    return xpgrad.numpy.asarray([1.0, 2.0], requires_grad=True)


BAD = [
    (lambda: optim.SGD([_leaf()], lr=-0.1), ValueError, "Invalid learning rate: -0.1"),
    (lambda: optim.SGD([_leaf()], lr=0.1, momentum=-1), ValueError, "Invalid momentum value: -1"),
    (lambda: optim.SGD([_leaf()], lr=0.1, weight_decay=-1), ValueError, "Invalid weight_decay value: -1"),
    (
        lambda: optim.SGD([_leaf()], lr=0.1, nesterov=True),
        ValueError,
        "Nesterov momentum requires a momentum",
    ),
    (
        lambda: optim.SGD([_leaf()], lr=0.1, momentum=0.9, dampening=0.1, nesterov=True),
        ValueError,
        "Nesterov momentum requires a momentum and zero dampening",
    ),
    (lambda: optim.Adam([_leaf()], lr=-1.0), ValueError, "Invalid learning rate: -1.0"),
    (lambda: optim.Adam([_leaf()], betas=(1.0, 0.9)), ValueError, "Invalid beta parameter at index 0: 1.0"),
    (lambda: optim.Adam([_leaf()], betas=(0.9, -0.1)), ValueError, "Invalid beta parameter at index 1: -0.1"),
    (lambda: optim.AdamW([_leaf()], eps=-1e-8), ValueError, "Invalid epsilon value: -1e-08"),
    (lambda: optim.RMSprop([_leaf()], alpha=-0.5), ValueError, "Invalid alpha value: -0.5"),
    (lambda: optim.RMSprop([_leaf()], momentum=-0.5), ValueError, "Invalid momentum value: -0.5"),
    (lambda: optim.Adagrad([_leaf()], lr_decay=-1.0), ValueError, "Invalid lr_decay value: -1.0"),
    (
        lambda: optim.Adagrad([_leaf()], initial_accumulator_value=-1.0),
        ValueError,
        "Invalid initial_accumulator_value value: -1.0",
    ),
    (lambda: optim.SGD([], lr=0.1), ValueError, "optimizer got an empty parameter list"),
    (lambda: optim.SGD(_leaf(), lr=0.1), TypeError, "should be an iterable of Tensors or dicts"),
    (
        lambda: optim.SGD({_leaf()} if False else [1.0], lr=0.1),
        TypeError,
        "optimizer can only optimize Tensors",
    ),
    (lambda: optim.SGD([_leaf() * 2], lr=0.1), ValueError, "can't optimize a non-leaf Tensor"),
]


@pytest.mark.parametrize(("make", "exc", "message"), BAD, ids=[b[2][:40] for b in BAD])
def test_bad_options_raise_torchs_errors(make, exc, message):
    with pytest.raises(exc, match=_escape(message)):
        make()


def _escape(s):
    import re

    return re.escape(s)


def test_bad_options_match_torch_messages():
    """The same calls on torch raise the same type with the same message."""
    t = torch.tensor([1.0], requires_grad=True)
    x = _leaf()
    for ours, theirs in [
        (lambda: optim.SGD([x], lr=-0.1), lambda: torch.optim.SGD([t], lr=-0.1)),
        (lambda: optim.Adam([x], betas=(0.9, 1.0)), lambda: torch.optim.Adam([t], betas=(0.9, 1.0))),
        (lambda: optim.RMSprop([x], eps=-1.0), lambda: torch.optim.RMSprop([t], eps=-1.0)),
        (lambda: optim.SGD([x], lr=0.1, nesterov=True), lambda: torch.optim.SGD([t], lr=0.1, nesterov=True)),
        (lambda: optim.SGD([x * 2], lr=0.1), lambda: torch.optim.SGD([t * 2], lr=0.1)),
    ]:
        with pytest.raises(Exception) as ours_err:
            ours()
        with pytest.raises(Exception) as theirs_err:
            theirs()
        assert type(ours_err.value) is type(theirs_err.value)
        assert str(ours_err.value) == str(theirs_err.value)


def test_parameter_in_two_groups():
    w = _leaf()
    with pytest.raises(ValueError, match="some parameters appear in more than one parameter group"):
        optim.SGD([{"params": [w]}, {"params": [w], "lr": 0.2}], lr=0.1)
    opt = optim.SGD([w], lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [w]})
    assert len(opt.param_groups) == 1  # nothing half-added


def test_set_of_params_and_missing_lr():
    with pytest.raises(TypeError, match="ordered collections"):
        optim.SGD([{"params": {_leaf()}}], lr=0.1)


def test_load_state_dict_mismatch():
    opt = optim.Adam([_leaf(), _leaf()])
    other = optim.Adam([_leaf()])
    with pytest.raises(ValueError, match="doesn't match the size of optimizer's group"):
        opt.load_state_dict(other.state_dict())
    with pytest.raises(ValueError, match="different number of parameter groups"):
        opt.load_state_dict({"state": {}, "param_groups": []})


def test_complex_parameters_raise_for_adaptive_methods():
    w = xpgrad.numpy.asarray([1.0 + 1.0j], requires_grad=True)
    xpgrad.numpy.sum(xpgrad.numpy.abs(w) ** 2).backward()
    with pytest.raises(NotImplementedError, match="Adam: complex parameters are not supported"):
        optim.Adam([w]).step()
    # SGD is linear in the gradient, so complex parameters follow torch's convention directly.
    tw = torch.tensor([1.0 + 1.0j], dtype=torch.complex128, requires_grad=True)
    (tw.abs() ** 2).sum().backward()
    opt, topt = optim.SGD([w], lr=0.1, momentum=0.5), torch.optim.SGD([tw], lr=0.1, momentum=0.5)
    opt.step()
    topt.step()
    np.testing.assert_allclose(to_numpy(w), tw.detach().numpy(), rtol=RTOL)


# -- lazy backends -----------------------------------------------------------------------------


@pytest.mark.requires_backend("dask")
def test_persist_each_step_keeps_dask_graphs_small():
    import dask.array as da

    xp = xpgrad.dask

    def train(persist):
        w = xp.asarray(da.ones((6, 4), chunks=(3, 4)), requires_grad=True)
        X = xp.asarray(da.from_array(np.arange(24.0).reshape(4, 6) / 24, chunks=(4, 3)))
        opt = optim.Adam([w], lr=0.1)
        if persist:
            optim.persist_each_step(opt)
        sizes = []
        for _ in range(4):
            opt.zero_grad()
            xp.sum((X @ w) ** 2).backward()
            opt.step()
            sizes.append(len(w.data.__dask_graph__()))
        return to_numpy(w), sizes

    w_lazy, grown = train(False)
    w_kept, kept = train(True)
    np.testing.assert_allclose(w_kept, w_lazy, rtol=1e-12)
    assert kept[0] == kept[-1] == 2  # one task per chunk: computed values
    assert grown[-1] > grown[0] > kept[0]
