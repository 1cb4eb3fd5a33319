"""``xp.special`` at the edges of its domains, refereed by mpmath at 70 digits.

Every row of ``tests/_special_edges.py`` (a function at 0, +-inf, nan, a pole, the end of its
domain, a far tail, an overflow, a point where a formula cancels) is checked on xpgrad in float64
and float32: the value and the first derivative agree with mpmath's to a few units in the last
place (nan and +-inf exactly), or are the nan/inf/limit the row states. Where torch is wrong and
xpgrad is right (torch's float64 Bessel functions, ``ndtr(-37) == 0``, finite ``polygamma`` at
its poles, ``log_ndtr``'s gradient in the far tail), the row keeps xpgrad so. The table of
docs/special-edges.md is checked to be the one the rows make.
"""

from __future__ import annotations

import math

import _special_edges as data
import numpy as np
import pytest

import xpgrad
from xpgrad import special as special_mod

# Relative tolerances, in units of the dtype's epsilon: a value from the backend's library
# (correctly rounded or nearly), a derivative from a formula of a few operations.
ULPS = {"float64": {"value": 32, "grad": 64}, "float32": {"value": 4, "grad": 8}}
EPS = {"float64": np.finfo(np.float64).eps, "float32": np.finfo(np.float32).eps}
TINY = {"float64": np.finfo(np.float64).tiny, "float32": np.finfo(np.float32).tiny}

EDGES = data.EDGES + data.nan_rows(special_mod.TABLE)


def _close(got, want, dtype, rtol, atol=0.0):
    """``got`` (a number of ``dtype``) is ``want`` (a Python float, rounded to ``dtype`` here):
    nan and +-inf exactly, numbers to ``rtol`` relative (or ``atol`` absolute, or below the
    smallest normal number); ``data.POLE``: not a finite number."""
    if want is data.POLE:
        return not math.isfinite(got)
    with np.errstate(over="ignore"):
        want = float(np.asarray(want, dtype=dtype))
    if math.isnan(want) or math.isinf(want):
        return (math.isnan(got) and math.isnan(want)) or got == want
    if math.isnan(got) or math.isinf(got):
        return False
    return abs(got - want) <= rtol * abs(want) + atol + TINY[dtype]


def _rtol(edge, dtype, kind):
    return edge.rtol.get(f"{kind}:{dtype}", ULPS[dtype][kind] * EPS[dtype])


BACKENDS = ("numpy", "torch", "array_api_strict")


def _params(rows):
    out = []
    for backend in BACKENDS:
        for e in rows:
            for dtype in e.dtypes:
                marks = []
                reason = next(
                    (e.known[k] for k in (f"{backend}:{dtype}", backend, dtype) if k in e.known), None
                )
                if reason:
                    marks.append(pytest.mark.xfail(strict=True, reason=reason))
                out.append(pytest.param(backend, e, dtype, id=f"{backend}-{e.id}-{dtype}", marks=marks))
    return out


def _evaluate(xp, edge, dtype):
    """xpgrad's value and derivative (None without ``wrt``) at the row's point."""
    dt = getattr(xp, dtype)
    args = []
    for i, a in enumerate(edge.args):
        if isinstance(a, int):
            args.append(a)
        else:
            args.append(xp.asarray(a, dtype=dt, requires_grad=i == edge.wrt))
    with np.errstate(all="ignore"):
        y = getattr(xp.special, edge.fn)(*args)
        assert y.dtype == dt, (y.dtype, dt)
        if edge.wrt is None:
            return float(y), None
        (g,) = xpgrad.grad(y, [args[edge.wrt]])
    return float(y), float(g)


@pytest.mark.parametrize(("backend", "edge", "dtype"), _params(EDGES))
def test_value_and_derivative_match_mpmath(backend, edge, dtype):
    want_value, want_grad = data.truth(edge, dtype)
    value, grad = _evaluate(xpgrad.namespace(backend), edge, dtype)
    atol = edge.atol * EPS[dtype]
    assert _close(value, want_value, dtype, _rtol(edge, dtype, "value"), atol), (
        f"value {value!r}, mpmath {want_value!r}"
    )
    if edge.wrt is not None:
        assert _close(grad, want_grad, dtype, _rtol(edge, dtype, "grad")), (
            f"derivative {grad!r}, mpmath {want_grad!r}"
        )


@pytest.mark.parametrize(("backend", "edge", "dtype"), _params(data.ROW_EDGES))
def test_composites_match_mpmath(backend, edge, dtype):
    xp = xpgrad.namespace(backend)
    want_value, want_grad = data.row_truth(edge, dtype)
    x = xp.asarray(list(edge.x), dtype=getattr(xp, dtype), requires_grad=True)
    w = xp.asarray([float(i) for i in range(1, len(edge.x) + 1)], dtype=getattr(xp, dtype))
    with np.errstate(all="ignore"):
        y = getattr(xp.special, edge.fn)(x, axis=-1)
        (g,) = xpgrad.grad(xp.sum((w[: y.shape[0]] if y.ndim else 1.0) * y), [x])
    values = [float(v) for v in np.atleast_1d(np.asarray(y.tolist()))]
    grads = [float(v) for v in g.tolist()]
    bad = [
        (i, v, t)
        for i, (v, t) in enumerate(zip(values, want_value))
        if not _close(v, t, dtype, ULPS[dtype]["value"] * EPS[dtype])
    ]
    assert not bad, f"values (index, xpgrad, mpmath): {bad}"
    bad = [
        (i, v, t)
        for i, (v, t) in enumerate(zip(grads, want_grad))
        if not _close(v, t, dtype, ULPS[dtype]["grad"] * EPS[dtype])
    ]
    assert not bad, f"gradient (index, xpgrad, mpmath): {bad}"
