"""Every public function of the namespace (and of its linalg, fft and special extensions) has an OpInfo,
differentiable or declared non-differentiable."""

from __future__ import annotations

import types

import pytest

from xpgrad.testing import op_db


def _public_functions(obj) -> set[str]:
    names = set()
    for name in set(dir(obj)) | set(dir(type(obj))):
        if name.startswith("_") and name != "__array_namespace_info__":
            continue
        value = getattr(obj, name, None)
        if callable(value) and not isinstance(value, (type, types.ModuleType)):
            names.add(name)
    return names


def _namespace_functions(xp) -> list[str]:
    names = _public_functions(xp)
    for ext in ("linalg", "fft", "special"):
        sub = getattr(xp, ext, None)
        if sub is not None:
            names |= {f"{ext}.{n}" for n in _public_functions(sub)}
    return sorted(names)


def test_every_function_has_an_opinfo(xp):
    covered = {op.name for op in op_db()}
    missing = [name for name in _namespace_functions(xp) if name not in covered]
    assert not missing, f"functions without an OpInfo in xpgrad/testing/samples/: {', '.join(missing)}"


@pytest.mark.parametrize("op", op_db(), ids=lambda op: op.name)
def test_opinfo_names_a_namespace_function(op, xp):
    target = xp
    for part in op.name.split("."):
        if part == "__getitem__":
            return  # an operator of Tensor, called through the OpInfo's fn
        target = getattr(target, part, None)
        assert target is not None, f"OpInfo {op.name!r} names no function of the namespace"
