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
from pathlib import Path

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


def _second_params():
    out = []
    for backend in BACKENDS:
        for fn, x, rtol, _why in data.SECOND:
            for dtype in ("float64", "float32"):
                out.append(pytest.param(backend, fn, x, rtol, dtype, id=f"{backend}-{fn}({x!r})-{dtype}"))
    return out


@pytest.mark.parametrize(("backend", "fn", "x", "rtol", "dtype"), _second_params())
def test_second_derivative_matches_mpmath(backend, fn, x, rtol, dtype):
    """Second order (``create_graph=True``) where the exact formula of the derivative cancels:
    near a removable singularity (Taylor polynomials), in the tails (asymptotic series)."""
    xp = xpgrad.namespace(backend)
    t = xp.asarray(x, dtype=getattr(xp, dtype), requires_grad=True)
    with np.errstate(all="ignore"):
        (g,) = xpgrad.grad(getattr(xp.special, fn)(t), [t], create_graph=True)
        (h,) = xpgrad.grad(g, [t])
    want = data.second_truth(fn, x, dtype)
    rtol = rtol if rtol and dtype == "float64" else ULPS[dtype]["grad"] * EPS[dtype]
    assert _close(float(h), want, dtype, rtol), f"second derivative {float(h)!r}, mpmath {want!r}"


# -- where torch is wrong ---------------------------------------------------------------------
# xpgrad (on NumPy) gives mpmath's value there and torch does not; the test fails when torch
# changes, so that docs/deviations.md and docs/special-edges.md follow.
TORCH_WRONG = [
    (
        "ndtr",
        -13.0,
        "float64",
        "value",
        "torch.special.ndtr is (1 + erf(x/sqrt 2))/2: 0 below -8",
    ),  # SciPy: 3e-14
    ("ndtr", -37.0, "float64", "value", "torch.special.ndtr is 0 in the far tail"),
    ("polygamma", -1.0, "float64", "value", "torch.special.polygamma(1, x) is finite at the poles"),
    ("j0", 2.5, "float64", "value", "torch.special.bessel_j0 is 1e-12 off in float64"),
    ("y1", 2.5, "float64", "value", "torch.special.bessel_y1 is 1e-12 off in float64"),
    ("log_ndtr", -1000.0, "float32", "grad", "torch's derivative of log_ndtr cancels in the tail"),
    ("log_ndtr", -1e7, "float64", "grad", "torch's derivative of log_ndtr cancels in the tail"),
    ("i1", 700.0, "float32", "grad", "torch's derivative of i1 is inf - inf where i0 and i1 overflow"),
    (
        "expit",
        40.0,
        "float64",
        "grad",
        "torch's derivative of expit, out * (1 - out), is 0 once out rounds to 1",
    ),
    ("erfcx", 1e5, "float64", "grad", "torch's derivative of erfcx, 2 x out - 2/sqrt(pi), cancels"),
    ("i0e", 1e4, "float64", "grad", "torch's derivative of i0e, i1e - sign(x) i0e, cancels"),
]


def _torch_at(fn, x, dtype, kind):
    import torch

    t = torch.tensor(x, dtype=getattr(torch, dtype), requires_grad=True)
    names = {"j0": "bessel_j0", "y1": "bessel_y1"}
    if fn == "polygamma":
        y = torch.special.polygamma(1, t)
    else:
        y = getattr(torch.special, names.get(fn, fn))(t)
    if kind == "value":
        return y.item()
    (g,) = torch.autograd.grad(y, [t])
    return g.item()


@pytest.mark.parametrize(("fn", "x", "dtype", "kind", "why"), TORCH_WRONG, ids=lambda v: str(v)[:20])
def test_where_torch_is_wrong_xpgrad_matches_mpmath(fn, x, dtype, kind, why):
    pole = fn == "polygamma"  # polygamma(1, x) at the pole x = -1: +inf from both sides
    edge = data.Edge(
        fn,
        (1, x) if pole else (x,),
        1 if pole else 0,
        value=data.INF if pole else data.MP,
        grad=data.POLE if pole else data.MP,
    )

    want_value, want_grad = data.truth(edge, dtype)
    want = want_value if kind == "value" else want_grad
    value, grad = _evaluate(xpgrad.numpy, edge, dtype)
    got = value if kind == "value" else grad
    rtol = 1e-13 if fn == "ndtr" else ULPS[dtype][kind] * EPS[dtype]  # SciPy's ndtr(-13): 3e-14
    assert _close(got, want, dtype, rtol), f"xpgrad {got!r}, mpmath {want!r}"
    theirs = _torch_at(fn, x, dtype, kind)
    assert not _close(theirs, want, dtype, rtol), (
        f"torch now gives {theirs!r} (mpmath {want!r}): {why} no more"
    )


def test_the_docs_table_is_the_one_the_rows_make():
    """docs/special-edges.md holds the table ``python tests/_special_edges.py`` writes from the
    rows checked above (regenerate it with that command after changing a row)."""
    page = (Path(__file__).resolve().parent.parent / "docs" / "special-edges.md").read_text()
    start, end = page.index(data.BEGIN), page.index(data.END) + len(data.END)
    assert page[start:end] + "\n" == data.render_table(special_mod.TABLE), (
        "docs/special-edges.md is out of date: python tests/_special_edges.py"
    )


def test_every_function_has_rows():
    """Every function of xp.special has a row at an ordinary point (and so nan rows) and at
    least one edge point; the composites have rows too."""
    names = {e.fn for e in data.EDGES}
    missing = sorted(set(special_mod.TABLE) - names)
    assert not missing, f"no edge rows for {missing}"
    assert {e.fn for e in data.ROW_EDGES} == {"logsumexp", "softmax", "log_softmax"}
