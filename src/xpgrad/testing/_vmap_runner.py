"""The ``vmap`` check of one (OpInfo, Sample, dtype): the batched result equals the stack of the
unbatched ones (issue 23).

Three copies of the sample are made, the floating arrays of its positional arguments scaled by
1, 1.05 and 1.1 (which keeps every sample's premise: symmetric, positive definite, sorted, of
one sign); the copies' floating arrays are stacked at ``position`` (``0``: a new first axis,
``-1``: a new last axis) and the function is called once under :func:`xpgrad.func.vmap`. Every
output must equal the stack of the three unbatched calls' outputs (the OpInfo's ``output``, at
its tolerances; NaN where both are NaN). Integer arrays (unless the sample has no floating one)
and keyword arguments are not batched.
Functions without a batching rule run through vmap's loop-and-stack fall-back (its warning is
silenced here: the fall-back is the rule under test).
"""

from __future__ import annotations

import warnings

import numpy as np

from .._tensor import Tensor
from ..func import VmapFallbackWarning, tree_flatten, tree_unflatten, vmap
from ..func._batched import batch_namespace
from ._opinfo import OpInfo, Sample
from ._runner import _as_list, _xpgrad_inputs, to_numpy, tolerances

__all__ = ["VMAP_POSITIONS", "NothingToBatch", "UnbatchedFails", "run_vmap_check"]

VMAP_POSITIONS = {"vmap0": 0, "vmap-1": -1}
SCALES = (1.0, 1.05, 1.1)


class NothingToBatch(Exception):
    """The sample has no array among its positional arguments."""


class UnbatchedFails(Exception):
    """The unbatched call of the sample raises on this backend: there is no reference."""


def _scaled(sample: Sample, s: float) -> Sample:
    def scale(v):
        if isinstance(v, np.ndarray) and v.dtype.kind in "fc":
            return np.asarray(v * s, dtype=v.dtype)
        if isinstance(v, (list, tuple)) and any(isinstance(e, np.ndarray) for e in v):
            return type(v)(scale(e) for e in v)
        return v

    return Sample(tuple(scale(a) for a in sample.args), dict(sample.kwargs), sample.name, sample.grad)


def _outputs(op, ns, result):
    if op.output is not None:
        return list(op.output(ns, result))
    return [r for r in _as_list(result) if hasattr(r, "shape")]


def run_vmap_check(op: OpInfo, sample: Sample, dtype: str, ns, check: str) -> None:
    """Raise AssertionError where ``vmap`` of ``op`` differs from the stacked loop (``check``:
    ``"vmap0"`` or ``"vmap-1"``); NothingToBatch where the sample has no floating argument."""
    pos = VMAP_POSITIONS[check]
    copies = [_xpgrad_inputs(_scaled(sample, s), dtype, ns, differentiate=False) for s in SCALES]
    flat = [tree_flatten(c.args) for c in copies]
    leaves0, spec = flat[0]
    dims, batched = [], []
    floats = [isinstance(x, Tensor) and ns._is_differentiable_dtype(x.dtype) for x in leaves0]
    if not any(floats):  # integer and boolean functions: their arrays batched (equal copies)
        floats = [isinstance(x, Tensor) for x in leaves0]
    for j, leaf in enumerate(leaves0):
        if floats[j]:
            d = pos if pos == 0 else len(leaf.shape)
            batched.append(ns.stack([f[0][j] for f in flat], axis=d))
            dims.append(d)
        else:
            batched.append(leaf)
            dims.append(None)
    if all(d is None for d in dims):
        raise NothingToBatch(f"{op.name}: no array among the positional arguments")
    kwargs = copies[0].kwargs
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", VmapFallbackWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        # torch's performance note on the strided samples the loop-and-stack fall-back reads
        warnings.filterwarnings("ignore", message=".*non-contiguous", category=UserWarning)
        try:
            loop = [_outputs(op, ns, op.call(ns, *c.args, **c.kwargs)) for c in copies]
            # read back here: a lazy backend (Dask) computes now, and what fails then is the
            # unbatched call's failure, not vmap's
            want_all = [np.stack([to_numpy(out[i]) for out in loop]) for i in range(len(loop[0]))]
        except Exception as exc:  # noqa: BLE001 - reported with the backend's known difference
            raise UnbatchedFails(f"{type(exc).__name__}: {exc}") from exc
        bns = batch_namespace(ns)

        def f(*args):
            return _outputs(op, bns, op.call(bns, *args, **kwargs))

        in_dims = tree_unflatten(dims, spec)
        got = vmap(f, in_dims=tuple(in_dims))(*tree_unflatten(batched, spec))
        have_all = [to_numpy(g) for g in got]  # (a lazy backend computes here, as for the loop)
    rtol, atol = tolerances(op, dtype)
    if len(got) != len(loop[0]):
        raise AssertionError(f"vmap gave {len(got)} outputs, the loop {len(loop[0])}")
    for i, (have, want) in enumerate(zip(have_all, want_all)):
        if have.shape != want.shape:
            raise AssertionError(f"output {i}: vmap gave shape {have.shape}, the stacked loop {want.shape}")
        np.testing.assert_allclose(have, want, rtol=rtol, atol=atol, equal_nan=True, err_msg=f"output {i}")
