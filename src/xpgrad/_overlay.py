"""Overlay namespaces: a backend's namespace with some functions replaced (torch's, Dask's)."""

from __future__ import annotations

import types

# What makes a module object a particular module (not copied into an overlay).
_MODULE_IDENTITY = frozenset(
    {"__name__", "__doc__", "__spec__", "__loader__", "__file__", "__path__", "__package__", "__cached__"}
)


def _overlay(base, overrides, **submodules):
    """A namespace with the attributes of ``base`` except for the functions in ``overrides``.

    A plain module object holding a copy of the base's attributes: ``xp.<function>``, read by
    ops on every call, stays as fast as on the base module. (A class with ``__getattr__``, or a
    module ``__getattr__`` (PEP 562), makes every lookup several times slower.)
    """
    ns = types.ModuleType(base.__name__, getattr(base, "__doc__", None))
    ns.__dict__.update((k, v) for k, v in vars(base).items() if k not in _MODULE_IDENTITY)
    ns.__dict__.update(overrides)
    ns.__dict__.update(submodules)
    return ns
