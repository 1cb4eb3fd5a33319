"""A fuzz program as data: inputs, statements over named variables, outputs.

A statement is one line of array API code (``v3 = xp.sin(v1)``, ``v2[1:] = x0``, ``i0[0] = 2``)
with what the fuzzer needs to know about it: the op it exercises, the variable it defines or
mutates, the variables it reads, and variables that may stand in for the one it defines when the
reducer drops it. The same text is executed on every side (``xp`` is the xpgrad namespace, or
``array_api_compat.torch``) and printed in reproducers, so what is run is what is shown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

import numpy as np

__all__ = ["Input", "Program", "Stmt", "execute"]


@dataclass(frozen=True)
class Input:
    """A program input. kind: "leaf" (floating, requires grad), "const" (floating, no grad),
    "index" (int64) or "mask" (bool)."""

    name: str
    kind: str
    value: np.ndarray = field(compare=False)

    def to_json(self):
        v = self.value
        data = np.stack([v.real, v.imag], -1).tolist() if v.dtype.kind == "c" else v.tolist()
        return {
            "name": self.name,
            "kind": self.kind,
            "dtype": v.dtype.name,
            "shape": list(v.shape),
            "value": data,
        }

    @staticmethod
    def from_json(d):
        a = np.asarray(d["value"])
        if d["dtype"].startswith("complex"):
            a = a[..., 0] + 1j * a[..., 1]
        return Input(d["name"], d["kind"], np.asarray(a, dtype=d["dtype"]).reshape(d["shape"]))


_INPLACE_OPERATORS = frozenset({"iadd", "isub", "imul", "idiv"})


@dataclass(frozen=True)
class Stmt:
    """One line of code. ``defines``: the variable it assigns (or None); ``mutates``: the variable
    it modifies in place (or None); ``uses``: variables it reads; ``subst``: variables of the
    same shape and dtype as ``defines`` that may replace it when the statement is dropped."""

    code: str
    op: str
    defines: str | None = None
    mutates: str | None = None
    uses: tuple[str, ...] = ()
    subst: tuple[str, ...] = ()

    def to_json(self):
        return {
            "code": self.code,
            "op": self.op,
            "defines": self.defines,
            "mutates": self.mutates,
            "uses": list(self.uses),
            "subst": list(self.subst),
        }

    @staticmethod
    def from_json(d):
        return Stmt(d["code"], d["op"], d["defines"], d["mutates"], tuple(d["uses"]), tuple(d["subst"]))

    @property
    def label(self) -> str:
        """``op``, with ``_self`` appended for an in-place operator applied to its own target."""
        if self.mutates and self.op in _INPLACE_OPERATORS:
            t = re.escape(self.mutates)
            if re.fullmatch(rf"\s*{t}\s*[-+*/]=\s*{t}\s*", self.code):
                return self.op + "_self"
        return self.op

    def renamed(self, old: str, new: str) -> Stmt:
        pat = re.compile(rf"\b{re.escape(old)}\b")
        return replace(
            self,
            code=pat.sub(new, self.code),
            mutates=new if self.mutates == old else self.mutates,
            uses=tuple(new if u == old else u for u in self.uses),
            subst=tuple(s for s in self.subst if s != old),
        )


@dataclass(frozen=True)
class Program:
    """Inputs, statements and the outputs (variable names) whose cotangent-weighted sum is the loss."""

    dtype: str
    inputs: tuple[Input, ...]
    stmts: tuple[Stmt, ...]
    outputs: tuple[str, ...]
    seed: int | None = None

    @property
    def leaves(self) -> list[str]:
        return [i.name for i in self.inputs if i.kind == "leaf"]

    @property
    def ops(self) -> list[str]:
        """The distinct ops of the statements, in order of first use. An in-place operator whose
        operand is its target (``v *= v``, perhaps made so by the reducer) is ``imul_self``."""
        return list(dict.fromkeys(s.label for s in self.stmts))

    def source(self, name: str = "program") -> str:
        """The program as a Python function ``program(xp, <inputs>) -> [outputs]``."""
        args = ", ".join(["xp"] + [i.name for i in self.inputs])
        body = [f"    {s.code}" for s in self.stmts] or ["    pass"]
        return "\n".join([f"def {name}({args}):", *body, f"    return [{', '.join(self.outputs)}]"])

    def to_json(self):
        return {
            "dtype": self.dtype,
            "seed": self.seed,
            "inputs": [i.to_json() for i in self.inputs],
            "stmts": [s.to_json() for s in self.stmts],
            "outputs": list(self.outputs),
        }

    @staticmethod
    def from_json(d):
        return Program(
            d["dtype"],
            tuple(Input.from_json(i) for i in d["inputs"]),
            tuple(Stmt.from_json(s) for s in d["stmts"]),
            tuple(d["outputs"]),
            d.get("seed"),
        )

    # -- edits used by the reducer -----------------------------------------------------------

    def used_names(self) -> set[str]:
        used = set(self.outputs)
        for s in self.stmts:
            used.update(s.uses)
            if s.mutates:
                used.add(s.mutates)
        return used

    def prune_inputs(self) -> Program:
        used = self.used_names()
        return replace(self, inputs=tuple(i for i in self.inputs if i.name in used))

    def without(self, k: int) -> Program | None:
        """The program without statement ``k`` (its variable replaced by a stand-in), or None."""
        s = self.stmts[k]
        rest = list(self.stmts[k + 1 :])
        outputs = list(self.outputs)
        if s.defines is not None:
            used_later = any(s.defines in t.uses or t.mutates == s.defines for t in rest)
            if used_later or s.defines in outputs:
                # An output may become any floating operand (x*, c*, v*; not i* or m*).
                floating = [u for u in s.uses if u[:1] in ("v", "x", "c")]
                stand_in = s.subst if used_later else s.subst + tuple(u for u in floating if u not in s.subst)
                if not stand_in:
                    return None
                new = stand_in[0]
                rest = [t.renamed(s.defines, new) for t in rest]
                outputs = [new if o == s.defines else o for o in outputs]
        outputs = list(dict.fromkeys(outputs))
        return replace(self, stmts=tuple(self.stmts[:k]) + tuple(rest), outputs=tuple(outputs)).prune_inputs()


_CODE_CACHE: dict[str, object] = {}


def execute(program: Program, xp, env: dict, monitor=None) -> list:
    """Run the statements in ``env`` (input name -> array, modified in place) with ``xp``; return
    the outputs. ``monitor(stmt, env)`` is called before each statement (generation only)."""
    env["xp"] = xp
    for s in program.stmts:
        code = _CODE_CACHE.get(s.code)
        if code is None:
            code = _CODE_CACHE[s.code] = compile(s.code, "<fuzz program>", "exec")
        if monitor is not None:
            monitor(s, env)
        exec(code, env)  # noqa: S102 - the fuzzer's own generated statements
    return [env[o] for o in program.outputs]
