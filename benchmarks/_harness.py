"""Shared machinery: thread pinning, the implementation registry, interleaved timing, checks, tables.

A *timed* workload module (W1-W3) defines

- ``KEY``, ``TITLE``, ``UNIT`` and ``per_unit(seconds_per_call)``, converting one call's time to
  the reported unit;
- ``config(quick)``: a dict with ``reps`` (round-robin repetitions), ``target_s`` (minimum
  duration of one repetition; fast cases are called several times per repetition) and the
  workload's sizes;
- ``BUILDERS``: ``{implementation: build(cfg) -> Case}``;
- ``RTOL`` / ``ATOL``: tolerance of the gradient check, relative to the largest gradient value.

:func:`run_timed` builds every implementation, checks that all gradients agree with the limit's
(before anything is timed), then times them side by side.
"""

from __future__ import annotations

import gc
import importlib
import math
import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

import numpy as np

#: Implementation names, in report order. "limit" is NumPy with a hand-written backward.
IMPLS = ("limit", "xpgrad", "torch", "autograd", "mygrad", "xpgrad[torch]")
#: Peers that may be missing: a builder failing to import them reports "not installed".
OPTIONAL = {"torch", "autograd", "mygrad"}

_LIMITS = []  # keeps the threadpoolctl limiter alive for the whole process


# --------------------------------------------------------------------------------------------
# Environment.


def pin_threads(with_torch: bool = True) -> dict:
    """Limit every BLAS/OpenMP pool (and torch, unless ``with_torch=False``) to one thread.

    Returns what is in force, for the report.
    """
    info = {
        var: os.environ.get(var) for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
    }
    try:  # first, so that threadpoolctl also sees the pools torch loads
        if not with_torch:
            raise ImportError
        import torch

        torch.set_num_threads(1)
        try:
            torch.set_num_interop_threads(1)
        except RuntimeError:  # already set, or parallel work already started
            pass
        info["torch_threads"] = torch.get_num_threads()
    except ImportError:
        info["torch_threads"] = "not installed" if with_torch else "not imported"
    try:
        from threadpoolctl import threadpool_info, threadpool_limits

        _LIMITS.append(threadpool_limits(limits=1))
        info["threadpoolctl"] = [
            f"{p['internal_api']}:{p.get('prefix', '?')}={p['num_threads']}" for p in threadpool_info()
        ]
    except ImportError:
        info["threadpoolctl"] = "not installed"
    return info


def _version(module: str) -> str:
    try:
        from importlib.metadata import version

        return version(module)
    except Exception:
        try:
            return importlib.import_module(module).__version__
        except ImportError:
            return "not installed"


def environment() -> dict:
    """Machine and library description for the report."""
    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": {
            name: _version(name)
            for name in (
                "xpgrad",
                "numpy",
                "torch",
                "autograd",
                "mygrad",
                "array-api-compat",
                "threadpoolctl",
            )
        },
    }


# --------------------------------------------------------------------------------------------
# Building implementations.


@dataclass
class Case:
    """One implementation of one workload, ready to time."""

    step: Callable[[], object]  # one call: forward + backward (+ parameter update)
    grads: Callable[[], list]  # gradients from the fixed initial state, as NumPy arrays


def small_timing(quick: bool) -> dict:
    """``reps`` and ``target_s`` of a workload on small arrays (one call lasts microseconds)."""
    return {"reps": 7 if quick else 25, "target_s": 0.01 if quick else 0.05}


def xpgrad_backend(backend: str):
    """xpgrad's namespace over NumPy (``backend="numpy"``) or torch, and the function that turns a
    NumPy array into that backend's array (without copying)."""
    import xpgrad

    if backend == "torch":
        import torch

        return xpgrad.namespace(torch), torch.from_numpy
    return xpgrad.namespace(np), np.asarray


def limit_sgd_case(params: list, grads_of: Callable[[], list], lr: float) -> Case:
    """The Case of a hand-written NumPy SGD step: ``grads_of()`` returns fresh gradient arrays of
    ``params`` (scaled and subtracted in place)."""

    def step():
        for p, g in zip(params, grads_of()):
            g *= lr
            p -= g

    return Case(step, grads_of)


def sgd_case(params: list, loss_value: Callable[[], object], no_grad, lr: float) -> Case:
    """The Case of a torch-style SGD step: ``loss_value()`` is the loss of ``params`` (tensors with
    ``.grad``), ``no_grad`` the library's context manager; the step is ``p -= lr * p.grad``."""

    def backward():
        for p in params:
            p.grad = None
        loss_value().backward()

    def step():
        backward()
        with no_grad():
            for p in params:
                p -= lr * p.grad

    def grads():
        backward()
        return [p.grad for p in params]

    return Case(step, grads)


def xpgrad_sgd_case(backend: str, loss: Callable, lr: float, params: list, *data) -> Case:
    """:func:`sgd_case` for xpgrad on ``backend``: ``params`` and ``data`` are NumPy arrays, the
    loss is ``loss(xp, params, *data)``."""
    import xpgrad

    xp, convert = xpgrad_backend(backend)
    params = [xp.asarray(convert(p), requires_grad=True) for p in params]
    data = [xp.asarray(convert(a)) for a in data]
    return sgd_case(params, partial(loss, xp, params, *data), xpgrad.no_grad, lr)


def missing_peer(exc: BaseException) -> str | None:
    """The optional peer whose absence raised ``exc``, or None."""
    if isinstance(exc, ModuleNotFoundError) and exc.name:
        root = exc.name.split(".")[0]
        if root in OPTIONAL:
            return root
    return None


def build_all(builders: dict, cfg: dict, impls=IMPLS):
    """Build each implementation; return ``({name: Case}, {name: status})``.

    A missing optional peer gives status "not installed"; any other error "failed: ..." (the run
    goes on with the others).
    """
    cases = {}
    status = {}
    for name in impls:
        if name not in builders:
            continue
        try:
            cases[name] = builders[name](cfg)
            status[name] = "ok"
        except Exception as exc:
            peer = missing_peer(exc)
            status[name] = "not installed" if peer else f"failed: {type(exc).__name__}: {exc}"
    return cases, status


def to_numpy(a) -> np.ndarray:
    """A NumPy copy of a gradient from any implementation."""
    if hasattr(a, "detach"):  # torch tensor or xpgrad Tensor
        a = a.detach()
    if hasattr(a, "data") and type(a).__module__.startswith("xpgrad"):
        a = a.data
    if type(a).__module__.startswith("torch"):
        a = a.cpu().numpy()
    return np.array(a, dtype=np.float64)


def compare_grads(ref: list, other: list, rtol: float, atol: float) -> tuple[bool, float]:
    """Whether two lists of gradients agree; and the largest error relative to the reference scale."""
    worst = 0.0
    ok = len(ref) == len(other)
    for r, o in zip(ref, other):
        r = to_numpy(r)
        o = to_numpy(o)
        if r.shape != o.shape:
            return False, math.inf
        scale = float(np.max(np.abs(r))) or 1.0
        err = float(np.max(np.abs(r - o))) / scale if r.size else 0.0
        worst = max(worst, err)
        ok = ok and bool(np.allclose(o, r, rtol=rtol, atol=atol * scale))
    return ok, worst


def check_all(cases: dict, status: dict, rtol: float, atol: float, ref: str = "limit") -> dict:
    """Compute every case's gradients and compare them with ``ref``'s; update ``status``.

    Returns ``{name: "ok (max rel err 1e-16)" | "MISMATCH ..." | "-"}``. A mismatching
    implementation is dropped from ``cases`` (it is not timed).
    """
    grads = {}
    for name, case in list(cases.items()):
        try:
            grads[name] = case.grads()
        except Exception as exc:
            status[name] = f"failed: {type(exc).__name__}: {exc}"
            del cases[name]
    checks = {}
    for name in list(cases):
        if name == ref or ref not in grads:
            checks[name] = "reference" if name == ref else "no reference"
            continue
        ok, err = compare_grads(grads[ref], grads[name], rtol, atol)
        checks[name] = f"ok ({err:.1e})" if ok else f"MISMATCH ({err:.1e})"
        if not ok:
            status[name] = "gradient mismatch"
            del cases[name]
    return checks


# --------------------------------------------------------------------------------------------
# Timing.


def _calibrate(step, target_s: float) -> int:
    """How many calls make one repetition last at least ``target_s``."""
    t0 = time.perf_counter()
    step()
    dt = time.perf_counter() - t0
    if dt >= target_s:
        return 1
    n = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(n):
            step()
        dt = time.perf_counter() - t0
        if dt >= target_s / 4 or n >= 1 << 20:
            return max(1, math.ceil(n * target_s / max(dt, 1e-9)))
        n *= 4


def time_interleaved(steps: dict, reps: int, target_s: float) -> dict:
    """Time each ``step()`` ``reps`` times, round-robin, rotating the starting implementation.

    With ``target_s > 0`` each repetition calls a step as many times as it takes to last that
    long (the calibration doubles as warm-up); otherwise once (the gradient check has warmed up).

    Returns ``{name: [seconds per call, one per repetition]}``. Garbage is collected between
    repetitions (outside the timed region); the collector stays enabled while timing, because
    collections triggered by an implementation's allocations are part of its cost.
    """
    numbers = {name: _calibrate(step, target_s) if target_s > 0 else 1 for name, step in steps.items()}
    names = list(steps)
    samples = {name: [] for name in names}
    for r in range(reps):
        k = r % len(names)
        for name in names[k:] + names[:k]:
            step = steps[name]
            n = numbers[name]
            gc.collect()
            t0 = time.perf_counter()
            for _ in range(n):
                step()
            samples[name].append((time.perf_counter() - t0) / n)
    return samples


def timed_columns(unit: str) -> list:
    return [
        ("impl", "impl", "text"),
        (f"median ({unit})", "median", "num"),
        ("min", "min", "num"),
        ("max", "max", "num"),
        ("vs limit", "vs_limit", "ratio"),
        ("vs torch", "vs_torch", "ratio"),
        ("grad check (max rel err)", "grad_check", "text"),
    ]


@dataclass
class Result:
    """One workload's results: a table plus notes.

    ``columns``: ``(header, row key, kind)`` with kind "text", "num" or "ratio"; ``rows``: dicts.
    """

    key: str
    title: str
    columns: list
    rows: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    extra: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return {
            "key": self.key,
            "title": self.title,
            "columns": self.columns,
            "rows": self.rows,
            "notes": self.notes,
            **self.extra,
        }


def ratio(a, b):
    if a is None or b is None or not b:
        return None
    return a / b


def run_timed(module, quick: bool, impls=IMPLS) -> Result:
    """Build, check and time a timed workload module (see the module docstring)."""
    cfg = module.config(quick)
    cases, status = build_all(module.BUILDERS, cfg, impls)
    checks = check_all(cases, status, module.RTOL, module.ATOL)
    samples = time_interleaved({n: c.step for n, c in cases.items()}, cfg["reps"], cfg["target_s"])
    unit = module.UNIT
    stats = {}
    for name, s in samples.items():
        vals = [module.per_unit(v) for v in s]
        stats[name] = (statistics.median(vals), min(vals), max(vals))
    limit = stats.get("limit", (None,))[0]
    torch_med = stats.get("torch", (None,))[0]
    result = Result(
        module.KEY,
        module.TITLE,
        timed_columns(unit),
        extra={"config": {k: v for k, v in cfg.items()}, "unit": unit},
    )
    for name in impls:
        if name not in status:
            continue
        if name in stats:
            med, lo, hi = stats[name]
            result.rows.append(
                {
                    "impl": name,
                    "status": status[name],
                    "median": med,
                    "min": lo,
                    "max": hi,
                    "vs_limit": ratio(med, limit),
                    "vs_torch": ratio(med, torch_med),
                    "grad_check": checks.get(name, "-"),
                    "samples": [module.per_unit(v) for v in samples[name]],
                }
            )
        else:
            result.rows.append({"impl": name, "status": status[name]})
    result.notes.append(f"{cfg['reps']} interleaved repetitions; config: {cfg}")
    return result


def checked_columns(ratio_header: str, extra=(), lead=()) -> list:
    """The columns of :func:`checked_rows`' rows: the ``lead`` text keys, the implementation, median
    and min (ms), the ratio to the base (``ratio_header``), the ``extra`` columns, the error."""
    return [
        *((key, key, "text") for key in lead),
        ("impl", "impl", "text"),
        ("median (ms)", "median", "num"),
        ("min", "min", "num"),
        (ratio_header, "ratio", "ratio"),
        *extra,
        ("max rel err", "check", "text"),
    ]


def checked_rows(
    steps: dict, results: dict, ref: str, base: str, reps: int, vs_ref: str | None = None
) -> list:
    """Check each step's result against ``ref``'s, then time the steps that match side by side.

    ``results``: ``{name: NumPy array}``, each step's result. A step matches when its largest
    error, relative to the largest entry of ``ref``'s result, is under 1e-9. Returns one row per
    step: ``impl`` and ``check`` (that error), then, when it matches, ``status`` "ok", ``median``,
    ``min`` and ``samples`` in ms and ``ratio`` to ``base``'s median (and, with ``vs_ref``, the
    ratio to ``ref``'s median under that key); otherwise the status "MISMATCH (...)".
    """
    scale = float(np.max(np.abs(results[ref]))) or 1.0
    checks = {name: float(np.max(np.abs(r - results[ref]))) / scale for name, r in results.items()}
    samples = time_interleaved({n: s for n, s in steps.items() if checks[n] < 1e-9}, reps, target_s=0.2)
    medians = {name: statistics.median(s) for name, s in samples.items()}
    rows = []
    for name in steps:
        row = {"impl": name, "check": f"{checks[name]:.0e}"}
        if name in samples:
            ms = [t * 1e3 for t in samples[name]]
            row.update(status="ok", median=statistics.median(ms), min=min(ms), samples=ms)
            row["ratio"] = ratio(medians[name], medians.get(base))
            if vs_ref is not None:
                row[vs_ref] = ratio(medians[name], medians.get(ref))
        else:
            row["status"] = f"MISMATCH ({checks[name]:.1e})"
        rows.append(row)
    return rows


# --------------------------------------------------------------------------------------------
# Printing.


def fmt(v, kind="num") -> str:
    if v is None:
        return "-"
    if kind == "ratio":
        return f"{v:.2f}x"
    if isinstance(v, float):
        if v == 0:
            return "0"
        return f"{v:.0f}" if abs(v) >= 100 else f"{v:.3g}"
    return str(v)


def table(result: Result) -> str:
    """A Markdown table of ``result``; a row with status other than "ok" shows only its status."""
    headers = [c[0] for c in result.columns]
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    for row in result.rows:
        if row.get("status", "ok") != "ok":
            cells = [row["impl"], row["status"]] + [""] * (len(headers) - 2)
        else:
            cells = [fmt(row.get(key), kind) for _, key, kind in result.columns]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def print_result(result: Result) -> None:
    """Print ``result``'s table and notes (a workload module's ``main``)."""
    print(table(result))
    for note in result.notes:
        print(note)
