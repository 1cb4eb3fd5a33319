"""W6 checkpointing: peak memory and time of a deep chain with and without ``xpgrad.checkpoint``.

The chain is 64 layers ``y = y + 0.1 * sin(y)`` on 1e6 float64 values (192 elementwise ops; each
layer keeps one array, its input, for backward), then ``sum`` and ``backward()``. The
checkpointed variant wraps every segment of 8 layers in ``xpgrad.checkpoint``: the forward pass
keeps only the 8 segment inputs, and backward recomputes each segment's intermediates when it
reaches it (one extra forward pass in total).

Order: the gradients of both variants are computed first and must be identical (bit for bit);
then peak memory is measured with ``tracemalloc`` (NumPy reports its data allocations to it:
exact live bytes, counted from just before the forward pass, the input excluded and the returned
gradient included; unit: one array of the input's size, 8 MB); then both variants are timed side
by side, round-robin, without tracemalloc (see ``_harness.time_interleaved``).
"""

from __future__ import annotations

import gc
import statistics
import tracemalloc

import numpy as np

from . import _harness
from ._harness import Result

KEY = "W6"
TITLE = "W6 checkpointing: 64-layer chain y + 0.1*sin(y) on 1e6 float64, segments of 8 layers"
LAYERS = 64
SEGMENT = 8
SIZE = 1_000_000
STEP = 0.1
PLAIN, CKPT = "xpgrad", "xpgrad + checkpoint"


def config(quick: bool) -> dict:
    return {"layers": LAYERS, "segment": SEGMENT, "size": SIZE, "reps": 2 if quick else 7}


def _layers(xp, y, n: int):
    for _ in range(n):
        y = y + STEP * xp.sin(y)
    return y


def _forward_backward(xpgrad, xp, x, use_checkpoint: bool, probe=None):
    """One forward + backward from the leaf ``x``; returns ``x.grad``."""
    x.grad = None
    y = x
    for _ in range(LAYERS // SEGMENT):
        if use_checkpoint:
            y = xpgrad.checkpoint(_layers, xp, y, SEGMENT)
        else:
            y = _layers(xp, y, SEGMENT)
    loss = xp.sum(y)
    del y
    if probe is not None:
        probe()
    loss.backward()
    return x.grad


def _memory(xpgrad, xp, x, use_checkpoint: bool) -> dict:
    """Peak and after-forward live memory of one forward + backward, in arrays."""
    unit = SIZE * 8
    marks = {}

    def probe():
        marks["after_forward"] = tracemalloc.get_traced_memory()[0] / unit

    gc.collect()
    tracemalloc.start()
    try:
        g = _forward_backward(xpgrad, xp, x, use_checkpoint, probe)
        peak = tracemalloc.get_traced_memory()[1] / unit
    finally:
        tracemalloc.stop()
    del g
    x.grad = None
    return {"peak": peak, "after_forward": marks.get("after_forward")}


def run(quick: bool) -> Result:
    import xpgrad

    cfg = config(quick)
    xp = xpgrad.namespace(np)
    x = xp.asarray(np.linspace(-2.0, 2.0, SIZE), requires_grad=True)
    variants = {PLAIN: False, CKPT: True}

    # 1. Gradients, before anything is measured.
    grads = {name: _forward_backward(xpgrad, xp, x, ck).data.copy() for name, ck in variants.items()}
    identical = bool(np.array_equal(grads[PLAIN], grads[CKPT]))
    scale = float(np.max(np.abs(grads[PLAIN]))) or 1.0
    err = float(np.max(np.abs(grads[PLAIN] - grads[CKPT]))) / scale
    check = {PLAIN: "reference", CKPT: "identical" if identical else f"MISMATCH ({err:.1e})"}
    del grads

    # 2. Peak memory (tracemalloc), one variant at a time.
    memory = {name: _memory(xpgrad, xp, x, ck) for name, ck in variants.items()}

    # 3. Time, side by side (a mismatching variant is not timed).
    steps = {
        name: (lambda ck=ck: _forward_backward(xpgrad, xp, x, ck))
        for name, ck in variants.items()
        if name == PLAIN or identical
    }
    samples = _harness.time_interleaved(steps, cfg["reps"], target_s=0.0)

    result = Result(
        KEY,
        TITLE,
        [
            ("impl", "impl", "text"),
            ("peak (arrays)", "peak", "num"),
            ("peak vs plain", "peak_ratio", "ratio"),
            ("after forward (arrays)", "after_forward", "num"),
            ("median (ms)", "median", "num"),
            ("min", "min", "num"),
            ("max", "max", "num"),
            ("time vs plain", "time_ratio", "ratio"),
            ("grad check", "grad_check", "text"),
        ],
        extra={"config": cfg},
    )
    plain_peak = memory[PLAIN]["peak"]
    plain_med = statistics.median(samples[PLAIN]) * 1e3
    for name in variants:
        row = {"impl": name, "status": "ok", "grad_check": check[name], **memory[name]}
        row["peak_ratio"] = _harness.ratio(memory[name]["peak"], plain_peak)
        if name in samples:
            ms = [s * 1e3 for s in samples[name]]
            med = statistics.median(ms)
            row.update(median=med, min=min(ms), max=max(ms), samples=ms)
            row["time_ratio"] = _harness.ratio(med, plain_med)
        else:
            row["status"] = "gradient mismatch"
        result.rows.append(row)
    ck = result.rows[1]
    result.extra["peak_ratio"] = ck.get("peak_ratio")
    result.extra["time_ratio"] = ck.get("time_ratio")
    result.notes.append(
        f"{LAYERS} layers ({3 * LAYERS} elementwise ops) on {SIZE:,} float64, checkpointed in segments of "
        f"{SEGMENT} layers; 1 array = {SIZE * 8 / 1e6:g} MB; memory by tracemalloc (from just before "
        f"the forward pass); time: {cfg['reps']} interleaved repetitions of forward + backward."
    )
    if ck.get("time_ratio") is not None:
        result.notes.append(
            f"checkpoint / plain: peak memory {ck['peak_ratio']:.2f}x, time {ck['time_ratio']:.2f}x"
        )
    return result
