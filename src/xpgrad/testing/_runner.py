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
from .._backends import backend_of_array
from .._grad_mode import enable_grad
from .._profile import read_back
from .._tensor import Tensor
from ._known import KnownDifference, find_known
from ._opinfo import OpInfo, Sample

__all__ = [
    "CHECKS",
    "DEFAULT_TOLERANCES",
    "FINITE_DIFFERENCES",
    "TORCH",
    "PROGRAM_TOLERANCES",
    "Case",
    "CheckResult",
    "NothingToCompare",
    "assert_check",
    "compare_with_torch",
    "expected_failure",
    "find_fd_reference",
    "find_xfail",
    "iter_cases",
    "missing_library",
    "run_check",
    "sample_cases",
    "seed_for",
    "tolerances",
]

CHECKS = ("forward", "first", "second")  # the values and reverse mode
FORWARD_CHECKS = ("jvp", "fwd_rev")  # forward mode (_forward_runner.py)

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


# What a check is compared with (CheckResult.reference).
TORCH = "torch"
FINITE_DIFFERENCES = "finite differences"


def tolerances(op: OpInfo | None, dtype: str, rtol=None, atol=None) -> tuple[float, float]:
    """(rtol, atol) for ``op`` at ``dtype``: explicit values, then the op's, then the defaults."""
    r, a = DEFAULT_TOLERANCES.get(dtype, DEFAULT_TOLERANCES["float64"])
    if op is not None:
        r = op.rtol.get(dtype, r)
        a = op.atol.get(dtype, a)
    return (r if rtol is None else rtol, a if atol is None else atol)


@dataclass
class CheckResult:
    """The outcome of one check.

    ``status``: "pass" (matches torch), "fd" (torch has no reference here: matches finite
    differences of xpgrad's own function), "fail", "xfail" (a known difference), "xpass" (a
    known difference that no longer shows: a failure, strict), "skip" (cannot run here: a dtype
    the backend lacks, a library that is not installed; ``message`` says which and how to
    install it), or "norule" (forward mode: no rule for the function, a failure).
    ``reference``: what xpgrad was compared with, :data:`TORCH` or :data:`FINITE_DIFFERENCES`;
    ``reference_reason``: why not torch.
    """

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
    reference: str = TORCH
    reference_reason: str | None = None

    @property
    def id(self) -> str:
        return f"{self.op}-{self.dtype}-{self.sample}-{self.check}"

    @property
    def ok(self) -> bool:
        return self.status in ("pass", "fd", "xfail", "skip")


class NothingToCompare(Exception):
    """A check that has nothing to compare (no differentiable input): reported as skipped, with
    the reason, never as a pass."""


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
    colliding id gets ``_2``, ``_3``...), made of the characters ``pytest -k`` accepts in a
    name (:func:`safe_id`: ``k=1,wide`` becomes ``k:1_wide``).
    """
    out = []
    seen: dict[str, int] = {}
    for op in ops:
        for dtype in op.dtypes:
            if dtypes is not None and dtype not in dtypes:
                continue
            for name, s in sample_cases(op, dtype):
                base = safe_id(f"{op.name}-{dtype}-{name}")
                n = seen.get(base, 0) + 1
                seen[base] = n
                out.append(Case(op, dtype, name, s, base if n == 1 else f"{base}_{n}"))
    return out


def _traceback_text(exc, last=6) -> str:
    """The traceback of ``exc`` from the last frame in xpgrad's own code (not its testing
    harness) that called into the backend, or its last ``last`` frames if that is later: where
    xpgrad called the backend and what the backend did."""
    frames = traceback.extract_tb(exc.__traceback__)
    start = max(len(frames) - last, 0)
    caller = None
    for i, f in enumerate(frames):
        path = f.filename.replace("\\", "/")
        if "/xpgrad/" in path and "/xpgrad/testing/" not in path and "/xpgrad/conformance/" not in path:
            caller = i
    if caller is not None:
        start = max(min(start, caller), len(frames) - 4 * last)  # (bounded)
    return "".join(traceback.format_list(frames[start:])) + "".join(
        traceback.format_exception_only(type(exc), exc)
    )


# What ``pytest -k`` accepts in a name: word characters and ``: + - . [ ] \ /``.
_ID_CHARS = {"=": ":", ",": "_", "(": "[", ")": "]", ">": "gt", "<": "lt", "@": "at", " ": "_"}


def safe_id(text: str) -> str:
    """``text`` with every character ``pytest -k`` would reject replaced (``=`` by ``:``,
    ``,`` and others by ``_``), so a test id can be selected by name."""
    return "".join(ch if ch.isalnum() or ch in "_:+-.[]/" else _ID_CHARS.get(ch, "_") for ch in text)


def _lookup(tables, check: str, dtype: str, backend: str) -> str | None:
    """The first value of ``tables`` whose key ``"<check>[:<dtype>[:<backend>]]"`` matches."""
    want = (check, dtype, backend)
    for table in tables:
        for key, reason in table.items():
            if all(p in ("*", w) for p, w in zip(key.split(":"), want)):
                return reason
    return None


def find_xfail(op: OpInfo, sample: Sample | None, check: str, dtype: str, backend: str) -> str | None:
    """The reason ``check`` is expected to fail here, from the sample's and the op's xfail."""
    return _lookup(((sample.xfail if sample is not None else {}), op.xfail), check, dtype, backend)


def find_fd_reference(op: OpInfo, sample: Sample | None, check: str, dtype: str, backend: str) -> str | None:
    """Why torch has no reference for ``check`` here (its reference is then finite differences),
    from the sample's and the op's ``fd_reference``; None where torch is the reference."""
    tables = ((sample.fd_reference if sample is not None else {}), op.fd_reference)
    return _lookup(tables, check, dtype, backend)


# Libraries whose pip name differs from their import name; those the conformance extra brings.
_PIP_NAME = {"jax": "jax", "dask": "dask[array]"}
_CONFORMANCE_EXTRA = {"scipy", "torch"}


def missing_library(exc: BaseException) -> str | None:
    """The skip reason when ``exc`` says that an optional library is not installed, else None.

    The library is the ImportError's ``name``, or the one its message tells to ``pip install``
    (xpgrad's own messages do); it counts as missing only if it cannot be imported here, so an
    ImportError of an installed library stays a failure.
    """
    import importlib.util
    import re

    if not isinstance(exc, ImportError):
        return None
    name = exc.name
    if not name:
        found = re.search(r"pip install ([A-Za-z0-9_\-]+)", str(exc))
        name = found.group(1) if found else None
    if not name:
        return None
    top = name.split(".")[0]
    try:
        if importlib.util.find_spec(top) is not None:
            return None
    except (ImportError, ValueError):
        pass
    what = str(exc).strip().splitlines()[0] if str(exc).strip() else f"no module named {top!r}"
    how = f"pip install {_PIP_NAME.get(top, top)}"
    if top in _CONFORMANCE_EXTRA:
        how += ' (pip install "xpgrad[conformance]" brings it)'
    return f"{top} is not installed ({what}); install it with: {how}"


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


def to_numpy(a, converter=None):
    """A NumPy copy of an xpgrad Tensor, a backend array, a torch tensor or a Python scalar.

    An array is read with ``converter``, else its backend profile's converter
    (``to_numpy``, set by ``xpgrad-conformance --to-numpy``,
    ``assert_grads_match_torch(to_numpy=...)`` or the profile), else as
    :func:`xpgrad._profile.read_back` finds: DLPack (with or without ``max_version``),
    ``__array__``, ``todense()``, ``to_numpy()``, ``numpy()`` or ``get()``. Raises TypeError
    ("cannot read values back ... pass a converter") where none gives a numeric NumPy array,
    never an object array.
    """
    backend = None
    if type(a) is Tensor:
        backend = a._ns.backend
        a = a.data
    if isinstance(a, (np.ndarray, np.generic, bool, int, float, complex, list, tuple)):
        return np.asarray(a)
    if converter is None:
        backend = backend or backend_of_array(a)
        converter = backend.to_numpy if backend is not None else None
    return read_back(a, converter, backend.name if backend is not None else None)


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
    backend = ns.backend
    counter = [layout]

    def native(a):
        d = raw.asarray(a)
        if backend.chunked and d.ndim:
            layout = _chunks_for(d.shape, counter[0] % _LAYOUTS)
            counter[0] += 1
            try:
                d = backend.rechunk(d, layout)
            except ValueError:
                # a library that takes only regular chunks (all equal but the last: cubed) or
                # no empty chunk: halves where it takes them, else its own chunks
                try:
                    d = backend.rechunk(d, _chunks_for(d.shape, 0))
                except ValueError:
                    pass
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


def _grads_match(xg, tg, leaves, labels, rtol, atol, acc, what, exact_dtype=True):
    """Compare gradients (None = no gradient) of each leaf; check dtype and shape.
    ``exact_dtype`` False: the reference may be more precise than xpgrad's gradient (finite
    differences in double precision)."""
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
        acc.add(_assert_close(gn, tn, rtol, atol, w, exact_dtype=exact_dtype))


def _differentiable_outputs(xs, ts=None) -> list:
    """(index, output) of xpgrad's floating/complex outputs, the ones that are differentiated;
    integer and boolean outputs must not require grad."""
    if ts is not None and len(xs) != len(ts):
        raise _Mismatch(f"{len(xs)} outputs, torch gives {len(ts)}")
    out = []
    for k, x in enumerate(xs):
        if type(x) is not Tensor:
            continue
        if not x._ns._is_differentiable_dtype(x.dtype):
            if x.requires_grad:
                raise _Mismatch(f"output {k} has dtype {x.dtype} and must not require grad")
            continue
        out.append((k, x))
    return out


def _cotangents(x_diff, seed, grad_outputs, check) -> tuple[list, list]:
    """One cotangent per differentiated output (seeded random, or ``grad_outputs``): as xpgrad
    Tensors (requiring grad for ``second``) and as NumPy arrays."""
    rng = np.random.default_rng(seed)
    xv, vs = [], []
    for n, (_k, x) in enumerate(x_diff):
        if grad_outputs is not None:
            v = to_numpy(grad_outputs[n])
        else:
            a = to_numpy(x)  # (its shape: Dask's after a boolean mask is unknown until computed)
            v = _random(rng, a.shape, a.dtype)
        xv.append(x._ns.asarray(x._ns._xp.asarray(v), requires_grad=check == "second"))
        vs.append(v)
    return xv, vs


def _xpgrad_vjp(x_diff, xv, x_leaves, create: bool) -> tuple:
    """xpgrad's gradients of the leaves for the cotangents ``xv`` (None: no gradient)."""
    x_roots = [(x, v) for (_k, x), v in zip(x_diff, xv) if x.requires_grad]
    if not x_roots:
        return (None,) * len(x_leaves)
    return _xgrad(
        [r for r, _ in x_roots], x_leaves, [v for _, v in x_roots], create_graph=create, allow_unused=True
    )


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

    # An output torch marks as requiring grad while xpgrad does not (e.g. slogdet's sign) is fine
    # if torch's gradient through it is zero: the comparison below decides.
    x_diff = _differentiable_outputs(xs, ts)
    t_diff = [ts[k] for k, _x in x_diff]
    if not x_leaves:
        return acc.max_abs, acc.max_rel
    create = check == "second"
    xv, vs = _cotangents(x_diff, seed, grad_outputs, check)
    tv = [torch.tensor(v).requires_grad_(create) for v in vs]
    xg = _xpgrad_vjp(x_diff, xv, x_leaves, create)
    t_roots = [(t, v) for t, v in zip(t_diff, tv) if isinstance(t, torch.Tensor) and t.requires_grad]
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
    x_labels = list(labels) + [f"cotangent of output {k}" for k, _x in x_diff]
    ws = second_order_weights(x_leaves, seed)
    xgg = _xpgrad_second(xg, ws, x_targets)
    tgg = _torch_second(tg, ws, list(t_leaves) + tv)
    _grads_match(xgg, tgg, x_targets, x_labels, rtol, atol, acc, "second-order gradient")
    return acc.max_abs, acc.max_rel


def second_order_weights(x_leaves, seed) -> list:
    """The random ``w`` of the second-order check, one per input: s = sum_i Re<w_i, grad_i>."""
    rng2 = np.random.default_rng(seed + 1)
    return [_random(rng2, tuple(leaf.shape), to_numpy(leaf.detach()).dtype) for leaf in x_leaves]


def _xpgrad_second(xg, ws, x_targets) -> tuple:
    """xpgrad's gradients of s = sum_i Re<w_i, grad_i> with respect to ``x_targets`` (the inputs
    and the cotangents)."""
    terms = []
    for g, w in zip(xg, ws):
        if g is not None and g.requires_grad:
            ns = g._ns
            wx = ns.asarray(ns._xp.asarray(w))
            c = ns.isdtype(g.dtype, "complex floating")
            terms.append(ns.sum(ns.real(ns.conj(wx) * g)) if c else ns.sum(wx * g))
    if not terms:
        return (None,) * len(x_targets)
    s = terms[0]
    for term in terms[1:]:
        s = s + term
    return _xgrad(s, x_targets, allow_unused=True)


def _torch_second(tg, ws, t_targets) -> tuple:
    """torch's gradients of s = sum_i Re<w_i, grad_i> with respect to ``t_targets``."""
    import torch

    terms = []
    for t, w in zip(tg, ws):
        if t is not None and t.requires_grad:
            wt = torch.tensor(w)
            terms.append(torch.sum(torch.real(torch.conj(wt) * t)) if t.is_complex() else torch.sum(wt * t))
    if not terms:
        return (None,) * len(t_targets)
    return torch.autograd.grad(sum(terms[1:], terms[0]), t_targets, allow_unused=True)


# -- the runner ----------------------------------------------------------------------------------


def _backend_name(ns) -> str:
    return ns.backend.name


@contextlib.contextmanager
def _torch_setting(get, put, value):
    """Run with one of torch's global settings at ``value`` (``get()``/``put(v)`` read and set
    it), restored afterwards."""
    old = get()
    put(value)
    try:
        yield
    finally:
        put(old)


def torch_default_dtype_like(ns):
    """Run torch with the default floating dtype of the backend under test (array API default
    dtypes are implementation-defined: float64 for NumPy, float32 for torch)."""
    import torch

    try:
        default = ns.__array_namespace_info__().default_dtypes()["real floating"]
        want = torch.float64 if default == ns.float64 else torch.float32
    except (AttributeError, KeyError, TypeError):
        want = torch.get_default_dtype()
    return _torch_setting(torch.get_default_dtype, torch.set_default_dtype, want)


def torch_warns_always():
    """torch's warn-once warnings (TORCH_WARN_ONCE: a complex-to-real cast, ...) raised at every
    call: under warnings-as-errors a check then fails whenever it warns, not only when it is the
    first of the process to warn, so its known difference is strict whatever the order of checks."""
    import torch

    return _torch_setting(torch.is_warn_always_enabled, torch.set_warn_always, True)


def expected_failure(
    op: OpInfo, sample: Sample | None, sample_name: str, check: str, dtype: str, backend: str, known=()
) -> str | None:
    """The reason ``check`` is expected to fail: the backend's known differences (``known``)
    first, as a backend's difference shows before any of torch's (a warning in the forward),
    then the sample's and the op's ``xfail``."""
    reason = find_known(known, op.name, sample_name, dtype, check)
    if reason is None:
        reason = find_xfail(op, sample, check, dtype, backend)
    return reason


def start_result(op, sample, dtype, ns, check, sample_name, seed, apply_xfail, known) -> CheckResult:
    """A :class:`CheckResult` for one check, with its expected failure and its reference."""
    name = sample_name or sample.name or "sample"
    backend = _backend_name(ns)
    if seed is None:
        seed = seed_for(op.name, name, dtype, check)
    result = CheckResult(op.name, name, dtype, check, backend, "pass", seed=seed)
    if apply_xfail:
        result.xfail_reason = expected_failure(op, sample, name, check, dtype, backend, known)
    result.reference_reason = find_fd_reference(op, sample, check, dtype, backend)
    if result.reference_reason is not None:
        result.reference = FINITE_DIFFERENCES
    return result


def finish_result(result: CheckResult, ns, dtype: str, run: Callable, on_error=None) -> CheckResult:
    """Run ``run()`` (returns (max abs error, max rel error), raises on a difference) and set the
    status: "pass"/"fd", "fail", "skip" (a dtype the backend lacks, a library not installed) or
    ``on_error(exc)``'s status; then "xfail"/"xpass" where a failure is expected."""
    if not hasattr(ns, dtype) and dtype in _PRECISION:
        result.status = "skip"
        result.message = f"backend {result.backend!r} has no {dtype}"
        return result
    try:
        with torch_default_dtype_like(ns), torch_warns_always():
            result.max_abs_error, result.max_rel_error = run()
        result.status = "fd" if result.reference == FINITE_DIFFERENCES else "pass"
    except _Mismatch as exc:
        result.status = "fail"
        result.max_abs_error, result.max_rel_error = exc.max_abs, exc.max_rel
        result.message = str(exc)
    except NothingToCompare as exc:
        result.status, result.message = "skip", str(exc)
    except Exception as exc:  # noqa: BLE001 - any error of either side is a failed check
        missing = missing_library(exc)
        special = on_error(exc) if on_error is not None else None
        if missing is not None:
            result.status, result.message = "skip", missing
        elif special is not None:
            result.status, result.message = special
        else:
            result.status = "fail"
            result.message = f"{type(exc).__name__}: {exc}\n" + _traceback_text(exc)
    if result.reference == FINITE_DIFFERENCES and result.status == "fail":
        result.message = f"against finite differences ({result.reference_reason}): {result.message}"
    if result.xfail_reason is not None:
        result.status = {"fail": "xfail", "pass": "xpass", "fd": "xpass"}.get(result.status, result.status)
    return result


# The finite-difference comparisons (``_fd_reference``, a module above this one: it imports the
# runner), attached by it at import: {"reverse": compare_reverse, "forward": compare_forward_mode}.
FD_CHECKS: dict = {}
# The forward-mode comparison (``_forward_runner``, above this one too), attached by it at import:
# {"run": run(op, sample, dtype, ns, check, seed, rtol, atol, fd), "on_error": the status of an
# error that is no plain failure (no forward rule: "norule")}.
FORWARD_MODE_CHECKS: dict = {}


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
    """Run one check of ``op`` on ``sample`` at ``dtype`` with the xpgrad namespace ``ns``: the
    values and reverse mode (``CHECKS``: "forward", "first", "second") or forward mode
    (``FORWARD_CHECKS``: "jvp", "fwd_rev"; status "norule" where xpgrad has no forward rule).

    The reference is torch, or finite differences of xpgrad's own function where the op or
    sample says torch has none (``fd_reference``: status "fd" when it matches). With
    ``apply_xfail`` a failure listed in ``known`` (the backend's known differences) or in the
    op's or sample's xfail becomes "xfail" and a pass "xpass"; without it the raw status is
    returned.
    """
    if check not in CHECKS + FORWARD_CHECKS:
        raise ValueError(f"run_check(): unknown check {check!r}; expected one of {CHECKS + FORWARD_CHECKS}")
    result = start_result(op, sample, dtype, ns, check, sample_name, seed, apply_xfail, known)
    rtol, atol = tolerances(op, dtype)
    fd = result.reference == FINITE_DIFFERENCES
    on_error = None
    if check in FORWARD_CHECKS:
        on_error = FORWARD_MODE_CHECKS["on_error"]

        def run():
            return FORWARD_MODE_CHECKS["run"](op, sample, dtype, ns, check, result.seed, rtol, atol, fd)
    elif fd and check != "forward":

        def run():
            return FD_CHECKS["reverse"](op, sample, dtype, ns, check, result.seed, rtol, atol)
    else:

        def run():
            return _run(op, sample, dtype, ns, check, result.seed, rtol, atol)

    return finish_result(result, ns, dtype, run, on_error)


def _run(op, sample, dtype, ns, check, seed, rtol, atol):
    import array_api_compat.torch as txp

    differentiate = op.differentiable and check != "forward"
    # A non-differentiable function gets inputs that require grad: its outputs must not.
    xin = _xpgrad_inputs(sample, dtype, ns, differentiate or not op.differentiable, layout=seed)
    tin = _torch_inputs(sample, dtype, differentiate)
    if differentiate and not xin.leaves:
        raise NothingToCompare("the sample has no differentiable input: no gradient to compare")
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
    """:func:`run_check` without xfail handling, for pytest: raise ``AssertionError`` on failure
    (also where xpgrad has no forward rule), skip where the check cannot run here."""
    import pytest

    r = run_check(op, sample, dtype, ns, check, apply_xfail=False, **kwargs)
    if r.status == "skip":
        pytest.skip(r.message)
    if r.status in ("fail", "norule"):
        raise AssertionError(
            f"{r.op} [{r.sample}, {r.dtype}, {r.backend}] {r.check}: {r.message} (seed {r.seed})"
        )
    return r
