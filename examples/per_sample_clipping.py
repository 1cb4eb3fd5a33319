"""Per-sample gradient clipping (DP-SGD style) with ``xpgrad.func``, on NumPy and on torch.

Differentially private SGD bounds each example's influence: every *per-sample* gradient is
clipped to norm at most ``C``, the clipped gradients are averaged, and Gaussian noise of scale
``sigma * C / batch`` is added before the update. ``vmap(grad(loss))`` gives all per-sample
gradients of a batch in one vectorised pass; the same code runs on the NumPy and the torch
backends, and each step is compared with ``torch.func`` on the same data and noise.

Run:  python examples/per_sample_clipping.py
"""

import numpy as np
from array_api_compat import array_namespace

import xpgrad
from xpgrad.func import grad, vmap

BATCH, N_IN, N_HIDDEN, N_OUT = 64, 10, 16, 3
CLIP, SIGMA, LR, STEPS = 1.0, 0.5, 0.5, 20


def loss(params, x, y):
    """Cross-entropy of one sample (array API code: the namespace comes from the arguments)."""
    xp = array_namespace(x)
    h = xp.tanh(x @ params["w1"] + params["b1"])
    logits = h @ params["w2"] + params["b2"]
    m = xp.max(logits)
    log_z = m + xp.log(xp.sum(xp.exp(logits - m)))
    return log_z - xp.sum(logits * y)


def dp_step(params, x, y, noise, per_sample_grads):
    """One DP-SGD step: clip each sample's gradient to norm CLIP, average, add noise."""
    xp = array_namespace(x)
    g = per_sample_grads(params, x, y)
    sq = sum(xp.sum(xp.reshape(v * v, (BATCH, -1)), axis=1) for v in g.values())
    scale = xp.minimum(xp.ones_like(sq), CLIP / (xp.sqrt(sq) + 1e-12))  # per sample
    new = {}
    for k, v in g.items():
        s = xp.reshape(scale, (BATCH,) + (1,) * (v.ndim - 1))
        clipped_mean = xp.sum(v * s, axis=0) / BATCH
        new[k] = params[k] - LR * (clipped_mean + noise[k] * (SIGMA * CLIP / BATCH))
    return new, xp.mean(xp.sqrt(sq))


def data(rng):
    w_true = rng.standard_normal((N_IN, N_OUT))
    x = rng.standard_normal((BATCH * STEPS, N_IN))
    labels = np.argmax(x @ w_true + 0.3 * rng.standard_normal((BATCH * STEPS, N_OUT)), axis=1)
    y = np.eye(N_OUT)[labels]
    params = {
        "w1": rng.standard_normal((N_IN, N_HIDDEN)) / np.sqrt(N_IN),
        "b1": np.zeros(N_HIDDEN),
        "w2": rng.standard_normal((N_HIDDEN, N_OUT)) / np.sqrt(N_HIDDEN),
        "b2": np.zeros(N_OUT),
    }
    noise = [{k: rng.standard_normal(v.shape) for k, v in params.items()} for _ in range(STEPS)]
    return x, y, params, noise


def train(convert, per_sample_grads, x, y, params, noise):
    p = {k: convert(v) for k, v in params.items()}
    norms = []
    for s in range(STEPS):
        xb, yb = convert(x[s * BATCH : (s + 1) * BATCH]), convert(y[s * BATCH : (s + 1) * BATCH])
        p, mean_norm = dp_step(p, xb, yb, {k: convert(v) for k, v in noise[s].items()}, per_sample_grads)
        norms.append(float(mean_norm))
    return p, norms


def to_numpy(t):
    return np.asarray(t.tolist())


def main():
    x, y, params, noise = data(np.random.default_rng(0))
    psg = vmap(grad(loss), in_dims=(None, 0, 0))
    try:
        import torch
        import torch.func as tf
    except ImportError:
        p, norms = train(xpgrad.numpy.asarray, psg, x, y, params, noise)
        print(f"xpgrad (NumPy)  mean per-sample grad norm: first step {norms[0]:.3f}, last {norms[-1]:.3f}")
        print(
            "torch is not installed: the torch backend and the comparison with torch.func need it (pip install torch)"
        )
        return
    xtorch = xpgrad.torch
    runs = {
        "xpgrad (NumPy)": (xpgrad.numpy.asarray, psg),
        "xpgrad (torch)": (lambda a: xtorch.asarray(torch.tensor(a)), psg),
        "torch.func": (torch.tensor, tf.vmap(tf.grad(loss), in_dims=(None, 0, 0))),
    }
    results = {name: train(conv, psg, x, y, params, noise) for name, (conv, psg) in runs.items()}
    ref_params, ref_norms = results["torch.func"]
    for name, (p, norms) in results.items():
        err = max(float(np.max(np.abs(to_numpy(p[k]) - to_numpy(ref_params[k])))) for k in p)
        print(
            f"{name:15s} mean per-sample grad norm: first step {norms[0]:.3f}, last {norms[-1]:.3f};"
            f" max |param - torch.func's| = {err:.1e}"
        )
        assert err < 1e-10, name
        np.testing.assert_allclose(norms, ref_norms, rtol=1e-10)
    print(f"{STEPS} DP-SGD steps (clip {CLIP}, noise multiplier {SIGMA}) agree with torch.func")


if __name__ == "__main__":
    main()
