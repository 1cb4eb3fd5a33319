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
"""

from __future__ import annotations

from . import _grad_mode
from ._engine import Node
from ._ops import target
from ._tensor import Tensor, _init, _new, counter_of, version_of

__all__ = ["Function", "FunctionCtx"]


class FunctionCtx:
    """The ``ctx`` passed to ``forward`` and ``backward``."""

    def __init__(self):
        self.needs_input_grad = ()
        self._saved = None
        self._saved_versions = None
        self._saved_outputs = None  # {position in saved: output index}
        self._non_differentiable = set()
        self._materialize_grads = True
        self._node = None
        self._released = False
        self._dirty = ()

    def save_for_backward(self, *tensors):
        """Save Tensors (or None) for ``backward``; their in-place modification is detected."""
        for i, t in enumerate(tensors):
            if t is not None and type(t) is not Tensor:
                raise TypeError(
                    f"save_for_backward(): argument {i} must be a Tensor or None, got "
                    f"{type(t).__name__}; store other values as attributes of ctx"
                )
        self._saved = tensors
        self._saved_versions = tuple(None if t is None else version_of(t) for t in tensors)

    @property
    def saved_tensors(self):
        """The tensors given to ``save_for_backward``, checked for in-place modification."""
        if self._released:
            raise RuntimeError(
                "saved_tensors: trying to backward through the graph a second time, or to "
                "access saved tensors after they have been freed; use retain_graph=True"
            )
        if self._saved is None:
            return ()
        out = []
        create_graph = _grad_mode.STATE.enabled
        for i, (t, v) in enumerate(zip(self._saved, self._saved_versions)):
            if t is None:
                out.append(None)
                continue
            if version_of(t) != v:
                raise RuntimeError(
                    f"saved_tensors: tensor {i} saved for the backward of a custom Function has "
                    f"been modified by an in-place operation (version {version_of(t)}, expected "
                    f"{v})"
                )
            if self._saved_outputs and i in self._saved_outputs and create_graph:
                node = self._node
                idx = self._saved_outputs[i]
                t = Tensor._wrap_output(t._ns, t._data, node, idx, counter_of(t))
            out.append(t)
        return tuple(out)

    def mark_non_differentiable(self, *outputs):
        """Declare outputs that never require grad (e.g. indices)."""
        self._non_differentiable.update(id(o) for o in outputs)

    def set_materialize_grads(self, value: bool):
        """With False, ``backward`` receives None for outputs that got no gradient (default: zeros)."""
        self._materialize_grads = bool(value)

    def mark_dirty(self, *tensors):
        """Declare inputs modified in place by ``forward`` (their version is bumped)."""
        self._dirty = tensors


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

    @classmethod
    def apply(cls, *args, **kwargs):
        ctx = FunctionCtx()
        tensor_args = [a for a in args if type(a) is Tensor]
        ctx.needs_input_grad = tuple(type(a) is Tensor and a._requires_grad for a in args)
        with _grad_mode.no_grad():
            outputs = cls.forward(ctx, *args, **kwargs)
        single = not isinstance(outputs, tuple)
        outs = (outputs,) if single else outputs
        # Inputs marked dirty were modified in place by forward (which bumped their version);
        # they are returned as the very same objects, now produced by this Function.
        dirty = {id(t) for t in ctx._dirty}
        if not tensor_args:
            return outputs
        ns = tensor_args[0]._ns
        track = _grad_mode.STATE.enabled and any(ctx.needs_input_grad)
        if not track:
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
        edges = []
        idx = []
        meta = []
        for a in args:
            if type(a) is Tensor and a._requires_grad:
                edges.append(target(a))
                idx.append(a._output_nr)
                meta.append((a._data.shape, a._data.dtype))
            elif type(a) is Tensor:
                edges.append(None)
                idx.append(0)
                meta.append(None)
        arg_is_tensor = tuple(type(a) is Tensor for a in args)
        node = Node(
            f"{cls.__name__}",
            _make_vjp(cls, ctx, arg_is_tensor, len(outs), ns),
            ns,
            tuple(edges),
            tuple(idx),
            tuple(meta),
        )
        node.n_out = len(outs)
        node.out_meta = tuple((o.shape, o.dtype) if type(o) is Tensor else ((), None) for o in outs)
        node.materialize = ctx._materialize_grads
        ctx._node = node
        # Outputs saved for backward are rebuilt with their grad_fn under create_graph.
        if ctx._saved:
            pos = {id(o): i for i, o in enumerate(outs) if type(o) is Tensor}
            ctx._saved_outputs = {
                k: pos[id(t)] for k, t in enumerate(ctx._saved) if t is not None and id(t) in pos
            }
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
            is_input = any(o is a for a in args)
            t = _new(Tensor)
            counter = counter_of(o) if not is_input else None
            if d:
                _init(t, ns, o._data, node, i, counter)
            else:
                _init(t, ns, o._data, None, 0, counter)
            results.append(t)
        if ctx._saved_outputs:
            # Point saved outputs at the returned Tensors' data (same memory, shared counter).
            ctx._saved = tuple(
                results[ctx._saved_outputs[k]] if k in ctx._saved_outputs else s
                for k, s in enumerate(ctx._saved)
            )
            # Do not keep the returned Tensors (that would be a cycle through the node): keep
            # detached aliases sharing data and version counter.
            ctx._saved = tuple(
                s.detach() if type(s) is Tensor and s._grad_fn is node else s for s in ctx._saved
            )
            ctx._saved_versions = tuple(None if s is None else version_of(s) for s in ctx._saved)
        return results[0] if single else tuple(results)


def _make_vjp(cls, ctx, arg_is_tensor, n_out, ns):
    def vjp(xp, g):
        create_graph = xp is ns
        gs = tuple(g)
        wrapped = []
        for gi in gs:
            if gi is None:
                wrapped.append(None)
            elif type(gi) is Tensor:
                wrapped.append(gi)
            else:
                wrapped.append(Tensor._wrap_plain(ns, gi))
        with _grad_mode.set_grad_enabled(create_graph):
            grads = cls.backward(ctx, *wrapped)
        if not isinstance(grads, tuple):
            grads = (grads,)
        if len(grads) < len(arg_is_tensor):
            raise RuntimeError(
                f"{cls.__name__}.backward returned {len(grads)} gradients, expected "
                f"{len(arg_is_tensor)} (one per argument of forward, None for non-Tensors)"
            )
        result = []
        for k, (is_t, gr) in enumerate(zip(arg_is_tensor, grads)):
            if not is_t:
                continue
            if gr is not None and type(gr) is not Tensor and not ns._backend.is_native(gr):
                raise TypeError(
                    f"{cls.__name__}.backward: gradient {k} must be a Tensor or None, got {type(gr).__name__}"
                )
            if gr is None:
                result.append(None)
            elif create_graph:
                result.append(gr if type(gr) is Tensor else Tensor._wrap_plain(ns, gr))
            else:
                result.append(gr._data if type(gr) is Tensor else gr)
        return tuple(result) if len(result) != 1 else result[0]

    vjp.__qualname__ = f"{cls.__name__}.backward"
    return vjp
