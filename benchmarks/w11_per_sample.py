"""W11 per-sample gradients: ``vmap(grad(loss))`` of a small MLP (batch 256) on NumPy and on
torch, against a Python loop of ``grad`` and against ``torch.func``.

Rows (float64; every result checked against torch.func's before anything is timed):

- ``xpgrad vmap``: ``xpgrad.func.vmap(grad(loss), in_dims=(None, 0, 0))`` on the NumPy backend;
- ``xpgrad loop``: ``xpgrad.func.grad(loss)`` called once per sample, stacked (NumPy backend);
- ``torch.func``: ``torch.func.vmap(torch.func.grad(loss))`` on torch CPU tensors;
- ``xpgrad[torch] vmap``: xpgrad's vmap on the torch backend.

Targets: the loop at least 5x slower than ``xpgrad vmap``; ``xpgrad[torch] vmap`` within 2x of
torch.func.
"""

from __future__ import annotations

import numpy as np

from . import _harness
from ._harness import Result

KEY = "W11"
TITLE = "W11 per-sample gradients of an MLP (vmap of grad), batch 256"


def config(quick: bool) -> dict:
    return {"batch": 256, "sizes": (32, 64, 10), "reps": 3 if quick else 7}


def loss(params, x, y):
    import array_api_compat

    ns = array_api_compat.array_namespace(x)
    h = ns.tanh(x @ params["w1"] + params["b1"])
    o = h @ params["w2"] + params["b2"]
    return ns.sum((o - y) ** 2) / 2.0


def _data(cfg):
    rng = np.random.default_rng(0)
    n_in, n_h, n_out = cfg["sizes"]
    b = cfg["batch"]
    params = {
        "w1": rng.standard_normal((n_in, n_h)) / np.sqrt(n_in),
        "b1": rng.standard_normal(n_h) * 0.1,
        "w2": rng.standard_normal((n_h, n_out)) / np.sqrt(n_h),
        "b2": rng.standard_normal(n_out) * 0.1,
    }
    return params, rng.standard_normal((b, n_in)), rng.standard_normal((b, n_out))


def _steps(cfg):
    import torch
    import torch.func as tf

    import xpgrad
    from xpgrad.func import grad, vmap

    params, x, y = _data(cfg)
    xp = xpgrad.numpy
    xt = xpgrad.namespace("torch")
    p_np = {k: xp.asarray(v) for k, v in params.items()}
    p_xt = {k: xt.asarray(torch.tensor(v)) for k, v in params.items()}
    p_t = {k: torch.tensor(v) for k, v in params.items()}
    x_np, y_np = xp.asarray(x), xp.asarray(y)
    x_xt, y_xt = xt.asarray(torch.tensor(x)), xt.asarray(torch.tensor(y))
    x_t, y_t = torch.tensor(x), torch.tensor(y)
    per_sample = vmap(grad(loss), in_dims=(None, 0, 0))
    g = grad(loss)
    t_per_sample = tf.vmap(tf.grad(loss), in_dims=(None, 0, 0))

    def loop():
        gs = [g(p_np, x_np[i, ...], y_np[i, ...]) for i in range(cfg["batch"])]
        return {k: xp.stack([d[k] for d in gs]) for k in params}

    return {
        "xpgrad vmap": lambda: per_sample(p_np, x_np, y_np),
        "xpgrad loop": loop,
        "torch.func": lambda: t_per_sample(p_t, x_t, y_t),
        "xpgrad[torch] vmap": lambda: per_sample(p_xt, x_xt, y_xt),
    }


def _np(tree):
    out = []
    for k in sorted(tree):
        t = tree[k]
        a = t.detach().numpy() if hasattr(t, "numpy") else np.asarray(t.tolist())
        out.append(np.asarray(a).ravel())
    return np.concatenate(out)


def run(quick: bool) -> Result:
    cfg = config(quick)
    columns = _harness.checked_columns("vs xpgrad vmap", extra=[("vs torch.func", "vs_torch", "ratio")])
    result = Result(KEY, TITLE, columns, extra={"config": cfg})
    steps = _steps(cfg)
    results = {name: _np(step()) for name, step in steps.items()}
    result.rows += _harness.checked_rows(
        steps, results, "torch.func", "xpgrad vmap", cfg["reps"], vs_ref="vs_torch"
    )
    result.notes.append(
        "Targets: 'xpgrad loop' at least 5x 'xpgrad vmap' (NumPy); 'xpgrad[torch] vmap' at most "
        "2x torch.func (torch CPU). One thread for BLAS and torch."
    )
    return result


def main() -> None:
    _harness.pin_threads()
    _harness.print_result(run(quick=False))


if __name__ == "__main__":
    main()
