"""Pytrees of arrays: nested dicts, tuples (named tuples included) and lists, as torch.func takes."""

from __future__ import annotations

from typing import Any

__all__ = ["tree_flatten", "tree_map", "tree_unflatten"]


class _Leaf:
    __slots__ = ()


LEAF = _Leaf()


def tree_flatten(tree) -> tuple[list[Any], Any]:
    """``(leaves, spec)``: the leaves in order and the structure to rebuild the tree."""
    leaves: list[Any] = []
    spec = _flatten(tree, leaves)
    return leaves, spec


def _flatten(tree, leaves):
    if isinstance(tree, dict):
        keys = list(tree)
        return (dict, keys, [_flatten(tree[k], leaves) for k in keys])
    if isinstance(tree, tuple):
        kind = type(tree) if hasattr(tree, "_fields") else tuple
        return (kind, None, [_flatten(e, leaves) for e in tree])
    if isinstance(tree, list):
        return (list, None, [_flatten(e, leaves) for e in tree])
    leaves.append(tree)
    return LEAF


def tree_unflatten(leaves, spec):
    """The tree of structure ``spec`` (from :func:`tree_flatten`) with ``leaves`` in order."""
    it = iter(leaves)
    return _build(spec, it)


def _build(spec, it):
    if spec is LEAF:
        return next(it)
    kind, keys, children = spec
    items = [_build(c, it) for c in children]
    if kind is dict:
        return dict(zip(keys, items))
    if kind is list:
        return items
    if kind is tuple:
        return tuple(items)
    return kind(*items)


def tree_map(fn, tree):
    """``tree`` with ``fn`` applied to every leaf."""
    leaves, spec = tree_flatten(tree)
    return tree_unflatten([fn(x) for x in leaves], spec)


def broadcast_prefix(prefix, tree, what, fname):
    """The leaves of ``prefix`` (an int/None or a tree matching a prefix of ``tree``) repeated
    over ``tree``'s leaves (``in_dims``/``out_dims`` as torch.func reads them)."""
    out: list[Any] = []
    _bp(prefix, tree, out, what, fname)
    return out


def _bp(prefix, tree, out, what, fname):
    if prefix is None or isinstance(prefix, int):
        n = len(tree_flatten(tree)[0])
        out.extend([prefix] * n)
        return
    if isinstance(prefix, dict):
        if not isinstance(tree, dict) or set(prefix) != set(tree):
            raise ValueError(f"{fname}: {what} is a dict whose keys do not match the argument's structure")
        for k in tree:
            _bp(prefix[k], tree[k], out, what, fname)
        return
    if isinstance(prefix, (tuple, list)):
        if not isinstance(tree, (tuple, list)) or len(prefix) != len(tree):
            raise ValueError(
                f"{fname}: {what} is a {type(prefix).__name__} of {len(prefix)} elements, which does "
                f"not match the structure of the arguments ({type(tree).__name__})"
            )
        for p, t in zip(prefix, tree):
            _bp(p, t, out, what, fname)
        return
    raise ValueError(
        f"{fname}: {what} must be an int, None, or a pytree of them; got {type(prefix).__name__}"
    )
