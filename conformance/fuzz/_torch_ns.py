"""The torch side's namespace: ``array_api_compat.torch`` with ``special``, the functions of
``xp.special`` that ``torch.special`` has under the same name and signature."""

from __future__ import annotations

import types

__all__ = ["SPECIAL", "torch_namespace"]

# xp.special functions the fuzzer draws whose torch.special namesake takes the same arguments and
# has a derivative in torch.
SPECIAL = (
    "digamma",
    "entr",
    "erf",
    "erfc",
    "erfcx",
    "expit",
    "gammaln",
    "i0",
    "i0e",
    "i1",
    "i1e",
    "log_ndtr",
    "logit",
    "ndtr",
    "ndtri",
    "sinc",
    "xlog1py",
    "xlogy",
)

_NS: types.SimpleNamespace | None = None


def torch_namespace():
    """``array_api_compat.torch`` with a ``special`` attribute (one object, made on first use)."""
    global _NS
    if _NS is None:
        import array_api_compat.torch as txp
        import torch

        special = types.SimpleNamespace(**{n: getattr(torch.special, n) for n in SPECIAL})
        _NS = types.SimpleNamespace(**{n: getattr(txp, n) for n in dir(txp) if not n.startswith("__")})
        _NS.special = special
    return _NS
