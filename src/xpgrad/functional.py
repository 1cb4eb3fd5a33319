"""Higher-level autodiff: ``vjp``, ``jvp``, ``jacobian``, ``hessian``, ``hvp``, ``vhp``.

Signatures and conventions are those of ``torch.autograd.functional``: ``inputs`` is a Tensor
or a tuple of Tensors, ``func`` returns a Tensor or a tuple of Tensors, and the results mirror
those structures. Inputs are detached inside (the caller's graph is only extended with
``create_graph=True``), and with ``strict=True`` an output that does not depend on an input is
an error instead of a zero.

How the products are computed (see docs/forward-mode.md for the cost model):

- ``vjp``, ``vhp``: reverse mode (one backward; two for ``vhp``).
- ``jvp``: forward mode (``xpgrad.forward_ad``): one pass of ``func`` on dual Tensors, which
  computes the tangent next to each value; no graph is recorded (unless ``create_graph`` or
  ``strict``).
- ``hvp``: forward-over-reverse: the gradient is computed by a backward pass *inside* a dual
  level, and the tangents of the values that backward reads give ``H v``.
- ``jacobian(strategy="reverse-mode")``: one VJP per output element;
  ``strategy="forward-mode"`` (``vectorize=True``, as torch requires): one JVP per input
  element. ``hessian(outer_jacobian_strategy="forward-mode")``: the forward-mode Jacobian of
  the gradient (forward-over-reverse).

``vectorize=True`` computes rows (or columns) one at a time too: there is no vmap.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import _forward, _grad_mode
from ._autograd import grad as _grad
from ._forward import FORWARD_MODE
from ._tensor import Tensor

__all__ = ["vjp", "jvp", "jacobian", "hessian", "hvp", "vhp"]


def _as_tuple(x, argname, fname):
    if type(x) is Tensor:
        return False, (x,)
    if isinstance(x, (tuple, list)):
        for i, t in enumerate(x):
            if type(t) is not Tensor:
                raise TypeError(
                    f"{fname}(): argument '{argname}' must be a Tensor or a tuple of Tensors; "
                    f"element {i} is {type(t).__name__}"
                )
        return True, tuple(x)
    raise TypeError(
        f"{fname}(): argument '{argname}' must be a Tensor or a tuple of Tensors, got {type(x).__name__}"
    )


def _prepare_inputs(inputs, create_graph, fname, need_graph=True):
    """The inputs as fresh Tensors: detached (requiring grad if ``need_graph``), or, under
    ``create_graph``, aliases that keep the caller's graph."""
    is_tuple, ins = _as_tuple(inputs, "inputs", fname)
    prepared = []
    for t in ins:
        if not t._ns._is_differentiable_dtype(t.dtype):
            raise TypeError(f"{fname}(): inputs must have a floating or complex dtype, got {t.dtype}")
        if create_graph and t._requires_grad:
            # Keep the caller's graph: an alias that is a non-leaf of the same value.
            p = _forward._alias(t)
        else:
            p = t.detach()
            p._requires_grad = need_graph or create_graph
        prepared.append(p)
    return is_tuple, tuple(prepared)


def _call(func, ins, fname):
    with _grad_mode.enable_grad():
        out = func(*ins)
    is_tuple, outs = _as_tuple(out, "func's output", fname)
    return is_tuple, outs


def _v_tuple(v, like, argname, fname):
    if v is None:
        for t in like:
            if t._ns.backend.size(t._data) != 1:
                raise RuntimeError(
                    f"{fname}(): argument '{argname}' may be omitted only when the function has "
                    "a single-element output (input); pass it explicitly"
                )
        return tuple(t._ns.ones_like(t.detach()) for t in like)
    _, vs = _as_tuple(v, argname, fname)
    if len(vs) != len(like):
        raise RuntimeError(f"{fname}(): '{argname}' has {len(vs)} entries, expected {len(like)}")
    for i, (a, b) in enumerate(zip(vs, like)):
        if tuple(a.shape) != tuple(b.shape):
            raise RuntimeError(
                f"{fname}(): '{argname}'[{i}] has shape {tuple(a.shape)}, expected {tuple(b.shape)}"
            )
    return vs


def _grads(outputs, inputs, grad_outputs, create_graph, strict, fname, what="input"):
    """Gradients with zeros for unused inputs (or an error when strict)."""
    diff = [(o, g) for o, g in zip(outputs, grad_outputs) if o._requires_grad]
    if not diff:
        if strict:
            raise RuntimeError(
                f"{fname}(): the output does not require grad (independent of every {what}); not allowed in strict mode"
            )
        return tuple(t._ns.zeros_like(t.detach()) for t in inputs)
    res = _grad(
        [o for o, _ in diff],
        inputs,
        [g for _, g in diff],
        create_graph=create_graph,
        retain_graph=True,
        allow_unused=True,
    )
    out = []
    for i, (r, t) in enumerate(zip(res, inputs)):
        if r is None:
            if strict:
                raise RuntimeError(
                    f"{fname}(): the output is independent of {what} {i}; not allowed in strict mode"
                )
            r = t._ns.zeros_like(t.detach())
        out.append(r)
    return tuple(out)


def _finish(values, create_graph, is_tuple):
    if not create_graph:
        values = tuple(v.detach() if type(v) is Tensor else v for v in values)
    return values if is_tuple else values[0]


def vjp(
    func: Callable[..., Any],
    inputs: Tensor | tuple[Tensor, ...],
    v: Tensor | tuple[Tensor, ...] | None = None,
    create_graph: bool = False,
    strict: bool = False,
) -> tuple[Any, Any]:
    """``(func(inputs), v^T J)``: the vector-Jacobian product at ``inputs``."""
    in_tuple, ins = _prepare_inputs(inputs, create_graph, "vjp")
    out_tuple, outs = _call(func, ins, "vjp")
    vs = _v_tuple(v, outs, "v", "vjp")
    res = _grads(outs, ins, vs, create_graph, strict, "vjp")
    return _finish(outs, create_graph, out_tuple), _finish(res, create_graph, in_tuple)


def jvp(
    func: Callable[..., Any],
    inputs: Tensor | tuple[Tensor, ...],
    v: Tensor | tuple[Tensor, ...] | None = None,
    create_graph: bool = False,
    strict: bool = False,
) -> tuple[Any, Any]:
    """``(func(inputs), J v)``: the Jacobian-vector product, by forward mode (one pass of
    ``func`` on dual Tensors). With ``create_graph`` the result is differentiable with respect
    to the inputs and ``v`` (reverse-over-forward)."""
    in_tuple, ins = _prepare_inputs(inputs, create_graph, "jvp", need_graph=strict)
    vs = _v_tuple(v, ins, "v", "jvp")
    out_tuple, outs, tans = _forward_pass(func, ins, vs, "jvp")
    if strict:
        # Which inputs the outputs depend on: the reverse graph recorded for that purpose.
        _grads(outs, ins, tuple(o._ns.zeros_like(o.detach()) for o in outs), False, True, "jvp")
        for i, tan in enumerate(tans):
            if tan is None:
                raise RuntimeError(
                    f"jvp(): output {i} is independent of the inputs; not allowed in strict mode"
                )
    res = tuple(tan if tan is not None else o._ns.zeros_like(o.detach()) for tan, o in zip(tans, outs))
    return _finish(outs, create_graph, out_tuple), _finish(res, create_graph, out_tuple)


def _forward_pass(func, ins, vs, fname):
    """``func(*ins)`` on dual Tensors with tangents ``vs`` (None: no tangent for that input):
    ``(is_tuple, outputs, tangents)``, a tangent None for an output that got none."""
    with _Level():
        duals = tuple(
            p if w is None else _forward.make_dual(p, _tangent_like(w, p, fname)) for p, w in zip(ins, vs)
        )
        is_tuple, outs = _call(func, duals, fname)
        level = FORWARD_MODE.depth - 1
        tans = tuple(_forward.tangent_of(o, level) for o in outs)
        prims = tuple(_forward.unpack_dual(o)[0] if t is not None else o for o, t in zip(outs, tans))
    return is_tuple, prims, tans


def _tangent_like(w, p, fname):
    if w.dtype != p.dtype:
        w = w._ns.astype(w, p.dtype)
    return w


class _Level:
    def __enter__(self):
        self.level = _forward.enter_dual_level()

    def __exit__(self, *exc):
        _forward.exit_dual_level(level=self.level)


def _jvp_from(outs, ins, vs, create_graph, strict, fname):
    # u: dummy cotangents; g(u) = J^T u is linear in u, and J v = d<g(u), v>/du.
    us = []
    for o in outs:
        u = o._ns.zeros_like(o.detach())
        u._requires_grad = True
        us.append(u)
    with _grad_mode.enable_grad():
        gs = _grads(outs, ins, us, True, strict, fname)
        pairs = [(g, w) for g, w in zip(gs, vs) if g._requires_grad]
        if not pairs:
            if strict:
                raise RuntimeError(
                    f"{fname}(): the output is independent of the inputs; not allowed in strict mode"
                )
            return tuple(o._ns.zeros_like(o.detach()) for o in outs)
        res = _grad(
            [g for g, _ in pairs],
            us,
            [w for _, w in pairs],
            create_graph=create_graph,
            retain_graph=True,
            allow_unused=True,
        )
    return tuple(r if r is not None else o._ns.zeros_like(o.detach()) for r, o in zip(res, outs))


def _flat_size(t):
    n = 1
    for s in t.shape:
        n *= s
    return n


def jacobian(
    func: Callable[..., Any],
    inputs: Tensor | tuple[Tensor, ...],
    create_graph: bool = False,
    strict: bool = False,
    vectorize: bool = False,
    strategy: str = "reverse-mode",
) -> Any:
    """The Jacobian of ``func`` at ``inputs``: ``J[i][j]`` has shape ``out_i.shape + in_j.shape``.

    ``strategy="reverse-mode"`` computes one VJP per output element, ``"forward-mode"`` one
    JVP per input element by forward mode (better when inputs are fewer than outputs); as in
    torch, forward mode needs ``vectorize=True`` and does not support ``create_graph=True``,
    and ``vectorize=True`` does not support ``strict=True``.
    """
    _check_jacobian_args(create_graph, strict, vectorize, strategy, "jacobian")
    in_tuple, ins = _prepare_inputs(inputs, create_graph, "jacobian")
    if strategy == "reverse-mode":
        out_tuple, outs = _call(func, ins, "jacobian")
        jac = _jacobian_reverse(outs, ins, create_graph, strict)
    else:
        out_tuple, jac = _jacobian_forward(func, ins)
    jac = [[x if create_graph else x.detach() for x in row] for row in jac]
    if out_tuple and in_tuple:
        return tuple(tuple(row) for row in jac)
    if out_tuple:
        return tuple(row[0] for row in jac)
    if in_tuple:
        return tuple(jac[0])
    return jac[0][0]


def _check_jacobian_args(create_graph, strict, vectorize, strategy, fname):
    """torch.autograd.functional's argument checks of jacobian and hessian."""
    if strategy not in ("reverse-mode", "forward-mode"):
        raise ValueError(
            f"{fname}(): expected strategy to be either 'forward-mode' or 'reverse-mode', got "
            f"{strategy!r}. Hint: if your function has more outputs than inputs, 'forward-mode' "
            "tends to be more performant; otherwise, prefer 'reverse-mode'."
        )
    if strategy == "forward-mode":
        if create_graph:
            raise NotImplementedError(
                f'{fname}(): `create_graph=True` and `strategy="forward-mode"` are not supported '
                "together (as in torch). Please either set `create_graph=False` or "
                '`strategy="reverse-mode"`.'
            )
        if not vectorize:
            raise NotImplementedError(
                f"{fname}(): computing a Jacobian using forward-AD or a forward-over-reverse "
                "Hessian is only implemented for `vectorize=True` (as in torch)."
            )
    if vectorize and strict:
        raise RuntimeError(
            f"{fname}(): `strict=True` and `vectorize=True` are not supported together (as in "
            "torch). Please either set `strict=False` or `vectorize=False`."
        )


def _jacobian_reverse(outs, ins, create_graph, strict):
    jac: list[list[Any]] = [[None] * len(ins) for _ in outs]
    for i, o in enumerate(outs):
        ns = o._ns
        n = _flat_size(o)
        rows: list[list[Any]] = [[] for _ in ins]
        for k in range(n):
            e = ns.reshape(_one_hot(ns, n, k, o.dtype, o.device), tuple(o.shape))
            cot = [e if m == i else ns.zeros_like(q.detach()) for m, q in enumerate(outs)]
            gs = _grads(outs, ins, cot, create_graph, strict, "jacobian")
            for j, g in enumerate(gs):
                rows[j].append(g)
        for j, t in enumerate(ins):
            if rows[j]:
                stacked = ns.stack(rows[j], axis=0)
            else:
                stacked = ns.zeros((0,) + tuple(t.shape), dtype=t.dtype, device=t.device)
            jac[i][j] = ns.reshape(stacked, tuple(o.shape) + tuple(t.shape))
    return jac


def _jacobian_forward(func, ins):
    """One forward-mode pass per input element (a column of the Jacobian)."""
    outs = None
    out_tuple = None
    cols: list[list[list[Any]] | None] = []  # [input j][output i] -> columns (None: empty input)
    for j, t in enumerate(ins):
        ns = t._ns
        n = _flat_size(t)
        per_out: list[list[Any]] | None = None
        for k in range(n):
            e = ns.reshape(_one_hot(ns, n, k, t.dtype, t.device), tuple(t.shape))
            vs = tuple(e if m == j else None for m in range(len(ins)))
            out_tuple, outs_k, tans = _forward_pass(func, ins, vs, "jacobian")
            outs = outs_k
            if per_out is None:
                per_out = [[] for _ in outs_k]
            for i, (o, tan) in enumerate(zip(outs_k, tans)):
                per_out[i].append(tan.detach() if tan is not None else o._ns.zeros_like(o.detach()))
        cols.append(per_out)
    if outs is None:  # every input is empty: one call for the outputs' structure
        out_tuple, outs = _call(func, ins, "jacobian")
    jac: list[list[Any]] = [[None] * len(ins) for _ in outs]
    for j, t in enumerate(ins):
        for i, o in enumerate(outs):
            ns = o._ns
            per = cols[j]
            col = per[i] if per is not None else []
            if col:
                stacked = ns.stack(col, axis=-1)
            else:
                stacked = ns.zeros(tuple(o.shape) + (0,), dtype=o.dtype, device=o.device)
            jac[i][j] = ns.reshape(stacked, tuple(o.shape) + tuple(t.shape))
    return out_tuple, jac


def _one_hot(ns, n, k, dtype, device):
    z = ns._xp.zeros((n,), dtype=dtype, device=device)
    z = ns.backend.setitem(z, k, 1)
    return Tensor._wrap_plain(ns, z)


def _scalar_func(func, fname):
    def wrapped(*args):
        out = func(*args)
        if type(out) is not Tensor:
            raise RuntimeError(
                f"{fname}(): the function must return a single Tensor, got {type(out).__name__}"
            )
        if out._ns.backend.size(out._data) != 1:
            raise RuntimeError(
                f"{fname}(): the function must return a single-element Tensor, got shape {tuple(out.shape)}"
            )
        return out

    return wrapped


def hessian(
    func: Callable[..., Any],
    inputs: Tensor | tuple[Tensor, ...],
    create_graph: bool = False,
    strict: bool = False,
    vectorize: bool = False,
    outer_jacobian_strategy: str = "reverse-mode",
) -> Any:
    """The Hessian of scalar ``func`` at ``inputs`` (``H[i][j]`` of shape ``in_i.shape + in_j.shape``)."""
    f = _scalar_func(func, "hessian")
    in_tuple, _ = _as_tuple(inputs, "inputs", "hessian")
    _check_jacobian_args(create_graph, strict, vectorize, outer_jacobian_strategy, "hessian")

    def gradient(*args):
        out = f(*args)
        if not out._requires_grad:
            if strict:
                raise RuntimeError(
                    "hessian(): the output is independent of the inputs; not allowed in strict mode"
                )
            return tuple(a._ns.zeros_like(a.detach()) for a in args)
        res = _grad(out, args, create_graph=True, allow_unused=True)
        return tuple(r if r is not None else a._ns.zeros_like(a.detach()) for r, a in zip(res, args))

    result = jacobian(
        gradient,
        inputs,
        create_graph=create_graph,
        strict=strict,
        vectorize=vectorize,
        strategy=outer_jacobian_strategy,
    )
    if not in_tuple:
        return result[0]
    return result


def vhp(
    func: Callable[..., Any],
    inputs: Tensor | tuple[Tensor, ...],
    v: Tensor | tuple[Tensor, ...] | None = None,
    create_graph: bool = False,
    strict: bool = False,
) -> tuple[Any, Any]:
    """``(func(inputs), v^T H)`` for a scalar ``func``: double backward."""
    f = _scalar_func(func, "vhp")
    in_tuple, ins = _prepare_inputs(inputs, create_graph, "vhp")
    _, outs = _call(f, ins, "vhp")
    vs = _v_tuple(v, ins, "v", "vhp")
    with _grad_mode.enable_grad():
        gs = _grads(outs, ins, (None,), True, strict, "vhp")
        res = _grads(gs, ins, vs, create_graph, strict, "vhp")
    return _finish(outs, create_graph, False), _finish(res, create_graph, in_tuple)


def hvp(
    func: Callable[..., Any],
    inputs: Tensor | tuple[Tensor, ...],
    v: Tensor | tuple[Tensor, ...] | None = None,
    create_graph: bool = False,
    strict: bool = False,
) -> tuple[Any, Any]:
    """``(func(inputs), H v)`` for a scalar ``func``: forward-over-reverse (the gradient computed
    by a backward pass inside a dual level whose tangents are ``v``; its tangent is ``H v``)."""
    f = _scalar_func(func, "hvp")
    in_tuple, ins = _prepare_inputs(inputs, create_graph, "hvp")
    vs = _v_tuple(v, ins, "v", "hvp")
    with _Level():
        level = FORWARD_MODE.depth - 1
        duals = tuple(_forward.make_dual(p, _tangent_like(w, p, "hvp")) for p, w in zip(ins, vs))
        _, outs = _call(f, duals, "hvp")
        with _grad_mode.enable_grad():
            gs = _grads(outs, duals, (None,), create_graph, strict, "hvp")
        res = []
        for i, (g, p) in enumerate(zip(gs, ins)):
            tan = _forward.tangent_of(g, level)
            if tan is None:
                if strict:
                    raise RuntimeError(
                        f"hvp(): the gradient is independent of input {i} (the function is linear "
                        "in it); not allowed in strict mode"
                    )
                tan = p._ns.zeros_like(p.detach())
            res.append(tan)
        value = (
            _forward.unpack_dual(outs[0])[0] if _forward.tangent_of(outs[0], level) is not None else outs[0]
        )
    return _finish((value,), create_graph, False), _finish(tuple(res), create_graph, in_tuple)
