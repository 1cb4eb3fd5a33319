"""Loaded by pytest before any other conftest of the repository (tests/ and conformance/).

- ``SCIPY_ARRAY_API``: SciPy reads it once, when it is first imported, and some imports made
  while pytest starts (Dask, through conformance/known/) import SciPy. The client suite
  (tests/clients/) calls SciPy's array API code paths, so the variable is set here, first.
- Which tests run: the quick default, ``--full`` (or ``XPGRAD_FULL=1``) and ``--subset N``
  (below, and CONTRIBUTING.md, "Running the tests").
- ``@pytest.mark.requires_backend("jax")``: the one way a test says it needs an optional backend.
- Test ids must be deterministic (``pytest -n auto`` compares the ids its workers collect).
"""

import os

os.environ.setdefault("SCIPY_ARRAY_API", "1")

import importlib.util  # noqa: E402
import re  # noqa: E402
import zlib  # noqa: E402

import pytest  # noqa: E402

# --------------------------------------------------------------------------------------------
# Which tests run.
#
# The generated matrices below (one test per op x dtype x sample x check) are most of the suite's
# 35,000 tests and of its time. The quick default (no option) runs a deterministic sample of
# each: every op's checks whose id has a CRC-32 of 0 modulo QUICK_ONE_IN, and at least one check
# of every op (the one with the smallest CRC-32), the same tests on every run and machine. It
# leaves out the LONG files (minutes each), and runs every other test in full. ``--full`` (or
# XPGRAD_FULL=1) runs everything; .ci/run does.
#
# ``--subset N`` is the older, plain selection used by .ci/run on slow backends: it keeps one in
# N of conformance/test_conformance.py and conformance/test_forward.py (CRC-32 of the test id,
# no per-op minimum) and runs everything else in full. Giving it turns the quick default off.

QUICK_ONE_IN = 16

MATRICES = (
    "tests/test_ops_fd.py::test_finite_differences",
    "tests/test_jvp_elementwise.py::test_jvp_rule_matches_finite_differences",
    "tests/test_jvp_fft_stats.py::test_jvp_matches_central_differences",
    "tests/test_jvp_fft_stats.py::test_jvp_matches_torch_forward_ad",
    "tests/test_jvp_special.py::test_rule_matches_central_differences",
    "tests/test_jvp_manipulation.py::test_rule_matches_finite_differences",
    "tests/test_jvp_linalg.py::test_rule_matches_finite_differences",
    "tests/test_forward_ad.py::test_registry_jvps_match_finite_differences",
    "conformance/test_conformance.py::test_conformance",
    "conformance/test_forward.py::test_forward_mode",
    "conformance/test_saved_sets.py::test_saved_set",
    "conformance/test_vmap.py::test_vmap",
)
# Minutes each, and only where the optional backends are installed: a dask.distributed cluster
# over 1 GiB of data (docs/backends.md, "Dask at scale").
LONG = ("tests/test_dask_distributed.py",)
SUBSET_FILES = ("conformance/test_conformance.py", "conformance/test_forward.py")


def pytest_addoption(parser):
    group = parser.getgroup("xpgrad", "xpgrad's test selection")
    group.addoption(
        "--full",
        action="store_true",
        default=os.environ.get("XPGRAD_FULL") == "1",
        help="run every test (default: the quick run, a deterministic sample of the generated "
        f"op x dtype x sample matrices, 1 in {QUICK_ONE_IN} and at least one per op, without the "
        f"minutes-long {', '.join(LONG)}). XPGRAD_FULL=1 does the same",
    )
    group.addoption(
        "--subset",
        type=int,
        default=None,
        metavar="N",
        help="run only the gradient checks of conformance/test_conformance.py and test_forward.py whose "
        "id hashes to 0 modulo N (CRC-32 of the test id: the same 1/N on every run and machine), "
        "everything else in full (for CI on slow backends). --subset=1: everything",
    )


def selection(config) -> str:
    """'full', 'subset', 'chosen' or 'quick': which selection this run makes.

    The quick default samples only broad runs: pytest given directories (or nothing) and no
    ``-k``/``-m``. A run that names a file or a test, or filters with ``-k``/``-m``, is 'chosen':
    everything it selects runs (``pytest tests/test_ops_fd.py -k sin`` runs every check of sin).
    """
    if config.getoption("--full"):
        return "full"
    if config.getoption("--subset") is not None:
        return "subset"
    if config.getoption("keyword") or config.getoption("markexpr"):
        return "chosen"
    for arg in config.args:
        if "::" in arg or (config.invocation_params.dir / arg).is_file():
            return "chosen"
    return "quick"


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "requires_backend(*modules): the test needs these optional backends (jax, dask, "
        "distributed; pip install -e '.[backends]'). Skipped with that reason where one is not "
        "installed; a failure instead under XPGRAD_REQUIRE_BACKENDS=1 (CI)",
    )
    subset = config.getoption("--subset")
    if subset is not None and subset < 1:
        raise pytest.UsageError(f"--subset {subset}: expected a positive integer")


def pytest_report_header(config):
    mode = selection(config)
    if mode == "quick":
        return (
            f"xpgrad quick run: 1 in {QUICK_ONE_IN} of the generated op x dtype x sample checks "
            f"(at least one per op), not {', '.join(LONG)}, everything else in full; "
            "every test: --full or XPGRAD_FULL=1"
        )
    if mode == "subset":
        return f"xpgrad subset run: 1 in {config.getoption('--subset')} of {', '.join(SUBSET_FILES)}"
    if mode == "chosen":
        return "xpgrad: files, tests or -k/-m named: every test they select (no quick sample)"
    return "xpgrad full run: every test"


def _test_key(item) -> str:
    return f"{item.path.name}::{item.name}"


def _function_id(item) -> str:
    return item.nodeid.split("[", 1)[0]


def _quick_keep(items) -> set[int]:
    """Indices of the matrix tests the quick run keeps: 1 in QUICK_ONE_IN, at least one per op."""
    keep: set[int] = set()
    first_of_op: dict[tuple[str, str], tuple[int, int]] = {}
    for i, item in enumerate(items):
        if not _function_id(item).endswith(MATRICES):
            continue
        crc = zlib.crc32(_test_key(item).encode())
        if crc % QUICK_ONE_IN == 0:
            keep.add(i)
        callspec = getattr(item, "callspec", None)
        op = callspec.id.split("-", 1)[0] if callspec is not None else ""
        group = (_function_id(item), op)
        if group not in first_of_op or crc < first_of_op[group][0]:
            first_of_op[group] = (crc, i)
    keep.update(i for _, i in first_of_op.values())
    return keep


def _is_matrix(item) -> bool:
    return _function_id(item).endswith(MATRICES)


def _in_files(item, files) -> bool:
    return _function_id(item).split("::", 1)[0].endswith(files)


_ADDRESS = re.compile(r"0x[0-9a-fA-F]{6,}")
# A test that must fail at setup, with this message (pytest_runtest_setup below).
_SETUP_ERROR = pytest.StashKey[str]()


def pytest_collection_modifyitems(config, items):
    _select(config, items)
    for item in items:
        if _ADDRESS.search(item.nodeid):
            item.stash[_SETUP_ERROR] = (
                "this test's id contains a memory address, so it changes from run to run and "
                "pytest -n auto (pytest-xdist) cannot run the suite: give the parameter an "
                "explicit id (pytest.param(..., id=...) or ids=...)"
            )
        _mark_optional_backend(item)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    if _SETUP_ERROR in item.stash:
        pytest.fail(item.stash[_SETUP_ERROR], pytrace=False)


def _select(config, items):
    mode = selection(config)
    if mode in ("full", "chosen"):
        return
    if mode == "quick":
        kept = _quick_keep(items)
        chosen = [
            (i in kept or not _is_matrix(item)) and not _in_files(item, LONG) for i, item in enumerate(items)
        ]
    else:
        subset = config.getoption("--subset")
        chosen = [
            not _in_files(item, SUBSET_FILES) or zlib.crc32(item.name.encode()) % subset == 0
            for item in items
        ]
    drop = [item for item, c in zip(items, chosen) if not c]
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = [item for item, c in zip(items, chosen) if c]


# --------------------------------------------------------------------------------------------
# Optional backends: JAX, Dask, distributed (the `backends` extra).

OPTIONAL_BACKENDS = ("jax", "dask", "distributed", "cubed", "marray")
INSTALL = "pip install -e '.[backends]'"


def backends_required() -> bool:
    """CI sets XPGRAD_REQUIRE_BACKENDS=1: there a missing optional backend fails its tests."""
    return os.environ.get("XPGRAD_REQUIRE_BACKENDS") == "1"


def _mark_optional_backend(item):
    """Skip ``item`` (a marker: the summary names the test and the reason) where a backend of its
    ``requires_backend`` marks is missing; under XPGRAD_REQUIRE_BACKENDS=1 it fails instead."""
    modules = [m for mark in item.iter_markers("requires_backend") for m in mark.args]
    unknown = [m for m in modules if m not in OPTIONAL_BACKENDS]
    if unknown:
        item.stash[_SETUP_ERROR] = (
            f"requires_backend{tuple(modules)}: {', '.join(unknown)} is not an optional backend of the "
            f"`backends` extra ({', '.join(OPTIONAL_BACKENDS)}); import a test dependency plainly"
        )
        return
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if not missing:
        return
    names = " and ".join(missing)
    if backends_required():
        item.stash[_SETUP_ERROR] = (
            f"{names} not installed, and XPGRAD_REQUIRE_BACKENDS=1 requires the optional backends ({INSTALL})"
        )
    else:
        item.add_marker(pytest.mark.skip(reason=f"{names} not installed (optional backend; {INSTALL})"))
