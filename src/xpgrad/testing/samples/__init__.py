"""Sample registries, one module per spec category; each defines ``OPS = [OpInfo(...)]``.

Modules are discovered with :mod:`pkgutil`: a new ``samples/<category>.py`` is picked up by the
finite-difference tests and the conformance suite without being listed anywhere.
"""

from __future__ import annotations

import importlib
import pkgutil

__all__ = ["load_ops", "sample_modules"]


def sample_modules() -> list[str]:
    """Names of the sample modules in this package (sorted)."""
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))


def load_ops() -> list:
    """Every OpInfo of every sample module, in module order.

    A function may have several OpInfos (e.g. one for the samples where torch differs, with its
    own xfail); the test ids stay unique through the sample names.
    """
    ops = []
    for name in sample_modules():
        module = importlib.import_module(f"{__name__}.{name}")
        ops.extend(getattr(module, "OPS", ()))
    return ops
