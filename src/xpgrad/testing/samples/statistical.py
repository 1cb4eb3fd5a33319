"""Samples for the statistical functions (``_statistical_functions.py``): every axis, keepdims,
correction, dtype and include_initial variant; ties for max/min; zeros for prod and
cumulative_prod."""

from __future__ import annotations

import numpy as np

from .._opinfo import ALL_FLOAT, FLOAT, OpInfo, Sample
from ._common import dtype_of, make, noncontig


def _with_dtype(fname):
    """Call ``xp.<fname>`` with ``dtype`` given by name (samples hold no dtype objects)."""

    def fn(xp, x, dtype=None, **kwargs):
        if dtype is not None:
            kwargs["dtype"] = dtype_of(xp, dtype)
        return getattr(xp, fname)(x, **kwargs)

    return fn


_AXES = [
    ({}, "axis=None"),
    ({"axis": 0}, "axis=0"),
    ({"axis": -1}, "axis=-1"),
    ({"axis": (0, 2)}, "axis=(0,2)"),
    ({"axis": 1, "keepdims": True}, "axis=1,keepdims"),
    ({"keepdims": True}, "axis=None,keepdims"),
]


def _reduction_samples(rng, dtype, *, empty=True, empty_xfail=None):
    x = make(rng, (2, 3, 2), dtype)
    for kw, name in _AXES:
        yield Sample((x,), kw, name=name)
    yield Sample((make(rng, (), dtype),), name="0d")
    yield Sample((noncontig(make(rng, (3, 2), dtype)),), {"axis": 0}, name="noncontig")
    if empty:
        yield Sample((make(rng, (0, 3), dtype),), {"axis": 0}, name="empty_axis", xfail=empty_xfail or {})


def _sum_samples(rng, dtype):
    yield from _reduction_samples(rng, dtype)
    yield Sample((make(rng, (2, 3), dtype),), {"axis": ()}, name="axis=()")
    # dtype= promotes: float32 input summed in float64 (the gradient comes back as float32).
    wide = "complex128" if dtype.startswith("complex") else "float64"
    yield Sample((make(rng, (2, 3), dtype),), {"axis": 1, "dtype": wide}, name="dtype=" + wide)


def _prod_samples(rng, dtype):
    yield from _reduction_samples(rng, dtype)
    x = make(rng, (3, 4), dtype, 0.5, 1.5)
    one = x.copy()
    one[1, 2] = 0
    yield Sample((one,), {"axis": 1}, name="one_zero")
    two = x.copy()
    two[1, 0] = two[1, 3] = 0
    yield Sample((two,), {"axis": 1}, name="two_zeros")
    yield Sample((two,), name="two_zeros,axis=None")
    yield Sample((one,), {"axis": (0, 1), "keepdims": True}, name="one_zero,all_axes,keepdims")
    wide = "complex128" if dtype.startswith("complex") else "float64"
    yield Sample((x,), {"axis": 0, "dtype": wide}, name="dtype=" + wide)


def _mean_samples(rng, dtype):
    # No empty reduction: the mean of nothing is nan (with a warning).
    yield from _reduction_samples(rng, dtype, empty=False)


_STD_ZERO = {
    "second": "torch 2.13's second derivative of std is nan where std == 0; xpgrad gives 0 (std is "
    "not differentiable there: |x| has a kink)",
    "gradgradcheck": "std is not differentiable where it is 0 (a kink, like |x|): the gradient jumps",
}


def _var_samples(rng, dtype, *, std=False):
    x = make(rng, (2, 3, 2), dtype)
    for kw, name in _AXES:
        yield Sample((x,), kw, name=name)
    yield Sample((x,), {"axis": 1, "correction": 1}, name="axis=1,correction=1")
    if not std:  # torch: "float correction in torch std() is not yet supported"
        yield Sample((x,), {"correction": 1.5}, name="correction=1.5")
    yield Sample(
        (x,), {"axis": (0, 1), "correction": 2, "keepdims": True}, name="axis=(0,1),correction=2,keepdims"
    )
    yield Sample((make(rng, (), dtype),), name="0d", xfail={"second": _STD_ZERO["second"]} if std else {})
    if std:
        yield Sample(
            (np.array([[1.0, 1.0, 1.0], [0.5, -1.0, 2.0]]),),
            {"axis": 1},
            name="constant_row",
            xfail=_STD_ZERO,
        )
    yield Sample((noncontig(make(rng, (3, 2), dtype)),), {"axis": 0}, name="noncontig")


def _extremum_samples(sign):
    """Samples for max (sign=1) and min (sign=-1): the tie patterns are the same for both."""

    def samples(rng, dtype):
        yield from _reduction_samples(rng, dtype, empty=False)
        # Two tied extrema per row: torch splits 1/2 each, as central differences do.
        ties = np.array([[3.0, 3.0, -3.0, -3.0], [1.0, -1.0, 1.0, -1.0]])
        jumps = {"gradgradcheck": "the gradient jumps at a tie: central differences of it blow up"}
        yield Sample((ties,), {"axis": 1}, name="ties", xfail=jumps)
        yield Sample((ties,), name="ties,axis=None", xfail=jumps)
        yield Sample(
            (sign * np.array([[2.0, 2.0, 2.0, 0.0], [1.0, 0.0, -1.0, -2.0]]),),
            {"axis": 1},
            name="three_way_ties",
            xfail={
                **jumps,
                "gradcheck": "three tied extrema: torch (amax/amin) gives 1/3 each, central differences 1/2",
            },
        )
        yield Sample(
            (np.full((2, 2), 0.5),),
            name="all_equal",
            xfail={
                **jumps,
                "gradcheck": "four tied extrema: torch (amax/amin) gives 1/4 each, central differences 1/2",
            },
        )

    return samples


def _cumulative_samples(rng, dtype, prod=False):
    low, high = (0.5, 1.5) if prod else (-2.0, 2.0)
    yield Sample((make(rng, (5,), dtype, low, high),), name="1d,axis=None")
    x = make(rng, (3, 4), dtype, low, high)
    yield Sample((x,), {"axis": 0}, name="axis=0")
    yield Sample((x,), {"axis": -1}, name="axis=-1")
    yield Sample((x,), {"axis": 1, "include_initial": True}, name="axis=1,include_initial")
    # a leading axis with include_initial: the VJP drops the first entry with an index that must
    # cover every axis (array_api_strict refuses a partial one; issue 19)
    yield Sample(
        (make(rng, (3, 2, 4), dtype, low, high),),
        {"axis": -2, "include_initial": True},
        name="3d,axis=-2,include_initial",
    )
    yield Sample((make(rng, (4,), dtype, low, high),), {"include_initial": True}, name="1d,include_initial")
    yield Sample((make(rng, (2, 0), dtype),), {"axis": 1}, name="empty_axis")
    yield Sample(
        (make(rng, (0, 3), dtype),), {"axis": 1, "include_initial": True}, name="empty,include_initial"
    )
    yield Sample((noncontig(make(rng, (3, 2), dtype, low, high)),), {"axis": 0}, name="noncontig")
    wide = "complex128" if dtype.startswith("complex") else "float64"
    yield Sample((x,), {"axis": 1, "dtype": wide}, name="dtype=" + wide)
    if prod:
        one = x.copy()
        one[1, 1] = 0
        yield Sample((one,), {"axis": 1}, name="one_zero")
        two = x.copy()
        two[1, 0] = two[1, 2] = 0
        two[2, 3] = 0
        yield Sample((two,), {"axis": 1}, name="two_zeros")
        yield Sample((two,), {"axis": 1, "include_initial": True}, name="two_zeros,include_initial")


OPS = [
    OpInfo("sum", _sum_samples, fn=_with_dtype("sum"), dtypes=ALL_FLOAT),
    OpInfo("prod", _prod_samples, fn=_with_dtype("prod"), dtypes=ALL_FLOAT),
    OpInfo("mean", _mean_samples, dtypes=ALL_FLOAT),
    OpInfo("var", _var_samples, dtypes=FLOAT),
    OpInfo("std", lambda rng, dtype: _var_samples(rng, dtype, std=True), dtypes=FLOAT),
    OpInfo("max", _extremum_samples(1.0), dtypes=FLOAT),
    OpInfo("min", _extremum_samples(-1.0), dtypes=FLOAT),
    OpInfo(
        "cumulative_sum",
        lambda rng, dtype: _cumulative_samples(rng, dtype),
        fn=_with_dtype("cumulative_sum"),
        dtypes=ALL_FLOAT,
    ),
    OpInfo(
        "cumulative_prod",
        lambda rng, dtype: _cumulative_samples(rng, dtype, prod=True),
        fn=_with_dtype("cumulative_prod"),
        dtypes=ALL_FLOAT,
    ),
]


# -- median (beyond the standard; scikit-learn looks it up) --------------------------------------


def _median_samples(rng, dtype):
    for kw, name in _AXES:
        if kw.get("axis") == (0, 2):
            continue  # torch.quantile takes a single dim
        yield Sample((make(rng, (2, 3, 2), dtype),), kw, name=name)
    yield Sample((make(rng, (5,), dtype),), name="odd")
    yield Sample((make(rng, (3, 4), dtype),), {"axis": 1}, name="even")
    ties = "median at ties: central differences share the gradient among the tied values; xpgrad, as torch.quantile, gives it to one position of the stable sort"
    yield Sample(
        (np.array([1.0, 3.0, 3.0, 2.0, 3.0]),), name="ties", xfail={"gradcheck": ties, "gradgradcheck": ties}
    )
    yield Sample((make(rng, (), dtype),), name="0d")


def _torch_median(txp, x, axis=None, keepdims=False):
    import torch

    if axis is None:
        m = torch.quantile(x.reshape(-1), 0.5)
        return m.reshape((1,) * x.ndim) if keepdims else m
    return torch.quantile(x, 0.5, dim=axis, keepdim=keepdims)


OPS.append(OpInfo("median", _median_samples, dtypes=FLOAT, torch_fn=_torch_median))


# -- bincount (beyond the standard; scikit-learn looks it up) ------------------------------------


def _bincount_samples(rng, dtype):
    x = np.array([0, 2, 2, 5, 0, 2])
    yield Sample((x, make(rng, (6,), dtype)), name="weights", grad=(1,))
    yield Sample((x, make(rng, (6,), dtype)), {"minlength": 9}, name="weights,minlength", grad=(1,))
    yield Sample((np.array([3]), make(rng, (1,), dtype)), name="one value", grad=(1,))


def _torch_bincount(txp, x, weights, minlength=0):
    import torch

    return torch.bincount(x, weights=weights, minlength=minlength)


_NO_TORCH_BINCOUNT = "torch.bincount has no derivative in weights (it raises)"
OPS.append(
    OpInfo(
        "bincount",
        _bincount_samples,
        dtypes=FLOAT,
        torch_fn=_torch_bincount,
        fd_reference=dict.fromkeys(("first", "second", "jvp", "fwd_rev"), _NO_TORCH_BINCOUNT),
    )
)
