"""Saved-value safety, ``__setitem__``/view gradients and bad input, each program run on
xpgrad and on torch.autograd side by side (issue 9, items 1, 2, 7 (indices) and 8).

A scenario is written once against a small namespace ``L``: ``xp`` (xpgrad over NumPy) or
``T`` (torch with the same names). Both runs must give the same values and gradients, or both
must raise.
"""

from __future__ import annotations

import types

import numpy as np
import pytest
import torch

import xpgrad

xp = xpgrad.namespace(np)


def _tensor(values, requires_grad=False, dtype=None):
    a = np.asarray(values)
    if dtype is None and a.dtype == np.float64:
        dtype = torch.float64
    return torch.tensor(a, requires_grad=requires_grad, dtype=dtype)


T = types.SimpleNamespace(
    asarray=_tensor,
    zeros=lambda shape: torch.zeros(shape, dtype=torch.float64),
    ones=lambda shape: torch.ones(shape, dtype=torch.float64),
    sum=torch.sum,
    sin=torch.sin,
    real=torch.real,
    where=torch.where,
    take=lambda x, i, axis=None: torch.take(x, i) if axis is None else torch.index_select(x, axis, i),
    take_along_axis=lambda x, i, axis=-1: torch.take_along_dim(x, i, axis),
    broadcast_arrays=torch.broadcast_tensors,
    matmul=torch.matmul,
    # A raw NumPy array the caller keeps: xpgrad uses it as it is, torch needs its own copy.
    raw=lambda a: torch.tensor(a),
    no_grad=torch.no_grad,
    enable_grad=torch.enable_grad,
)
X = types.SimpleNamespace(**{k: getattr(xp, k) for k in vars(T) if hasattr(xp, k)})
X.raw = lambda a: a


def _np(v):
    if isinstance(v, (list, tuple)):
        return [_np(u) for u in v]
    if isinstance(v, xpgrad.Tensor):
        return np.asarray(v.detach().data)
    if isinstance(v, torch.Tensor):
        return v.detach().numpy()
    return v


def _outcome(scenario, L):
    try:
        return "ok", _np(scenario(L))
    except Exception as exc:  # noqa: BLE001 - the outcome (raise or not) is what is compared
        return "raises", exc


def _same(scenario, raises=None):
    """Run ``scenario`` on xpgrad and torch; both give the same results, or both raise.

    ``raises``: the exception type xpgrad must raise when torch raises (default: torch's type).
    """
    ours = _outcome(scenario, X)
    theirs = _outcome(scenario, T)
    if theirs[0] == "raises":
        assert ours[0] == "raises", f"torch raises {theirs[1]!r}, xpgrad gives {ours[1]}"
        assert isinstance(ours[1], raises or type(theirs[1])), ours[1]
        return ours[1]
    if ours[0] == "raises":
        raise AssertionError(f"xpgrad raises where torch gives {theirs[1]}") from ours[1]
    assert len(ours[1]) == len(theirs[1])
    for a, b in zip(ours[1], theirs[1]):
        if a is None or b is None or isinstance(a, bool):
            assert a == b if isinstance(a, bool) else (a is None and b is None), (a, b)
        else:
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    return ours[1]


# ----------------------------------------------------------------------------------------------
# Item 1: every value a node keeps is protected.


def _where_mask_mutated(L):
    x = L.asarray([1.0, -2.0, 3.0], requires_grad=True)
    m = x > 0
    y = L.where(m, x, 0.0)
    m[1] = True
    L.sum(y).backward()
    return [x.grad]


def _getitem_index_mutated(L):
    x = L.asarray([1.0, 2.0, 3.0], requires_grad=True)
    i = L.asarray([0, 1])
    y = x[i]
    i[0] = 2
    L.sum(y * y).backward()
    return [x.grad]


def _take_index_mutated(L):
    x = L.asarray([1.0, 2.0, 3.0], requires_grad=True)
    i = L.asarray([0, 1])
    y = L.take(x, i)
    i[0] = 2
    L.sum(y * y).backward()
    return [x.grad]


def _take_axis_index_mutated(L):
    x = L.asarray([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
    i = L.asarray([2, 0])
    y = L.take(x, i, axis=1)
    i[0] = 1
    L.sum(y * y).backward()
    return [x.grad]


def _mask_mutated(L):
    x = L.asarray([1.0, 2.0, 3.0], requires_grad=True)
    m = L.asarray([True, False, True])
    y = x[m]
    m[1] = True
    L.sum(y).backward()
    return [x.grad]


def _setitem_mask_mutated(L):
    x = L.asarray([1.0, 2.0, 3.0], requires_grad=True)
    m = L.asarray([True, False, True])
    v = L.asarray([5.0, 6.0], requires_grad=True)
    a = x * 1
    a[m] = v
    m[1] = True
    L.sum(a * a).backward()
    return [x.grad, v.grad]


def _setitem_index_mutated(L):
    x = L.asarray([1.0, 2.0, 3.0], requires_grad=True)
    i = L.asarray([0, 2])
    v = L.asarray([5.0, 6.0], requires_grad=True)
    a = x * 1
    a[i] = v
    i[1] = 1
    L.sum(a * a).backward()
    return [x.grad, v.grad]


def _index_tuple_mutated(L):
    x = L.asarray([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    i = L.asarray([0, 1])
    y = x[i, 0]
    i[0] = 1
    L.sum(y * y).backward()
    return [x.grad]


def _real_alias_mutated(L):
    x = L.asarray([1.0, 2.0], requires_grad=True)
    a = x * 1.0
    y = L.sin(a)
    v = L.real(a)
    v[0] = 100.0
    L.sum(y).backward()
    return [x.grad]


def _broadcast_alias_mutated(L):
    x = L.asarray([1.0, 2.0], requires_grad=True)
    a = x * 1.0
    y = L.sin(a)
    b, _ = L.broadcast_arrays(a, L.zeros(2))
    b[0] = 100.0
    L.sum(y).backward()
    return [x.grad]


MUTATED_AFTER_USE = [
    _where_mask_mutated,
    _getitem_index_mutated,
    _take_index_mutated,
    _take_axis_index_mutated,
    _mask_mutated,
    _setitem_mask_mutated,
    _setitem_index_mutated,
    _index_tuple_mutated,
    _real_alias_mutated,
    _broadcast_alias_mutated,
]


@pytest.mark.parametrize("scenario", MUTATED_AFTER_USE, ids=lambda f: f.__name__.strip("_"))
def test_value_kept_for_backward_then_modified_raises_as_torch(scenario):
    exc = _same(scenario)
    assert "modified by an in-place operation" in str(exc)


def test_take_along_axis_keeps_its_own_indices_as_torch():
    # torch's take_along_dim keeps a private index array: a later change is no error and
    # does not change the gradient.
    def s(L):
        x = L.asarray([1.0, 2.0, 3.0], requires_grad=True)
        i = L.asarray([0, 1])
        y = L.take_along_axis(x, i, axis=0)
        i[0] = 2
        L.sum(y * y).backward()
        return [x.grad]

    assert _same(s)[0].tolist() == [2.0, 4.0, 0.0]


def test_unmodified_indices_and_masks_give_torch_gradients():
    def s(L):
        x = L.asarray([1.0, -2.0, 3.0, 4.0], requires_grad=True)
        i = L.asarray([0, 3, 3])
        m = L.asarray([True, False, True, False])
        a = x * 1
        a[m] = L.asarray(7.0)
        y = L.where(x > 0, x, 0.0) + a
        out = L.sum(y * y) + L.sum(x[i] ** 2) + L.sum(L.take(x, i) ** 3) + L.sum(x[m])
        out.backward()
        i[0] = 1  # after backward: nothing kept any more needs it
        m[1] = True
        return [x.grad]

    _same(s)


def test_index_modified_after_backward_with_create_graph_raises_at_second_order():
    def s(L):
        x = L.asarray([1.0, 2.0, 3.0], requires_grad=True)
        i = L.asarray([0, 0, 2])
        y = L.sum(x[i] ** 3)
        (g,) = (
            torch.autograd.grad(y, x, create_graph=True) if L is T else xpgrad.grad(y, x, create_graph=True)
        )
        i[1] = 1
        L.sum(g).backward()
        return [x.grad]

    _same(s)


@pytest.mark.parametrize(
    "program",
    ["index", "mask", "where", "take", "binary", "matmul"],
)
def test_raw_arrays_kept_by_a_node_are_copies(program):
    # A raw NumPy array passed to an op cannot be version-tracked: the node keeps a copy, so a
    # later write into the caller's array changes nothing (torch converts it to a tensor).
    def s(L):
        x = L.asarray([[1.0, 2.0], [3.0, -4.0]], requires_grad=True)
        if program == "index":
            a = np.array([1, 1, 0])
            y = x[L.raw(a)]
        elif program == "mask":
            a = np.array([[True, False], [True, True]])
            y = x[L.raw(a)]
        elif program == "where":
            a = np.array([[True, False], [False, True]])
            y = L.where(L.raw(a), x, 0.0)
        elif program == "take":
            a = np.array([1, 0, 1])
            y = L.take(x, L.raw(a), axis=1)
        elif program == "binary":
            a = np.array([[2.0, 3.0], [4.0, 5.0]])
            y = x * L.raw(a)
        else:
            a = np.array([[2.0, 3.0], [4.0, 5.0]])
            y = L.matmul(x, L.raw(a))
        a[...] = a[::-1] if a.ndim == 1 else a[::-1, ::-1]
        L.sum(y * y).backward()
        return [y, x.grad]

    _same(s)


def _optional(name):
    """``name`` as a test parameter; JAX and Dask need their optional backend (conftest.py)."""
    if name in ("jax", "dask"):
        return pytest.param(name, marks=pytest.mark.requires_backend(name))
    return name


@pytest.mark.parametrize("backend", [_optional(n) for n in ["torch", "array_api_strict", "jax", "dask"]])
def test_modified_condition_and_index_raise_on_other_backends(backend):
    b = xpgrad.namespace(backend)
    x = b.asarray([1.0, -2.0, 3.0], requires_grad=True)
    m = x > 0
    y = b.where(m, x, 0.0)
    m[1] = True
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        b.sum(y).backward()
    i = b.asarray([0, 1])
    y = x[i]
    i[0] = 2
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        b.sum(y * y).backward()


# ----------------------------------------------------------------------------------------------
# Item 2: __setitem__ with ..., full slices, 0-d and broadcast values; views of modified bases.


def _setitem_program(key, value_kind, target_kind):
    def s(L):
        x = L.asarray(np.ones((2, 2)), requires_grad=True)
        if value_kind == "leaf0d":
            t = L.asarray(2.0, requires_grad=True)
        elif value_kind == "row":
            t = L.asarray([2.0, 3.0], requires_grad=True)
        elif value_kind == "nonleaf":
            w = L.asarray([2.0, 3.0], requires_grad=True)
            t = w * w
        elif value_kind == "const0d":
            t = L.asarray(2.0)
        else:
            t = 3.0
        v = x * 1 if target_kind == "nonleaf" else L.zeros((2, 2))
        k = {"ellipsis": ..., "slice": slice(None), "slices": (slice(None), slice(None))}[key]
        v[k] = t
        result = [v, v.requires_grad]
        if v.requires_grad:
            L.sum(v * v).backward()
            result += [x.grad, getattr(t, "grad", None)]
            if value_kind == "nonleaf":
                result.append(w.grad)
        return result

    return s


@pytest.mark.parametrize("key", ["ellipsis", "slice", "slices"])
@pytest.mark.parametrize("value_kind", ["leaf0d", "row", "nonleaf", "const0d", "scalar"])
@pytest.mark.parametrize("target_kind", ["nonleaf", "constant"])
def test_setitem_whole_array_gradients_as_torch(key, value_kind, target_kind):
    _same(_setitem_program(key, value_kind, target_kind))


def test_setitem_issue_program():
    x = xp.asarray(np.ones((2, 2)), requires_grad=True)
    t = xp.asarray(2.0, requires_grad=True)
    v = x * 1
    v[...] = t
    xp.sum(v * v).backward()
    assert x.grad.tolist() == [[0.0, 0.0], [0.0, 0.0]]
    assert float(t.grad) == 16.0


def test_setitem_whole_leaf_raises_as_torch():
    def s(L):
        x = L.asarray(np.ones((2, 2)), requires_grad=True)
        x[...] = L.asarray(2.0, requires_grad=True)
        return [x]

    _same(s)


@pytest.mark.parametrize("base_requires_grad", [False, True])
@pytest.mark.parametrize("view", ["slice", "empty", "nested", "whole"])
def test_view_taken_before_base_modified_sees_new_graph(base_requires_grad, view):
    def s(L):
        x = L.asarray([1.0, 2.0], requires_grad=True)
        w = L.asarray([3.0, 4.0], requires_grad=True)
        base = w * 1 if base_requires_grad else L.zeros(2)
        if view == "slice":
            v = base[0:1]
        elif view == "empty":
            v = base[1:1]
        elif view == "nested":
            v = base[0:2][1:][0:1]
        else:
            v = base[...]
        base += x * x
        out = L.sum(10 * v) + L.sum(base)
        out.backward()
        return [v, v.requires_grad, v.is_leaf, x.grad, w.grad]

    _same(s)


def test_view_issue_program():
    x = xp.asarray([1.0, 2.0], requires_grad=True)
    base = xp.zeros(2)
    view = base[0:1]
    base += x
    (xp.sum(10 * view) + xp.sum(base)).backward()
    assert x.grad.tolist() == [11.0, 1.0]


def test_view_of_base_modified_through_another_view():
    def s(L):
        x = L.asarray([1.0, 2.0, 3.0], requires_grad=True)
        base = L.zeros(3)
        a = base[0:2]
        b = base[1:3]
        b[...] = x[1:3] * 2  # base (and a) now depend on x
        out = L.sum(a * a) + L.sum(base)
        out.backward()
        return [a, a.requires_grad, x.grad]

    _same(s)


# ----------------------------------------------------------------------------------------------
# Item 8: bad input gets a clear error, nothing is half-modified.


@pytest.mark.parametrize("obj", ["abc", None, object(), [1, object()], {"a": 1}])
def test_asarray_of_non_numbers_raises(obj):
    with pytest.raises(TypeError, match=r"asarray\(\): argument 'obj'"):
        xp.asarray(obj)


def test_where_with_non_boolean_condition_raises():
    def s(L):
        x = L.asarray([1.0, -2.0, 3.0], requires_grad=True)
        return [L.where(L.asarray([1, 0, 1]), x, 0.0)]

    exc = _same(s, raises=TypeError)
    assert "where(): argument 'condition' must have a boolean dtype" in str(exc)


@pytest.mark.parametrize("how", ["setitem_scalar", "setitem_array", "iadd_array", "iadd_scalar"])
@pytest.mark.parametrize("tracked", [False, True])
def test_complex_values_into_real_array_raise_and_change_nothing(how, tracked):
    w = xp.asarray([1.0, 2.0, 3.0], requires_grad=True)
    x = w * 1 if tracked else xp.asarray([1.0, 2.0, 3.0])
    version = x._version
    with pytest.raises(TypeError, match="complex"):
        if how == "setitem_scalar":
            x[0] = 1 + 2j
        elif how == "setitem_array":
            x[0:2] = xp.ones(2, dtype=xp.complex128)
        elif how == "iadd_array":
            x += xp.ones(3, dtype=xp.complex128)
        else:
            x += 1j
    assert x.tolist() == [1.0, 2.0, 3.0]
    assert x._version == version
    assert x.dtype == xp.float64
    # torch refuses the same programs.
    tx = torch.tensor([1.0, 2.0, 3.0])
    with pytest.raises(RuntimeError):
        if how == "setitem_scalar":
            tx[0] = 1 + 2j
        elif how == "iadd_array":
            tx += torch.ones(3, dtype=torch.complex128)
        elif how == "iadd_scalar":
            tx += 1j
        else:
            raise RuntimeError("torch only warns here (it discards the imaginary part)")


def test_two_backends_in_one_expression_name_both():
    xt = xpgrad.namespace("torch")
    a = xp.asarray([1.0])
    b = xt.asarray([1.0], requires_grad=True)
    for f in (lambda: a + b, lambda: a * b, lambda: xp.matmul(a, b), lambda: xp.where(a > 0, b, a)):
        with pytest.raises(TypeError, match=r"backend 'torch'.*xpgrad\.numpy"):
            f()
    with pytest.raises(TypeError, match=r"backend 'numpy'.*xpgrad\.torch"):
        b + a


def test_no_grad_and_enable_grad_as_decorators_without_parentheses():
    def s(L):
        @L.no_grad
        def f(x):
            return x * 2

        @L.no_grad()
        def g(x):
            return x * 2

        @L.enable_grad
        def h(x):
            return x * 2

        x = L.asarray([1.0], requires_grad=True)
        with L.no_grad():
            inner = h(x).requires_grad
        return [f(x).requires_grad, g(x).requires_grad, inner, f.__name__ == "f"]

    X.no_grad = xpgrad.no_grad
    X.enable_grad = xpgrad.enable_grad
    assert _same(s) == [False, False, True, True]


def test_ten_thousand_nested_views():
    def s(L):
        x = L.asarray(np.ones(3), requires_grad=True)
        base = L.zeros(3)
        v = base
        for _ in range(10_000):
            v = v[:]
        base += x  # refresh through the whole chain
        y = L.sum(v * 2)
        u = x * 1
        w = u
        for _ in range(10_000):
            w = w[...]
        w[0] = 5.0  # CopySlices through the whole chain
        y = y + L.sum(u * 3)
        y.backward()
        return [v, u, x.grad]

    _same(s)


# ----------------------------------------------------------------------------------------------
# Item 7 (indices): out-of-range indices raise IndexError on every backend before any write.

ALL_BACKENDS = [_optional(n) for n in ["numpy", "torch", "array_api_strict", "jax", "dask"]]


@pytest.mark.parametrize("backend", ALL_BACKENDS)
@pytest.mark.parametrize(
    "read",
    ["int", "negative", "array", "axis1", "ellipsis", "take", "take_axis", "take_along_axis"],
)
def test_out_of_range_read_raises_index_error(backend, read):
    b = xpgrad.namespace(backend)
    x = b.reshape(b.arange(6.0), (2, 3))
    v = b.arange(3.0)
    with pytest.raises(IndexError, match="out of"):
        if read == "int":
            v[3]
        elif read == "negative":
            v[-4]
        elif read == "array":
            v[b.asarray([0, 3])]
        elif read == "axis1":
            x[1, 3]
        elif read == "ellipsis":
            x[..., -4]
        elif read == "take":
            b.take(v, b.asarray([3]))
        elif read == "take_axis":
            b.take(x, b.asarray([0, 3]), axis=1)
        else:
            b.take_along_axis(x, b.asarray([[0, -4, 1], [0, 0, 0]]), axis=1)


@pytest.mark.parametrize("backend", ALL_BACKENDS)
@pytest.mark.parametrize("key", ["int", "array", "axis1"])
@pytest.mark.parametrize("tracked", [False, True])
def test_out_of_range_write_raises_before_writing(backend, key, tracked):
    b = xpgrad.namespace(backend)
    w = b.asarray([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
    x = w * 1 if tracked else b.asarray([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    k = {"int": (2, 0), "array": b.asarray([0, 2]), "axis1": (1, 3)}[key]
    # array_api_strict has no integer-array __setitem__ at all (its own IndexError).
    strict_fancy = backend == "array_api_strict" and key == "array"
    with pytest.raises(IndexError, match="not supported" if strict_fancy else "out of"):
        x[k] = 7.0
    assert [float(x[i, j]) for i in range(2) for j in range(3)] == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    assert x._version == 0


def test_real_and_imag_of_complex_are_views_as_torch():
    def s(L):
        c = L.asarray(np.array([1 + 2j, 3 - 1j]), requires_grad=True)
        a = c * 1
        r = L.real(a)
        r[0] = 5.0
        im = L.imag(a)
        im[1] = 7.0
        L.sum(L.abs(a) ** 2 + L.real(a) * 3).backward()
        return [a, c.grad]

    X.imag = xp.imag
    X.abs = xp.abs
    T.imag = torch.imag
    T.abs = torch.abs
    _same(s)


def test_conj_is_a_copy_deviation():
    # docs/deviations.md: torch's conj is a lazy conjugate view (a write into it reaches the
    # input); xpgrad's conj is a new array on every backend, so the input is unchanged and its
    # gradient is the one of the unchanged program.
    for backend in ("numpy", "torch"):
        b = xpgrad.namespace(backend)
        c = b.asarray(np.array([1 + 2j, 3 - 1j]), requires_grad=True)
        a = c * 1
        k = b.conj(a)
        k[0] = 5.0 + 1j
        b.sum(b.abs(a) ** 2).backward()
        assert a.tolist() == [1 + 2j, 3 - 1j]
        assert c.grad.tolist() == [2 + 4j, 6 - 2j]
    c = torch.tensor([1 + 2j, 3 - 1j], requires_grad=True)
    a = c * 1
    k = torch.conj(a)
    k[0] = 5.0 + 1j
    assert a.tolist() == [5 - 1j, 3 - 1j]


@pytest.mark.parametrize("backend", ["numpy", "torch", "array_api_strict"])
@pytest.mark.parametrize("op", ["real", "broadcast_arrays", "astype", "asarray"])
def test_results_aliasing_an_input_are_tracked_on_every_sharing_backend(backend, op):
    # torch raises for each: the write reaches `a`, which sin saved.
    b = xpgrad.namespace(backend)
    x = b.asarray([1.0, 2.0], requires_grad=True)
    a = x * 1.0
    y = b.sin(a)
    if op == "real":
        v = b.real(a)
    elif op == "broadcast_arrays":
        v = b.broadcast_arrays(a, b.zeros(2))[0]
    elif op == "astype":
        v = b.astype(a, a.dtype, copy=False)
    else:
        v = b.asarray(a, copy=False)
    v[0] = 100.0
    assert float(a[0]) == 100.0
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        b.sum(y).backward()
