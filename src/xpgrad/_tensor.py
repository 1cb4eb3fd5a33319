"""``xpgrad.Tensor``: one array class for every backend.

A Tensor wraps a raw backend array (``.data``) and the xpgrad namespace it belongs to. It adds
torch's autograd surface (``requires_grad``, ``grad``, ``grad_fn``, ``backward()``, hooks, ...)
and implements every array API attribute by calling the functions of its namespace. Its
operators are attached by ``_namespace.py`` from one table (each calls the namespace function of
the same meaning, so an operator and the function are one code path); what else this module
needs from the layers above is attached by them too (``UPPER``).

Tensor is final: the hot paths test ``type(x) is Tensor``. ``xpgrad.Parameter`` is a function
that returns a leaf Tensor with ``requires_grad=True``.
"""

from __future__ import annotations

import operator
import weakref
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ._backends import shapes_match
from ._graph import Node, counter_of

__all__ = ["Tensor", "Parameter", "OperandTypeError"]


class OperandTypeError(TypeError):
    """An argument is of a type the function does not take (``xp.sin([1.0])``, ``xp.add(w, None)``).

    A ``TypeError``; the message names the function, the argument and what it accepts. The
    operators catch it and return ``NotImplemented``, so Python can try the other operand's
    reflected method. An array of another library (a torch tensor given to ``xpgrad.numpy``) is
    a plain ``TypeError`` that the operators let through: no other library can combine it with
    a Tensor, and its message says how to convert it.
    """


OperandTypeError.__module__ = "xpgrad"  # shown in tracebacks as its public name
_NotOperand = OperandTypeError  # the name the modules below use


class RemovableHandle:
    """Returned by ``register_hook``; ``remove()`` unregisters the hook."""

    __slots__ = ("_list_ref", "_hook")

    def __init__(self, hooks_list, hook):
        self._list_ref = weakref.ref(hooks_list) if hooks_list is not None else None
        self._hook = hook

    def remove(self):
        lst = self._list_ref() if self._list_ref is not None else None
        if lst is not None:
            for i, h in enumerate(lst):
                if h is self._hook:
                    del lst[i]
                    break

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


class _HookList(list):
    """A list that can be weakly referenced (for RemovableHandle)."""

    __slots__ = ("__weakref__",)


class _Upper:
    """What this module needs from the layers above it, attached by them when they are imported
    (an import of theirs from here would close a circle): ``namespace(raw_namespace)`` for
    ``Tensor(data)`` (attached by ``_namespace.py``) and ``backward(tensor, gradient,
    retain_graph, create_graph, inputs)`` for ``Tensor.backward`` (attached by ``_autograd.py``).
    Importing ``xpgrad`` imports both."""

    __slots__ = ("namespace", "backward")

    def __init__(self) -> None:
        self.namespace: Callable[[Any], Any] = _not_attached
        self.backward: Callable[..., None] = _not_attached


def _not_attached(*args: Any) -> Any:
    raise RuntimeError("xpgrad._tensor is used without the package: import xpgrad first")


UPPER = _Upper()


def _check_float(ns, dtype, what):
    if not ns._is_differentiable_dtype(dtype):
        raise RuntimeError(
            f"{what}: only Tensors of floating point or complex dtype can require gradients, "
            f"got dtype {dtype}"
        )


class Tensor:
    """An array of any array API backend that can record operations for differentiation."""

    __slots__ = (
        "_data",
        "_ns",
        "_requires_grad",
        "_grad",
        "_grad_fn",
        "_output_nr",
        "_vc",  # version counter: a one-element list shared with views and detach(), or None (0)
        "_hooks",
        "_post_hooks",
        "_retains_grad",
        "_base",
        "_view_fn",
        "_view_version",
        "_fw",  # forward-mode tangents: None, or {dual level: tangent Tensor} (see _forward.py)
        "__weakref__",
    )

    # Types of the slots (set by ``_init``), for type checkers.
    _data: Any
    _ns: Any
    _requires_grad: bool
    _grad: Tensor | None
    _grad_fn: Node | None
    _output_nr: int
    _vc: list[int] | None
    _hooks: list[Callable[..., Any]] | None
    _post_hooks: list[Callable[..., Any]] | None
    _retains_grad: bool
    _base: Tensor | None
    _view_fn: Callable[..., Any] | None
    _view_version: int
    _fw: dict[int, Tensor | None] | None

    # Make NumPy hand binary operators with a Tensor back to the Tensor's reflected method,
    # and refuse np.sin(tensor)-style calls instead of silently converting.
    __array_ufunc__ = None
    __array_priority__ = 1000

    def __init__(self, data: Any, *, requires_grad: bool = False) -> None:
        """Wrap a raw array of any array API library (the backend is inferred from it)."""
        import array_api_compat

        if type(data) is Tensor:
            raise TypeError("Tensor(): argument 'data' is already a Tensor; use .detach() or asarray()")
        try:
            raw = array_api_compat.array_namespace(data)
        except TypeError:
            raise TypeError(
                "Tensor(): argument 'data' must be an array of an array API library, got "
                f"{type(data).__name__}; use xpgrad.namespace(backend).asarray(...) for "
                "Python objects"
            ) from None
        ns = UPPER.namespace(raw)
        _init(self, ns, ns.backend.ensure(data), None, 0, None)
        if requires_grad:
            self.requires_grad = True

    # -- construction helpers (internal, fast) ---------------------------------------------------

    @staticmethod
    def _wrap_plain(ns, data):
        t = _new(Tensor)
        _init(t, ns, data, None, 0, None)
        return t

    @staticmethod
    def _wrap_output(ns, data, node, index, counter):
        t = _new(Tensor)
        _init(t, ns, data, node, index, counter)
        t._requires_grad = True
        return t

    # -- autograd surface ------------------------------------------------------------------------

    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        if not isinstance(value, bool):
            raise TypeError(f"requires_grad: expected a bool, got {type(value).__name__}")
        if self._grad_fn is not None:
            if not value:
                raise RuntimeError(
                    "requires_grad: you can only change requires_grad flags of leaf tensors. "
                    "To use a computed tensor in a subgraph that does not require "
                    "differentiation, use t.detach()."
                )
            return
        if value:
            _check_float(self._ns, self._data.dtype, "requires_grad")
        self._requires_grad = value

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set ``requires_grad`` in place and return self."""
        self.requires_grad = requires_grad
        return self

    @property
    def _version(self) -> int:
        """How many times this tensor's memory was modified in place (torch's ``_version``)."""
        vc = self._vc
        return 0 if vc is None else vc[0]

    @property
    def is_leaf(self) -> bool:
        """True for tensors not produced by a recorded operation."""
        if self._base is not None:
            self._ns._refresh_view(self)
        return self._grad_fn is None

    @property
    def grad_fn(self) -> Node | None:
        """The Node that produced this tensor, or None for a leaf."""
        if self._base is not None:
            self._ns._refresh_view(self)
        return self._grad_fn

    @property
    def grad(self) -> Tensor | None:
        """The accumulated gradient (a Tensor of this tensor's shape and dtype) or None."""
        if self._grad_fn is not None and not self._retains_grad and self._grad is None:
            import warnings

            warnings.warn(
                "The .grad attribute of a Tensor that is not a leaf is being accessed. Its .grad "
                "is not populated during backward(); call .retain_grad() on it first if you "
                "want it.",
                UserWarning,
                stacklevel=2,
            )
        return self._grad

    @grad.setter
    def grad(self, value: Any) -> None:
        if value is None:
            self._grad = None
            return
        if type(value) is not Tensor:
            if self._ns.backend.is_native(value):
                value = Tensor._wrap_plain(self._ns, self._ns.backend.ensure(value))
            else:
                raise TypeError(f"grad: expected a Tensor or None, got {type(value).__name__}")
        if value._ns is not self._ns:
            raise TypeError(
                f"grad: the gradient is on backend {value._ns.backend.name!r}, the tensor on "
                f"{self._ns.backend.name!r}"
            )
        if not shapes_match(value.shape, self.shape):
            raise RuntimeError(
                f"grad: assigned gradient has shape {tuple(value.shape)}, expected {tuple(self.shape)}"
            )
        if value.dtype != self.dtype:
            raise RuntimeError(f"grad: assigned gradient has dtype {value.dtype}, expected {self.dtype}")
        device = self._ns.backend.device
        if device(value._data) != device(self._data):
            raise RuntimeError(
                f"grad: assigned gradient is on device {device(value._data)}, the tensor on "
                f"{device(self._data)}"
            )
        self._grad = value

    @property
    def retains_grad(self) -> bool:
        return self._retains_grad

    def retain_grad(self) -> None:
        """Keep ``.grad`` for this non-leaf tensor during backward (no-op for a leaf)."""
        if not self._requires_grad:
            raise RuntimeError("retain_grad(): can't retain_grad on a Tensor that has requires_grad=False")
        if self._grad_fn is None or self._retains_grad:
            return
        node = self._grad_fn
        if node.retained is None:
            node.retained = {}
        node.retained[self._output_nr] = weakref.ref(self)
        self._retains_grad = True

    def register_hook(self, hook: Callable[[Tensor], Tensor | None]) -> RemovableHandle:
        """Register ``hook(grad) -> Tensor or None``, called with this tensor's gradient.

        A returned Tensor replaces the gradient. Returns a handle with ``remove()``.
        """
        if not callable(hook):
            raise TypeError(f"register_hook(): argument 'hook' must be callable, got {type(hook).__name__}")
        if not self._requires_grad:
            raise RuntimeError(
                "register_hook(): cannot register a hook on a tensor that doesn't require gradient"
            )
        if self._grad_fn is None:
            if self._hooks is None:
                self._hooks = _HookList()
            self._hooks.append(hook)
            return RemovableHandle(self._hooks, hook)
        node: Any = self._grad_fn
        node.register_hook(self._output_nr, hook)
        lst = node.hooks[self._output_nr]
        if not isinstance(lst, _HookList):
            lst = node.hooks[self._output_nr] = _HookList(lst)
        return RemovableHandle(lst, hook)

    def register_post_accumulate_grad_hook(self, hook: Callable[[Tensor], None]) -> RemovableHandle:
        """Register ``hook(tensor)``, called after this leaf's ``.grad`` has been accumulated."""
        if not callable(hook):
            raise TypeError(
                "register_post_accumulate_grad_hook(): argument 'hook' must be callable, got "
                f"{type(hook).__name__}"
            )
        if not self._requires_grad:
            raise RuntimeError(
                "register_post_accumulate_grad_hook(): cannot register a hook on a tensor that "
                "doesn't require gradient"
            )
        if self._grad_fn is not None:
            raise RuntimeError(
                "register_post_accumulate_grad_hook(): post accumulate grad hooks cannot be "
                "registered on non-leaf tensors"
            )
        if self._post_hooks is None:
            self._post_hooks = _HookList()
        self._post_hooks.append(hook)
        return RemovableHandle(self._post_hooks, hook)

    def backward(
        self,
        gradient: Tensor | None = None,
        retain_graph: bool | None = None,
        create_graph: bool = False,
        inputs: Tensor | Sequence[Tensor] | None = None,
    ) -> None:
        """Accumulate the gradient of this tensor into ``.grad`` of the leaves of its graph.

        ``gradient`` is required unless the tensor has one element. The graph's saved values
        are freed afterwards unless ``retain_graph`` (default: ``create_graph``).
        """
        UPPER.backward(self, gradient, retain_graph, create_graph, inputs)

    def detach(self) -> Tensor:
        """A new leaf sharing this tensor's memory and version counter, not requiring grad."""
        t = _new(Tensor)
        _init(t, self._ns, self._data, None, 0, counter_of(self))
        return t

    def detach_(self) -> Tensor:
        """Make this tensor a leaf that does not require grad, in place."""
        if self._base is not None and self._base._requires_grad:
            raise RuntimeError("detach_(): can't detach a view of a tensor in place; use detach()")
        self._grad_fn = None
        self._output_nr = 0
        self._requires_grad = False
        self._retains_grad = False
        self._fw = None  # and its forward-mode tangents, as torch
        return self

    @property
    def data(self) -> Any:
        """The raw backend array, shared (no copy) and not tracked, like torch's ``.data``."""
        return self._data

    @data.setter
    def data(self, value: Any) -> None:
        if type(value) is Tensor:
            value = value._data
        if not self._ns.backend.is_native(value):
            raise TypeError(
                f"data: expected an array of backend {self._ns.backend.name!r}, got {type(value).__name__}"
            )
        self._data = self._ns.backend.ensure(value)

    def item(self) -> bool | int | float | complex:
        """The single element as a Python scalar."""
        n = self._ns.backend.size(self._data)
        if n != 1:
            raise ValueError(f"item(): only a tensor with one element can be converted, got {n} elements")
        data = self._data
        item = getattr(data, "item", None)
        if item is not None:
            return item()
        if data.ndim != 0:  # the standard's float()/int() take 0-d arrays only
            data = self._ns._xp.reshape(data, ())
        return self._ns._scalar(data)

    def tolist(self) -> Any:
        """The values as nested Python lists (a scalar for a 0-d tensor)."""
        data = self._data
        tolist = getattr(data, "tolist", None)
        if tolist is not None:
            return tolist()
        if self.ndim == 0:
            return self.item()
        d = self.detach()
        return [d[(i, ...)].tolist() for i in range(self.shape[0])]  # (i, ...): strict needs it

    def __repr__(self):
        body = repr(self._data)
        extra = ""
        if self._grad_fn is not None:
            extra = f", grad_fn={self._grad_fn!r}"
        elif self._requires_grad:
            extra = ", requires_grad=True"
        return f"Tensor({body}{extra})"

    def __str__(self):
        return str(self._data)

    __hash__ = object.__hash__

    # -- array API attributes ------------------------------------------------------------------

    @property
    def dtype(self) -> Any:
        return self._data.dtype

    @property
    def shape(self) -> tuple[Any, ...]:
        return self._data.shape

    @property
    def ndim(self) -> int:
        return self._data.ndim

    @property
    def size(self) -> Any:
        return self._ns.backend.size(self._data)

    @property
    def device(self) -> Any:
        return self._ns.backend.device(self._data)

    @property
    def mT(self) -> Tensor:
        return self._ns.matrix_transpose(self)

    @property
    def T(self) -> Tensor:
        if self.ndim != 2:
            raise ValueError(
                f"T: the tensor must be 2-dimensional, got {self.ndim} dimensions; use mT or permute_dims"
            )
        return self._ns.permute_dims(self, (1, 0))

    def to_device(self, device: Any, /, *, stream: Any = None) -> Tensor:
        return self._ns._to_device(self, device, stream)

    def __array_namespace__(self, /, *, api_version: str | None = None) -> Any:
        if api_version is not None and api_version not in self._ns._supported_versions:
            raise ValueError(
                f"__array_namespace__(): unsupported api_version {api_version!r}; supported: "
                f"{sorted(self._ns._supported_versions)}"
            )
        return self._ns

    # -- conversions ---------------------------------------------------------------------------

    def _refuse_if_tracked(self, what):
        if self._requires_grad:
            raise RuntimeError(
                f"{what}: can't convert a Tensor that requires grad, the gradient would be lost. "
                "Call tensor.detach() first for a constant; in code to differentiate, call the "
                "Tensor's own namespace instead of NumPy's functions (xp = "
                "array_api_compat.array_namespace(x), then xp.sin(x), xp.sum(x), ...)."
            )

    def __array__(self, dtype=None, copy=None):
        self._refuse_if_tracked("__array__")
        import numpy as np

        arr = np.asarray(self._data) if dtype is None else np.asarray(self._data, dtype=dtype)
        if copy:
            arr = arr.copy()
        return arr

    def __dlpack__(self, /, *, stream=None, max_version=None, dl_device=None, copy=None):
        self._refuse_if_tracked("__dlpack__")
        given = {"stream": stream, "max_version": max_version, "dl_device": dl_device, "copy": copy}
        return self._data.__dlpack__(**{k: v for k, v in given.items() if v is not None})

    def __dlpack_device__(self, /):
        return self._data.__dlpack_device__()

    def __bool__(self, /):
        return bool(self._data)

    def __int__(self, /):
        return int(self._data)

    def __float__(self, /):
        return float(self._data)

    def __complex__(self, /):
        return complex(self._data)

    def __index__(self, /):
        return operator.index(self._data)

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __iter__(self):
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        for i in range(self.shape[0]):
            yield self[i]

    # -- operators -----------------------------------------------------------------------------
    # Attached by _namespace.py from its table of operators (OPERATORS): each calls the
    # namespace function of the same meaning, one code path for both spellings. Declared here
    # for type checkers.

    if TYPE_CHECKING:

        def __neg__(self, /) -> Tensor: ...
        def __pos__(self, /) -> Tensor: ...
        def __abs__(self, /) -> Tensor: ...
        def __invert__(self, /) -> Tensor: ...
        def __getitem__(self, key: Any, /) -> Tensor: ...
        def __setitem__(self, key: Any, value: Any, /) -> None: ...
        def __add__(self, other: Any, /) -> Tensor: ...
        def __radd__(self, other: Any, /) -> Tensor: ...
        def __sub__(self, other: Any, /) -> Tensor: ...
        def __rsub__(self, other: Any, /) -> Tensor: ...
        def __mul__(self, other: Any, /) -> Tensor: ...
        def __rmul__(self, other: Any, /) -> Tensor: ...
        def __truediv__(self, other: Any, /) -> Tensor: ...
        def __rtruediv__(self, other: Any, /) -> Tensor: ...
        def __floordiv__(self, other: Any, /) -> Tensor: ...
        def __rfloordiv__(self, other: Any, /) -> Tensor: ...
        def __mod__(self, other: Any, /) -> Tensor: ...
        def __rmod__(self, other: Any, /) -> Tensor: ...
        def __pow__(self, other: Any, /) -> Tensor: ...
        def __rpow__(self, other: Any, /) -> Tensor: ...
        def __matmul__(self, other: Any, /) -> Tensor: ...
        def __rmatmul__(self, other: Any, /) -> Tensor: ...
        def __and__(self, other: Any, /) -> Tensor: ...
        def __rand__(self, other: Any, /) -> Tensor: ...
        def __or__(self, other: Any, /) -> Tensor: ...
        def __ror__(self, other: Any, /) -> Tensor: ...
        def __xor__(self, other: Any, /) -> Tensor: ...
        def __rxor__(self, other: Any, /) -> Tensor: ...
        def __lshift__(self, other: Any, /) -> Tensor: ...
        def __rlshift__(self, other: Any, /) -> Tensor: ...
        def __rshift__(self, other: Any, /) -> Tensor: ...
        def __rrshift__(self, other: Any, /) -> Tensor: ...
        def __eq__(self, other: Any, /) -> Tensor: ...  # type: ignore[override]
        def __ne__(self, other: Any, /) -> Tensor: ...  # type: ignore[override]
        def __lt__(self, other: Any, /) -> Tensor: ...
        def __le__(self, other: Any, /) -> Tensor: ...
        def __gt__(self, other: Any, /) -> Tensor: ...
        def __ge__(self, other: Any, /) -> Tensor: ...
        def __iadd__(self, other: Any, /) -> Tensor: ...
        def __isub__(self, other: Any, /) -> Tensor: ...
        def __imul__(self, other: Any, /) -> Tensor: ...
        def __itruediv__(self, other: Any, /) -> Tensor: ...
        def __ifloordiv__(self, other: Any, /) -> Tensor: ...
        def __imod__(self, other: Any, /) -> Tensor: ...
        def __ipow__(self, other: Any, /) -> Tensor: ...
        def __imatmul__(self, other: Any, /) -> Tensor: ...
        def __iand__(self, other: Any, /) -> Tensor: ...
        def __ior__(self, other: Any, /) -> Tensor: ...
        def __ixor__(self, other: Any, /) -> Tensor: ...
        def __ilshift__(self, other: Any, /) -> Tensor: ...
        def __irshift__(self, other: Any, /) -> Tensor: ...


_new = object.__new__


def _init(t, ns, data, grad_fn, output_nr, version):
    t._data = data
    t._ns = ns
    t._requires_grad = grad_fn is not None
    t._grad = None
    t._grad_fn = grad_fn
    t._output_nr = output_nr
    t._vc = version
    t._hooks = None
    t._post_hooks = None
    t._retains_grad = False
    t._base = None
    t._view_fn = None
    t._view_version = 0
    t._fw = None


def Parameter(data: Any, requires_grad: bool = True) -> Tensor:
    """A leaf Tensor with ``requires_grad=True`` (torch.nn.Parameter's role).

    ``data`` is a raw array of any array API library or a Tensor (whose data is shared).
    """
    if type(data) is Tensor:
        t = data.detach()
    else:
        t = Tensor(data)
    if requires_grad:
        t.requires_grad = True
    return t
