"""Graph data: nodes, edges, version counters and saved-value records.

This is a leaf module: it imports no other part of xpgrad but the grad-mode state, and knows
nothing of ``Tensor`` or of namespaces. Recording (``_ops.py``, ``_function.py``) builds these
objects; the engine (``_engine.py``) reads them.

A :class:`Node` is one recorded operation. It holds its VJP, the values the VJP needs, and one
*edge* per input, stored flat as ``next[i]`` (the Node that produced input ``i``, the leaf Tensor
itself, or None for an input that does not require grad) and ``nidx[i]`` (which output of that
Node). Flat tuples keep the number of garbage-collected objects per op small. A node never
refers to its own outputs (it keeps their raw data, and :class:`OutRef` placeholders where its
VJP needs them), so a graph has no reference cycles and is freed by reference counting alone.

Version counters: every Tensor has a ``_vc`` slot, a one-element list shared with its views and
``detach()`` results (allocated lazily: None means version 0). A node saves the version of each
Tensor it keeps and the engine refuses to use it if the version changed since.
"""

from __future__ import annotations

import itertools
import traceback

from ._grad_mode import GRAD_MODE

__all__ = [
    "NOTHING_TO_UNPACK",
    "OUT",
    "OUTS",
    "RELEASED",
    "AccumulateGrad",
    "ForeignCounter",
    "Node",
    "OutRef",
    "Packed",
    "bump_version",
    "counter_of",
    "version_of",
]

_next_seq = itertools.count().__next__
_PKG_DIR = __file__.rsplit("/", 1)[0].rsplit("\\", 1)[0]


# --------------------------------------------------------------------------------------------
# Version counters. They are allocated lazily: most tensors are never modified in place, never
# viewed and never detached, and a counter per op would be one more garbage-collected object each.


class ForeignCounter(list):
    """The version counter of a Tensor that wraps a raw backend array a caller passed to an op.

    The caller can write into that array directly, which bumps no version, so a node that keeps
    such a Tensor for its backward keeps a copy instead (see ``_ops.protect_kw``).
    """

    __slots__ = ()


def version_of(t) -> int:
    """How many times ``t``'s memory was modified in place (0 if it has no counter yet)."""
    vc = t._vc
    return 0 if vc is None else vc[0]


def counter_of(t) -> list:
    """``t``'s version counter, created if it has none yet (to be shared or bumped)."""
    vc = t._vc
    if vc is None:
        vc = t._vc = [0]
    return vc


def bump_version(t) -> None:
    counter_of(t)[0] += 1


# --------------------------------------------------------------------------------------------
# What a node keeps.


class _Released:
    """Marker left in ``Node.saved`` after backward has freed the saved values."""

    __slots__ = ()

    def __repr__(self):
        return "<released>"


RELEASED = _Released()


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
OUTS = tuple(OutRef(i) for i in range(16))

# ``Node.versions`` marker: the saved values are plain constants, nothing to check or unpack.
NOTHING_TO_UNPACK = (None, None, None)


class Packed:
    """A saved value transformed by a ``saved_tensors_hooks`` pack hook.

    ``obj`` is what the pack hook returned, ``unpack`` the unpack hook that turns it back into a
    Tensor, ``counter``/``version`` the version counter of the packed Tensor and its version when
    packed. ``raw``: the node needs the Tensor's raw data (a packed output), not the Tensor.
    Only the unpack hook is kept: the pack hook may hold the values it packed (checkpoint's
    recomputation does), which would close a reference cycle.
    """

    __slots__ = ("obj", "unpack", "counter", "version", "raw")

    def __init__(self, obj, unpack, counter, raw=False):
        self.obj = obj
        self.unpack = unpack
        self.counter = counter
        self.version = counter[0]
        self.raw = raw


# --------------------------------------------------------------------------------------------
# The node.


def _user_stack():
    """The current call stack without xpgrad's own frames, formatted."""
    frames = [f for f in traceback.extract_stack()[:-2] if not f.filename.startswith(_PKG_DIR)]
    return traceback.format_list(frames)


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
        state = GRAD_MODE
        if state.extras:  # anomaly detection or saved_tensors_hooks active
            self.trace = _user_stack() if state.anomaly else None
            packer = state.saved_hooks
            # Only a flag: keeping the hooks themselves could close a reference cycle (a pack
            # hook that holds the values it packed, as checkpoint's recomputation does).
            self.pack = True if packer is not None else None
            if packer is not None and saved:
                self.saved = packer.pack_saved(saved)
        else:
            self.trace = None
            self.pack = None

    def pack_outputs(self):
        """Apply the saved-tensors pack hook to the raw outputs kept for the VJP."""
        packer = GRAD_MODE.saved_hooks
        ns = self.ns
        self.out_data = tuple(None if d is None else packer.pack_output(ns, d) for d in self.out_data)

    def __repr__(self):
        return f"<{backward_name(self.name)}>"

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
                out.append((AccumulateGrad(t), 0))
        return tuple(out)

    def register_hook(self, output_index, hook):
        if self.hooks is None:
            self.hooks = {}
        self.hooks.setdefault(output_index, []).append(hook)


class AccumulateGrad:
    """What ``next_functions`` shows for a leaf (torch's AccumulateGrad)."""

    __slots__ = ("variable",)

    def __init__(self, variable):
        self.variable = variable

    def __repr__(self):
        return "<AccumulateGrad>"


def backward_name(op_name):
    """The name of the node of op ``op_name``, in one style: the op's name in CamelCase, then
    ``Backward``. ``sum`` gives ``SumBackward``, ``linalg.solve`` ``LinalgSolveBackward``,
    ``cumulative_sum`` ``CumulativeSumBackward``, a custom Function ``MyOp`` ``MyOpBackward``
    (torch's names add a version digit, ``SumBackward0``)."""
    parts = op_name.replace(".", "_").split("_")
    return "".join(p[:1].upper() + p[1:] for p in parts if p) + "Backward"
