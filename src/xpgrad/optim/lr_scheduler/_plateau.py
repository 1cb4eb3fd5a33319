""":class:`ReduceLROnPlateau`: lower the learning rate when a monitored metric stops improving."""

from __future__ import annotations

import math
import warnings
from typing import Any, SupportsFloat

from ..._tensor import Tensor
from .._optimizer import Optimizer
from ._base import EPOCH_DEPRECATION_WARNING, LRScheduler, check_optimizer

__all__ = ["ReduceLROnPlateau"]


def _metric_value(metrics: Any) -> float:
    """``metrics`` as a Python float: a real number, or a Tensor of one element (any backend).

    Raises TypeError for a value of another type (``None``, a complex number), ValueError for
    a Tensor of several elements or a string that is no number.
    """
    what = type(metrics).__name__
    try:
        if isinstance(metrics, Tensor):
            what = f"a Tensor of shape {tuple(metrics.shape)}"
            t = metrics.detach()
            if t.ndim != 0:
                if math.prod(t.shape) != 1:
                    raise ValueError("more than one element")
                t = t._ns.reshape(t, ())
            metrics = t.item()
        return float(metrics)
    except (TypeError, ValueError) as e:
        raise type(e)(
            "ReduceLROnPlateau.step(metrics): expected the monitored quantity as a real number "
            f"(a Python float or a one-element Tensor, such as a 0-d loss), got {what} ({e}): "
            "pass e.g. the validation loss, `scheduler.step(val_loss)`"
        ) from None


class ReduceLROnPlateau(LRScheduler):
    """Multiply the learning rate by ``factor`` when ``step(metrics)`` has seen no improvement
    for more than ``patience`` steps.

    Args:
        optimizer: the optimiser.
        mode: ``"min"`` (default; the metric should decrease, as a loss) or ``"max"`` (it should
            increase, as an accuracy).
        factor: the learning rate's multiplier, < 1. Default: 0.1.
        patience: how many steps without improvement are tolerated; the rate is lowered at the
            ``patience + 1``-th. Default: 10.
        threshold: the least change that counts as an improvement. Default: 1e-4.
        threshold_mode: ``"rel"`` (default): better than ``best * (1 - threshold)`` in ``"min"``
            mode, ``best * (1 + threshold)`` in ``"max"`` mode; ``"abs"``: better than
            ``best - threshold`` or ``best + threshold``.
        cooldown: how many steps after a reduction to wait before counting bad steps again.
            Default: 0.
        min_lr: the lowest learning rate, one for all groups or a list (one per group).
            Default: 0.
        eps: a reduction smaller than ``eps`` is not applied. Default: 1e-8.

    ``step(metrics)`` takes the metric as a Python number or a one-element Tensor of any backend
    (a 0-d loss); the epoch argument is deprecated, as in torch. It is not chainable: it cannot
    be part of :class:`SequentialLR` or :class:`ChainedScheduler`.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        mode: str = "min",
        factor: float = 0.1,
        patience: int = 10,
        threshold: float = 1e-4,
        threshold_mode: str = "rel",
        cooldown: int = 0,
        min_lr: list[float] | float = 0,
        eps: float = 1e-8,
    ) -> None:
        if factor >= 1.0:
            raise ValueError(
                f"ReduceLROnPlateau: Factor should be < 1.0 (the new learning rate is lr * factor), got factor={factor}"
            )
        self.factor = factor
        self.optimizer = check_optimizer(optimizer, "ReduceLROnPlateau")
        n = len(optimizer.param_groups)
        self.default_min_lr: float | None
        if isinstance(min_lr, (list, tuple)):
            if len(min_lr) != n:
                raise ValueError(
                    f"ReduceLROnPlateau: expected {n} min_lrs (one per parameter group), got {len(min_lr)}"
                )
            self.default_min_lr = None
            self.min_lrs = list(min_lr)
        else:
            self.default_min_lr = min_lr
            self.min_lrs = [min_lr] * n
        self.patience = patience
        self.cooldown = cooldown
        self.eps = eps
        self.last_epoch = 0
        self._last_lr = self._lrs()
        self._init_is_better(mode=mode, threshold=threshold, threshold_mode=threshold_mode)
        self._reset()

    def _reset(self) -> None:
        """Forget the best value and the counts of bad steps and of cooldown."""
        self.best = self.mode_worse
        self.cooldown_counter = 0
        self.num_bad_epochs = 0

    def step(self, metrics: SupportsFloat | Tensor, epoch: int | None = None) -> None:  # type: ignore[override]
        """Record ``metrics`` (a real number or a one-element Tensor) and lower the learning
        rate if it has not improved for more than ``patience`` steps."""
        current = _metric_value(metrics)
        if epoch is None:
            epoch = self.last_epoch + 1
        else:
            warnings.warn(EPOCH_DEPRECATION_WARNING, UserWarning, stacklevel=2)
        self.last_epoch = epoch
        if self._is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.in_cooldown:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad steps during the cooldown do not count
        if self.num_bad_epochs > self.patience:
            self._reduce_lr(epoch)
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = self._lrs()

    def _reduce_lr(self, epoch: int) -> None:
        groups = self.optimizer.param_groups
        if len(groups) != len(self.min_lrs):
            if self.default_min_lr is None:
                raise RuntimeError(
                    f"ReduceLROnPlateau: the number of param groups in the `optimizer` ({len(groups)}) "
                    f"differs from when `ReduceLROnPlateau` was initialized ({len(self.min_lrs)}), "
                    "usually due to a new param group being added to the optimizer. Please modify "
                    "the `min_lrs` field to match the length of the `optimizer` param groups."
                )
            self.min_lrs = [self.default_min_lr] * len(groups)
        for group, min_lr in zip(groups, self.min_lrs):
            old_lr = float(group["lr"])
            new_lr = max(old_lr * self.factor, min_lr)
            if old_lr - new_lr > self.eps:
                group["lr"] = new_lr

    @property
    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0

    def _is_better(self, a: float, best: float) -> bool:
        if self.mode == "min" and self.threshold_mode == "rel":
            return a < best * (1.0 - self.threshold)
        if self.mode == "min" and self.threshold_mode == "abs":
            return a < best - self.threshold
        if self.mode == "max" and self.threshold_mode == "rel":
            return a > best * (self.threshold + 1.0)
        return a > best + self.threshold

    def _init_is_better(self, mode: str, threshold: float, threshold_mode: str) -> None:
        if mode not in ("min", "max"):
            raise ValueError(f"ReduceLROnPlateau: mode {mode!r} is unknown: expected 'min' or 'max'")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(
                f"ReduceLROnPlateau: threshold mode {threshold_mode!r} is unknown: expected 'rel' or 'abs'"
            )
        self.mode_worse = math.inf if mode == "min" else -math.inf
        self.mode = mode
        self.threshold = threshold
        self.threshold_mode = threshold_mode

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.__dict__.update(state_dict)
        self._init_is_better(mode=self.mode, threshold=self.threshold, threshold_mode=self.threshold_mode)
