"""W5 memory: peak memory of a 50-op chain on 1e6 float64 values, forward + backward.

Each implementation runs in its own subprocess (``python -m benchmarks.w5_memory --child IMPL``)
so that nothing else is resident. The chain is W1's (``_chain``); memory is reported in units of
one array of the input's size (8 MB), counted from just before the forward pass (the input itself
is not counted; the gradient is).

Method:

- NumPy-based implementations (limit, xpgrad, autograd, mygrad): ``tracemalloc`` (NumPy reports
  its data allocations to it), which counts exactly the bytes allocated and not yet freed.
- torch-based ones (torch, xpgrad[torch]): torch's CPU allocator does not report to tracemalloc,
  so the resident set size is used: the peak (``VmHWM`` in ``/proc/self/status``, reset through
  ``/proc/self/clear_refs`` just before the run; ``ru_maxrss`` where that is unavailable) minus
  the RSS before the run. The child runs with ``MALLOC_MMAP_THRESHOLD_=65536`` so that every
  array is its own mapping and is returned to the system when freed, making RSS track live data.
  The RSS peak is reported for every implementation as a cross-check.

"Freed during backward": probes record the live memory after the forward pass (graph held) and
when the backward reaches the middle of the chain (a tensor hook for xpgrad and torch, an identity
primitive for autograd and MyGrad, the tape for the limit). Intermediates are freed during
backward if by then at least a quarter of the forward's memory has been released (half of the
chain's saved values are behind the sweep at that point).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from ._harness import IMPLS, Result, missing_peer

KEY = "W5"
TITLE = "W5 peak memory: 50-op chain on 1e6 float64 (8 MB arrays), forward + backward"
N_OPS = 50
SIZE = 1_000_000
TORCH_BASED = {"torch", "xpgrad[torch]"}
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(quick: bool) -> Result:
    rows = {}
    for impl in IMPLS:
        rows[impl] = _run_child(impl)
    limit_peak = rows["limit"].get("peak") if rows["limit"].get("status") == "ok" else None
    result = Result(
        KEY,
        TITLE,
        [
            ("impl", "impl", "text"),
            ("method", "method", "text"),
            ("peak (arrays)", "peak", "num"),
            ("vs limit", "vs_limit", "ratio"),
            ("after forward", "after_forward", "num"),
            ("mid-backward", "mid_backward", "num"),
            ("after backward", "after_backward", "num"),
            ("RSS peak", "rss_peak", "num"),
            ("freed during backward", "freed", "text"),
        ],
    )
    for row in rows.values():
        if row.get("status") == "ok" and limit_peak:
            row["vs_limit"] = row["peak"] / limit_peak
        result.rows.append(row)
    result.notes.append(
        f"{N_OPS} ops on {SIZE:,} float64; 1 array = {SIZE * 8 / 1e6:g} MB; "
        "tracemalloc for NumPy-based implementations, RSS for torch-based ones (see method column)"
    )
    return result


def _run_child(impl: str) -> dict:
    env = dict(os.environ)
    env["MALLOC_MMAP_THRESHOLD_"] = "65536"
    env["PYTHONPATH"] = _ROOT + os.pathsep + env.get("PYTHONPATH", "")
    cmd = [sys.executable, "-m", "benchmarks.w5_memory", "--child", impl, str(N_OPS), str(SIZE)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=_ROOT, timeout=600)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        err = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return {"impl": impl, "status": f"failed: {err}"}
    return json.loads(lines[-1])


# --------------------------------------------------------------------------------------------
# The child process.


class Meter:
    """Live and peak memory since :meth:`start`, in arrays, by tracemalloc and by RSS."""

    def __init__(self, unit_bytes: int, use_tracemalloc: bool):
        self.unit = unit_bytes
        self.use_tracemalloc = use_tracemalloc
        self.page = os.sysconf("SC_PAGE_SIZE")
        self.marks = {}

    def rss(self) -> int:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * self.page

    def _reset_rss_peak(self) -> bool:
        try:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")
            return True
        except OSError:
            return False

    def rss_peak(self) -> int:
        if self.hwm_reset:
            with open("/proc/self/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1]) * 1024
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    def start(self):
        import tracemalloc

        if self.use_tracemalloc:
            tracemalloc.start()
        self.hwm_reset = self._reset_rss_peak()
        self.rss0 = self.rss()

    def live(self) -> float:
        import tracemalloc

        if self.use_tracemalloc:
            return tracemalloc.get_traced_memory()[0] / self.unit
        return (self.rss() - self.rss0) / self.unit

    def probe(self, stage: str):
        self.marks[stage] = self.live()

    def stop(self) -> dict:
        import tracemalloc

        out = {"rss_peak": (self.rss_peak() - self.rss0) / self.unit}
        if self.use_tracemalloc:
            out["peak"] = tracemalloc.get_traced_memory()[1] / self.unit
            tracemalloc.stop()
        else:
            out["peak"] = out["rss_peak"]
        return out


def _runner(impl: str, n: int):
    """``(make_input(size), run(x, probe) -> grad)`` for implementation ``impl``."""
    import numpy as np

    from . import _chain

    mid = n // 2
    if impl == "limit":
        seq = _chain.sequence(_chain.LIMIT_OPS, n)

        def run(x, probe):
            g = _chain.limit_chain(x, seq, probe)[1]
            probe("after_backward")
            return g

        return _chain.input_array, run

    if impl in ("xpgrad", "xpgrad[torch]", "torch"):
        import xpgrad

        if impl == "torch":
            import torch

            lib, total = torch, torch.sum

            def make(size):
                return torch.tensor(_chain.input_array(size), requires_grad=True)

        else:
            if impl == "xpgrad[torch]":
                import torch

                lib = xpgrad.namespace(torch)
                to_backend = torch.from_numpy
            else:
                lib = xpgrad.namespace(np)
                to_backend = np.asarray
            total = lib.sum

            def make(size):
                return lib.asarray(to_backend(_chain.input_array(size)), requires_grad=True)

        seq = _chain.sequence(_chain.ops(lib), n)

        def run(x, probe):
            y = x
            for i, f in enumerate(seq):
                if i == mid:
                    y.register_hook(lambda g: probe("mid"))
                y = f(y)
            loss = total(y)
            del y
            probe("forward")
            loss.backward()
            probe("after_backward")
            return x.grad

        return make, run

    if impl == "autograd":
        import autograd
        import autograd.numpy as anp
        from autograd.extend import defvjp, primitive

        seq = _chain.sequence(_chain.ops(anp), n)
        state = {}

        @primitive
        def mark(x):
            return x

        defvjp(mark, lambda ans, x: lambda g: (state["probe"]("mid"), g)[1])

        def loss(x):
            for i, f in enumerate(seq):
                if i == mid:
                    x = mark(x)
                x = f(x)
            out = anp.sum(x)
            del x
            state["probe"]("forward")
            return out

        dloss = autograd.grad(loss)

        def run(x, probe):
            state["probe"] = probe
            g = dloss(x)
            probe("after_backward")
            return g

        return _chain.input_array, run

    if impl == "mygrad":
        import mygrad as mg
        from mygrad.operation_base import Operation

        seq = _chain.sequence(_chain.ops(mg), n)
        state = {}

        class Mark(Operation):
            def __call__(self, a):
                self.variables = (a,)
                return a.data

            def backward_var(self, grad, index, **kwargs):
                state["probe"]("mid")
                return grad

        def run(x, probe):
            state["probe"] = probe
            y = x
            for i, f in enumerate(seq):
                if i == mid:
                    y = mg.execute_op(Mark, y)
                y = f(y)
            loss = mg.sum(y)
            del y
            probe("forward")
            loss.backward()
            probe("after_backward")
            return x.grad

        return (lambda size: mg.tensor(_chain.input_array(size))), run

    raise ValueError(f"unknown implementation {impl!r}")


def child(impl: str, n: int, size: int) -> dict:
    import gc

    from . import _harness

    _harness.pin_threads(with_torch=impl in TORCH_BASED)
    try:
        make, run = _runner(impl, n)
    except Exception as exc:
        if missing_peer(exc):
            return {"impl": impl, "status": "not installed"}
        raise
    run(make(1000), lambda stage: None)  # warm up: imports, lazy initialisation, caches
    x = make(size)
    gc.collect()
    meter = Meter(size * 8, use_tracemalloc=impl not in TORCH_BASED)
    meter.start()
    g = run(x, meter.probe)
    stats = meter.stop()
    del g
    m = meter.marks
    fwd, midb = m.get("forward"), m.get("mid")
    freed = None if fwd is None or midb is None else (fwd - midb) >= 0.25 * fwd
    return {
        "impl": impl,
        "status": "ok",
        "method": "RSS" if impl in TORCH_BASED else "tracemalloc",
        "peak": stats["peak"],
        "rss_peak": stats["rss_peak"],
        "after_forward": fwd,
        "mid_backward": midb,
        "after_backward": m.get("after_backward"),
        "freed": "-" if freed is None else ("yes" if freed else "no"),
    }


if __name__ == "__main__":
    # Run as ``-m benchmarks.w5_memory``: the package __init__ has already pinned the threads.
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        print(json.dumps(child(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))))
    else:
        raise SystemExit("usage: python -m benchmarks.w5_memory --child IMPL N_OPS SIZE")
