"""W9 per-call cost of ``sum`` and ``matmul`` on a 4x4 float64 array that requires grad.

One step is ``CALLS`` calls of ``sum(x)`` and ``CALLS`` of ``x @ x`` (each records a node; no
backward): the fixed cost of a reduction and of a matrix product, per call. The limit is NumPy
without recording. The gradient check is one backward of ``sum(x) + sum(x @ x)``.
"""

from __future__ import annotations

import numpy as np

from ._harness import Case

KEY = "W9"
TITLE = "W9 per call: sum(x) and x @ x on 4x4 float64 with grad (recording, no backward)"
UNIT = "µs/call"
CALLS = 50
RTOL = 1e-9
ATOL = 1e-12

__all__ = ["BUILDERS", "KEY", "TITLE", "UNIT", "RTOL", "ATOL", "config", "per_unit"]


def config(quick: bool) -> dict:
    return {"calls": CALLS, "reps": 7 if quick else 25, "target_s": 0.01 if quick else 0.05}


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


def _xpgrad_on(backend: str):
    def build(cfg):
        import xpgrad

        x0 = initial()
        if backend == "torch":
            import torch

            xp = xpgrad.namespace(torch)
            x0 = torch.from_numpy(x0)
        else:
            xp = xpgrad.namespace(np)
        x = xp.asarray(x0, requires_grad=True)
        total = xp.sum

        def step():
            for _ in range(CALLS):
                total(x)
                x @ x

        def grads():
            x.grad = None
            (xp.sum(x) + xp.sum(x @ x)).backward()
            return [x.grad]

        return Case(step, grads)

    return build


def _torch(cfg):
    import torch

    x = torch.tensor(initial(), requires_grad=True)
    total = torch.sum

    def step():
        for _ in range(CALLS):
            total(x)
            x @ x

    def grads():
        x.grad = None
        (torch.sum(x) + torch.sum(x @ x)).backward()
        return [x.grad]

    return Case(step, grads)


BUILDERS = {
    "limit": _limit,
    "xpgrad": _xpgrad_on("numpy"),
    "torch": _torch,
    "xpgrad[torch]": _xpgrad_on("torch"),
}
