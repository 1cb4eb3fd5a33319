"""One recording path: a generated elementwise function records the node the generic runtime
records.

For every registry sample of the elementwise functions (float64, and complex128 where the
function takes complex), and for each subset of its floating inputs that requires grad, the
function is called twice on the same inputs: through the namespace (the wrapper emitted by
``_fastpaths``) and through the generic derivative-table runtime (``_optable.apply``) with the
function's entry as a table entry (``Entry.as_op``). Both nodes must have the same saved set
(the same inputs, the result, the same constants, in any order), the same versions of the
saved Tensors, the same next functions, the same input metadata and the same output; their VJPs
must give the same gradients.
"""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest

import xpgrad
from xpgrad import _elementwise_functions as ef
from xpgrad import _fastpaths, _optable
from xpgrad._graph import OUT, OutRef
from xpgrad._tensor import Tensor
from xpgrad.testing import iter_cases, op_db
from xpgrad.testing._opinfo import Sample
from xpgrad.testing._runner import _xpgrad_inputs

GENERATED = set(ef.UNARY) | set(ef.BINARY) | {"sign"}
CASES = iter_cases([o for o in op_db() if o.name in GENERATED], dtypes=("float64", "complex128"))


def _float_keys(sample):
    keys = [i for i, a in enumerate(sample.args) if isinstance(a, np.ndarray) and a.dtype.kind in "fc"]
    if sample.grad is not None:
        keys = [k for k in keys if k in sample.grad]
    return keys


def _entry_and_forward(ns, name, args):
    raw = ns._xp
    if name == "pow":
        fwd = ef.make_pow_forward(raw.pow, ns._is_differentiable_dtype)
        scalar = type(args[1]) in (int, float, complex, bool)
        return (ef.BINARY["pow"] if scalar else ef._POW_ARRAY), fwd
    if name == "sign":
        is_complex = ns._is_complex_dtype(args[0].dtype)
        return (ef._SIGN_COMPLEX if is_complex else ef._SIGN_REAL), raw.sign
    table = ef.UNARY if name in ef.UNARY else ef.BINARY
    return table[name], getattr(raw, name)


def _label(v, inputs):
    """What a saved value is, comparable across the two nodes."""
    if v is OUT or type(v) is OutRef:
        return ("out",)
    for i, a in enumerate(inputs):
        if v is a:
            return ("input", i)
    if type(v) is Tensor:  # a protected copy of an input
        for i, a in enumerate(inputs):
            if type(a) is Tensor and np.array_equal(np.asarray(a._data), np.asarray(v._data), equal_nan=True):
                return ("copy of input", i)
        return ("tensor",)
    if hasattr(v, "shape"):
        return ("array", np.asarray(v).tobytes())
    return ("constant", repr(v))


def _saved_set(node, inputs):
    labels = [(_label(s, inputs), ver) for s, ver in zip(node.saved, _versions(node))]
    return sorted(labels, key=repr)


def _versions(node):
    v = node.versions
    return [None] * len(node.saved) if v is None or len(v) != len(node.saved) else list(v)


def _same(a, b):
    if a is None or b is None:
        return a is None and b is None
    return np.array_equal(np.asarray(a), np.asarray(b), equal_nan=True)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_generated_function_records_the_generic_node(case):
    with warnings.catch_warnings():
        # (array_api_compat's complex sign at 0 divides by zero: the same on both paths)
        warnings.simplefilter("ignore", RuntimeWarning)
        _compare(case)


def _compare(case):
    xp = xpgrad.namespace("numpy")
    keys = _float_keys(case.sample)
    subsets = [s for r in range(1, len(keys) + 1) for s in itertools.combinations(keys, r)]
    assert subsets, "a differentiable sample without floating inputs"
    compared = 0
    for subset in subsets:
        sample = Sample(case.sample.args, case.sample.kwargs, case.sample.name, tuple(subset))
        inp = _xpgrad_inputs(sample, case.dtype, xp, True)
        assert not inp.kwargs
        args = inp.args
        ns = next(a._ns for a in args if type(a) is Tensor)
        generated = getattr(xp, case.op.name)(*args)
        if any(generated is a for a in args) or generated._base is not None:
            continue  # the input itself or a view of it (real/conj of a real array): no node
        entry, fwd = _entry_and_forward(ns, case.op.name, args)
        generic = _optable.apply(ns, entry.as_op(fwd), tuple(args), {})
        assert _same(generated._data, generic._data)
        n1, n2 = generated.grad_fn, generic.grad_fn
        assert (n1 is None) == (n2 is None)
        if n1 is None:
            continue
        compared += 1
        assert n1.name == n2.name == case.op.name
        assert n1.next == n2.next and n1.nidx == n2.nidx
        assert n1.meta == n2.meta
        assert _saved_set(n1, args) == _saved_set(n2, args)
        assert (n1.out_data is None) == (n2.out_data is None)
        rng = np.random.default_rng(0)
        g = rng.standard_normal(np.shape(generated._data)).astype(generated._data.dtype)
        if np.iscomplexobj(generated._data):
            g = g + 1j * rng.standard_normal(g.shape)
        (g1,) = _grads(generated, g, args)
        (g2,) = _grads(generic, g, args)
        assert all(_same(a, b) for a, b in zip(g1, g2))
    assert compared or case.op.name in _fastpaths.MAY_ALIAS_UNARY  # views of the input


def _grads(out, g, args):
    leaves = [a for a in args if type(a) is Tensor and a.requires_grad]
    res = xpgrad.grad(out, leaves, grad_outputs=out._ns.asarray(g), retain_graph=True, allow_unused=True)
    return ([None if r is None else r._data for r in res],)


def test_generated_code_creates_no_node_nor_tensor_of_its_own():
    """The wrappers call ``_ops.recorded`` (and ``_tensor._init``); nothing else builds a Node
    or sets a Tensor's fields."""

    for n, differentiable, saved in (
        (1, True, (("x",),)),
        (2, True, (("x2",), ("x1", "out"))),
        (1, False, None),
    ):
        _, src = _fastpaths._source(n, differentiable, saved, False, False)
        assert "Node(" not in src
        assert "._vc" not in src and "._grad_fn =" not in src and "._requires_grad =" not in src
        if differentiable:
            assert "recorded(ns, name, vjp" in src
