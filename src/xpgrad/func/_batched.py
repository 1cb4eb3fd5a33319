"""Batched values and the batching namespace behind :func:`xpgrad.func.vmap`.

Inside ``vmap`` a function receives :class:`BatchedTensor` objects: a value (an xpgrad Tensor, or
the BatchedTensor of an outer ``vmap``) whose axis 0 is the batch axis of one vmap *level*; the
function sees the other axes only (``x.shape`` is the shape of one sample). Every namespace
function (``x.__array_namespace__()`` returns a :class:`BatchNamespace`) and every operator
applies a *batching rule* chosen by the function's category in the derivative table:

- elementwise and broadcasting functions: the operands' ranks padded after the batch axis;
- reductions and every ``axis``/``axes`` argument: axes shifted past the batch axis;
- linear algebra on stacks of matrices: the batch axis is one more stack axis;
- manipulation, indexing, ``__setitem__``, FFTs, creation functions: their own small rules;
- anything else (boolean masks, ``nonzero``, ``unique_*``, ...): computed sample by sample and
  stacked, with a one-time :class:`VmapFallbackWarning` naming the function.

Levels nest (``vmap`` of ``vmap``): a BatchedTensor of level ``k`` holds values of levels
``< k``, and a call is handled by the highest level among its arguments, whose rule calls the
namespace again on the unwrapped values.
"""

from __future__ import annotations

import inspect
import operator
import threading
import warnings
from typing import Any

from .. import _elementwise_functions as _elementwise_module
from .._tensor import Tensor

__all__ = ["BatchNamespace", "BatchedTensor", "VmapFallbackWarning", "batch_namespace"]


class VmapFallbackWarning(UserWarning):
    """A function with no batching rule ran once per sample under ``vmap`` (warned once per function)."""


_STATE = threading.local()


def active_levels() -> dict[int, int]:
    """The open vmap levels of this thread: ``{level: batch size}`` in opening order."""
    lv = getattr(_STATE, "levels", None)
    if lv is None:
        lv = _STATE.levels = {}
    return lv


_COUNTER = [0]
_COUNTER_LOCK = threading.Lock()


def new_level() -> int:
    with _COUNTER_LOCK:
        _COUNTER[0] += 1
        return _COUNTER[0]


def _control_flow(what):
    raise RuntimeError(
        f"vmap: {what} on a batched value: Python control flow that depends on the values of a "
        "batched array cannot be vectorised; compute both branches and select with "
        "xp.where(...), or call the function outside vmap"
    )


class BatchedTensor:
    """One level of ``vmap``: ``value`` has the batch at axis 0; the logical array is one sample."""

    __slots__ = ("level", "value")
    __array_priority__ = 1000

    def __init__(self, value, level):
        self.value = value
        self.level = level

    # -- attributes of one sample -------------------------------------------------------------
    @property
    def shape(self):
        return tuple(self.value.shape[1:])

    @property
    def ndim(self):
        return self.value.ndim - 1

    @property
    def size(self):
        n = 1
        for s in self.shape:
            n *= s
        return n

    @property
    def dtype(self):
        return self.value.dtype

    @property
    def device(self):
        return self.value.device

    @property
    def requires_grad(self):
        return bool(getattr(self.value, "requires_grad", False))

    @property
    def T(self):
        return self.__array_namespace__().permute_dims(self, tuple(range(self.ndim))[::-1])

    @property
    def mT(self):
        return self.__array_namespace__().matrix_transpose(self)

    def __array_namespace__(self, *, api_version=None):
        return batch_namespace(base_tensor(self).__array_namespace__())

    def __repr__(self):
        return f"BatchedTensor(level={self.level}, value={self.value!r})"

    def to_device(self, device, /, *, stream=None):
        return BatchedTensor(self.value.to_device(device), self.level)

    def detach(self):
        return BatchedTensor(self.value.detach(), self.level)

    # -- Python control flow is an error ------------------------------------------------------
    def __bool__(self):
        _control_flow("bool()")

    def __float__(self):
        _control_flow("float()")

    def __int__(self):
        _control_flow("int()")

    def __complex__(self):
        _control_flow("complex()")

    def __index__(self):
        _control_flow("operator.index()")

    def item(self):
        _control_flow("item()")

    def tolist(self):
        _control_flow("tolist()")

    def backward(self, *args, **kwargs):
        raise RuntimeError(
            "vmap: backward() on a batched value; use xpgrad.func.grad or vjp inside vmap instead"
        )

    __hash__ = None  # type: ignore[assignment]

    # -- indexing -----------------------------------------------------------------------------
    def __getitem__(self, key):
        return self.__array_namespace__()._getitem(self, key)

    def __setitem__(self, key, v):
        _setitem(self, key, v)

    def __len__(self):
        if not self.shape:
            raise TypeError("len() of a 0-d batched array")
        return self.shape[0]

    def __matmul__(self, other):
        return self.__array_namespace__().matmul(self, other)

    def __rmatmul__(self, other):
        return self.__array_namespace__().matmul(other, self)

    def __imatmul__(self, other):
        raise RuntimeError("vmap: in-place matmul (@=) on a batched value is not supported; use x = x @ y")

    def __iter__(self):
        ns = self.__array_namespace__()
        return iter(ns.unstack(self, axis=0))


def _binop(fn, name):
    def method(self, other):
        return _elementwise_call(
            batch_namespace(base_tensor(self).__array_namespace__()), name, fn, (self, other), {}
        )

    method.__name__ = name
    return method


def _rbinop(fn, name):
    def method(self, other):
        return _elementwise_call(
            batch_namespace(base_tensor(self).__array_namespace__()), name, fn, (other, self), {}
        )

    method.__name__ = name
    return method


def _unop(fn, name):
    def method(self):
        return _elementwise_call(
            batch_namespace(base_tensor(self).__array_namespace__()), name, fn, (self,), {}
        )

    method.__name__ = name
    return method


def _iop(fn, name):
    def method(self, other):
        ns = self.__array_namespace__()
        lv = _max_level((other,), {})
        if lv is not None and lv > self.level:
            raise RuntimeError(
                f"vmap: {name}: an in-place operation would write a value batched at an inner "
                "vmap level into an array that is not batched at it; use the out-of-place "
                "operator instead"
            )
        v = _pad_to(ns, other, self.level, self.ndim) if _level_of(other) == self.level else other
        fn(self.value, v)
        return self

    method.__name__ = name
    return method


_BIN = {
    "add": operator.add,
    "sub": operator.sub,
    "mul": operator.mul,
    "truediv": operator.truediv,
    "floordiv": operator.floordiv,
    "mod": operator.mod,
    "pow": operator.pow,
    "and": operator.and_,
    "or": operator.or_,
    "xor": operator.xor,
    "lshift": operator.lshift,
    "rshift": operator.rshift,
}
for _n, _f in _BIN.items():
    setattr(BatchedTensor, f"__{_n}__", _binop(_f, f"__{_n}__"))
    setattr(BatchedTensor, f"__r{_n}__", _rbinop(_f, f"__r{_n}__"))
_IOPS = {
    "add": operator.iadd,
    "sub": operator.isub,
    "mul": operator.imul,
    "truediv": operator.itruediv,
    "floordiv": operator.ifloordiv,
    "mod": operator.imod,
    "pow": operator.ipow,
    "and": operator.iand,
    "or": operator.ior,
    "xor": operator.ixor,
    "lshift": operator.ilshift,
    "rshift": operator.irshift,
}
for _n, _f in _IOPS.items():
    setattr(BatchedTensor, f"__i{_n}__", _iop(_f, f"__i{_n}__"))
for _n, _f in {
    "lt": operator.lt,
    "le": operator.le,
    "gt": operator.gt,
    "ge": operator.ge,
    "eq": operator.eq,
    "ne": operator.ne,
}.items():
    setattr(BatchedTensor, f"__{_n}__", _binop(_f, f"__{_n}__"))
for _n, _uf in {
    "neg": operator.neg,
    "pos": operator.pos,
    "abs": operator.abs,
    "invert": operator.invert,
}.items():
    setattr(BatchedTensor, f"__{_n}__", _unop(_uf, f"__{_n}__"))


# --------------------------------------------------------------------------------------------
# Levels of values.


def base_tensor(x):
    while isinstance(x, BatchedTensor):
        x = x.value
    return x


def _level_of(x):
    return x.level if isinstance(x, BatchedTensor) else None


def _max_level(args, kwargs):
    m = None
    for a in args:
        if isinstance(a, BatchedTensor):
            if m is None or a.level > m:
                m = a.level
        elif isinstance(a, (list, tuple)):
            for e in a:
                if isinstance(e, BatchedTensor) and (m is None or e.level > m):
                    m = e.level
    for a in kwargs.values():
        if isinstance(a, BatchedTensor) and (m is None or a.level > m):
            m = a.level
    return m


def _is_array(a):
    return isinstance(a, (BatchedTensor, Tensor))


def _wrapout(res, lvl):
    if isinstance(res, (Tensor, BatchedTensor)):
        return BatchedTensor(res, lvl)
    if isinstance(res, tuple):
        items = [_wrapout(r, lvl) for r in res]
        if hasattr(res, "_fields"):
            return type(res)(*items)
        return tuple(items)
    if isinstance(res, list):
        return [_wrapout(r, lvl) for r in res]
    return res


def _pad_to(ns, x, lvl, rank):
    """``x``'s value (batch at axis 0) with ones inserted after the batch axis up to ``rank``."""
    v = x.value
    k = rank - x.ndim
    if k <= 0:
        return v
    shape = tuple(v.shape)
    return ns._c("reshape", v, (shape[0],) + (1,) * k + shape[1:])


def _batched_value(ns, x, lvl, size):
    """``x`` as a value with the batch of level ``lvl`` at axis 0 (broadcast if not batched)."""
    if isinstance(x, BatchedTensor) and x.level == lvl:
        return x.value
    shape = tuple(x.shape)
    e = ns._c("expand_dims", x, axis=0)
    return ns._c("broadcast_to", e, (size,) + shape)


def _size_of(args, kwargs, lvl):
    for a in list(args) + list(kwargs.values()):
        if isinstance(a, BatchedTensor) and a.level == lvl:
            return a.value.shape[0]
        if isinstance(a, (list, tuple)):
            for e in a:
                if isinstance(e, BatchedTensor) and e.level == lvl:
                    return e.value.shape[0]
    raise AssertionError("no batched argument")  # pragma: no cover


# --------------------------------------------------------------------------------------------
# The namespace.


class _Sub:
    def __init__(self, owner, prefix, base):
        self._owner = owner
        self._prefix = prefix
        self._base = base

    def __getattr__(self, name):
        v = getattr(self._base, name)
        if callable(v) and not isinstance(v, type) and not name.startswith("_"):
            path = self._prefix + name
            owner = self._owner

            def fn(*args, **kwargs):
                return owner._c(path, *args, **kwargs)

            fn.__name__ = name
            fn.__doc__ = getattr(v, "__doc__", None)
            self.__dict__[name] = fn
            return fn
        return v


_NOT_FUNCS = {"__array_namespace_info__"}


class BatchNamespace:
    """The array API namespace of values inside ``vmap`` (one per xpgrad namespace)."""

    def __init__(self, base):
        self._base = base
        self.linalg = _Sub(self, "linalg.", base.linalg)
        self.fft = _Sub(self, "fft.", base.fft)
        special = getattr(base, "special", None)
        if special is not None:
            self.special = _Sub(self, "special.", special)

    def __repr__(self):
        return f"BatchNamespace({self._base!r})"

    def __getattr__(self, name):
        if name.startswith("__") or name in _NOT_FUNCS:
            return getattr(self._base, name)
        v = getattr(self._base, name)
        if callable(v) and not isinstance(v, type) and not name.startswith("_"):

            def fn(*args, **kwargs):
                return self._c(name, *args, **kwargs)

            fn.__name__ = name
            fn.__doc__ = getattr(v, "__doc__", None)
            self.__dict__[name] = fn
            return fn
        return v

    def _base_fn(self, path):
        obj = self._base
        for part in path.split("."):
            obj = getattr(obj, part)
        return obj

    def _c(self, path, *args, **kwargs):
        """Call namespace function ``path`` ("sin", "linalg.solve") on possibly batched values."""
        lvl = _max_level(args, kwargs)
        if lvl is None:
            return self._base_fn(path)(*args, **kwargs)
        rule = _RULES.get(path)
        if rule is None:
            rule = _category_rule(self, path)
        return rule(self, path, lvl, args, kwargs)

    def _getitem(self, x, key):
        lvl = _max_level((x,) + (key if isinstance(key, tuple) else (key,)), {})
        if lvl is None:
            return x[key]
        return _getitem_rule(self, lvl, x, key)


_NAMESPACES: dict[int, BatchNamespace] = {}


def batch_namespace(base) -> BatchNamespace:
    ns = _NAMESPACES.get(id(base))
    if ns is None or ns._base is not base:
        ns = _NAMESPACES[id(base)] = BatchNamespace(base)
    return ns


# --------------------------------------------------------------------------------------------
# Rules.

_WARNED: set[str] = set()


def _fallback(ns, path, lvl, args, kwargs, call=None):
    """Loop over the batch and stack: for functions with no batching rule."""
    if path not in _WARNED:
        _WARNED.add(path)
        warnings.warn(
            f"vmap: {path} has no batching rule (its result's shape may depend on the values); "
            "it is computed sample by sample and stacked, which is slow",
            VmapFallbackWarning,
            stacklevel=4,
        )
    size = _size_of(args, kwargs, lvl)

    def pick(a, i):
        if isinstance(a, BatchedTensor) and a.level == lvl:
            return a.value[i, ...]
        if isinstance(a, (list, tuple)) and any(isinstance(e, BatchedTensor) and e.level == lvl for e in a):
            return type(a)(pick(e, i) for e in a)
        return a

    outs = []
    for i in range(size):
        a_i = tuple(pick(a, i) for a in args)
        k_i = {k: pick(v, i) for k, v in kwargs.items()}
        outs.append(call(*a_i, **k_i) if call is not None else ns._c(path, *a_i, **k_i))
    return _stack_results(ns, path, outs, lvl)


def _stack_results(ns, path, outs, lvl):
    first = outs[0] if outs else None
    try:
        if isinstance(first, tuple):
            items = [_stack_results(ns, path, [o[j] for o in outs], lvl) for j in range(len(first))]
            return type(first)(*items) if hasattr(first, "_fields") else tuple(items)
        if isinstance(first, list):
            return [_stack_results(ns, path, [o[j] for o in outs], lvl) for j in range(len(first))]
        if not _is_array(first):
            return first
        return BatchedTensor(ns._c("stack", outs, axis=0), lvl)
    except (ValueError, TypeError, RuntimeError) as exc:
        raise ValueError(
            f"vmap: {path} gives results of different shapes for different samples "
            f"({', '.join(str(tuple(o.shape)) for o in outs[:4])}, ...): such a function cannot "
            "be batched; call it outside vmap"
        ) from exc


def _elementwise_call(ns, path, fn, args, kwargs):
    lvl = _max_level(args, kwargs)
    if lvl is None:
        return fn(*args, **kwargs)
    rank = 0
    for a in list(args) + list(kwargs.values()):
        if _is_array(a) and a.ndim > rank:
            rank = a.ndim

    def prep(a):
        if isinstance(a, BatchedTensor) and a.level == lvl:
            return _pad_to(ns, a, lvl, rank)
        return a

    res = fn(*[prep(a) for a in args], **{k: prep(v) for k, v in kwargs.items()})
    return _wrapout(res, lvl)


def _elementwise(ns, path, lvl, args, kwargs):
    return _elementwise_call(ns, path, lambda *a, **k: ns._c(path, *a, **k), args, kwargs)


_SIGS: dict[tuple[int, str], inspect.Signature] = {}


def _bind(ns, path, args, kwargs):
    key = (id(ns), path)
    sig = _SIGS.get(key)
    if sig is None:
        sig = _SIGS[key] = inspect.signature(ns._base_fn(path))
    ba = sig.bind(*args, **kwargs)
    ba.apply_defaults()
    return ba


def _call_bound(ns, path, ba):
    return ns._c(path, *ba.args, **ba.kwargs)


def _only_first_batched(ba, first, lvl):
    for name, v in ba.arguments.items():
        if name == first:
            continue
        vals = v if isinstance(v, (list, tuple)) else (v,)
        if any(isinstance(e, BatchedTensor) and e.level == lvl for e in vals):
            return False
    return isinstance(ba.arguments.get(first), BatchedTensor) and ba.arguments[first].level == lvl


def _shift(ax, n):
    if isinstance(ax, (tuple, list)):
        return tuple(_shift(a, n) for a in ax)
    if n == 0:
        return ax + 1 if ax >= 0 else ax
    return operator.index(ax) % n + 1


def _axis_rule(key="axis", none="all", first="x"):
    """Reductions and functions of an axis: the axis (or axes) shifted past the batch axis.

    ``none``: what ``axis=None`` means: ``"all"`` (every axis of a sample), ``"flatten"`` (the
    flattened sample), ``"zero"`` (axis 0: one-dimensional input only), ``"last"``."""

    def rule(ns, path, lvl, args, kwargs):
        ba = _bind(ns, path, args, kwargs)
        if not _only_first_batched(ba, first, lvl):
            return _fallback(ns, path, lvl, args, kwargs)
        x = ba.arguments[first]
        n = x.ndim
        ax = ba.arguments[key]
        v = x.value
        reshape_back = None
        if ax is None:
            if key == "axes" and ba.arguments.get("s") is not None:
                ax = tuple(range(n - len(ba.arguments["s"]), n))
                ax = _shift(ax, n)
            elif none == "all":
                ax = tuple(range(1, n + 1))
            elif none == "zero":
                ax = 1
            elif none == "flatten":
                shape = tuple(v.shape)
                v = ns._c("reshape", v, (shape[0], -1))
                ax = 1
                if ba.arguments.get("keepdims"):
                    ba.arguments["keepdims"] = False
                    reshape_back = (shape[0],) + (1,) * n
                elif path == "roll":
                    reshape_back = shape
        else:
            ax = _shift(ax, n)
        ba.arguments[first] = v
        ba.arguments[key] = ax
        res = _call_bound(ns, path, ba)
        if reshape_back is not None:
            res = ns._c("reshape", res, reshape_back)
        return _wrapout(res, lvl)

    return rule


def _stack_rule(ns, path, lvl, args, kwargs):
    """Functions of the last axes (linear algebra on stacks, like-creation, casts)."""
    ba = _bind(ns, path, args, kwargs)
    first = next(iter(ba.arguments))
    if not _only_first_batched(ba, first, lvl):
        return _fallback(ns, path, lvl, args, kwargs)
    ba.arguments[first] = ba.arguments[first].value
    return _wrapout(_call_bound(ns, path, ba), lvl)


def _bcast_axis_rule(ns, path, lvl, args, kwargs):
    """Broadcasting functions of two arrays with an axis (vecdot, cross): ranks padded and the
    axis made negative (which the padding keeps)."""
    ba = _bind(ns, path, args, kwargs)
    x1, x2 = ba.arguments["x1"], ba.arguments["x2"]
    rank = max(x1.ndim if _is_array(x1) else 0, x2.ndim if _is_array(x2) else 0)
    ax = ba.arguments["axis"]
    if ax >= 0:
        ax -= rank
    ba.arguments["axis"] = ax
    for name in ("x1", "x2"):
        a = ba.arguments[name]
        if isinstance(a, BatchedTensor) and a.level == lvl:
            ba.arguments[name] = _pad_to(ns, a, lvl, rank)
    return _wrapout(_call_bound(ns, path, ba), lvl)


def _matmul_rule(ns, path, lvl, args, kwargs):
    """matmul and solve: a one-dimensional operand made a matrix, stack ranks padded."""
    ba = _bind(ns, path, args, kwargs)
    x1, x2 = ba.arguments["x1"], ba.arguments["x2"]
    squeeze = []
    vals = {}
    ranks = {}
    for name, a in (("x1", x1), ("x2", x2)):
        batched = isinstance(a, BatchedTensor) and a.level == lvl
        nd = a.ndim
        vals[name] = (a, batched)
        ranks[name] = max(nd, 2)
    rank = max(ranks.values())
    for name, (a, batched) in vals.items():
        if not batched:
            continue
        v = a.value
        if a.ndim == 1:
            if name == "x1":
                v = ns._c("expand_dims", v, axis=1)
                squeeze.append(-2)
            else:
                v = ns._c("expand_dims", v, axis=-1)
                squeeze.append(-1)
        k = rank - max(a.ndim, 2)
        if k:
            shape = tuple(v.shape)
            v = ns._c("reshape", v, (shape[0],) + (1,) * k + shape[1:])
        ba.arguments[name] = v
    # An unbatched vector against a batched matrix stack keeps the vector semantics only where
    # the stack is the other operand's.
    for name, (a, batched) in vals.items():
        if not batched and a.ndim == 1 and not (path == "linalg.solve" and name == "x2"):
            v = ns._c("expand_dims", a, axis=0 if name == "x1" else -1)
            ba.arguments[name] = v
            squeeze.append(-2 if name == "x1" else -1)
        elif not batched and a.ndim == 1:  # solve(x1 batched, b vector): b as a column
            ba.arguments[name] = ns._c("expand_dims", a, axis=-1)
            squeeze.append(-1)
    res = _call_bound(ns, path, ba)
    for ax in sorted(squeeze):
        res = ns._c("squeeze", res, axis=ax)
    return _wrapout(res, lvl)


def _reshape_rule(ns, path, lvl, args, kwargs):
    ba = _bind(ns, path, args, kwargs)
    x = ba.arguments["x"]
    v = x.value
    ba.arguments["x"] = v
    ba.arguments["shape"] = (v.shape[0], *tuple(ba.arguments["shape"]))
    return _wrapout(_call_bound(ns, path, ba), lvl)


def _broadcast_to_rule(ns, path, lvl, args, kwargs):
    ba = _bind(ns, path, args, kwargs)
    x = ba.arguments["x"]
    shape = tuple(ba.arguments["shape"])
    v = _pad_to(ns, x, lvl, len(shape))
    ba.arguments["x"] = v
    ba.arguments["shape"] = (v.shape[0], *shape)
    return _wrapout(_call_bound(ns, path, ba), lvl)


def _expand_dims_rule(ns, path, lvl, args, kwargs):
    ba = _bind(ns, path, args, kwargs)
    x = ba.arguments["x"]
    ax = ba.arguments["axis"]
    n_out = x.ndim + (len(ax) if isinstance(ax, (tuple, list)) else 1)
    ba.arguments["x"] = x.value
    ba.arguments["axis"] = _shift(ax, n_out)
    return _wrapout(_call_bound(ns, path, ba), lvl)


def _permute_rule(ns, path, lvl, args, kwargs):
    ba = _bind(ns, path, args, kwargs)
    x = ba.arguments["x"]
    ba.arguments["x"] = x.value
    ba.arguments["axes"] = (0, *_shift(tuple(ba.arguments["axes"]), x.ndim))
    return _wrapout(_call_bound(ns, path, ba), lvl)


def _moveaxis_rule(ns, path, lvl, args, kwargs):
    ba = _bind(ns, path, args, kwargs)
    x = ba.arguments["x"]
    n = x.ndim
    ba.arguments["x"] = x.value
    ba.arguments["source"] = _shift(ba.arguments["source"], n)
    ba.arguments["destination"] = _shift(ba.arguments["destination"], n)
    return _wrapout(_call_bound(ns, path, ba), lvl)


def _join_rule(ns, path, lvl, args, kwargs):
    """concat and stack: every array given the batch (broadcast if it has none)."""
    ba = _bind(ns, path, args, kwargs)
    arrays = list(ba.arguments["arrays"])
    size = _size_of((arrays,), {}, lvl)
    n = arrays[0].ndim + (1 if path == "stack" else 0)
    ba.arguments["arrays"] = [_batched_value(ns, a, lvl, size) for a in arrays]
    ax = ba.arguments["axis"]
    ba.arguments["axis"] = _shift(ax, n) if ax is not None else ax
    if ax is None:  # concat(axis=None) flattens
        ba.arguments["arrays"] = [ns._c("reshape", a, (size, -1)) for a in ba.arguments["arrays"]]
        ba.arguments["axis"] = 1
    return _wrapout(_call_bound(ns, path, ba), lvl)


def _broadcast_arrays_rule(ns, path, lvl, args, kwargs):
    shape = ns._base.broadcast_shapes(*[tuple(a.shape) for a in args])
    return [ns._c("broadcast_to", a, shape) for a in args]


def _tile_rule(ns, path, lvl, args, kwargs):
    ba = _bind(ns, path, args, kwargs)
    x = ba.arguments["x"]
    reps = tuple(ba.arguments["repetitions"])
    rank = max(x.ndim, len(reps))
    reps = (1,) * (rank - len(reps)) + reps
    ba.arguments["x"] = _pad_to(ns, x, lvl, rank)
    ba.arguments["repetitions"] = (1, *reps)
    return _wrapout(_call_bound(ns, path, ba), lvl)


def _take_along_rule(ns, path, lvl, args, kwargs):
    ba = _bind(ns, path, args, kwargs)
    x, idx = ba.arguments["x"], ba.arguments["indices"]
    size = _size_of((x, idx), {}, lvl)
    rank = max(x.ndim, idx.ndim)
    ax = ba.arguments["axis"]
    if ax >= 0:
        ax -= rank
    for name, a in (("x", x), ("indices", idx)):
        if isinstance(a, BatchedTensor) and a.level == lvl:
            ba.arguments[name] = _pad_to(ns, a, lvl, rank)
        else:
            ba.arguments[name] = _batched_value(ns, a, lvl, size)
    ba.arguments["axis"] = ax
    return _wrapout(_call_bound(ns, path, ba), lvl)


def _take_rule(ns, path, lvl, args, kwargs):
    ba = _bind(ns, path, args, kwargs)
    if not _only_first_batched(ba, "x", lvl):
        return _fallback(ns, path, lvl, args, kwargs)
    x = ba.arguments["x"]
    ax = ba.arguments["axis"]
    ba.arguments["axis"] = 1 if ax is None else _shift(ax, x.ndim)
    ba.arguments["x"] = x.value
    return _wrapout(_call_bound(ns, path, ba), lvl)


def _outer_rule(ns, path, lvl, args, kwargs):
    ba = _bind(ns, path, args, kwargs)
    a = ns._c("expand_dims", ba.arguments["x1"], axis=-1)
    b = ns._c("expand_dims", ba.arguments["x2"], axis=0)
    return ns._c("multiply", a, b)


def _dtype_rule(ns, path, lvl, args, kwargs):
    """result_type, can_cast: only the dtypes of the arrays matter."""

    def d(a):
        return a.dtype if isinstance(a, BatchedTensor) else a

    return ns._base_fn(path)(*[d(a) for a in args], **{k: d(v) for k, v in kwargs.items()})


def _unstack_rule(ns, path, lvl, args, kwargs):
    return _axis_rule(none="zero")(ns, path, lvl, args, kwargs)


def _meshgrid_rule(ns, path, lvl, args, kwargs):
    return _fallback(ns, path, lvl, args, kwargs)


def _getitem_rule(ns, lvl, x, key):
    keys = key if isinstance(key, tuple) else (key,)
    x_batched = isinstance(x, BatchedTensor) and x.level == lvl
    key_batched = any(isinstance(k, BatchedTensor) and k.level == lvl for k in keys)
    if x_batched and not key_batched and not any(isinstance(k, BatchedTensor) for k in keys):
        arrays = [i for i, k in enumerate(keys) if _is_array(k)]
        if not arrays:
            return BatchedTensor(x.value[_full_key(keys)], lvl)
        if _integer_only(ns, keys):
            # Integer arrays (and integers) only: the batch index is one more integer array,
            # broadcast against them, so the indexed axes stay together after the batch axis.
            size = x.value.shape[0]
            nd = max(keys[i].ndim for i in arrays)
            ar = ns._c("reshape", ns._c("arange", size), (size,) + (1,) * nd)
            key = (ar, *keys) if keys and keys[-1] is Ellipsis else (ar, *keys, Ellipsis)
            try:
                return BatchedTensor(x.value[key], lvl)
            except IndexError:  # a backend that takes integer arrays only with every axis named
                pass
    if (
        x_batched
        and key_batched
        and len(keys) == 1
        and x.ndim == 1
        and keys[0].ndim <= 1
        and not _is_bool(ns, keys[0])
    ):
        idx = keys[0]
        v = idx.value if idx.ndim == 1 else ns._c("reshape", idx.value, (idx.value.shape[0], 1))
        r = ns._c("take_along_axis", x.value, v, axis=1)
        if idx.ndim == 0:
            r = ns._c("reshape", r, (r.shape[0],))
        return BatchedTensor(r, lvl)
    return _fallback(ns, "__getitem__", lvl, (x, keys), {}, call=lambda a, k: _index(ns, a, k))


def _integer_only(ns, keys):
    body = keys[:-1] if keys and keys[-1] is Ellipsis else keys
    return all(
        (_is_array(k) and not _is_bool(ns, k)) or (isinstance(k, int) and not isinstance(k, bool))
        for k in body
    )


def _full_key(keys):
    """A sample's index as an index of the batched value: the batch axis first, and a trailing
    ellipsis where the index names fewer axes (the standard asks for every axis or an ellipsis)."""
    if any(k is Ellipsis for k in keys):
        return (slice(None), *keys)
    return (slice(None), *keys, Ellipsis)


def _index(ns, a, k):
    if isinstance(a, BatchedTensor) or any(isinstance(e, BatchedTensor) for e in k):
        return ns._getitem(a, k)
    return a[k]


def _is_bool(ns, a):
    return ns._base.isdtype(a.dtype, "bool")


def _setitem(x, key, v):
    keys = key if isinstance(key, tuple) else (key,)
    if any(isinstance(k, BatchedTensor) for k in keys):
        raise NotImplementedError(
            "vmap: x[key] = v with a batched index is not supported; build the result with "
            "xp.where or an out-of-place function instead"
        )
    lv = _max_level((v,), {})
    if lv is not None and lv > x.level:
        raise RuntimeError(
            "vmap: x[key] = v writes a value batched at an inner vmap level into an array that is "
            "not batched at it; create x inside the vmapped function from a batched value "
            "(xp.zeros_like(...)) or use an out-of-place function"
        )
    target_ndim = x[key].ndim
    if isinstance(v, BatchedTensor) and v.level == x.level:
        v = _pad_to(x.__array_namespace__(), v, x.level, target_ndim)
    x.value[_full_key(keys)] = v


# The categories of the derivative table's modules, and the functions with their own rule.
_AXIS_ALL = (
    "sum",
    "prod",
    "mean",
    "std",
    "var",
    "max",
    "min",
    "median",
    "all",
    "any",
    "count_nonzero",
    "flip",
)
_RULES: dict[str, Any] = {}
for _name in _AXIS_ALL:
    _RULES[_name] = _axis_rule()
for _name in ("argmax", "argmin"):
    _RULES[_name] = _axis_rule(none="flatten")
_RULES["roll"] = _axis_rule(none="flatten")
_RULES["repeat"] = _axis_rule(none="flatten")
for _name in ("cumulative_sum", "cumulative_prod"):
    _RULES[_name] = _axis_rule(none="zero")
for _name in ("sort", "argsort", "diff"):
    _RULES[_name] = _axis_rule()
_RULES["squeeze"] = _axis_rule()
_RULES["unstack"] = _unstack_rule
_RULES["linalg.vector_norm"] = _axis_rule()
for _name in ("fft", "ifft", "rfft", "irfft", "hfft", "ihfft"):
    _RULES["fft." + _name] = _axis_rule()
for _name in ("fftn", "ifftn", "rfftn", "irfftn", "fftshift", "ifftshift"):
    _RULES["fft." + _name] = _axis_rule(key="axes")
for _name in (
    "matrix_transpose",
    "tril",
    "triu",
    "astype",
    "zeros_like",
    "ones_like",
    "empty_like",
    "full_like",
    "asarray",
    "linalg.cholesky",
    "linalg.det",
    "linalg.eig",
    "linalg.eigh",
    "linalg.eigvals",
    "linalg.eigvalsh",
    "linalg.inv",
    "linalg.matrix_norm",
    "linalg.matrix_power",
    "linalg.matrix_rank",
    "linalg.pinv",
    "linalg.qr",
    "linalg.slogdet",
    "linalg.svd",
    "linalg.svdvals",
    "linalg.diagonal",
    "linalg.trace",
    "linalg.matrix_transpose",
):
    _RULES[_name] = _stack_rule
for _name in ("vecdot", "linalg.vecdot", "linalg.cross"):
    _RULES[_name] = _bcast_axis_rule
for _name in ("matmul", "linalg.matmul", "linalg.solve"):
    _RULES[_name] = _matmul_rule
_RULES.update(
    {
        "reshape": _reshape_rule,
        "broadcast_to": _broadcast_to_rule,
        "expand_dims": _expand_dims_rule,
        "permute_dims": _permute_rule,
        "moveaxis": _moveaxis_rule,
        "concat": _join_rule,
        "stack": _join_rule,
        "broadcast_arrays": _broadcast_arrays_rule,
        "tile": _tile_rule,
        "take": _take_rule,
        "take_along_axis": _take_along_rule,
        "linalg.outer": _outer_rule,
        "result_type": _dtype_rule,
        "can_cast": _dtype_rule,
        "meshgrid": _meshgrid_rule,
        "clip": _elementwise,
        "isin": _stack_rule,  # elementwise in x1 (a batched set x2 loops)
        "where": _elementwise,
    }
)


def _category_rule(ns, path):
    """The rule of a function with no entry above: elementwise functions (the table's
    elementwise module; special functions of no axis) broadcast; everything else loops."""
    if "." not in path and path in _elementwise_of(ns._base):
        rule = _elementwise
    elif path.startswith("special."):
        rule = _special_rule
    else:
        rule = _fallback
    _RULES[path] = rule
    return rule


def _special_rule(ns, path, lvl, args, kwargs):
    params = _bind(ns, path, args, kwargs).arguments
    if "axis" in params:
        return _axis_rule()(ns, path, lvl, args, kwargs)
    return _elementwise(ns, path, lvl, args, kwargs)


_ELEMENTWISE_NAMES: set[str] = set()


def _elementwise_of(base):
    if not _ELEMENTWISE_NAMES:
        t = _elementwise_module
        _ELEMENTWISE_NAMES.update(t.UNARY, t.BINARY, t.NONDIFF_UNARY, t.NONDIFF_BINARY, ("pow", "sign"))
    return _ELEMENTWISE_NAMES
