"""Forward-mode rules of the elementwise functions against central finite differences.

For every registry sample of every differentiable elementwise function (``testing/samples/
elementwise.py``), in float64 and complex128, the rule of its entry (``_fastpaths.jvp_of``; the
hand-written ``clip`` rule) runs on the raw NumPy backend with random tangents and is compared
with the sum over the inputs of the central differences ``(f(x + eps*t) - f(x - eps*t)) / (2*eps)``
of the backend's own function (complex inputs: the tangent of ``f(z + eps*t)`` along a complex
``t``). Samples at
points where finite differences do not apply carry a ``gradcheck`` xfail in the registry; they
are expected to fail here too.

The fast paths' forward-mode hook is checked with a recorder in place of the forward-mode module:
what it is handed, and that its rule gives the same tangents on the xpgrad namespace.
"""

from __future__ import annotations

import numpy as np
import pytest

import xpgrad
from xpgrad import _elementwise_functions as ef
from xpgrad import _fastpaths, _forward
from xpgrad.testing import iter_cases, op_db, seed_for
from xpgrad.testing._runner import _convert, find_xfail

DTYPES = ("float64", "complex128")
EPS = 1e-6
ELEMENTWISE_NAMES = {*ef.UNARY, *ef.BINARY, *ef.UNARY_METHODS, "clip"}


def _rule_of(name, args, dtype):
    """The forward-mode rule that serves this call (pow and sign have two entries)."""
    if name == "clip":
        return ef._clip_rule
    if name == "pow":
        scalar = isinstance(args[1], (int, float, complex))
        return _fastpaths.jvp_of(ef.BINARY["pow"] if scalar else ef._POW_ARRAY)
    if name == "sign":
        return _fastpaths.jvp_of(ef._SIGN_COMPLEX if dtype.startswith("complex") else ef._SIGN_REAL)
    return _fastpaths.jvp_of(ef.UNARY[name] if name in ef.UNARY else ef.BINARY[name])


def _cases():
    ops = [op for op in op_db() if op.differentiable and op.name in ELEMENTWISE_NAMES]
    assert {op.name for op in ops} == ELEMENTWISE_NAMES, "every elementwise function has samples"
    params = []
    for case in iter_cases(ops, dtypes=DTYPES):
        reason = find_xfail(case.op, case.sample, "gradcheck", case.dtype, "numpy")
        marks = []
        if reason is not None:
            marks.append(pytest.mark.xfail(reason=reason, strict=True))
        params.append(pytest.param(case, id=case.id, marks=marks))
    return params


def _tangent(rng, a):
    t = rng.standard_normal(a.shape)
    if a.dtype.kind == "c":
        t = t + 1j * rng.standard_normal(a.shape)
    return np.asarray(t, dtype=a.dtype)


@pytest.mark.parametrize("case", _cases())
def test_jvp_rule_matches_finite_differences(case):
    xp = xpgrad.namespace("numpy")._xp  # the raw backend namespace
    inputs = _convert(case.sample, case.dtype, lambda a, want: np.array(a), lambda a: a, differentiate=True)
    args, kwargs = list(inputs.args), dict(inputs.kwargs)
    assert not kwargs or case.op.name == "clip"
    rng = np.random.default_rng(seed_for(case.id, "jvp"))
    leaf_ids = [id(a) for a in inputs.leaves]
    tangents = [_tangent(rng, a) if id(a) in leaf_ids else None for a in args]

    def f(i, shift):
        moved = [a + shift * t if j == i else a for j, (a, t) in enumerate(zip(args, tangents))]
        return np.asarray(case.op.call(xp, *moved, **kwargs))

    out = f(None, 0)
    # The JVP is linear in the tangents: one central difference per input (as gradcheck; moving
    # every input at once could leave a domain, e.g. 0 ** x2 with a negative base).
    expected = sum((f(i, EPS) - f(i, -EPS)) / (2 * EPS) for i, t in enumerate(tangents) if t is not None)
    rule = _rule_of(case.op.name, args, case.dtype)
    primals = tuple(args) + (None,) * (3 - len(args)) if case.op.name == "clip" else tuple(args)
    if case.op.name == "clip":
        tangents += [None] * (3 - len(tangents))
    got = rule(xp, tuple(tangents), primals, {}, out)
    assert got.shape == out.shape and got.dtype == out.dtype, (got.shape, got.dtype, out.shape, out.dtype)
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-7)


# -- rules written out (not derived): the non-holomorphic functions ----------------------------------


def test_abs_and_sign_of_complex_follow_torchs_rules():
    # torch: abs's tangent is Re(conj(t) * sgn(z)), sgn's is sgn_backward(z, t, sgn(z)); both 0
    # at 0j (values from torch.autograd.forward_ad at these points).
    xp = np
    z = np.array([0j, 1 + 1j])
    t = np.array([1 + 2j, 3 - 1j])
    abs_t = _fastpaths.jvp_of(ef.UNARY["abs"])(xp, (t,), (z,))
    np.testing.assert_allclose(abs_t, [0.0, 2**0.5])
    assert abs_t.dtype == np.float64
    with np.errstate(invalid="ignore"):  # NumPy's sign of 0j warns (0j / 0)
        sgn_t = _fastpaths.jvp_of(ef._SIGN_COMPLEX)(xp, (t,), (z,))
    np.testing.assert_allclose(sgn_t, [0j, 2**0.5 - 2**0.5 * 1j])


def test_atan2_tangent_at_the_origin_is_0_deviation():
    # torch.autograd.forward_ad gives nan there (0/0 in its formula); xpgrad gives 0, as the
    # first-order gradient both give (docs/deviations.md).
    zero = np.zeros(1)
    rule = _fastpaths.jvp_of(ef.BINARY["atan2"])
    np.testing.assert_array_equal(rule(np, (np.ones(1), np.ones(1)), (zero, zero)), [0.0])


def test_clip_ties_follow_torchs_clamp_jvp():
    # torch.autograd.forward_ad on torch.clamp at x == min and x == max: with both array bounds
    # the tangent is x's; with one array bound, the bound's; Python scalar bounds are inclusive.
    x = np.array([-0.5, 0.5, 0.0, 1.0])
    lo, hi = np.full(4, -0.5), np.full(4, 0.5)
    tx, tl, th = np.array([1.0, 2.0, 3.0, 4.0]), np.full(4, 10.0), np.full(4, 100.0)
    rule = ef._clip_rule
    np.testing.assert_array_equal(rule(np, (tx, tl, th), (x, lo, hi)), [1, 2, 3, 100])
    np.testing.assert_array_equal(rule(np, (tx, tl, None), (x, lo, None)), [10, 2, 3, 4])
    np.testing.assert_array_equal(rule(np, (tx, None, th), (x, None, hi)), [1, 100, 3, 100])
    np.testing.assert_array_equal(rule(np, (tx, None, None), (x, -0.5, 0.5)), [1, 2, 3, 0])
    np.testing.assert_array_equal(rule(np, (tx, th, tl), (x, hi, lo)), [10] * 4)


def test_every_entry_names_its_forward_rule():
    # jvp= is required: an entry without a forward-mode rule cannot be written.
    with pytest.raises(TypeError):
        _fastpaths.unary(lambda xp, g: g)
    with pytest.raises(TypeError, match="names from"):
        _fastpaths.unary(lambda xp, g: g, jvp=lambda xp, t: t)


# -- the fast paths' forward-mode hook ----------------------------------------------------------------


class _Recorder:
    active = True

    def __init__(self):
        self.calls = []

    def __call__(self, ns, name, rule, inputs, out):
        self.calls.append((ns, name, rule, inputs, out))


@pytest.fixture
def recorder(monkeypatch):
    rec = _Recorder()
    monkeypatch.setattr(_fastpaths, "FORWARD_MODE", rec)
    monkeypatch.setattr(_forward, "propagate", rec)
    return rec


def _data(t):
    return np.asarray(t.data)


def test_fast_paths_hand_tangents_to_the_forward_mode_hook(recorder):
    xp = xpgrad.namespace("numpy")
    x = xp.asarray(np.array([0.5, 1.5]))
    y = xp.asarray(np.array([2.0, -1.0]))
    tx = xp.asarray(np.array([1.0, -2.0]))
    ty = xp.asarray(np.array([0.5, 3.0]))

    out = xp.sin(x)
    ((ns, name, rule, inputs, result),) = recorder.calls
    assert (ns, name, result) == (xp, "sin", out) and inputs[0] is x and len(inputs) == 1
    np.testing.assert_allclose(_data(rule((tx,))), np.cos([0.5, 1.5]) * [1.0, -2.0])

    recorder.calls.clear()
    out = x * y
    ((_, name, rule, inputs, result),) = recorder.calls
    assert name == "multiply" and inputs == (x, y) and result is out
    np.testing.assert_allclose(_data(rule((tx, ty))), [1.0 * 2.0 + 0.5 * 0.5, -2.0 * -1.0 + 1.5 * 3.0])
    np.testing.assert_allclose(_data(rule((None, ty))), [0.25, 4.5])  # x has no tangent

    recorder.calls.clear()
    out = xp.pow(x, 3)  # a Python scalar operand: no tangent of its own
    ((_, name, rule, inputs, _),) = recorder.calls
    assert name == "pow" and inputs == (x, 3)
    np.testing.assert_allclose(_data(rule((tx, None))), 3 * np.array([0.5, 1.5]) ** 2 * [1.0, -2.0])

    recorder.calls.clear()
    out = xp.add(xp.asarray(np.ones((3, 1))), y)  # broadcast: the tangent has the result's shape
    ((_, _, rule, _, result),) = recorder.calls
    assert _data(rule((None, ty))).shape == (3, 2)


def test_hand_written_functions_and_views_reach_the_hook(recorder):
    xp = xpgrad.namespace("numpy")
    z = xp.asarray(np.array([1 + 1j, -2j]))
    tz = xp.asarray(np.array([1.0 + 0j, 1j]))
    x = xp.asarray(np.array([-1.0, 0.2, 3.0]))
    tx = xp.asarray(np.array([1.0, 2.0, 3.0]))

    xp.sign(z)
    xp.clip(x, -0.5, 0.5)
    xp.real(z)  # NumPy's real of a complex array is a view of it: the view path
    names = [c[1] for c in recorder.calls]
    assert names == ["sign", "clip", "real"]
    sign_rule, clip_rule, real_rule = (c[2] for c in recorder.calls)
    np.testing.assert_allclose(_data(clip_rule((tx, None, None))), [0.0, 2.0, 0.0])
    np.testing.assert_allclose(_data(real_rule((tz,))), [1.0, 0.0])
    # sgn(1 + 1j) moves along 1 only by its component across the unit circle.
    s = (1 + 1j) / 2**0.5
    expected0 = (1 - np.real(1 * np.conj(s)) * s) / 2**0.5
    np.testing.assert_allclose(_data(sign_rule((tz,)))[0], expected0)


def test_non_differentiable_functions_and_grad_free_paths(recorder):
    xp = xpgrad.namespace("numpy")
    x = xp.asarray(np.array([1.0, 2.0]))
    xp.less(x, 1.5)
    xp.isnan(x)
    assert recorder.calls == []
    with xpgrad.no_grad():  # forward mode does not depend on grad mode
        xp.exp(x)
    assert [c[1] for c in recorder.calls] == ["exp"]


def test_hook_is_off_without_forward_mode():
    assert not _forward.FORWARD_MODE.active
    xp = xpgrad.namespace("numpy")
    xp.sin(xp.asarray(np.array([1.0])))  # no call into forward mode (it would raise)


# -- the generator ------------------------------------------------------------------------------------


def test_generated_functions_initialise_every_tensor_field():
    from xpgrad._tensor import Tensor

    xp = xpgrad.namespace("numpy")
    x = xp.asarray(np.array([1.0, 2.0]), requires_grad=True)
    for t in (xp.sin(x), x * 2.0, x * x, xp.equal(x, x), xp.sin(x.detach())):
        for slot in set(Tensor.__slots__) - {"__weakref__"}:
            getattr(t, slot)  # set (an unset slot raises AttributeError)


def test_every_function_shows_its_own_docstring():
    xp = xpgrad.namespace("numpy")
    for name in (*ef.UNARY, *ef.BINARY, *ef.NONDIFF_UNARY, *ef.NONDIFF_BINARY, "sign", "clip"):
        doc = getattr(xp, name).__doc__
        assert doc == ef.docstring(name), name
        assert "out=" not in doc and "where=" not in doc, name
        differentiable = name not in ef.NONDIFF_UNARY + ef.NONDIFF_BINARY
        assert ("Gradient:" in doc and "Deviations from torch:" in doc) == differentiable, name
    assert "sin(x, /)" in _help_text(xp.sin) and "add(x1, x2, /)" in _help_text(xp.add)


def _help_text(f):
    import pydoc

    return pydoc.render_doc(f, renderer=pydoc.plaintext)
