"""Shape sweep of reductions and normalizations on the GPU, modelled on
nvFuser's nightly benchmarks (benchmarks/python/test_reduction.py,
test_softmax_fwd.py, test_layernorm_fwd.py, test_batchnorm_fwd.py,
test_groupnorm_fwd.py): batch x hidden matrices reduced along either axis,
and (N, C, H, W) images in both memory formats.

    python3 -m perf.gpu_bench --sweep [quick|full] [--sweep-out DIR]

Each case is defined once, against the nvfuser_direct API, and run through
cfuser, through nvFuser itself when `nvfuser_direct` imports (else that
column is left out, with a note), torch eager and torch.compile, beside a
device copy of the same bytes. GB/s counts bytes read + written. cfuser's
and nvFuser's results are checked against eager before they are timed, and
cfuser is timed only once its full kernels are in (wait_for_kernels): the
tier timed is part of each row. Writes sweep.json and sweep.svg (GB/s
against shape per case, matplotlib, offline) and prints the table.

The definitions also run on the CPU (`cases(..., device="cpu")`, tiny
shapes): perf/tests/test_gpu_sweep.py checks them against torch there.
"""
from __future__ import annotations

import json
import math
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

EPS = 1e-5

# batch x hidden (nvFuser sweeps batch 16..16384 and hidden up to 18432+)
QUICK_2D = [(16, 18432), (2048, 768), (2048, 4096), (2048, 18432), (16384, 768), (16384, 4096)]
FULL_BATCH = [16, 64, 256, 1024, 2048, 4096, 8192, 16384]
FULL_HIDDEN = [768, 1024, 2048, 4096, 8192, 12288, 16384, 18432, 24576, 32768]
QUICK_4D = [(32, 64, 56, 56), (128, 128, 28, 28), (256, 256, 14, 14)]
FULL_4D = [(16, 64, 112, 112), (32, 64, 56, 56), (64, 128, 56, 56), (128, 128, 28, 28),
           (256, 256, 14, 14), (128, 512, 14, 14), (256, 1024, 7, 7), (512, 2048, 7, 7)]
MAX_BYTES = 2 << 30
GROUPS = 32


@dataclass
class Case:
    op: str            # sum / softmax / layernorm / ... (+ _bwd)
    layout: str        # "dim1", "dim0", "nchw", "nhwc"
    shape: tuple
    dtype: object      # torch dtype
    define: Callable   # (fd, M, inputs) -> None: the fusion, nvfuser_direct's API
    eager: Callable    # (*inputs) -> tuple of outputs
    make: Callable     # (torch, device, generator) -> list of inputs
    nbytes: int

    @property
    def name(self) -> str:
        return f"{self.op} {self.layout} {'x'.join(map(str, self.shape))} {str(self.dtype)[6:]}"


# --- definitions, written once for cfuser and nvfuser_direct (module M) ----------

def _up(fd, M, t):
    return fd.ops.cast(t, dtype=M.DataType.Float)


def _down(fd, M, t, like):
    return fd.ops.cast(t, dtype=like.dtype())


def _bc(fd, v, x, dims):
    return fd.ops.broadcast_in_dim(v, shape=x.shape(), broadcast_dims=dims)


def _kept(nd, red):
    return [d for d in range(nd) if d not in red]


def def_sum(red):
    def f(fd, M, ins):
        t = fd.from_pytorch(ins[0])
        fd.add_output(_down(fd, M, fd.ops.sum(_up(fd, M, t), dims=red, keepdim=False), t))
    return f


def def_softmax(red):
    def f(fd, M, ins):
        t = fd.from_pytorch(ins[0])
        x = _up(fd, M, t)
        keep = _kept(2, red)
        m = fd.ops.max(x, dims=red, keepdim=False)
        e = fd.ops.exp(fd.ops.sub(x, _bc(fd, m, x, keep)))
        s = fd.ops.sum(e, dims=red, keepdim=False)
        fd.add_output(_down(fd, M, fd.ops.div(e, _bc(fd, s, x, keep)), t))
    return f


def def_softmax_bwd(fd, M, ins):
    """dx = y * (dy - sum(dy * y)) over dim 1."""
    ty, tdy = fd.from_pytorch(ins[0]), fd.from_pytorch(ins[1])
    y, dy = _up(fd, M, ty), _up(fd, M, tdy)
    s = fd.ops.sum(fd.ops.mul(dy, y), dims=[1], keepdim=False)
    fd.add_output(_down(fd, M, fd.ops.mul(y, fd.ops.sub(dy, _bc(fd, s, y, [0]))), ty))


def def_layernorm(fd, M, ins):
    t, tw, tb = (fd.from_pytorch(i) for i in ins)
    x, w, b = _up(fd, M, t), _up(fd, M, tw), _up(fd, M, tb)
    var, mean = fd.ops.var_mean(x, dims=[1], correction=0, keepdim=False)
    r = fd.ops.rsqrt(fd.ops.add(var, EPS))
    y = fd.ops.mul(fd.ops.sub(x, _bc(fd, mean, x, [0])), _bc(fd, r, x, [0]))
    y = fd.ops.add(fd.ops.mul(y, _bc(fd, w, x, [1])), _bc(fd, b, x, [1]))
    fd.add_output(_down(fd, M, y, t))


def def_layernorm_bwd(fd, M, ins):
    """dx of layernorm (no affine) from x, dy, mean and rstd (saved)."""
    t, tdy, tm, tr = (fd.from_pytorch(i) for i in ins)
    x, dy = _up(fd, M, t), _up(fd, M, tdy)
    n = float(ins[0].shape[1])
    mean, rstd = _bc(fd, tm, x, [0]), _bc(fd, tr, x, [0])
    xhat = fd.ops.mul(fd.ops.sub(x, mean), rstd)
    a = fd.ops.sum(dy, dims=[1], keepdim=False)
    b = fd.ops.sum(fd.ops.mul(dy, xhat), dims=[1], keepdim=False)
    inner = fd.ops.sub(fd.ops.sub(fd.ops.mul(dy, n), _bc(fd, a, x, [0])),
                       fd.ops.mul(xhat, _bc(fd, b, x, [0])))
    fd.add_output(_down(fd, M, fd.ops.mul(fd.ops.mul(inner, rstd), 1.0 / n), t))


def def_rmsnorm(fd, M, ins):
    t, tw = (fd.from_pytorch(i) for i in ins)
    x, w = _up(fd, M, t), _up(fd, M, tw)
    ms = fd.ops.mul(fd.ops.sum(fd.ops.mul(x, x), dims=[1], keepdim=False), 1.0 / ins[0].shape[1])
    r = fd.ops.rsqrt(fd.ops.add(ms, EPS))
    fd.add_output(_down(fd, M, fd.ops.mul(fd.ops.mul(x, _bc(fd, r, x, [0])), _bc(fd, w, x, [1])), t))


def def_norm4d(red, affine_dim):
    """var_mean over `red`, normalize, and (batchnorm) scale and shift along
    channel dim `affine_dim` (None: no affine)."""
    def f(fd, M, ins):
        t = fd.from_pytorch(ins[0])
        x = _up(fd, M, t)
        nd = len(ins[0].shape)
        keep = _kept(nd, red)
        var, mean = fd.ops.var_mean(x, dims=red, correction=0, keepdim=False)
        r = fd.ops.rsqrt(fd.ops.add(var, EPS))
        y = fd.ops.mul(fd.ops.sub(x, _bc(fd, mean, x, keep)), _bc(fd, r, x, keep))
        if affine_dim is not None:
            w, b = _up(fd, M, fd.from_pytorch(ins[1])), _up(fd, M, fd.from_pytorch(ins[2]))
            y = fd.ops.add(fd.ops.mul(y, _bc(fd, w, x, [affine_dim])), _bc(fd, b, x, [affine_dim]))
        fd.add_output(_down(fd, M, y, t))
    return f


# --- eager references -------------------------------------------------------------

def _eager(torch):
    F = torch.nn.functional

    def sm_bwd(y, dy):
        yf, dyf = y.float(), dy.float()
        return ((yf * (dyf - (dyf * yf).sum(1, keepdim=True))).to(y.dtype),)

    def ln_bwd(x, dy, mean, rstd):
        xf, dyf = x.float(), dy.float()
        n = x.shape[1]
        xhat = (xf - mean[:, None]) * rstd[:, None]
        inner = dyf * n - dyf.sum(1, keepdim=True) - xhat * (dyf * xhat).sum(1, keepdim=True)
        return ((inner * rstd[:, None] / n).to(x.dtype),)

    def norm4d(red, affine):
        def f(x, *wb):
            xf = x.float()
            var, mean = torch.var_mean(xf, dim=red, correction=0, keepdim=True)
            y = (xf - mean) * torch.rsqrt(var + EPS)
            if affine:
                shape = [1] * x.ndim
                shape[1] = x.shape[1]
                y = y * wb[0].float().view(shape) + wb[1].float().view(shape)
            return (y.to(x.dtype),)
        return f

    return {
        "sum": lambda red: (lambda x: (x.float().sum(red).to(x.dtype),)),
        "softmax": lambda red: (lambda x: (torch.softmax(x.float(), red[0]).to(x.dtype),)),
        "softmax_bwd": sm_bwd,
        "layernorm": lambda x, w, b: (F.layer_norm(x.float(), (x.shape[1],), w.float(), b.float(),
                                                   EPS).to(x.dtype),),
        "layernorm_bwd": ln_bwd,
        "rmsnorm": lambda x, w: ((x.float() * torch.rsqrt(x.float().pow(2).mean(1, keepdim=True) + EPS)
                                  * w.float()).to(x.dtype),),
        "norm4d": norm4d,
    }


# --- the case list --------------------------------------------------------------------

def _rand(torch, shape, dtype, device, g, fmt=None):
    t = torch.randn(shape, device=device, generator=g, dtype=torch.float32).to(dtype)
    return t.contiguous(memory_format=fmt) if fmt is not None else t


def cases(torch, size="quick", device="cuda", dtype=None, shapes_2d=None, shapes_4d=None):
    """Every case of the sweep, in order."""
    dtype = dtype or torch.bfloat16
    es = torch.tensor([], dtype=dtype).element_size()
    E = _eager(torch)
    if shapes_2d is None:
        shapes_2d = QUICK_2D if size == "quick" else [(b, h) for b in FULL_BATCH for h in FULL_HIDDEN]
    if shapes_4d is None:
        shapes_4d = QUICK_4D if size == "quick" else FULL_4D
    out = []

    def mk2(*parts):
        # parts: ("full" | "row" | "col") per input
        def make(torch_, dev, g, shape):
            b, h = shape
            res = []
            for p in parts:
                if p == "full":
                    res.append(_rand(torch_, (b, h), dtype, dev, g))
                elif p == "col":
                    res.append(_rand(torch_, (h,), dtype, dev, g))
                elif p == "rowf":
                    res.append(_rand(torch_, (b,), torch_.float32, dev, g))
                elif p == "rstd":
                    res.append(torch_.rand((b,), device=dev, generator=g) + 0.5)
            return res
        return make

    for shape in shapes_2d:
        b, h = shape
        n = b * h
        if n * es * 3 > MAX_BYTES:
            continue
        full = n * es
        specs = [
            ("sum", "dim1", def_sum([1]), E["sum"]([1]), mk2("full"), full + b * es),
            ("sum", "dim0", def_sum([0]), E["sum"]([0]), mk2("full"), full + h * es),
            ("softmax", "dim1", def_softmax([1]), E["softmax"]([1]), mk2("full"), 2 * full),
            ("softmax", "dim0", def_softmax([0]), E["softmax"]([0]), mk2("full"), 2 * full),
            ("softmax_bwd", "dim1", def_softmax_bwd, E["softmax_bwd"], mk2("full", "full"), 3 * full),
            ("layernorm", "dim1", def_layernorm, E["layernorm"], mk2("full", "col", "col"),
             2 * full + 2 * h * es),
            ("layernorm_bwd", "dim1", def_layernorm_bwd, E["layernorm_bwd"],
             mk2("full", "full", "rowf", "rstd"), 3 * full + 8 * b),
            ("rmsnorm", "dim1", def_rmsnorm, E["rmsnorm"], mk2("full", "col"), 2 * full + h * es),
        ]
        for op, lay, d, e, make, nbytes in specs:
            out.append(Case(op, lay, shape, dtype, d, e,
                            (lambda make=make, shape=shape: lambda t, dev, g: make(t, dev, g, shape))(),
                            nbytes))
    for shape in shapes_4d:
        nb, c, hh, ww = shape
        n = nb * c * hh * ww
        if n * es * 2 > MAX_BYTES:
            continue
        for fmt_name in ("nchw", "nhwc"):
            fmt = torch.channels_last if fmt_name == "nhwc" else torch.contiguous_format

            def make_bn(t, dev, g, shape=shape, fmt=fmt):
                return [_rand(t, shape, dtype, dev, g, fmt), _rand(t, (shape[1],), dtype, dev, g),
                        _rand(t, (shape[1],), dtype, dev, g)]

            def make_in(t, dev, g, shape=shape, fmt=fmt):
                return [_rand(t, shape, dtype, dev, g, fmt)]

            def make_gn(t, dev, g, shape=shape, fmt=fmt):
                x = _rand(t, shape, dtype, dev, g, fmt)
                return [x.view(shape[0], GROUPS, shape[1] // GROUPS, shape[2], shape[3])]

            out.append(Case("batchnorm", fmt_name, shape, dtype, def_norm4d([0, 2, 3], 1),
                            E["norm4d"]((0, 2, 3), True), make_bn, 2 * n * es + 2 * c * es))
            out.append(Case("instancenorm", fmt_name, shape, dtype, def_norm4d([2, 3], None),
                            E["norm4d"]((2, 3), False), make_in, 2 * n * es))
            if c % GROUPS == 0:
                out.append(Case("groupnorm", fmt_name, shape, dtype, def_norm4d([2, 3, 4], None),
                                E["norm4d"]((2, 3, 4), False), make_gn, 2 * n * es))
    return out


# --- running --------------------------------------------------------------------------

def _define(M, case, inputs):
    with M.FusionDefinition() as fd:
        case.define(fd, M, inputs)
    return fd


def _rel_err(got, ref):
    g, r = got.float(), ref.float()
    return float((g - r).norm() / max(float(r.norm()), 1e-30))


def _tol(dtype, torch):
    return 2e-2 if dtype in (torch.bfloat16, torch.float16) else 1e-4


def check_case(torch, M, case, inputs):
    """Run case through module M (cfuser or nvfuser_direct); the relative
    error of each output against eager."""
    fd = _define(M, case, inputs)
    got = fd.execute(list(inputs))
    ref = case.eager(*inputs)
    return fd, [_rel_err(g, r) for g, r in zip(got, ref)]


def run(torch, size="quick", out_dir=None, compile_static=False, progress=print, cuda_time=None):
    import cfuser
    try:
        import nvfuser_direct as nvf  # the real nvFuser, where it is installed
        nvf_note = f"nvfuser_direct {getattr(nvf, '__version__', '?')}"
    except Exception as e:  # noqa: BLE001 - any import failure leaves the column out
        nvf, nvf_note = None, f"nvFuser column left out: nvfuser_direct does not import ({type(e).__name__}: {e})"
    progress(nvf_note)
    g = torch.Generator(device="cuda").manual_seed(11)
    compiled = {}
    rows = []
    all_cases = cases(torch, size)
    t_start = time.perf_counter()
    for i, case in enumerate(all_cases):
        progress(f"sweep [{i + 1}/{len(all_cases)}] {case.name}")
        sets = [case.make(torch, "cuda", g) for _ in range(2)]
        k = [0]

        def nxt():
            k[0] ^= 1
            return sets[k[0]]
        row = {"case": case.name, "op": case.op, "layout": case.layout, "shape": list(case.shape),
               "dtype": str(case.dtype)[6:], "bytes": case.nbytes}
        try:
            fd, errs = check_case(torch, cfuser, case, sets[0])
            done = fd.wait_for_kernels(timeout=120.0)
            row["cfuser_tier"] = "full" if done and fd.kernels_final() else "quick (full kernels not in after 120 s)"
            row["cfuser_rel_error"] = max(errs) if errs else 0.0
            if row["cfuser_rel_error"] > _tol(case.dtype, torch):
                row["cfuser_error"] = f"result differs from eager (relative error {row['cfuser_rel_error']:.2e})"
            else:
                row["cfuser_gbs"] = case.nbytes / cuda_time(lambda: fd.execute(list(nxt()))) / 1e9
        except Exception as e:  # noqa: BLE001 - reported per case, the sweep goes on
            row["cfuser_error"] = f"{type(e).__name__}: {e}"
        if nvf is not None:
            try:
                nfd, errs = check_case(torch, nvf, case, sets[0])
                row["nvfuser_rel_error"] = max(errs) if errs else 0.0
                row["nvfuser_gbs"] = case.nbytes / cuda_time(lambda: nfd.execute(list(nxt()))) / 1e9
            except Exception as e:  # noqa: BLE001
                row["nvfuser_error"] = f"{type(e).__name__}: {e}"
        try:
            row["eager_gbs"] = case.nbytes / cuda_time(lambda: case.eager(*nxt())) / 1e9
        except Exception as e:  # noqa: BLE001
            row["eager_error"] = f"{type(e).__name__}: {e}"
        key = (case.op, case.layout)
        try:
            if key not in compiled:
                compiled[key] = torch.compile(case.eager, dynamic=False if compile_static else True)
            comp = compiled[key]
            row["compile_gbs"] = case.nbytes / cuda_time(lambda: comp(*nxt())) / 1e9
        except Exception as e:  # noqa: BLE001
            row["compile_error"] = f"{type(e).__name__}: {e}"
        src = torch.empty(max(1, case.nbytes // 2), dtype=torch.uint8, device="cuda")
        dst = torch.empty_like(src)
        row["copy_gbs"] = case.nbytes / cuda_time(lambda: dst.copy_(src)) / 1e9
        rows.append(row)
        del sets, src, dst
    doc = {"size": size, "gpu": torch.cuda.get_device_name(), "torch": torch.__version__,
           "cfuser": cfuser.__version__, "nvfuser": nvf_note, "seconds": time.perf_counter() - t_start,
           "compile_dynamic": not compile_static, "rows": rows}
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        (out / "sweep.json").write_text(json.dumps(doc, indent=1))
        try:
            plot(doc, out / "sweep.svg")
        except Exception as e:  # noqa: BLE001 - a missing matplotlib costs the plot only
            print(f"sweep: no plot ({type(e).__name__}: {e})", file=sys.stderr)
    print_table(doc)
    return doc


def _fmt(x):
    return f"{x:8.0f}" if isinstance(x, (int, float)) and math.isfinite(x) else f"{'-':>8}"


def print_table(doc, file=sys.stdout):
    cols = ["cfuser", "nvfuser", "compile", "eager", "copy"]
    has_nvf = any("nvfuser_gbs" in r for r in doc["rows"])
    if not has_nvf:
        cols.remove("nvfuser")
    print(f"\nReduction/normalization sweep on {doc['gpu']} ({doc['size']}); GB/s = bytes read + written; "
          f"cfuser timed on its full kernels (tier column); {doc['nvfuser']}", file=file)
    print(f"{'case':44} " + " ".join(f"{c:>8}" for c in cols) + f" {'cf/comp':>8}"
          + (f" {'cf/nvf':>8}" if has_nvf else "") + "  tier", file=file)
    for r in doc["rows"]:
        vals = [r.get(f"{c}_gbs") for c in cols]
        cf, comp, nv = r.get("cfuser_gbs"), r.get("compile_gbs"), r.get("nvfuser_gbs")
        line = f"{r['case']:44} " + " ".join(_fmt(v) for v in vals)
        line += f" {cf / comp:8.2f}" if cf and comp else f" {'-':>8}"
        if has_nvf:
            line += f" {cf / nv:8.2f}" if cf and nv else f" {'-':>8}"
        line += "  " + r.get("cfuser_tier", "")
        if "cfuser_error" in r:
            line += "  cfuser: " + r["cfuser_error"][:80]
        print(line, file=file)
    cf_rows = [r for r in doc["rows"] if r.get("cfuser_gbs") and r.get("compile_gbs")]
    if cf_rows:
        geo = math.exp(statistics.mean(math.log(r["cfuser_gbs"] / r["compile_gbs"]) for r in cf_rows))
        print(f"geometric mean cfuser / torch.compile over {len(cf_rows)} cases: {geo:.2f}", file=file)


def plot(doc, path):
    """GB/s against shape, one panel per (op, layout): cfuser, nvFuser (when
    run), torch.compile, eager and the copy of the same bytes."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    groups = {}
    for r in doc["rows"]:
        groups.setdefault((r["op"], r["layout"]), []).append(r)
    n = len(groups)
    ncol = 3
    nrow = (n + ncol - 1) // ncol
    fig, axes = plt.subplots(nrow, ncol, figsize=(6 * ncol, 3.2 * nrow), squeeze=False)
    styles = [("cfuser", "C0", "o"), ("nvfuser", "C3", "s"), ("compile", "C1", "^"), ("eager", "C2", "v"),
              ("copy", "0.5", "")]
    for ax, ((op, lay), rs) in zip(axes.flat, groups.items()):
        labels = ["x".join(map(str, r["shape"])) for r in rs]
        for name, color, marker in styles:
            ys = [r.get(f"{name}_gbs") for r in rs]
            if not any(ys):
                continue
            ax.plot(range(len(rs)), [y if y else float("nan") for y in ys], color=color, marker=marker,
                    linestyle="--" if name == "copy" else "-", label=name)
        ax.set_title(f"{op} ({lay})", fontsize=10)
        ax.set_xticks(range(len(rs)))
        ax.set_xticklabels(labels, rotation=60, fontsize=6, ha="right")
        ax.set_ylabel("GB/s")
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    if n:
        axes.flat[0].legend(fontsize=7)
    fig.suptitle(f"{doc['gpu']}: reductions and normalizations, GB/s (read + written)", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, format="svg")
    plt.close(fig)
