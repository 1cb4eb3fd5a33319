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

from __future__ import annotations

import importlib

from ._autograd import backward, grad
from ._backends import SHORTCUTS as _LAZY_BACKENDS
from ._checkpoint import checkpoint
from ._engine import Node
from ._function import Function, FunctionCtx
from ._grad_mode import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from ._gradcheck import GradcheckError, gradcheck, gradgradcheck
from ._hooks import detect_anomaly, is_anomaly_enabled, saved_tensors_hooks, set_detect_anomaly
from ._namespace import Namespace, namespace
from ._tensor import Parameter, RemovableHandle, Tensor

__version__ = "0.1.0"

__all__ = [
    "Function",
    "FunctionCtx",
    "GradcheckError",
    "Namespace",
    "Node",
    "Parameter",
    "RemovableHandle",
    "Tensor",
    "backward",
    "checkpoint",
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
_LAZY_MODULES = {"functional", "optim", "testing"}


def __getattr__(name):
    if name in _LAZY_BACKENDS:
        ns = namespace(_LAZY_BACKENDS[name])
        globals()[name] = ns
        return ns
    if name in _LAZY_MODULES:
        mod = importlib.import_module(f"xpgrad.{name}")
        globals()[name] = mod
        return mod
    raise AttributeError(f"module 'xpgrad' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY_BACKENDS) | _LAZY_MODULES)
