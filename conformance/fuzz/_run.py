"""Running a program on one side (xpgrad, or torch with torch.autograd) and comparing the sides.

Each side runs the program twice from fresh inputs: once with a plain backward (``first``:
the vector-Jacobian product of the outputs with seeded cotangents), once with
``create_graph=True`` and then the gradient of ``sum_l Re<w_l, grad_l>`` with respect to the
leaves (``second``). Exceptions are recorded with the stage that raised, so raise/no-raise is
compared like any value.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from xpgrad.testing._runner import _assert_close, _Mismatch, to_numpy, torch_default_dtype_like

from ._program import Program, execute

__all__ = ["Difference", "SideResult", "compare", "cotangent", "run_side", "tolerances"]

STAGES = ("forward", "first", "second")

# torch's default dtype on the torch side: "program" leaves torch's own (float32); programs name
# every dtype they create, so it only matters to torch itself: with a float64 default, torch 2.13's
# backward of linalg.det of a float32/complex64 matrix raises (see _known.py). "backend": the
# default dtype of the backend under test, as xpgrad.testing's runner sets it.
TORCH_DEFAULT_DTYPE = "program"


def tolerances(dtype: str) -> tuple[float, float]:
    """(rtol, atol relative to the largest magnitude) for comparing the two sides."""
    return (2e-3, 2e-4) if dtype in ("float32", "complex64") else (1e-6, 1e-9)


def _rand(seed_parts, shape, dtype: np.dtype):
    rng = np.random.default_rng([abs(int(p)) for p in seed_parts])
    v = rng.standard_normal(shape)
    if dtype.kind == "c":
        v = v + 1j * rng.standard_normal(shape)
    return np.round(v, 3).astype(dtype)


def cotangent(program: Program, k: int, shape, dtype: np.dtype):
    """The cotangent of output ``k`` (the same on every side and in finite differences)."""
    return _rand((program.seed or 0, 1, k), tuple(shape), dtype)


def weight(program: Program, k: int, shape, dtype: np.dtype):
    """The weight ``w`` of leaf ``k`` in the second-order check."""
    return _rand((program.seed or 0, 2, k), tuple(shape), dtype)


@dataclass
class SideResult:
    outputs: list | None = None  # NumPy values
    requires_grad: list | None = None
    grads: list | None = None  # NumPy values or None (no gradient), per leaf
    error: tuple[str, str] | None = None  # (stage, "Type: message")

    @property
    def raised(self):
        return None if self.error is None else self.error[0]


class _Side:
    """How one side makes arrays and differentiates."""

    def __init__(self, ns):
        self.ns = ns

    def floating(self, t) -> bool:
        raise NotImplementedError


class XpgradSide(_Side):
    name = "xpgrad"

    def array(self, a, grad):
        return self.ns.asarray(self.ns._xp.asarray(np.array(a)), requires_grad=grad)

    def floating(self, t):
        from xpgrad import Tensor

        return type(t) is Tensor and self.ns._is_differentiable_dtype(t.dtype)

    def requires_grad(self, t):
        return bool(getattr(t, "requires_grad", False))

    def grad(self, outputs, inputs, grad_outputs=None, create_graph=False):
        import xpgrad

        return xpgrad.grad(outputs, inputs, grad_outputs, create_graph=create_graph, allow_unused=True)

    def xp(self):
        return self.ns

    def wrap(self, a):
        return self.ns.asarray(self.ns._xp.asarray(a))

    def context(self):
        import contextlib

        from xpgrad import enable_grad

        stack = contextlib.ExitStack()
        stack.enter_context(enable_grad())
        return stack


class TorchSide(_Side):
    name = "torch"

    def array(self, a, grad):
        import torch

        return torch.tensor(np.array(a)).requires_grad_(grad)

    def floating(self, t):
        import torch

        return isinstance(t, torch.Tensor) and (t.is_floating_point() or t.is_complex())

    def requires_grad(self, t):
        return bool(getattr(t, "requires_grad", False))

    def grad(self, outputs, inputs, grad_outputs=None, create_graph=False):
        import torch

        return torch.autograd.grad(
            outputs, inputs, grad_outputs, create_graph=create_graph, allow_unused=True
        )

    def xp(self):
        from ._torch_ns import torch_namespace

        return torch_namespace()

    def wrap(self, a):
        import torch

        return torch.tensor(np.array(a))

    def context(self):
        import contextlib

        if TORCH_DEFAULT_DTYPE == "backend" and self.ns is not None:
            return torch_default_dtype_like(self.ns)
        return contextlib.nullcontext()


def _err(exc) -> str:
    return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:300]


def run_side(program: Program, side: _Side, second: bool) -> SideResult:
    """Run ``program`` on ``side``; ``second``: with create_graph and the second-order gradient."""
    res = SideResult()
    with warnings.catch_warnings(), side.context():
        warnings.simplefilter("ignore")
        stage = "forward"
        try:
            env = {i.name: side.array(i.value, i.kind == "leaf") for i in program.inputs}
            leaves = [env[n] for n in program.leaves]
            outs = execute(program, side.xp(), env)
            res.outputs = [to_numpy(o.detach() if hasattr(o, "detach") else o) for o in outs]
            res.requires_grad = [side.floating(o) and side.requires_grad(o) for o in outs]
            if not second:
                stage = "first"
            roots, cots = [], []
            for k, o in enumerate(outs):
                if side.floating(o) and side.requires_grad(o):
                    roots.append(o)
                    c = cotangent(program, k, res.outputs[k].shape, res.outputs[k].dtype)
                    cots.append(side.wrap(c))
            if not leaves:
                res.grads = []
                return res
            if roots:
                stage = "first"
                g = side.grad(roots, leaves, cots, create_graph=second)
            else:
                g = (None,) * len(leaves)
            if not second:
                res.grads = [None if x is None else to_numpy(x.detach()) for x in g]
                return res
            stage = "second"
            xp = side.xp()
            terms = []
            for k, (gk, leaf) in enumerate(zip(g, leaves)):
                if gk is None or not side.requires_grad(gk):
                    continue
                w = side.wrap(weight(program, k, tuple(leaf.shape), to_numpy(leaf.detach()).dtype))
                terms.append(xp.sum(xp.real(xp.conj(w) * gk)))
            if terms:
                s = terms[0]
                for t in terms[1:]:
                    s = s + t
                g2 = side.grad([s], leaves)
            else:
                g2 = (None,) * len(leaves)
            res.grads = [None if x is None else to_numpy(x.detach()) for x in g2]
        except Exception as exc:  # noqa: BLE001 - raising is part of the behaviour compared
            res.error = (stage, _err(exc))
    return res


@dataclass
class Difference:
    """The first difference between the sides: ``check`` in forward/first/second; ``kind``:
    "raise" (one side raised), "values", "requires_grad"."""

    check: str
    kind: str
    detail: str
    raised: str | None = None  # "xpgrad", "torch" (kind "raise") or None
    xpgrad: SideResult | None = field(default=None, repr=False)
    torch: SideResult | None = field(default=None, repr=False)

    @property
    def signature(self):
        return (self.check, self.kind, self.raised)


def _close(x, t, dtype, what):
    rtol, atol = tolerances(dtype)
    t = np.asarray(t)
    scale = float(np.max(np.abs(t))) if t.size and t.dtype.kind in "fc" and np.all(np.isfinite(t)) else 1.0
    _assert_close(x, t, rtol, atol * max(1.0, scale), what)


def _compare_results(program, x: SideResult, t: SideResult, check: str) -> Difference | None:
    if x.raised != t.raised:
        stage = x.raised or t.raised
        if check == "second" and stage != "second":
            stage = "second"
        who = "xpgrad" if x.raised else "torch"
        msg = (x.error or t.error)[1]
        return Difference(stage, "raise", f"only {who} raises: {msg}", who, x, t)
    if x.raised is not None:  # both raised at the same stage: the same behaviour
        return None
    try:
        if check == "first":
            for k, (xo, to) in enumerate(zip(x.outputs, t.outputs)):
                _close(xo, to, program.dtype, f"output {k} ({program.outputs[k]})")
            if x.requires_grad != t.requires_grad:
                return Difference(
                    "forward",
                    "requires_grad",
                    f"outputs require grad: xpgrad {x.requires_grad}, torch {t.requires_grad}",
                    None,
                    x,
                    t,
                )
        leaves = program.leaves
        for k, (xg, tg) in enumerate(zip(x.grads, t.grads)):
            if xg is None and tg is None:
                continue
            xg = np.zeros_like(tg) if xg is None else xg  # no gradient: zeros
            tg = np.zeros_like(xg) if tg is None else tg
            what = "gradient" if check == "first" else "second-order gradient"
            _close(xg, tg, program.dtype, f"{what} of {leaves[k]}")
    except _Mismatch as exc:
        c = "forward" if str(exc).startswith("output") else check
        return Difference(c, "values", str(exc), None, x, t)
    return None


def compare(program: Program, ns, second: bool = True) -> Difference | None:
    """The first difference between xpgrad (namespace ``ns``) and torch on ``program``, or None."""
    xs, ts = XpgradSide(ns), TorchSide(ns)
    d = _compare_results(program, run_side(program, xs, False), run_side(program, ts, False), "first")
    if d is not None or not second:
        return d
    return _compare_results(program, run_side(program, xs, True), run_side(program, ts, True), "second")
