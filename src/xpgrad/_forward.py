"""Forward-mode AD: dual levels, tangents, and their propagation through ops (issue 14).

A Tensor's tangents live in its ``_fw`` slot: None, or a dict ``{level: tangent Tensor}``. A
*level* is opened by :func:`enter_dual_level` (``xpgrad.forward_ad.dual_level()``); levels nest,
and level ``k`` is the ``k``-th open one (0 the outermost). ``FORWARD_MODE.active`` is the number of
levels the op runtime must look at: 0 when no dual level is open, the one check on the hot path.

How a tangent moves:

- **Ops.** After an op ran, the op runtime calls :func:`propagate` with the op's forward rule
  (``rule(tangents) -> tangent(s)``, see the derivative table's ``jvp`` field). For every level
  at which some input has a tangent, the rule runs on Tensors (so a tangent is itself
  differentiable: reverse-over-forward) with only the *outer* levels visible (``FORWARD_MODE.active``
  lowered to that level while it runs): a tangent at level ``k`` carries tangents at levels
  ``< k`` only, which is what nested forward mode (forward-over-forward) needs. The result is
  normalised to each output's shape (broadcast) and dtype (cast; the real part for a real
  output) in one place, :func:`_normalise`.
- **Views.** A view's tangent is the same view of its base's tangent (torch's rule). A view op's
  rule applies the view op to the tangent, which is then a tracked view of the base's tangent;
  a view created before its base got a tangent derives it on first use by replaying the view's
  chain (``_view_fn``) on the base's tangent (:func:`tangent_of`).
- **In place.** An in-place operator (``x += y``) or a write ``x[key] = v`` on a Tensor with a
  tangent (or with a dual operand) writes the new tangent *into* the existing one
  (:func:`after_inplace`, :func:`after_setitem`), so views of the tangent see it; a write
  through a view into a base without a tangent first gives the base a zero tangent (torch
  does the same). Backends without views (JAX, Dask) have no tracked views, for values and
  tangents alike.
- **Backward.** While a level is open the engine runs VJPs on Tensors (the ``create_graph``
  path, with grad mode as the caller asked), so the tangents of the saved values flow into the
  gradients: forward-over-reverse (``functional.hvp``). A node's saved *outputs* are kept as raw
  arrays; their tangents are remembered here per node (:func:`out_tangent`).
- **Exit.** Leaving a level drops every tangent of that level (torch clears them too), so
  ``unpack_dual`` afterwards gives ``tangent=None``.

Dual levels are per thread, as the grad modes are (torch's levels are process-wide): a level
opened in one thread is not seen by another.
"""

from __future__ import annotations

import threading
import weakref

from ._tensor import Tensor

__all__ = [
    "FORWARD_MODE",
    "after_inplace",
    "after_setitem",
    "copy_tangents",
    "enter_dual_level",
    "exit_dual_level",
    "has_tangent",
    "make_dual",
    "out_tangent",
    "propagate",
    "rule_for",
    "set_tangent",
    "tangent_of",
    "unpack_dual",
    "zeros_for",
]


class _State(threading.local):
    # Per thread, as the grad modes: a rule lowers ``active`` while it runs, which another
    # thread must not see.
    def __init__(self):
        self.active = 0  # levels visible to propagate (== depth, except while a rule runs)
        self.depth = 0  # open levels
        self.tensors = []  # per level: weak references to the Tensors given a tangent at it
        self.outs = []  # per level: {Node: {output index: tangent}} for saved outputs


FORWARD_MODE = _State()


# -- levels ----------------------------------------------------------------------------------------


def enter_dual_level() -> int:
    """Open a new dual level and return its index (0 for the outermost)."""
    level = FORWARD_MODE.depth
    FORWARD_MODE.tensors.append([])
    FORWARD_MODE.outs.append(weakref.WeakKeyDictionary())
    FORWARD_MODE.depth = FORWARD_MODE.active = level + 1
    return level


def exit_dual_level(*, level: int | None = None) -> None:
    """Close the innermost dual level (``level``, if given, must be it); its tangents are dropped."""
    if FORWARD_MODE.depth == 0:
        raise RuntimeError("exit_dual_level(): no dual level is open (use enter_dual_level() first)")
    last = FORWARD_MODE.depth - 1
    if level is not None and level != last:
        raise RuntimeError(
            f"exit_dual_level(): level {level} is not the innermost open level ({last}); levels "
            "must be exited in the reverse order of their creation"
        )
    for ref in FORWARD_MODE.tensors.pop():
        t = ref()
        if t is not None and t._fw is not None:
            t._fw.pop(last, None)
            if not t._fw:
                t._fw = None
    FORWARD_MODE.outs.pop()
    FORWARD_MODE.depth = FORWARD_MODE.active = last


def _check_level(level, fname):
    if FORWARD_MODE.depth == 0:
        raise RuntimeError(
            f"{fname}: trying to create a dual Tensor for forward AD but no level exists; use "
            "`with xpgrad.forward_ad.dual_level():` (or enter_dual_level()) first"
        )
    if level is None:
        return FORWARD_MODE.depth - 1
    if type(level) is not int or not 0 <= level < FORWARD_MODE.depth:
        raise RuntimeError(f"{fname}: invalid level {level!r} (open levels: 0 to {FORWARD_MODE.depth - 1})")
    return level


# -- tangents --------------------------------------------------------------------------------------


def set_tangent(t, level, tangent) -> None:
    """Attach ``tangent`` to ``t`` at ``level`` (replacing any)."""
    fw = t._fw
    if fw is None:
        t._fw = {level: tangent}
    else:
        fw[level] = tangent
    FORWARD_MODE.tensors[level].append(weakref.ref(t))


def tangent_of(t, level):
    """``t``'s tangent at ``level``, or None. A view of a base with a tangent gets the same view of
    the base's tangent (computed once, on first use)."""
    fw = t._fw
    if fw is not None and level in fw:
        return fw[level]  # (None: explicitly none, e.g. the primal of unpack_dual)
    base = t._base
    if base is None or t._view_fn is None:
        return None
    bt = tangent_of(base, level)
    if bt is None:
        return None
    prev = FORWARD_MODE.active
    FORWARD_MODE.active = level
    try:
        tan = t._view_fn(bt)
    finally:
        FORWARD_MODE.active = prev
    set_tangent(t, level, tan)
    return tan


def has_tangent(*values) -> bool:
    """True if one of ``values`` is a Tensor with a tangent at a visible level."""
    for v in values:
        if type(v) is Tensor and (v._fw is not None or v._base is not None):
            for level in range(FORWARD_MODE.active):
                if tangent_of(v, level) is not None:
                    return True
    return False


def _zeros(t):
    """Zeros like ``t``, not requiring grad."""
    ns = t._ns
    return Tensor._wrap_plain(ns, ns._xp.zeros_like(t._data))


def zeros_for(tangents, inputs):
    """``tangents`` with zeros (like the input; 0 for a Python scalar) where one is None, for a
    rule that treats undefined tangents as zeros (LINEAR rules, custom Functions' ``jvp``)."""
    out = []
    for t, a in zip(tangents, inputs):
        if isinstance(a, (tuple, list)):
            out.append(zeros_for(t if t is not None else (None,) * len(a), a))
        elif t is not None or a is None:
            out.append(t)
        elif type(a) is Tensor:
            out.append(_zeros(a))
        else:
            out.append(0)
    return tuple(out)


def _input_tangents(inputs, level):
    """One tangent per input at ``level`` (None where it has none: torch's undefined tangent; a
    tuple for a sequence input), or None if no input has one."""
    found = False
    out = []
    for a in inputs:
        if type(a) is Tensor:
            tan = tangent_of(a, level) if (a._fw is not None or a._base is not None) else None
            found = found or tan is not None
        elif isinstance(a, (tuple, list)):  # a sequence input (concat, stack)
            tan = tuple(tangent_of(e, level) if type(e) is Tensor else None for e in a)
            found = found or any(e is not None for e in tan)
        else:
            tan = None
        out.append(tan)
    return tuple(out) if found else None


def _normalise(tan, out, aliased):
    """``tan`` as ``out``'s tangent: ``out``'s shape (broadcast) and dtype (cast, or the real part
    for a real output); a fresh array unless ``out`` is a view (its tangent is then the same
    view of the base's tangent) -- a tangent must never be shared with another tensor's, or an
    in-place change of one would change the other."""
    ns = out._ns
    if type(tan) is not Tensor:
        if isinstance(tan, (bool, int, float, complex)):
            tan = ns.full(out.shape, tan, dtype=out.dtype, device=out.device)
        else:
            tan = Tensor._wrap_plain(ns, ns._ensure(tan))
    copied = False
    if tan.dtype != out.dtype:
        if ns._is_complex_dtype(tan.dtype) and not ns._is_complex_dtype(out.dtype):
            tan = ns.real(tan)
        if tan.dtype != out.dtype:
            tan = ns.astype(tan, out.dtype)
            copied = True
    if tuple(tan.shape) != tuple(out.shape):
        tan = ns.broadcast_to(tan, tuple(out.shape))
        copied = False  # a broadcast view: read-only on NumPy
    if not copied and out._base is None and aliased(tan):
        tan = ns.astype(tan, tan.dtype, copy=True)
    return tan


def _aliasing(ns, tangents):
    """A test whether a tangent shares memory with one of the inputs' ``tangents``."""
    b = ns.backend
    if not b.aliases:
        return lambda tan: False
    flat = []
    for t in tangents:
        if isinstance(t, tuple):
            flat.extend(e for e in t if type(e) is Tensor)
        elif type(t) is Tensor:
            flat.append(t)

    def aliased(tan):
        d = tan._data
        for t in flat:
            if t is tan or t._data is d:
                return True
        if not b.may_be_view(d):
            return False
        return any(b.shares_memory(d, t._data) for t in flat)

    return aliased


def propagate(ns, name, rule, inputs, outs) -> None:
    """Give ``outs`` (the result Tensor, or a tuple of them) of op ``name`` their tangents.

    ``inputs``: the op's differentiable inputs (Tensors, sequences of Tensors for ``concat``-like
    ops, Python scalars or None); ``rule(tangents)`` returns the tangent of the result (a tuple,
    None for an output without one, for several outputs), ``tangents`` holding one entry per
    input (zeros where it has no tangent). ``rule`` None: the op has no forward formula (an
    error if an input has a tangent). Called by the op runtime only while ``FORWARD_MODE.active``.
    """
    n = FORWARD_MODE.active
    for level in range(n):
        tangents = _input_tangents(inputs, level)
        if tangents is None:
            continue
        if rule is None:
            raise NotImplementedError(
                f"forward-mode derivative of {name} is not implemented (an input has a tangent, "
                "inside xpgrad.forward_ad.dual_level())"
            )
        FORWARD_MODE.active = level
        try:
            # Forward formulas legitimately give inf/nan at domain edges (sqrt at 0), as torch's
            # do, without warnings: the backward's quiet arithmetic (_engine.run_backward).
            with ns.backend.quiet():
                res = rule(tangents)
        finally:
            FORWARD_MODE.active = n
        aliased = _aliasing(ns, tangents)
        if isinstance(outs, tuple):  # several outputs (a namedtuple for the table's entries)
            if not isinstance(res, tuple) or len(res) != len(outs):
                raise RuntimeError(
                    f"forward-mode rule of {name} must return {len(outs)} tangents (a tuple), got "
                    f"{type(res).__name__}"
                )
            for i, (o, tan) in enumerate(zip(outs, res)):
                if tan is not None and type(o) is Tensor and ns._is_differentiable_dtype(o.dtype):
                    _attach(o, level, _normalise(tan, o, aliased), i)
        elif res is not None and ns._is_differentiable_dtype(outs.dtype):
            _attach(outs, level, _normalise(res, outs, aliased), 0)


def _attach(out, level, tan, index):
    set_tangent(out, level, tan)
    node = out._grad_fn
    if node is not None and node.out_data is not None:
        # The node keeps this output as a raw array for its VJP: remember the tangent so that a
        # backward inside the level (forward-over-reverse) differentiates through it.
        FORWARD_MODE.outs[level].setdefault(node, {})[index] = tan


def out_tangent(node, index, t) -> None:
    """Give ``t``, output ``index`` of ``node`` rebuilt by the engine from its saved raw data, the
    tangents that output had (forward-over-reverse through a saved output)."""
    for level in range(FORWARD_MODE.active):
        tans = FORWARD_MODE.outs[level].get(node)
        if tans is not None and index in tans:
            set_tangent(t, level, tans[index])


# -- in place --------------------------------------------------------------------------------------


def _own_tangent(x, level):
    """``x``'s tangent at ``level``, created (zeros) if it has none: through the base for a view,
    so that what is written into it reaches the base (torch's rule)."""
    tan = tangent_of(x, level)
    if tan is not None:
        return tan
    if x._base is not None and x._view_fn is not None and (x._fw is None or level not in x._fw):
        set_tangent(x._base, level, _zeros(x._base))
        return tangent_of(x, level)
    tan = _zeros(x)
    set_tangent(x, level, tan)
    return tan


def copy_tangents(src, dst) -> None:
    """Give ``dst`` (a snapshot of ``src``'s value) copies of ``src``'s tangents at every visible
    level: ``src``'s own are about to be overwritten in place."""
    n = FORWARD_MODE.active
    for level in range(n):
        tan = tangent_of(src, level)
        if tan is not None:
            FORWARD_MODE.active = level
            try:
                set_tangent(dst, level, tan._ns.astype(tan, tan.dtype, copy=True))
            finally:
                FORWARD_MODE.active = n


def after_inplace(x, r) -> None:
    """``x`` now holds ``r`` (the out-of-place result of an in-place operator): its tangent, at
    every level where ``x`` or ``r`` has one, now holds ``r``'s (written in place)."""
    n = FORWARD_MODE.active
    for level in range(n):
        tr = tangent_of(r, level)
        tx = tangent_of(x, level)
        if tr is None and tx is None:
            continue
        if tx is None and x._base is None:
            set_tangent(x, level, tr)  # r is a fresh result: its tangent is nobody else's
            continue
        tx = _own_tangent(x, level)
        FORWARD_MODE.active = level
        try:
            if tr is None:
                tx[...] = 0
            else:
                tx[...] = tr
        finally:
            FORWARD_MODE.active = n


def after_setitem(x, key, value) -> None:
    """``x[key] = value`` was written: so is the tangent, ``tx[key] = tangent of value`` (zeros
    where ``value`` has none), at every level where ``x`` or ``value`` has a tangent."""
    n = FORWARD_MODE.active
    for level in range(n):
        tv = tangent_of(value, level) if type(value) is Tensor else None
        if tv is None and tangent_of(x, level) is None:
            continue
        tx = _own_tangent(x, level)
        FORWARD_MODE.active = level
        try:
            tx[key] = 0 if tv is None else tv
        finally:
            FORWARD_MODE.active = n


# -- dual tensors ----------------------------------------------------------------------------------


def _identity_vjp(xp, g):
    return g


def make_dual(primal, tangent, *, level=None):
    """A Tensor with ``primal``'s value (a view of it) and ``tangent`` as its tangent at ``level``."""
    fname = "make_dual()"
    lvl = _check_level(level, fname)
    if type(primal) is not Tensor:
        raise TypeError(f"{fname}: argument 'primal' must be a Tensor, got {type(primal).__name__}")
    if type(tangent) is not Tensor:
        raise TypeError(f"{fname}: argument 'tangent' must be a Tensor, got {type(tangent).__name__}")
    ns = primal._ns
    if tangent._ns is not ns:
        raise TypeError(
            f"{fname}: argument 'tangent' is a Tensor of backend {tangent._ns.backend.name!r}, but "
            f"'primal' is one of backend {ns.backend.name!r}"
        )
    if not ns._is_differentiable_dtype(primal.dtype):
        raise ValueError(f"{fname}: expected primal to be floating point or complex, but got: {primal.dtype}")
    if tuple(tangent.shape) != tuple(primal.shape):
        raise RuntimeError(
            f"{fname}: trying to set a forward gradient that has a different size than that of the "
            f"original Tensor, this is not supported. Tensor is of size {list(primal.shape)} while "
            f"the given forward gradient is of size {list(tangent.shape)}."
        )
    if tangent.dtype != primal.dtype:
        raise RuntimeError(
            f"{fname}: argument 'tangent' has dtype {tangent.dtype}, expected the primal's dtype "
            f"{primal.dtype} (cast it with astype)"
        )
    if tangent.device != primal.device:
        raise RuntimeError(
            f"{fname}: argument 'tangent' is on device {tangent.device}, expected the primal's "
            f"device {primal.device}"
        )
    if primal._fw is not None and lvl in primal._fw:
        raise RuntimeError(
            f"{fname}: making a dual Tensor based on a Tensor that already has a forward gradient "
            f"at the same level {lvl} is not supported"
        )
    # The dual is a view of the primal (as torch's): differentiable with respect to it in
    # reverse mode, an alias in memory. Tangents of the primal at outer levels carry over.
    n = FORWARD_MODE.active
    FORWARD_MODE.active = lvl
    try:
        d = _alias(primal, "make_dual")
    finally:
        FORWARD_MODE.active = n
    set_tangent(d, lvl, tangent)
    return d


def _not_attached(*args, **kw):
    raise RuntimeError("xpgrad._forward is used without the package: import xpgrad first")


class _Upper:
    """What this module needs from the layers above it, attached by them when they are imported:
    ``record`` (``_ops.record``, which imports this module to propagate tangents), attached by
    ``_namespace.py``. Importing ``xpgrad`` imports it."""

    __slots__ = ("record",)

    def __init__(self):
        self.record = _not_attached


UPPER = _Upper()


def _alias(b, name="alias"):
    """A new Tensor that is a view of all of ``b`` (identity in value and gradient); also the view
    function of such a view, replayed on a base's value or tangent."""
    ns = b._ns
    t = UPPER.record(ns, name, _identity_vjp, (b,), b._data, view_of=b)
    if t._base is not None:
        ns._set_view_fn(t, b, _alias)
    return t


def unpack_dual(t, *, level=None):
    """``(primal, tangent)`` of ``t`` at ``level`` (default: the innermost); ``tangent`` None if
    ``t`` has none. The primal is ``t`` without the tangent at that level (a view of it)."""
    if type(t) is not Tensor:
        raise TypeError(f"unpack_dual(): argument 'tensor' must be a Tensor, got {type(t).__name__}")
    if FORWARD_MODE.depth == 0:
        return t, None
    lvl = FORWARD_MODE.depth - 1 if level is None else _check_level(level, "unpack_dual()")
    tan = tangent_of(t, lvl)
    if tan is None:
        return t, None
    n = FORWARD_MODE.active
    FORWARD_MODE.active = lvl
    try:
        p = _alias(t)  # a view of t; its tangents at the outer levels are t's
    finally:
        FORWARD_MODE.active = n
    set_tangent(p, lvl, None)  # explicitly none at lvl (not derived from a base's tangent)
    return p, tan


# -- rules of the ops recorded by hand -------------------------------------------------------------
# Table entries and the elementwise functions carry their own rules (``_optable``,
# ``_fastpaths``); the few ops recorded through ``_ops.record`` directly take theirs from here.


def _no_tangent(ns, inputs, out, kw, ts):
    # Graph-only placeholders of in-place writes (their tangents: after_inplace/after_setitem).
    return None


# Rules of the ops recorded by hand through ``_ops.record`` (table entries carry their own).
_RECORD_RULES = {
    "index_add": lambda ns, inputs, out, kw, ts: ns._index_add(tuple(out.shape), out.dtype, kw["key"], ts[0]),
    "index_put": _no_tangent,
    "copy_slices": _no_tangent,
    "make_dual": lambda ns, inputs, out, kw, ts: ts[0],
    "alias": lambda ns, inputs, out, kw, ts: ts[0],
    "getitem": lambda ns, inputs, out, kw, ts: ts[0][kw["key"]],
    "to_device": lambda ns, inputs, out, kw, ts: ts[0].to_device(out.device),
    # A Dask rechunk changes the layout, not the values: the tangent is the input's.
    "rechunk": lambda ns, inputs, out, kw, ts: ts[0],
}


def rule_for(ns, name, inputs, out, kw):
    """The forward rule of an op recorded by ``_ops.record`` (None: not implemented)."""
    f = _RECORD_RULES.get(name)
    if f is None:
        return None
    return lambda ts: f(ns, inputs, out, kw or {}, zeros_for(ts, inputs))
