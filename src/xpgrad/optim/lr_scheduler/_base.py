"""The :class:`LRScheduler` base class and the helpers its subclasses share.

The attributes, and so the ``state_dict()`` layout, are torch's: every attribute except the
optimiser (``base_lrs``, ``last_epoch``, ``_step_count``, ``_last_lr``, ``_is_initial``,
``_get_lr_called_within_step`` and the subclass's own), so a torch scheduler's state loads here
and the other way round.
"""

from __future__ import annotations

import types
import warnings
from collections.abc import Callable
from typing import Any

from .._optimizer import Optimizer

__all__ = ["LRScheduler"]

EPOCH_DEPRECATION_WARNING = (
    "The epoch parameter in `scheduler.step()` was not necessary and is being deprecated where "
    "possible. Please use `scheduler.step()` to step the scheduler. During the deprecation, if "
    "epoch is different from None, the closed form is used instead of the new chainable form, "
    "where available."
)


def check_optimizer(optimizer: Any, who: str) -> Optimizer:
    """``optimizer`` itself, after checking that it is an xpgrad optimiser."""
    if not isinstance(optimizer, Optimizer):
        module = type(optimizer).__module__.split(".")[0]
        hint = (
            f" (an optimiser of {module}: use {module}'s schedulers with it, or build the "
            "optimiser with xpgrad.optim)"
            if hasattr(optimizer, "param_groups")
            else ""
        )
        raise TypeError(
            f"{type(optimizer).__name__} is not an Optimizer: {who} expects an xpgrad.optim "
            f"optimiser (SGD, Adam, AdamW, RMSprop, Adagrad or a subclass of Optimizer){hint}"
        )
    return optimizer


def per_group(who: str, name: str, optimizer: Optimizer, value: Any) -> list[Any]:
    """``value`` once per parameter group: a list of that length as given, a scalar repeated."""
    n = len(optimizer.param_groups)
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ValueError(
                f"{who}: {name} must have the same length as optimizer.param_groups. "
                f"{name} has {len(value)} values, param_groups has {n}."
            )
        return list(value)
    return [value] * n


def function_state(fn: Any) -> dict[str, Any] | None:
    """What ``state_dict`` keeps of a user function, as torch: nothing of a plain function or
    lambda, a copy of the ``__dict__`` of a callable object."""
    return None if fn is None or isinstance(fn, types.FunctionType) else fn.__dict__.copy()


def _mark_step(optimizer: Optimizer, *args: Any, **kwargs: Any) -> Any:
    # ``type(optimizer).step`` is the class's method: this wrapper is the instance attribute.
    optimizer._opt_called = True
    return type(optimizer).step(optimizer, *args, **kwargs)


_mark_step._wrapped_by_lr_sched = True  # type: ignore[attr-defined]


def _wrap_step(optimizer: Optimizer) -> None:
    """Make ``optimizer.step()`` record that it ran, for the "step order" warning (as torch's
    schedulers do); the optimiser's class is left alone.

    A bound method (not a closure) so that a ``copy.deepcopy`` of the optimiser steps the copy.
    """
    step = optimizer.step
    if getattr(step, "_wrapped_by_lr_sched", False):
        return
    if "step" not in vars(optimizer):
        optimizer.step = types.MethodType(_mark_step, optimizer)  # type: ignore[method-assign]
        return
    # The instance's own ``step`` (set by the user): wrap it as it is.

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        optimizer._opt_called = True
        return step(*args, **kwargs)

    wrapper._wrapped_by_lr_sched = True  # type: ignore[attr-defined]
    optimizer.step = wrapper  # type: ignore[method-assign]


def warn_get_lr_called_within_step(scheduler: LRScheduler) -> None:
    if not scheduler._get_lr_called_within_step:
        warnings.warn(
            "To get the last learning rate computed by the scheduler, please use `get_last_lr()`.",
            UserWarning,
            stacklevel=3,
        )


class LRScheduler:
    """Base class of the learning-rate schedulers (``torch.optim.lr_scheduler.LRScheduler``).

    Args:
        optimizer: the optimiser whose parameter groups' ``lr`` this scheduler sets.
        last_epoch: ``-1`` (default) starts a schedule and records each group's ``initial_lr``;
            another value resumes one, which needs ``initial_lr`` in every group (from a loaded
            optimiser state).

    A subclass implements :meth:`get_lr` (the learning rates at ``last_epoch``, usually from the
    groups' current ``lr``: the "chainable" form, so several schedulers can act on one
    optimiser) and, optionally, ``_get_closed_form_lr`` (from ``base_lrs`` alone), which
    ``step(epoch)`` uses.

    Building a scheduler sets the groups' ``lr``: when restoring a checkpoint, build the
    scheduler **before** calling the optimiser's ``load_state_dict``.
    """

    _get_lr_called_within_step: bool = False
    _is_initial: bool = False
    _get_closed_form_lr: Callable[[], list[float]] | None = None

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        self.optimizer = check_optimizer(optimizer, type(self).__name__)
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(
                        f"param 'initial_lr' is not specified in param_groups[{i}] when resuming "
                        f"scheduler with last_epoch >= 0 ({type(self).__name__}(last_epoch="
                        f"{last_epoch})): load the optimiser's state_dict first, or start the "
                        "schedule with last_epoch=-1"
                    )
        self.base_lrs: list[float] = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        _wrap_step(optimizer)
        self._initial_step()

    def _initial_step(self) -> None:
        """Reset the step count and take the first step (``last_epoch`` -1 -> 0)."""
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def get_lr(self) -> list[float]:
        """The learning rates at ``last_epoch``, one per parameter group (called by :meth:`step`;
        to read the current ones, use :meth:`get_last_lr`)."""
        raise NotImplementedError

    def get_last_lr(self) -> list[float]:
        """The learning rates the last :meth:`step` set, one per parameter group."""
        return self._last_lr

    def step(self, epoch: int | None = None) -> None:
        """Advance the schedule by one step; call it after ``optimizer.step()``.

        ``epoch`` (deprecated, as in torch) sets ``last_epoch`` instead and uses the closed
        form of the schedule where it has one.
        """
        if self._step_count == 1:
            if not getattr(self.optimizer.step, "_wrapped_by_lr_sched", False):
                warnings.warn(
                    "Seems like `optimizer.step()` has been overridden after learning rate "
                    "scheduler initialization. Please, make sure to call `optimizer.step()` "
                    "before `lr_scheduler.step()`.",
                    UserWarning,
                    stacklevel=2,
                )
            elif not getattr(self.optimizer, "_opt_called", False):
                warnings.warn(
                    "Detected call of `lr_scheduler.step()` before `optimizer.step()`. You should "
                    "call them in the opposite order: `optimizer.step()` before "
                    "`lr_scheduler.step()`; otherwise the first value of the learning rate "
                    "schedule is skipped.",
                    UserWarning,
                    stacklevel=2,
                )
        self._step_count += 1
        if epoch is not None:
            warnings.warn(EPOCH_DEPRECATION_WARNING, UserWarning, stacklevel=2)
        self._update_lr(epoch)

    def _update_lr(self, epoch: int | None = None) -> None:
        self._get_lr_called_within_step = True
        try:
            if epoch is None:
                self.last_epoch += 1
                values = self.get_lr()
            else:
                self.last_epoch = epoch
                closed_form = self._get_closed_form_lr
                values = closed_form() if closed_form is not None else self.get_lr()
        finally:
            self._get_lr_called_within_step = False
        self._set_lrs(values)

    def _set_lrs(self, values: list[float]) -> None:
        groups = self.optimizer.param_groups
        if len(values) != len(groups):
            raise ValueError(
                f"{type(self).__name__}: {len(values)} learning rates for {len(groups)} parameter "
                "groups (was a group added after the scheduler was built?)"
            )
        for group, lr in zip(groups, values):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in groups]

    def state_dict(self) -> dict[str, Any]:
        """Every attribute except the optimiser (torch's layout)."""
        return {k: v for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore the attributes saved by :meth:`state_dict` (of this scheduler or torch's)."""
        self.__dict__.update(state_dict)

    def _lrs(self) -> list[float]:
        """The groups' current learning rates."""
        return [group["lr"] for group in self.optimizer.param_groups]
