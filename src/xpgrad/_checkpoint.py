"""``xpgrad.checkpoint``: trade compute for memory (torch.utils.checkpoint.checkpoint).

The forward pass of ``function`` runs without recording, so none of its intermediate values are
kept; backward runs it again, with recording, to get them. Gradients are identical; peak memory
falls from "every intermediate of the segment" to "the segment's inputs and outputs".
"""

from __future__ import annotations

from . import _grad_mode
from ._autograd import grad
from ._function import Function
from ._tensor import Tensor

__all__ = ["checkpoint"]


class _Checkpoint(Function):
    @staticmethod
    def forward(ctx, function, kwargs, *args):
        ctx.function = function
        ctx.kwargs = kwargs
        ctx.save_for_backward(*(a if type(a) is Tensor else None for a in args))
        ctx.others = [None if type(a) is Tensor else a for a in args]
        return function(*args, **kwargs)

    @staticmethod
    def backward(ctx, *grad_outputs):
        saved = ctx.saved_tensors
        create_graph = _grad_mode.is_grad_enabled()
        inputs = []
        for t, other in zip(saved, ctx.others):
            if t is None:
                inputs.append(other)
            elif create_graph:
                # Recompute from the inputs themselves, so the gradient is differentiable
                # with respect to them (double backward through a checkpoint).
                inputs.append(t)
            else:
                d = t.detach()
                d._requires_grad = t._requires_grad
                inputs.append(d)
        with _grad_mode.enable_grad():
            outputs = ctx.function(*inputs, **ctx.kwargs)
        outs = outputs if isinstance(outputs, tuple) else (outputs,)
        pairs = [
            (o, g)
            for o, g in zip(outs, grad_outputs)
            if type(o) is Tensor and o._requires_grad and g is not None
        ]
        wanted = [x for x in inputs if type(x) is Tensor and x._requires_grad]
        grads = {}
        if pairs and wanted:
            result = grad(
                [o for o, _ in pairs],
                wanted,
                [g for _, g in pairs],
                create_graph=create_graph,
                allow_unused=True,
            )
            grads = {id(x): r for x, r in zip(wanted, result)}
        return (None, None) + tuple(grads.get(id(x)) if type(x) is Tensor else None for x in inputs)


def checkpoint(function, *args, **kwargs):
    """Call ``function(*args, **kwargs)`` without keeping its intermediates for backward.

    Backward recomputes them. ``function`` must be deterministic (same outputs when called
    again) and must not modify its inputs in place.
    """
    if not callable(function):
        raise TypeError(f"checkpoint(): argument 'function' must be callable, got {type(function).__name__}")
    if not any(type(a) is Tensor and a._requires_grad for a in args) or not _grad_mode.is_grad_enabled():
        return function(*args, **kwargs)
    return _Checkpoint.apply(function, kwargs, *args)
