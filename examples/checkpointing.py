"""Activation checkpointing with ``xpgrad.checkpoint``: less memory for one more forward pass.

A deep residual chain ``y = y + 0.5 * sin(y)`` (64 layers on 200,000 float64 values) keeps one
array per layer for backward. Wrapped in ``xpgrad.checkpoint`` in segments of 8 layers, only the
segment boundaries are kept; backward recomputes each segment's intermediates when it reaches
it. The gradients are identical (bit for bit); peak memory, measured with ``tracemalloc`` (NumPy
reports its allocations to it), falls from about one array per layer to about two per segment.

Run:  python examples/checkpointing.py
"""

import gc
import time
import tracemalloc

import numpy as np

import xpgrad

xp = xpgrad.namespace(np)
LAYERS, SEGMENT, SIZE = 64, 8, 200_000


def layers(y, n):
    for _ in range(n):
        y = y + 0.5 * xp.sin(y)
    return y


def forward_backward(x, use_checkpoint):
    y = x
    for _ in range(LAYERS // SEGMENT):
        y = xpgrad.checkpoint(layers, y, SEGMENT) if use_checkpoint else layers(y, SEGMENT)
    loss = xp.sum(y)
    del y
    loss.backward()
    return x.grad


def measure(use_checkpoint):
    x = xp.asarray(np.linspace(-2.0, 2.0, SIZE), requires_grad=True)
    gc.collect()
    tracemalloc.start()
    g = forward_backward(x, use_checkpoint)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    x.grad = None
    t0 = time.perf_counter()  # timed separately: tracemalloc slows allocations down
    forward_backward(x, use_checkpoint)
    seconds = time.perf_counter() - t0
    return g.data, peak / (SIZE * 8), seconds


def main():
    g_plain, peak_plain, t_plain = measure(use_checkpoint=False)
    g_ckpt, peak_ckpt, t_ckpt = measure(use_checkpoint=True)
    print(f"{LAYERS} layers on {SIZE:,} float64 (1 array = {SIZE * 8 / 1e6:g} MB), segments of {SEGMENT}")
    print(f"without checkpoint: peak {peak_plain:5.1f} arrays, {t_plain * 1e3:6.0f} ms")
    print(f"with checkpoint:    peak {peak_ckpt:5.1f} arrays, {t_ckpt * 1e3:6.0f} ms")
    print(f"ratios (with / without): peak memory {peak_ckpt / peak_plain:.2f}, time {t_ckpt / t_plain:.2f}")
    identical = np.array_equal(g_plain, g_ckpt)
    print(f"gradients identical: {identical}")
    if not identical or peak_ckpt >= peak_plain:
        raise SystemExit("checkpointing should give identical gradients with less memory")


if __name__ == "__main__":
    main()
