"""Known differences of the fuzzer, as data: a triaged difference that matches an entry is
reported as known, with the entry's reason; any other is unexplained (the CI test fails).

An entry matches on the check ("forward", "first", "second"), the class (``fnmatch`` pattern on
one of ``_triage.CLASSES``), the ops of the reduced program (every pattern must match one op;
``()`` matches any program; ``"a|b"`` matches either) and the backend. Entries are not strict: a random run of a few
hundred programs need not meet every known difference.
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase

__all__ = ["KNOWN", "FuzzKnown", "find_known"]


@dataclass(frozen=True)
class FuzzKnown:
    cls: str
    ops: tuple[str, ...]
    reason: str
    check: str = "*"
    backend: str = "*"

    def matches(self, check: str, cls: str, ops, backend: str) -> bool:
        return (
            fnmatchcase(check, self.check)
            and fnmatchcase(cls, self.cls)
            and fnmatchcase(backend, self.backend)
            and all(any(fnmatchcase(op, alt) for op in ops for alt in pat.split("|")) for pat in self.ops)
        )


ISSUE9 = "issue 9 (being fixed now): "
INPLACE = "iadd|isub|imul|idiv|setitem*"
ALIASES = "real|imag|conj|broadcast_arrays|broadcast_to|reshape|astype|matrix_transpose|permute_dims"

KNOWN: list[FuzzKnown] = [
    # Benign: explained by the triage itself.
    FuzzKnown(
        "float32 precision",
        (),
        "the two sides differ beyond float32 tolerance, but not once the program runs in "
        "float64/complex128: rounding error amplified by the program, not a wrong formula",
    ),
    FuzzKnown(
        "both agree with FD",
        (),
        "both sides agree with central finite differences; they differ from each other by more than "
        "the comparison tolerance only (rounding)",
    ),
    # torch is wrong.
    FuzzKnown(
        "raise mismatch: torch raises, xpgrad's gradient agrees with FD",
        ("linalg.det",),
        "torch 2.13: the backward of linalg.det of a float32/complex64 matrix raises 'linalg.lu_solve: "
        "Expected LU and B to have the same dtype' when torch's default dtype is float64 (as the harness "
        "sets it for backends whose default is float64); xpgrad's gradient agrees with finite differences",
        check="first",
    ),
    FuzzKnown(
        "raise mismatch: torch raises, xpgrad's gradient agrees with FD",
        ("where",),
        "torch 2.13: the backward of where(cond, a, b) with one complex and one real operand that both "
        "require grad raises 'Expected isFloatingType(grad.scalar_type()) || (input_is_complex == "
        "grad_is_complex)'; xpgrad gives the real operand the real part, as finite differences do",
        check="first",
    ),
    # issue 9, items 1-3: other engineers are fixing these mechanisms now.
    FuzzKnown(
        "*",
        ("mutate_index|mutate_mask",),
        ISSUE9 + "item 1: index arrays, masks and where-conditions an op keeps for backward are not "
        "version-checked; changing one after use gives a wrong gradient where torch raises",
    ),
    FuzzKnown(
        "*",
        ("setitem_ellipsis",),
        ISSUE9 + "item 2: __setitem__ with '...' (and full or 0-d targets) loses the value's graph or "
        "requires_grad",
    ),
    FuzzKnown(
        "*",
        (ALIASES, INPLACE),
        ISSUE9 + "item 1: a result the backend returns as an alias of its input (NumPy's real/imag of "
        "an array, broadcast_arrays, broadcast_to, reshape, astype(copy=False); torch's real/conj of a "
        "real tensor, which is the tensor itself) is not a tracked view: an in-place change of it or "
        "of its base gives another graph (or no error) than torch's",
    ),
    FuzzKnown(
        "*",
        ("getitem_scalar", INPLACE),
        ISSUE9 + "aliasing views: x[i] of a 1-D array (one element by integers alone) is a view in "
        "torch, but NumPy returns a scalar and xpgrad a new 0-d array: an in-place change of it does "
        "not reach its base (x[i, ...] is a view on both sides)",
    ),
    FuzzKnown(
        "raise mismatch: *",
        (INPLACE,),
        ISSUE9 + "item 3: the values an op saves are not torch's derivatives.yaml set (divide, "
        "reciprocal and sign save their output, amin/amax/maximum and self-multiplication in torch "
        "save other values), so an in-place change raises on one side only",
        check="[fs]*",
    ),
]


def find_known(check: str, cls: str, ops, backend: str, known=None) -> str | None:
    for entry in KNOWN if known is None else known:
        if entry.matches(check, cls, ops, backend):
            return entry.reason
    return None
