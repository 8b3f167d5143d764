"""cfuser vs numpy vs torch (CPU) on the throughput cases of the perf runner,
side by side in one run; best of several repeats (the machine is shared).

    PYTHONPATH=build/python python3 suites/core/bench/cases.py [filter]

Prints one line per case and size: times in microseconds, cfuser's speed-up
over each reference (>1: cfuser is faster), and GB/s of cfuser counting the
bytes read and written once.
"""
import sys
import time

import numpy as np
import torch

import cfuser
from cfuser import DataType, FusionDefinition

F32 = DataType.Float
MIB = 1 << 20


def best(fn, budget=0.6, reps_min=5):
    fn()
    t0 = time.perf_counter()
    fn()
    one = time.perf_counter() - t0
    reps = max(reps_min, min(2000, int(budget / max(one, 1e-7))))
    inner = max(1, int(2e-3 / max(one, 1e-7)))
    b = 1e30
    for _ in range(max(3, reps // inner)):
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        b = min(b, (time.perf_counter() - t0) / inner)
    return b


def tensor(fd, ndim):
    return fd.define_tensor(shape=[-1] * ndim, contiguity=True, dtype=F32)


def def_chain(fd):
    a, b = tensor(fd, 1), tensor(fd, 1)
    o = fd.ops
    fd.add_output(o.relu(o.add(o.mul(o.tanh(o.add(o.mul(a, b), 1.0)), 0.5), a)))


def def_bcast(fd):
    x, b = tensor(fd, 2), tensor(fd, 1)
    fd.add_output(fd.ops.add(x, fd.ops.broadcast_in_dim(b, shape=x.shape(), broadcast_dims=[1])))


def def_rowsum(fd):
    fd.add_output(fd.ops.sum(tensor(fd, 2), dims=[1], keepdim=False))


def def_colsum(fd):
    fd.add_output(fd.ops.sum(tensor(fd, 2), dims=[0], keepdim=False))


def def_softmax(fd):
    x = tensor(fd, 2)
    o = fd.ops
    m = o.max(x, dims=[1], keepdim=False)
    e = o.exp(o.sub(x, o.broadcast_in_dim(m, shape=x.shape(), broadcast_dims=[0])))
    s = o.sum(e, dims=[1], keepdim=False)
    fd.add_output(o.div(e, o.broadcast_in_dim(s, shape=x.shape(), broadcast_dims=[0])))


def def_add(fd):
    fd.add_output(fd.ops.add(tensor(fd, 1), tensor(fd, 1)))


def np_softmax(x):
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def mat(nbytes):
    cols = min(4096, nbytes // 4)
    return (nbytes // 4 // cols, cols)


# name, define, inputs(nbytes) -> list of arrays, numpy ref, torch ref, bytes moved
CASES = [
    ("chain", def_chain, lambda nb: [nb // 4, nb // 4],
     lambda a, b: np.maximum(np.tanh(a * b + 1.0) * 0.5 + a, 0.0),
     lambda a, b: torch.relu(torch.tanh(a * b + 1.0) * 0.5 + a), 3),
    ("bcast_add", def_bcast, lambda nb: [mat(nb), (mat(nb)[1],)],
     lambda x, b: x + b, lambda x, b: x + b, 2),
    ("row_sum", def_rowsum, lambda nb: [mat(nb)],
     lambda x: x.sum(axis=1), lambda x: x.sum(dim=1), 1),
    ("col_sum", def_colsum, lambda nb: [mat(nb)],
     lambda x: x.sum(axis=0), lambda x: x.sum(dim=0), 1),
    ("softmax", def_softmax, lambda nb: [mat(nb)],
     np_softmax, lambda x: torch.softmax(x, dim=1), 2),
]
SIZES = [1 * MIB, 8 * MIB, 64 * MIB]


def main():
    filt = sys.argv[1] if len(sys.argv) > 1 else ""
    torch.set_num_threads(2)
    rng = np.random.default_rng(1)
    print(f"{'case':10} {'size':>6} {'cfuser_us':>10} {'numpy_us':>10} {'torch_us':>10}"
          f" {'x_numpy':>8} {'x_torch':>8} {'GB/s':>6}")
    for name, define, shapes, npf, tf, passes in CASES:
        if filt not in name:
            continue
        with FusionDefinition() as fd:
            define(fd)
        for nb in SIZES:
            xs = [rng.standard_normal(s, dtype=np.float32) for s in shapes(nb)]
            ts = [torch.from_numpy(x) for x in xs]
            got = fd.execute(xs)[0]
            ref = npf(*xs)
            if not np.allclose(got, ref, rtol=1e-4, atol=1e-4 * max(1.0, float(np.abs(ref).max()))):
                print(f"{name} {nb // MIB}MiB: MISMATCH max err {np.abs(got - ref).max()}")
            tc = best(lambda: fd.execute(xs))
            tn = best(lambda: npf(*xs))
            tt = best(lambda: tf(*ts))
            gbs = passes * nb / tc / 1e9
            print(f"{name:10} {nb // MIB:>4}Mi {tc * 1e6:10.1f} {tn * 1e6:10.1f} {tt * 1e6:10.1f}"
                  f" {tn / tc:8.2f} {tt / tc:8.2f} {gbs:6.1f}", flush=True)
    if filt in "small_add":
        with FusionDefinition() as fd:
            def_add(fd)
        a = np.ones(1024, np.float32)
        b = np.ones(1024, np.float32)
        t = best(lambda: fd.execute([a, b]), budget=0.5)
        tn = best(lambda: a + b, budget=0.3)
        print(f"small_add  1k     {t * 1e6:10.2f} {tn * 1e6:10.2f}")
    src = np.ones(64 * MIB, np.uint8)
    dst = np.empty_like(src)
    tm = best(lambda: np.copyto(dst, src))
    print(f"memcpy 64MiB {tm * 1e6:.0f} us = {2 * 64 * MIB / tm / 1e9:.1f} GB/s (read+write)")


if __name__ == "__main__":
    main()
