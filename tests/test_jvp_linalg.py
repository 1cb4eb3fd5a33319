"""Forward-mode rules of the ``linalg`` extension, on every registry sample of its functions.

Each table entry's rule runs through ``xpgrad._optable.jvp_of`` on raw NumPy arrays (the
array-api-compat namespace the NumPy backend uses) with random tangents and is compared with
central finite differences of the entry's forward. Outputs defined only up to a gauge
(eigenvectors, singular vectors, the extra columns of a full ``U``) are compared through
gauge-invariant functions of them (projectors ``v v^H``, ``u v^H``, ``U2 U2^H``), and the rules
are also compared with ``torch.func.jvp`` evaluated at torch's own decomposition, which pins
the gauge (torch's convention is the one followed). The hand-written composite functions are
checked through ``xpgrad.functional.jvp``.
Argument errors keep their messages (tested at the end).
"""

from __future__ import annotations

import inspect

import array_api_compat.numpy as anp
import numpy as np
import pytest

import xpgrad
from xpgrad import linalg as L
from xpgrad._optable import Op, jvp_of
from xpgrad.testing import iter_cases, op_db
from xpgrad.testing._runner import _convert, seed_for

torch = pytest.importorskip("torch")

DTYPES = ("float64", "complex128")
EPS = 1e-6
RTOL, ATOL = 1e-5, 1e-6


def _mH(a):
    return np.conj(np.swapaxes(a, -1, -2))


def _herm(a):
    return a + _mH(a)


def _pd(a):
    return a @ _mH(a) + 3.0 * np.eye(a.shape[-1])


# Registry samples whose ``fn`` builds the op's input from the sample's array (torch's own
# tests do the same): the op's input, and tangents of the same structure (Hermitian).
PREPARE = {"linalg.eigh": _herm, "linalg.eigvalsh": _herm, "linalg.cholesky": _pd}
TANGENT = {"linalg.eigh": _herm, "linalg.eigvalsh": _herm, "linalg.cholesky": _herm}

# The hand-written functions (see linalg.py's module docstring for why each is not an entry).
COMPOSITE = {
    "linalg.eigvalsh",
    "linalg.eigvals",
    "linalg.svdvals",
    "linalg.matrix_power",
    "linalg.matrix_norm",
}
ALIASES = {"linalg.matmul", "linalg.matrix_transpose", "linalg.tensordot", "linalg.vecdot"}
NOT_DIFFERENTIABLE = {"linalg.matrix_rank"}


def _cases(names=None):
    ops = [o for o in op_db() if o.name.startswith("linalg.") and (names is None or o.name in names)]
    return [pytest.param(c, id=c.id) for c in iter_cases(ops, dtypes=DTYPES)]


def _sample(case):
    inp = _convert(case.sample, case.dtype, lambda a, want: a, lambda a: a, differentiate=False)
    args = list(inp.args)
    prep = PREPARE.get(case.op.name)
    if prep is not None:
        args[0] = prep(args[0])
    return args, dict(inp.kwargs)


def _random_like(rng, a):
    t = rng.standard_normal(a.shape)
    if np.iscomplexobj(a):
        t = t + 1j * rng.standard_normal(a.shape)
    return t.astype(a.dtype)


def _split(entry, args, kwargs):
    """(inputs, other arguments with every default) of an entry's call."""
    bound = entry.signature.bind(*args, **kwargs)
    bound.apply_defaults()
    values = dict(bound.arguments)
    return tuple(values.pop(n) for n in entry.inputs), values


def _tangents(case, rng, inputs):
    shape = TANGENT.get(case.op.name, lambda t: t)
    return tuple(shape(_random_like(rng, x)) for x in inputs)


def _setup(case, salt):
    """The entry of ``case``, the sample's keyword arguments, its inputs, the other arguments
    (with defaults) and random tangents."""
    entry = getattr(L, case.op.name.split(".", 1)[1])
    rng = np.random.default_rng(seed_for(salt, case.id))
    args, kwargs = _sample(case)
    inputs, other = _split(entry, args, kwargs)
    return entry, kwargs, inputs, other, _tangents(case, rng, inputs)


def _fd(f, inputs, tangents):
    plus = f(tuple(x + EPS * t for x, t in zip(inputs, tangents)))
    minus = f(tuple(x - EPS * t for x, t in zip(inputs, tangents)))
    if isinstance(plus, tuple):
        return tuple((p - m) / (2 * EPS) for p, m in zip(plus, minus))
    return (plus - minus) / (2 * EPS)


def _close(got, want, what, rtol=RTOL, atol=ATOL):
    got = got if isinstance(got, tuple) else (got,)
    want = want if isinstance(want, tuple) else (want,)
    assert len(got) == len(want), what
    for i, (g, w) in enumerate(zip(got, want)):
        g = np.asarray(g)
        w = np.asarray(w)
        assert g.shape == w.shape, f"{what}[{i}]: shape {g.shape} != {w.shape}"
        np.testing.assert_allclose(g, w, rtol=rtol, atol=atol, err_msg=f"{what}[{i}]")


# -- gauge-invariant views of the outputs ----------------------------------------------------------


def _projectors(v):
    """Per column: ``v_i v_i^H`` (..., n, m, m), independent of each column's sign or phase."""
    return np.stack([v[..., :, i, None] * np.conj(v[..., None, :, i]) for i in range(v.shape[-1])], axis=-3)


def _column_products(u, vh):
    """Per singular triple: ``u_i vh_i`` (..., k, m, n), independent of the shared phase."""
    k = vh.shape[-2]
    return np.stack([u[..., :, i, None] * vh[..., i, None, :] for i in range(k)], axis=-3)


def _view(name, kwargs, out):
    """The values compared by finite differences: the outputs, or gauge-invariant functions."""
    if name == "linalg.eigh" or name == "linalg.eig":
        return (out[0], _projectors(out[1]))
    if name == "linalg.svd":
        u, s, vh = out
        k = s.shape[-1]
        views = [_column_products(u[..., :, :k], vh[..., :k, :]), s]
        if kwargs.get("full_matrices", True):
            u2 = u[..., :, k:]
            v2 = _mH(vh[..., k:, :])
            views += [u2 @ _mH(u2), v2 @ _mH(v2)]
        return tuple(views)
    return out


def _view_tangent(name, kwargs, out, tan):
    """The tangent of ``_view`` at ``out`` along ``tan`` (central differences of a smooth map)."""
    if not isinstance(out, tuple):
        return tan
    plus = tuple(o + EPS * t for o, t in zip(out, tan))
    minus = tuple(o - EPS * t for o, t in zip(out, tan))
    return tuple((p - m) / (2 * EPS) for p, m in zip(_view(name, kwargs, plus), _view(name, kwargs, minus)))


# -- every entry's rule against finite differences ------------------------------------------------


ENTRY_CASES = _cases({"linalg." + n for n in L.ENTRIES})


@pytest.mark.parametrize("case", ENTRY_CASES)
def test_rule_matches_finite_differences(case):
    entry, kwargs, inputs, other, tangents = _setup(case, "jvp")
    out = entry.call(anp, inputs, other)
    got = jvp_of(entry)(anp, tangents, inputs, other)

    def f(xs):
        return _view(case.op.name, kwargs, entry.call(anp, xs, other))

    want = _fd(f, inputs, tangents)
    _close(_view_tangent(case.op.name, kwargs, out, got), want, case.id)


def test_every_linalg_function_is_covered():
    names = {o.name for o in op_db() if o.name.startswith("linalg.")}
    entries = {"linalg." + n for n in L.ENTRIES}
    assert all(type(getattr(L, n.split(".", 1)[1])) is Op for n in entries)
    assert names == entries | COMPOSITE | ALIASES | NOT_DIFFERENTIABLE
    # Every registry sample with its own ``fn`` is prepared here (a new one must be too).
    with_fn = {o.name for o in op_db() if o.name.startswith("linalg.") and o.fn is not None}
    assert with_fn == set(PREPARE)


@pytest.mark.parametrize("defined", [0, 1])
@pytest.mark.parametrize("case", _cases({"linalg.solve", "linalg.cross", "linalg.outer"}))
def test_rule_with_one_undefined_tangent(case, defined):
    # Forward mode hands a rule None for an input without a tangent (its `needs` is False).
    entry, kwargs, inputs, other, tangents = _setup(case, "jvp")
    given = tuple(t if i == defined else None for i, t in enumerate(tangents))
    zeros = tuple(t if i == defined else np.zeros_like(t) for i, t in enumerate(tangents))
    got = jvp_of(entry)(anp, given, inputs, other)
    _close(got, _fd(lambda xs: entry.call(anp, xs, other), inputs, zeros), case.id)


# -- the gauge: torch.func.jvp at torch's own decomposition --------------------------------------


def _torch_fn(name, kwargs):
    fname = name.split(".", 1)[1]

    def f(a):
        return tuple(getattr(torch.linalg, fname)(a, **kwargs))

    return f


GAUGE_CASES = _cases({"linalg.eigh", "linalg.eig", "linalg.svd"})


# torch.func warns once, on first use, that torch.jit.script (used inside torch) is deprecated.
@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")
@pytest.mark.parametrize("case", GAUGE_CASES)
def test_vector_tangents_follow_torchs_gauge(case):
    entry, kwargs, inputs, other, tangents = _setup(case, "gauge")
    f = _torch_fn(case.op.name, kwargs)
    x, t = torch.from_numpy(inputs[0]), torch.from_numpy(tangents[0])
    out_t, tan_t = torch.func.jvp(f, (x,), (t,))
    out = tuple(o.numpy() for o in out_t)
    got = jvp_of(entry)(anp, tangents, inputs, other, out=out)
    want = tuple(o.numpy(force=True) for o in tan_t)
    if case.op.name == "linalg.svd":
        # torch gives the extra columns of a full U (rows of Vh) a zero tangent, which does not
        # keep U unitary (docs/deviations.md): compared above through U2 U2^H; here the first K.
        k = out[1].shape[-1]
        got = (got[0][..., :, :k], got[1], got[2][..., :k, :])
        want = (want[0][..., :, :k], want[1], want[2][..., :k, :])
    _close(got, want, case.id)


def test_svd_full_matrices_tangent_keeps_u_unitary():
    rng = np.random.default_rng(3)
    a = rng.standard_normal((5, 3))
    t = rng.standard_normal((5, 3))
    u, s, vh = L.svd.call(anp, (a,), {"full_matrices": True})
    du, ds, dvh = jvp_of(L.svd)(anp, (t,), (a,), {"full_matrices": True})
    # d(U^H U) = 0 to first order: dU^H U + U^H dU = 0 (torch's zero tangent for the extra
    # columns breaks this).
    np.testing.assert_allclose(_mH(du) @ u + _mH(u) @ du, np.zeros((5, 5)), atol=1e-12)


# -- the hand-written functions -------------------------------------------------------------------


@pytest.mark.parametrize("case", _cases(COMPOSITE))
def test_composite_forward_derivative_matches_finite_differences(case):
    xp = xpgrad.namespace("numpy")
    rng = np.random.default_rng(seed_for("jvp", case.id))
    args, kwargs = _sample(case)
    x = args[0]
    t = TANGENT.get(case.op.name, lambda a: a)(_random_like(rng, x))
    fname = case.op.name.split(".", 1)[1]

    def f(a):
        return getattr(xp.linalg, fname)(a, *args[1:], **kwargs)

    _, got = xpgrad.functional.jvp(f, xp.asarray(x), xp.asarray(t))
    want = _fd(lambda xs: getattr(anp.linalg, fname)(xs[0], *args[1:], **kwargs), (x,), (t,))
    _close(np.asarray(got), want, case.id)


@pytest.mark.parametrize("n", [0, 1])
def test_matrix_power_base_cases(n):
    rng = np.random.default_rng(n)
    x = rng.standard_normal((2, 3, 3))
    t = rng.standard_normal((2, 3, 3))
    got = jvp_of(L._power01)(anp, (t,), (x,), {"n": n})
    _close(got, t if n else np.zeros_like(t), f"n={n}")


def test_aliases_are_the_main_namespaces_functions():
    xp = xpgrad.namespace("numpy")
    for name in ("matmul", "matrix_transpose", "tensordot", "vecdot"):
        ours, main = getattr(xp.linalg, name), getattr(xp, name)
        assert ours == main and ours.__func__ is main.__func__, name


# -- the namespace as users see it ------------------------------------------------------------------


def test_dir_lists_every_public_name_and_each_has_a_docstring():
    xp = xpgrad.namespace("numpy")
    public = {n for n in dir(xp.linalg) if not n.startswith("_")}
    assert set(L.FUNCTIONS) <= public
    for name in L.FUNCTIONS:
        fn = getattr(xp.linalg, name)
        doc = inspect.getdoc(fn) or ""
        assert doc.strip(), name
        if "linalg." + name in COMPOSITE or name in L.ENTRIES:
            assert "Deviation" in doc, f"{name}: the docstring names no deviation (or 'Deviations: none')"


def test_node_names_carry_the_extension_prefix():
    xp = xpgrad.namespace("numpy")
    a = xp.asarray(np.eye(3) * 2.0, requires_grad=True)
    assert xp.linalg.inv(a).grad_fn.name == "linalg.inv"
    assert repr(xp.linalg.inv(a).grad_fn) == "<LinalgInvBackward>"


# -- argument errors ---------------------------------------------------------------------------------

_ERRORS = [
    (
        "inv",
        (np.ones(3),),
        {},
        ValueError,
        r"linalg\.inv\(\): argument 'x' must have at least 2 dimensions, got 1",
    ),
    (
        "det",
        (np.ones((2, 3)),),
        {},
        ValueError,
        r"linalg\.det\(\): argument 'x' must be a stack of square matrices",
    ),
    (
        "eig",
        (np.ones((2, 2), dtype=np.int64),),
        {},
        TypeError,
        r"linalg\.eig\(\): argument 'x' must have a floating",
    ),
    (
        "qr",
        (np.ones((2, 2)),),
        {"mode": "r"},
        ValueError,
        r"linalg\.qr\(\): argument 'mode' must be 'reduced' or",
    ),
    (
        "solve",
        (np.eye(2), np.array(1.0)),
        {},
        ValueError,
        r"linalg\.solve\(\): argument 'x2' must have at least 1",
    ),
    (
        "solve",
        (np.ones((2, 3)), np.ones(2)),
        {},
        ValueError,
        r"linalg\.solve\(\): argument 'x1' must be a stack of sq",
    ),
    (
        "outer",
        (np.ones((2, 2)), np.ones(2)),
        {},
        ValueError,
        r"linalg\.outer\(\): argument 'x1' must be 1-dimensional",
    ),
    (
        "vector_norm",
        (np.ones(3, dtype=np.int64),),
        {},
        TypeError,
        r"linalg\.vector_norm\(\): argument 'x' must have",
    ),
    (
        "vector_norm",
        (np.ones(3),),
        {"axis": 2},
        IndexError,
        r"linalg\.vector_norm\(\): argument 'axis' value 2",
    ),
    (
        "matrix_norm",
        (np.ones((2, 2)),),
        {"ord": 3},
        ValueError,
        r"linalg\.matrix_norm\(\): argument 'ord' must be",
    ),
    (
        "matrix_norm",
        (np.ones((2, 2)),),
        {"ord": "x"},
        ValueError,
        r"linalg\.matrix_norm\(\): invalid 'ord' 'x'",
    ),
    (
        "matrix_power",
        (np.eye(2), 1.5),
        {},
        TypeError,
        r"linalg\.matrix_power\(\): argument 'n' must be an int",
    ),
    (
        "matrix_power",
        (np.ones((2, 3)), 2),
        {},
        ValueError,
        r"linalg\.matrix_power\(\): argument 'x' must be a stack",
    ),
    (
        "eigvalsh",
        (np.ones((2, 3)),),
        {},
        ValueError,
        r"linalg\.eigvalsh\(\): argument 'x' must be a stack of square",
    ),
    ("cholesky", ([[1.0]],), {}, TypeError, r"linalg\.cholesky\(\): argument 'x' must be an array"),
]


@pytest.mark.parametrize(("fname", "args", "kwargs", "exc", "match"), _ERRORS, ids=[e[0] for e in _ERRORS])
@pytest.mark.parametrize("requires_grad", [False, True])
def test_argument_errors_name_the_function_and_argument(fname, args, kwargs, exc, match, requires_grad):
    xp = xpgrad.namespace("numpy")
    args = tuple(
        xp.asarray(a, requires_grad=requires_grad and a.dtype.kind == "f") if isinstance(a, np.ndarray) else a
        for a in args
    )
    with pytest.raises(exc, match=match):
        getattr(xp.linalg, fname)(*args, **kwargs)


# -- the rules on the xpgrad namespace (forward mode runs them on Tensors) ---------------------------


def _numpy(v):
    if isinstance(v, tuple):
        return tuple(_numpy(e) for e in v)
    return np.asarray(v.detach()) if isinstance(v, xpgrad.Tensor) else np.asarray(v)


@pytest.mark.parametrize("case", _cases({"linalg." + n for n in L.ENTRIES}))
def test_rule_on_tensors_is_the_rule_on_arrays(case):
    xp = xpgrad.namespace("numpy")
    entry, kwargs, inputs, other, tangents = _setup(case, "jvp")
    want = jvp_of(entry)(anp, tangents, inputs, other)
    xs = tuple(xp.asarray(x, requires_grad=True) for x in inputs)
    out = getattr(xp.linalg, entry.name)(*xs, **{k: v for k, v in other.items() if k in kwargs})
    got = jvp_of(entry)(xp, tuple(xp.asarray(t) for t in tangents), xs, other, out=out)
    _close(_numpy(got), want, case.id, rtol=1e-12, atol=1e-12)


def _reverse_over_forward(name, make, kwargs=None):
    """d/dx of sum(re(tangent)) (the rule run on Tensors, then backward) vs central
    differences of the rule on arrays."""
    kwargs = kwargs or {}
    xp = xpgrad.namespace("numpy")
    entry = getattr(L, name)
    rng = np.random.default_rng(seed_for("rof", name))
    x, t = make(rng), make(rng)
    _, other = _split(entry, (x,), kwargs)

    def scalar(a):
        tan = jvp_of(entry)(anp, (t,), (a,), other)
        tan = tan if isinstance(tan, tuple) else (tan,)
        return sum(float(np.sum(np.real(v))) for v in tan)

    xt = xp.asarray(x, requires_grad=True)
    out = getattr(xp.linalg, name)(xt, **kwargs)
    tan = jvp_of(entry)(xp, (xp.asarray(t),), (xt,), other, out=out)
    tan = tan if isinstance(tan, tuple) else (tan,)
    total = sum(xp.sum(xp.real(v) if xp.isdtype(v.dtype, "complex floating") else v) for v in tan)
    (g,) = xpgrad.grad(total, [xt])
    d = _random_like(rng, x)
    if name in ("cholesky", "eigh"):
        d = _herm(d)  # they read one triangle; their gradient is the Hermitian part (torch's)
    want = (scalar(x + EPS * d) - scalar(x - EPS * d)) / (2 * EPS)
    np.testing.assert_allclose(float(np.sum(np.real(np.conj(np.asarray(g)) * d))), want, rtol=1e-5, atol=1e-6)


def _square(rng):
    return rng.standard_normal((3, 3)) + 3.0 * np.eye(3)


def _symmetric(rng):
    return _herm(rng.standard_normal((3, 3)))


@pytest.mark.parametrize(
    ("name", "make", "kwargs"),
    [
        ("inv", _square, None),
        ("det", _square, None),
        ("cholesky", lambda rng: _pd(rng.standard_normal((3, 3))), None),
        ("eigh", _symmetric, None),
        ("qr", lambda rng: rng.standard_normal((4, 3)), None),
        ("svd", lambda rng: rng.standard_normal((4, 3)), {"full_matrices": False}),
        ("pinv", lambda rng: rng.standard_normal((3, 4)), None),
        ("vector_norm", lambda rng: rng.standard_normal((2, 4)), {"ord": 3}),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_reverse_over_forward(name, make, kwargs):
    _reverse_over_forward(name, make, kwargs)
