"""Known differences of one backend from torch, as data.

A backend (NumPy, array-api-strict, your own library) may differ from torch where the array API
standard leaves room: a warning NumPy raises, an index form array-api-strict refuses, a casting
rule. Such a difference is a :class:`KnownDifference`: which checks it covers (``fnmatch``
patterns on the function, the sample name, the dtype and the check) and why. The conformance
suite (``conformance/known/<backend>.py``) turns each match into an expected failure: the report
shows it as ``xfail`` with its reason, and one that starts passing fails the run (every known
difference is strict) so the entry gets removed. An entry covers the check kinds its ``check``
pattern matches, and no other: a ``first`` entry does not cover ``jvp``.

Op-level differences that hold on every backend (torch's own deviations) stay in the OpInfos'
``xfail``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase

__all__ = ["KnownDifference", "find_known"]


@dataclass(frozen=True)
class KnownDifference:
    """An expected failure of the checks matching all four patterns (``fnmatch`` syntax).

    function: the OpInfo name ("sin", "linalg.svd", "__getitem__").
    sample: the sample name as shown in reports ("ties", "int_array,Ellipsis").
    dtype: "float32", "complex*", "*".
    check: "forward", "first", "second", "jvp", "fwd_rev", or a pattern ("*": every kind).
    reason: what the backend does and why it differs (shown in reports).
    """

    function: str
    sample: str
    dtype: str
    check: str
    reason: str

    def matches(self, function: str, sample: str, dtype: str, check: str) -> bool:
        return (
            fnmatchcase(function, self.function)
            and fnmatchcase(sample, self.sample)
            and fnmatchcase(dtype, self.dtype)
            and fnmatchcase(check, self.check)
        )


def find_known(
    known: Iterable[KnownDifference], function: str, sample: str, dtype: str, check: str
) -> str | None:
    """The reason of the first entry of ``known`` matching, or None."""
    for entry in known:
        if entry.matches(function, sample, dtype, check):
            return entry.reason
    return None
