"""torch as the backend under test, against torch.autograd."""

from xpgrad.testing import KnownDifference as K

_BETALN_FLOAT32 = (
    "BUG (xpgrad, special.py): nbdtri's derivative divides by _beta_density(n, k + 1, p), whose "
    "betaln(n, k + 1) of Python integers is computed in torch's default dtype, float32: in float64 "
    "the gradient is off by 5e-8 relative and the second order by 1.04e-7, over the 1e-7 tolerance "
    "(found by the finite-difference reference; NumPy computes it in float64). Remove these entries "
    "with the fix: the samples whose second-order values are of order 1 fail, the 0-d one passes"
)

KNOWN = [
    K("special.nbdtri", "[12]-d", "float64", "second", _BETALN_FLOAT32),
    K("special.nbdtri", "*", "float64", "fwd_rev", _BETALN_FLOAT32),
    K(
        "astype", "to_float64", "complex*", "*",
        "torch warns when a complex tensor is cast to real (an error under -W error; a warn-once "
        "warning, raised at every call in the suite: xpgrad.testing._runner.torch_warns_always)",
    ),
]  # fmt: skip
