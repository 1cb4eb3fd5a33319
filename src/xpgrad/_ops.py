"""Recording operations: the one path every differentiable function goes through.

``record`` wraps a raw result and, when grad mode is on and an input requires grad, attaches a
:class:`Node` with the op's VJP and the values it needs. Its recording step, :func:`recorded`
(edges, protected saved values, the result's version counter and Tensor), is the only one: the
elementwise functions generated in ``_fastpaths.py`` call it too.
"""

from __future__ import annotations

from . import _forward
from ._backends import chunk_meta
from ._forward import FORWARD_MODE
from ._grad_mode import GRAD_MODE
from ._graph import NOTHING_TO_UNPACK, OUT, OUTS, ForeignCounter, Node, OutRef, counter_of
from ._tensor import Tensor, _init, _new, _NotOperand

__all__ = ["keep_outputs", "record", "record_multi", "recorded", "result", "target"]


def target(t):
    """The graph edge target of tensor ``t`` (which requires grad): its Node, or itself."""
    if t._base is not None:
        t._ns._refresh_view(t)
    fn = t._grad_fn
    return t if fn is None else fn


_NO_VERSION = (None,)

# Shared index tuples of the edges (most nodes have one or two inputs with output index < 16): recording
# allocates none in the common cases.
_IDX1 = tuple((i,) for i in range(16))
_IDX2 = tuple(tuple((i, j) for j in range(16)) for i in range(16))


def _edges(inputs):
    """The node's edges to ``inputs``: one target (its Node, a leaf Tensor, or None where the
    input needs no gradient) per input, the output index of each and the (shape, dtype) of each
    input that requires grad."""
    targets = []
    idx = []
    meta = []
    for a in inputs:
        if type(a) is Tensor and a._requires_grad:
            if a._base is not None:
                a._ns._refresh_view(a)
            fn = a._grad_fn
            targets.append(a if fn is None else fn)
            idx.append(a._output_nr)
            d = a._data
            meta.append((d.shape, d.dtype))
        else:
            targets.append(None)
            idx.append(0)
            meta.append(None)
    if len(idx) == 1:
        i = idx[0]
        return (targets[0],), (_IDX1[i] if i < 16 else (i,)), (meta[0],)
    if len(idx) == 2:
        i, j = idx
        return (targets[0], targets[1]), (_IDX2[i][j] if i < 16 and j < 16 else (i, j)), (meta[0], meta[1])
    return tuple(targets), tuple(idx), tuple(meta)


def _needs_node(*inputs) -> bool:
    """True if grad mode is on and any of ``inputs`` is a Tensor that requires grad."""
    if not GRAD_MODE.enabled:
        return False
    for a in inputs:
        if type(a) is Tensor and a._requires_grad:
            return True
    return False


def needs_grad(*inputs) -> bool:
    """True if an op on ``inputs`` must go through :func:`record`: grad mode is on and one of them
    requires grad, or a dual level is open and one of them has a tangent (forward mode). An op
    that skips ``record`` when this is False (a cheaper path for constants) never loses a
    gradient or a tangent."""
    if _needs_node(*inputs):
        return True
    return FORWARD_MODE.active != 0 and _forward.has_tangent(*inputs)


# Types of ``kw``/``saved`` values that are never arrays (skipped quickly by the protection scan;
# _namespace adds its Namespace class).
_PLAIN = {int, float, bool, complex, str, type(None), slice, type(Ellipsis)}


def _protect_array(ns, a):
    """A private copy of raw backend array ``a`` kept by a node: the caller may still hold ``a``
    and write into it, which no version counter would see. Immutable backends need no copy."""
    b = ns.backend
    return b.copy(a) if b.mutable else a


def _protect_saved(ns, saved):
    """``saved`` made safe to keep, and the version of each saved Tensor (None for others).

    Tensors are checked by version at backward. A Tensor wrapping a raw array the caller passed
    (its counter is a :class:`ForeignCounter`) and a raw backend array are copied, as writes
    into the caller's array bump no version. Versions are ``NOTHING_TO_UNPACK`` when nothing
    saved is a Tensor or the result (constants only: backward passes them as they are).
    """
    out = None
    versions = []
    checked = False
    for i, s in enumerate(saved):
        ts = type(s)
        if ts is Tensor:
            vc = s._vc
            if type(vc) is ForeignCounter:
                c = Tensor._wrap_plain(ns, _protect_array(ns, s._data))
                out = out or list(saved)
                out[i] = s = c
                vc = c._vc
            versions.append(0 if vc is None else vc[0])
            checked = True
        else:
            if s is OUT or ts is OutRef:
                checked = True
            elif ts not in _PLAIN and ns.backend.is_native(s):
                out = out or list(saved)
                out[i] = _protect_array(ns, s)
            versions.append(None)
    saved = saved if out is None else tuple(out)
    return saved, (tuple(versions) if checked else NOTHING_TO_UNPACK)


def _protect_value(ns, name, v, guards):
    """``v`` (a ``kw`` value) as the VJP will receive it; Tensors in it add version guards."""
    tv = type(v)
    if tv in _PLAIN:
        return v
    if tv is Tensor:
        if type(v._vc) is ForeignCounter:
            return _protect_array(ns, v._data)
        c = counter_of(v)
        guards.append((c, c[0], name))
        return v._data
    if tv is tuple:
        for e in v:
            if type(e) not in _PLAIN:
                return tuple(_protect_value(ns, name, e, guards) for e in v)
        return v
    if hasattr(tv, "shape") and ns.backend.is_native(v):  # (namespaces, functions: no shape)
        return _protect_array(ns, v)
    return v


def protect_kw(ns, kw):
    """``kw`` with every array protected, and the version guards of the Tensors in it.

    An index, a mask, a ``where`` condition ... passed as a Tensor reaches the VJP as its raw
    array, and the node checks at backward that the Tensor was not modified in place since (as
    a saved Tensor); a raw backend array is copied (nobody can modify the copy).
    """
    guards = []
    new = None
    plain = _PLAIN
    for k, v in kw.items():
        tv = type(v)
        if tv in plain:
            continue
        if tv is tuple:  # shapes, axes, flags: nothing to protect (the common case)
            for e in v:
                if type(e) not in plain:
                    break
            else:
                continue
        pv = _protect_value(ns, k, v, guards)
        if pv is not v:
            if new is None:
                new = dict(kw)
            new[k] = pv
    return (kw if new is None else new), (tuple(guards) if guards else None)


def unalias(ns, out, inputs):
    """``out``, copied if the backend returned memory of one of ``inputs`` (an undeclared view).

    View ops declare themselves (``view_of=``) and become tracked views; any other result that
    shares memory with an input (NumPy's ``real`` of a real array, ``astype`` to the same
    dtype, ...) would let a write into the result change the input behind the graph's back.
    """
    b = ns.backend
    if not b.aliases:
        return out
    view = b.may_be_view(out)
    for a in inputs:
        if type(a) is Tensor:
            d = a._data
            if out is d or (view and b.shares_memory(out, d)):
                return b.copy(out)
    return out


def _node(ns, name, vjp, inputs, saved, kw):
    """The Node of op ``name`` and its protected saved values: edges to ``inputs``, every value
    it keeps protected (saved Tensors version-checked, raw arrays copied, Tensors in ``kw``
    turned into guards)."""
    # The edges (_edges), written out for one input that requires grad: the hottest case.
    if len(inputs) == 1 and type(inputs[0]) is Tensor and inputs[0]._requires_grad:
        a = inputs[0]
        if a._base is not None:
            a._ns._refresh_view(a)
        fn = a._grad_fn
        i = a._output_nr
        d = a._data
        targets = (a if fn is None else fn,)
        idx = _IDX1[i] if i < 16 else (i,)
        meta = ((d.shape, d.dtype),)
    elif len(inputs) == 2:  # a binary op: the same for each input
        a, b = inputs
        if type(a) is Tensor and a._requires_grad:
            if a._base is not None:
                a._ns._refresh_view(a)
            fn = a._grad_fn
            t1, i, d = (a if fn is None else fn), a._output_nr, a._data
            m1 = (d.shape, d.dtype)
        else:
            t1, i, m1 = None, 0, None
        if type(b) is Tensor and b._requires_grad:
            if b._base is not None:
                b._ns._refresh_view(b)
            fn = b._grad_fn
            t2, j, d = (b if fn is None else fn), b._output_nr, b._data
            m2 = (d.shape, d.dtype)
        else:
            t2, j, m2 = None, 0, None
        targets = (t1, t2)
        idx = _IDX2[i][j] if i < 16 and j < 16 else (i, j)
        meta = (m1, m2)
    else:
        targets, idx, meta = _edges(inputs)
    if ns.backend.chunked:
        meta = chunk_meta(inputs)
    # The protection of the saved values (_protect_saved), written out for the common single
    # values: an input Tensor of this graph, the result, a Python scalar.
    if len(saved) == 1:
        s = saved[0]
        ts = type(s)
        if ts is Tensor and type(s._vc) is not ForeignCounter:
            vc = s._vc
            versions = (0 if vc is None else vc[0],)
        elif s is OUT:
            versions = _NO_VERSION
        elif ts in _PLAIN:
            versions = NOTHING_TO_UNPACK
        else:
            saved, versions = _protect_saved(ns, saved)
    else:
        saved, versions = _protect_saved(ns, saved)
    guards = None
    if kw:
        kw, guards = protect_kw(ns, kw)
    node = Node(name, vjp, ns, targets, idx, meta, saved, versions, kw)
    if guards is not None:
        node.guards = guards
    return node, saved


def result(ns, data, node=None, output_nr=0, counter=None):
    """The Tensor of raw result ``data``: output ``output_nr`` of ``node`` (None: a constant),
    with version counter ``counter`` (None: a fresh one, made when first needed). Every result
    of an op, generic or generated, is created here."""
    t = _new(Tensor)
    _init(t, ns, data, node, output_nr, counter)
    return t


def keep_outputs(node, outs, counters):
    """Keep the raw outputs ``outs`` for ``node``'s VJP (it saves ``OUT``), each with the current
    version of its counter (checked at backward), packed if saved-tensors hooks are active."""
    node.out_data = tuple(outs)
    node.out_versions = tuple((c, c[0]) for c in counters)
    if node.pack is not None:
        node.pack_outputs()


def recorded(ns, name, vjp, inputs, out, saved=(), kw=None, counter=None):
    """The recorded result of single-output op ``name``: its Node (edges to the ``inputs`` that
    require grad, every kept value protected: :func:`_node`) and the Tensor of raw ``out``.

    The one recording step of every single-output op: :func:`record` calls it, and so does every
    generated elementwise function (``_fastpaths``). The caller has checked that grad mode is on
    and that an input requires grad."""
    node, saved = _node(ns, name, vjp, inputs, saved, kw)
    for s in saved:
        if s is OUT:
            if counter is None:
                counter = [0]
            keep_outputs(node, (out,), (counter,))
            break
    t = _new(Tensor)  # (result's two lines: one call less on the hottest path)
    _init(t, ns, out, node, 0, counter)
    return t


def record(ns, name, vjp, inputs, out, saved=(), kw=None, *, view_of=None, alias_check=True, forward=True):
    """Wrap the raw result ``out`` of op ``name`` applied to ``inputs``.

    If grad mode is on, some input requires grad and ``out`` has a floating or complex dtype,
    the result gets a Node whose backward calls ``vjp(xp, g, *saved, **kw)``, which returns one
    gradient per input (a single one when there is one input). ``saved`` may hold input
    Tensors, constants and ``OUT`` (this op's result). ``view_of``: the input Tensor whose
    memory ``out`` may share (view ops), so that both share a version counter.

    Every array the node keeps is protected here, in one place: Tensors in ``saved`` and in
    ``kw`` (index arrays, masks, conditions, also inside a tuple such as an index key) are
    version-checked at backward, raw backend arrays are copied. A result that is not declared a
    view (``view_of``) but shares memory with an input is copied (``alias_check=False`` only for
    graph-only placeholder results that are never handed out).

    Forward mode: while a dual level is open, the result gets its tangents here
    (:func:`_forward.propagate`); ``forward=False`` when the caller propagates them itself (the
    derivative table's ``apply``, which has the entry's rule).
    """
    out = ns._ensure(out)
    if view_of is None and alias_check:
        out = unalias(ns, out, inputs)
    counter = None
    if view_of is not None and ns.backend.aliases:
        b = ns.backend
        if b.shares_memory(out, view_of._data) or b.size(out) == 0:
            counter = counter_of(view_of)
        else:
            # A view op whose backend made a copy (torch's reshape of a non-contiguous array):
            # not a view, and no shared version counter (an in-place change of it is its own).
            view_of = None
    if _needs_node(*inputs) and ns._is_differentiable_dtype(out.dtype):
        t = recorded(ns, name, vjp, inputs, out, saved, kw, counter)
    else:
        t = result(ns, out, None, 0, counter)
    if view_of is not None and ns.backend.aliases:
        ns._mark_view(t, view_of)
    if FORWARD_MODE.active and forward:
        _forward.propagate(ns, name, _forward.rule_for(ns, name, inputs, t, kw), inputs, t)
    return t


def record_multi(
    ns, name, vjp, inputs, outs, saved=(), kw=None, *, differentiable=None, view_of=None, forward=True
):
    """Like :func:`record` for an op with several outputs; returns a tuple of Tensors.

    The VJP receives a tuple of output gradients (zeros for outputs that got none).
    ``differentiable``: one bool per output; False outputs never require grad. ``view_of``:
    one input Tensor (or None) per output whose memory that output may share (the op then
    sets each view's function with ``_set_view_fn``); other outputs that share memory with an
    input are copied.
    """
    if view_of is None:
        outs = tuple(unalias(ns, ns._ensure(o), inputs) for o in outs)
    else:
        outs = tuple(
            ns._ensure(o) if v is not None else unalias(ns, ns._ensure(o), inputs)
            for o, v in zip(outs, view_of)
        )
    if differentiable is None:
        differentiable = tuple(ns._is_differentiable_dtype(o.dtype) for o in outs)
    aliases = ns.backend.aliases
    if view_of is not None and aliases:
        counters = [counter_of(v) if v is not None else None for v in view_of]
    else:
        counters = [None] * len(outs)
    if _needs_node(*inputs) and any(differentiable):
        node, saved = _node(ns, name, vjp, inputs, saved, kw)
        node.n_out = len(outs)
        node.out_meta = tuple((o.shape, o.dtype) for o in outs)
        if any(type(s) is type(OUT) for s in saved):
            counters = [[0] if c is None else c for c in counters]
            keep_outputs(node, outs, counters)
        results = [
            result(ns, o, node if d else None, i if d else 0, c)
            for i, (o, c, d) in enumerate(zip(outs, counters, differentiable))
        ]
    else:
        results = [result(ns, o, None, 0, c) for o, c in zip(outs, counters)]
    if view_of is not None and aliases:
        for t, v in zip(results, view_of):
            if v is not None:
                ns._mark_view(t, v)
    results = tuple(results)
    if FORWARD_MODE.active and forward:
        _forward.propagate(ns, name, _forward.rule_for(ns, name, inputs, results, kw), inputs, results)
    return results


__all__ += ["OUT", "OUTS", "needs_grad", "_NotOperand"]
