"""Forward-mode rules of ``xp.special`` (issue 14): every function is a derivative-table entry
with ``jvp=ELEMENTWISE`` (the tangent is each input's VJP applied to its tangent, summed), and
each rule is checked here against finite differences of the forward (Richardson-extrapolated), for every sample
of the registry (``xpgrad/testing/samples/special.py``), on raw NumPy arrays:

- with a random tangent on each differentiable input alone, and on all of them together (the
  tangent has the result's shape, broadcasting included);
- on Tensors of the xpgrad namespace (the rule is array API code on the namespace it gets): the
  same tangent, and its gradient (reverse-over-forward) against finite differences of the rule;
- a tangent reaching a parameter without a derivative (shape parameters, integer orders,
  degrees of freedom) raises the same clear error as a gradient does.

The composites ``logsumexp``, ``softmax``, ``log_softmax``, ``expm1`` and ``log1p`` are not
entries: they are written with the namespace's own differentiable functions, whose rules are
checked in their own files.
"""

from __future__ import annotations

import numpy as np
import pytest

import xpgrad
from xpgrad import special as special_mod
from xpgrad._gradcheck import richardson_derivative
from xpgrad._optable import Op, jvp_of
from xpgrad.testing import iter_cases, op_db, seed_for

COMPOSITES = {"logsumexp", "softmax", "log_softmax", "expm1", "log1p"}
CASES = [
    c
    for c in iter_cases([o for o in op_db() if o.name.startswith("special.")], dtypes=("float64",))
    if c.op.name.removeprefix("special.") not in COMPOSITES
]
# Samples differentiated in at least one argument with a derivative (zetac has none: its
# samples are the error case below). The reference is Richardson-extrapolated finite differences
# (as tests/test_ops_fd.py's), at a tolerance that catches a 1e-6 relative error in a tangent.
RTOL = 1e-7
ATOL = 1e-9


def _name(case):
    return case.op.name.removeprefix("special.")


def _entry(case) -> Op:
    return getattr(special_mod, _name(case))


def _table_row(name):
    return special_mod.TABLE[special_mod.ALIASES.get(name, name)]


def _value(entry, inputs):
    """The forward's value on raw arrays (the entry returns it with what its derivatives need
    of the forward, ``aux``: where the value is nan, ...)."""
    res = entry.call(np, inputs, {})
    return np.asarray(res[0] if entry.aux else res)


def _inputs(case):
    """The sample's values, one per parameter (all parameters are inputs of the entry)."""
    entry = _entry(case)
    assert not case.sample.kwargs and entry.args == ()
    return tuple(a.copy() if isinstance(a, np.ndarray) else a for a in case.sample.args)


def _tangents(case, inputs, which):
    rng = np.random.default_rng(seed_for(case.id, which))
    return tuple(rng.standard_normal(np.shape(a)) if i in which else None for i, a in enumerate(inputs))


def _central(entry, inputs, tangents):
    """Richardson-extrapolated central differences of the forward along the tangents."""

    def at(s):
        moved = tuple(a if t is None else a + s * t for a, t in zip(inputs, tangents))
        return _value(entry, moved)

    return richardson_derivative(at)


def _differentiable(case):
    """The sample's differentiated arguments that have a derivative."""
    fn = _table_row(_name(case))
    return tuple(i for i in case.sample.grad if not isinstance(fn.grads[i], str))


def _subsets(case):
    grad = _differentiable(case)
    return [(i,) for i in grad] + ([grad] if len(grad) > 1 else [])


def test_every_special_function_is_an_entry_with_a_forward_rule():
    names = set(special_mod.TABLE) | set(special_mod.ALIASES)
    assert names <= set(special_mod.__all__)
    for name in names:
        entry = getattr(special_mod, name)
        assert type(entry) is Op and entry.jvp is not None, name
        assert entry.node_name == f"special.{name}"
    assert {c.op.name.removeprefix("special.") for c in CASES} == names


@pytest.mark.parametrize("case", [c for c in CASES if _differentiable(c)], ids=lambda c: c.id)
def test_rule_matches_central_differences(case):
    entry = _entry(case)
    inputs = _inputs(case)
    out = _value(entry, inputs)
    for which in _subsets(case):
        tangents = _tangents(case, inputs, which)
        got = np.asarray(jvp_of(entry)(np, tangents, inputs, {}))
        # forward_ad broadcasts a rule's tangent to the result's shape (a tangent that does not
        # depend on the other, broadcast, inputs keeps its own shape).
        got = np.broadcast_to(got, out.shape)
        np.testing.assert_allclose(got, _central(entry, inputs, tangents), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize(
    "case", [c for c in CASES if c.sample_name in ("1-d", "0-d") and _differentiable(c)], ids=lambda c: c.id
)
def test_rule_on_tensors_and_reverse_over_forward(case):
    """The rule run on Tensors gives the tangent computed on raw arrays, and differentiating
    ``sum(tangent * w)`` with respect to the inputs matches finite differences of the rule."""
    xp = xpgrad.numpy
    entry = _entry(case)
    inputs = _inputs(case)
    which = _differentiable(case)
    tangents = _tangents(case, inputs, which)
    expected = np.asarray(jvp_of(entry)(np, tangents, inputs, {}))
    expected = np.broadcast_to(expected, np.shape(_value(entry, inputs)))
    leaves = [
        xp.asarray(a, requires_grad=i in which) if isinstance(a, np.ndarray) else a
        for i, a in enumerate(inputs)
    ]
    ts = tuple(None if t is None else xp.asarray(t) for t in tangents)
    out = getattr(xp.special, entry.name)(*leaves)
    aux = entry.call(np, inputs, {})[1]  # what the derivatives need of the forward (raw arrays)
    tangent = jvp_of(entry)(xp, ts, tuple(leaves), {}, out=out, aux=aux)
    got = np.broadcast_to(np.asarray(tangent.tolist()), expected.shape)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-14)
    w = np.random.default_rng(seed_for(case.id, "w")).standard_normal(expected.shape)
    loss = xp.sum(tangent * xp.asarray(w))
    # A tangent that does not depend on an input (radian's is linear) has no path to it.
    grads = xpgrad.grad(loss, [leaves[i] for i in which], allow_unused=True) if loss.requires_grad else ()
    for i, g in zip(which, grads):
        g = np.zeros(np.shape(inputs[i])) if g is None else np.asarray(g.tolist())
        probe = np.random.default_rng(seed_for(case.id, "probe", i)).standard_normal(np.shape(inputs[i]))

        def rule_at(s, i=i, probe=probe):
            moved = tuple(a + s * probe if k == i else a for k, a in enumerate(inputs))
            return np.sum(np.broadcast_to(jvp_of(entry)(np, tangents, moved, {}), w.shape) * w)

        fd = richardson_derivative(rule_at)
        np.testing.assert_allclose(np.sum(g * probe), fd, rtol=RTOL, atol=ATOL)


_MISSING = [
    (name, p)
    for name in sorted(set(special_mod.TABLE) | set(special_mod.ALIASES))
    for p, d in zip(_table_row(name).params, _table_row(name).grads)
    if isinstance(d, str)
]


@pytest.mark.parametrize(("name", "param"), _MISSING, ids=[f"{n}-{p}" for n, p in _MISSING])
def test_tangent_of_a_parameter_without_derivative_raises(name, param):
    case = next(c for c in CASES if c.op.name == f"special.{name}" and c.sample_name == "1-d")
    entry = _entry(case)
    inputs = _inputs(case)
    k = entry.inputs.index(param)
    tangents = tuple(np.ones(np.shape(a)) if i == k else None for i, a in enumerate(inputs))
    with pytest.raises(
        NotImplementedError, match=f"derivative of special.{name} with respect to {param} is not implemented"
    ):
        jvp_of(entry)(np, tangents, inputs, {})


@pytest.mark.parametrize("backend", ["numpy", "array_api_strict"])
def test_entries_as_users_see_them(backend):
    """``dir(xp.special)`` lists every public name; each function's docstring is its entry's (the
    summary, the gradient and forward-mode convention, the deviations from torch) and its
    signature the spec's; the node is named after the public function."""
    import inspect

    sp = xpgrad.namespace(backend).special
    assert set(special_mod.FUNCTIONS) <= set(dir(sp))
    for name in special_mod.FUNCTIONS:
        doc = getattr(sp, name).__doc__
        assert "Deviations from torch:" in doc and "Gradient" in doc, name
    for name in set(special_mod.TABLE) | set(special_mod.ALIASES):
        entry = getattr(special_mod, name)
        assert getattr(sp, name).__doc__ == entry.forward.__doc__
        assert list(inspect.signature(getattr(sp, name)).parameters) == list(_table_row(name).params)
    x = xpgrad.namespace(backend).asarray([0.5, 1.5], requires_grad=True)
    assert type(sp.bessel_j0(x).grad_fn).__name__ != "NoneType"
    assert sp.bessel_j0(x).grad_fn.name == "special.bessel_j0"
    assert repr(sp.bessel_j0(x).grad_fn) == "<SpecialBesselJ0Backward>"


@pytest.mark.parametrize(
    "case", [c for c in CASES if c.sample_name == "1-d" and _differentiable(c)], ids=lambda c: c.id
)
def test_rule_on_array_api_strict_gives_numpys_tangent(case):
    """The rules are array API code: on raw array-api-strict arrays (special functions through
    SciPy on a NumPy copy) they give the tangent they give on NumPy."""
    import array_api_strict as strict

    entry = _entry(case)
    inputs = _inputs(case)
    tangents = _tangents(case, inputs, _differentiable(case))
    expected = np.asarray(jvp_of(entry)(np, tangents, inputs, {}))

    def to_strict(a):
        return strict.asarray(a) if isinstance(a, np.ndarray) else a

    got = jvp_of(entry)(strict, tuple(map(to_strict, tangents)), tuple(map(to_strict, inputs)), {})
    np.testing.assert_allclose(np.asarray(got), expected, rtol=1e-12, atol=1e-14)
