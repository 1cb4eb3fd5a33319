"""Adagrad (``torch.optim.Adagrad``)."""

from __future__ import annotations

from typing import Any

from ._common import check_real, grads_of, new_state, set_data
from ._optimizer import Optimizer, ParamsT

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    """Adagrad (Duchi et al., 2011; ``torch.optim.Adagrad``).

    ``g += weight_decay * p``; ``s += g**2`` (``s`` starts at ``initial_accumulator_value``);
    ``p -= lr / (1 + (t - 1) * lr_decay) * g / (sqrt(s) + eps)`` at step ``t``.
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-2,
        lr_decay: float = 0,
        weight_decay: float = 0,
        initial_accumulator_value: float = 0,
        eps: float = 1e-10,
        *,
        maximize: bool = False,
    ) -> None:
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= lr_decay:
            raise ValueError(f"Invalid lr_decay value: {lr_decay}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= initial_accumulator_value:
            raise ValueError(f"Invalid initial_accumulator_value value: {initial_accumulator_value}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        defaults = {
            "lr": lr,
            "lr_decay": lr_decay,
            "eps": eps,
            "weight_decay": weight_decay,
            "initial_accumulator_value": initial_accumulator_value,
            "maximize": maximize,
        }
        super().__init__(params, defaults)
        # torch creates Adagrad's state eagerly, at construction.
        for group in self.param_groups:
            for p in group["params"]:
                check_real(p, "Adagrad")
                xp = p._ns._xp
                state = self.state[p]
                state["step"] = 0.0
                state["sum"] = new_state(p, xp.full_like(p._data, group["initial_accumulator_value"]))

    def step(self, closure: Any = None) -> Any:
        """Perform one step; ``closure`` (optional) re-evaluates the loss and returns it."""
        return self._run_step(closure)

    def _update_group(self, group: dict[str, Any]) -> None:
        lr, lr_decay, eps, weight_decay = group["lr"], group["lr_decay"], group["eps"], group["weight_decay"]
        for p, g, xp in grads_of(group):
            state = self.state[p]
            state["step"] = step = state["step"] + 1
            if weight_decay != 0:
                g = g + weight_decay * p._data
            clr = lr / (1 + (step - 1) * lr_decay)
            s = state["sum"]
            set_data(s, s._data + g * g)
            set_data(p, p._data - clr * (g / (xp.sqrt(s._data) + eps)))
