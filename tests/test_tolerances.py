"""The conformance suite's tolerances (issue 24, issue 19): defaults tight enough for the planted
biases of ``conformance/test_planted_bugs.py``, and every per-function override explained."""

from __future__ import annotations

import pytest

from xpgrad.testing import DEFAULT_TOLERANCES, op_db, tolerances

# The smallest relative error each dtype's default catches on a value of magnitude 1 (and so
# wherever |value| > atol / (bias - rtol)).
RESOLUTION = {"float64": 1e-7, "complex128": 1e-7, "float32": 1e-4, "complex64": 1e-4}


@pytest.mark.parametrize("dtype", sorted(RESOLUTION))
def test_defaults_catch_the_resolution(dtype):
    rtol, atol = DEFAULT_TOLERANCES[dtype]
    bias = RESOLUTION[dtype]
    # A relative bias of `bias` fails where bias * |t| > atol + rtol * |t|: from |t| = 0.05 on.
    assert rtol < bias / 3 and atol / (bias - rtol) < 0.05, (dtype, rtol, atol)


def _overrides():
    return [op for op in op_db() if op.rtol or op.atol or op.tolerance_reasons]


@pytest.mark.parametrize("op", _overrides(), ids=lambda op: op.name)
def test_every_override_has_its_reason(op):
    dtypes = set(op.rtol) | set(op.atol)
    assert set(op.tolerance_reasons) == dtypes, (
        f"{op.name}: tolerance overrides for {sorted(dtypes)}, reasons for {sorted(op.tolerance_reasons)}"
    )
    for dtype, why in op.tolerance_reasons.items():
        assert isinstance(why, str) and len(why) > 40, (op.name, dtype, why)
        # An override loosens: a tighter one would be a default's business.
        default = DEFAULT_TOLERANCES[dtype]
        assert tolerances(op, dtype) != default and all(
            t >= d for t, d in zip(tolerances(op, dtype), default)
        ), (op.name, dtype, tolerances(op, dtype))


def test_overrides_are_few():
    # Per function, not per category: the planted-bug functions keep the defaults.
    names = {op.name for op in _overrides()}
    assert not names & {"sin", "prod", "linalg.inv", "special.erf"}
    assert len(names) < 40, sorted(names)
