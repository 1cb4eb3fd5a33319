"""The sample registry: one :class:`OpInfo` per differentiable (or declared non-differentiable)
function, with a generator of sample inputs. It drives both the finite-difference tests in
``tests/`` and the torch conformance suite in ``conformance/``.

Samples are written with NumPy: each array argument is a ``numpy.ndarray``; the runners convert
floating/complex arrays to the dtype under test and to the backend under test, and make them
require grad. Integer and boolean arrays (indices, masks) are passed as constants.

Conversion of a floating or complex sample array for the dtype under test (``dtype``):

- its precision becomes ``dtype``'s (float32/complex64 or float64/complex128);
- its kind (real or complex) is kept if the sample holds at least one complex array (samples that
  mix real and complex on purpose, e.g. ``astype`` from real to complex); otherwise, under a
  complex ``dtype``, real arrays become complex (generic samples then run as complex too, with a
  zero imaginary part: generate complex values for complex dtypes where the domain matters).

Arrays may also sit in lists/tuples (``concat([a, b])``) and in keyword arguments
(``clip(x, min=a)``); they are converted the same way.

Known differences are data, never silent skips: ``OpInfo.xfail`` and ``Sample.xfail`` map a
check to the reason (which names torch's behaviour). A key is ``"<check>"``,
``"<check>:<dtype>"`` or ``"<check>:<dtype>:<backend>"`` (``*`` matches anything); checks are
``forward``, ``first``, ``second`` (torch conformance) and ``gradcheck``, ``gradgradcheck``
(finite differences in ``tests/test_ops_fd.py``). A backend's differences from torch in the
conformance checks are data of their own, ``conformance/known/<backend>.py``
(:class:`xpgrad.testing.KnownDifference`); backend keys here are for the finite-difference
checks. An xfail that starts passing fails the run: every known difference is strict, per
check (``first`` does not cover ``jvp``: each check kind has its own entry and reason).

Where torch has no derivative at all (a function torch lacks or cannot differentiate, a point
where torch's reference formula is 0/0), there is nothing of torch's to compare a gradient with:
``OpInfo.fd_reference`` and ``Sample.fd_reference`` (keyed as ``xfail``, the value saying why
torch has none) make those checks compare xpgrad with finite differences of its own function
instead (:mod:`xpgrad.testing._fd_reference`). Such a check passes or fails on that comparison
and is reported as its own outcome, "checked against finite differences", never as a pass
against torch nor as a known difference.
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
    ``grad``: indices of the positional arguments (or names of keyword arguments) to
    differentiate (default: every floating or complex numpy array). ``name`` says what the
    sample exercises (shown in reports and test ids; unique within an op). ``xfail``: known
    differences of this sample only, keyed as ``OpInfo.xfail`` (e.g. a kink where central
    finite differences average the one-sided slopes: ``{"gradcheck": "..."}``).
    ``fd_reference``: checks of this sample only whose reference is finite differences, keyed
    as ``OpInfo.fd_reference``.
    """

    args: tuple
    kwargs: dict = field(default_factory=dict)
    name: str = ""
    grad: tuple | None = None
    xfail: dict = field(default_factory=dict)
    fd_reference: dict = field(default_factory=dict)


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
    xfail: {"first"|"second"|"forward"|"gradcheck"|"gradgradcheck": reason} known differences
        (a reason names the torch behaviour, or starts with "BUG:"), per check; keys may be
        "<check>:<dtype>" or "<check>:<dtype>:<backend>" (see the module docstring).
    fd_reference: {"first"|"second"|"jvp"|"fwd_rev": why torch has no reference} checks whose
        reference is finite differences of xpgrad's own function, keyed as ``xfail``.
    rtol/atol: per-dtype tolerance overrides of :data:`DEFAULT_TOLERANCES`, e.g.
        ``rtol={"float32": 3e-4}, atol={"float32": 3e-5}``: only where the reference (torch) or
        the computation itself is genuinely less accurate than the dtype allows.
    tolerance_reasons: {dtype: why} for every dtype ``rtol``/``atol`` override (required,
        ``tests/test_tolerances.py``): which side is less accurate, by how much, and why
        (measured against a float64 or mpmath value).
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
    fd_reference: dict = field(default_factory=dict)
    rtol: dict = field(default_factory=dict)
    atol: dict = field(default_factory=dict)
    differentiable: bool = True
    torch_fn: Callable | None = None
    tolerance_reasons: dict = field(default_factory=dict)

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
