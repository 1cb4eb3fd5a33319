"""The outcomes of a conformance run, as the command (``xpgrad-conformance``, here ``main``) and
pytest report them: passed (against torch), checked against finite differences (torch has no
derivative), known differences, failed, skipped (with the reason and the install command), each
counted apart in the summary line, the Markdown, the JSON and the HTML."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from .__main__ import main
from .conftest import backend_name

_ROOT = Path(__file__).resolve().parents[1]
_ONLY = ["sin", "special.j0", "linalg.det"]


@pytest.fixture(scope="module")
def numpy_only(pytestconfig):
    if backend_name(pytestconfig) != "numpy":
        pytest.skip("the report's outcomes are checked with --backend=numpy")


def test_every_outcome_is_counted_apart(numpy_only, tmp_path, capsys):
    status = main(
        [
            "--backend",
            "numpy",
            "--only",
            *_ONLY,
            "--dtypes",
            "float64",
            "--report",
            str(tmp_path),
            "--no-progress",
        ]
    )
    out = capsys.readouterr().out
    assert status == 0, out
    summary = out.strip().splitlines()[-1]
    for part in ("passed", "checked against finite differences (torch has no derivative)",
                 "known differences (xfail)", "0 failed", "0 skipped"):  # fmt: skip
        assert part in summary, summary
    doc = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    counts = doc["counts"]
    # j0: torch.special.bessel_j0 has no derivative: every gradient check of it is one against
    # finite differences; det's singular sample is a known difference; sin matches torch.
    assert counts["fd"] == sum(
        1 for r in doc["results"] if r["op"] == "special.j0" and r["check"] != "forward"
    )
    assert counts["xfail"] >= 2 and counts["pass"] > 0 and counts["fail"] == counts["skip"] == 0
    assert sum(counts.values()) == len(doc["results"])
    assert doc["matrix"]["special.j0"]["float64/first"]["status"] == "fd"
    assert [g["functions"] for g in doc["finite_differences"]] == [["special.j0"]]
    assert {r["reference"] for r in doc["results"] if r["status"] == "fd"} == {"finite differences"}
    md = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "## Checked against finite differences: torch has no derivative" in md and "🧮" in md
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "class='c fd" in html and "checked against finite differences" in html


_WITHOUT_SCIPY = """
import sys
sys.modules["scipy"] = None  # as if SciPy were not installed: importing it raises ImportError
from xpgrad.conformance.__main__ import main
sys.exit(main(sys.argv[1:]))
"""


def test_a_missing_library_is_skipped_with_its_install_command(numpy_only, tmp_path):
    # special.erfcx on NumPy needs SciPy (xpgrad's side); special.j0's reference on NumPy has
    # none to need; special.expi's reference is SciPy's values. Without SciPy: skipped, never failed.
    only = ["special.erfcx", "special.expi", "sin"]
    proc = subprocess.run(
        [sys.executable, "-c", _WITHOUT_SCIPY, "--backend", "numpy", "--only", *only, "--dtypes", "float64",
         "--report", str(tmp_path), "--no-progress", "-q"],
        capture_output=True, text=True, cwd=_ROOT, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    doc = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert doc["counts"]["fail"] == 0 and doc["counts"]["skip"] > 0
    skipped = {r["op"] for r in doc["results"] if r["status"] == "skip"}
    assert skipped == {"special.erfcx", "special.expi"}, skipped
    assert all(r["status"] == "pass" for r in doc["results"] if r["op"] == "sin")
    for group in doc["skipped"]:
        assert "scipy is not installed" in group["reason"], group
        assert 'pip install scipy (pip install "xpgrad[conformance]" brings it)' in group["reason"], group
    assert "skipped (reasons below)" in proc.stdout.splitlines()[-1]


def test_pytest_counts_checks_against_finite_differences_apart(numpy_only):
    ids = [
        "special.j0-float64-0-d-first",
        "sin-float64-0d-first",
        "linalg.det-float64-singular_rank_n-1-first",
    ]
    nodes = [f"conformance/test_conformance.py::test_conformance[{i}]" for i in ids]
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", *nodes, "--backend=numpy", "-p", "no:cacheprovider", "-q"],
        capture_output=True, text=True, cwd=_ROOT, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    last = proc.stdout.strip().splitlines()[-1]
    assert "1 passed" in last and "1 xfailed" in last and "1 checked against finite differences" in last, last
