"""GPU checks for xpgrad: CuPy and torch on CUDA. NOT run in CI (CI has no GPU).

    python tools/gpu_check.py            # everything, about 5-8 minutes on one GPU
    python tools/gpu_check.py --quick    # conformance on a 1/8 subset (about 2 minutes)

Steps, each reported PASS/FAIL with its time (exit status 1 if any failed):

1. ``pytest conformance --backend=cupy`` (known differences: conformance/known/cupy.py);
2. ``pytest conformance --backend=torch`` with torch's default device set to CUDA, so the
   samples and every gradient live on the GPU;
3. scatter-add (the gradient of an integer-array index) with repeated indices in every floating
   and complex dtype on CuPy and on torch CUDA, against NumPy's ``np.add.at``;
4. writes through views on torch CUDA (``__setitem__`` on a slice of a non-leaf, gradients
   through the base) against torch.autograd on the same device;
5. DLPack exchange: an xpgrad CuPy Tensor to torch and back (``from_dlpack``), zero copy, and
   ``__dlpack__`` refusing a Tensor that requires grad;
6. the chain benchmark (``benchmarks/_chain.py`` mix, 2,000 ops on 1e6 elements) on xpgrad over
   CuPy and over torch CUDA against plain torch.autograd on CUDA: gradients compared, then timed.

Nothing here downloads anything; it needs cupy (``pip install cupy-cuda12x``) and a CUDA torch.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import traceback

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "src"))

RESULTS: list[tuple[str, bool, float, str]] = []


def step(name):
    def wrap(fn):
        def run(*args):
            t0 = time.perf_counter()
            try:
                detail = fn(*args) or ""
                ok = True
            except Exception:  # noqa: BLE001 - report every failure and go on
                detail = traceback.format_exc(limit=6)
                ok = False
            dt = time.perf_counter() - t0
            RESULTS.append((name, ok, dt, detail))
            print(
                f"[{'PASS' if ok else 'FAIL'}] {name} ({dt:.1f} s) {detail if not ok else detail[:200]}",
                flush=True,
            )

        return run

    return wrap


def _pytest(args, env=None):
    cmd = [sys.executable, "-m", "pytest", "conformance", "-q", "-p", "no:cacheprovider", *args]
    r = subprocess.run(
        cmd,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": os.path.join(ROOT, "src"), **(env or {})},
        capture_output=True,
        text=True,
        timeout=480,
    )
    tail = "\n".join(r.stdout.strip().splitlines()[-3:])
    if r.returncode != 0:
        raise AssertionError(
            f"{' '.join(cmd)} exited {r.returncode}:\n{r.stdout[-4000:]}\n{r.stderr[-2000:]}"
        )
    return tail


@step("conformance on CuPy")
def conformance_cupy(subset):
    return _pytest(["--backend=cupy", f"--subset={subset}"])


@step("conformance on torch CUDA")
def conformance_torch_cuda(subset):
    # conftest-free switch: torch's default device is read by torch.tensor(...) in the runner.
    code = (
        "import sys, torch, pytest; torch.set_default_device('cuda'); "
        f"sys.exit(pytest.main(['conformance', '--backend=torch', '--subset={subset}', '-q', "
        "'-p', 'no:cacheprovider']))"
    )
    r = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=480,
        env={**os.environ, "PYTHONPATH": os.path.join(ROOT, "src")},
    )
    if r.returncode != 0:
        raise AssertionError(r.stdout[-4000:] + r.stderr[-2000:])
    return r.stdout.strip().splitlines()[-1]


DTYPES = ("float32", "float64", "complex64", "complex128")


def _scatter_case(xp, to_numpy, dtype):
    rng = np.random.default_rng(0)
    base = rng.standard_normal((50, 7))
    if dtype.startswith("complex"):
        base = base + 1j * rng.standard_normal((50, 7))
    base = base.astype(dtype)
    idx = np.array([3, 3, 3, 0, 49, 3, 10, 10])
    cot = rng.standard_normal((len(idx), 7)).astype(dtype)
    x = xp.asarray(xp._xp.asarray(base), requires_grad=True)
    y = x[xp._xp.asarray(idx)]
    (g,) = __import__("xpgrad").grad(y, [x], grad_outputs=[xp.asarray(xp._xp.asarray(cot))])
    expect = np.zeros_like(base)
    np.add.at(expect, idx, cot)
    got = to_numpy(g.data)
    np.testing.assert_allclose(got, expect, rtol=1e-5, atol=1e-6)
    assert got.dtype == base.dtype


@step("scatter-add with repeated indices, every dtype (CuPy, torch CUDA)")
def scatter_add():
    import cupy
    import torch

    import xpgrad

    xc = xpgrad.namespace(cupy)
    xt = xpgrad.namespace(torch)
    for dtype in DTYPES:
        _scatter_case(xc, cupy.asnumpy, dtype)
    old = torch.get_default_device()
    torch.set_default_device("cuda")
    try:
        for dtype in DTYPES:
            _scatter_case(xt, lambda a: a.cpu().numpy(), dtype)
    finally:
        torch.set_default_device(old)
    return "4 dtypes x 2 backends"


@step("writes through views (torch CUDA, CuPy) against torch.autograd")
def views():
    import cupy
    import torch

    import xpgrad

    base = np.arange(12.0).reshape(3, 4) / 7
    # torch.autograd reference on CUDA
    a = torch.tensor(base, device="cuda", requires_grad=True)
    b = a * 2
    v = b[1:, ::2]
    v[...] = torch.sin(v) * 3
    (b.sum() ** 2).backward()
    want = a.grad.cpu().numpy()
    for ns, to_np in (
        (xpgrad.namespace(torch), lambda t: t.cpu().numpy()),
        (xpgrad.namespace(cupy), cupy.asnumpy),
    ):
        raw = ns._xp.asarray(base, device="cuda") if ns.backend._is_torch else ns._xp.asarray(base)
        x = ns.asarray(raw, requires_grad=True)
        y = x * 2
        w = y[1:, ::2]
        w[...] = ns.sin(w) * 3
        (ns.sum(y) ** 2).backward()
        np.testing.assert_allclose(to_np(x.grad.data), want, rtol=1e-10)


@step("dlpack exchange between xpgrad-on-CuPy and torch CUDA")
def dlpack():
    import cupy
    import torch

    import xpgrad

    xc = xpgrad.namespace(cupy)
    xt = xpgrad.namespace(torch)
    c = xc.asarray(cupy.arange(6.0))
    t = torch.from_dlpack(c)  # plain Tensor (no grad): allowed, zero copy
    assert t.device.type == "cuda" and t.data_ptr() == c.data.data.ptr
    back = xc.from_dlpack(xt.asarray(t))
    assert int(back.data.data.ptr) == t.data_ptr()
    leaf = xc.asarray(cupy.ones(3), requires_grad=True)
    try:
        torch.from_dlpack(leaf)
    except (TypeError, RuntimeError, BufferError) as exc:
        assert "detach" in str(exc)
    else:
        raise AssertionError("__dlpack__ accepted a Tensor that requires grad")


@step("chain benchmark on the GPU: xpgrad (CuPy, torch CUDA) vs torch.autograd")
def chain(n_ops=2000, size=10**6):
    import cupy
    import torch

    import xpgrad
    from benchmarks import _chain

    x0 = _chain.input_array(size)
    seq_t = _chain.sequence(_chain.ops(torch), n_ops)

    def run_torch():
        x = torch.tensor(x0, device="cuda", requires_grad=True)
        y = x
        for f in seq_t:
            y = f(y)
        y.sum().backward()
        torch.cuda.synchronize()
        return x.grad

    want = run_torch().cpu().numpy()
    lines = []
    for name, ns, raw, sync, to_np in (
        (
            "xpgrad/cupy",
            xpgrad.namespace(cupy),
            lambda a: cupy.asarray(a),
            cupy.cuda.Device().synchronize,
            cupy.asnumpy,
        ),
        (
            "xpgrad/torch-cuda",
            xpgrad.namespace(torch),
            lambda a: torch.tensor(a, device="cuda"),
            torch.cuda.synchronize,
            lambda t: t.cpu().numpy(),
        ),
    ):
        seq = _chain.sequence(_chain.ops(ns), n_ops)

        def run(ns=ns, raw=raw, seq=seq, sync=sync):
            x = ns.asarray(raw(x0), requires_grad=True)
            y = x
            for f in seq:
                y = f(y)
            ns.sum(y).backward()
            sync()
            return x.grad

        np.testing.assert_allclose(to_np(run().data), want, rtol=1e-6, atol=1e-12)
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            run()
            times.append(time.perf_counter() - t0)
        lines.append(f"{name} {min(times):.3f} s")
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        run_torch()
        times.append(time.perf_counter() - t0)
    lines.append(f"torch.autograd {min(times):.3f} s")
    return "; ".join(lines) + f" ({n_ops} ops on {size} float64)"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="conformance on a 1/8 subset")
    args = p.parse_args(argv)
    subset = 8 if args.quick else 1
    t0 = time.perf_counter()
    conformance_cupy(subset)
    conformance_torch_cuda(subset)
    scatter_add()
    views()
    dlpack()
    chain()
    failed = [r for r in RESULTS if not r[1]]
    print(
        f"\n{len(RESULTS) - len(failed)} of {len(RESULTS)} steps passed in {time.perf_counter() - t0:.0f} s"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
