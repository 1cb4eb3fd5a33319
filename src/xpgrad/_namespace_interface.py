"""The interface the modules below ``_namespace.py`` use on a namespace, declared.

A Tensor keeps its namespace (``t._ns``), and the layers below the namespace (the Tensor, the
recording, forward mode, the engine, the category modules' helpers, ...) call it back. Besides
the standard's public functions, they use only what :class:`NamespaceInterface` lists: the
backend's capabilities (``ns.backend``, the engine's whole interface) and a few private helpers.
``tests/test_architecture.py`` checks that every private name used on a namespace outside
``_namespace.py`` is declared here, and that a namespace has every one.
"""

from __future__ import annotations

from collections.abc import Callable
from types import FunctionType
from typing import Any, Protocol

__all__ = ["NAMESPACE_INTERFACE", "NamespaceInterface"]


class NamespaceInterface(Protocol):
    """What a namespace offers the layers below it (besides the standard's functions)."""

    backend: Any  # the backend's capabilities (``_backends.Backend``); ``backend.xp`` is raw
    _xp: Any  # the raw array namespace (``backend.xp``)
    _supported_versions: frozenset[str]  # the standard's versions ``__array_namespace__`` takes
    _diff_dtypes: tuple[Any, ...]  # the floating and complex dtypes of the backend
    _ensure: Callable[[Any], Any]  # an array for a backend result that may be a NumPy scalar

    # -- dtypes
    def _is_differentiable_dtype(self, dtype: Any) -> bool: ...
    def _is_complex_dtype(self, dtype: Any) -> bool: ...

    # -- arguments: a Tensor of this namespace, a raw array of its backend, a Python scalar
    def _coerce_unary(self, x: Any, fname: str, argname: str = "x") -> Any: ...
    def _coerce_binary(self, x1: Any, x2: Any, fname: str) -> tuple[Any, Any, bool, bool]: ...
    def _tensor(self, x: Any, fname: str, argname: str = "x") -> Any: ...
    def _raw(self, x: Any, fname: str, argname: str = "x") -> Any: ...
    def _wrong_tensor(self, t: Any, fname: str, argname: str) -> TypeError: ...
    def _scalar(self, data: Any) -> bool | int | float | complex: ...

    # -- views and in-place writes (_inplace.py, _indexing_functions.py)
    def _mark_view(self, view: Any, base_input: Any) -> None: ...
    def _set_view_fn(self, t: Any, x: Any, fn: Callable[..., Any]) -> None: ...
    def _refresh_view(self, t: Any) -> None: ...
    def _inplace(self, x: Any, opname: str, iop: Callable[..., Any], other: Any) -> Any: ...
    def _getitem(self, x: Any, key: Any) -> Any: ...
    def _setitem(self, x: Any, key: Any, value: Any) -> None: ...
    def _index_add(self, shape: Any, dtype: Any, key: Any, values: Any, device: Any = None) -> Any: ...

    # -- devices
    def _to_device(self, x: Any, device: Any, stream: Any = None) -> Any: ...


# The names declared above: the attributes and the methods.
NAMESPACE_INTERFACE = frozenset(NamespaceInterface.__annotations__) | frozenset(
    name
    for name, value in vars(NamespaceInterface).items()
    if isinstance(value, FunctionType) and not name.startswith("__")
)
