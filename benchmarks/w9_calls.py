"""W9 per-call cost of ``sum`` and ``matmul`` on a 4x4 float64 array that requires grad.

One step is ``CALLS`` calls of ``sum(x)`` and ``CALLS`` of ``x @ x`` (each records a node; no
backward): the fixed cost of a reduction and of a matrix product, per call. The limit is NumPy
without recording. The gradient check is one backward of ``sum(x) + sum(x @ x)``.
"""

from __future__ import annotations

import numpy as np

from ._harness import Case, small_timing, xpgrad_backend

KEY = "W9"
TITLE = "W9 per call: sum(x) and x @ x on 4x4 float64 with grad (recording, no backward)"
UNIT = "µs/call"
CALLS = 50
RTOL = 1e-9
ATOL = 1e-12

__all__ = ["BUILDERS", "KEY", "TITLE", "UNIT", "RTOL", "ATOL", "config", "per_unit"]


def config(quick: bool) -> dict:
    return {"calls": CALLS, **small_timing(quick)}


def per_unit(seconds: float) -> float:
    return seconds / (2 * CALLS) * 1e6


def initial():
    return np.random.default_rng(0).standard_normal((4, 4))


def _limit(cfg):
    x = initial()

    def step():
        for _ in range(CALLS):
            np.sum(x)
            x @ x

    def grads():  # d/dx [sum(x) + sum(x @ x)] = 1 + 1 x^T + x^T 1
        ones = np.ones((4, 4))
        return [ones + ones @ x.T + x.T @ ones]

    return Case(step, grads)


def _recording_case(x, total) -> Case:
    """``CALLS`` calls of ``total(x)`` and of ``x @ x`` per step; ``total`` is the library's sum."""

    def step():
        for _ in range(CALLS):
            total(x)
            x @ x

    def grads():
        x.grad = None
        (total(x) + total(x @ x)).backward()
        return [x.grad]

    return Case(step, grads)


def _xpgrad_on(backend: str):
    def build(cfg):
        xp, convert = xpgrad_backend(backend)
        return _recording_case(xp.asarray(convert(initial()), requires_grad=True), xp.sum)

    return build


def _torch(cfg):
    import torch

    return _recording_case(torch.tensor(initial(), requires_grad=True), torch.sum)


BUILDERS = {
    "limit": _limit,
    "xpgrad": _xpgrad_on("numpy"),
    "torch": _torch,
    "xpgrad[torch]": _xpgrad_on("torch"),
}
