"""Adam and AdamW (``torch.optim.Adam``, ``torch.optim.AdamW``)."""

from __future__ import annotations

from typing import Any

from ._common import check_real, grads_of, new_state, set_data
from ._optimizer import Optimizer, ParamsT

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2014), with torch's options (``torch.optim.Adam``).

    Per step ``t``: ``g += weight_decay * p`` (L2; with ``decoupled_weight_decay`` instead
    ``p *= 1 - lr * weight_decay``), ``m = beta1 * m + (1 - beta1) * g``,
    ``v = beta2 * v + (1 - beta2) * g**2`` (``amsgrad``: the running maximum of ``v`` is used),
    ``p -= lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)``.
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        decoupled_weight_decay: bool = False,
    ) -> None:
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = {
            "lr": lr,
            "betas": tuple(betas),
            "eps": eps,
            "weight_decay": weight_decay,
            "amsgrad": amsgrad,
            "maximize": maximize,
            "decoupled_weight_decay": decoupled_weight_decay,
        }
        super().__init__(params, defaults)

    def step(self, closure: Any = None) -> Any:
        """Perform one step; ``closure`` (optional) re-evaluates the loss and returns it."""
        return self._run_step(closure)

    def _update_group(self, group: dict[str, Any]) -> None:
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        weight_decay, amsgrad = group["weight_decay"], group["amsgrad"]
        decoupled = group.get("decoupled_weight_decay", False)
        name = type(self).__name__
        for p, g, xp in grads_of(group):
            check_real(p, name)
            state = self.state[p]
            if len(state) == 0:
                state["step"] = 0.0
                state["exp_avg"] = new_state(p, xp.zeros_like(p._data))
                state["exp_avg_sq"] = new_state(p, xp.zeros_like(p._data))
                if amsgrad:
                    state["max_exp_avg_sq"] = new_state(p, xp.zeros_like(p._data))
            state["step"] = step = state["step"] + 1
            if weight_decay != 0:
                if decoupled:
                    set_data(p, p._data * (1 - lr * weight_decay))
                else:
                    g = g + weight_decay * p._data
            m, v = state["exp_avg"], state["exp_avg_sq"]
            set_data(m, m._data + (1 - beta1) * (g - m._data))  # torch's lerp
            set_data(v, v._data * beta2 + (1 - beta2) * (g * g))
            bias_correction1 = 1 - beta1**step
            bias_correction2_sqrt = (1 - beta2**step) ** 0.5
            step_size = lr / bias_correction1
            if amsgrad:
                vmax = state["max_exp_avg_sq"]
                set_data(vmax, xp.maximum(vmax._data, v._data))
                denom = xp.sqrt(vmax._data) / bias_correction2_sqrt + eps
            else:
                denom = xp.sqrt(v._data) / bias_correction2_sqrt + eps
            set_data(p, p._data - step_size * (m._data / denom))


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter, 2019; ``torch.optim.AdamW``):
    ``p *= 1 - lr * weight_decay`` before the Adam update, instead of an L2 term in the gradient.
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        super().__init__(
            params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize, decoupled_weight_decay=True
        )
