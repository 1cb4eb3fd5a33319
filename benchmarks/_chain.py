"""The elementwise op chain shared by W1 (per-op cost), W4 (linearity) and W5 (memory).

The chain repeats a fixed mix of seven primitive ops::

    sin(x), x * 2.5, x - 0.2, tanh(x), x * x, -x, exp(x)      # the last three: exp(-x*x)

and ends with ``sum``. ``ops(lib)`` gives the mix for any library with ``sin``/``tanh``/``exp``
functions and arithmetic operators (xpgrad namespaces, torch, autograd.numpy, mygrad); the
limit uses ``LIMIT_OPS``: NumPy forward functions paired with hand-written derivatives that work in
place on the incoming gradient and save only what they need (the fastest and leanest NumPy
formulation of the same chain).

The constants keep values in range and gradients away from zero for W1's 200 ops (they are
between 1e-8 and 1e-4 there); longer chains contract towards a fixed point and their gradients
underflow to zero, which costs nothing in time.
"""

from __future__ import annotations

import numpy as np

from ._harness import Case, xpgrad_backend

SCALE = 2.5
SHIFT = 0.2
MIX_NAMES = ("sin", "mul", "sub", "tanh", "square", "neg", "exp")


def ops(lib) -> list:
    """The mix for a library ``lib`` that has ``sin``, ``tanh`` and ``exp``."""
    return [
        lib.sin,
        lambda x: x * SCALE,
        lambda x: x - SHIFT,
        lib.tanh,
        lambda x: x * x,
        lambda x: -x,
        lib.exp,
    ]


def sequence(mix: list, n: int) -> list:
    """The first ``n`` ops of the repeated mix."""
    return [mix[i % len(mix)] for i in range(n)]


def input_array(size: int) -> np.ndarray:
    """The chain's float64 input, deterministic, in [-1.5, 1.5]."""
    return np.linspace(-1.5, 1.5, size)


# --------------------------------------------------------------------------------------------
# The limit: forward ops return (value, saved); backward ops take (g, saved) and may reuse g.


def _sin(x):
    return np.sin(x), x


def _sin_b(g, x):
    c = np.cos(x)
    c *= g
    return c


def _mul(x):
    return x * SCALE, None


def _mul_b(g, _):
    g *= SCALE
    return g


def _sub(x):
    return x - SHIFT, None


def _same_b(g, _):
    return g


def _tanh(x):
    y = np.tanh(x)
    return y, y


def _tanh_b(g, y):
    d = y * y
    np.subtract(1.0, d, out=d)
    g *= d
    return g


def _square(x):
    return x * x, x


def _square_b(g, x):
    g *= x
    g *= 2.0
    return g


def _neg(x):
    return -x, None


def _neg_b(g, _):
    return np.negative(g, out=g)


def _exp(x):
    y = np.exp(x)
    return y, y


def _exp_b(g, y):
    g *= y
    return g


LIMIT_OPS = [
    (_sin, _sin_b),
    (_mul, _mul_b),
    (_sub, _same_b),
    (_tanh, _tanh_b),
    (_square, _square_b),
    (_neg, _neg_b),
    (_exp, _exp_b),
]


def limit_chain(x: np.ndarray, seq: list, probe=None):
    """Forward and hand-written backward of the chain ``seq`` of ``LIMIT_OPS`` entries.

    Returns ``(loss, dloss/dx)``. Saved values are released as the backward passes them.
    ``probe``: optional ``probe(stage)`` called with "forward" after the forward pass and "mid"
    when the backward reaches the middle of the chain (W5 memory probes).
    """
    tape = []
    for fwd, bwd in seq:
        x, saved = fwd(x)
        tape.append((bwd, saved))
    loss = float(np.sum(x))
    shape = x.shape
    del x
    if probe is not None:
        probe("forward")
    g = np.ones(shape, dtype=np.float64)
    mid = len(tape) // 2
    while tape:
        if probe is not None and len(tape) == mid:
            probe("mid")
        bwd, saved = tape.pop()
        g = bwd(g, saved)
        del saved
    return loss, g


# --------------------------------------------------------------------------------------------
# Builders: cfg has "n_ops" (chain length) and "size" (elements of the float64 input).


def _limit(cfg):
    x0 = input_array(cfg["size"])
    seq = sequence(LIMIT_OPS, cfg["n_ops"])

    def step():
        return limit_chain(x0, seq)[1]

    return Case(step, lambda: [step()])


def backward_step(x, seq, total):
    """A step: ``x``'s gradient of ``total(chain(x))`` (``x`` a torch-style tensor, ``seq`` the ops)."""

    def step():
        x.grad = None
        y = x
        for f in seq:
            y = f(y)
        total(y).backward()
        return x.grad

    return step


def _xpgrad_on(backend: str):
    def build(cfg):
        xp, convert = xpgrad_backend(backend)
        x = xp.asarray(convert(input_array(cfg["size"])), requires_grad=True)
        step = backward_step(x, sequence(ops(xp), cfg["n_ops"]), xp.sum)
        return Case(step, lambda: [step()])

    return build


def _torch(cfg):
    import torch

    x = torch.tensor(input_array(cfg["size"]), requires_grad=True)
    step = backward_step(x, sequence(ops(torch), cfg["n_ops"]), torch.sum)
    return Case(step, lambda: [step()])


def _autograd(cfg):
    import autograd
    import autograd.numpy as anp

    x0 = input_array(cfg["size"])
    seq = sequence(ops(anp), cfg["n_ops"])

    def loss(x):
        for f in seq:
            x = f(x)
        return anp.sum(x)

    dloss = autograd.grad(loss)

    def step():
        return dloss(x0)

    return Case(step, lambda: [step()])


def _mygrad(cfg):
    import mygrad as mg

    x = mg.tensor(input_array(cfg["size"]))
    seq = sequence(ops(mg), cfg["n_ops"])

    def step():
        y = x
        for f in seq:
            y = f(y)
        mg.sum(y).backward()
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
