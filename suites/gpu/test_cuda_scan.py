"""Scans, sorts and welford on CUDA tensors, against torch on the same device.

Skipped where torch sees no CUDA device (ci/gpu.sh runs it on the GPU machine).
"""
import pytest

torch = pytest.importorskip("torch")
import cfuser  # noqa: E402
from cfuser import FusionDefinition  # noqa: E402

if not torch.cuda.is_available():
    pytest.skip("no CUDA device visible to torch", allow_module_level=True)

DTYPES = ["float32", "float16", "bfloat16", "float64", "int32", "int64", "bool"]
EPS = {"float32": 6e-8, "float64": 1.2e-16, "float16": 4.9e-4, "bfloat16": 3.9e-3}
SCANS = ["cumsum", "cumprod", "cummin", "cummax"]


def data(shape, dtype, seed, op=None):
    g = torch.Generator(device="cuda").manual_seed(seed)
    if dtype == "bool":
        return torch.rand(shape, generator=g, device="cuda") < 0.9
    if dtype.startswith("int"):
        lo, hi = (-2, 3) if op == "cumprod" else (-50, 50)
        return torch.randint(lo, hi, shape, generator=g, device="cuda", dtype=getattr(torch, dtype))
    if op == "cumprod":
        x = torch.rand(shape, generator=g, device="cuda", dtype=torch.float64) * 0.4 + 0.8
    else:
        x = torch.randn(shape, generator=g, device="cuda", dtype=torch.float64)
    return x.to(getattr(torch, dtype))


def run(build, *inputs):
    with FusionDefinition() as fd:
        ts = [fd.from_pytorch(x) for x in inputs]
        outs = build(fd, *ts)
        for o in outs if isinstance(outs, (tuple, list)) else [outs]:
            fd.add_output(o)
    return fd.execute(list(inputs))


def scan_ref(op, x, dim):
    if x.dtype.is_floating_point:
        r = getattr(torch, op)(x.double(), dim)
    elif x.dtype == torch.bool:
        r = getattr(torch, op)(x.long(), dim)
    elif op in ("cumsum", "cumprod"):
        r = getattr(torch, op)(x, dim, dtype=x.dtype)
    else:
        r = getattr(torch, op)(x, dim)
    r = r[0] if isinstance(r, tuple) else r
    return r != 0 if x.dtype == torch.bool else r


def check_scan(op, out, x, dim):
    assert out.is_cuda and out.dtype == x.dtype and out.shape == x.shape
    ref = scan_ref(op, x, dim)
    if not x.dtype.is_floating_point or op in ("cummin", "cummax"):
        assert torch.equal(out, ref.to(out.dtype))
        return
    eps = EPS[str(x.dtype).split(".")[1]]
    n = x.shape[dim]
    err = (out.double() - ref).abs()
    if op == "cumsum":
        bound = 8 * eps * torch.cumsum(x.double().abs(), dim) * (1 + n ** 0.5 * (x.dtype == torch.float32)) + 2 * eps * ref.abs()
    else:
        bound = (n + 2) * 4 * eps * ref.abs() + 1e-30
    assert bool((err <= bound).all()), (op, x.dtype, float(err.max()))


@pytest.mark.parametrize("dim", [0, 1])
@pytest.mark.parametrize("n", [1, 7, 1025, 65537])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", SCANS)
def test_scan(op, dtype, n, dim):
    x = data((3, n) if dim == 1 else (n, 3), dtype, n, op)
    (out,) = run(lambda fd, t: getattr(fd.ops, op)(t, dim), x)
    check_scan(op, out, x, dim)


@pytest.mark.parametrize("op", SCANS)
def test_scan_strided_fused_init(op):
    base = data((65, 300), "float32", 3, op)
    x = base[:, ::2]
    (out, s) = run(lambda fd, t: (fd.ops.add(getattr(fd.ops, op)(fd.ops.mul(t, 1.0), 1, init=1.0), t),
                                  getattr(fd.ops, op)(t, 0)), x)
    check_scan(op, s, x, 0)
    w = x.double()
    first = torch.cat([torch.ones_like(w[:, :1]), w], 1)
    ref = scan_ref(op, first, 1)[:, 1:] + w
    torch.testing.assert_close(out.double(), ref, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("op", ["cummax", "cummin"])
def test_scan_nan(op):
    x = data((4, 1025), "float32", 4)
    x[0, 3] = float("nan")
    x[2, 1000] = float("nan")
    (out,) = run(lambda fd, t: getattr(fd.ops, op)(t, 1), x)
    ref = getattr(torch, op)(x, 1)[0]
    assert torch.equal(out.isnan(), ref.isnan())
    assert torch.equal(out[~ref.isnan()], ref[~ref.isnan()])


def sort_data(shape, dtype, seed):
    x = data(shape, dtype, seed)
    if x.dtype.is_floating_point:
        x = (x * 4).round() / 4  # ties
    return x


@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("n", [1, 7, 1025, 4096])
@pytest.mark.parametrize("dtype", DTYPES)
def test_argsort(dtype, n, descending):
    for dim, shape in ((1, (5, n)), (0, (n, 3))):
        x = sort_data(shape, dtype, n)
        (idx,) = run(lambda fd, t: fd.ops.argsort(t, dim, descending=descending, stable=True), x)
        key = x.long() if x.dtype == torch.bool else x
        assert torch.equal(idx, torch.argsort(key, dim=dim, descending=descending, stable=True))


@pytest.mark.parametrize("largest", [True, False])
@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16", "float64", "int32", "int64"])
def test_topk(dtype, largest):
    x = sort_data((9, 1025), dtype, 5)
    x[0, 5] = float("nan") if x.dtype.is_floating_point else x[0, 5]
    for k in (0, 1, 17, 1025):
        v, i = run(lambda fd, t: fd.ops.topk(t, k, 1, largest=largest, sorted=True), x)
        ref = torch.topk(x, k, 1, largest=largest, sorted=True)
        torch.testing.assert_close(v, ref.values, equal_nan=True)
        torch.testing.assert_close(torch.gather(x, 1, i), ref.values, equal_nan=True)


def test_sort_rows_too_long_is_a_clear_error():
    x = data((2, 4097), "float32", 6)
    with pytest.raises(cfuser.UnsupportedError, match="at most 4096"):
        run(lambda fd, t: fd.ops.argsort(t, 1), x)


@pytest.mark.parametrize("dims", [[1], [0], [0, 1]])
@pytest.mark.parametrize("shape", [(1, 7), (33, 1025), (4097, 3), (2, 300001)])
@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16", "float64", "int32"])
def test_welford(dtype, shape, dims):
    x = data(shape, dtype, 7)
    if dtype == "float16":  # var_sum is a Half (nvFuser's dtype): keep it below 65504
        x = x * 0.1

    def build(fd, t):
        avg, vs, n = fd.ops.welford(t, dims)
        return avg, fd.ops.div(vs, n), n

    avg, var, n = run(build, x)
    v, m = torch.var_mean(x.double(), dims, correction=0)
    tol = {"float16": 2e-3, "bfloat16": 1.6e-2}.get(dtype, 2e-5)
    torch.testing.assert_close(avg.double(), m, rtol=tol, atol=tol)
    torch.testing.assert_close(var.double(), v, rtol=tol, atol=tol)
    count = 1
    for d in dims:
        count *= shape[d]
    assert bool((n == count).all())


def test_welford_large_mean_small_variance():
    g = torch.Generator(device="cuda").manual_seed(8)
    x = (1e4 + 1e-2 * torch.randn(4, 200001, generator=g, device="cuda", dtype=torch.float64)).float()
    avg, vs, n = run(lambda fd, t: fd.ops.welford(t, [1]), x)
    want = x.double().var(1, correction=0) * x.shape[1]
    torch.testing.assert_close(vs.double(), want, rtol=2e-3, atol=0)
