"""Newton's method with ``xpgrad.functional.hessian``, against gradient descent.

The Rosenbrock function ``f(x, y) = (1 - x)^2 + 100 (y - x^2)^2`` has its minimum at (1, 1) at
the bottom of a long, curved valley: gradient descent crawls along it, Newton's method (a step
``-H^{-1} g`` with the exact Hessian) reaches the minimum in a few iterations. The function is
ordinary array API code; xpgrad gives its gradient (``xpgrad.grad``) and its Hessian
(``xpgrad.functional.hessian``), and the Hessian is checked against the closed form.

Run:  python examples/hessian_newton.py
"""

import numpy as np

import xpgrad
from xpgrad.functional import hessian

xp = xpgrad.namespace(np)


def rosenbrock(p):
    x, y = p[0], p[1]
    return (1.0 - x) ** 2 + 100.0 * (y - x**2) ** 2


def gradient(p):
    p = xp.asarray(p, copy=True)  # a fresh leaf at the same point
    p.requires_grad_()
    (g,) = xpgrad.grad(rosenbrock(p), p)
    return g


def exact_hessian(p):
    x, y = (float(v) for v in p.data)
    return np.array([[2 - 400 * (y - x * x) + 800 * x * x, -400 * x], [-400 * x, 200.0]])


def newton(p, tol=1e-10, max_iter=50):
    for k in range(max_iter):
        g = gradient(p)
        gnorm = float(xp.linalg.vector_norm(g))
        print(f"  newton   {k:2d}  f = {float(rosenbrock(p)):.3e}  |grad| = {gnorm:.3e}")
        if gnorm < tol:
            return p, k
        H = hessian(rosenbrock, p)
        np.testing.assert_allclose(H.data, exact_hessian(p), rtol=1e-12)
        p = p - xp.linalg.solve(H, g)
    raise SystemExit("Newton's method did not converge")


def gradient_descent(p, lr=1e-3, n_iter=5000):
    for _ in range(n_iter):
        p = p - lr * gradient(p)
    return p


def main():
    start = xp.asarray([-1.2, 1.0])
    print("Newton's method from (-1.2, 1.0), exact Hessian from xpgrad.functional.hessian:")
    p_newton, iters = newton(start)
    p_gd = gradient_descent(start)
    err_newton = float(xp.max(xp.abs(p_newton - 1.0)))
    err_gd = float(xp.max(xp.abs(p_gd - 1.0)))
    print(f"Newton:           {iters} iterations -> {np.round(p_newton.data, 10)}, error {err_newton:.1e}")
    print(f"gradient descent: 5000 iterations (lr 1e-3) -> {np.round(p_gd.data, 6)}, error {err_gd:.1e}")
    if err_newton > 1e-8:
        raise SystemExit("Newton's method did not reach the minimum")


if __name__ == "__main__":
    main()
