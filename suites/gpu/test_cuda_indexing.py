"""The indexing ops (index_select, gather, take_along_axis, scatter,
embedding_fwd) on CUDA tensors, against torch on the same device.

Runs on a machine with a CUDA device (ci/gpu.sh runs every file of
suites/gpu); elsewhere every test is skipped with the reason torch gives.
"""
import pytest

torch = pytest.importorskip("torch")
import cfuser  # noqa: E402
from cfuser import FusionDefinition  # noqa: E402

if not torch.cuda.is_available():
    pytest.skip("no CUDA device visible to torch", allow_module_level=True)

DTYPES = ["float32", "float64", "float16", "bfloat16", "int64", "int32", "bool"]
IDX = ["int64", "int32"]
SIZES = [1, 7, 1023, 1025]


def values(shape, dtype, seed=0):
    g = torch.Generator(device="cuda").manual_seed(seed)
    if dtype == "bool":
        return torch.rand(shape, generator=g, device="cuda") < 0.5
    if dtype.startswith("int"):
        return torch.randint(-50, 50, shape, generator=g, device="cuda", dtype=getattr(torch, dtype))
    return torch.randn(shape, generator=g, device="cuda", dtype=torch.float32).to(getattr(torch, dtype))


def positions(shape, hi, itype, seed=1):
    g = torch.Generator(device="cuda").manual_seed(seed)
    return torch.randint(0, hi, shape, generator=g, device="cuda", dtype=getattr(torch, itype))


def run(build, inputs):
    with FusionDefinition() as fd:
        ins = [fd.from_pytorch(t) if isinstance(t, torch.Tensor) else t for t in inputs]
        outs = build(fd, *ins)
        for o in outs if isinstance(outs, (list, tuple)) else [outs]:
            fd.add_output(o)
    return fd.execute(list(inputs))


def same(out, ref):
    assert out.device == ref.device and out.dtype == ref.dtype and out.shape == ref.shape
    assert torch.equal(out, ref)


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("itype", IDX)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("dim", [0, 1])
def test_index_select_cuda(dtype, itype, n, dim):
    x = values((n, 33), dtype)
    i = positions((n + 2,), x.shape[dim], itype)
    (out,) = run(lambda fd, a, b: fd.ops.index_select(a, b, dim), [x, i])
    same(out, torch.index_select(x, dim, i.long()))


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("itype", IDX)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", ["gather", "take_along_axis"])
def test_gather_cuda(op, dtype, itype, n):
    x = values((n + 1, 9), dtype)
    i = positions((n, 9) if op == "take_along_axis" else (n, 4), n + 1, itype)
    (out,) = run(lambda fd, a, b: getattr(fd.ops, op)(a, b, 0), [x, i])
    same(out, torch.gather(x, 0, i.long()))


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("itype", IDX)
@pytest.mark.parametrize("dtype", DTYPES)
def test_scatter_cuda(dtype, itype, n):
    x, src = values((n, 6), dtype), values((n, 6), dtype, seed=3)
    perm = torch.argsort(torch.rand(n, 6, device="cuda"), dim=0)
    i = perm[: max(1, n // 2)].to(getattr(torch, itype))
    (out,) = run(lambda fd, a, b, c: fd.ops.scatter(a, b, c, 0), [x, i, src])
    same(out, torch.scatter(x, 0, i.long(), src))
    (out,) = run(lambda fd, a, b: fd.ops.scatter(a, b, 1 if dtype != "bool" else True, 0), [x, i])
    same(out, torch.scatter(x, 0, i.long(), 1 if dtype != "bool" else True))


@pytest.mark.parametrize("itype", IDX)
@pytest.mark.parametrize("dtype", ["float32", "bfloat16", "float16"])
def test_embedding_fwd_cuda(dtype, itype):
    w = values((1000, 128), dtype)
    i = positions((8, 513), 1000, itype)
    (out,) = run(lambda fd, a, b: fd.ops.embedding_fwd(a, b), [i, w])
    same(out, torch.nn.functional.embedding(i.long(), w))


def test_fused_chains_cuda():
    x, y = values((1025, 257), "float32"), values((1025, 257), "float32", seed=2)
    i = positions((2049,), 1025, "int64")

    def build(fd, a, b, c):
        t = fd.ops.mul(fd.ops.add(a, b), 0.5)
        return fd.ops.exp(fd.ops.index_select(t, c, 0))

    (out,) = run(build, [x, y, i])
    torch.testing.assert_close(out, torch.exp(torch.index_select((x + y) * 0.5, 0, i)))
    src = values((1025, 257), "float32", seed=5)
    j = torch.argsort(torch.rand(1025, 257, device="cuda"), dim=0)[:100]

    def build2(fd, a, b, c):
        return fd.ops.sigmoid(fd.ops.scatter(fd.ops.neg(a), b, fd.ops.mul(c, 2.0), 0))

    (out,) = run(build2, [x, j, src])
    torch.testing.assert_close(out, torch.sigmoid(torch.scatter(-x, 0, j, src * 2.0)))


@pytest.mark.parametrize("cols", [7, 1025, 3000])
def test_softmax_of_gathered_rows_cuda(cols):
    x = values((50, cols), "float32")
    i = positions((9,), 50, "int32")

    def build(fd, a, b):
        g = fd.ops.index_select(a, b, 0)
        m = fd.ops.max(g, dims=[1], keepdim=True)
        e = fd.ops.exp(fd.ops.sub(g, m))
        return fd.ops.div(e, fd.ops.sum(e, dims=[1], keepdim=True))

    (out,) = run(build, [x, i])
    torch.testing.assert_close(out, torch.softmax(x[i.long()], dim=1))


def test_strided_inputs_cuda():
    x = values((40, 30), "float16").t()  # (30, 40), no stride 1
    i = positions((60,), 30, "int64")[::2]
    (out,) = run(lambda fd, a, b: fd.ops.neg(fd.ops.index_select(a, b, 0)), [x, i])
    same(out, -torch.index_select(x, 0, i))


@pytest.mark.parametrize("value", [-1, 33, 2**40])
@pytest.mark.parametrize("op", ["index_select", "take_along_axis", "scatter", "embedding_fwd"])
def test_index_out_of_range_cuda(op, value):
    x = values((33, 16), "float32")
    if op in ("index_select", "embedding_fwd"):
        i = positions((7,), 33, "int64")
    else:
        i = torch.argsort(torch.rand(33, 16, device="cuda"), dim=0)[:5]
    bad = i.clone()
    bad.view(-1)[3] = value
    with FusionDefinition() as fd:
        a, b = fd.from_pytorch(x), fd.from_pytorch(i)
        if op == "scatter":
            fd.add_output(fd.ops.scatter(a, b, 0.0, 0))
        elif op == "embedding_fwd":
            fd.add_output(fd.ops.embedding_fwd(b, a))
        else:
            fd.add_output(getattr(fd.ops, op)(a, b, 0))
    with pytest.raises(cfuser.Error, match=f"index {value} is out of bounds") as e:
        fd.execute([x, bad])
    assert isinstance(e.value, IndexError)
    assert fd.execute([x, i])[0] is not None  # good indices run after it
