"""One client call: ``fn(*inputs)`` run on xpgrad (NumPy backend) and on torch tensors, compared
with :func:`xpgrad.testing.assert_grads_match_torch` (values, a vector-Jacobian product with a
random cotangent and, where the call is twice differentiable, second-order gradients).

Where the library cannot differentiate the call on torch (SciPy computes it with NumPy for
torch tensors: ``betainc``-based p-values, ``stdtr``, ...; or torch.special gives no gradient),
``ref="fd"``: the values are compared with the library's own result on NumPy arrays and the
gradients with Richardson-extrapolated finite differences (:func:`xpgrad.gradcheck`,
``gradgradcheck``, ``method="richardson"``) at a tolerance that catches a 1e-6 relative error."""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
import pytest

import xpgrad
from xpgrad.testing import assert_grads_match_torch

# Finite differences as tests/test_ops_fd.py takes them: Richardson-extrapolated, at a tolerance
# that catches a 1e-6 relative error in the gradient.
FD = {"method": "richardson", "rtol": 1e-7, "atol": 1e-9}


@dataclass
class Call:
    """``id``: the library function called (and a variant); ``fn(*inputs)`` returns an array or a
    tuple of arrays; ``inputs(rng)`` builds NumPy inputs (floating ones are differentiated);
    ``second``: compare second-order gradients; ``xfail``: why the call cannot work."""

    id: str
    fn: object
    inputs: object
    second: bool = True
    xfail: str | None = None
    rtol: float | None = None
    atol: float | None = None
    ref: str = "torch"


def params(calls):
    out = []
    for c in calls:
        marks = [pytest.mark.xfail(strict=True, reason=c.xfail)] if c.xfail else []
        out.append(pytest.param(c, id=c.id, marks=marks))
    return out


def run(call):
    rng = np.random.default_rng(zlib.crc32(call.id.encode()))
    inputs = call.inputs(rng)
    if call.ref == "torch":
        assert_grads_match_torch(
            call.fn, *inputs, second_order=call.second, backend="numpy", rtol=call.rtol, atol=call.atol
        )
        return
    xp = xpgrad.numpy
    expected = _as_tuple(call.fn(*inputs))
    leaves = [xp.asarray(a, copy=True, requires_grad=True) for a in inputs]
    got = _as_tuple(call.fn(*leaves))
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        assert type(g) is xpgrad.Tensor and g.requires_grad
        np.testing.assert_allclose(
            np.asarray(g.detach()), np.asarray(e), rtol=call.rtol or 1e-10, atol=call.atol or 0
        )

    def f(*ts):
        return _as_tuple(call.fn(*ts))

    xpgrad.gradcheck(f, leaves, **FD)
    if call.second:
        xpgrad.gradgradcheck(f, leaves, **FD)


def _as_tuple(r):
    return tuple(r) if isinstance(r, (tuple, list)) else (r,)


def normal(*shape):
    return lambda rng: [rng.standard_normal(shape)]


def uniform(lo, hi, *shape):
    return lambda rng: [rng.uniform(lo, hi, size=shape)]
