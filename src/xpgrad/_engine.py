"""The graph and the backward engine.

A :class:`Node` is one recorded operation. It holds its VJP, the values the VJP needs, and one
*edge* per input, stored flat as ``next[i]`` (the Node that produced input ``i``, the leaf Tensor
itself, or None for an input that does not require grad) and ``nidx[i]`` (which output of that
Node). Flat tuples keep the number of garbage-collected objects per op small. A node never refers to its own
outputs, so a graph has no reference cycles and is freed by reference counting alone.

``run_backward`` orders the nodes reachable from the roots topologically (iteratively, so a
chain of a million ops is fine), then sweeps them once, each after all of its consumers. Every
gradient an op's VJP returns passes through :func:`_normalise`: the one place where gradients
are summed back to the input's shape (broadcasting), cast to its dtype, and reduced to the real
part for a real input.
"""

from __future__ import annotations

import gc
import itertools
import operator
import sys
import threading
import traceback

from . import _grad_mode
from ._backends import like_chunks

__all__ = ["Node", "run_backward", "OUT"]


_PKG_DIR = __file__.rsplit("/", 1)[0].rsplit("\\", 1)[0]


def _user_stack():
    """The current call stack without xpgrad's own frames, formatted."""
    frames = [f for f in traceback.extract_stack()[:-2] if not f.filename.startswith(_PKG_DIR)]
    return traceback.format_list(frames)


class _Released:
    """Marker left in ``Node.saved`` after backward has freed the saved values."""

    __slots__ = ()

    def __repr__(self):
        return "<released>"


RELEASED = _Released()


class Packed:
    """A saved value transformed by a ``saved_tensors_hooks`` pack hook."""

    __slots__ = ("obj", "unpack", "counter", "version", "raw")

    def __init__(self, hooks, t, raw=False):
        self.counter = counter_of(t)
        self.version = self.counter[0]
        self.obj = hooks[0](t)
        self.unpack = hooks[1]
        self.raw = raw

    def get(self, what):
        t = self.unpack(self.obj)
        if type(t).__name__ != "Tensor":
            raise TypeError(
                f"saved_tensors_hooks: the unpack hook must return a Tensor, got {type(t).__name__} ({what})"
            )
        return t


class OutRef:
    """Placeholder in ``Node.saved`` for the node's own output ``index``.

    The output Tensor cannot be stored in its own node (that would be a cycle); the node keeps
    the raw output data and rebuilds a Tensor from it under ``create_graph=True``.
    """

    __slots__ = ("index",)

    def __init__(self, index):
        self.index = index

    def __repr__(self):
        return f"OUT[{self.index}]"


OUT = OutRef(0)

# ``Node.versions`` marker: the saved values are plain constants, nothing to check or unpack.
NOTHING_TO_UNPACK = (None, None, None)
OUTS = tuple(OutRef(i) for i in range(16))


class Node:
    """One recorded operation in the graph (``tensor.grad_fn``)."""

    __slots__ = (
        "name",  # op name, for messages
        "vjp",  # vjp(xp, g, *saved, **kw) -> grad or tuple of grads, one per input
        "next",  # one edge target per input: Node, leaf Tensor, or None (no grad needed)
        "nidx",  # for each input, the output index of its Node (0 for leaves)
        "meta",  # one (shape, dtype) per input, for gradient normalisation
        "saved",  # positional values passed to the vjp after g (Tensors, constants, OutRefs)
        "versions",  # version of each saved Tensor when saved (None for non-Tensors)
        "kw",  # keyword values passed to the vjp (non-array parameters)
        "ns",  # the xpgrad namespace of the op
        "n_out",  # number of outputs
        "out_meta",  # one (shape, dtype) per output (to make zero gradients for unused outputs)
        "out_data",  # raw output data referenced by OutRefs in `saved`
        "out_versions",  # (version counter, version) per output, checked before use
        "hooks",  # {output index: [hook]} tensor hooks on non-leaf outputs
        "retained",  # {output index: weakref(Tensor)} for retain_grad()
        "trace",  # forward traceback when anomaly detection is on
        "materialize",  # give zeros (True) or None (False) for outputs that got no gradient
        "pack",  # True if saved_tensors_hooks were active when recorded (outputs get packed)
        "seq",  # creation order: a node's inputs always come from older nodes
        "guards",  # None, or (version counter, version, what) of arrays in `kw` (indices, masks)
        "__weakref__",
    )

    def __init__(self, name, vjp, ns, next_targets, nidx, meta, saved=(), versions=None, kw=None):
        self.name = name
        self.vjp = vjp
        self.ns = ns
        self.next = next_targets
        self.nidx = nidx
        self.meta = meta
        self.saved = saved
        self.versions = versions
        self.kw = kw
        self.n_out = 1
        self.out_meta = None
        self.out_data = None
        self.out_versions = None
        self.hooks = None
        self.retained = None
        self.materialize = True
        self.seq = _next_seq()
        self.guards = None
        state = _STATE
        if state.extras:  # anomaly detection or saved_tensors_hooks active
            self.trace = _user_stack() if state.anomaly else None
            hooks = state.saved_hooks
            # Only a flag: keeping the hooks themselves could close a reference cycle (a pack
            # hook that holds the values it packed, as checkpoint's recomputation does).
            self.pack = True if hooks is not None else None
            if hooks is not None and saved:
                from ._tensor import Tensor  # here: _tensor imports _engine at module level

                self.saved = tuple(Packed(hooks, s) if type(s) is Tensor else s for s in saved)
        else:
            self.trace = None
            self.pack = None

    def pack_outputs(self):
        """Apply the saved-tensors pack hook to the raw outputs kept for the VJP."""
        from ._tensor import Tensor  # here: _tensor imports _engine at module level

        hooks = _STATE.saved_hooks
        self.out_data = tuple(
            None if d is None else Packed(hooks, Tensor._wrap_plain(self.ns, d), raw=True)
            for d in self.out_data
        )

    def __repr__(self):
        return f"<{self.name}Backward>"

    @property
    def next_functions(self):
        """The edges to the inputs' nodes, as torch's ``grad_fn.next_functions``."""
        out = []
        for t, i in zip(self.next, self.nidx):
            if t is None:
                out.append((None, 0))
            elif type(t) is Node:
                out.append((t, i))
            else:
                out.append((_AccumulateGrad(t), 0))
        return tuple(out)

    def register_hook(self, output_index, hook):
        if self.hooks is None:
            self.hooks = {}
        self.hooks.setdefault(output_index, []).append(hook)


def version_of(t):
    vc = t._vc
    return 0 if vc is None else vc[0]


def counter_of(t):
    vc = t._vc
    if vc is None:
        vc = t._vc = [0]
    return vc


def bump_version(t):
    counter_of(t)[0] += 1


_next_seq = itertools.count().__next__
_STATE = _grad_mode.STATE
_SEQ = operator.attrgetter("seq")


class _AccumulateGrad:
    """What ``next_functions`` shows for a leaf (torch's AccumulateGrad)."""

    __slots__ = ("variable",)

    def __init__(self, variable):
        self.variable = variable

    def __repr__(self):
        return "<AccumulateGrad>"


# --------------------------------------------------------------------------------------------
# Gradient normalisation: the ONE place for broadcasting, dtype and real-part handling.


def sum_to_shape(xp, g, shape):
    """Sum ``g`` over the axes that broadcasting added or stretched to reach ``g.shape``."""
    gshape = tuple(g.shape)
    if gshape == shape:
        return g
    lead = len(gshape) - len(shape)
    axes = tuple(range(lead)) + tuple(
        i + lead for i, n in enumerate(shape) if n == 1 and gshape[i + lead] != 1
    )
    if axes:
        g = xp.sum(g, axis=axes, keepdims=True)
    if lead or tuple(g.shape) != shape:
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
# The sweep.


def _toposort(roots):
    """Nodes reachable from ``roots``, each listed before every node it feeds gradients to.

    Every edge goes from a node to an older one (an op's inputs exist before it runs, and
    in-place updates create newer nodes), so newest-first creation order is a topological
    order: collect the reachable nodes, then sort by sequence number.
    """
    seen = set(roots)
    stack = list(seen)
    nodes = list(seen)
    while stack:
        for child in stack.pop().next:
            if type(child) is Node and child not in seen:
                seen.add(child)
                stack.append(child)
                nodes.append(child)
    nodes.sort(key=_SEQ, reverse=True)
    return nodes


def _unpack_saved(node, create_graph, Tensor):
    saved = node.saved
    if saved is RELEASED:
        raise RuntimeError(
            f"Trying to backward through the graph a second time (through {node.name}), or to "
            "use saved values after they have been freed. Saved values are freed after "
            "backward; pass retain_graph=True to the first backward() if you need to backward "
            "through the graph again."
        )
    if not saved:
        return saved
    versions = node.versions
    if versions is NOTHING_TO_UNPACK:  # constants only (see _ops.make_binary)
        return saved
    if len(saved) == 1:  # the common unary case: one input Tensor
        s = saved[0]
        if type(s) is Tensor and version_of(s) == versions[0]:
            return (s,) if create_graph else (s._data,)
    out = []
    for i, s in enumerate(saved):
        if s is None:
            out.append(None)
        elif type(s) is Tensor:
            if version_of(s) != versions[i]:
                raise RuntimeError(
                    f"one of the values needed for gradient computation of {node.name} has "
                    f"been modified by an in-place operation: its version is {version_of(s)}, "
                    f"expected version {versions[i]}. Use an out-of-place operation, or clone "
                    "the value before modifying it."
                )
            out.append(s if create_graph else s._data)
        elif type(s) is Packed:
            if s.counter[0] != s.version:
                raise RuntimeError(
                    f"one of the values needed for gradient computation of {node.name} has "
                    f"been modified by an in-place operation: its version is {s.counter[0]}, "
                    f"expected version {s.version}."
                )
            t = s.get(node.name)
            out.append(t if create_graph else t._data)
        elif type(s) is OutRef:
            counter, version = node.out_versions[s.index]
            if counter[0] != version:
                raise RuntimeError(
                    f"output {s.index} of {node.name}, needed for its gradient, has been "
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
            data = out_data[s.index]
            if type(data) is Packed:
                data = data.get(node.name)._data
            if create_graph:
                data = Tensor._wrap_output(node.ns, data, node, s.index, counter)
            out.append(data)
        else:
            out.append(s)
    return out


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


def _zeros_for(node, index, create_graph):
    shape, dtype = node.out_meta[index]
    if dtype is None or not node.materialize:
        return None
    ns = node.ns
    device = _device_of_node(node)
    if create_graph:
        return ns.zeros(shape, dtype=dtype, device=device)
    return ns._xp.zeros(shape, dtype=dtype, device=device)


def _device_of_node(node):
    """The device of a node's outputs: of a kept output, else of a leaf input (None: default)."""
    device = node.ns._backend.device
    for m in node.out_data or ():
        if m is None:
            continue
        if type(m) is Packed:
            m = m.get(node.name)._data
        return device(m)
    for t in node.next:
        if t is not None and type(t) is not Node:
            return device(t._data)
    return None


def _run_hooks(hooks, g, create_graph, Tensor, ns):
    """Run tensor hooks on gradient ``g``; a hook's result replaces it, as torch checks it.

    A result must be a Tensor of the same backend, shape, dtype and device: torch raises
    ("hook ... has changed the type of value") rather than cast, and so does xpgrad.
    """
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
                f"{ns._backend.name!r} got one of backend {r._ns._backend.name!r})"
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
        device = ns._backend.device
        if device(new) != device(data):
            raise RuntimeError(
                f"hook {name!r} has changed the type of value (was on device {device(data)} got "
                f"{device(new)})"
            )
        g = r if create_graph else new
    return g


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
    ``root_grads`` are raw arrays, or Tensors under ``create_graph``.
    """
    from ._tensor import Tensor  # here: _tensor imports _engine at module level

    # What to capture: leaves by identity, non-leaves by (node, output index).
    want_leaf = None
    want_node = None
    if inputs is not None:
        want_leaf = {}
        want_node = {}
        for k, t in enumerate(inputs):
            if t._grad_fn is None:
                want_leaf.setdefault(id(t), []).append(k)
            else:
                want_node.setdefault((id(t._grad_fn), t._output_nr), []).append(k)
    captured = [None] * len(inputs) if inputs is not None else None

    handed = {id(g) for g in root_grads}
    # Backend policy (in-place accumulation, quiet arithmetic) comes from the roots' backend; roots
    # of several backends are fine (each node computes with its own namespace), but then the
    # accumulation is the plain, always-correct `a + b`.
    backends = []
    for r in roots:
        if all(r._ns._backend is not b for b in backends):
            backends.append(r._ns._backend)
    if create_graph or len(backends) != 1:
        acc = _add
    else:
        acc = _make_accumulate(backends[0], handed)
    # Keep the user's gradient arrays alive while their ids are in `handed`.
    _keep = list(root_grads)
    root_nodes = []
    leaf_grads = {}  # id(leaf) -> [leaf, grad]
    # Gradient buffers of this call, one list (a slot per output) per node that got a gradient.
    # They belong to the call, not to the (possibly shared) nodes: concurrent backward calls
    # through one retained graph never see each other's partial sums.
    bufs = {}

    def add_leaf(leaf, g):
        if want_leaf is not None and id(leaf) not in want_leaf:
            return
        slot = leaf_grads.get(id(leaf))
        if slot is None:
            leaf_grads[id(leaf)] = [leaf, g]
        else:
            cur = slot[1]
            slot[1] = None
            slot[1] = acc(cur, g)

    for t, g in zip(roots, root_grads):
        node = t._grad_fn
        if node is None:
            add_leaf(t, g)
            continue
        b = bufs.get(node)
        if b is None:
            b = bufs[node] = [None] * node.n_out
            root_nodes.append(node)
        b[t._output_nr] = g if b[t._output_nr] is None else b[t._output_nr] + g

    order = _toposort(root_nodes)

    # With `inputs`, run only the nodes that lead to one of them.
    needed = None
    if inputs is not None:
        needed = set()
        for node in reversed(order):
            hit = False
            if want_node and any((id(node), i) in want_node for i in range(node.n_out)):
                hit = True
            for child in node.next:
                if child is None:
                    continue
                if type(child) is Node:
                    if id(child) in needed:
                        hit = True
                elif id(child) in want_leaf:
                    hit = True
            if hit:
                needed.add(id(node))

    state = _grad_mode.STATE
    prev_enabled = state.enabled
    state.enabled = create_graph
    quiet = [b.quiet() for b in backends]
    for q in quiet:
        q.__enter__()
    _gc_pause()  # see _gc_pause: the sweep creates no reference cycles
    try:
        anomaly = state.anomaly is True
        special = want_node or needed is not None
        for node in order:
            buf = bufs.pop(node, None)
            if buf is None:
                continue
            ns = node.ns
            if special or node.hooks is not None or node.retained is not None:
                if needed is not None and id(node) not in needed:
                    continue
                _node_hooks_and_capture(
                    node, buf, create_graph, accumulate, inputs, handed, want_node, captured
                )
                if needed is not None and not _leads_further(node, needed, want_leaf):
                    continue
            if node.guards is not None:
                _check_guards(node)
            saved = node.saved
            if saved:
                saved = _unpack_saved(node, create_graph, Tensor)
            if node.out_meta is None:  # recorded by record(): one output, a bare gradient
                g = buf[0]
            else:
                g = tuple(
                    buf[i] if buf[i] is not None else _zeros_for(node, i, create_graph)
                    for i in range(node.n_out)
                )
            xp = ns if create_graph else ns._xp
            kw = node.kw
            try:
                grads = node.vjp(xp, g, *saved, **kw) if kw else node.vjp(xp, g, *saved)
            except Exception as exc:
                if node.trace is not None:
                    exc.add_note(
                        f"Error in the backward of {node.name}, whose forward was called at:\n"
                        + "".join(node.trace)
                    )
                raise
            if not retain_graph:
                if node.saved:
                    node.saved = RELEASED
                node.out_data = None
            nxt = node.next
            if len(nxt) == 1:
                # One input: no tuple to unpack.
                target = nxt[0]
                gi = grads
                if target is not None and gi is not None:
                    meta = node.meta[0]
                    if meta is not None and (gi.shape != meta[0] or gi.dtype != meta[1] or len(meta) > 2):
                        gi = _normalise(xp, gi, meta)
                    if anomaly:
                        _check_finite(ns, node, gi)
                    if type(target) is Node:
                        if needed is None or id(target) in needed:
                            b = bufs.get(target)
                            if b is None:
                                b = bufs[target] = [None] * target.n_out
                            idx = node.nidx[0]
                            cur = b[idx]
                            if cur is None:
                                b[idx] = gi
                            else:
                                b[idx] = None  # so that acc() may see `cur` as unshared
                                b[idx] = acc(cur, gi)
                                cur = None
                    else:
                        add_leaf(target, gi)
            else:
                for target, idx, gi, meta in zip(nxt, node.nidx, grads, node.meta):
                    if target is None or gi is None:
                        continue
                    if meta is not None and (gi.shape != meta[0] or gi.dtype != meta[1] or len(meta) > 2):
                        gi = _normalise(xp, gi, meta)
                    if anomaly:
                        _check_finite(ns, node, gi)
                    if type(target) is Node:
                        if needed is not None and id(target) not in needed:
                            continue
                        b = bufs.get(target)
                        if b is None:
                            b = bufs[target] = [None] * target.n_out
                        cur = b[idx]
                        if cur is None:
                            b[idx] = gi
                        else:
                            b[idx] = None  # so that acc() may see `cur` as unshared
                            b[idx] = acc(cur, gi)
                            cur = None
                    else:
                        add_leaf(target, gi)
            # Drop this node's values now: they must not live on while the next node runs.
            saved = g = grads = gi = buf = None
        # Leaves, once all their contributions are summed.
        for leaf, g in leaf_grads.values():
            if leaf._hooks:
                g = _run_hooks(leaf._hooks, g, create_graph, Tensor, leaf._ns)
            if want_leaf is not None:
                for k in want_leaf[id(leaf)]:
                    captured[k] = g
            if accumulate:
                _accumulate(leaf, g, create_graph, Tensor, handed)
                if leaf._post_hooks:
                    for hook in leaf._post_hooks:
                        hook(leaf)
    finally:
        _gc_resume()
        for q in reversed(quiet):
            q.__exit__(None, None, None)
        state.enabled = prev_enabled
        del _keep
        bufs.clear()

    if inputs is not None and not accumulate:
        result = []
        for k, (t, g) in enumerate(zip(inputs, captured)):
            if g is None:
                if not allow_unused:
                    raise RuntimeError(
                        f"{caller}(): input {k} was not used in the graph of the outputs (or "
                        "does not require grad); pass allow_unused=True to get None for it"
                    )
                result.append(None)
            else:
                result.append(g if create_graph else Tensor._wrap_plain(t._ns, g))
        return result
    if inputs is not None and accumulate:
        # backward(inputs=...) on non-leaf inputs accumulates into their .grad as well.
        for t, g in zip(inputs, captured):
            if t._grad_fn is not None and g is not None:
                _accumulate(t, g, create_graph, Tensor, handed)
    return None


def _node_hooks_and_capture(node, buf, create_graph, accumulate, inputs, handed, want_node, captured):
    """Tensor hooks and retain_grad of a node's outputs, then capture for xpgrad.grad."""
    from ._tensor import Tensor  # here: _tensor imports _engine at module level

    for i in range(node.n_out):
        g = buf[i]
        if g is None:
            continue
        if node.hooks is not None and i in node.hooks:
            g = buf[i] = _run_hooks(node.hooks[i], g, create_graph, Tensor, node.ns)
        if node.retained is not None and i in node.retained:
            t = node.retained[i]()
            if t is not None and accumulate and inputs is None:
                _accumulate(t, g, create_graph, Tensor, handed)
        if want_node:
            ks = want_node.get((id(node), i))
            if ks is not None:
                for k in ks:
                    captured[k] = g


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


# Accumulation into ``.grad`` is a read-modify-write of a value shared between backward calls
# (torch locks each leaf's AccumulateGrad); one lock serialises these short updates, so that
# concurrent calls never lose a contribution.
_GRAD_LOCK = threading.RLock()


def _add(a, b):
    return a + b


def _make_accumulate(backend, handed):
    """``a + b`` for two gradient contributions, written into ``a`` when nothing else can see it.

    ``a`` is a gradient the engine holds in one buffer slot: if its only references are that
    slot and this call (CPython reference count), it owns its memory (not a view), it is not a
    gradient handed to the user, and the shapes and dtypes agree, it is updated in place, which
    saves an allocation of a full-size array per accumulation.
    """
    if backend is None or not backend.mutable:
        return _add
    may_alias = backend.may_alias
    getrefcount = sys.getrefcount

    def accumulate(a, b):
        # References: the caller's local, this parameter and getrefcount's argument.
        if (
            getrefcount(a) <= 3
            and id(a) not in handed
            and a.shape == b.shape
            and a.dtype == b.dtype
            and not may_alias(a)
        ):
            a += b
            return a
        return a + b

    return accumulate


def _leads_further(node, needed, want_leaf):
    for child in node.next:
        if child is None:
            continue
        if type(child) is Node:
            if id(child) in needed:
                return True
        elif id(child) in want_leaf:
            return True
    return False


def _check_finite(ns, node, g):
    data = g._data if hasattr(g, "_data") else g
    xp = ns._xp
    if not bool(xp.all(xp.isfinite(data))):
        where = "".join(node.trace) if node.trace else "(no forward trace recorded)"
        raise RuntimeError(
            f"Function '{node.name}Backward' returned nan or inf values in its gradient. "
            f"Its forward was called at:\n{where}"
        )


def _accumulate(t, g, create_graph, Tensor, handed):
    """Add gradient ``g`` (raw, or Tensor under create_graph) into ``t.grad``.

    ``handed`` holds the ids of arrays already given out in this backward (user-supplied root
    gradients, gradients stored in another ``.grad``): a stored gradient never shares memory
    with anything else, so a later in-place accumulation cannot change another tensor's value.
    """
    with _GRAD_LOCK:
        _accumulate_locked(t, g, create_graph, Tensor, handed)


def _accumulate_locked(t, g, create_graph, Tensor, handed):
    ns = t._ns
    if create_graph:
        if type(g) is not Tensor:
            g = Tensor._wrap_plain(ns, g)
        t._grad = g if t._grad is None else t._grad + g
        return
    if type(g) is Tensor:
        g = g._data
    backend = ns._backend
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
