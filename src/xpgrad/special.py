"""``xp.special``: differentiable special functions on every backend.

The namespace holds the functions of SciPy's array API dispatch list (``scipy.special`` finds
them as ``xp.special.<name>``, see docs/works-with.md) and torch.special's own (``polygamma``,
``zeta``, ``multigammaln``, ``sinc``, ``softmax``, ``log_softmax``, ``logsumexp``,
``spherical_bessel_j0`` and torch's names of the Bessel functions).

Forward values come from the backend's own special functions (``scipy.special`` on NumPy and on
each Dask block, ``torch.special``, ``jax.scipy.special``, ``cupyx.scipy.special``; where
``_special_libs.special_library`` says where). A function the backend lacks is composed from the
standard's functions when that is simple and accurate (``expit``, ``xlogy``, ``huber``, ...),
and otherwise computed by SciPy on a NumPy copy (array-api-strict, or torch for the functions
torch.special does not have). SciPy is optional: without it, a function that needs it raises
an ``ImportError`` saying what to install.

Each function is one row of ``TABLE`` (``_special_table.py``, the table apart from this
machinery): its parameters, one derivative per parameter (a VJP ``vjp(xp, g, <names>)`` as the
derivative table's, calling special functions through ``special_of(xp)``), and a summary. Each
row becomes a derivative-table entry (``_optable.op``; one per public name,
torch's aliases included, a module attribute listed in ``__all__``) whose forward on raw arrays
calls the backend's function, with ``jvp=ELEMENTWISE`` (every derivative is ``g`` times a real
factor); ``_optable.install`` makes them methods of ``SpecialNamespace``, behind one step that
binds SciPy-style arguments (``_bind``). A parameter without a derivative (integer orders, the
shape parameter of the incomplete gamma function, as in torch) raises ``NotImplementedError``
naming the function and the parameter when a gradient or a tangent reaches it. Only real
floating-point values are differentiable (SciPy's complex variants are not part of the
namespace).

At the edges of the domains (docs/special-edges.md, checked against mpmath by
tests/test_special_edges.py) every function follows the same conventions, applied once by
``_guarded`` and ``_raw_function`` rather than per formula: where the value is nan the
derivative is nan; float32 arguments are computed in float64 where the backend has it and
rounded once; the limits a formula cannot reach (``0 * inf``, ``inf - inf``) are data of the
table (``at=``). Formulas that cancel or overflow use Taylor polynomials near removable
singularities and asymptotic series in the tails (``_special_table.py``).
"""

from __future__ import annotations

import functools
import inspect
import math
import operator
import sys
import types

from . import _backends, _special_libs, _special_table
from ._optable import ELEMENTWISE, install, op
from ._special_table import ALIASES, FUNCTIONS, TABLE, _fill
from ._tensor import Tensor

__all__ = ["SpecialNamespace", "FUNCTIONS", "ALIASES", "special_of"]


# --------------------------------------------------------------------------------------------
# Raw special functions of one backend (forward values; used by the entries' forwards and by
# VJPs in a plain backward).


class _RawSpecial:
    """``special_of(raw_xp)``: the special functions of one backend on its raw arrays."""

    def __init__(self, backend):
        self.backend = backend
        self._lib = _special_libs.special_library(backend)

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        fn = TABLE.get(ALIASES.get(name, name))
        if fn is None:
            raise AttributeError(f"special has no function {name!r}")
        f = _raw_function(self, fn)
        setattr(self, name, f)
        return f


_RAW: dict[int, tuple[object, _RawSpecial]] = {}


def special_of(xp):
    """The special functions to use with namespace ``xp`` inside a VJP: ``xp.special`` on an
    xpgrad namespace (differentiable, for ``create_graph``), the raw ones on a backend's."""
    sp = getattr(xp, "special", None)
    if isinstance(sp, SpecialNamespace):
        return sp
    hit = _RAW.get(id(xp))
    if hit is not None and hit[0] is xp:
        return hit[1]
    raw = _RawSpecial(_backends.resolve(xp))
    _RAW[id(xp)] = (xp, raw)
    return raw


def _missing_scipy(name, backend):
    return ImportError(
        f"special.{name}() on the {backend.name} backend needs SciPy (scipy.special computes "
        "it); install it with `pip install scipy`"
    )


def _host_for(raw, fn):
    """SciPy's function on a NumPy copy (None when SciPy is missing)."""
    try:
        import scipy.special as sps
    except ImportError:
        return None
    if fn.name == "spherical_bessel_j0":
        return lambda x: sps.spherical_jn(0, x)
    if fn.name == "zeta":
        return lambda x, q: sps.zeta(x, q)
    return getattr(sps, fn.name)


def _raw_function(raw, fn):
    """``special_of(raw_xp).<fn.name>``: the backend's function (``fn.generic``, SciPy's on a
    NumPy copy), without NumPy's warnings (SciPy's special functions give inf/nan at their
    edges silently, as torch's do). Single-precision arguments are computed in double
    precision where the backend has it and the result rounded once: the libraries' own
    single-precision loops are less accurate (SciPy's Boost ``betainc``: 1e-5 relative;
    torch's Bessel functions at large arguments: 1e-4) or deprecated (SciPy's loops taking
    integer orders as floats), and every backend then gives the same values."""
    backend = raw.backend
    xp = backend.xp
    native = None if fn.own else raw._lib.native(fn.name)
    host = None
    dask = raw._lib.blockwise
    values = [(p, v) for p, (v, _) in fn.at.items() if v is not None]

    def call(*args, public=None):
        args, dtype = _arrays(backend, fn, args, public)
        # (chunked arrays: in each block, where the cast to float32 is quiet too)
        wide = _float64_for(xp) if dtype == xp.float32 and not (dask or fn.single) else None
        if wide is not None:
            args = [_widen(xp, a, wide) for a in args]
        with backend.quiet():
            out = compute(args, wide or dtype)
            if dtype is not None and out.dtype != dtype:
                out = xp.astype(out, dtype)
            for point, value in values:  # the table's value where the library's is not the limit
                out = xp.where(args[0] == point, xp.full_like(out, value), out)
        return out

    def compute(args, dtype):
        out = None
        if native is not None:
            if dask:
                out = _special_libs.map_blocks(backend, _in_double(native), *args, dtype=dtype)
            else:
                out = native(*args)
        if out is None and fn.generic is not None:
            out = fn.generic(xp, *args)
        if out is None:
            nonlocal host
            if host is None:
                host = _host_for(raw, fn)
                if host is None:
                    raise _missing_scipy(fn.name, backend)
            if dask:
                out = _special_libs.map_blocks(backend, _in_double(host), *args, dtype=dtype)
            else:
                hargs = [_special_libs.to_host(backend, a) if backend.is_native(a) else a for a in args]
                out = _special_libs.from_host(backend, host(*hargs), _device_of(backend, args))
        return backend.ensure(out)

    call.__name__ = fn.name
    return call


def _in_double(f):
    """``f`` on NumPy blocks, float32 ones computed in float64 and rounded once (quietly:
    beyond float32's range the rounded value is inf)."""

    def call(*args):
        import numpy

        if not any(getattr(a, "dtype", None) == numpy.float32 for a in args):
            return f(*args)
        out = f(*(a.astype(numpy.float64) if getattr(a, "dtype", None) == numpy.float32 else a for a in args))
        if any(getattr(a, "dtype", None) == numpy.float64 for a in args):
            return out
        with numpy.errstate(over="ignore"):
            return numpy.asarray(out).astype(numpy.float32)

    return call


def _arrays(backend, fn, args, public=None):
    """``(args, dtype)``: the arguments of a call of ``special.<public>`` checked (arrays of a
    real dtype or real Python numbers), Python numbers as arrays of the floating dtype of the
    call (integers for integer parameters stay Python integers), and that dtype."""
    xp = backend.xp
    dtype = None
    numbers = False
    for i, a in enumerate(args):
        if backend.is_native(a):
            kind = _dtype_kind(backend, a.dtype)
            if kind == "complex":
                raise TypeError(
                    f"special.{public or fn.name}(): argument '{fn.params[i]}' must have a real-valued "
                    f"dtype, got {a.dtype}"
                )
            if kind == "real" and fn.params[i] not in fn.ints:
                dtype = a.dtype if dtype is None or dtype == a.dtype else xp.result_type(dtype, a.dtype)
        elif isinstance(a, (int, float)) and not isinstance(a, bool):
            numbers = True
        elif a is not None:
            raise TypeError(
                f"special.{public or fn.name}(): argument '{fn.params[i]}' must be an array or a real "
                f"Python number, got {type(a).__name__}"
            )
    if dtype is None or numbers:
        device = _device_of(backend, args)
        if dtype is None:
            dtype = xp.asarray(0.0, device=device).dtype
    if numbers:
        args = [
            a
            if a is None or backend.is_native(a) or (isinstance(a, int) and fn.params[i] in fn.ints)
            else xp.asarray(a, dtype=dtype, device=device)
            for i, a in enumerate(args)
        ]
    return args, dtype


def _device_of(backend, args):
    return next((backend.device(a) for a in args if backend.is_native(a)), None)


_DTYPE_KINDS: dict = {}


def _dtype_kind(backend, dtype):
    """ "real", "complex" or "other" (cached: ``isdtype`` is slow on some backends)."""
    key = (backend.name, dtype)
    kind = _DTYPE_KINDS.get(key)
    if kind is None:
        xp = backend.xp
        kind = _DTYPE_KINDS[key] = (
            "real"
            if xp.isdtype(dtype, "real floating")
            else "complex"
            if xp.isdtype(dtype, "complex floating")
            else "other"
        )
    return kind


# --------------------------------------------------------------------------------------------
# The derivative table's entries: one ``Op`` per public name, built from ``TABLE`` (the table
# is compact data; each entry is what ``@op`` would make of a hand-written forward).


def _missing_derivative(public, param, reason):
    """The VJP of a parameter without a derivative: raises when a gradient (or, in forward
    mode, a tangent) reaches it."""

    def vjp(xp, g):
        raise NotImplementedError(
            f"the derivative of special.{public} with respect to {param} is not implemented ({reason})"
        )

    vjp.__name__ = f"{public}_{param}_not_implemented"
    return vjp


# Deviations from torch (docs/deviations.md), by SciPy name.
_NO_TORCH_GRAD = (
    "torch.special's {} has no derivative (its result silently does not require grad); here it is "
    "differentiable (docs/deviations.md)."
)
_DEVIATIONS = {
    **{
        n: _NO_TORCH_GRAD.format(t)
        for n, t in (
            ("j0", "bessel_j0"),
            ("j1", "bessel_j1"),
            ("y0", "bessel_y0"),
            ("y1", "bessel_y1"),
            ("k0", "modified_bessel_k0"),
            ("k1", "modified_bessel_k1"),
            ("k0e", "scaled_modified_bessel_k0"),
            ("k1e", "scaled_modified_bessel_k1"),
            ("spherical_bessel_j0", "spherical_bessel_j0"),
        )
    },
    "sinc": "the second derivative at 0 is -pi**2/3 (the Taylor polynomial fills the removable "
    "singularity), where torch gives nan (docs/deviations.md).",
    **{
        n: f"{what}, where torch's is not (docs/special-edges.md)."
        for n, what in (
            ("ndtr", "the value in the lower tail (torch's is 0 below -8)"),
            ("polygamma", "+-inf or nan at the poles, and 1e-16 relative for order 1"),
            ("log_ndtr", "mpmath's derivative in the far tail (torch's cancels)"),
            ("expit", "the derivative for x > 37 (torch's is 0)"),
            ("i1", "the derivative where i0 and i1 overflow (torch's is inf - inf)"),
            ("erfcx", "the derivative for large x (torch's cancels)"),
            ("i0e", "the derivative for large |x| (torch's cancels)"),
            ("i1e", "the derivative for large |x| (torch's cancels)"),
        )
    },
}
_ALIAS_DEVIATIONS = {"modified_bessel_i0": "modified_bessel_i0", "modified_bessel_i1": "modified_bessel_i1"}


def _doc(fn, public):
    alias = f" torch.special's name of ``{fn.name}``." if public != fn.name else ""
    grads = "; ".join(
        f"``{p}``: not differentiable ({d}): a gradient or tangent reaching it raises NotImplementedError"
        if isinstance(d, str)
        else f"``{p}``: differentiable"
        for p, d in zip(fn.params, fn.grads)
    )
    if public in _ALIAS_DEVIATIONS:
        dev = _NO_TORCH_GRAD.format(_ALIAS_DEVIATIONS[public])
    else:
        dev = _DEVIATIONS.get(fn.name, "none.")
    points = "".join(
        f" At {fn.params[0]} = {p}: " + ("" if v is None else f"value {v}, ") + f"derivative {d} (the limit)."
        for p, (v, d) in fn.at.items()
    )
    source = (
        "computed by xpgrad's own composition on every backend, more accurate than the libraries'"
        if fn.own
        else "computed by the backend's own special functions where it has them"
    )
    return (
        f"{fn.doc}{alias}\n\n"
        f"Same values as ``scipy.special.{fn.name}`` ({source}; real floating-point arguments).\n\n"
        f"Gradient: {grads}. Forward mode: the same derivatives times the tangents, summed over the "
        f"inputs (elementwise).\n\nAt the edges (docs/special-edges.md): where the value is nan, so "
        f"is the derivative; float32 is computed in float64 where the backend has it.{points}\n\n"
        f"Deviations from torch: {dev}"
    )


def _forward(fn, public):
    """The forward on raw arrays of ``special.<public>``, with the signature ``(xp, <params>)``.

    It returns the value and what the derivatives need of the forward (``_aux_names``), computed
    now rather than read from the result at backward: so the node saves what torch's saves (the
    arguments and the result its formula names), and an in-place change of the result raises
    only where torch's does."""
    names = _aux_names(fn)

    def forward(xp, *args):
        if fn.name == "zeta" and args[1] is None:
            args = (args[0], 1.0)  # the Riemann zeta function is the Hurwitz one at q = 1
        sp = special_of(xp)
        aux = {}
        wide = None
        if "out_fix" in names or fn.at:
            backend = sp.backend
            args, dtype = _arrays(backend, fn, list(args), public)
            if "out_fix" in names and dtype == xp.float32:
                wide = _float64_for(xp)
        if wide is None:
            out = getattr(sp, fn.name)(*args, public=public)
            if "out_fix" in names:
                aux["out_fix"] = None
        else:
            # The value in float64 and its difference from the rounded result (0 where that is
            # +-inf): the derivative formula gets the float64 value with the saved result's graph.
            out64 = getattr(sp, fn.name)(*(_widen(xp, a, wide) for a in args), public=public)
            with backend.quiet():
                out = xp.astype(out64, xp.float32)
                o = xp.astype(out, wide)
                fix = xp.where((out64 == o) | xp.isinf(o), xp.zeros_like(o), out64 - o)
            aux["out_fix"] = (out64, fix)
        aux["nan"] = xp.isnan(out)
        if fn.at:
            x = args[0]
            aux["at_points"] = tuple(x == point for point in fn.at)
        return out, aux

    kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
    forward.__signature__ = inspect.Signature(
        [inspect.Parameter("xp", inspect.Parameter.POSITIONAL_ONLY)]
        + [inspect.Parameter(p, kind, default=fn.defaults.get(p, inspect.Parameter.empty)) for p in fn.params]
    )
    forward.__name__ = forward.__qualname__ = public
    forward.__doc__ = _doc(fn, public)
    return forward


# -- the edge conventions of every derivative, decided once (docs/special-edges.md) -------------

_FLOAT64: dict[int, tuple] = {}


def _float64_for(xp):
    """``xp.float64`` where namespace ``xp`` (a backend's or xpgrad's) has it (JAX has it only
    with x64 enabled), else None."""
    hit = _FLOAT64.get(id(xp))
    if hit is not None and hit[0] is xp:
        return hit[1]
    info = getattr(xp, "__array_namespace_info__", None)
    has = info is not None and "float64" in info().dtypes(kind="real floating")
    _FLOAT64[id(xp)] = (xp, xp.float64 if has else None)
    return _FLOAT64[id(xp)][1]


def _widen(xp, a, wide):
    return xp.astype(a, wide) if getattr(a, "dtype", None) == xp.float32 else a


def _vjp_names(vjp):
    return tuple(inspect.signature(vjp).parameters)[2:]


def _aux_names(fn):
    """What the forward of ``fn`` computes for its derivatives (``_guarded``): ``nan``, where the
    value is nan; ``at_points``, where the first argument is one of ``fn.at``'s points;
    ``out_fix``, for float32 results whose derivative formula takes ``out``, the float64 value and
    its difference from the rounded one (None otherwise)."""
    formulas = [d for d in fn.grads if not isinstance(d, str)]
    names = ["nan"]
    if fn.at:
        names.append("at_points")
    if not fn.single and any("out" in _vjp_names(d) for d in formulas):
        names.append("out_fix")
    return tuple(names)


def _guarded(fn, vjp):
    """The derivative ``vjp`` of ``fn``, with the conventions every special function shares:

    - *nan value, nan derivative*: where the value is nan (a nan argument, or a point outside
      the domain, ``logit(1.5)``), so is the derivative, whatever the formula gives there: a
      finite derivative of a nan value is a silent wrong number. The derivative is multiplied
      by nan there (not replaced by a constant), so higher orders and tangents are nan too.
    - *float32 computed in float64* (where the namespace has float64): the formulas
      (densities ``exp(log terms)``, differences of scaled Bessel functions) lose digits in
      float32, up to 1e-3 relative; in float64 they are rounded once. A formula taking
      ``out`` gets its float64 value (a rounded ``out`` would carry float32's error).
    - ``fn.at``: the table's derivatives at the points where the formula gives none (the
      limits at +-inf, the end of a domain).

    What these need besides the formula's own names is computed by the forward (``_forward``,
    the op's ``aux``): the nan mask, the masks of ``fn.at``'s points and the float64 value's
    correction, never the saved result or arguments, so the node saves exactly what the formula
    names, as torch's does (an in-place change of the result raises only where the formula
    uses it).
    """
    names = _vjp_names(vjp)
    aux = _aux_names(fn)
    need = list(names) + [n for n in aux if n not in names]
    at = tuple(d for _, d in fn.at.values())

    def guarded(xp, g, **kw):
        wide = _float64_for(xp) if g.dtype == xp.float32 and not fn.single else None
        if wide is None:
            r = vjp(xp, g, **{n: kw[n] for n in names})
        else:
            args = {n: _widen(xp, kw[n], wide) for n in names}
            fix = kw.get("out_fix")
            if "out" in names and fix is not None:  # float64 value; past float32's range, out64
                o = args["out"]
                args["out"] = xp.where(xp.isinf(o), fix[0], o + fix[1])
            r = xp.astype(vjp(xp, _widen(xp, g, wide), **args), xp.float32)
        # Under create_graph, constant factors: not where(m, g * d, r) (with d = inf, its
        # derivative in g elsewhere is 0 * inf) nor where(nan, out, r) (a path through out
        # for every element).
        for m, d in zip(kw.get("at_points", ()), at):
            r = xp.where(m, g * xp.where(m, _fill(xp, r, d), xp.ones_like(r)), r)
        nan = kw["nan"]
        if not isinstance(getattr(xp, "special", None), SpecialNamespace):
            return xp.where(nan, _fill(xp, r, math.nan), r)  # raw arrays: no graph, the cheaper form
        return r * xp.where(nan, _fill(xp, r, math.nan), xp.ones_like(r))

    kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
    guarded.__signature__ = inspect.Signature([inspect.Parameter(n, kind) for n in ("xp", "g", *need)])
    guarded.__name__ = guarded.__qualname__ = getattr(vjp, "__name__", f"{fn.name}_vjp")
    return guarded


def _entry(fn, public):
    grads = {
        p: _missing_derivative(public, p, d) if isinstance(d, str) else _guarded(fn, d)
        for p, d in zip(fn.params, fn.grads)
    }
    return op(grads=grads, jvp=ELEMENTWISE, scalars=True, name=public, aux=_aux_names(fn))(
        _forward(fn, public)
    )


for _public in sorted(set(TABLE) | set(ALIASES)):
    globals()[_public] = _entry(TABLE[ALIASES.get(_public, _public)], _public)
__all__ += sorted(set(TABLE) | set(ALIASES))


def _bind(fn, public, ns, args, kwargs):
    """The arguments of a call of ``special.<public>``, in parameter order, as SciPy's ufuncs take
    them (by position or by name; each an array or a real Python number), with clear errors;
    Python numbers become arrays of the call's floating dtype (integer orders stay integers), so
    that the derivatives always see arrays."""
    q = f"special.{public}()"
    params = fn.params
    if len(args) > len(params):
        raise TypeError(f"{q} takes {len(params)} arguments, got {len(args)}")
    values = list(args)
    for p in params[len(values) :]:
        if p in kwargs:
            values.append(kwargs.pop(p))
        elif p in fn.defaults:
            values.append(fn.defaults[p])
        else:
            raise TypeError(f"{q} missing required argument '{p}'")
    if kwargs:
        raise TypeError(f"{q} got an unexpected keyword argument '{next(iter(kwargs))}'")
    native = ns.backend.is_native
    if all(type(v) is Tensor or v is None or native(v) for v in values):
        return values  # the forward checks the dtypes
    raw = _arrays(ns.backend, fn, [v._data if type(v) is Tensor else v for v in values], public)[0]
    return [v if type(v) is Tensor else r for v, r in zip(values, raw)]


def _with_scipy_arguments(method, fn, public):
    """The generated wrapper ``method`` of ``special.<public>``, called with the arguments
    :func:`_bind` makes of SciPy-style ones."""

    def call(self, *args, **kwargs):
        return method(self, *_bind(fn, public, self._root, args, kwargs))

    return functools.update_wrapper(call, method)


# --------------------------------------------------------------------------------------------
# The namespace.


def _in_float64(ns, x):
    """``(x, dtype)``: float32 Tensor ``x`` in float64 where the backend has it, and float32
    (the dtype to return); otherwise ``x`` and None."""
    if x.dtype == ns.float32 and _float64_for(ns) is not None:
        return ns.astype(x, ns.float64), ns.float32
    return x, None


def _axis_arg(fname, axis, dim):
    if dim is not None:
        if axis is not None:
            raise TypeError(f"special.{fname}(): pass 'axis' or its torch name 'dim', not both")
        return dim
    return axis


class SpecialNamespace(types.ModuleType):
    """Differentiable special functions over one backend (``xp.special``)."""

    def __init__(self, ns):
        super().__init__(f"{ns.__name__}.special")
        self._ns = self._root = ns  # _root: the namespace the generated wrappers run in
        self.__all__ = list(FUNCTIONS)
        self.__doc__ = (
            f"Differentiable special functions over {ns._xp.__name__} (xpgrad): SciPy's array API "
            "dispatch list and torch.special's functions."
        )

    def __repr__(self):
        return f"<namespace {self.__name__!r} (xpgrad special functions)>"

    def __reduce__(self):
        return (getattr, (self._ns, "special"))

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(FUNCTIONS))

    # -- composites: not table entries, as each is built from the namespace's own differentiable
    # functions (their VJPs and forward rules), so every order and forward mode come for free.

    def logsumexp(self, x, /, axis=None, *, keepdims=False, dim=None, keepdim=None):
        """logsumexp(x, axis=None, *, keepdims=False)

        ``log(sum(exp(x), axis))``, computed stably: the largest entry other than +inf is
        subtracted first (a constant of the computation, so the gradient is exactly
        ``softmax(x)``), float32 in float64 where the backend has it. ``axis``: an int, a tuple
        of ints or None (all axes); torch's ``dim``/``keepdim`` are accepted.

        Gradient: ``softmax(x)`` times ``g``; forward mode through the same composition. At
        the edges (docs/special-edges.md), torch's values: +inf in a slice gives +inf, with
        derivative nan for the +inf entries and 0 for the others; a slice of -inf gives -inf,
        with nan derivatives; nan gives nan. Deviations from torch: none.
        """
        ns = self._ns
        axis = _axis_arg("logsumexp", axis, dim)
        if keepdim is not None:
            keepdims = keepdim
        x = ns._tensor(x, "special.logsumexp")
        xw, dtype = _in_float64(ns, x)
        d = xw.detach()
        m = ns.max(ns.where(d == math.inf, ns.full_like(d, -math.inf), d), axis=axis, keepdims=True)
        m = ns.where(ns.isfinite(m), m, ns.zeros_like(m))
        s = ns.log(ns.sum(ns.exp(xw - m), axis=axis, keepdims=True)) + m
        if not keepdims:
            s = ns.squeeze(s, axis=_axes(axis, x.ndim))
        return s if dtype is None else ns.astype(s, dtype)

    def softmax(self, x, /, axis=None, *, dim=None):
        """softmax(x, axis=None)

        ``exp(x) / sum(exp(x), axis)`` (``axis=None``: over all elements, as SciPy; torch's
        ``dim`` is accepted), computed as ``exp(z) / sum(exp(z))``, ``z = x - max(x)``, float32
        in float64 where the backend has it.

        Gradient: that of the same composition; forward mode too. A slice holding +inf gives
        nan everywhere in it (value and derivative), as torch and SciPy do (the limit would
        not be a probability vector's derivative); a slice of -inf gives nan, as torch.
        Deviations from torch: none.
        """
        z, dtype = self._shifted(x, axis, dim, "special.softmax")
        e = self._ns.exp(z)
        out = e / self._ns.sum(e, axis=axis, keepdims=True)
        return out if dtype is None else self._ns.astype(out, dtype)

    def log_softmax(self, x, /, axis=None, *, dim=None):
        """log_softmax(x, axis=None)

        ``x - logsumexp(x, axis, keepdims=True)`` (``axis=None``: over all elements; torch's
        ``dim`` is accepted), computed as ``z - log(sum(exp(z)))``, ``z = x - max(x)``, float32
        in float64 where the backend has it (``x - logsumexp`` rounds the large ``logsumexp``
        first: up to 2.6e-5 off in float32).

        Gradient: ``g - softmax(x) * sum(g, axis)``; forward mode through the same composition.
        A slice holding +inf gives nan everywhere in it (value and derivative), as torch (SciPy
        gives ``[nan, -inf, ...]``); a slice of -inf gives nan, as torch. Deviations from torch:
        none.
        """
        ns = self._ns
        z, dtype = self._shifted(x, axis, dim, "special.log_softmax")
        out = z - ns.log(ns.sum(ns.exp(z), axis=axis, keepdims=True))
        return out if dtype is None else ns.astype(out, dtype)

    def _shifted(self, x, axis, dim, fname):
        """``(x - max(x, axis), dtype)``: the shift is a constant of the computation (+inf in a
        slice makes it nan there; a slice of -inf is shifted by 0), in float64 for float32
        ``x`` where the backend has it (``dtype``: the one to return, else None)."""
        ns = self._ns
        axis = _axis_arg(fname.split(".")[-1], axis, dim)
        xw, dtype = _in_float64(ns, ns._tensor(x, fname))
        m = ns.max(xw.detach(), axis=axis, keepdims=True)
        return xw - ns.where(m == -math.inf, ns.zeros_like(m), m), dtype

    def expm1(self, x, /):
        """expm1(x)

        ``exp(x) - 1`` (torch.special's name of the standard function ``expm1``).

        Gradient: that of ``expm1`` (its forward rule too). Deviations from torch: none."""
        return self._ns.expm1(x)

    def log1p(self, x, /):
        """log1p(x)

        ``log(1 + x)`` (torch.special's name of the standard function ``log1p``).

        Gradient: that of ``log1p`` (its forward rule too). Deviations from torch: none."""
        return self._ns.log1p(x)


def _install():
    """The entries as methods of SpecialNamespace, each behind :func:`_bind`."""
    install(SpecialNamespace, sys.modules[__name__], prefix="special.")
    for name in TABLE.keys() | ALIASES.keys():
        method = _with_scipy_arguments(getattr(SpecialNamespace, name), TABLE[ALIASES.get(name, name)], name)
        setattr(SpecialNamespace, name, method)


_install()


def _axes(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, tuple):
        return tuple(operator.index(a) % ndim for a in axis)
    return (operator.index(axis) % ndim,)


_special_table.UPPER.special_of = special_of  # the table's derivatives compute with these
