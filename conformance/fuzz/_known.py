"""Known differences of the fuzzer, as data: a triaged difference that matches an entry is
reported as known, with the entry's reason; any other is unexplained (the CI test fails).

An entry matches on the check ("forward", "first", "second"), the class (``fnmatch`` pattern on
one of ``_triage.CLASSES``), the ops of the reduced program (every pattern must match one op;
``()`` matches any program) and the backend. Entries are not strict: a random run of a few
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
            and all(any(fnmatchcase(op, pat) for op in ops) for pat in self.ops)
        )


ISSUE9 = "issue 9 (being fixed now): "

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
]


def find_known(check: str, cls: str, ops, backend: str, known=None) -> str | None:
    for entry in KNOWN if known is None else known:
        if entry.matches(check, cls, ops, backend):
            return entry.reason
    return None
