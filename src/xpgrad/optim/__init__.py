"""Optimisers with ``torch.optim``'s semantics, for parameters on any backend.

    >>> import numpy as np, xpgrad
    >>> from xpgrad import optim
    >>> xp = xpgrad.numpy
    >>> w = xpgrad.Parameter(np.array([1.0, -2.0]))
    >>> opt = optim.SGD([w], lr=0.1, momentum=0.9)
    >>> for _ in range(3):
    ...     opt.zero_grad()
    ...     xp.sum(w * w).backward()
    ...     _ = opt.step()
    >>> w
    Tensor(array([ 0.062, -0.124]), requires_grad=True)

``lr_scheduler`` holds the learning-rate schedulers. :func:`persist_each_step` keeps a lazy
backend's (Dask's) parameters computed between steps.
"""

from __future__ import annotations

from . import lr_scheduler
from ._adagrad import Adagrad
from ._adam import Adam, AdamW
from ._optimizer import Optimizer, ParamsT
from ._persist import persist_each_step
from ._rmsprop import RMSprop
from ._sgd import SGD

__all__ = [
    "SGD",
    "Adagrad",
    "Adam",
    "AdamW",
    "Optimizer",
    "ParamsT",
    "RMSprop",
    "lr_scheduler",
    "persist_each_step",
]
