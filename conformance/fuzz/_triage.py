"""Triage: which side is right, by central finite differences in float64/complex128 (torch
forward, no autograd), and delta-debugging reduction of a differing program."""

from __future__ import annotations

import re
import warnings
from dataclasses import replace

import numpy as np

from ._program import Input, Program, execute
from ._run import Difference, TorchSide, compare, cotangent, weight

__all__ = ["CLASSES", "classify", "promote", "reduce"]

# The classes a difference is triaged into.
CLASSES = (
    "forward values differ",  # the outputs differ (an aliasing or semantics difference)
    "xpgrad wrong",  # torch agrees with finite differences, xpgrad does not
    "torch wrong",  # xpgrad agrees with finite differences, torch does not
    "both disagree with FD",
    "both agree with FD",  # both within FD tolerance of the truth, not of each other
    "float32 precision",  # the difference goes away in float64/complex128
    "requires_grad differs",
    "raise mismatch: torch raises, xpgrad's gradient agrees with FD",
    "raise mismatch: torch raises, xpgrad's gradient is wrong",
    # nan where it is not right (no finite wrong entry): a check that cannot raise (lazy arrays)
    "raise mismatch: torch raises, xpgrad's gradient is nan",
    "raise mismatch: torch raises, xpgrad does not",  # no finite-difference verdict (forward)
    "raise mismatch: xpgrad raises, torch's gradient agrees with FD",
    "raise mismatch: xpgrad raises, torch's gradient is wrong",
    "raise mismatch: xpgrad raises, torch does not",
    "no finite-difference verdict",  # the finite differences could not be computed
)

_WIDE = {"float32": "float64", "complex64": "complex128"}


def promote(program: Program) -> Program:
    """The program in float64/complex128 (inputs and any dtype named in its statements)."""
    if program.dtype not in _WIDE:
        return program
    inputs = tuple(
        replace(i, value=i.value.astype(_WIDE[i.value.dtype.name])) if i.value.dtype.name in _WIDE else i
        for i in program.inputs
    )
    stmts = tuple(replace(s, code=re.sub(r"\bcomplex64\b", "complex128", s.code)) for s in program.stmts)
    return replace(program, dtype=_WIDE[program.dtype], inputs=inputs, stmts=stmts)


def _loss(program: Program, values: dict) -> float:
    """sum_k Re<v_k, output_k> on torch in float64, no autograd (the function being differentiated)."""
    import torch

    from ._torch_ns import torch_namespace

    txp = torch_namespace()
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        env = {i.name: torch.tensor(np.array(values.get(i.name, i.value))) for i in program.inputs}
        outs = execute(program, txp, env)
        total = 0.0
        for k, o in enumerate(outs):
            if not (o.is_floating_point() or o.is_complex()):
                continue
            a = o.detach().numpy()
            v = cotangent(program, k, a.shape, a.dtype)
            total += float(np.sum(np.real(np.conj(v) * a)))
        return total


def _first_torch(program: Program, values: dict) -> list:
    """torch.autograd's first-order gradients (float64) at ``values``."""
    from ._run import run_side

    p = replace(
        program,
        inputs=tuple(replace(i, value=np.asarray(values.get(i.name, i.value))) for i in program.inputs),
    )
    r = run_side(p, TorchSide(None), False)
    if r.error:
        raise RuntimeError(r.error[1])
    return r.grads


def _second_fn(program: Program, values: dict) -> float:
    g = _first_torch(program, values)
    total = 0.0
    leaves = [i for i in program.inputs if i.kind == "leaf"]
    for k, (gk, leaf) in enumerate(zip(g, leaves)):
        if gk is None:
            continue
        w = weight(program, k, leaf.value.shape, leaf.value.dtype)
        total += float(np.sum(np.real(np.conj(w) * gk)))
    return total


def fd_gradient(program: Program, fn, h: float = 1e-6) -> list:
    """Central differences of the scalar ``fn(program, values)`` w.r.t. each leaf (torch's
    convention for complex leaves: d/dRe + i d/dIm)."""
    base = {i.name: i.value for i in program.inputs}
    out = []
    for i in program.inputs:
        if i.kind != "leaf":
            continue
        x = np.asarray(i.value)
        g = np.zeros(x.shape, dtype=x.dtype)
        for idx in np.ndindex(x.shape):
            parts = (1.0, 1j) if x.dtype.kind == "c" else (1.0,)
            for unit in parts:
                vals = dict(base)
                xp_, xm = np.array(x), np.array(x)
                xp_[idx] += h * unit
                xm[idx] -= h * unit
                vals[i.name] = xp_
                fp = fn(program, vals)
                vals[i.name] = xm
                fm = fn(program, vals)
                g[idx] += (fp - fm) / (2 * h) * unit
        out.append(g)
    return out


def _agrees(got, want, rtol: float = 1e-4) -> bool:
    for a, b in zip(got, want):
        a = np.zeros_like(b) if a is None else np.asarray(a)
        if a.shape != b.shape:
            return False
        scale = max(1.0, float(np.max(np.abs(b))) if b.size else 1.0)
        if not np.all(np.isfinite(a)) or np.any(np.abs(a - b) > rtol * np.abs(b) + rtol * 0.1 * scale):
            return False
    return True


def _nan_where_not_right(got, want, rtol: float) -> bool:
    """True if ``got`` has a nan, and agrees with ``want`` once its nan entries are taken as
    right: a gradient with no finite wrong entry (real or imaginary part)."""
    if not any(a is not None and np.isnan(np.asarray(a)).any() for a in got):
        return False
    patched = []
    for a, b in zip(got, want):
        if a is not None:
            a, b = np.asarray(a), np.asarray(b)
            if a.shape != b.shape:
                return False
            if a.dtype.kind == "c":
                real = np.where(np.isnan(a.real), b.real, a.real)
                a = real + 1j * np.where(np.isnan(a.imag), b.imag, a.imag)
            else:
                a = np.where(np.isnan(a), b, a)
        patched.append(a)
    return _agrees(patched, want, rtol)


def classify(program: Program, diff: Difference, ns) -> tuple[str, Difference, Program]:
    """The class of ``diff`` (one of :data:`CLASSES`); also the difference as seen on the
    float64 program when a float32 one was promoted, and that program."""
    if diff.kind == "requires_grad":
        return "requires_grad differs", diff, program
    if diff.kind == "values" and program.dtype in _WIDE:
        wide = promote(program)
        d64 = compare(wide, ns)
        if d64 is None or d64.signature != diff.signature:
            return "float32 precision", diff, program
        program, diff = wide, d64
    if diff.check == "forward" and diff.kind == "raise":
        who = diff.raised
        return (
            f"raise mismatch: {who} raises, {'xpgrad' if who == 'torch' else 'torch'} does not",
            diff,
            program,
        )
    if diff.check == "forward":  # finite differences of gradients say nothing about values
        return "forward values differ", diff, program
    if diff.kind == "raise" and program.dtype in _WIDE:
        wide = promote(program)
        d64 = compare(wide, ns)
        if d64 is not None and d64.signature == diff.signature:
            program, diff = wide, d64
    fn = _loss if diff.check == "first" else _second_fn
    rtol = 1e-2 if program.dtype in _WIDE else 1e-4
    try:
        fd = fd_gradient(promote(program), fn)
    except Exception:  # noqa: BLE001 - e.g. torch raises in its first order: no FD verdict
        fd = None
    x_g = diff.xpgrad.grads if diff.xpgrad is not None else None
    t_g = diff.torch.grads if diff.torch is not None else None
    if diff.kind == "raise":
        other, grads = ("xpgrad", x_g) if diff.raised == "torch" else ("torch", t_g)
        if fd is None or grads is None:
            return f"raise mismatch: {diff.raised} raises, {other} does not", diff, program
        if _agrees(grads, fd, rtol):
            verdict = "agrees with FD"
        elif _nan_where_not_right(grads, fd, rtol):
            verdict = "is nan"
        else:
            verdict = "is wrong"
        return f"raise mismatch: {diff.raised} raises, {other}'s gradient {verdict}", diff, program
    if fd is None:
        return "no finite-difference verdict", diff, program
    x_ok, t_ok = _agrees(x_g, fd, rtol), _agrees(t_g, fd, rtol)
    if x_ok and t_ok:
        return "both agree with FD", diff, program
    if t_ok:
        return "xpgrad wrong", diff, program
    if x_ok:
        return "torch wrong", diff, program
    return "both disagree with FD", diff, program


def reduce(program: Program, diff: Difference, ns, budget: int = 150) -> Program:
    """Delta debugging: drop outputs, statements, leaves' requires_grad, shorten inputs' axes and
    simplify input values while ``compare`` still finds a difference of the same signature; at
    most ``budget`` runs."""
    sig = diff.signature
    calls = [0]

    def still(p: Program | None) -> bool:
        if p is None or not p.outputs or calls[0] >= budget:
            return False
        calls[0] += 1
        try:
            d = compare(p, ns, second=sig[0] == "second")
        except Exception:  # noqa: BLE001 - a reduction step that breaks the harness is not kept
            return False
        return d is not None and d.signature == sig

    changed = True
    while changed and calls[0] < budget:
        changed = False
        for k in range(len(program.outputs)):
            if len(program.outputs) > 1:
                cand = replace(program, outputs=program.outputs[:k] + program.outputs[k + 1 :]).prune_inputs()
                if still(cand):
                    program, changed = cand, True
                    break
        for k in reversed(range(len(program.stmts))):
            if k < len(program.stmts):
                cand = program.without(k)
                if still(cand):
                    program, changed = cand, True
        for k, i in enumerate(program.inputs):
            if i.kind == "leaf" and len(program.leaves) > 1:
                cand = replace(
                    program, inputs=program.inputs[:k] + (replace(i, kind="const"),) + program.inputs[k + 1 :]
                )
                if still(cand):
                    program, changed = cand, True
    # Smaller inputs: shorten one axis of one input at a time (a program whose statements no
    # longer fit raises on both sides, which is no difference, so such a step is not kept).
    shrunk = True
    while shrunk and calls[0] < budget:
        shrunk = False
        for k, i in enumerate(program.inputs):
            for axis, n in enumerate(i.value.shape):
                if n < 2:
                    continue
                for keep in (1, n - 1) if n > 2 else (1,):
                    v = np.take(i.value, np.arange(keep), axis=axis)
                    if i.kind == "mask" and v.size and not v.any():
                        v.flat[0] = True
                    cand = replace(
                        program, inputs=program.inputs[:k] + (replace(i, value=v),) + program.inputs[k + 1 :]
                    )
                    if still(cand):
                        program, shrunk = cand, True
                        break
                if shrunk:
                    break
            if shrunk:
                break
    # Simpler input values: one decimal.
    for k, i in enumerate(program.inputs):
        if i.value.dtype.kind in "fc":
            v = np.asarray(np.round(i.value, 1), dtype=i.value.dtype)
            if not np.array_equal(v, i.value):
                cand = replace(
                    program, inputs=program.inputs[:k] + (Input(i.name, i.kind, v),) + program.inputs[k + 1 :]
                )
                if still(cand):
                    program = cand
    return program
