"""Recording operations: the one path every differentiable function goes through.

``record`` wraps a raw result and, when grad mode is on and an input requires grad, attaches a
:class:`Node` with the op's VJP and the values it needs. The elementwise factories below build
per-namespace closures over the backend's function (bound once, no per-call lookup) and pick,
from the VJP's parameter names, which of ``x``/``x1``/``x2``/``out`` to save.
"""

from __future__ import annotations

import inspect

from . import _forward, _grad_mode
from ._backends import chunk_meta
from ._engine import NOTHING_TO_UNPACK, OUT, OUTS, Node
from ._tensor import ForeignCounter, Tensor, _init, _new, _NotOperand, counter_of, version_of

STATE = _grad_mode.STATE
FW = _forward.STATE  # forward mode: ``FW.active`` is 0 unless a dual level is open

__all__ = ["record", "record_multi", "target", "make_unary", "make_binary", "make_nondiff"]


# Shared index tuples, so recording an op allocates no new ones in the common cases.
_IDX1 = tuple((i,) for i in range(16))
_IDX2 = tuple(tuple((i, j) for j in range(16)) for i in range(16))


def target(t):
    """The graph edge target of tensor ``t`` (which requires grad): its Node, or itself."""
    if t._base is not None:
        t._ns._refresh_view(t)
    fn = t._grad_fn
    return t if fn is None else fn


def nidx2(n1, n2):
    return _IDX2[n1][n2] if n1 < 16 and n2 < 16 else (n1, n2)


def _edges(inputs):
    targets = []
    idx = []
    meta = []
    for a in inputs:
        if type(a) is Tensor and a._requires_grad:
            targets.append(target(a))
            idx.append(a._output_nr)
            d = a._data
            meta.append((d.shape, d.dtype))
        else:
            targets.append(None)
            idx.append(0)
            meta.append(None)
    return tuple(targets), tuple(idx), tuple(meta)


def _needs_node(*inputs) -> bool:
    """True if grad mode is on and any of ``inputs`` is a Tensor that requires grad."""
    if not STATE.enabled:
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
    return FW.active != 0 and _forward.has_tangent(*inputs)


# Types of ``kw``/``saved`` values that are never arrays (skipped quickly by the protection scan;
# _namespace adds its Namespace class).
_PLAIN = {int, float, bool, complex, str, type(None), slice, type(Ellipsis)}


def _protect_array(ns, a):
    """A private copy of raw backend array ``a`` kept by a node: the caller may still hold ``a``
    and write into it, which no version counter would see. Immutable backends need no copy."""
    b = ns._backend
    return b.copy(a) if b.mutable else a


def _protect_saved(ns, saved):
    """``saved`` made safe to keep, and the version of each saved Tensor (None for others).

    Tensors are checked by version at backward. A Tensor wrapping a raw array the caller passed
    (its counter is a :class:`ForeignCounter`) and a raw backend array are copied, as writes
    into the caller's array bump no version.
    """
    out = None
    versions = []
    for i, s in enumerate(saved):
        ts = type(s)
        if ts is Tensor:
            if type(s._vc) is ForeignCounter:
                c = Tensor._wrap_plain(ns, _protect_array(ns, s._data))
                out = out or list(saved)
                out[i] = s = c
            versions.append(version_of(s))
        else:
            if ts not in _PLAIN and s is not OUT and ts is not type(OUT) and ns._backend.is_native(s):
                out = out or list(saved)
                out[i] = _protect_array(ns, s)
            versions.append(None)
    return (tuple(saved) if out is None else tuple(out)), tuple(versions)


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
    if hasattr(tv, "shape") and ns._backend.is_native(v):  # (namespaces, functions: no shape)
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
    b = ns._backend
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
    targets, idx, meta = _edges(inputs)
    if ns._backend.chunked:
        meta = chunk_meta(inputs)
    saved, versions = _protect_saved(ns, saved)
    guards = None
    if kw:
        kw, guards = protect_kw(ns, kw)
    node = Node(name, vjp, ns, targets, idx, meta, saved, versions, kw)
    if guards is not None:
        node.guards = guards
    return node, saved


def record(ns, name, vjp, inputs, out, saved=(), kw=None, view_of=None, alias_check=True, forward=True):
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
    t = _new(Tensor)
    counter = None
    if view_of is not None and ns._backend.aliases:
        b = ns._backend
        if b.shares_memory(out, view_of._data) or b.size(out) == 0:
            counter = counter_of(view_of)
        else:
            # A view op whose backend made a copy (torch's reshape of a non-contiguous array):
            # not a view, and no shared version counter (an in-place change of it is its own).
            view_of = None
    if _needs_node(*inputs) and ns._is_differentiable_dtype(out.dtype):
        node, saved = _node(ns, name, vjp, inputs, saved, kw)
        if any(s is OUT for s in saved):
            if counter is None:
                counter = [0]
            node.out_data = (out,)
            node.out_versions = ((counter, counter[0]),)
            if node.pack is not None:
                node.pack_outputs()
        _init(t, ns, out, node, 0, counter)
    else:
        _init(t, ns, out, None, 0, counter)
    if view_of is not None and ns._backend.aliases:
        ns._mark_view(t, view_of)
    if FW.active and forward:
        _forward.propagate(ns, name, _forward.rule_for(ns, name, inputs, t, kw), inputs, t)
    return t


def record_multi(
    ns, name, vjp, inputs, outs, saved=(), kw=None, differentiable=None, view_of=None, forward=True
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
    aliases = ns._backend.aliases
    if view_of is not None and aliases:
        counters = [counter_of(v) if v is not None else None for v in view_of]
    else:
        counters = [None] * len(outs)
    results = []
    if _needs_node(*inputs) and any(differentiable):
        node, saved = _node(ns, name, vjp, inputs, saved, kw)
        node.n_out = len(outs)
        node.out_meta = tuple((o.shape, o.dtype) for o in outs)
        if any(type(s) is type(OUT) for s in saved):
            node.out_data = outs
            counters = [[0] if c is None else c for c in counters]
            node.out_versions = tuple((c, c[0]) for c in counters)
            if node.pack is not None:
                node.pack_outputs()
        for i, (o, c, d) in enumerate(zip(outs, counters, differentiable)):
            t = _new(Tensor)
            _init(t, ns, o, node if d else None, i if d else 0, c)
            results.append(t)
    else:
        for o, c in zip(outs, counters):
            t = _new(Tensor)
            _init(t, ns, o, None, 0, c)
            results.append(t)
    if view_of is not None and aliases:
        for t, v in zip(results, view_of):
            if v is not None:
                ns._mark_view(t, v)
    results = tuple(results)
    if FW.active and forward:
        _forward.propagate(ns, name, _forward.rule_for(ns, name, inputs, results, kw), inputs, results)
    return results


# --------------------------------------------------------------------------------------------
# Elementwise factories.


def _saved_names(vjp, allowed):
    params = list(inspect.signature(vjp).parameters)
    if params[:2] != ["xp", "g"]:
        raise TypeError(f"VJP {vjp} must start with parameters (xp, g, ...), got {params}")
    names = tuple(params[2:])
    order = [n for n in allowed if n in names]
    if list(names) != order:
        raise TypeError(
            f"VJP {vjp} parameters after (xp, g) must be an ordered subset of {allowed}, got {names}"
        )
    return names


# Unary functions that a backend may answer with its input itself or a view of it (NumPy's
# ``real`` of a real array, torch's ``conj``/``positive``/``real``): their result becomes a
# tracked view of the input, as in torch.
MAY_ALIAS_UNARY = frozenset({"real", "imag", "conj", "positive"})
# Unary functions that return a real input itself in torch (``torch.conj(x) is x``): the same on
# every backend, so that an in-place change of the result is one of ``x`` (NumPy's ``conj`` and
# ``positive`` would return a copy, its ``real`` a view).
IDENTITY_ON_REAL_UNARY = frozenset({"real", "conj", "positive"})


def _unary_view(ns, name, vjp, names, f, x, data):
    """The result of unary ``f`` that returned memory of ``x``: a view of ``x`` (torch's rule)."""
    saved = tuple(x if n == "x" else OUT for n in names)
    t = record(ns, name, vjp, (x,), data, saved=saved, view_of=x)
    if t._base is not None:
        ns._set_view_fn(t, x, f)
    return t


def make_unary(ns, name, fwd, vjp):
    """A differentiable function ``f(x, /)`` of one array."""
    names = _saved_names(vjp, ("x", "out"))
    save_x = "x" in names
    save_out = "out" in names
    backend = ns._backend
    native = backend.native_type
    ensure = ns._ensure
    coerce = ns._coerce_unary
    may_alias = name in MAY_ALIAS_UNARY and backend.aliases
    identity_on_real = name in IDENTITY_ON_REAL_UNARY
    chunked = backend.chunked
    isdtype = ns._xp.isdtype
    jvp = _forward.unary_rule(name, vjp, names)

    def f(x, /):
        if type(x) is not Tensor or x._ns is not ns:
            x = coerce(x, name)
        if identity_on_real and isdtype(x._data.dtype, ("real floating", "integral")):
            return x  # torch's result: the input itself
        data = fwd(x._data)
        if type(data) is not native:
            data = ensure(data)
        if may_alias:
            xd = x._data
            if data is xd:
                return x  # the input itself (real/conj/positive of a real array), as torch
            if backend.may_be_view(data) and backend.shares_memory(data, xd):
                return _unary_view(ns, name, vjp, names, f, x, data)
        t = _new(Tensor)
        if x._requires_grad and STATE.enabled:
            counter = [0] if save_out else None
            if x._base is not None:
                ns._refresh_view(x)
            fn = x._grad_fn
            e = (x,) if fn is None else (fn,)
            n = x._output_nr
            ni = _IDX1[n] if n < 16 else (n,)
            # The input's shape and dtype, for the engine's normalisation (the one place where
            # a gradient is cast to its input's dtype; a VJP that returns another dtype, e.g.
            # float64 for a float32 input, must not leave a float64 ``.grad``).
            xd = x._data
            m = ((xd.shape, xd.dtype),) if not chunked else chunk_meta((x,))
            if save_x:
                if save_out:
                    node = Node(name, vjp, ns, e, ni, m, (x, OUT), (version_of(x), None))
                else:
                    node = Node(name, vjp, ns, e, ni, m, (x,), (version_of(x),))
            elif save_out:
                node = Node(name, vjp, ns, e, ni, m, (OUT,), (None,))
            else:
                node = Node(name, vjp, ns, e, ni, m)
            if save_out:
                node.out_data = (data,)
                node.out_versions = ((counter, 0),)
                if node.pack is not None:
                    node.pack_outputs()
            # Tensor fields, set inline (this is the hottest path of the library).
            t._data = data
            t._ns = ns
            t._requires_grad = True
            t._grad = None
            t._grad_fn = node
            t._output_nr = 0
            t._vc = counter
            t._hooks = None
            t._post_hooks = None
            t._retains_grad = False
            t._base = None
            t._view_fn = None
            t._view_version = 0
            t._fw = None
        else:
            t._data = data
            t._ns = ns
            t._requires_grad = False
            t._grad = None
            t._grad_fn = None
            t._output_nr = 0
            t._vc = None
            t._hooks = None
            t._post_hooks = None
            t._retains_grad = False
            t._base = None
            t._view_fn = None
            t._view_version = 0
            t._fw = None
        if FW.active:
            _forward.propagate(ns, name, lambda ts: jvp(x, t, ts), (x,), t)
        return t

    f.__name__ = f.__qualname__ = name
    return f


_NO_VERSIONS = NOTHING_TO_UNPACK
_OUT_VERSIONS = (None, None, None)  # a distinct object from NOTHING_TO_UNPACK


def _binary_vjps(name, vjp1, names1, vjp2, names2):
    """The node VJPs of a binary op when x1, x2 or both require grad.

    Each takes the canonical saved triple ``(x1, x2, out)`` and calls the op's own VJPs with
    just the values they name. They are generated as source so that a backward step costs a
    single Python call on top of the formula itself.
    """
    call1 = f"vjp1(xp, g{''.join(', ' + n for n in names1)})"
    call2 = f"vjp2(xp, g{''.join(', ' + n for n in names2)})"
    src = (
        f"def only1(xp, g, x1, x2, out):\n    return ({call1}, None)\n"
        f"def only2(xp, g, x1, x2, out):\n    return (None, {call2})\n"
        f"def both(xp, g, x1, x2, out):\n    return ({call1}, {call2})\n"
    )
    scope = {"vjp1": vjp1, "vjp2": vjp2}
    exec(compile(src, f"<{name} vjp>", "exec"), scope)  # noqa: S102 - fixed template above
    fns = scope["only1"], scope["only2"], scope["both"]
    for f in fns:
        f.__qualname__ = f.__name__ = f"{name}_vjp"
    return fns


def make_binary(ns, name, fwd, vjp1, vjp2):
    """A differentiable function ``f(x1, x2, /)``; ``vjp1``/``vjp2`` give each input's gradient.

    Only the values needed by the VJPs of inputs that require grad are saved, so ``x *= 2``
    saves nothing and ``w * x`` with a constant ``x`` saves only ``x``.
    """
    names1 = _saved_names(vjp1, ("x1", "x2", "out"))
    names2 = _saved_names(vjp2, ("x1", "x2", "out"))

    only1, only2, both = _binary_vjps(name, vjp1, names1, vjp2, names2)

    def saves(names):
        return ("x1" in names, "x2" in names, "out" in names)

    only1_saves = saves(names1)
    only2_saves = saves(names2)
    both_saves = saves(names1 + names2)
    native = ns._backend.native_type
    ensure = ns._ensure
    chunked = ns._backend.chunked
    coerce = ns._coerce_binary
    jvp = _forward.binary_rule(name, vjp1, names1, vjp2, names2)

    def f(x1, x2, /):
        t1 = type(x1)
        t2 = type(x2)
        if t1 is Tensor and x1._ns is ns:
            d1 = x1._data
            r1 = x1._requires_grad
            if t2 is Tensor and x2._ns is ns:
                d2 = x2._data
                r2 = x2._requires_grad
            elif t2 is float or t2 is int:
                d2 = x2
                r2 = False
            else:
                d1, d2, r1, r2 = coerce(x1, x2, name)
        elif (t1 is float or t1 is int) and t2 is Tensor and x2._ns is ns:
            d1 = x1
            r1 = False
            d2 = x2._data
            r2 = x2._requires_grad
        else:
            d1, d2, r1, r2 = coerce(x1, x2, name)
        data = fwd(d1, d2)
        if type(data) is not native:
            data = ensure(data)
        t = _new(Tensor)
        if (r1 or r2) and STATE.enabled:
            counter = None
            if r1:
                if r2:
                    vjp = both
                    sx1, sx2, sout = both_saves
                    edges = (target(x1), target(x2))
                    ni = nidx2(x1._output_nr, x2._output_nr)
                    meta = ((d1.shape, d1.dtype), (d2.shape, d2.dtype))
                else:
                    vjp = only1
                    sx1, sx2, sout = only1_saves
                    edges = (target(x1), None)
                    ni = nidx2(x1._output_nr, 0)
                    meta = ((d1.shape, d1.dtype), None)
            else:
                vjp = only2
                sx1, sx2, sout = only2_saves
                edges = (None, target(x2))
                ni = nidx2(0, x2._output_nr)
                meta = (None, (d2.shape, d2.dtype))
            if chunked:
                meta = chunk_meta((x1, x2))
            s1 = x1 if sx1 else None
            s2 = x2 if sx2 else None
            # A raw backend array the caller passed (and may write into later) is kept as a copy.
            if sx1 and t1 is not Tensor and t1 not in _PLAIN:
                s1 = _protect_array(ns, d1)
            if sx2 and t2 is not Tensor and t2 not in _PLAIN:
                s2 = _protect_array(ns, d2)
            if type(s1) is Tensor:
                versions = (version_of(s1), version_of(s2) if type(s2) is Tensor else None, None)
            elif type(s2) is Tensor:
                versions = (None, version_of(s2), None)
            else:
                versions = _NO_VERSIONS
            if sout:
                counter = [0]
                if versions is _NO_VERSIONS:
                    versions = _OUT_VERSIONS  # OUT must be unpacked
                node = Node(name, vjp, ns, edges, ni, meta, (s1, s2, OUT), versions)
                node.out_data = (data,)
                node.out_versions = ((counter, 0),)
                if node.pack is not None:
                    node.pack_outputs()
            else:
                node = Node(name, vjp, ns, edges, ni, meta, (s1, s2, None), versions)
            # Tensor fields, set inline (this is the hottest path of the library).
            t._data = data
            t._ns = ns
            t._requires_grad = True
            t._grad = None
            t._grad_fn = node
            t._output_nr = 0
            t._vc = counter
            t._hooks = None
            t._post_hooks = None
            t._retains_grad = False
            t._base = None
            t._view_fn = None
            t._view_version = 0
            t._fw = None
        else:
            t._data = data
            t._ns = ns
            t._requires_grad = False
            t._grad = None
            t._grad_fn = None
            t._output_nr = 0
            t._vc = None
            t._hooks = None
            t._post_hooks = None
            t._retains_grad = False
            t._base = None
            t._view_fn = None
            t._view_version = 0
            t._fw = None
        if FW.active:
            _forward.propagate(ns, name, lambda ts: jvp(x1, x2, t, ts), (x1, x2), t)
        return t

    f.__name__ = f.__qualname__ = name
    return f


def make_nondiff(ns, name, fwd, nargs):
    """A function whose result never requires grad (comparisons, bitwise, predicates)."""
    ensure = ns._ensure
    if nargs == 1:
        coerce = ns._coerce_unary

        def f(x, /):
            if type(x) is not Tensor or x._ns is not ns:
                x = coerce(x, name)
            return Tensor._wrap_plain(ns, ensure(fwd(x._data)))

    else:
        coerce = ns._coerce_binary

        def f(x1, x2, /):
            if type(x1) is Tensor and type(x2) is Tensor and x1._ns is ns and x2._ns is ns:
                d1 = x1._data
                d2 = x2._data
            else:
                d1, d2, _, _ = coerce(x1, x2, name)
            return Tensor._wrap_plain(ns, ensure(fwd(d1, d2)))

    f.__name__ = f.__qualname__ = name
    return f


__all__ += ["OUT", "OUTS", "needs_grad", "_NotOperand"]
