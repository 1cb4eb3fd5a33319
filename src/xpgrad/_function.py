"""``xpgrad.Function``: user-defined differentiable operations (torch.autograd.Function).

```python
class Exp(xpgrad.Function):
    @staticmethod
    def forward(ctx, x):
        xp = x.__array_namespace__()
        out = xp.exp(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return g * out

y = Exp.apply(x)
```

``forward`` runs with grad disabled; ``backward`` receives one gradient per output and returns
one gradient (or None) per ``forward`` argument. When ``backward`` is written with xpgrad
operations it is itself differentiable, so ``create_graph=True`` gives higher order.

As torch's: the tensors given to ``save_for_backward`` are kept by the graph node exactly as an
op's saved values (version-checked, packed by ``saved_tensors_hooks``, an output saved as a
reference to the node's output, never as the output Tensor) and are freed after a backward
without ``retain_graph``; the ctx keeps no reference to the node or to the outputs (an output
kept as a ctx attribute, which only a ``mark_dirty`` input can be, is moved to the node as a
saved output: :func:`_outputs_on_ctx`), so a graph through a Function has no reference cycle.
Each backward call hands ``backward`` a per-call view of the ctx (its own ``saved_tensors``,
every other attribute shared), so concurrent backward calls through one retained Function node
do not interfere.
"""

from __future__ import annotations

from . import _forward, _grad_mode
from ._forward import FORWARD_MODE
from ._grad_mode import GRAD_MODE
from ._graph import OUTS, Node, OutRef, counter_of, version_of
from ._ops import target
from ._tensor import Tensor, _init, _new

__all__ = ["Function", "FunctionCtx"]


class FunctionCtx:
    """The ``ctx`` passed to ``forward`` and ``backward``."""

    def __init__(self):
        self.needs_input_grad = ()
        self._saved = None  # what forward passed to save_for_backward (moved to the node by apply)
        self._non_differentiable = set()
        self._materialize_grads = True
        self._dirty = ()
        self._applied = False
        self._saved_forward = None  # what forward passed to save_for_forward (for jvp)

    def save_for_backward(self, *tensors):
        """Save Tensors (or None) for ``backward``; their in-place modification is detected."""
        for i, t in enumerate(tensors):
            if t is not None and type(t) is not Tensor:
                raise TypeError(
                    f"save_for_backward(): argument {i} must be a Tensor or None, got "
                    f"{type(t).__name__}; store other values as attributes of ctx"
                )
        self._saved = tensors

    def save_for_forward(self, *tensors):
        """Save Tensors (or None) for ``jvp`` (forward mode), read there as ``ctx.saved_tensors``."""
        for i, t in enumerate(tensors):
            if t is not None and type(t) is not Tensor:
                raise TypeError(
                    f"save_for_forward(): argument {i} must be a Tensor or None, got "
                    f"{type(t).__name__}; store other values as attributes of ctx"
                )
        self._saved_forward = tensors

    @property
    def saved_tensors(self):
        """The tensors given to ``save_for_backward`` (read them in ``backward``)."""
        if self._applied:
            raise RuntimeError(
                "saved_tensors: the saved tensors of a custom Function are available in its "
                "backward only (they are kept by the graph node and freed after backward)"
            )
        return tuple(self._saved or ())

    def mark_non_differentiable(self, *outputs):
        """Declare outputs that never require grad (e.g. indices)."""
        self._non_differentiable.update(id(o) for o in outputs)

    def set_materialize_grads(self, value: bool):
        """With False, ``backward`` receives None for outputs that got no gradient (default: zeros)."""
        self._materialize_grads = bool(value)

    def mark_dirty(self, *tensors):
        """Declare inputs modified in place by ``forward`` (their version is bumped)."""
        self._dirty = tensors


class _BackwardCtx(FunctionCtx):
    """The ctx of one backward call: its own ``saved_tensors`` and the attributes that held an
    output (see :func:`_outputs_on_ctx`), unpacked for this call; every other attribute is the
    Function's ctx's (read and written through)."""

    def __init__(self, ctx, saved, attrs=None):  # FunctionCtx.__init__ is deliberately not run
        object.__setattr__(self, "_ctx", ctx)
        object.__setattr__(self, "_unpacked", saved)
        object.__setattr__(self, "_attrs", attrs or {})

    def __getattr__(self, name):
        attrs = object.__getattribute__(self, "_attrs")
        if name in attrs:
            return attrs[name]
        return getattr(object.__getattribute__(self, "_ctx"), name)

    def __setattr__(self, name, value):
        object.__getattribute__(self, "_attrs").pop(name, None)
        setattr(object.__getattribute__(self, "_ctx"), name, value)

    @property
    def saved_tensors(self):
        return object.__getattribute__(self, "_unpacked")


class _ForwardCtx(_BackwardCtx):
    """The ctx of a ``jvp`` call: ``saved_tensors`` are those of ``save_for_forward`` (or, if
    none, of ``save_for_backward``)."""


class _FunctionMeta(type):
    def __call__(cls, *args, **kwargs):
        raise RuntimeError(
            f"{cls.__name__}: custom Functions are not instantiated; call {cls.__name__}.apply(...)"
        )


class Function(metaclass=_FunctionMeta):
    """Base class of custom differentiable operations; see the module docstring."""

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("Function.forward must be overridden")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError("Function.backward must be overridden to differentiate this Function")

    @staticmethod
    def jvp(ctx, *grad_inputs):
        """Forward mode: the tangent of each output from one tangent per ``forward`` argument
        (zeros for a Tensor argument without one, None for a non-Tensor argument)."""
        raise NotImplementedError(
            "You must implement the jvp function for custom autograd.Function to use it with forward mode AD."
        )

    @classmethod
    def apply(cls, *args, **kwargs):
        ctx = FunctionCtx()
        tensor_args = [a for a in args if type(a) is Tensor]
        ctx.needs_input_grad = tuple(type(a) is Tensor and a._requires_grad for a in args)
        fw_active = FORWARD_MODE.active
        FORWARD_MODE.active = 0  # forward's own ops carry no tangents: jvp gives them
        try:
            with _grad_mode.no_grad():
                outputs = cls.forward(ctx, *args, **kwargs)
        finally:
            FORWARD_MODE.active = fw_active
        single = not isinstance(outputs, tuple)
        outs = (outputs,) if single else outputs
        # Inputs marked dirty were modified in place by forward (which bumped their version);
        # they are returned as the very same objects, now produced by this Function.
        dirty = {id(t) for t in ctx._dirty}
        ctx._dirty = ()  # the dirty inputs become outputs: keeping them would be a cycle
        user_saved = ctx._saved or ()
        ctx._saved = None
        ctx._applied = True
        if not tensor_args:
            return outputs
        ns = tensor_args[0]._ns
        track = GRAD_MODE.enabled and any(ctx.needs_input_grad)
        if not track:
            if fw_active and _forward.has_tangent(*tensor_args):
                results = tuple(_fresh(ns, o) if id(o) in {id(a) for a in tensor_args} else o for o in outs)
                _forward_tangents(cls, ctx, ns, args, user_saved, results)
                return results[0] if single else results
            return outputs
        for a in tensor_args:
            if a._ns is not ns:
                raise TypeError(f"{cls.__name__}.apply(): Tensors of different backends were mixed")
        diff = []
        for o in outs:
            ok = (
                type(o) is Tensor
                and id(o) not in ctx._non_differentiable
                and ns._is_differentiable_dtype(o.dtype)
            )
            diff.append(ok)
        edges, idx, meta, devices = _edges_of(ns, args)
        arg_is_tensor = tuple(type(a) is Tensor for a in args)
        input_ids = {id(a) for a in tensor_args}

        # Output i of the node: a fresh Tensor sharing the data and version counter of what
        # forward returned (the input object itself for a dirty input).
        counters = []
        for o, d in zip(outs, diff):
            if type(o) is not Tensor:
                counters.append(None)
            elif id(o) in input_ids and not (d and id(o) in dirty):
                counters.append(None)  # an input returned as is: an independent new Tensor
            else:
                counters.append(counter_of(o))
        # Outputs kept as ctx attributes are saved too (else: ctx -> output -> node -> ctx).
        attr_templates, attr_outputs = _outputs_on_ctx(ctx, outs, diff, dirty)
        saved_in = tuple(user_saved) + attr_outputs
        # What the node keeps: saved inputs as Tensors, saved differentiable outputs as
        # references to the node's outputs (never the output Tensors: a reference cycle), saved
        # non-differentiable outputs as the Tensors forward returned (they have no grad_fn).
        position = {id(o): i for i, o in enumerate(outs) if type(o) is Tensor}
        saved = []
        saved_outs = set()
        for s in saved_in:
            i = position.get(id(s)) if s is not None else None
            if i is not None and diff[i] and counters[i] is not None:
                saved.append(OUTS[i] if i < len(OUTS) else OutRef(i))
                saved_outs.add(i)
            else:
                saved.append(s)
        saved = tuple(saved)
        versions = tuple(version_of(s) if type(s) is Tensor else None for s in saved)
        node = Node(
            f"{cls.__name__}",
            _make_vjp(
                cls, ctx, arg_is_tensor, tuple(meta), tuple(devices), ns, (len(user_saved), attr_templates)
            ),
            ns,
            tuple(edges),
            tuple(idx),
            tuple(meta),
            saved,
            versions,
        )
        node.n_out = len(outs)
        node.out_meta = tuple((o.shape, o.dtype) if type(o) is Tensor else ((), None) for o in outs)
        node.materialize = ctx._materialize_grads
        if saved_outs:
            # Only the saved outputs are kept (and packed by saved_tensors_hooks, once each).
            node.out_data = tuple(o._data if i in saved_outs else None for i, o in enumerate(outs))
            node.out_versions = tuple(None if c is None else (c, c[0]) for c in counters)
            if node.pack is not None:
                node.pack_outputs()
        results = _node_outputs(cls, ns, node, outs, diff, dirty, counters)
        if fw_active:
            _forward_tangents(cls, ctx, ns, args, user_saved, tuple(results))
        for name in attr_templates:  # now kept by the node, handed to backward by _BackwardCtx
            delattr(ctx, name)
        return results[0] if single else tuple(results)


_CTX_OWN = frozenset(vars(FunctionCtx()))  # the ctx's own attributes (needs_input_grad, ...)


def _outputs_on_ctx(ctx, outs, diff, dirty):
    """The attributes of ``ctx`` that hold a differentiable output of the node, alone or in a
    tuple or list (only a ``mark_dirty`` input can be one: other outputs are new Tensors).

    Returns ``({name: template}, outputs)``: the template is the attribute's value with each
    output replaced by its position in ``outputs`` (an ``int`` marker). The node saves
    ``outputs`` as its saved outputs (as ``save_for_backward`` would: version-checked, packed
    by ``saved_tensors_hooks``, freed after backward, differentiable under ``create_graph``) and
    the attributes leave ``ctx``, which would otherwise close a reference cycle through the
    output's ``grad_fn``.
    """
    wanted = {id(o) for o, d in zip(outs, diff) if d and id(o) in dirty}
    if not wanted:
        return {}, ()
    templates, found, slots = {}, [], {}

    def marker(v):
        if type(v) is Tensor and id(v) in wanted:
            if id(v) not in slots:  # one slot per output: the same object again in backward
                slots[id(v)] = _Slot(len(found))
                found.append(v)
            return slots[id(v)]
        return v

    for name, value in vars(ctx).items():
        if name in _CTX_OWN:
            continue
        if type(value) in (tuple, list) and any(type(v) is Tensor and id(v) in wanted for v in value):
            templates[name] = type(value)(marker(v) for v in value)
        elif type(value) is Tensor and id(value) in wanted:
            templates[name] = marker(value)
    return templates, tuple(found)


class _Slot:
    """In a ctx attribute's template (:func:`_outputs_on_ctx`): the saved output ``index``."""

    __slots__ = ("index",)

    def __init__(self, index):
        self.index = index


def _ctx_attrs(templates, values):
    """The ctx attributes of one backward call: the templates with their saved outputs."""
    out = {}
    for name, t in templates.items():
        if type(t) is _Slot:
            out[name] = values[t.index]
        else:
            out[name] = type(t)(values[v.index] if type(v) is _Slot else v for v in t)
    return out


def _fresh(ns, o):
    """A new Tensor sharing ``o``'s data and version counter (an input returned by forward as is
    gets its own tangent without changing the input's)."""
    t = _new(Tensor)
    _init(t, ns, o._data, None, 0, counter_of(o))
    return t


def _forward_tangents(cls, ctx, ns, args, saved_in, results):
    """Give the outputs of ``cls.apply`` their tangents from ``cls.jvp`` (forward mode)."""
    inputs = tuple(a if type(a) is Tensor else None for a in args)
    saved = ctx._saved_forward if ctx._saved_forward is not None else saved_in

    def rule(tangents):
        # As torch: zeros for a Tensor argument without a tangent, None for a non-Tensor one.
        out = cls.jvp(_ForwardCtx(ctx, tuple(saved)), *_forward.zeros_for(tangents, inputs))
        out = out if isinstance(out, tuple) else (out,)
        if len(out) != len(results):
            raise RuntimeError(
                f"{cls.__name__}.jvp returned {len(out)} tangents, expected {len(results)} (one per "
                "output of forward)"
            )
        return out

    _forward.propagate(ns, cls.__name__, rule, inputs, results)


def _is_complex(ns, dtype):
    return ns._xp.isdtype(dtype, "complex floating")


def _edges_of(ns, args):
    """The node's edges: one per Tensor argument (None where it needs no gradient), with the
    output index, (shape, dtype) and device of each input that requires grad."""
    edges, idx, meta, devices = [], [], [], []
    device = ns.backend.device
    for a in args:
        if type(a) is Tensor and a._requires_grad:
            edges.append(target(a))
            idx.append(a._output_nr)
            meta.append((a._data.shape, a._data.dtype))
            devices.append(device(a._data))
        elif type(a) is Tensor:
            edges.append(None)
            idx.append(0)
            meta.append(None)
            devices.append(None)
    return edges, idx, meta, devices


def _node_outputs(cls, ns, node, outs, diff, dirty, counters):
    """The Tensors ``apply`` returns: output ``i`` of ``node`` for each differentiable output
    (the dirty input object itself, now produced by the node), plain Tensors for the others."""
    results = []
    for i, (o, d) in enumerate(zip(outs, diff)):
        if type(o) is not Tensor:
            results.append(o)
            continue
        if d and id(o) in dirty:
            if o._grad_fn is None and o._requires_grad:
                raise RuntimeError(
                    f"{cls.__name__}.apply(): a leaf Tensor that requires grad was modified in "
                    "place by forward (mark_dirty); use a copy, or run outside the graph"
                )
            if o._base is not None:
                raise RuntimeError(
                    f"{cls.__name__}.apply(): mark_dirty on a view is not supported; modify the "
                    "base tensor, or a copy"
                )
            o._grad_fn = node
            o._output_nr = i
            o._requires_grad = True
            o._retains_grad = False
            results.append(o)
            continue
        t = _new(Tensor)
        if d:
            _init(t, ns, o._data, node, i, counters[i])
        else:
            _init(t, ns, o._data, None, 0, counters[i])
        results.append(t)
    return results


def _expandable(shape, to):
    """True if an array of ``shape`` broadcasts to ``to`` (torch's is_expandable_to)."""
    if len(shape) > len(to):
        return False
    for a, b in zip(reversed(shape), reversed(to)):
        if a != b and a != 1:
            return False
    return True


def _make_vjp(cls, ctx, arg_is_tensor, meta, devices, ns, ctx_saved):
    """The node's VJP: ``cls.backward`` on a per-call ctx, its gradients checked as torch does.
    ``ctx_saved``: how many saved values are ``save_for_backward``'s, and the templates of the
    ctx attributes the rest stand for (:func:`_outputs_on_ctx`)."""
    name = f"{cls.__name__}Backward"
    n_user, templates = ctx_saved
    n_args = len(arg_is_tensor)
    backend = ns.backend

    def vjp(xp, g, *saved):
        create_graph = xp is ns
        wrapped = []
        for gi in g:
            if gi is None:
                wrapped.append(None)
            elif type(gi) is Tensor:
                wrapped.append(gi)
            else:
                wrapped.append(Tensor._wrap_plain(ns, gi))
        tensors = tuple(s if s is None or type(s) is Tensor else Tensor._wrap_plain(ns, s) for s in saved)
        attrs = _ctx_attrs(templates, tensors[n_user:]) if templates else None
        with _grad_mode.set_grad_enabled(create_graph):
            grads = cls.backward(_BackwardCtx(ctx, tensors[:n_user], attrs), *wrapped)
        if not isinstance(grads, tuple):
            grads = (grads,)
        if len(grads) != n_args:
            if len(grads) < n_args or any(gr is not None for gr in grads[n_args:]):
                raise RuntimeError(
                    f"function {name} returned an incorrect number of gradients (expected "
                    f"{n_args}, got {len(grads)}): {cls.__name__}.backward returns one gradient "
                    "(or None) per argument of forward"
                )
        result = []
        m = 0  # position among the Tensor arguments (the node's inputs)
        for k, (is_t, gr) in enumerate(zip(arg_is_tensor, grads)):
            if not is_t:
                continue
            mk, dev = meta[m], devices[m]
            m += 1
            if gr is None or mk is None:  # no gradient, or an input that does not require grad
                result.append(None)
                continue
            if type(gr) is Tensor:
                if gr._ns is not ns:
                    raise TypeError(
                        f"function {name} returned an invalid gradient at index {k}: a Tensor of "
                        f"backend {gr._ns.backend.name!r}, expected {backend.name!r}"
                    )
                data = gr._data
            elif backend.is_native(gr):
                data = gr
            else:
                raise TypeError(
                    f"function {name} returned an invalid gradient at index {k}: expected a "
                    f"Tensor of backend {backend.name!r} or None, got {type(gr).__name__}"
                )
            shape, dtype = mk
            if tuple(data.shape) != tuple(shape) and not _expandable(tuple(shape), tuple(data.shape)):
                raise RuntimeError(
                    f"Function {name} returned an invalid gradient at index {k} - got "
                    f"{list(data.shape)} but expected shape compatible with {list(shape)}"
                )
            if _is_complex(ns, data.dtype) and not _is_complex(ns, dtype):
                raise RuntimeError(
                    f"Function {name} returned an invalid gradient at index {k} - got a complex "
                    f"gradient ({data.dtype}) for a real input ({dtype})"
                )
            gdev = backend.device(data)
            if gdev != dev:
                raise RuntimeError(
                    f"Function {name} returned an invalid gradient at index {k} - expected device "
                    f"{dev} but got {gdev}"
                )
            if create_graph:
                result.append(gr if type(gr) is Tensor else Tensor._wrap_plain(ns, gr))
            else:
                result.append(data)
        return tuple(result) if len(result) != 1 else result[0]

    vjp.__qualname__ = f"{cls.__name__}.backward"
    return vjp
