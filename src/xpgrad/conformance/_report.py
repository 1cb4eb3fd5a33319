"""The conformance matrix of a run (function x dtype x check) as text, Markdown, JSON and HTML.

One cell holds every sample of a function at one dtype and check: ``pass`` when all match torch,
``fd`` when some were checked against finite differences because torch has no derivative there
(the reason is listed), ``xfail`` when some are known differences (the reason is a numbered
footnote), ``fail`` with the largest error when any fails, ``xpass`` when a known difference no
longer shows (every known difference is strict: the run fails, so the entry gets removed),
``skip`` when a check cannot run here (a dtype the backend lacks, a library that is not
installed: the reason and the install command are listed). A failing sample is listed with its
seed. The summary line counts each outcome apart.
"""

from __future__ import annotations

import html
import importlib
import json
import re
import shlex
from dataclasses import asdict, dataclass, field

from xpgrad.testing import DEFAULT_TOLERANCES, op_db
from xpgrad.testing._runner import safe_id

__all__ = ["Report", "cause_of", "is_failure", "rerun_command"]

SUMMARY_LIMIT = 100_000  # bytes: summary.md fits a CI step summary (GitHub's limit: 1 MiB)
_MAX_CAUSES = 150  # cause groups listed in summary.md

_DTYPE_ORDER = ("float32", "float64", "complex64", "complex128", "int64", "bool")
# Forward mode (issue 14): "jvp" the tangents of the outputs, "fwd_rev" forward-over-reverse.
_CHECK_LABEL = {"forward": "fwd", "first": "1st", "second": "2nd", "jvp": "jvp", "fwd_rev": "f/r"}
_MAX_LINES = 40  # failures listed on stdout
# The outcome a cell shows: the most telling of its samples'. "fd": checked against finite
# differences (torch has no derivative); "norule": xpgrad has no forward-mode rule (a failure).
_STATUS_RANK = {"skip": 0, "pass": 1, "fd": 2, "xfail": 3, "norule": 4, "xpass": 5, "fail": 6}
_STATUSES = ("pass", "fd", "xfail", "fail", "xpass", "norule", "skip")
FD_OUTCOME = "checked against finite differences (torch has no derivative)"


def is_failure(r) -> bool:
    """A result that fails the run: a failure, a check without a forward-mode rule, or a known
    difference that no longer shows (every known difference is strict)."""
    return r.status in ("fail", "norule", "xpass")


def _status(r) -> str:
    return r.status


def _by_reason(results, status, attr) -> dict[str, list]:
    """{reason: results} for the results of ``status``, reasons in order of appearance."""
    out: dict[str, list] = {}
    for r in results:
        if r.status == status:
            out.setdefault(getattr(r, attr) or "", []).append(r)
    return out


_EXC = re.compile(r"^([A-Za-z_][\w.]*(?:Error|Exception|Warning|Interrupt)): ?(.*)$")


def cause_of(r) -> str:
    """What a failed check died of, with its particulars (numbers, quoted names, shapes) blanked
    so that one cause across functions, samples and dtypes is one line."""
    if r.status == "norule":
        return "no forward-mode rule"
    if r.status == "xpass":
        return "known difference no longer shows: remove its entry"
    first = (r.message or "").strip().splitlines()[0] if r.message else ""
    if first.startswith("against finite differences"):
        first = first.split("): ", 1)[-1]
    m = _EXC.match(first)
    if m is None:
        kind, text = "mismatch", "values or gradients differ beyond the tolerances"
        if r.max_abs_error is None:
            kind, text = "mismatch", first
    else:
        kind, text = m.group(1), m.group(2)
    text = re.sub(r"'[^']*'|\"[^\"]*\"", "'…'", text)
    text = re.sub(r"\([^()]*\)", "(…)", text)
    text = re.sub(r"-?\d+(\.\d+)?(e[-+]?\d+)?", "N", text)
    return f"{kind}: {text}"[:200]


def _raised_in(r) -> str:
    """Where a failed check's exception was raised: "backend" (in a library, not xpgrad),
    "xpgrad", or "" (a mismatch, or no traceback)."""
    files = re.findall(r'File "([^"]+)"', r.message or "")
    if not files:
        return ""
    last = files[-1].replace("\\", "/")
    return "xpgrad" if "/xpgrad/" in last else "backend"


def rerun_command(r, backend_spec: str) -> str:
    """A command that reruns the one check ``r`` (pytest, selected by its id)."""
    test = "test_forward" if r.check in ("jvp", "fwd_rev") else "test_gradients"
    case = safe_id(f"{r.op}-{r.dtype}-{r.sample}-{r.check}")
    return (
        f"pytest --pyargs xpgrad.conformance.{test} --xpgrad-backend={shlex.quote(backend_spec)} "
        f"-k {shlex.quote(case)}"
    )


def _functions(results) -> str:
    names = list(dict.fromkeys(r.op for r in results))
    return ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")


@dataclass
class Cell:
    results: list = field(default_factory=list)

    @property
    def status(self) -> str:
        return max((_status(r) for r in self.results), key=_STATUS_RANK.__getitem__, default="skip")

    def count(self, status) -> int:
        return sum(_status(r) == status for r in self.results)

    @property
    def reasons(self) -> list[str]:
        return list(dict.fromkeys(r.xfail_reason for r in self.results if _status(r) == "xfail"))

    @property
    def failures(self) -> list:
        return [r for r in self.results if is_failure(r)]

    @property
    def largest_error(self) -> float | None:
        errs = [r.max_abs_error for r in self.failures if r.max_abs_error is not None]
        return max(errs) if errs else None


def _categories() -> dict[str, str]:
    """function name -> its sample module (its spec category)."""
    from xpgrad.testing.samples import sample_modules  # on call: the report alone needs it

    out = {}
    for mod in sample_modules():
        m = importlib.import_module(f"xpgrad.testing.samples.{mod}")
        for op in getattr(m, "OPS", ()):
            out.setdefault(op.name, mod)
    return out


def _versions(ns) -> dict[str, str]:
    import torch

    import xpgrad  # for its version; torch above is optional and imported on call too

    versions = {"xpgrad": getattr(xpgrad, "__version__", "?"), "torch": torch.__version__}
    raw = ns._xp
    name = getattr(raw, "__name__", "")
    try:
        mod = importlib.import_module(name.split(".")[0]) if name else None
    except ImportError:  # a namespace a factory made (--backend module:factory(args)) may name none
        mod = None
    backend_version = getattr(raw, "__version__", None) or getattr(mod, "__version__", None)
    if name.startswith("array_api_compat."):
        wrapped = importlib.import_module(raw.__name__.split(".", 1)[1])
        backend_version = getattr(wrapped, "__version__", backend_version)
    versions[ns.backend.name] = str(backend_version or "?")
    return versions


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.1e}"


class Report:
    """The results of one run, arranged as a matrix; ``text()``, ``markdown()``, ``json()``,
    ``html()`` render it."""

    def __init__(self, results, ns, *, elapsed: float, args: dict | None = None):
        self.results = list(results)
        self.backend = ns.backend.name
        self.backend_module = getattr(ns._xp, "__name__", str(ns._xp))
        self.versions = _versions(ns)
        self.elapsed = elapsed
        self.args = args or {}
        cats = _categories()
        self.rows: dict[str, dict[tuple[str, str], Cell]] = {}
        self.category = {}
        for r in self.results:
            self.rows.setdefault(r.op, {}).setdefault((r.dtype, r.check), Cell()).results.append(r)
            self.category[r.op] = cats.get(r.op, "")
        present = {r.dtype for r in self.results}
        self.dtypes = [d for d in _DTYPE_ORDER if d in present] + sorted(present - set(_DTYPE_ORDER))
        present_checks = {r.check for r in self.results}
        self.checks = [c for c in _CHECK_LABEL if c in present_checks]
        # The checks each dtype has (integer and boolean dtypes: forward only).
        have = {(r.dtype, r.check) for r in self.results}
        self.columns = {d: [c for c in self.checks if (d, c) in have] for d in self.dtypes}
        # Footnotes: one number per distinct xfail reason, in row order.
        self.notes: dict[str, int] = {}
        for cells in self.rows.values():
            for cell in cells.values():
                for reason in cell.reasons:
                    self.notes.setdefault(reason, len(self.notes) + 1)
        self.counts = {s: 0 for s in _STATUSES}
        for r in self.results:
            self.counts[r.status] += 1
        self.failures = [r for r in self.results if is_failure(r)]
        profile = getattr(ns.backend, "profile", None)
        self.profile = profile
        # Failures of a family whose extension the backend lacks: one line, not one per check.
        absent = [e for e in ("linalg", "fft") if profile is not None and e not in profile.extensions]
        self.absent_extensions = {
            e: [r for r in self.failures if self.category.get(r.op) == e] for e in absent
        }
        in_absent = {id(r) for rs in self.absent_extensions.values() for r in rs}
        self.absent_dtypes = sorted(
            {r.dtype for r in self.results if r.status == "skip" and r.message.endswith(f"has no {r.dtype}")}
        )
        # The other failures by cause and function family: {(family, cause): results}.
        self.causes: dict[tuple[str, str], list] = {}
        for r in self.failures:
            if id(r) not in in_absent:
                self.causes.setdefault((self.category.get(r.op, ""), cause_of(r)), []).append(r)
        # Checks against finite differences, and checks that could not run, by reason.
        self.fd_reasons = _by_reason(self.results, "fd", "reference_reason")
        self.skip_reasons = _by_reason(self.results, "skip", "message")
        self.tolerance_overrides = {
            op.name: {d: [op.rtol.get(d, DEFAULT_TOLERANCES[d][0]), op.atol.get(d, DEFAULT_TOLERANCES[d][1])]
                      for d in sorted(set(op.rtol) | set(op.atol))}
            for op in op_db() if (op.rtol or op.atol) and op.name in self.rows
        }  # fmt: skip

    @property
    def ok(self) -> bool:
        return not self.failures

    def summary(self) -> str:
        c = self.counts
        parts = [
            f"{c['pass']} passed",
            f"{c['fd']} {FD_OUTCOME}",
            f"{c['xfail']} known differences (xfail)",
            f"{c['fail']} failed",
        ]
        if c["xpass"]:
            parts.append(f"{c['xpass']} xpassed (strict: remove their known-difference entries)")
        if c["norule"]:
            parts.append(f"{c['norule']} without a forward-mode rule")
        parts.append(f"{c['skip']} skipped" + (" (reasons below)" if c["skip"] else ""))
        return ", ".join(parts) + f" in {self.elapsed:.1f} s"

    def outcome_sections(self) -> list[tuple[str, list[tuple[str, list]]]]:
        """(title, [(reason, results)]) for the outcomes listed by reason: checks against finite
        differences and skipped checks."""
        return [
            (f"Checked against finite differences: torch has no derivative ({self.counts['fd']})",
             list(self.fd_reasons.items())),
            (f"Skipped: could not run here ({self.counts['skip']})", list(self.skip_reasons.items())),
        ]  # fmt: skip

    def title(self) -> str:
        v = self.versions
        return (
            f"xpgrad {v['xpgrad']} gradient conformance against torch {v['torch']}: backend "
            f"{self.backend} ({self.backend_module} {v.get(self.backend, '?')})"
        )

    def tolerance_lines(self) -> list[str]:
        return [f"{d}: rtol {r:g}, atol {a:g}" for d, (r, a) in DEFAULT_TOLERANCES.items()]

    def _cell_text(self, cell: Cell | None) -> str:
        if cell is None:
            return ""
        s = cell.status
        if s == "pass":
            return "ok"
        if s == "fd":
            return "fd"
        if s == "xfail":
            nums = [self.notes[x] for x in cell.reasons]
            return f"x{nums[0]}" + ("+" if len(nums) > 1 else "")
        if s == "fail":
            e = cell.largest_error
            return "F:err" if e is None else f"F{e:.0e}"
        if s == "xpass":
            return "XPASS"
        if s == "norule":
            return "norule"
        return "skip"

    # -- text (stdout) ---------------------------------------------------------------------------

    def text(self) -> str:
        width = max([len(n) for n in self.rows] + [8]) + 2
        w = 7
        lines = [
            self.title(),
            "tolerances |xpgrad - torch| <= atol + rtol |torch|: " + "; ".join(self.tolerance_lines()),
            "",
        ]
        head1 = " " * width + "".join(d.ljust(w * len(self.columns[d]) + 1) for d in self.dtypes)
        head2 = "function".ljust(width) + "".join(
            "".join(_CHECK_LABEL[c].ljust(w) for c in self.columns[d]) + " " for d in self.dtypes
        )
        lines += [head1.rstrip(), head2.rstrip()]
        for name, cells in self.rows.items():
            row = name.ljust(width)
            for d in self.dtypes:
                for c in self.columns[d]:
                    row += (self._cell_text(cells.get((d, c))) or ".").ljust(w)
                row += " "
            lines.append(row.rstrip())
        lines += ["", "ok: every sample matches torch; fd: torch has no derivative, checked against finite "
                  "differences; xN: known difference, see note N; F<err>: fails (largest absolute error, or "
                  "F:err for an exception); norule: no forward-mode rule; skip: could not run here (reason "
                  "below); '.': not applicable. jvp: forward-mode tangents; f/r: forward-over-reverse"]  # fmt: skip
        if self.notes:
            lines.append("")
            lines.append("Known differences:")
            for reason, n in self.notes.items():
                lines.append(f"  [{n}] {reason}")
        for title, groups in self.outcome_sections():
            if groups:
                lines += ["", title + ":"]
                lines += [f"  {len(rs)} checks of {_functions(rs)}: {reason}" for reason, rs in groups]
        if self.failures:
            lines.append("")
            lines.append("Failures:")
            for r in self.failures[:_MAX_LINES]:
                lines.append("  " + self._failure_line(r))
            if len(self.failures) > _MAX_LINES:
                lines.append(
                    f"  ... and {len(self.failures) - _MAX_LINES} more (all of them in --report DIR)"
                )
        lines += ["", self.summary()]
        return "\n".join(lines)

    @staticmethod
    def _failure_line(r) -> str:
        if r.status == "xpass":
            return (
                f"XPASS {r.op} [{r.sample}, {r.dtype}] {r.check}: the known difference no longer shows; "
                f"remove its entry ({r.xfail_reason})"
            )
        first = (r.message or "").strip().splitlines()[0] if r.message else ""
        return (
            f"FAIL {r.op} [{r.sample}, {r.dtype}] {r.check}: max abs error {_fmt(r.max_abs_error)}, "
            f"max rel error {_fmt(r.max_rel_error)}, seed {r.seed}: {first}"
        )

    # -- Markdown ----------------------------------------------------------------------------------

    def markdown(self) -> str:
        out = [f"# {self.title()}", "", f"**{self.summary()}**", ""]
        out += ["Tolerances (an element passes if `|xpgrad - torch| <= atol + rtol * |torch|`; "
                "non-finite values must match exactly):", ""]  # fmt: skip
        out += ["| dtype | rtol | atol |", "|---|---|---|"]
        out += [f"| {d} | {r:g} | {a:g} |" for d, (r, a) in DEFAULT_TOLERANCES.items()]
        if self.tolerance_overrides:
            out += ["", "Per-function overrides: " + "; ".join(
                f"`{n}` " + ", ".join(f"{d} {r:g}/{a:g}" for d, (r, a) in t.items())
                for n, t in self.tolerance_overrides.items()
            )]  # fmt: skip
        out += ["", "Cells: ✅ every sample matches torch; 🧮 torch has no derivative: checked against finite "
                "differences; ⚠️ *n* known difference (note *n*); ❌ fails (largest absolute error); 🚧 no "
                "forward-mode rule; ⏭️ skipped (reason below); blank: not applicable. Checks: fwd values, "
                "1st VJPs, 2nd double backward, jvp forward-mode tangents, f/r forward-over-reverse.",
                ""]  # fmt: skip
        cols = [f"{d} {_CHECK_LABEL[c]}" for d in self.dtypes for c in self.columns[d]]
        out += ["| function | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
        for name, cells in self.rows.items():
            row = []
            for d in self.dtypes:
                for c in self.columns[d]:
                    row.append(self._md_cell(cells.get((d, c))))
            out.append(f"| `{name}` | " + " | ".join(row) + " |")
        if self.notes:
            out += ["", "## Known differences", ""]
            out += [f"{n}. {reason}" for reason, n in self.notes.items()]
        for title, groups in self.outcome_sections():
            if groups:
                out += ["", f"## {title}", "", "| checks | functions | reason |", "|---|---|---|"]
                out += [
                    f"| {len(rs)} | {_functions(rs)} | {reason.replace('|', '/')} |" for reason, rs in groups
                ]
        rows = self.cause_lines()
        if rows:
            spec = self.args.get("backend") or self.backend_module
            out += ["", "## Failures by cause", "", "| checks | family | cause | raised in | functions | rerun one |",
                    "|---|---|---|---|---|---|"]  # fmt: skip
            out += [
                f"| {n} | {fam} | {cause.replace('|', '/')} | {where} | {funcs} | `{rerun_command(ex, spec)}` |"
                for n, fam, cause, where, funcs, ex in rows
            ]
            for _n, fam, cause, _where, _funcs, ex in rows[:_MAX_CAUSES]:
                out += ["", f"<details><summary>{fam}: {html.escape(cause)} — example {ex.op} [{ex.sample}, "
                        f"{ex.dtype}] {ex.check}</summary>", "", "```text", (ex.message or "").strip(), "```",
                        "", "</details>"]  # fmt: skip
        for ext, rs in self.absent_extensions.items():
            out += ["", f"Extension `{ext}` absent: {len(rs)} failed checks ({_functions(rs)})."]
        if self.failures:
            out += ["", "## Failures", "", "| function | sample | dtype | check | max abs | max rel | seed | message |",
                    "|---|---|---|---|---|---|---|---|"]  # fmt: skip
            for r in self.failures:
                msg = (r.message or f"XPASS: {r.xfail_reason}").strip().splitlines()[0].replace("|", "\\|")
                out.append(
                    f"| `{r.op}` | `{r.sample}` | {r.dtype} | {r.check} | {_fmt(r.max_abs_error)} | "
                    f"{_fmt(r.max_rel_error)} | {r.seed} | {msg} |"
                )
        return "\n".join(out) + "\n"

    def _md_cell(self, cell) -> str:
        if cell is None:
            return ""
        s = cell.status
        if s == "pass":
            return "✅"
        if s == "fd":
            return "🧮"
        if s == "xfail":
            return "⚠️ " + ",".join(str(self.notes[x]) for x in cell.reasons)
        if s == "fail":
            e = cell.largest_error
            return "❌ " + ("error" if e is None else f"{e:.1e}")
        if s == "xpass":
            return "❌ XPASS"
        if s == "norule":
            return "🚧 no rule"
        return "⏭️"

    # -- the short summary for CI (summary.md) ----------------------------------------------------

    def cause_lines(self) -> list[tuple[int, str, str, str, str, object]]:
        """(checks, family, cause, raised in, functions, example) per cause, most checks first."""
        rows = []
        for (family, cause), rs in self.causes.items():
            places = {_raised_in(r) for r in rs} - {""}
            where = places.pop() if len(places) == 1 else ("backend, xpgrad" if places else "")
            rows.append((len(rs), family, cause, where, _functions(rs), rs[0]))
        return sorted(rows, key=lambda row: -row[0])

    def summary_markdown(self) -> str:
        """A short report (under 100 KB whatever the run) for a CI step summary: the counts,
        what the backend lacks (once), the failures grouped by cause, each with a command
        rerunning one of its checks. The full report is report.md / report.html beside it."""
        spec = self.args.get("backend") or self.backend_module
        out = [f"# {self.title()}", "", f"**{self.summary()}**", ""]
        if self.profile is not None:
            p = self.profile
            out.append(
                f"Backend profile: mutable={p.mutable}, lazy={p.lazy}, chunked={p.chunked}, extensions: "
                f"{', '.join(sorted(p.extensions)) or 'none'}."
            )
        for ext, rs in self.absent_extensions.items():
            out.append(
                f"- Extension `{ext}` absent: {len(rs)} failed checks of {len({r.op for r in rs})} functions not listed below."
            )
        if self.absent_dtypes:
            out.append(f"- Dtypes absent (their checks skipped): {', '.join(self.absent_dtypes)}.")
        rows = self.cause_lines()
        if rows:
            out += ["", f"## Failures by cause ({len(self.failures)} checks, {len(rows)} causes)", "",
                    "| checks | family | cause | raised in | functions | rerun one |", "|---|---|---|---|---|---|"]  # fmt: skip
            size = sum(len(line) + 1 for line in out)
            for k, (n, family, cause, where, funcs, example) in enumerate(rows):
                line = (
                    f"| {n} | {family} | {cause.replace('|', '/')} | {where} | {funcs} | "
                    f"`{rerun_command(example, spec)}` |"
                )
                if k >= _MAX_CAUSES or size + len(line) > SUMMARY_LIMIT - 2000:
                    out.append(f"| … | | {len(rows) - k} more causes: see report.md | | | |")
                    break
                out.append(line)
                size += len(line) + 1
        out += ["", "Full report: report.md, report.html and report.json beside this file."]
        return "\n".join(out) + "\n"

    # -- JSON --------------------------------------------------------------------------------------

    def json(self) -> str:
        doc = {
            "title": self.title(),
            "backend": self.backend,
            "backend_module": self.backend_module,
            "versions": self.versions,
            "arguments": self.args,
            "elapsed_s": round(self.elapsed, 2),
            "counts": self.counts,
            "ok": self.ok,
            "causes": [
                {
                    "checks": n,
                    "family": fam,
                    "cause": cause,
                    "raised_in": where,
                    "functions": funcs,
                    "rerun": rerun_command(ex, self.args.get("backend") or self.backend_module),
                }
                for n, fam, cause, where, funcs, ex in self.cause_lines()
            ],
            "absent_extensions": {e: len(rs) for e, rs in self.absent_extensions.items()},
            "absent_dtypes": self.absent_dtypes,
            "tolerances": {d: {"rtol": r, "atol": a} for d, (r, a) in DEFAULT_TOLERANCES.items()},
            "tolerance_overrides": self.tolerance_overrides,
            "known_differences": {str(n): reason for reason, n in self.notes.items()},
            "outcomes": {
                "pass": "matches torch",
                "fd": FD_OUTCOME,
                "xfail": "a known difference (strict: its entry is removed when it no longer shows)",
                "fail": "differs from the reference",
                "xpass": "a known difference that no longer shows (fails the run)",
                "norule": "no forward-mode rule (fails the run)",
                "skip": "could not run here (a dtype the backend lacks, a library that is not installed)",
            },
            "finite_differences": [
                {"reason": reason, "checks": len(rs), "functions": list(dict.fromkeys(r.op for r in rs))}
                for reason, rs in self.fd_reasons.items()
            ],
            "skipped": [
                {"reason": reason, "checks": len(rs), "functions": list(dict.fromkeys(r.op for r in rs))}
                for reason, rs in self.skip_reasons.items()
            ],
            "matrix": {
                name: {
                    f"{d}/{c}": {
                        "status": cell.status,
                        "samples": len(cell.results),
                        "notes": [self.notes[x] for x in cell.reasons],
                        "largest_error": cell.largest_error,
                    }
                    for (d, c), cell in cells.items()
                }
                for name, cells in self.rows.items()
            },
            "results": [asdict(r) for r in self.results],
        }
        return json.dumps(doc, indent=1)

    # -- HTML --------------------------------------------------------------------------------------

    def html(self) -> str:
        e = html.escape
        c = self.counts
        badge = "ok" if self.ok else "bad"
        parts = [
            "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
            f"<title>{e(self.title())}</title><style>{_CSS}</style></head><body>",
            f"<h1>{e(self.title())}</h1>",
            f"<p class='summary {badge}'>{e(self.summary())}</p>",
            "<div class='meta'><table class='tol'><tr><th>dtype</th><th>rtol</th><th>atol</th></tr>",
        ]
        for d, (r, a) in DEFAULT_TOLERANCES.items():
            parts.append(f"<tr><td>{d}</td><td>{r:g}</td><td>{a:g}</td></tr>")
        parts.append("</table><div class='legend'>")
        parts.append(
            "<p>An element passes if |xpgrad − torch| ≤ atol + rtol·|torch| (non-finite values must match "
            "exactly). <b>fwd</b>: values; <b>1st</b>: vector-Jacobian products with a seeded random "
            "cotangent; <b>2nd</b>: gradients of ⟨grad, w⟩ with create_graph; <b>jvp</b>: forward-mode "
            "tangents with a seeded random tangent; <b>f/r</b>: forward-over-reverse (the tangent of a "
            "VJP computed in a dual level).</p><p>"
            "<span class='c pass'>ok</span> every sample matches torch "
            "<span class='c fd'>fd</span> torch has no derivative: checked against finite differences "
            "<span class='c xfail'>xN</span> known difference (note N; hover for details) "
            "<span class='c fail'>F</span> fails (largest absolute error) "
            "<span class='c xpass'>XPASS</span> a known difference no longer shows "
            "<span class='c norule'>norule</span> no forward-mode rule "
            "<span class='c skip'>skip</span> could not run here (reason below) "
            "<span class='c na'></span> not applicable</p>"
        )
        if self.tolerance_overrides:
            over = "; ".join(
                f"<code>{e(n)}</code> " + ", ".join(f"{d} {r:g}/{a:g}" for d, (r, a) in t.items())
                for n, t in self.tolerance_overrides.items()
            )
            parts.append(
                f"<details><summary>Per-function tolerance overrides (rtol/atol)</summary>{over}</details>"
            )
        parts.append(
            f"<p class='counts'><span class='c pass'>{c['pass']} pass</span> "
            f"<span class='c fd'>{c['fd']} checked against finite differences</span> "
            f"<span class='c xfail'>{c['xfail']} xfail</span> <span class='c fail'>{c['fail']} fail</span> "
            f"<span class='c xpass'>{c['xpass']} xpass</span> "
            f"<span class='c norule'>{c['norule']} no forward rule</span> "
            f"<span class='c skip'>{c['skip']} skipped</span></p></div></div>"
        )
        failing = list(dict.fromkeys(r.op for r in self.failures))
        if failing:
            links = ", ".join(
                f"<a href='#{e(_anchor(r.op, r.dtype, r.check))}'><code>{e(r.op)}</code></a>"
                for r in {r.op: r for r in reversed(self.failures)}.values()
            )
            parts.append(f"<p class='failing'>Failing functions ({len(failing)}): {links}</p>")
        # Matrix.
        parts.append("<table class='matrix'><thead><tr><th rowspan='2'>function</th>")
        for d in self.dtypes:
            parts.append(f"<th colspan='{len(self.columns[d])}' class='dt'>{d}</th>")
        parts.append("</tr><tr>")
        for d in self.dtypes:
            for i, ch in enumerate(self.columns[d]):
                cls = " class='dt'" if i == 0 else ""
                parts.append(f"<th{cls}>{_CHECK_LABEL[ch]}</th>")
        parts.append("</tr></thead><tbody>")
        current = None
        ncols = 1 + sum(len(c) for c in self.columns.values())
        for name, cells in self.rows.items():
            cat = self.category.get(name, "")
            if cat != current:
                current = cat
                parts.append(f"<tr class='cat'><td colspan='{ncols}'>{e(cat.replace('_', ' '))}</td></tr>")
            parts.append(f"<tr><th class='fn'>{e(name)}</th>")
            for d in self.dtypes:
                for i, ch in enumerate(self.columns[d]):
                    parts.append(self._html_cell(cells.get((d, ch)), name, d, ch, i == 0))
            parts.append("</tr>")
        parts.append("</tbody></table>")
        if self.failures:
            parts.append("<h2 id='failures'>Failures</h2><table class='fails'><tr><th>function</th><th>sample</th>"
                         "<th>dtype</th><th>check</th><th>max abs</th><th>max rel</th><th>seed</th>"
                         "<th>message</th></tr>")  # fmt: skip
            for r in self.failures:
                msg = r.message or f"XPASS: the known difference no longer shows ({r.xfail_reason})"
                parts.append(
                    f"<tr id='{e(_anchor(r.op, r.dtype, r.check))}'><td><code>{e(r.op)}</code></td>"
                    f"<td><code>{e(r.sample)}</code></td><td>{r.dtype}</td><td>{r.check}</td>"
                    f"<td>{_fmt(r.max_abs_error)}</td><td>{_fmt(r.max_rel_error)}</td><td>{r.seed}</td>"
                    f"<td><pre>{e(msg.strip())}</pre></td></tr>"
                )
            parts.append("</table>")
        if self.notes:
            parts.append("<h2>Known differences</h2><ol class='notes'>")
            for reason, n in self.notes.items():
                where = sorted({
                    f"{r.op} [{r.sample}] {r.dtype} {r.check}"
                    for r in self.results if _status(r) == "xfail" and r.xfail_reason == reason
                })  # fmt: skip
                more = f"; +{len(where) - 6} more" if len(where) > 6 else ""
                parts.append(
                    f"<li id='note{n}' value='{n}'>{e(reason)}<br><small>{e('; '.join(where[:6]) + more)}"
                    "</small></li>"
                )
            parts.append("</ol>")
        for title, groups in self.outcome_sections():
            if groups:
                parts.append(f"<h2>{e(title)}</h2><table class='fails'><tr><th>checks</th><th>functions</th>"
                             "<th>reason</th></tr>")  # fmt: skip
                parts += [
                    f"<tr><td>{len(rs)}</td><td><code>{e(_functions(rs))}</code></td><td>{e(reason)}</td></tr>"
                    for reason, rs in groups
                ]
                parts.append("</table>")
        args = " ".join(f"--{k}={v}" for k, v in self.args.items() if v)
        parts.append(f"<p class='foot'>xpgrad-conformance {e(args)}</p></body></html>")
        return "".join(parts)

    def _html_cell(self, cell, name, dtype, check, first) -> str:
        sep = " dt" if first else ""
        if cell is None:
            return f"<td class='c na{sep}'></td>"
        s = cell.status
        n = len(cell.results)
        tip = [f"{name} {dtype} {check}: {n} sample{'s' * (n != 1)}"]
        counts = ", ".join(f"{cell.count(k)} {k}" for k in _STATUSES if cell.count(k))
        tip.append(counts)
        for reason in cell.reasons:
            samples = [r.sample for r in cell.results if _status(r) == "xfail" and r.xfail_reason == reason]
            tip.append(f"[{self.notes[reason]}] {', '.join(samples)}: {reason}")
        for r in cell.results:
            if r.status in ("fd", "skip"):
                tip.append(f"{r.sample}: {r.reference_reason if r.status == 'fd' else r.message}")
        for r in cell.failures[:5]:
            kind = "XPASS" if r.status == "xpass" else "FAIL"
            tip.append(f"{kind} {r.sample} (seed {r.seed}): max abs {_fmt(r.max_abs_error)}")
        text = html.escape(self._cell_text(cell))
        if s in ("fail", "xpass"):
            text = f"<a href='#{_anchor(name, dtype, check)}'>{text}</a>"
        elif s == "xfail":
            text = f"<a href='#note{self.notes[cell.reasons[0]]}'>{text}</a>"
        return f"<td class='c {s}{sep}' title='{html.escape(chr(10).join(tip), quote=True)}'>{text}</td>"


def _anchor(op, dtype, check) -> str:
    return "f-" + "".join(ch if ch.isalnum() else "-" for ch in f"{op}-{dtype}-{check}")


_CSS = """
body{font:14px/1.4 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#1d2330;background:#fff}
h1{font-size:20px;margin:0 0 8px}h2{font-size:17px;margin-top:28px}
.summary{font-size:16px;font-weight:600;padding:8px 12px;border-radius:6px;display:inline-block;margin:4px 0 12px}
.summary.ok{background:#d8f3dc;color:#14532d}.summary.bad{background:#fde2e1;color:#7f1d1d}
.meta{display:flex;gap:24px;align-items:flex-start;margin-bottom:16px}
.legend p{margin:0 0 6px}.legend .c{display:inline-block;min-width:26px;padding:1px 6px;margin:0 2px 0 10px;
border-radius:3px;text-align:center}
table{border-collapse:collapse}
.tol td,.tol th{border:1px solid #d0d5dd;padding:2px 8px;font-size:13px;white-space:nowrap}.tol th{background:#f2f4f7}
.matrix{font-size:12.5px}
.matrix thead th{position:sticky;background:#f2f4f7;border-bottom:1px solid #98a2b3;padding:3px 6px;z-index:1}
.matrix thead tr:first-child th{top:0}.matrix thead tr:nth-child(2) th{top:24px}
.matrix td,.matrix th.fn{padding:2px 6px;border-bottom:1px solid #eaecf0}
.matrix th.fn{text-align:left;font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-weight:500;
white-space:nowrap;padding-right:14px}
.matrix .dt{border-left:2px solid #98a2b3}
.matrix tr.cat td{background:#e4e7ec;font-weight:600;text-transform:capitalize;padding:3px 6px}
.matrix tbody tr:hover th.fn{background:#eef2ff}
.c{text-align:center;min-width:34px;font-family:ui-monospace,SFMono-Regular,Menlo,monospace}
.c a{color:inherit;text-decoration:none}
.pass{background:#d8f3dc;color:#1b5e20}.xfail{background:#ffe8a3;color:#7a4f01;font-weight:600}
.fail{background:#f8b4b4;color:#7f1d1d;font-weight:700}.xpass{background:#f4a261;color:#5c2a00;font-weight:700}
.na{background:#f9fafb}.skip{background:#e4e7ec}.norule{background:#dbe4ff;color:#243b7a}
.fd{background:#d0ebff;color:#0b3d66}
.fails td{border:1px solid #eaecf0;padding:3px 8px;vertical-align:top;font-size:13px}
.fails th{background:#f2f4f7;border:1px solid #d0d5dd;padding:3px 8px}
.fails pre{margin:0;white-space:pre-wrap;max-width:720px;font-size:12px}
.notes li{margin-bottom:6px}.notes small{color:#667085}
.failing{background:#fde2e1;padding:6px 10px;border-radius:6px}
.foot{color:#667085;font-size:12px;margin-top:24px}
"""
