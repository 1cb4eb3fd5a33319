"""A custom differentiable op with ``xpgrad.Function``: a numerically stable log-sum-exp.

``log(sum(exp(x)))`` overflows for large ``x``; the stable form subtracts the maximum first.
Differentiating through ``max`` would route gradients through its tie rule; the custom Function
instead gives the textbook gradient ``softmax(x)`` directly, from the saved input and output.
Because ``backward`` is written with array API operations on the Tensors it receives, it is
itself differentiable: ``create_graph=True``, ``xpgrad.functional.hessian`` and
``xpgrad.gradgradcheck`` work through it. Both orders are checked against finite differences.

Run:  python examples/custom_function.py
"""

import numpy as np

import xpgrad

xp = xpgrad.namespace(np)


class LogSumExp(xpgrad.Function):
    """``log(sum(exp(x), axis=-1))``, stable for any magnitude of ``x``."""

    @staticmethod
    def forward(ctx, x):
        ns = x.__array_namespace__()  # works on every backend
        m = ns.max(x, axis=-1, keepdims=True)
        out = ns.squeeze(m, axis=-1) + ns.log(ns.sum(ns.exp(x - m), axis=-1))
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        ns = x.__array_namespace__()
        softmax = ns.exp(x - ns.expand_dims(out, axis=-1))
        return ns.expand_dims(g, axis=-1) * softmax


def naive(x):
    return xp.log(xp.sum(xp.exp(x), axis=-1))


def main():
    rng = np.random.default_rng(0)
    x = xp.asarray(rng.standard_normal((3, 5)), requires_grad=True)

    # Same value and gradient as the naive formula where that one is finite.
    y = LogSumExp.apply(x)
    (g,) = xpgrad.grad(xp.sum(y), x)
    (g_naive,) = xpgrad.grad(xp.sum(naive(x)), x)
    print("logsumexp:", np.round(y.data, 6))
    print(f"max |grad - grad of the naive formula| = {float(xp.max(xp.abs(g - g_naive))):.1e}")

    # Stable where the naive formula overflows.
    big = xp.asarray([1000.0, 1000.0, 990.0], requires_grad=True)
    with np.errstate(over="ignore"):
        print(f"large inputs: custom {float(LogSumExp.apply(big)):.6f}, naive {float(naive(big))}")
    LogSumExp.apply(big).backward()
    print("gradient at the large inputs (a softmax):", ", ".join(f"{v:.6f}" for v in big.grad.tolist()))

    # First and second order against finite differences.
    print("gradcheck:", xpgrad.gradcheck(LogSumExp.apply, (x,)))
    print("gradgradcheck:", xpgrad.gradgradcheck(LogSumExp.apply, (x,)))

    # Double backward: the Hessian of logsumexp is diag(p) - p p^T, p = softmax(x).
    x0 = xp.asarray([0.5, -1.0, 2.0])
    H = xpgrad.functional.hessian(LogSumExp.apply, x0)
    p = np.exp(x0.data - np.max(x0.data))
    p /= p.sum()
    err = float(np.max(np.abs(H.data - (np.diag(p) - np.outer(p, p)))))
    print(f"Hessian through the custom backward vs diag(p) - p p^T: max error {err:.1e}")
    if err > 1e-12:
        raise SystemExit("wrong Hessian")


if __name__ == "__main__":
    main()
