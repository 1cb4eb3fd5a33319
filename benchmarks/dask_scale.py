"""Dask at scale: xpgrad's gradients against hand-written Dask gradients on a LocalCluster.

    python benchmarks/dask_scale.py                      # 2 GiB, 2 workers x 1 GiB (a few minutes)
    python benchmarks/dask_scale.py --gib 4 --cols 64 --chunk-mib 64 --memory-limit 2GiB \
        --only lstsq-hvp lstsq-gn --repeat 1 --json out.json          # issue 25's setting
    python benchmarks/dask_scale.py --gib 8 --memory-limit 2GiB --json out.json

Not part of ``benchmarks/run.py`` (it needs dask.distributed and minutes of wall time). For each
workload, the xpgrad result and the hand-written one are first compared (they must agree),
then both are computed in turn, ``--repeat`` times (the data generated again on the workers each
time); reported: the minimum wall time, the peak process memory per worker (distributed's
MemorySampler: the cluster's total divided by the number of workers), the bytes the workers
spilled to disk, and the task counts of both graphs (as built, and after Dask's optimisation,
which fuses blockwise steps: what the scheduler runs). Spilling is disabled unless ``--spill``
(then distributed's default thresholds), so a run that does not fit fails instead of hiding on
disk.

Workloads (X: n x ``--cols`` float64 in ``--chunk-mib`` MiB chunks of rows, generated lazily on
the workers):
- ``lstsq-grad``: gradient of mean((X w - y)^2) w.r.t. w; hand-written 2/n X^T (X w - y);
- ``lstsq-hvp``: Hessian-vector product (``create_graph``, then a second ``grad``);
  hand-written 2/n X^T (X v);
- ``lstsq-gn``: Gauss-Newton product 2/n J^T (J v) of the residual r(w) = X w - y: J v by
  forward mode (``xpgrad.functional.jvp``), then J^T by ``grad`` with ``grad_outputs``;
  hand-written 2/n X^T (X v) (the same matrix: least squares is its own Gauss-Newton model);
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


def _data(gib, cols, chunk_mib, seed=0):
    rows = int(chunk_mib * 2**20 / (8 * cols))
    n = int(gib * 2**30 / (8 * cols)) // rows * rows
    rng = da.random.default_rng(seed)
    X = rng.standard_normal((n, cols), chunks=(rows, cols))
    y = X @ np.linspace(-1.0, 1.0, cols) + 0.1 * rng.standard_normal((n,), chunks=(rows,))
    return X, y, n


def workloads(gib, cols=16, chunk_mib=16):
    xp = xpgrad.namespace(da)
    X, y, n = _data(gib, cols, chunk_mib)
    w0 = np.full(cols, 0.5)
    v = np.arange(cols) / cols

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

    def lstsq_gn():
        w = xp.asarray(da.from_array(w0), requires_grad=True)

        def residual(w):
            return xp.asarray(X) @ w - xp.asarray(y)

        r, jv = xpgrad.functional.jvp(residual, w.detach(), xp.asarray(da.from_array(v)))
        (gn,) = xpgrad.grad(residual(w), [w], grad_outputs=[2.0 / n * jv])
        return gn.data, 2.0 / n * (X.T @ (X @ v)), r.data

    def concat_big():
        Xt = xp.asarray(X, requires_grad=True)
        loss = xp.sum(xp.concat([xp.sin(Xt), Xt]))
        loss.backward()
        ref = da.cos(X) + 1.0
        return da.max(da.abs(Xt.grad.data - ref)), da.max(da.abs(ref - ref)), loss.data

    return {"lstsq-grad": lstsq_grad, "lstsq-hvp": lstsq_hvp, "lstsq-gn": lstsq_gn, "concat-big": concat_big}


def _spilled(client):
    """Bytes written to disk by spilling so far, summed over the workers."""

    def written(dask_worker):
        metrics = getattr(dask_worker.data, "cumulative_metrics", {})
        return metrics.get(("disk-write", "bytes"), 0.0)

    return sum(client.run(written).values())


def _tasks(arr):
    (optimised,) = dask.optimize(arr)
    return len(arr.__dask_graph__()), len(optimised.__dask_graph__())


def _measure_once(client, arr, n_workers):
    """Wall time, peak process memory per worker and bytes spilled of one ``arr.compute()``."""
    ms = MemorySampler()
    before = _spilled(client)
    with ms.sample("run", interval=0.1):
        t0 = time.perf_counter()
        out = arr.compute()
        elapsed = time.perf_counter() - t0
    peak = max(b for _, b in ms.samples["run"]) / n_workers
    return elapsed, peak, _spilled(client) - before, out


def _measure(client, arrays, repeat, n_workers):
    """``[best time, peak, spilled, result]`` per array, the arrays computed in turn ``repeat``
    times (interleaved, so that a change of load on a shared machine hits both alike)."""
    stats = [[float("inf"), 0.0, 0.0, None] for _ in arrays]
    for _ in range(repeat):
        for st, arr in zip(stats, arrays):
            t, peak, spilled, st[3] = _measure_once(client, arr, n_workers)
            st[0], st[1], st[2] = min(st[0], t), max(st[1], peak), max(st[2], spilled)
    return stats


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--gib", type=float, default=2.0, help="size of X")
    p.add_argument("--cols", type=int, default=16, help="columns of X")
    p.add_argument("--chunk-mib", type=float, default=16, help="MiB per chunk of X (whole rows)")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--memory-limit", default="1GiB", help="per worker")
    p.add_argument("--spill", action="store_true", help="let workers spill to disk (default: fail)")
    p.add_argument("--repeat", type=int, default=2)
    p.add_argument("--only", nargs="+")
    p.add_argument("--json")
    args = p.parse_args(argv)
    config = {"distributed.worker.memory.pause": False}
    if not args.spill:
        config.update({"distributed.worker.memory.target": False, "distributed.worker.memory.spill": False})
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
        Client(cluster) as client,
    ):
        for name, build in workloads(args.gib, args.cols, args.chunk_mib).items():
            if args.only and name not in args.only:
                continue
            got, want, forward = build()
            (t_x, m_x, s_x, r_x), (t_h, m_h, s_h, r_h) = _measure(
                client, (got, want), args.repeat, args.workers
            )
            if name == "concat-big":
                assert float(r_x) <= 1e-12, r_x
            else:
                np.testing.assert_allclose(r_x, r_h, rtol=1e-8, atol=1e-12)
            row = {
                "workload": name,
                "gib": args.gib,
                "xpgrad_s": round(t_x, 2),
                "hand_s": round(t_h, 2),
                "xpgrad_peak_mib_per_worker": round(m_x / 2**20),
                "hand_peak_mib_per_worker": round(m_h / 2**20),
                "xpgrad_spilled_mib": round(s_x / 2**20),
                "hand_spilled_mib": round(s_h / 2**20),
                "xpgrad_tasks": _tasks(got),
                "hand_tasks": _tasks(want),
                "forward_tasks": len(forward.__dask_graph__()),
            }
            rows.append(row)
            print(json.dumps(row), flush=True)
    if args.json:
        meta = {"workers": args.workers, "memory_limit": args.memory_limit, "cols": args.cols}
        with open(args.json, "w") as f:
            json.dump({"rows": rows, **meta, "chunk_mib": args.chunk_mib, "spill": args.spill}, f, indent=1)


if __name__ == "__main__":
    main()
