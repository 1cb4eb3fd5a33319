"""``xpgrad-conformance`` (``python -m xpgrad.conformance``; ``python -m conformance`` in a clone):
every OpInfo x sample x dtype x check against torch.autograd, with a matrix on stdout and, with
``--report DIR``, report.md, report.json and report.html.

    xpgrad-conformance --backend=numpy --report out/
    xpgrad-conformance --backend=my.array.library --only 'linalg.*' --dtypes float64
    xpgrad-conformance --backend='marray:masked_namespace(numpy)' --to-numpy mypkg.testing:to_numpy

Exit status: 0 when every check passes or is a known difference, 1 when one fails (or a strict
known difference no longer shows), 2 for a usage error (unknown backend, nothing selected).
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

from xpgrad.testing import CHECKS, FORWARD_CHECKS, run_check

from ._report import Report
from ._suite import BACKENDS, forward_items, items, load_known, resolve_backend

ALL_CHECKS = CHECKS + FORWARD_CHECKS


def _split(values) -> list[str] | None:
    if not values:
        return None
    return [v.strip() for value in values for v in value.split(",") if v.strip()]


def _parser(prog: str = "xpgrad-conformance") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=prog,
        description="Check xpgrad's values and gradients on a backend against torch.autograd.",
    )
    p.add_argument(
        "--backend",
        default="numpy",
        help=f"array library under test: {', '.join(BACKENDS)}, any importable array API module, "
        "module:attr (mypkg.ns:xp) or module:factory(args) (marray:masked_namespace(numpy)) "
        "(default: numpy)",
    )
    p.add_argument(
        "--to-numpy",
        metavar="MODULE:FUNCTION",
        help="a function making a NumPy array of one of the backend's arrays, where DLPack and "
        "__array__ cannot read them",
    )
    p.add_argument("--report", metavar="DIR", help="write report.md, report.json and report.html to DIR")
    p.add_argument(
        "--dtypes", nargs="+", metavar="DTYPE", help="only these dtypes (space or comma separated)"
    )
    p.add_argument(
        "--only", nargs="+", metavar="NAME", help="only these functions (names or patterns: 'linalg.*')"
    )
    p.add_argument(
        "--checks",
        nargs="+",
        metavar="CHECK",
        help=f"only these checks, of {', '.join(ALL_CHECKS)} (jvp, fwd_rev: forward mode)",
    )
    p.add_argument(
        "--known",
        action="append",
        default=[],
        metavar="PATH",
        help="a Python file defining KNOWN = [KnownDifference(...)] for the backend under test "
        "(added to xpgrad/conformance/known/<backend>.py); may be repeated",
    )
    p.add_argument(
        "--subset",
        metavar="N",
        type=int,
        default=1,
        help="run one check in N (deterministic, spread over every function): a quick profile",
    )
    p.add_argument(
        "--shard",
        metavar="I/N",
        default=None,
        help="run the I-th of N disjoint shards of the selected checks (1 <= I <= N), e.g. for CI jobs in parallel",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    p.add_argument("-q", "--quiet", action="store_true", help="print only the summary and the failures")
    return p


class _Progress:
    """``[#####.....] 1234/9000 linalg.svd`` on stderr: redrawn in place on a terminal, a line
    per tenth otherwise (CI logs)."""

    def __init__(self, total: int, stream, enabled: bool = True):
        self.total = total
        self.stream = stream
        self.enabled = enabled and total > 0
        self.tty = enabled and hasattr(stream, "isatty") and stream.isatty()
        self.last = -1
        self.width = 30

    def update(self, done: int, label: str) -> None:
        if not self.enabled:
            return
        if self.tty:
            filled = self.width * done // self.total
            bar = "#" * filled + "." * (self.width - filled)
            self.stream.write(f"\r[{bar}] {done}/{self.total} {label[:40]:<40}")
            self.stream.flush()
        else:
            tenth = 10 * done // self.total
            if tenth != self.last:
                self.last = tenth
                filled = self.width * done // self.total
                bar = "#" * filled + "." * (self.width - filled)
                self.stream.write(f"[{bar}] {done}/{self.total} {label}\n")
                self.stream.flush()

    def close(self) -> None:
        if self.enabled and self.tty:
            self.stream.write("\r" + " " * (self.width + 60) + "\r")
            self.stream.flush()


def parse_shard(text):
    """``"i/n"`` -> ``(i, n)`` with 1 <= i <= n; ValueError naming the expected form."""
    try:
        i, n = (int(v) for v in text.split("/"))
    except ValueError:
        raise ValueError(f"--shard: expected I/N with integers (e.g. 2/4), got {text!r}") from None
    if not 1 <= i <= n:
        raise ValueError(f"--shard: expected 1 <= I <= N, got {text!r}")
    return i, n


def select(todo, subset=1, shard=None):
    """One check in ``subset`` of ``todo`` (every ``subset``-th, so every function keeps some),
    then the ``shard`` ``(i, n)``: the checks at positions i-1, i-1+n, ... (disjoint shards
    whose union is the selection)."""
    if subset < 1:
        raise ValueError(f"--subset: expected a positive integer, got {subset}")
    todo = todo[::subset]
    if shard is not None:
        i, n = shard
        todo = todo[i - 1 :: n]
    return todo


def run(
    backend: str,
    *,
    only=None,
    dtypes=None,
    checks=None,
    known_paths=(),
    progress=None,
    to_numpy=None,
    subset=1,
    shard=None,
):
    """Run the selected checks; return (namespace, results, seconds)."""
    ns = resolve_backend(backend, to_numpy=to_numpy)
    known = load_known(ns.backend.name, known_paths)
    todo = items(only=only, dtypes=dtypes, checks=checks) + forward_items(
        only=only, dtypes=dtypes, checks=checks
    )
    todo = select(todo, subset, shard)
    bar = progress(len(todo)) if progress else None
    results = []
    start = time.perf_counter()
    for k, (case, check) in enumerate(todo):
        if bar is not None:
            bar.update(k, f"{case.op.name} {case.dtype} {check}")
        # As pytest runs the suite (filterwarnings = error): a warning is a failed check.
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            results.append(
                run_check(
                    case.op, case.sample, case.dtype, ns, check, sample_name=case.sample_name, known=known
                )
            )
    if bar is not None:
        bar.update(len(todo), "done")
        bar.close()
    return ns, results, time.perf_counter() - start


def main(argv: list[str] | None = None, prog: str = "xpgrad-conformance") -> int:
    """Run the command line; returns the exit status (0 pass, 1 a failure, 2 a usage error)."""
    args = _parser(prog).parse_args(argv)
    checks = _split(args.checks)
    if checks:
        bad = [c for c in checks if c not in ALL_CHECKS]
        if bad:
            print(
                f"--checks: unknown check {', '.join(bad)}; expected {', '.join(ALL_CHECKS)}", file=sys.stderr
            )
            return 2
    only, dtypes = _split(args.only), _split(args.dtypes)
    try:
        shard = parse_shard(args.shard) if args.shard is not None else None
        select([], args.subset)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    try:
        ns, results, elapsed = run(
            args.backend,
            only=only,
            dtypes=dtypes,
            checks=checks,
            known_paths=args.known,
            to_numpy=args.to_numpy,
            subset=args.subset,
            shard=shard,
            progress=lambda total: _Progress(total, sys.stderr, enabled=not args.no_progress),
        )
    except (ValueError, TypeError, ImportError) as exc:
        print(f"--backend {args.backend!r}: {exc}", file=sys.stderr)
        return 2
    if not results:
        print("nothing selected: check --only, --dtypes and --checks", file=sys.stderr)
        return 2
    report = Report(
        results,
        ns,
        elapsed=elapsed,
        args={
            "backend": args.backend,
            "only": ",".join(only or ()),
            "dtypes": ",".join(dtypes or ()),
            "checks": ",".join(checks or ()),
            "known": ",".join(args.known),
            "to_numpy": args.to_numpy or "",
        },
    )
    if args.quiet:
        for r in report.failures:
            print(report._failure_line(r))
        print(report.summary())
    else:
        print(report.text())
    if args.report:
        out = Path(args.report)
        out.mkdir(parents=True, exist_ok=True)
        (out / "report.md").write_text(report.markdown(), encoding="utf-8")
        (out / "report.json").write_text(report.json(), encoding="utf-8")
        (out / "report.html").write_text(report.html(), encoding="utf-8")
        (out / "summary.md").write_text(report.summary_markdown(), encoding="utf-8")
        print(
            f"report written to {out / 'report.html'} (and report.md, report.json; summary.md for CI)",
            file=sys.stderr,
        )
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
