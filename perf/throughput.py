"""Kernel throughput: GB/s (inputs read + outputs written) of each fusion in
fusions.py over a range of sizes, for cfuser and, in the same run and on the
same inputs, numpy, numexpr, torch eager, torch.compile and a memcpy that
moves the same number of bytes.

Samples of all implementations are interleaved repeat by repeat, so each
ratio sample (cfuser / reference) pairs two figures taken moments apart.
cfuser's results are checked against numpy's before they are timed; a wrong
answer is reported as an error, not as a speed.

--device cuda runs the same fusions on torch CUDA tensors with torch eager,
torch.compile and a device copy as references (and bfloat16 beside float32).
"""
from __future__ import annotations

import functools
import os
import statistics
import time
from pathlib import Path

from . import fusions as F
from .metrics import metric, target

KiB, MiB = 1 << 10, 1 << 20
# Sizes are element counts; labels give the float32 bytes of the main input.
FULL_ELEMS = (1 << 10, 1 << 14, 1 << 18, 1 << 22, 1 << 24, 1 << 26)    # 4 KiB ... 256 MiB
SMOKE_ELEMS = (1 << 10, 1 << 18, 1 << 24)                               # 4 KiB, 1 MiB, 64 MiB
TARGET_ELEMS = 1 << 24          # 16M elements / 4096 x 4096: the foundation issue's size
GPU_TARGET_ELEMS = 1 << 26      # 64M elements: the CUDA issue's pointwise size
GATED_ELEMS = (1 << 18, 1 << 24)
# Stop timing an implementation at larger sizes once one call takes longer.
MAX_CALL_S = {"full": 3.0, "smoke": 1.0}
COMPILE_BUDGET_S = 300.0

CPU_TARGETS = {
    ("pointwise_chain", "numpy"): target(">=", 3.0, "fused chain >= 3x numpy"),
    ("pointwise_chain", "numexpr"): target(">=", 2.0, "fused chain >= 2x numexpr"),
    ("pointwise_chain", "torch_compile"): target(">=", 1.0, "fused chain >= torch.compile (stretch)"),
    ("softmax", "numpy"): target(">=", 3.0, "row softmax >= 3x numpy"),
    ("softmax", "torch_eager"): target(">=", 1.0, "row softmax >= torch eager"),
    ("row_sum", "numpy"): target(">=", 1.0, "row sum >= numpy"),
    ("index_select_pointwise", "torch_eager"): target(">=", 1.0, "index_select + pointwise >= torch eager"),
    ("embedding", "torch_eager"): target(">=", 1.0, "embedding lookup >= torch eager"),
    ("col_sum", "numpy"): target(">=", 1.0, "sum over the outer dim >= numpy"),
    ("sum_nchw", "numpy"): target(">=", 1.0, "sum over N, H, W of NCHW >= numpy"),
    ("sum_nhwc", "numpy"): target(">=", 1.0, "sum over N, H, W of NHWC >= numpy"),
    ("bn_stats_nchw", "numpy"): target(">=", 1.0, "NCHW batch statistics >= numpy"),
    ("bn_stats_nhwc", "numpy"): target(">=", 1.0, "NHWC batch statistics >= numpy"),
    ("batchnorm_nchw", "numpy"): target(">=", 1.0, "NCHW batchnorm >= numpy"),
    ("batchnorm_nhwc", "numpy"): target(">=", 1.0, "NHWC batchnorm >= numpy"),
    ("softmax_dim0", "numpy"): target(">=", 1.0, "softmax over dim 0 >= numpy"),
}
GPU_TARGETS = {
    ("pointwise_chain", "memcpy"): target(">=", 0.9, "chain >= 90% of device copy"),
    ("pointwise_chain", "torch_compile"): target(">=", 0.95, "chain >= 95% of torch.compile"),
    ("pointwise_chain", "torch_eager"): target(">=", 4.0, "chain >= 4x eager"),
    ("softmax", "torch_compile"): target(">=", 1.0, "softmax >= torch.compile"),
    ("layernorm", "torch_compile"): target(">=", 1.0, "layernorm >= torch.compile"),
    ("rmsnorm", "torch_compile"): target(">=", 1.0, "rmsnorm >= torch.compile"),
    ("row_sum", "torch_compile"): target(">=", 1.0, "row sum >= torch.compile"),
}


def size_label(elems: int) -> str:
    b = elems * 4
    return f"{b // MiB}MiB" if b >= MiB else f"{b // KiB}KiB"


# --- backends -----------------------------------------------------------------

class CpuBackend:
    device = "cpu"

    def __init__(self, np, torch, ne):
        self.np, self.torch, self.ne = np, torch, ne
        self.dtypes = ("float32",)

    def make(self, shape, dtype, rng):
        return rng.standard_normal(shape, dtype=self.np.float32)

    def make_index(self, shape, hi, rng):
        return rng.integers(0, hi, shape, dtype=self.np.int64)

    def sync(self):
        pass

    def to_numpy(self, x):
        return self.np.asarray(x)

    def copy_pair(self, nbytes):
        n = max(1, nbytes // 2)
        src = self.np.ones(n, dtype=self.np.uint8)
        dst = self.np.empty_like(src)
        return lambda: self.np.copyto(dst, src)

    def references(self, f, xs, refs):
        np, torch = self.np, self.torch
        out = {"numpy": lambda: f.numpy(np, *xs)}
        if self.ne is not None and f.numexpr is not None and "numexpr" in refs:
            out["numexpr"] = lambda: f.numexpr(self.ne, *xs)
        if torch is not None:
            ts = [torch.from_numpy(x) for x in xs]
            if "torch" in refs:
                out["torch_eager"] = lambda: f.torch(torch, *ts)
            if "compile" in refs:
                out["torch_compile"] = ("compile", ts)
        return {k: v for k, v in out.items() if k in refs or k.startswith("torch")}


class CudaBackend:
    device = "cuda"

    def __init__(self, np, torch):
        self.np, self.torch = np, torch
        self.dtypes = ("float32", "bfloat16")

    def make(self, shape, dtype, rng):
        t = self.torch.from_numpy(rng.standard_normal(shape, dtype=self.np.float32))
        return t.to(device="cuda", dtype=getattr(self.torch, dtype))

    def make_index(self, shape, hi, rng):
        return self.torch.from_numpy(rng.integers(0, hi, shape, dtype=self.np.int64)).to("cuda")

    def sync(self):
        self.torch.cuda.synchronize()

    def to_numpy(self, x):
        return x.float().cpu().numpy()

    def copy_pair(self, nbytes):
        n = max(1, nbytes // 2)
        src = self.torch.ones(n, dtype=self.torch.uint8, device="cuda")
        dst = self.torch.empty_like(src)
        return lambda: dst.copy_(src)

    def references(self, f, xs, refs):
        torch = self.torch
        out = {}
        if "torch" in refs:
            out["torch_eager"] = lambda: f.torch(torch, *xs)
        if "compile" in refs:
            out["torch_compile"] = ("compile", xs)
        return out


# --- timing -------------------------------------------------------------------

def _timed(fn, sync, number):
    sync()
    t0 = time.perf_counter()
    for _ in range(number):
        fn()
    sync()
    return (time.perf_counter() - t0) / number


def _calibrate(fn, sync, sample_s):
    t = _timed(fn, sync, 1)
    return t, max(1, min(100000, int(sample_s / max(t, 1e-9))))


class Compiled:
    """torch.compile'd references, one per fusion, compiled once with dynamic
    shapes so every size reuses the same code. Inductor's on-disk cache
    (TORCHINDUCTOR_CACHE_DIR) makes later runs start fast."""

    def __init__(self, torch, cache_dir: Path | None):
        self.torch = torch
        self.fns = {}
        self.failed = {}
        if cache_dir is not None:
            os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", str(cache_dir))

    def get(self, f):
        if f.name in self.failed:
            raise RuntimeError(self.failed[f.name])
        if f.name not in self.fns:
            torch = self.torch
            # One code object per fusion (a shared lambda would make dynamo pool
            # every fusion's guards under one cache entry, hit its recompile
            # limit and silently fall back to eager).
            torch._dynamo.config.cache_size_limit = max(
                64, torch._dynamo.config.cache_size_limit)
            self.fns[f.name] = torch.compile(functools.partial(f.torch, torch), dynamic=True)
        return self.fns[f.name]


def _close(got, ref, np, dtype):
    got = np.asarray(got, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    if got.shape != ref.shape:
        return False
    tol = 2e-2 if dtype == "bfloat16" else 1e-3
    scale = max(1.0, float(np.max(np.abs(ref))) if ref.size else 1.0)
    return bool(np.allclose(got, ref, rtol=tol, atol=tol * scale))


def _cf_dtype(cfuser, dtype):
    return cfuser.DataType.Float if dtype == "float32" else cfuser.DataType.BFloat16


def run(np, torch, ne, cfuser, cfuser_reason, device="cpu", smoke=False,
        refs=("numpy", "numexpr", "torch", "compile", "memcpy"), only=None,
        sizes=None, cache_dir=None, progress=print) -> dict:
    result = {"metrics": {}, "skipped": [], "errors": [], "curves": {}}
    if device == "cuda":
        if torch is None or not torch.cuda.is_available():
            result["skipped"].append({"what": "throughput.cuda",
                                      "reason": "no CUDA device visible to torch"})
            return result
        be = CudaBackend(np, torch)
    else:
        be = CpuBackend(np, torch, ne)
    if cfuser is None:
        result["skipped"].append({"what": "throughput.cfuser", "reason": cfuser_reason})
    mode = "smoke" if smoke else "full"
    elems_list = sizes or (SMOKE_ELEMS if smoke else FULL_ELEMS)
    repeats = 5 if smoke else 7
    sample_s = 0.02 if smoke else 0.05
    compiled = Compiled(torch, cache_dir) if torch is not None and "compile" in refs else None
    fusions = [f for f in F.FUSIONS if not only or f.name in only]
    total = len(fusions) * len(elems_list) * len(be.dtypes)
    step = 0
    rng = np.random.default_rng(1234)
    for dtype in be.dtypes:
        for f in fusions:
            key = f.name if dtype == "float32" else f"{f.name}.{dtype}"
            curve = result["curves"][key] = {
                "fusion": f.name, "dtype": dtype, "description": f.description,
                "elems": [], "labels": [], "bytes": [], "gbps": {}, "notes": []}
            cf_fd = {}
            dropped: dict[str, str] = {}
            for elems in elems_list:
                step += 1
                label = size_label(elems)
                progress(f"throughput [{step}/{total}] {key} {label}")
                itemsize = 4 if dtype == "float32" else 2
                nbytes = F.bytes_moved(f, elems, itemsize)
                xs = [be.make(s[1], dtype, rng) if len(s) == 2 else be.make_index(s[1], s[2], rng)
                      for s in f.inputs(elems)]
                impls = {}
                if cfuser is not None and "cfuser" not in dropped:
                    cols = F.matrix(elems)[1]
                    try:
                        if cols not in cf_fd:
                            with cfuser.FusionDefinition() as fd:
                                f.define(fd, cfuser, _cf_dtype(cfuser, dtype), cols)
                            cf_fd[cols] = fd
                        fd = cf_fd[cols]
                        impls["cfuser"] = lambda fd=fd, xs=xs: fd.execute(list(xs))
                    except Exception as e:
                        dropped["cfuser"] = f"definition failed: {type(e).__name__}: {e}"
                        result["errors"].append({"what": f"throughput.{key}.cfuser",
                                                 "error": dropped["cfuser"]})
                for name, fn in be.references(f, xs, refs).items():
                    if name in dropped:
                        continue
                    if isinstance(fn, tuple):
                        if compiled is None:
                            continue
                        cfn = _compile_ref(compiled, f, fn[1], be, dropped, result, key, progress)
                        if cfn is None:
                            continue
                        impls[name] = cfn
                    else:
                        impls[name] = fn
                if "memcpy" in refs:
                    impls["memcpy"] = be.copy_pair(nbytes)
                # Check cfuser against the first reference before timing it.
                if "cfuser" in impls:
                    ref_name = "numpy" if "numpy" in impls else "torch_eager"
                    try:
                        got = impls["cfuser"]()
                        if ref_name in impls:
                            want = impls[ref_name]()
                            ok = all(_close(be.to_numpy(g), be.to_numpy(w), np, dtype)
                                     for g, w in zip(got, want)) and len(got) == len(want)
                            if not ok:
                                raise AssertionError(f"result differs from {ref_name}'s")
                    except Exception as e:
                        del impls["cfuser"]
                        result["errors"].append({"what": f"throughput.{key}.{label}.cfuser",
                                                 "error": f"{type(e).__name__}: {e}"})
                numbers = {}
                for name, fn in list(impls.items()):
                    try:
                        fn()  # warm-up (first-touch of outputs, lazy init)
                        t1, numbers[name] = _calibrate(fn, be.sync, sample_s)
                    except Exception as e:
                        del impls[name]
                        result["errors"].append({"what": f"throughput.{key}.{label}.{name}",
                                                 "error": f"{type(e).__name__}: {e}"})
                        continue
                    if t1 > MAX_CALL_S[mode]:
                        dropped[name] = (f"one call took {t1:.2f} s at {label}; "
                                         f"larger sizes skipped (limit {MAX_CALL_S[mode]} s)")
                        curve["notes"].append(f"{name}: {dropped[name]}")
                samples = {name: [] for name in impls}
                for _ in range(repeats):
                    for name, fn in impls.items():
                        samples[name].append(nbytes / _timed(fn, be.sync, numbers[name]) / 1e9)
                curve["elems"].append(elems)
                curve["labels"].append(label)
                curve["bytes"].append(nbytes)
                for name in set(curve["gbps"]) | set(samples):
                    curve["gbps"].setdefault(name, [None] * (len(curve["elems"]) - 1))
                    xs_ = samples.get(name)
                    curve["gbps"][name].append(statistics.median(xs_) if xs_ else None)
                _size_metrics(result["metrics"], key, f.name, elems, label, samples, device)
                del xs, impls
    return result


def _compile_ref(compiled, f, ts, be, dropped, result, key, progress):
    try:
        fn = compiled.get(f)
        if f.name not in getattr(compiled, "warm", set()):
            progress(f"throughput: torch.compile {f.name} (cached on disk after the first run)")
            t0 = time.perf_counter()
            fn(*ts)
            be.sync()
            dt = time.perf_counter() - t0
            compiled.warm = getattr(compiled, "warm", set()) | {f.name}
            result.setdefault("compile_seconds", {})[f.name] = round(dt, 2)
            if dt > COMPILE_BUDGET_S:
                dropped["torch_compile"] = f"compile took {dt:.0f} s (> {COMPILE_BUDGET_S:.0f} s)"
                return None
        return lambda: fn(*ts)
    except Exception as e:
        compiled.failed[f.name] = f"{type(e).__name__}: {e}"
        dropped["torch_compile"] = f"torch.compile failed: {compiled.failed[f.name]}"
        result["errors"].append({"what": f"throughput.{key}.torch_compile",
                                 "error": compiled.failed[f.name]})
        return None


def _size_metrics(m, key, fname, elems, label, samples, device):
    cf = samples.get("cfuser")
    if cf:
        m[f"throughput.{key}.{label}.cfuser.gbps"] = metric(
            statistics.median(cf), "GB/s", better="higher", samples=cf)
    if not cf:
        return
    targets = GPU_TARGETS if device == "cuda" else CPU_TARGETS
    target_elems = GPU_TARGET_ELEMS if device == "cuda" and fname == "pointwise_chain" \
        else TARGET_ELEMS
    for ref, xs in samples.items():
        if ref == "cfuser" or not xs:
            continue
        ratios = [c / r for c, r in zip(cf, xs)]
        gated = ref == "memcpy" and elems in GATED_ELEMS
        tgt = targets.get((fname, ref)) if elems == target_elems and "." not in key else None
        if device == "cuda" and elems == target_elems:
            tgt = targets.get((fname, ref))
        m[f"throughput.{key}.{label}.cfuser_over_{ref}"] = metric(
            statistics.median(ratios), "x", "ratio" if gated else "info", better="higher",
            samples=ratios, reference=f"{ref} at {label}", target=tgt)
