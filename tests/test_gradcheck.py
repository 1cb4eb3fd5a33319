"""``xpgrad.gradcheck``'s finite differences: the default central differences (torch's) and
``method="richardson"`` (Richardson-extrapolated, one-sided at the edge of a domain), which
resolves a 1e-6 relative error in float64 (issue 24)."""

from __future__ import annotations

import numpy as np
import pytest

import xpgrad

xp = xpgrad.numpy
FACTOR = 1 + 1e-6


class Sinh(xpgrad.Function):
    """sinh with a first derivative ``(1 + bias) cosh(x)`` and a second derivative
    ``(1 + bias2) sinh(x)`` (the first derivative's value unchanged by ``bias2``)."""

    bias = 0.0
    bias2 = 0.0

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return xp.sinh(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        d = xp.cosh(x)
        d = d + (d - d.detach()) * Sinh.bias2  # the second order only
        return g * d * (1 + Sinh.bias)


@pytest.fixture(autouse=True)
def _unbiased():
    Sinh.bias = Sinh.bias2 = 0.0
    yield
    Sinh.bias = Sinh.bias2 = 0.0


def _x():
    return xp.asarray(np.linspace(-1.5, 2.0, 6), requires_grad=True)


def test_richardson_resolves_what_central_differences_cannot():
    # A large value with an O(1) slope (a loss near its minimum): central differences with a step
    # of 1e-6 lose |f| * 2**-52 / 1e-6 ~ 2e-6 to round-off; Richardson's steps are 1000 times
    # larger, its truncation error cancelled by the extrapolation.
    def f(x):
        return 1e4 + xp.sin(x)

    x = xp.asarray([0.1, 0.6, 1.2], requires_grad=True)
    assert not xpgrad.gradcheck(f, (x,), rtol=1e-7, atol=0.0, raise_exception=False)
    assert xpgrad.gradcheck(f, (x,), rtol=1e-9, atol=0.0, method="richardson")
    assert xpgrad.gradgradcheck(f, (x,), rtol=1e-9, atol=1e-12, method="richardson")


@pytest.mark.parametrize("bias", [1e-6, -1e-6])
def test_richardson_catches_a_relative_error_of_1e_6(bias):
    assert xpgrad.gradcheck(Sinh.apply, (_x(),), rtol=1e-7, atol=1e-9, method="richardson")
    Sinh.bias = bias
    # torch's defaults (and this function's) do not see it ...
    assert xpgrad.gradcheck(Sinh.apply, (_x(),))
    # ... Richardson's differences at rtol 1e-7 do, in the full Jacobian and in fast mode.
    with pytest.raises(xpgrad.GradcheckError, match="Jacobian mismatch for input 0"):
        xpgrad.gradcheck(Sinh.apply, (_x(),), rtol=1e-7, atol=1e-9, method="richardson")
    assert not xpgrad.gradcheck(
        Sinh.apply, (_x(),), rtol=1e-7, atol=1e-9, method="richardson", fast_mode=True, raise_exception=False
    )


def test_richardson_catches_a_second_order_error_of_1e_6():
    assert xpgrad.gradgradcheck(Sinh.apply, (_x(),), rtol=1e-7, atol=1e-9, method="richardson")
    Sinh.bias2 = 1e-6
    assert xpgrad.gradcheck(Sinh.apply, (_x(),), rtol=1e-7, atol=1e-9, method="richardson")
    assert not xpgrad.gradgradcheck(
        Sinh.apply, (_x(),), rtol=1e-7, atol=1e-9, method="richardson", raise_exception=False
    )


def test_complex_inputs():
    z = xp.asarray([1.0 + 2.0j, -0.5j, 0.3 - 0.7j], requires_grad=True)
    assert xpgrad.gradcheck(lambda z: xp.sin(z) * z, (z,), rtol=1e-9, atol=1e-12, method="richardson")
    assert xpgrad.gradgradcheck(lambda z: xp.sin(z) * z, (z,), rtol=1e-8, atol=1e-12, method="richardson")


def test_near_the_edge_of_a_domain_the_step_shrinks():
    # sqrt at 1e-4 (the first step, 2**-7, reaches past 0): the step shrinks until both sides
    # are finite, and the extrapolation converges.
    x = xp.asarray([1e-4, 0.5], requires_grad=True)
    with np.errstate(invalid="ignore"):
        assert xpgrad.gradcheck(xp.sqrt, (x,), rtol=1e-8, atol=0.0, method="richardson")


def test_at_the_edge_of_a_domain_differences_are_one_sided():
    # x exp(x) for x >= 0, nan below: the derivative at 0 (1) only has one side.
    def f(x):
        return xp.where(x >= 0, x * xp.exp(x), xp.asarray(float("nan")))

    x = xp.asarray([0.0, 0.25], requires_grad=True)
    assert xpgrad.gradcheck(f, (x,), rtol=1e-9, atol=1e-12, method="richardson")
    # Central differences see the nan.
    assert not xpgrad.gradcheck(f, (x,), raise_exception=False)


def test_a_jump_is_still_seen():
    # floor's derivative is 0 everywhere but at the integers, where central differences of any
    # step see the jump: extrapolation does not hide it.
    x = xp.asarray([1.0, 0.5], requires_grad=True)
    assert not xpgrad.gradcheck(xp.floor, (x,), method="richardson", raise_exception=False)


@pytest.mark.parametrize("check", [xpgrad.gradcheck, xpgrad.gradgradcheck])
def test_unknown_method_is_refused(check):
    with pytest.raises(ValueError, match=r"^gradg?r?a?d?check\(\): argument 'method' must be one of"):
        check(xp.sin, (_x(),), method="forward")
