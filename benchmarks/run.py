"""Run the benchmark suite: ``python -m benchmarks`` or ``python benchmarks/run.py``.

Options: ``--quick`` (fewer repetitions, a 50,000-op chain instead of 1,000,000; about 50 s
of one core, 1 to 4 minutes on a shared two-core machine: docs/performance.md), ``--only W1,W3`` (a subset), ``--json PATH`` (save every number, with the per-repetition
samples and the environment).

All implementations of a workload are measured side by side in this one process, round-robin
(see ``_harness``), with BLAS/OpenMP and torch pinned to one thread; W5 runs each implementation
in its own subprocess. Gradients are checked against the limit's before anything is timed.
"""

import argparse
import json
import os
import sys
import time

if __package__ in (None, ""):  # run as a script: make the package importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# The package's __init__ pins the thread variables; it runs before anything imports NumPy.
import benchmarks  # noqa: E402
from benchmarks import (  # noqa: E402
    _harness,
    forward_mode,
    w1_per_op,
    w2_mlp,
    w3_expression,
    w4_linearity,
    w5_memory,
    w6_checkpoint,
    w8_mixed,
    w9_calls,
    w10_small_mlp,
    w11_per_sample,
)

WORKLOADS = {
    "W1": lambda quick: _harness.run_timed(w1_per_op, quick),
    "W2": lambda quick: _harness.run_timed(w2_mlp, quick),
    "W3": lambda quick: _harness.run_timed(w3_expression, quick),
    "W4": w4_linearity.run,
    "W5": w5_memory.run,
    "W6": w6_checkpoint.run,
    "W7": forward_mode.run,
    "W8": lambda quick: _harness.run_timed(w8_mixed, quick),
    "W9": lambda quick: _harness.run_timed(w9_calls, quick),
    "W10": lambda quick: _harness.run_timed(w10_small_mlp, quick),
    "W11": w11_per_sample.run,
}


# --------------------------------------------------------------------------------------------
# Targets: (workload, description, check(result) -> (measured, met) or None when not measured).


def _row(result, impl):
    for row in result.rows:
        if row["impl"] == impl and row.get("status") == "ok":
            return row
    return None


def _ratio_target(impl, key, bound):
    def check(result):
        row = _row(result, impl)
        if row is None or row.get(key) is None:
            return None
        return f"{row[key]:.2f}x", row[key] <= bound

    return check


def _w4_target(result):
    row = _row(result, "xpgrad")
    huge = result.extra.get("huge_chain", {})
    if row is None:
        return None
    done = huge.get("ok") and huge.get("n_ops") == w4_linearity.HUGE
    chain = (
        f"{huge['n_ops']:,} ops in {huge['seconds']:.1f} s"
        if huge.get("ok")
        else f"{huge.get('n_ops', '?'):,}-op chain failed"
    )
    return f"{row['ratio']:.1f}x; {chain}", row["ratio"] <= 11 and bool(done)


def _w5_target(result):
    row, limit = _row(result, "xpgrad"), _row(result, "limit")
    if row is None or limit is None:
        return None
    text = f"{row['peak']:.1f} vs {limit['peak']:.1f} arrays; freed: {row['freed']}"
    return text, row["peak"] <= limit["peak"] + 0.05 and row["freed"] == "yes"


def _w7_target(result):
    """Forward mode beats reverse mode on the tall Jacobian, and the double-VJP path everywhere."""
    rows = {(r["case"], r["impl"]): r for r in result.rows if r.get("status") == "ok"}
    try:
        tall = rows[("tall", "xpgrad reverse-mode")]["ratio"]
        dv = rows[("tall", "xpgrad double-VJP")]["ratio"]
        hv = rows[("hvp", "xpgrad hvp (double-VJP)")]["ratio"]
    except KeyError:
        return None
    return f"reverse {tall:.1f}x, double-VJP {dv:.1f}x, hvp double-VJP {hv:.1f}x", min(tall, dv, hv) > 1


def _w11_target(result):
    """vmap of grad: >= 5x a loop of grad on NumPy, <= 2x torch.func on torch."""
    rows = {r["impl"]: r for r in result.rows if r.get("status") == "ok"}
    try:
        loop = rows["xpgrad loop"]["ratio"]
        vs_torch = rows["xpgrad[torch] vmap"]["vs_torch"]
    except KeyError:
        return None
    return f"loop {loop:.1f}x vmap; xpgrad[torch] {vs_torch:.2f}x torch.func", loop >= 5 and vs_torch <= 2


TARGETS = [
    ("W1", "xpgrad per-op cost <= 0.75x torch.autograd", _ratio_target("xpgrad", "vs_torch", 0.75)),
    ("W2", "xpgrad SGD step <= 1.05x hand-written NumPy", _ratio_target("xpgrad", "vs_limit", 1.05)),
    (
        "W2",
        "xpgrad[torch] SGD step <= 1.15x native torch.autograd",
        _ratio_target("xpgrad[torch]", "vs_torch", 1.15),
    ),
    ("W3", "xpgrad <= 1.0x the limit", _ratio_target("xpgrad", "vs_limit", 1.0)),
    ("W4", "xpgrad 20k/2k <= 11x and a 1,000,000-op chain completes", _w4_target),
    ("W5", "xpgrad peak <= the limit's, intermediates freed during backward", _w5_target),
    ("W8", "xpgrad per-op cost <= 1.0x torch.autograd", _ratio_target("xpgrad", "vs_torch", 1.0)),
    ("W9", "xpgrad per call <= torch.autograd's", _ratio_target("xpgrad", "vs_torch", 1.0)),
    ("W10", "xpgrad SGD step <= 3x hand-written NumPy", _ratio_target("xpgrad", "vs_limit", 3.0)),
    ("W7", "forward mode faster than reverse (m >> n) and than the double-VJP path", _w7_target),
    ("W11", "per-sample grads: vmap >= 5x a loop of grad (NumPy), <= 2x torch.func (torch)", _w11_target),
]


# --------------------------------------------------------------------------------------------


def _command() -> str:
    argv = getattr(sys, "orig_argv", None) or [sys.executable, *sys.argv]
    return " ".join(["python", *argv[1:]])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (about 50 s of CPU)")
    parser.add_argument("--only", default=",".join(WORKLOADS), help="comma-separated subset, e.g. W1,W3")
    parser.add_argument("--json", metavar="PATH", help="save the results as JSON")
    args = parser.parse_args(argv)
    selected = [w.strip().upper() for w in args.only.split(",") if w.strip()]
    unknown = [w for w in selected if w not in WORKLOADS]
    if unknown:
        parser.error(f"unknown workload(s) {', '.join(unknown)}; choose from {', '.join(WORKLOADS)}")

    threads = _harness.pin_threads()
    env = _harness.environment()
    started = time.time()
    print(f"# xpgrad benchmarks{' (--quick)' if args.quick else ''}")
    print(f"command: {_command()}")
    print(
        f"machine: {env['cpu']}, {env['cores']} cores ({env['usable_cores']} usable), Python {env['python']}"
    )
    print("versions: " + ", ".join(f"{k} {v}" for k, v in env["versions"].items()))
    print(f"threads: {threads}")
    if benchmarks.NUMPY_IMPORTED_EARLY:
        print("warning: NumPy was imported before the thread variables were set (threadpoolctl applies)")

    results = {}
    for key in selected:
        t0 = time.time()
        result = WORKLOADS[key](args.quick)
        results[key] = result
        print(f"\n## {result.title}\n")
        print(_harness.table(result))
        for note in result.notes:
            print(f"\n{note}")
        print(f"({time.time() - t0:.0f} s)")

    print("\n## Targets\n")
    print("| workload | target | measured | status |\n|---|---|---|---|")
    targets = []
    for key, text, check in TARGETS:
        if key not in results:
            continue
        outcome = check(results[key])
        measured, status = (
            ("-", "not measured") if outcome is None else (outcome[0], "met" if outcome[1] else "missed")
        )
        targets.append({"workload": key, "target": text, "measured": measured, "status": status})
        print(f"| {key} | {text} | {measured} | {status} |")
    duration = time.time() - started
    print(f"\ntotal: {duration:.0f} s")

    if args.json:
        payload = {
            "command": _command(),
            "quick": args.quick,
            "started": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(started)),
            "duration_s": duration,
            "environment": env,
            "threads": threads,
            "results": {k: r.to_json() for k, r in results.items()},
            "targets": targets,
        }
        with open(args.json, "w") as f:
            json.dump(payload, f, indent=1, default=str)
        print(f"saved {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
