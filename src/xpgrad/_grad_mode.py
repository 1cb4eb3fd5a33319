"""Grad modes: thread-local switches for graph recording (as torch.autograd.grad_mode).

``no_grad``, ``enable_grad``, ``set_grad_enabled`` and ``inference_mode`` work as context
managers and as decorators; the state is per thread, and a new thread starts with grad enabled.
"""

from __future__ import annotations

import functools
import threading

__all__ = ["no_grad", "enable_grad", "set_grad_enabled", "inference_mode", "is_grad_enabled"]


class _State(threading.local):
    # Class attributes are the defaults seen by every new thread.
    enabled = True
    anomaly = False
    saved_hooks = None  # _hooks.Packer of the innermost saved_tensors_hooks
    extras = False  # anomaly or saved_hooks: recording must do more than the minimum


def update_extras():
    GRAD_MODE.extras = bool(GRAD_MODE.anomaly) or GRAD_MODE.saved_hooks is not None


GRAD_MODE = _State()


def is_grad_enabled() -> bool:
    """Return True if operations are currently recorded for differentiation."""
    return GRAD_MODE.enabled


class _GradMode:
    """Base of the grad-mode context managers; also usable as a decorator."""

    _target: bool = True

    def __init__(self):
        self._prev: list[bool] = []

    def __enter__(self):
        self._prev.append(GRAD_MODE.enabled)
        GRAD_MODE.enabled = self._target
        return self

    def __exit__(self, *exc):
        GRAD_MODE.enabled = self._prev.pop()
        return False

    def __call__(self, func):
        if not callable(func):
            raise TypeError(
                f"{type(self).__name__}(): expected a callable to decorate, got {type(func).__name__}"
            )

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with type(self)(*self._ctor_args()):
                return func(*args, **kwargs)

        return wrapper

    def _ctor_args(self):
        return ()


class _NoParamGradMode(_GradMode):
    """A grad mode without parameters: also a decorator without parentheses (``@no_grad``)."""

    def __new__(cls, func=None):
        if func is None:
            return super().__new__(cls)
        return cls()(func)  # used as ``@no_grad``: the decorated function (torch accepts it)


class no_grad(_NoParamGradMode):
    """Disable graph recording: results do not require grad.

    Use it to update parameters in place::

        with xpgrad.no_grad():
            w -= lr * w.grad

    or as a decorator, ``@xpgrad.no_grad()`` or ``@xpgrad.no_grad``.
    """

    _target = False


class enable_grad(_NoParamGradMode):
    """Enable graph recording inside a ``no_grad`` block (``@enable_grad`` or ``@enable_grad()``
    as a decorator)."""

    _target = True


class set_grad_enabled(_GradMode):
    """Set grad mode to ``mode``; as a call it takes effect at once, as torch's does."""

    def __init__(self, mode: bool):
        if not isinstance(mode, bool):
            raise TypeError(f"set_grad_enabled(): argument 'mode' must be a bool, got {type(mode).__name__}")
        super().__init__()
        self._target = mode
        # Like torch, calling set_grad_enabled(False) without `with` switches the mode now.
        self._prev.append(GRAD_MODE.enabled)
        GRAD_MODE.enabled = mode

    def __enter__(self):
        # The switch already happened in __init__; nothing more to do here.
        return self

    def __call__(self, func):
        # Used as a decorator: undo the switch made in __init__; it applies per call instead.
        GRAD_MODE.enabled = self._prev.pop()
        return super().__call__(func)

    def _ctor_args(self):
        return (self._target,)


class inference_mode(_GradMode):
    """Like ``no_grad`` (xpgrad has no separate inference tensors); ``mode=False`` is a no-op."""

    def __init__(self, mode: bool = True):
        super().__init__()
        if not isinstance(mode, bool):
            raise TypeError(f"inference_mode(): argument 'mode' must be a bool, got {type(mode).__name__}")
        self._mode = mode
        self._target = not mode

    def __enter__(self):
        self._prev.append(GRAD_MODE.enabled)
        if self._mode:
            GRAD_MODE.enabled = False
        return self

    def _ctor_args(self):
        return (self._mode,)
