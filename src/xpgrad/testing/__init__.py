"""Testing utilities: the OpInfo sample registry, the torch conformance runner and
:func:`assert_grads_match_torch` for users' own array API code.

    >>> import numpy as np
    >>> from xpgrad.testing import assert_grads_match_torch
    >>> def f(x):
    ...     xp = array_api_compat.array_namespace(x)
    ...     return xp.sum(xp.sin(x) ** 2)
    >>> assert_grads_match_torch(f, np.linspace(0, 1, 5), second_order=True)
"""

from __future__ import annotations

import contextlib
import functools

from .._backends import dtype_hint
from .._namespace import namespace
from .._tensor import Tensor

# These attach the finite-difference and the forward-mode comparisons to the runner.
from . import _fd_reference, _forward_runner  # noqa: F401
from ._known import KnownDifference, find_known
from ._opinfo import ALL_FLOAT, COMPLEX, FLOAT, OpInfo, Sample
from ._runner import (
    CHECKS,
    DEFAULT_TOLERANCES,
    FORWARD_CHECKS,
    PROGRAM_TOLERANCES,
    Case,
    CheckResult,
    _Mismatch,
    assert_check,
    compare_with_torch,
    find_xfail,
    iter_cases,
    run_check,
    sample_cases,
    seed_for,
    to_numpy,
    tolerances,
)
from .samples import load_ops

__all__ = [
    "ALL_FLOAT",
    "CHECKS",
    "COMPLEX",
    "FORWARD_CHECKS",
    "DEFAULT_TOLERANCES",
    "FLOAT",
    "PROGRAM_TOLERANCES",
    "Case",
    "CheckResult",
    "KnownDifference",
    "OpInfo",
    "Sample",
    "assert_check",
    "assert_grads_match_torch",
    "find_known",
    "find_xfail",
    "iter_cases",
    "op_db",
    "run_check",
    "sample_cases",
    "seed_for",
    "tolerances",
]


@functools.lru_cache(maxsize=1)
def _op_db() -> tuple:
    return tuple(load_ops())


def op_db() -> list[OpInfo]:
    """All OpInfos, from every module of ``xpgrad.testing.samples`` (discovered, not listed)."""
    return list(_op_db())


def _namespace_for(inputs, backend):
    import array_api_compat

    if backend is not None:
        return namespace(backend)
    for x in inputs:
        if type(x) is Tensor:
            return x._ns
    for x in inputs:
        if not isinstance(x, (bool, int, float, complex)) and x is not None:
            return namespace(array_api_compat.array_namespace(x))
    raise TypeError("assert_grads_match_torch(): no array among the inputs; pass backend=...")


@contextlib.contextmanager
def _converter(ns, converter):
    """While checking: ``converter`` reads ``ns``'s arrays back into NumPy (``Backend.to_numpy``)."""
    if converter is None:
        yield
        return
    if not callable(converter):
        raise TypeError(
            "assert_grads_match_torch(): argument 'to_numpy' must be a function making a NumPy array "
            f"of one of the backend's arrays, got {type(converter).__name__}"
        )
    backend = ns.backend
    previous, backend.to_numpy = backend.to_numpy, converter
    try:
        yield
    finally:
        backend.to_numpy = previous


def _check_precision(ns, x, arr, i):
    """Input ``i`` kept its precision on the backend (JAX makes float64 float32 by default)."""
    import numpy as np

    if ns.finfo(x.dtype).bits != np.finfo(arr.dtype).bits:
        raise TypeError(
            f"assert_grads_match_torch(): input {i} has dtype {arr.dtype}, but {ns.__name__} made "
            f"it {x.dtype}, while torch computes in {arr.dtype}: {dtype_hint(ns.backend, arr.dtype.name)}"
        )


def _call_on_tensors(fn, args, ns):
    """``fn(*args)`` on xpgrad Tensors; a NumPy function called on them gets a hint."""
    try:
        return fn(*args)
    except TypeError as exc:
        # NumPy's own message for np.sin(tensor), np.sum(tensor), ...: Tensor.__array_ufunc__ is
        # None, so that NumPy refuses rather than silently converts (and drops the gradient).
        if "__array_ufunc__=None" not in str(exc):
            raise
        name = getattr(fn, "__qualname__", None) or repr(fn)
        raise TypeError(
            f"assert_grads_match_torch(): {name} called a NumPy function on an xpgrad Tensor "
            f"({exc}). NumPy's functions cannot record gradients: write {name} against its "
            "input's namespace (xp = array_api_compat.array_namespace(x); xp.sin(x), xp.sum(x)), "
            f"which is {ns.__name__} on xpgrad Tensors and array_api_compat.torch on torch tensors"
        ) from exc


def assert_grads_match_torch(
    fn,
    *inputs,
    grad_outputs=None,
    second_order: bool = False,
    rtol: float | None = None,
    atol: float | None = None,
    backend=None,
    seed: int = 0,
    to_numpy=None,
) -> None:
    """Check array API code ``fn`` on xpgrad against the same code on torch with torch.autograd.

    ``fn(*inputs)`` gets its namespace from its inputs (``array_api_compat.array_namespace``).
    It runs once on xpgrad Tensors (``inputs`` are raw arrays or Tensors of one backend, or
    ``backend`` names it) and once on torch tensors through ``array_api_compat.torch``. Floating
    and complex inputs are differentiated; other inputs and Python values are constants. The
    values, the vector-Jacobian products for ``grad_outputs`` (default: random, seeded by
    ``seed``) and, with ``second_order``, the gradients of ``<grad, w>`` are compared within
    ``rtol``/``atol`` (default: :data:`PROGRAM_TOLERANCES` of the inputs' dtype, looser than
    the conformance suite's per-function :data:`DEFAULT_TOLERANCES`: a whole program may compute
    in another order on the two sides). Raises ``AssertionError`` naming the output or input,
    the errors and the seed.

    ``to_numpy``: a function making a NumPy array of one of the backend's arrays, for a backend
    whose arrays have neither DLPack nor ``__array__`` (without it such a backend raises
    TypeError "cannot read values back ...: pass a converter").
    """
    ns = _namespace_for(inputs, backend)
    with _converter(ns, to_numpy):
        _assert_grads(fn, inputs, ns, grad_outputs, second_order, rtol, atol, seed)


def _assert_grads(fn, inputs, ns, grad_outputs, second_order, rtol, atol, seed) -> None:
    import torch

    x_args, t_args, x_leaves, t_leaves, labels = [], [], [], [], []
    dtype_name = None
    for i, a in enumerate(inputs):
        if isinstance(a, (bool, int, float, complex)) or a is None:
            x_args.append(a)
            t_args.append(a)
            continue
        arr = to_numpy(a.detach() if type(a) is Tensor else a)
        if type(a) is Tensor:
            raw = a.detach().data
        else:
            raw = ns._xp.asarray(a)
        if arr.dtype.kind in "fc":
            dtype_name = dtype_name or arr.dtype.name
            x = ns.asarray(raw, copy=True, requires_grad=True)
            _check_precision(ns, x, arr, i)
            t = torch.tensor(arr).requires_grad_(True)
            x_leaves.append(x)
            t_leaves.append(t)
            labels.append(str(i))
        else:
            x = ns.asarray(raw)
            t = torch.tensor(arr)
        x_args.append(x)
        t_args.append(t)
    r, a = PROGRAM_TOLERANCES.get(dtype_name or "float64", PROGRAM_TOLERANCES["float64"])
    r, a = (r if rtol is None else rtol), (a if atol is None else atol)
    if grad_outputs is not None and not isinstance(grad_outputs, (list, tuple)):
        grad_outputs = [grad_outputs]
    checks = ("forward", "first", "second") if second_order else ("forward", "first")
    for check in checks:
        try:
            compare_with_torch(
                lambda: _call_on_tensors(fn, x_args, ns),
                lambda: fn(*t_args),
                x_leaves,
                t_leaves,
                labels,
                check=check,
                rtol=r,
                atol=a,
                seed=seed,
                grad_outputs=grad_outputs,
            )
        except _Mismatch as exc:
            what = {"forward": "values", "first": "first-order gradients", "second": "second-order gradients"}
            raise AssertionError(
                f"assert_grads_match_torch: {what[check]} differ: {exc} (seed {seed})"
            ) from None
