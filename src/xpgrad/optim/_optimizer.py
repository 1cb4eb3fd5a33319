"""The :class:`Optimizer` base class: parameter groups, state, ``state_dict`` and hooks.

Semantics and the ``state_dict`` layout follow ``torch.optim.Optimizer``: ``state`` is keyed by
parameter, ``state_dict()`` returns ``{"state": {index: {...}}, "param_groups": [{..., "params":
[index, ...]}]}`` with parameters numbered in the order of the groups, and ``load_state_dict``
maps the indices back onto this optimizer's parameters.

Updates run on the parameters' raw backend arrays (nothing is recorded). A parameter is written
in place where the backend's arrays share memory (NumPy, PyTorch, CuPy, array-api-strict), so
views and ``detach()`` results of it see the new value, as in torch; on an immutable (JAX) or
lazy (Dask) backend its data is rebound. Either way its version counter is bumped, so a graph
that saved the old value refuses to backward.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable, Iterable, Iterator, MutableMapping
from itertools import chain
from typing import Any

from .._grad_mode import enable_grad
from .._graph import bump_version
from .._tensor import RemovableHandle, Tensor, _HookList

__all__ = ["Optimizer", "ParamsT", "required"]

ParamsT = Iterable[Tensor] | Iterable[dict[str, Any]]


class _Required:
    """Marker of an option that every parameter group must give (no default)."""

    def __repr__(self) -> str:
        return "<required parameter>"


required: Any = _Required()


class _ParamState(MutableMapping):
    """A ``{parameter: dict}`` mapping keyed by identity (Tensors define ``==`` elementwise).

    Missing parameters get an empty dict, like torch's ``defaultdict(dict)``.
    """

    def __init__(self) -> None:
        self._d: dict[int, tuple[Tensor, dict[str, Any]]] = {}

    def __getitem__(self, p: Tensor) -> dict[str, Any]:
        hit = self._d.get(id(p))
        if hit is None:
            hit = self._d[id(p)] = (p, {})
        return hit[1]

    def __setitem__(self, p: Tensor, value: dict[str, Any]) -> None:
        self._d[id(p)] = (p, value)

    def __delitem__(self, p: Tensor) -> None:
        del self._d[id(p)]

    def __contains__(self, p: object) -> bool:
        return id(p) in self._d

    def __iter__(self) -> Iterator[Tensor]:
        return (p for p, _ in self._d.values())

    def __len__(self) -> int:
        return len(self._d)

    def __repr__(self) -> str:
        return f"ParamState({len(self)} parameters)"


def _typename(obj: object) -> str:
    t = type(obj)
    return t.__qualname__ if t.__module__ == "builtins" else f"{t.__module__}.{t.__qualname__}"


class Optimizer:
    """Base class of all optimisers (``torch.optim.Optimizer``'s interface).

    Args:
        params: an iterable of parameters (leaf :class:`~xpgrad.Tensor`\\ s) or of dicts
            defining parameter groups (``{"params": [...], "lr": ...}``: options a group gives
            override ``defaults``).
        defaults: the default value of every option.

    A subclass implements :meth:`step`. Its per-parameter state lives in ``self.state[p]``
    (a dict of Tensors and Python numbers).
    """

    def __init__(self, params: ParamsT, defaults: dict[str, Any]) -> None:
        self.defaults = defaults
        self.state: MutableMapping[Tensor, dict[str, Any]] = _ParamState()
        self.param_groups: list[dict[str, Any]] = []
        self._step_pre_hooks: list[Callable] = _HookList()
        self._step_post_hooks: list[Callable] = _HookList()
        if isinstance(params, Tensor):
            raise TypeError(
                "params argument given to the optimizer should be an iterable of Tensors or "
                "dicts, but got " + _typename(params)
            )
        param_groups: list[Any] = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for group in param_groups:
            self.add_param_group(group)

    # -- parameter groups ------------------------------------------------------------------------

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a parameter group; options it does not give take the optimiser's defaults."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError(
                "optimizer parameters need to be organized in ordered collections, but the "
                "ordering of tensors in sets will change between runs. Please use a list instead."
            )
        else:
            params = list(params)
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(
                    "optimizer can only optimize Tensors, but one of the params is " + _typename(p)
                )
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
        group = dict(param_group)
        group["params"] = params
        for name, default in self.defaults.items():
            if default is required and name not in group:
                raise ValueError(
                    f"parameter group didn't specify a value of required optimization parameter {name}"
                )
            group.setdefault(name, default)
        ids = [id(p) for p in params]
        if len(set(ids)) != len(ids):
            warnings.warn(
                "optimizer contains a parameter group with duplicate parameters; in future, this "
                "will cause an error",
                UserWarning,
                stacklevel=3,
            )
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if seen & set(ids):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    def _params(self) -> Iterator[Tensor]:
        return chain.from_iterable(g["params"] for g in self.param_groups)

    # -- gradients ---------------------------------------------------------------------------------

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all parameters: to ``None`` (default) or to zeros in place."""
        for p in self._params():
            g = p._grad
            if g is None:
                continue
            if set_to_none:
                p._grad = None
            else:
                b = g._ns.backend
                _assign(g, b.xp.zeros_like(g._data))

    # -- stepping ----------------------------------------------------------------------------------

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Perform one optimisation step; ``closure`` re-evaluates the loss and returns it."""
        raise NotImplementedError

    def _run_step(self, closure: Callable[[], Any] | None) -> Any:
        for hook in list(self._step_pre_hooks):
            res = hook(self, (), {})
            if res is not None:
                raise RuntimeError("an optimizer step pre-hook must return None")
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            self._update_group(group)
        self._opt_called = True  # read by lr_scheduler's "step order" warning
        for hook in list(self._step_post_hooks):
            hook(self, (), {})
        return loss

    def _update_group(self, group: dict[str, Any]) -> None:
        raise NotImplementedError

    def register_step_pre_hook(self, hook: Callable) -> RemovableHandle:
        """Call ``hook(optimizer, args, kwargs)`` before every :meth:`step`."""
        self._step_pre_hooks.append(hook)
        return RemovableHandle(self._step_pre_hooks, hook)

    def register_step_post_hook(self, hook: Callable) -> RemovableHandle:
        """Call ``hook(optimizer, args, kwargs)`` after every :meth:`step`."""
        self._step_post_hooks.append(hook)
        return RemovableHandle(self._step_post_hooks, hook)

    # -- state_dict ----------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """The optimiser's state in torch's layout (parameters replaced by their index).

        The state values are the live Tensors (as in torch); ``copy.deepcopy`` the result to
        keep a snapshot.
        """
        index: dict[int, int] = {}
        groups = []
        for g in self.param_groups:
            packed = {k: v for k, v in g.items() if k != "params"}
            ids = []
            for p in g["params"]:
                if id(p) not in index:
                    index[id(p)] = len(index)
                ids.append(index[id(p)])
            packed["params"] = ids
            groups.append(packed)
        state = {index[id(p)]: s for p, s in self.state.items() if id(p) in index}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load a state produced by :meth:`state_dict` (of this or an equivalent optimiser).

        The dict is copied first. State arrays may be Tensors or raw arrays of any library
        that NumPy can read (torch's own ``state_dict`` converted with ``.numpy()``, say); they
        are converted to each parameter's backend, dtype and device. A 0-d ``step`` becomes a
        Python number.
        """
        state_dict = copy.deepcopy(state_dict)
        groups = self.param_groups
        saved_groups = state_dict["param_groups"]
        if len(groups) != len(saved_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(len(g["params"]) != len(s["params"]) for g, s in zip(groups, saved_groups)):
            raise ValueError(
                "loaded state dict contains a parameter group that doesn't match the size of "
                "optimizer's group"
            )
        id_map = {old: p for g, s in zip(groups, saved_groups) for old, p in zip(s["params"], g["params"])}
        new_state = _ParamState()
        for k, v in state_dict["state"].items():
            if k in id_map:
                p = id_map[k]
                new_state[p] = {name: _cast_state(p, name, value) for name, value in v.items()}
        new_groups = []
        for g, s in zip(groups, saved_groups):
            ng = dict(s)
            ng["params"] = g["params"]
            new_groups.append(ng)
        self.state = new_state
        self.param_groups = new_groups

    def __repr__(self) -> str:
        lines = [type(self).__name__ + " ("]
        for i, g in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(k for k in g if k != "params"):
                lines.append(f"    {key}: {g[key]}")
        lines.append(")")
        return "\n".join(lines)


def _cast_state(p: Tensor, name: str, value: Any) -> Any:
    """A loaded state value on ``p``'s backend, dtype and device (``step`` as a number)."""
    if isinstance(value, (bool, int, float, complex)) or value is None:
        return value
    if isinstance(value, Tensor):
        value = value._data
    ns = p._ns
    if ns.backend.is_native(value):
        raw = value
    else:
        import numpy as np

        raw = np.asarray(value)
        if raw.ndim == 0 and name == "step":
            return float(raw)
        raw = ns._xp.asarray(raw)
    if name == "step" and getattr(raw, "ndim", 1) == 0:
        return float(raw)
    xp = ns._xp
    raw = xp.asarray(raw, dtype=p.dtype, copy=True)
    return Tensor._wrap_plain(ns, ns.backend.to_device(raw, p.device))


def _assign(t: Tensor, new: Any) -> None:
    """Give ``t`` the raw value ``new``: in place where arrays share memory, else rebound."""
    b = t._ns.backend
    data = t._data
    if b.aliases and new is not data:
        new = b.setitem(data, Ellipsis, new)
    t._data = b.ensure(new)
    bump_version(t)
