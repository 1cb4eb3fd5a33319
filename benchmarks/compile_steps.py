"""``xpgrad.compile``: compiled steps against their peers, ratios side by side in one run.

    python -m benchmarks.compile_steps [--quick]

W1C: W1's chain (200 elementwise ops on 16 float64, forward + backward, ``_chain``) compiled on
NumPy, against torch.autograd eager on the same chain (target: 0.35x or less) and xpgrad eager.

MLP: one SGD step of a small MLP (batch 64, 32 inputs, 32 tanh hidden units, one output, mean
squared error; forward, backward, ``opt.zero_grad()``/``opt.step()``) compiled on NumPy, against
the same step written by hand in NumPy (target: 1.3x or less) and xpgrad eager.

W2C: W2's step (784-512-512-10, batch 256, float32, ``w2_mlp``) compiled, against its NumPy limit.

Each time is the best of several repeats of a loop of steps; each compiled step is checked
against its eager counterpart before timing.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from . import _chain, w2_mlp, w10_small_mlp


def best(steps: dict, n: int, reps: int) -> dict:
    """Seconds per call of each step: the best of ``reps`` loops of ``n`` calls, the steps taking
    turns (so that a change of the machine's load affects them alike)."""
    out = {}
    for name, step in steps.items():
        step()
        out[name] = float("inf")
    for _ in range(reps):
        for name, step in steps.items():
            t0 = time.perf_counter()
            for _ in range(n):
                step()
            out[name] = min(out[name], (time.perf_counter() - t0) / n)
    return out


# -- W1C ------------------------------------------------------------------------------------------


def w1_steps():
    import torch

    import xpgrad

    xp = xpgrad.numpy
    x = xp.asarray(_chain.input_array(16), requires_grad=True)
    eager = _chain.backward_step(x, _chain.sequence(_chain.ops(xp), 200), xp.sum)
    compiled = xpgrad.compile(eager)
    tx = torch.tensor(_chain.input_array(16), requires_grad=True)
    torch_eager = _chain.backward_step(tx, _chain.sequence(_chain.ops(torch), 200), torch.sum)

    ref = np.asarray(eager()._data).copy()
    for _ in range(3):
        got = compiled()
    np.testing.assert_array_equal(got._data, ref)
    np.testing.assert_allclose(torch_eager().numpy(), ref, rtol=1e-9, atol=1e-12)
    return {"torch.autograd eager": torch_eager, "xpgrad eager": eager, "xpgrad compiled": compiled}


# -- MLP ------------------------------------------------------------------------------------------


LR = 0.05


def mlp_steps():
    import xpgrad

    xp = xpgrad.numpy
    raw, X, Y = w10_small_mlp.initial()  # batch 64, 32 inputs, 32 hidden, 1 output
    hand = [p.copy() for p in raw]

    def by_hand():
        W1, b1, W2, b2 = hand
        h = np.tanh(X @ W1 + b1)
        d = h @ W2 + b2 - Y
        loss = np.mean(d * d)
        dz = d * (2.0 / d.size)
        gW2 = h.T @ dz
        gb2 = dz.sum(axis=0)
        dh = dz @ W2.T
        dh *= 1 - h * h
        gW1 = X.T @ dh
        gb1 = dh.sum(axis=0)
        W1 -= LR * gW1
        b1 -= LR * gb1
        W2 -= LR * gW2
        b2 -= LR * gb2
        return loss

    def xpgrad_step():
        params = [xpgrad.Parameter(p.copy()) for p in raw]
        opt = xpgrad.optim.SGD(params, lr=LR)
        x, y = xp.asarray(X), xp.asarray(Y)

        def step():
            W1, b1, W2, b2 = params
            opt.zero_grad()
            d = xp.tanh(x @ W1 + b1) @ W2 + b2 - y
            loss = xp.mean(d * d)
            loss.backward()
            opt.step()
            return loss

        return step, params

    eager, pe = xpgrad_step()
    plain, pc = xpgrad_step()
    compiled = xpgrad.compile(plain)
    for _ in range(4):
        eager()
        compiled()
    for a, b in zip(pe, pc):
        np.testing.assert_array_equal(a._data, b._data)
    return {"NumPy by hand": by_hand, "xpgrad eager": eager, "xpgrad compiled": compiled}


# -- W2C ------------------------------------------------------------------------------------------


def w2_steps():
    import xpgrad

    xp = xpgrad.numpy
    raw, X, Y = w2_mlp.initial()
    lim = [p.copy() for p in raw]

    def limit():
        for p, g in zip(lim, w2_mlp._limit_grads(lim, X, Y)):
            p -= w2_mlp.LR * g

    params = [xpgrad.Parameter(p.copy()) for p in raw]
    opt = xpgrad.optim.SGD(params, lr=w2_mlp.LR)
    x, y = xp.asarray(X), xp.asarray(Y)

    def step():
        opt.zero_grad()
        w2_mlp.mlp_loss(xp, params, x, y).backward()
        opt.step()

    compiled = xpgrad.compile(step)
    for _ in range(3):
        compiled()
    return {"NumPy limit": limit, "xpgrad eager": step, "xpgrad compiled": compiled}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    reps = 3 if args.quick else 15
    rows = [
        (
            "W1C 200-op chain, 16 float64, fwd+bwd",
            w1_steps(),
            "torch.autograd eager",
            20,
            1e6 / 200,
            "µs/op",
            0.35,
        ),
        ("MLP 64x32 tanh SGD step", mlp_steps(), "NumPy by hand", 200, 1e6, "µs/step", 1.3),
        ("W2C MLP 784-512-512-10 SGD step", w2_steps(), "NumPy limit", 3, 1e3, "ms/step", 1.02),
    ]
    for title, steps, base, n, scale, unit, target in rows:
        times = best(steps, n, reps)
        print(f"{title} ({unit}; ratio to {base}, target for compiled <= {target}x)")
        for name, t in times.items():
            print(f"  {name:24s} {t * scale:10.2f}  {t / times[base]:6.2f}x")


if __name__ == "__main__":
    main()
