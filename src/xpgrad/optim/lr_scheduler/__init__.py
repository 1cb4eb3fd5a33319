"""Learning-rate schedulers (``torch.optim.lr_scheduler``), for any xpgrad optimiser.

Each scheduler sets ``group["lr"]`` of its optimiser's parameter groups with torch's formulas,
so the learning rates match torch's step for step; ``get_last_lr()``, ``last_epoch``,
``base_lrs`` and the ``state_dict()`` layout are torch's too, so a checkpoint of one loads into
the other.

==============================  ============================================================
schedule                        scheduler
==============================  ============================================================
a function of the step          :class:`LambdaLR`, :class:`MultiplicativeLR`
decay by steps                  :class:`StepLR`, :class:`MultiStepLR`, :class:`ExponentialLR`
warm-up, decay to a point       :class:`ConstantLR`, :class:`LinearLR`, :class:`PolynomialLR`
cosine                          :class:`CosineAnnealingLR`, :class:`CosineAnnealingWarmRestarts`
cycles (per batch)              :class:`CyclicLR`, :class:`OneCycleLR`
on a validation metric          :class:`ReduceLROnPlateau` (``step(val_loss)``)
several schedulers              :class:`SequentialLR`, :class:`ChainedScheduler`
==============================  ============================================================

Call ``scheduler.step()`` after ``optimizer.step()``: once per epoch, or per batch for the
cyclic ones.
"""

from __future__ import annotations

from ._base import LRScheduler
from ._combine import ChainedScheduler, SequentialLR
from ._cyclic import CosineAnnealingWarmRestarts, CyclicLR, OneCycleLR
from ._plateau import ReduceLROnPlateau
from ._schedules import (
    ConstantLR,
    CosineAnnealingLR,
    ExponentialLR,
    LambdaLR,
    LinearLR,
    MultiplicativeLR,
    MultiStepLR,
    PolynomialLR,
    StepLR,
)

__all__ = [
    "ChainedScheduler",
    "ConstantLR",
    "CosineAnnealingLR",
    "CosineAnnealingWarmRestarts",
    "CyclicLR",
    "ExponentialLR",
    "LRScheduler",
    "LambdaLR",
    "LinearLR",
    "MultiStepLR",
    "MultiplicativeLR",
    "OneCycleLR",
    "PolynomialLR",
    "ReduceLROnPlateau",
    "SequentialLR",
    "StepLR",
]
