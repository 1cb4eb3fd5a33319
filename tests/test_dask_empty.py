"""Empty arrays on Dask, cut into several chunks, against xpgrad.numpy (values and gradients).

Dask cannot reshape an empty array of several chunks, which ``nonzero``, ``unique_*``, ``roll``,
``tile``, norms, boolean indexing, ... do inside; its ``max``/``min`` of an empty array raise for
a reduction along non-empty axes and give a wrong (empty) result for one along an empty axis;
its ``apply_gufunc`` divides by zero on empty matrices. The Dask overlay of ``_backends.py``
routes around each (issue 19). A function that NumPy refuses on the input must raise the same
error class on Dask, never return something.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import xpgrad

pytestmark = pytest.mark.requires_backend("dask")

# (shape, chunks): empty arrays whose other axis is cut into several chunks
LAYOUTS = {
    "0x4-halves": ((0, 4), ((0,), (2, 2))),
    "0x4-uneven": ((0, 4), ((0,), (1, 3))),
    "3x0-uneven": ((3, 0), ((1, 2), (0,))),
}


def _square(ns, x):  # an empty stack of 2x2 matrices, or of 0x0 ones
    return ns.reshape(x, (0, 2, 2)) if x.shape[0] == 0 else ns.reshape(x, (3, 0, 0))


FUNCTIONS = {
    "reshape": lambda ns, x: ns.reshape(x, (-1,)),
    "reshape-back": lambda ns, x: ns.reshape(ns.reshape(x, (-1,)), x.shape),
    "roll": lambda ns, x: ns.roll(x, 1),
    "roll-axis": lambda ns, x: ns.roll(x, 1, axis=1),
    "nonzero": lambda ns, x: ns.nonzero(x)[0],
    "unique_values": lambda ns, x: ns.unique_values(x),
    "concat-None": lambda ns, x: ns.concat([x, x], axis=None),
    "repeat": lambda ns, x: ns.repeat(x, 2),
    "tile": lambda ns, x: ns.tile(x, (2, 2)),
    "max-0": lambda ns, x: ns.max(x, axis=0),
    "max-1": lambda ns, x: ns.max(x, axis=1),
    "min-1-keepdims": lambda ns, x: ns.min(x, axis=1, keepdims=True),
    "max-all": lambda ns, x: ns.max(x),
    "sum-0": lambda ns, x: ns.sum(x, axis=0),
    "prod-1": lambda ns, x: ns.prod(x, axis=1),
    "cumulative_sum": lambda ns, x: ns.cumulative_sum(x, axis=1, include_initial=True),
    "sort": lambda ns, x: ns.sort(x, axis=1),
    "vector_norm": lambda ns, x: ns.linalg.vector_norm(x),
    "matrix_norm": lambda ns, x: ns.linalg.matrix_norm(x),
    "svdvals": lambda ns, x: ns.linalg.svdvals(x),
    "svd": lambda ns, x: ns.linalg.svd(x, full_matrices=False)[0],
    "det": lambda ns, x: ns.linalg.det(_square(ns, x)),
    "solve": lambda ns, x: ns.linalg.solve(_square(ns, x), _square(ns, x)),
    "matmul": lambda ns, x: ns.matmul(ns.matrix_transpose(x), x),
    "searchsorted": lambda ns, x: ns.searchsorted(ns.reshape(x, (-1,)), ns.ones(3, dtype=x.dtype)),
}

# Not yet: the gradient of a result of unknown (nan) length on Dask (as for non-empty input).
_NAN_LENGTH = {"unique_values", "nonzero"}


def _run(ns, fn, x):
    r = fn(ns, x)
    grad = None
    if r.requires_grad:
        ns.sum(r * r).backward()
        grad = x.grad
    return r, grad


def _np(t):
    d = t.detach().data
    return np.asarray(d.compute() if hasattr(d, "compute") else d)


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_empty_dask_array_of_several_chunks_matches_numpy(name, layout):
    import dask.array as da

    shape, chunks = LAYOUTS[layout]
    fn = FUNCTIONS[name]
    npx = xpgrad.namespace("numpy")
    dax = xpgrad.namespace("dask")
    differentiable = name not in _NAN_LENGTH
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # NumPy's mean/norm of nothing
        try:
            expected = _run(npx, fn, npx.asarray(np.zeros(shape), requires_grad=differentiable))
        except (ValueError, IndexError, np.linalg.LinAlgError) as exc:
            with pytest.raises(type(exc)):
                r, _ = _run(
                    dax, fn, dax.asarray(da.zeros(shape, chunks=chunks), requires_grad=differentiable)
                )
                r.detach().data.compute()
            return
        x = dax.asarray(da.zeros(shape, chunks=chunks), requires_grad=differentiable)
        got = _run(dax, fn, x)
    value = _np(got[0])  # (nonzero and unique_values announce a length of nan: computed here)
    assert value.shape == expected[0].shape and value.dtype == _np(expected[0]).dtype
    np.testing.assert_array_equal(value, _np(expected[0]))
    if expected[1] is not None:
        np.testing.assert_array_equal(_np(got[1]), _np(expected[1]))


def test_max_along_an_empty_axis_raises_as_numpy_does():
    # Dask alone returns an empty array (shape (4,) announced, (0,) computed): silently wrong
    import dask.array as da

    dax = xpgrad.namespace("dask")
    x = dax.asarray(da.zeros((0, 4), chunks=((0,), (2, 2))))
    with pytest.raises(ValueError, match="zero-size array"):
        dax.max(x, axis=0)
