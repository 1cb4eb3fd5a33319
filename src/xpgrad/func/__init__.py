"""Composable function transforms, as ``torch.func``, on every backend.

``vmap`` vectorises a function over a batch axis; ``grad``, ``grad_and_value``, ``vjp``,
``jvp``, ``jacrev``, ``jacfwd`` and ``hessian`` differentiate functions; they compose at any
depth (``vmap(grad(f))`` gives per-sample gradients). Arguments and results are arrays of an
xpgrad namespace or pytrees of them (dicts, tuples, lists).

    >>> import numpy as np, xpgrad
    >>> from xpgrad.func import grad, vmap
    >>> xp = xpgrad.numpy
    >>> def loss(w, x):
    ...     xp = x.__array_namespace__()
    ...     return xp.sum(xp.tanh(x @ w) ** 2)
    >>> w, xs = xp.ones((3, 2)), xp.asarray(np.arange(12.0).reshape(4, 3) / 10)
    >>> vmap(grad(loss), in_dims=(None, 0))(w, xs).shape
    (4, 3, 2)

Inside ``vmap`` a function must take its namespace from its arguments
(``x.__array_namespace__()``, or ``array_api_compat.array_namespace(x)``), as array-API code
does: the batched values' namespace applies the batching rules. See docs/func.md.
"""

from ._batched import BatchedTensor, VmapFallbackWarning
from ._pytree import tree_flatten, tree_map, tree_unflatten
from ._transforms import grad, grad_and_value, hessian, jacfwd, jacrev, jvp, vjp, vmap

__all__ = [
    "BatchedTensor",
    "VmapFallbackWarning",
    "grad",
    "grad_and_value",
    "hessian",
    "jacfwd",
    "jacrev",
    "jvp",
    "tree_flatten",
    "tree_map",
    "tree_unflatten",
    "vjp",
    "vmap",
]
