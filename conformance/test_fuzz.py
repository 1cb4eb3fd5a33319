"""The differential fuzzer (conformance/fuzz): a bounded run in CI, and checks of the fuzzer.

``test_fuzz_run`` runs a fixed set of random programs on the backend under test (``--backend``,
150 on NumPy, 50 elsewhere; with the default backend, 50 more on the torch backend) and fails on
a crash of the fuzzer or on a difference that ``conformance/fuzz/_known.py`` does not explain.
The long run is documented in docs/fuzzing.md.
"""

from __future__ import annotations

import json
from fnmatch import fnmatchcase

import numpy as np

from .conftest import backend_name
from .fuzz import CLASSES, KNOWN, Input, Program, Stmt, classify, compare, fuzz, generate, reduce
from .fuzz._script import script
from .fuzz._triage import fd_gradient

PROGRAMS = {"numpy": 150}
DEFAULT_PROGRAMS = 50


def _runs(config):
    backend = backend_name(config)
    runs = [(backend, PROGRAMS.get(backend, DEFAULT_PROGRAMS), 0)]
    if backend == "numpy":
        runs.append(("torch", DEFAULT_PROGRAMS, 1))
    return runs


def pytest_generate_tests(metafunc):
    if "fuzz_run" in metafunc.fixturenames:
        runs = _runs(metafunc.config)
        metafunc.parametrize("fuzz_run", runs, ids=[f"{b}-{n}" for b, n, _ in runs])


def test_fuzz_run(fuzz_run):
    backend, n, seed = fuzz_run
    run = fuzz(backend, n, seed, reduce_budget=80, max_reductions=10)
    assert run.programs > 0.9 * n
    assert not run.crashes, "\n".join(run.crashes)
    assert not run.unexplained, run.summary()


# -- the fuzzer itself -------------------------------------------------------------------------------


def _program(codes, inputs, outputs, dtype="float64"):
    stmts = []
    for code, op, defines, uses in codes:
        stmts.append(Stmt(code, op, defines, None, tuple(uses), tuple(u for u in uses if u.startswith("x"))))
    return Program(dtype, tuple(inputs), tuple(stmts), tuple(outputs), seed=7)


def test_generation_is_reproducible_and_serialisable():
    for seed in range(20):
        p = generate(seed)
        assert p.source() == generate(seed).source()
        q = Program.from_json(json.loads(json.dumps(p.to_json())))
        assert q.source() == p.source()
        for a, b in zip(p.inputs, q.inputs):
            assert a.value.dtype == b.value.dtype
            np.testing.assert_array_equal(a.value, b.value)
    assert len({generate(s).source() for s in range(20)}) == 20


def test_generated_programs_cover_the_op_families():
    ops = set()
    dtypes = set()
    for seed in range(150):
        p = generate(seed)
        ops.update(p.ops)
        dtypes.add(p.dtype)
    assert dtypes == {"float32", "float64", "complex64", "complex128"}
    for family in ("sin", "sum", "matmul", "linalg.*", "fft.*", "getitem", "take", "getitem_mask", "setitem*",
                   "iadd", "mutate_*", "where", "setitem_newaxis", "special.*", "linalg.eigh.*", "linalg.eig.*",
                   "linalg.svd.*.full_matrices=True", "linalg.svd.*.full_matrices=False", "linalg.qr*",
                   "linalg.pinv"):  # fmt: skip
        assert any(fnmatchcase(op, family) for op in ops), family


def test_generated_inputs_have_structure():
    """Exact zeros, integer values and decoupled blocks, where random values never are."""
    kinds = {"zeros": False, "integers": False, "blocks": False}
    for seed in range(150):
        for i in generate(seed).inputs:
            v = np.asarray(i.value)
            if i.kind not in ("leaf", "const") or v.size < 4:
                continue
            kinds["zeros"] |= bool(np.count_nonzero(v == 0) >= 2)
            kinds["integers"] |= bool(np.all(v == np.round(v)) and np.any(v != 0))
            if v.ndim == 2 and min(v.shape) >= 2:
                kinds["blocks"] |= bool(v[0, -1] == 0 and v[-1, 0] == 0 and v[0, 0] != 0 and v[-1, -1] != 0)
    assert kinds == {"zeros": True, "integers": True, "blocks": True}


def test_finite_differences_are_torch_convention():
    # L = Re(conj(v) * x**2) summed: gradient 2 * v * conj(x) (torch: dL/dRe + i dL/dIm).
    x = np.array([1.0 + 2.0j, -0.5 + 0.25j])
    p = _program([("v0 = x0 * x0", "square", "v0", ["x0"])], [Input("x0", "leaf", x)], ["v0"], "complex128")
    from .fuzz._run import cotangent
    from .fuzz._triage import _loss

    v = cotangent(p, 0, x.shape, x.dtype)
    (g,) = fd_gradient(p, _loss)
    np.testing.assert_allclose(g, 2 * v * np.conj(x), rtol=1e-6)


def test_a_planted_bug_is_found_triaged_and_reduced(monkeypatch):
    from xpgrad._fastpaths import make_unary

    from ._suite import resolve_backend

    ns = resolve_backend("numpy")

    def wrong_sin_vjp(xp, g, x):
        return g * xp.cos(x) * 1.01

    monkeypatch.setattr(ns, "sin", make_unary(ns, "sin", ns._xp.sin, wrong_sin_vjp))
    rng = np.random.default_rng(0)
    p = _program(
        [
            ("v0 = xp.exp(x1)", "exp", "v0", ["x1"]),
            ("v1 = xp.sin(x0)", "sin", "v1", ["x0"]),
            ("v2 = v1 * v0", "multiply", "v2", ["v1", "v0"]),
            ("v3 = xp.sum(v2)", "sum", "v3", ["v2"]),
        ],
        [Input("x0", "leaf", rng.standard_normal(3)), Input("x1", "leaf", rng.standard_normal(3))],
        ["v3", "v0"],
    )
    d = compare(p, ns)
    assert d is not None and d.check == "first" and d.kind == "values"
    cls, _, _ = classify(p, d, ns)
    assert cls == "xpgrad wrong"
    small = reduce(p, d, ns)
    assert small.ops == ["sin"], small.source()
    text = script(small, "numpy", "planted")
    compile(text, "repro", "exec")
    assert "xp.sin(x0)" in text


def test_torch_wrong_is_told_apart(monkeypatch):
    # torch 2.13: linalg.det backward of a complex64 matrix raises (an LU dtype mix-up inside
    # torch); xpgrad's gradient agrees with finite differences.
    from ._suite import resolve_backend
    from .fuzz import _run

    monkeypatch.setattr(_run, "TORCH_DEFAULT_DTYPE", "backend")  # float64, NumPy's default
    ns = resolve_backend("numpy")
    a = np.array([[1.0 + 0.5j, 0.3], [-0.2j, 2.0]], dtype=np.complex64)
    p = _program(
        [("v0 = xp.linalg.det(x0)", "linalg.det", "v0", ["x0"])],
        [Input("x0", "leaf", a)],
        ["v0"],
        "complex64",
    )
    d = compare(p, ns)
    assert d is not None, "torch no longer raises in complex64 det backward: pick another torch bug here"
    cls, _, _ = classify(p, d, ns)
    assert cls == "raise mismatch: torch raises, xpgrad's gradient agrees with FD"


def test_known_entries_are_well_formed():
    for entry in KNOWN:
        assert entry.reason
        assert any(fnmatchcase(c, entry.cls) for c in CLASSES), entry.cls
        assert any(fnmatchcase(c, entry.check) for c in ("forward", "first", "second")), entry.check


def test_a_known_entry_that_matches_nothing_is_flagged():
    from .fuzz import FuzzKnown
    from .fuzz.__main__ import exit_status

    stale = FuzzKnown("xpgrad wrong", ("no_such_op",), "a difference that is gone")
    run = fuzz("numpy", 3, 0, known=[*KNOWN, stale])
    assert stale in run.unused_known
    assert all(not e.benign for e in run.unused_known)  # rounding entries are never "stale"
    assert "UNUSED" in run.summary() and run.to_json()["unused_known"] >= 1
    # The command line fails on it only when asked (long runs): a short run need not meet all.
    assert exit_status(run) == (1 if run.unexplained or run.crashes else 0)
    assert exit_status(run, fail_on_unused_known=True) == 1


def test_known_entries_name_existing_tests():
    # An entry's reason names the test that asserts it (deviations, reference artefacts).
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    for entry in KNOWN:
        for path, name in re.findall(r"((?:tests|conformance)/[\w/]+\.py)::(\w+)", entry.reason):
            assert re.search(rf"^def {name}\(", (root / path).read_text(), re.M), (path, name)


def test_a_planted_second_order_bug_is_found(monkeypatch):
    # sin's VJP is g * cos(x): under create_graph it calls the namespace's cos, whose planted VJP
    # is 1% off. Only the second order can see it.
    from xpgrad._fastpaths import make_unary

    from ._suite import resolve_backend

    ns = resolve_backend("numpy")

    def wrong_cos_vjp(xp, g, x):
        return -g * xp.sin(x) * 1.01

    monkeypatch.setattr(ns, "cos", make_unary(ns, "cos", ns._xp.cos, wrong_cos_vjp))
    x = np.array([0.3, -1.2, 2.0])
    p = _program([("v0 = xp.sin(x0)", "sin", "v0", ["x0"])], [Input("x0", "leaf", x)], ["v0"])
    d = compare(p, ns)
    assert d is not None and d.check == "second" and d.kind == "values", d
    cls, _, _ = classify(p, d, ns)
    assert cls == "xpgrad wrong"


def test_to_numpy_of_a_torch_zero_tensor_gradient():
    # Found by the fuzzer (seed 1001632): torch's second-order gradient through abs and amax is
    # a storage-less ZeroTensor, and .numpy(force=True) of it crashed the process.
    import torch

    from xpgrad.testing import to_numpy

    x = torch.tensor([0.5, -1.0, 2.0], requires_grad=True)
    (g,) = torch.autograd.grad(torch.abs(x), [x], torch.ones(3), create_graph=True)
    (gg,) = torch.autograd.grad(torch.sum(g * torch.tensor([1.0, 2.0, 3.0])), [x], allow_unused=True)
    assert gg is not None and gg._is_zerotensor()
    a = to_numpy(gg)
    assert a.shape == (3,) and a.dtype == np.float32
    np.testing.assert_array_equal(a, 0.0)


def test_a_nan_gradient_is_told_apart_from_a_wrong_one():
    # "torch raises, xpgrad's gradient is nan" (Dask's gauge check, docs/deviations.md) only
    # where no finite entry is wrong: a nan next to a wrong value stays "is wrong".
    from .fuzz._triage import _nan_where_not_right

    fd = [np.array([1.0 + 2.0j, -1.0j]), np.array([3.0, 4.0])]
    nan = complex(np.nan, np.nan)
    assert _nan_where_not_right([np.array([nan, nan]), np.array([3.0, 4.0])], fd, 1e-4)
    assert _nan_where_not_right([np.array([nan, -1.0j]), None], [fd[0], np.zeros(2)], 1e-4)
    assert not _nan_where_not_right([np.array([np.nan + 2.0j, 5.0j]), fd[1]], fd, 1e-4)  # 5j wrong
    assert not _nan_where_not_right([np.array([complex(np.nan, 0.0), -1.0j]), fd[1]], fd, 1e-4)  # 0j
    assert not _nan_where_not_right(fd, fd, 1e-4)  # no nan: not this class


def test_qr_r_is_compared_with_a_positive_diagonal():
    # R alone is unique only up to a unitary diagonal; LAPACK picks it from rounding where a
    # column is already reduced: the complex triangular matrix below (seed 2026006234 on
    # array-api-strict) gets R[1, 1] = -1.284 from NumPy's LAPACK and +1.284 from torch's. The
    # generator's R has a positive real diagonal, a function of the matrix: same on both sides.
    from ._suite import resolve_backend
    from .fuzz._gen import _QR_R

    x = np.array([[-0.621 + 1.221j, 0.063 - 0.495j], [-0.217 + 0.609j, 0.871 - 0.238j]])
    chol = "v6 = xp.linalg.cholesky(x2 @ xp.conj(x2.mT) + xp.eye(2, dtype=x2.dtype))"
    normalised = "v7 = " + f"{_QR_R} * xp.conj(xp.sign(xp.linalg.diagonal({_QR_R})))[..., :, None]"
    p = _program(
        [(chol, "linalg.cholesky", "v6", ["x2"]), (normalised.format(a="v6"), "linalg.qr.R", "v7", ["v6"])],
        [Input("x2", "leaf", x)],
        ["v7"],
        dtype="complex128",
    )
    for backend in ("numpy", "array_api_strict"):
        assert compare(p, resolve_backend(backend)) is None, backend
    assert "xp.sign(xp.linalg.diagonal(" in next(
        s.code for k in range(2000) for s in generate(k).stmts if s.op == "linalg.qr.R"
    )


def test_a_reduction_that_changes_the_class_is_not_reported():
    # Program 2569 of seed 2027: clip(x0, -0.5, 0.7) ... v6 *= v6 (the `v *= v` deviation: torch
    # raises, xpgrad's gradient agrees with finite differences). The reducer rounds x0 = -0.518
    # to -0.5, onto clip's kink, where finite differences average the two slopes: on the reduced
    # program the class would read "xpgrad's gradient is wrong". The original's class stands.
    run = fuzz("numpy", 1, 2027, first=2569)
    assert len(run.findings) == 1, run.summary()
    f = run.findings[0]
    assert f.cls == "raise mismatch: torch raises, xpgrad's gradient agrees with FD", f.cls
    assert "imul_self" in f.ops and f.known is not None and not run.unexplained
