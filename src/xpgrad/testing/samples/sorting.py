"""Samples for the sorting functions (``_sorting_functions.py``).

Ties are sampled with ``stable=True`` only: the order of tied elements (and so which of them
gets which gradient) is the standard's for a stable sort, and unspecified for an unstable one.
"""

from __future__ import annotations

import numpy as np

from .._opinfo import OpInfo, Sample

_TIES_1D = np.array([3.0, 1.0, 2.0, 1.0, 3.0, 0.0, 1.0])
_TIES_2D = np.array([[2.0, 1.0, 2.0, 0.0], [1.0, 1.0, 1.0, 1.0], [5.0, 4.0, 5.0, 4.0]])


# Finite differences do not apply at a tie: xpgrad, as torch, routes each tied element's gradient
# through the stable order; moving one of them by +eps or -eps puts it after or before its twin.
_FD_TIES = {
    "gradcheck": "sort at ties: central differences average the two orders of a tied pair (each input "
    "of the pair gets the mean of the cotangents of the pair's two outputs); xpgrad, as torch, gives "
    "each input the cotangent of its own output in the stable order",
    "gradgradcheck": "sort at ties: the gradient (the cotangent permuted by the order) jumps between the "
    "two orders of a tied pair, so central differences of it grow as 1/eps; xpgrad, as torch, gives 0 "
    "(sort is piecewise linear)",
}


def _sort_samples(rng, dtype):
    r = rng.standard_normal
    yield Sample((_TIES_1D.copy(),), name="ties", xfail=dict(_FD_TIES))
    yield Sample((_TIES_1D.copy(),), {"descending": True}, name="ties, descending", xfail=dict(_FD_TIES))
    yield Sample((_TIES_2D.copy(),), {"axis": 0}, name="ties, axis=0", xfail=dict(_FD_TIES))
    yield Sample(
        (_TIES_2D.T.copy(),),
        {"axis": -1, "descending": True},
        name="ties, axis=-1, descending",
        xfail=dict(_FD_TIES),
    )
    yield Sample((r((3, 4, 5)),), {"axis": 1}, name="3-d, axis=1")
    yield Sample((r((6,)),), {"stable": False}, name="stable=False")
    yield Sample((r((6,)),), {"stable": False, "descending": True}, name="stable=False, descending")
    yield Sample((r((0,)),), name="empty")
    yield Sample((r((0, 3)),), {"axis": 0}, name="empty, axis=0")
    yield Sample((r((4, 3)).T,), name="non-contiguous")
    yield Sample((_TIES_2D[:, ::2],), {"axis": 0}, name="non-contiguous ties")


def _argsort_samples(rng, dtype):
    for s in _sort_samples(rng, dtype):
        if s.kwargs.get("stable", True):
            yield s


OPS = [
    OpInfo("sort", _sort_samples),
    OpInfo("argsort", _argsort_samples, differentiable=False),
]
