"""numpy / numexpr / torch figures for the shapes of engine_bench.c."""
import time
import numpy as np
try:
    import numexpr as ne
except ImportError:  # optional
    ne = None
import torch

import sys
NT = int(sys.argv[1]) if len(sys.argv) > 1 else 2
torch.set_num_threads(NT)
if ne:
    ne.set_num_threads(NT)


def best(f, reps=7):
    b = 1e30
    for _ in range(reps):
        t0 = time.perf_counter()
        f()
        b = min(b, time.perf_counter() - t0)
    return b


rng = np.random.default_rng(0)
a = rng.uniform(-2, 2, 16 << 20).astype(np.float32)
b = rng.uniform(-2, 2, 16 << 20).astype(np.float32)
print("numpy_chain_16M %.6f" % best(lambda: np.maximum(np.tanh(a * b + 1) * 0.5 + a, 0)))
if ne:
    print("numexpr_chain_16M %.6f" % best(lambda: ne.evaluate("where(tanh(a*b+1)*0.5+a > 0, tanh(a*b+1)*0.5+a, 0)")))
ta, tb = torch.from_numpy(a), torch.from_numpy(b)
print("torch_chain_16M %.6f" % best(lambda: torch.relu(torch.tanh(ta * tb + 1) * 0.5 + ta)))
x = rng.uniform(-2, 2, (4096, 4096)).astype(np.float32)
print("numpy_rowsum_4096 %.6f" % best(lambda: x.sum(axis=1)))
print("numpy_colsum_4096 %.6f" % best(lambda: x.sum(axis=0)))


def np_softmax():
    e = np.exp(x - x.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


print("numpy_softmax_4096 %.6f" % best(np_softmax))
tx = torch.from_numpy(x)
print("torch_softmax_4096 %.6f" % best(lambda: torch.softmax(tx, 1)))
print("torch_rowsum_4096 %.6f" % best(lambda: tx.sum(1)))
