"""``xpgrad.compile``: record a step once, replay it as plain backend calls.

The first call of a compiled function runs eagerly while a recorder (:mod:`._trace`) writes
every backend call to a tape: the forward, the VJPs the engine runs, the gradient accumulation
and the optimiser's update alike, as they all operate on the backend's raw arrays. The tape
becomes a straight-line Python function over raw arrays (:mod:`._replay`). Later calls whose
guards hold run that function and then leave every effect the eager call would: the returned
values, ``.grad``, the parameters and optimiser state, the version counters.
"""

from __future__ import annotations

import builtins
import functools
import logging
import operator
import threading
import types
import weakref
from typing import Any

import numpy as np

from .. import _backends, _grad_mode
from .._graph import counter_of, version_of
from .._tensor import Tensor
from ..optim import Optimizer
from . import _trace
from ._replay import GuardFailed, build_replay
from ._trace import (
    NUMPY_CONVERSIONS,
    NUMPY_CREATION,
    Tape,
    Traced,
    TScalar,
    fingerprint,
    recording_conversion,
    recording_creation,
    same_recording,
    set_active,
)

__all__ = ["compile", "explain", "Compiled"]

_asarray = np.asarray
log = logging.getLogger("xpgrad.compile")

_backends.KEEP_ARRAY_TYPES.add(Traced)

# Creation functions of the backend namespace swapped for recording ones while recording: a
# buffer made from a shape alone (the engine's zero gradients) is then a slot of the tape.
_CREATION = ("zeros", "ones", "empty", "full", "eye", "arange", "linspace", "asarray")


def _recording_creation(orig, name):
    def create(*args, **kwargs):
        tape = _trace.active()
        pa, pk = _trace._plain(args), _trace._plain(kwargs)
        res = orig(*pa, **pk)
        if tape is None:
            return res
        if name == "asarray" and args and res is pa[0] and type(args[0]) is not Traced:
            return res  # the caller's own array, not a copy: a constant
        return tape.record(orig, tape.ref(args), tape.ref(kwargs), res, name)

    return create


# -- finding what a step touches --------------------------------------------------------------------


_SKIP = (types.ModuleType, type, types.FunctionType, types.BuiltinFunctionType, types.MethodType)


class _World:
    """The Tensors, optimisers and other objects a step can reach besides its Tensor arguments."""

    def __init__(self):
        self.tensors: list[Tensor] = []
        self.run: Any = None
        self.optims: list[Optimizer] = []
        self.attrs: list[dict] = []  # attributes of other objects reached (a model, a scheduler)
        self._seen: set[int] = set()

    def walk(self, obj, depth=0):
        if depth > 5 or obj is None or type(obj) in (int, float, bool, str, complex, bytes):
            return
        if id(obj) in self._seen:
            return
        self._seen.add(id(obj))
        if type(obj) is Tensor:
            self.tensors.append(obj)
            return
        if isinstance(obj, Optimizer):
            self.optims.append(obj)
            for g in obj.param_groups:
                for p in g["params"]:
                    self.walk(p, depth + 1)
            for p in list(obj.state):
                for v in obj.state[p].values():
                    self.walk(v, depth + 1)
            return
        if isinstance(obj, (list, tuple, set, frozenset)):
            for e in obj:
                self.walk(e, depth + 1)
            return
        if isinstance(obj, dict):
            for e in obj.values():
                self.walk(e, depth + 1)
            return
        if isinstance(obj, (np.ndarray, _SKIP)) or callable(obj) and not hasattr(obj, "__dict__"):
            return
        d = getattr(obj, "__dict__", None)
        if isinstance(d, dict):
            self.attrs.append(d)
            for e in d.values():
                self.walk(e, depth + 1)


def _code_names(code) -> set[str]:
    names = set(code.co_names)
    for c in code.co_consts:
        if isinstance(c, types.CodeType):
            names |= _code_names(c)
    return names


_NAMES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # code -> global names it reads


def _roots(fn) -> list[Any]:
    """The objects ``fn`` reaches other than its arguments: closure cells, globals it names,
    the instance of a bound method."""
    out = []
    self_obj = getattr(fn, "__self__", None)
    if self_obj is not None and not isinstance(self_obj, types.ModuleType):
        out.append(self_obj)
    f = getattr(fn, "__func__", fn)
    code = getattr(f, "__code__", None)
    if code is None:
        return out
    for cell in f.__closure__ or ():
        try:
            out.append(cell.cell_contents)
        except ValueError:
            pass
    g = getattr(f, "__globals__", {})
    names = _NAMES.get(code)
    if names is None:
        names = _NAMES[code] = tuple(sorted(_code_names(code)))
    for name in names:
        v = g.get(name)
        if v is not None and not isinstance(v, _SKIP) and not callable(v) or isinstance(v, Optimizer):
            out.append(v)
    return out


# -- arguments ---------------------------------------------------------------------------------------


def _flatten(obj, path, leaves):
    t = type(obj)
    if t is tuple or t is list:
        for i, e in enumerate(obj):
            _flatten(e, path + (i,), leaves)
    elif t is dict:
        for k in obj:
            _flatten(obj[k], path + (k,), leaves)
    else:
        leaves.append((path, obj))


def _arg_key(obj):
    t = type(obj)
    if t is Tensor:
        d = obj._data
        g = obj._grad
        return (
            type(d),
            d.shape,
            d.dtype,
            obj._requires_grad,
            None if g is None else (g._data.shape, g._data.dtype),
            None if obj._hooks is None else len(obj._hooks),  # hooks registered
            None if obj._post_hooks is None else len(obj._post_hooks),
        )
    if t is np.ndarray:
        return (t, obj.shape, obj.dtype)
    if t in (bool, int, float, complex, str) or obj is None:
        return (t, obj)
    if t is tuple or t is list:
        return (t, tuple(_arg_key(e) for e in obj))
    if t is dict:
        return (t, tuple((k, _arg_key(v)) for k, v in obj.items()))
    return ("object", id(obj))


def _get(obj, path):
    for k in path:
        obj = obj[k]
    return obj


class _Variant:
    """One recording and its guards."""

    def __init__(self):
        self.world: _World
        self.roots: list[Any] = []
        self.key: Any = None
        self.eager_reason: str | None = None  # set: calls matching ``key`` run eagerly
        self.replay: Any = None
        self.source = ""
        self.inputs: list[tuple] = []  # how to fetch each input of the replay
        self.effects: list[tuple] = []
        self.result: Any = None  # the returned value's structure
        self.nouts = 0
        self.tensors: list[Tensor] = []
        self.run: Any = None
        self.tensor_src: list[tuple] = []
        self.scalars: list[tuple[dict, Any]] = []
        self.confirmed = False  # a second recording agreed with this one
        self.fingerprint: Any = None

    def matches(self, fn, args, kwargs) -> bool:
        return self.key == _call_key(self.world, fn, args, kwargs)


_GROUP_GETTERS: dict[tuple, Any] = {}
_SCALARS = (int, float, bool, str, complex)


def _no_values(d):
    return ()


def _group_key(g: dict) -> tuple:
    """An optimiser's parameter group as its guard sees it: its option names and types, and the
    values of the options other than floats (the floats are inputs of the replay)."""
    names = tuple(g)
    kinds = tuple(map(type, g.values()))
    get = _GROUP_GETTERS.get((names, kinds))
    if get is None:
        keys = [k for k, t in zip(names, kinds) if t is not float and k != "params"]
        get = operator.itemgetter(*keys) if keys else _no_values
        if len(_GROUP_GETTERS) < 1024:
            _GROUP_GETTERS[(names, kinds)] = get
    return names, kinds, get(g)


def _call_key(world: _World | None, fn, args, kwargs):
    """What a variant's guards check: grad mode, the arguments (shapes, dtypes, requires_grad,
    Python scalars by value, other objects by identity), the objects the step reaches, and the
    Tensors and optimiser state it reaches (shapes, dtypes, requires_grad, which have a
    gradient, which state entries exist)."""
    parts: list[Any] = [_grad_mode.GRAD_MODE.enabled, _arg_key(args), _arg_key(kwargs)]
    if world is None:
        return tuple(parts)
    parts.append(tuple(id(r) for r in _roots(fn)))
    for t in world.tensors:
        parts.append(_arg_key(t))
    for d in world.attrs:  # Python numbers and strings held by the objects reached, by value
        parts.append(tuple([v for v in d.values() if type(v) in _SCALARS]))
    for opt in world.optims:
        for g in opt.param_groups:
            parts.append(_group_key(g))
            parts.append(tuple(map(id, g["params"])))
        for p in list(opt.state):
            st = opt.state[p]
            parts.append(
                (id(p),)
                + tuple((k, type(v), v if type(v) in (int, bool, str) else None) for k, v in st.items())
            )
    return tuple(parts)


# -- recording -------------------------------------------------------------------------------------------


class _Patch:
    """NumPy's conversion and creation functions, and those of the backend namespaces, swapped
    for recording ones while a recording runs (in any thread; they record in the recording
    thread only). Each module attribute is swapped once however many recordings overlap."""

    _lock = threading.Lock()
    _saved: dict[tuple[int, str], tuple[Any, Any, int]] = {}  # (id(module), name) -> (module, orig, users)

    def __init__(self, namespaces):
        self.targets = [(np, name) for name in NUMPY_CONVERSIONS + NUMPY_CREATION]
        for ns in namespaces:
            xp = ns.backend.xp
            self.targets += [(xp, name) for name in _CREATION if getattr(xp, name, None) is not None]

    def __enter__(self):
        with self._lock:
            for mod, name in self.targets:
                key = (id(mod), name)
                hit = self._saved.get(key)
                if hit is not None:
                    self._saved[key] = (mod, hit[1], hit[2] + 1)
                    continue
                orig = getattr(mod, name)
                if mod is np:
                    make = recording_conversion if name in NUMPY_CONVERSIONS else recording_creation
                else:
                    make = _recording_creation
                setattr(mod, name, make(orig, name))
                self._saved[key] = (mod, orig, 1)

    def __exit__(self, *exc):
        with self._lock:
            for mod, name in self.targets:
                key = (id(mod), name)
                m, orig, users = self._saved[key]
                if users > 1:
                    self._saved[key] = (m, orig, users - 1)
                else:
                    setattr(mod, name, orig)
                    del self._saved[key]


def _untrace_array(a):
    return np.ndarray.view(a, np.ndarray) if type(a) is Traced else a


def _untrace_tensor(t: Tensor) -> None:
    t._data = _untrace_array(t._data)
    if t._grad is not None:
        t._grad._data = _untrace_array(t._grad._data)


def _untrace_world(world: _World) -> None:
    for t in world.tensors:
        _untrace_tensor(t)
    for opt in world.optims:
        for g in opt.param_groups:
            for k, v in g.items():
                if type(v) is TScalar:
                    g[k] = v._v
            for p in g["params"]:
                _untrace_tensor(p)
        for p in list(opt.state):
            st = opt.state[p]
            for k, v in list(st.items()):
                if type(v) is TScalar:
                    st[k] = v._v
                elif type(v) is Tensor:
                    _untrace_tensor(v)


def _untrace_value(obj):
    t = type(obj)
    if t is Tensor:
        _untrace_tensor(obj)
        return obj
    if t is Traced:
        return _untrace_array(obj)
    if t is TScalar:
        return obj._v
    if t is tuple or t is list:
        return t(_untrace_value(e) for e in obj)
    if t is dict:
        return {k: _untrace_value(v) for k, v in obj.items()}
    return obj


def _record(fn, args, kwargs, variant: _Variant):
    """Run ``fn`` eagerly while recording; fill ``variant``; return the eager result."""
    world = variant.world
    tape = Tape()
    inputs: list[tuple] = []
    tensors: list[Tensor] = []  # every Tensor whose effects the replay leaves ("tensor index")
    tensor_src: list[tuple] = []  # ("world", i) or ("arg", path)
    namespaces = set()
    reason = None

    leaves: list[tuple] = []
    _flatten((args, kwargs), (), leaves)
    arg_arrays = {}
    for path, obj in leaves:
        if type(obj) is Tensor:
            if all(t is not obj for t in tensors):
                tensors.append(obj)
                tensor_src.append(("arg", path))
        elif isinstance(obj, np.ndarray):
            arg_arrays[path] = obj
    for i, t in enumerate(world.tensors):
        if all(u is not t for u in tensors):
            tensors.append(t)
            tensor_src.append(("world", i))
    for t in tensors:
        if t._grad is not None and any(t._grad is u for u in tensors):
            reason = "a gradient Tensor is also reached as a Tensor of its own"
        namespaces.add(t._ns)
        for d in (t._data, None if t._grad is None else t._grad._data):
            if d is not None and type(d) is not np.ndarray:
                reason = (
                    f"backend {t._ns.backend.name!r} is not supported by the recorder yet (NumPy arrays only)"
                )
    if reason is not None:
        variant.eager_reason = reason
        return fn(*args, **kwargs)

    pre = []
    traced_in: dict[tuple, Traced] = {}
    for i, t in enumerate(tensors):
        g = t._grad
        pre.append((t._data, g, version_of(t), None if g is None else version_of(g)))
        t._data = traced_in[("data", i)] = tape.input_array(t._data)
        inputs.append(("data", i))
        if g is not None:
            g._data = traced_in[("gdata", i)] = tape.input_array(g._data)
            inputs.append(("gdata", i))
    scalars: list[tuple[dict, Any]] = []  # (dict, key) of traced optimiser numbers
    for opt in world.optims:
        dicts = list(opt.param_groups) + [opt.state[p] for p in list(opt.state)]
        for d in dicts:
            for k, v in list(d.items()):
                if type(v) is float:
                    d[k] = tape.input_scalar(v)
                    inputs.append(("scalar", len(scalars)))
                    scalars.append((d, k))
    targs = {}
    for path, arr in arg_arrays.items():
        targs[path] = tape.input_array(arr)
        inputs.append(("array", path))
    if targs:
        args, kwargs = _replace_paths((args, kwargs), targs)

    set_active(tape)
    try:
        with _Patch(namespaces):
            result = fn(*args, **kwargs)
    except BaseException:
        set_active(None)
        _untrace_world(world)
        for t in tensors:
            _untrace_tensor(t)
        raise
    set_active(None)

    outputs: list[int] = []

    def out(slot):
        outputs.append(slot)
        return len(outputs) - 1

    effects = _effects(tape, tensors, pre, traced_in, scalars, out)
    result_spec = _result_spec(result, out)
    _untrace_world(world)
    for t in tensors:
        _untrace_tensor(t)
    eager_result = _untrace_value(result)

    if tape.failed is not None:
        variant.eager_reason = tape.failed
        return eager_result
    variant.fingerprint = fingerprint(tape)
    variant.replay, variant.source = build_replay(tape, outputs)
    variant.inputs = inputs
    variant.effects = effects
    variant.result = result_spec
    variant.tensors = tensors
    variant.tensor_src = tensor_src
    variant.scalars = scalars
    variant.run = _build_runner(variant)
    return eager_result


def _effects(tape: Tape, tensors, pre, traced_in, scalars, out) -> list[tuple]:
    """What the recording call left that a replay must leave too: new data or gradients of the
    Tensors it reached, gradients removed, version counter increments, optimiser numbers."""
    effects: list[tuple] = []

    def slot_of(a):
        if type(a) is Traced and a._slot is not None:
            return a._slot
        tape.fail("a Tensor was given an array made outside the recorder")
        return None

    for i, t in enumerate(tensors):
        _, g0, vc0, gvc0 = pre[i]
        if t._data is not traced_in.get(("data", i)):
            s = slot_of(t._data)
            if s is not None:
                effects.append(("data", i, out(s)))
        g = t._grad
        if g is None:
            if g0 is not None:
                effects.append(("nograd", i))
        elif g is g0:
            if g._data is not traced_in.get(("gdata", i)):
                s = slot_of(g._data)
                if s is not None:
                    effects.append(("gdata", i, out(s)))
            if gvc0 is not None and version_of(g) != gvc0:
                effects.append(("gvc", i, version_of(g) - gvc0))
        else:
            s = slot_of(g._data)
            if s is not None:
                effects.append(("newgrad", i, out(s), g._requires_grad))
        if version_of(t) != vc0:
            effects.append(("vc", i, version_of(t) - vc0))
    for j, (d, k) in enumerate(scalars):
        v = d.get(k)
        if type(v) is TScalar:
            effects.append(("scalar", j, out(v._slot)))
        elif type(v) in (int, float):
            effects.append(("scalar_const", j, v))
        else:
            tape.fail("an optimiser number was replaced by something else")
    return effects


def _replace_paths(obj, repl, path=()):
    if path in repl:
        return repl[path]
    t = type(obj)
    if t is tuple or t is list:
        return t(_replace_paths(e, repl, path + (i,)) for i, e in enumerate(obj))
    if t is dict:
        return {k: _replace_paths(v, repl, path + (k,)) for k, v in obj.items()}
    return obj


def _result_spec(obj, out):
    t = type(obj)
    if t is Tensor:
        d = obj._data
        if type(d) is Traced and d._slot is not None:
            return ("tensor", out(d._slot), obj._ns)
        return ("const", obj)
    if t is Traced:
        return ("array", out(obj._slot)) if obj._slot is not None else ("const", obj)
    if t is TScalar:
        return ("float", out(obj._slot))
    if t is tuple or t is list:
        return ("seq", t, [_result_spec(e, out) for e in obj])
    if t is dict:
        return ("dict", {k: _result_spec(v, out) for k, v in obj.items()})
    return ("const", obj)


def _build_result(spec, outs):
    kind = spec[0]
    if kind == "tensor":
        return Tensor._wrap_plain(spec[2], _ensure_array(outs[spec[1]]))
    if kind == "array":
        return _ensure_array(outs[spec[1]])
    if kind == "float":
        return outs[spec[1]]
    if kind == "seq":
        return spec[1](_build_result(s, outs) for s in spec[2])
    if kind == "dict":
        return {k: _build_result(s, outs) for k, s in spec[1].items()}
    return spec[1]


def _ensure_array(a):
    return a if type(a) is np.ndarray else _asarray(a)


# -- running a variant ---------------------------------------------------------------------------------


def _path_expr(path) -> str:
    return "ak" + "".join(f"[{k!r}]" for k in path)


def _build_runner(variant: _Variant):
    """``run(args, kwargs)``: the replay with its inputs fetched and its effects left, written
    out as straight-line code for this variant."""
    scope: dict[str, Any] = {
        "T": variant.tensors,
        "S": variant.scalars,
        "replay": variant.replay,
        "wrap": Tensor._wrap_plain,
        "ensure": _ensure_array,
        "counter_of": counter_of,
        "build": _build_result,
        "spec": variant.result,
    }
    lines = ["def run(args, kwargs):", "    ak = (args, kwargs)"]
    for i, (where, loc) in enumerate(variant.tensor_src):
        lines.append(f"    t{i} = {_path_expr(loc)}" if where == "arg" else f"    t{i} = T[{i}]")
    for j in range(len(variant.scalars)):
        lines.append(f"    d{j}, k{j} = S[{j}]")
    vals = []
    for kind, loc in variant.inputs:
        if kind == "data":
            vals.append(f"t{loc}._data")
        elif kind == "gdata":
            vals.append(f"t{loc}._grad._data")
        elif kind == "scalar":
            vals.append(f"float(d{loc}[k{loc}])")
        else:
            vals.append(_path_expr(loc))
    lines.append(f"    o = replay({', '.join(vals)})")
    for e in variant.effects:
        kind = e[0]
        if kind == "data":
            lines.append(f"    t{e[1]}._data = ensure(o[{e[2]}])")
        elif kind == "gdata":
            lines.append(f"    t{e[1]}._grad._data = ensure(o[{e[2]}])")
        elif kind == "newgrad":
            lines.append(f"    g = wrap(t{e[1]}._ns, ensure(o[{e[2]}]))")
            if e[3]:
                lines.append("    g._requires_grad = True")
            lines.append(f"    t{e[1]}._grad = g")
        elif kind == "nograd":
            lines.append(f"    t{e[1]}._grad = None")
        elif kind == "vc":
            lines.append(f"    counter_of(t{e[1]})[0] += {e[2]}")
        elif kind == "gvc":
            lines.append(f"    counter_of(t{e[1]}._grad)[0] += {e[2]}")
        elif kind == "scalar":
            lines.append(f"    d{e[1]}[k{e[1]}] = float(o[{e[2]}])")
        else:  # scalar_const
            scope[f"c{e[1]}"] = e[2]
            lines.append(f"    d{e[1]}[k{e[1]}] = c{e[1]}")
    spec = variant.result
    if spec[0] == "tensor":
        scope["ns"] = spec[2]
        lines.append(f"    return wrap(ns, ensure(o[{spec[1]}]))")
    else:
        lines.append("    return build(spec, o)")
    source = "\n".join(lines) + "\n"
    exec(builtins.compile(source, "<xpgrad.compile runner>", "exec"), scope)  # noqa: S102 - generated above
    return scope["run"]


class Compiled:
    """A function compiled by :func:`xpgrad.compile` (see its docstring)."""

    def __init__(self, fn, cache_size: int = 8, fallback: str = "eager"):
        if not callable(fn):
            raise TypeError(f"xpgrad.compile(): argument 'fn' must be callable, got {type(fn).__name__}")
        if not isinstance(cache_size, int) or isinstance(cache_size, bool) or cache_size < 1:
            raise ValueError(
                f"xpgrad.compile(): argument 'cache_size' must be an int >= 1, got {cache_size!r}"
            )
        if fallback not in ("eager", "raise"):
            raise ValueError(
                f"xpgrad.compile(): argument 'fallback' must be 'eager' or 'raise', got {fallback!r}"
            )
        functools.update_wrapper(self, fn)
        self.fn = fn
        self.cache_size = cache_size
        self.fallback = fallback
        self.variants: list[_Variant] = []
        self.reasons: list[str] = []
        self.stats = {"recorded": 0, "replayed": 0, "eager": 0}

    def _note(self, reason: str) -> None:
        self.reasons.append(reason)
        del self.reasons[:-20]
        log.debug("xpgrad.compile(%s): runs eagerly: %s", getattr(self.fn, "__qualname__", self.fn), reason)
        if self.fallback == "raise":
            raise RuntimeError(f"xpgrad.compile({getattr(self.fn, '__qualname__', self.fn)}): {reason}")

    def __call__(self, *args, **kwargs):
        fn = self.fn
        for i, v in enumerate(self.variants):
            if v.matches(fn, args, kwargs):
                if i:  # the variant used last is checked first next time
                    self.variants.insert(0, self.variants.pop(i))
                if v.eager_reason is not None:
                    self.stats["eager"] += 1
                    self._note(v.eager_reason)
                    return fn(*args, **kwargs)
                if not v.confirmed:
                    return self._confirm(v, args, kwargs)
                try:
                    out = v.run(args, kwargs)
                except GuardFailed as exc:
                    self._note(f"a value read while recording changed ({exc}): recording again")
                    self.variants.remove(v)
                    break
                self.stats["replayed"] += 1
                return out
        if len(self.variants) >= self.cache_size:
            self.stats["eager"] += 1
            self._note(
                f"the guards failed and the cache is full ({self.cache_size} recordings: raise "
                "cache_size, or keep shapes, dtypes and Python values read from arrays fixed)"
            )
            return fn(*args, **kwargs)
        return self._record(args, kwargs)

    def _record(self, args, kwargs):
        fn = self.fn
        v = _Variant()
        world = _World()
        for obj in _roots(fn):
            world.walk(obj)
        leaves: list[tuple] = []
        _flatten((args, kwargs), (), leaves)
        for _, obj in leaves:
            if type(obj) is not Tensor and not isinstance(obj, np.ndarray):
                world.walk(obj)
        v.world = world
        # The guards as they hold before the call (the key is taken before recording changes
        # the state, e.g. by creating an optimiser's state on its first step).
        v.key = _call_key(world, fn, args, kwargs)
        self.stats["recorded"] += 1
        result = _record(fn, args, kwargs, v)
        if v.eager_reason is not None:
            self._note(v.eager_reason)
        self.variants.insert(0, v)
        return result

    def _confirm(self, v: _Variant, args, kwargs):
        """Record a second time and compare: a constant that differs between two recordings was
        computed from the inputs out of the recorder's sight, and the step runs eagerly."""
        w = _Variant()
        w.world = v.world
        w.key = v.key
        self.stats["recorded"] += 1
        result = _record(self.fn, args, kwargs, w)
        self.variants.remove(v)
        if w.eager_reason is None:
            why = same_recording(v.fingerprint, w.fingerprint)
            if why is None:
                w.confirmed = True
            else:
                w.eager_reason = why
        if w.eager_reason is not None:
            self._note(w.eager_reason)
        self.variants.insert(0, w)
        return result

    def explain(self) -> str:
        """What happened so far: recordings, replays, eager calls and why."""
        lines = [
            f"xpgrad.compile({getattr(self.fn, '__qualname__', self.fn)}): "
            f"{self.stats['recorded']} recorded, {self.stats['replayed']} replayed, "
            f"{self.stats['eager']} eager; {len(self.variants)} of {self.cache_size} recordings kept"
        ]
        for i, v in enumerate(self.variants):
            if v.eager_reason is not None:
                lines.append(f"  recording {i}: runs eagerly: {v.eager_reason}")
            else:
                n = v.source.count("\n") - 2
                lines.append(f"  recording {i}: replays {n} lines of backend calls")
        if self.reasons:
            lines.append("  last reasons for eager calls or new recordings:")
            lines.extend(f"    - {r}" for r in self.reasons[-5:])
        return "\n".join(lines)


def compile(fn=None, *, cache_size: int = 8, fallback: str = "eager"):
    """Record a step (forward, backward, optimiser update) once; replay it as plain backend calls.

    ``xpgrad.compile(fn)`` or ``@xpgrad.compile`` / ``@xpgrad.compile(cache_size=...)``.

    The first call runs ``fn`` eagerly and records every backend call it makes. Later calls whose
    guards hold run the recording as straight-line Python over raw arrays, and leave every effect
    eager mode would: returned values (Tensors come back without a graph), ``.grad``, the
    parameters, the optimiser's state and version counters. The guards: grad mode; the
    arguments' shapes, dtypes and ``requires_grad``; Python scalars passed, by value; the
    Tensors and optimisers ``fn`` reaches (through its arguments, closure and the globals it
    names): shapes, dtypes, which have a ``.grad``, which optimiser state exists, integer and
    boolean options; every value read from an array while recording (``bool()``, ``float()``,
    ``.item()``). A failed guard records a new variant, up to ``cache_size`` of them.

    What cannot be replayed runs eagerly, and says why (``fn.explain()``,
    ``xpgrad.compile.explain(fn)`` and the ``xpgrad.compile`` logger at DEBUG): results whose
    shape depends on values (boolean masks, ``nonzero``, ``unique_*``), backends other than
    NumPy, a full cache. ``fallback="raise"`` raises instead.
    """
    if fn is None:
        return lambda f: Compiled(f, cache_size=cache_size, fallback=fallback)
    return Compiled(fn, cache_size=cache_size, fallback=fallback)


def explain(fn) -> str:
    """What :func:`compile` did with compiled function ``fn``: recordings, replays, fall-backs."""
    if not isinstance(fn, Compiled):
        raise TypeError(
            f"xpgrad.compile.explain(): argument 'fn' must be a compiled function, got {type(fn).__name__}"
        )
    return fn.explain()


compile.explain = explain  # type: ignore[attr-defined]
