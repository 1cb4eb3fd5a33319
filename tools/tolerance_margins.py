"""How far each conformance check stays from its tolerance (issue 24: the suite's resolution).

    PYTHONPATH=src python tools/tolerance_margins.py --backend numpy [--dtypes float32,float64]
        [--only 'linalg.*'] [--below 10]

Runs every check of the conformance suite (values, first and second order, forward mode and
forward-over-reverse) on the backend and, per function and dtype, prints the margin: the smallest
``(atol + rtol * |torch|) / |xpgrad - torch|`` over every compared element, with the tolerances
the suite uses (``xpgrad.testing.tolerances``), and where it is reached. A check that fails is
listed first (``FAIL``, exit status 1); a known difference is left out. With ``--below M`` only
margins under ``M`` are printed.

The defaults of ``DEFAULT_TOLERANCES`` and the per-function overrides are chosen from these
margins: 3 or more everywhere (10 for linear algebra and FFTs, whose round-off depends on the
BLAS/LAPACK build), and as tight as that allows. Run it after a change of a formula, a backend
or a BLAS, before changing a tolerance.
"""

from __future__ import annotations

import argparse
import math
import sys
import warnings
from fnmatch import fnmatchcase

import numpy as np

from xpgrad.conformance._suite import forward_items, items, load_known, resolve_backend
from xpgrad.testing import _forward_runner, _runner


def _margin(x, t, rtol, atol):
    """min (atol + rtol |t|) / |x - t| over the finite elements (inf if none differs)."""
    x = np.asarray(x)
    t = np.asarray(t)
    if x.shape != t.shape or x.dtype.kind not in "fc":
        return math.inf
    kind = np.complex128 if "c" in (x.dtype.kind, t.dtype.kind) else np.float64
    x, t = x.astype(kind), t.astype(kind)
    with np.errstate(all="ignore"):
        fin = np.isfinite(x) & np.isfinite(t)
        err = np.abs(x[fin] - t[fin])
        allowed = atol + rtol * np.abs(t[fin])
        hit = err > 0
        return float((allowed[hit] / err[hit]).min()) if hit.any() else math.inf


def measure(backend, dtypes=None, only=None):
    """``(margins, failures)``: {(function, dtype): (margin, sample, check, output)} over the
    suite's checks that pass, and the checks that fail (not known differences) with their
    message's first line."""
    ns = resolve_backend(backend)
    known = load_known(ns.backend.name)
    found: dict = {}
    failures: list = []
    current: list = [None]
    original = _runner._assert_close

    def recording(x, t, rtol, atol, what, exact_dtype=True):
        r = original(x, t, rtol, atol, what, exact_dtype)  # raises where the check fails
        current[1].append((_margin(x, t, rtol, atol), what))
        return r

    _runner._assert_close = recording
    _forward_runner._assert_close = recording
    try:
        todo = list(items(only=only, dtypes=dtypes)) + list(forward_items(only=only, dtypes=dtypes))
        for case, check in todo:
            current[:] = [case, []]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                result = _runner.run_check(
                    case.op, case.sample, case.dtype, ns, check, sample_name=case.sample_name, known=known
                )
            if result.status == "fail":
                first = result.message.splitlines()[0] if result.message else ""
                failures.append(f"{case.op.name} [{case.sample_name}, {case.dtype}] {check}: {first}")
            if result.status not in ("pass", "xpass"):
                continue
            for margin, what in current[1]:
                key = (case.op.name, case.dtype)
                if margin < found.get(key, (math.inf,))[0]:
                    found[key] = (margin, case.sample_name, check, what)
    finally:
        _runner._assert_close = original
        _forward_runner._assert_close = original
    return found, failures


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="numpy")
    parser.add_argument("--dtypes", default=None, help="comma-separated, e.g. float32,float64")
    parser.add_argument("--only", action="append", default=None, help="function name or fnmatch pattern")
    parser.add_argument("--below", type=float, default=math.inf, help="print only margins under this")
    args = parser.parse_args(argv)
    dtypes = args.dtypes.split(",") if args.dtypes else None
    found, failures = measure(args.backend, dtypes, args.only)
    for line in failures:
        print(f"      FAIL  {line}")
    rows = sorted(found.items(), key=lambda kv: kv[1][0])
    for (name, dtype), (margin, sample, check, what) in rows:
        if margin < args.below and not (args.only and not any(fnmatchcase(name, p) for p in args.only)):
            print(f"{margin:10.3g}  {name} [{sample}, {dtype}] {check}: {what}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
