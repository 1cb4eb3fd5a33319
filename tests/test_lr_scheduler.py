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
import importlib.util
import math
import pickle
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


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


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


def halve_per_cycle(x):
    return 0.5**x


def _momentum(opt):
    """CyclicLR and OneCycleLR cycle the momentum; Adagrad has none (see test_cycle_momentum_...)."""
    return {} if {"momentum", "betas"} & set(opt.defaults) else {"cycle_momentum": False}


CASES = {
    "StepLR": lambda L, opt: L.StepLR(opt, step_size=3, gamma=0.5),
    "MultiStepLR-repeated": lambda L, opt: L.MultiStepLR(opt, milestones=[2, 5, 5, 7], gamma=0.3),
    "ExponentialLR": lambda L, opt: L.ExponentialLR(opt, gamma=0.9),
    "CosineAnnealingLR": lambda L, opt: L.CosineAnnealingLR(opt, T_max=4, eta_min=0.001),
    "LambdaLR": lambda L, opt: L.LambdaLR(opt, lr_lambda=inverse_epoch),
    "LambdaLR-callable-object": lambda L, opt: L.LambdaLR(opt, lr_lambda=[Warmup(4), inverse_epoch]),
    "MultiplicativeLR": lambda L, opt: L.MultiplicativeLR(opt, lr_lambda=shrink),
    "LinearLR": lambda L, opt: L.LinearLR(opt, start_factor=0.25, total_iters=4),
    "LinearLR-decay": lambda L, opt: L.LinearLR(opt, start_factor=1.0, end_factor=0.1, total_iters=6),
    "ConstantLR": lambda L, opt: L.ConstantLR(opt, factor=0.5, total_iters=3),
    "PolynomialLR": lambda L, opt: L.PolynomialLR(opt, total_iters=6, power=2.0),
    "CosineAnnealingWarmRestarts": lambda L, opt: L.CosineAnnealingWarmRestarts(opt, T_0=3, eta_min=0.001),
    "CosineAnnealingWarmRestarts-Tmult2": lambda L, opt: L.CosineAnnealingWarmRestarts(opt, T_0=2, T_mult=2),
    "CyclicLR-triangular": lambda L, opt: L.CyclicLR(
        opt, base_lr=0.01, max_lr=0.1, step_size_up=3, **_momentum(opt)
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
        scale_fn=halve_per_cycle,
        scale_mode="iterations",
        cycle_momentum=False,
    ),  # fmt: skip
    "OneCycleLR": lambda L, opt: L.OneCycleLR(opt, max_lr=0.1, total_steps=STEPS + 1, **_momentum(opt)),
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
