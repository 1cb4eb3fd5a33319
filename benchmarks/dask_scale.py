"""Dask at scale: xpgrad's gradients against hand-written Dask gradients on a LocalCluster.

    python benchmarks/dask_scale.py                      # 2 GiB, 2 workers x 1 GiB (a few minutes)
    python benchmarks/dask_scale.py --gib 8 --memory-limit 2GiB --json out.json

Not part of ``benchmarks/run.py`` (it needs dask.distributed and minutes of wall time). For each
workload, the xpgrad gradient and the hand-written one are first compared (they must agree),
then each is computed ``--repeat`` times on a fresh cluster-side computation of the data; the
minimum wall time and the peak process memory of the workers (distributed's MemorySampler,
summed over workers) are reported, with the task counts of both graphs. Spilling is disabled,
so a run that does not fit fails instead of hiding on disk.

Workloads (X: n x 16 float64 in 16 MiB chunks, generated lazily on the workers):
- ``lstsq-grad``: gradient of mean((X w - y)^2) w.r.t. w; hand-written 2/n X^T (X w - y);
- ``lstsq-hvp``: Hessian-vector product (create_graph); hand-written 2/n X^T (X v);
- ``concat-big``: gradient of sum(concat([sin(X), X])) w.r.t. X, reduced to max |g - (cos X + 1)|
  on the workers; hand-written cos(X) + 1 reduced the same way.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import dask  # noqa: E402
import dask.array as da  # noqa: E402
import numpy as np  # noqa: E402
from distributed import Client, LocalCluster  # noqa: E402
from distributed.diagnostics import MemorySampler  # noqa: E402

import xpgrad  # noqa: E402

N_COLS = 16
CHUNK_ROWS = 2**17


def _data(gib, seed=0):
    n = int(gib * 2**30 / (8 * N_COLS)) // CHUNK_ROWS * CHUNK_ROWS
    rng = da.random.default_rng(seed)
    X = rng.standard_normal((n, N_COLS), chunks=(CHUNK_ROWS, N_COLS))
    y = X @ np.linspace(-1.0, 1.0, N_COLS) + 0.1 * rng.standard_normal((n,), chunks=(CHUNK_ROWS,))
    return X, y, n


def workloads(gib):
    xp = xpgrad.namespace(da)
    X, y, n = _data(gib)
    w0 = np.full(N_COLS, 0.5)
    v = np.arange(N_COLS) / N_COLS

    def lstsq_grad():
        w = xp.asarray(da.from_array(w0), requires_grad=True)
        loss = xp.mean((xp.asarray(X) @ w - xp.asarray(y)) ** 2)
        loss.backward()
        return w.grad.data, 2.0 / n * (X.T @ (X @ w0 - y)), loss.data

    def lstsq_hvp():
        w = xp.asarray(da.from_array(w0), requires_grad=True)
        loss = xp.mean((xp.asarray(X) @ w - xp.asarray(y)) ** 2)
        (g,) = xpgrad.grad(loss, [w], create_graph=True)
        (hv,) = xpgrad.grad(xp.sum(g * xp.asarray(da.from_array(v))), [w])
        return hv.data, 2.0 / n * (X.T @ (X @ v)), loss.data

    def concat_big():
        Xt = xp.asarray(X, requires_grad=True)
        loss = xp.sum(xp.concat([xp.sin(Xt), Xt]))
        loss.backward()
        ref = da.cos(X) + 1.0
        return da.max(da.abs(Xt.grad.data - ref)), da.max(da.abs(ref - ref)), loss.data

    return {"lstsq-grad": lstsq_grad, "lstsq-hvp": lstsq_hvp, "concat-big": concat_big}


def _measure(arr, repeat):
    best, peak = float("inf"), 0.0
    for k in range(repeat):
        ms = MemorySampler()
        with ms.sample(str(k), interval=0.1):
            t0 = time.perf_counter()
            out = arr.compute()
            best = min(best, time.perf_counter() - t0)
        peak = max(peak, max(b for _, b in ms.samples[str(k)]))
    return best, peak, out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--gib", type=float, default=2.0)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--memory-limit", default="1GiB")
    p.add_argument("--repeat", type=int, default=2)
    p.add_argument("--only", nargs="+")
    p.add_argument("--json")
    args = p.parse_args(argv)
    config = {
        "distributed.worker.memory.target": False,
        "distributed.worker.memory.spill": False,
        "distributed.worker.memory.pause": False,
    }
    rows = []
    with (
        dask.config.set(config),
        LocalCluster(
            n_workers=args.workers,
            threads_per_worker=1,
            memory_limit=args.memory_limit,
            dashboard_address=":0",
            silence_logs=50,
        ) as cluster,
        Client(cluster),
    ):
        for name, build in workloads(args.gib).items():
            if args.only and name not in args.only:
                continue
            got, want, forward = build()
            t_x, m_x, r_x = _measure(got, args.repeat)
            t_h, m_h, r_h = _measure(want, args.repeat)
            if name == "concat-big":
                assert float(r_x) <= 1e-12, r_x
            else:
                np.testing.assert_allclose(r_x, r_h, rtol=1e-8, atol=1e-12)
            row = {
                "workload": name,
                "gib": args.gib,
                "xpgrad_s": round(t_x, 2),
                "hand_s": round(t_h, 2),
                "xpgrad_peak_mib": round(m_x / 2**20),
                "hand_peak_mib": round(m_h / 2**20),
                "xpgrad_tasks": len(got.__dask_graph__()),
                "hand_tasks": len(want.__dask_graph__()),
                "forward_tasks": len(forward.__dask_graph__()),
            }
            rows.append(row)
            print(json.dumps(row), flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rows": rows, "workers": args.workers, "memory_limit": args.memory_limit}, f, indent=1)


if __name__ == "__main__":
    main()
