"""RMSprop (``torch.optim.RMSprop``)."""

from __future__ import annotations

from typing import Any

from ._common import check_real, grads_of, new_state, set_data
from ._optimizer import Optimizer, ParamsT

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """RMSprop (Hinton's lecture notes; ``torch.optim.RMSprop``).

    ``g += weight_decay * p``; ``s = alpha * s + (1 - alpha) * g**2``; the denominator is
    ``sqrt(s) + eps`` or, ``centered``, ``sqrt(s - a**2) + eps`` with ``a`` the running mean of
    ``g``; with momentum ``b = momentum * b + g / denominator`` and ``p -= lr * b``, otherwise
    ``p -= lr * g / denominator``.
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum: float = 0,
        centered: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= momentum:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= alpha:
            raise ValueError(f"Invalid alpha value: {alpha}")
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "alpha": alpha,
            "eps": eps,
            "centered": centered,
            "weight_decay": weight_decay,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    def step(self, closure: Any = None) -> Any:
        """Perform one step; ``closure`` (optional) re-evaluates the loss and returns it."""
        return self._run_step(closure)

    def _update_group(self, group: dict[str, Any]) -> None:
        lr, alpha, eps = group["lr"], group["alpha"], group["eps"]
        weight_decay, momentum, centered = group["weight_decay"], group["momentum"], group["centered"]
        for p, g, xp in grads_of(group):
            check_real(p, "RMSprop")
            state = self.state[p]
            if len(state) == 0:
                state["step"] = 0.0
                state["square_avg"] = new_state(p, xp.zeros_like(p._data))
                if momentum > 0:
                    state["momentum_buffer"] = new_state(p, xp.zeros_like(p._data))
                if centered:
                    state["grad_avg"] = new_state(p, xp.zeros_like(p._data))
            state["step"] += 1
            if weight_decay != 0:
                g = g + weight_decay * p._data
            s = state["square_avg"]
            set_data(s, s._data * alpha + (1 - alpha) * (g * g))
            if centered:
                a = state["grad_avg"]
                set_data(a, a._data + (1 - alpha) * (g - a._data))
                avg = xp.sqrt(s._data - a._data * a._data) + eps
            else:
                avg = xp.sqrt(s._data) + eps
            if momentum > 0:
                buf = state["momentum_buffer"]
                set_data(buf, buf._data * momentum + g / avg)
                set_data(p, p._data - lr * buf._data)
            else:
                set_data(p, p._data - lr * (g / avg))
