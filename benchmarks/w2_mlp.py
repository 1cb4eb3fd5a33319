"""W2: one SGD step of an MLP 784-512-512-10 (tanh, softmax cross-entropy), batch 256, float32.

One step is forward, backward and the parameter update (``p -= lr * grad``, under ``no_grad`` or
the library's equivalent). Every implementation computes the same expression with its own
primitives::

    h1 = tanh(X @ W1 + b1);  h2 = tanh(h1 @ W2 + b2);  z = h2 @ W3 + b3
    z = z - max(z, axis=1, keepdims=True)
    loss = -sum(Y * (z - log(sum(exp(z), axis=1, keepdims=True)))) / 256

The limit is NumPy with the hand-written backward of that expression (``dz = (p - Y) / 256``).
The step is dominated by the six matrix products, so it mostly measures BLAS plus each library's
per-op overhead; xpgrad[torch] against torch isolates xpgrad's overhead on a torch backend.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from ._harness import Case, limit_sgd_case, sgd_case, xpgrad_sgd_case

KEY = "W2"
TITLE = "W2 MLP 784-512-512-10 SGD step, batch 256, float32 (forward + backward + update)"
UNIT = "ms/step"
SIZES = (784, 512, 512, 10)
BATCH = 256
LR = 0.01
RTOL = 1e-3
ATOL = 1e-4

__all__ = ["BUILDERS", "KEY", "TITLE", "UNIT", "RTOL", "ATOL", "config", "per_unit"]


def config(quick: bool) -> dict:
    return {"batch": BATCH, "sizes": SIZES, "reps": 5 if quick else 15, "target_s": 0.0}


def per_unit(seconds: float) -> float:
    return seconds * 1e3


def initial(batch: int = BATCH):
    """Parameters [W1, b1, W2, b2, W3, b3], inputs X and one-hot labels Y, all float32."""
    rng = np.random.default_rng(0)
    params = []
    for fan_in, fan_out in zip(SIZES[:-1], SIZES[1:]):
        params.append((rng.standard_normal((fan_in, fan_out)) / np.sqrt(fan_in)).astype(np.float32))
        params.append(np.zeros(fan_out, dtype=np.float32))
    X = rng.standard_normal((batch, SIZES[0])).astype(np.float32)
    Y = np.eye(SIZES[-1], dtype=np.float32)[rng.integers(0, SIZES[-1], size=batch)]
    return params, X, Y


def mlp_loss(lib, params, X, Y, rowmax=None):
    """The loss, for any library with tanh/exp/log/sum(axis, keepdims) and ``@``; ``rowmax(z)``
    where the library's row maximum is not ``lib.max(z, axis=1, keepdims=True)``."""
    W1, b1, W2, b2, W3, b3 = params
    h = lib.tanh(X @ W1 + b1)
    h = lib.tanh(h @ W2 + b2)
    z = h @ W3 + b3
    z = z - (lib.max(z, axis=1, keepdims=True) if rowmax is None else rowmax(z))
    logp = z - lib.log(lib.sum(lib.exp(z), axis=1, keepdims=True))
    return -lib.sum(Y * logp) / X.shape[0]


# --------------------------------------------------------------------------------------------
# Implementations.


def _limit_grads(params, X, Y):
    W1, b1, W2, b2, W3, b3 = params
    h1 = np.tanh(X @ W1 + b1)
    h2 = np.tanh(h1 @ W2 + b2)
    z = h2 @ W3 + b3
    z -= z.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    dz = p - Y
    dz /= X.shape[0]
    dh2 = dz @ W3.T
    dh2 *= 1 - h2 * h2
    dh1 = dh2 @ W2.T
    dh1 *= 1 - h1 * h1
    return [X.T @ dh1, dh1.sum(axis=0), h1.T @ dh2, dh2.sum(axis=0), h2.T @ dz, dz.sum(axis=0)]


def _limit(cfg):
    params, X, Y = initial(cfg["batch"])
    return limit_sgd_case(params, partial(_limit_grads, params, X, Y), LR)


def _xpgrad_on(backend: str):
    return lambda cfg: xpgrad_sgd_case(backend, mlp_loss, LR, *initial(cfg["batch"]))


def _torch(cfg):
    import torch

    params, X, Y = initial(cfg["batch"])
    params = [torch.tensor(p, requires_grad=True) for p in params]
    X = torch.from_numpy(X)
    Y = torch.from_numpy(Y)

    def rowmax(z):
        return torch.amax(z, dim=1, keepdim=True)

    return sgd_case(params, partial(mlp_loss, torch, params, X, Y, rowmax), torch.no_grad, LR)


def _autograd(cfg):
    import autograd
    import autograd.numpy as anp

    params, X, Y = initial(cfg["batch"])
    dloss = autograd.grad(lambda ps: mlp_loss(anp, ps, X, Y))

    def step():
        for p, g in zip(params, dloss(params)):
            p -= LR * g

    return Case(step, lambda: dloss(params))


def _mygrad(cfg):
    import mygrad as mg

    params, X, Y = initial(cfg["batch"])
    params = [mg.tensor(p) for p in params]

    def backward():
        mlp_loss(mg, params, X, Y).backward()

    def step():
        backward()
        for p in params:  # MyGrad's documented SGD update: on the raw data
            p.data -= LR * p.grad

    def grads():
        backward()
        return [p.grad for p in params]

    return Case(step, grads)


BUILDERS = {
    "limit": _limit,
    "xpgrad": _xpgrad_on("numpy"),
    "torch": _torch,
    "autograd": _autograd,
    "mygrad": _mygrad,
    "xpgrad[torch]": _xpgrad_on("torch"),
}
