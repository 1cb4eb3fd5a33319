"""The recorder: NumPy arrays that write every operation done on them to a tape.

During a recording call the data of every Tensor the step can reach (parameters, gradients,
optimiser state, the call's array arguments) is viewed as :class:`Traced`, an ``ndarray``
subclass. NumPy hands every ufunc (operators included) and every array function applied to it to
``__array_ufunc__`` / ``__array_function__``, wherever the call was made: in an op's forward, in
a VJP run by the engine, in the gradient accumulation or in an optimiser's update on raw arrays.
Each is run for real (the recording call is an eager call) and appended to the tape as
``(function, argument references, result slots)``. The creation functions of the backend
namespace are swapped for recording ones while the call runs, so buffers made from shapes alone
(the engine's zero gradients) are slots too.

Python floats of optimiser state (``step``) and hyper-parameters (``lr``) are :class:`TScalar`
while recording, so ``1 - beta1 ** step`` is part of the tape, not a constant baked into it.

What cannot be replayed (data-dependent shapes, a value read from an array, an operation the
recorder does not see) either becomes a guard or marks the tape as failed, with the reason.
"""

from __future__ import annotations

import operator
import threading
from typing import Any

import numpy as np

__all__ = ["Tape", "Traced", "TScalar", "RecordingFailed", "active", "set_active", "NUMPY_CONVERSIONS"]

_asarray = np.asarray
_array = np.array

# NumPy functions that make a plain array of a recorded one without NumPy's dispatch: swapped
# for recording ones while a recording runs (see ``xpgrad._compile._Patch``).
NUMPY_CONVERSIONS = ("asarray", "array", "ascontiguousarray", "asanyarray", "asfortranarray")


# NumPy's creation functions, recorded while a recording runs: a buffer a library function makes
# with them (array_api_compat's ``clip`` writes into ``numpy.empty(...)``) is a slot.
NUMPY_CREATION = ("empty", "zeros", "ones", "full", "eye", "identity", "arange", "linspace")


def recording_creation(orig, name):
    """``numpy.<name>`` that records the array it makes."""

    def create(*args, **kwargs):
        tape = _ACTIVE.tape
        res = orig(*_plain(args), **_plain(kwargs))
        if tape is None or not isinstance(res, np.ndarray):
            return res
        return tape.record(orig, tape.ref(args), tape.ref(kwargs), res, name)

    create.__name__ = name
    return create


def _contains_traced(x) -> bool:
    tx = type(x)
    if tx is Traced or tx is TScalar:
        return True
    if tx is tuple or tx is list:
        return any(_contains_traced(e) for e in x)
    return False


def recording_conversion(orig, name):
    """``numpy.<name>`` that records a conversion of a recorded array."""

    def convert(*args, **kwargs):
        tape = _ACTIVE.tape
        if tape is None or not (_contains_traced(args) or _contains_traced(kwargs)):
            return orig(*args, **kwargs)
        res = orig(*_plain(args), **_plain(kwargs))
        return tape.record(orig, tape.ref(args), tape.ref(kwargs), res, name)

    convert.__name__ = name
    return convert


class RecordingFailed(Exception):
    """The step cannot be replayed; the message says why."""


class _Active(threading.local):
    """The tape recording in this thread (a recording in one thread never sees another's calls)."""

    tape: Tape | None = None


_ACTIVE = _Active()


def active() -> Tape | None:
    return _ACTIVE.tape


def set_active(tape: Tape | None) -> None:
    _ACTIVE.tape = tape


# Array functions whose result's shape depends on the values: a recording holding one cannot be
# replayed on other values.
DATA_DEPENDENT = {
    "nonzero",
    "argwhere",
    "flatnonzero",
    "unique",
    "unique_all",
    "unique_counts",
    "unique_inverse",
    "unique_values",
    "extract",
    "compress",
    "trim_zeros",
}

MEMORY_QUERIES = {"may_share_memory", "shares_memory"}

# Array functions that write into one of their arguments.
MUTATING = {"copyto", "put", "place", "putmask", "fill_diagonal", "put_along_axis"}


class Ref:
    """A reference to a slot (an array or a scalar computed by the tape)."""

    __slots__ = ("slot",)

    def __init__(self, slot: int):
        self.slot = slot


class Const:
    """A constant array seen by the tape (``snapshot``: its value when first seen)."""

    __slots__ = ("index",)

    def __init__(self, index: int):
        self.index = index


class Op:
    __slots__ = ("fn", "args", "kwargs", "outs", "mutates", "as_array", "guard", "unpack", "name")

    def __init__(self, fn, args, kwargs, outs, name, mutates=(), as_array=False):
        self.fn = fn
        self.args = args
        self.kwargs = kwargs
        self.outs = outs  # slots written (one, or several for tuple results: see ``unpack``)
        self.mutates = mutates  # slots written in place
        self.as_array = as_array  # the replay makes a NumPy scalar result a 0-d array
        self.guard = None  # (expected value,) for a guard on a value read
        self.unpack = None  # number of elements when the result is a tuple
        self.name = name


class Tape:
    """The recording of one call."""

    def __init__(self):
        self.ops: list[Op] = []
        self.nslots = 0
        self.consts: list[Any] = []  # snapshots
        self.const_src: list[Any] = []  # the arrays themselves (kept alive: ids stay unique)
        self.const_ids: dict[int, int] = {}
        self.mutated_consts: set[int] = set()
        self.failed: str | None = None
        self.inputs: list[int] = []  # slots given by the caller, in order
        self.guards_after_effects = False
        self.arrays: list[Traced] = []  # every recorded array (see ``_const``)
        self.meta: dict[int, tuple] = {}  # slot -> (shape, dtype) of the arrays recorded

    # -- slots ---------------------------------------------------------------------------------

    def new_slot(self) -> int:
        self.nslots += 1
        return self.nslots - 1

    def fail(self, reason: str) -> None:
        if self.failed is None:
            self.failed = reason

    def input_array(self, arr) -> Traced:
        t = np.ndarray.view(arr, Traced)
        t._slot = self.new_slot()
        self.inputs.append(t._slot)
        self.arrays.append(t)
        self.meta[t._slot] = (t.shape, t.dtype)
        return t

    def input_scalar(self, value: float) -> TScalar:
        s = TScalar(value)
        s._slot = self.new_slot()
        self.inputs.append(s._slot)
        return s

    def ref(self, x):
        """The reference the tape keeps for argument ``x`` (recursively through containers)."""
        tx = type(x)
        if tx is Traced:
            if x._slot is None:
                self.fail("an array was made by an operation the recorder does not see")
                return self._const(np.ndarray.view(x, np.ndarray))
            return Ref(x._slot)
        if tx is TScalar:
            return Ref(x._slot)
        if tx is tuple:
            return tuple(self.ref(e) for e in x)
        if tx is list:
            return [self.ref(e) for e in x]
        if tx is dict:
            return {k: self.ref(v) for k, v in x.items()}
        if isinstance(x, np.ndarray):
            return self._const(x)
        return x

    def _const(self, arr):
        base = arr.base
        while base is not None:
            if type(base) is Traced:
                # ``numpy.asarray`` of a recorded array: the same array, or a view the tape did
                # not see.
                if (
                    base._slot is not None
                    and arr.shape == base.shape
                    and arr.dtype == base.dtype
                    and arr.strides == base.strides
                    and arr.__array_interface__["data"] == base.__array_interface__["data"]
                ):
                    return Ref(base._slot)
                self.fail("an array was converted out of the recorder (numpy.asarray of a view)")
                break
            base = getattr(base, "base", None)
        k = self.const_ids.get(id(arr))
        if k is None and arr.size:
            for t in self.arrays:
                if np.may_share_memory(arr, np.ndarray.view(t, np.ndarray)):
                    self.fail(
                        "an array sharing memory with a recorded one was made where the recorder "
                        "does not see it (numpy.from_dlpack, ...)"
                    )
                    break
        if k is None:
            k = len(self.consts)
            self.const_ids[id(arr)] = k
            self.consts.append(_array(arr, copy=True, subok=False))
            self.const_src.append(arr)
        return Const(k)

    def mark_mutated(self, ref) -> tuple[int, ...]:
        if type(ref) is Ref:
            return (ref.slot,)
        if type(ref) is Const:
            self.mutated_consts.add(ref.index)
        return ()

    # -- recording -----------------------------------------------------------------------------

    def record(self, fn, args, kwargs, raw_result, name, mutates=(), result_obj=None):
        """Append a call and return what the recording call's caller receives."""
        if mutates and result_obj is not None:
            op = Op(fn, args, kwargs, (), name, mutates)
            self.ops.append(op)
            return result_obj
        if (
            isinstance(raw_result, tuple)
            and raw_result
            and all(isinstance(e, (np.ndarray, np.generic)) for e in raw_result)
        ):
            op = Op(fn, args, kwargs, (), name, mutates)
            op.unpack = len(raw_result)
            outs = []
            elems = []
            for e in raw_result:
                t = _asarray(e).view(Traced)
                t._slot = self.new_slot()
                self.arrays.append(t)
                outs.append(t._slot)
                elems.append(t)
            op.outs = tuple(outs)
            op.as_array = tuple(isinstance(e, np.generic) for e in raw_result)
            self.ops.append(op)
            make = getattr(type(raw_result), "_make", None)
            return make(elems) if make is not None else tuple(elems)
        if isinstance(raw_result, (np.ndarray, np.generic)):
            t = _asarray(raw_result).view(Traced)
            t._slot = self.new_slot()
            self.arrays.append(t)
            self.meta[t._slot] = (t.shape, t.dtype)
            op = Op(fn, args, kwargs, (t._slot,), name, mutates, isinstance(raw_result, np.generic))
            self.ops.append(op)
            return t
        if mutates:
            self.ops.append(Op(fn, args, kwargs, (), name, mutates))
            return raw_result
        if type(raw_result) in (bool, int, float, complex):
            # A Python value computed from arrays (np.allclose, ...): replayed, and guarded.
            slot = self.new_slot()
            self.ops.append(Op(fn, args, kwargs, (slot,), name))
            self.guard(slot, raw_result, name)
            return raw_result
        # Metadata (a dtype, a shape, None): decided by what the guards already fix.
        return raw_result

    def guard(self, slot: int, value, what: str, convert=None) -> None:
        op = Op(None, (Ref(slot),), {}, (), what)
        op.guard = (value, convert)
        if any(o.mutates for o in self.ops):
            self.guards_after_effects = True
        self.ops.append(op)

    def scalar_op(self, fn, a, b, name):
        res = fn(_plain(a), _plain(b))
        if type(res) is bool:
            slot = self.new_slot()
            self.ops.append(Op(fn, (self.ref(a), self.ref(b)), {}, (slot,), name))
            self.guard(slot, res, f"a comparison of optimiser values ({name})")
            return res
        if not isinstance(res, float):
            return res
        s = TScalar(res)
        s._slot = self.new_slot()
        self.ops.append(Op(fn, (self.ref(a), self.ref(b)), {}, (s._slot,), name))
        return s


def _plain(x):
    """``x`` with recorder types removed (recursively through containers)."""
    tx = type(x)
    if tx is Traced:
        return np.ndarray.view(x, np.ndarray)
    if tx is TScalar:
        return x._v
    if tx is tuple:
        return tuple(_plain(e) for e in x)
    if tx is list:
        return [_plain(e) for e in x]
    if tx is dict:
        return {k: _plain(v) for k, v in x.items()}
    return x


def _has_bool_array(key) -> bool:
    if type(key) is tuple:
        return any(_has_bool_array(k) for k in key)
    return isinstance(key, np.ndarray) and key.dtype == np.bool_ and key.ndim > 0


# -- the traced array ------------------------------------------------------------------------------


def _method(name):
    def call(obj, *args, **kwargs):
        return getattr(obj, name)(*args, **kwargs)

    call.__name__ = name
    return call


_METHODS: dict[str, Any] = {}


def _setitem(arr, key, value):
    arr[key] = value


def _getitem(arr, key):
    return arr[key]


def _getattr(name):
    def get(obj):
        return getattr(obj, name)

    get.__name__ = name
    return get


_ATTRS = {"T": _getattr("T"), "mT": _getattr("mT")}


_MEAN_DTYPES = (np.dtype(np.float32), np.dtype(np.float64), np.dtype(np.complex64), np.dtype(np.complex128))


def _mean_divide(total, count):
    """The division that ends ``numpy.mean`` (``numpy/_core/_methods.py``)."""
    if isinstance(total, np.ndarray):
        return np.true_divide(total, count, out=total, casting="unsafe", subok=False)
    return total.dtype.type(total / count)


class Traced(np.ndarray):
    """A NumPy array whose operations a :class:`Tape` records (see the module docstring)."""

    _slot: int | None

    def __array_finalize__(self, obj):
        self._slot = None  # made by an operation the tape did not see (until it sets the slot)

    @property
    def flags(self):
        # A recorded array is a view of the array the call made (or of the caller's array): it
        # answers for that array (``owndata`` above all, which decides whether xpgrad copies a
        # gradient), so that the recording makes the copies eager mode makes, no more.
        base = self.base
        if self._slot is not None and type(base) is np.ndarray and base.shape == self.shape:
            return base.flags
        return np.ndarray.flags.__get__(self)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        tape = _ACTIVE.tape
        raw_in = _plain(inputs)
        raw_kw = _plain(kwargs)
        fn = ufunc if method == "__call__" else getattr(ufunc, method)
        result = fn(*raw_in, **raw_kw)
        if tape is None:
            return result
        out = kwargs.get("out")
        args = tape.ref(inputs)
        kw = tape.ref(kwargs)
        name = f"{ufunc.__name__}" + ("" if method == "__call__" else f".{method}")
        if out is not None or method == "at":
            targets = kw["out"] if out is not None else (args[0],)
            mutated: tuple[int, ...] = ()
            for r in targets:
                mutated += tape.mark_mutated(r)
            if method == "at":
                return tape.record(fn, args, kw, None, name, mutates=mutated or (-1,))
            objs = out if isinstance(out, tuple) else (out,)
            res = objs[0] if len(objs) == 1 else objs
            return tape.record(fn, args, kw, result, name, mutates=mutated or (-1,), result_obj=res)
        return tape.record(fn, args, kw, result, name)

    def __array_function__(self, func, types, args, kwargs):
        tape = _ACTIVE.tape
        result = func(*_plain(args), **_plain(kwargs))
        if tape is None:
            return result
        name = func.__name__
        if name in MEMORY_QUERIES:
            # Whether a result shares memory with an input: decided by the functions called and
            # the shapes, which the guards fix; not a value read.
            return result
        if name in DATA_DEPENDENT:
            tape.fail(f"numpy.{name} has a result whose shape depends on the values")
        aref = tape.ref(args)
        kref = tape.ref(kwargs)
        out = kwargs.get("out")
        if out is not None and isinstance(out, np.ndarray):
            mutated = tape.mark_mutated(kref["out"])
            return tape.record(func, aref, kref, result, name, mutates=mutated or (-1,), result_obj=out)
        if name in MUTATING:
            mutated = tape.mark_mutated(aref[0])
            return tape.record(func, aref, kref, result, name, mutates=mutated or (-1,), result_obj=result)
        if name == "mean" and set(kwargs) <= {"axis", "keepdims"} and len(args) == 1:
            x = args[0]
            if isinstance(x, np.ndarray) and x.dtype in _MEAN_DTYPES and not isinstance(result, Traced):
                # numpy.mean's own steps without its Python wrapper: a sum, then a division by
                # the count (the same operations, so the same bits)
                axis = kwargs.get("axis")
                axes = range(x.ndim) if axis is None else (axis if isinstance(axis, tuple) else (axis,))
                count = 1
                for a in axes:
                    count *= x.shape[a]
                total = np.add.reduce(_plain(x), **_plain(kwargs))
                s = tape.record(np.add.reduce, aref, kref, total, "add.reduce")
                return tape.record(_mean_divide, (tape.ref(s), np.intp(count)), {}, result, "mean_divide")
        if name == "sum" and set(kwargs) <= {"axis", "keepdims"} and len(args) == 1:
            x = args[0]
            if isinstance(x, np.ndarray) and x.dtype.kind in "fc":
                # the same reduction without numpy.sum's Python wrapper
                return tape.record(np.add.reduce, aref, kref, result, "add.reduce")
        return tape.record(func, aref, kref, result, name)

    # -- what NumPy does not dispatch: indexing, methods, values read ---------------------------

    def __getitem__(self, key):
        tape = _ACTIVE.tape
        raw = np.ndarray.__getitem__(np.ndarray.view(self, np.ndarray), _plain(key))
        if tape is None:
            return raw
        if _has_bool_array(_plain(key)):
            tape.fail("indexing with a boolean mask has a result whose shape depends on the values")
        return tape.record(_getitem, (tape.ref(self), tape.ref(key)), {}, raw, "getitem")

    def __setitem__(self, key, value):
        tape = _ACTIVE.tape
        np.ndarray.__setitem__(np.ndarray.view(self, np.ndarray), _plain(key), _plain(value))
        if tape is None:
            return
        ref = tape.ref(self)
        tape.record(
            _setitem, (ref, tape.ref(key), tape.ref(value)), {}, None, "setitem", tape.mark_mutated(ref)
        )

    def _call(self, name, args, kwargs):
        tape = _ACTIVE.tape
        raw = getattr(np.ndarray.view(self, np.ndarray), name)(*_plain(args), **_plain(kwargs))
        if tape is None:
            return raw
        fn = _METHODS.get(name)
        if fn is None:
            fn = _METHODS[name] = _method(name)
        return tape.record(fn, (tape.ref(self), *tape.ref(args)), tape.ref(kwargs), raw, name)

    def astype(self, *args, **kwargs):
        return self._call("astype", args, kwargs)

    def reshape(self, *args, **kwargs):
        return self._call("reshape", args, kwargs)

    def copy(self, *args, **kwargs):
        return self._call("copy", args, kwargs)

    def transpose(self, *args, **kwargs):
        return self._call("transpose", args, kwargs)

    def swapaxes(self, *args, **kwargs):
        return self._call("swapaxes", args, kwargs)

    def ravel(self, *args, **kwargs):
        return self._call("ravel", args, kwargs)

    def flatten(self, *args, **kwargs):
        return self._call("flatten", args, kwargs)

    def squeeze(self, *args, **kwargs):
        return self._call("squeeze", args, kwargs)

    def __copy__(self):
        return self._call("copy", (), {})

    def __deepcopy__(self, memo):
        return self._call("copy", (), {})

    def fill(self, value):
        tape = _ACTIVE.tape
        np.ndarray.view(self, np.ndarray).fill(_plain(value))
        if tape is not None:
            ref = tape.ref(self)
            fn = _METHODS.setdefault("fill", _method("fill"))
            tape.record(fn, (ref, tape.ref(value)), {}, None, "fill", tape.mark_mutated(ref))

    def sort(self, *args, **kwargs):
        tape = _ACTIVE.tape
        np.ndarray.view(self, np.ndarray).sort(*_plain(args), **_plain(kwargs))
        if tape is not None:
            ref = tape.ref(self)
            fn = _METHODS.setdefault("sort", _method("sort"))
            tape.record(fn, (ref, *tape.ref(args)), tape.ref(kwargs), None, "sort", tape.mark_mutated(ref))

    @property
    def T(self):
        return self._attr("T")

    @property
    def mT(self):
        return self._attr("mT")

    def _attr(self, name):
        tape = _ACTIVE.tape
        raw = getattr(np.ndarray.view(self, np.ndarray), name)
        if tape is None:
            return raw
        return tape.record(_ATTRS[name], (tape.ref(self),), {}, raw, name)

    def _read(self, convert, what):
        value = convert(np.ndarray.view(self, np.ndarray))
        tape = _ACTIVE.tape
        if tape is not None:
            if self._slot is None:
                tape.fail("a value was read from an array made by an operation the recorder does not see")
            else:
                tape.guard(self._slot, value, what, convert)
        return value

    def __bool__(self):
        return self._read(bool, "bool() of an array")

    def __float__(self):
        return self._read(float, "float() of an array")

    def __int__(self):
        return self._read(int, "int() of an array")

    def __index__(self):
        return self._read(operator.index, "an array used as an index")

    def __complex__(self):
        return self._read(complex, "complex() of an array")

    def item(self, *args):
        return self._read(lambda a: a.item(*args), ".item() of an array")

    def tolist(self):
        return self._read(lambda a: a.tolist(), ".tolist() of an array")

    def __iter__(self):
        tape = _ACTIVE.tape
        if tape is not None:
            tape.fail("iterating over an array is not recorded")
        return iter(np.ndarray.view(self, np.ndarray))

    def __reduce__(self):
        return np.ndarray.view(self, np.ndarray).__reduce__()


# -- traced Python scalars --------------------------------------------------------------------------


def _binop(fn, name, reflected=False):
    def op(self, other):
        if type(other) not in (int, float, TScalar) or type(other) is bool:
            return NotImplemented
        tape = _ACTIVE.tape
        a, b = (other, self) if reflected else (self, other)
        if tape is None:
            return fn(_plain(a), _plain(b))
        return tape.scalar_op(fn, a, b, name)

    op.__name__ = name
    return op


class TScalar(float):
    """A Python float of optimiser state or hyper-parameters whose arithmetic a tape records."""

    _slot: int
    _v: float

    def __new__(cls, value):
        self = float.__new__(cls, value)
        self._v = float(value)
        return self

    __add__ = _binop(operator.add, "add")
    __radd__ = _binop(operator.add, "add", True)
    __sub__ = _binop(operator.sub, "sub")
    __rsub__ = _binop(operator.sub, "sub", True)
    __mul__ = _binop(operator.mul, "mul")
    __rmul__ = _binop(operator.mul, "mul", True)
    __truediv__ = _binop(operator.truediv, "truediv")
    __rtruediv__ = _binop(operator.truediv, "truediv", True)
    __pow__ = _binop(operator.pow, "pow")
    __rpow__ = _binop(operator.pow, "pow", True)
    __eq__ = _binop(operator.eq, "eq")
    __ne__ = _binop(operator.ne, "ne")
    __lt__ = _binop(operator.lt, "lt")
    __le__ = _binop(operator.le, "le")
    __gt__ = _binop(operator.gt, "gt")
    __ge__ = _binop(operator.ge, "ge")
    __hash__ = float.__hash__

    def __neg__(self):
        tape = _ACTIVE.tape
        if tape is None:
            return -self._v
        return tape.scalar_op(operator.mul, self, -1.0, "neg")

    def __bool__(self):
        tape = _ACTIVE.tape
        if tape is not None:
            tape.guard(self._slot, self._v != 0, "bool() of an optimiser value")
        return self._v != 0

    def __float__(self):
        tape = _ACTIVE.tape
        if tape is not None:
            tape.guard(self._slot, self._v, "float() of an optimiser value")
        return self._v


def _sig(x):
    tx = type(x)
    if tx is Ref:
        return ("r", x.slot)
    if tx is Const:
        return ("c", x.index)
    if tx is tuple or tx is list:
        return (tx.__name__,) + tuple(_sig(e) for e in x)
    if tx is dict:
        return ("d",) + tuple((k, _sig(v)) for k, v in x.items())
    if isinstance(x, np.generic):
        return ("g", x.dtype.str, x.tobytes())
    try:
        hash(x)
        return (tx.__name__, x)
    except TypeError:
        return (tx.__name__, repr(x))


def fingerprint(tape: Tape):
    """What two recordings of the same step must share: the calls in order, their arguments
    (slots, constants, literals), the guards and the constants' values."""
    ops = tuple(
        (
            op.name,
            getattr(op.fn, "__name__", None),
            _sig(op.args),
            _sig(op.kwargs),
            op.outs,
            op.mutates,
            op.guard is not None and _sig(op.guard[0]),
        )
        for op in tape.ops
    )
    return ops, tape.consts


def same_recording(a, b) -> str | None:
    """None if fingerprints ``a`` and ``b`` agree, else what differs."""
    if a[0] != b[0]:
        return "the recorded calls change from call to call"
    for x, y in zip(a[1], b[1]):
        if (
            x.dtype != y.dtype
            or x.shape != y.shape
            or not np.array_equal(x, y, equal_nan=x.dtype.kind in "fc")
        ):
            return (
                "a value computed from the inputs was made where the recorder does not see it (a "
                "library converting arrays with a NumPy function it imported before recording)"
            )
    return None
