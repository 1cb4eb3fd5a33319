"""W10: one SGD step of a small MLP (64x32 input, tanh, 32-32-1), float64, squared error.

The arrays are small, so per-op overhead dominates (W2 is the same kind of step on arrays where
the matrix products dominate)::

    h = tanh(X @ W1 + b1);  p = h @ W2 + b2;  loss = sum((p - y) ** 2) / 64

followed by ``p -= lr * grad`` for every parameter. The limit is NumPy with the hand-written
backward.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from ._harness import Case, limit_sgd_case, sgd_case, small_timing, xpgrad_sgd_case

KEY = "W10"
TITLE = "W10 small MLP SGD step: X 64x32, tanh hidden 32, float64 (forward + backward + update)"
UNIT = "µs/step"
N, D, H = 64, 32, 32
LR = 0.01
RTOL = 1e-9
ATOL = 1e-12

__all__ = ["BUILDERS", "KEY", "TITLE", "UNIT", "RTOL", "ATOL", "config", "per_unit"]


def config(quick: bool) -> dict:
    return {"n": N, "d": D, "h": H, **small_timing(quick)}


def per_unit(seconds: float) -> float:
    return seconds * 1e6


def initial():
    """Parameters [W1, b1, W2, b2], inputs X (64x32) and targets y (64x1)."""
    rng = np.random.default_rng(0)
    params = [
        rng.standard_normal((D, H)) / np.sqrt(D),
        np.zeros(H),
        rng.standard_normal((H, 1)) / np.sqrt(H),
        np.zeros(1),
    ]
    return params, rng.standard_normal((N, D)), rng.standard_normal((N, 1))


def loss(lib, params, X, y):
    W1, b1, W2, b2 = params
    h = lib.tanh(X @ W1 + b1)
    r = h @ W2 + b2 - y
    return lib.sum(r * r) / N


def _limit_grads(params, X, y):
    W1, b1, W2, b2 = params
    h = np.tanh(X @ W1 + b1)
    dr = h @ W2 + b2 - y
    dr *= 2.0 / N
    dh = dr @ W2.T
    dh *= 1 - h * h
    return [X.T @ dh, dh.sum(axis=0), h.T @ dr, dr.sum(axis=0)]


def _limit(cfg):
    params, X, y = initial()
    return limit_sgd_case(params, partial(_limit_grads, params, X, y), LR)


def _xpgrad_on(backend: str):
    return lambda cfg: xpgrad_sgd_case(backend, loss, LR, *initial())


def _torch(cfg):
    import torch

    params, X, y = initial()
    params = [torch.tensor(p, requires_grad=True) for p in params]
    X, y = torch.from_numpy(X), torch.from_numpy(y)
    return sgd_case(params, partial(loss, torch, params, X, y), torch.no_grad, LR)


def _autograd(cfg):
    import autograd
    import autograd.numpy as anp

    params, X, y = initial()
    dloss = autograd.grad(lambda ps: loss(anp, ps, X, y))

    def step():
        for p, g in zip(params, dloss(params)):
            p -= LR * g

    return Case(step, lambda: dloss(params))


BUILDERS = {
    "limit": _limit,
    "xpgrad": _xpgrad_on("numpy"),
    "torch": _torch,
    "autograd": _autograd,
    "xpgrad[torch]": _xpgrad_on("torch"),
}
