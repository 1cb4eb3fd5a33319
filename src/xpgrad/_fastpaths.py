"""The elementwise fast paths: one generator emits every elementwise function of a namespace.

An entry of the elementwise tables (``_elementwise_functions.py``) says how to differentiate one
function: ``unary(vjp, jvp=...)`` or ``binary(vjp1, vjp2, jvp=...)``. A VJP is
``vjp(xp, g, ...)`` whose parameters after ``g`` name the values it needs (``x``/``out`` for a
unary function, ``x1``/``x2``/``out`` for a binary one); exactly those are saved, and only those
of the VJPs of inputs that require grad (``w * x`` with a constant ``x`` saves ``x`` alone). The
``jvp`` is the forward-mode rule: ``ELEMENTWISE`` (derived from the VJPs, torch's
``auto_element_wise``), ``LINEAR`` (the function applied to the tangents), or a function
``jvp(xp, <names>)`` of the tangents (``x_t``; ``x1_t``/``x2_t``) and the VJP names.

Every function is built from one source template (:func:`_source`), specialised to what the
entry saves: the operand checks (exact types first: Tensor, Python ``float``/``int``), the VJP
and the saved values of each combination of inputs that require grad (the VJP callers of a
binary function are generated with it) and the forward-mode hook. Recording itself is not
generated: the wrapper hands the VJP and saved values to :func:`_ops.recorded`, the recording
step of every op (edges, protection of saved values, version counters, the result Tensor), and
initialises a constant result with ``_tensor._init``, as :func:`_ops.result` does. The code of each specialisation is compiled once and shared by every
namespace; a namespace's function is a closure over its backend's function, bound once.
"""

from __future__ import annotations

import inspect
import re
from functools import cache

from . import _forward
from ._forward import FORWARD_MODE
from ._grad_mode import GRAD_MODE  # noqa: F401 (read by the generated code)
from ._graph import OUT  # noqa: F401 - read by the generated code
from ._math import conj
from ._ops import record
from ._ops import recorded as _recorded
from ._optable import ELEMENTWISE, LINEAR, Op
from ._tensor import Tensor, _init, _new  # noqa: F401 - Tensor: read by the generated code

__all__ = [
    "ELEMENTWISE",
    "LINEAR",
    "unary",
    "binary",
    "jvp_of",
    "build",
    "forward_hook",
    "make_unary",
    "make_binary",
    "make_nondiff",
]


# Forward mode as the generated code sees it: after the result is built,
# ``if FORWARD_MODE.active: _forward.propagate(ns, name, rule, inputs, result)``, where
# ``rule(tangents)`` evaluates the entry's rule with the primals bound. ``FORWARD_MODE`` is a
# module global (read at call time: tests can plug in a recorder); the test must stay a plain
# attribute read, as it runs on every call (a ``threading.local`` attribute costs ~130 ns, 12% of
# a no-grad ``sin``).


# -- entries -------------------------------------------------------------------------------------

_UNARY_NAMES = ("x", "out")
_BINARY_NAMES = ("x1", "x2", "out")


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


def _jvp_names(jvp, inputs):
    if jvp is LINEAR or jvp is ELEMENTWISE:
        return None
    allowed = tuple(f"{n}_t" for n in inputs) + inputs + ("out",)
    params = list(inspect.signature(jvp).parameters)
    if params[:1] != ["xp"] or not set(params[1:]) <= set(allowed):
        raise TypeError(f"JVP {jvp} must take (xp, ...) with names from {allowed}, got {params}")
    return tuple(params[1:])


class Entry:
    """One elementwise function: its VJP per input and its forward-mode rule."""

    __slots__ = ("inputs", "vjps", "names", "jvp", "jvp_names", "name")

    def __init__(self, inputs, vjps, jvp, allowed):
        self.inputs = inputs  # ("x",) or ("x1", "x2")
        self.vjps = vjps
        self.names = tuple(_saved_names(v, allowed) for v in vjps)
        self.jvp = jvp
        self.jvp_names = _jvp_names(jvp, inputs)
        self.name = None  # set by name_entries

    def __repr__(self):
        return f"<elementwise entry {self.name}>"

    def as_op(self, fwd):
        """This entry as a derivative-table entry (:class:`_optable.Op`, Python scalars accepted)
        over the raw function ``fwd``: the same VJPs and forward rule, run by the generic runtime
        (``_optable.apply``). The generated function records what this one records (tested)."""
        params = ", ".join(self.inputs)
        scope = {"fwd": fwd}
        src = f"def {self.name}(xp, {params}, /):\n    return fwd({params})\n"
        exec(compile(src, f"<{self.name} forward>", "exec"), scope)  # noqa: S102 - fixed template
        grads = dict(zip(self.inputs, self.vjps))
        return Op(scope[self.name], grads, self.jvp, False, None, None, (), True, self.name)


def unary(vjp, *, jvp):
    """The entry of a differentiable function ``f(x, /)``."""
    return Entry(("x",), (vjp,), jvp, _UNARY_NAMES)


def binary(vjp1, vjp2, *, jvp):
    """The entry of a differentiable function ``f(x1, x2, /)``; ``vjp1``/``vjp2``: each input's."""
    return Entry(("x1", "x2"), (vjp1, vjp2), jvp, _BINARY_NAMES)


def name_entries(table):
    """Give each entry of ``table`` its function's name (used by ``LINEAR`` and messages)."""
    for name, entry in table.items():
        entry.name = name
    return table


# -- forward-mode rules --------------------------------------------------------------------------


def jvp_of(entry):
    """The forward-mode rule of ``entry``: ``rule(xp, tangents, inputs, args=None, out=None)``,
    called as ``_optable.jvp_of``'s rules are.

    ``tangents``: one per input, None where the input has none (a constant, a Python scalar);
    ``inputs``: the inputs; ``args``: unused (an elementwise function has no other argument);
    ``out``: the result (computed by the backend's function of the entry's name if not given).
    Returns the result's tangent, broadcast to the result's shape and of its dtype (None if no
    input has a tangent). ``xp`` is the namespace the rule runs on: the xpgrad namespace in
    forward mode (so that it can itself be differentiated), or a raw backend namespace.
    """
    jvp = entry.jvp
    if jvp is ELEMENTWISE:
        raw = _elementwise_rule(entry)
    elif jvp is LINEAR:
        raw = _linear_rule(entry)
    else:
        raw = _explicit_rule(entry)

    def rule(xp, tangents, inputs, args=None, out=None, aux=None):
        if out is None:
            out = getattr(xp, entry.name)(*inputs)
        for t in tangents:
            if t is not None:
                return _like_result(xp, raw(xp, tangents, inputs, out), out)
        return None

    rule.__name__ = rule.__qualname__ = f"{entry.name}_jvp"
    return rule


def _elementwise_rule(entry):
    # torch's auto_element_wise: sum_i conj(vjp_i(conj(t_i))). Right when every VJP is ``g``
    # times a factor (holomorphic or real functions); non-holomorphic ones write their own.
    pairs = tuple(zip(entry.vjps, entry.names))
    inputs = entry.inputs

    def raw(xp, tangents, primals, out):
        values = dict(zip(inputs, primals))
        values["out"] = out
        total = None
        for (vjp, names), t in zip(pairs, tangents):
            if t is None:
                continue
            r = conj(xp, vjp(xp, conj(xp, t), *[values[n] for n in names]))
            total = r if total is None else total + r
        return total

    return raw


def _linear_rule(entry):
    name = entry.name

    def raw(xp, tangents, primals, out):
        # A missing tangent is 0 (a Python scalar: the result is broadcast and cast afterwards).
        return getattr(xp, name)(*[0 if t is None else t for t in tangents])

    return raw


def _explicit_rule(entry):
    jvp = entry.jvp
    names = entry.jvp_names
    inputs = entry.inputs

    def raw(xp, tangents, primals, out):
        values = dict(zip(inputs, primals))
        values["out"] = out
        for n, t, p in zip(inputs, tangents, primals):
            if t is None:
                t = xp.zeros_like(p) if hasattr(p, "shape") else 0 * p
            values[n + "_t"] = t
        return jvp(xp, **{n: values[n] for n in names})

    return raw


def _like_result(xp, r, out):
    """Tangent ``r`` with the result's shape and dtype (a constant operand may broadcast it, or
    promote it: ``x * 1j`` of a real ``x``)."""
    if r.shape != out.shape:
        r = xp.broadcast_to(r, out.shape)
    if r.dtype != out.dtype:
        r = xp.astype(r, out.dtype)
    return r


# ``record`` arguments for a function that propagates its tangents itself (forward_hook): where
# ``record`` propagates them too (``forward=True`` by default), it must not.
RECORD_NO_FORWARD = {"forward": False} if "forward" in inspect.signature(record).parameters else {}


def _bind(rule, ns, inputs, out):
    return lambda tangents: rule(ns, tangents, inputs, None, out)


def forward_hook(ns, name, rule, inputs, out):
    """Forward mode for a hand-written elementwise function (``sign``, ``clip``): propagate the
    tangents of ``inputs`` to ``out`` by ``rule`` (see :func:`jvp_of`)."""
    if FORWARD_MODE.active:
        _forward.propagate(ns, name, _bind(rule, ns, inputs, out), inputs, out)


# -- the generator ---------------------------------------------------------------------------------

# Unary functions that a backend may answer with its input itself or a view of it (NumPy's
# ``real`` of a real array, torch's ``conj``/``positive``/``real``): their result becomes a
# tracked view of the input, as in torch.
MAY_ALIAS_UNARY = frozenset({"real", "imag", "conj", "positive"})
# Unary functions that return a real input itself in torch (``torch.conj(x) is x``): the same on
# every backend, so that an in-place change of the result is one of ``x`` (NumPy's ``conj`` and
# ``positive`` would return a copy, its ``real`` a view).
IDENTITY_ON_REAL_UNARY = frozenset({"real", "conj", "positive"})


# Names the generated code reads as globals, besides the imports.
recorded = _recorded
new = _new
init = _init


# Python scalar operands taken as they are (bool, complex and arrays go through coercion).
_UNARY_COERCE = """\
        if type(x1) is not Tensor or x1._ns is not ns:
            x1 = coerce(x1, name)
        d1 = x1._data
"""
_BINARY_COERCE = """\
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
"""
_IDENTITY_ON_REAL = """\
        if isdtype(d1.dtype, ("real floating", "integral")):
            return x1  # torch's result: the input itself
"""
_MAY_ALIAS = """\
        if data is d1:
            return x1  # the input itself (real/conj/positive of a real array), as torch
        if backend.may_be_view(data) and backend.shares_memory(data, d1):
            return unary_view(ns, name, entry, f, x1, data)
"""
_BIND = """\
    backend = ns.backend
    native = backend.native_type
    ensure = ns._ensure
    isdtype = ns._xp.isdtype
"""
_ENSURE = """\
        if type(data) is not native:
            data = ensure(data)
"""
_FORWARD = """\
        if FORWARD_MODE.active:
            _forward.propagate(ns, name, bind(rule, ns, ARGS, t), ARGS, t)
"""


def _tuple(items):
    return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"


def _saved_code(subset, names):
    """The ``saved`` argument of :func:`_ops.recorded` when the inputs in ``subset`` require grad:
    the values the VJPs of those inputs need (``names``, in canonical order). The other input of
    a binary function may be a Tensor, a Python scalar or a raw backend array (its coerced
    value): ``recorded`` protects each as the generic path does."""
    values = []
    for v in names:
        if v == "out":
            values.append("OUT")
            continue
        i = 1 if v == "x" else int(v[1])
        values.append(f"x{i}" if i in subset else f"(x{i} if t{i} is Tensor else d{i})")
    return _tuple(values) if values else "()"


def _block(n, subset, names):
    """The node VJP and saved values when exactly the inputs in ``subset`` require grad."""
    return [f"vjp = vjp_{''.join(map(str, subset))}", f"saved = {_saved_code(subset, names)}"]


def _dispatch(n, i, subset, by_subset):
    """Decision tree over which inputs require grad (at least one does): the VJP and saved values
    of each combination, for inputs ``i`` and after, given that those in ``subset`` do."""
    if i > n:
        canonical = _UNARY_NAMES if n == 1 else _BINARY_NAMES
        return _block(n, subset, tuple(v for v in canonical if v in by_subset[subset]))
    take = _dispatch(n, i + 1, subset + (i,), by_subset)
    if i == n and not subset:  # the last input requires grad if no other one does
        return take
    skip = _dispatch(n, i + 1, subset, by_subset)
    return [f"if r{i}:", *("    " + ln for ln in take), "else:", *("    " + ln for ln in skip)]


def _callers(names):
    """The node VJPs, one per combination of inputs that require grad: each takes the values its
    combination saved and calls the entry's VJPs with the ones they name (a unary function's is
    its VJP itself), so that a backward step costs one Python call on top of the formulas."""
    if len(names) == 1:
        return ["    vjp_1 = vjps[0]"]
    calls = [f"vjp{k + 1}(xp, g{''.join(', ' + v for v in names[k])})" for k in (0, 1)]
    out = ["    vjp1, vjp2 = vjps"]
    for subset, body in (
        ((1,), f"{calls[0]}, None"),
        ((2,), f"None, {calls[1]}"),
        ((1, 2), ", ".join(calls)),
    ):
        needed = {v for i in subset for v in names[i - 1]}
        params = "".join(", " + v for v in _BINARY_NAMES if v in needed)
        fn = "vjp_" + "".join(map(str, subset))
        out += [
            f"    def {fn}(xp, g{params}):",
            f"        return ({body})",
            f"    {fn}.__name__ = {fn}.__qualname__ = name + '_vjp'",
        ]
    return out


@cache
def _source(n, differentiable, names, identity_on_real, may_alias):
    """The code of ``factory(ns, name, fwd, entry, vjps, rule, coerce)``, which returns the
    ``n``-ary function; ``names``: the values each input's VJP needs (when ``differentiable``)."""
    ins = ["x1"] if n == 1 else ["x1", "x2"]
    args = ", ".join(ins)
    lines = ["def factory(ns, name, fwd, entry, vjps, rule, coerce):", *_BIND.splitlines()]
    if differentiable:
        lines += _callers(names)
    lines += [f"    def f({args}, /):", *(_UNARY_COERCE if n == 1 else _BINARY_COERCE).splitlines()]
    if identity_on_real:
        lines += _IDENTITY_ON_REAL.splitlines()
    lines += [f"        data = fwd({args.replace('x', 'd')})", *_ENSURE.splitlines()]
    if may_alias:
        lines += _MAY_ALIAS.splitlines()
    if differentiable:
        # What each combination of inputs that require grad saves: its VJPs' names.
        by_subset = {(1,): names[0]}
        if n == 2:
            by_subset.update({(2,): names[1], (1, 2): names[0] + names[1]})
        cond = "x1._requires_grad" if n == 1 else "(r1 or r2)"
        lines += [f"        if {cond} and GRAD_MODE.enabled:"]
        lines += ["            " + ln for ln in _dispatch(n, 1, (), by_subset)]
        lines += [f"            t = recorded(ns, name, vjp, {_tuple(ins)}, data, saved)"]
        lines += [
            "        else:",
            "            t = new(Tensor)",
            "            init(t, ns, data, None, 0, None)",
        ]
        lines += _FORWARD.replace("ARGS", _tuple(ins)).splitlines()
    else:
        lines += ["        t = new(Tensor)", "        init(t, ns, data, None, 0, None)"]
    lines += ["        return t", "    return f"]
    src = "\n".join(lines) + "\n"
    if n == 1:  # the spec's parameter name (the templates number the inputs)
        src = re.sub(r"\bx1\b", "x", src)
    kind = ("unary", "binary")[n - 1] + ("" if differentiable else " non-differentiable")
    # A file name under the package (xpgrad's own frames are left out of anomaly tracebacks).
    return compile(src, f"{__file__} (generated {kind} fast path)", "exec"), src


def _factory(n, differentiable, names=None, identity_on_real=False, may_alias=False):
    code, _ = _source(n, differentiable, names, identity_on_real, may_alias)
    scope = {}
    exec(code, globals(), scope)  # noqa: S102 - the fixed templates above
    return scope["factory"]


def build(ns, entry, fwd, name=None):
    """The function of ``entry`` (an :class:`Entry`, or an arity for a non-differentiable one)
    in namespace ``ns``, over the backend's function ``fwd``."""
    if type(entry) is int:
        n = entry
        factory = _factory(n, False)
        f = factory(ns, name, fwd, None, None, None, ns._coerce_unary if n == 1 else ns._coerce_binary)
    else:
        name = name or entry.name
        n = len(entry.inputs)
        backend = ns.backend
        may_alias = n == 1 and name in MAY_ALIAS_UNARY and backend.aliases
        factory = _factory(n, True, entry.names, n == 1 and name in IDENTITY_ON_REAL_UNARY, may_alias)
        coerce = ns._coerce_unary if n == 1 else ns._coerce_binary
        f = factory(ns, name, fwd, entry, entry.vjps, jvp_of(entry), coerce)
    f.__name__ = f.__qualname__ = name
    return f


def _unary_view(ns, name, entry, f, x, data):
    """The result of unary ``f`` that returned memory of ``x``: a view of ``x`` (torch's rule)."""
    vjp = entry.vjps[0]
    saved = tuple(x if n == "x" else OUT for n in entry.names[0])
    t = record(ns, name, vjp, (x,), data, saved=saved, view_of=x, **RECORD_NO_FORWARD)
    if t._base is not None:
        ns._set_view_fn(t, x, f)
    forward_hook(ns, name, jvp_of(entry), (x,), t)
    return t


bind = _bind
unary_view = _unary_view


# -- the functions the tests and the namespace build ------------------------------------------------


def make_unary(ns, name, fwd, vjp):
    """A differentiable function ``f(x, /)`` with VJP ``vjp`` (forward rule: ``ELEMENTWISE``)."""
    entry = unary(vjp, jvp=ELEMENTWISE)
    entry.name = name
    return build(ns, entry, fwd)


def make_binary(ns, name, fwd, vjp1, vjp2):
    """A differentiable function ``f(x1, x2, /)`` (forward rule: ``ELEMENTWISE``)."""
    entry = binary(vjp1, vjp2, jvp=ELEMENTWISE)
    entry.name = name
    return build(ns, entry, fwd)


def make_nondiff(ns, name, fwd, nargs):
    """A function whose result never requires grad (comparisons, bitwise, predicates)."""
    return build(ns, nargs, fwd, name)
