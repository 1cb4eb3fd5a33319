"""Schedulers made of other schedulers: :class:`SequentialLR` (one after the other, switching at
milestones) and :class:`ChainedScheduler` (all at every step, their factors multiplying)."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from typing import Any

from .._optimizer import Optimizer
from ._base import LRScheduler
from ._plateau import ReduceLROnPlateau

__all__ = ["ChainedScheduler", "SequentialLR"]


def _check_schedulers(who: str, optimizer: Optimizer, schedulers: Sequence[Any]) -> None:
    if len(schedulers) < 1:
        raise ValueError(f"{who} expects at least one scheduler, but got no scheduler.")
    for i, scheduler in enumerate(schedulers):
        if not hasattr(scheduler, "optimizer"):
            raise TypeError(
                f"{who} at index {i} should have `optimizer` as its attribute: schedulers[{i}] is a "
                f"{type(scheduler).__name__}, not a learning-rate scheduler"
            )
        if isinstance(scheduler, ReduceLROnPlateau):
            raise ValueError(
                f"{who} does not support `ReduceLROnPlateau` scheduler as it requires additional "
                "kwargs to be specified when calling `step`, but got one at index "
                f"{i} in the given schedulers sequence: step it yourself, next to {who}"
            )
        if optimizer is not scheduler.optimizer:
            raise ValueError(
                f"{who} expects all schedulers to belong to the same optimizer, but got scheduler "
                f"{type(scheduler).__name__} at index {i} has {scheduler.optimizer}, which is "
                f"different from {type(optimizer).__name__}."
            )


def _nested_state(scheduler: Any) -> dict[str, Any]:
    sd = {k: v for k, v in scheduler.__dict__.items() if k not in ("optimizer", "_schedulers")}
    sd["_schedulers"] = [s.state_dict() for s in scheduler._schedulers]
    return sd


def _load_nested_state(scheduler: Any, state_dict: dict[str, Any]) -> None:
    state_dict = dict(state_dict)
    saved = state_dict.pop("_schedulers")
    scheduler.__dict__.update(state_dict)
    for s, s_state in zip(scheduler._schedulers, saved):
        s.load_state_dict(s_state)


class SequentialLR(LRScheduler):
    """Run ``schedulers`` one after the other: ``schedulers[i]`` from step ``milestones[i - 1]``
    on, restarted from its own step 0 there (``len(milestones) == len(schedulers) - 1``).

    The schedulers must be built on ``optimizer`` before; building this one undoes their first
    step and starts the first of them. ``state_dict`` holds theirs (under ``"_schedulers"``).

        >>> warmup = lr_scheduler.LinearLR(opt, start_factor=0.1, total_iters=5)  # doctest: +SKIP
        >>> decay = lr_scheduler.CosineAnnealingLR(opt, T_max=95)                # doctest: +SKIP
        >>> sched = lr_scheduler.SequentialLR(opt, [warmup, decay], milestones=[5])  # doctest: +SKIP
    """

    def __init__(
        self,
        optimizer: Optimizer,
        schedulers: list[LRScheduler],
        milestones: list[int],
        last_epoch: int = -1,
    ) -> None:
        _check_schedulers("SequentialLR", optimizer, schedulers)
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(
                "SequentialLR expects number of schedulers provided to be one more than the number "
                f"of milestone points, but got number of schedulers {len(schedulers)} and the number "
                f"of milestones to be equal to {len(milestones)}"
            )
        self._schedulers = schedulers
        self._milestones = milestones
        self.last_epoch = last_epoch + 1
        self.optimizer = optimizer
        for group in optimizer.param_groups:
            group["lr"] = group["initial_lr"]
        self.recursive_undo()
        idx = bisect_right(self._milestones, 0)
        self._schedulers[idx]._initial_step()
        self._last_lr = schedulers[idx].get_last_lr()

    def recursive_undo(self, sched: Any = None) -> None:
        """Take back the first step of every scheduler inside this one (at any depth)."""
        scheds = self if sched is None else sched
        if hasattr(scheds, "_schedulers"):
            for s in scheds._schedulers:
                self.recursive_undo(s)
        elif hasattr(scheds, "last_epoch"):
            scheds.last_epoch -= 1

    def step(self) -> None:  # type: ignore[override]
        """Step the scheduler of the current phase (at a milestone: restart the next one)."""
        self.last_epoch += 1
        idx = bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[idx]
        if idx > 0 and self._milestones[idx - 1] == self.last_epoch:
            scheduler._update_lr(0)
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()

    def state_dict(self) -> dict[str, Any]:
        """This scheduler's attributes, with the inner schedulers' states in ``"_schedulers"``."""
        return _nested_state(self)

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        _load_nested_state(self, state_dict)


class ChainedScheduler(LRScheduler):
    """Step every scheduler of ``schedulers`` at each :meth:`step`, in order, so their
    (chainable) factors multiply: e.g. a warm-up and a decay that run at the same time.

    ``optimizer`` defaults to the first scheduler's; all must share it.

        >>> warmup = lr_scheduler.LinearLR(opt, start_factor=0.1, total_iters=5)  # doctest: +SKIP
        >>> decay = lr_scheduler.ExponentialLR(opt, gamma=0.9)                    # doctest: +SKIP
        >>> sched = lr_scheduler.ChainedScheduler([warmup, decay])                # doctest: +SKIP
    """

    def __init__(self, schedulers: Sequence[LRScheduler], optimizer: Optimizer | None = None) -> None:
        if len(schedulers) < 1:
            raise ValueError(
                "ChainedScheduler expects at least one scheduler to be chained, but got no scheduler."
            )
        optimizer = optimizer if optimizer is not None else schedulers[0].optimizer
        _check_schedulers("ChainedScheduler", optimizer, schedulers)
        self._schedulers = schedulers
        self.optimizer = optimizer
        self._last_lr = self._lrs()

    def step(self) -> None:  # type: ignore[override]
        """Step every scheduler, in order."""
        for scheduler in self._schedulers:
            scheduler.step()
        self._last_lr = self._lrs()

    def state_dict(self) -> dict[str, Any]:
        """This scheduler's attributes, with the inner schedulers' states in ``"_schedulers"``."""
        return _nested_state(self)

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        _load_nested_state(self, state_dict)
