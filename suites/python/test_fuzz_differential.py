"""Differential fuzzing: random fusions of random ops against torch.

Each example draws a program: 1-3 inputs of one random shape (zero-size and
size-1 dims included; some dims defined as broadcast), numpy or torch,
contiguous or strided; then 1-8 ops (unary, binary with tensors or Python
numbers, where, casts, reductions over random dims with or without
keepdim); then 1-2 outputs. The fusion runs twice (cold, then cached) and
both results must match torch replaying the same program.

torch replays it twice: in the program's dtypes (the reference) and with
floating inputs in float64. Elements where those two disagree sit next to a
rounding discontinuity (a floor of 2.9999999, a comparison of nearly equal
values) or are ill-conditioned, and are not compared; everything else must
agree to the dtype's tolerance, and NaN, inf and the shape must agree
exactly.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, List

import numpy as np
import pytest
import torch
from hypothesis import assume, given, note
from hypothesis import strategies as st

from conftest import cfuser
from catalogue import tried
from fuzzing import fuzz_settings

D = cfuser.DataType
TORCH = {D.Float: torch.float32, D.Double: torch.float64, D.Int: torch.int64, D.Int32: torch.int32,
         D.Bool: torch.bool, D.Half: torch.float16, D.BFloat16: torch.bfloat16}
FLOAT = {torch.float32, torch.float64, torch.float16, torch.bfloat16}
TOL = {torch.float64: 1e-9, torch.float32: 2e-4, torch.float16: 2e-2, torch.bfloat16: 4e-2}

UNARY_FLOAT = ["abs", "neg", "exp", "log", "sqrt", "sin", "cos", "tanh", "sigmoid", "relu", "ceil", "floor",
               "trunc", "sign", "reciprocal", "expm1", "log1p", "atan", "asinh", "erf", "silu", "round",
               "isnan", "isfinite", "signbit"]
UNARY_INT = ["abs", "neg", "sign", "bitwise_not", "relu"]
BINARY_ANY = ["add", "sub", "mul", "maximum", "minimum", "eq", "ne", "lt", "le", "gt", "ge"]
BINARY_FLOAT = ["truediv", "atan2", "fmod", "remainder"]
BINARY_INTBOOL = ["bitwise_and", "bitwise_or", "bitwise_xor", "logical_and", "logical_or"]
REDUCTIONS = ["sum", "max", "min", "prod", "var"]

TORCH_OP: dict = {
    "relu": torch.relu, "sigmoid": torch.sigmoid, "silu": torch.nn.functional.silu,
    "truediv": torch.true_divide, "round": torch.round,
}


def torch_fn(name: str) -> Callable:
    return TORCH_OP.get(name) or getattr(torch, name)


@dataclass
class Value:
    cf: Any                      # the fusion's value
    ref: Callable[[list], Any]   # torch replay: inputs -> tensor
    shape: tuple
    dtype: torch.dtype
    kind: str                    # "full", "kept" (keepdim reduction) or "other"


@dataclass
class Program:
    shape: tuple
    bdims: tuple
    lines: List[str] = field(default_factory=list)


def broadcast_shape(a: tuple, b: tuple) -> tuple:
    return tuple(max(x, y) if min(x, y) != 0 else 0 for x, y in zip(a, b))


@st.composite
def programs(draw):
    nd = draw(st.integers(1, 3))
    shape = tuple(draw(st.lists(st.sampled_from([0, 1, 1, 2, 3, 5, 7, 16]), min_size=nd, max_size=nd)))
    # dims defined as broadcast (size 1 in define_tensor) for some inputs
    nin = draw(st.integers(1, 3))
    dtypes = [draw(st.sampled_from([D.Float, D.Float, D.Double, D.Int, D.Int32, D.Bool, D.Half, D.BFloat16]))
              for _ in range(nin)]
    bmasks = [tuple(draw(st.booleans()) and shape[d] == 1 for d in range(nd)) for _ in range(nin)]
    layouts = [draw(st.sampled_from(["contig", "contig", "strided", "transposed", "torch", "torch_strided"]))
               for _ in range(nin)]
    steps = draw(st.lists(st.tuples(st.integers(0, 7), st.integers(0, 10**6)), min_size=1, max_size=8))
    nout = draw(st.integers(1, 2))
    seed = draw(st.integers(0, 2**31 - 1))
    return shape, dtypes, bmasks, layouts, steps, nout, seed


def make_input(rng, shape, dtype, layout):
    tdt = TORCH[dtype]
    if tdt == torch.bool:
        base = rng.integers(0, 2, size=shape).astype(bool)
    elif tdt in FLOAT:
        base = rng.standard_normal(shape) * rng.choice([1.0, 3.0, 100.0])
        if rng.random() < 0.3 and base.size:
            base.flat[rng.integers(0, base.size)] = rng.choice([0.0, np.inf, -np.inf, np.nan, 0.5, -2.5])
    else:
        base = rng.integers(-5, 6, size=shape)
    t = torch.from_numpy(np.ascontiguousarray(base)).to(tdt)
    if layout in ("strided", "torch_strided") and len(shape):
        big = torch.zeros(shape[:-1] + (shape[-1] * 2,), dtype=tdt)
        big[..., ::2] = t
        t = big[..., ::2]
    elif layout == "transposed" and len(shape) >= 2:
        t = t.transpose(0, -1).contiguous().transpose(0, -1)
    if layout.startswith("torch") or tdt == torch.bfloat16:
        return t, t.clone()
    return t.numpy(), t.clone()


class Builder:
    """Draws ops over a pool of values, building the fusion and the replay."""

    def __init__(self, fd, prog: Program, pool: List[Value]):
        self.fd, self.prog, self.pool = fd, prog, pool

    def pick(self, k, kinds=("full", "kept"), pred=lambda v: True):
        cands = [v for v in self.pool if v.kind in kinds and pred(v)]
        return cands[k % len(cands)] if cands else None

    def add(self, v: Value, line: str):
        self.pool.append(v)
        self.prog.lines.append(line)

    def step(self, what: int, k: int):
        ops = self.fd.ops
        # unary ops, casts, reductions and permutes take any value; binary ops
        # and where take values of the input's shape or keepdim reductions
        a = self.pick(k, kinds=("full", "kept", "other") if what in (0, 4, 5, 7) else ("full", "kept"))
        if a is None:
            return
        isf = a.dtype in FLOAT
        if what == 0:  # unary
            names = UNARY_FLOAT if isf else UNARY_INT if a.dtype != torch.bool else ["logical_not"]
            name = names[(k // 7) % len(names)]
            out = getattr(ops, name)(a.cf)
            rt = torch_fn(name)
            self.add(Value(out, lambda x, a=a, rt=rt: rt(a.ref(x)), a.shape, TORCH[out.dtype()], a.kind),
                     f"{name}(v{self.pool.index(a)})")
        elif what in (1, 2):  # binary with another tensor of the same rank, or a number
            b = self.pick(k // 3, pred=lambda v: len(v.shape) == len(a.shape))
            use_number = what == 2 or b is None
            def cat(v):
                return 2 if v.dtype in FLOAT else 0 if v.dtype == torch.bool else 1

            if use_number:
                names = ["eq", "ne"] if a.dtype == torch.bool else BINARY_ANY + (BINARY_FLOAT if isf else [])
            elif cat(a) != cat(b):
                names = BINARY_ANY  # mixed categories: promotion
            elif cat(a) == 0:
                names = BINARY_INTBOOL
            elif cat(a) == 1:
                names = BINARY_ANY + BINARY_INTBOOL[:3]
            else:
                names = BINARY_ANY + BINARY_FLOAT
            name = names[(k // 11) % len(names)]
            rt = torch_fn(name)
            if use_number:
                num = [2, -1, 0.5, 3.0, 1e-3][(k // 5) % 5] if a.dtype != torch.bool else True
                if a.dtype not in FLOAT and isinstance(num, float):
                    num = 2
                out = getattr(ops, name)(a.cf, num)
                self.add(Value(out, lambda x, a=a, rt=rt, num=num: rt(a.ref(x), torch.tensor(num, dtype=torch.float64 if isinstance(num, float) else None)), a.shape,
                               TORCH[out.dtype()], a.kind), f"{name}(v{self.pool.index(a)}, {num!r})")
            else:
                out = getattr(ops, name)(a.cf, b.cf)
                shape = broadcast_shape(a.shape, b.shape)
                kind = "full" if "full" in (a.kind, b.kind) else "kept"
                self.add(Value(out, lambda x, a=a, b=b, rt=rt: rt(a.ref(x), b.ref(x)), shape, TORCH[out.dtype()],
                               kind), f"{name}(v{self.pool.index(a)}, v{self.pool.index(b)})")
        elif what == 3:  # where
            p = self.pick(k // 3, pred=lambda v: v.dtype == torch.bool and len(v.shape) == len(a.shape))
            b = self.pick(k // 5, pred=lambda v: len(v.shape) == len(a.shape) and (v.dtype in FLOAT) == isf
                          and v.dtype != torch.bool)
            if p is None or b is None or a.dtype == torch.bool:
                return
            out = ops.where(p.cf, a.cf, b.cf)
            shape = broadcast_shape(broadcast_shape(p.shape, a.shape), b.shape)
            kind = "full" if "full" in (p.kind, a.kind, b.kind) else "kept"
            self.add(Value(out, lambda x, p=p, a=a, b=b: torch.where(p.ref(x), a.ref(x), b.ref(x)), shape,
                           TORCH[out.dtype()], kind),
                     f"where(v{self.pool.index(p)}, v{self.pool.index(a)}, v{self.pool.index(b)})")
        elif what == 4:  # cast
            to = [D.Float, D.Double, D.Int, D.Bool, D.Half][(k // 3) % 5]
            if isf and TORCH[to] not in FLOAT:
                return  # float -> int casts of nan/inf are undefined in C and torch alike
            out = ops.cast(a.cf, to)
            self.add(Value(out, lambda x, a=a, to=TORCH[to]: a.ref(x).to(to), a.shape, TORCH[to], a.kind),
                     f"cast(v{self.pool.index(a)}, {to})")
        elif what == 7:  # permute
            nd = len(a.shape)
            perm = list(range(nd))
            for i in range(nd - 1, 0, -1):  # a permutation drawn from k
                j = (k >> (3 * i)) % (i + 1)
                perm[i], perm[j] = perm[j], perm[i]
            out = ops.permute(a.cf, perm)
            self.add(Value(out, lambda x, a=a, perm=perm: a.ref(x).permute(perm), tuple(a.shape[p] for p in perm),
                           a.dtype, "other" if perm != sorted(perm) else a.kind),
                     f"permute(v{self.pool.index(a)}, {perm})")
        else:  # reduction
            if a.dtype == torch.bool or not a.shape:
                return
            nd = len(a.shape)
            dims = sorted({(k >> i) % nd for i in range(1 + (k % nd))})
            keep = bool((k // 13) % 2)
            name = REDUCTIONS[(k // 17) % len(REDUCTIONS)]
            if name in ("max", "min") and math.prod(a.shape[d] for d in dims) == 0:
                name = "sum"  # torch refuses max/min over nothing; cfuser gives the identity (tested elsewhere)
            if name in ("sum", "prod", "var") and a.dtype not in FLOAT:
                return  # torch sums integers in int64 whatever their width; nvFuser keeps the width
            if name == "prod" and math.prod(a.shape[d] for d in dims) > 16:
                name = "sum"  # long products overflow, and then only the order of rounding differs
            out = ops.var(a.cf, dims=dims, correction=1, keepdim=keep) if name == "var" else \
                getattr(ops, name)(a.cf, dims=dims, keepdim=keep)

            def ref(x, a=a, dims=dims, keep=keep, name=name):
                t = a.ref(x)
                if name == "sum":
                    return torch.sum(t, dim=dims, keepdim=keep)
                if name == "var":
                    return torch.var(t, dim=dims, keepdim=keep, correction=1)
                if name == "prod":  # torch's prod takes one dim at a time
                    for d in sorted(dims, reverse=True):
                        t = torch.prod(t, dim=d, keepdim=keep)
                    return t
                return torch.amax(t, dim=dims, keepdim=keep) if name == "max" else torch.amin(t, dim=dims, keepdim=keep)

            shape = tuple(1 if d in dims else s for d, s in enumerate(a.shape)) if keep else \
                tuple(s for d, s in enumerate(a.shape) if d not in dims)
            self.add(Value(out, ref, shape, TORCH[out.dtype()], "kept" if keep else "other"),
                     f"{name}(v{self.pool.index(a)}, dims={dims}, keepdim={keep})")


def to_torch(o):
    return o if isinstance(o, torch.Tensor) else torch.from_numpy(np.asarray(o))


def compare(got, want, want64, what):
    got = to_torch(got)
    assert tuple(got.shape) == tuple(want.shape), (what, tuple(got.shape), tuple(want.shape))
    if want.dtype not in FLOAT:
        # integers and bools: exact, except where the float64 replay disagrees
        mask = (want.to(torch.float64) == want64.to(torch.float64))
        assert torch.equal(got.to(torch.float64)[mask], want.to(torch.float64)[mask]), (what, got, want)
        return
    g, w, w64 = got.to(torch.float64), want.to(torch.float64), want64.to(torch.float64)
    tol = TOL.get(want.dtype, 1e-4)
    scale = 1.0 + w64.abs().nan_to_num(0, 0, 0).amax().item() if w64.numel() else 1.0
    stable = ((w - w64).abs() <= tol * scale) | (w.isnan() & w64.isnan()) | ((w == w64) & w.isinf())
    ok = ((g - w).abs() <= tol * scale) | (g.isnan() & w.isnan()) | ((g == w) & g.isinf())
    bad = stable & ~ok
    assert not bad.any(), (what, g[bad][:5].tolist(), w[bad][:5].tolist())


def build_and_run(prog_draw):
    shape, dtypes, bmasks, layouts, steps, nout, seed = prog_draw
    rng = np.random.default_rng(seed)
    prog = Program(shape, tuple(bmasks))
    pool: List[Value] = []
    with cfuser.FusionDefinition() as fd:
        for i, (dt, bm) in enumerate(zip(dtypes, bmasks)):
            defshape = [1 if b else -1 for b in bm]
            x = fd.define_tensor(shape=defshape, dtype=dt)
            pool.append(Value(x, lambda xs, i=i: xs[i], shape, TORCH[dt], "full"))
            prog.lines.append(f"v{i} = input {dt} shape={defshape}")
        b = Builder(fd, prog, pool)
        for what, k in steps:
            b.step(what, k)
        outs = [pool[-1 - j] for j in range(min(nout, len(pool)))]
        for o in outs:
            fd.add_output(o.cf)
    inputs, refs = [], []
    for i, dt in enumerate(dtypes):
        arr, ref = make_input(rng, shape, dt, layouts[i])
        inputs.append(arr)
        refs.append(ref)
    note("\n".join(prog.lines))
    note(f"shape={shape} layouts={layouts}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with np.errstate(all="ignore"):
            try:
                want = [o.ref(refs) for o in outs]
                refs64 = [r.to(torch.float64) if r.dtype in FLOAT else r for r in refs]
                want64 = [o.ref(refs64) for o in outs]
            except RuntimeError as e:  # a program torch refuses (bool - bool, ...): no reference
                note(f"torch refuses: {e}")
                assume(False)
    for run in ("cold", "cached"):
        got = fd.execute(inputs)
        assert len(got) == len(outs)
        for j, (g, w, w64) in enumerate(zip(got, want, want64)):
            compare(g, w, w64, f"{run} output {j}")


@fuzz_settings(short=150, long=800)
@given(programs())
def test_random_fusions_match_torch(prog_draw):
    build_and_run(prog_draw)
    tried("random fusions run twice against torch")
