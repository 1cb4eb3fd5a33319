"""The derivative table: one entry per differentiable op, and the wrapper generated from it.

An entry is the op's forward on raw arrays, written with the spec's own signature after an
``xp`` parameter (the raw backend namespace), decorated with its derivatives::

    def _sum_vjp(xp, g, *, x_shape, axis, keepdims):
        return xp.broadcast_to(expand_reduced(xp, g, x_shape, axis, keepdims), x_shape)

    @op(grads={"x": _sum_vjp}, jvp=LINEAR)
    def sum(xp, x, /, *, axis=None, dtype=None, keepdims=False):
        '''Sum along the given axes. ...'''
        return xp.sum(x, axis=axis, dtype=dtype, keepdims=keepdims)

This reads like torch's ``derivatives.yaml``: the keys of ``grads`` are the differentiable
inputs, each VJP's parameter names say what it needs (and so what is saved), ``jvp`` is the
forward-mode rule. Everything else an op needs is generated here, once, for every category:

- the public function (``xp.sum``), with the spec signature and the forward's docstring: it
  coerces the inputs (Tensors of this namespace; raw backend arrays become constants; Python
  scalars where ``scalars=True``), unwraps Tensors found among the other arguments (indices,
  masks, conditions), calls the forward, and records the Node through ``_ops.record``, which
  protects every value the node keeps (saved Tensors version-checked, raw arrays copied,
  index Tensors guarded) and registers views;
- the node's VJP, which calls the VJPs of the inputs that require grad with the values they
  name; only those values are saved (torch's saved sets);
- the forward-mode rule (:func:`jvp_of`), used by :mod:`xpgrad.forward_ad`.

Names a VJP or JVP may take after ``(xp, g)`` / ``(xp, ...)``:

==================  ============================================================================
``x``, ``x1``, ...  a differentiable input (saved; version-checked at backward)
``out``             the result (a tuple for several outputs; saved)
``x_shape``         an input's shape (``x_dtype``: its dtype), captured at forward, nothing saved
``needs``           one bool per input the VJP is for (joint VJPs): which require grad
``axis``, ...       any other forward argument, by its name (array arguments as raw arrays)
aux names           values the forward computed for its derivatives (``aux=(...)``)
``x_t``             (JVP only) the tangent of input ``x`` (zeros where it has none)
==================  ============================================================================
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import NamedTuple

from . import _forward
from ._backends import Backend
from ._forward import FORWARD_MODE
from ._grad_mode import GRAD_MODE
from ._graph import OutRef
from ._ops import OUT, OUTS, record, record_multi, recorded, result, unalias
from ._profile import input_shape
from ._tensor import Tensor

__all__ = ["ELEMENTWISE", "LINEAR", "VARIABLE", "Op", "install", "jvp_of", "op"]

#: ``outputs=VARIABLE``: a plain tuple of outputs whose count depends on the call (meshgrid,
#: unstack). Any int ``outputs`` gives a plain tuple; the count itself is never read.
VARIABLE = 0


class _Marker:
    __slots__ = ("name", "__doc__")

    def __init__(self, name, doc):
        self.name = name
        self.__doc__ = doc

    def __repr__(self):
        return self.name


LINEAR = _Marker(
    "LINEAR",
    "The op is linear in its differentiable inputs jointly: the tangent is the op applied to "
    "the tangents (torch's auto_linear).",
)
ELEMENTWISE = _Marker(
    "ELEMENTWISE",
    "The tangent is derived from the VJPs as sum_i conj(vjp_i(conj(t_i))) (torch's "
    "auto_element_wise): right when each VJP is the output gradient times an elementwise factor.",
)

_POS = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


class Grad(NamedTuple):
    """One VJP of an entry: ``grads={inputs: vjp}``."""

    inputs: tuple  # the input names it gives gradients for (one, or several for a joint VJP)
    vjp: Callable  # vjp(xp, g, **params)
    params: tuple  # its parameter names after (xp, g): what it needs
    joint: bool  # declared for a tuple of inputs: returns one gradient per input


# What a node saves, per value (``_plan``): an input, every output, or one output by its field.
SAVE_INPUT = "input"
SAVE_OUTPUTS = "outputs"
SAVE_OUTPUT_FIELD = "output field"
# Where a VJP keyword value comes from: a forward argument, which inputs require grad, an
# input's shape or dtype.
KW_ARG = "argument"
KW_NEEDS = "needs"
KW_SHAPE = "shape"
KW_DTYPE = "dtype"


class Op:
    """One entry of the derivative table (see the module docstring)."""

    def __init__(
        self, forward, grads, jvp, view, outputs, differentiable, aux, scalars, name, undefined=False
    ):
        self.forward = forward
        self.name = name or forward.__name__
        self.node_name = self.name  # ``install`` adds the extension's prefix ("linalg.solve")
        sig = inspect.signature(forward)
        params = list(sig.parameters.values())
        if not params or params[0].name != "xp":
            raise TypeError(f"op {self.name}: the forward's first parameter must be 'xp'")
        self.params = params[1:]
        self.signature = sig.replace(parameters=self.params)
        names = [p.name for p in self.params]
        self.grads = []
        declared = []
        self.aux = tuple(aux)
        for key, fn in grads.items():
            keys = key if isinstance(key, tuple) else (key,)
            for k in keys:
                if k not in names:
                    raise TypeError(f"op {self.name}: grads names {k!r}, not a parameter of {names}")
            declared.extend(keys)
            self.grads.append(Grad(keys, fn, _vjp_params(self.name, fn, 2), isinstance(key, tuple)))
        # The differentiable inputs, in signature order, and the other arguments.
        self.inputs = tuple(n for n in names if n in declared)
        self.args = tuple(n for n in names if n not in declared)
        kinds = {p.name: p.kind for p in self.params}
        self.var_input = next((n for n in self.inputs if kinds[n] is inspect.Parameter.VAR_POSITIONAL), None)
        self.seq_inputs = frozenset(n for n in self.inputs if n == "arrays" or n == self.var_input)
        self.jvp = jvp
        self.jvp_params = _vjp_params(self.name, jvp, 1) if callable(jvp) else ()
        self.view = view
        self.outputs = outputs
        self.differentiable = differentiable
        self.undefined = undefined
        # A VJP may name one output of a namedtuple result (``sign`` of slogdet): only that one
        # is saved, as torch does.
        self.output_fields = tuple(getattr(outputs, "_fields", ()))
        self._check_names()
        self.scalars = scalars
        self._plans = {}
        # Precomputed for the runtime: the inputs of each VJP entry (indices), and whether every
        # input is a single array (no sequence input, no Python scalars: the common, fast case).
        self._grad_idx = tuple(tuple(self.inputs.index(k) for k in gr.inputs) for gr in self.grads)
        self._plain = not self.seq_inputs and not scalars
        self._layout0 = (-1,) * len(self.inputs)
        self._all_active = (True,) * len(self.grads)
        self.call = _make_call(self)
        self.wrapper = _make_wrapper(self)

    def __repr__(self):
        return f"<op {self.node_name}>"

    def _check_names(self):
        known = set(self.inputs) | set(self.args) | set(self.aux) | {"out", "needs"}
        known |= set(self.output_fields)
        known |= {n + s for n in self.inputs for s in ("_shape", "_dtype")}
        for gr in self.grads:
            for p in gr.params:
                if p not in known:
                    raise TypeError(
                        f"op {self.name}: VJP {gr.vjp.__name__} takes {p!r}, which is not one of {sorted(known)}"
                    )
        for p in self.jvp_params:
            if p not in known and not (p.endswith("_t") and p[:-2] in self.inputs):
                raise TypeError(
                    f"op {self.name}: JVP takes {p!r}, which is not one of {sorted(known)} or a tangent"
                )


def op(
    grads,
    *,
    jvp=None,
    view=False,
    outputs=None,
    differentiable=None,
    aux=(),
    scalars=False,
    name=None,
    undefined=False,
):
    """Declare a table entry; decorates the forward on raw arrays (see the module docstring).

    ``grads``: input name (or tuple of names, for a joint VJP) -> VJP. ``jvp``: the forward-mode
    rule, :data:`LINEAR`, :data:`ELEMENTWISE` or None (forward mode then raises a clear error).
    ``view``: the result (every output) is a view of the first input. ``outputs``: a namedtuple
    class or a count, for ops with several outputs; ``differentiable``: one bool per output.
    ``aux``: names of extra values the forward returns as ``(result, {name: value})``.
    ``scalars``: Python scalars are accepted for the inputs. ``name``: the public name, when it
    differs from the forward's. ``undefined`` (several outputs): an output that got no gradient
    reaches the VJPs as None (torch's undefined gradient) instead of zeros, so that a VJP can
    skip its terms by a test on structure, not on values (zeros cannot tell "no gradient" from
    "a gradient that is zero here": ``linalg.eigh``).
    """

    def decorate(forward):
        return Op(forward, grads, jvp, view, outputs, differentiable, aux, scalars, name, undefined)

    return decorate


def _vjp_params(opname, fn, skip):
    params = list(inspect.signature(fn).parameters.values())
    for p in params[skip:]:
        if p.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            raise TypeError(f"op {opname}: derivative {fn.__name__} may not take *args/**kwargs")
    return tuple(p.name for p in params[skip:])


# --------------------------------------------------------------------------------------------
# Generated code: the forward call and the public wrapper of an entry.


def _make_call(entry):
    """``call(xp, inputs, args)``: the forward on raw values, each passed as the spec says
    (positional-only parameters by position)."""
    parts = []
    for p in entry.params:
        src = f"i[{entry.inputs.index(p.name)}]" if p.name in entry.inputs else f"a[{p.name!r}]"
        if p.kind is inspect.Parameter.VAR_POSITIONAL:
            parts.append("*" + src)
        elif p.kind in _POS:
            parts.append(src)
        else:
            parts.append(f"{p.name}={src}")
    src = f"def call(xp, i, a):\n    return fwd(xp, {', '.join(parts)})\n"
    scope = {"fwd": entry.forward}
    exec(compile(src, f"<{entry.name} forward call>", "exec"), scope)  # noqa: S102 - fixed template
    return scope["call"]


def _make_wrapper(entry):
    """The public function: the spec signature, ``self`` first (the namespace it is a method of)."""
    decl = []
    star = False
    defaults = {}
    for p in entry.params:
        d = ""
        if p.default is not inspect.Parameter.empty:
            defaults[f"_d_{p.name}"] = p.default
            d = f"=_d_{p.name}"
        if p.kind is inspect.Parameter.VAR_POSITIONAL:
            decl.append(f"*{p.name}")
            star = True
        elif p.kind is inspect.Parameter.KEYWORD_ONLY:
            if not star:
                decl.append("*")
                star = True
            decl.append(p.name + d)
        else:
            decl.append(p.name + d)
        if p.kind is inspect.Parameter.POSITIONAL_ONLY and (
            p is entry.params[-1] or entry.params[entry.params.index(p) + 1].kind is not p.kind
        ):
            decl.append("/")
    ins = "".join(f"{n}, " for n in entry.inputs)
    args = ", ".join(f"{n!r}: {n}" for n in entry.args)
    src = (
        f"def {entry.name}(self, {', '.join(decl)}):\n"
        f"    return apply(self._root, entry, ({ins}), {{{args}}})\n"
    )
    scope = dict(defaults, apply=apply, entry=entry)
    exec(compile(src, f"<{entry.name} wrapper>", "exec"), scope)  # noqa: S102 - fixed template
    fn = scope[entry.name]
    fn.__doc__ = entry.forward.__doc__
    fn.__signature__ = inspect.Signature(
        [inspect.Parameter("self", inspect.Parameter.POSITIONAL_ONLY), *entry.params]
    )
    fn.__wrapped_op__ = entry
    return fn


def install(cls, module, prefix=""):
    """Make every entry listed in ``module.__all__`` a method of namespace class ``cls``."""
    for name in module.__all__:
        entry = getattr(module, name)
        if type(entry) is Op:
            entry.node_name = prefix + entry.name
            setattr(cls, name, entry.wrapper)


# --------------------------------------------------------------------------------------------
# The runtime: one path for every entry.


def _coerce_input(ns, entry, name, v):
    fname = entry.node_name
    if name in entry.seq_inputs:
        if name != entry.var_input and not isinstance(v, (list, tuple)):
            raise TypeError(
                f"{fname}(): argument '{name}' must be a tuple or list of arrays, got {type(v).__name__}"
            )
        return tuple(ns._coerce_unary(a, fname, f"{name}[{i}]") for i, a in enumerate(v))
    if type(v) is Tensor and v._ns is ns:
        return v
    if v is None:
        return None
    if entry.scalars and type(v) in (int, float, bool, complex):
        return v
    return ns._coerce_unary(v, fname, name)


def _raw_arg(ns, entry, name, v):
    if type(v) is Tensor:
        if v._ns is not ns:
            raise ns._wrong_tensor(v, entry.node_name, name)
        return v._data
    if type(v) is tuple and any(type(e) is Tensor for e in v):
        return tuple(_raw_arg(ns, entry, name, e) for e in v)
    if ns.backend.is_native(v):  # refused if it carries a gradient of its own (torch)
        return ns._ensure(ns.backend.constant(v, entry.node_name, name))
    return v


def _raw_input(t):
    if type(t) is Tensor:
        return t._data
    if type(t) is tuple:
        return tuple(e._data for e in t)
    return t  # None, or a Python scalar


def _flat(inputs):
    out = []
    for t in inputs:
        if type(t) is tuple:
            out.extend(t)
        else:
            out.append(t)
    return out


def apply(ns, entry, inputs, args):
    """Run entry ``entry`` on ``inputs`` (one per differentiable input) and ``args`` (the other
    arguments by name) in namespace ``ns``; the result as Tensors, recorded."""
    if entry._plain:
        if len(inputs) == 1:  # the common case, kept short
            x = inputs[0]
            if type(x) is not Tensor or x._ns is not ns:
                x = _coerce_input(ns, entry, entry.inputs[0], x)
                inputs = (x,)
            raw = (None if x is None else x._data,)
        else:
            inputs = tuple(
                v if type(v) is Tensor and v._ns is ns else _coerce_input(ns, entry, n, v)
                for n, v in zip(entry.inputs, inputs)
            )
            raw = tuple(None if t is None else t._data for t in inputs)
    else:
        inputs = tuple(_coerce_input(ns, entry, n, v) for n, v in zip(entry.inputs, inputs))
        raw = tuple(_raw_input(t) for t in inputs)
    raw_args = args
    for v in args.values():
        tv = type(v)
        if tv not in _SIMPLE and not (tv is tuple and all(type(e) in _SIMPLE for e in v)):
            raw_args = {k: _raw_arg(ns, entry, k, v) for k, v in args.items()}
            break
    res = entry.call(ns._xp, raw, raw_args)
    aux = None
    if entry.aux:
        res, aux = res
    flat = inputs if entry._plain else _flat(inputs)
    active = _active(entry, inputs) if GRAD_MODE.enabled else None
    if active is None:  # nothing requires grad: a node would not be built
        vjp, saved, kw = None, (), None
    else:
        n_out = 0 if entry.outputs is None else len(res)
        vjp, saved, kw = _node_parts(ns, entry, inputs, active, args, aux, n_out)
    if entry.outputs is None and not entry.view:
        if active is None:
            out = record(ns, entry.node_name, vjp, flat, res, forward=False)
        else:  # (record's steps, less its scan of the inputs: some requires grad)
            out = unalias(ns, ns._ensure(res), flat)
            if ns._is_differentiable_dtype(out.dtype):
                out = recorded(ns, entry.node_name, vjp, flat, out, saved, kw)
            else:
                out = result(ns, out)
    else:
        out = _record(ns, entry, flat, res, vjp, saved, kw, inputs, args)
    if FORWARD_MODE.active:
        _forward.propagate(ns, entry.node_name, _rule(ns, entry, inputs, args, out, aux), flat, out)
    return out


_SIMPLE = frozenset({int, float, bool, str, type(None), slice, type(Ellipsis)})


def _record(ns, entry, flat, res, vjp, saved, kw, inputs, args):
    if entry.outputs is None:
        view_of = flat[0] if entry.view else None
        t = record(ns, entry.node_name, vjp, flat, res, saved=saved, kw=kw, view_of=view_of, forward=False)
        if t._base is not None and view_of is not None:
            ns._set_view_fn(t, view_of, lambda b: apply(ns, entry, (b, *inputs[1:]), args))
        return t
    view_of = (flat[0],) * len(res) if entry.view else None
    outs = record_multi(
        ns, entry.node_name, vjp, flat, tuple(res), saved=saved, kw=kw,
        differentiable=entry.differentiable, view_of=view_of, forward=False,
    )  # fmt: skip
    if entry.undefined:
        node = next((t._grad_fn for t in outs if t._grad_fn is not None), None)
        if node is not None:
            node.materialize = False  # outputs without a gradient reach the VJP as None
    if view_of is not None:
        for i, t in enumerate(outs):
            if t._base is not None:
                ns._set_view_fn(t, flat[0], lambda b, i=i: apply(ns, entry, (b, *inputs[1:]), args)[i])
    if type(entry.outputs) is int:
        return outs
    return entry.outputs(*outs)


def _requires(t):
    if type(t) is Tensor:
        return t._requires_grad
    if type(t) is tuple:
        return any(type(e) is Tensor and e._requires_grad for e in t)
    return False


def _active(entry, inputs):
    """Which VJP entries are needed (a tuple of bools), or None if no input requires grad
    (the caller has checked that grad mode is on)."""
    if len(inputs) == 1:  # a single input: every VJP is for it
        return entry._all_active if _requires(inputs[0]) else None
    req = [_requires(t) for t in inputs]
    if True not in req:
        return None
    return tuple(any(req[i] for i in idx) for idx in entry._grad_idx)


def _node_parts(ns, entry, inputs, active, args, aux, n_out):
    """The node VJP, its saved values (inputs and output references) and its keyword values."""
    layout = entry._layout0 if entry._plain else tuple(len(t) if type(t) is tuple else -1 for t in inputs)
    key = (active, layout, n_out)
    plan = entry._plans.get(key)
    if plan is None:
        plan = entry._plans[key] = _plan(entry, active, layout, n_out)
    saved_spec, kw_spec, vjp = plan
    saved = []
    for kind, i in saved_spec:
        if kind is SAVE_INPUT:
            t = inputs[i]
            name = entry.inputs[i]
            if aux is not None and name in aux:
                saved.append(_stand_in(ns, t, aux[name]))
            elif type(t) is tuple:
                saved.extend(t)
            else:
                saved.append(t)
        elif kind is SAVE_OUTPUTS:
            saved.extend((OUT,) if n_out == 0 else _out_refs(n_out))
        else:  # SAVE_OUTPUT_FIELD
            saved.append(_out_refs(n_out)[i])
    kw = {}
    for name, kind, i in kw_spec:
        if kind is KW_ARG:
            kw[name] = args[name]
        elif kind is KW_NEEDS:
            kw[name] = tuple(_requires(t) for t in inputs)
        elif kind is KW_SHAPE:
            kw[name] = _input_shape(inputs[i])
        else:  # KW_DTYPE
            kw[name] = _meta(inputs[i], "dtype")
    if aux is not None:
        kw["__aux__"] = {k: v for k, v in aux.items() if k not in entry.inputs}
    return vjp, tuple(saved), kw


def _stand_in(ns, t, raw):
    """What is saved for input ``t`` when the forward names a value for it in ``aux`` (torch's
    r2c FFT saves its zero-padded input, a new tensor): ``t`` itself if the value is its own
    array (version-checked as usual), else a saved value of its own."""
    if type(t) is Tensor and raw is t._data:
        return t
    return Tensor._wrap_plain(ns, raw)


def _out_refs(n):
    return OUTS[:n] if n <= len(OUTS) else tuple(OutRef(i) for i in range(n))


def _input_shape(t):
    """An input's shape for a VJP: a plain tuple, or a ``DynamicShape`` (its array kept) where
    the backend reports an unknown size (None)."""
    if type(t) is Tensor:
        return input_shape(t._data)
    return _meta(t, "shape")


def _meta(t, attr):
    if type(t) is tuple:
        return tuple(getattr(e._data, attr) for e in t)
    if type(t) is Tensor:
        return getattr(t._data, attr)
    return None


def _plan(entry, active, layout, n_out):
    """What the node keeps and how its VJP calls the entry's VJPs, for one set of active VJPs
    and one layout of sequence inputs (computed once, cached on the entry)."""
    saved_names = []
    kw_names = []
    inputs = set(entry.inputs) | set(entry.output_fields)
    for gr, on in zip(entry.grads, active):
        if not on:
            continue
        for p in gr.params:
            if p in inputs or p == "out":
                if p not in saved_names:
                    saved_names.append(p)
            elif p not in kw_names:
                kw_names.append(p)
    # Flat slots: where each input's gradient(s) go in the tuple the node returns.
    slots = {}
    pos = 0
    for n, ln in zip(entry.inputs, layout):
        slots[n] = (pos, ln)
        pos += 1 if ln < 0 else ln
    n_flat = pos
    sizes = [(n, slots[n][1]) for n in saved_names if n in slots]
    if n_out:
        sizes.append(("out", n_out))
    calls = [gr for gr, on in zip(entry.grads, active) if on]
    needs_of = {gr.inputs: tuple(entry.inputs.index(k) for k in gr.inputs) for gr in calls}

    saved_spec = []
    for n in saved_names:
        if n == "out":
            saved_spec.append((SAVE_OUTPUTS, 0))
        elif n in entry.output_fields:
            saved_spec.append((SAVE_OUTPUT_FIELD, entry.output_fields.index(n)))
        else:
            saved_spec.append((SAVE_INPUT, entry.inputs.index(n)))
    kw_spec = []
    for n in kw_names:
        if n in entry.args:
            kw_spec.append((n, KW_ARG, 0))
        elif n in entry.aux:
            continue  # added after protection (fresh values of the forward's own)
        elif n == "needs":
            kw_spec.append((n, KW_NEEDS, 0))
        elif n.endswith("_shape"):
            kw_spec.append((n, KW_SHAPE, entry.inputs.index(n[:-6])))
        elif n.endswith("_dtype"):
            kw_spec.append((n, KW_DTYPE, entry.inputs.index(n[:-6])))
    if not entry.seq_inputs and not n_out and not entry.aux:
        vjp = _generated_vjp(entry, calls, saved_names, kw_names, slots, n_flat)
        return tuple(saved_spec), tuple(kw_spec), vjp

    def vjp(xp, g, *saved, **kw):
        vals = _unflatten(saved_names, sizes, saved)
        aux = kw.pop("__aux__", None)
        if aux:
            vals.update(aux)
        vals.update(kw)
        res = [None] * n_flat
        for keys, fn, params, joint in calls:  # (Grad's fields)
            if "needs" in params:
                vals["needs"] = tuple(kw["needs"][i] for i in needs_of[keys])
            r = fn(xp, g, **{p: vals[p] for p in params})
            for k, gk in zip(keys, r if joint else (r,)):
                at, ln = slots[k]
                if ln < 0:
                    res[at] = gk
                elif gk is not None:
                    res[at : at + ln] = gk
        return res[0] if n_flat == 1 else tuple(res)

    vjp.__name__ = vjp.__qualname__ = f"{entry.name}_vjp"
    return tuple(saved_spec), tuple(kw_spec), vjp


def _generated_vjp(entry, calls, saved_names, kw_names, slots, n_flat):
    """The node VJP as one generated function (single output, one array per input): a single
    Python call on top of the entry's VJPs, which get their values by name."""
    head = ["xp", "g", *saved_names]
    if kw_names:
        head.append("*")
        head.extend(kw_names)
    lines = [f"def vjp({', '.join(head)}):", f"    res = [None] * {n_flat}"]
    scope = {}
    for k, (keys, fn, params, joint) in enumerate(calls):  # (Grad's fields)
        scope[f"f{k}"] = fn
        args = []
        for p in params:
            if p == "needs":
                picks = ", ".join(f"needs[{entry.inputs.index(key)}]" for key in keys)
                args.append(f"needs=({picks},)")
            else:
                args.append(f"{p}={p}")
        call = f"f{k}(xp, g{''.join(', ' + a for a in args)})"
        if joint:
            lines.append(f"    r = {call}")
            for j, key in enumerate(keys):
                lines.append(f"    res[{slots[key][0]}] = r[{j}]")
        else:
            lines.append(f"    res[{slots[keys[0]][0]}] = {call}")
    lines.append("    return res[0]" if n_flat == 1 else "    return tuple(res)")
    exec(compile("\n".join(lines) + "\n", f"<{entry.name} node vjp>", "exec"), scope)  # noqa: S102
    vjp = scope["vjp"]
    vjp.__name__ = vjp.__qualname__ = f"{entry.name}_vjp"
    return vjp


def _unflatten(names, sizes, saved):
    vals = {}
    i = 0
    size_of = dict(sizes)
    for n in names:
        ln = size_of.get(n, -1)
        if ln < 0:
            vals[n] = saved[i]
            i += 1
        else:
            vals[n] = tuple(saved[i : i + ln])
            i += ln
    return vals


# --------------------------------------------------------------------------------------------
# Forward mode: the rule of an entry.


def _rule(ns, entry, inputs, args, out, aux):
    """The closure ``rule(tangents)`` that :func:`_forward.propagate` calls (or None)."""
    if entry.jvp is None:
        return None
    fn = jvp_of(entry)

    def rule(tangents):
        return fn(ns, _regroup(entry, inputs, tangents), inputs, args, out=out, aux=aux)

    return rule


def _regroup(entry, inputs, flat):
    """Flat per-input values regrouped as the inputs are (tuples for sequence inputs)."""
    out = []
    i = 0
    for t in inputs:
        if type(t) is tuple:
            out.append(tuple(flat[i : i + len(t)]))
            i += len(t)
        else:
            out.append(flat[i])
            i += 1
    return tuple(out)


def jvp_of(entry):
    """The forward-mode rule of ``entry`` as ``rule(xp, tangents, inputs, args, out=None, aux=None)``.

    ``tangents`` and ``inputs`` have one value per differentiable input (tuples for sequence
    inputs); a tangent is None where the input has none (torch's undefined tangent: skipped by
    ELEMENTWISE and by the rules that take ``needs``, which says which are defined, so that a
    constant input costs no zeros of its size; zeros for the other rules); ``args`` maps the
    other arguments to their values. With ``xp`` a raw backend
    namespace the rule runs on raw arrays (``out``/``aux`` are computed if not given); with an
    xpgrad namespace it runs on Tensors. Raises ``NotImplementedError`` if the entry has none.
    """
    rule = entry.jvp
    if rule is None:
        raise NotImplementedError(f"forward-mode derivative of {entry.node_name} is not implemented")

    rule_needs = "needs" in entry.jvp_params  # the rule skips undefined tangents itself

    def run(xp, tangents, inputs, args, out=None, aux=None):
        raw = not isinstance(getattr(xp, "backend", None), Backend)  # an xpgrad namespace has one
        needs = tuple(_has_tangent(t) for t in tangents)
        if rule is not ELEMENTWISE and not rule_needs:  # undefined tangents are zeros for these
            tangents = tuple(_zeros_for(xp, t, i) for t, i in zip(tangents, inputs))
        if rule is LINEAR:
            if raw:
                res = entry.call(xp, tuple(tangents), args)
                return res[0] if entry.aux else res
            return apply(xp, entry, tuple(tangents), args)
        if out is None and raw:
            out = entry.call(xp, tuple(inputs), args)
            if entry.aux:
                out, aux = out
        vals = dict(args)
        if aux:
            vals.update(aux)
        vals.update(zip(entry.inputs, inputs))
        vals["out"] = out
        if entry.output_fields and out is not None:
            vals.update(zip(entry.output_fields, out))
        for n, t in zip(entry.inputs, inputs):
            vals[n + "_shape"] = _shape(t)
            vals[n + "_dtype"] = _dtype(t)
        if rule is ELEMENTWISE:
            return _elementwise_jvp(xp, entry, vals, tangents)
        vals.update((n + "_t", t) for n, t in zip(entry.inputs, tangents))
        vals["needs"] = needs
        return rule(xp, **{p: vals[p] for p in entry.jvp_params})

    return run


def _has_tangent(t):
    if type(t) is tuple:
        return any(e is not None for e in t)
    return t is not None


def _zeros_for(xp, t, primal):
    """The tangent ``t``, or zeros like ``primal`` where it is undefined (None)."""
    if type(t) is tuple:
        return tuple(_zeros_for(xp, e, p) for e, p in zip(t, primal))
    if t is not None or primal is None:
        return t
    if type(primal) in (int, float, bool, complex):
        return 0
    return xp.zeros_like(primal)


def _shape(t):
    return tuple(e.shape for e in t) if type(t) is tuple else getattr(t, "shape", None)


def _dtype(t):
    return tuple(e.dtype for e in t) if type(t) is tuple else getattr(t, "dtype", None)


def _conj(xp, a):
    if xp.isdtype(a.dtype, "complex floating"):
        return xp.conj(a)
    return a


def _elementwise_jvp(xp, entry, vals, tangents):
    total = None
    by_name = dict(zip(entry.inputs, tangents))
    for keys, fn, params, joint in entry.grads:  # (Grad's fields)
        if joint:
            raise TypeError(f"op {entry.name}: ELEMENTWISE needs one VJP per input")
        t = by_name[keys[0]]
        if t is None:
            continue
        if "needs" in params:
            vals["needs"] = (True,)
        r = _conj(xp, fn(xp, _conj(xp, t), **{p: vals[p] for p in params}))
        total = r if total is None else total + r
    return total
