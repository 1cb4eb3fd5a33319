"""Forward-mode checks of one (OpInfo, Sample, dtype) against torch (issue 14).

Two checks, next to ``forward``/``first``/``second``, run by the one ``run_check`` of
:mod:`._runner` (which calls this module's comparison through ``FORWARD_MODE_CHECKS``):

- ``jvp``: the sample's differentiable inputs become dual Tensors with seeded random tangents
  (complex for complex inputs); the tangents of the outputs are compared with torch's forward
  AD (``torch.autograd.forward_ad``) on the same program.
- ``fwd_rev`` (forward-over-reverse): inside the dual level, the VJP of the outputs with a
  random cotangent is computed by a backward pass; the tangents of those gradients (a
  Hessian-vector product) are compared with torch's double backward (``H v = grad <g, v>``,
  ``g`` the gradient of the real scalar ``<f, w>``, so ``H`` is symmetric). torch's own
  forward-over-reverse is not the reference: some of its formulas are wrong (``linalg.solve``
  in torch 2.13: wrong for the matrix, no tangent for the right-hand side).

Where torch has no forward-mode formula for a ``jvp`` check (it raises, or gives no tangent where
xpgrad gives a nonzero one), the reference is torch's double-backward equivalent,
``J v = d/du <J^T u, v>``.

Where torch has no derivative at all (``fd_reference`` of the OpInfo or sample lists ``jvp`` or
``fwd_rev``), the reference is finite differences of xpgrad's own function
(:mod:`._fd_reference`), and the check's status is ``"fd"`` when it matches.

Known differences are per check: a ``first`` entry does not cover ``jvp`` (each is strict, with
its own reason). An op without a forward rule in xpgrad makes xpgrad raise "forward-mode
derivative of X is not implemented": the check's status is then ``"norule"``, a failure.
"""

from __future__ import annotations

import contextlib
import warnings

import numpy as np

from .. import forward_ad as fwAD
from .._autograd import grad as _xgrad
from .._grad_mode import enable_grad
from .._tensor import Tensor
from ._runner import (
    FD_CHECKS,
    FORWARD_CHECKS,
    FORWARD_MODE_CHECKS,
    NothingToCompare,
    _Acc,
    _as_list,
    _assert_close,
    _convert,
    _Mismatch,
    _random,
    to_numpy,
)

__all__ = ["FORWARD_CHECKS"]

_NO_RULE = "forward-mode derivative of "


def _no_rule(exc):
    """The status of an error that says xpgrad has no forward rule for the function."""
    if isinstance(exc, NotImplementedError) and _NO_RULE in str(exc):
        return "norule", str(exc)
    return None


# -- the two sides -----------------------------------------------------------------------------------


def _tangents_for(sample, dtype, seed):
    """One seeded random tangent per differentiable input (in ``_convert``'s leaf order)."""
    rng = np.random.default_rng(seed)
    out = []

    def make_float(a, want_grad):
        if want_grad:
            out.append(_random(rng, a.shape, a.dtype))
        return a

    _convert(sample, dtype, make_float, lambda a: a, True)
    return out


def _xpgrad_duals(sample, dtype, ns, tangents, requires_grad):
    raw = ns._xp
    it = iter(tangents)

    def make_float(a, want_grad):
        t = ns.asarray(raw.asarray(a), requires_grad=requires_grad and want_grad)
        if want_grad:
            return fwAD.make_dual(t, ns.asarray(raw.asarray(next(it))))
        return t

    return _convert(sample, dtype, make_float, lambda a: ns.asarray(raw.asarray(a)), True)


def _torch_duals(sample, dtype, tangents, requires_grad, tfw):
    import torch

    it = iter(tangents)

    def make_float(a, want_grad):
        t = torch.tensor(np.array(a, order="C")).requires_grad_(requires_grad and want_grad)
        if want_grad:
            return tfw.make_dual(t, torch.tensor(np.array(next(it), order="C")))
        return t

    return _convert(sample, dtype, make_float, lambda a: torch.tensor(np.array(a, order="C")), True)


def _torch_plain(sample, dtype, requires_grad):
    import torch

    def make_float(a, want_grad):
        return torch.tensor(np.array(a, order="C")).requires_grad_(requires_grad and want_grad)

    return _convert(sample, dtype, make_float, lambda a: torch.tensor(np.array(a, order="C")), True)


def _diff_outputs(values):
    """The floating/complex outputs (index, value)."""
    out = []
    for k, v in enumerate(values):
        if type(v) is Tensor:
            if v._ns._is_differentiable_dtype(v.dtype):
                out.append((k, v))
        elif hasattr(v, "dtype") and hasattr(v, "is_floating_point"):
            if v.is_floating_point() or v.is_complex():
                out.append((k, v))
    return out


def _run(op, sample, dtype, ns, check, seed, rtol, atol, fd=False):
    select = (lambda r, xp: _as_list(op.output(xp, r))) if op.output else (lambda r, xp: _as_list(r))
    tangents = _tangents_for(sample, dtype, seed)
    if not tangents:
        raise NothingToCompare("the sample has no differentiable input: no tangent to compare")
    rev = check == "fwd_rev"
    rng = np.random.default_rng(seed + 1)
    x_results, x_shapes, cots = _xpgrad_side(op, sample, dtype, ns, tangents, rev, rng, select)
    if fd:
        return FD_CHECKS["forward"](op, sample, dtype, rev, tangents, cots, x_results, x_shapes, rtol, atol)
    t_results = _torch_side(op, sample, dtype, tangents, cots, rev, select, x_results)
    if len(x_results) != len(t_results):
        raise _Mismatch(f"{len(x_results)} results, torch gives {len(t_results)}")
    acc = _Acc()
    what = "tangent of the gradient of input" if rev else "tangent of output"
    for k, (x, t, shape) in enumerate(zip(x_results, t_results, x_shapes)):
        w = f"{what} {k}"
        if x is not None and tuple(x.shape) != shape:
            raise _Mismatch(f"{w}: shape {tuple(x.shape)}, expected {shape}")
        if t is None:
            if x is not None and np.any(x != 0):
                raise _Mismatch(f"{w}: torch gives no tangent, xpgrad gives nonzero values")
            continue
        acc.add(_assert_close(x if x is not None else np.zeros_like(t), t, rtol, atol, w))
    return acc.max_abs, acc.max_rel


def _xpgrad_side(op, sample, dtype, ns, tangents, rev, rng, select):
    """xpgrad's results (NumPy; None: no tangent), the shapes they must have, and the cotangents
    of the outputs (``rev``: the VJP's)."""
    with fwAD.dual_level(), enable_grad():
        xin = _xpgrad_duals(sample, dtype, ns, tangents, rev)
        xs = _diff_outputs(select(op.call(ns, *xin.args, **xin.kwargs), ns))
        cots = [_random(rng, tuple(x.shape), to_numpy(fwAD.unpack_dual(x).primal).dtype) for _, x in xs]
        if rev:
            duals = _duals_of(xin)
            roots = [(x, c) for (_, x), c in zip(xs, cots) if x.requires_grad]
            if roots:
                gs = _xgrad(
                    [x for x, _ in roots],
                    duals,
                    [x._ns.asarray(x._ns._xp.asarray(c)) for x, c in roots],
                    allow_unused=True,
                )
            else:
                gs = (None,) * len(duals)
            x_results = [None if g is None else fwAD.unpack_dual(g).tangent for g in gs]
            x_like = duals
        else:
            x_results = [fwAD.unpack_dual(x).tangent for _, x in xs]
            x_like = [x for _, x in xs]
        x_results = [None if r is None else to_numpy(r) for r in x_results]
        x_shapes = [tuple(x.shape) for x in x_like]
    return x_results, x_shapes, cots


def _torch_side(op, sample, dtype, tangents, cots, rev, select, x_results):
    """torch's results: its forward AD, or its double backward (``rev``, or where torch has no
    forward formula or drops a tangent xpgrad gives)."""
    import array_api_compat.torch as txp
    import torch.autograd.forward_ad as tfw

    if rev:
        # The reference is torch's double backward, the same Hessian-vector product: torch's own
        # forward-over-reverse has wrong formulas for some ops (linalg.solve in torch 2.13).
        return _torch_double_backward(op, sample, dtype, tangents, cots, True, select)
    try:
        with _quiet_torch_forward_ad(), tfw.dual_level():
            tin = _torch_duals(sample, dtype, tangents, False, tfw)
            ts = _diff_outputs(select(op.call_torch(txp, *tin.args, **tin.kwargs), txp))
            t_results = [tfw.unpack_dual(t).tangent for _, t in ts]
            t_results = [None if r is None else to_numpy(r) for r in t_results]
    except (NotImplementedError, RuntimeError) as exc:
        if not any(w in str(exc) for w in ("forward AD", "forward-mode", "forward grad")):
            raise
        t_results = None
    if t_results is None or any(
        t is None and x is not None and np.any(x != 0) for x, t in zip(x_results, t_results)
    ):
        # torch has no forward formula here (or drops the tangent): its double-VJP equivalent.
        t_results = _torch_double_backward(op, sample, dtype, tangents, cots, False, select)
    return t_results


@contextlib.contextmanager
def _quiet_torch_forward_ad():
    """torch's forward AD loads its decompositions through torch.jit.script on first use, which
    warns (DeprecationWarning, torch 2.13): not a difference of xpgrad's, so not an error here."""
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message="`torch.jit.script` is deprecated", category=DeprecationWarning
        )
        yield


def _duals_of(inputs):
    # The differentiable inputs as _convert listed them: the dual Tensors themselves.
    return list(inputs.leaves)


def _re_inner(torch, a, b):
    """sum(Re(conj(a) * b)): the real inner product (of R^2n for complex arrays)."""
    return torch.sum(torch.real(torch.conj(a) * b)) if a.is_complex() else torch.sum(a * b)


def _torch_double_backward(op, sample, dtype, tangents, cots, rev, select):
    """torch's reverse-mode equivalent of the forward-mode result.

    ``rev`` False: ``J v = d/du <J^T u, v>`` (``u`` a dummy cotangent; ``J^T u`` is linear in
    ``u``). True: ``H v = grad <g, v>`` with ``g`` the VJP of the outputs with ``cots``: ``g`` is
    the gradient of a real scalar, whose Hessian is symmetric. Inner products are real
    (``Re(conj(a) b)``), so complex inputs are treated as pairs of reals, as torch's gradients do.
    """
    import array_api_compat.torch as txp
    import torch

    tin = _torch_plain(sample, dtype, True)
    leaves = list(tin.leaves)
    outs = [t for _, t in _diff_outputs(select(op.call_torch(txp, *tin.args, **tin.kwargs), txp))]
    vs = [torch.tensor(t) for t in tangents]
    if not rev:
        us = [torch.zeros_like(t, requires_grad=True) for t in outs]
        return _grad_of_inner(torch, [(t, u) for t, u in zip(outs, us) if t.requires_grad], leaves, vs, us)
    roots = [(t, torch.tensor(c)) for t, c in zip(outs, cots) if t.requires_grad]
    return _grad_of_inner(torch, roots, leaves, vs, leaves)


def _grad_of_inner(torch, roots, leaves, vs, wrt):
    """``d/dw <g, v>`` for each ``w`` of ``wrt`` (NumPy; None where it has none), ``g`` the VJP
    of the ``(output, cotangent)`` pairs ``roots`` with respect to ``leaves``."""
    if not roots:
        return [None] * len(wrt)
    gs = torch.autograd.grad(
        [t for t, _ in roots], leaves, [c for _, c in roots], create_graph=True, allow_unused=True
    )
    terms = [_re_inner(torch, g, v) for g, v in zip(gs, vs) if g is not None and g.requires_grad]
    if not terms:
        return [None] * len(wrt)
    res = torch.autograd.grad(sum(terms[1:], terms[0]), wrt, allow_unused=True)
    return [None if r is None else to_numpy(r) for r in res]


# The runner (a lower module) runs the forward-mode checks through its FORWARD_MODE_CHECKS table,
# attached here: ``run_check(op, sample, dtype, ns, "jvp")``.
FORWARD_MODE_CHECKS.update(run=_run, on_error=_no_rule)
