"""GPU benchmarks of issue 5, all ratios from one run on one device.

    python3 -m perf.gpu_bench [--out results.json] [--quick]
    python3 -m perf.gpu_bench --sweep [quick|full] [--sweep-out DIR] [--compile-static]

For each fusion: cfuser GB/s (bytes read + written), torch eager, torch.compile
and a device-to-device copy of the same bytes, timed with CUDA events (median
of repeats, inputs rotated so caches do not flatter anyone). Then host time of
a cached execute() on 1k-element tensors beside eager and torch.compile, the
first compile of a new fusion and a disk-cache hit in a fresh process. The
table is printed last.

cfuser is timed on its full kernels: after the first execute (which runs the
quick tier while the full kernels compile in the background) each case waits
for FusionExecutorCache.wait_for_kernels(), and the tier timed is in every
row. --sweep runs the reduction/normalization shape sweep of perf/gpu_sweep.py
instead (quick: about 5 minutes on an H100; full: every batch x hidden).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time

import torch

import cfuser
from cfuser import DataType, FusionDefinition

from . import env

DT = {torch.float32: DataType.Float, torch.bfloat16: DataType.BFloat16, torch.float16: DataType.Half}


def cuda_time(fn, calls=10, samples=7, warm=3):
    """Device time per call: `calls` back-to-back calls between two events
    (the queue stays full, so host time per call hides behind the kernels,
    as in a real program), median over `samples`."""
    for _ in range(warm):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(samples):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        for _ in range(calls):
            fn()
        b.record()
        b.synchronize()
        times.append(a.elapsed_time(b) / 1e3 / calls)
    return statistics.median(times)


def fusion_chain(dt):
    with FusionDefinition() as fd:
        a = fd.define_tensor(shape=[-1], dtype=DT[dt])
        b = fd.define_tensor(shape=[-1], dtype=DT[dt])
        o = fd.ops
        af, bf = o.cast(a, DataType.Float), o.cast(b, DataType.Float)
        y = o.relu(o.add(o.mul(o.tanh(o.add(o.mul(af, bf), 1.0)), 0.5), af))
        fd.add_output(o.cast(y, DT[dt]))
    return fd


def eager_chain(a, b):
    af, bf = a.float(), b.float()
    return torch.relu(torch.tanh(af * bf + 1.0) * 0.5 + af).to(a.dtype)


def fusion_rows(kind, dt, n):
    with FusionDefinition() as fd:
        t = fd.define_tensor(shape=[-1, -1], dtype=DT[dt])
        o = fd.ops
        x = o.cast(t, DataType.Float)
        if kind == "softmax":
            m = o.max(x, dims=[1], keepdim=True)
            e = o.exp(o.sub(x, m))
            y = o.div(e, o.sum(e, dims=[1], keepdim=True))
        elif kind == "layernorm":
            var, mean = o.var_mean(x, dims=[1], correction=0, keepdim=True)
            y = o.mul(o.sub(x, mean), o.rsqrt(o.add(var, 1e-5)))
        elif kind == "rmsnorm":
            ms = o.div(o.sum(o.mul(x, x), dims=[1], keepdim=True), float(n))
            y = o.mul(x, o.rsqrt(o.add(ms, 1e-6)))
        elif kind == "cumsum":
            y = o.cumsum(x, 1)
        elif kind == "welford":
            avg, var_sum, cnt = o.welford(x, [1])
            y = o.div(var_sum, cnt)
        else:  # row sum
            y = o.sum(x, dims=[1])
        fd.add_output(o.cast(y, DT[dt]))
        if kind == "welford":
            fd.add_output(o.cast(avg, DT[dt]))  # the second output: the mean
    return fd


def eager_rows(kind):
    def f(t):
        x = t.float()
        if kind == "softmax":
            y = torch.softmax(x, 1)
        elif kind == "layernorm":
            y = torch.nn.functional.layer_norm(x, (x.shape[1],), eps=1e-5)
        elif kind == "rmsnorm":
            y = x * torch.rsqrt(x.pow(2).mean(1, keepdim=True) + 1e-6)
        elif kind == "cumsum":
            y = torch.cumsum(x, 1)
        elif kind == "welford":
            var, mean = torch.var_mean(x, 1, correction=0)
            return var.to(t.dtype), mean.to(t.dtype)
        else:
            y = x.sum(1)
        return y.to(t.dtype)
    return f


def fusion_rope(dt, b, s, h, d):
    """Rotary embedding as nvFuser's benchmarks/python/test_rope*.py write it,
    simplified (no position ids or head split): x[b, s, h, d] * cos[s, d] +
    cat(-x[..., d/2:], x[..., :d/2]) * sin[s, d], slices and a cat."""
    with FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1, -1, -1, -1], dtype=DT[dt])
        cos = fd.define_tensor(shape=[-1, -1], dtype=DT[dt])
        sin = fd.define_tensor(shape=[-1, -1], dtype=DT[dt])
        o = fd.ops
        xf = o.cast(x, DataType.Float)
        x1 = o.slice(xf, [0, 0, 0, 0], [b, s, h, d // 2])
        x2 = o.slice(xf, [0, 0, 0, d // 2], [b, s, h, d])
        rot = o.cat([o.neg(x2), x1], dim=-1)
        cb = o.broadcast_in_dim(o.cast(cos, DataType.Float), [b, s, h, d], [1, 3])
        sb = o.broadcast_in_dim(o.cast(sin, DataType.Float), [b, s, h, d], [1, 3])
        fd.add_output(o.cast(o.add(o.mul(xf, cb), o.mul(rot, sb)), DT[dt]))
    return fd


def eager_rope(x, cos, sin):
    d = x.shape[-1]
    xf, c, s = x.float(), cos.float()[None, :, None, :], sin.float()[None, :, None, :]
    return (xf * c + torch.cat([-xf[..., d // 2:], xf[..., :d // 2]], -1) * s).to(x.dtype)


def fusion_pad(dt):
    with FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1, -1], dtype=DT[dt])
        o = fd.ops
        p = o.pad(o.cast(x, DataType.Float), [1, 2], 0.0)
        fd.add_output(o.cast(o.relu(o.add(o.mul(p, 2.0), 1.0)), DT[dt]))
    return fd


def eager_pad(x):
    return torch.relu(torch.nn.functional.pad(x.float(), (1, 2)) * 2.0 + 1.0).to(x.dtype)


def fusion_index_select(dt):
    """relu(index_select(x, idx, 0) * 0.5 + 1): the gather read inside the
    pointwise kernel."""
    with FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1, -1], dtype=DT[dt])
        idx = fd.define_tensor(shape=[-1], dtype=DataType.Int)
        o = fd.ops
        y = o.cast(o.index_select(x, idx, 0), DataType.Float)
        fd.add_output(o.cast(o.relu(o.add(o.mul(y, 0.5), 1.0)), DT[dt]))
    return fd


def eager_index_select(x, idx):
    return torch.relu(torch.index_select(x, 0, idx).float() * 0.5 + 1.0).to(x.dtype)


def fusion_embedding(dt):
    with FusionDefinition() as fd:
        ids = fd.define_tensor(shape=[-1], dtype=DataType.Int)
        w = fd.define_tensor(shape=[-1, -1], dtype=DT[dt])
        fd.add_output(fd.ops.embedding_fwd(ids, w))
    return fd


def eager_embedding(ids, w):
    return torch.nn.functional.embedding(ids, w)


def bench_case(name, fd, eager, inputs_sets, nbytes, compiled_cache, refs=True):
    fec = cfuser.FusionExecutorCache(fd.fusion)
    k = [0]

    def nxt():
        k[0] = (k[0] + 1) % len(inputs_sets)
        return inputs_sets[k[0]]
    ref = eager(*inputs_sets[0])
    ref = ref[0] if isinstance(ref, tuple) else ref  # var_mean's var: the first output
    got = fec.execute(list(inputs_sets[0]))[0]
    # time the full kernels, not the quick tier the first execute ran
    tier = "full" if fec.wait_for_kernels(timeout=120.0) and fec.kernels_final() else "quick"
    err = (got.float() - ref.float()).norm() / max(ref.float().norm().item(), 1e-30)
    t_cf = cuda_time(lambda: fec.execute(list(nxt())))
    t_eager = t_comp = float("nan")
    if refs:
        t_eager = cuda_time(lambda: eager(*nxt()))
        comp = compiled_cache.setdefault(name, torch.compile(eager, dynamic=False))
        try:
            t_comp = cuda_time(lambda: comp(*nxt()))
        except Exception as e:  # torch.compile missing a backend is reported, not fatal
            print(f"  torch.compile failed for {name}: {type(e).__name__}: {e}", file=sys.stderr)
    src = torch.empty(nbytes // 2, dtype=torch.uint8, device="cuda")
    dst = torch.empty_like(src)
    t_copy = cuda_time(lambda: dst.copy_(src))
    gb = lambda t: nbytes / t / 1e9  # noqa: E731
    return {"fusion": name, "cfuser_gbs": gb(t_cf), "eager_gbs": gb(t_eager), "compile_gbs": gb(t_comp),
            "copy_gbs": gb(t_copy), "rel_error": float(err), "tier": tier}


def host_time():
    """Host time per call of back-to-back calls (best of 2x5 runs of 2000): the
    cached chain on 1k elements beside eager and torch.compile, and the
    pieces a call is made of (an empty torch allocation, one eager add)."""
    a = torch.randn(1024, device="cuda")
    b = torch.randn(1024, device="cuda")
    fd = fusion_chain(torch.float32)
    fec = cfuser.FusionExecutorCache(fd.fusion)
    comp = torch.compile(eager_chain)
    stream = torch.cuda.current_stream()
    with FusionDefinition() as fd1:
        fd1.add_output(fd1.ops.neg(fd1.define_tensor(shape=[-1])))
    fec1 = cfuser.FusionExecutorCache(fd1.fusion)
    conv = cfuser._C._testing
    fec.execute([a, b])
    fec1.execute([a])
    conv.cuda_wait_background()
    res = {}
    rows = [("cfuser", lambda: fec.execute([a, b])), ("eager", lambda: eager_chain(a, b)),
            ("torch.compile", lambda: comp(a, b)),
            ("cfuser, stream given", lambda: fec.execute([a, b], stream=stream)),
            ("cfuser, 1-input neg", lambda: fec1.execute([a])),
            ("import_tensor", lambda: conv.import_tensor(a)),
            ("current stream query", lambda: conv.current_stream(0)),
            ("alloc_output", lambda: conv.alloc_output("torch", "Float", (1024,), 0)),
            ("torch.empty", lambda: torch.empty(1024, device="cuda")),
            ("eager add", lambda: a + b)]
    for _ in range(2):  # two rounds, interleaved: this machine's speed drifts
        for name, fn in rows:
            for _ in range(50):
                fn()
            torch.cuda.synchronize()
            samples = []
            for _ in range(5):
                n = 2000
                t0 = time.perf_counter()
                for _ in range(n):
                    fn()
                samples.append((time.perf_counter() - t0) / n)
                torch.cuda.synchronize()
            res[name] = min(res.get(name, 1e9), min(samples) * 1e6)
    print(f"DLPack exchange API of torch.Tensor (versions, used): {conv.exchange_api(torch.Tensor)}; "
          f"current stream handle {conv.current_stream(0)}, torch's {torch.cuda.current_stream().cuda_stream}")
    return res


PROBE = r"""
import json, sys, time, torch, cfuser
from cfuser import FusionDefinition, DataType
x = torch.randn(4096, device="cuda"); torch.cuda.synchronize()
with FusionDefinition() as fd:
    t = fd.define_tensor(shape=[-1])
    fd.add_output(fd.ops.sin(fd.ops.mul(fd.ops.add(t, float(sys.argv[1])), 1.5)))
t0 = time.perf_counter(); fd.execute([x]); torch.cuda.synchronize()
ms = (time.perf_counter() - t0) * 1e3
cfuser._C._testing.cuda_wait_background()
full = (time.perf_counter() - t0) * 1e3
st = cfuser._C._testing.cuda_stats()
print(json.dumps({"ms": ms, "full_kernels_ms": full, "quick_plans": st["quick_plans"],
                  **{k[:-3] + "_ms": v / 1e6 for k, v in st.items() if k.endswith("_ns")}}))
"""


def compile_times(runs=3):
    """First execute of a new fusion in a fresh process (empty disk cache, a
    constant no earlier run used, so no cache of any kind can answer), then
    the same fusion in another fresh process (a disk-cache hit): median of
    `runs` pairs."""
    cold, warm, parts = [], [], []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as cache:
            env = dict(os.environ, XDG_CACHE_HOME=cache)
            const = repr(random.random())
            run = lambda: json.loads(subprocess.check_output([sys.executable, "-c", PROBE, const],  # noqa: E731
                                                             env=env).splitlines()[-1])
            c = run()
            cold.append(c.pop("ms"))
            parts.append(c)
            warm.append(run()["ms"])
    return {"first_compile_ms": statistics.median(cold), "disk_cache_hit_ms": statistics.median(warm),
            "first_compile_runs_ms": cold, "disk_cache_hit_runs_ms": warm, "first_compile_parts_ms": parts}


def machine(dev):
    props = torch.cuda.get_device_properties(0)
    return {"gpu": dev, "sm_count": props.multi_processor_count,
            "memory_bytes": props.total_memory, "cuda": torch.version.cuda,
            "cpu_count": os.cpu_count(), "python": sys.version.split()[0]}


def metrics(rows, host, comp):
    """Figures in the baselines' form: ratios to in-run references, and times."""
    m = {}
    for r in rows:
        key = "gpu." + r["fusion"].replace(" ", "_")
        for ref in ("copy", "compile", "eager"):
            m[f"{key}.over_{ref}"] = {"value": r["cfuser_gbs"] / r[f"{ref}_gbs"], "unit": "ratio",
                                      "kind": "ratio", "better": "higher", "tolerance": 0.10}
        m[f"{key}.cfuser_gbs"] = {"value": r["cfuser_gbs"], "unit": "GB/s", "kind": "info", "better": "higher"}
    m["gpu.host_us_1k_chain"] = {"value": host["cfuser"], "unit": "us", "kind": "info", "better": "lower"}
    m["gpu.host_1k_chain.over_eager"] = {"value": host["cfuser"] / host["eager"], "unit": "ratio",
                                         "kind": "ratio", "better": "lower", "tolerance": 0.10}
    m["gpu.first_compile_ms"] = {"value": comp["first_compile_ms"], "unit": "ms", "kind": "info", "better": "lower"}
    m["gpu.disk_cache_hit_ms"] = {"value": comp["disk_cache_hit_ms"], "unit": "ms", "kind": "info", "better": "lower"}
    return m


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=None)
    p.add_argument("--quick", action="store_true", help="smaller sizes (a smoke run)")
    p.add_argument("--cfuser-only", action="store_true",
                   help="cfuser and the copy only, then the compile probe (to compare NVRTC options)")
    p.add_argument("--sweep", nargs="?", const="quick", choices=("quick", "full"),
                   help="run the reduction/normalization shape sweep (perf/gpu_sweep.py) instead")
    p.add_argument("--sweep-out", default="reports/out/gpu_sweep",
                   help="where the sweep writes sweep.json and sweep.svg")
    p.add_argument("--compile-static", action="store_true",
                   help="sweep: torch.compile each shape (dynamic=False) instead of once per case kind")
    args = p.parse_args(argv)
    if args.sweep:
        from . import gpu_sweep
        doc = gpu_sweep.run(torch, args.sweep, args.sweep_out, args.compile_static,
                            progress=lambda m: print(m, file=sys.stderr), cuda_time=cuda_time)
        if args.out:
            with open(args.out, "w") as f:
                json.dump(doc, f, indent=1)
        return 0
    refs = not args.cfuser_only
    dev = torch.cuda.get_device_name()
    g = torch.Generator(device="cuda").manual_seed(7)
    rows = []
    compiled = {}
    n = (1 << 20) if args.quick else (64 << 20)
    for dt in (torch.float32, torch.bfloat16):
        sets = [(torch.randn(n, device="cuda", generator=g).to(dt), torch.randn(n, device="cuda", generator=g).to(dt))
                for _ in range(2)]
        esz = sets[0][0].element_size()
        rows.append(bench_case(f"chain6 {str(dt)[6:]} {n >> 20}M", fusion_chain(dt), eager_chain, sets, 3 * n * esz,
                               compiled, refs))
        del sets
    shapes = [(1024, 4096)] if args.quick else [(16384, 4096), (4096, 16384)]
    for kind in ("softmax", "layernorm", "rmsnorm", "rowsum", "cumsum", "welford"):
        for (m, k) in shapes:
            sets = [(torch.randn(m, k, device="cuda", generator=g).to(torch.bfloat16),) for _ in range(2)]
            out_elems = m if kind == "rowsum" else 2 * m if kind == "welford" else m * k
            nbytes = (m * k + out_elems) * 2
            rows.append(bench_case(f"{kind} bf16 {m}x{k}", fusion_rows(kind, torch.bfloat16, k), eager_rows(kind),
                                   sets, nbytes, compiled, refs))
            del sets
    bsz, seq, heads, hd = (2, 256, 8, 128) if args.quick else (8, 4096, 32, 128)
    bf = torch.bfloat16
    sets = [(torch.randn(bsz, seq, heads, hd, device="cuda", generator=g).to(bf),
             torch.randn(seq, hd, device="cuda", generator=g).to(bf),
             torch.randn(seq, hd, device="cuda", generator=g).to(bf)) for _ in range(2)]
    nbytes = (2 * bsz * seq * heads * hd + 2 * seq * hd) * 2
    rows.append(bench_case(f"rope bf16 {bsz}x{seq}x{heads}x{hd}", fusion_rope(bf, bsz, seq, heads, hd), eager_rope,
                           sets, nbytes, compiled, refs))
    del sets
    for (m, k) in shapes:
        sets = [(torch.randn(m, k, device="cuda", generator=g).to(bf),) for _ in range(2)]
        rows.append(bench_case(f"pad+pointwise bf16 {m}x{k}", fusion_pad(bf), eager_pad, sets,
                               (m * k + m * (k + 3)) * 2, compiled, refs))
        del sets
    # indexing: rows of a bf16 table in random order (the index check's
    # flag is read after every execute, so these include that wait)
    for (m, k) in shapes:
        sets = [(torch.randn(m, k, device="cuda", generator=g).to(torch.bfloat16),
                 torch.randint(0, m, (m,), device="cuda", generator=g)) for _ in range(2)]
        rows.append(bench_case(f"index_select+pw bf16 {m}x{k}", fusion_index_select(torch.bfloat16),
                               eager_index_select, sets, 2 * m * k * 2 + 8 * m, compiled, refs))
        sets = [(s[1], s[0]) for s in sets]
        rows.append(bench_case(f"embedding bf16 {m}x{k}", fusion_embedding(torch.bfloat16), eager_embedding,
                               sets, 2 * m * k * 2 + 8 * m, compiled, refs))
        del sets
    host = host_time() if refs else {}
    comp = compile_times()
    doc = {**env.describe_run("cuda", "quick" if args.quick else "full"),
           "gpu": dev, "torch": torch.__version__, "cfuser": cfuser.__version__, "rows": rows,
           "nvrtc_options": os.environ.get("CFUSER_NVRTC_OPTIONS", ""),
           "cuda_tune": os.environ.get("CFUSER_CUDA_TUNE", ""),
           "host_us_1k_chain": host, **comp, "metrics": metrics(rows, host, comp) if refs else {},
           "gpu_machine": machine(dev)}
    if args.out:
        with open(args.out, "w") as f:
            json.dump(doc, f, indent=1)
    knobs = [f"{k}={os.environ[k]}" for k in ("CFUSER_CUDA_TUNE", "CFUSER_NVRTC_OPTIONS") if os.environ.get(k)]
    print(f"\nGPU benchmarks on {dev} (torch {torch.__version__}); GB/s = bytes read + written"
          + (f"; {', '.join(knobs)}" if knobs else ""))
    print(f"{'fusion':30} {'cfuser':>8} {'eager':>8} {'compile':>8} {'copy':>8} {'cf/copy':>8} {'cf/comp':>8} "
          f"{'cf/eager':>8} {'relerr':>9}  tier timed")
    for r in rows:
        print(f"{r['fusion']:30} {r['cfuser_gbs']:8.0f} {r['eager_gbs']:8.0f} {r['compile_gbs']:8.0f} {r['copy_gbs']:8.0f} "
              f"{r['cfuser_gbs'] / r['copy_gbs']:8.2f} {r['cfuser_gbs'] / r['compile_gbs']:8.2f} "
              f"{r['cfuser_gbs'] / r['eager_gbs']:8.2f} {r['rel_error']:9.1e}  {r['tier']}")
    if host:
        print("host time per call, back-to-back (us): " + ", ".join(f"{k} {v:.1f}" for k, v in host.items()))
    print(f"first compile of a new fusion: {comp['first_compile_ms']:.1f} ms "
          f"({', '.join(f'{v:.0f}' for v in comp['first_compile_runs_ms'])}); disk-cache hit in a fresh process: "
          f"{comp['disk_cache_hit_ms']:.1f} ms")
    for part in comp["first_compile_parts_ms"]:
        print("  first execute's parts: " + ", ".join(
            f"{k[:-3]} {v:.1f} ms" if k.endswith("_ms") else f"{k} {v}" for k, v in part.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
