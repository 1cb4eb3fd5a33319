"""``xpgrad.gradcheck`` and ``xpgrad.gradgradcheck``: gradients against finite differences.

As ``torch.autograd.gradcheck``, on any backend: the analytical vector-Jacobian products (from
:func:`xpgrad.grad`) are compared with central finite differences computed with the backend's
own array API functions. Each element is perturbed through a new array (``x + eps * e_j``), so
immutable backends work too.

Complex numbers follow torch's conjugate Wirtinger convention: for a real loss ``L``, the
gradient with respect to ``z = a + ib`` is ``dL/da + i dL/db``. A cotangent ``v`` of an output
``y`` stands for the real loss ``L = sum(Re(conj(v) * y))``, so the numerical gradient of an
element is ``(L(z + eps) - L(z - eps)) / 2eps + i (L(z + i eps) - L(z - i eps)) / 2eps``.

``fast_mode=False`` (the default, as torch) checks the whole Jacobian: one VJP per real (or
complex) output element. ``fast_mode=True`` checks one VJP with a seeded random cotangent per
output against the same finite differences: every input element is still checked, and a wrong
output row goes unnoticed only with probability zero.
"""

from __future__ import annotations

import math

import numpy as np

from . import _grad_mode
from ._autograd import grad as _grad
from ._tensor import Tensor

__all__ = ["GradcheckError", "gradcheck", "gradgradcheck"]


class GradcheckError(RuntimeError):
    """A gradient differs from finite differences (``torch.autograd.GradcheckError``)."""


# -- small helpers on raw backend arrays ---------------------------------------------------------


def _is_complex(xp, a) -> bool:
    return bool(xp.isdtype(a.dtype, "complex floating"))


def _re(xp, a):
    return xp.real(a) if _is_complex(xp, a) else a


def _im(xp, a):
    return xp.imag(a) if _is_complex(xp, a) else xp.zeros_like(a)


def _size(shape) -> int:
    return math.prod(shape)


def _unravel(flat: int, shape) -> tuple:
    idx = []
    for n in reversed(shape):
        idx.append(flat % n)
        flat //= n
    return tuple(reversed(idx))


def _scalar(xp, a):
    """A Python number from a 0-d backend array (for messages)."""
    return complex(a) if _is_complex(xp, a) else float(a)


def _as_tuple(x):
    if isinstance(x, (tuple, list)):
        return tuple(x)
    return (x,)


def _namespace_of(inputs):
    for a in inputs:
        if type(a) is Tensor:
            return a._ns
    raise TypeError("gradcheck(): argument 'inputs' must contain at least one xpgrad Tensor")


def _diff_outputs(outs, fname):
    """Positions of the floating/complex outputs (the ones that are checked)."""
    keep = []
    for k, o in enumerate(outs):
        if type(o) is not Tensor:
            raise TypeError(f"{fname}(): the function must return Tensors, output {k} is {type(o).__name__}")
        if o._ns._is_differentiable_dtype(o.dtype):
            keep.append(k)
    return keep


def _random_like(xp, rng, shape, dtype, device):
    """A standard normal array (complex for complex dtypes) made from a seeded NumPy generator."""
    n = _size(shape)
    if xp.isdtype(dtype, "complex floating"):
        vals = rng.standard_normal(n) + 1j * rng.standard_normal(n)
    else:
        vals = rng.standard_normal(n)
    return xp.reshape(xp.asarray(vals.tolist() if n else [], dtype=dtype, device=device), shape)


# -- the Jacobian, numerically -------------------------------------------------------------------

# The largest step of Richardson's differences (a power of two: x + h is exact more often).
_DEFAULT_EPS_RICHARDSON = 2.0**-7


def _evaluate(fn, inputs, i, data, keep):
    """Raw data of the checked outputs of ``fn`` with input ``i`` replaced by ``data``."""
    x = inputs[i]
    ns = x._ns
    leaf = Tensor._wrap_plain(ns, ns._ensure(data))
    leaf._requires_grad = x._requires_grad  # a gradgradcheck function differentiates its inputs
    args = list(inputs)
    args[i] = leaf
    with _grad_mode.enable_grad():
        outs = _as_tuple(fn(*args))
    return [outs[k]._data for k in keep]


def _numerical_columns(fn, inputs, i, keep, eps, method="central", target=0.0):
    """Finite-difference Jacobian columns of input ``i``.

    Returns ``(re, im)``: for each checked output, a ``(n_in, n_out)`` array whose row ``j`` is
    ``d y / d Re(x_j)`` (``re``) and ``d y / d Im(x_j)`` (``im``; None for a real input).
    ``method``: "central" (one central difference, step ``eps``) or "richardson"
    (:func:`_richardson`, largest step ``eps``, stopping at the relative accuracy ``target``).
    """
    x = inputs[i]
    ns = x._ns
    xp = ns._xp
    d = x._data
    n = _size(d.shape)
    directions = (1.0, 1j) if _is_complex(xp, d) else (1.0,)
    result = []
    positions = xp.reshape(xp.arange(n, device=ns.backend.device(d)), d.shape) if n else None
    base = _evaluate(fn, inputs, i, d, keep) if method == "richardson" and n else None
    for direction in directions:
        cols = [[] for _ in keep]
        for j in range(n):
            # A new array x + step * e_j: no in-place write, so immutable backends work.
            line = _Line(fn, inputs, i, keep, xp.astype(positions == j, d.dtype) * direction, j, direction)
            if method == "richardson":
                col = _richardson(xp, line, base, eps, target)
            else:
                plus, minus = line.at(eps), line.at(-eps)
                col = [(p - m) / (2 * eps) for p, m in zip(plus, minus)]
            for k, c in enumerate(col):
                cols[k].append(xp.reshape(c, (-1,)))
        result.append(cols)
    return result, n


class _Line:
    """``fn``'s checked outputs along ``unit`` (one element ``j`` of input ``i``, real or
    imaginary ``direction``): ``at(h)`` gives them at ``x + h * unit``, ``taken(h)`` the step."""

    def __init__(self, fn, inputs, i, keep, unit, j, direction=1.0):
        self.fn, self.inputs, self.i, self.keep, self.unit = fn, inputs, i, keep, unit
        self.j, self.direction = j, direction
        self.component = None  # x_j's real or imaginary part, as a NumPy scalar of its precision

    def at(self, h):
        return _evaluate(self.fn, self.inputs, self.i, self.inputs[self.i]._data + self.unit * h, self.keep)

    def taken(self, h):
        """The step ``at(h)`` takes: ``x + h`` rounds, ``(x + h) - x`` is the step taken (IEEE
        arithmetic in the input's precision, as the backend's)."""
        if self.component is None:
            data = self.inputs[self.i]._data
            xp = self.inputs[self.i]._ns._xp
            bits = int(xp.finfo(data.dtype).bits)
            value = _scalar(xp, xp.reshape(data, (-1,))[self.j])
            part = value.real if self.direction == 1.0 else complex(value).imag
            self.component = np.dtype(f"float{bits}").type(part)
        x = self.component
        return float((x + type(x)(h)) - x)


class _Path:
    """``f(s)`` (an array or a tuple of arrays) as a line for :func:`_richardson`."""

    def __init__(self, f):
        self.f = f

    def at(self, h):
        return list(_as_tuple(self.f(h)))

    def taken(self, h):
        return h


def richardson_derivative(f, xp=np, eps: float = _DEFAULT_EPS_RICHARDSON):
    """``d/ds f(s)`` at ``s = 0`` by the differences of ``gradcheck(method="richardson")``.

    ``f(s)`` returns an array of namespace ``xp`` (NumPy by default), or a tuple of them (then
    the result is a list): e.g. ``f(s) = g(x + s * t)`` for the derivative of ``g`` at ``x``
    along ``t``. Richardson-extrapolated central differences, one-sided where ``f`` is not finite
    on one side of 0; for tests whose reference is finite differences (issue 24).
    """
    at_zero = f(0.0)
    out = _richardson(xp, _Path(f), list(_as_tuple(at_zero)), eps)
    return out if isinstance(at_zero, tuple) else out[0]


# Richardson extrapolation: steps h, h/2, h/4, ..., at most _RICHARDSON_LEVELS of them; the
# tableau stops earlier when its error estimate falls below _RICHARDSON_TINY times the outputs'
# machine epsilon (relative to the estimate: 9e-13 in double precision), or grows (round-off
# takes over) once below _RICHARDSON_GOOD times its square root (1e-6 in double, 2e-2 in single
# precision). The first step h is eps, divided by 4 up to _RICHARDSON_SHRINK times while f is
# finite on one side of x only (near the edge of a domain).
_RICHARDSON_LEVELS = 8
_RICHARDSON_TINY = 2.0**12
_RICHARDSON_GOOD = 2.0**6
_RICHARDSON_SHRINK = 8


def _richardson(xp, line, base, eps, target=0.0):
    """Richardson-extrapolated difference quotients along ``line`` (one per checked output).

    Central differences ``D(h) = (f(x + h) - f(x - h)) / 2h`` err by ``c1 h**2 + c2 h**4 + ...``:
    a Neville tableau over ``h, h/2, h/4, ...`` cancels one term per column, and the entry with
    the smallest error estimate wins (Ridders' method: an entry's error estimate is its distance
    to the two entries of the previous column it is made from), until the estimates grow.
    Near the edge of a domain (``f`` finite at ``x`` but not on one side) the first step ``h``
    shrinks from ``eps`` until ``f`` is finite on both sides; at the edge itself, one-sided
    differences ``(f(x + h) - f(x)) / h`` of the finite side are extrapolated instead (error
    ``c1 h + c2 h**2 + ...``). The extrapolation stops once its error estimate is below
    ``target`` relative to the estimate (or the outputs' round-off allows no better).
    """
    h, side = eps, 0
    for _ in range(_RICHARDSON_SHRINK + 1):
        plus, minus = line.at(h), line.at(-h)
        side = _side(xp, base, plus, minus)
        if side == 0:
            break
        h /= 4
    if side == 0:

        def quotient(h, plus=None, minus=None):
            p = line.at(h) if plus is None else plus
            m = line.at(-h) if minus is None else minus
            width = line.taken(h) - line.taken(-h)
            return [(a - b) / width for a, b in zip(p, m)]

        previous, order, power = [quotient(h, plus, minus)], 2, 2
    else:
        h = eps

        def quotient(h):
            out, taken = line.at(side * h), line.taken(side * h)
            return [(o - b) / taken for o, b in zip(out, base)]

        previous, order, power = [quotient(h)], 1, 1
    epsilon = max((float(xp.finfo(b.dtype).eps) for b in base), default=2.0**-52)
    return _extrapolate(xp, quotient, previous, h, (order, power), (epsilon, target))


def _extrapolate(xp, quotient, previous, h, powers, accuracy):
    """The Neville tableau of :func:`_richardson`: ``quotient(h)`` for halving ``h`` (the first
    row ``previous`` holds ``quotient(h)``); the error expansion has the powers ``order``,
    ``order + power``, ``order + 2 power``, ... of ``h`` (``powers = (order, power)``); the
    outputs round to ``epsilon``, and ``target`` is enough (``accuracy = (epsilon, target)``)."""
    order, power = powers
    epsilon, target = accuracy
    tiny, good = max(_RICHARDSON_TINY * epsilon, target), _RICHARDSON_GOOD * math.sqrt(epsilon)
    best, best_err = previous[0], math.inf
    for _ in range(1, _RICHARDSON_LEVELS):
        h /= 2
        row = [quotient(h)]
        factor = 2.0**order
        for m in range(1, len(previous) + 1):
            row.append([a + (a - b) / (factor - 1) for a, b in zip(row[m - 1], previous[m - 1])])
            factor *= 2.0**power
            err = max(_max_abs(xp, row[m], row[m - 1]), _max_abs(xp, row[m], previous[m - 1]))
            if err <= best_err:
                best, best_err = row[m], err
        scale = max(_max_abs(xp, best, None), 1.0)
        if best_err <= tiny * scale:
            break
        # The highest order got worse with an estimate already good: round-off dominates from
        # here on. (With a poor one, a kink or a jump near x is in reach of the larger steps:
        # the smaller ones get past it.)
        if _max_abs(xp, row[-1], previous[-1]) >= 2 * best_err and best_err <= good * scale:
            break
        previous = row
    return best


def _max_abs(xp, a, b):
    """max |a - b| over the finite entries of the arrays of the lists ``a`` and ``b``
    (``b`` None: max |a|); 0.0 if there are none."""
    out = 0.0
    for k, x in enumerate(a):
        diff = xp.abs(x if b is None else x - b[k])
        if _size(diff.shape):
            out = max(out, float(xp.max(xp.where(xp.isfinite(diff), diff, xp.zeros_like(diff)))))
    return out


def _side(xp, base, plus, minus):
    """0 if ``plus`` and ``minus`` (the outputs on either side) are finite wherever ``base`` is,
    or if neither is; else the side whose outputs are (+1 or -1)."""

    def finite(outs):
        return all(bool(xp.all(xp.isfinite(o) | ~xp.isfinite(b))) for o, b in zip(outs, base))

    ok_plus, ok_minus = finite(plus), finite(minus)
    if ok_plus == ok_minus:
        return 0
    return 1 if ok_plus else -1


def _stack(xp, cols, n_out, dtype, device):
    if not cols:
        return xp.zeros((0, n_out), dtype=dtype, device=device)
    return xp.stack(cols, axis=0)


# -- comparison ------------------------------------------------------------------------------------


def _compare(xp, analytical, numerical, atol, rtol):
    """Flat indices (at most 5) where ``|a - n| > atol + rtol * |n|``, and how many there are."""
    close = xp.abs(analytical - numerical) <= atol + rtol * xp.abs(numerical)
    bad = xp.reshape(xp.logical_not(close), (-1,))
    count = int(xp.sum(xp.astype(bad, xp.int64)))
    if count == 0:
        return [], 0
    flat = []
    remaining = bad
    offsets = xp.arange(bad.shape[0], device=_device(xp, bad))
    for _ in range(min(count, 5)):
        j = int(xp.argmax(xp.astype(remaining, xp.int8)))
        flat.append(j)
        remaining = xp.logical_and(remaining, offsets != j)
    return flat, count


def _device(xp, a):
    from array_api_compat import device

    return device(a)


def _fmt(v) -> str:
    if isinstance(v, complex):
        return f"{v.real:.10g}{v.imag:+.10g}j"
    return f"{v:.10g}"


# -- gradcheck ---------------------------------------------------------------------------------


class _Check:
    """One gradcheck: the inputs checked, their finite-difference Jacobians, the failures."""

    def __init__(self, fn, inputs, diff, eps, atol, rtol, check_grad_dtypes, method="central"):
        self.inputs = inputs
        self.diff = diff
        self.ns = ns = _namespace_of(inputs)
        self.xp = ns._xp
        self.atol, self.rtol = atol, rtol
        self.check_grad_dtypes = check_grad_dtypes
        with _grad_mode.enable_grad():
            outs = _as_tuple(fn(*inputs))
        self.keep = _diff_outputs(outs, "gradcheck")
        self.checked = [outs[k] for k in self.keep]
        self.failures: list[str] = []
        # Richardson's differences stop at 1% of the tolerance: no need to be more accurate.
        self.numeric = {i: self._numeric(fn, i, eps, method) for i in diff}

    def _numeric(self, fn, i, eps, method):
        """``(re, im, n)``: per checked output, the finite-difference columns of input ``i``
        stacked as ``(n, n_out)`` arrays (``im`` None for a real input)."""
        xp = self.xp
        target = self.rtol / 100
        (cols_re, *rest), n = _numerical_columns(fn, self.inputs, i, self.keep, eps, method, target)
        dev = self.ns.backend.device(self.inputs[i]._data)

        def stacked(columns):
            return [_stack(xp, c, _size(o.shape), o.dtype, dev) for c, o in zip(columns, self.checked)]

        return stacked(cols_re), (stacked(rest[0]) if rest else None), n

    def analytical(self, cotangents):
        """Gradients of sum_k Re(conj(v_k) * y_k) for each checked input (zeros if unused)."""
        roots, gos = [], []
        for o, v in zip(self.checked, cotangents):
            if v is not None and o._requires_grad:
                roots.append(o)
                gos.append(v)
        if roots:
            targets = [self.inputs[i] for i in self.diff]
            gs = _grad(roots, targets, gos, retain_graph=True, allow_unused=True)
        else:
            gs = (None,) * len(self.diff)
        result = {}
        for i, g in zip(self.diff, gs):
            x = self.inputs[i]
            if g is None:
                result[i] = self.xp.zeros_like(x._data)
                continue
            if tuple(g.shape) != tuple(x.shape):
                self.failures.append(
                    f"input {i}: gradient has shape {tuple(g.shape)}, the input {tuple(x.shape)}"
                )
            elif self.check_grad_dtypes and g.dtype != x.dtype:
                self.failures.append(f"input {i}: gradient has dtype {g.dtype}, the input {x.dtype}")
            result[i] = g._data
        return result

    def numerical(self, i, project):
        """Numerical gradient of input ``i`` for a real loss given by ``project(k, columns)``."""
        xp = self.xp
        re, im, n = self.numeric[i]
        x = self.inputs[i]._data
        real_dtype = self.ns.finfo(x.dtype).dtype  # the namespace returns a real dtype object
        dev = self.ns.backend.device(x)
        total_re = xp.zeros((n,), dtype=real_dtype, device=dev)
        total_im = xp.zeros((n,), dtype=real_dtype, device=dev) if im is not None else None
        for k in range(len(self.checked)):
            p = project(k, re[k])
            if p is not None:
                total_re = total_re + xp.astype(p, real_dtype)
                if im is not None:
                    total_im = total_im + xp.astype(project(k, im[k]), real_dtype)
        if im is None:
            return xp.reshape(total_re, x.shape)
        return xp.reshape(xp.astype(total_re, x.dtype) + xp.astype(total_im, x.dtype) * 1j, x.shape)

    def compare(self, grads, project, where):
        """Record a failure for each input whose gradient differs from the numerical one."""
        xp, atol, rtol = self.xp, self.atol, self.rtol
        for i in self.diff:
            x = self.inputs[i]
            a = grads[i]
            if tuple(a.shape) != tuple(x.shape):
                continue
            num = self.numerical(i, project)
            bad, count = _compare(xp, a, num, atol, rtol)
            if not count:
                continue
            af = xp.reshape(a, (-1,))
            nf = xp.reshape(num, (-1,))
            lines = [
                f"  element {_unravel(j, tuple(x.shape))}: analytical {_fmt(_scalar(xp, af[j]))}, "
                f"numerical {_fmt(_scalar(xp, nf[j]))}"
                for j in bad
            ]
            more = f"\n  ... and {count - len(bad)} more" if count > len(bad) else ""
            self.failures.append(
                f"Jacobian mismatch for input {i}{where} ({count} of {_size(x.shape)} elements, "
                f"atol={atol}, rtol={rtol}):\n" + "\n".join(lines) + more
            )

    def fast(self, seed):
        """One random cotangent per output (``fast_mode``)."""
        xp = self.xp
        rng = np.random.default_rng(seed)
        vs = [
            _random_like(xp, rng, tuple(o.shape), o.dtype, self.ns.backend.device(o._data))
            for o in self.checked
        ]

        def project(k, cols):
            v = xp.reshape(vs[k], (-1,))
            # Re(conj(v) . column) for every input element (row of cols).
            if _is_complex(xp, cols):
                return xp.sum(_re(xp, cols) * _re(xp, v) + _im(xp, cols) * _im(xp, v), axis=1)
            return xp.sum(cols * v, axis=1)

        self.compare(self.analytical(vs), project, f" (random cotangent, seed {seed})")

    def full(self):
        """The whole Jacobian: one one-hot cotangent per real (and imaginary) output element;
        stops at the first element that fails."""
        xp = self.xp
        for k, o in enumerate(self.checked):
            m = _size(o.shape)
            positions = (
                xp.reshape(xp.arange(m, device=self.ns.backend.device(o._data)), tuple(o.shape))
                if m
                else None
            )
            for e in range(m):
                for direction in (1.0, 1j) if _is_complex(xp, o._data) else (1.0,):
                    cot = [None] * len(self.checked)
                    cot[k] = xp.astype(positions == e, o.dtype) * direction

                    def project(kk, cols, k=k, e=e, direction=direction):
                        if kk != k:
                            return None
                        c = cols[:, e]
                        # Re(conj(d) * c): Re(c) for d = 1, Im(c) for d = i.
                        return _re(xp, c) if direction == 1.0 else _im(xp, c)

                    label = "" if len(self.checked) == 1 else f" and output {self.keep[k]}"
                    label += f", output element {_unravel(e, tuple(o.shape))}"
                    if direction != 1.0:
                        label += " (imaginary cotangent)"
                    self.compare(self.analytical(cot), project, label)
                    if self.failures:
                        return


# The default step of each finite-difference method (``eps=None``).
_DEFAULT_EPS = {"central": 1e-6, "richardson": _DEFAULT_EPS_RICHARDSON}


def _check_method(fname, method, eps):
    """``eps``, or the method's default step; a clear error for an unknown ``method``."""
    if method not in _DEFAULT_EPS:
        raise ValueError(
            f"{fname}(): argument 'method' must be one of {sorted(_DEFAULT_EPS)}, got {method!r}"
        )
    return _DEFAULT_EPS[method] if eps is None else eps


def gradcheck(
    fn,
    inputs,
    *,
    eps: float | None = None,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    check_grad_dtypes: bool = False,
    fast_mode: bool = False,
    seed: int = 0,
    method: str = "central",
) -> bool:
    """Check the gradients of ``fn`` at ``inputs`` against central finite differences.

    As ``torch.autograd.gradcheck``: ``inputs`` is a Tensor or a tuple of arguments; the Tensors
    that require grad are checked. ``fn`` returns a Tensor or a tuple of Tensors; its floating
    and complex outputs are checked (integer and boolean outputs are ignored). An element passes
    if ``|analytical - numerical| <= atol + rtol * |numerical|``.

    ``check_grad_dtypes``: also require each gradient's dtype to be its input's.
    ``fast_mode``: one random cotangent per output instead of the whole Jacobian (``seed``
    seeds it). Returns True, or raises :class:`GradcheckError` (False if not
    ``raise_exception``) with the input, the element and both values of the first mismatches.

    ``method``: ``"central"`` (as torch): one central difference per element, step ``eps``
    (default 1e-6), accurate to about 1e-10 relative for a function computed to full float64
    precision, 1e-6 where it carries 1e-12 of round-off (special functions). ``"richardson"``:
    central differences at steps ``eps`` (default 2**-7), ``eps/2``, ``eps/4``, ...,
    Richardson-extrapolated (Ridders' method) until the error estimate is below ``rtol / 100`` or
    stops improving, and one-sided differences where ``fn`` is not finite on one side (the edge
    of a domain): a float64 gradient to about 1e-10 relative at about three times the cost, so
    that ``rtol`` can be 1e-7 (a 1e-6 relative error is caught).
    """
    eps = _check_method("gradcheck", method, eps)
    inputs = _as_tuple(inputs)
    ns = _namespace_of(inputs)
    diff = [i for i, a in enumerate(inputs) if type(a) is Tensor and a._requires_grad]
    if not diff:
        raise ValueError("gradcheck(): expected at least one input Tensor that requires grad")
    for i in diff:
        if not ns._is_differentiable_dtype(inputs[i].dtype):
            raise ValueError(f"gradcheck(): input {i} requires grad but has dtype {inputs[i].dtype}")
    check = _Check(fn, inputs, diff, eps, atol, rtol, check_grad_dtypes, method)
    if fast_mode:
        check.fast(seed)
    else:
        check.full()
    if check.failures:
        if raise_exception:
            raise GradcheckError("gradcheck failed:\n" + "\n".join(check.failures))
        return False
    return True


def gradgradcheck(
    fn,
    inputs,
    grad_outputs=None,
    *,
    eps: float | None = None,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    check_grad_dtypes: bool = False,
    fast_mode: bool = False,
    seed: int = 0,
    method: str = "central",
) -> bool:
    """Check second-order gradients of ``fn`` against finite differences of its gradients.

    As ``torch.autograd.gradgradcheck``: the function ``(inputs, v) -> grad(fn(inputs), inputs,
    v, create_graph=True)`` is checked with :func:`gradcheck`, with respect to both the inputs
    and the cotangents ``v`` (``grad_outputs``; random, seeded by ``seed``, when None);
    ``eps`` and ``method`` as for :func:`gradcheck`.
    """
    eps = _check_method("gradgradcheck", method, eps)
    inputs = _as_tuple(inputs)
    ns = _namespace_of(inputs)
    xp = ns._xp
    diff = [i for i, a in enumerate(inputs) if type(a) is Tensor and a._requires_grad]
    if not diff:
        raise ValueError("gradgradcheck(): expected at least one input Tensor that requires grad")
    with _grad_mode.enable_grad():
        outs = _as_tuple(fn(*inputs))
    keep = _diff_outputs(outs, "gradgradcheck")
    if grad_outputs is None:
        rng = np.random.default_rng(seed)
        grad_outputs = []
        for k in keep:
            o = outs[k]
            v = _random_like(xp, rng, tuple(o.shape), o.dtype, ns.backend.device(o._data))
            grad_outputs.append(ns.asarray(v, requires_grad=True))
    else:
        grad_outputs = [
            g if type(g) is Tensor else ns.asarray(g, requires_grad=True) for g in _as_tuple(grad_outputs)
        ]
        if len(grad_outputs) != len(keep):
            raise ValueError(
                f"gradgradcheck(): got {len(grad_outputs)} grad_outputs for {len(keep)} floating outputs"
            )
    n_in = len(inputs)

    def first_order(*args):
        ins, gos = args[:n_in], args[n_in:]
        outs = _as_tuple(fn(*ins))
        roots, vs = [], []
        for k, v in zip(keep, gos):
            if outs[k]._requires_grad:
                roots.append(outs[k])
                vs.append(v)
        targets = [ins[i] for i in diff]
        if not roots:
            return tuple(ns.zeros_like(t.detach()) for t in targets)
        return _grad(roots, targets, vs, create_graph=True, allow_unused=True, materialize_grads=True)

    return gradcheck(
        first_order,
        tuple(inputs) + tuple(grad_outputs),
        eps=eps,
        atol=atol,
        rtol=rtol,
        raise_exception=raise_exception,
        check_grad_dtypes=check_grad_dtypes,
        fast_mode=fast_mode,
        seed=seed + 1,
        method=method,
    )
