"""Random, reproducible fuzz programs.

The generator builds a program one statement at a time and runs each statement at once on a
reference (torch float64/complex128 through ``array_api_compat.torch``, no autograd), so it knows
every intermediate value. An op is only emitted where its mathematics is well defined: away from
kinks (``abs`` at 0, ties of ``max``/``maximum``/``sort``/comparisons, ``floor``/``round``
steps), domain edges and branch cuts (``log``, ``sqrt``, ``pow``), near-singular or degenerate
matrices (``inv``, ``solve``, ``det``, ``eigvalsh``, ``svdvals``). A margin of ``MARGIN`` (far
more than the finite-difference step) is kept. Values are kept below ``LIMIT`` in magnitude.
"""

from __future__ import annotations

import warnings

import numpy as np

from ._program import Input, Program, Stmt

__all__ = ["DTYPES", "generate"]

DTYPES = ("float32", "float64", "complex64", "complex128")
MARGIN = 1e-2
LIMIT = 1e3


# The share of inputs with structure (exact zeros, integer values, repeated values, decoupled
# blocks): where random values are generic, these reach the branches of a formula that only exact
# structure takes (a zero off-diagonal block of a decomposition, a tie, an exact 0).
STRUCTURED = 0.3


def _structured(rng, v: np.ndarray) -> np.ndarray:
    """``v`` given one kind of exact structure."""
    kind = str(rng.choice(["zeros", "integers", "repeated", "blocks"]))
    if kind == "zeros":
        return np.where(rng.random(v.shape) < 0.5, 0, v)
    if kind == "integers":
        return np.round(2 * v)
    if kind == "repeated" and v.size:
        return rng.choice(v.ravel()[:2], size=v.shape)
    if kind == "blocks" and v.ndim == 2 and min(v.shape) >= 2:
        k, j = int(rng.integers(1, v.shape[0])), int(rng.integers(1, v.shape[1]))
        v = v.copy()
        v[:k, j:] = 0
        v[k:, :j] = 0
    return v


class GenFail(Exception):
    """The program being generated went out of range; the generator starts again."""


def _np(t):
    return t.detach().cpu().numpy()


def _gap_sorted(a, axis):
    """The smallest distance between two entries along ``axis`` (inf when fewer than two)."""
    if a.ndim == 0 or a.shape[axis] < 2:
        return np.inf
    s = np.sort(a, axis=axis)
    return float(np.min(np.diff(s, axis=axis))) if s.size else np.inf


class _Gen:
    def __init__(self, rng, dtype: str):
        from ._torch_ns import torch_namespace

        txp = torch_namespace()
        self.rng = rng
        self.dtype = dtype
        self.is_complex = dtype.startswith("complex")
        self.real_dtype = {"complex64": "float32", "complex128": "float64"}.get(dtype, dtype)
        self.txp = txp
        self.inputs: list[Input] = []
        self.stmts: list[Stmt] = []
        self.env: dict = {}
        self.vars: list[str] = []  # floating variables (inputs and results), in order
        self.counts: dict[str, int] = {}
        self.used_index: set[str] = set()
        self.fancy_setitem = True
        self.readonly: set[str] = set()  # expanded broadcasts and views of them: never written

    # -- names and values --------------------------------------------------------------------

    def name(self, prefix):
        k = self.counts.get(prefix, 0)
        self.counts[prefix] = k + 1
        return f"{prefix}{k}"

    def val(self, name) -> np.ndarray:
        return _np(self.env[name])

    def shape(self, name):
        return tuple(self.env[name].shape)

    def cplx(self, name) -> bool:
        return self.env[name].is_complex()

    def floats(self, kind="any", rank=None, square=False, exclude=()):
        out = []
        for v in self.vars:
            if v in exclude:
                continue
            t = self.env[v]
            if kind == "real" and t.is_complex():
                continue
            if kind == "complex" and not t.is_complex():
                continue
            if rank is not None and t.ndim not in (rank if isinstance(rank, tuple) else (rank,)):
                continue
            if square and not (t.ndim == 2 and t.shape[0] == t.shape[1] and t.shape[0] >= 2):
                continue
            out.append(v)
        return out

    def pick(self, names):
        """A name, favouring recent ones."""
        if not names:
            return None
        w = np.arange(1, len(names) + 1, dtype=float) ** 2
        return names[int(self.rng.choice(len(names), p=w / w.sum()))]

    def rand_shape(self, max_rank=2):
        rank = int(self.rng.integers(0, max_rank + 1))
        return tuple(int(d) for d in self.rng.integers(1, 5, size=rank))

    def values(self, shape, cplx):
        v = self.rng.standard_normal(shape)
        if cplx:
            v = v + 1j * self.rng.standard_normal(shape)
        if self.rng.random() < STRUCTURED:
            return _structured(self.rng, np.round(v, 3))
        return np.round(v, 3)

    def new_input(self, kind, shape, cplx=None, value=None):
        import torch

        if kind in ("leaf", "const"):
            cplx = self.is_complex if cplx is None else cplx
            dt = (
                {"float32": "complex64", "float64": "complex128"}.get(self.real_dtype)
                if cplx
                else self.real_dtype
            )
            value = np.asarray(self.values(shape, cplx) if value is None else value, dtype=dt)
            prefix = "x" if kind == "leaf" else "c"
        else:
            prefix = "i" if kind == "index" else "m"
        name = self.name(prefix)
        self.inputs.append(Input(name, kind, value))
        ref = (
            value.astype(np.complex128 if value.dtype.kind == "c" else np.float64)
            if value.dtype.kind in "fc"
            else value
        )
        self.env[name] = torch.tensor(np.array(ref))
        if kind in ("leaf", "const"):
            self.vars.append(name)
        return name

    def n_leaves(self):
        return sum(i.kind == "leaf" for i in self.inputs)

    def operand(self, shape, cplx=None, exclude=()):
        """A floating variable broadcastable to ``shape`` (or of exactly ``shape``), or a new input."""
        kind = "any" if cplx is None else ("complex" if cplx else "real")
        cands = []
        for v in self.floats(kind, exclude=exclude):
            try:
                if np.broadcast_shapes(self.shape(v), shape) == tuple(shape):
                    cands.append(v)
            except ValueError:
                pass
        if cands and self.rng.random() < 0.7:
            return self.pick(cands)
        sub = (
            tuple(shape)[int(self.rng.integers(0, len(shape) + 1)) :]
            if self.rng.random() < 0.3
            else tuple(shape)
        )
        kind = "leaf" if self.n_leaves() < 4 and self.rng.random() < 0.6 else "const"
        c = self.is_complex if cplx is None else cplx
        return self.new_input(kind, sub, cplx=c)

    def emit(self, code, op, defines=None, mutates=None, uses=()):
        import torch

        env = dict(self.env)
        env["xp"] = self.txp
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the same programs under pytest's -W error
            try:
                exec(compile(code, "<gen>", "exec"), env)  # noqa: S102
            except Exception as exc:  # noqa: BLE001 - a generator mistake: start again
                raise GenFail(f"{code}: {type(exc).__name__}: {exc}") from None
        for k, v in env.items():
            if k != "xp":
                self.env[k] = v
        uses = tuple(dict.fromkeys(uses))
        subst = ()
        target = defines or mutates
        t = self.env[target]
        if t.dtype.is_floating_point or t.is_complex():
            a = _np(t)
            if not np.all(np.isfinite(a)) or (a.size and np.max(np.abs(a)) > LIMIT):
                raise GenFail(f"{code}: values out of range")
        if defines is not None:
            if t.dtype.is_floating_point or t.is_complex():
                self.vars.append(defines)
                subst = tuple(
                    u
                    for u in uses
                    if u in self.vars and self.shape(u) == tuple(t.shape) and self.env[u].dtype == t.dtype
                )
        self.stmts.append(Stmt(code, op, defines, mutates, uses, subst))
        return defines

    def index_expr(self, shape, setitem=False):
        """A basic index for ``shape`` as source text (a form every standard library accepts:
        one entry per axis or a trailing ``...``), and the shape it selects."""
        r = len(shape)
        choices = ["..."] if setitem else ["...", "None, ..."]
        if setitem and self.fancy_setitem:  # beyond the standard: array-api-strict refuses None there
            choices += ["None", "None, ...", "..., None"]
            choices += (
                [f"{int(self.rng.integers(0, shape[0]))}, None, ...", "None, 1:, ..."]
                if r and shape[0]
                else []
            )
        if r >= 1 and shape[0] >= 1:  # (an empty axis has no integer index)
            n = shape[0]
            tail = ", ..." if r > 1 else ""
            choices += [f"{int(self.rng.integers(0, n))}{tail}", f"{'1:' if n > 1 else ':'}{tail}"]
            choices += [f":{max(1, n - 1)}{tail}", f"::2{tail}"]
        if r == 2 and min(shape) >= 1:
            choices += [f":, {int(self.rng.integers(0, shape[1]))}", "..., 1:" if shape[1] > 1 else "..., :"]
            choices += [f"{int(self.rng.integers(0, shape[0]))}, 1:" if shape[1] > 1 else "0, :"]
        expr = str(self.rng.choice(choices))
        sel = eval(f"np.empty({tuple(shape)})[{expr}]", {"np": np}).shape  # noqa: S307 - our own text
        return expr, sel


# -- ops ---------------------------------------------------------------------------------------
# Each takes the generator and emits one statement (returning its name), or returns None when it
# does not apply here (no suitable operand, or the point is not well defined).

_UNARY_ANY = {
    "negative": "-{a}",
    "sin": "xp.sin({a})",
    "cos": "xp.cos({a})",
    "tanh": "xp.tanh({a})",
    "square": "{a} * {a}",
    "pow_int": "{a} ** 2",
    "mul_scalar": "{a} * 1.5",
    "rsub_scalar": "2.0 - {a}",
    "conj": "xp.conj({a})",
    "real": "xp.real({a})",
    "copy": "xp.asarray({a}, copy=True)",
}


def _unary(name, tmpl):
    def op(g):
        a = g.pick(g.floats())
        if a is None:
            return None
        if name == "real" and not g.cplx(a) and g.rng.random() < 0.5:
            return None
        return g.emit(f"{(o := g.name('v'))} = {tmpl.format(a=a)}", name, defines=o, uses=(a,))

    return op


def _checked_unary(name, tmpl, kind, ok):
    def op(g):
        a = g.pick(g.floats(kind))
        if a is None or not ok(g.val(a)):
            return None
        return g.emit(f"{(o := g.name('v'))} = {tmpl.format(a=a)}", name, defines=o, uses=(a,))

    return op


def _away_from_cut(a):
    """Complex log/sqrt: not near the branch cut (negative real axis) nor 0."""
    a = np.asarray(a)
    if a.dtype.kind == "c":
        return bool(np.all(np.abs(a) > 0.1) and np.all((a.real > 0) | (np.abs(a.imag) > 0.1)))
    return bool(np.all(a > 0.1))


def _frac_ok(a, offset):
    f = np.abs((a - offset) - np.round(a - offset))
    return bool(np.all(f > MARGIN))


OPS: dict[str, tuple[float, object]] = {}


def _reg(name, weight, fn):
    OPS[name] = (weight, fn)


for _n, _t in _UNARY_ANY.items():
    _reg(_n, 1.0, _unary(_n, _t))
_reg("exp", 1.0, _checked_unary("exp", "xp.exp({a})", "any", lambda a: bool(np.all(np.real(a) < 4))))
_reg("log", 1.0, _checked_unary("log", "xp.log({a})", "any", _away_from_cut))
_reg("sqrt", 1.0, _checked_unary("sqrt", "xp.sqrt({a})", "any", _away_from_cut))
_reg(
    "reciprocal",
    0.7,
    _checked_unary("reciprocal", "1.0 / {a}", "any", lambda a: bool(np.all(np.abs(a) > 0.2))),
)
_reg("abs", 1.0, _checked_unary("abs", "xp.abs({a})", "any", lambda a: bool(np.all(np.abs(a) > MARGIN))))
_reg("imag", 0.5, _checked_unary("imag", "xp.imag({a})", "complex", lambda a: True))
_reg("expm1", 0.4, _checked_unary("expm1", "xp.expm1({a})", "real", lambda a: bool(np.all(a < 4))))
_reg("log1p", 0.4, _checked_unary("log1p", "xp.log1p({a})", "real", lambda a: bool(np.all(a > -0.9))))
_reg("sinh", 0.4, _checked_unary("sinh", "xp.sinh({a})", "any", lambda a: bool(np.all(np.abs(a) < 4))))
_reg("sign", 0.3, _checked_unary("sign", "xp.sign({a})", "real", lambda a: bool(np.all(np.abs(a) > MARGIN))))
_reg("floor", 0.3, _checked_unary("floor", "xp.floor({a})", "real", lambda a: _frac_ok(a, 0.0)))
_reg("round", 0.3, _checked_unary("round", "xp.round({a})", "real", lambda a: _frac_ok(a, 0.5)))
_reg(
    "clip",
    0.5,
    _checked_unary(
        "clip",
        "xp.clip({a}, min=-0.5, max=0.7)",
        "real",
        lambda a: bool(np.all(np.abs(a + 0.5) > MARGIN) and np.all(np.abs(a - 0.7) > MARGIN)),
    ),
)
_reg("rpow_scalar", 0.3, _checked_unary("rpow_scalar", "0.5 ** {a}", "real", lambda a: bool(np.all(a > -6))))


def _binary(name, tmpl, kind="any", ok=None):
    def op(g):
        a = g.pick(g.floats(kind))
        if a is None:
            return None
        b = g.operand(g.shape(a), cplx=(False if kind == "real" else None))
        if g.rng.random() < 0.5:
            a, b = b, a
        if ok is not None and not ok(*np.broadcast_arrays(g.val(a), g.val(b))):
            return None
        return g.emit(f"{(o := g.name('v'))} = {tmpl.format(a=a, b=b)}", name, defines=o, uses=(a, b))

    return op


_reg("add", 1.5, _binary("add", "{a} + {b}"))
_reg("subtract", 1.0, _binary("subtract", "{a} - {b}"))
_reg("multiply", 1.5, _binary("multiply", "{a} * {b}"))
_reg("divide", 1.0, _binary("divide", "{a} / {b}", ok=lambda a, b: bool(np.all(np.abs(b) > 0.2))))
_reg(
    "pow",
    0.5,
    _binary(
        "pow",
        "xp.pow({a}, {b})",
        "real",
        ok=lambda a, b: bool(np.all(a > 0.1) and np.all(np.abs(b * np.log(a)) < 5)),
    ),
)
_reg(
    "maximum",
    0.7,
    _binary("maximum", "xp.maximum({a}, {b})", "real", ok=lambda a, b: bool(np.all(np.abs(a - b) > MARGIN))),
)
_reg(
    "minimum",
    0.5,
    _binary("minimum", "xp.minimum({a}, {b})", "real", ok=lambda a, b: bool(np.all(np.abs(a - b) > MARGIN))),
)
_reg(
    "atan2",
    0.4,
    _binary(
        "atan2",
        "xp.atan2({a}, {b})",
        "real",
        ok=lambda a, b: bool(np.all(np.hypot(a, b) > 0.1) and np.all((b > 0) | (np.abs(a) > MARGIN))),
    ),
)
_reg(
    "hypot",
    0.3,
    _binary("hypot", "xp.hypot({a}, {b})", "real", ok=lambda a, b: bool(np.all(np.hypot(a, b) > 0.1))),
)


def _compare(g):
    a = g.pick(g.floats("real", rank=(1, 2)))
    if a is None:
        return None
    if g.rng.random() < 0.5:
        b, bv = "0.3", 0.3
    else:
        b = g.operand(g.shape(a), cplx=False)
        bv = g.val(b)
    if not np.all(np.abs(g.val(a) - bv) > MARGIN):
        return None
    return g.emit(
        f"{(o := g.name('m'))} = {a} > {b}", "greater", defines=o, uses=(a,) if b == "0.3" else (a, b)
    )


def _mask_for(g, shape):
    """A boolean mask of exactly ``shape``: a comparison result or a new mask input."""
    masks = [m for m in g.env if m.startswith("m") and tuple(g.env[m].shape) == tuple(shape)]
    if masks and g.rng.random() < 0.6:
        return g.pick(sorted(masks))
    value = g.rng.random(shape) > 0.5
    if value.size:
        value.flat[0] = True
    return g.new_input("mask", shape, value=value)


def _where(g):
    a = g.pick(g.floats(rank=(1, 2)))
    if a is None:
        return None
    m = _mask_for(g, g.shape(a))
    b = g.operand(g.shape(a))
    if g.cplx(a) != g.cplx(b) and g.rng.random() < 0.5:
        return None
    g.used_index.add(m)
    out = g.emit(f"{(o := g.name('v'))} = xp.where({m}, {a}, {b})", "where", defines=o, uses=(m, a, b))
    _maybe_mutate(g, m)
    return out


_reg("greater", 0.5, _compare)
_reg("where", 0.8, _where)


def _reduction(name, fn, kind="any", ok=None, extra=""):
    def op(g):
        a = g.pick(g.floats(kind))
        if a is None:
            return None
        shape = g.shape(a)
        axis = None if not shape or g.rng.random() < 0.4 else int(g.rng.integers(0, len(shape)))
        keep = bool(g.rng.random() < 0.3)
        if ok is not None and not ok(g.val(a), axis):
            return None
        args = (
            f"{a}{extra}" + ("" if axis is None else f", axis={axis}") + (", keepdims=True" if keep else "")
        )
        return g.emit(f"{(o := g.name('v'))} = {fn}({args})", name, defines=o, uses=(a,))

    return op


def _gap_ok(a, axis):
    if a.size == 0:
        return False
    flat = a.reshape(-1) if axis is None else a
    return _gap_sorted(flat, -1 if axis is None else axis) > MARGIN


def _std_ok(a, axis):
    n = a.size if axis is None else a.shape[axis]
    return n > 1 and bool(np.all(np.std(a, axis=axis) > 0.05))


_reg("sum", 1.5, _reduction("sum", "xp.sum"))
_reg("mean", 0.7, _reduction("mean", "xp.mean"))
_reg("prod", 0.5, _reduction("prod", "xp.prod", ok=lambda a, ax: bool(np.all(np.abs(a) > 0.05))))
_reg("max", 0.7, _reduction("max", "xp.max", "real", ok=_gap_ok))
_reg("min", 0.4, _reduction("min", "xp.min", "real", ok=_gap_ok))
_reg("std", 0.4, _reduction("std", "xp.std", "real", ok=_std_ok, extra=""))
_reg("var", 0.4, _reduction("var", "xp.var", "real", ok=_std_ok, extra=""))
_reg(
    "vector_norm",
    0.5,
    _reduction("vector_norm", "xp.linalg.vector_norm", ok=lambda a, ax: bool(np.all(np.abs(a) > MARGIN))),
)


def _cumsum(g):
    a = g.pick(g.floats(rank=(1, 2)))
    if a is None:
        return None
    axis = int(g.rng.integers(0, len(g.shape(a))))
    return g.emit(
        f"{(o := g.name('v'))} = xp.cumulative_sum({a}, axis={axis})", "cumulative_sum", defines=o, uses=(a,)
    )


def _sort(g):
    a = g.pick(g.floats("real", rank=(1, 2)))
    if a is None or _gap_sorted(g.val(a), -1) <= MARGIN:
        return None
    return g.emit(f"{(o := g.name('v'))} = xp.sort({a}, axis=-1)", "sort", defines=o, uses=(a,))


_reg("cumulative_sum", 0.5, _cumsum)
_reg("sort", 0.4, _sort)


# -- linear algebra --------------------------------------------------------------------------


def _square(g):
    a = g.pick(g.floats(square=True))
    if a is None or g.rng.random() < 0.3:
        n = int(g.rng.integers(2, 4))
        a = g.new_input("leaf" if g.n_leaves() < 4 else "const", (n, n))
    return a


def _cond_ok(a, limit=50.0):
    try:
        return bool(np.linalg.cond(a) < limit)
    except np.linalg.LinAlgError:
        return False


def _matrix_op(name, tmpl, ok):
    def op(g):
        a = _square(g)
        if not ok(g.val(a)):
            return None
        return g.emit(
            f"{(o := g.name('v'))} = {tmpl.format(a=a, n=g.shape(a)[0])}", name, defines=o, uses=(a,)
        )

    return op


def _eig_gap_ok(a):
    h = a + np.conj(a.T)
    w = np.linalg.eigvalsh(h)
    return bool(np.min(np.diff(w)) > 0.05)


def _sv_gap_ok(a):
    s = np.linalg.svd(a, compute_uv=False)
    return bool(np.min(s) > 0.05 and np.min(-np.diff(s)) > 0.05)


_reg("linalg.inv", 0.6, _matrix_op("linalg.inv", "xp.linalg.inv({a})", _cond_ok))
_reg("linalg.det", 0.5, _matrix_op("linalg.det", "xp.linalg.det({a})", _cond_ok))
_reg("linalg.slogdet", 0.3, _matrix_op("linalg.slogdet", "xp.linalg.slogdet({a})[1]", _cond_ok))
_reg(
    "linalg.eigvalsh",
    0.4,
    _matrix_op("linalg.eigvalsh", "xp.linalg.eigvalsh({a} + xp.conj({a}.mT))", _eig_gap_ok),
)
_reg("linalg.svdvals", 0.4, _matrix_op("linalg.svdvals", "xp.linalg.svdvals({a})", _sv_gap_ok))
_reg(
    "linalg.cholesky",
    0.3,
    _matrix_op(
        "linalg.cholesky",
        "xp.linalg.cholesky({a} @ xp.conj({a}.mT) + xp.eye({n}, dtype={a}.dtype))",
        lambda a: True,
    ),
)
_reg("linalg.trace", 0.3, _matrix_op("linalg.trace", "xp.linalg.trace({a})", lambda a: True))
_reg("matrix_transpose", 0.5, _matrix_op("matrix_transpose", "{a}.mT", lambda a: True))


# Decompositions, through results that do not depend on the gauge the backend picks (the sign or
# phase of each eigen- or singular vector): |v|^2 entrywise, or a matrix function V f(w) V^H.
# Eigen- and singular values kept apart (their gaps, the condition of the formula's 1/(w_i - w_j)).

_HERM = "({a} + xp.conj({a}.mT))"


def _decomposition(name, tmpl, ok, square=True):
    def op(g):
        a = _square(g) if square else g.pick(g.floats(rank=2))
        if a is None or min(g.shape(a)) < 2 or not ok(g.val(a)):
            return None
        code = tmpl.format(a=a, h=_HERM.format(a=a), k=min(g.shape(a)))
        return g.emit(f"{(o := g.name('v'))} = {code}", name, defines=o, uses=(a,))

    return op


def _herm_gap_ok(a):
    return _eig_gap_ok(a) and _cond_ok(a + np.conj(a.T), 1e3)


def _eig_ok(a):
    """General eig: eigenvalues apart and well conditioned (a non-normal matrix magnifies errors)."""
    try:
        w, v = np.linalg.eig(a)
    except np.linalg.LinAlgError:
        return False
    gaps = np.abs(w[:, None] - w[None, :]) + np.eye(len(w))
    return bool(np.min(gaps) > 0.1 and np.linalg.cond(v) < 20)


def _svd_ok(a):
    s = np.linalg.svd(a, compute_uv=False)
    return bool(np.min(s) > 0.05 and np.min(-np.diff(s), initial=1.0) > 0.05)


_EIGH_V = "xp.linalg.eigh({h}).eigenvectors"
_reg(
    "linalg.eigh.vectors",
    0.4,
    _decomposition("linalg.eigh.vectors", f"{_EIGH_V} * xp.conj({_EIGH_V})", _herm_gap_ok),
)
_reg(
    "linalg.eigh.function",
    0.4,
    _decomposition(
        "linalg.eigh.function",
        f"({_EIGH_V} * xp.sin(xp.linalg.eigh({{h}}).eigenvalues)) @ xp.conj({_EIGH_V}.mT)",
        _herm_gap_ok,
    ),
)
# eig's order is the backend's LAPACK's: only results symmetric in the eigenvalues are compared
# (a matrix function V f(w) V^-1 = f(A), a sum over the eigenvalues).
_EIG = "xp.linalg.eig({a})"
_reg(
    "linalg.eig.values",
    0.3,
    _decomposition("linalg.eig.values", "xp.sum(xp.real(xp.exp(xp.linalg.eigvals({a}) / 2)))", _eig_ok),
)
_reg(
    "linalg.eig.function",
    0.3,
    _decomposition(
        "linalg.eig.function",
        f"({_EIG}.eigenvectors * xp.sin({_EIG}.eigenvalues)) @ xp.linalg.inv({_EIG}.eigenvectors)",
        _eig_ok,
    ),
)
_SVD = "xp.linalg.svd({a}, full_matrices={full})"
for _full in (False, True):
    _u = _SVD.replace("{full}", str(_full)) + ".U[..., :{k}]"
    _vh = _SVD.replace("{full}", str(_full)) + ".Vh[..., :{k}, :]"
    _reg(
        f"linalg.svd.vectors.full_matrices={_full}",
        0.3,
        _decomposition(
            f"linalg.svd.vectors.full_matrices={_full}", f"{_u} * xp.conj({_u})", _svd_ok, square=False
        ),
    )
    _reg(
        f"linalg.svd.function.full_matrices={_full}",
        0.3,
        _decomposition(
            f"linalg.svd.function.full_matrices={_full}",
            f"({_u} * xp.tanh(xp.linalg.svdvals({{a}}))) @ {_vh}",
            _svd_ok,
            square=False,
        ),
    )
# QR is differentiable only where R's diagonal is away from 0 (a wide matrix needs its leading
# columns independent; seed 2028009244: torch's gradient was wrong there and xpgrad's backward
# raised LinAlgError). ``_qr_r_ok`` is defined below, with R's normalisation.
_reg(
    "linalg.qr",
    0.3,
    _decomposition(
        "linalg.qr", "xp.linalg.qr({a}).Q @ xp.linalg.qr({a}).R", lambda a: _qr_r_ok(a), square=False
    ),
)
# R alone is unique only up to a unitary diagonal D (Q R = (Q D)(D^H R)): LAPACK's Householder
# QR (NumPy's, torch's: neither normalises) picks D from rounding where a column is already
# reduced (a complex triangular matrix: the last diagonal entry is +r in one LAPACK build and -r
# in another). Compared: R with a positive real diagonal, a function of the matrix where no
# diagonal entry is near 0 (a wide matrix whose leading columns are dependent has R_ii = 0, and
# then R itself is not unique).
_QR_R = "xp.linalg.qr({a}).R"


def _qr_r_ok(a):
    return _svd_ok(a) and bool(np.min(np.abs(np.diagonal(np.linalg.qr(a)[1]))) > 0.05)


_reg(
    "linalg.qr.R",
    0.3,
    _decomposition(
        "linalg.qr.R",
        f"{_QR_R} * xp.conj(xp.sign(xp.linalg.diagonal({_QR_R})))[..., :, None]",
        _qr_r_ok,
        square=False,
    ),
)
_reg("linalg.pinv", 0.3, _decomposition("linalg.pinv", "xp.linalg.pinv({a})", _svd_ok, square=False))
_reg(
    "linalg.matrix_norm",
    0.3,
    _decomposition("linalg.matrix_norm", "xp.linalg.matrix_norm({a}, ord='nuc')", _svd_ok, square=False),
)


# -- special functions, often at the edges of their domains ------------------------------------
# (name, arity, where the derivative is defined with a margin, the edge values drawn for a new input)


def _uniform(lo, hi):
    return lambda rng, shape: np.round(rng.uniform(lo, hi, shape), 4)


_SPECIAL = {
    "erf": (1, None, _uniform(-6, 6)),
    "erfc": (1, None, _uniform(-3, 9)),
    "erfcx": (1, lambda a: bool(np.all(a > -2)), _uniform(-2, 30)),
    "expit": (1, None, _uniform(-40, 40)),
    "logit": (1, lambda a: bool(np.all((a > 1e-4) & (a < 1 - 1e-4))), _uniform(1e-4, 1e-2)),
    "ndtr": (1, None, _uniform(-9, 9)),
    "log_ndtr": (1, None, _uniform(-40, 6)),
    "ndtri": (1, lambda a: bool(np.all((a > 1e-4) & (a < 1 - 1e-4))), _uniform(1e-4, 1 - 1e-4)),
    "i0": (1, lambda a: bool(np.all(np.abs(a) < 6)), _uniform(-1e-3, 1e-3)),
    "i1": (1, lambda a: bool(np.all(np.abs(a) < 6)), _uniform(-1e-3, 1e-3)),
    # exp(-|x|) I(x): a kink at 0 (the second order jumps there)
    "i0e": (1, lambda a: bool(np.all(np.abs(a) > MARGIN)), _uniform(-200, 200)),
    "i1e": (1, lambda a: bool(np.all(np.abs(a) > MARGIN)), _uniform(0.02, 0.2)),
    "gammaln": (1, lambda a: bool(np.all(a > 0.05)), _uniform(0.05, 100)),
    "digamma": (1, lambda a: bool(np.all(a > 0.05)), _uniform(0.05, 100)),
    "entr": (1, lambda a: bool(np.all(a > 0.01)), _uniform(0.01, 20)),
    "sinc": (1, None, _uniform(-1e-3, 1e-3)),
    "xlogy": (2, lambda a, b: bool(np.all(b > 0.05)), _uniform(0.05, 50)),
    "xlog1py": (2, lambda a, b: bool(np.all(b > -0.95)), _uniform(-0.95, 50)),
}


def _special(name):
    arity, ok, edge = _SPECIAL[name]

    def op(g):
        if g.is_complex:
            return None
        shape = g.rand_shape()
        edge_input = g.rng.random() < 0.5
        args = [g.pick(g.floats("real"))] * arity
        if arity == 2 and args[0] is not None:
            args[1] = g.operand(g.shape(args[0]), cplx=False)
        if edge_input or args[0] is None:
            kind = "leaf" if g.n_leaves() < 4 else "const"
            args[-1] = g.new_input(kind, shape, cplx=False, value=edge(g.rng, shape))
            if arity == 2:
                args[0] = g.operand(shape, cplx=False)
        vals = np.broadcast_arrays(*(g.val(a) for a in args))
        if ok is not None and not ok(*vals):
            return None
        code = f"{(o := g.name('v'))} = xp.special.{name}({', '.join(args)})"
        return g.emit(code, f"special.{name}", defines=o, uses=tuple(args))

    return op


for _n in _SPECIAL:
    _reg(f"special.{_n}", 0.3, _special(_n))


def _solve(g):
    a = _square(g)
    if not _cond_ok(g.val(a)):
        return None
    n = g.shape(a)[0]
    b = g.operand((n, int(g.rng.integers(1, 3))) if g.rng.random() < 0.5 else (n, 1), cplx=g.cplx(a) or None)
    if len(g.shape(b)) != 2 or g.shape(b)[0] != n:
        return None
    if g.cplx(b) and not g.cplx(a):
        return None
    return g.emit(f"{(o := g.name('v'))} = xp.linalg.solve({a}, {b})", "linalg.solve", defines=o, uses=(a, b))


def _matmul(g):
    a = g.pick(g.floats(rank=(1, 2)))
    if a is None:
        return None
    k = g.shape(a)[-1]
    bshape = (k,) if g.rng.random() < 0.3 else (k, int(g.rng.integers(1, 4)))
    cands = [v for v in g.floats(rank=len(bshape)) if g.shape(v)[0] == k]
    b = (
        g.pick(cands)
        if cands and g.rng.random() < 0.5
        else g.new_input("leaf" if g.n_leaves() < 4 else "const", bshape)
    )
    if g.cplx(a) != g.cplx(b):
        return None
    return g.emit(f"{(o := g.name('v'))} = {a} @ {b}", "matmul", defines=o, uses=(a, b))


def _vecdot(g):
    a = g.pick(g.floats(rank=(1, 2)))
    if a is None:
        return None
    b = g.operand(g.shape(a)[-1:], cplx=g.cplx(a))
    return g.emit(
        f"{(o := g.name('v'))} = xp.linalg.vecdot({a}, {b})", "linalg.vecdot", defines=o, uses=(a, b)
    )


_reg("linalg.solve", 0.5, _solve)
_reg("matmul", 1.0, _matmul)
_reg("linalg.vecdot", 0.3, _vecdot)


# -- fft -----------------------------------------------------------------------------------------


def _fft(name, tmpl, kind):
    def op(g):
        a = g.pick(g.floats(kind, rank=(1, 2)))
        if a is None:
            return None
        norm = str(g.rng.choice(["backward", "ortho", "forward"]))
        extra = "" if norm == "backward" else f", norm={norm!r}"
        return g.emit(f"{(o := g.name('v'))} = {tmpl.format(a=a)}{extra})", name, defines=o, uses=(a,))

    return op


_reg("fft.fft", 0.5, _fft("fft.fft", "xp.fft.fft({a}", "complex"))
_reg("fft.ifft", 0.3, _fft("fft.ifft", "xp.fft.ifft({a}", "complex"))
_reg("fft.rfft", 0.5, _fft("fft.rfft", "xp.fft.rfft({a}", "real"))
_reg("fft.irfft", 0.3, _fft("fft.irfft", "xp.fft.irfft({a}", "complex"))


# -- manipulation ---------------------------------------------------------------------------------


def _reshape(g):
    a = g.pick(g.floats(rank=(1, 2)))
    if a is None:
        return None
    s = g.shape(a)
    new = (-1,) if len(s) == 2 or g.rng.random() < 0.5 else (1, s[0])
    return g.emit(f"{(o := g.name('v'))} = xp.reshape({a}, {new})", "reshape", defines=o, uses=(a,))


def _simple(name, tmpl, rank):
    def op(g):
        a = g.pick(g.floats(rank=rank))
        if a is None:
            return None
        return g.emit(f"{(o := g.name('v'))} = {tmpl.format(a=a)}", name, defines=o, uses=(a,))

    return op


def _concat(g):
    a = g.pick(g.floats(rank=(1, 2)))
    if a is None:
        return None
    s = g.shape(a)
    b = g.operand((int(g.rng.integers(1, 3)),) + s[1:], cplx=g.cplx(a))
    if g.shape(b)[1:] != s[1:] or len(g.shape(b)) != len(s):
        return None
    fn = "concat" if g.rng.random() < 0.6 else "stack"
    if fn == "stack":
        b = g.operand(s, cplx=g.cplx(a))
        if g.shape(b) != s:
            return None
    return g.emit(f"{(o := g.name('v'))} = xp.{fn}([{a}, {b}], axis=0)", fn, defines=o, uses=(a, b))


def _broadcast(g):
    a = g.pick(g.floats(rank=(0, 1, 2)))
    if a is None:
        return None
    s = g.shape(a)
    if g.rng.random() < 0.5:
        code = f"{(o := g.name('v'))} = xp.broadcast_to({a}, {(2,) + s})"
        out = g.emit(code, "broadcast_to", defines=o, uses=(a,))
    else:
        b = g.operand(s)
        code = f"{(o := g.name('v'))} = xp.broadcast_arrays({a}, {b})[0]"
        out = g.emit(code, "broadcast_arrays", defines=o, uses=(a, b))
    if g.shape(out) != s:  # an expanded view: writing into it is undefined (NumPy: read-only)
        g.readonly.add(out)
    return out


def _astype(g):
    if not g.is_complex:
        return None
    a = g.pick(g.floats("real"))
    if a is None:
        return None
    return g.emit(f"{(o := g.name('v'))} = xp.astype({a}, xp.{g.dtype})", "astype", defines=o, uses=(a,))


_reg("reshape", 0.6, _reshape)
_reg("permute_dims", 0.3, _simple("permute_dims", "xp.permute_dims({a}, (1, 0))", 2))
_reg("flip", 0.3, _simple("flip", "xp.flip({a}, axis=0)", (1, 2)))
_reg("expand_dims", 0.3, _simple("expand_dims", "xp.expand_dims({a}, axis=0)", (0, 1, 2)))
_reg("concat", 0.5, _concat)
_reg("broadcast", 0.4, _broadcast)
_reg("astype", 0.4, _astype)


# -- indexing ---------------------------------------------------------------------------------


def _getitem_op(expr, sel):
    """ "getitem_scalar" for integers only selecting one element (NumPy gives a scalar, no view)."""
    return "getitem_scalar" if sel == () and "..." not in expr and ":" not in expr else "getitem"


def _getitem(g):
    a = g.pick(g.floats())
    if a is None:
        return None
    expr, sel = g.index_expr(g.shape(a))
    out = g.emit(f"{(o := g.name('v'))} = {a}[{expr}]", _getitem_op(expr, sel), defines=o, uses=(a,))
    if a in g.readonly:
        g.readonly.add(out)
    return out


def _index_input(g, n, unique):
    k = int(g.rng.integers(1, n + 1 if unique else 4))
    value = g.rng.permutation(n)[:k] if unique else g.rng.integers(0, n, size=k)
    return g.new_input("index", (k,), value=np.asarray(value, dtype=np.int64))


def _take(g):
    a = g.pick(g.floats(rank=(1, 2)))
    if a is None:
        return None
    axis = int(g.rng.integers(0, len(g.shape(a))))
    i = _index_input(g, g.shape(a)[axis], unique=False)
    g.used_index.add(i)
    if axis == 0 and len(g.shape(a)) == 1 and g.rng.random() < 0.5:
        out = g.emit(f"{(o := g.name('v'))} = {a}[{i}]", "getitem_int_array", defines=o, uses=(a, i))
    else:
        out = g.emit(f"{(o := g.name('v'))} = xp.take({a}, {i}, axis={axis})", "take", defines=o, uses=(a, i))
    _maybe_mutate(g, i)
    return out


def _getitem_mask(g):
    a = g.pick(g.floats(rank=(1, 2)))
    if a is None:
        return None
    m = _mask_for(g, g.shape(a))
    g.used_index.add(m)
    out = g.emit(f"{(o := g.name('v'))} = {a}[{m}]", "getitem_mask", defines=o, uses=(a, m))
    _maybe_mutate(g, m)
    return out


_reg("getitem", 1.2, _getitem)
_reg("take", 0.6, _take)
_reg("getitem_mask", 0.5, _getitem_mask)


# -- in place ------------------------------------------------------------------------------------


def _target(g, rank=None):
    """A variable to modify in place: usually an intermediate, sometimes a constant input, rarely a leaf."""
    r = g.rng.random()
    inputs = {i.name: i.kind for i in g.inputs}
    if r < 0.04:
        cands = [v for v in g.floats(rank=rank, exclude=g.readonly) if inputs.get(v) == "leaf"]
    elif r < 0.15:
        cands = [v for v in g.floats(rank=rank, exclude=g.readonly) if inputs.get(v) == "const"]
    else:
        cands = [v for v in g.floats(rank=rank, exclude=g.readonly) if v not in inputs]
    return g.pick(cands)


def _value_for(g, t, shape):
    """A value to write into ``t``: a Python float, a 0-d or broadcastable variable of a kind ``t`` holds."""
    if g.rng.random() < 0.25:
        return "0.5"
    cplx = None if g.cplx(t) else False
    if g.rng.random() < 0.3:
        return g.operand((), cplx=cplx)
    return g.operand(shape, cplx=cplx)


def _setitem(g):
    t = _target(g)
    if t is None:
        return None
    expr, sel = g.index_expr(g.shape(t), setitem=True)
    v = _value_for(g, t, sel)
    uses = (t,) if v == "0.5" else (t, v)
    op = "setitem_ellipsis" if expr == "..." else "setitem_newaxis" if "None" in expr else "setitem"
    return g.emit(f"{t}[{expr}] = {v}", op, mutates=t, uses=uses)


def _setitem_index(g):
    t = _target(g, rank=(1, 2))
    if t is None:
        return None
    if g.fancy_setitem and g.rng.random() < 0.5:
        i = _index_input(g, g.shape(t)[0], unique=True)
        sel = (g.shape(i)[0],) + g.shape(t)[1:]
        op = "setitem_int_array"
    else:
        i = _mask_for(g, g.shape(t))
        sel = (int(g.env[i].sum()),)
        op = "setitem_mask"
    g.used_index.add(i)
    v = "0.5" if g.rng.random() < 0.3 else g.operand((), cplx=None if g.cplx(t) else False)
    if op == "setitem_int_array" and v != "0.5" and g.rng.random() < 0.5:
        v = g.operand(sel, cplx=None if g.cplx(t) else False)
    uses = (t, i) if v == "0.5" else (t, i, v)
    out = g.emit(f"{t}[{i}] = {v}", op, mutates=t, uses=uses)
    _maybe_mutate(g, i)
    return out


def _inplace(g):
    t = _target(g)
    if t is None:
        return None
    sym = str(g.rng.choice(["+=", "-=", "*=", "/="]))
    v = _value_for(g, t, g.shape(t))
    if sym == "/=" and (v == "0.5" or not np.all(np.abs(g.val(v)) > 0.2)):
        sym = "*="
    opname = {"+=": "iadd", "-=": "isub", "*=": "imul", "/=": "idiv"}[sym]
    uses = (t,) if v == "0.5" else (t, v)
    return g.emit(f"{t} {sym} {v}", opname, mutates=t, uses=uses)


def _view_then_inplace(g):
    """A view of an intermediate, then an in-place change of the view or of its base."""
    a = g.pick([v for v in g.floats(rank=(1, 2), exclude=g.readonly) if v not in {i.name for i in g.inputs}])
    if a is None:
        return None
    expr, sel = g.index_expr(g.shape(a))
    view = g.emit(f"{(o := g.name('v'))} = {a}[{expr}]", _getitem_op(expr, sel), defines=o, uses=(a,))
    t, shape = (view, sel) if g.rng.random() < 0.5 and "None" not in expr else (a, g.shape(a))
    v = _value_for(g, t, shape)
    sym = str(g.rng.choice(["+=", "*="]))
    uses = (t,) if v == "0.5" else (t, v)
    return g.emit(f"{t} {sym} {v}", "iadd" if sym == "+=" else "imul", mutates=t, uses=uses)


def _maybe_mutate(g, i, p=0.3):
    """Sometimes change index array or mask ``i`` right after its use."""
    if g.rng.random() < p:
        _mutate_index(g, i)


def _mutate_index(g, i=None):
    """Change an index array or mask after an op used it (torch raises where it saved it)."""
    if i is None:
        i = g.pick(sorted(i for i in g.used_index if g.env[i].ndim >= 1 and g.env[i].numel() > 0))
    elif g.env[i].ndim == 0 or g.env[i].numel() == 0:
        return None
    if i is None:
        return None
    t = g.env[i]
    pos = ", ".join("0" for _ in range(t.ndim))
    if t.dtype == __import__("torch").bool:
        new = "False" if bool(t[(0,) * t.ndim]) else "True"
        op = "mutate_mask"
    else:
        vals = set(int(x) for x in t.tolist())
        # keep an index valid (and unique if it was): any value seen, shifted within range.
        hi = max(vals) + 1
        free = [k for k in range(hi) if k not in vals]
        new = str(free[0] if free else (int(t[0]) + 1) % hi)
        op = "mutate_index"
    return g.emit(f"{i}[{pos}] = {new}", op, mutates=i, uses=(i,))


_reg("setitem", 1.0, _setitem)
_reg("setitem_index", 0.6, _setitem_index)
_reg("inplace", 1.0, _inplace)
_reg("view_inplace", 0.7, _view_then_inplace)
_reg("mutate_index", 0.5, _mutate_index)


# -- programs -------------------------------------------------------------------------------


def _try(seed: int, dtype: str | None, max_stmts: int, fancy_setitem: bool) -> Program:
    rng = np.random.default_rng(seed)
    dtype = dtype or str(rng.choice(DTYPES))
    g = _Gen(rng, dtype)
    g.fancy_setitem = fancy_setitem
    for _ in range(int(rng.integers(1, 3))):
        g.new_input("leaf", g.rand_shape())
    names = list(OPS)
    w = np.array([OPS[n][0] for n in names])
    w = w / w.sum()
    n_stmts = int(rng.integers(2, max_stmts + 1))
    tries = 0
    while len(g.stmts) < n_stmts and tries < 6 * max_stmts:
        tries += 1
        name = names[int(rng.choice(len(names), p=w))]
        OPS[name][1](g)
    inputs = {i.name for i in g.inputs}
    results = [v for v in g.vars if v not in inputs] or list(g.vars)
    used = set()
    for s in g.stmts:
        used.update(s.uses)
    sinks = [v for v in results if v not in used]
    outs = list(dict.fromkeys(sinks[-2:] + [g.pick(results) for _ in range(int(rng.integers(0, 2)))]))
    outs = outs or [results[-1]]
    return Program(dtype, tuple(g.inputs), tuple(g.stmts), tuple(outs), seed)


def generate(seed: int, dtype: str | None = None, max_stmts: int = 10, fancy_setitem: bool = True) -> Program:
    """The program of ``seed`` (the same on every machine and run); ``dtype`` defaults to a
    random one of :data:`DTYPES`. Index forms are those the standard specifies, plus
    ``x[index_array] = value`` where ``fancy_setitem`` (not on array-api-strict)."""
    for attempt in range(50):
        try:
            return _try(seed * 64 + attempt if attempt else seed, dtype, max_stmts, fancy_setitem)
        except GenFail:
            continue
    raise RuntimeError(f"generate(): no well-defined program for seed {seed} in 50 attempts")
