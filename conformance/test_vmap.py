"""The ``vmap`` column (issue 23): for every function and sample (at float64, or the function's
first dtype), ``xpgrad.func.vmap`` of the function equals the stack of its unbatched calls, with
the batch axis first (``vmap0``) and last (``vmap-1``). See ``xpgrad.testing._vmap_runner``.

Ids read ``<op>-<dtype>-<sample>-<check>``. Known differences are strict xfails with their
reasons (``VMAP_KNOWN`` below, per backend).
"""

from __future__ import annotations

import fnmatch

import pytest

from xpgrad.testing import iter_cases, op_db
from xpgrad.testing._vmap_runner import VMAP_POSITIONS, NothingToBatch, UnbatchedFails, run_vmap_check

from .conftest import backend_name, known_differences

# {"<op>-<dtype>-<sample>-<check>" fnmatch pattern: reason}: known differences of the vmap
# column itself, for every backend ("*") or one. (A sample whose unbatched call raises on a
# backend, a known difference of the main suite there, has no reference: skipped with its reason.)
_DASK_UNKNOWN_LENGTH = (
    "Dask: a result whose length depends on the values (nonzero, unique_*, a boolean mask) has "
    "an unknown (nan) length until computed; vmap's loop-and-stack fall-back cannot stack "
    "arrays of unknown length, so it raises 'cannot be batched' (call the function outside "
    "vmap; docs/func.md, Fall-backs)"
)
VMAP_KNOWN: dict[str, dict[str, str]] = {
    "*": {},
    "dask": {
        pat: _DASK_UNKNOWN_LENGTH for pat in ("nonzero-*", "unique_*-*", "__getitem__-*-bool_mask*-vmap*")
    },
}


def _known(backend):
    table = dict(VMAP_KNOWN.get("*", {}))
    table.update(VMAP_KNOWN.get(backend, {}))
    return table


def pytest_generate_tests(metafunc):
    if "vcase" not in metafunc.fixturenames:
        return
    known = _known(backend_name(metafunc.config))
    params = []
    for op in op_db():
        dtype = "float64" if "float64" in op.dtypes else op.dtypes[0]
        for case in iter_cases([op], dtypes=(dtype,)):
            for check in VMAP_POSITIONS:
                pid = f"{case.id}-{check}"
                reason = next((r for pat, r in known.items() if fnmatch.fnmatchcase(pid, pat)), None)
                marks = [pytest.mark.xfail(reason=reason, strict=True)] if reason else []
                params.append(pytest.param(case, check, id=pid, marks=marks))
    metafunc.parametrize(("vcase", "check"), params)


_KNOWN_CACHE: dict = {}


def test_vmap(vcase, check, xp, request):
    try:
        run_vmap_check(vcase.op, vcase.sample, vcase.dtype, xp, check)
    except NothingToBatch as exc:
        pytest.skip(str(exc))
    except UnbatchedFails as exc:
        key = backend_name(request.config)
        if key not in _KNOWN_CACHE:
            _KNOWN_CACHE[key] = known_differences(request.config)
        reason = next(
            (
                k.reason
                for k in _KNOWN_CACHE[key]
                if k.matches(vcase.op.name, vcase.sample_name, vcase.dtype, "forward")
            ),
            None,
        )
        if reason is None:
            raise
        pytest.skip(f"the unbatched call raises on this backend ({exc}): {reason}")
