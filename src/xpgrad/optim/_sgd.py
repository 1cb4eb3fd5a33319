"""Stochastic gradient descent (``torch.optim.SGD``)."""

from __future__ import annotations

from typing import Any

from ._common import grads_of, new_state, set_data
from ._optimizer import Optimizer, ParamsT

__all__ = ["SGD"]


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with momentum (``torch.optim.SGD``).

    With ``g`` the gradient (negated if ``maximize``), ``g += weight_decay * p``; with momentum
    the buffer ``b`` starts as ``g`` and becomes ``momentum * b + (1 - dampening) * g``, and the
    update direction is ``g + momentum * b`` (``nesterov``) or ``b``; then ``p -= lr * direction``.
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        momentum: float = 0,
        dampening: float = 0,
        weight_decay: float = 0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "dampening": dampening,
            "weight_decay": weight_decay,
            "nesterov": nesterov,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    def step(self, closure: Any = None) -> Any:
        """Perform one step; ``closure`` (optional) re-evaluates the loss and returns it."""
        return self._run_step(closure)

    def _update_group(self, group: dict[str, Any]) -> None:
        lr, momentum, dampening = group["lr"], group["momentum"], group["dampening"]
        weight_decay, nesterov = group["weight_decay"], group["nesterov"]
        for p, g, xp in grads_of(group):
            if weight_decay != 0:
                g = g + weight_decay * p._data
            if momentum != 0:
                state = self.state[p]
                buf = state.get("momentum_buffer")
                if buf is None:
                    buf = state["momentum_buffer"] = new_state(p, xp.asarray(g, copy=True))
                else:
                    set_data(buf, buf._data * momentum + (1 - dampening) * g)
                g = g + momentum * buf._data if nesterov else buf._data
            set_data(p, p._data - lr * g)
