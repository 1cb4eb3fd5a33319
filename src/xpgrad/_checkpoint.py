"""``xpgrad.checkpoint``: trade compute for memory (torch.utils.checkpoint, non-reentrant).

``function`` runs normally, so the graph is recorded as usual and every tensor it uses gets
its gradient (arguments, keyword arguments and tensors it captures from outside alike), but
the values its operations save for backward are replaced by placeholders (through
``saved_tensors_hooks``). When backward first needs one, the function is run again on the same
inputs to recompute them. Gradients are identical; peak memory falls from "every value the
segment saves" to "the segment's inputs and outputs".
"""

from __future__ import annotations

from . import _grad_mode
from ._graph import version_of
from ._hooks import saved_tensors_hooks
from ._tensor import Tensor

__all__ = ["checkpoint"]


class _Segment:
    """One checkpointed call: how to recompute it, and the values recomputed so far."""

    def __init__(self, function, args, kwargs):
        self.function = function
        self.args = args
        self.kwargs = kwargs
        self.count = 0
        self.cache = {}
        # The version of each Tensor argument before the first run: recomputing from an input
        # modified in place since (by the function itself, or afterwards) would replay the
        # function on other values.
        named = [(f"argument {i}", a) for i, a in enumerate(args)]
        named += [(f"keyword argument {k!r}", v) for k, v in kwargs.items()]
        self.versions = [(name, t, version_of(t)) for name, t in named if type(t) is Tensor]

    def pack(self, tensor):
        k = self.count
        self.count += 1
        return k

    def unpack(self, k):
        if k not in self.cache:
            self._recompute()
        try:
            return self.cache.pop(k)
        except KeyError:
            raise RuntimeError(
                "checkpoint(): the recomputed forward pass saved different values than the first "
                "one; the checkpointed function must be deterministic and must not depend on "
                "state that changed since"
            ) from None

    def _check_inputs(self):
        for name, t, version in self.versions:
            if version_of(t) != version:
                fn = getattr(self.function, "__qualname__", None) or repr(self.function)
                raise RuntimeError(
                    f"checkpoint(): {name} of the checkpointed function {fn} was modified in place "
                    f"(version {version_of(t)}, {version} when checkpoint() called it), by the "
                    "function itself or after it returned; backward recomputes the function from "
                    "its inputs, and would replay it on the modified values. Make the function "
                    "use out-of-place operations on its inputs (a = a * 2, not a *= 2), or "
                    "pass a copy"
                )

    def _recompute(self):
        self._check_inputs()
        saved = []

        def keep(t):
            saved.append(t)
            return t

        # The recomputed graph keeps its saved values themselves (unpacked by identity): an
        # unpack hook that looked them up in `saved` would make a reference cycle (saved ->
        # tensor -> node -> hook -> saved), and the whole segment would outlive its backward.

        # Under create_graph (grad enabled during the backward sweep) recompute from the inputs
        # themselves so that the recomputed values are differentiable with respect to them;
        # otherwise from detached aliases, so the first graph is left untouched.
        create_graph = _grad_mode.is_grad_enabled()
        args = self.args if create_graph else tuple(_alias(a) for a in self.args)
        with _grad_mode.enable_grad(), saved_tensors_hooks(keep, _identity):
            self.function(*args, **self.kwargs)
        if len(saved) != self.count:
            raise RuntimeError(
                f"checkpoint(): the recomputed forward pass saved {len(saved)} values, the first "
                f"one {self.count}; the checkpointed function must be deterministic"
            )
        self.cache = dict(enumerate(saved))


def _identity(t):
    return t


def _alias(a):
    if type(a) is not Tensor:
        return a
    d = a.detach()
    d._requires_grad = a._requires_grad
    return d


def checkpoint(function, *args, **kwargs):
    """Call ``function(*args, **kwargs)`` without keeping the values it saves for backward.

    Backward recomputes them by calling ``function`` again with the same arguments, so it must
    be deterministic and must not modify its inputs in place (backward raises if a Tensor
    argument was modified in place since the call). Every tensor it uses receives
    its gradient, including tensors it captures from an enclosing scope.
    """
    if not callable(function):
        raise TypeError(f"checkpoint(): argument 'function' must be callable, got {type(function).__name__}")
    if not _grad_mode.is_grad_enabled():
        return function(*args, **kwargs)
    segment = _Segment(function, args, kwargs)
    with saved_tensors_hooks(segment.pack, segment.unpack):
        return function(*args, **kwargs)
