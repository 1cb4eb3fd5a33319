"""Known differences of each backend from torch, one module per backend: ``<backend>.py``.

Each module defines ``KNOWN``, a list of :class:`xpgrad.testing.KnownDifference` entries
(function, sample, dtype and check patterns, and the reason). Both ``pytest conformance`` and
``xpgrad-conformance`` apply them as expected failures; a file given with ``--known PATH``
(a backend's own list, kept in its repository) is added to the one of the backend under test.
The backend's name is ``xpgrad.namespace(backend).backend.name`` (``numpy``, ``torch``,
``array_api_strict``, ``jax_numpy`` ... dots become underscores).

A module may also define ``TESTS``, a dict from ``"<file>::<test name>"`` (fnmatch patterns,
e.g. ``"test_edge_cases.py::test_matches_torch_exactly[var_correction_*]"``) to the reason (brackets are literal):
those pytest tests of the suite (edge cases, semantics) are strict xfails on that backend.

Op-level differences that hold on every backend (torch's own deviations) stay in the OpInfos.
"""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path

from xpgrad.testing import KnownDifference

__all__ = ["KnownDifference", "load_known", "load_known_tests"]

_HERE = Path(__file__).parent


def _from_path(path: str | Path) -> list[KnownDifference]:
    path = Path(path)
    spec = importlib.util.spec_from_file_location(f"_known_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise ValueError(f"--known {str(path)!r}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return _entries(module, str(path))


def _entries(module, where: str) -> list[KnownDifference]:
    entries = list(getattr(module, "KNOWN", ()))
    for e in entries:
        if not isinstance(e, KnownDifference):
            raise TypeError(f"{where}: KNOWN must hold KnownDifference entries, got {e!r}")
    return entries


def load_known(backend: str, paths=()) -> list[KnownDifference]:
    """The known differences of ``backend`` (its module here, if any) plus those in ``paths``."""
    entries: list[KnownDifference] = []
    if (_HERE / f"{backend}.py").is_file():
        module = importlib.import_module(f"{__name__}.{backend}")
        entries += _entries(module, f"xpgrad/conformance/known/{backend}.py")
    for p in paths:
        entries += _from_path(p)
    return entries


def load_known_tests(backend: str) -> dict[str, str]:
    """``TESTS`` of ``backend``'s module here: pytest test patterns -> reason (strict xfails)."""
    if not (_HERE / f"{backend}.py").is_file():
        return {}
    module = importlib.import_module(f"{__name__}.{backend}")
    tests = dict(getattr(module, "TESTS", {}))
    for pattern, reason in tests.items():
        if not (isinstance(pattern, str) and isinstance(reason, str) and reason):
            raise TypeError(
                f"xpgrad/conformance/known/{backend}.py: TESTS maps patterns to reasons, got {pattern!r}"
            )
    return tests
