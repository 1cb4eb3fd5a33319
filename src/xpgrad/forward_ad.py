"""Forward-mode automatic differentiation, as ``torch.autograd.forward_ad``::

    import numpy as np, xpgrad
    import xpgrad.forward_ad as fwAD

    xp = xpgrad.numpy
    x = xp.asarray(np.linspace(0.0, 1.0, 5))
    v = xp.ones_like(x)
    with fwAD.dual_level():
        y = xp.sin(fwAD.make_dual(x, v)) * 2
        value, jv = fwAD.unpack_dual(y)  # jv = 2 cos(x) * v: a Jacobian-vector product

A *dual* Tensor carries a tangent next to its value; every operation on dual Tensors computes
the tangent of its result from its forward rule, in the same pass (no graph is recorded for
it, and grad mode does not matter). Tangents follow views and in-place operations as torch's
do: the tangent of a view is the same view of its base's tangent, and an in-place change of a
dual Tensor (or a write into it through a view) updates its tangent in place.

Differences from torch: levels nest (``dual_level`` inside ``dual_level`` gives forward-over-
forward; torch raises "Nested forward mode AD is not supported"), a level belongs to the thread
that opened it (as grad modes do; torch's are process-wide), and ``make_dual`` refuses a tangent
whose dtype differs from the primal's (torch stores it as given). All are listed in
docs/deviations.md.
"""

from __future__ import annotations

from collections import namedtuple
from typing import Any

from . import _forward
from ._tensor import Tensor

__all__ = [
    "UnpackedDualTensor",
    "dual_level",
    "enter_dual_level",
    "exit_dual_level",
    "make_dual",
    "unpack_dual",
]


class UnpackedDualTensor(namedtuple("UnpackedDualTensor", ["primal", "tangent"])):
    """What :func:`unpack_dual` returns: ``primal`` (a view of the dual Tensor without its tangent
    at that level) and ``tangent`` (None if it has none)."""

    __slots__ = ()


def enter_dual_level() -> int:
    """Open a new dual level and return its index; prefer ``with dual_level():``."""
    return _forward.enter_dual_level()


def exit_dual_level(*, level: int | None = None) -> None:
    """Close the innermost dual level (``level`` must be it, if given); its tangents are dropped."""
    _forward.exit_dual_level(level=level)


def make_dual(tensor: Tensor, tangent: Tensor, *, level: int | None = None) -> Tensor:
    """A dual Tensor: ``tensor``'s value with ``tangent`` as its tangent at ``level`` (default: the
    innermost open level).

    The result is a view of ``tensor`` (so in reverse mode it is differentiable with respect to
    ``tensor``). ``tangent`` is kept as given, not copied; it must have ``tensor``'s shape, dtype
    and device. Raises outside a dual level, as torch.
    """
    return _forward.make_dual(tensor, tangent, level=level)


def unpack_dual(tensor: Tensor, *, level: int | None = None) -> UnpackedDualTensor:
    """``(primal, tangent)`` of ``tensor`` at ``level`` (default: the innermost open level).

    ``tangent`` is None where ``tensor`` has none (always, outside a dual level); it is the very
    Tensor given to ``make_dual`` for a dual made there.
    """
    primal, tangent = _forward.unpack_dual(tensor, level=level)
    return UnpackedDualTensor(primal, tangent)


class dual_level:
    """Context manager of a dual level: ``with dual_level(): ...``. Every tangent made inside
    is dropped on exit. Levels may be nested (forward-over-forward)."""

    def __init__(self) -> None:
        self._level: int | None = None

    def __enter__(self) -> int:
        self._level = _forward.enter_dual_level()
        return self._level

    def __exit__(self, *exc: Any) -> None:
        _forward.exit_dual_level(level=self._level)
