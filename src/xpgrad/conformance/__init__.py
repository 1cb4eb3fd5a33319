"""Gradient conformance of xpgrad against torch.autograd, on any backend, as an installed command.

``pip install "xpgrad[conformance]"``, then:

- ``xpgrad-conformance --backend NAME [--report DIR]`` (or ``python -m xpgrad.conformance``):
  every OpInfo sample of :func:`xpgrad.testing.op_db` at every dtype and check (values, first and
  second order) against ``torch.autograd``, as a matrix on stdout and, with ``--report``,
  ``report.md``, ``report.json`` and ``report.html``. Exit status 0 when every check passes or
  is a known difference, 1 when one fails (or a strict known difference no longer shows), 2 for
  a usage error.
- ``pytest --pyargs xpgrad.conformance --xpgrad-backend NAME [--xpgrad-known PATH]``: the same
  checks as pytest tests (one per function, sample, dtype and check), inside a backend's own
  test run (the options come from the pytest plugin :mod:`xpgrad.conformance.plugin`, an entry
  point of the package).

Known differences of each backend are in ``xpgrad/conformance/known/<backend>.py``; a backend
keeps its own list in its repository and passes it with ``--known PATH``.
"""

from __future__ import annotations

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """The ``xpgrad-conformance`` command; returns its exit status."""
    from .__main__ import main as _main  # on call: importing the package stays cheap

    return _main(argv)
