"""``saved_tensors_hooks`` and anomaly detection (torch.autograd.graph / torch.autograd)."""

from __future__ import annotations

from . import _grad_mode
from ._grad_mode import GRAD_MODE
from ._graph import Packed, counter_of
from ._tensor import Tensor

__all__ = ["saved_tensors_hooks", "detect_anomaly", "set_detect_anomaly", "is_anomaly_enabled"]


class Packer:
    """The active pack and unpack hooks, as recording sees them (``GRAD_MODE.saved_hooks``).

    A Node recorded while it is active calls :meth:`pack_saved` on its saved values and
    :meth:`pack_output` on the raw outputs it keeps; each packed value becomes a
    :class:`~xpgrad._graph.Packed` record, which the engine turns back into a Tensor with
    :func:`unpack`.
    """

    __slots__ = ("pack_hook", "unpack_hook")

    def __init__(self, pack_hook, unpack_hook):
        self.pack_hook = pack_hook
        self.unpack_hook = unpack_hook

    def pack_saved(self, saved):
        """``saved`` with every Tensor replaced by its packed record (other values as they are)."""
        pack, unpack = self.pack_hook, self.unpack_hook
        return tuple(Packed(pack(s), unpack, counter_of(s)) if type(s) is Tensor else s for s in saved)

    def pack_output(self, ns, data):
        """The packed record of a node's raw output ``data`` (of namespace ``ns``)."""
        t = Tensor._wrap_plain(ns, data)
        return Packed(self.pack_hook(t), self.unpack_hook, counter_of(t), raw=True)


def unpack(packed, what):
    """The Tensor a :class:`~xpgrad._graph.Packed` record stands for (``what``: for messages)."""
    t = packed.unpack(packed.obj)
    if type(t) is not Tensor:
        raise TypeError(
            f"saved_tensors_hooks: the unpack hook must return a Tensor, got {type(t).__name__} ({what})"
        )
    return t


class saved_tensors_hooks:
    """Transform every value saved for backward while the context is active.

    ``pack_hook(tensor) -> object`` runs when an operation saves a Tensor (an input or its
    output); ``unpack_hook(object) -> Tensor`` runs when backward needs it. Use it to offload
    saved values to another device, or to compress them::

        with xpgrad.saved_tensors_hooks(lambda t: t.data.copy(), lambda a: xp.asarray(a)):
            loss = model(x)
        loss.backward()
    """

    def __init__(self, pack_hook, unpack_hook):
        if not callable(pack_hook) or not callable(unpack_hook):
            raise TypeError("saved_tensors_hooks(): 'pack_hook' and 'unpack_hook' must be callable")
        self.pack_hook = pack_hook
        self.unpack_hook = unpack_hook
        self._prev = []

    def __enter__(self):
        self._prev.append(GRAD_MODE.saved_hooks)
        GRAD_MODE.saved_hooks = Packer(self.pack_hook, self.unpack_hook)
        _grad_mode.update_extras()
        return self

    def __exit__(self, *exc):
        GRAD_MODE.saved_hooks = self._prev.pop()
        _grad_mode.update_extras()
        return False


class detect_anomaly:
    """Record forward tracebacks and fail on the first backward op that produces NaN or inf.

    The error names the op's node (``'SqrtBackward' returned nan or inf values``) and shows the
    traceback of the forward call that created it. It slows forward and backward: use it to
    debug, not in production. Context manager and decorator.

    The check **computes every gradient's values** as backward produces it: on Dask it forces a
    ``compute`` per op, and inside ``jax.jit`` it cannot run (a traced array has no value).
    Nothing else in backward depends on computed values; ``check_nan=False`` keeps only the
    forward tracebacks and computes nothing.
    """

    def __init__(self, check_nan: bool = True):
        self.check_nan = bool(check_nan)
        self._prev = []

    def __enter__(self):
        self._prev.append(GRAD_MODE.anomaly)
        GRAD_MODE.anomaly = self.check_nan or "trace"
        _grad_mode.update_extras()
        return self

    def __exit__(self, *exc):
        GRAD_MODE.anomaly = self._prev.pop()
        _grad_mode.update_extras()
        return False

    def __call__(self, func):
        import functools

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with detect_anomaly(self.check_nan):
                return func(*args, **kwargs)

        return wrapper


def set_detect_anomaly(mode: bool, check_nan: bool = True) -> None:
    """Turn anomaly detection on or off for the current thread."""
    GRAD_MODE.anomaly = (check_nan or "trace") if mode else False
    _grad_mode.update_extras()


def is_anomaly_enabled() -> bool:
    return bool(GRAD_MODE.anomaly)
