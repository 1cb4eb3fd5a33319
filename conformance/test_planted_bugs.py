"""The suite catches bugs: plant a slightly wrong VJP, run the runner on that function's samples,
and check that failures are reported, naming the function and the sample.

Elementwise functions are closures built per namespace (``_fastpaths.make_unary``): the planted one
replaces the namespace attribute. Table entries (``_optable.op``) hold their VJPs: the planted
one replaces them in the entry (and drops the node VJPs built from them). Functions not yet in
the table look their VJP up as a module global when they record: the planted one replaces that
global. ``monkeypatch`` restores all of them, and the last test checks that the restored
functions pass again.

The suite's resolution (issue 24): a relative bias of 1e-6 and 1e-7 in float64, and 1e-4 in
float32, planted into an elementwise function (``sin``), a reduction (``prod``), a linalg
function (``linalg.inv``) and a special function (``special.erf``), is caught by every kind of
check: a bias of the first-order rules (the VJP, and the forward rule: derived from the VJP for
elementwise functions, the entry's own JVP for the others) by ``first`` and ``jvp``; a bias of
the second order only (the VJP's own derivative, its value unchanged) by ``second`` and
``fwd_rev``, while ``first`` and ``jvp`` still pass.
"""

from __future__ import annotations

import functools
import inspect

import pytest

from xpgrad import _linear_algebra_functions, _statistical_functions
from xpgrad import linalg as _linalg
from xpgrad import special as _special
from xpgrad._fastpaths import make_unary
from xpgrad.conformance._report import Report
from xpgrad.conformance._suite import checks_for, forward_checks_for
from xpgrad.testing import assert_check, iter_cases, op_db, run_check

FACTOR = 1.01  # 1% off: far outside every tolerance, small enough to look plausible


def _off(result):
    """``result`` (one gradient or a tuple of them) with its first gradient scaled by FACTOR."""
    if isinstance(result, tuple):
        out = list(result)
        for k, g in enumerate(out):
            if g is not None:
                out[k] = g * FACTOR
                break
        return tuple(out)
    return result * FACTOR


def _wrong(vjp):
    @functools.wraps(vjp)
    def wrong(*args, **kwargs):
        return _off(vjp(*args, **kwargs))

    return wrong


def _wrong_sin_vjp(xp, g, x):
    return g * xp.cos(x) * FACTOR  # sin's VJP is g * cos(x): 1% off


def _plant_sin(monkeypatch, ns):
    monkeypatch.setattr(ns, "sin", make_unary(ns, "sin", ns._xp.sin, _wrong_sin_vjp))


def _plant_matmul(monkeypatch, xp):
    _plant_entry(monkeypatch, _linear_algebra_functions.matmul)


def _plant_entry(monkeypatch, entry):
    """Plant into a table entry: its VJPs (and the node VJPs built from them) are replaced."""
    grads = [gr._replace(vjp=_wrong(gr.vjp)) for gr in entry.grads]
    monkeypatch.setattr(entry, "grads", grads)
    monkeypatch.setattr(entry, "_plans", {})


def _plant_inv(monkeypatch, xp):
    _plant_entry(monkeypatch, _linalg.inv)


def _plant_prod(monkeypatch, xp):
    _plant_entry(monkeypatch, _statistical_functions.prod)


PLANTED = {"sin": _plant_sin, "matmul": _plant_matmul, "linalg.inv": _plant_inv, "prod": _plant_prod}


def _run(xp, name, dtypes=("float64",)):
    ops = [op for op in op_db() if op.name == name]
    results = []
    for case in iter_cases(ops, dtypes=dtypes):
        for check in checks_for(case.op):
            if check == "forward":
                continue
            results.append(
                (case, run_check(case.op, case.sample, case.dtype, xp, check, sample_name=case.sample_name))
            )
    return results


@pytest.mark.parametrize("name", list(PLANTED))
def test_planted_bug_is_reported(name, xp, monkeypatch):
    PLANTED[name](monkeypatch, xp)
    results = _run(xp, name)
    failed = [(case, r) for case, r in results if r.status == "fail"]
    # Every sample with a nonzero gradient fails its first-order check.
    first = [r for _, r in results if r.check == "first"]
    assert failed, f"the planted bug in {name}'s VJP went unnoticed"
    assert sum(r.status == "fail" for r in first) >= len(first) // 2, [(r.sample, r.status) for r in first]
    case, r = failed[0]
    assert r.max_abs_error is not None and r.max_abs_error > 0, r
    assert "gradient" in r.message and r.seed is not None
    # The pytest message names the function, the sample, the dtype and the seed ...
    with pytest.raises(AssertionError) as info:
        assert_check(case.op, case.sample, case.dtype, xp, r.check, sample_name=case.sample_name)
    message = str(info.value)
    assert message.startswith(f"{name} [{case.sample_name}, float64, ")
    assert f"(seed {r.seed})" in message
    # ... and so does the report.
    report = Report([r for _, r in results], xp, elapsed=0.0)
    assert not report.ok
    text = report.text()
    assert f"FAIL {name} [{case.sample_name}, float64] {r.check}: max abs error" in text
    assert f"seed {r.seed}" in text
    assert "F" in report._cell_text(report.rows[name][("float64", r.check)])


def test_planted_bug_fails_the_command_line(xp, monkeypatch, capsys, pytestconfig):
    from .__main__ import main

    _plant_sin(monkeypatch, xp)
    backend = pytestconfig.getoption("--backend")
    status = main(["--backend", backend, "--only", "sin", "--dtypes", "float64", "--no-progress"])
    out = capsys.readouterr().out
    assert status == 1
    assert "FAIL sin [" in out and "failed" in out.splitlines()[-1]


@pytest.mark.parametrize("name", list(PLANTED))
def test_restored_functions_pass(name, xp):
    assert all(r.status in ("pass", "xfail") for _, r in _run(xp, name)), name


# -- the finite-difference reference (where torch has no derivative) ---------------------------------


def _planted_sin(first=0.0, second=0.0):
    """An OpInfo whose reference is finite differences (``fd_reference``): a custom Function
    computing sin whose derivative (VJP and JVP) is off by the relative error ``first``, and whose
    VJP's own derivative (second order, forward-over-reverse) is off by ``second`` times the
    cotangent (a term ``second * g * (x - x.detach())``, zero in value)."""
    import xpgrad
    from xpgrad.testing import OpInfo, Sample

    class Sin(xpgrad.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x.__array_namespace__().sin(x)

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * x.__array_namespace__().cos(x) * (1 + first) + second * g * (x - x.detach())

        @staticmethod
        def jvp(ctx, t):
            (x,) = ctx.saved_tensors
            return t * x.__array_namespace__().cos(x) * (1 + first)

    def samples(rng, dtype):
        yield Sample((rng.uniform(-2, 2, size=(5,)),), name="1d")
        yield Sample((rng.uniform(-2, 2, size=(2, 3)),), name="2d")

    return OpInfo(
        "planted_sin",
        samples,
        fn=lambda xp, x: Sin.apply(x),
        fd_reference=dict.fromkeys(("first", "second", "jvp", "fwd_rev"), "planted: no torch reference"),
    )


def _run_fd(xp, op, dtype="float64"):
    out = {}
    for case in iter_cases([op], dtypes=(dtype,)):
        for check in ("first", "second", "jvp", "fwd_rev"):
            r = run_check(op, case.sample, dtype, xp, check, sample_name=case.sample_name)
            out.setdefault(check, []).append(r)
    return out


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_finite_difference_reference_passes_a_right_derivative(xp, dtype):
    results = [r for rs in _run_fd(xp, _planted_sin(), dtype).values() for r in rs]
    assert {r.status for r in results} == {"fd"}, [(r.sample, r.check, r.status, r.message) for r in results]
    assert all(r.reference == "finite differences" and r.reference_reason for r in results)
    assert Report(results, xp, elapsed=0.0).counts["fd"] == len(results)


@pytest.mark.parametrize(
    ("planted", "caught_by"),
    [({"first": 1e-6}, ("first", "jvp")), ({"second": 1e-6}, ("second", "fwd_rev"))],
    ids=["first_order", "second_order"],
)
def test_finite_difference_reference_catches_a_1e_6_error(xp, planted, caught_by):
    # float64: the finite differences (Richardson-extrapolated, in float64) are accurate to about
    # 1e-10 relative, so a 1e-6 error fails its checks. The second-order checks differentiate
    # xpgrad's own first-order gradient: they see an error of the second order only (a first-order
    # one is the first-order checks' to see).
    results = _run_fd(xp, _planted_sin(**planted))
    for check, rs in results.items():
        want = "fail" if check in caught_by else "fd"
        assert [r.status for r in rs] == [want] * len(rs), (check, [(r.status, r.message) for r in rs])
    failed = [r for c in caught_by for r in results[c]]
    assert all(
        r.message.startswith("against finite differences (planted: no torch reference)") for r in failed
    )
    report = Report([r for rs in results.values() for r in rs], xp, elapsed=0.0)
    assert not report.ok and report.counts["fail"] == len(failed)


# -- resolution: small biases, every kind of check ------------------------------------------------

RESOLUTION = [("float64", 1e-6), ("float64", 1e-7), ("float32", 1e-4)]


def _first_order_bias(eps):
    """A VJP or JVP result, every gradient ``(1 + eps)`` times too large."""

    def bias(v):
        return v if v is None else v * (1 + eps)

    return bias


def _second_order_bias(eps):
    """``v + eps * (v - detach(v))``: the value of ``v`` unchanged, its derivatives (the second
    order, the tangent in forward-over-reverse) ``(1 + eps)`` times too large. A plain backward
    computes VJPs on raw arrays (no ``detach``): those stay exact."""

    def bias(v):
        if v is None or not hasattr(v, "detach"):
            return v
        return v + (v - v.detach()) * eps

    return bias


def _biased(fn, bias):
    @functools.wraps(fn)
    def biased(*args, **kwargs):
        out = fn(*args, **kwargs)
        return tuple(bias(v) for v in out) if isinstance(out, tuple) else bias(out)

    return biased


def _plant_bias(monkeypatch, xp, name, bias, jvp):
    """``bias`` into ``name``'s VJPs, and into its own forward rule if ``jvp`` (elementwise
    functions derive theirs from the VJP)."""
    if name == "sin":

        def sin_vjp(xp, g, x):
            return bias(g * xp.cos(x))

        monkeypatch.setattr(xp, "sin", make_unary(xp, "sin", xp._xp.sin, sin_vjp))
        return
    entry = {"prod": _statistical_functions.prod, "linalg.inv": _linalg.inv, "special.erf": _special.erf}[
        name
    ]
    grads = [gr._replace(vjp=_biased(gr.vjp, bias)) for gr in entry.grads]
    monkeypatch.setattr(entry, "grads", grads)
    monkeypatch.setattr(entry, "_plans", {})
    if jvp and callable(entry.jvp) and inspect.isfunction(entry.jvp):
        monkeypatch.setattr(entry, "jvp", _biased(entry.jvp, bias))


def _run_all(xp, name, dtype):
    """{check: [status per sample]} for the reverse and forward-mode checks of ``name``."""
    out: dict[str, list[str]] = {}
    for case in iter_cases([op for op in op_db() if op.name == name], dtypes=(dtype,)):
        for check in checks_for(case.op):
            if check != "forward":
                r = run_check(case.op, case.sample, dtype, xp, check, sample_name=case.sample_name)
                out.setdefault(check, []).append(r.status)
        for check in forward_checks_for(case.op):
            r = run_check(case.op, case.sample, dtype, xp, check, sample_name=case.sample_name)
            out.setdefault(check, []).append(r.status)
    return out


def _caught(statuses):
    """Caught: most samples fail (a sample whose gradient is 0, or below atol, cannot show it)."""
    return statuses and sum(s == "fail" for s in statuses) >= (len(statuses) + 1) // 2


@pytest.mark.parametrize("name", ["sin", "prod", "linalg.inv", "special.erf"])
@pytest.mark.parametrize(("dtype", "eps"), RESOLUTION, ids=[f"{d}-{e:g}" for d, e in RESOLUTION])
def test_first_order_bias_is_caught(name, dtype, eps, xp, monkeypatch):
    _plant_bias(monkeypatch, xp, name, _first_order_bias(eps), jvp=True)
    results = _run_all(xp, name, dtype)
    for check in ("first", "jvp"):
        assert _caught(results[check]), (name, dtype, eps, check, results[check])


@pytest.mark.parametrize("name", ["sin", "prod", "linalg.inv", "special.erf"])
@pytest.mark.parametrize(("dtype", "eps"), RESOLUTION, ids=[f"{d}-{e:g}" for d, e in RESOLUTION])
def test_second_order_bias_is_caught(name, dtype, eps, xp, monkeypatch):
    _plant_bias(monkeypatch, xp, name, _second_order_bias(eps), jvp=False)
    results = _run_all(xp, name, dtype)
    for check in ("second", "fwd_rev"):
        assert _caught(results[check]), (name, dtype, eps, check, results[check])
    # The first order is untouched: the bias is the second order's alone.
    for check in ("first", "jvp"):
        assert all(s in ("pass", "xfail") for s in results[check]), (name, check, results[check])
