"""W3: ``sum(sin(x) * exp(-x**2) + x**3)`` on 4e6 float64, forward + backward.

Large arrays: this measures how close each library gets to the memory-bandwidth and transcendental
cost of NumPy itself. Every implementation writes the expression naturally, with ``x**3``; the
limit uses the fastest NumPy formulation (``x*x*x`` instead of ``x**3``, which in NumPy is about
20x slower on negative inputs, in-place temporaries) and the hand-written derivative
``cos(x) e - 2 x sin(x) e + 3 x^2`` with ``e = exp(-x^2)``. Inputs are uniform in [-2, 2].
"""

from __future__ import annotations

import numpy as np

from ._harness import Case

KEY = "W3"
TITLE = "W3 sum(sin(x)*exp(-x**2) + x**3) on 4e6 float64, forward + backward"
UNIT = "ms"
SIZE = 4_000_000
RTOL = 1e-9
ATOL = 1e-12

__all__ = ["BUILDERS", "KEY", "TITLE", "UNIT", "RTOL", "ATOL", "config", "per_unit"]


def config(quick: bool) -> dict:
    return {"size": SIZE, "reps": 3 if quick else 11, "target_s": 0.0}


def per_unit(seconds: float) -> float:
    return seconds * 1e3


def input_array(size: int) -> np.ndarray:
    return np.random.default_rng(0).uniform(-2.0, 2.0, size)


def expression(lib, x):
    """The workload, written naturally for a library with sin/exp/sum."""
    return lib.sum(lib.sin(x) * lib.exp(-(x**2)) + x**3)


# --------------------------------------------------------------------------------------------
# Implementations.


def _limit_value_and_grad(x):
    x2 = x * x
    e = np.negative(x2)
    np.exp(e, out=e)
    s = np.sin(x)
    se = s * e
    loss = float(np.sum(se)) + float(np.dot(x2, x))
    g = np.cos(x)  # cos(x) e - 2 x s e + 3 x^2
    g *= e
    se *= x
    se *= 2.0
    g -= se
    x2 *= 3.0
    g += x2
    return loss, g


def _limit(cfg):
    x = input_array(cfg["size"])
    return Case(lambda: _limit_value_and_grad(x), lambda: [_limit_value_and_grad(x)[1]])


def _xpgrad_on(backend: str):
    def build(cfg):
        import xpgrad

        x0 = input_array(cfg["size"])
        if backend == "torch":
            import torch

            xp = xpgrad.namespace(torch)
            x0 = torch.from_numpy(x0)
        else:
            xp = xpgrad.namespace(np)
        x = xp.asarray(x0, requires_grad=True)

        def step():
            x.grad = None
            expression(xp, x).backward()
            return x.grad

        return Case(step, lambda: [step()])

    return build


def _torch(cfg):
    import torch

    x = torch.tensor(input_array(cfg["size"]), requires_grad=True)

    def step():
        x.grad = None
        expression(torch, x).backward()
        return x.grad

    return Case(step, lambda: [step()])


def _autograd(cfg):
    import autograd
    import autograd.numpy as anp

    x = input_array(cfg["size"])
    dloss = autograd.grad(lambda x: expression(anp, x))
    return Case(lambda: dloss(x), lambda: [dloss(x)])


def _mygrad(cfg):
    import mygrad as mg

    x = mg.tensor(input_array(cfg["size"]))

    def step():
        expression(mg, x).backward()
        return x.grad

    return Case(step, lambda: [step()])


BUILDERS = {
    "limit": _limit,
    "xpgrad": _xpgrad_on("numpy"),
    "torch": _torch,
    "autograd": _autograd,
    "mygrad": _mygrad,
    "xpgrad[torch]": _xpgrad_on("torch"),
}
