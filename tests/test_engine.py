"""The backward engine: accumulation policy, roots of several backends and devices, what the
engine reads of a namespace, and the graph module's independence.

Gradients are checked against torch.autograd on the same program, or against separate backward
calls (two backends cannot share a graph, so one call over both roots must equal one call each).
"""

from __future__ import annotations

import ast
import pathlib
import sys

import array_api_compat.torch
import array_api_strict
import numpy as np
import pytest
import torch

import xpgrad
from xpgrad import _engine

SRC = pathlib.Path(xpgrad.__file__).parent
A = np.array([[2.0, 1.0, 0.3], [1.0, 3.0, 0.2], [0.3, 0.2, 1.0]])


def _np(t):
    if type(t) is xpgrad.Tensor:
        t = t.detach().data
    if isinstance(t, torch.Tensor):
        return t.detach().numpy()
    if type(t).__module__.startswith("array_api_strict"):
        t = t.to_device(array_api_strict.__array_namespace_info__().default_device())
    return np.asarray(t)


# --------------------------------------------------------------------------------------------
# Accumulation: the engine writes only into gradient buffers it allocated itself.


def _fan_in_program(m, x):
    """x reaches the loss along many paths: every buffer on the way sums several gradients."""
    a = m.sin(x)
    b = a * a + a * x + a  # a and x each receive three contributions
    c = b * b + b  # b receives three
    return m.sum(c * x + m.exp(a))


def test_accumulation_does_not_use_reference_counts(monkeypatch):
    # The policy is the engine's own flag (ownership), not sys.getrefcount, whose meaning
    # changes across CPython versions: backward works with getrefcount unavailable.
    def refuse(obj):
        raise AssertionError("the engine called sys.getrefcount")

    monkeypatch.setattr(sys, "getrefcount", refuse)
    xp = xpgrad.namespace(np)
    x = xp.asarray(np.linspace(-1.0, 1.0, 5), requires_grad=True)
    _fan_in_program(xp, x).backward()
    xt = torch.linspace(-1.0, 1.0, 5, dtype=torch.float64, requires_grad=True)
    _fan_in_program(torch, xt).backward()
    np.testing.assert_allclose(_np(x.grad), _np(xt.grad), rtol=1e-12)


@pytest.mark.parametrize("backend", ["numpy", "torch", "array_api_strict"])
def test_fan_in_gradients_match_torch(backend):
    xp = xpgrad.namespace(backend)
    x = xp.asarray(np.linspace(-1.0, 1.0, 5), requires_grad=True)
    _fan_in_program(xp, x).backward()
    xt = torch.linspace(-1.0, 1.0, 5, dtype=torch.float64, requires_grad=True)
    _fan_in_program(torch, xt).backward()
    np.testing.assert_allclose(_np(x.grad), _np(xt.grad), rtol=1e-12)


def test_gradients_seen_by_hooks_and_retain_grad_are_not_changed_by_later_sums():
    # A hook keeps the gradient it saw; retain_grad stores one in .grad. Contributions summed
    # later into the same buffers or leaves must not write into those arrays.
    def program(m, x, keep):
        a = x * 2.0
        a.register_hook(lambda g: keep.append(g.detach().clone() if m is torch else g) and None)
        b = a * 3.0
        b.retain_grad()
        return m.sum(b * b + b + a * a), b

    xp = xpgrad.namespace(np)
    x = xp.asarray([0.5, -1.0, 2.0], requires_grad=True)
    kept = []
    loss, b = program(xp, x, kept)
    loss.backward()
    xt = torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64, requires_grad=True)
    kept_t = []
    loss_t, bt = program(torch, xt, kept_t)
    loss_t.backward()
    np.testing.assert_allclose(_np(kept[0]), _np(kept_t[0]), rtol=1e-12)
    np.testing.assert_allclose(_np(b.grad), _np(bt.grad), rtol=1e-12)
    np.testing.assert_allclose(_np(x.grad), _np(xt.grad), rtol=1e-12)


def test_user_gradients_are_never_written():
    xp = xpgrad.namespace(np)
    x = xp.asarray([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 2.0
    g1 = np.ones(3)
    g2 = np.full(3, 2.0)
    # Two roots on one output: their gradients are summed, neither is modified or kept.
    xpgrad.backward([y, y], [g1, g2])
    np.testing.assert_array_equal(g1, np.ones(3))
    np.testing.assert_array_equal(g2, np.full(3, 2.0))
    np.testing.assert_array_equal(_np(x.grad), np.full(3, 6.0))
    # A leaf root: .grad is a copy of the gradient handed in.
    w = xp.asarray([1.0, 2.0], requires_grad=True)
    gw = np.array([5.0, 7.0])
    w.backward(gw)
    w.backward(gw)
    np.testing.assert_array_equal(gw, [5.0, 7.0])
    np.testing.assert_array_equal(_np(w.grad), [10.0, 14.0])


def test_sum_writes_only_into_arrays_the_engine_owns():
    ns = xpgrad.namespace(np)
    owned = set()
    a, b = np.ones(3), np.full(3, 2.0)
    s = _engine._sum(a, b, owned, ns)  # a came from a VJP: never written
    assert s is not a and s is not b
    np.testing.assert_array_equal(a, np.ones(3))
    assert owned == {id(s)}
    s2 = _engine._sum(s, b, owned, ns)  # s is the engine's own sum: reused in place
    assert s2 is s
    np.testing.assert_array_equal(s, np.full(3, 5.0))
    # A different shape (broadcasting) cannot be written in place: a new owned array.
    s3 = _engine._sum(s, np.ones((2, 3)), owned, ns)
    assert s3.shape == (2, 3) and owned == {id(s3)}
    # Under create_graph nothing is owned and nothing is written.
    t = ns.asarray(np.ones(3))
    assert _engine._sum(t, t, None, ns) is not t


@pytest.mark.requires_backend("jax")
def test_accumulation_on_an_immutable_backend():
    # An owned buffer on a backend without in-place writes (JAX) is summed out of place.
    import jax.numpy as jnp

    xp = xpgrad.namespace(jnp)
    x = xp.asarray(np.linspace(-1.0, 1.0, 5), requires_grad=True)
    _fan_in_program(xp, x).backward()
    xt = torch.linspace(-1.0, 1.0, 5, dtype=torch.float64, requires_grad=True)
    _fan_in_program(torch, xt).backward()
    np.testing.assert_allclose(_np(x.grad), _np(xt.grad), rtol=1e-6)


# --------------------------------------------------------------------------------------------
# Roots of several backends or devices: one call equals one call per root.


def _two_programs(xa, xb):
    a = xa.asarray([0.5, -1.0, 2.0], requires_grad=True)
    b = xb.asarray([1.5, 0.25, -0.5], requires_grad=True)
    ra = xa.sum(xa.sin(a) * a)
    rb = xb.sum(xb.exp(b) * b + b * b)
    return a, b, ra, rb


def test_backward_with_roots_of_two_backends_equals_separate_calls():
    xn, xt = xpgrad.namespace(np), xpgrad.namespace(torch)
    a, b, ra, rb = _two_programs(xn, xt)
    xpgrad.backward([ra, rb])
    a2, b2, ra2, rb2 = _two_programs(xn, xt)
    ra2.backward()
    rb2.backward()
    assert type(a.grad.data) is np.ndarray and isinstance(b.grad.data, torch.Tensor)
    np.testing.assert_array_equal(_np(a.grad), _np(a2.grad))
    np.testing.assert_array_equal(_np(b.grad), _np(b2.grad))


def test_grad_with_roots_of_two_backends_equals_separate_calls_and_create_graph():
    xn, xt = xpgrad.namespace(np), xpgrad.namespace(torch)
    a, b, ra, rb = _two_programs(xn, xt)
    ga, gb = xpgrad.grad([ra, rb], [a, b], create_graph=True)
    a2, b2, ra2, rb2 = _two_programs(xn, xt)
    (ga2,) = xpgrad.grad(ra2, a2, create_graph=True)
    (gb2,) = xpgrad.grad(rb2, b2, create_graph=True)
    np.testing.assert_array_equal(_np(ga), _np(ga2))
    np.testing.assert_array_equal(_np(gb), _np(gb2))
    # Second order through both backends at once.
    xpgrad.backward([xn.sum(ga), xt.sum(gb)])
    xn.sum(ga2).backward()
    xt.sum(gb2).backward()
    np.testing.assert_allclose(_np(a.grad), _np(a2.grad), rtol=1e-12)
    np.testing.assert_allclose(_np(b.grad), _np(b2.grad), rtol=1e-12)


def _strict_devices():
    devices = array_api_strict.__array_namespace_info__().devices()
    named = [d for d in devices if "device1" in repr(d) or "device2" in repr(d)]
    assert len(named) == 2, devices
    return named


def test_backward_with_roots_on_two_devices_equals_separate_calls():
    xs = xpgrad.namespace(array_api_strict)
    d1, d2 = _strict_devices()

    def program():
        a = xs.asarray([0.5, -1.0, 2.0], dtype=xs.float64, device=d1, requires_grad=True)
        b = xs.asarray([1.5, 0.25, -0.5], dtype=xs.float64, device=d2, requires_grad=True)
        return a, b, xs.sum(xs.sin(a) * a), xs.sum(xs.exp(b) * b + b * b)

    a, b, ra, rb = program()
    xpgrad.backward([ra, rb])
    a2, b2, ra2, rb2 = program()
    ra2.backward()
    rb2.backward()
    assert a.grad.device == d1 and b.grad.device == d2
    np.testing.assert_array_equal(_np(a.grad), _np(a2.grad))
    np.testing.assert_array_equal(_np(b.grad), _np(b2.grad))


@pytest.mark.parametrize(
    "f",
    [
        lambda m, y: m.unstack(y)[0],
        lambda m, y: m.linalg.eigh(y)[0],
        lambda m, y: m.linalg.qr(y)[1],
    ],
    ids=["unstack", "eigh", "qr"],
)
def test_unused_outputs_get_zeros_on_the_nodes_device(f):
    # A multi-output node whose other outputs got no gradient: their zeros are made on the
    # node's device (not the default one), which array_api_strict checks.
    xs = xpgrad.namespace(array_api_strict)
    _, d2 = _strict_devices()
    x = xs.asarray(A, dtype=xs.float64, device=d2, requires_grad=True)
    xs.sum(f(xs, x * 1.0)).backward()
    xt = torch.tensor(A, requires_grad=True)
    f(array_api_compat.torch, xt * 1.0).sum().backward()
    assert x.grad.device == d2
    np.testing.assert_allclose(_np(x.grad), _np(xt.grad), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(
    "f",
    [
        lambda m, x: m.linalg.eigh(x)[0],
        lambda m, x: m.linalg.svd(x, full_matrices=False)[1],
        lambda m, x: m.linalg.qr(x)[1],
    ],
    ids=["eigh", "svd", "qr"],
)
def test_unpack_hooks_run_once_per_saved_value_as_torch(f):
    # The engine does not unpack a saved output just to learn a device (a checkpointed
    # segment would be recomputed for it): as many unpack calls as torch makes.
    def counting():
        count = {"pack": 0, "unpack": 0}

        def pack(t):
            count["pack"] += 1
            return t

        def unpack(t):
            count["unpack"] += 1
            return t

        return count, pack, unpack

    xp = xpgrad.namespace(np)
    ours, pack, unpack = counting()
    x = xp.asarray(A, requires_grad=True)
    with xpgrad.saved_tensors_hooks(pack, unpack):
        out = f(xp, x)
    xp.sum(out).backward()
    theirs, pack, unpack = counting()
    xt = torch.tensor(A, requires_grad=True)
    with torch.autograd.graph.saved_tensors_hooks(pack, unpack):
        out_t = f(torch, xt)
    out_t.sum().backward()
    assert ours == theirs
    np.testing.assert_allclose(_np(x.grad), _np(xt.grad), rtol=1e-10, atol=1e-12)


# --------------------------------------------------------------------------------------------
# Structure: what the engine reads, and the graph module's imports.


def _attribute_reads(path):
    tree = ast.parse(path.read_text())
    return [n for n in ast.walk(tree) if isinstance(n, ast.Attribute)]


@pytest.mark.parametrize("name", ["_engine.py", "_autograd.py"])
def test_the_engine_reads_no_namespace_internals(name):
    # The engine's interface to a namespace is `ns.backend` (and public array API functions):
    # no private attribute of a namespace (`ns._xp`, `t._ns.backend`, ...) is read.
    def is_namespace(expr):
        if isinstance(expr, ast.Name):
            return expr.id == "ns"
        return isinstance(expr, ast.Attribute) and expr.attr in ("ns", "_ns")

    bad = [
        f"{name}:{n.lineno} .{n.attr}"
        for n in _attribute_reads(SRC / name)
        if is_namespace(n.value) and n.attr.startswith("_")
    ]
    assert not bad, bad


def test_graph_module_is_a_leaf():
    tree = ast.parse((SRC / "_graph.py").read_text())
    imported = set()
    for n in ast.walk(tree):
        if isinstance(n, ast.ImportFrom) and n.level:
            imported.add(n.module or ", ".join(a.name for a in n.names))
        elif isinstance(n, ast.Import):
            imported.update(a.name for a in n.names)
    assert imported <= {"_grad_mode", "__future__", "itertools", "traceback"}, imported
