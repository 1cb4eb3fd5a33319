"""uint16, uint32 and uint64 on the torch backend, against NumPy.

torch 2.13 has these dtypes but few kernels for them: ``sort`` (xpgrad's gathers through the
permutation: "scatter_gather not implemented for 'UInt16'") and ``x -= s`` ("add_stub not
implemented") failed in the array API test suite (issue 24). The torch overlay of
``_backends.py`` runs ``add``, ``subtract`` and ``take_along_axis`` on the signed integers of the
same width (the same bits; two's complement wraps as unsigned arithmetic does), and an in-place
operator without a kernel falls back to the namespace's function.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import xpgrad

xp = xpgrad.namespace(torch)

DTYPES = ["uint16", "uint32", "uint64"]


def _values(dtype, shape=(7,)):
    top = np.iinfo(dtype).max
    base = np.array([0, 1, 5, top, top - 3, 2**15, 7], dtype=dtype)
    return np.resize(base, shape)


def _x(a):
    return xp.asarray(torch.from_numpy(np.ascontiguousarray(a)))


def _np(t):
    return t.data.numpy()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("axis", [0, -1])
def test_sort(dtype, descending, axis):
    a = _values(dtype, (3, 7))
    expected = np.sort(a, axis=axis, stable=True)
    if descending:
        expected = np.flip(expected, axis=axis)
    got = xp.sort(_x(a), axis=axis, descending=descending)
    assert got.dtype == getattr(xp, dtype)
    np.testing.assert_array_equal(_np(got), expected)


@pytest.mark.parametrize("dtype", DTYPES)
def test_take_along_axis(dtype):
    a = _values(dtype, (2, 7))
    idx = np.array([[6, 0, 3], [3, 3, 1]])
    got = xp.take_along_axis(_x(a), xp.asarray(torch.from_numpy(idx)), axis=1)
    np.testing.assert_array_equal(_np(got), np.take_along_axis(a, idx, axis=1))


@pytest.mark.parametrize("dtype", DTYPES)
def test_add_and_subtract_wrap_as_unsigned_arithmetic(dtype):
    a, b = _values(dtype), np.flip(_values(dtype)).copy()
    top = int(np.iinfo(dtype).max)
    with np.errstate(over="ignore"):
        cases = {
            "x1 - x2": (_x(a) - _x(b), a - b),
            "x1 + x2": (_x(a) + _x(b), a + b),
            "subtract": (xp.subtract(_x(a), _x(b)), np.subtract(a, b)),
            "add": (xp.add(_x(a), _x(b)), np.add(a, b)),
            "x - 1": (_x(a) - 1, a - np.array(1, dtype=dtype)),
            "x - top": (_x(a) - top, a - np.array(top, dtype=dtype)),
            "x + 3": (_x(a) + 3, a + np.array(3, dtype=dtype)),
            "2 - x": (2 - _x(a), np.array(2, dtype=dtype) - a),
        }
    for name, (got, expected) in cases.items():
        assert got.dtype == getattr(xp, dtype), name
        np.testing.assert_array_equal(_np(got), expected, err_msg=name)


@pytest.mark.parametrize("dtype", DTYPES)
def test_inplace_subtract_and_add(dtype):
    a = _values(dtype)
    x = _x(a.copy())
    view = x[2:]
    x -= 1
    with np.errstate(over="ignore"):
        expected = a - np.array(1, dtype=dtype)
    np.testing.assert_array_equal(_np(x), expected)
    np.testing.assert_array_equal(_np(view), expected[2:])  # written in place, seen by the view
    assert x._version == 1
    x += _x(np.ones(7, dtype=dtype))
    np.testing.assert_array_equal(_np(x), a)


def test_what_torch_cannot_promote_still_raises():
    # uint16 with uint8: torch has no promotion rule for them (a shared failure, docs)
    x = _x(_values("uint16"))
    with pytest.raises(RuntimeError, match="Promotion for uint16"):
        x -= _x(np.ones(7, dtype="uint8"))
    with pytest.raises(NotImplementedError, match="add_stub"):
        x - (-1)  # a Python int outside uint16's range is not reinterpreted
