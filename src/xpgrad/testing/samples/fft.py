"""Samples for the ``fft`` extension.

Every transform is sampled with each ``norm``, with ``n``/``s`` equal to, smaller than (crop)
and larger than (zero-pad) the input, with even and odd lengths, and along several axes.
c2c and c2r transforms take complex inputs (random, so not Hermitian: the imaginary parts of
the zero and Nyquist bins, which a c2r transform ignores, get zero gradient as in torch);
r2c transforms take real inputs. Transforms have no empty-batch sample: torch's CPU (MKL) FFT
rejects a zero-size batch ("Inconsistent configuration parameters").
"""

from __future__ import annotations

from .._opinfo import ALL_FLOAT, COMPLEX, FLOAT, OpInfo, Sample

NORMS = ("backward", "ortho", "forward")


def _arr(rng, shape, dtype):
    a = rng.standard_normal(shape)
    if dtype.startswith("complex"):
        a = a + 1j * rng.standard_normal(shape)
    return a


def _c2c_samples(rng, dtype):
    """fft, ifft, rfft, ihfft: ``n`` is the number of input points used."""
    for norm in NORMS:
        for m in (5, 6):
            yield Sample((_arr(rng, (m,), dtype),), {"norm": norm}, name=f"m={m},norm={norm}")
            yield Sample(
                (_arr(rng, (m,), dtype),),
                {"n": m - 2, "norm": norm},
                name=f"m={m},n={m - 2}(crop),norm={norm}",
            )
            yield Sample(
                (_arr(rng, (m,), dtype),),
                {"n": m + 3, "norm": norm},
                name=f"m={m},n={m + 3}(pad),norm={norm}",
            )
    yield Sample((_arr(rng, (4, 3), dtype),), {"axis": 0}, name="2-d,axis=0")
    yield Sample((_arr(rng, (4, 3), dtype),), {"n": 6, "axis": 0, "norm": "ortho"}, name="2-d,axis=0,n=6")
    yield Sample((_arr(rng, (3, 7), dtype),), {"n": 4, "axis": -1, "norm": "forward"}, name="2-d,batch,n=4")
    yield Sample((_arr(rng, (2, 5, 3), dtype),), {"n": 4, "axis": 1}, name="3-d,axis=1,n=4")
    yield Sample(
        (_arr(rng, (2, 5, 3), dtype),), {"n": 8, "axis": -2, "norm": "ortho"}, name="3-d,axis=-2,n=8"
    )
    yield Sample((_arr(rng, (1,), dtype),), {}, name="length 1")
    yield Sample((_arr(rng, (1,), dtype),), {"n": 4}, name="length 1,n=4")
    yield Sample((_arr(rng, (4, 8), dtype)[:, ::2],), {"n": 5}, name="non-contiguous")


def _c2r_samples(rng, dtype):
    """irfft, hfft: ``n`` is the output length; ``n//2 + 1`` input points are used."""
    for norm in NORMS:
        for m in (4, 5):
            x = _arr(rng, (m,), dtype)
            yield Sample((x,), {"norm": norm}, name=f"m={m},n=2(m-1)(even),norm={norm}")
            for n, what in (
                (2 * m - 1, "odd,equal"),
                (3, "odd,crop"),
                (4, "even,crop"),
                (2 * m + 1, "odd,pad"),
                (2 * m + 2, "even,pad"),
            ):
                yield Sample(
                    (_arr(rng, (m,), dtype),), {"n": n, "norm": norm}, name=f"m={m},n={n}({what}),norm={norm}"
                )
    yield Sample((_arr(rng, (4, 3), dtype),), {"axis": 0}, name="2-d,axis=0")
    yield Sample((_arr(rng, (4, 3), dtype),), {"n": 9, "axis": 0, "norm": "ortho"}, name="2-d,axis=0,n=9")
    yield Sample((_arr(rng, (3, 6), dtype),), {"n": 5, "axis": -1, "norm": "forward"}, name="2-d,batch,n=5")
    yield Sample((_arr(rng, (2, 4, 3), dtype),), {"n": 7, "axis": 1}, name="3-d,axis=1,n=7")
    yield Sample(
        (_arr(rng, (2, 4, 3), dtype),), {"n": 4, "axis": -2, "norm": "ortho"}, name="3-d,axis=-2,n=4"
    )
    yield Sample((_arr(rng, (1,), dtype),), {"n": 1}, name="length 1,n=1")
    yield Sample((_arr(rng, (2,), dtype),), {}, name="length 2 (n=2)")
    yield Sample((_arr(rng, (4, 8), dtype)[:, ::2],), {"n": 5}, name="non-contiguous")


def _nd_samples(rng, dtype):
    """fftn, ifftn, rfftn: ``s[i]`` input points are used along ``axes[i]``."""
    for norm in NORMS:
        yield Sample((_arr(rng, (3, 4), dtype),), {"norm": norm}, name=f"2-d,all axes,norm={norm}")
        yield Sample(
            (_arr(rng, (3, 4), dtype),),
            {"s": (2, 6), "axes": (0, 1), "norm": norm},
            name=f"s=(2,6)(crop,pad),norm={norm}",
        )
        yield Sample(
            (_arr(rng, (3, 4), dtype),),
            {"s": (5, 3), "axes": (1, 0), "norm": norm},
            name=f"axes=(1,0),s=(5,3),norm={norm}",
        )
        yield Sample(
            (_arr(rng, (2, 3, 5), dtype),),
            {"s": (3, 4), "axes": (0, 2), "norm": norm},
            name=f"3-d,axes=(0,2),norm={norm}",
        )
    yield Sample((_arr(rng, (3, 4), dtype),), {"axes": (-1,)}, name="axes=(-1,)")
    yield Sample((_arr(rng, (3, 4), dtype),), {"axes": (0,), "s": (5,)}, name="axes=(0,),s=(5,)")
    yield Sample((_arr(rng, (3, 4), dtype),), {"s": (-1, 7), "axes": (0, 1)}, name="s=(-1,7)")
    yield Sample((_arr(rng, (2, 3, 4), dtype),), {"s": (3, 5)}, name="s without axes (last len(s) axes)")
    yield Sample((_arr(rng, (5,), dtype),), {"s": (7,), "axes": (0,), "norm": "ortho"}, name="1-d")


def _irfftn_samples(rng, dtype):
    """irfftn: ``s`` is the output shape; ``s[-1]//2 + 1`` points are used on the last axis."""
    for norm in NORMS:
        yield Sample((_arr(rng, (3, 4), dtype),), {"norm": norm}, name=f"2-d,default s,norm={norm}")
        yield Sample(
            (_arr(rng, (3, 4), dtype),),
            {"s": (2, 7), "axes": (0, 1), "norm": norm},
            name=f"s=(2,7)(crop,odd),norm={norm}",
        )
        yield Sample(
            (_arr(rng, (3, 4), dtype),),
            {"s": (5, 10), "axes": (0, 1), "norm": norm},
            name=f"s=(5,10)(pad,even),norm={norm}",
        )
        yield Sample(
            (_arr(rng, (3, 4), dtype),),
            {"s": (4, 3), "axes": (1, 0), "norm": norm},
            name=f"axes=(1,0),s=(4,3),norm={norm}",
        )
        yield Sample(
            (_arr(rng, (2, 3, 4), dtype),),
            {"s": (3, 3), "axes": (2, 0), "norm": norm},
            name=f"3-d,axes=(2,0),norm={norm}",
        )
    yield Sample((_arr(rng, (3, 4), dtype),), {"axes": (0,)}, name="axes=(0,)")
    yield Sample((_arr(rng, (3, 4), dtype),), {"s": (-1, 5), "axes": (0, 1)}, name="s=(-1,5)")
    yield Sample((_arr(rng, (2, 3, 4), dtype),), {"s": (3, 5)}, name="s without axes (last len(s) axes)")
    yield Sample((_arr(rng, (5,), dtype),), {"s": (9,), "axes": (0,), "norm": "ortho"}, name="1-d")


def _shift_samples(rng, dtype):
    yield Sample((_arr(rng, (5,), dtype),), {}, name="1-d,odd")
    yield Sample((_arr(rng, (6,), dtype),), {}, name="1-d,even")
    yield Sample((_arr(rng, (4, 5), dtype),), {}, name="2-d,all axes")
    yield Sample((_arr(rng, (4, 5), dtype),), {"axes": 0}, name="axes=0")
    yield Sample((_arr(rng, (4, 5), dtype),), {"axes": -1}, name="axes=-1")
    yield Sample((_arr(rng, (2, 3, 5), dtype),), {"axes": (0, 2)}, name="3-d,axes=(0,2)")
    yield Sample((_arr(rng, (2, 3, 5), dtype),), {"axes": (2, 1)}, name="3-d,axes=(2,1)")
    yield Sample((_arr(rng, (0, 3), dtype),), {}, name="empty")


def _freq_samples(rng, dtype):
    for n in (1, 4, 5):
        yield Sample((n,), {}, name=f"n={n}")
        yield Sample((n,), {"d": 0.25}, name=f"n={n},d=0.25")


def _op(name, samples, dtypes):
    return OpInfo(f"fft.{name}", samples, dtypes=dtypes)


OPS = [
    _op("fft", _c2c_samples, COMPLEX),
    _op("ifft", _c2c_samples, COMPLEX),
    _op("rfft", _c2c_samples, FLOAT),
    _op("ihfft", _c2c_samples, FLOAT),
    _op("irfft", _c2r_samples, COMPLEX),
    _op("hfft", _c2r_samples, COMPLEX),
    _op("fftn", _nd_samples, COMPLEX),
    _op("ifftn", _nd_samples, COMPLEX),
    _op("rfftn", _nd_samples, FLOAT),
    _op("irfftn", _irfftn_samples, COMPLEX),
    _op("fftshift", _shift_samples, ALL_FLOAT),
    _op("ifftshift", _shift_samples, ALL_FLOAT),
    OpInfo("fft.fftfreq", _freq_samples, dtypes=FLOAT, differentiable=False),
    OpInfo("fft.rfftfreq", _freq_samples, dtypes=FLOAT, differentiable=False),
]
