"""Differentiate unmodified array API code on NumPy and cross-check it against torch.autograd.

The function below is ordinary array API code: it never imports NumPy or torch, it asks its
input for its namespace. Given xpgrad Tensors it records a graph; given torch tensors (through
array_api_compat) torch.autograd records one. Both gradients are printed side by side.

Run:  python examples/quickstart.py
"""

import array_api_compat
import numpy as np

import xpgrad


def loss_fn(w, x, y):
    """Softmax cross-entropy of a linear model, written against the array API only."""
    xp = array_api_compat.array_namespace(w, x)
    logits = x @ w
    logits = logits - xp.max(logits, axis=1, keepdims=True)
    log_probs = logits - xp.log(xp.sum(xp.exp(logits), axis=1, keepdims=True))
    picked = xp.sum(log_probs * y, axis=1)
    return -xp.mean(picked) + 0.01 * xp.sum(w * w)


def main():
    rng = np.random.default_rng(0)
    w0 = rng.standard_normal((4, 3))
    x = rng.standard_normal((8, 4))
    y = np.eye(3)[rng.integers(0, 3, size=8)]

    # xpgrad over NumPy
    xp = xpgrad.namespace(np)
    w = xp.asarray(w0, requires_grad=True)
    loss = loss_fn(w, xp.asarray(x), xp.asarray(y))
    loss.backward()

    np.set_printoptions(precision=6, suppress=True)
    try:
        import torch
    except ImportError:
        print(f"loss   xpgrad: {float(loss):.12f}")
        print("grad (xpgrad over NumPy):")
        print(w.grad.data)
        print("torch is not installed: the comparison with torch.autograd needs it (pip install torch)")
        return

    # torch.autograd on the same code
    wt = torch.tensor(w0, requires_grad=True)
    loss_t = loss_fn(wt, torch.tensor(x), torch.tensor(y))
    loss_t.backward()

    print(f"loss   xpgrad: {float(loss):.12f}   torch: {float(loss_t.detach()):.12f}")
    print("grad (xpgrad over NumPy):")
    print(w.grad.data)
    print("grad (torch.autograd):")
    print(wt.grad.numpy())
    err = float(np.max(np.abs(w.grad.data - wt.grad.numpy())))
    print(f"max |difference| = {err:.2e}")
    if err > 1e-12:
        raise SystemExit("gradients differ")
    print("gradients agree to 1e-12")


if __name__ == "__main__":
    main()
