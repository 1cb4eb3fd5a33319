"""Keeping parameters of a lazy backend (Dask) computed between optimisation steps."""

from __future__ import annotations

from .._tensor import RemovableHandle, Tensor
from ._optimizer import Optimizer

__all__ = ["persist_each_step"]


def persist_each_step(optimizer: Optimizer) -> RemovableHandle:
    """After every ``optimizer.step()``, compute and keep (persist) the parameters and state.

    On a lazy backend each update ``p - lr * g`` adds tasks to the parameter's graph, so a
    training loop's graphs grow with the number of steps; persisting after each step starts
    every step from computed chunks (on a ``dask.distributed`` cluster, held by the workers).
    On eager backends it does nothing. Returns a handle whose ``remove()`` stops it.

        >>> opt = xpgrad.optim.SGD(params, lr=0.1)          # doctest: +SKIP
        >>> xpgrad.optim.persist_each_step(opt)             # doctest: +SKIP
    """

    def hook(opt: Optimizer, args: tuple, kwargs: dict) -> None:
        tensors: list[Tensor] = []
        for group in opt.param_groups:
            for p in group["params"]:
                tensors.append(p)
                for v in opt.state[p].values() if p in opt.state else ():
                    if isinstance(v, Tensor):
                        tensors.append(v)
        by_backend: dict[int, list[Tensor]] = {}
        for t in tensors:
            if t._ns.backend.lazy:
                by_backend.setdefault(id(t._ns), []).append(t)
        for group_tensors in by_backend.values():
            backend = group_tensors[0]._ns.backend
            # Rebinding is enough: persisting keeps the values, it does not change them.
            for t, data in zip(group_tensors, backend.persist(*(t._data for t in group_tensors))):
                t._data = data

    return optimizer.register_step_post_hook(hook)
