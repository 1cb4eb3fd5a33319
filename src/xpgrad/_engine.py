"""The backward engine: one sweep over the graph from the roots to the leaves.

:func:`run_backward` seeds the gradient buffers with the roots' gradients, orders the nodes
reachable from the roots (:func:`_toposort`, iterative, so a chain of a million ops is fine),
and sweeps them once (:func:`_sweep`), each node after all of its consumers: its VJP runs on
its complete output gradient and the result is routed to the node's inputs. Every gradient a
VJP returns passes through :func:`_normalise`, the one place where gradients are summed back to
the input's shape (broadcasting), cast to its dtype, and reduced to the real part for a real
input. Two contributions to one gradient are added by :func:`_sum`, the accumulation policy.
``inputs=`` (``xpgrad.grad``, ``backward(inputs=...)``) is handled apart, by :class:`_Capture`.

The graph data (Node, version counters, saved-value records) lives in ``_graph.py``. The engine
reads a namespace only through ``ns.backend``, the backend's capabilities (``_backends.Backend``):
its raw array namespace ``backend.xp`` (a plain backward runs every VJP and makes every zero
gradient there), ``backend.device(array)``, ``backend.name`` for messages, ``backend.quiet()``,
and for accumulation ``backend.add_inplace``, ``backend.may_alias`` and ``backend.copy``.
Every node computes with its own namespace, so roots of several backends or devices can be
differentiated in one call.
"""

from __future__ import annotations

import gc
import operator
import threading

from . import _forward
from ._backends import like_chunks, shapes_match
from ._forward import FORWARD_MODE
from ._grad_mode import GRAD_MODE
from ._graph import (
    NOTHING_TO_UNPACK,
    RELEASED,
    Node,
    OutRef,
    Packed,
    backward_name,
    bump_version,
    version_of,
)
from ._hooks import unpack
from ._tensor import Tensor

__all__ = ["run_backward", "sum_to_shape"]


# --------------------------------------------------------------------------------------------
# Gradient normalisation: the ONE place for broadcasting, dtype and real-part handling.


def sum_to_shape(xp, g, shape):
    """Sum ``g`` over the axes that broadcasting added or stretched to reach ``g.shape``."""
    gshape = tuple(g.shape)
    if gshape == shape:
        return g
    lead = len(gshape) - len(shape)
    if lead < 0:  # the input has extra leading size-1 axes (``x[k] = v`` with v of more dims)
        gshape = (1,) * -lead + gshape
        g = xp.reshape(g, gshape)
        lead = 0
    axes = tuple(range(lead)) + tuple(
        i + lead for i, n in enumerate(shape) if n == 1 and gshape[i + lead] != 1
    )
    if axes:
        g = xp.sum(g, axis=axes, keepdims=True)
    if lead or not shapes_match(g.shape, shape):  # an unknown (nan) dimension matches any
        g = xp.reshape(g, shape)
    return g


def _normalise(xp, g, meta):
    shape, dtype = meta[0], meta[1]
    if g.shape != shape:
        g = sum_to_shape(xp, g, shape)
    if g.dtype != dtype:
        if xp.isdtype(g.dtype, "complex floating") and not xp.isdtype(dtype, "complex floating"):
            g = xp.real(g)
        if g.dtype != dtype:
            g = xp.astype(g, dtype)
    if len(meta) > 2:  # chunked backends (Dask): the input's chunks, see _backends.like_chunks
        g = like_chunks(xp, g, meta[2])
    return g


# --------------------------------------------------------------------------------------------
# The accumulation policy.


def _sum(cur, g, owned, ns):
    """``cur + g``: two contributions to one gradient, ``cur`` the one in the engine's buffer.

    The engine writes into ``cur`` only if it *owns* it: ``owned`` holds the ids of the arrays
    the engine itself allocated by an earlier sum of this call that still sit in their buffer
    slot, seen by nothing else (an id leaves ``owned`` as soon as its array leaves the slot:
    handed to a VJP, to a hook, or replaced). Every other array (a VJP's result, which may be
    its gradient argument itself or a view of a saved value; a gradient the user passed in) is
    never written. ``owned`` is None under ``create_graph`` (Tensors, recorded: never in place).
    Whether an owned array can be written in place is the backend's policy
    (``backend.add_inplace``: not on JAX).
    """
    if owned is None:
        return cur + g
    key = id(cur)
    if key in owned:
        owned.discard(key)
        if cur.shape == g.shape and cur.dtype == g.dtype:
            cur = ns.backend.add_inplace(cur, g)  # the same array, or a new one (immutable)
            owned.add(id(cur))
            return cur
    new = cur + g
    owned.add(id(new))
    return new


# Accumulation into ``.grad`` is a read-modify-write of a value shared between backward calls
# (torch locks each leaf's AccumulateGrad); one lock serialises these short updates, so that
# concurrent calls never lose a contribution.
_GRAD_LOCK = threading.RLock()


def _accumulate(t, g, create_graph, handed):
    """Add gradient ``g`` (raw, or Tensor under create_graph) into ``t.grad``.

    ``handed`` holds the ids of arrays already given out in this backward (user-supplied root
    gradients, gradients stored in another ``.grad``): a stored gradient never shares memory
    with anything else, so a later in-place accumulation cannot change another tensor's value.
    """
    with _GRAD_LOCK:
        _accumulate_locked(t, g, create_graph, handed)


def _accumulate_locked(t, g, create_graph, handed):
    ns = t._ns
    if create_graph:
        if type(g) is not Tensor:
            g = Tensor._wrap_plain(ns, g)
        t._grad = g if t._grad is None else t._grad + g
        return
    if type(g) is Tensor:
        g = g._data
    backend = ns.backend
    current = t._grad
    if current is None:
        if id(g) in handed or backend.may_alias(g):
            g = backend.copy(g)
        handed.add(id(g))
        t._grad = Tensor._wrap_plain(ns, g)
    else:
        if current._grad_fn is not None:
            current = current.detach()
        new = backend.add_inplace(current._data, g)
        if new is not current._data:
            current._data = new
        bump_version(current)
        t._grad = current


# --------------------------------------------------------------------------------------------
# One backward call: its state, and the gradients asked for with ``inputs=``.


class _Call:
    """The state of one backward call.

    The gradient buffers belong to the call, not to the (possibly shared) nodes: concurrent
    backward calls through one retained graph never see each other's partial sums.
    """

    __slots__ = (
        "create_graph",
        "retain_graph",
        "accumulate",
        "capture",
        "slots",  # {node: [gradient or None, one per output]}, nodes that got a gradient
        "leaves",  # {id(leaf): [leaf, gradient]}
        "owned",  # ids of the buffered arrays the engine allocated (see _sum); None: create_graph
        "handed",  # ids of arrays given out or handed in (see _accumulate)
        "keep",  # the root gradients, alive while their ids are in `handed`
    )

    def __init__(self, root_grads, create_graph, retain_graph, accumulate, capture):
        self.create_graph = create_graph
        self.retain_graph = retain_graph
        self.accumulate = accumulate
        self.capture = capture
        self.slots = {}
        self.leaves = {}
        self.owned = None if create_graph else set()
        self.handed = {id(g) for g in root_grads}
        self.keep = root_grads

    def seed(self, roots, root_grads):
        """Put the roots' gradients in the buffers; returns the roots' nodes."""
        nodes = []
        slots = self.slots
        for t, g in zip(roots, root_grads):
            node = t._grad_fn
            if node is None:
                self.add_leaf(t, g)
                continue
            b = slots.get(node)
            if b is None:
                b = slots[node] = [None] * node.n_out
                nodes.append(node)
            i = t._output_nr
            b[i] = g if b[i] is None else _sum(b[i], g, self.owned, node.ns)
        return nodes

    def add_leaf(self, leaf, g):
        capture = self.capture
        if capture is not None and id(leaf) not in capture.leaf:
            return
        slot = self.leaves.get(id(leaf))
        if slot is None:
            self.leaves[id(leaf)] = [leaf, g]
        else:
            slot[1] = _sum(slot[1], g, self.owned, leaf._ns)


class _Capture:
    """The gradients of ``inputs`` (``xpgrad.grad``, ``backward(inputs=...)``).

    Leaves are found by identity, non-leaf inputs by (node, output index). :meth:`prune` finds
    the nodes that lead to an input: only they run.
    """

    __slots__ = ("inputs", "leaf", "node", "grads", "needed")

    def __init__(self, inputs):
        self.inputs = inputs
        self.leaf = {}  # id(leaf) -> positions in inputs
        self.node = {}  # (id(node), output index) -> positions in inputs
        for k, t in enumerate(inputs):
            if t._grad_fn is None:
                self.leaf.setdefault(id(t), []).append(k)
            else:
                self.node.setdefault((id(t._grad_fn), t._output_nr), []).append(k)
        self.grads = [None] * len(inputs)
        self.needed = set()

    def prune(self, order):
        """Keep in ``needed`` the nodes of ``order`` (consumers first) that lead to an input."""
        needed = self.needed
        want_node = self.node
        for node in reversed(order):
            if self.leads_further(node) or (
                want_node and any((id(node), i) in want_node for i in range(node.n_out))
            ):
                needed.add(node)

    def leads_further(self, node):
        """Whether one of ``node``'s inputs is an input or leads to one."""
        needed = self.needed
        for child in node.next:
            if child is None:
                continue
            if type(child) is Node:
                if child in needed:
                    return True
            elif id(child) in self.leaf:
                return True
        return False

    def at_node(self, node, buf):
        if self.node:
            for i, g in enumerate(buf):
                for k in self.node.get((id(node), i), ()):
                    self.grads[k] = g

    def at_leaf(self, leaf, g):
        for k in self.leaf[id(leaf)]:
            self.grads[k] = g

    def check_reached(self, roots, caller):
        """Raise if no edge of the graph (``roots`` and the nodes :meth:`prune` kept) leads to
        an input: before the sweep, so the error leaves the graph and its saved values intact
        and a corrected call can follow (torch raises after its backward pass, having freed
        the graph)."""
        leaves = set(self.leaf)  # ids of the leaf inputs no edge has reached yet
        outputs = set(self.node)  # (id(node), output index) of the non-leaf ones
        for t in roots:
            if t._grad_fn is None:
                leaves.discard(id(t))
            else:
                outputs.discard((id(t._grad_fn), t._output_nr))
        for node in self.needed:
            if not (leaves or outputs):
                return
            if leaves:
                leaves.difference_update(map(id, node.next))
            if outputs:
                outputs.difference_update(zip(map(id, node.next), node.nidx))
        unreached = leaves | outputs
        for k, t in enumerate(self.inputs):
            if (id(t) if t._grad_fn is None else (id(t._grad_fn), t._output_nr)) in unreached:
                why = "is not part of the graph of 'outputs' (they do not depend on it)"
                raise _unused_error(caller, k, why)

    def results(self, caller, allow_unused, create_graph):
        """The gradients, one per input (``xpgrad.grad``'s result)."""
        result = []
        for k, (t, g) in enumerate(zip(self.inputs, self.grads)):
            if g is None:
                if not allow_unused:  # reached, but no gradient flowed (a VJP returned None)
                    raise _unused_error(caller, k, "received no gradient (every path to it gave None)")
                result.append(None)
            else:
                result.append(g if create_graph else Tensor._wrap_plain(t._ns, g))
        return result

    def accumulate_non_leaves(self, call):
        """``backward(inputs=...)`` on non-leaf inputs accumulates into their ``.grad`` too."""
        for t, g in zip(self.inputs, self.grads):
            if t._grad_fn is not None and g is not None:
                _accumulate(t, g, call.create_graph, call.handed)


def _unused_error(caller, k, why):
    return RuntimeError(
        f"{caller}(): 'inputs'[{k}] {why}. Pass "
        "allow_unused=True to get None for it (materialize_grads=True for zeros), or leave it out"
    )


# --------------------------------------------------------------------------------------------
# The sweep.


def run_backward(
    roots,
    root_grads,
    *,
    retain_graph,
    create_graph,
    inputs=None,
    accumulate=True,
    allow_unused=False,
    caller="backward",
):
    """Backpropagate ``root_grads`` from ``roots`` (Tensors that require grad).

    With ``accumulate`` the results go into ``.grad`` of the leaves (or of ``inputs`` only);
    otherwise (``xpgrad.grad``) the gradients of ``inputs`` are returned and nothing is stored.
    ``root_grads`` are raw arrays, or Tensors under ``create_graph``. Roots may belong to
    several backends or devices: every node computes with its own namespace.
    """
    capture = None if inputs is None else _Capture(inputs)
    # call.create_graph: VJPs run on Tensors (and root_grads are Tensors); _Sweeping sets the
    # grad mode during the sweep, as requested. While a dual level is open (forward-over-reverse)
    # VJPs run on Tensors even without create_graph, so that the tangents of saved values flow
    # into the gradients.
    tensors = create_graph or FORWARD_MODE.active != 0
    call = _Call(list(root_grads), tensors, retain_graph, accumulate, capture)
    order = _toposort(call.seed(roots, call.keep))
    if capture is not None:
        capture.prune(order)
        if not accumulate and not allow_unused:
            capture.check_reached(roots, caller)
    with _Sweeping(roots, create_graph):
        try:
            _sweep(order, call)
            _finish_leaves(call)
        finally:
            call.slots.clear()
            call.leaves.clear()
    if capture is None:
        return None
    if accumulate:
        capture.accumulate_non_leaves(call)
        return None
    return capture.results(caller, allow_unused, call.create_graph)


def _toposort(roots):
    """Nodes reachable from ``roots``, each listed before every node it feeds gradients to.

    Every edge goes from a node to an older one (an op's inputs exist before it runs, and
    in-place updates create newer nodes), so newest-first creation order is a topological
    order: collect the reachable nodes, then sort by sequence number.
    """
    seen = set(roots)
    stack = list(seen)
    nodes = list(seen)  # in discovery order: nearly sorted already, which the sort exploits
    while stack:
        for child in stack.pop().next:
            if type(child) is Node and child not in seen:
                seen.add(child)
                stack.append(child)
                nodes.append(child)
    nodes.sort(key=_SEQ, reverse=True)
    return nodes


_SEQ = operator.attrgetter("seq")


def _sweep(order, call):
    """Run each node of ``order`` on its complete output gradient; route what its VJP returns.

    Routing is one step for any number of inputs: each input's gradient is normalised to the
    input's shape and dtype, then added to the buffer of the node that produced the input (or
    to the leaf's sum); inputs that need no gradient, got none, or lead to none of
    ``inputs=`` get nothing.
    """
    slots = call.slots
    owned = call.owned
    capture = call.capture
    needed = None if capture is None else capture.needed
    create_graph = call.create_graph
    retain_graph = call.retain_graph
    anomaly = GRAD_MODE.anomaly is True
    for node in order:
        buf = slots.pop(node, None)
        if buf is None:
            continue
        if owned:  # the buffer now leaves the engine's hands (see _sum)
            for g in buf:
                owned.discard(id(g))
        if capture is not None or node.hooks is not None or node.retained is not None:
            if not _before_node(node, buf, call):
                continue
        ns = node.ns
        xp = ns if create_graph else ns.backend.xp
        # Run the node: its VJP on its output gradients, then free its saved values.
        if node.guards is not None:
            _check_guards(node)
        saved = node.saved
        if saved:
            saved = _unpack_saved(node, create_graph)
        g = buf[0] if node.out_meta is None else _output_grads(node, buf, create_graph)
        kw = node.kw
        try:
            grads = node.vjp(xp, g, *saved, **kw) if kw else node.vjp(xp, g, *saved)
        except Exception as exc:
            _add_forward_trace(exc, node)
            raise
        if not retain_graph:
            if node.saved:
                node.saved = RELEASED
            node.out_data = None
        saved = g = buf = None
        if len(node.next) == 1:  # a one-input VJP returns its gradient bare
            grads = (grads,)
        for target, idx, gi, meta in zip(node.next, node.nidx, grads, node.meta):
            if target is None or gi is None:
                continue
            if meta is not None and (gi.shape != meta[0] or gi.dtype != meta[1] or len(meta) > 2):
                gi = _normalise(xp, gi, meta)
            if anomaly:
                _check_finite(node, gi)
            if type(target) is not Node:
                call.add_leaf(target, gi)
            elif needed is None or target in needed:
                b = slots.get(target)
                if b is None:  # the first gradient to reach this node
                    if target.n_out == 1:
                        slots[target] = [gi]
                    else:
                        b = slots[target] = [None] * target.n_out
                        b[idx] = gi
                else:
                    cur = b[idx]
                    b[idx] = gi if cur is None else _sum(cur, gi, owned, target.ns)
        # Drop this node's values now: they must not live on while the next node runs.
        grads = gi = cur = None


def _before_node(node, buf, call):
    """Tensor hooks and retain_grad of a node's outputs, and capture for ``inputs=``.

    Returns False if the node is not to run (it leads to none of ``inputs``).
    """
    capture = call.capture
    if capture is not None and node not in capture.needed:
        return False
    create_graph = call.create_graph
    for i in range(node.n_out):
        g = buf[i]
        if g is None:
            continue
        if node.hooks is not None and i in node.hooks:
            g = buf[i] = _run_hooks(node.hooks[i], g, create_graph, node.ns)
        if node.retained is not None and i in node.retained:
            t = node.retained[i]()
            if t is not None and call.accumulate and capture is None:
                _accumulate(t, g, create_graph, call.handed)
    if capture is None:
        return True
    capture.at_node(node, buf)
    return capture.leads_further(node)


def _finish_leaves(call):
    """Leaves, once all their contributions are summed: hooks, capture, ``.grad``."""
    create_graph = call.create_graph
    capture = call.capture
    for leaf, g in call.leaves.values():
        if leaf._hooks:
            g = _run_hooks(leaf._hooks, g, create_graph, leaf._ns)
        if capture is not None:
            capture.at_leaf(leaf, g)
        if call.accumulate:
            _accumulate(leaf, g, create_graph, call.handed)
            if leaf._post_hooks:
                for hook in leaf._post_hooks:
                    hook(leaf)


class _Sweeping:
    """Grad mode set to ``grad_enabled``, the roots' backends quiet, the cyclic GC paused."""

    __slots__ = ("grad_enabled", "quiet", "prev_enabled")

    def __init__(self, roots, grad_enabled):
        backends = []
        for r in roots:
            backend = r._ns.backend
            if all(backend is not b for b in backends):
                backends.append(backend)
        self.grad_enabled = grad_enabled
        self.quiet = [b.quiet() for b in backends]

    def __enter__(self):
        self.prev_enabled = GRAD_MODE.enabled
        GRAD_MODE.enabled = self.grad_enabled
        for q in self.quiet:
            q.__enter__()
        _gc_pause()  # see _gc_pause: the sweep creates no reference cycles

    def __exit__(self, *exc):
        _gc_resume()
        for q in reversed(self.quiet):
            q.__exit__(None, None, None)
        GRAD_MODE.enabled = self.prev_enabled


# --------------------------------------------------------------------------------------------
# Running one node.


def _add_forward_trace(exc, node):
    """Add the forward traceback of ``node`` (anomaly detection) to an error of its VJP."""
    if node.trace is not None:
        exc.add_note(
            f"Error in the backward of {node.name}, whose forward was called at:\n" + "".join(node.trace)
        )


def _output_grads(node, buf, create_graph):
    """A multi-output node's output gradients: zeros (or None) for outputs that got none."""
    like = None
    for g in buf:
        if g is not None:
            like = g  # an output gradient that did arrive: its device is the node's
            break
    return tuple(g if g is not None else _zeros_for(node, i, like, create_graph) for i, g in enumerate(buf))


def _zeros_for(node, index, like, create_graph):
    shape, dtype = node.out_meta[index]
    if dtype is None or not node.materialize:
        return None
    ns = node.ns
    backend = ns.backend
    data = node.out_data[index] if node.out_data is not None else None
    if data is None or type(data) is Packed:  # not kept: on the device of another output
        data = like._data if create_graph and like is not None else like
    device = None if data is None else backend.device(data)
    if create_graph:
        return ns.zeros(shape, dtype=dtype, device=device)
    return backend.xp.zeros(shape, dtype=dtype, device=device)


def _check_guards(node):
    """Refuse to run ``node`` if an index, mask or condition it keeps was modified in place."""
    for counter, version, what in node.guards:
        if counter[0] != version:
            raise RuntimeError(
                f"one of the values needed for gradient computation of {node.name} (argument "
                f"{what!r}) has been modified by an in-place operation: its version is "
                f"{counter[0]}, expected version {version}. Use an out-of-place operation, or "
                "clone the value before modifying it."
            )


def _unpack_saved(node, create_graph):
    """The values ``node`` saved, as its VJP takes them (raw arrays, or Tensors under
    ``create_graph``), each checked against in-place modification since it was saved."""
    saved = node.saved
    if saved is RELEASED:
        raise RuntimeError(
            f"Trying to backward through the graph a second time (through {node.name}), or to "
            "use saved values after they have been freed. Saved values are freed after "
            "backward; pass retain_graph=True to the first backward() if you need to backward "
            "through the graph again."
        )
    versions = node.versions
    if versions is NOTHING_TO_UNPACK:  # constants only (see _ops.make_binary)
        return saved
    if len(saved) == 1:  # the common unary case: one input Tensor
        s = saved[0]
        if type(s) is Tensor and version_of(s) == versions[0]:
            return (s,) if create_graph else (s._data,)
    out = []
    for i, s in enumerate(saved):
        if type(s) is Tensor and version_of(s) == versions[i]:
            out.append(s if create_graph else s._data)
        elif s is None:
            out.append(None)
        elif type(s) is OutRef:
            out.append(_unpack_output(node, s.index, create_graph))
        else:
            out.append(_unpack_other(node, i, s, create_graph))
    return out


def _unpack_other(node, i, s, create_graph):
    """A saved value other than an unmodified Tensor: a modified one (an error), a packed
    value, a reference to the node's output, or a constant."""
    ts = type(s)
    if ts is Tensor:
        expected = node.versions[i]
        if version_of(s) != expected:
            raise RuntimeError(
                f"one of the values needed for gradient computation of {node.name} has "
                f"been modified by an in-place operation: its version is {version_of(s)}, "
                f"expected version {expected}. Use an out-of-place operation, or clone "
                "the value before modifying it."
            )
        return s if create_graph else s._data
    if ts is Packed:
        if s.counter[0] != s.version:
            raise RuntimeError(
                f"one of the values needed for gradient computation of {node.name} has "
                f"been modified by an in-place operation: its version is {s.counter[0]}, "
                f"expected version {s.version}."
            )
        t = unpack(s, node.name)
        return t if create_graph else t._data
    if ts is OutRef:
        return _unpack_output(node, s.index, create_graph)
    return s


def _unpack_output(node, index, create_graph):
    """Output ``index`` of ``node``, kept as raw data (a Tensor again under create_graph)."""
    counter, version = node.out_versions[index]
    if counter[0] != version:
        raise RuntimeError(
            f"output {index} of {node.name}, needed for its gradient, has been "
            f"modified by an in-place operation: its version is {counter[0]}, expected "
            f"version {version}."
        )
    out_data = node.out_data
    if out_data is None:  # freed meanwhile by a concurrent backward without retain_graph
        raise RuntimeError(
            f"Trying to backward through the graph a second time (through {node.name}): "
            "its saved values were freed by another backward call; pass "
            "retain_graph=True to the other calls."
        )
    data = out_data[index]
    if type(data) is Packed:
        data = unpack(data, node.name)._data
    if create_graph:
        data = Tensor._wrap_output(node.ns, data, node, index, counter)
        if FORWARD_MODE.active:  # forward-over-reverse: the output's tangent, kept by the node
            _forward.out_tangent(node, index, data)
    return data


def _run_hooks(hooks, g, create_graph, ns):
    """Run tensor hooks on gradient ``g``; a hook's result replaces it, as torch checks it.

    A result must be a Tensor of the same backend, shape, dtype and device: torch raises
    ("hook ... has changed the type of value") rather than cast, and so does xpgrad.
    """
    backend = ns.backend
    for hook in hooks:
        r = hook(g if create_graph else Tensor._wrap_plain(ns, g))
        if r is None:
            continue
        name = getattr(hook, "__name__", repr(hook))
        if type(r) is not Tensor:
            raise TypeError(f"expected Tensor, but hook {name!r} returned {type(r).__name__!r}")
        data = g._data if create_graph else g
        new = r._data
        if r._ns is not ns:
            raise RuntimeError(
                f"hook {name!r} has changed the type of value (was a Tensor of backend "
                f"{backend.name!r} got one of backend {r._ns.backend.name!r})"
            )
        if tuple(new.shape) != tuple(data.shape):
            raise RuntimeError(
                f"hook {name!r} has changed the size of value (was {tuple(data.shape)} got "
                f"{tuple(new.shape)})"
            )
        if new.dtype != data.dtype:
            raise RuntimeError(
                f"hook {name!r} has changed the type of value (was {data.dtype} got {new.dtype})"
            )
        if backend.device(new) != backend.device(data):
            raise RuntimeError(
                f"hook {name!r} has changed the type of value (was on device "
                f"{backend.device(data)} got {backend.device(new)})"
            )
        g = r if create_graph else new
    return g


def _check_finite(node, g):
    data = g._data if type(g) is Tensor else g
    xp = node.ns.backend.xp
    if not bool(xp.all(xp.isfinite(data))):
        where = "".join(node.trace) if node.trace else "(no forward trace recorded)"
        raise RuntimeError(
            f"Function '{backward_name(node.name)}' returned nan or inf values in its gradient. "
            f"Its forward was called at:\n{where}"
        )


# --------------------------------------------------------------------------------------------
# Process-wide state shared by concurrent backward calls.

# The sweep creates no reference cycles, so the cyclic garbage collector is paused while it runs
# (it would only walk the large graph again and again as gradient arrays are allocated). The
# switch is process-wide and backward calls may overlap (threads, or a backward inside a hook),
# so it is counted: the first call to start records whether gc was enabled, the last to finish
# re-enables it only in that case. A plain ``gc.disable()``/``gc.enable()`` pair per call could
# leave the collector off for good when two calls interleave.
_GC_LOCK = threading.Lock()
_gc_depth = 0
_gc_was_enabled = False


def _gc_pause():
    global _gc_depth, _gc_was_enabled
    with _GC_LOCK:
        if _gc_depth == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_depth += 1


def _gc_resume():
    global _gc_depth
    with _GC_LOCK:
        _gc_depth -= 1
        if _gc_depth == 0 and _gc_was_enabled:
            gc.enable()
