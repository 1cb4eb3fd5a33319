"""xpgrad: torch-style automatic differentiation for the Python array API standard.

``xpgrad.namespace(backend)`` returns an array API namespace over any compliant library whose
arrays (:class:`Tensor`) record operations; ``backward()`` fills ``.grad``.

    >>> import numpy as np, xpgrad
    >>> xp = xpgrad.namespace(np)
    >>> w = xp.asarray([1.0, 2.0], requires_grad=True)
    >>> xp.sum(w * w).backward()
    >>> w.grad
    Tensor(array([2., 4.]))
"""

import importlib.util as _importlib_util
import sys as _sys
from importlib import import_module as _import_module
from types import ModuleType as _ModuleType

from ._autograd import backward, grad
from ._backends import SHORTCUTS as _LAZY_BACKENDS
from ._backends import install_hint as _install_hint
from ._checkpoint import checkpoint
from ._function import Function, FunctionCtx
from ._grad_mode import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from ._gradcheck import GradcheckError, gradcheck, gradgradcheck
from ._graph import Node
from ._hooks import detect_anomaly, is_anomaly_enabled, saved_tensors_hooks, set_detect_anomaly
from ._namespace import Namespace, namespace
from ._tensor import OperandTypeError, Parameter, RemovableHandle, Tensor

__version__ = "0.1.0"

__all__ = [
    "Function",
    "FunctionCtx",
    "GradcheckError",
    "Namespace",
    "Node",
    "OperandTypeError",
    "Parameter",
    "RemovableHandle",
    "Tensor",
    "backward",
    "checkpoint",
    "compile",
    "detect_anomaly",
    "enable_grad",
    "grad",
    "gradcheck",
    "gradgradcheck",
    "inference_mode",
    "is_anomaly_enabled",
    "is_grad_enabled",
    "namespace",
    "no_grad",
    "saved_tensors_hooks",
    "set_detect_anomaly",
    "set_grad_enabled",
]

# Lazy per-backend namespaces xpgrad.numpy, xpgrad.torch, ... (the table is _backends.SHORTCUTS)
# and lazy submodules. An absent backend is an AttributeError (PEP 562), so hasattr(), help()
# and inspect.getmembers() see a missing attribute, with the import error as its cause.
_LAZY_MODULES = {"forward_ad", "func", "functional", "optim", "testing"}


def __getattr__(name):
    if name in _LAZY_BACKENDS:
        module_name = _LAZY_BACKENDS[name]
        try:
            _import_module(module_name)
        except Exception as exc:  # noqa: BLE001 - a broken install is as absent as a missing one
            raise AttributeError(
                f"module 'xpgrad' has no attribute {name!r}: xpgrad.{name} is the namespace over "
                f"{module_name}, which could not be imported ({type(exc).__name__}: {exc}); "
                f"{_install_hint(name)}"
            ) from exc
        ns = namespace(module_name)
        globals()[name] = ns
        return ns
    if name == "compile":
        from ._compile import compile  # lazy: imports xpgrad.optim, which is lazy too

        globals()[name] = compile
        return compile
    if name in _LAZY_MODULES:
        mod = _import_module(f"xpgrad.{name}")
        globals()[name] = mod
        return mod
    raise AttributeError(f"module 'xpgrad' has no attribute {name!r}")


def _installed(module_name):
    top = module_name.split(".")[0]
    if top in _sys.modules:
        return _sys.modules[top] is not None
    try:
        return _importlib_util.find_spec(top) is not None
    except Exception:  # noqa: BLE001 - a finder that fails: not usable, as __getattr__ says
        return False


def __dir__():
    # The public API, the lazy submodules and the shortcuts of the installed backends (found
    # without importing them); not the names the implementation imports.
    g = globals()
    names = set(__all__) | _LAZY_MODULES | {"__version__"}
    names.update(n for n in g if n.startswith("__") and n.endswith("__"))
    names.update(
        n
        for n, v in g.items()
        if isinstance(v, _ModuleType) and not n.startswith("_") and v.__name__ == f"xpgrad.{n}"
    )
    names.update(n for n, m in _LAZY_BACKENDS.items() if n in g or _installed(m))
    return sorted(names)
