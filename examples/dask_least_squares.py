"""Least squares on a Dask array, on a dask.distributed LocalCluster, with xpgrad.

The design matrix is generated lazily, chunk by chunk, on the workers; xpgrad builds the loss
and its gradient as Dask graphs (nothing is computed until ``.compute()``/``persist``), and each
gradient-descent step is one pass over the data. The parameters are persisted after each update
so that their task graph does not grow with the number of steps (the training-loop idiom of
docs/backends.md).

    python examples/dask_least_squares.py                 # 64 MiB, threads in this process (seconds)
    python examples/dask_least_squares.py --gib 4 --processes --memory-limit 1GiB
        # 4 GiB of data on 2 worker processes limited to 1 GiB each (larger than memory)

Needs dask and distributed: pip install "xpgrad[backends]".
"""

import argparse
import sys

import numpy as np

import xpgrad


def main(argv=None):
    try:
        import dask
        import dask.array as da
        from distributed import Client, LocalCluster
    except ImportError as exc:
        print(f"{exc.name} is not installed; this example needs dask and distributed")
        print("(pip install 'xpgrad[backends]')")
        sys.exit(0)

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--gib", type=float, default=1 / 16, help="size of the design matrix in GiB")
    p.add_argument("--processes", action="store_true", help="worker processes (default: threads)")
    p.add_argument("--memory-limit", default="1GiB", help="per worker (with --processes)")
    p.add_argument("--steps", type=int, default=5)
    args = p.parse_args(argv)

    n_cols = 16
    chunk_rows = 2**16  # 8 MiB chunks
    n_rows = max(chunk_rows, int(args.gib * 2**30 / (8 * n_cols)) // chunk_rows * chunk_rows)
    cluster_kw = {"memory_limit": args.memory_limit} if args.processes else {}
    with (
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=args.processes,
            dashboard_address=":0",
            silence_logs=50,
            **cluster_kw,
        ) as cluster,
        Client(cluster),
    ):
        rng = da.random.default_rng(0)
        X = rng.standard_normal((n_rows, n_cols), chunks=(chunk_rows, n_cols))
        w_true = np.linspace(-1.0, 1.0, n_cols)
        y = X @ w_true + 0.01 * rng.standard_normal((n_rows,), chunks=(chunk_rows,))

        xp = xpgrad.namespace(da)
        Xt, yt = xp.asarray(X), xp.asarray(y)
        w = xp.asarray(da.zeros(n_cols, chunks=n_cols), requires_grad=True)
        lr = 0.4  # the Hessian 2 X^T X / n is close to 2 I for standard normal columns
        for step in range(args.steps):
            loss = xp.mean((Xt @ w - yt) ** 2)
            loss.backward()
            with xpgrad.no_grad():
                w -= lr * w.grad
            # Persist: compute w's new value on the cluster now and keep it there, so the next
            # step's graph starts from it instead of from the whole history of updates.
            (w.data,) = dask.persist(w.data)
            w.grad = None
            print(f"step {step}: loss {float(loss.item()):.5f}")
        print("max |w - w_true| =", f"{float(np.max(np.abs(w.data.compute() - w_true))):.3f}")


if __name__ == "__main__":
    main()
