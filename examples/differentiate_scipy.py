"""Differentiate a SciPy function: SciPy's array API support runs it on xpgrad Tensors.

With ``SCIPY_ARRAY_API=1`` (set before SciPy is imported), SciPy functions that support the
array API standard ask their input for its namespace, so given xpgrad Tensors they compute with
xpgrad and ``backward()`` gives the gradient. Here: the Rosenbrock function
``scipy.optimize.rosen``, whose gradient is checked against SciPy's own ``rosen_der`` and
Hessian-vector product against ``rosen_hess_prod``; then a few Newton steps minimise it.

Run:  python examples/differentiate_scipy.py          (needs SciPy: pip install scipy)
"""

import os
import sys

import numpy as np

import xpgrad
from xpgrad.functional import hessian, hvp


def main():
    os.environ.setdefault("SCIPY_ARRAY_API", "1")  # must be set before SciPy is imported
    try:
        from scipy.optimize import rosen, rosen_der, rosen_hess, rosen_hess_prod
    except ImportError:
        print("scipy is not installed; this example needs it (pip install scipy)")
        sys.exit(0)

    xp = xpgrad.numpy
    x0 = np.array([1.3, 0.7, 0.8, 1.9, 1.2])

    x = xp.asarray(x0, requires_grad=True)
    value = rosen(x)  # SciPy's code, running on xpgrad Tensors
    value.backward()
    print("rosen(x)       =", float(value.detach()))
    print("xpgrad grad    =", x.grad)
    print("scipy rosen_der=", rosen_der(x0))
    np.testing.assert_allclose(np.asarray(x.grad), rosen_der(x0), rtol=1e-12)

    v = np.array([1.0, -1.0, 0.5, 0.0, 2.0])
    _, hv = hvp(rosen, xp.asarray(x0), xp.asarray(v))
    np.testing.assert_allclose(np.asarray(hv), rosen_hess_prod(x0, v), rtol=1e-12)
    print("Hessian-vector product matches scipy.optimize.rosen_hess_prod")

    # Newton's method with xpgrad's Hessian: converges to the minimum at (1, ..., 1).
    x = x0.copy()
    for step in range(50):  # noqa: B007 - the count is printed after the loop
        xt = xp.asarray(x, requires_grad=True)
        rosen(xt).backward()
        g = np.asarray(xt.grad)
        H = np.asarray(hessian(rosen, xp.asarray(x)))
        np.testing.assert_allclose(H, rosen_hess(x), rtol=1e-10, atol=1e-10)
        x = x - np.linalg.solve(H, g)
        if np.linalg.norm(g) < 1e-10:
            break
    print(f"Newton: converged in {step + 1} steps to x = {np.round(x, 8)}")
    np.testing.assert_allclose(x, np.ones(5), atol=1e-8)


if __name__ == "__main__":
    main()
