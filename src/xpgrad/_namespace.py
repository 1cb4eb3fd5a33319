"""The namespace factory: ``xpgrad.namespace(backend)``.

A :class:`Namespace` is a module object (``types.ModuleType``) named ``xpgrad.<backend>`` that
implements the array API standard over one backend. Elementwise functions are closures built
here, once per backend, over the backend's own function; the other functions are methods written
once in the category modules (``_statistical_functions.py``, ...) and shared by all backends.
Unknown attributes are never forwarded to the backend.
"""

from __future__ import annotations

import operator
import threading
import types
from typing import Any

from . import (
    _creation_functions,
    _data_type_functions,
    _elementwise_functions,
    _forward,
    _indexing_functions,
    _inplace,
    _linear_algebra_functions,
    _manipulation_functions,
    _ops,
    _optable,
    _searching_functions,
    _set_functions,
    _sorting_functions,
    _statistical_functions,
    _utility_functions,
)
from . import fft as _fft_mod
from . import linalg as _linalg_mod
from . import special as _special_mod
from ._backends import Backend, rechunked, resolve
from ._graph import ForeignCounter, counter_of
from ._ops import record
from ._tensor import UPPER as _TENSOR_UPPER
from ._tensor import Tensor, _NotOperand

__all__ = ["Namespace", "namespace"]

API_VERSION = "2025.12"
SUPPORTED_VERSIONS = frozenset({"2021.12", "2022.12", "2023.12", "2024.12", "2025.12"})

# The standard's dtype names (a namespace has those its backend has).
DTYPE_NAMES = (
    "bool",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "float32",
    "float64",
    "complex64",
    "complex128",
)

CATEGORY_MODULES = (
    _creation_functions,
    _data_type_functions,
    _elementwise_functions,
    _indexing_functions,
    _inplace,
    _linear_algebra_functions,
    _manipulation_functions,
    _searching_functions,
    _set_functions,
    _sorting_functions,
    _statistical_functions,
    _utility_functions,
)


class Namespace(types.ModuleType):
    """An array API namespace whose arrays are :class:`xpgrad.Tensor` objects."""

    def __init__(self, backend: Backend):
        super().__init__(f"xpgrad.{backend.name}")
        self.__doc__ = (
            f"The array API standard ({API_VERSION}) over {backend.xp.__name__}, with "
            "torch-style reverse-mode autodiff (xpgrad)."
        )
        self._root = self  # the namespace an entry runs in (the extensions point to theirs)
        # The backward engine's interface to a namespace: _engine.py and _autograd.py read
        # nothing else of it (CONTRIBUTING.md, "The engine"). ``backend.xp`` is the raw namespace.
        self.backend = backend
        self._xp = xp = backend.xp
        self.__array_api_version__ = API_VERSION
        self._supported_versions = SUPPORTED_VERSIONS
        for name in DTYPE_NAMES:
            if hasattr(xp, name):
                setattr(self, name, getattr(xp, name))
        for name in ("e", "inf", "nan", "pi"):
            setattr(self, name, getattr(xp, name))
        self.newaxis = None
        self._diff_dtypes = tuple(
            getattr(xp, n) for n in ("float32", "float64", "complex64", "complex128") if hasattr(xp, n)
        )
        self._complex_dtypes = tuple(getattr(xp, n) for n in ("complex64", "complex128") if hasattr(xp, n))
        self._ensure = backend.ensure if backend.scalar_results else (lambda a: a)
        # Elementwise functions: generated from their table entries, closures over the backend's
        # function, bound once.
        for name, fn in _elementwise_functions.functions(self):
            setattr(self, name, fn)
        self.linalg = _linalg_mod.LinalgNamespace(self)
        self.fft = _fft_mod.FFTNamespace(self)
        self.special = _special_mod.SpecialNamespace(self)  # an extension beyond the standard

    def __repr__(self):
        return f"<array API namespace {self.__name__!r} (xpgrad over {self._xp.__name__})>"

    def __reduce__(self):
        return (namespace, (self.backend.xp.__name__,))

    # -- helpers shared by all functions ---------------------------------------------------------

    def _is_differentiable_dtype(self, dtype) -> bool:
        for d in self._diff_dtypes:
            if dtype == d:
                return True
        return False

    def _is_complex_dtype(self, dtype) -> bool:
        for d in self._complex_dtypes:
            if dtype == d:
                return True
        return False

    def _wrong_tensor(self, t, fname, argname):
        return TypeError(
            f"{fname}(): argument '{argname}' is a Tensor of backend {t._ns.backend.name!r} "
            f"({t._ns.__name__}), but this is {self.__name__}: Tensors of different backends "
            "cannot be mixed, and no gradient flows from one to the other. Compute on one "
            f"namespace throughout, or copy the values as a constant with "
            f"{self.__name__}.from_dlpack(t.detach())"
        )

    def _coerce_unary(self, x, fname, argname="x"):
        """A Tensor for argument ``x`` (a raw array of this backend is wrapped as a constant)."""
        if type(x) is Tensor:
            if x._ns is not self:
                raise self._wrong_tensor(x, fname, argname)
            return x
        if self.backend.is_native(x):
            t = Tensor._wrap_plain(self, self._ensure(self.backend.constant(x, fname, argname)))
            t._vc = ForeignCounter((0,))  # the caller holds the array: kept values are copies
            return t
        raise self._not_operand(x, fname, argname, scalars=False)

    def _tensor(self, x, fname, argname="x"):
        return self._coerce_unary(x, fname, argname)

    def _coerce_binary(self, x1, x2, fname):
        """Raw operands for a binary function, and whether each requires grad."""
        d1, r1 = self._operand(x1, fname, "x1")
        d2, r2 = self._operand(x2, fname, "x2")
        if type(x1) is not Tensor and type(x2) is not Tensor:
            if not (self.backend.is_native(x1) or self.backend.is_native(x2)):
                raise _NotOperand(
                    f"{fname}(): at least one of 'x1', 'x2' must be an array, got two Python scalars; "
                    f"make one an array with {self.__name__}.asarray(...)"
                )
        return d1, d2, r1, r2

    def _operand(self, x, fname, argname):
        """Raw value and requires-grad flag of one operand (Tensor, raw array or Python scalar)."""
        if type(x) is Tensor:
            if x._ns is not self:
                raise self._wrong_tensor(x, fname, argname)
            return x._data, x._requires_grad
        if isinstance(x, (bool, int, float, complex)):
            return x, False
        if self.backend.is_native(x):
            return self._ensure(self.backend.constant(x, fname, argname)), False
        raise self._not_operand(x, fname, argname, scalars=True)

    def _raw(self, x, fname, argname="x"):
        """The raw data of an array argument (Tensor of this namespace or native array)."""
        if type(x) is Tensor:
            if x._ns is not self:
                raise self._wrong_tensor(x, fname, argname)
            return x._data
        if self.backend.is_native(x):
            return self._ensure(self.backend.constant(x, fname, argname))
        raise self._not_operand(x, fname, argname, scalars=False)

    def _not_operand(self, x, fname, argname, scalars):
        """The error for argument ``x`` of a type this namespace does not take: a ``TypeError``
        saying how to convert an array of another library, else an :class:`OperandTypeError`
        (which the operators turn into NotImplemented)."""
        exc = self.backend.foreign_error(x, fname, argname)
        if exc is not None:
            return exc
        what = f"a Tensor of {self.__name__}" + (", " if scalars else " or ")
        what += f"an array of {self.backend.name}" + (" or a Python scalar" if scalars else "")
        return _NotOperand(
            f"{fname}(): argument '{argname}' must be an array ({what}), got {type(x).__name__}; "
            f"convert it with {self.__name__}.asarray(...)"
        )

    def _scalar(self, data):
        xp = self._xp
        if xp.isdtype(data.dtype, "bool"):
            return bool(data)
        if xp.isdtype(data.dtype, "integral"):
            return int(data)
        if xp.isdtype(data.dtype, "real floating"):
            return float(data)
        return complex(data)

    # Views: a result that shares memory with its input shares its version counter, and keeps
    # how to recompute it from its base, so an in-place change of the base (or of the view) is
    # reflected in the graph (see _inplace.py).

    def _mark_view(self, view, base_input):
        # An empty result shares no memory but is still a view (it sees its base's graph).
        if (
            not self.backend.shares_memory(view._data, base_input._data)
            and self.backend.size(view._data) != 0
        ):
            return
        view._vc = counter_of(base_input)
        view._view_version = view._vc[0]
        base = base_input._base if base_input._base is not None else base_input
        view._base = base
        view._view_fn = None  # set by the view op through _set_view_fn

    def __dir__(self):
        # The standard's functions live on the class (installed once for every backend), which a
        # module's dir() does not list: add them, so tab completion shows ``sum``, ``arange``, ...
        names = set(super().__dir__())
        names.update(name for module in CATEGORY_MODULES for name in module.__all__)
        return sorted(names)

    def _to_device(self, x, device, stream=None):
        """``x.to_device(device)``, differentiable: the gradient moves back to x's device."""
        src = self.backend.device(x._data)
        data = self.backend.to_device(x._data, device, stream)
        if data is x._data:
            return x
        return record(
            self, "to_device", _to_device_vjp, (x,), data, kw={"device": src, "backend": self.backend}
        )

    def _record_rechunk(self, x, chunks):
        """``x`` with ``chunks`` (chunked backends), recorded when ``x`` is a Tensor: the
        engine's normalisation under ``create_graph`` (``_backends.like_chunks``)."""
        if type(x) is not Tensor:
            return rechunked(x, chunks)
        data = rechunked(x._data, chunks)
        if data is x._data:
            return x
        return record(self, "rechunk", _rechunk_vjp, (x,), data)

    def _refresh_view(self, t):
        _inplace.refresh_view(self, t)


def _rechunk_vjp(xp, g):
    return g  # the engine rechunks it back to the input's chunks


def _to_device_vjp(xp, g, *, device, backend):
    if type(g) is Tensor:
        return g.to_device(device)
    return backend.to_device(g, device)


def _install_category_functions():
    for module in CATEGORY_MODULES:
        _optable.install(Namespace, module)
        for name in module.__all__:
            fn = getattr(module, name)
            if type(fn) is _optable.Op:
                continue
            setattr(Namespace, name, fn)


_install_category_functions()
_ops._PLAIN.add(Namespace)  # never an array: skipped by record's protection scan of kw

_LOCK = threading.Lock()
_NAMESPACES: dict[int, tuple[object, Namespace]] = {}


def namespace(backend: Any, *, profile: Any = None) -> Namespace:
    """Return the xpgrad array API namespace over ``backend``.

    ``backend``: a module (``numpy``, ``torch``, ``jax.numpy``, ``cupy``, ``dask.array``,
    ``array_api_strict``), its name as a string, or an array API namespace object (e.g. one
    made by a factory, ``marray.masked_namespace(numpy)``). The namespace is created once per
    backend and cached.

    ``profile``: a mapping overriding what xpgrad detects of the backend (``mutable``,
    ``lazy``, ``chunked``, ``extensions``, ``dtypes``, ``to_numpy``; see
    docs/backend-authors.md), given when the namespace is first created.
    """
    if isinstance(backend, Namespace):
        return backend
    b = resolve(backend, profile)
    key = id(b.xp)
    hit = _NAMESPACES.get(key)
    if hit is not None and hit[0] is b.xp:
        return hit[1]
    with _LOCK:
        hit = _NAMESPACES.get(key)
        if hit is not None and hit[0] is b.xp:
            return hit[1]
        ns = Namespace(b)
        _NAMESPACES[key] = (b.xp, ns)
        return ns


# -- Tensor's operators --------------------------------------------------------------------------
# One table: each operator calls the namespace function of the same meaning on its Tensor's
# namespace, so an operator and the function are one code path. A binary operator answers
# NotImplemented for an operand of a type the function does not take (OperandTypeError), so
# Python tries the other operand's reflected method; an in-place one is differentiable on
# tensors in the graph (_inplace.py).

UNARY_OPERATORS = {"neg": "negative", "pos": "positive", "abs": "abs", "invert": "bitwise_invert"}
# Each with its reflected (``__radd__``) and in-place (``__iadd__``) form.
BINARY_OPERATORS = {
    "add": "add",
    "sub": "subtract",
    "mul": "multiply",
    "truediv": "divide",
    "floordiv": "floor_divide",
    "mod": "remainder",
    "pow": "pow",
    "matmul": "matmul",
    "and": "bitwise_and",
    "or": "bitwise_or",
    "xor": "bitwise_xor",
    "lshift": "bitwise_left_shift",
    "rshift": "bitwise_right_shift",
}
COMPARISONS = {
    "eq": "equal",
    "ne": "not_equal",
    "lt": "less",
    "le": "less_equal",
    "gt": "greater",
    "ge": "greater_equal",
}


# The operators' bodies, as the hand-written methods would read (an attribute read of the
# namespace function, no getattr per call): generated once from the table.
_UNARY_BODY = "def {name}(self, /):\n    return self._ns.{fname}(self)\n"
_BINARY_BODY = """\
def {name}(self, other, /):
    try:
        return self._ns.{fname}({args})
    except _NotOperand:
        return NotImplemented
"""
_INPLACE_BODY = "def {name}(self, other, /):\n    return self._ns._inplace(self, {fname!r}, _{iop}, other)\n"
_GETITEM_BODY = "def __getitem__(self, key, /):\n    return self._ns._getitem(self, key)\n"
_SETITEM_BODY = "def __setitem__(self, key, value, /):\n    self._ns._setitem(self, key, value)\n"


def operators():
    """``{method name: function}`` of every Tensor operator, from the tables above."""
    sources = [_GETITEM_BODY, _SETITEM_BODY]
    for name, fname in UNARY_OPERATORS.items():
        sources.append(_UNARY_BODY.format(name=f"__{name}__", fname=fname))
    for name, fname in BINARY_OPERATORS.items():
        sources.append(_BINARY_BODY.format(name=f"__{name}__", fname=fname, args="self, other"))
        sources.append(_BINARY_BODY.format(name=f"__r{name}__", fname=fname, args="other, self"))
        sources.append(_INPLACE_BODY.format(name=f"__i{name}__", fname=fname, iop=f"i{name}"))
    for name, fname in COMPARISONS.items():
        sources.append(_BINARY_BODY.format(name=f"__{name}__", fname=fname, args="self, other"))
    scope: dict[str, Any] = {"_NotOperand": _NotOperand}
    scope.update((f"_i{name}", getattr(operator, f"i{name}")) for name in BINARY_OPERATORS)
    methods: dict[str, Any] = {}
    exec("\n".join(sources), scope, methods)  # noqa: S102 - the fixed templates above
    for name, method in methods.items():
        method.__qualname__ = f"Tensor.{name}"
        method.__module__ = Tensor.__module__
    return methods


# What the layers below need from this one, attached now (CONTRIBUTING.md, "Layers").
for _name, _method in operators().items():
    setattr(Tensor, _name, _method)
_TENSOR_UPPER.namespace = namespace
_forward.UPPER.record = record
