"""Finite differences as the reference of a check where torch has none.

Where torch has no derivative (a function torch lacks, one it cannot differentiate, a point where
its reference formula is 0/0), an OpInfo or sample lists the check in ``fd_reference``. The
check then computes xpgrad's result as usual (the same cotangents, weights and tangents as
against torch) and compares it with central finite differences of xpgrad's own function, whose
values the ``forward`` check compares with torch's (or SciPy's):

- ``first``: the gradient of ``sum_k Re<v_k, f_k(x)>`` (``v`` the cotangents);
- ``second``: the gradient of ``sum_i Re<w_i, g_i(x, v)>`` with respect to the inputs and the
  cotangents, ``g`` xpgrad's first-order VJP;
- ``jvp``: the derivative of ``f(x + t u)`` at ``t = 0`` (``u`` the tangents);
- ``fwd_rev``: the derivative of ``g(x + t u, c)`` at ``t = 0``.

The differences are taken in double precision at the point of the check (a float32 sample is
rounded to float32, then widened), with Richardson extrapolation of two central differences,
``(4 D(h/2) - D(h)) / 3``, error O(h^4): with ``h = 1e-3 max(1, |x|)`` about 1e-12 relative for
a smooth function (the median over the special functions; 1e-8 at worst, near zeros of the
derivative), far below the float64 tolerance. For complex inputs the gradient is torch's,
``d/dRe + i d/dIm``. The comparison uses the check's tolerances (the dtype's, or the op's).

The function differenced is xpgrad's on NumPy (``xpgrad.numpy``, SciPy's special functions),
whatever the backend under test: a backend's own implementation may be less accurate than its
derivative (torch's float64 ``bessel_j0`` is off by 1e-9 relative where its ``bessel_j1`` is
right), and finite differences of its values would blame the derivative for it. The backend's
values are the ``forward`` check's business.
"""

from __future__ import annotations

import numpy as np

from .._autograd import grad as _xgrad
from .._grad_mode import enable_grad, no_grad
from .._namespace import namespace
from ._runner import (
    FD_CHECKS,
    NothingToCompare,
    _Acc,
    _as_list,
    _assert_close,
    _convert,
    _cotangents,
    _differentiable_outputs,
    _grads_match,
    _Mismatch,
    _xpgrad_inputs,
    _xpgrad_second,
    _xpgrad_vjp,
    second_order_weights,
    to_numpy,
)

__all__ = ["FD_STEP", "compare_forward_mode", "compare_reverse", "fd_directional", "fd_gradient"]

# The step relative to max(1, |x|); Richardson extrapolation uses h and h / 2.
FD_STEP = 1e-3

_WIDE = {"float32": "float64", "complex64": "complex128"}


def _richardson(fun, h: float) -> list[np.ndarray]:
    """d/dt fun(t) at 0 (fun returns a list of arrays), to O(h^4)."""

    def central(s):
        return [(p - m) / (2 * s) for p, m in zip(fun(s), fun(-s))]

    coarse, fine = central(h), central(h / 2)
    return [(4 * f - c) / 3 for c, f in zip(coarse, fine)]


def fd_gradient(fun, arrays: list[np.ndarray]) -> list[np.ndarray]:
    """The gradient of the real scalar ``fun(arrays)`` with respect to each array, one element
    at a time (complex: ``d/dRe + i d/dIm``, torch's convention)."""
    grads = []
    for j, a in enumerate(arrays):
        g = np.zeros(a.shape, dtype=a.dtype)
        units = (1.0, 1j) if a.dtype.kind == "c" else (1.0,)
        for i in np.ndindex(a.shape):
            h = FD_STEP * max(1.0, float(abs(a[i])))
            for unit in units:

                def moved(t, a=a, j=j, i=i, unit=unit):
                    b = a.copy()
                    b[i] += t * unit
                    return [np.asarray(fun([*arrays[:j], b, *arrays[j + 1 :]]), dtype=np.float64)]

                g[i] += unit * _richardson(moved, h)[0]
        grads.append(g)
    return grads


def fd_directional(fun, arrays: list[np.ndarray], directions: list[np.ndarray]) -> list[np.ndarray]:
    """d/dt ``fun([a + t u for a, u in zip(arrays, directions)])`` at t = 0 (a list of arrays)."""
    size = max([float(np.max(np.abs(a), initial=0.0)) for a in arrays] + [1.0])
    longest = max([float(np.max(np.abs(u), initial=0.0)) for u in directions] + [0.0])
    if longest == 0.0:
        return [np.zeros_like(r) for r in fun(arrays)]
    h = FD_STEP * size / longest
    return _richardson(lambda t: fun([a + t * u for a, u in zip(arrays, directions)]), h)


class _Point:
    """xpgrad's function of a sample's differentiable inputs on NumPy, in double precision, at
    the point of a check at ``dtype`` (its values rounded to ``dtype`` first)."""

    def __init__(self, op, sample, dtype: str):
        self.op, self.sample, self.dtype = op, sample, dtype
        self.ns = namespace("numpy")
        self.wide = _WIDE.get(dtype, dtype)
        self.leaves = self._convert(None, False)[1]

    def widen(self, a: np.ndarray) -> np.ndarray:
        """``a`` in double precision (unless the backend has none)."""
        if self.wide == self.dtype:
            return a
        return a.astype(np.complex128 if a.dtype.kind == "c" else np.float64)

    def _convert(self, values, requires_grad):
        ns, raw = self.ns, self.ns._xp
        it = iter(values) if values is not None else None
        found = []

        def make_float(a, want):
            a = self.widen(a)
            if want:
                if it is not None:
                    a = next(it)
                found.append(a)
            return ns.asarray(raw.asarray(a), requires_grad=requires_grad and want)

        inp = _convert(self.sample, self.dtype, make_float, lambda a: ns.asarray(raw.asarray(a)), True)
        return inp, found

    def _outputs(self, inp):
        result = self.op.call(self.ns, *inp.args, **inp.kwargs)
        outs = _as_list(self.op.output(self.ns, result)) if self.op.output else _as_list(result)
        return [x for _k, x in _differentiable_outputs(outs)]

    def values(self, leaf_values) -> list[np.ndarray]:
        """The floating outputs at ``leaf_values``."""
        with no_grad():
            return [to_numpy(x) for x in self._outputs(self._convert(leaf_values, False)[0])]

    def vjp(self, leaf_values, cotangents) -> list[np.ndarray]:
        """xpgrad's first-order gradients at ``leaf_values`` for ``cotangents`` (zeros: none)."""
        with enable_grad():
            inp, _ = self._convert(leaf_values, True)
            outs = self._outputs(inp)
            roots = [(x, c) for x, c in zip(outs, cotangents) if x.requires_grad]
            grads = (None,) * len(inp.leaves)
            if roots:
                ns = self.ns
                cots = [ns.asarray(ns._xp.asarray(c)) for _x, c in roots]
                grads = _xgrad([x for x, _c in roots], inp.leaves, cots, allow_unused=True)
        return [np.zeros_like(v) if g is None else to_numpy(g) for g, v in zip(grads, leaf_values)]


def _re_inner(ws, xs) -> float:
    """sum_i Re<w_i, x_i> (the real inner product; of R^2n for complex arrays)."""
    return float(sum(np.sum(np.real(np.conj(w) * x)) for w, x in zip(ws, xs)))


def compare_reverse(op, sample, dtype: str, ns, check: str, seed: int, rtol: float, atol: float):
    """The ``first`` or ``second`` check of xpgrad against finite differences; raises
    ``_Mismatch``; returns (max abs error, max rel error)."""
    acc = _Acc()
    xin = _xpgrad_inputs(sample, dtype, ns, True, layout=seed)
    with enable_grad():
        result = op.call(ns, *xin.args, **xin.kwargs)
        xs = _as_list(op.output(ns, result)) if op.output else _as_list(result)
    x_diff = _differentiable_outputs(xs)
    if not xin.leaves:
        raise NothingToCompare("the sample has no differentiable input: no gradient to compare")
    point = _Point(op, sample, dtype)
    xv, vs = _cotangents(x_diff, seed, None, check)
    xg = _xpgrad_vjp(x_diff, xv, xin.leaves, check == "second")
    if check == "first":
        ref = fd_gradient(lambda leaves: _re_inner(vs, point.values(leaves)), point.leaves)
        _grads_match(xg, ref, xin.leaves, xin.labels, rtol, atol, acc, "gradient", exact_dtype=False)
        return acc.max_abs, acc.max_rel
    ws = second_order_weights(xin.leaves, seed)
    targets = list(xin.leaves) + xv
    labels = list(xin.labels) + [f"cotangent of output {k}" for k, _x in x_diff]
    xgg = _xpgrad_second(xg, ws, targets)
    n = len(point.leaves)
    ref = fd_gradient(
        lambda args: _re_inner(ws, point.vjp(args[:n], args[n:])), point.leaves + [point.widen(v) for v in vs]
    )
    _grads_match(xgg, ref, targets, labels, rtol, atol, acc, "second-order gradient", exact_dtype=False)
    return acc.max_abs, acc.max_rel


def compare_forward_mode(op, sample, dtype: str, rev: bool, tangents, cots, x_results, x_shapes, rtol, atol):
    """xpgrad's forward-mode results (``x_results``: tangents of the outputs, or with ``rev`` of
    the VJP with ``cots``) against finite differences along ``tangents``; raises ``_Mismatch``."""
    acc = _Acc()
    point = _Point(op, sample, dtype)
    directions = [point.widen(t) for t in tangents]
    if rev:
        wide_cots = [point.widen(c) for c in cots]
        ref = fd_directional(lambda leaves: point.vjp(leaves, wide_cots), point.leaves, directions)
        what = "tangent of the gradient of input"
    else:
        ref = fd_directional(point.values, point.leaves, directions)
        what = "tangent of output"
    if len(x_results) != len(ref):
        raise _Mismatch(f"{len(x_results)} results, finite differences give {len(ref)}")
    for k, (x, r, shape) in enumerate(zip(x_results, ref, x_shapes)):
        w = f"{what} {k}"
        if x is not None and tuple(x.shape) != shape:
            raise _Mismatch(f"{w}: shape {tuple(x.shape)}, expected {shape}")
        got = x if x is not None else np.zeros(shape, dtype=r.dtype)
        acc.add(_assert_close(got, r, rtol, atol, w, exact_dtype=False))
    return acc.max_abs, acc.max_rel


# The runner (a lower module) calls these through its FD_CHECKS table, attached here.
FD_CHECKS.update(reverse=compare_reverse, forward=compare_forward_mode)
