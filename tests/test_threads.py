"""Concurrent backward calls, compared with torch.autograd run on the same programs.

Several threads differentiate through ONE retained graph at the same time. Each backward call
owns its gradient buffers, so the calls never see each other's partial sums; accumulation into a
shared leaf's ``.grad`` loses no contribution; grad modes are per thread; and the process-wide
garbage-collector switch (paused during a sweep) ends as it started.

The interpreter's thread switch interval is made tiny while the threads run, so that the threads
interleave inside the sweeps; the sizes keep each test to about a second.
"""

from __future__ import annotations

import gc
import sys
import threading

import numpy as np
import pytest
import torch

import xpgrad

xp = xpgrad.namespace(np)

N_THREADS = 4
ITERATIONS = 60


def _run_threads(worker, n=N_THREADS):
    """Run ``worker(k)`` in ``n`` threads started together; re-raise the first failure."""
    errors = []
    barrier = threading.Barrier(n)

    def run(k):
        try:
            barrier.wait()
            worker(k)
        except BaseException as exc:  # noqa: BLE001 - reported in the main thread
            errors.append(exc)

    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        threads = [threading.Thread(target=run, args=(k,)) for k in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(old)
    if errors:
        raise errors[0]


def _data(seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((5, 4)), rng.standard_normal((4, 3)), rng.standard_normal((N_THREADS, 5, 3))


def _shared_graph(api_xp, x, w):
    """A sub-graph with several uses of each intermediate (so buffers accumulate)."""
    h = api_xp.tanh(x @ w)
    h = h * h + api_xp.sin(h) * x[:, :3]
    return h + api_xp.exp(-h)


def _torch_expected():
    xs, ws, cs = _data()
    out = []
    for k in range(N_THREADS):
        x = torch.tensor(xs, requires_grad=True)
        w = torch.tensor(ws, requires_grad=True)
        h = _shared_graph(torch, x, w)
        loss = torch.sum(h * torch.tensor(cs[k])) + torch.sum(h) ** 2
        gx, gw = torch.autograd.grad(loss, [x, w])
        out.append((gx.numpy(), gw.numpy()))
    return out


def _backend(name):
    """(xpgrad namespace, raw array maker, to-NumPy) for a backend."""
    if name == "torch":
        return xpgrad.namespace(torch), lambda a: torch.tensor(a), lambda t: t.data.numpy()
    return xp, lambda a: a, lambda t: np.asarray(t.data)


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_concurrent_grad_through_a_shared_retained_graph(backend):
    bxp, raw, to_np = _backend(backend)
    xs, ws, cs = _data()
    expected = _torch_expected()
    x = bxp.asarray(raw(xs), requires_grad=True)
    w = bxp.asarray(raw(ws), requires_grad=True)
    h = _shared_graph(bxp, x, w)  # shared by every thread, retained
    losses = [bxp.sum(h * bxp.asarray(raw(cs[k]))) + bxp.sum(h) ** 2 for k in range(N_THREADS)]
    results = [[] for _ in range(N_THREADS)]

    def worker(k):
        for _ in range(ITERATIONS):
            gx, gw = xpgrad.grad(losses[k], [x, w], retain_graph=True)
            results[k].append((to_np(gx), to_np(gw)))

    _run_threads(worker)
    for k in range(N_THREADS):
        assert len(results[k]) == ITERATIONS
        for gx, gw in results[k]:
            np.testing.assert_allclose(gx, expected[k][0], rtol=1e-12, atol=1e-12)
            np.testing.assert_allclose(gw, expected[k][1], rtol=1e-12, atol=1e-12)


def test_concurrent_grad_from_one_shared_root_with_different_grad_outputs():
    xs, ws, cs = _data()
    x = xp.asarray(xs, requires_grad=True)
    w = xp.asarray(ws, requires_grad=True)
    h = _shared_graph(xp, x, w)
    xt = torch.tensor(xs, requires_grad=True)
    wt = torch.tensor(ws, requires_grad=True)
    ht = _shared_graph(torch, xt, wt)
    expected = [
        [g.numpy() for g in torch.autograd.grad(ht, [xt, wt], torch.tensor(cs[k]), retain_graph=True)]
        for k in range(N_THREADS)
    ]
    failures = []

    def worker(k):
        for _ in range(ITERATIONS):
            gx, gw = xpgrad.grad(h, [x, w], grad_outputs=xp.asarray(cs[k]), retain_graph=True)
            if not (np.allclose(gx.data, expected[k][0]) and np.allclose(gw.data, expected[k][1])):
                failures.append(k)

    _run_threads(worker)
    assert failures == []


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_concurrent_backward_accumulates_every_contribution(backend):
    bxp, raw, to_np = _backend(backend)
    xs, ws, cs = _data()
    expected = _torch_expected()
    x = bxp.asarray(raw(xs), requires_grad=True)
    w = bxp.asarray(raw(ws), requires_grad=True)
    h = _shared_graph(bxp, x, w)
    losses = [bxp.sum(h * bxp.asarray(raw(cs[k]))) + bxp.sum(h) ** 2 for k in range(N_THREADS)]

    def worker(k):
        for _ in range(ITERATIONS):
            losses[k].backward(retain_graph=True)

    _run_threads(worker)
    want_x = ITERATIONS * sum(e[0] for e in expected)
    want_w = ITERATIONS * sum(e[1] for e in expected)
    np.testing.assert_allclose(to_np(x.grad), want_x, rtol=1e-10)
    np.testing.assert_allclose(to_np(w.grad), want_w, rtol=1e-10)


def test_concurrent_backward_with_create_graph_and_separate_graphs():
    # Second order from each thread through its own graph over shared leaves.
    xs, ws, cs = _data()
    xt = torch.tensor(xs, requires_grad=True)
    (gt,) = torch.autograd.grad(torch.sum(torch.sin(xt) ** 3), xt, create_graph=True)
    (ggt,) = torch.autograd.grad(torch.sum(gt * gt), xt)
    x = xp.asarray(xs, requires_grad=True)
    results = [None] * N_THREADS

    def worker(k):
        for _ in range(ITERATIONS // 4):
            (g,) = xpgrad.grad(xp.sum(xp.sin(x) ** 3), x, create_graph=True)
            (gg,) = xpgrad.grad(xp.sum(g * g), x)
            results[k] = gg.data

    _run_threads(worker)
    for r in results:
        np.testing.assert_allclose(r, ggt.numpy(), rtol=1e-12)


def test_gc_switch_ends_as_it_started():
    x = xp.asarray(np.ones(50), requires_grad=True)
    y = xp.exp(xp.sin(x) * 2.0)

    def worker(k):
        for _ in range(ITERATIONS):
            xpgrad.grad(xp.sum(y), x, retain_graph=True)

    assert gc.isenabled()
    _run_threads(worker)
    assert gc.isenabled()
    gc.disable()
    try:
        _run_threads(worker)
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_grad_mode_is_per_thread_while_others_differentiate():
    x = xp.asarray(np.arange(3.0), requires_grad=True)
    seen = []

    def worker(k):
        for _ in range(ITERATIONS):
            if k % 2:
                with xpgrad.no_grad():
                    y = x * 2.0
                seen.append(y.requires_grad)
            else:
                y = x * 2.0
                seen.append(not y.requires_grad)
                (g,) = xpgrad.grad(xp.sum(y), x)
                seen.append(not np.array_equal(g.data, [2.0, 2.0, 2.0]))

    _run_threads(worker)
    assert xpgrad.is_grad_enabled()
    assert not any(seen)


class _Cube(xpgrad.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 3.0 * g * x * x


def test_concurrent_grad_through_a_shared_custom_function_node():
    xs, _, cs = _data()
    xt = torch.tensor(xs, requires_grad=True)
    ht = torch.tanh(xt) ** 3
    expected = [
        torch.autograd.grad(ht, xt, torch.tensor(cs[k][:, :1] * np.ones((5, 4))), retain_graph=True)[
            0
        ].numpy()
        for k in range(N_THREADS)
    ]
    x = xp.asarray(xs, requires_grad=True)
    h = _Cube.apply(xp.tanh(x))  # one Function node shared by every thread
    failures = []

    def worker(k):
        go = xp.asarray(cs[k][:, :1] * np.ones((5, 4)))
        for _ in range(ITERATIONS):
            (g,) = xpgrad.grad(h, x, grad_outputs=go, retain_graph=True)
            if not np.allclose(g.data, expected[k], rtol=1e-12):
                failures.append(k)

    _run_threads(worker)
    assert failures == []


def test_gc_stays_paused_until_the_last_overlapping_backward_ends():
    # A starts its sweep, B starts its own, A ends while B is still sweeping: the collector
    # must stay paused for B, and be enabled again once B ends (it was enabled before A began).
    a_in, b_in, a_done = threading.Event(), threading.Event(), threading.Event()
    seen = {}

    def hook_a(g):
        a_in.set()
        assert b_in.wait(10)
        return None

    def hook_b(g):
        b_in.set()
        assert a_done.wait(10)
        seen["B after A ended"] = gc.isenabled()
        return None

    xa = xp.asarray([1.0, 2.0], requires_grad=True)
    xb = xp.asarray([1.0, 2.0], requires_grad=True)
    ya, yb = xa * 2.0, xb * 3.0
    ya.register_hook(hook_a)
    yb.register_hook(hook_b)

    def run_a():
        xp.sum(ya).backward()
        a_done.set()

    def run_b():
        assert a_in.wait(10)
        xp.sum(yb).backward()

    assert gc.isenabled()
    threads = [threading.Thread(target=run_a), threading.Thread(target=run_b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen == {"B after A ended": False}
    assert gc.isenabled()
    np.testing.assert_array_equal(xa.grad.data, [2.0, 2.0])
    np.testing.assert_array_equal(xb.grad.data, [3.0, 3.0])
