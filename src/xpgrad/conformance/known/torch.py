"""torch as the backend under test, against torch.autograd."""

from xpgrad.testing import KnownDifference as K

KNOWN = [
    K(
        "astype", "to_float64", "complex*", "*",
        "torch warns when a complex tensor is cast to real (an error under -W error; a warn-once "
        "warning, raised at every call in the suite: xpgrad.testing._runner.torch_warns_always)",
    ),
]  # fmt: skip
