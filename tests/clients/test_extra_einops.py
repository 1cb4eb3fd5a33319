"""array-api-extra and einops on xpgrad Tensors, compared with torch."""

from __future__ import annotations

import array_api_extra as xpx
import einops as einops_backends
import einops.array_api as einops_array_api
import pytest
from _harness import Call, normal, params, run


def two(f1, f2):
    return lambda rng: f1(rng) + f2(rng)


class _Einops:
    """einops' array API entry (``einops.array_api``) for arrays with ``__array_namespace__``
    (xpgrad Tensors); its backend registry (``einops``) for torch tensors, which have none."""

    def __getattr__(self, name):
        def call(x, *args, **kwargs):
            first = x[0] if isinstance(x, list) else x
            mod = einops_array_api if hasattr(first, "__array_namespace__") else einops_backends
            return getattr(mod, name)(x, *args, **kwargs)

        return call


einops = _Einops()


def _ns(x):
    from array_api_compat import array_namespace

    return array_namespace(x)


# xpx.at writes in place into a writeable array: here into an intermediate result (a leaf that
# requires grad may not be modified in place, on torch as on xpgrad), as library code does.
def _at_set(x, v):
    return xpx.at(x * 2, (slice(None), 1)).set(v)


def _at_add(x, v):
    return xpx.at(x * 2, (0, slice(1, 3))).add(v)


EXTRA = [
    Call("xpx.atleast_nd", lambda x: xpx.atleast_nd(x, ndim=3), normal(4)),
    Call("xpx.cov", lambda x: xpx.cov(x), normal(3, 6)),
    Call("xpx.create_diagonal", lambda x: xpx.create_diagonal(x), normal(4)),
    Call("xpx.create_diagonal(offset)", lambda x: xpx.create_diagonal(x, offset=-1), normal(3)),
    Call("xpx.kron", lambda a, b: xpx.kron(a, b), two(normal(2, 2), normal(2, 3))),
    Call("xpx.pad", lambda x: xpx.pad(x, 2), normal(3, 2)),
    Call("xpx.sinc", lambda x: xpx.sinc(x), normal(5)),
    Call("xpx.at.set", _at_set, two(normal(3, 4), normal(3))),
    Call("xpx.at.add", _at_add, two(normal(3, 4), normal(2))),
    Call("xpx.at.multiply", lambda x, v: xpx.at(x * 2, 1).multiply(v), two(normal(3, 2), normal(2))),
    Call(
        "xpx.apply_where",
        lambda x: xpx.apply_where(x > 0, x, lambda v: _ns(v).sqrt(v), fill_value=0.0),
        normal(6),
        second=False,
    ),
    Call("xpx.nan_to_num", lambda x: xpx.nan_to_num(x), normal(5)),
    Call(
        "xpx.one_hot.matmul",
        lambda w: _ns(w).matmul(xpx.one_hot(_ns(w).asarray([0, 2, 1]), 3, dtype=w.dtype), w),
        normal(3, 2),
    ),
    Call("xpx.pad(constant_values)", lambda x: xpx.pad(x, (1, 2), constant_values=1.5), normal(3, 2)),
    Call("xpx.at.set(copy=True)", lambda x, v: xpx.at(x, 0).set(v, copy=True), two(normal(3, 2), normal(2))),
]

EINOPS = [
    Call("einops.rearrange", lambda x: einops.rearrange(x, "a b c -> c (a b)"), normal(2, 3, 4)),
    Call("einops.rearrange(split)", lambda x: einops.rearrange(x, "(a b) c -> a b c", a=2), normal(6, 2)),
    Call("einops.reduce(sum)", lambda x: einops.reduce(x, "a b c -> a c", "sum"), normal(2, 3, 4)),
    Call("einops.reduce(mean)", lambda x: einops.reduce(x, "a b -> b", "mean"), normal(3, 4)),
    Call("einops.reduce(max)", lambda x: einops.reduce(x, "a b -> a", "max"), normal(3, 4)),
    Call("einops.reduce(prod)", lambda x: einops.reduce(x, "a b -> a", "prod"), normal(3, 4)),
    Call(
        "einops.reduce(pool)",
        lambda x: einops.reduce(x, "(h h2) (w w2) -> h w", "mean", h2=2, w2=2),
        normal(4, 4),
    ),
    Call("einops.repeat", lambda x: einops.repeat(x, "a b -> a b r", r=3), normal(2, 3)),
    Call(
        "einops.einsum",
        lambda a, b: einops.einsum(a, b, "i j, j k -> i k"),
        two(normal(2, 3), normal(3, 4)),
        xfail="einops.array_api has no einsum, and einops' backend registry does not know xpgrad Tensors",
    ),
    Call("einops.pack", lambda a, b: einops.pack([a, b], "i *")[0], two(normal(2, 3), normal(2, 2, 2))),
    Call("einops.unpack", lambda x: einops.unpack(x, [[2], [3]], "* c")[1], normal(5, 2)),
]

CALLS = EXTRA + EINOPS


@pytest.mark.parametrize("call", params(CALLS))
def test_extra_einops(call):
    run(call)
