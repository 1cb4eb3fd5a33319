"""xpgrad.optim.lr_scheduler next to torch.optim.lr_scheduler, step by step.

Every scheduler is built the same way on an xpgrad optimiser and on the same torch.optim
optimiser over the same parameters; at every step the learning rates (``get_last_lr()``, each
group's ``lr`` and momentum or betas), ``last_epoch`` and the parameters must agree, and the
``state_dict()`` must equal torch's, key for key and value for value. In the middle of each run
the scheduler is rebuilt from a checkpoint twice: once from its own ``state_dict()``, once from
torch's.
"""

from __future__ import annotations

import copy
import math
import pickle
import re
import warnings

import array_api_compat.torch as tx
import numpy as np
import pytest
import torch

import xpgrad
from xpgrad import optim
from xpgrad.optim import lr_scheduler

TL = torch.optim.lr_scheduler
STEPS = 12
RELOAD_OURS_AT, RELOAD_TORCHS_AT = 4, 8


# -- the problem: two parameter groups, a smooth non-quadratic loss ----------------------------


def _values(seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((3, 2)), rng.standard_normal(2), rng.standard_normal(4)]


def loss_fn(xp, params):
    return sum(xp.sum(xp.tanh(p) * p + 0.1 * p**2 * xp.cos(p)) for p in params)


def _groups(params):
    return [{"params": params[:2]}, {"params": params[2:], "lr": 0.02}]


OPTIMIZERS = {
    "SGD": {"lr": 0.05, "momentum": 0.9},
    "Adam": {"lr": 0.05},
    "AdamW": {"lr": 0.05, "weight_decay": 0.1},
    "RMSprop": {"lr": 0.01, "momentum": 0.5},
    "Adagrad": {"lr": 0.1},
}


class Pair:
    """The same parameters and optimiser on xpgrad (``backend``) and on torch."""

    def __init__(self, backend, optimizer):
        self.xp = xpgrad.namespace(backend)
        self.optimizer = optimizer
        values = _values()
        self.params = [self.xp.asarray(v, requires_grad=True) for v in values]
        self.tparams = [torch.tensor(v, requires_grad=True) for v in values]
        self.opt = self.new_optimizer()
        self.topt = getattr(torch.optim, optimizer)(_groups(self.tparams), **OPTIMIZERS[optimizer])

    def new_optimizer(self):
        return getattr(optim, self.optimizer)(_groups(self.params), **OPTIMIZERS[self.optimizer])

    def train_step(self):
        """One optimiser step on both sides; returns both losses (0-d Tensors) before the step."""
        for o in (self.opt, self.topt):
            o.zero_grad()
        loss, tloss = loss_fn(self.xp, self.params), loss_fn(tx, self.tparams)
        loss.backward()
        tloss.backward()
        self.opt.step()
        self.topt.step()
        return loss, tloss

    def check(self, sched, tsched, what):
        assert sched.get_last_lr() == pytest.approx(tsched.get_last_lr(), rel=1e-13, abs=1e-16), what
        assert all(type(lr) is float for lr in sched.get_last_lr()), what
        # (a ChainedScheduler has no last_epoch, in torch either)
        assert getattr(sched, "last_epoch", None) == getattr(tsched, "last_epoch", None), what
        for g, tg in zip(self.opt.param_groups, self.topt.param_groups):
            for key in (
                "lr",
                "initial_lr",
                "momentum",
                "betas",
                "max_lr",
                "min_lr",
                "max_momentum",
                "base_momentum",
            ):
                assert (key in g) == (key in tg), f"{what}: {key}"
                if key in tg:
                    assert g[key] == pytest.approx(tg[key], rel=1e-13, abs=1e-16), f"{what}: {key}"
        for i, (p, tp) in enumerate(zip(self.params, self.tparams)):
            data = p.detach().data
            data = getattr(data, "_array", data)  # array_api_strict's wrapped NumPy array
            np.testing.assert_allclose(
                np.asarray(data), tp.detach().numpy(), rtol=1e-10, atol=1e-12, err_msg=f"{what}, param {i}"
            )


def assert_same_state(ours, theirs, where="state_dict"):
    """Equal as data: the same keys, lists and values (floats to 1e-13)."""
    if isinstance(theirs, dict):
        assert isinstance(ours, dict), where
        assert set(ours) == set(theirs), f"{where}: keys {sorted(set(ours) ^ set(theirs))} differ"
        for k in theirs:
            assert_same_state(ours[k], theirs[k], f"{where}[{k!r}]")
    elif isinstance(theirs, (list, tuple)):
        assert type(ours) is type(theirs) and len(ours) == len(theirs), where
        for i, (a, b) in enumerate(zip(ours, theirs)):
            assert_same_state(a, b, f"{where}[{i}]")
    elif isinstance(theirs, float) and not math.isinf(theirs):
        assert ours == pytest.approx(theirs, rel=1e-13, abs=1e-16), where
    else:
        assert type(ours) is type(theirs) and ours == theirs, where


# -- the schedules -------------------------------------------------------------------------------
# Each case builds a scheduler with ``L`` (xpgrad's or torch's lr_scheduler module) on ``opt``.


def inverse_epoch(epoch):
    return 1.0 / (1 + epoch)


def shrink(epoch):
    return 0.9 if epoch % 2 else 0.97


class Warmup:
    """A callable object: its ``__dict__`` is part of the state_dict (as in torch)."""

    def __init__(self, steps):
        self.steps = steps
        self.calls = 0

    def __call__(self, epoch):
        self.calls += 1
        return min(1.0, (epoch + 1) / self.steps)


class Decay:
    """A callable scale_fn that counts its calls (its ``__dict__`` is in the state_dict)."""

    def __init__(self, rate):
        self.rate = rate
        self.calls = 0

    def __call__(self, x):
        self.calls += 1
        return self.rate**x


def _halving(L):
    """A user's scheduler: a subclass of LRScheduler with its own get_lr."""

    class Halving(L.LRScheduler):
        def get_lr(self):
            return [g["lr"] * (0.5 if self.last_epoch % 3 == 2 else 1.0) for g in self.optimizer.param_groups]

    return Halving


def _momentum(opt):
    """CyclicLR and OneCycleLR cycle the momentum; Adagrad has none (see test_cycle_momentum_...)."""
    return {} if {"momentum", "betas"} & set(opt.defaults) else {"cycle_momentum": False}


CASES = {
    "custom-LRScheduler-subclass": lambda L, opt, **kw: _halving(L)(opt, **kw),
    "StepLR": lambda L, opt, **kw: L.StepLR(opt, step_size=3, gamma=0.5, **kw),
    "MultiStepLR-repeated": lambda L, opt, **kw: L.MultiStepLR(opt, milestones=[2, 5, 5, 7], gamma=0.3, **kw),
    "ExponentialLR": lambda L, opt, **kw: L.ExponentialLR(opt, gamma=0.9, **kw),
    "CosineAnnealingLR": lambda L, opt, **kw: L.CosineAnnealingLR(opt, T_max=4, eta_min=0.001, **kw),
    "LambdaLR": lambda L, opt, **kw: L.LambdaLR(opt, lr_lambda=inverse_epoch, **kw),
    "LambdaLR-callable-object": lambda L, opt, **kw: L.LambdaLR(
        opt, lr_lambda=[Warmup(4), inverse_epoch], **kw
    ),
    "MultiplicativeLR": lambda L, opt, **kw: L.MultiplicativeLR(opt, lr_lambda=shrink, **kw),
    "LinearLR": lambda L, opt, **kw: L.LinearLR(opt, start_factor=0.25, total_iters=4, **kw),
    "LinearLR-decay": lambda L, opt, **kw: L.LinearLR(
        opt, start_factor=1.0, end_factor=0.1, total_iters=6, **kw
    ),
    "ConstantLR": lambda L, opt, **kw: L.ConstantLR(opt, factor=0.5, total_iters=3, **kw),
    "PolynomialLR": lambda L, opt, **kw: L.PolynomialLR(opt, total_iters=6, power=2.0, **kw),
    "CosineAnnealingWarmRestarts": lambda L, opt, **kw: L.CosineAnnealingWarmRestarts(
        opt, T_0=3, eta_min=0.001, **kw
    ),
    "CosineAnnealingWarmRestarts-Tmult2": lambda L, opt, **kw: L.CosineAnnealingWarmRestarts(
        opt, T_0=2, T_mult=2, **kw
    ),
    "CyclicLR-triangular": lambda L, opt, **kw: L.CyclicLR(
        opt, base_lr=0.01, max_lr=0.1, step_size_up=3, **_momentum(opt), **kw
    ),
    "CyclicLR-triangular2": lambda L, opt: L.CyclicLR(
        opt,
        base_lr=[0.01, 0.005],
        max_lr=[0.1, 0.05],
        step_size_up=2,
        step_size_down=3,
        mode="triangular2",
        base_momentum=[0.7, 0.8],
        **_momentum(opt),
    ),  # fmt: skip
    "CyclicLR-exp_range": lambda L, opt: L.CyclicLR(
        opt, base_lr=0.01, max_lr=0.1, step_size_up=2, mode="exp_range", gamma=0.9, **_momentum(opt)
    ),
    "CyclicLR-scale_fn": lambda L, opt: L.CyclicLR(
        opt,
        base_lr=0.01,
        max_lr=0.1,
        step_size_up=2,
        scale_fn=Decay(0.8),
        scale_mode="iterations",
        **_momentum(opt),
    ),  # fmt: skip
    "OneCycleLR": lambda L, opt, **kw: L.OneCycleLR(
        opt, max_lr=0.1, total_steps=STEPS + 1, **_momentum(opt), **kw
    ),
    "OneCycleLR-three_phase": lambda L, opt: L.OneCycleLR(
        opt,
        max_lr=[0.1, 0.2],
        epochs=13,
        steps_per_epoch=1,
        anneal_strategy="linear",
        three_phase=True,
        **_momentum(opt),
    ),  # fmt: skip
    "SequentialLR": lambda L, opt: L.SequentialLR(
        opt,
        [L.LinearLR(opt, start_factor=0.1, total_iters=3), L.ExponentialLR(opt, gamma=0.8)],
        milestones=[3],
    ),
    "SequentialLR-three": lambda L, opt: L.SequentialLR(
        opt,
        [L.ConstantLR(opt, factor=0.5, total_iters=5), L.CosineAnnealingLR(opt, T_max=3), L.StepLR(opt, 2)],
        milestones=[2, 6],
    ),
    "SequentialLR-of-ChainedScheduler": lambda L, opt: L.SequentialLR(
        opt,
        [
            L.ChainedScheduler([L.LinearLR(opt, total_iters=3), L.ExponentialLR(opt, gamma=0.9)]),
            L.MultiStepLR(opt, milestones=[3, 5]),
        ],
        milestones=[4],
    ),  # fmt: skip
    "ChainedScheduler": lambda L, opt: L.ChainedScheduler(
        [L.LinearLR(opt, start_factor=0.2, total_iters=4), L.ExponentialLR(opt, gamma=0.9)]
    ),
    "ChainedScheduler-three": lambda L, opt: L.ChainedScheduler(
        [
            L.ConstantLR(opt, factor=0.3, total_iters=2),
            L.MultiStepLR(opt, [3, 6]),
            L.CosineAnnealingLR(opt, 5),
        ],
        optimizer=opt,
    ),
}

# ReduceLROnPlateau: (its options, the metric at each step: a number, or "loss" for the loss).
PLATEAUS = {
    "min-rel": (
        {"factor": 0.5, "patience": 1},
        # 0.89995 is no improvement on 0.9 with the relative threshold 1e-4.
        [1.0, 0.9, 0.95, 0.9, 0.89995, 0.8, 0.85, 0.85, 0.85, 0.7, 0.71, 0.72],
    ),
    "min-abs-cooldown-min_lr": (
        {
            "factor": 0.5,
            "patience": 0,
            "threshold": 0.05,
            "threshold_mode": "abs",
            "cooldown": 2,
            "min_lr": [0.02, 0.004],
        },
        [1.0, 0.97, 0.9, 0.88, 0.87, 0.86, 0.8, 0.79, 0.79, 0.6, 0.6, 0.6],
    ),  # fmt: skip
    "max-rel-eps": (
        # eps=0.004: reductions smaller than that are skipped (the second group's first one).
        {"mode": "max", "factor": 0.5, "patience": 1, "threshold": 0.01, "eps": 0.004},
        [0.5, 0.6, 0.605, 0.6, 0.7, 0.69, 0.68, 0.67, 0.9, 0.9, 0.9, 0.9],
    ),
    "max-abs-on-the-loss": ({"mode": "max", "threshold_mode": "abs", "patience": 2, "min_lr": 0.01}, "loss"),
}


def _build(case, L, opt):
    """The scheduler, and whether building it warned of the step order (nesting a
    ChainedScheduler in a SequentialLR steps the inner schedulers: torch warns then too)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sched = CASES[case](L, opt) if case in CASES else L.ReduceLROnPlateau(opt, **PLATEAUS[case][0])
    assert all("before `optimizer.step()`" in str(w.message) for w in caught), [
        str(w.message) for w in caught
    ]
    return sched, bool(caught)


def _step(case, sched, tsched, step, losses, xp):
    """Step both schedulers; ReduceLROnPlateau gets the metric as a float or a 0-d Tensor."""
    if case in CASES:
        sched.step()
        tsched.step()
        return
    metrics = PLATEAUS[case][1]
    if metrics == "loss":
        sched.step(losses[0])  # a 0-d Tensor that requires grad
        tsched.step(losses[1].detach())  # (torch warns of a conversion of one that requires grad)
    elif step % 2:
        sched.step(xp.asarray(metrics[step]))
        tsched.step(torch.tensor(metrics[step], dtype=torch.float64))
    else:
        sched.step(metrics[step])
        tsched.step(metrics[step])


def run_against_torch(backend, optimizer, case):
    pair = Pair(backend, optimizer)
    (sched, warned), (tsched, twarned) = _build(case, lr_scheduler, pair.opt), _build(case, TL, pair.topt)
    assert warned == twarned == (case == "SequentialLR-of-ChainedScheduler")
    pair.check(sched, tsched, "built")
    for step in range(STEPS):
        losses = pair.train_step()
        _step(case, sched, tsched, step, losses, pair.xp)
        pair.check(sched, tsched, f"step {step}")
        assert_same_state(sched.state_dict(), tsched.state_dict())
        if step in (RELOAD_OURS_AT, RELOAD_TORCHS_AT):
            # A checkpoint: the scheduler is built before the optimiser's state is loaded (torch's order).
            source = sched if step == RELOAD_OURS_AT else tsched
            osd, ssd = copy.deepcopy(pair.opt.state_dict()), copy.deepcopy(source.state_dict())
            ssd = pickle.loads(pickle.dumps(ssd))
            pair.opt = pair.new_optimizer()
            sched = _build(case, lr_scheduler, pair.opt)[0]
            pair.opt.load_state_dict(osd)
            sched.load_state_dict(ssd)
            pair.check(sched, tsched, f"reloaded at step {step}")
    return sched


ALL_CASES = list(CASES) + ["ReduceLROnPlateau-" + k for k in PLATEAUS]


def _case(name):
    return name.removeprefix("ReduceLROnPlateau-") if name.startswith("ReduceLROnPlateau-") else name


@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
@pytest.mark.parametrize("case", ALL_CASES)
def test_scheduler_matches_torch(case, optimizer):
    run_against_torch("numpy", optimizer, _case(case))


@pytest.mark.parametrize("case", ALL_CASES)
def test_scheduler_matches_torch_on_array_api_strict(case):
    run_against_torch("array_api_strict", "SGD", _case(case))


def test_every_torch_scheduler_is_here():
    assert sorted(lr_scheduler.__all__) == sorted(TL.__all__)
    for name in TL.__all__:
        ours = getattr(lr_scheduler, name)
        assert ours is lr_scheduler.LRScheduler or issubclass(ours, lr_scheduler.LRScheduler), name


# -- resuming with last_epoch, the deprecated step(epoch) -----------------------------------------

RESUMABLE = [
    name
    for name in CASES
    if "last_epoch" in CASES[name].__code__.co_varnames or "kw" in CASES[name].__code__.co_varnames
]


@pytest.mark.parametrize("case", RESUMABLE)
def test_resume_with_last_epoch_matches_torch(case):
    """The old way to resume: load the optimiser's state (it holds ``initial_lr``), then build
    the scheduler with ``last_epoch``, without its state_dict."""
    pair = Pair("numpy", "SGD")
    sched, tsched = CASES[case](lr_scheduler, pair.opt), CASES[case](TL, pair.topt)
    for _ in range(5):
        pair.train_step()
        sched.step()
        tsched.step()
    osd, tosd = copy.deepcopy(pair.opt.state_dict()), copy.deepcopy(pair.topt.state_dict())
    pair.opt = pair.new_optimizer()
    pair.topt = torch.optim.SGD(_groups(pair.tparams), **OPTIMIZERS["SGD"])
    pair.opt.load_state_dict(osd)
    pair.topt.load_state_dict(tosd)
    sched, tsched = (
        CASES[case](lr_scheduler, pair.opt, last_epoch=5),
        CASES[case](TL, pair.topt, last_epoch=5),
    )
    pair.check(sched, tsched, "resumed")
    for step in range(5):
        pair.train_step()
        sched.step()
        tsched.step()
        pair.check(sched, tsched, f"step {step} after resuming")


def _deprecated_step(sched, epoch):
    with pytest.warns(UserWarning, match="The epoch parameter in `scheduler.step\\(\\)` was not necessary"):
        sched.step(epoch)


CLOSED_FORM = ["StepLR", "MultiStepLR-repeated", "ExponentialLR", "CosineAnnealingLR", "LinearLR", "ConstantLR",
               "PolynomialLR", "LambdaLR", "MultiplicativeLR", "CyclicLR-triangular", "OneCycleLR"]  # fmt: skip


@pytest.mark.parametrize("case", CLOSED_FORM)
def test_step_with_an_epoch_matches_torch(case):
    """``step(epoch)`` jumps to ``epoch`` with the closed form where there is one (deprecated)."""
    pair = Pair("numpy", "SGD")
    sched, tsched = CASES[case](lr_scheduler, pair.opt), CASES[case](TL, pair.topt)
    for epoch in [3, 1, 7, 7, None, 2, 0, 5, None, 12]:
        pair.train_step()
        if epoch is None:
            sched.step()
            tsched.step()
        else:
            _deprecated_step(sched, epoch)
            _deprecated_step(tsched, epoch)
        pair.check(sched, tsched, f"epoch {epoch}")


@pytest.mark.parametrize("T_mult", [1, 2, 3])
def test_warm_restarts_at_fractional_epochs_match_torch(T_mult):
    """CosineAnnealingWarmRestarts.step(epoch) takes fractions of an epoch (not deprecated)."""
    pair = Pair("numpy", "Adam")
    sched = lr_scheduler.CosineAnnealingWarmRestarts(pair.opt, T_0=2, T_mult=T_mult, eta_min=1e-3)
    tsched = TL.CosineAnnealingWarmRestarts(pair.topt, T_0=2, T_mult=T_mult, eta_min=1e-3)
    for epoch in [0.25, 0.5, 1.75, 2.0, 2.5, None, 6.1, 13.0, 3.3, None, None, 0, 29.9]:
        pair.train_step()
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            sched.step(epoch)
        tsched.step(epoch)
        pair.check(sched, tsched, f"epoch {epoch}")
        assert (sched.T_cur, sched.T_i) == (tsched.T_cur, tsched.T_i)


def test_plateau_with_an_epoch_matches_torch():
    pair = Pair("numpy", "SGD")
    sched = lr_scheduler.ReduceLROnPlateau(pair.opt, patience=0, factor=0.5)
    tsched = TL.ReduceLROnPlateau(pair.topt, patience=0, factor=0.5)
    for epoch, metric in [(None, 1.0), (7, 1.5), (None, 0.5), (3, 0.6)]:
        if epoch is None:
            sched.step(metric)
            tsched.step(metric)
        else:
            with pytest.warns(UserWarning, match="The epoch parameter"):
                sched.step(metric, epoch)
            with pytest.warns(UserWarning, match="The epoch parameter"):
                tsched.step(metric, epoch)
        pair.check(sched, tsched, f"epoch {epoch}")


# -- ReduceLROnPlateau's metric on every backend --------------------------------------------------

BACKENDS = ["numpy", "array_api_strict", "torch"] + [
    pytest.param(b, marks=pytest.mark.requires_backend(b)) for b in ("jax", "dask")
]


@pytest.mark.parametrize("backend", BACKENDS)
def test_plateau_takes_the_metric_as_a_tensor_of_any_backend(backend):
    """A 0-d Tensor (a loss that requires grad, say) or a one-element one acts as its float."""
    xp = xpgrad.namespace(backend)
    metrics = [1.0, 0.875, 0.9375, 0.96875, 0.953125, 0.5, 0.625, 0.75]  # exact in float32 (JAX)
    as_floats = lr_scheduler.ReduceLROnPlateau(
        optim.SGD([xp.asarray(np.ones(2), requires_grad=True)]), patience=1
    )
    as_tensors = lr_scheduler.ReduceLROnPlateau(
        optim.SGD([xp.asarray(np.ones(2), requires_grad=True)]), patience=1
    )
    seen = []
    for i, m in enumerate(metrics):
        w = xp.asarray(np.array(m), requires_grad=True)
        tensor = [w * 1.0, xp.asarray(np.array([m])), xp.asarray(np.array([[m]]))][i % 3]
        as_floats.step(m)
        as_tensors.step(tensor)
        assert as_tensors.best == as_floats.best and type(as_tensors.best) is float
        assert as_tensors.get_last_lr() == as_floats.get_last_lr()
        seen.append(as_floats.get_last_lr()[0])
    assert seen == pytest.approx([0.001] * 3 + [1e-4] * 4 + [1e-5])  # it did reduce, twice


@pytest.mark.parametrize(
    ("metric", "exc", "message"),
    [
        (
            lambda: xpgrad.numpy.asarray([1.0, 2.0]),
            ValueError,
            "got a Tensor of shape (2,) (more than one element)",
        ),
        (lambda: None, TypeError, "got NoneType"),
        (lambda: 1 + 2j, TypeError, "got complex"),
        (lambda: "low", ValueError, "got str"),
    ],
    ids=["two-elements", "None", "complex", "str"],
)
def test_plateau_rejects_a_metric_that_is_no_number(metric, exc, message):
    sched = lr_scheduler.ReduceLROnPlateau(optim.SGD([xpgrad.numpy.asarray([1.0], requires_grad=True)]))
    with pytest.raises(
        exc, match=re.escape("ReduceLROnPlateau.step(metrics): expected the monitored quantity")
    ) as e:
        sched.step(metric())
    assert message in str(e.value) and "scheduler.step(val_loss)" in str(e.value)
    assert sched.last_epoch == 0 and sched.num_bad_epochs == 0  # nothing recorded


# -- bad input: the same exception type as torch, a message naming the scheduler -------------------


def _two_optimizers(L, opt):
    other = opt.__class__(opt.param_groups[0]["params"], lr=0.1)
    return L.ExponentialLR(opt, gamma=0.9), L.StepLR(other, step_size=2)


def _adagrad(L, opt):
    """An Adagrad optimiser (no momentum to cycle) over ``opt``'s parameters."""
    return (torch.optim if L is TL else optim).Adagrad([p for g in opt.param_groups for p in g["params"]])


BAD = {
    "ReduceLROnPlateau-factor": (lambda L, opt: L.ReduceLROnPlateau(opt, factor=1.0), "factor=1.0"),
    "ReduceLROnPlateau-mode": (lambda L, opt: L.ReduceLROnPlateau(opt, mode="lowest"), "'min' or 'max'"),
    "ReduceLROnPlateau-threshold_mode": (
        lambda L, opt: L.ReduceLROnPlateau(opt, threshold_mode="relative"),
        "'rel' or 'abs'",
    ),
    "ReduceLROnPlateau-min_lr": (lambda L, opt: L.ReduceLROnPlateau(opt, min_lr=[0.1]), "expected 2 min_lrs"),
    "SequentialLR-empty": (lambda L, opt: L.SequentialLR(opt, [], milestones=[]), "at least one scheduler"),
    "SequentialLR-milestones": (
        lambda L, opt: L.SequentialLR(opt, [L.StepLR(opt, 2), L.StepLR(opt, 3)], milestones=[1, 2]),
        "number of milestones to be equal to 2",
    ),
    "SequentialLR-plateau": (
        lambda L, opt: L.SequentialLR(opt, [L.StepLR(opt, 2), L.ReduceLROnPlateau(opt)], milestones=[2]),
        "does not support `ReduceLROnPlateau`",
    ),
    "SequentialLR-not-a-scheduler": (lambda L, opt: L.SequentialLR(opt, [3], milestones=[]), "index 0"),
    "SequentialLR-two-optimizers": (
        lambda L, opt: L.SequentialLR(opt, list(_two_optimizers(L, opt)), milestones=[2]),
        "same optimizer",
    ),
    "ChainedScheduler-empty": (lambda L, opt: L.ChainedScheduler([]), "at least one scheduler"),
    "ChainedScheduler-plateau": (
        lambda L, opt: L.ChainedScheduler([L.ReduceLROnPlateau(opt)]),
        "does not support `ReduceLROnPlateau`",
    ),
    "ChainedScheduler-two-optimizers": (
        lambda L, opt: L.ChainedScheduler(_two_optimizers(L, opt)),
        "same optimizer",
    ),
    "CyclicLR-mode": (lambda L, opt: L.CyclicLR(opt, 0.01, 0.1, mode="sawtooth"), "mode='sawtooth'"),
    "CyclicLR-base_lr": (
        lambda L, opt: L.CyclicLR(opt, [0.01], 0.1),
        "base_lr has 1 values, param_groups has 2",
    ),
    "CyclicLR-Adagrad": (
        lambda L, opt: L.CyclicLR(_adagrad(L, opt), 0.01, 0.1),
        "pass cycle_momentum=False",
    ),
    "OneCycleLR-Adagrad": (
        lambda L, opt: L.OneCycleLR(_adagrad(L, opt), 0.1, 10),
        "pass cycle_momentum=False",
    ),
    "OneCycleLR-pct_start": (lambda L, opt: L.OneCycleLR(opt, 0.1, 10, pct_start=1), "pct_start, but got 1"),
    "OneCycleLR-anneal": (
        lambda L, opt: L.OneCycleLR(opt, 0.1, 10, anneal_strategy="cosine"),
        "instead got cosine",
    ),
    "OneCycleLR-total_steps": (
        lambda L, opt: L.OneCycleLR(opt, 0.1, total_steps=0),
        "total_steps, but got 0",
    ),
    "OneCycleLR-no-length": (lambda L, opt: L.OneCycleLR(opt, 0.1, epochs=3), "total_steps OR"),
    "CosineAnnealingWarmRestarts-T_0": (
        lambda L, opt: L.CosineAnnealingWarmRestarts(opt, T_0=0),
        "T_0, but got 0",
    ),
    "CosineAnnealingWarmRestarts-T_mult": (
        lambda L, opt: L.CosineAnnealingWarmRestarts(opt, T_0=2, T_mult=1.5),
        "T_mult >= 1, but got 1.5",
    ),
    "CosineAnnealingWarmRestarts-eta_min": (
        lambda L, opt: L.CosineAnnealingWarmRestarts(opt, T_0=2, eta_min="0"),
        "eta_min, but got 0 of type str",
    ),
    "CosineAnnealingWarmRestarts-negative-epoch": (
        lambda L, opt: L.CosineAnnealingWarmRestarts(opt, T_0=2).step(-1),
        "non-negative epoch, but got -1",
    ),
    "MultiplicativeLR-not-callable": (lambda L, opt: L.MultiplicativeLR(opt, 0.5), "should be a function"),
    "LambdaLR-count": (
        lambda L, opt: L.LambdaLR(opt, [inverse_epoch] * 3),
        "Expected 2 lr_lambdas, but got 3",
    ),
    "ConstantLR-factor": (lambda L, opt: L.ConstantLR(opt, factor=1.5), "got factor=1.5"),
    "LinearLR-start": (lambda L, opt: L.LinearLR(opt, start_factor=0.0), "got start_factor=0.0"),
    "LinearLR-end": (lambda L, opt: L.LinearLR(opt, end_factor=1.5), "got end_factor=1.5"),
    "StepLR-resume-without-initial_lr": (lambda L, opt: L.StepLR(opt, 2, last_epoch=3), "initial_lr"),
    "StepLR-not-an-optimizer": (lambda L, opt: L.StepLR(object(), 2), "object is not an Optimizer"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_raises_torchs_exception_type(case):
    make, message = BAD[case]
    pair = Pair("numpy", "SGD")
    with pytest.raises(Exception) as theirs:
        make(TL, pair.topt)
    with pytest.raises(type(theirs.value)) as ours:
        make(lr_scheduler, pair.opt)
    assert message in str(ours.value)
    who = case.split("-")[0]
    assert who in str(ours.value) or case == "StepLR-not-an-optimizer", str(ours.value)


@pytest.mark.parametrize(
    ("cls", "args"),
    [("LambdaLR", [inverse_epoch]), ("MultiplicativeLR", [shrink]), ("StepLR", [2]), ("CyclicLR", [0.01, 0.1]),
     ("OneCycleLR", [0.1, 10]), ("ReduceLROnPlateau", [])],
)  # fmt: skip
def test_something_else_than_an_optimizer_is_refused(cls, args):
    with pytest.raises(
        TypeError, match=f"^dict is not an Optimizer: {cls} expects an xpgrad.optim optimiser"
    ):
        getattr(lr_scheduler, cls)({"lr": 0.1}, *args)


def test_a_torch_optimizer_is_refused_with_a_hint():
    topt = torch.optim.SGD([torch.zeros(2, requires_grad=True)], lr=0.1)
    with pytest.raises(
        TypeError, match="SGD is not an Optimizer: StepLR expects an xpgrad.optim optimiser"
    ) as e:
        lr_scheduler.StepLR(topt, step_size=2)
    assert (
        "(an optimiser of torch: use torch's schedulers with it, or build the optimiser with xpgrad.optim)"
        in str(e.value)
    )


def test_one_cycle_refuses_to_step_past_its_end_as_torch():
    pair = Pair("numpy", "Adam")
    sched, tsched = (
        lr_scheduler.OneCycleLR(pair.opt, 0.1, total_steps=2),
        TL.OneCycleLR(pair.topt, 0.1, total_steps=2),
    )
    for _ in range(2):
        pair.train_step()
        sched.step()
        tsched.step()
    with pytest.raises(ValueError, match="Tried to step 3 times. The specified number of total steps is 2"):
        tsched.step()
    with pytest.raises(ValueError, match="Tried to step 3 times. The specified number of total steps is 2"):
        sched.step()


# -- warnings: step order, get_lr outside step ------------------------------------------------------


def test_step_before_optimizer_step_warns_as_torch():
    pair = Pair("numpy", "SGD")
    sched, tsched = lr_scheduler.StepLR(pair.opt, step_size=2), TL.StepLR(pair.topt, step_size=2)
    for s in (tsched, sched):
        with pytest.warns(
            UserWarning, match="Detected call of `lr_scheduler.step\\(\\)` before `optimizer.step\\(\\)`"
        ):
            s.step()
    pair.check(sched, tsched, "after the early step")
    pair.train_step()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sched.step()  # only the first step is checked, as torch's


def test_get_lr_outside_step_warns_as_torch():
    pair = Pair("numpy", "SGD")
    sched, tsched = lr_scheduler.ExponentialLR(pair.opt, 0.5), TL.ExponentialLR(pair.topt, 0.5)
    for s in (tsched, sched):
        with pytest.warns(UserWarning, match="please use `get_last_lr\\(\\)`"):
            s.get_lr()
    assert sched.state_dict()["_get_lr_called_within_step"] is False


def test_a_replaced_optimizer_step_warns_as_torch():
    pair = Pair("numpy", "SGD")
    sched, tsched = lr_scheduler.StepLR(pair.opt, step_size=2), TL.StepLR(pair.topt, step_size=2)
    pair.opt.step, pair.topt.step = (lambda closure=None: None), (lambda closure=None: None)
    for s in (tsched, sched):
        with pytest.warns(
            UserWarning, match="`optimizer.step\\(\\)` has been overridden after learning rate scheduler"
        ):
            s.step()


class CountingSGD(optim.Optimizer):
    """A user's optimiser that implements ``step`` itself (not the built-in optimisers' path)."""

    def __init__(self, params, lr=0.1):
        super().__init__(params, {"lr": lr})
        self.steps = 0

    def step(self, closure=None):
        self.steps += 1


def test_a_users_optimizer_and_a_copy_of_an_optimizer_step_correctly():
    opt = CountingSGD([xpgrad.numpy.asarray([1.0], requires_grad=True)])
    sched = lr_scheduler.CosineAnnealingLR(opt, T_max=4)
    opt.step()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sched.step()  # no false "step order" warning for a step() written by the user
    assert opt.steps == 1
    twin = copy.deepcopy(opt)
    twin.step()
    assert (opt.steps, twin.steps) == (1, 2)  # the copy's step() steps the copy

    pair = Pair("numpy", "SGD")
    lr_scheduler.StepLR(pair.opt, step_size=2)
    before = [np.array(p.data) for p in pair.params]
    twin = copy.deepcopy(pair.opt)
    for p in twin.param_groups[0]["params"]:
        p.grad = xpgrad.numpy.ones_like(p)
    twin.step()
    assert all(np.array_equal(np.asarray(p.data), b) for p, b in zip(pair.params, before))


def test_several_schedulers_wrap_the_optimizer_step_once():
    pair = Pair("numpy", "SGD")
    lr_scheduler.StepLR(pair.opt, 2)
    wrapped = pair.opt.step
    lr_scheduler.ExponentialLR(pair.opt, 0.9)
    assert pair.opt.step == wrapped
    pair.train_step()
    assert pair.opt._opt_called
