"""torch's saved sets: every registered sample saves what torch saves (``derivatives.yaml``).

For each OpInfo sample (float64, and complex128 where the op takes complex) and each subset of
its differentiable inputs that requires grad, the same program runs on xpgrad and on torch
(through ``array_api_compat.torch``):

- ``packs``: the number of floating/complex values the op hands to ``saved_tensors_hooks``'s
  pack hook (``xpgrad.saved_tensors_hooks`` vs ``torch.autograd.graph.saved_tensors_hooks``);
- ``mutate``: each floating input (a non-leaf copy, whether it requires grad or not) and each
  floating output is modified in place after the op, then backward runs: it raises in xpgrad
  exactly when it raises in torch. A change one side refuses (torch's expanded tensors, NumPy's
  read-only broadcast views) leaves nothing to compare for that target; a backward that raises
  with no change at all leaves nothing for the whole subset: such comparisons are *dropped*,
  counted and listed (the test's ``dropped`` report attribute, a section of the terminal
  summary, and a skip with the reasons when nothing at all was compared).

A deliberate difference is a strict xfail with its reason (``DEVIATIONS`` below; the ones that
follow from mathematics are listed in ``docs/deviations.md``).
"""

from __future__ import annotations

import itertools
import warnings
from fnmatch import fnmatchcase

import numpy as np
import pytest

import xpgrad
from xpgrad.testing import iter_cases, op_db
from xpgrad.testing._opinfo import Sample
from xpgrad.testing._runner import _torch_inputs, _xpgrad_inputs, torch_default_dtype_like
from xpgrad.testing.samples.special import _TORCH_SAME

from ._suite import resolve_backend
from .conftest import backend_name, record_dropped

torch = pytest.importorskip("torch")
import array_api_compat.torch as txp  # noqa: E402

DTYPES = ("float64", "complex128")

# (op fnmatch pattern, sample fnmatch pattern, aspect) -> reason; a sample pattern with a "/"
# is matched against "<dtype>/<sample>". ``aspect`` is "packs" or
# "mutate". Keep each reason naming what torch does and why xpgrad differs.
_SCALAR = (
    "array_api_compat.torch makes a Python scalar operand a 0-d tensor, which torch saves; in "
    "xpgrad a Python scalar stays a Python number (nothing to pack or to modify in place)"
)
_LU = (
    "torch also saves the LU factorisation it computed the result with (an array the user "
    "never sees); xpgrad's forward uses the backend's {0} and keeps only {1} "
    "(docs/deviations.md, 'Saved values')"
)
_COPY = (
    "torch {0} and saves that copy, so an in-place change of the operand afterwards does not "
    "raise there; xpgrad saves the operand itself and raises (never a wrong gradient; "
    "docs/deviations.md, 'Saved values')"
)
_SGN = (
    "array_api_compat.torch computes a complex sign as x / abs(x) (three saved values, the "
    "returned array not among them); xpgrad saves what torch's own sgn saves: x and the result"
)
_FROM_X = (
    "torch's {0} also saves its result (its formula reads it); xpgrad's derivative is computed from "
    "x alone, {1}, accurate where torch's formula cancels or overflows (docs/special-edges.md), "
    "so it does not keep the result: an in-place change of the result raises in torch only "
    "(never a wrong gradient)"
)
DEVIATIONS: dict[tuple[str, str, str], str] = {
    ("atan2", "scalar_x*", "packs"): _SCALAR,
    ("logaddexp", "scalar_x*", "packs"): _SCALAR,
    ("maximum", "scalar_x*", "packs"): _SCALAR,
    ("minimum", "scalar_x*", "packs"): _SCALAR,
    ("nextafter", "scalar_x*", "packs"): _SCALAR,
    ("linalg.det", "*", "packs"): _LU.format("det", "the input and the result"),
    ("linalg.solve", "*", "packs"): _LU.format("solve", "the matrix and the result"),
    ("linalg.matrix_norm", "*ord=*1", "packs"): (
        "torch composes ord=1/-1/inf/-inf from abs, sum and amax/amin and saves one more "
        "intermediate; the values saved from the input and the result are the same"
    ),
    ("linalg.matrix_norm", "*ord=*inf", "packs"): (
        "torch composes ord=1/-1/inf/-inf from abs, sum and amax/amin and saves one more "
        "intermediate; the values saved from the input and the result are the same"
    ),
    ("cumulative_prod", "*include_initial", "mutate"): (
        "array_api_compat.torch prepends the initial 1 to cumprod's result with a concat, so "
        "torch saves cumprod's own result, not the array returned; xpgrad saves the array "
        "returned: an in-place change of it raises in xpgrad only"
    ),
    ("prod", "axis=(0,2)", "mutate"): (
        "array_api_compat.torch reduces several axes by permuting and reshaping the input into a "
        "copy (torch.prod takes one dim), which torch saves; xpgrad saves the input itself"
    ),
    ("prod", "*all_axes*", "mutate"): (
        "array_api_compat.torch reduces several axes by permuting and reshaping the input into a "
        "copy (torch.prod takes one dim), which torch saves; xpgrad saves the input itself"
    ),
    ("matmul", "1d@batched", "mutate"): _COPY.format("folds the batch dimensions into a reshaped copy"),
    ("matmul", "batched_broadcast", "mutate"): _COPY.format(
        "expands the broadcast batch dimensions into a reshaped copy"
    ),
    ("tensordot", "tuple_axes", "mutate"): _COPY.format(
        "permutes the operands and reshapes them into copies for one matmul"
    ),
    ("tensordot", "tuple_axes_one", "mutate"): _COPY.format(
        "permutes the operands and reshapes them into copies for one matmul"
    ),
    ("vecdot", "broadcast", "mutate"): _COPY.format(
        "(through array_api_compat) broadcasts the operands into copies"
    ),
    ("sign", "complex*/*", "packs"): _SGN,
    ("sign", "complex*/*", "mutate"): _SGN,
    **{
        (f"special.{name}", "*", aspect): _FROM_X.format(name, how)
        for name, how in (
            ("i0e", "i1e(x) - sign(x) i0e(x) by a series where it cancels (large |x|)"),
            ("i1", "a Taylor polynomial near 0, exp(|x|) (i0e - i1e / x) elsewhere"),
            ("i1e", "a Taylor polynomial near 0, (i0e - i1e)(|x|) - i1e(|x|) / |x| elsewhere"),
            ("log_ndtr", "sqrt(2/pi) / erfcx(-x/sqrt(2)) left of 0, pdf(x) / ndtr(x) right of it"),
        )
        for aspect in ("packs", "mutate")
    },
    ("special.expit", "*", "mutate"): (
        "torch's sigmoid saves its result and computes out * (1 - out), which is 0 once out rounds "
        "to 1 (x > 37 in float64) where the derivative is exp(-x); xpgrad computes "
        "e / (1 + e)**2 with e = exp(-|x|) and saves x: an in-place change of the result raises in "
        "torch only, one of x in xpgrad only (docs/special-edges.md)"
    ),
    ("special.ndtr", "*", "mutate"): _COPY.format(
        "computes ndtr as 0.5 * erfc(-x / sqrt(2)), whose operand -x / sqrt(2) is a new array,"
    ),
    ("unstack", "*", "mutate"): (
        "torch's unbind returns the views of a multi-output view function, and refuses a "
        "backward after an in-place change of the input or of one output (it cannot rebase such "
        "views); xpgrad tracks them as ordinary views and its unstack gradient does not depend "
        "on values, so it gives the gradient"
    ),
}


# -- running one program on both sides ---------------------------------------------------------


def _grad_keys(sample: Sample) -> list:
    """The differentiable argument keys of ``sample`` (positional index or keyword name)."""

    def is_float(v):
        if isinstance(v, np.ndarray):
            return v.dtype.kind in "fc"
        if isinstance(v, (list, tuple)):
            return any(is_float(e) for e in v)
        return False

    keys = [i for i, a in enumerate(sample.args) if is_float(a)]
    keys += [k for k, v in sample.kwargs.items() if is_float(v)]
    if sample.grad is not None:
        keys = [k for k in keys if k in sample.grad]
    return keys


def _subsets(keys):
    for r in range(1, len(keys) + 1):
        yield from itertools.combinations(keys, r)


def _with_grad(sample: Sample, subset) -> Sample:
    return Sample(sample.args, sample.kwargs, sample.name, tuple(subset), sample.xfail)


def _outputs(result):
    return list(result) if isinstance(result, (tuple, list)) else [result]


def _float_inputs(inp, is_float):
    """Every floating input object of ``inp`` (args, kwargs, nested lists), in order."""
    found = []

    def walk(v):
        if isinstance(v, (list, tuple)):
            for e in v:
                walk(e)
        elif is_float(v):
            found.append(v)

    walk(inp.args)
    walk(list(inp.kwargs.values()))
    return found


class _Side:
    """One side (xpgrad or torch) of the comparison."""

    def __init__(self, name, ns):
        self.name = name
        self.ns = ns

    # inputs: every floating input becomes a non-leaf copy (so it can be modified in place);
    # the leaves that require grad are returned for backward.
    def inputs(self, sample, dtype):
        if self.name == "torch":
            inp = _torch_inputs(sample, dtype, True)
        else:
            inp = _xpgrad_inputs(sample, dtype, self.ns, True)
        copies = {}

        def conv(v):
            if isinstance(v, list):
                return [conv(e) for e in v]
            if isinstance(v, tuple):
                return tuple(conv(e) for e in v)
            if self.is_float(v):
                c = self.copy(v)
                copies[id(c)] = c
                return c
            return v

        inp.args = tuple(conv(a) for a in inp.args)
        inp.kwargs = {k: conv(v) for k, v in inp.kwargs.items()}
        return inp

    def is_float(self, v):
        if self.name == "torch":
            return isinstance(v, torch.Tensor) and (v.is_floating_point() or v.is_complex())
        return type(v) is xpgrad.Tensor and v._ns._is_differentiable_dtype(v.dtype)

    def copy(self, v):
        if self.name == "torch":
            return v.clone() if v.requires_grad else v.detach().clone()
        return v + 0 if v.requires_grad else self.ns.asarray(v, copy=True)

    def call(self, op, inp):
        if self.name == "torch":
            return op.call_torch(txp, *inp.args, **inp.kwargs)
        return op.call(self.ns, *inp.args, **inp.kwargs)

    def packs(self, op, inp):
        count = [0]

        def pack(t):
            if self.is_float(t):
                count[0] += 1
            return t

        if self.name == "torch":
            ctx = torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t)
        else:
            ctx = xpgrad.saved_tensors_hooks(pack, lambda t: t)
        with ctx:
            self.call(op, inp)
        return count[0]

    def mutate(self, t):
        """Modify ``t`` in place without changing its value; None, or why the library refuses."""
        try:
            if self.name == "torch":
                with torch.no_grad():
                    t.add_(0)
            else:
                with xpgrad.no_grad():
                    t += 0
        except Exception as exc:  # noqa: BLE001 - either library may refuse (read-only, expanded)
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            return f"{type(exc).__name__}: {first[:120]}"
        return None

    def backward(self, outs, leaves):
        """Backward from every floating output that requires grad; True if it raised."""
        if self.name == "torch":
            roots = [o for o in outs if isinstance(o, torch.Tensor) and o.requires_grad]
            if not roots:
                return None
            try:
                torch.autograd.grad(roots, leaves, [torch.ones_like(o) for o in roots], allow_unused=True)
            except RuntimeError:
                return True
            return False
        roots = [o for o in outs if type(o) is xpgrad.Tensor and o.requires_grad]
        if not roots:
            return None
        try:
            xpgrad.grad(roots, leaves, [self.ns.ones_like(o) for o in roots], allow_unused=True)
        except RuntimeError:
            return True
        return False


def _mutation_outcomes(side, op, sample, dtype):
    """({target: raised?}, {target: why the library refuses the change}) for in-place changes of
    each floating input and output after the op.

    ``target`` is ``"in<k>"`` or ``"out<k>"``, and ``"baseline"`` for no change at all; programs
    with no output that requires grad give nothing.
    """
    res, refused = {}, {}
    inp = side.inputs(sample, dtype)
    raised = side.backward(_outputs(side.call(op, inp)), inp.leaves)
    if raised is None:
        return res, refused
    res["baseline"] = raised
    if raised:  # backward raises without any in-place change: nothing more to learn
        return res, refused
    n_in = len(_float_inputs(inp, side.is_float))
    n_out = len([o for o in _outputs(side.call(op, side.inputs(sample, dtype))) if side.is_float(o)])
    targets = [(f"in{k}", k, True) for k in range(n_in)] + [(f"out{k}", k, False) for k in range(n_out)]
    for target, k, is_input in targets:
        inp = side.inputs(sample, dtype)
        outs = _outputs(side.call(op, inp))
        arrays = _float_inputs(inp, side.is_float) if is_input else [o for o in outs if side.is_float(o)]
        why = side.mutate(arrays[k])
        if why is not None:
            refused[target] = why
            continue
        raised = side.backward(outs, inp.leaves)
        if raised is not None:
            res[target] = raised
    return res, refused


def _dropped(mt, rt, mx, rx) -> list[str]:
    """The comparisons of one subset that cannot be made, with the reason."""
    if mt.get("baseline") or mx.get("baseline"):
        side = "torch" if mt.get("baseline") else "xpgrad"
        return [
            f"every in-place change: backward raises in {side} without any (the gradient checks' business)"
        ]
    out = []
    for target in sorted(set(rt) | set(rx)):
        who = [
            f"{name} refuses it ({r[target]})" for name, r in (("torch", rt), ("xpgrad", rx)) if target in r
        ]
        out.append(f"in-place change of {target}: " + "; ".join(who))
    return out


def compare(op, sample, dtype, ns):
    """{subset: (torch packs, xpgrad packs, {target: (torch raised, xpgrad raised)}, dropped)};
    ``dropped``: the in-place comparisons that cannot be made, with the reason."""
    xs = _Side("xpgrad", ns)
    ts = _Side("torch", None)
    out = {}
    # Values are not compared here (the conformance checks do): warnings about them (e.g.
    # astype from complex to real) are beside the point.
    with torch_default_dtype_like(ns), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for subset in _subsets(_grad_keys(sample)):
            s = _with_grad(sample, subset)
            np_t = ts.packs(op, ts.inputs(s, dtype))
            np_x = xs.packs(op, xs.inputs(s, dtype))
            mt, rt = _mutation_outcomes(ts, op, s, dtype)
            mx, rx = _mutation_outcomes(xs, op, s, dtype)
            dropped = _dropped(mt, rt, mx, rx)
            if mt.get("baseline") or mx.get("baseline"):
                muts = {}
            else:
                muts = {k: (mt[k], mx[k]) for k in mt if k in mx}
            out[subset] = (np_t, np_x, muts, dropped)
    return out


def differences(op, sample, dtype, ns, aspect):
    """(human-readable differences of ``aspect``, "packs" or "mutate", for one case; the
    comparisons dropped, with the reason; the number of comparisons made)."""
    diffs, dropped, made = [], [], 0
    for subset, (np_t, np_x, muts, drops) in compare(op, sample, dtype, ns).items():
        if aspect == "packs":
            made += 1
            if np_t != np_x:
                diffs.append(f"grad {subset}: torch packs {np_t}, xpgrad {np_x}")
        if aspect == "mutate":
            dropped += [f"grad {subset}: {d}" for d in drops]
            made += len(muts)
            for k, (rt, rx) in muts.items():
                if rt != rx:
                    diffs.append(
                        f"grad {subset}: in-place change of {k}: torch "
                        f"{'raises' if rt else 'does not raise'}, xpgrad {'raises' if rx else 'does not'}"
                    )
    return diffs, dropped, made


# -- pytest ------------------------------------------------------------------------------------


# Functions outside torch's derivatives.yaml: the special functions torch.special does not have
# with a derivative of its own (their torch references are torch compositions or SciPy's values)
# and the non-standard ``median``/``bincount`` (torch.quantile / a scatter). Their saved sets are
# not torch's to compare with; their gradients are checked by the conformance suite and finite
# differences. The functions torch.special has (``_TORCH_SAME``: ``special.erf`` is
# ``torch.special.erf``) are compared.
_NOT_IN_DERIVATIVES_YAML = ("special.*", "median", "bincount")
_TORCH_SPECIAL = tuple(f"special.{n}" for n in _TORCH_SAME)


def _cases():
    return [
        c
        for c in iter_cases(op_db(), dtypes=DTYPES)
        if c.op.differentiable
        and (
            c.op.name in _TORCH_SPECIAL
            or not any(fnmatchcase(c.op.name, p) for p in _NOT_IN_DERIVATIVES_YAML)
        )
    ]


def _deviation(case, aspect):
    for (op_pat, sample_pat, asp), reason in DEVIATIONS.items():
        sample = f"{case.dtype}/{case.sample_name}" if "/" in sample_pat else case.sample_name
        if asp == aspect and fnmatchcase(case.op.name, op_pat) and fnmatchcase(sample, sample_pat):
            return reason
    return None


def pytest_generate_tests(metafunc):
    if "saved_case" not in metafunc.fixturenames:
        return
    if backend_name(metafunc.config) != "numpy":
        reason = "saved sets do not depend on the backend: checked with --backend=numpy"
        param = pytest.param(None, None, id="numpy-only", marks=pytest.mark.skip(reason=reason))
        metafunc.parametrize(("saved_case", "aspect"), [param])
        return
    params = []
    for case in _cases():
        for aspect in ("packs", "mutate"):
            reason = _deviation(case, aspect)
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
            params.append(pytest.param(case, aspect, id=f"{case.id}-{aspect}", marks=marks))
    metafunc.parametrize(("saved_case", "aspect"), params)


def test_saved_set(saved_case, aspect, request):
    ns = resolve_backend("numpy")
    diffs, dropped, made = differences(saved_case.op, saved_case.sample, saved_case.dtype, ns, aspect)
    record_dropped(request, dropped)
    assert not diffs, f"{saved_case.id}: " + "; ".join(diffs)
    if dropped and not made:
        pytest.skip(f"{saved_case.id}: nothing to compare, every comparison dropped: " + "; ".join(dropped))


if __name__ == "__main__":  # exploration: print every difference
    import sys

    ns = resolve_backend("numpy")
    only = sys.argv[1:]
    for case in _cases():
        if only and not any(fnmatchcase(case.op.name, p) for p in only):
            continue
        for aspect in ("packs", "mutate"):
            try:
                d, dropped, _ = differences(case.op, case.sample, case.dtype, ns, aspect)
                d += [f"dropped: {x}" for x in dropped]
            except Exception as exc:  # noqa: BLE001
                d = [f"ERROR {type(exc).__name__}: {exc}"]
            if d:
                print(case.id, aspect, "|", "; ".join(d)[:400])


def test_python_scalar_divided_by_an_array_deviation():
    # torch computes ``s / x`` as ``reciprocal(x) * s`` and saves the reciprocal (an array of its
    # own): an in-place change of x afterwards does not raise. xpgrad saves x (as torch's
    # ``divide`` does) and raises; neither gives a wrong gradient (docs/deviations.md).
    t = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    a = t * 1
    y = 2.0 / a
    with torch.no_grad():
        a.add_(1.0)
    torch.autograd.grad(y.sum(), t)  # no error: the saved reciprocal is unchanged

    ns = resolve_backend("numpy")
    x = ns.asarray(np.array([1.0, 2.0]), requires_grad=True)
    b = x * 1
    z = 2.0 / b
    with xpgrad.no_grad():
        b += 1.0
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        xpgrad.grad(ns.sum(z), x)


def test_dropped_comparisons_are_counted(pytestconfig):
    # NumPy's diagonal is a read-only view: xpgrad refuses an in-place change of it where torch
    # accepts one. That comparison cannot be made: it is counted and named, never silently left out.
    if backend_name(pytestconfig) != "numpy":
        pytest.skip("saved sets do not depend on the backend: checked with --backend=numpy")
    ns = resolve_backend("numpy")
    case = next(c for c in _cases() if c.id == "linalg.diagonal-float64-3x3")
    diffs, dropped, made = differences(case.op, case.sample, case.dtype, ns, "mutate")
    assert not diffs and made > 0
    assert len(dropped) == 1, dropped
    assert dropped[0].startswith("grad (0,): in-place change of out0: xpgrad refuses it (ValueError"), dropped
