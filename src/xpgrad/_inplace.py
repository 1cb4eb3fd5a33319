"""In-place operators, ``__setitem__`` and views.

Semantics follow torch.autograd:

- Every Tensor has a version counter, shared with its views and with ``detach()`` results; any
  in-place change bumps it, and backward refuses a saved value whose version changed.
- In place on a leaf that requires grad is an error while grad mode is on (use ``no_grad``).
- In place on a tensor in the graph rebinds its ``grad_fn`` to the operation, so later uses
  differentiate through it. A value the operation itself saved (``x *= y`` saves ``x`` for
  ``y``'s gradient) is snapshotted first.
- In place on a *view* (a basic-index result, a reshape, a transpose, ... that shares memory)
  updates the base's graph as well (torch's ``CopySlices``): the base's new ``grad_fn`` sends the
  gradient of the changed region to the new values and the rest to the old base. Views of a
  tensor modified in place rebuild their ``grad_fn`` from the base the next time they are used.

Under ``no_grad`` (or when nothing requires grad) in-place operations write straight into the
backend array with the backend's own in-place operator.
"""

from __future__ import annotations

import weakref

from . import _forward, _grad_mode
from ._autograd import grad
from ._forward import FORWARD_MODE
from ._grad_mode import GRAD_MODE
from ._graph import bump_version, version_of
from ._ops import record
from ._tensor import Tensor, _NotOperand

__all__ = ["_inplace", "_setitem"]


def _leaf_error(fname):
    return RuntimeError(
        f"{fname}: a leaf Tensor that requires grad is being used in an in-place operation. "
        "Wrap parameter updates in `with xpgrad.no_grad():`, or work on a copy."
    )


def _view_of_leaf_error(fname):
    return RuntimeError(
        f"{fname}: a view of a leaf Tensor that requires grad is being used in an in-place "
        "operation. Wrap the update in `with xpgrad.no_grad():`, or work on a copy."
    )


def _other_requires_grad(other):
    return type(other) is Tensor and other._requires_grad


def _check_cast(ns, fname, target_dtype, result_dtype):
    """In-place results must fit the target dtype: same kind (float->float, complex->complex)."""
    if result_dtype == target_dtype:
        return
    xp = ns._xp
    kinds = ("bool", "signed integer", "unsigned integer", "real floating", "complex floating")

    def kind(dt):
        for k in kinds:
            if xp.isdtype(dt, k):
                return k
        return None

    order = {"bool": 0, "unsigned integer": 1, "signed integer": 1, "real floating": 2, "complex floating": 3}
    if order.get(kind(result_dtype), 9) > order.get(kind(target_dtype), -1):
        raise TypeError(
            f"{fname}: the result has dtype {result_dtype}, which cannot be stored in place in a "
            f"tensor of dtype {target_dtype}"
        )


def _operand_dtype(ns, dtype, other):
    """The dtype ``x <op> other`` would have (Python scalars are weakly typed)."""
    xp = ns._xp
    if isinstance(other, bool):
        return dtype
    if isinstance(other, int):
        return dtype
    if isinstance(other, float):
        return dtype if xp.isdtype(dtype, ("real floating", "complex floating")) else xp.float64
    if isinstance(other, complex):
        return dtype if xp.isdtype(dtype, "complex floating") else xp.complex128
    return xp.result_type(dtype, other.dtype)


def _write(ns, target, value_data, key=Ellipsis):
    """Write raw ``value_data`` into ``target``'s array (in place where the backend allows)."""
    new = ns.backend.setitem(target._data, key, value_data)
    if new is not target._data:
        target._data = new
    bump_version(target)


# ``_commit``'s key for "the whole value": not ``None``, which is a key (``x[None] = v``).
WHOLE = object()


def _snapshot_saved(node, t):
    """Replace ``t`` in ``node.saved`` by a copy of its current value (before it is overwritten)."""
    if node is None or not node.saved or not any(s is t for s in node.saved):
        return
    ns = t._ns
    snap = Tensor._wrap_plain(ns, ns.backend.copy(t._data))
    snap._grad_fn = t._grad_fn
    snap._output_nr = t._output_nr
    snap._requires_grad = t._requires_grad
    if FORWARD_MODE.active:
        _forward.copy_tangents(t, snap)  # its tangents are about to be overwritten too
    node.saved = tuple(snap if s is t else s for s in node.saved)
    node.versions = tuple(0 if s is snap else v for s, v in zip(node.saved, node.versions))


def _out_of_place(self, x, opname, other, fname):
    """``x <op> other`` computed out of place, in ``x``'s dtype (the cast checked as torch's);
    None for an operand the function does not take (the operator returns NotImplemented)."""
    try:
        r = getattr(self, opname)(x, other)
    except _NotOperand:
        return None
    _check_cast(self, fname, x.dtype, r.dtype)
    return r if r.dtype == x.dtype else self.astype(r, x.dtype)


def _inplace(self, x, opname, iop, other):
    """``x <op>= other``; ``self`` is the namespace."""
    fname = f"__{iop.__name__}__"  # the operator's own name (operator.imul -> __imul__)
    tracking = GRAD_MODE.enabled and (x._requires_grad or _other_requires_grad(other))
    if not tracking and FORWARD_MODE.active and _forward.has_tangent(x, other):
        # Forward mode only: the op runs out of place for the tangent, then both are written.
        r = _out_of_place(self, x, opname, other, fname)
        if r is None:
            return NotImplemented
        _write(self, x, r._data)
        _forward.after_inplace(x, r)
        return x
    if not tracking:
        if type(other) is Tensor:
            if other._ns is not self:
                raise self._wrong_tensor(other, fname, "other")
            od = other._data
        else:
            od = other
            if not isinstance(other, (bool, int, float, complex)) and not self.backend.is_native(other):
                exc = self.backend.foreign_error(other, fname, "other")
                if exc is not None:
                    raise exc
                return NotImplemented
        _check_cast(self, fname, x.dtype, _operand_dtype(self, x.dtype, od))
        if not self.backend.mutable:
            r = getattr(self, opname)(x, other)
            _check_cast(self, fname, x.dtype, r.dtype)
            x._data = r._data if r.dtype == x.dtype else self._xp.astype(r._data, x.dtype)
            bump_version(x)
            return x
        data = x._data
        try:
            new = iop(data, od)
        except NotImplementedError:
            # No in-place kernel for this dtype (torch's uint16/32/64): the namespace's function,
            # which the backend layer routes around the gap, then written into x.
            new = self.backend.setitem(data, Ellipsis, getattr(self._xp, opname)(data, od))
        if new is not data:
            x._data = self._ensure(new)
        bump_version(x)
        return x
    if x._grad_fn is None and x._requires_grad:
        raise _leaf_error(fname)
    if x._base is not None and x._base._grad_fn is None and x._base._requires_grad:
        raise _view_of_leaf_error(fname)
    r = _out_of_place(self, x, opname, other, fname)
    if r is None:
        return NotImplemented
    _snapshot_saved(r._grad_fn, x)
    _commit(self, x, r, WHOLE)
    if FORWARD_MODE.active:
        _forward.after_inplace(x, r)
    return x


def _commit(ns, x, r, key, kept=None):
    """Make ``x`` hold ``r`` (the new value of ``x[key]``) in data and in the graph.

    ``key`` :data:`WHOLE`: ``r`` is the whole new value of ``x`` (an in-place operator's result, of
    ``x``'s shape), which then takes ``r``'s graph. Otherwise ``x[key] = r`` (``r`` broadcast),
    recorded as an ``index_put``; ``kept`` is the key as the node keeps it (Tensors in it are
    version-checked).
    """
    if x._base is not None:
        base = x._base
        ns._refresh_view(x)
        # The view's new value, then the base's new graph through CopySlices.
        view_fn = x._view_fn
        new_view = r if key is WHOLE else _index_put(ns, x, key, r, kept)
        _write(ns, x, r._data, Ellipsis if key is WHOLE else key)
        _copy_slices(ns, base, new_view, view_fn)
        x._grad_fn = new_view._grad_fn
        x._output_nr = new_view._output_nr
        x._requires_grad = new_view._requires_grad
        x._view_version = version_of(x)
        if base._requires_grad:
            _wake_views(x._vc)
        return
    if key is WHOLE:
        _write(ns, x, r._data)
        node, nr, req = r._grad_fn, r._output_nr, r._requires_grad
    else:
        new = _index_put(ns, x, key, r, kept)
        _write(ns, x, r._data, key)
        node, nr, req = new._grad_fn, new._output_nr, new._requires_grad
    x._grad_fn = node
    x._output_nr = nr
    x._requires_grad = req
    x._retains_grad = False
    if req:
        _wake_views(x._vc)


def register_view(view):
    """Remember ``view`` (which does not require grad) on its counter, to wake it if its base
    comes to require grad through an in-place change (see :func:`_wake_views`)."""
    vc = view._vc
    if len(vc) == 1:
        vc += ([], 16)  # [version, weak references to views, size of the next pruning]
    views = vc[1]
    if len(views) >= vc[2]:  # drop dead references; amortised O(1) per view
        views[:] = [w for w in views if w() is not None]
        vc[2] = max(16, 2 * len(views))
    views.append(weakref.ref(view))


def _wake_views(vc):
    """The base of counter ``vc`` now requires grad: so do its registered views (torch's rule:
    a view sees its base's graph). Each rebuilds its ``grad_fn`` from the base when next used."""
    if vc is None or len(vc) == 1:
        return
    for w in vc[1]:
        v = w()
        if v is not None and v._view_fn is not None and not v._requires_grad:
            v._requires_grad = True
            v._view_version = -1  # stale: rebuilt by refresh_view
    vc[1].clear()


def _index_put(ns, x, key, value, kept=None):
    """Graph-only result of ``x[key] = value`` (its data is never materialised)."""
    xd = x._data
    return record(
        ns,
        "index_put",
        _index_put_vjp,
        (x, value),
        xd,  # placeholder data of the right shape/dtype; the caller writes the real data
        kw={"key": key if kept is None else kept, "ns": ns},
        alias_check=False,
    )


def _index_put_vjp(xp, g, *, key, ns):
    gv = g[key] if type(g) is Tensor else ns.backend.getitem(g, key)
    if type(g) is Tensor:  # create_graph: g selected where not overwritten (no inf * 0 = nan)
        keep = ns.backend.setitem(ns._xp.ones(g.shape, dtype=ns._xp.bool, device=g.device), key, False)
        return ns.where(keep, g, ns.zeros_like(g)), gv
    gx = ns.backend.setitem(ns.backend.copy(g), key, 0)
    return gx, gv


def _copy_slices(ns, base, new_view, view_fn):
    """Rebind ``base``'s graph: its region seen through ``view_fn`` now holds ``new_view``."""
    if not (base._requires_grad or new_view._requires_grad):
        return
    t = record(
        ns,
        "copy_slices",
        _copy_slices_vjp,
        (base, new_view),
        base._data,
        kw={"view_fn": view_fn, "ns": ns},
        alias_check=False,
    )
    base._grad_fn = t._grad_fn
    base._output_nr = 0
    base._requires_grad = True


def _copy_slices_vjp(xp, g, *, view_fn, ns):
    # g_view = J g (the gradient seen through the view); g_base = g - J^T J g.
    create = type(g) is Tensor
    gt = g if create else Tensor._wrap_plain(ns, g)
    g_view = view_fn(gt)
    back = _view_transpose(ns, view_fn, g_view, gt)
    g_base = gt - back
    if create:
        return g_base, g_view
    return g_base._data, g_view._data


def _view_transpose(ns, view_fn, u, like):
    """J^T u for the linear map ``view_fn`` (a chain of view ops), by differentiating it."""
    with _grad_mode.enable_grad():
        d = Tensor._wrap_plain(ns, ns._xp.zeros_like(like._data))
        d._requires_grad = True
        y = view_fn(d)
        (r,) = grad(y, d, u, create_graph=type(u) is Tensor and u._requires_grad, allow_unused=True)
    return r if r is not None else ns.zeros_like(like)


def refresh_view(ns, t):
    """Rebuild the graph of view ``t`` if its base was modified in place since."""
    if version_of(t) == t._view_version or t._view_fn is None:
        return
    base = t._base
    if base._requires_grad:
        if not GRAD_MODE.enabled:
            return  # rebuilt when next used with grad enabled
        with _grad_mode.enable_grad():
            nv = t._view_fn(base)
        t._grad_fn = nv._grad_fn
        t._output_nr = nv._output_nr
        t._requires_grad = nv._requires_grad
    t._view_version = version_of(t)


class ViewChain:
    """How a view is computed from its base: a chain of view functions, applied in a loop.

    Views of views of ... (any depth) compose without nesting closures, so recomputing a view
    10,000 levels deep needs no recursion.
    """

    __slots__ = ("parent", "fn", "depth")

    def __init__(self, parent, fn):
        self.parent = parent
        self.fn = fn
        self.depth = 1 if parent is None else parent.depth + 1

    def __call__(self, b):
        fns = []
        c = self
        while c is not None:
            fns.append(c.fn)
            c = c.parent
        for f in reversed(fns):
            b = f(b)
        return b


def set_view_fn(ns, t, x, fn):
    """Record that ``t`` is ``fn(x)`` and shares ``x``'s memory; compose with ``x``'s view."""
    if t._base is None:
        return
    if x._view_fn is not None:
        t._view_fn = ViewChain(x._view_fn, fn)
    elif x._base is None:
        t._view_fn = ViewChain(None, fn)
    else:
        t._base = None  # unknown path from the base: not tracked as a view
        return
    if not t._requires_grad and not x._requires_grad:  # (not views made under no_grad)
        register_view(t)


def _with_ellipsis(key):
    """A key holding ``None`` with a trailing ``...`` if it has none (the same index on NumPy and
    torch): the node's VJP reads ``g[key]``, which array_api_strict allows only for a key that
    covers every axis."""
    if key is None:
        return (None, Ellipsis)
    if type(key) is tuple and any(k is None for k in key) and not any(k is Ellipsis for k in key):
        return (*key, Ellipsis)
    return key


def _setitem(self, x, key, value):
    """``x[key] = value``, differentiable with respect to ``x`` and ``value``.

    Every key (``...`` and full slices included) is recorded as an ``index_put``: ``x`` gets
    zero gradient where it was overwritten, ``value`` the sum of the gradient over the places
    it was broadcast to (torch's ``index_put_``/``copy_``).
    """
    fname = "__setitem__"
    user_key = key
    key = _with_ellipsis(key)
    key, kept = self._keys(x, key, fname)
    if type(value) is Tensor:
        if value._ns is not self:
            raise self._wrong_tensor(value, fname, "value")
        vt = value
        complex_value = self._is_complex_dtype(value.dtype)
    elif isinstance(value, (bool, int, float, complex)):
        vt = None
        complex_value = type(value) is complex
    elif self.backend.is_native(value):
        vt = None
        complex_value = self._is_complex_dtype(value.dtype)
    else:
        raise TypeError(
            f"{fname}: argument 'value' must be an array or a Python scalar, got {type(value).__name__}"
        )
    if complex_value and not self._is_complex_dtype(x.dtype):
        vdtype = value.dtype if hasattr(value, "dtype") else "complex"
        raise TypeError(
            f"{fname}: cannot write complex values (dtype {vdtype}) into a Tensor of real dtype "
            f"{x.dtype}; take the real part explicitly (xp.real(value)) if that is intended"
        )
    tracking = GRAD_MODE.enabled and (x._requires_grad or (vt is not None and vt._requires_grad))
    if not tracking:
        vd = vt._data if vt is not None else value
        _write(self, x, vd, key)
        if FORWARD_MODE.active:
            _forward.after_setitem(x, user_key, value)
        return
    if x._grad_fn is None and x._requires_grad:
        raise _leaf_error(fname)
    if x._base is not None and x._base._grad_fn is None and x._base._requires_grad:
        raise _view_of_leaf_error(fname)
    if vt is None:
        vt = Tensor._wrap_plain(self, self._xp.asarray(value, dtype=x.dtype, device=x.device))
    if vt.dtype != x.dtype:
        _check_cast(self, fname, x.dtype, vt.dtype)
        vt = self.astype(vt, x.dtype)
    _commit(self, x, vt, key, kept)
    if FORWARD_MODE.active:
        _forward.after_setitem(x, user_key, value)
