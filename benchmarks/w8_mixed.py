"""W8 mixed small ops: matmul, transpose, reshape, slice, concat, mean and sum with an axis on 8x8.

The arrays are tiny, so this measures the fixed cost of recording and differentiating the
non-elementwise functions (W1 measures the elementwise ones). One step repeats ``ROUNDS`` times::

    a = x @ W                     # matmul
    b = a.T                       # transpose
    c = reshape(b, (4, 16))       # reshape
    d = c[:, 2:10]                # slice (4x8)
    x = concat([d, d], axis=0)    # concat (8x8): the next round's input
    mean(x, axis=0), sum(x, axis=1)   # kept for the loss

then ``sum(concat(kept))`` and ``backward()``; reported per op (``7 * ROUNDS + 2`` ops). ``W`` is
orthogonal, so values stay in range. The limit is NumPy with the hand-written backward.
"""

from __future__ import annotations

import numpy as np

from ._harness import Case, small_timing, xpgrad_backend

KEY = "W8"
TITLE = "W8 mixed small ops (matmul, transpose, reshape, slice, concat, mean/sum with axis) on 8x8"
UNIT = "µs/op"
ROUNDS = 20
N_OPS = 7 * ROUNDS + 2
RTOL = 1e-9
ATOL = 1e-12

__all__ = ["BUILDERS", "KEY", "TITLE", "UNIT", "RTOL", "ATOL", "config", "per_unit"]


def config(quick: bool) -> dict:
    return {"rounds": ROUNDS, **small_timing(quick)}


def per_unit(seconds: float) -> float:
    return seconds / N_OPS * 1e6


def initial():
    """``x`` (8x8) and an orthogonal ``W`` (8x8), float64."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((8, 8))
    w, _ = np.linalg.qr(rng.standard_normal((8, 8)))
    return x, w


def chain(x, w, *, matmul, transpose, reshape, concat, mean, sum):
    """The workload with a library's functions; returns the loss."""
    kept = []
    for _ in range(ROUNDS):
        a = matmul(x, w)
        b = transpose(a)
        c = reshape(b, (4, 16))
        d = c[:, 2:10]
        x = concat([d, d], 0)
        kept.append(mean(x, 0))
        kept.append(sum(x, 1))
    return sum(concat(kept, 0), None)


# --------------------------------------------------------------------------------------------
# Implementations.


def _limit_grads(x0, w):
    xs = []
    x = x0
    for _ in range(ROUNDS):
        xs.append(x)
        d = (x @ w).T.reshape(4, 16)[:, 2:10]
        x = np.concatenate([d, d], axis=0)
    gw = np.zeros_like(w)
    ge = np.zeros((8, 8))
    c = np.zeros((4, 16))
    for x in reversed(xs):
        ge += 1.0 / 8  # mean over axis 0
        ge += 1.0  # sum over axis 1
        c[:, 2:10] = ge[:4]
        c[:, 2:10] += ge[4:]
        ga = c.reshape(8, 8).T
        gw += x.T @ ga
        ge = ga @ w.T
    return [ge, gw]


def _limit(cfg):
    x, w = initial()
    return Case(lambda: _limit_grads(x, w), lambda: _limit_grads(x, w))


def _backward_case(x, w, fns) -> Case:
    """One step: the gradients of the chain's loss for ``x`` and ``w`` (torch-style tensors)."""

    def step():
        x.grad = w.grad = None
        chain(x, w, **fns).backward()
        return [x.grad, w.grad]

    return Case(step, step)


def _xpgrad_on(backend: str):
    def build(cfg):
        xp, convert = xpgrad_backend(backend)
        x0, w0 = initial()
        x = xp.asarray(convert(x0), requires_grad=True)
        w = xp.asarray(convert(w0), requires_grad=True)
        fns = {
            "matmul": xp.matmul,
            "transpose": lambda a: a.T,
            "reshape": xp.reshape,
            "concat": lambda arrays, axis: xp.concat(arrays, axis=axis),
            "mean": lambda a, axis: xp.mean(a, axis=axis),
            "sum": lambda a, axis: xp.sum(a, axis=axis),
        }
        return _backward_case(x, w, fns)

    return build


def _torch(cfg):
    import torch

    x0, w0 = initial()
    x = torch.tensor(x0, requires_grad=True)
    w = torch.tensor(w0, requires_grad=True)
    fns = {
        "matmul": torch.matmul,
        "transpose": lambda a: a.T,
        "reshape": torch.reshape,
        "concat": lambda arrays, axis: torch.cat(arrays, dim=axis),
        "mean": lambda a, axis: torch.mean(a, dim=axis),
        "sum": lambda a, axis: torch.sum(a) if axis is None else torch.sum(a, dim=axis),
    }
    return _backward_case(x, w, fns)


def _autograd(cfg):
    import autograd
    import autograd.numpy as anp

    x0, w0 = initial()
    fns = {
        "matmul": anp.matmul,
        "transpose": lambda a: a.T,
        "reshape": anp.reshape,
        "concat": lambda arrays, axis: anp.concatenate(arrays, axis=axis),
        "mean": lambda a, axis: anp.mean(a, axis=axis),
        "sum": lambda a, axis: anp.sum(a, axis=axis),
    }
    dloss = autograd.grad(lambda x, w: chain(x, w, **fns), argnum=(0, 1))

    def step():
        return list(dloss(x0, w0))

    return Case(step, step)


BUILDERS = {
    "limit": _limit,
    "xpgrad": _xpgrad_on("numpy"),
    "torch": _torch,
    "autograd": _autograd,
    "xpgrad[torch]": _xpgrad_on("torch"),
}
