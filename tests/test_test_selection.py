"""The test suite's own rules (the repository's conftest.py): the quick default and ``--full``,
``@pytest.mark.requires_backend``, and deterministic test ids.

Each rule is checked on a small generated project that uses a copy of the repository's
conftest.py, run by pytest in a subprocess (a few seconds in all).
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# A plugin for the generated project: makes the modules named in XPGRAD_TEST_ABSENT unimportable,
# as on a machine where they are not installed (importlib.util.find_spec returns None for them).
_ABSENT_PLUGIN = """
import importlib.util, os, sys

_ABSENT = set(filter(None, os.environ.get("XPGRAD_TEST_ABSENT", "").split(",")))
_find_spec = importlib.util.find_spec


def find_spec(name, package=None):
    if name.split(".")[0] in _ABSENT:
        return None
    return _find_spec(name, package)


importlib.util.find_spec = find_spec
"""

# Three ops of a generated matrix (ids "<op>-<dtype>-<sample>"), with 30, 3 and 1 tests.
_MATRIX = """
import pytest

IDS = (
    [f"sin-float64-s{i}" for i in range(30)]
    + [f"linalg.det-float32-s{i}" for i in range(3)]
    + ["fft.fft-complex128-only"]
)


@pytest.mark.parametrize("case", IDS, ids=IDS)
def test_finite_differences(case):
    pass


def test_not_generated():
    pass
"""


def _project(tmp_path: Path, files: dict[str, str]) -> Path:
    shutil.copy(ROOT / "conftest.py", tmp_path / "conftest.py")
    (tmp_path / "absent_plugin.py").write_text(_ABSENT_PLUGIN)
    (tmp_path / "pytest.ini").write_text("[pytest]\naddopts = -ra --strict-markers -p absent_plugin\n")
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def _pytest(project: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("XPGRAD_", "PYTEST_"))}
    environ["PYTHONPATH"] = str(project)
    environ.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=project,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _collected(proc: subprocess.CompletedProcess) -> list[str]:
    return [line for line in proc.stdout.splitlines() if "::" in line]


# --------------------------------------------------------------------------------------------
# The quick default and --full.


_LONG = "def test_a_cluster():\n    pass\n"


def test_quick_default_keeps_a_deterministic_sample_with_every_op(tmp_path):
    project = _project(tmp_path, {"tests/test_ops_fd.py": _MATRIX, "tests/test_dask_distributed.py": _LONG})
    quick = _collected(_pytest(project, "--collect-only", "-q", "tests"))
    again = _collected(_pytest(project, "--collect-only", "-q", "tests", env={"PYTHONHASHSEED": "7"}))
    full = _collected(_pytest(project, "--collect-only", "-q", "tests", "--full"))
    by_env = _collected(_pytest(project, "--collect-only", "-q", "tests", env={"XPGRAD_FULL": "1"}))
    assert len(full) == 36 and by_env == full
    assert quick == again  # the same tests on every run (and in every pytest-xdist worker)
    assert "tests/test_ops_fd.py::test_not_generated" in quick  # other tests run in full
    assert "tests/test_dask_distributed.py::test_a_cluster" not in quick  # minutes: --full only
    for op in ("sin", "linalg.det", "fft.fft"):  # at least one check of every op
        assert any(f"[{op}-" in test for test in quick), op
    sin = [test for test in quick if "[sin-" in test]
    assert 1 <= len(sin) < 30 and len(quick) < len(full)


def test_a_run_that_names_files_or_filters_runs_all_it_selects(tmp_path):
    project = _project(tmp_path, {"tests/test_ops_fd.py": _MATRIX, "tests/test_dask_distributed.py": _LONG})
    assert len(_collected(_pytest(project, "--collect-only", "-q", "tests/test_ops_fd.py"))) == 35
    assert len(_collected(_pytest(project, "--collect-only", "-q", "tests", "-k", "sin"))) == 30
    named = _pytest(project, "--collect-only", "-q", "tests/test_dask_distributed.py")
    assert _collected(named) == ["tests/test_dask_distributed.py::test_a_cluster"]


def test_subset_selects_only_the_conformance_checks(tmp_path):
    project = _project(
        tmp_path,
        {"tests/test_ops_fd.py": _MATRIX, "conformance/test_conformance.py": _MATRIX},
    )
    subset = _collected(_pytest(project, "--collect-only", "-q", "--subset=4"))
    assert sum(t.startswith("tests/") for t in subset) == 35  # outside conformance/: in full
    assert 0 < sum(t.startswith("conformance/") for t in subset) < 35
    everything = _collected(_pytest(project, "--collect-only", "-q", "--subset=1"))
    assert len(everything) == 70
    refused = _pytest(project, "--collect-only", "-q", "--subset=0")
    assert refused.returncode != 0 and "--subset 0: expected a positive integer" in refused.stderr


def test_the_matrices_named_by_the_conftest_exist():
    # A renamed test or file would silently leave the quick selection: every entry must exist.
    spec = importlib.util.spec_from_file_location("xpgrad_repository_conftest", ROOT / "conftest.py")
    repo_conftest = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(repo_conftest)
    for entry in repo_conftest.MATRICES:
        path, function = entry.split("::")
        source = (ROOT / path).read_text(encoding="utf-8")
        assert re.search(rf"^def {function}\(", source, re.M), f"{entry}: no such test"


# --------------------------------------------------------------------------------------------
# Optional backends.

_NEEDS_JAX = """
import pytest


@pytest.mark.requires_backend("jax")
def test_needs_jax():
    import jax  # noqa: F401


@pytest.mark.parametrize("name", ["numpy", pytest.param("dask", marks=pytest.mark.requires_backend("dask"))])
def test_param(name):
    pass
"""


def test_a_missing_backend_skips_with_its_reason(tmp_path):
    project = _project(tmp_path, {"test_x.py": _NEEDS_JAX})
    proc = _pytest(project, env={"XPGRAD_TEST_ABSENT": "jax,dask"})
    assert proc.returncode == 0, proc.stdout
    assert "1 passed, 2 skipped" in proc.stdout
    assert "jax not installed (optional backend; pip install -e '.[backends]')" in proc.stdout
    assert "dask not installed (optional backend; pip install -e '.[backends]')" in proc.stdout


def test_a_missing_backend_fails_where_backends_are_required(tmp_path):
    project = _project(tmp_path, {"test_x.py": _NEEDS_JAX})
    env = {"XPGRAD_TEST_ABSENT": "jax,dask", "XPGRAD_REQUIRE_BACKENDS": "1"}
    proc = _pytest(project, env=env)
    assert proc.returncode == 1
    assert "1 passed, 2 errors" in proc.stdout
    assert "jax not installed, and XPGRAD_REQUIRE_BACKENDS=1 requires the optional backends" in proc.stdout


def test_requires_backend_names_only_optional_backends(tmp_path):
    test = 'import pytest\n\n\n@pytest.mark.requires_backend("scipy")\ndef test_a():\n    pass\n'
    proc = _pytest(_project(tmp_path, {"test_x.py": test}))
    assert proc.returncode == 1
    assert "scipy is not an optional backend of the `backends` extra" in proc.stdout


_OPTIONAL = r"""["'](jax|dask|distributed)[."']"""
_OTHER_GUARDS = [
    re.compile(r"(?<!def )find_spec\("),  # whether a module is installed: the marker asks
    re.compile(rf"importorskip\({_OPTIONAL}"),
    re.compile(r"(environ\b.*|getenv\().XPGRAD_REQUIRE_BACKENDS"),
]


def test_every_optional_backend_test_uses_the_one_marker():
    # One way to say "needs JAX/Dask": @pytest.mark.requires_backend (conftest.py). A test that
    # checks for the module itself would skip silently, or fail, where CI requires the backends.
    offenders = []
    for path in sorted([*ROOT.glob("tests/**/*.py"), *ROOT.glob("conformance/**/*.py")]):
        if path == Path(__file__).resolve():
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if any(guard.search(line) for guard in _OTHER_GUARDS) and not line.endswith("# not a skip"):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not offenders, "use @pytest.mark.requires_backend(...):\n" + "\n".join(offenders)


# --------------------------------------------------------------------------------------------
# Deterministic test ids.


def test_an_id_with_a_memory_address_fails(tmp_path):
    test = (
        "import pytest\n\n\n"
        "@pytest.mark.parametrize('f', [lambda: 0, 'plain'], ids=str)\n"
        "def test_a(f):\n    pass\n"
    )
    proc = _pytest(_project(tmp_path, {"test_x.py": test}))
    assert proc.returncode == 1
    assert "1 passed, 1 error" in proc.stdout
    assert "contains a memory address" in proc.stdout
