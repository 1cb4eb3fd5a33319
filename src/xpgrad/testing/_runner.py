"""The shared runner: one (OpInfo, Sample, dtype, namespace, check) against torch.autograd.

``run_check`` builds the sample's inputs twice (xpgrad Tensors on the backend under test; torch
tensors used through ``array_api_compat.torch``), runs the function on both and compares one
check:

- ``forward``: the values (and, for a non-differentiable function, that no output requires
  grad);
- ``first``: a vector-Jacobian product with a seeded random cotangent (complex for complex
  outputs); each gradient must have its input's dtype and shape; where torch gives no gradient
  xpgrad gives none or zeros; integer and boolean outputs must not require grad;
- ``second``: the gradient of ``<grad, w>`` (random ``w``) with respect to the inputs and the
  cotangent, with ``create_graph=True`` on both sides.

It returns a :class:`CheckResult` (for the pytest wrappers and a report CLI); ``assert_check``
raises ``AssertionError`` instead. ``compare_with_torch`` is the comparison engine shared with
:func:`xpgrad.testing.assert_grads_match_torch`.
"""

from __future__ import annotations

import contextlib
import traceback
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from .._autograd import grad as _xgrad
from .._grad_mode import enable_grad
from .._tensor import Tensor
from ._known import KnownDifference, find_known
from ._opinfo import OpInfo, Sample

__all__ = [
    "CHECKS",
    "DEFAULT_TOLERANCES",
    "PROGRAM_TOLERANCES",
    "Case",
    "CheckResult",
    "assert_check",
    "compare_with_torch",
    "find_xfail",
    "iter_cases",
    "run_check",
    "sample_cases",
    "seed_for",
    "tolerances",
]

CHECKS = ("forward", "first", "second")

# Default (rtol, atol) per dtype, for values and gradients alike: one place. An element passes if
# |xpgrad - torch| <= atol + rtol * |torch|; non-finite values must match exactly. OpInfo.rtol /
# OpInfo.atol override them per op, each with its reason (OpInfo.tolerance_reasons). Integer and
# boolean values are compared exactly. Resolution (conformance/test_planted_bugs.py plants
# them): a relative error of 1e-7 in float64 (1e-4 in float32) is caught wherever the value's
# magnitude exceeds 1.1e-3 (0.043), in every check. Measured with tools/tolerance_margins.py on
# NumPy, torch and JAX: every check passes by a factor of 3 or more (linear algebra and FFTs,
# whose round-off depends on the BLAS/LAPACK build: about 10).
DEFAULT_TOLERANCES = {
    "float32": (3e-5, 3e-6),
    "float64": (1e-8, 1e-10),
    "complex64": (3e-5, 3e-6),
    "complex128": (1e-8, 1e-10),
}
# Default (rtol, atol) of assert_grads_match_torch: a whole program of the user's (or a library's)
# may compute in another order, or call other functions, on xpgrad's backend than on torch.
PROGRAM_TOLERANCES = {
    "float32": (1e-3, 1e-4),
    "float64": (1e-7, 1e-9),
    "complex64": (1e-3, 1e-4),
    "complex128": (1e-7, 1e-9),
}


def tolerances(op: OpInfo | None, dtype: str, rtol=None, atol=None) -> tuple[float, float]:
    """(rtol, atol) for ``op`` at ``dtype``: explicit values, then the op's, then the defaults."""
    r, a = DEFAULT_TOLERANCES.get(dtype, DEFAULT_TOLERANCES["float64"])
    if op is not None:
        r = op.rtol.get(dtype, r)
        a = op.atol.get(dtype, a)
    return (r if rtol is None else rtol, a if atol is None else atol)


@dataclass
class CheckResult:
    """The outcome of one check; ``status`` is "pass", "fail", "xfail", "xpass" or "skip"."""

    op: str
    sample: str
    dtype: str
    check: str
    backend: str
    status: str
    max_abs_error: float | None = None
    max_rel_error: float | None = None
    seed: int | None = None
    message: str = ""
    xfail_reason: str | None = None

    @property
    def id(self) -> str:
        return f"{self.op}-{self.dtype}-{self.sample}-{self.check}"

    @property
    def ok(self) -> bool:
        return self.status in ("pass", "xfail", "skip")


class _Mismatch(AssertionError):
    def __init__(self, message, max_abs=None, max_rel=None):
        super().__init__(message)
        self.max_abs = max_abs
        self.max_rel = max_rel


# -- samples -------------------------------------------------------------------------------------


def seed_for(*parts) -> int:
    """A stable seed from names (same across runs and processes)."""
    return zlib.crc32("|".join(str(p) for p in parts).encode())


def sample_cases(op: OpInfo, dtype: str) -> list[tuple[str, Sample]]:
    """The op's samples at ``dtype`` with unique, readable names (generated deterministically)."""
    rng = np.random.default_rng(seed_for(op.name, dtype))
    out = []
    seen: dict[str, int] = {}
    for k, s in enumerate(op.samples(rng, dtype)):
        name = (s.name or f"s{k}").replace(" ", "_")
        if name in seen:
            seen[name] += 1
            name = f"{name}#{seen[name]}"
        else:
            seen[name] = 1
        out.append((name, s))
    return out


@dataclass
class Case:
    """One (op, dtype, sample) with a readable id unique in the whole registry."""

    op: OpInfo
    dtype: str
    sample_name: str
    sample: Sample
    id: str


def iter_cases(ops, dtypes=None) -> list[Case]:
    """Every (op, dtype, sample) of ``ops``; ``dtypes`` restricts the dtypes.

    Ids are ``<op>-<dtype>-<sample>`` (a function with several OpInfos shares its name; a
    colliding id gets ``#2``, ``#3``...).
    """
    out = []
    seen: dict[str, int] = {}
    for op in ops:
        for dtype in op.dtypes:
            if dtypes is not None and dtype not in dtypes:
                continue
            for name, s in sample_cases(op, dtype):
                base = f"{op.name}-{dtype}-{name}"
                n = seen.get(base, 0) + 1
                seen[base] = n
                out.append(Case(op, dtype, name, s, base if n == 1 else f"{base}#{n}"))
    return out


def find_xfail(op: OpInfo, sample: Sample | None, check: str, dtype: str, backend: str) -> str | None:
    """The reason ``check`` is expected to fail here, from the sample's and the op's xfail."""
    for table in ((sample.xfail if sample is not None else {}), op.xfail):
        for key, reason in table.items():
            parts = key.split(":")
            want = (check, dtype, backend)
            if all(p in ("*", w) for p, w in zip(parts, want)):
                return reason
    return None


# -- conversion ------------------------------------------------------------------------------------

_PRECISION = {"float32": 32, "complex64": 32, "float64": 64, "complex128": 64}


def _target_dtype(a: np.ndarray, dtype: str, complex_sample: bool) -> np.dtype:
    bits = _PRECISION.get(dtype, 64)
    is_c = a.dtype.kind == "c" or (not complex_sample and dtype.startswith("complex"))
    if is_c:
        return np.dtype(np.complex64 if bits == 32 else np.complex128)
    return np.dtype(np.float32 if bits == 32 else np.float64)


def _walk(obj, fn):
    if isinstance(obj, np.ndarray):
        return fn(obj)
    if isinstance(obj, list):
        return [_walk(o, fn) for o in obj]
    if isinstance(obj, tuple):
        return tuple(_walk(o, fn) for o in obj)
    return obj


def _has_complex(sample: Sample) -> bool:
    found = []

    def visit(a):
        if a.dtype.kind == "c":
            found.append(a)
        return a

    _walk(tuple(sample.args) + tuple(sample.kwargs.values()), visit)
    return bool(found)


class _Inputs:
    """A sample's arguments on one side (xpgrad or torch) and its differentiable leaves."""

    def __init__(self, args, kwargs, leaves, labels):
        self.args = args
        self.kwargs = kwargs
        self.leaves = leaves
        self.labels = labels


def _convert(sample: Sample, dtype: str, make_float, make_const, differentiate: bool) -> _Inputs:
    complex_sample = _has_complex(sample)
    leaves, labels = [], []

    def conv(value, label, want_grad):
        counter = [0]

        def leaf(a):
            lab = label if isinstance(value, np.ndarray) else f"{label}[{counter[0]}]"
            counter[0] += 1
            if a.dtype.kind in "fc":
                a = a.astype(_target_dtype(a, dtype, complex_sample), copy=False)
                t = make_float(a, want_grad)
                if want_grad:
                    leaves.append(t)
                    labels.append(lab)
                return t
            return make_const(a)

        return _walk(value, leaf)

    def wanted(key):
        if not differentiate:
            return False
        return sample.grad is None or key in sample.grad

    args = tuple(conv(a, f"args[{i}]", wanted(i)) for i, a in enumerate(sample.args))
    kwargs = {k: conv(v, f"kwargs[{k!r}]", wanted(k)) for k, v in sample.kwargs.items()}
    return _Inputs(args, kwargs, leaves, labels)


def to_numpy(a):
    """A NumPy copy of an xpgrad Tensor, a backend array, a torch tensor or a Python scalar."""
    import array_api_compat as compat

    if type(a) is Tensor:
        a = a.data
    if isinstance(a, (np.ndarray, np.generic, bool, int, float, complex)):
        return np.asarray(a)
    if compat.is_torch_array(a):
        if a._is_zerotensor():
            # torch's ZeroTensor gradients (e.g. second order through abs or amax) have no
            # storage: .numpy(force=True) can read or write through a null pointer (segfault).
            import torch

            return torch.zeros(tuple(a.shape), dtype=a.dtype).numpy()
        # force: resolves conjugate/negative views.
        return a.detach().cpu().numpy(force=True)
    if compat.is_cupy_array(a):
        return a.get()
    try:
        return np.from_dlpack(a)
    except (TypeError, RuntimeError, BufferError, ValueError, AttributeError):
        return np.asarray(a)


# Chunk layouts for backends with chunked arrays (Dask): a sample's arrays are split so that
# gradients cross chunk boundaries. Layout ``k`` of an axis of length n: 0 = halves, 1 = uneven
# (1, n - 1), 2 = chunks of 1 element. Empty and length-1 axes stay one chunk.
_LAYOUTS = 3


def _chunks_for(shape, layout):
    out = []
    for n in shape:
        if n <= 1:
            out.append((n,))
        elif layout == 0:
            h = (n + 1) // 2
            out.append((h, n - h))
        elif layout == 1:
            out.append((1, n - 1))
        else:
            out.append((1,) * n)
    return tuple(out)


def _xpgrad_inputs(sample, dtype, ns, differentiate, layout=0):
    raw = ns._xp
    backend = ns._backend
    counter = [layout]

    def native(a):
        d = raw.asarray(a)
        if backend.chunked and d.ndim:
            d = backend.rechunk(d, _chunks_for(d.shape, counter[0] % _LAYOUTS))
            counter[0] += 1
        return d

    def make_float(a, want_grad):
        return ns.asarray(native(a), requires_grad=want_grad)

    def make_const(a):
        return ns.asarray(native(a))

    return _convert(sample, dtype, make_float, make_const, differentiate)


def _torch_inputs(sample, dtype, differentiate):
    import torch

    def make_float(a, want_grad):
        return torch.tensor(np.array(a, order="C")).requires_grad_(want_grad)

    def make_const(a):
        return torch.tensor(np.array(a, order="C"))

    return _convert(sample, dtype, make_float, make_const, differentiate)


# -- comparison ------------------------------------------------------------------------------------


def _is_diff_dtype(a) -> bool:
    return a.dtype.kind in "fc"


@np.errstate(invalid="ignore", over="ignore")
def _errors(x: np.ndarray, t: np.ndarray):
    """(max abs error, max rel error) over the finite entries."""
    if x.size == 0:
        return 0.0, 0.0
    fin = np.isfinite(x) & np.isfinite(t)
    if not fin.any():
        return 0.0, 0.0
    xa = x[fin].astype(np.complex128 if x.dtype.kind == "c" else np.float64)
    ta = t[fin].astype(xa.dtype)
    err = np.abs(xa - ta)
    rel = err / np.maximum(np.abs(ta), np.finfo(np.float64).tiny)
    return float(err.max()), float(rel.max())


@np.errstate(invalid="ignore", over="ignore")
def _assert_close(x, t, rtol, atol, what, exact_dtype=True):
    """Compare NumPy values ``x`` (xpgrad) and ``t`` (torch); raise _Mismatch naming ``what``."""
    x = np.asarray(x)
    t = np.asarray(t)
    if x.shape != t.shape:
        raise _Mismatch(f"{what}: shape {x.shape}, torch gives {t.shape}")
    if exact_dtype and _is_diff_dtype(x) and x.dtype != t.dtype:
        raise _Mismatch(f"{what}: dtype {x.dtype}, torch gives {t.dtype}")
    if x.dtype.kind != t.dtype.kind and not (x.dtype.kind in "iu" and t.dtype.kind in "iu"):
        raise _Mismatch(f"{what}: dtype {x.dtype}, torch gives {t.dtype}")
    if not _is_diff_dtype(x):
        if not np.array_equal(x, t):
            bad = np.argwhere(x != t)
            idx = tuple(int(i) for i in bad[0]) if bad.size else ()
            raise _Mismatch(
                f"{what}: values differ at {len(bad)} elements, e.g. {idx}: xpgrad {x[idx]!r}, torch {t[idx]!r}"
            )
        return 0.0, 0.0
    max_abs, max_rel = _errors(x, t)
    xc = x.astype(np.complex128) if x.dtype.kind == "c" or t.dtype.kind == "c" else x.astype(np.float64)
    tc = t.astype(xc.dtype)
    same_nonfinite = np.isnan(xc) == np.isnan(tc)
    same_nonfinite &= np.where(np.isinf(tc) | np.isinf(xc), xc == tc, True)
    fin = np.isfinite(xc) & np.isfinite(tc)
    close = np.where(fin, np.abs(xc - tc) <= atol + rtol * np.abs(tc), same_nonfinite)
    if not close.all():
        bad = np.argwhere(~close)
        idx = tuple(int(i) for i in bad[0])
        raise _Mismatch(
            f"{what}: {len(bad)} of {x.size} elements differ (max abs error {max_abs:.3g}, max rel "
            f"error {max_rel:.3g}; rtol={rtol:g}, atol={atol:g}); e.g. at {idx}: xpgrad {xc[idx]!r}, "
            f"torch {tc[idx]!r}",
            max_abs,
            max_rel,
        )
    return max_abs, max_rel


def _as_list(result) -> list:
    if isinstance(result, (tuple, list)):
        return list(result)
    return [result]


def _random(rng, shape, np_dtype):
    if np_dtype.kind == "c":
        v = rng.standard_normal(shape) + 1j * rng.standard_normal(shape)
    else:
        v = rng.standard_normal(shape)
    return np.asarray(v, dtype=np_dtype)


class _Acc:
    def __init__(self):
        self.max_abs = 0.0
        self.max_rel = 0.0

    def add(self, errs):
        self.max_abs = max(self.max_abs, errs[0])
        self.max_rel = max(self.max_rel, errs[1])


def _is_scalar_value(v) -> bool:
    return isinstance(v, (bool, int, float, complex, np.generic, str))


def _compare_outputs(xs, ts, rtol, atol, acc, what="output"):
    if len(xs) != len(ts):
        raise _Mismatch(f"{len(xs)} outputs, torch gives {len(ts)}")
    for k, (x, t) in enumerate(zip(xs, ts)):
        if _is_scalar_value(x) or _is_scalar_value(t):
            if not (_is_scalar_value(x) and _is_scalar_value(t)) or not (
                x == t or (isinstance(x, float) and np.isclose(x, t, rtol=rtol, atol=atol))
            ):
                raise _Mismatch(f"{what} {k}: {x!r}, torch gives {t!r}")
            continue
        acc.add(_assert_close(to_numpy(x), to_numpy(t), rtol, atol, f"{what} {k}"))


def _grads_match(xg, tg, leaves, labels, rtol, atol, acc, what):
    """Compare gradients (None = no gradient) of each leaf; check dtype and shape."""
    for g, tgk, leaf, label in zip(xg, tg, leaves, labels):
        w = f"{what} of input {label}"
        if g is not None and type(g) is Tensor and type(leaf) is Tensor:
            if tuple(g.shape) != tuple(leaf.shape):
                raise _Mismatch(f"{w}: shape {tuple(g.shape)}, the input has {tuple(leaf.shape)}")
            if g.dtype != leaf.dtype:
                raise _Mismatch(f"{w}: dtype {g.dtype}, the input has {leaf.dtype}")
        if tgk is None:
            if g is not None:
                gn = to_numpy(g)
                if np.any(gn != 0):
                    raise _Mismatch(f"{w}: torch gives no gradient (None), xpgrad gives nonzero values")
            continue
        tn = to_numpy(tgk)
        gn = to_numpy(g) if g is not None else np.zeros_like(tn)
        acc.add(_assert_close(gn, tn, rtol, atol, w))


def compare_with_torch(
    call_x: Callable[[], object],
    call_t: Callable[[], object],
    x_leaves: list,
    t_leaves: list,
    labels: list[str],
    *,
    check: str,
    rtol: float,
    atol: float,
    seed: int,
    select: Callable | None = None,
    select_torch: Callable | None = None,
    differentiable: bool = True,
    grad_outputs: list | None = None,
) -> tuple[float, float]:
    """Run ``call_x`` (xpgrad) and ``call_t`` (torch) and compare ``check``; raise on mismatch.

    ``x_leaves``/``t_leaves`` are the inputs to differentiate (in the same order, named by
    ``labels``). ``select(result) -> list`` picks the outputs (default: the result, or the
    entries of a tuple result). Returns (max abs error, max rel error).
    """
    import torch

    select = select or _as_list
    select_torch = select_torch or select
    acc = _Acc()
    with enable_grad():
        xs = select(call_x())
    ts = select_torch(call_t())

    if check == "forward":
        _compare_outputs(xs, ts, rtol, atol, acc)
        if not differentiable:
            for k, x in enumerate(xs):
                if type(x) is Tensor and x.requires_grad:
                    raise _Mismatch(
                        f"output {k} requires grad, but the function is declared non-differentiable"
                    )
        return acc.max_abs, acc.max_rel

    # Integer and boolean outputs never require grad; the floating ones are differentiated.
    x_diff, t_diff = [], []
    if len(xs) != len(ts):
        raise _Mismatch(f"{len(xs)} outputs, torch gives {len(ts)}")
    for k, (x, t) in enumerate(zip(xs, ts)):
        if type(x) is not Tensor:
            continue
        if not x._ns._is_differentiable_dtype(x.dtype):
            if x.requires_grad:
                raise _Mismatch(f"output {k} has dtype {x.dtype} and must not require grad")
            continue
        # An output torch marks as requiring grad while xpgrad does not (e.g. slogdet's sign)
        # is fine if torch's gradient through it is zero: the comparison below decides.
        x_diff.append((k, x))
        t_diff.append(t)
    if not x_leaves:
        return acc.max_abs, acc.max_rel

    rng = np.random.default_rng(seed)
    xv, tv = [], []
    for n, (_k, x) in enumerate(x_diff):
        if grad_outputs is not None:
            v = to_numpy(grad_outputs[n])
        else:
            v = _random(rng, tuple(x.shape), to_numpy(x).dtype)
        raw = x._ns._xp.asarray(v)
        xv.append(x._ns.asarray(raw, requires_grad=check == "second"))
        tv.append(torch.tensor(v).requires_grad_(check == "second"))
    x_roots = [(x, v) for (k, x), v in zip(x_diff, xv) if x.requires_grad]
    t_roots = [(t, v) for t, v in zip(t_diff, tv) if isinstance(t, torch.Tensor) and t.requires_grad]
    create = check == "second"

    if x_roots:
        xg = _xgrad(
            [r for r, _ in x_roots], x_leaves, [v for _, v in x_roots], create_graph=create, allow_unused=True
        )
    else:
        xg = (None,) * len(x_leaves)
    if t_roots:
        tg = torch.autograd.grad(
            [r for r, _ in t_roots], t_leaves, [v for _, v in t_roots], create_graph=create, allow_unused=True
        )
    else:
        tg = (None,) * len(t_leaves)

    if check == "first":
        _grads_match(xg, tg, x_leaves, labels, rtol, atol, acc, "gradient")
        return acc.max_abs, acc.max_rel

    # Cotangents of outputs that are no root on one side get no gradient there (None).
    x_targets = list(x_leaves) + xv
    t_targets = list(t_leaves) + tv
    x_labels = list(labels) + [f"cotangent of output {k}" for k, _x in x_diff]
    xgg, tgg = _second_order(xg, tg, x_leaves, x_targets, t_targets, seed)
    _grads_match(xgg, tgg, x_targets, x_labels, rtol, atol, acc, "second-order gradient")
    return acc.max_abs, acc.max_rel


def _second_order(xg, tg, x_leaves, x_targets, t_targets, seed):
    """Gradients of s = sum_i Re<w_i, grad_i> (random ``w``) with respect to ``x_targets`` and
    ``t_targets`` (the inputs and the cotangents), for xpgrad and torch."""
    import torch

    rng2 = np.random.default_rng(seed + 1)
    xs_terms, ts_terms = [], []
    for g, t, leaf in zip(xg, tg, x_leaves):
        w = _random(rng2, tuple(leaf.shape), to_numpy(leaf.detach()).dtype)
        if g is not None and g.requires_grad:
            ns = g._ns
            wx = ns.asarray(ns._xp.asarray(w))
            c = ns.isdtype(g.dtype, "complex floating")
            xs_terms.append(ns.sum(ns.real(ns.conj(wx) * g)) if c else ns.sum(wx * g))
        if t is not None and t.requires_grad:
            wt = torch.tensor(w)
            ts_terms.append(
                torch.sum(torch.real(torch.conj(wt) * t)) if t.is_complex() else torch.sum(wt * t)
            )
    if xs_terms:
        s = xs_terms[0]
        for term in xs_terms[1:]:
            s = s + term
        xgg = _xgrad(s, x_targets, allow_unused=True)
    else:
        xgg = (None,) * len(x_targets)
    if ts_terms:
        ts_sum = sum(ts_terms[1:], ts_terms[0])
        tgg = torch.autograd.grad(ts_sum, t_targets, allow_unused=True)
    else:
        tgg = (None,) * len(t_targets)
    return xgg, tgg


# -- the runner ----------------------------------------------------------------------------------


def _backend_name(ns) -> str:
    return ns._backend.name


@contextlib.contextmanager
def torch_default_dtype_like(ns):
    """Run torch with the default floating dtype of the backend under test (array API default
    dtypes are implementation-defined: float64 for NumPy, float32 for torch)."""
    import torch

    try:
        default = ns.__array_namespace_info__().default_dtypes()["real floating"]
        want = torch.float64 if default == ns.float64 else torch.float32
    except (AttributeError, KeyError, TypeError):
        want = torch.get_default_dtype()
    old = torch.get_default_dtype()
    torch.set_default_dtype(want)
    try:
        yield
    finally:
        torch.set_default_dtype(old)


def run_check(
    op: OpInfo,
    sample: Sample,
    dtype: str,
    ns,
    check: str,
    *,
    sample_name: str | None = None,
    seed: int | None = None,
    apply_xfail: bool = True,
    known: Iterable[KnownDifference] = (),
) -> CheckResult:
    """Run one check of ``op`` on ``sample`` at ``dtype`` with the xpgrad namespace ``ns``.

    With ``apply_xfail`` a failure listed in the op's or sample's xfail, or in ``known`` (the
    backend's known differences), becomes "xfail" and a pass "xpass"; without it the raw
    "pass"/"fail" is returned.
    """
    name = sample_name or sample.name or "sample"
    backend = _backend_name(ns)
    if seed is None:
        seed = seed_for(op.name, name, dtype, check)
    result = CheckResult(op.name, name, dtype, check, backend, "pass", seed=seed)
    reason = None
    if apply_xfail:
        reason = find_xfail(op, sample, check, dtype, backend)
        if reason is None:
            reason = find_known(known, op.name, name, dtype, check)
    result.xfail_reason = reason
    if check not in CHECKS:
        raise ValueError(f"run_check(): unknown check {check!r}; expected one of {CHECKS}")
    if not hasattr(ns, dtype) and dtype in _PRECISION:
        result.status = "skip"
        result.message = f"backend {backend!r} has no {dtype}"
        return result
    rtol, atol = tolerances(op, dtype)
    try:
        with torch_default_dtype_like(ns):
            result.max_abs_error, result.max_rel_error = _run(op, sample, dtype, ns, check, seed, rtol, atol)
    except _Mismatch as exc:
        result.status = "fail"
        result.max_abs_error, result.max_rel_error = exc.max_abs, exc.max_rel
        result.message = str(exc)
    except Exception as exc:  # noqa: BLE001 - any error of either side is a failed check
        result.status = "fail"
        tb = traceback.format_exception(type(exc), exc, exc.__traceback__)
        result.message = f"{type(exc).__name__}: {exc}\n" + "".join(tb[-6:])
    if reason is not None:
        result.status = {"fail": "xfail", "pass": "xpass"}.get(result.status, result.status)
    return result


def _run(op, sample, dtype, ns, check, seed, rtol, atol):
    import array_api_compat.torch as txp

    differentiate = op.differentiable and check != "forward"
    # A non-differentiable function gets inputs that require grad: its outputs must not.
    xin = _xpgrad_inputs(sample, dtype, ns, differentiate or not op.differentiable, layout=seed)
    tin = _torch_inputs(sample, dtype, differentiate)
    return compare_with_torch(
        lambda: op.call(ns, *xin.args, **xin.kwargs),
        lambda: op.call_torch(txp, *tin.args, **tin.kwargs),
        xin.leaves if differentiate else [],
        tin.leaves if differentiate else [],
        xin.labels,
        check=check,
        rtol=rtol,
        atol=atol,
        seed=seed,
        select=(lambda r: _as_list(op.output(ns, r))) if op.output else None,
        select_torch=(lambda r: _as_list(op.output(txp, r))) if op.output else None,
        differentiable=op.differentiable,
    )


def assert_check(op: OpInfo, sample: Sample, dtype: str, ns, check: str, **kwargs) -> CheckResult:
    """:func:`run_check` without xfail handling; raise ``AssertionError`` on failure (pytest)."""
    import pytest

    r = run_check(op, sample, dtype, ns, check, apply_xfail=False, **kwargs)
    if r.status == "skip":
        pytest.skip(r.message)
    if r.status == "fail":
        raise AssertionError(
            f"{r.op} [{r.sample}, {r.dtype}, {r.backend}] {r.check}: {r.message} (seed {r.seed})"
        )
    return r
