"""The transforms: ``vmap``, ``grad``, ``grad_and_value``, ``vjp``, ``jvp``, ``jacrev``,
``jacfwd``, ``hessian`` (torch.func's API and semantics).

``grad``/``vjp``/``jvp`` inside ``vmap``: the differentiated inputs are given every open vmap
level (an input not batched at a level is broadcast along it), so that one backward (or one
forward-mode pass) of the summed batch gives every sample's derivative.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

from .. import _forward
from .._autograd import grad as _autograd_grad
from .._grad_mode import enable_grad, is_grad_enabled
from .._tensor import Tensor
from ..forward_ad import dual_level, make_dual, unpack_dual
from ._batched import BatchedTensor, active_levels, new_level
from ._pytree import broadcast_prefix, tree_flatten, tree_unflatten

__all__ = ["grad", "grad_and_value", "hessian", "jacfwd", "jacrev", "jvp", "vjp", "vmap"]

_TLS = threading.local()


def _depth():
    return getattr(_TLS, "depth", 0)


class _Nested:
    def __enter__(self):
        _TLS.depth = _depth() + 1

    def __exit__(self, *exc):
        _TLS.depth = _depth() - 1


def _is_array(x):
    return isinstance(x, (Tensor, BatchedTensor))


# --------------------------------------------------------------------------------------------
# vmap


def vmap(func, in_dims=0, out_dims=0, randomness="error", *, chunk_size=None):
    """Vectorise ``func`` over a batch axis of its arguments (``torch.func.vmap``).

    ``in_dims``: an int (the batch axis of every argument), None (not batched), or a tuple with
    one entry per positional argument, each an int, None or a pytree matching that argument.
    ``out_dims`` likewise for the outputs. Keyword arguments are passed unbatched. Inside,
    ``func`` sees one sample: ``x.shape`` excludes the batch axis, and the namespace of its
    arguments (``x.__array_namespace__()``) applies each function's batching rule.
    ``randomness`` is accepted for torch.func's API ("error", "different", "same"); the array
    API has no random functions. ``chunk_size`` maps that many samples at a time.
    """
    if randomness not in ("error", "different", "same"):
        raise ValueError(f"vmap: randomness must be 'error', 'different' or 'same', got {randomness!r}")
    if chunk_size is not None and (not isinstance(chunk_size, int) or chunk_size < 1):
        raise ValueError(f"vmap: chunk_size must be None or a positive int, got {chunk_size!r}")
    if not callable(func):
        raise TypeError(f"vmap: func must be callable, got {type(func).__name__}")

    @functools.wraps(func)
    def wrapped(*args, **kwargs):
        return _vmap_call(func, in_dims, out_dims, chunk_size, args, kwargs)

    return wrapped


def _vmap_call(func, in_dims, out_dims, chunk_size, args, kwargs):
    if not args:
        raise ValueError("vmap: the function must be called with at least one positional argument")
    if isinstance(in_dims, list):
        in_dims = tuple(in_dims)
    if isinstance(in_dims, tuple) and len(in_dims) != len(args):
        raise ValueError(
            f"vmap: in_dims has {len(in_dims)} entries but the function was called with "
            f"{len(args)} positional arguments"
        )
    leaves, spec = tree_flatten(args)
    dims = broadcast_prefix(in_dims, args, "in_dims", "vmap")
    size = None
    for x, d in zip(leaves, dims):
        if d is None:
            continue
        if not _is_array(x):
            raise ValueError(
                f"vmap: in_dims is {d} for an argument of type {type(x).__name__}; only arrays "
                "can be mapped (use None for other arguments)"
            )
        nd = x.ndim
        if not -nd <= d < nd:
            raise ValueError(f"vmap: in_dims {d} is out of range for an argument with {nd} dimensions")
        n = x.shape[d]
        if size is not None and n != size:
            raise ValueError(
                f"vmap: the mapped dimensions have different sizes ({size} and {n}); every mapped "
                "argument must have the same batch size"
            )
        size = n
    if size is None:
        raise ValueError("vmap: at least one argument must be mapped (an in_dims entry that is not None)")
    if chunk_size is not None and chunk_size < size:
        return _chunked(func, dims, out_dims, chunk_size, size, leaves, spec, kwargs)
    return _vmap_once(func, dims, out_dims, size, leaves, spec, kwargs)


def _vmap_once(func, dims, out_dims, size, leaves, spec, kwargs):
    level = new_level()
    levels = active_levels()
    wrapped = []
    for x, d in zip(leaves, dims):
        if d is None:
            wrapped.append(x)
            continue
        v = x if d % x.ndim == 0 else x.__array_namespace__().moveaxis(x, d, 0)
        wrapped.append(BatchedTensor(v, level))
    levels[level] = size
    try:
        out = func(*tree_unflatten(wrapped, spec), **kwargs)
    finally:
        del levels[level]
    return _unbatch(out, out_dims, level, size)


def _unbatch(out, out_dims, level, size):
    leaves, spec = tree_flatten(out)
    if isinstance(out_dims, list):
        out_dims = tuple(out_dims)
    if isinstance(out_dims, tuple) and not isinstance(out, tuple):
        out_dims = out_dims[0] if len(out_dims) == 1 else out_dims
    dims = broadcast_prefix(out_dims, out, "out_dims", "vmap")
    res = []
    for x, d in zip(leaves, dims):
        if not _is_array(x):
            raise ValueError(
                f"vmap: the function must return arrays (or pytrees of them); it returned a "
                f"{type(x).__name__}"
            )
        batched = isinstance(x, BatchedTensor) and x.level == level
        if d is None:
            if batched:
                raise ValueError("vmap: out_dims is None for an output that depends on the batch")
            res.append(x)
            continue
        if batched:
            v = x.value
        else:
            ns = x.__array_namespace__()
            v = ns.broadcast_to(ns.expand_dims(x, axis=0), (size, *tuple(x.shape)))
        if d % v.ndim != 0:
            v = v.__array_namespace__().moveaxis(v, 0, d)
        res.append(v)
    return tree_unflatten(res, spec)


def _chunked(func, dims, out_dims, chunk, size, leaves, spec, kwargs):
    parts = []
    for start in range(0, size, chunk):
        stop = min(start + chunk, size)
        sliced = []
        for x, d in zip(leaves, dims):
            if d is None:
                sliced.append(x)
                continue
            key = (slice(None),) * (d % x.ndim) + (slice(start, stop), Ellipsis)
            sliced.append(x[key])
        parts.append(_vmap_once(func, dims, out_dims, stop - start, sliced, spec, kwargs))
    first_leaves, out_spec = tree_flatten(parts[0])
    per = [tree_flatten(p)[0] for p in parts]
    odims = broadcast_prefix(
        out_dims if not isinstance(out_dims, list) else tuple(out_dims), parts[0], "out_dims", "vmap"
    )
    res = []
    for j, x in enumerate(first_leaves):
        d = odims[j]
        if d is None:
            res.append(x)
            continue
        ns = x.__array_namespace__()
        res.append(ns.concat([p[j] for p in per], axis=d))
    return tree_unflatten(res, out_spec)


# --------------------------------------------------------------------------------------------
# Levels of a value: the Tensor under its BatchedTensors, with one axis per level.


def _strip(x):
    levels = []
    while isinstance(x, BatchedTensor):
        levels.append(x.level)
        x = x.value
    return x, levels[::-1]


def _to_levels(x, levels, fname):
    t, have = _strip(x)
    if not isinstance(t, Tensor):
        raise TypeError(f"{fname}: expected an xpgrad Tensor (or a pytree of them), got {type(t).__name__}")
    extra = [lv for lv in have if lv not in levels]
    if extra:
        raise RuntimeError(f"{fname}: a value is batched at a vmap level that is not open")
    sizes = active_levels()
    ns = t.__array_namespace__()
    for i, lv in enumerate(levels):
        if lv not in have:
            t = ns.expand_dims(t, axis=i)
            shape = tuple(t.shape)
            t = ns.broadcast_to(t, shape[:i] + (sizes[lv],) + shape[i + 1 :])
    return t


def _wrap(t, levels):
    for lv in levels:
        t = BatchedTensor(t, lv)
    return t


def _check_float(t, fname):
    if not t._ns._is_differentiable_dtype(t.dtype):
        raise TypeError(
            f"{fname}: the differentiated inputs must have a floating or complex dtype, got {t.dtype}"
        )


def _prepare(x, levels, fname):
    t = _to_levels(x, levels, fname)
    _check_float(t, fname)
    if t.requires_grad:
        return _forward._alias(t)
    p = t.detach()
    p.requires_grad_(True)
    for level in range(_forward.FORWARD_MODE.active):  # a dual input keeps its tangents
        tan = _forward.tangent_of(t, level)
        if tan is not None:
            _forward.set_tangent(p, level, tan)
    return p


def _needs_graph(tensors):
    if not is_grad_enabled():
        return False
    if _depth() > 0 or _forward.FORWARD_MODE.active:
        return True
    return any(t.requires_grad or _forward.has_tangent(t) for t in tensors)


def _argnums(argnums, nargs, fname):
    nums = (argnums,) if isinstance(argnums, int) else argnums
    if not isinstance(nums, tuple) or not nums or not all(isinstance(n, int) for n in nums):
        raise TypeError(f"{fname}: argnums must be an int or a non-empty tuple of ints, got {argnums!r}")
    out = []
    for n in nums:
        if not -nargs <= n < nargs:
            raise ValueError(
                f"{fname}: argnums {n} is out of range for a function called with {nargs} positional arguments"
            )
        out.append(n % nargs)
    if len(set(out)) != len(out):
        raise ValueError(f"{fname}: argnums {argnums!r} repeats an argument")
    return tuple(out)


def _prepare_args(args, nums, levels, fname):
    """The arguments with those at ``nums`` replaced by fresh differentiable values."""
    new_args = list(args)
    inputs = []  # per argnum: (leaves prepared, spec)
    for n in nums:
        leaves, spec = tree_flatten(args[n])
        ps = [_prepare(x, levels, fname) for x in leaves]
        inputs.append((ps, spec))
        new_args[n] = tree_unflatten([_wrap(p, levels) for p in ps], spec)
    return new_args, inputs


def _split_aux(out, has_aux, fname):
    if not has_aux:
        return out, None
    if not isinstance(out, tuple) or len(out) != 2:
        raise RuntimeError(f"{fname}(f, has_aux=True): f must return a tuple (output, aux)")
    return out


def _detach_tree(tree, keep):
    if keep:
        return tree

    def det(x):
        if isinstance(x, (Tensor, BatchedTensor)):
            t, lv = _strip(x)
            return _wrap(t.detach(), lv)
        return x

    leaves, spec = tree_flatten(tree)
    return tree_unflatten([det(x) for x in leaves], spec)


def _grads_of(outs, cts, inputs, create_graph, retain):
    flat = [p for ps, _ in inputs for p in ps]
    live = [(o, c) for o, c in zip(outs, cts) if o.requires_grad]
    gs: Any
    if live:
        gs = _autograd_grad(
            [o for o, _ in live],
            flat,
            grad_outputs=[c for _, c in live],
            retain_graph=retain,
            create_graph=create_graph,
            allow_unused=True,
        )
    else:
        gs = [None] * len(flat)
    return [g if g is not None else p._ns.zeros_like(p.detach()) for g, p in zip(gs, flat)]


def _regroup(gs, inputs, levels):
    res = []
    k = 0
    for ps, spec in inputs:
        n = len(ps)
        res.append(tree_unflatten([_wrap(g, levels) for g in gs[k : k + n]], spec))
        k += n
    return res


# --------------------------------------------------------------------------------------------
# grad, grad_and_value, vjp


def grad_and_value(func, argnums=0, has_aux=False):
    """``(gradient, value)`` of a function that returns a 0-d array (``torch.func.grad_and_value``);
    with ``has_aux=True`` ``func`` returns ``(value, aux)`` and the result is
    ``(gradient, (value, aux))``. The gradient has the structure of ``args[argnums]`` (a tuple
    of them for a tuple ``argnums``)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        nums = _argnums(argnums, len(args), "grad")
        levels = list(active_levels())
        with enable_grad(), _Nested():
            new_args, inputs = _prepare_args(args, nums, levels, "grad")
            out, aux = _split_aux(func(*new_args, **kwargs), has_aux, "grad")
            if not _is_array(out):
                raise RuntimeError(f"grad: the function must return an array, got {type(out).__name__}")
            o, olv = _strip(out)
            if tuple(o.shape[len(olv) :]) != ():
                raise RuntimeError(
                    f"grad: the function must return a 0-d array (a scalar), got shape {tuple(out.shape)}; "
                    "use vjp or jacrev for other outputs"
                )
            flat = [p for ps, _ in inputs for p in ps]
            cg = _needs_graph([_strip(x)[0] for n in nums for x in tree_flatten(args[n])[0]])
            ones = o._ns.ones_like(o.detach())
            gs = _grads_of([o], [ones], inputs, cg, retain=cg)
            del flat
        g = _regroup(gs, inputs, levels)
        g = g[0] if isinstance(argnums, int) else tuple(g)
        value = _detach_tree(out, cg)
        if has_aux:
            return g, (value, _detach_tree(aux, cg))
        return g, value

    return wrapper


def grad(func, argnums=0, has_aux=False):
    """The gradient of a function that returns a 0-d array (``torch.func.grad``)."""
    gv = grad_and_value(func, argnums, has_aux)

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        g, v = gv(*args, **kwargs)
        if has_aux:
            return g, v[1]
        return g

    return wrapper


def vjp(func, *primals, has_aux=False):
    """``(output, vjp_fn)`` (``(output, vjp_fn, aux)`` with ``has_aux``), as ``torch.func.vjp``:
    ``vjp_fn(cotangents)`` (a pytree like the output) returns a tuple of the primals' gradients."""
    levels = list(active_levels())
    nums = tuple(range(len(primals)))
    with enable_grad(), _Nested():
        new_args, inputs = _prepare_args(primals, nums, levels, "vjp")
        out, aux = _split_aux(func(*new_args), has_aux, "vjp")
    out_leaves, out_spec = tree_flatten(out)
    for x in out_leaves:
        if not _is_array(x):
            raise RuntimeError(
                f"vjp: the function must return arrays (or pytrees of them), got {type(x).__name__}"
            )
    stripped = [_strip(x) for x in out_leaves]
    cg = _needs_graph([_strip(x)[0] for p in primals for x in tree_flatten(p)[0]])

    def vjp_fn(cotangents, retain_graph=True, create_graph=None):
        ct_leaves, ct_spec = tree_flatten(cotangents)
        if len(ct_leaves) != len(out_leaves):
            raise RuntimeError(
                f"vjp_fn: expected cotangents with the structure of the output ({len(out_leaves)} "
                f"arrays), got {len(ct_leaves)}"
            )
        extra = _extra_level(ct_leaves, stripped)
        if extra is not None:
            return _vjp_loop(vjp_fn, cotangents, extra)
        cts = []
        for c, (o, olv) in zip(ct_leaves, stripped):
            if tuple(c.shape) != tuple(o.shape[len(olv) :]):
                raise RuntimeError(
                    f"vjp_fn: a cotangent has shape {tuple(c.shape)}, the output has shape "
                    f"{tuple(o.shape[len(olv) :])}"
                )
            cts.append(_to_levels(c, olv, "vjp_fn"))
        make_graph = (
            cg or _needs_graph([_strip(c)[0] for c in ct_leaves]) if create_graph is None else create_graph
        )
        with enable_grad(), _Nested():
            gs = _grads_of([o for o, _ in stripped], cts, inputs, make_graph, retain=True)
        return tuple(_detach_tree(g, make_graph) for g in _regroup(gs, inputs, levels))

    value = tree_unflatten([_wrap(o.detach() if not cg else o, lv) for o, lv in stripped], out_spec)
    if has_aux:
        return value, vjp_fn, _detach_tree(aux, cg)
    return value, vjp_fn


def _extra_level(ct_leaves, stripped):
    """The highest vmap level of a cotangent that its output lacks (None: none)."""
    best = None
    for c, (_, olv) in zip(ct_leaves, stripped):
        for lv in _strip(c)[1]:
            if lv not in olv and (best is None or lv > best):
                best = lv
    return best


def _vjp_loop(vjp_fn, cotangents, level):
    """vjp_fn of cotangents batched at a vmap level opened after ``vjp``: one call per sample."""
    size = active_levels()[level]
    ct_leaves, spec = tree_flatten(cotangents)

    def pick(c, i):
        while isinstance(c, BatchedTensor) and c.level > level:
            raise NotImplementedError("vjp_fn: cotangents batched at several new vmap levels")
        if isinstance(c, BatchedTensor) and c.level == level:
            return c.value[i, ...]
        return c

    results = [vjp_fn(tree_unflatten([pick(c, i) for c in ct_leaves], spec)) for i in range(size)]
    first, rspec = tree_flatten(results[0])
    per = [tree_flatten(r)[0] for r in results]
    out = []
    for j, x in enumerate(first):
        ns = x.__array_namespace__()
        out.append(BatchedTensor(ns.stack([p[j] for p in per], axis=0), level))
    return tree_unflatten(out, rspec)


# --------------------------------------------------------------------------------------------
# jvp


def jvp(func, primals, tangents, *, has_aux=False):
    """``(output, jvp_out)`` (``(output, jvp_out, aux)`` with ``has_aux``): forward mode, as
    ``torch.func.jvp``; ``primals`` and ``tangents`` are tuples of pytrees of the same structure."""
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise TypeError("jvp: primals and tangents must be tuples (of pytrees of arrays)")
    p_leaves, p_spec = tree_flatten(tuple(primals))
    t_leaves, t_spec = tree_flatten(tuple(tangents))
    if len(p_leaves) != len(t_leaves):
        raise RuntimeError("jvp: primals and tangents must have the same structure")
    levels = list(active_levels())
    with dual_level(), _Nested():
        duals = []
        for p, t in zip(p_leaves, t_leaves):
            if tuple(p.shape) != tuple(t.shape):
                raise RuntimeError(
                    f"jvp: a tangent has shape {tuple(t.shape)}, its primal has shape {tuple(p.shape)}"
                )
            pt = _to_levels(p, levels, "jvp")
            _check_float(pt, "jvp")
            tt = _to_levels(t, levels, "jvp")
            duals.append(_wrap(make_dual(pt, tt), levels))
        out, aux = _split_aux(func(*tree_unflatten(duals, p_spec)), has_aux, "jvp")
        o_leaves, o_spec = tree_flatten(out)
        prim, tang = [], []
        for x in o_leaves:
            if not _is_array(x):
                raise RuntimeError(f"jvp: the function must return arrays, got {type(x).__name__}")
            o, olv = _strip(x)
            pr, tg = unpack_dual(o)
            if tg is None:
                tg = pr._ns.zeros_like(pr.detach())
            prim.append(_wrap(pr, olv))
            tang.append(_wrap(tg, olv))
        if has_aux:
            a_leaves, a_spec = tree_flatten(aux)
            aux = tree_unflatten(
                [_wrap(unpack_dual(_strip(a)[0])[0], _strip(a)[1]) if _is_array(a) else a for a in a_leaves],
                a_spec,
            )
    res = (tree_unflatten(prim, o_spec), tree_unflatten(tang, o_spec))
    return (*res, aux) if has_aux else res


# --------------------------------------------------------------------------------------------
# Jacobians


def _numel(shape):
    n = 1
    for s in shape:
        n *= s
    return n


def _basis(like, sizes, shapes):
    """Rows of an identity matrix, split and shaped like the leaves (``(N, *shape)`` each)."""
    ns = like.__array_namespace__()
    n = sum(sizes)
    eye = ns.eye(n, dtype=like.dtype, device=like.device)
    out = []
    k = 0
    for s, shape in zip(sizes, shapes):
        out.append(ns.reshape(eye[:, k : k + s], (n, *shape)))
        k += s
    return out


def _select(func, args, nums, kwargs):
    def f(*sel):
        a = list(args)
        for n, v in zip(nums, sel):
            a[n] = v
        return func(*a, **kwargs)

    return f


def jacrev(func, argnums=0, *, has_aux=False, chunk_size=None):
    """The Jacobian by reverse mode (``torch.func.jacrev``): one VJP per output element, all in
    one vectorised pass (``vmap`` over the rows of the identity)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        nums = _argnums(argnums, len(args), "jacrev")
        f = _select(func, args, nums, kwargs)
        primals = tuple(args[n] for n in nums)
        res = vjp(f, *primals, has_aux=has_aux)
        out, vjp_fn = res[0], res[1]
        o_leaves, o_spec = tree_flatten(out)
        shapes = [tuple(o.shape) for o in o_leaves]
        sizes = [_numel(s) for s in shapes]
        if sum(sizes) == 1:
            ones = [o.__array_namespace__().ones_like(o) for o in o_leaves]
            rows = vjp_fn(tree_unflatten(ones, o_spec))
            rows = _tree_expand0(rows)
        else:
            basis = _basis(o_leaves[0], sizes, shapes)

            def row(*cts):
                _, fn = vjp(f, *primals)
                return fn(tree_unflatten(list(cts), o_spec))

            rows = vmap(row, chunk_size=chunk_size)(*basis)
        jac = _assemble_rev(rows, shapes, sizes, o_spec, isinstance(argnums, int))
        return (jac, res[2]) if has_aux else jac

    return wrapper


def _tree_expand0(tree):
    leaves, spec = tree_flatten(tree)
    return tree_unflatten([x.__array_namespace__().expand_dims(x, axis=0) for x in leaves], spec)


def _assemble_rev(rows, shapes, sizes, o_spec, single):
    """``rows`` (per primal, leaves ``(N, *in_shape)``) as the Jacobian tree: output structure
    outside, primal structure inside."""
    per_out = []
    k = 0
    for shape, s in zip(shapes, sizes):
        parts = []
        for prim in rows:
            leaves, spec = tree_flatten(prim)
            blk = []
            for x in leaves:
                ns = x.__array_namespace__()
                blk.append(ns.reshape(x[k : k + s, ...], (*shape, *tuple(x.shape[1:]))))
            parts.append(tree_unflatten(blk, spec))
        per_out.append(parts[0] if single else tuple(parts))
        k += s
    return tree_unflatten(per_out, o_spec)


def jacfwd(func, argnums=0, has_aux=False, *, randomness="error"):
    """The Jacobian by forward mode (``torch.func.jacfwd``): one JVP per input element, all in
    one vectorised pass (``vmap`` over the identity's rows as tangents)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        nums = _argnums(argnums, len(args), "jacfwd")
        f = _select(func, args, nums, kwargs)
        primals = tuple(args[n] for n in nums)
        p_leaves, p_spec = tree_flatten(primals)
        shapes = [tuple(p.shape) for p in p_leaves]
        sizes = [_numel(s) for s in shapes]
        basis = _basis(p_leaves[0], sizes, shapes)
        aux_box: list[Any] = []

        def col(*ts):
            r = jvp(f, primals, tree_unflatten(list(ts), p_spec), has_aux=has_aux)
            if has_aux:
                aux_box.append(None)
                return r[1], r[2]
            return r[1]

        if has_aux:
            tans, aux = (
                vmap(col, randomness=randomness, out_dims=(0, None))(*basis)
                if False
                else _jacfwd_aux(f, primals, basis, p_spec)
            )
        else:
            tans = vmap(col, randomness=randomness)(*basis)
        t_leaves, t_spec = tree_flatten(tans)
        per_out = []
        for t in t_leaves:
            ns = t.__array_namespace__()
            oshape = tuple(t.shape[1:])
            parts = []
            k = 0
            for s, shape in zip(sizes, shapes):
                blk = ns.moveaxis(t[k : k + s, ...], 0, -1)
                parts.append(ns.reshape(blk, (*oshape, *shape)))
                k += s
            grouped = tree_unflatten(parts, p_spec)
            per_out.append(grouped[0] if isinstance(argnums, int) else grouped)
        jac = tree_unflatten(per_out, t_spec)
        return (jac, aux) if has_aux else jac

    return wrapper


def _jacfwd_aux(f, primals, basis, p_spec):
    def col(*ts):
        return jvp(f, primals, tree_unflatten(list(ts), p_spec), has_aux=True)[1]

    tans = vmap(col)(*basis)
    aux = f(*primals)[1]
    return tans, aux


def hessian(func, argnums=0):
    """The Hessian, ``jacfwd(jacrev(func, argnums), argnums)`` (``torch.func.hessian``)."""
    return jacfwd(jacrev(func, argnums), argnums)
