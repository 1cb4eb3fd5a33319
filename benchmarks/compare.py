"""Before/after: the same workloads on two xpgrad source trees, interleaved, in one run.

``python -m benchmarks.compare --before PATH [--after PATH] [--only W1,W2,W4] [--rounds 3]``

``PATH`` is a checkout of xpgrad (its ``src/`` is put first on ``PYTHONPATH``), e.g. a worktree
of the commit before a change: ``git worktree add /tmp/before <commit>``. ``--after`` defaults
to this checkout. Each round runs ``python -m benchmarks --quick --only ... --json`` once per
tree, alternating which goes first, so that machine noise hits both alike; the table gives, per
workload, the median over rounds of the ratio each workload's target is judged on (W1: xpgrad
per-op time / torch.autograd's; W2: xpgrad SGD step / hand-written NumPy's, and xpgrad on torch
/ native torch.autograd; W3: xpgrad / hand-written NumPy; W4: time of the 20,000-op chain / the
2,000-op chain; W8, W9: xpgrad / torch.autograd; W10: xpgrad / hand-written NumPy).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# (workload, implementation, key in its row, label)
RATIOS = (
    ("W1", "xpgrad", "vs_torch", "W1 per-op time / torch.autograd"),
    ("W2", "xpgrad", "vs_limit", "W2 SGD step / hand-written NumPy"),
    ("W2", "xpgrad[torch]", "vs_torch", "W2 on torch / native torch.autograd"),
    ("W3", "xpgrad", "vs_limit", "W3 expression / hand-written NumPy"),
    ("W4", "xpgrad", "ratio", "W4 20k-op / 2k-op chain"),
    ("W8", "xpgrad", "vs_torch", "W8 mixed small ops / torch.autograd"),
    ("W9", "xpgrad", "vs_torch", "W9 sum and matmul on 4x4 per call / torch"),
    ("W10", "xpgrad", "vs_limit", "W10 small MLP step / hand-written NumPy"),
)


def _run(tree, only, path):
    env = dict(os.environ, PYTHONPATH=os.path.join(tree, "src") + os.pathsep + HERE)
    cmd = [sys.executable, "-m", "benchmarks", "--quick", "--only", only, "--json", path]
    subprocess.run(cmd, env=env, cwd=HERE, check=True, stdout=subprocess.DEVNULL)
    with open(path) as f:
        results = json.load(f)["results"]
    out = {}
    for key, impl, field, label in RATIOS:
        for row in results.get(key, {}).get("rows", ()):
            if row.get("impl") == impl and row.get(field) is not None:
                out[label] = row[field]
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.compare", description=__doc__.splitlines()[0])
    parser.add_argument("--before", required=True, help="checkout of the code before the change")
    parser.add_argument("--after", default=HERE, help="checkout of the code after (default: this one)")
    parser.add_argument("--only", default="W1,W2,W4")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    trees = {"before": os.path.abspath(args.before), "after": os.path.abspath(args.after)}
    samples = {"before": [], "after": []}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            order = ("before", "after") if r % 2 == 0 else ("after", "before")
            for name in order:
                samples[name].append(_run(trees[name], args.only, os.path.join(tmp, f"{name}{r}.json")))
                print(f"round {r + 1}/{args.rounds}: {name} done", file=sys.stderr)
    print(f"| ratio (median of {args.rounds} interleaved rounds, --quick) | before | after | after/before |")
    print("|---|---|---|---|")
    for _, _, _, label in RATIOS:
        b = [s[label] for s in samples["before"] if label in s]
        a = [s[label] for s in samples["after"] if label in s]
        if not a or not b:
            continue
        mb, ma = statistics.median(b), statistics.median(a)
        print(f"| {label} | {mb:.3f} | {ma:.3f} | {ma / mb:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
