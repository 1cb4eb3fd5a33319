"""Known differences of the fuzzer, as data: a triaged difference that matches an entry is
reported as known, with the entry's reason; any other is unexplained (the CI test fails).

An entry matches on the check ("forward", "first", "second"), the class (``fnmatch`` pattern on
one of ``_triage.CLASSES``), the ops of the reduced program (every pattern must match one op;
``()`` matches any program; ``"a|b"`` matches either), the backend and the difference's detail
(``fnmatch`` pattern; the error message for a raise mismatch). Each entry is an
explanation: the triage's own (rounding), torch's bug, an artefact of the reference
(``array_api_compat.torch``), or a deliberate deviation (then ``docs/deviations.md`` has it, with
a test). No entry stands for an xpgrad bug: those are fixed.

A short run need not meet every entry, but a long run must: the fuzzer reports each entry (but the two benign ones) that
matched nothing (``FuzzRun.unused_known``; ``--fail-on-unused-known`` makes it an error), since
an entry whose difference is gone would hide a new one with the same ops.
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase

__all__ = ["KNOWN", "FuzzKnown", "find_known", "known_for"]


@dataclass(frozen=True)
class FuzzKnown:
    cls: str
    ops: tuple[str, ...]
    reason: str
    check: str = "*"
    backend: str = "*"
    detail: str = "*"
    # Explained by the triage itself (rounding): matched on the class alone, so it cannot hide a
    # wrong gradient, and a run need not meet it (not reported when unused).
    benign: bool = False

    def matches(self, check: str, cls: str, ops, backend: str, detail: str = "") -> bool:
        return (
            fnmatchcase(check, self.check)
            and fnmatchcase(detail, self.detail)
            and fnmatchcase(cls, self.cls)
            and any(fnmatchcase(backend, b) for b in self.backend.split("|"))
            and all(any(fnmatchcase(op, alt) for op in ops for alt in pat.split("|")) for pat in self.ops)
        )


KNOWN: list[FuzzKnown] = [
    # Backends without views (docs/backends.md): a slice, reshape or transpose is a new array.
    FuzzKnown(
        "raise mismatch*",
        ("i*|setitem|setitem_*",),
        "JAX and Dask have no views: an in-place write into a slice, reshape or transpose is a "
        "write into a new array, so it neither reaches the base nor raises where torch's view "
        "of a leaf or of a saved value does; the gradient is the one of the program as it ran "
        "there (docs/backends.md, 'No views')",
        backend="dask|jax",
    ),
    # Lazy arrays (docs/deviations.md): a check on values cannot raise without computing them.
    FuzzKnown(
        "raise mismatch: torch raises, xpgrad's gradient is nan",
        ("linalg.eig*|linalg.svd*",),
        "deviation (docs/deviations.md): a loss that depends on the phase of complex eigen- or "
        "singular vectors raises in torch's backward (and in xpgrad's on eager backends); on "
        "Dask the check cannot raise without computing, so the gradient is nan (each `eig`/`eigh` "
        "call of the fuzzer's gauge-invariant result is a separate node that alone depends on "
        "the phase) (tests/test_lazy_backward.py::test_gauge_check_on_dask_gives_nan_not_a_wrong_gradient)",
        check="first",
        backend="dask",
        detail="*are specified up to multiplication by e^{i phi}*",
    ),
    # Benign: explained by the triage itself.
    FuzzKnown(
        "float32 precision",
        (),
        "the two sides differ beyond float32 tolerance, but not once the program runs in "
        "float64/complex128: rounding error amplified by the program, not a wrong formula",
        benign=True,
    ),
    FuzzKnown(
        "both agree with FD",
        (),
        "both sides agree with central finite differences; they differ from each other by more than "
        "the comparison tolerance only (rounding)",
        benign=True,
    ),
    # torch is wrong.
    FuzzKnown(
        "raise mismatch: torch raises, xpgrad's gradient agrees with FD",
        (),
        "torch 2.13: a backward that hands a complex gradient to a real input (where(cond, a, b) with "
        "one complex and one real operand that both require grad; x[...] = real_value for a complex x) "
        "raises 'Expected isFloatingType(grad.scalar_type()) || (input_is_complex == grad_is_complex)'; "
        "xpgrad gives the real input the real part, as finite differences do",
        check="first",
        detail="*isFloatingType(grad.scalar_type())*",
    ),
    FuzzKnown(
        "torch wrong",
        ("special.sinc",),
        "torch 2.13's double backward of sinc is nan at 0 and loses digits near it (its formula "
        "differentiates sin(pi x) / (pi x) twice, which cancels: 5e-6 relative at 1e-6, 1e-3 at "
        "1e-7); xpgrad's Taylor branch near 0 is mpmath's to 1e-13 "
        "(tests/test_fuzz_regressions.py::test_sinc_second_order_near_0_is_mpmaths_where_torchs_is_not)",
        check="second",
    ),
    FuzzKnown(
        "torch wrong",
        ("pow",),
        "torch 2.13's gradient of pow(x, y) in the base is where(y == 0, 0, y * x**(y - 1) * g): "
        "at an exponent exactly 0 the mask also drops that term's derivative in y, x**(y - 1) * g, "
        "so the second order is off where the exponent is 0 (d2/dx2 (x + 0.5)**x at 0: torch "
        "2.48, true log(0.5)**2 + 4 = 4.48); xpgrad's is right "
        "(tests/test_fuzz_regressions.py::test_pow_second_order_at_a_zero_exponent_where_torchs_is_not)",
        check="second",
    ),
    FuzzKnown(
        "torch wrong",
        ("linalg.svd.function.*",),
        "torch 2.13's svd_backward judges each svd call alone: the generator's U f(s) Vh takes U "
        "from one call and Vh from another, gauge-invariant together but not per call; both "
        "libraries raise when a call's loss depends on the phase beyond a tolerance, and below it "
        "(a small cotangent) torch's gradient is not the program's, xpgrad's (which drops the "
        "phase term) is, as finite differences show "
        "(tests/test_fuzz_regressions.py::test_svd_vectors_from_two_calls_give_the_gauge_invariant_gradient)",
        check="first",
    ),
    # An artefact of the reference: array_api_compat.torch, not torch itself.
    FuzzKnown(
        "raise mismatch: xpgrad raises, torch's gradient agrees with FD",
        ("take", "mutate_index"),
        "array_api_compat.torch's take passes torch.index_select a new index array "
        "(torch.where(indices < 0, indices + n, indices)), so the reference never sees the index "
        "array change; torch.index_select itself saves the index and raises after it changes, as "
        "xpgrad does (tests/test_fuzz_regressions.py::test_take_raises_after_its_index_changes_as_index_select)",
        check="first",
    ),
    # Deliberate deviations (docs/deviations.md, "Saved values").
    FuzzKnown(
        "raise mismatch: xpgrad raises, torch's gradient agrees with FD",
        ("reciprocal",),
        "deviation (docs/deviations.md, Saved values): `s / x` with a Python scalar `s` saves `x` (as "
        "divide of two arrays in torch); torch computes it as reciprocal(x) * s and saves the "
        "reciprocal, so an in-place change of `x` raises in xpgrad only "
        "(conformance/test_saved_sets.py, DEVIATIONS)",
        check="first",
        detail="*gradient computation of divide*",
    ),
    FuzzKnown(
        "raise mismatch: xpgrad raises, torch's gradient agrees with FD",
        ("linalg.*", "reshape"),
        "memory layout: torch's linalg results (inv, ...) are column-major, so reshape(-1) of one is a "
        "copy in torch and a view on NumPy/array-api-strict (the standard lets reshape be either); an "
        "in-place change of it then changes the saved result, and xpgrad raises, rightly "
        "(docs/deviations.md, Not deviations)",
        check="first",
        backend="numpy|array_api_strict",
        detail="*output 0 of linalg.*",
    ),
    FuzzKnown(
        "raise mismatch: torch raises, xpgrad's gradient agrees with FD",
        ("special.i0e|special.i1|special.i1e|special.log_ndtr|special.expit",),
        "deviation (docs/deviations.md, Saved values): torch's formulas of i0e, i1, i1e, log_ndtr "
        "and sigmoid read the result, which torch saves; xpgrad's are computed from x alone "
        "(accurate in the tails, docs/special-edges.md) and do not keep the result, so an in-place "
        "change of it raises in torch only (conformance/test_saved_sets.py, DEVIATIONS)",
        check="first",
    ),
    FuzzKnown(
        "raise mismatch: xpgrad raises, torch's gradient agrees with FD",
        ("special.ndtr|special.expit",),
        "deviation (docs/deviations.md, Saved values): torch computes ndtr as 0.5 * erfc(-x / "
        "sqrt(2)) and saves the new array -x / sqrt(2), and sigmoid saves its result only; xpgrad "
        "saves x for both, so an in-place change of x raises in xpgrad only "
        "(conformance/test_saved_sets.py, DEVIATIONS)",
        check="first",
    ),
    FuzzKnown(
        "raise mismatch: torch raises, xpgrad's gradient agrees with FD",
        ("imul_self|idiv_self",),
        "deviation (docs/deviations.md, Saved values): `v *= v` / `v /= v`: torch's in-place op saves "
        "its operand, which is its own target, then overwrites it, so backward raises; xpgrad saves "
        "the value before the write and gives the gradient "
        "(tests/test_fuzz_regressions.py::test_self_inplace_multiply_gives_the_gradient_deviation)",
        check="first",
    ),
]


def known_for(backend: str, known=None) -> list[FuzzKnown]:
    """The entries that apply to runs on ``backend``."""
    return [
        e
        for e in (KNOWN if known is None else known)
        if any(fnmatchcase(backend, b) for b in e.backend.split("|"))
    ]


def find_known(check: str, cls: str, ops, backend: str, known=None, detail: str = "") -> str | None:
    entry = find_known_entry(check, cls, ops, backend, known, detail)
    return None if entry is None else entry.reason


def find_known_entry(
    check: str, cls: str, ops, backend: str, known=None, detail: str = ""
) -> FuzzKnown | None:
    for entry in KNOWN if known is None else known:
        if entry.matches(check, cls, ops, backend, detail):
            return entry
    return None
