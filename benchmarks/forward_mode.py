"""W7 forward mode: Jacobians of R^n -> R^m (m >> n and m << n) and a Hessian-vector product,
by forward mode, reverse mode and the double-VJP trick, against torch.func.

Cases (float64, NumPy backend for xpgrad, torch CPU for torch.func):

- ``tall``: ``f(x) = tanh(A x) * (B x) + sin(C x)`` with ``x`` in R^n, ``A, B, C`` m x n, m >> n:
  the full Jacobian by n forward-mode passes (``jacobian(strategy="forward-mode",
  vectorize=True)``), by n double-VJP JVPs (two backward passes per column: the method
  ``functional.jvp`` used before forward mode), and by m reverse-mode VJPs.
- ``wide``: the same function with m << n (the shapes swapped).
- ``hvp``: ``H v`` for ``s(x) = sum(log(1 + exp(A x))) + sum(x**4) / 4`` with large n: forward-
  over-reverse (``functional.hvp``), the double-VJP trick (three backward passes), and ``vhp``
  (reverse-over-reverse, two backward passes; the same vector, H being symmetric).

torch.func runs the same functions with ``jacfwd``/``jacrev`` (vectorised with vmap, which xpgrad
does not have) and ``jvp(grad(s))``; its numbers show what batching the columns buys, not a
like-for-like comparison. Every result is checked against torch.func before anything is timed.
"""

from __future__ import annotations

import numpy as np

from . import _harness
from ._harness import Result

KEY = "W7"
TITLE = "W7 forward mode: Jacobians (m >> n, m << n) and a Hessian-vector product"


def config(quick: bool) -> dict:
    return {
        "tall": (8, 400),  # (n, m)
        "wide": (200, 8) if quick else (400, 8),
        "hvp_n": 20_000 if quick else 200_000,
        "hvp_k": 16,
        "reps": 3 if quick else 7,
    }


def _vector_fn(ns, mats):
    a, b, c = mats

    def f(x):
        return ns.tanh(ns.matmul(a, x)) * ns.matmul(b, x) + ns.sin(ns.matmul(c, x))

    return f


def _scalar_fn(ns, a):
    def s(x):
        z = ns.matmul(a, x)
        return ns.sum(ns.log(1.0 + ns.exp(z))) + ns.sum(x**4) / 4.0

    return s


def _jacobian_double_vjp(xpgrad, F, f, x):
    """The full Jacobian, one column per double-VJP JVP (the pre-forward-mode method)."""
    xp = x._ns
    (p,) = F._prepare_inputs(x, False, "jacobian")[1]
    with xpgrad.enable_grad():
        out = f(p)
    cols = []
    n = x.shape[0]
    for k in range(n):
        e = xp.asarray(np.eye(n)[k])
        (col,) = F._jvp_from((out,), (p,), (e,), False, False, "jacobian")
        cols.append(col.detach())
    return xp.stack(cols, axis=-1)


def _hvp_double_vjp(xpgrad, F, s, x, v):
    """H v by the double-VJP trick (what functional.hvp did before forward mode)."""
    (p,) = F._prepare_inputs(x, False, "hvp")[1]
    with xpgrad.enable_grad():
        out = s(p)
        gs = F._grads((out,), (p,), (None,), True, False, "hvp")
        (hv,) = F._jvp_from(gs, (p,), (v,), False, False, "hvp")
    return hv.detach()


def _np(t):
    if hasattr(t, "detach") and hasattr(t, "numpy"):
        return t.detach().numpy()
    return np.asarray(t.detach().data if hasattr(t, "detach") else t)


def _jacobian_case(name, n, m, reps):
    import torch

    import xpgrad
    import xpgrad.functional as F

    rng = np.random.default_rng(7)
    mats = [rng.standard_normal((m, n)) / np.sqrt(n) for _ in range(3)]
    x0 = rng.standard_normal(n)
    xp = xpgrad.namespace(np)
    f = _vector_fn(xp, [xp.asarray(a) for a in mats])
    tf = _vector_fn(torch, [torch.tensor(a) for a in mats])
    x = xp.asarray(x0)
    tx = torch.tensor(x0)
    steps = {
        "xpgrad forward-mode": lambda: F.jacobian(f, x, vectorize=True, strategy="forward-mode"),
        "xpgrad reverse-mode": lambda: F.jacobian(f, x),
        "xpgrad double-VJP": lambda: _jacobian_double_vjp(xpgrad, F, f, x),
        "torch.func.jacfwd": lambda: torch.func.jacfwd(tf)(tx),
        "torch.func.jacrev": lambda: torch.func.jacrev(tf)(tx),
    }
    return _measure(name, f"n={n}, m={m}", steps, reps)


def _hvp_case(n, k, reps):
    import torch

    import xpgrad
    import xpgrad.functional as F

    rng = np.random.default_rng(8)
    a0 = rng.standard_normal((k, n)) / np.sqrt(n)
    x0 = rng.standard_normal(n)
    v0 = rng.standard_normal(n)
    xp = xpgrad.namespace(np)
    s = _scalar_fn(xp, xp.asarray(a0))
    ts = _scalar_fn(torch, torch.tensor(a0))
    x, v = xp.asarray(x0), xp.asarray(v0)
    tx, tv = torch.tensor(x0), torch.tensor(v0)
    steps = {
        "xpgrad hvp (forward-over-reverse)": lambda: F.hvp(s, x, v)[1],
        "xpgrad hvp (double-VJP)": lambda: _hvp_double_vjp(xpgrad, F, s, x, v),
        "xpgrad vhp (reverse-over-reverse)": lambda: F.vhp(s, x, v)[1],
        "torch.func jvp(grad)": lambda: torch.func.jvp(torch.func.grad(ts), (tx,), (tv,))[1],
    }
    return _measure("hvp", f"n={n:,}, k={k}", steps, reps)


def _measure(case, sizes, steps, reps):
    results = {name: _np(step()) for name, step in steps.items()}
    ref = next(name for name in results if name.startswith("torch"))
    rows = _harness.checked_rows(steps, results, ref, next(iter(steps)), reps)
    return [{"case": case, "sizes": sizes, **row} for row in rows]


def run(quick: bool) -> Result:
    cfg = config(quick)
    columns = _harness.checked_columns("vs first row", lead=("case", "sizes"))
    result = Result(KEY, TITLE, columns, extra={"config": cfg})
    result.rows += _jacobian_case("tall", *cfg["tall"], cfg["reps"])
    result.rows += _jacobian_case("wide", *cfg["wide"], cfg["reps"])
    result.rows += _hvp_case(cfg["hvp_n"], cfg["hvp_k"], cfg["reps"])
    result.notes.append(
        "Ratios are against the first row of each case (xpgrad's forward mode). Errors are relative "
        "to the largest entry of torch.func's result; a row that does not match is not timed."
    )
    return result


def main() -> None:
    _harness.pin_threads()
    _harness.print_result(run(quick=False))


if __name__ == "__main__":
    main()
