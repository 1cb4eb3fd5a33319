"""Ratios of the best times: the targets' ratios from the fastest of many interleaved repetitions.

``python -m benchmarks.best_of [--only W1,W8] [--reps 40]``

On a loaded machine the medians of ``python -m benchmarks`` wander with the load; the best
(minimum) time of each implementation over many short interleaved repetitions is what the code
costs when it gets a core, and is steadier. Same builders and gradient checks as the main suite;
prints one line of JSON with xpgrad's ratios to torch.autograd and to the hand-written limit.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import benchmarks  # noqa: E402, F401 - pins the threads before NumPy is imported
from benchmarks import _harness, w1_per_op, w3_expression, w8_mixed, w9_calls, w10_small_mlp  # noqa: E402

MODULES = {"W1": w1_per_op, "W3": w3_expression, "W8": w8_mixed, "W9": w9_calls, "W10": w10_small_mlp}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.best_of", description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(MODULES))
    parser.add_argument("--reps", type=int, default=40)
    args = parser.parse_args(argv)
    _harness.pin_threads()
    out = {}
    for key in args.only.split(","):
        module = MODULES[key]
        cfg = dict(module.config(True), reps=args.reps)
        impls = ("limit", "xpgrad", "torch")
        cases, status = _harness.build_all(module.BUILDERS, cfg, impls)
        _harness.check_all(cases, status, module.RTOL, module.ATOL)
        if "xpgrad" not in cases:
            out[key] = status.get("xpgrad")
            continue
        target = cfg["target_s"] / 5 if cfg["target_s"] else 0.0
        samples = _harness.time_interleaved({n: c.step for n, c in cases.items()}, args.reps, target)
        best = {n: min(s) for n, s in samples.items()}
        out[key] = {
            "xpgrad_" + module.UNIT: round(module.per_unit(best["xpgrad"]), 3),
            "vs_torch": round(best["xpgrad"] / best["torch"], 3) if "torch" in best else None,
            "vs_limit": round(best["xpgrad"] / best["limit"], 3),
        }
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
