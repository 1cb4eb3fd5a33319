"""Helpers shared by the algorithms: gradients, state tensors and parameter updates as raw arrays."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .._tensor import Tensor
from ._optimizer import _assign

__all__ = ["grads_of", "new_state", "set_data", "check_real"]


def grads_of(group: dict[str, Any]) -> Iterator[tuple[Tensor, Any, Any]]:
    """``(parameter, raw gradient, backend namespace)`` for each parameter with a gradient.

    The gradient is negated when the group maximizes.
    """
    for p in group["params"]:
        g = p._grad
        if g is None:
            continue
        d = g._data
        if group.get("maximize", False):
            d = -d
        yield p, d, p._ns._xp


def new_state(p: Tensor, raw: Any) -> Tensor:
    """A state Tensor (not requiring grad) on ``p``'s namespace holding ``raw``."""
    return Tensor._wrap_plain(p._ns, p._ns.backend.ensure(raw))


def set_data(t: Tensor, raw: Any) -> None:
    """Store the new value ``raw`` in ``t`` (in place where the backend's arrays alias)."""
    _assign(t, raw)


def check_real(p: Tensor, name: str) -> None:
    if p._ns._xp.isdtype(p.dtype, "complex floating"):
        raise NotImplementedError(
            f"{name}: complex parameters are not supported yet (torch treats their real and "
            "imaginary parts as separate entries); optimise the real and imaginary parts as "
            "two real parameters"
        )
