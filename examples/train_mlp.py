"""Train a small MLP with xpgrad.optim, on NumPy and on torch tensors, with the same code.

The model and loss are array API code; the optimiser (Adam) and the learning-rate schedule
(cosine annealing) are ``xpgrad.optim``'s, with torch.optim's formulas. The script trains the same
network on two backends, prints the loss every 40 steps and checks that both runs agree. When
matplotlib is installed it saves a plot of the loss curves as a PNG (into a temporary directory,
or the path given as the first argument).

Run:  python examples/train_mlp.py [loss.png]
"""

import os
import sys
import tempfile

import numpy as np

import xpgrad
from xpgrad import optim

STEPS = 120


def make_data(rng, n=128):
    """Noisy samples of a 2-D function to regress."""
    x = rng.uniform(-2.0, 2.0, size=(n, 2))
    y = np.sin(x[:, :1]) * np.cos(x[:, 1:]) + 0.05 * rng.standard_normal((n, 1))
    return x, y


def init_params(rng, sizes=(2, 16, 16, 1)):
    """Weights and biases (NumPy arrays), scaled by 1/sqrt(fan-in)."""
    params = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        params.append(rng.standard_normal((n_in, n_out)) / np.sqrt(n_in))
        params.append(np.zeros(n_out))
    return params


def mlp(xp, params, x):
    """A tanh MLP, written against the array API namespace ``xp``."""
    h = x
    for i in range(0, len(params) - 2, 2):
        h = xp.tanh(h @ params[i] + params[i + 1])
    return h @ params[-2] + params[-1]


def train(backend, x, y, params0):
    xp = xpgrad.namespace(backend)
    x, y = xp.asarray(x), xp.asarray(y)
    params = [xp.asarray(p, copy=True, requires_grad=True) for p in params0]
    opt = optim.Adam(params, lr=0.03)
    sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=STEPS)
    losses = []
    for step in range(STEPS):
        opt.zero_grad()
        loss = xp.mean((mlp(xp, params, x) - y) ** 2)
        loss.backward()
        opt.step()
        sched.step()
        losses.append(float(loss.detach()))
        if step % 40 == 0 or step == STEPS - 1:
            print(f"  {backend:5s} step {step:3d}  loss {losses[-1]:.5f}  lr {sched.get_last_lr()[0]:.5f}")
    return losses


def save_plot(curves, path):
    try:
        import matplotlib
    except ImportError:
        print("matplotlib is not installed: no plot (pip install matplotlib)")
        return
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for name, losses in curves.items():
        ax.semilogy(losses, label=name)
    ax.set_xlabel("step")
    ax.set_ylabel("mean squared error")
    ax.set_title("MLP trained with xpgrad.optim.Adam")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print(f"loss curve saved to {path}")


def main():
    rng = np.random.default_rng(0)
    x, y = make_data(rng)
    params0 = init_params(rng)
    curves = {}
    try:
        import torch  # noqa: F401 - only whether it is installed
    except ImportError:
        with_torch = False
    else:
        with_torch = True
    for backend in ("numpy", "torch") if with_torch else ("numpy",):
        curves[backend] = train(backend, x, y, params0)
    assert curves["numpy"][-1] < 0.1 * curves["numpy"][0], "training did not reduce the loss"
    if with_torch:
        np.testing.assert_allclose(curves["numpy"], curves["torch"], rtol=1e-9)
        print(f"final loss {curves['numpy'][-1]:.5f} on both backends")
    else:
        print(f"final loss {curves['numpy'][-1]:.5f}")
        print("torch is not installed: training on torch tensors needs it (pip install torch)")
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(tempfile.mkdtemp(), "mlp_loss.png")
    save_plot(curves, path)


if __name__ == "__main__":
    main()
