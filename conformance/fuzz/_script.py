"""A reduced program as a short, runnable Python script (xpgrad against torch.autograd)."""

from __future__ import annotations

import numpy as np

from ._program import Program
from ._run import cotangent

_TEMPLATE = """\
# xpgrad fuzz reproducer ({backend} backend): {title}
import numpy as np
import torch
import types

import array_api_compat.torch as txp
import xpgrad

# array_api_compat.torch with the torch.special functions the program calls as xp.special.*
txp = types.SimpleNamespace(**vars(txp), special=torch.special)

{source}

INPUTS = {{
{inputs}
}}
LEAVES = {leaves}
COTANGENTS = [{cotangents}]


def run(xp, make, grad):
    args = {{k: make(v, k in LEAVES) for k, v in INPUTS.items()}}
    outs = program(xp, **args)
    print("  outputs:", [np.round(np.asarray(o.detach().tolist()), 4).tolist() for o in outs])
    roots = [o for o in outs if o.requires_grad]
    cots = [make(c, False) for o, c in zip(outs, COTANGENTS) if o.requires_grad]
    grads = grad(roots, [args[k] for k in LEAVES], cots, allow_unused=True)
    print("  gradients:", [None if g is None else np.round(np.asarray(g.detach().tolist()), 4).tolist() for g in grads])


ns = xpgrad.namespace("{backend}")
for name, xp, make, grad in [
    ("xpgrad", ns, lambda a, g: ns.asarray(np.array(a), requires_grad=g), xpgrad.grad),
    ("torch", txp, lambda a, g: torch.tensor(np.array(a)).requires_grad_(g), torch.autograd.grad),
]:
    print(name)
    try:
        run(xp, make, grad)
    except Exception as exc:
        print("  raises", type(exc).__name__, exc)
"""


def _literal(a: np.ndarray) -> str:
    return f"np.asarray({np.asarray(a).tolist()!r}, dtype={a.dtype.name!r})"


def script(program: Program, backend: str, title: str, output_shapes=None) -> str:
    """A runnable script printing both sides' outputs and first-order gradients (the
    second-order check is described in docs/fuzzing.md)."""
    inputs = "\n".join(f"    {i.name!r}: {_literal(i.value)}," for i in program.inputs)
    cots = []
    for k in range(len(program.outputs)):
        if output_shapes is not None and k < len(output_shapes):
            shape, dt = output_shapes[k]
            cots.append(_literal(cotangent(program, k, shape, np.dtype(dt))))
        else:
            cots.append("None")
    return _TEMPLATE.format(
        backend=backend,
        title=title,
        source=program.source(),
        inputs=inputs,
        leaves=program.leaves,
        cotangents=", ".join(cots),
    )
