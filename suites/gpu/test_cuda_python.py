"""The CUDA backend through the Python API, against torch on the same device.

Runs on a machine with a CUDA device (ci/gpu.sh); elsewhere every test is
skipped with the reason torch or cfuser gives.
"""
import gc
import threading

import pytest

torch = pytest.importorskip("torch")
import cfuser  # noqa: E402
from cfuser import DataType, FusionDefinition  # noqa: E402

if not torch.cuda.is_available():
    pytest.skip("no CUDA device visible to torch", allow_module_level=True)

DT = {"float32": DataType.Float, "float16": DataType.Half, "bfloat16": DataType.BFloat16,
      "int32": DataType.Int32, "int64": DataType.Int, "float64": DataType.Double, "bool": DataType.Bool}
TOL = {"float32": (1e-5, 1e-5), "float16": (2e-3, 2e-3), "bfloat16": (1.6e-2, 1.6e-2),
       "float64": (1e-12, 1e-12)}
SIZES = [1, 7, 1023, 1025, 65537]


def rand(shape, dtype, gen, lo=-2.0, hi=2.0):
    if dtype.startswith("int"):
        return torch.randint(-100, 100, shape, generator=gen, device="cuda", dtype=getattr(torch, dtype))
    if dtype == "bool":
        return torch.rand(shape, generator=gen, device="cuda") > 0.5
    x = torch.rand(shape, generator=gen, device="cuda", dtype=torch.float32) * (hi - lo) + lo
    return x.to(getattr(torch, dtype))


@pytest.fixture
def gen():
    g = torch.Generator(device="cuda")
    g.manual_seed(1234)
    return g


def close(out, ref, dtype):
    assert out.device == ref.device and out.shape == ref.shape, (out.shape, ref.shape)
    if ref.dtype.is_floating_point:
        rtol, atol = TOL.get(str(ref.dtype).split(".")[1], (1e-5, 1e-5))
        torch.testing.assert_close(out.float(), ref.float(), rtol=rtol, atol=atol, equal_nan=True)
    else:
        assert torch.equal(out, ref)


def run1(build, *inputs):
    with FusionDefinition() as fd:
        outs = build(fd)
        for o in outs if isinstance(outs, (list, tuple)) else [outs]:
            fd.add_output(o)
    return fd.execute(list(inputs))


UNARY = {
    "abs": torch.abs, "neg": torch.neg, "exp": torch.exp, "log": lambda x: torch.log(x.abs() + 0.5),
    "sqrt": lambda x: torch.sqrt(x.abs()), "rsqrt": lambda x: torch.rsqrt(x.abs() + 0.5),
    "sin": torch.sin, "cos": torch.cos, "tanh": torch.tanh, "sigmoid": torch.sigmoid,
    "relu": torch.relu, "silu": torch.nn.functional.silu, "erf": torch.erf, "floor": torch.floor,
    "ceil": torch.ceil, "trunc": torch.trunc, "reciprocal": lambda x: torch.reciprocal(x.abs() + 0.5),
    "expm1": torch.expm1, "log1p": lambda x: torch.log1p(x.abs()), "atan": torch.atan,
}
NEEDS_POSITIVE = {"log", "sqrt", "rsqrt", "reciprocal", "log1p"}


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
@pytest.mark.parametrize("op", sorted(UNARY))
def test_unary(op, dtype, gen):
    x = rand((3, 1025), dtype, gen)
    if op in NEEDS_POSITIVE:
        x = x.abs() + 0.5
        ref = getattr(torch, op)(x.float()) if op != "log1p" else torch.log1p(x.float())
    else:
        ref = UNARY[op](x.float())
    (out,) = run1(lambda fd: getattr(fd.ops, op)(fd.define_tensor(shape=[-1, -1], dtype=DT[dtype])), x)
    assert out.dtype == x.dtype and out.is_cuda
    close(out, ref.to(x.dtype), dtype)


BINARY = {"add": torch.add, "sub": torch.sub, "mul": torch.mul, "maximum": torch.maximum,
          "minimum": torch.minimum, "atan2": torch.atan2, "pow": torch.pow}


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16", "float64"])
@pytest.mark.parametrize("op", sorted(BINARY))
@pytest.mark.parametrize("n", SIZES)
def test_binary(op, dtype, n, gen):
    a, b = rand((n,), dtype, gen), rand((n,), dtype, gen)
    if op == "pow":
        a = a.abs() + 0.1   # real results only
    ref = BINARY[op](a.float() if dtype != "float64" else a, b.float() if dtype != "float64" else b)

    def build(fd):
        x = fd.define_tensor(shape=[-1], dtype=DT[dtype])
        y = fd.define_tensor(shape=[-1], dtype=DT[dtype])
        return getattr(fd.ops, op)(x, y)
    (out,) = run1(build, a, b)
    close(out, ref.to(a.dtype), dtype)


@pytest.mark.parametrize("op", ["add", "mul", "div", "remainder", "bitwise_and", "bitwise_xor", "maximum"])
@pytest.mark.parametrize("dtype", ["int32", "int64"])
def test_integer_binary(op, dtype, gen):
    a, b = rand((4097,), dtype, gen), rand((4097,), dtype, gen)
    b = torch.where(b == 0, torch.ones_like(b), b)

    def build(fd):
        return getattr(fd.ops, op)(fd.define_tensor(shape=[-1], dtype=DT[dtype]),
                                   fd.define_tensor(shape=[-1], dtype=DT[dtype]))
    (out,) = run1(build, a, b)
    ref = {"add": torch.add, "mul": torch.mul, "div": lambda x, y: torch.div(x, y, rounding_mode="trunc"),
           "remainder": torch.remainder, "bitwise_and": torch.bitwise_and,
           "bitwise_xor": torch.bitwise_xor, "maximum": torch.maximum}[op](a, b)
    close(out, ref, dtype)


@pytest.mark.parametrize("src", ["float32", "float16", "bfloat16", "int32", "bool"])
@pytest.mark.parametrize("dst", ["float32", "float16", "bfloat16", "int64", "float64"])
def test_cast(src, dst, gen):
    x = rand((7, 33), src, gen)
    (out,) = run1(lambda fd: fd.ops.cast(fd.define_tensor(shape=[-1, -1], dtype=DT[src]), DT[dst]), x)
    close(out, x.to(getattr(torch, dst)), dst)


def test_broadcast_and_strided_inputs(gen):
    x = rand((513, 257), "float32", gen).t()          # strided (transposed) input
    b = rand((513,), "float32", gen)

    def build(fd):
        t = fd.define_tensor(shape=[-1, -1], contiguity=False)
        v = fd.define_tensor(shape=[-1])
        vb = fd.ops.broadcast_in_dim(v, shape=t.shape(), broadcast_dims=[1])
        return fd.ops.mul(fd.ops.add(t, vb), 0.5)
    (out,) = run1(build, x, b)
    close(out, (x + b) * 0.5, "float32")


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
@pytest.mark.parametrize("op", ["sum", "max", "min"])
@pytest.mark.parametrize("dims", [[1], [0], [0, 1]])
@pytest.mark.parametrize("shape", [(1, 7), (33, 1025), (4097, 3)])
def test_reductions(op, dtype, dims, shape, gen):
    x = rand(shape, dtype, gen)
    (out,) = run1(lambda fd: getattr(fd.ops, op)(fd.define_tensor(shape=[-1, -1], dtype=DT[dtype]), dims=dims), x)
    xf = x.float()
    ref = {"sum": lambda: xf.sum(dims), "max": lambda: xf.amax(dims), "min": lambda: xf.amin(dims)}[op]()
    rtol = {"float32": 1e-4, "float16": 2e-2, "bfloat16": 5e-2}[dtype]
    torch.testing.assert_close(out.float(), ref.to(x.dtype).float(), rtol=rtol, atol=rtol * max(1, shape[0] * shape[1]) ** 0.5)


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
@pytest.mark.parametrize("case", [((4097, 3), [1]), ((7, 5), [0, 1]), ((5, 9), [0])])
def test_prod(dtype, case, gen):
    shape, dims = case
    x = rand(shape, dtype, gen, lo=0.8, hi=1.2)
    (out,) = run1(lambda fd: fd.ops.prod(fd.define_tensor(shape=[-1, -1], dtype=DT[dtype]), dims=dims), x)
    ref = x.float()
    for d in sorted(dims, reverse=True):
        ref = ref.prod(d)
    rtol = {"float32": 1e-4, "bfloat16": 5e-2}[dtype]
    torch.testing.assert_close(out.float(), ref.to(x.dtype).float(), rtol=rtol, atol=rtol)


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
@pytest.mark.parametrize("shape", [(64, 4096), (7, 1025), (1, 16384)])
def test_softmax_layernorm_rmsnorm(dtype, shape, gen):
    x = rand(shape, dtype, gen)

    def build(fd):
        t = fd.define_tensor(shape=[-1, -1], dtype=DT[dtype])
        o = fd.ops
        tf = o.cast(t, DataType.Float)
        m = o.max(tf, dims=[1], keepdim=True)
        e = o.exp(o.sub(tf, m))
        sm = o.cast(o.div(e, o.sum(e, dims=[1], keepdim=True)), DT[dtype])
        var, mean = o.var_mean(tf, dims=[1], correction=0, keepdim=True)
        ln = o.cast(o.mul(o.sub(tf, mean), o.rsqrt(o.add(var, 1e-5))), DT[dtype])
        ms = o.sum(o.mul(tf, tf), dims=[1], keepdim=True)
        rms = o.cast(o.mul(tf, o.rsqrt(o.add(o.div(ms, shape[1]), 1e-6))), DT[dtype])
        return [sm, ln, rms]
    sm, ln, rms = run1(build, x)
    xf = x.float()
    close(sm, torch.softmax(xf, 1).to(x.dtype), dtype)
    close(ln, torch.nn.functional.layer_norm(xf, (shape[1],), eps=1e-5).to(x.dtype), dtype)
    close(rms, (xf * torch.rsqrt(xf.pow(2).mean(1, keepdim=True) + 1e-6)).to(x.dtype), dtype)


def test_outputs_follow_torch_stream_semantics(gen):
    x = rand((1 << 20,), "float32", gen)
    with FusionDefinition() as fd:
        fd.add_output(fd.ops.mul(fd.define_tensor(shape=[-1]), 3.0))
    s = torch.cuda.Stream()
    with torch.cuda.stream(s):
        (y,) = fd.execute([x])
        z = y + 1.0          # queued on the same stream: sees y without a sync
    s.synchronize()
    close(z, x * 3.0 + 1.0, "float32")
    (y2,) = fd.execute([x], stream=s)
    s.synchronize()
    close(y2, x * 3.0, "float32")


def test_device_mismatch_and_cpu_inputs(gen):
    x = rand((16,), "float32", gen)
    with FusionDefinition() as fd:
        fd.add_output(fd.ops.add(fd.define_tensor(shape=[-1]), fd.define_tensor(shape=[-1])))
    with pytest.raises(cfuser.DeviceError, match="different devices"):
        fd.execute([x, x.cpu()])
    with pytest.raises(cfuser.DeviceError):
        fd.execute([x, x], device="cpu")
    (cpu_out,) = fd.execute([x.cpu(), x.cpu()])
    assert not cpu_out.is_cuda
    close(cpu_out, (x + x).cpu(), "float32")


def test_keep_alive_with_cuda_cache(gen):
    x = rand((1000,), "float32", gen)
    with FusionDefinition() as fd:
        fd.add_output(fd.ops.exp(fd.define_tensor(shape=[-1])))
    fec = cfuser.FusionExecutorCache(fd.fusion)
    del fd
    gc.collect()
    (y,) = fec.execute([x])
    close(y, torch.exp(x), "float32")
    assert fec.num_kernels() == 1


def test_threads_share_one_cache(gen):
    with FusionDefinition() as fd:
        fd.add_output(fd.ops.tanh(fd.ops.mul(fd.define_tensor(shape=[-1]), 2.0)))
    fec = cfuser.FusionExecutorCache(fd.fusion)
    xs = [rand((4096 + k,), "float32", gen) for k in range(8)]
    errors = []

    def work(k):
        try:
            for _ in range(20):
                (y,) = fec.execute([xs[k]])
                torch.cuda.current_stream().synchronize()
                close(y, torch.tanh(xs[k] * 2.0), "float32")
        except Exception as e:  # reported below with the thread's index
            errors.append((k, e))
    ts = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(timeout=120)
        assert not t.is_alive(), "deadlock: a thread did not finish within 120 s"
    assert not errors, errors


def test_out_of_memory_is_a_clean_error():
    with FusionDefinition() as fd:
        t = fd.define_tensor(shape=[1, -1])
        fd.add_output(fd.ops.expand(t, shape=[1 << 22, -1]))
    x = torch.ones((1, 1 << 22), device="cuda")
    with pytest.raises((MemoryError, cfuser.Error, RuntimeError)):
        fd.execute([x])     # 64 TiB output
    (y,) = fd.execute([torch.ones((1, 4), device="cuda")])   # still usable
    assert y.shape == (1 << 22, 4)


class _Producer:
    """A DLPack producer that is not torch: exports a torch CUDA tensor."""

    def __init__(self, t, fail=False):
        self.t, self.fail = t, fail

    def __dlpack__(self, **kw):
        if self.fail:
            raise KeyError("producer failed")
        return self.t.__dlpack__(**kw)

    def __dlpack_device__(self):
        return self.t.__dlpack_device__()


def test_other_cuda_producers(gen):
    x = rand((33,), "float32", gen)
    with FusionDefinition() as fd:
        fd.add_output(fd.ops.neg(fd.define_tensor(shape=[-1])))
    (y,) = fd.execute([x])
    close(y, -x, "float32")
    # only non-torch CUDA producers: numpy cannot hold CUDA outputs, so they
    # come back as torch tensors on the inputs' device
    (z,) = fd.execute([_Producer(x)])
    assert isinstance(z, torch.Tensor) and z.is_cuda
    close(z, -x, "float32")
    with pytest.raises(cfuser.Error) as ei:
        fd.execute([_Producer(x, fail=True)])
    assert isinstance(ei.value.__cause__, KeyError)
    # and the cache still works afterwards
    (y,) = fd.execute([x])
    close(y, -x, "float32")


def test_cuda_capsule_lifetime_across_many_calls(gen):
    import sys
    x = rand((4096,), "float32", gen)
    with FusionDefinition() as fd:
        fd.add_output(fd.ops.abs(fd.define_tensor(shape=[-1])))
    before = sys.getrefcount(x)
    for _ in range(1000):
        fd.execute([x])
    torch.cuda.synchronize()
    gc.collect()
    assert sys.getrefcount(x) == before


def test_work_goes_on_torchs_current_stream():
    conv = cfuser._C._testing
    assert conv.current_stream(0) == torch.cuda.current_stream().cuda_stream
    s = torch.cuda.Stream()
    with torch.cuda.stream(s):
        assert conv.current_stream(0) == s.cuda_stream != torch.cuda.default_stream().cuda_stream
    assert conv.current_stream(0) == torch.cuda.current_stream().cuda_stream


def test_tiered_compile_quick_then_full_kernels_agree(gen):
    """A new fusion's first execute runs the quick tier while the full
    kernels compile in the background; after the swap the results agree."""
    import os
    import random
    conv = cfuser._C._testing
    c = 1.0 + random.random()  # a constant no earlier run compiled: no disk-cache hit
    x = rand((5, 70001), "bfloat16", gen)
    with FusionDefinition() as fd:
        t = fd.ops.cast(fd.define_tensor(shape=[-1, -1], dtype=DataType.BFloat16), DataType.Float)
        fd.add_output(fd.ops.mul(fd.ops.tanh(t), c))
        fd.add_output(fd.ops.sum(fd.ops.mul(t, c), dims=[1]))
    conv.cuda_wait_background()  # earlier tests' full kernels: not ours to count
    before = conv.cuda_stats()
    first = fd.execute([x])
    conv.cuda_wait_background()
    after = conv.cuda_stats()
    second = fd.execute([x])
    ref = (torch.tanh(x.float()) * c, (x.float() * c).sum(1))
    for a, b, r in zip(first, second, ref):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-6)
        torch.testing.assert_close(b, r, rtol=1e-4, atol=1e-3)
    if os.environ.get("CFUSER_CUDA_TIERED") == "0":
        assert after["quick_plans"] == before["quick_plans"]
    else:
        assert after["quick_plans"] == before["quick_plans"] + 1
        assert after["tier_swaps"] == before["tier_swaps"] + 1
        assert after["tier_failures"] == before["tier_failures"]


# --- ops added through the op registry ---------------------------------------------------

REGISTRY_UNARY = {
    "lgamma": (torch.lgamma, (-4.5, 8.0)),
    "erfinv": (torch.erfinv, (-0.999, 0.999)),
    "isneginf": (torch.isneginf, (-2.0, 2.0)),
    "isposinf": (torch.isposinf, (-2.0, 2.0)),
    "isreal": (torch.isreal, (-2.0, 2.0)),
}


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16"])
@pytest.mark.parametrize("op", sorted(REGISTRY_UNARY))
@pytest.mark.parametrize("n", [1, 7, 1025])
def test_registry_unary(op, dtype, n, gen):
    fn, (lo, hi) = REGISTRY_UNARY[op]
    x = rand((n,), dtype, gen, lo, hi)
    if n > 3 and op.startswith("is"):
        x[:3] = torch.tensor([float("inf"), float("-inf"), float("nan")], device="cuda").to(x.dtype)
    ref = fn(x.double()) if not op.startswith("is") else fn(x)
    (out,) = run1(lambda fd: getattr(fd.ops, op)(fd.define_tensor(shape=[-1], dtype=DT[dtype])), x)
    if op.startswith("is"):
        assert torch.equal(out, ref)
    else:
        close(out, ref.to(x.dtype), dtype)


def test_registry_erfcinv(gen):
    c = rand((1025,), "float64", gen, 1e-6, 2 - 1e-6)
    (out,) = run1(lambda fd: fd.ops.erfcinv(fd.define_tensor(shape=[-1], dtype=DataType.Double)), c)
    close(out, torch.erfinv(1 - c), "float64")  # 1 - c is exact away from 0 and 2


@pytest.mark.parametrize("dtype", ["int32", "int64"])
def test_registry_integer_binary(dtype, gen):
    a = rand((1025,), dtype, gen)
    s = torch.randint(-3, 70, (1025,), generator=gen, device="cuda", dtype=getattr(torch, dtype))
    bits = 32 if dtype == "int32" else 64

    def build(fd):
        x = fd.define_tensor(shape=[-1], dtype=DT[dtype])
        y = fd.define_tensor(shape=[-1], dtype=DT[dtype])
        return [fd.ops.gcd(x, y), fd.ops.logical_right_shift(x, y)]
    g, r = run1(build, a, s)
    assert torch.equal(g, torch.gcd(a, s))
    ok = (s >= 0) & (s < bits)
    mask = (1 << bits) - 1
    want = [((int(v) & mask) >> int(k)) if o else 0 for v, k, o in zip(a.tolist(), s.tolist(), ok.tolist())]
    want = [w - (1 << bits) if w >= 1 << (bits - 1) else w for w in want]
    assert r.tolist() == want


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_registry_nextafter(dtype, gen):
    a, b = rand((1025,), dtype, gen), rand((1025,), dtype, gen)
    (out,) = run1(lambda fd: fd.ops.nextafter(fd.define_tensor(shape=[-1], dtype=DT[dtype]),
                                             fd.define_tensor(shape=[-1], dtype=DT[dtype])), a, b)
    assert torch.equal(out, torch.nextafter(a, b))


@pytest.mark.parametrize("diagonal", [-1, 0, 3])
def test_registry_triu_and_segment_set(diagonal, gen):
    x = rand((2, 33, 65), "float16", gen)

    def build(fd):
        t = fd.define_tensor(shape=[-1, -1, -1], dtype=DataType.Half)
        return [fd.ops.triu(t, diagonal), fd.ops.neg(fd.ops.segment_set(fd.ops.exp(t)))]
    tri, seg = run1(build, x)
    assert torch.equal(tri, torch.triu(x, diagonal))
    close(seg, torch.neg(torch.exp(x.float())).to(x.dtype), "float16")


# --- regressions of the adversarial run, on the device ------------------------------
@pytest.mark.parametrize("op,ident", [("sum", 0.0), ("prod", 1.0), ("max", float("-inf")), ("min", float("inf"))])
def test_cuda_reduction_over_empty_extent_then_pointwise(op, ident):
    x = torch.zeros(0, device="cuda", dtype=torch.float32)
    out = run1(lambda fd: fd.ops.add(getattr(fd.ops, op)(fd.define_tensor(shape=[-1], dtype=DataType.Float),
                                                        dims=[0], keepdim=True), 1.0), x)[0]
    assert out.shape == (1,) and out.item() == ident + 1.0


@pytest.mark.parametrize("shape,target", [((1, 4), [3, -1]), ((1, 1), [4, 6]), ((2, 1), [2, 5]), ((3, 4), [3, 4])])
def test_cuda_expand_of_symbolic_dims(shape, target, gen):
    x = rand(shape, "float32", gen)
    out = run1(lambda fd: fd.ops.mul(fd.ops.expand(fd.define_tensor(shape=[-1, -1], dtype=DataType.Float), target),
                                     2.0), x)[0]
    close(out, x.expand(*target) * 2.0, "float32")


def test_cuda_half_compares_with_the_scalar_rounded_to_half():
    x = torch.tensor([0.001, 0.5, -1.0], device="cuda", dtype=torch.float16)
    out = run1(lambda fd: fd.ops.ne(fd.define_tensor(shape=[-1], dtype=DataType.Half), 0.001), x)[0]
    assert torch.equal(out, x != 0.001)


@pytest.mark.parametrize("op,v", [("asinh", 1e20), ("acosh", 1e20), ("log1p", 3e38), ("sinh", 89.0), ("cosh", 89.0)])
def test_cuda_float_math_finite_near_the_range_end(op, v):
    x = torch.tensor([v, 2.0], device="cuda", dtype=torch.float32)
    out = run1(lambda fd: getattr(fd.ops, op)(fd.define_tensor(shape=[-1], dtype=DataType.Float)), x)[0]
    ref = getattr(torch, op)(x.double()).float()
    assert torch.isfinite(out).all(), out
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=0)


# --- the nvfuser_direct front end on CUDA tensors (from_pytorch, validate, device=,
# --- size(), LRUCache, closed definitions) -----------------------------------------

def test_front_end_from_pytorch_validate_and_device(gen):
    x = rand((33, 65), "float32", gen)
    h = rand((65,), "float16", gen)
    with FusionDefinition() as fd:
        tx = fd.from_pytorch(x)
        th = fd.from_pytorch(h)
        hb = fd.ops.broadcast_in_dim(fd.ops.cast(th, DataType.Float), shape=[tx.size(0), tx.size(1)],
                                     broadcast_dims=[1])
        fd.add_output(fd.ops.mul(fd.ops.add(tx, hb), fd.ops.reciprocal(tx.size(1))))
        fd.add_output(fd.ops.sum(tx, dims=[1]))
    assert th.dtype() is DataType.Half
    ref = [(x + h.float()) / 65, x.sum(1)]
    for device in (None, 0, "cuda", "cuda:0", torch.device("cuda"), torch.device("cuda", 0)):
        outs = fd.execute([x, h], device=device)
        for o, r in zip(outs, ref):
            close(o, r, "float32")
    fd.validate([x, h])  # against the CPU engine on CPU copies: another backend
    fd.validate([x, h], ref)
    bad = [ref[0].clone(), ref[1]]
    bad[0][3, 4] += 1.0
    with pytest.raises(AssertionError, match=r"output 0 \(float32"):
        fd.validate([x, h], bad)
    assert fd.fec.fusion() is fd.fusion


def test_front_end_permuted_input_from_pytorch(gen):
    x = rand((8, 16, 4), "float32", gen).permute(2, 0, 1)
    with FusionDefinition() as fd:
        fd.add_output(fd.ops.exp(fd.from_pytorch(x)))
    (out,) = fd.execute([x])
    close(out, torch.exp(x), "float32")


def test_front_end_lru_cache_on_cuda(gen):
    def build():
        with FusionDefinition() as fd:
            t = fd.define_tensor(shape=[-1, -1], dtype=DataType.Float)
            fd.add_output(fd.ops.sum(fd.ops.mul(t, 2.0), dims=[1]))
        return fd.fusion

    cache = cfuser.LRUCache(2)
    fec = cache.cache_compile(build())
    assert cache.cache_compile(build()) is fec and cache.num_fusions() == 1
    x = rand((5, 7), "float32", gen)
    (out,) = fec.execute([x])
    close(out, (x * 2).sum(1), "float32")


def test_front_end_closed_definition_raises_with_cuda_inputs(gen):
    x = rand((4,), "float32", gen)
    with FusionDefinition() as fd:
        t = fd.from_pytorch(x)
        fd.add_output(fd.ops.neg(t))
    with pytest.raises(cfuser.Error, match="no active fusion"):
        fd.ops.add(t, t)
    (out,) = fd.execute([x])
    close(out, -x, "float32")


# --- slice, pad, cat, select on CUDA tensors ------------------------------------------------------

MOVE_DTYPES = ["float32", "float16", "bfloat16", "float64", "int64", "int32", "bool"]


def _def(fd, x):
    return fd.define_tensor(shape=[-1] * x.dim(), dtype=DT[str(x.dtype).split(".")[1]])


@pytest.mark.parametrize("dtype", MOVE_DTYPES)
@pytest.mark.parametrize("n", [1, 7, 1025])
def test_cuda_movement_every_dtype(dtype, n, gen):
    x = rand((5, n), dtype, gen)
    y = rand((5, n), dtype, gen)
    fill = True if dtype == "bool" else (3 if dtype.startswith("int") else 0.5)

    def build(fd):
        a, b = _def(fd, x), _def(fd, y)
        return [fd.ops.slice(a, [1, n // 2], [5, n]), fd.ops.pad(a, [2, -1, 1, 0], fill),
                fd.ops.cat([a, b], dim=1), fd.ops.cat([a, b, a], dim=0), fd.ops.select(a, -1, 1)]
    s, p, c1, c0, sel = run1(build, x, y)
    close(s, x[1:, n // 2:], dtype)
    close(p, torch.nn.functional.pad(x.to(torch.float64) if dtype == "bool" else x, [2, -1, 1, 0],
                                     value=fill).to(x.dtype), dtype)
    close(c1, torch.cat([x, y], 1), dtype)
    close(c0, torch.cat([x, y, x], 0), dtype)
    close(sel, x[:, -1], dtype)


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
def test_cuda_rope_slice_cat_fused(dtype, gen):
    b, s, h, d = 2, 33, 4, 128
    x = rand((b, s, h, d), dtype, gen)
    cos, sin = rand((s, d), dtype, gen), rand((s, d), dtype, gen)

    def build(fd):
        xt, c, sn = _def(fd, x), _def(fd, cos), _def(fd, sin)
        x1 = fd.ops.slice(xt, [0, 0, 0, 0], [b, s, h, d // 2])
        x2 = fd.ops.slice(xt, [0, 0, 0, d // 2], [b, s, h, d])
        rot = fd.ops.cat([fd.ops.neg(x2), x1], dim=-1)
        cb = fd.ops.broadcast_in_dim(c, [b, s, h, d], [1, 3])
        sb = fd.ops.broadcast_in_dim(sn, [b, s, h, d], [1, 3])
        return fd.ops.cast(fd.ops.add(fd.ops.mul(xt, cb), fd.ops.mul(rot, sb)), DT[dtype])
    (out,) = run1(build, x, cos, sin)
    xf, cf, sf = x.float(), cos.float()[None, :, None, :], sin.float()[None, :, None, :]
    rot = torch.cat([-xf[..., d // 2:], xf[..., :d // 2]], -1)
    close(out, (xf * cf + rot * sf).to(x.dtype), dtype)


def test_cuda_movement_symbolic_bounds_and_select_range(gen):
    x = rand((9, 1030), "float32", gen)
    with FusionDefinition() as fd:
        a = fd.define_tensor(shape=[-1, -1])
        s = fd.define_scalar(dtype=DataType.Int)
        i = fd.define_scalar(dtype=DataType.Int)
        fd.add_output(fd.ops.exp(fd.ops.slice(a, [s, 3], [9, a.size(1)], [2, 3])))
        fd.add_output(fd.ops.pad(fd.ops.select(a, i, 0), [s, 1], 2.0))
    for start, idx in ((1, 0), (4, -1), (-5, 8)):
        o1, o2 = fd.execute([x, start, idx])
        close(o1, x[start::2, 3::3].exp(), "float32")
        close(o2, torch.nn.functional.pad(x[idx], [start, 1], value=2.0), "float32")
    with pytest.raises(IndexError, match="out of range"):
        fd.execute([x, 1, 9])


def test_cuda_movement_of_computed_values_and_chains(gen):
    x = rand((7, 513), "float32", gen).t()  # strided
    y = rand((513, 7), "float32", gen)

    def build(fd):
        a, b = fd.define_tensor(shape=[-1, -1], contiguity=False), _def(fd, y)
        e = fd.ops.exp(a)
        chain = fd.ops.slice(fd.ops.pad(fd.ops.cat([e, b], 1), [1, 1, 2, 0], -1.0), [0, 0], [515, 16], [2, 1])
        return [fd.ops.mul(chain, 3.0), fd.ops.sum(fd.ops.pad(e, [0, 5]), dims=[1])]
    o1, o2 = run1(build, x, y)
    F = torch.nn.functional
    ref = F.pad(torch.cat([x.exp(), y], 1), [1, 1, 2, 0], value=-1.0)[0:515:2, 0:16]
    close(o1, ref * 3, "float32")
    torch.testing.assert_close(o2, F.pad(x.exp(), [0, 5]).sum(1), rtol=1e-4, atol=1e-4)


# --- issue 11: output layout, printed definitions, code text, size arithmetic ------

@pytest.mark.parametrize("make", [
    lambda g: torch.randn(2, 3, 5, 7, device="cuda", generator=g).to(memory_format=torch.channels_last),
    lambda g: torch.randn(7, 5, device="cuda", generator=g).t(),
    lambda g: torch.randn(4, 6, device="cuda", generator=g),
], ids=["channels_last", "transposed", "row_major"])
def test_cuda_output_strides_match_torch(make, gen):
    x = make(gen)
    with FusionDefinition() as fd:
        t = fd.from_pytorch(x)
        fd.add_output(fd.ops.relu(t))
        fd.add_output(fd.ops.permute(fd.ops.neg(t), dims=list(range(x.dim()))[::-1]))
        fd.add_output(fd.ops.sum(t, dims=[0]))
    relu, perm, red = fd.execute([x])
    refs = [torch.relu(x), (-x).permute(*range(x.dim())[::-1]), x.sum(0)]
    for out, ref in zip((relu, perm, red), refs):
        assert out.is_cuda and out.stride() == ref.stride(), (out.stride(), ref.stride())
        torch.testing.assert_close(out, ref)


def test_cuda_stride_order_op(gen):
    x = torch.randn(3, 5, 7, device="cuda", generator=gen)
    with FusionDefinition() as fd:
        t = fd.from_pytorch(x)
        fd.add_output(fd.ops.stride_order(fd.ops.add(t, 1.0), stride_order=[0, 1, 2]))
    (out,) = fd.execute([x])
    assert out.stride() == (1, 3, 15)
    torch.testing.assert_close(out, x + 1.0)


def test_cuda_printed_definition_reruns(gen):
    x = torch.randn(33, 65, device="cuda", generator=gen, dtype=torch.float16)
    with FusionDefinition() as fd:
        t = fd.from_pytorch(x)
        m = fd.ops.max(t, dims=[1], keepdim=True)
        fd.add_output(fd.ops.exp(fd.ops.sub(t, m)))
    scope = {"DataType": DataType, "FusionDefinition": FusionDefinition}
    exec(repr(fd), scope)
    again = FusionDefinition()
    with again:
        scope["nvfuser_fusion"](again)
    assert again.fusion.structurally_equal(fd.fusion)
    torch.testing.assert_close(again.execute([x])[0], fd.execute([x])[0], rtol=0, atol=0)


def test_cuda_last_cuda_code_is_the_launched_kernel(gen):
    x = torch.randn(1025, device="cuda", generator=gen)
    with FusionDefinition() as fd:
        fd.add_output(fd.ops.sin(fd.from_pytorch(x)))
    fd.execute([x])
    code = fd.last_cuda_code()
    assert "__global__" in code and "sin" in code
    full = fd.last_cuda_code(intrinsic_code=True)
    assert len(full) > len(code) and full.endswith(code)


def test_cuda_size_arithmetic_as_shapes(gen):
    x = torch.randn(6, 4, device="cuda", generator=gen)
    with FusionDefinition() as fd:
        t = fd.from_pytorch(x)
        n = fd.ops.mul(t.size(0), t.size(1))
        fd.add_output(fd.ops.reshape(t, [n]))
        fd.add_output(fd.ops.full([fd.ops.div(t.size(0), 2), 3], 2.0, dtype=DataType.Float))
    flat, full = fd.execute([x])
    torch.testing.assert_close(flat, x.reshape(-1))
    assert full.shape == (3, 3) and full.is_cuda and bool((full == 2.0).all())
# --- layouts: outer, multi-axis and split reductions; the tier API ----------------------

def test_wait_for_kernels_reaches_the_full_tier(gen):
    """After a new fusion's first execute the full kernels may still be
    compiling; wait_for_kernels() returns once they are in."""
    x = rand((257, 1031), "float32", gen)
    with FusionDefinition() as fd:
        t = fd.from_pytorch(x)
        fd.add_output(fd.ops.sum(fd.ops.mul(t, t), dims=[0], keepdim=False))
    (first,) = fd.execute([x])
    assert fd.wait_for_kernels(timeout=300.0) is True
    assert fd.kernels_final() is True and fd.fec.kernels_final() is True
    (again,) = fd.execute([x])
    close(first, (x * x).sum(0), "float32")
    close(again, (x * x).sum(0), "float32")
    assert fd.wait_for_kernels(0) is True


@pytest.mark.parametrize("dtype", ["float32", "bfloat16", "float16"])
@pytest.mark.parametrize("fmt", ["nchw", "nhwc"])
@pytest.mark.parametrize("shape", [(3, 5, 7, 9), (16, 64, 45, 47)])
def test_batchnorm_both_memory_formats(dtype, fmt, shape, gen):
    """var_mean over N, H, W and the normalization, channels-first and
    channels-last (the larger shape takes the statistics + apply split)."""
    x = rand(shape, dtype, gen)
    if fmt == "nhwc":
        x = x.contiguous(memory_format=torch.channels_last)
    w, b = rand((shape[1],), dtype, gen), rand((shape[1],), dtype, gen)
    with FusionDefinition() as fd:
        t, tw, tb = fd.from_pytorch(x), fd.from_pytorch(w), fd.from_pytorch(b)
        xf = fd.ops.cast(t, DataType.Float)
        var, mean = fd.ops.var_mean(xf, dims=[0, 2, 3], correction=0, keepdim=False)
        bc = lambda v: fd.ops.broadcast_in_dim(v, shape=xf.shape(), broadcast_dims=[1])  # noqa: E731
        y = fd.ops.mul(fd.ops.sub(xf, bc(mean)), bc(fd.ops.rsqrt(fd.ops.add(var, 1e-5))))
        y = fd.ops.add(fd.ops.mul(y, bc(fd.ops.cast(tw, DataType.Float))), bc(fd.ops.cast(tb, DataType.Float)))
        fd.add_output(fd.ops.cast(y, DT[dtype]))
        fd.add_output(mean)
        fd.add_output(var)
    for tier in ("first", "full"):
        y_o, mean_o, var_o = fd.execute([x, w, b])
        ref = torch.nn.functional.batch_norm(x.float(), None, None, w.float(), b.float(), training=True, eps=1e-5)
        close(y_o, ref.to(x.dtype), dtype)
        v, m = torch.var_mean(x.float(), dim=(0, 2, 3), correction=0)
        torch.testing.assert_close(mean_o, m, rtol=1e-4, atol=1e-4)
        torch.testing.assert_close(var_o, v, rtol=1e-4, atol=1e-4)
        fd.wait_for_kernels()


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
@pytest.mark.parametrize("shape", [(1, 1), (7, 5), (16385, 33), (4099, 257), (3, 200003)])
@pytest.mark.parametrize("dim", [0, 1])
def test_tall_and_wide_sums(dtype, shape, dim, gen):
    """Outer reductions split over blocks (tall), rows split over blocks
    (few long rows)."""
    x = rand(shape, dtype, gen)
    for _ in range(2):
        (out,) = run1(lambda fd: fd.ops.sum(fd.ops.cast(fd.from_pytorch(x), DataType.Float), dims=[dim],
                                            keepdim=False), x)
        torch.testing.assert_close(out, x.float().sum(dim), rtol=1e-4, atol=1e-3 * max(1, shape[dim]) ** 0.5)
        cfuser._C._testing.cuda_wait_background()


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
@pytest.mark.parametrize("shape", [(7, 7), (4097, 33), (2048, 4096)])
def test_softmax_dim0(dtype, shape, gen):
    x = rand(shape, dtype, gen, -4, 4)

    def build(fd):
        t = fd.ops.cast(fd.from_pytorch(x), DataType.Float)
        m = fd.ops.max(t, dims=[0], keepdim=True)
        e = fd.ops.exp(fd.ops.sub(t, m))
        return fd.ops.cast(fd.ops.div(e, fd.ops.sum(e, dims=[0], keepdim=True)), DT[dtype])
    (out,) = run1(build, x)
    close(out, torch.softmax(x.float(), 0).to(x.dtype), dtype)


# --- nvFuser's CPU scalar tensors and outputs that alias inputs, on CUDA ---------------


def test_a_cpu_scalar_tensor_joins_cuda_inputs():
    # nvFuser's test_cpu_add: a 0-dim CPU tensor next to a CUDA tensor
    s, x = torch.tensor(2.0), torch.randn(3, device="cuda")
    with FusionDefinition() as fd:
        t0 = fd.from_pytorch(s)
        t1 = fd.from_pytorch(x)
        fd.add_output(fd.ops.add(t0, t1))
        fd.add_output(fd.ops.mul(t1, t0))
    assert "is_cpu=True" in repr(fd)
    out = fd.execute([s, x])
    assert all(o.is_cuda for o in out)
    torch.testing.assert_close(out[0], x + 2.0)
    torch.testing.assert_close(out[1], x * 2.0)
    # the value is read at each execute, not kept from the first
    s.fill_(-3.0)
    torch.testing.assert_close(fd.execute([s, x])[1], x * -3.0)


@pytest.mark.parametrize("sdt", ["float64", "int64", "float32"])
def test_a_cpu_scalar_tensor_promotes_as_torch(sdt):
    s = torch.tensor(3, dtype=getattr(torch, sdt))
    x = torch.randn(5, 7, device="cuda").half()
    with FusionDefinition() as fd:
        a = fd.from_pytorch(x)
        b = fd.from_pytorch(s)
        fd.add_output(fd.ops.mul(a, b))
    (out,) = fd.execute([x, s])
    ref = x * s.to("cuda")
    assert out.dtype == ref.dtype
    torch.testing.assert_close(out, ref)


def test_only_cpu_scalar_inputs_run_on_the_requested_device():
    # nvFuser's test_full_with_cpu_inputs
    s = torch.tensor(2.0)
    with FusionDefinition() as fd:
        t0 = fd.from_pytorch(s)
        full = fd.ops.full(shape=[2, 2], fill_value=fd.define_scalar(3.0), dtype=DataType.Float)
        fd.add_output(fd.ops.mul(t0, full))
    (out,) = fd.execute([s], device="cuda")
    assert out.is_cuda
    torch.testing.assert_close(out, torch.full((2, 2), 6.0, device="cuda"))


def test_an_aliased_output_updates_a_cuda_input_in_place():
    # nvFuser's test_alias_output_to_input, on CUDA, on a side stream too
    for stream in (None, torch.cuda.Stream()):
        x = torch.ones(4, 4, device="cuda")
        ptr = x.data_ptr()
        with FusionDefinition() as fd:
            t0 = fd.from_pytorch(x)
            t1 = fd.ops.add(t0, fd.define_scalar(1.0))
            t2 = fd.ops.add(t1, fd.define_scalar(2.0))
            fd.add_output(t1, alias_input=t0)
            fd.add_output(t2)
            fd.add_output(t1)
        if stream is None:
            out = fd.execute([x])
        else:
            with torch.cuda.stream(stream):
                out = fd.execute([x], stream=stream.cuda_stream)
            stream.synchronize()
        assert len(out) == 2 and out[1] is x and x.data_ptr() == ptr
        torch.testing.assert_close(out[0], torch.full((4, 4), 4.0, device="cuda"))
        torch.testing.assert_close(x, torch.full((4, 4), 2.0, device="cuda"))


def test_running_mean_update_as_nvfusers_batchnorm():
    x = torch.randn(16, 8, 5, 5, device="cuda").to(memory_format=torch.channels_last)
    rm = torch.zeros(8, device="cuda")
    with FusionDefinition() as fd:
        tx = fd.from_pytorch(x)
        trm = fd.from_pytorch(rm)
        mean = fd.ops.div(fd.ops.sum(tx, [0, 2, 3]), 16 * 25)
        fd.add_output(fd.ops.add(fd.ops.mul(trm, 0.9), fd.ops.mul(mean, 0.1)), trm)
        fd.add_output(mean)
    (m,) = fd.execute([x, rm])
    torch.testing.assert_close(m, x.mean((0, 2, 3)), rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(rm, 0.1 * x.mean((0, 2, 3)), rtol=1e-4, atol=1e-5)
