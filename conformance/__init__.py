"""Gradient conformance of xpgrad against torch.autograd, on any backend.

- ``python -m conformance --backend=numpy [--report DIR]``: every OpInfo sample of
  ``xpgrad.testing.op_db()`` at every dtype and check (forward, first, second order) through the
  shared runner (:func:`xpgrad.testing.run_check`), as a matrix on stdout and, with ``--report``,
  report.md / report.json / report.html (``__main__.py``, ``_report.py``).
- ``pytest conformance [--backend numpy|torch|array_api_strict|jax|<module>]``: the same checks,
  one test each (``test_conformance.py``), plus the edge-case catalogue (``test_edge_cases.py``),
  graph semantics side by side with torch (``test_semantics.py``), a proof that planted bugs are
  caught (``test_planted_bugs.py``) and coverage of the namespace (``test_coverage.py``).

Known differences are strict xfails with their reason: torch's own deviations in the OpInfos,
backend differences in ``known/<backend>.py``.
"""

# The runner and the known differences live in the installed package (xpgrad.conformance), so
# that backend authors run the same code. Test modules here import from there; these aliases
# keep ``from ._suite import ...`` / ``from ._report import ...`` working for modules written
# against the layout before the move.
import sys as _sys

from xpgrad.conformance import _report, _suite, known

for _name, _module in (("_suite", _suite), ("_report", _report), ("known", known)):
    _sys.modules.setdefault(f"{__name__}.{_name}", _module)
