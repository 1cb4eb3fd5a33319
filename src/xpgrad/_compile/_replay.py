"""From a tape to a replay: straight-line Python over raw arrays, dead values dropped."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._trace import Const, Ref, Tape

_asarray = np.asarray

__all__ = ["GuardFailed", "build_replay"]


class GuardFailed(Exception):
    """A value read while recording differs in this call (the replay did nothing yet, or its
    writes were made on copies)."""


def _live_ops(tape: Tape, outputs: set[int]) -> list[int]:
    """Indices of the ops the replay needs: those that write in place, guards, and those whose
    results are needed by them or by ``outputs``."""
    live = set(outputs)
    keep = []
    for i in range(len(tape.ops) - 1, -1, -1):
        op = tape.ops[i]
        needed = op.guard is not None or bool(op.mutates) or any(s in live for s in op.outs)
        if not needed:
            continue
        keep.append(i)
        _collect(op.args, live)
        _collect(op.kwargs, live)
    keep.reverse()
    return keep


def _collect(x, live: set[int]) -> None:
    tx = type(x)
    if tx is Ref:
        live.add(x.slot)
    elif tx is tuple or tx is list:
        for e in x:
            _collect(e, live)
    elif tx is dict:
        for e in x.values():
            _collect(e, live)


class _Source:
    def __init__(self, tape: Tape, scope: dict[str, Any], copied_consts: set[int]):
        self.tape = tape
        self.scope = scope
        self.copied = copied_consts
        self.nlit = 0
        self.lit_ids: dict[int, str] = {}

    def lit(self, value) -> str:
        if type(value) in (int, bool) or value is None:
            return repr(value)
        if type(value) is float and np.isfinite(value):
            return repr(value)
        if type(value) is str:
            return repr(value)
        name = self.lit_ids.get(id(value))
        if name is None:
            name = f"k{self.nlit}"
            self.nlit += 1
            self.scope[name] = value
            self.lit_ids[id(value)] = name
        return name

    def expr(self, x) -> str:
        tx = type(x)
        if tx is Ref:
            return f"v{x.slot}"
        if tx is Const:
            return f"c{x.index}"
        if tx is tuple:
            if not _has_refs(x):
                return self.lit(x)
            inner = ", ".join(self.expr(e) for e in x)
            return f"({inner},)" if x else "()"
        if tx is list:
            return "[" + ", ".join(self.expr(e) for e in x) + "]"
        if tx is dict:
            return "{" + ", ".join(f"{k!r}: {self.expr(v)}" for k, v in x.items()) + "}"
        return self.lit(x)

    def call(self, fname: str, args, kwargs) -> str:
        parts = [self.expr(a) for a in args]
        parts += [f"{k}={self.expr(v)}" for k, v in kwargs.items()]
        return f"{fname}({', '.join(parts)})"


def _refs(x) -> list[int]:
    out: dict[int, int] = {}
    _uses(x, out)
    return list(out)


def _has_refs(x) -> bool:
    tx = type(x)
    if tx is Ref or tx is Const:
        return True
    if tx is tuple or tx is list:
        return any(_has_refs(e) for e in x)
    if tx is dict:
        return any(_has_refs(e) for e in x.values())
    return False


def _rename(x, rename):
    tx = type(x)
    if tx is Ref:
        s = rename.get(x.slot)
        return x if s is None else Ref(s)
    if tx is tuple:
        return tuple(_rename(e, rename) for e in x)
    if tx is list:
        return [_rename(e, rename) for e in x]
    if tx is dict:
        return {k: _rename(v, rename) for k, v in x.items()}
    return x


def _key(x):
    tx = type(x)
    if tx is Ref:
        return ("r", x.slot)
    if tx is Const:
        return ("c", x.index)
    if tx is tuple or tx is list:
        return (tx.__name__,) + tuple(_key(e) for e in x)
    if tx is dict:
        return ("d",) + tuple((k, _key(v)) for k, v in sorted(x.items()))
    hash(x)
    return (tx, x)


def _uses(x, counts):
    tx = type(x)
    if tx is Ref:
        counts[x.slot] = counts.get(x.slot, 0) + 1
    elif tx is tuple or tx is list:
        for e in x:
            _uses(e, counts)
    elif tx is dict:
        for e in x.values():
            _uses(e, counts)


_FRESH_NAMES = {"matmul", "add.reduce", "sum", "mean", "ones_like", "zeros_like", "full_like", "empty_like"}


def _is_copy(op) -> bool:
    if op.name == "asarray":
        return op.kwargs.get("copy") is True and len(op.args) == 1 and type(op.args[0]) is Ref
    return op.name == "copy" and len(op.args) == 1 and not op.kwargs and type(op.args[0]) is Ref


def _common_subexpressions(ops, keep: list[int]) -> tuple[list[int], dict[int, int]]:
    """The ops of ``keep`` with a repeated computation (same function and arguments, no write
    between the two) dropped, and the renaming of the dropped results to the first ones."""
    # A result written later, directly or through a view (any op that is not known to make a
    # fresh array may return a view of its operands), is not shared: ``a = cos(x); b = cos(x);
    # b[::2] += 1`` must leave ``a`` alone.
    roots: dict[int, set[int]] = {}
    written: set[int] = set()
    for i in keep:
        op = ops[i]
        fresh = not op.mutates and (isinstance(op.fn, np.ufunc) or op.name in _FRESH_NAMES)
        for o in op.outs:
            r = {o}
            if not fresh:
                for a in _refs(op.args) + _refs(op.kwargs):
                    r |= roots.get(a, {a})
            roots[o] = r
        for m in op.mutates:
            if m is not None and m >= 0:
                written |= roots.get(m, {m})
    rename: dict[int, int] = {}
    seen: dict[Any, int] = {}
    kept = []
    for i in keep:
        op = ops[i]
        op.args = _rename(op.args, rename)
        op.kwargs = _rename(op.kwargs, rename)
        if op.mutates:
            seen.clear()
        elif op.guard is None and len(op.outs) == 1 and op.unpack is None and op.outs[0] not in written:
            try:
                key = (id(op.fn), _key(op.args), _key(op.kwargs), op.as_array)
            except TypeError:
                key = None
            if key is not None:
                prev = seen.get(key)
                if prev is not None and prev not in written:
                    rename[op.outs[0]] = prev
                    continue
                seen[key] = op.outs[0]
        kept.append(i)
    return kept, rename


def _optimise(tape: Tape, keep: list[int], outputs: list[int]) -> tuple[list[int], list[int]]:
    """Common subexpressions computed once (between two writes), and copies of a buffer that
    nothing else uses dropped (the buffer itself is taken)."""
    ops = tape.ops
    kept, rename = _common_subexpressions(ops, keep)
    outputs = [rename.get(s, s) for s in outputs]
    counts: dict[int, int] = {}
    producer: dict[int, Any] = {}
    for i in kept:
        op = ops[i]
        _uses(op.args, counts)
        _uses(op.kwargs, counts)
        for s in op.outs:
            producer[s] = op
    for s in outputs:
        counts[s] = counts.get(s, 0) + 1

    def fresh(s) -> bool:
        p = producer.get(s)
        if p is None or p.mutates or p.guard is not None or len(p.outs) != 1:
            return False
        if isinstance(p.fn, np.ufunc) or p.name in _FRESH_NAMES:
            return True
        if p.name == "reshape" and type(p.args[0]) is Ref:
            return counts.get(p.args[0].slot) == 1 and fresh(p.args[0].slot)
        return False

    # ``f(broadcast_to(x, s), y)`` with an elementwise ``f`` whose result has shape ``s``
    # anyway: ``f(x, y)`` (NumPy's Python-level broadcast_to is costly; the values are the same).
    # "Anyway": another operand of ``f`` (``y``, not itself such a broadcast) has shape ``s``;
    # without one (``-broadcast_to(x, s)``, ``broadcast_to(x, s) * broadcast_to(y, s)``) the
    # result would take ``x``'s shape.
    users: dict[int, list] = {}
    for i in kept:
        for r in _refs(ops[i].args) + _refs(ops[i].kwargs):
            users.setdefault(r, []).append(ops[i])
    broadcasts = {ops[i].outs[0] for i in kept if ops[i].name == "broadcast_to" and len(ops[i].outs) == 1}

    def full_operand(u, shape) -> bool:
        for a in u.args:
            if type(a) is Ref:
                if a.slot not in broadcasts and tape.meta.get(a.slot, (None,))[0] == shape:
                    return True
            elif isinstance(a, np.ndarray) and a.shape == shape:
                return True
        return False

    unbroadcast: dict[int, Any] = {}
    for i in kept:
        p = ops[i]
        if p.name != "broadcast_to" or len(p.outs) != 1 or type(p.args[0]) is not Ref or p.mutates:
            continue
        b = p.outs[0]
        shape = tape.meta.get(b, (None,))[0]
        us = users.get(b, [])
        if b in outputs or not us:
            continue
        if all(
            isinstance(u.fn, np.ufunc)
            and u.fn.signature is None  # elementwise (not matmul)
            and not u.kwargs
            and len(u.outs) == 1
            and tape.meta.get(u.outs[0], (None,))[0] == shape
            and full_operand(u, shape)
            for u in us
        ):
            unbroadcast[b] = p.args[0]
    for i in kept:
        op = ops[i]
        if unbroadcast and isinstance(op.fn, np.ufunc):
            op.args = tuple(unbroadcast.get(a.slot, a) if type(a) is Ref else a for a in op.args)
    for b in unbroadcast:
        counts[b] = 0
    kept = [
        i
        for i in kept
        if not (ops[i].outs and ops[i].outs[0] in unbroadcast and ops[i].name == "broadcast_to")
    ]

    # ``x[...] = f(x, y)`` with a fresh result used nowhere else: ``f(x, y, out=x)`` (an
    # elementwise ufunc reads each element before writing it; the same values, no buffer).
    setitem_into: dict[int, int] = {}
    for a, b in zip(kept, kept[1:]):
        p, op = ops[a], ops[b]
        if op.name != "setitem" or len(op.args) != 3 or op.args[1] is not Ellipsis:
            continue
        dst, val = op.args[0], op.args[2]
        if type(dst) is not Ref or type(val) is not Ref or p.outs != (val.slot,) or counts.get(val.slot) != 1:
            continue
        if not isinstance(p.fn, np.ufunc) or p.kwargs or p.as_array or p.mutates or p.fn.nout != 1:
            continue
        if tape.meta.get(val.slot) != tape.meta.get(dst.slot) or not any(
            type(x) is Ref and x.slot == dst.slot for x in p.args
        ):
            continue
        setitem_into[a] = b
    for a, b in setitem_into.items():
        p = ops[a]
        dst = ops[b].args[0]
        p.kwargs = {"out": (dst,)}
        p.outs = ()
        p.mutates = (dst.slot,)
    dropped = set(setitem_into.values())
    kept = [i for i in kept if i not in dropped]

    rename = {}
    final = []
    for i in kept:
        op = ops[i]
        op.args = _rename(op.args, rename)
        op.kwargs = _rename(op.kwargs, rename)
        if _is_copy(op) and not op.as_array:
            src = op.args[0].slot
            if counts.get(src) == 1 and fresh(src):
                rename[op.outs[0]] = src
                counts[src] = counts.get(op.outs[0], 0)
                continue
        final.append(i)
    outputs = [rename.get(s, s) for s in outputs]
    return final, outputs


def build_replay(tape: Tape, outputs: list[int], name: str = "replay"):
    """A function ``replay(*inputs) -> tuple(outputs)`` over raw arrays and floats, and its source.

    ``inputs`` are the values of ``tape.inputs`` in order. Guards raise :class:`GuardFailed`
    before any input is written (when a guard follows a write, the inputs written are copied
    first and written back at the end).
    """
    keep = _live_ops(tape, set(outputs))
    keep, outputs = _optimise(tape, keep, outputs)
    scope: dict[str, Any] = {"GuardFailed": GuardFailed, "_np_asarray": _asarray, "_copyto": np.copyto}
    src = _Source(tape, scope, tape.mutated_consts)
    params = [f"v{s}" for s in tape.inputs]
    lines = [f"def {name}({', '.join(params)}):"]
    for k, c in enumerate(tape.consts):
        scope[f"c{k}_"] = c
        if k in tape.mutated_consts:
            lines.append(f"    c{k} = c{k}_.copy()")
        else:
            scope[f"c{k}"] = c
    written_inputs: list[int] = []
    if tape.guards_after_effects:
        inputs = set(tape.inputs)
        for i in keep:
            for s in tape.ops[i].mutates:
                if s in inputs and s not in written_inputs:
                    written_inputs.append(s)
        for s in written_inputs:
            lines.append(f"    o{s} = v{s}; v{s} = v{s}.copy()")
    fnames: dict[int, str] = {}
    for i in keep:
        op = tape.ops[i]
        if op.guard is not None:
            expected, convert = op.guard
            value = f"v{op.args[0].slot}" if convert is None else f"{src.lit(convert)}(v{op.args[0].slot})"
            lines.append(f"    if {value} != {src.lit(expected)}: raise GuardFailed({op.name!r})")
            continue
        fname = fnames.get(id(op.fn))
        if fname is None:
            fname = fnames[id(op.fn)] = f"f{len(fnames)}"
            scope[fname] = op.fn
        call = src.call(fname, op.args, op.kwargs)
        if op.unpack is not None:
            targets = ", ".join(f"v{s}" for s in op.outs)
            lines.append(f"    {targets}, = {call}")
            for s, scalar in zip(op.outs, op.as_array):
                if scalar:
                    lines.append(f"    v{s} = _np_asarray(v{s})")
        elif op.outs:
            (s,) = op.outs
            lines.append(f"    v{s} = _np_asarray({call})" if op.as_array else f"    v{s} = {call}")
        else:
            lines.append(f"    {call}")
    for s in written_inputs:
        lines.append(f"    _copyto(o{s}, v{s})")
    outs = ", ".join(f"v{s}" for s in outputs)
    lines.append(f"    return ({outs},)" if outputs else "    return ()")
    source = "\n".join(lines) + "\n"
    code = compile(source, f"<xpgrad.compile replay {name}>", "exec")
    exec(code, scope)  # noqa: S102 - generated from the tape above
    return scope[name], source
