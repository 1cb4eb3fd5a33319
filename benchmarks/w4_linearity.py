"""W4 linearity: time of a 20,000-op chain divided by a 2,000-op chain; a 1,000,000-op chain.

Uses W1's elementwise chain (``_chain``) on 16 float64 values, forward + backward. A graph engine
that is linear in the number of ops gives a ratio near 10; recursion, quadratic bookkeeping or
garbage-collector work that grows with the live graph shows up above it. The two lengths of every
implementation are timed side by side, round-robin. Then xpgrad runs one chain of 1,000,000 ops
(50,000 with ``--quick``), which must complete (no recursion limit, no quadratic cost).
"""

from __future__ import annotations

import gc
import statistics
import time

from . import _harness
from ._chain import BUILDERS
from ._harness import IMPLS, Result

KEY = "W4"
TITLE = "W4 linearity: 20,000-op chain / 2,000-op chain (16 float64), and a 1,000,000-op xpgrad chain"
SHORT, LONG = 2_000, 20_000
HUGE, HUGE_QUICK = 1_000_000, 50_000
RTOL = 1e-9
ATOL = 1e-12


def _cases(n: int):
    cases, status = _harness.build_all(BUILDERS, {"n_ops": n, "size": 16})
    checks = _harness.check_all(cases, status, RTOL, ATOL)  # also runs each chain once
    return cases, status, checks


def run(quick: bool) -> Result:
    reps = 2 if quick else 7
    short, status, checks = _cases(SHORT)
    long, long_status, long_checks = _cases(LONG)
    for name, s in long_status.items():
        if s != "ok":
            status[name] = f"{s} (at {LONG} ops)"
            short.pop(name, None)
    steps = {}
    for name in short:
        if name in long:
            steps[(name, SHORT)] = short[name].step
            steps[(name, LONG)] = long[name].step
    samples = _harness.time_interleaved(steps, reps, target_s=0.0)

    result = Result(
        KEY,
        TITLE,
        [
            ("impl", "impl", "text"),
            (f"{SHORT} ops (ms)", "short_ms", "num"),
            (f"{LONG} ops (ms)", "long_ms", "num"),
            ("ratio (median)", "ratio", "num"),
            ("ratio min", "ratio_min", "num"),
            ("ratio max", "ratio_max", "num"),
            ("grad check", "grad_check", "text"),
        ],
    )
    for name in IMPLS:
        if name not in status:
            continue
        if (name, LONG) not in samples:
            result.rows.append({"impl": name, "status": status[name]})
            continue
        s, lg = samples[(name, SHORT)], samples[(name, LONG)]
        ratios = [b / a for a, b in zip(s, lg)]  # pairs timed in the same round
        result.rows.append(
            {
                "impl": name,
                "status": "ok",
                "short_ms": statistics.median(s) * 1e3,
                "long_ms": statistics.median(lg) * 1e3,
                "ratio": statistics.median(lg) / statistics.median(s),
                "ratio_min": min(ratios),
                "ratio_max": max(ratios),
                "grad_check": f"{checks.get(name, '-')} / {long_checks.get(name, '-')}",
            }
        )
    del short, long, steps

    huge = HUGE_QUICK if quick else HUGE
    result.extra["huge_chain"] = _huge_chain(huge)
    h = result.extra["huge_chain"]
    result.notes.append(
        f"{reps} interleaved repetitions; ratio (median) = median({LONG}) / median({SHORT}); "
        f"min/max over the per-round ratios."
    )
    result.notes.append(
        f"xpgrad {huge:,}-op chain, forward + backward: "
        + (
            f"completed in {h['seconds']:.1f} s ({h['us_per_op']:.1f} µs/op)"
            if h["ok"]
            else f"FAILED: {h['error']}"
        )
    )
    return result


def _huge_chain(n: int) -> dict:
    gc.collect()
    try:
        case = BUILDERS["xpgrad"]({"n_ops": n, "size": 16})
        t0 = time.perf_counter()
        case.step()
        dt = time.perf_counter() - t0
    except Exception as exc:  # RecursionError, MemoryError, ...
        return {"n_ops": n, "ok": False, "error": f"{type(exc).__name__}: {exc}"}
    finally:
        gc.collect()
    return {"n_ops": n, "ok": True, "seconds": dt, "us_per_op": dt / n * 1e6}
