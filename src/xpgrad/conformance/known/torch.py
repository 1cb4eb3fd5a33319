"""torch as the backend under test, against torch.autograd."""

from xpgrad.testing import KnownDifference as K

KNOWN = [
    K(
        "astype", "to_float64", "complex*", "*",
        "not strict: torch warns once per process when a complex tensor is cast to real (an error "
        "under -W error): only the first such call fails",
    ),
]  # fmt: skip
