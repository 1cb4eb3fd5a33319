"""The sample registry: one :class:`OpInfo` per differentiable (or declared non-differentiable)
function, with a generator of sample inputs. It drives both the finite-difference tests in
``tests/`` and the torch conformance suite in ``conformance/``.

Samples are written with NumPy: each array argument is a ``numpy.ndarray``; the runners convert
floating/complex arrays to the dtype under test and to the backend under test, and make them
require grad. Integer and boolean arrays (indices, masks) are passed as constants.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

FLOAT = ("float32", "float64")
COMPLEX = ("complex64", "complex128")
ALL_FLOAT = FLOAT + COMPLEX


@dataclass
class Sample:
    """One call: ``fn(xp, *args, **kwargs)``.

    ``args`` hold numpy arrays (converted per dtype and backend) and plain Python values.
    ``grad``: indices of the positional arguments to differentiate (default: every floating or
    complex numpy array). ``name`` says what the sample exercises (shown in reports).
    """

    args: tuple
    kwargs: dict = field(default_factory=dict)
    name: str = ""
    grad: tuple | None = None


@dataclass
class OpInfo:
    """How to call and check one function of the namespace.

    name: the function's name in the namespace ("sin", "linalg.inv", "fft.rfft",
        "__getitem__" for operators).
    samples: ``samples(rng, dtype) -> iterable of Sample``; ``rng`` is a numpy Generator,
        ``dtype`` a dtype name from ``dtypes``.
    fn: ``fn(xp, *args, **kwargs)``; default calls ``xp.<name>``.
    dtypes: dtype names the function is differentiable for.
    output: ``output(xp, result) -> list of arrays`` to compare and differentiate (default: the
        result, or the floating entries of a tuple result). Use it for outputs whose gradient
        is only defined up to a gauge (eigenvectors, singular vectors).
    second_order: check second-order gradients.
    xfail: {"first"|"second"|"forward": reason} known differences from torch (a reason names
        the torch behaviour), per check; keys may be "<check>:<dtype>".
    rtol/atol: per-dtype tolerance overrides, e.g. {"float32": (1e-3, 1e-4)}.
    differentiable: False for functions declared non-differentiable (outputs must not
        require grad); their samples still run forward.
    torch_fn: ``torch_fn(torch_xp, *args, **kwargs)`` when torch must be called differently.
    """

    name: str
    samples: Callable[[Any, str], Iterable[Sample]]
    fn: Callable | None = None
    dtypes: tuple = FLOAT
    output: Callable | None = None
    second_order: bool = True
    xfail: dict = field(default_factory=dict)
    rtol: dict = field(default_factory=dict)
    atol: dict = field(default_factory=dict)
    differentiable: bool = True
    torch_fn: Callable | None = None

    def call(self, xp, *args, **kwargs):
        if self.fn is not None:
            return self.fn(xp, *args, **kwargs)
        target = xp
        for part in self.name.split("."):
            target = getattr(target, part)
        return target(*args, **kwargs)

    def call_torch(self, txp, *args, **kwargs):
        if self.torch_fn is not None:
            return self.torch_fn(txp, *args, **kwargs)
        return self.call(txp, *args, **kwargs)
