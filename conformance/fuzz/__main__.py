"""``python -m conformance.fuzz --backend numpy --programs 1000 --seed 0 [--report DIR]``.

Exit status: 0 when every difference is explained (a known difference), 1 when one is not or the
fuzzer crashed (or, with ``--fail-on-unused-known``, when a known entry matched nothing), 2 for a
usage error.
"""

from __future__ import annotations

import argparse
import sys

from ._driver import fuzz
from ._gen import DTYPES


def main(argv=None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m conformance.fuzz",
        description="Differential fuzzing of xpgrad against torch.autograd with random array API programs.",
    )
    p.add_argument("--backend", default="numpy", help="array library under test (default: numpy)")
    p.add_argument("--programs", type=int, default=1000, help="number of programs (default: 1000)")
    p.add_argument("--seed", type=int, default=0, help="seed of the run (default: 0)")
    p.add_argument(
        "--first",
        type=int,
        default=0,
        help="index of the first program (default: 0); a long run in parts: --first 5000 --programs 5000 ...",
    )
    p.add_argument("--dtypes", nargs="+", choices=DTYPES, help="only these dtypes (default: all four)")
    p.add_argument("--max-stmts", type=int, default=10, help="statements per program at most (default: 10)")
    p.add_argument(
        "--reductions", type=int, default=100, help="reduce at most this many differences (default: 100)"
    )
    p.add_argument("--report", metavar="DIR", help="write fuzz-<backend>.txt/.json and reproducers to DIR")
    p.add_argument(
        "--fail-on-unused-known",
        action="store_true",
        help="exit status 1 also when a known entry matched no difference (for long runs: a stale entry hides bugs)",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    args = p.parse_args(argv)
    if args.programs < 0 or args.first < 0:
        p.error("--programs and --first must be >= 0")

    def progress(k, n, run):
        if not args.quiet and (k % 50 == 0 or k == n):
            print(f"\r{k}/{n} programs, {len(run.findings)} differences", end="", file=sys.stderr, flush=True)

    try:
        run = fuzz(
            args.backend,
            args.programs,
            args.seed,
            dtypes=args.dtypes,
            max_stmts=args.max_stmts,
            max_reductions=args.reductions,
            progress=progress,
            first=args.first,
        )
    except (ValueError, TypeError, ImportError) as exc:
        print(f"python -m conformance.fuzz: --backend {args.backend!r}: {exc}", file=sys.stderr)
        return 2
    if not args.quiet:
        print(file=sys.stderr)
    if args.report:
        run.write(args.report)
    print(run.summary())
    return exit_status(run, args.fail_on_unused_known)


def exit_status(run, fail_on_unused_known=False) -> int:
    """1 for an unexplained difference or a crash of the fuzzer (or, if asked, an unused known
    entry), else 0."""
    if run.unexplained or run.crashes or (fail_on_unused_known and run.unused_known):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
