"""A training loop on Dask: least squares on a chunked array, parameters persisted each step.

On a lazy backend every update ``w - lr * g`` adds tasks to ``w``'s graph; over many steps each
step would recompute all previous ones. ``xpgrad.optim.persist_each_step(opt)`` computes and
keeps the parameters (and the optimiser's state) after every step, so each step starts from
computed chunks. The fitted weights are compared with NumPy's least-squares solution.

Run:  python examples/dask_training.py          (needs dask: pip install "xpgrad[backends]")
"""

import sys

import numpy as np

import xpgrad
from xpgrad import optim


def main():
    try:
        import dask.array as da
    except ImportError:
        print("dask is not installed; this example needs it (pip install 'xpgrad[backends]')")
        sys.exit(0)

    rng = np.random.default_rng(0)
    n, d = 8_000, 8
    X_np = rng.standard_normal((n, d))
    w_true = rng.standard_normal(d)
    y_np = X_np @ w_true + 0.1 * rng.standard_normal(n)

    xp = xpgrad.dask
    X = xp.asarray(da.from_array(X_np, chunks=(2_000, d)))  # 4 chunks of rows
    y = xp.asarray(da.from_array(y_np, chunks=2_000))
    w = xpgrad.Parameter(da.zeros(d, chunks=d))
    opt = optim.Adam([w], lr=0.1)
    optim.persist_each_step(opt)
    for step in range(100):
        opt.zero_grad()
        loss = xp.mean((X @ w - y) ** 2)
        loss.backward()
        opt.step()
        if step % 50 == 0:
            print(
                f"step {step:3d}  loss {float(loss.detach().data.compute()):.5f}  tasks in w: {len(w.data.dask)}"
            )
    w_fit = w.data.compute()
    w_lstsq = np.linalg.lstsq(X_np, y_np, rcond=None)[0]
    print("fitted:", np.round(w_fit, 3))
    print("lstsq: ", np.round(w_lstsq, 3))
    np.testing.assert_allclose(w_fit, w_lstsq, atol=2e-2)


if __name__ == "__main__":
    main()
