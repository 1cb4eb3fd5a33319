"""The examples and the documentation's code run, and print what the documentation says.

- Every script in ``examples/`` runs to completion (exit status 0) in a subprocess.
- Every ```python block of README.md, docs/guide.md, docs/advanced.md and docs/forward-mode.md
  that is marked runnable (the line just before its fence is ``<!-- runnable -->``; see
  CONTRIBUTING.md) runs on its own in a subprocess. When the block is followed by a ```text block, that block is its
  expected standard output (compared line by line, trailing whitespace ignored).

Subprocesses run with ``-W error``, as the test suite does.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))
DOCS = [
    ROOT / "README.md",
    ROOT / "docs" / "guide.md",
    ROOT / "docs" / "advanced.md",
    ROOT / "docs" / "forward-mode.md",
]
MARKER = "<!-- runnable -->"
TIMEOUT_S = 60


def runnable_blocks(path: Path) -> list[tuple[int, str, str | None]]:
    """``(line number, code, expected output or None)`` for each runnable block of ``path``."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks = []
    i = 0
    while i < len(lines):
        if lines[i].strip() != MARKER:
            i += 1
            continue
        if i + 1 >= len(lines) or lines[i + 1].strip() != "```python":
            raise ValueError(f"{path.name}:{i + 1}: '{MARKER}' must be followed by a ```python fence")
        start = i + 2
        end = start
        while end < len(lines) and lines[end].strip() != "```":
            end += 1
        code = "\n".join(lines[start:end]) + "\n"
        j = end + 1
        while j < len(lines) and not lines[j].strip():
            j += 1
        expected = None
        if j < len(lines) and lines[j].strip() == "```text":
            k = j + 1
            while k < len(lines) and lines[k].strip() != "```":
                k += 1
            expected = "\n".join(lines[j + 1 : k])
            end = k
        blocks.append((start, code, expected))
        i = end + 1
    return blocks


def _run(args, stdin=None):
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run(
        [sys.executable, "-W", "error", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=TIMEOUT_S,
    )


def _normalise(text: str) -> list[str]:
    return [ln.rstrip() for ln in text.strip("\n").splitlines()]


@pytest.mark.parametrize("script", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_runs(script):
    proc = _run([str(script)])
    assert proc.returncode == 0, f"{script.name} failed:\n{proc.stdout}\n{proc.stderr}"
    assert proc.stdout.strip(), f"{script.name} printed nothing"


_BLOCKS = [(doc, line, code, expected) for doc in DOCS for line, code, expected in runnable_blocks(doc)]


@pytest.mark.parametrize(
    "doc, line, code, expected",
    _BLOCKS,
    ids=[f"{doc.name}:{line}" for doc, line, _, _ in _BLOCKS],
)
def test_doc_block_runs(doc, line, code, expected):
    proc = _run(["-"], stdin=code)
    where = f"{doc.relative_to(ROOT)}, block at line {line}"
    assert proc.returncode == 0, f"{where} failed:\n{proc.stdout}\n{proc.stderr}"
    if expected is not None:
        assert _normalise(proc.stdout) == _normalise(expected), (
            f"{where}: the output differs from the ```text block that follows it.\n"
            f"printed:\n{proc.stdout}\ndocumented:\n{expected}"
        )


def test_the_examples_and_the_advanced_guide_are_collected():
    names = {p.name for p in EXAMPLES}
    assert {"quickstart.py", "hessian_newton.py", "custom_function.py", "checkpointing.py"} <= names
    # One runnable block per section of docs/advanced.md, each with its documented output.
    blocks = runnable_blocks(ROOT / "docs" / "advanced.md")
    assert len(blocks) >= 7
    assert all(expected for _, _, expected in blocks)


# Packages an example may import without being an optional dependency of it: xpgrad's own
# dependencies (pyproject.toml's `dependencies`). Everything else that is not the standard
# library is optional: without it the example says what to install and exits 0.
_REQUIRED = {"xpgrad", "numpy", "array_api_compat"}


def _optional_imports(script: Path) -> list[str]:
    tree = ast.parse(script.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return sorted(names - _REQUIRED - set(sys.stdlib_module_names))


_WITHOUT = [(script, module) for script in EXAMPLES for module in _optional_imports(script)]


@pytest.mark.parametrize(("script", "module"), _WITHOUT, ids=[f"{s.name}-without-{m}" for s, m in _WITHOUT])
def test_example_without_an_optional_dependency_says_what_to_install(script, module):
    # A finder first on sys.meta_path makes the module unimportable, as on a machine where it is
    # not installed: `import` raises ModuleNotFoundError (the examples catch ImportError).
    prelude = (
        "import runpy, sys\n"
        "class Absent:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        f"        if name.split('.')[0] == {module!r}:\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
        "sys.meta_path.insert(0, Absent())\n"
        f"sys.argv = [{str(script)!r}]\n"
        f"runpy.run_path({str(script)!r}, run_name='__main__')\n"
    )
    proc = _run(["-c", prelude])
    assert proc.returncode == 0, f"{script.name} without {module} failed:\n{proc.stdout}\n{proc.stderr}"
    assert "pip install" in proc.stdout and module in proc.stdout, (
        f"{script.name} without {module} does not say what to install:\n{proc.stdout}"
    )


def test_optional_dependencies_of_the_examples_are_found():
    # The test above covers every example's optional imports: it finds the ones we know of.
    found = {(s.name, m) for s, m in _WITHOUT}
    assert {
        ("dask_least_squares.py", "dask"),
        ("dask_least_squares.py", "distributed"),
        ("dask_training.py", "dask"),
        ("quickstart.py", "torch"),
        ("differentiate_scipy.py", "scipy"),
        ("train_mlp.py", "matplotlib"),
    } <= found
