"""The fuzz loop: generate, compare, triage, reduce, match known differences, summarise."""

from __future__ import annotations

import json
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ._gen import generate
from ._known import find_known_entry, known_for
from ._program import Program
from ._run import compare
from ._script import script
from ._triage import classify, reduce

__all__ = ["Finding", "FuzzRun", "fuzz", "program_seed"]


def program_seed(seed: int, k: int) -> int:
    """The seed of the ``k``-th program of a run started with ``seed``."""
    return seed * 1_000_003 + k


@dataclass
class Finding:
    """One program that differed, triaged and reduced."""

    seed: int
    check: str
    kind: str
    cls: str
    detail: str
    ops: list[str]
    program: Program
    original_size: int
    known: str | None = None
    script: str = ""

    @property
    def key(self):
        return (self.check, self.cls, tuple(sorted(self.ops)))

    def to_json(self):
        return {
            "seed": self.seed,
            "check": self.check,
            "kind": self.kind,
            "class": self.cls,
            "detail": self.detail,
            "ops": self.ops,
            "known": self.known,
            "statements_before_reduction": self.original_size,
            "program": self.program.to_json(),
            "script": self.script,
        }


@dataclass
class FuzzRun:
    backend: str
    programs: int = 0
    seconds: float = 0.0
    findings: list[Finding] = field(default_factory=list)
    crashes: list[str] = field(default_factory=list)  # the fuzzer's own failures
    ops_run: Counter = field(default_factory=Counter)
    known: list = field(default_factory=list)  # the known entries that apply to this backend
    known_hits: Counter = field(default_factory=Counter)  # index in `known` -> differences matched

    @property
    def unused_known(self) -> list:
        """The known entries that explained no difference of this run (stale, or not met yet);
        the benign ones (rounding, explained by the triage itself) are not counted."""
        return [e for n, e in enumerate(self.known) if not self.known_hits[n] and not e.benign]

    @property
    def unexplained(self) -> list[Finding]:
        return [f for f in self.findings if f.known is None]

    def groups(self) -> dict:
        """key (check, class, ops) -> findings, the shortest program first."""
        out: dict = {}
        for f in self.findings:
            out.setdefault(f.key, []).append(f)
        for v in out.values():
            v.sort(key=lambda f: (len(f.program.stmts), f.seed))
        return out

    def summary(self) -> str:
        lines = [
            f"xpgrad fuzz: backend {self.backend}, {self.programs} programs in {self.seconds:.1f} s: "
            f"{len(self.findings)} differences ({len(self.unexplained)} unexplained), "
            f"{len(self.crashes)} fuzzer crashes, "
            f"{len(self.unused_known)} of {sum(not e.benign for e in self.known)} known entries matched nothing",
            "",
            "per class:",
        ]
        by_cls = Counter((f.check, f.cls, "known" if f.known else "UNEXPLAINED") for f in self.findings)
        for (check, cls, status), n in sorted(by_cls.items()):
            lines.append(f"  {n:5d}  {check:8s} {cls}  [{status}]")
        by_op = Counter(op for f in self.findings for op in f.ops)
        lines += ["", "per op (ops of the reduced programs):"]
        for op, n in by_op.most_common():
            lines.append(f"  {n:5d}  {op}  (in {self.ops_run[op]} programs run)")
        lines += ["", "known entries (differences matched):"]
        for n, e in enumerate(self.known):
            flag = "" if self.known_hits[n] or e.benign else "  UNUSED: stale, or not met by this run"
            lines.append(
                f"  {self.known_hits[n]:5d}  {e.check} / {e.cls} / ops {', '.join(e.ops) or '*'}{flag}"
            )
        lines += ["", "reduced reproducers (one per check, class and op set):"]
        for key, fs in sorted(self.groups().items()):
            f = fs[0]
            status = f"known: {f.known}" if f.known else "UNEXPLAINED"
            lines += [
                "",
                f"== {key[0]} / {key[1]} / ops {', '.join(key[2])}: {len(fs)} programs ({status})",
                f"   seed {f.seed}: {f.detail[:300]}",
                f.program.source(),
            ]
        for c in self.crashes:
            lines += ["", f"FUZZER CRASH: {c}"]
        return "\n".join(lines)

    def to_json(self):
        return {
            "backend": self.backend,
            "programs": self.programs,
            "seconds": self.seconds,
            "differences": len(self.findings),
            "unexplained": len(self.unexplained),
            "crashes": self.crashes,
            "known_entries": [
                {
                    "check": e.check,
                    "class": e.cls,
                    "ops": list(e.ops),
                    "reason": e.reason,
                    "matched": self.known_hits[n],
                }
                for n, e in enumerate(self.known)
            ],
            "unused_known": len(self.unused_known),
            "per_class": dict(Counter(f"{f.check}: {f.cls}" for f in self.findings)),
            "per_op": dict(Counter(op for f in self.findings for op in f.ops)),
            "ops_run": dict(self.ops_run),
            "findings": [f.to_json() for f in self.findings],
        }

    def write(self, directory) -> None:
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        (d / f"fuzz-{self.backend}.txt").write_text(self.summary() + "\n")
        (d / f"fuzz-{self.backend}.json").write_text(json.dumps(self.to_json(), indent=1) + "\n")
        rep = d / f"reproducers-{self.backend}"
        rep.mkdir(exist_ok=True)
        for n, (_key, fs) in enumerate(sorted(self.groups().items())):
            (rep / f"repro_{n:03d}.py").write_text(fs[0].script)


def fuzz(
    backend: str,
    programs: int,
    seed: int = 0,
    *,
    dtypes=None,
    max_stmts: int = 10,
    reduce_budget: int = 150,
    max_reductions: int = 100,
    progress=None,
    known=None,
    first: int = 0,
) -> FuzzRun:
    """Run ``programs`` random programs on ``backend`` against torch and triage the differences.

    At most ``max_reductions`` differences are reduced (each with at most ``reduce_budget``
    runs), one per signature, class and op set; the others are reported unreduced. ``first``:
    the index of the first program, so that a long run can be made in parts (programs ``first``
    to ``first + programs - 1`` of the run started with ``seed``).
    """
    from .._suite import resolve_backend

    ns = resolve_backend(backend)
    # array-api-strict refuses what the standard leaves out (x[index_array] = value).
    fancy_setitem = ns.backend.name != "array_api_strict"
    run = FuzzRun(backend, known=known_for(backend, known))
    t0 = time.perf_counter()
    reduced = 0
    seen: set = set()  # (signature, class, ops) of the differences already reduced
    for k in range(first, first + programs):
        s = program_seed(seed, k)
        dtype = None if not dtypes else dtypes[k % len(dtypes)]
        try:
            program = generate(s, dtype, max_stmts=max_stmts, fancy_setitem=fancy_setitem)
            if not hasattr(ns, program.dtype):
                continue
            run.programs += 1
            run.ops_run.update(program.ops)
            diff = compare(program, ns)
            if diff is not None:
                cls, _, _ = classify(program, diff, ns)
                small = program
                seen_key = (diff.signature, cls, tuple(program.ops))
                if cls != "float32 precision" and reduced < max_reductions and seen_key not in seen:
                    seen.add(seen_key)
                    reduced += 1
                    small = reduce(program, diff, ns, budget=reduce_budget)
                    d2 = compare(small, ns)
                    cls2 = None
                    if d2 is not None and d2.signature == diff.signature:
                        cls2, d2, small = classify(small, d2, ns)
                    # The reduced program stands for the original only with the same class: the
                    # reducer may leave the generator's well-defined points (inputs rounded onto
                    # clip's kink, a variance divided by itself), where finite differences mean
                    # nothing; then the original program and its class are reported.
                    if cls2 == cls:
                        diff = d2
                    else:
                        small = program
                f = Finding(s, diff.check, diff.kind, cls, diff.detail, small.ops, small, len(program.stmts))
                entry = find_known_entry(f.check, f.cls, f.ops, backend, run.known, f.detail)
                if entry is not None:
                    f.known = entry.reason
                    run.known_hits[run.known.index(entry)] += 1
                shapes = None
                if diff.torch is not None and diff.torch.outputs is not None:
                    shapes = [(o.shape, o.dtype.name) for o in diff.torch.outputs]
                f.script = script(small, backend, f"{f.check}: {f.cls} (seed {s})", shapes)
                run.findings.append(f)
        except Exception as exc:  # noqa: BLE001 - a crash of the fuzzer itself is reported
            run.crashes.append(f"seed {s}: {type(exc).__name__}: {exc}\n{traceback.format_exc(limit=-4)}")
        if progress is not None:
            progress(k + 1 - first, programs, run)
    run.seconds = time.perf_counter() - t0
    return run
