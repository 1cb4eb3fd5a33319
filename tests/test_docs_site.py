"""The documentation site renders as written: built with Sphinx (warnings as errors), its pages
show no reST or Markdown markup as literal text, and the conformance report page links a report.

Needs the ``docs`` extra (``pip install -e ".[docs]"``); CI installs it."""

from __future__ import annotations

import html
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Markup that must never reach a reader as text: reST inline literals and roles, escapes, directives
# (a docstring read as Markdown or an escaped summary), and Markdown links (a page read as reST).
LITERAL_MARKUP = {
    "double backticks": r"``",
    "reST role": r":(?:func|class|meth|mod|attr|data|ref|math|doc|obj|exc|term|py:\w+):`",
    "backslash escape": r"\\[*_`|]",
    "reST directive": r"^\s*\.\. [\w-]+::",
    "Markdown link": r"\]\([\w./#:-]+\)",
}


def visible_text(page: str) -> str:
    """The text a reader sees, code blocks and inline code left out."""
    page = re.sub(r"<(pre|script|style)\b.*?</\1>", "", page, flags=re.S)
    page = re.sub(r"<code\b.*?</code>", "", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", "", page))


def literal_markup(site: Path) -> list[str]:
    found = []
    for page in sorted(site.rglob("*.html")):
        rel = page.relative_to(site)
        if rel.parts[0] in ("_modules", "_static", "conformance"):  # source listings, theme, report
            continue
        text = visible_text(page.read_text(encoding="utf-8"))
        for name, pattern in LITERAL_MARKUP.items():
            for m in re.finditer(pattern, text, flags=re.M):
                found.append(f"{rel}: {name}: {text[max(0, m.start() - 40) : m.end() + 40]!r}")
    return found


def test_literal_markup_is_detected():
    page = "<p>Whether every element of ``x`` along <code>``axis``</code> :func:`f`</p>"
    assert visible_text(page) == "Whether every element of ``x`` along  :func:`f`"
    assert [m.group() for m in re.finditer(LITERAL_MARKUP["reST role"], visible_text(page))] == [":func:`"]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    pytest.importorskip(
        "sphinx", reason='the documentation site needs the docs extra: pip install -e ".[docs]"'
    )
    pytest.importorskip(
        "myst_parser", reason='the documentation site needs the docs extra: pip install -e ".[docs]"'
    )
    tmp = tmp_path_factory.mktemp("docs")
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    # A small report (one function) stands for the one CI makes, so the build does not run the suite.
    report = tmp / "report"
    cmd = [sys.executable, "-m", "xpgrad.conformance", "--backend", "numpy", "--only", "sin", "--report"]
    subprocess.run([*cmd, str(report), "--quiet", "--no-progress"], env=env, check=True, capture_output=True)
    env["XPGRAD_CONFORMANCE_REPORT"] = str(report)
    out = tmp / "html"
    build = [sys.executable, "-m", "sphinx", "-W", "-q", "-b", "html", str(ROOT / "docs"), str(out)]
    done = subprocess.run(build, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    return out


def test_pages_show_no_literal_markup(site):
    assert literal_markup(site) == []


def test_conformance_report_page_links_the_report(site):
    page = (site / "conformance-report.html").read_text(encoding="utf-8")
    assert 'href="conformance/report.html"' in page
    assert (site / "conformance" / "report.html").stat().st_size > 0
    assert "made without a report" not in page
