"""``xpgrad.backward`` and ``xpgrad.grad``: torch.autograd's two entry points."""

from __future__ import annotations

from collections.abc import Sequence

from ._backends import adopt_unknown_chunks, shapes_match
from ._engine import run_backward
from ._forward import FORWARD_MODE
from ._tensor import UPPER as _TENSOR_UPPER
from ._tensor import Tensor

__all__ = ["backward", "grad", "tensor_backward"]


def _as_tensor_tuple(value, fname, argname):
    if type(value) is Tensor:
        return (value,)
    if isinstance(value, Sequence) and not isinstance(value, str):
        out = tuple(value)
        for i, t in enumerate(out):
            if type(t) is not Tensor:
                raise TypeError(
                    f"{fname}(): argument '{argname}' must be a Tensor or a sequence of Tensors; "
                    f"element {i} is {type(t).__name__}"
                )
        return out
    raise TypeError(
        f"{fname}(): argument '{argname}' must be a Tensor or a sequence of Tensors, got "
        f"{type(value).__name__}"
    )


class _Caller:
    """How the caller spells its function and arguments, for error messages: ``y.backward(g)``
    (``Tensor.backward``, one output, ``gradient``), ``xpgrad.backward(tensors, grad_tensors)``
    or ``xpgrad.grad(outputs, inputs, grad_outputs)``."""

    __slots__ = ("fname", "outs", "grads", "method")

    def __init__(self, fname, outs, grads):
        self.fname = fname
        self.outs = outs
        self.grads = grads
        self.method = fname == "Tensor.backward"

    def grad_of(self, i):
        return f"'{self.grads}'" if self.method else f"'{self.grads}'[{i}]"

    def grad_name(self, i):
        return self.grads if self.method else f"{self.grads}[{i}]"

    def output(self, i):
        return "this tensor" if self.method else f"output {i}"


_TENSOR_BACKWARD = _Caller("Tensor.backward", "self", "gradient")
_BACKWARD = _Caller("backward", "tensors", "grad_tensors")
_GRAD = _Caller("grad", "outputs", "grad_outputs")


def _root_grads(outputs, grads, create_graph, call):
    if grads is None:
        grads = (None,) * len(outputs)
    elif type(grads) is Tensor or not isinstance(grads, Sequence):
        grads = (grads,)
    else:
        grads = tuple(grads)
    if len(grads) != len(outputs):
        raise RuntimeError(
            f"{call.fname}(): got {len(grads)} gradients in '{call.grads}' for {len(outputs)} "
            f"outputs in '{call.outs}'; pass one per output (None for a scalar output)"
        )
    return [_root_grad(i, out, g, create_graph, call) for i, (out, g) in enumerate(zip(outputs, grads))]


def _root_grad(i, out, g, create_graph, call):
    """The gradient of output ``i`` as the engine takes it (raw, or a Tensor under create_graph)."""
    ns = out._ns
    backend = ns.backend
    raw = backend.xp
    fname, argname, what = call.fname, call.grad_of(i), call.output(i)
    if g is None:
        if backend.size(out._data) != 1:
            shape = tuple(out.shape)
            where = "" if call.method else f" for output {i}"
            raise RuntimeError(
                f"{fname}(): grad can be implicitly created only for scalar outputs; {what} has "
                f"shape {shape}. Pass '{call.grads}' with a gradient of shape {shape}{where} "
                "(ones: the gradient of the sum), or reduce the output to a scalar first (xp.sum(y))"
            )
        data = raw.ones_like(out._data)
        return Tensor._wrap_plain(ns, data) if create_graph else data
    if type(g) is Tensor:
        if g._ns is not ns:
            raise TypeError(
                f"{fname}(): {argname} is on backend {g._ns.backend.name!r}, {what} on "
                f"{backend.name!r}; pass a gradient of {what}'s namespace"
            )
    elif backend.is_native(g):
        g = Tensor._wrap_plain(ns, backend.ensure(g))
    elif isinstance(g, (int, float, complex)) and not isinstance(g, bool):
        g = Tensor._wrap_plain(ns, raw.full_like(out._data, g))
    else:
        raise backend.foreign_error(g, fname, call.grad_name(i)) or TypeError(
            f"{fname}(): {argname} must be a Tensor, an array, a Python scalar or None, got "
            f"{type(g).__name__}"
        )
    if not shapes_match(g.shape, out.shape):  # an unknown (nan/None) dimension matches any
        raise RuntimeError(
            f"{fname}(): mismatch in shape: {argname} has shape {tuple(g.shape)} and {what} "
            f"has shape {tuple(out.shape)}"
        )
    device = backend.device
    if device(g._data) != device(out._data):
        raise RuntimeError(
            f"{fname}(): invalid gradient {argname} - expected device "
            f"{device(out._data)} (the device of {what}) but got {device(g._data)}"
        )
    if raw.isdtype(g.dtype, "complex floating") != raw.isdtype(out.dtype, "complex floating"):
        raise RuntimeError(
            f"{fname}(): {argname} has dtype {g.dtype}, {what} has dtype {out.dtype}; "
            "one is complex and the other is not"
        )
    if g.dtype != out.dtype:
        g = ns.astype(g, out.dtype)
    if backend.chunked and tuple(g.shape) != tuple(out.shape) and not g._requires_grad:
        # an output of unknown (nan) length: the gradient takes its blocks (Dask)
        g = Tensor._wrap_plain(ns, adopt_unknown_chunks(g._data, out._data))
    return g if create_graph else g._data


def _check_roots(outputs, call):
    for i, t in enumerate(outputs):
        if not t._requires_grad:
            what = "this tensor" if call.method else f"element {i} of '{call.outs}'"
            raise RuntimeError(
                f"{call.fname}(): {what} does not require grad and has no grad_fn; "
                "nothing to differentiate (was it computed under no_grad, or from inputs that do "
                "not require grad?)"
            )
        # A view's grad_fn is brought up to date (after in-place changes of its base) when read.
        t.grad_fn  # noqa: B018


def backward(
    tensors: Tensor | Sequence[Tensor],
    grad_tensors: Tensor | Sequence[Tensor | None] | None = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    inputs: Tensor | Sequence[Tensor] | None = None,
) -> None:
    """Accumulate gradients of ``tensors`` into the ``.grad`` of the leaves of their graph.

    As ``torch.autograd.backward``: ``grad_tensors`` is needed for non-scalar outputs;
    ``inputs`` restricts accumulation to those tensors.
    """
    outputs = _as_tensor_tuple(tensors, "backward", "tensors")
    _run_backward(outputs, grad_tensors, retain_graph, create_graph, inputs, _BACKWARD)


def tensor_backward(tensor, gradient, retain_graph, create_graph, inputs) -> None:
    """``tensor.backward(gradient, ...)``: errors name ``Tensor.backward`` and ``gradient``."""
    grads = None if gradient is None else (gradient,)
    _run_backward((tensor,), grads, retain_graph, create_graph, inputs, _TENSOR_BACKWARD)


def _run_backward(outputs, grad_tensors, retain_graph, create_graph, inputs, call):
    fname = call.fname
    _check_roots(outputs, call)
    if retain_graph is None:
        retain_graph = create_graph
    if inputs is not None:
        inputs = _as_tensor_tuple(inputs, fname, "inputs")
        if not inputs:
            raise RuntimeError(f"{fname}(): argument 'inputs' must not be empty")
        _check_inputs(inputs, fname)
    roots = _root_grads(outputs, grad_tensors, create_graph or FORWARD_MODE.active != 0, call)
    run_backward(
        outputs,
        roots,
        retain_graph=retain_graph,
        create_graph=create_graph,
        inputs=inputs,
        accumulate=True,
        allow_unused=True,
    )


def _check_inputs(inputs, fname):
    for k, t in enumerate(inputs):
        if not t._requires_grad:
            raise RuntimeError(
                f"{fname}(): 'inputs'[{k}] does not require grad; pass Tensors that do (leaves "
                "made with requires_grad=True, or results computed from them)"
            )


def grad(
    outputs: Tensor | Sequence[Tensor],
    inputs: Tensor | Sequence[Tensor],
    grad_outputs: Tensor | Sequence[Tensor | None] | None = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    allow_unused: bool | None = None,
    materialize_grads: bool = False,
) -> tuple[Tensor | None, ...]:
    """Return the gradients of ``outputs`` with respect to ``inputs``, without touching ``.grad``.

    As ``torch.autograd.grad``: returns a tuple with one entry per input; an input the outputs
    do not depend on is an error unless ``allow_unused`` (then None, or zeros with
    ``materialize_grads``).
    """
    outs = _as_tensor_tuple(outputs, "grad", "outputs")
    ins = _as_tensor_tuple(inputs, "grad", "inputs")
    if not ins:
        raise RuntimeError("grad(): argument 'inputs' must not be empty")
    _check_roots(outs, _GRAD)
    _check_inputs(ins, "grad")
    if allow_unused is None:
        allow_unused = materialize_grads
    if materialize_grads and not allow_unused:
        raise ValueError("grad(): materialize_grads=True requires allow_unused to be True or None")
    if retain_graph is None:
        retain_graph = create_graph
    roots = _root_grads(outs, grad_outputs, create_graph or FORWARD_MODE.active != 0, _GRAD)
    result = run_backward(
        outs,
        roots,
        retain_graph=retain_graph,
        create_graph=create_graph,
        inputs=ins,
        accumulate=False,
        allow_unused=allow_unused,
        caller="grad",
    )
    if materialize_grads:
        result = [r if r is not None else t._ns.zeros_like(t.detach()) for r, t in zip(result, ins)]
    return tuple(result)


_TENSOR_UPPER.backward = tensor_backward  # Tensor.backward's entry (attached: _tensor is below)
