"""The fixed set of fusions the throughput benchmark runs, each written four
ways: as a cfuser FusionDefinition, in numpy, in numexpr (where one
expression can say it), and in torch (used eager and under torch.compile).

Inputs are a 1-D vector (pointwise chain), a rows x cols matrix with
cols = min(4096, n) and 1-D weights of length cols, or a 4-D batch of images
(N, C=64, 28, 28; fewer pixels at small sizes) in NCHW or NHWC for the
batchnorm-style reductions over N, H, W; an input spec with a third entry
(name, shape, hi) is an Int (int64) index tensor with values in [0, hi).
Bytes moved = bytes of all inputs read plus all outputs written, the usual
roofline count (8 bytes per index).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

EPS = 1e-5
MAX_COLS = 4096


@dataclass(frozen=True)
class Fusion:
    name: str
    inputs: Callable        # (n_elems) -> list of (name, shape)
    outputs: Callable       # (rows, cols, n) -> list of output element counts
    define: Callable        # (fd, cfuser, low, cols) -> None
    numpy: Callable         # (np, *xs) -> tuple of arrays
    numexpr: Callable | None
    torch: Callable         # (torch, *xs) -> tuple of tensors
    description: str


def matrix(n: int) -> tuple[int, int]:
    cols = min(MAX_COLS, n)
    return n // cols, cols


# --- input layouts ------------------------------------------------------------

def _vec2(n):
    return [("a", (n,)), ("b", (n,))]


def _mat(n):
    r, c = matrix(n)
    return [("x", (r, c))]


def _mat_w(n):
    r, c = matrix(n)
    return [("x", (r, c)), ("w", (c,))]


def _mat_rows(n):
    r, c = matrix(n)
    return [("x", (r, c)), ("idx", (r,), r)]


def _table_ids(n):
    r, c = matrix(n)
    return [("ids", (r,), r), ("weight", (r, c))]


def images(n: int) -> tuple[int, int, int, int]:
    """(N, C, H, W) of about n elements: 64 channels of 28 x 28, as many
    images as fit (at least one; fewer pixels when even one does not)."""
    c = 64
    if n >= c * 784:
        h = w = 28
    else:
        h, w = 1, max(1, n // c)
    return max(1, n // (c * h * w)), c, h, w


def _nchw(n):
    return [("x", images(n))]


def _nhwc(n):
    b, c, h, w = images(n)
    return [("x", (b, h, w, c))]


def _mat_wb(n):
    r, c = matrix(n)
    return [("x", (r, c)), ("w", (c,)), ("b", (c,))]


# --- cfuser definitions -------------------------------------------------------
# `low` is the storage dtype (Float on the CPU; BFloat16 on the GPU runs):
# inputs are cast up to Float, math runs in Float, outputs are cast back.

def _tensor(fd, cfuser, ndim, low):
    return fd.define_tensor(shape=[-1] * ndim, contiguity=True, dtype=low)


def _up(fd, cfuser, t, low):
    return t if low == cfuser.DataType.Float else fd.ops.cast(t, dtype=cfuser.DataType.Float)


def _down(fd, cfuser, t, low):
    return t if low == cfuser.DataType.Float else fd.ops.cast(t, dtype=low)


def _rows(fd, v, x):
    return fd.ops.broadcast_in_dim(v, shape=x.shape(), broadcast_dims=[0])


def _cols(fd, v, x):
    return fd.ops.broadcast_in_dim(v, shape=x.shape(), broadcast_dims=[1])


def def_chain(fd, cf, low, cols):
    a = _up(fd, cf, _tensor(fd, cf, 1, low), low)
    b = _up(fd, cf, _tensor(fd, cf, 1, low), low)
    ops = fd.ops
    y = ops.relu(ops.add(ops.mul(ops.tanh(ops.add(ops.mul(a, b), 1.0)), 0.5), a))
    fd.add_output(_down(fd, cf, y, low))


def def_bcast_add(fd, cf, low, cols):
    x = _up(fd, cf, _tensor(fd, cf, 2, low), low)
    bias = _up(fd, cf, _tensor(fd, cf, 1, low), low)
    fd.add_output(_down(fd, cf, fd.ops.add(x, _cols(fd, bias, x)), low))


def def_row_sum(fd, cf, low, cols):
    x = _up(fd, cf, _tensor(fd, cf, 2, low), low)
    fd.add_output(_down(fd, cf, fd.ops.sum(x, dims=[1], keepdim=False), low))


def def_col_sum(fd, cf, low, cols):
    x = _up(fd, cf, _tensor(fd, cf, 2, low), low)
    fd.add_output(_down(fd, cf, fd.ops.sum(x, dims=[0], keepdim=False), low))


def def_sum_nchw(fd, cf, low, cols):
    x = _up(fd, cf, _tensor(fd, cf, 4, low), low)
    fd.add_output(_down(fd, cf, fd.ops.sum(x, dims=[0, 2, 3], keepdim=False), low))


def def_sum_nhwc(fd, cf, low, cols):
    x = _up(fd, cf, _tensor(fd, cf, 4, low), low)
    fd.add_output(_down(fd, cf, fd.ops.sum(x, dims=[0, 1, 2], keepdim=False), low))


def _bn_stats(fd, cf, low, dims):
    x = _up(fd, cf, _tensor(fd, cf, 4, low), low)
    var, mean = fd.ops.var_mean(x, dims=dims, correction=0, keepdim=False)
    fd.add_output(_down(fd, cf, var, low))
    fd.add_output(_down(fd, cf, mean, low))


def def_bn_stats_nchw(fd, cf, low, cols):
    _bn_stats(fd, cf, low, [0, 2, 3])


def def_bn_stats_nhwc(fd, cf, low, cols):
    _bn_stats(fd, cf, low, [0, 1, 2])


def _batchnorm(fd, cf, low, dims, cdim):
    x = _up(fd, cf, _tensor(fd, cf, 4, low), low)
    var, mean = fd.ops.var_mean(x, dims=dims, correction=0, keepdim=False)
    r = fd.ops.rsqrt(fd.ops.add(var, EPS))
    bc = lambda v: fd.ops.broadcast_in_dim(v, shape=x.shape(), broadcast_dims=[cdim])  # noqa: E731
    fd.add_output(_down(fd, cf, fd.ops.mul(fd.ops.sub(x, bc(mean)), bc(r)), low))


def def_batchnorm_nchw(fd, cf, low, cols):
    _batchnorm(fd, cf, low, [0, 2, 3], 1)


def def_batchnorm_nhwc(fd, cf, low, cols):
    _batchnorm(fd, cf, low, [0, 1, 2], 3)


def def_softmax_dim0(fd, cf, low, cols):
    x = _up(fd, cf, _tensor(fd, cf, 2, low), low)
    m = fd.ops.max(x, dims=[0], keepdim=False)
    e = fd.ops.exp(fd.ops.sub(x, _cols(fd, m, x)))
    s = fd.ops.sum(e, dims=[0], keepdim=False)
    fd.add_output(_down(fd, cf, fd.ops.div(e, _cols(fd, s, x)), low))


def def_softmax(fd, cf, low, cols):
    x = _up(fd, cf, _tensor(fd, cf, 2, low), low)
    m = fd.ops.max(x, dims=[1], keepdim=False)
    e = fd.ops.exp(fd.ops.sub(x, _rows(fd, m, x)))
    s = fd.ops.sum(e, dims=[1], keepdim=False)
    fd.add_output(_down(fd, cf, fd.ops.div(e, _rows(fd, s, x)), low))


def def_layernorm(fd, cf, low, cols):
    x = _up(fd, cf, _tensor(fd, cf, 2, low), low)
    w = _up(fd, cf, _tensor(fd, cf, 1, low), low)
    b = _up(fd, cf, _tensor(fd, cf, 1, low), low)
    var, mean = fd.ops.var_mean(x, dims=[1], correction=0, keepdim=False)
    r = fd.ops.rsqrt(fd.ops.add(var, EPS))
    y = fd.ops.mul(fd.ops.sub(x, _rows(fd, mean, x)), _rows(fd, r, x))
    y = fd.ops.add(fd.ops.mul(y, _cols(fd, w, x)), _cols(fd, b, x))
    fd.add_output(_down(fd, cf, y, low))


def def_rmsnorm(fd, cf, low, cols):
    x = _up(fd, cf, _tensor(fd, cf, 2, low), low)
    w = _up(fd, cf, _tensor(fd, cf, 1, low), low)
    ms = fd.ops.mul(fd.ops.sum(fd.ops.mul(x, x), dims=[1], keepdim=False), 1.0 / cols)
    r = fd.ops.rsqrt(fd.ops.add(ms, EPS))
    y = fd.ops.mul(fd.ops.mul(x, _rows(fd, r, x)), _cols(fd, w, x))
    fd.add_output(_down(fd, cf, y, low))


def def_index_select(fd, cf, low, cols):
    x = _tensor(fd, cf, 2, low)
    idx = fd.define_tensor(shape=[-1], contiguity=True, dtype=cf.DataType.Int)
    y = _up(fd, cf, fd.ops.index_select(x, idx, 0), low)
    fd.add_output(_down(fd, cf, fd.ops.relu(fd.ops.add(fd.ops.mul(y, 0.5), 1.0)), low))


def def_embedding(fd, cf, low, cols):
    ids = fd.define_tensor(shape=[-1], contiguity=True, dtype=cf.DataType.Int)
    fd.add_output(fd.ops.embedding_fwd(ids, _tensor(fd, cf, 2, low)))


def def_var_mean(fd, cf, low, cols):
    x = _up(fd, cf, _tensor(fd, cf, 2, low), low)
    var, mean = fd.ops.var_mean(x, dims=[1], correction=0, keepdim=False)
    fd.add_output(_down(fd, cf, var, low))
    fd.add_output(_down(fd, cf, mean, low))


def def_cumsum(fd, cf, low, cols):
    x = _up(fd, cf, _tensor(fd, cf, 2, low), low)
    fd.add_output(_down(fd, cf, fd.ops.cumsum(x, dim=1), low))


def def_welford(fd, cf, low, cols):
    x = _up(fd, cf, _tensor(fd, cf, 2, low), low)
    avg, var_sum, n = fd.ops.welford(x, dims=[1])
    fd.add_output(_down(fd, cf, fd.ops.div(var_sum, n), low))
    fd.add_output(_down(fd, cf, avg, low))


def def_rope(fd, cf, low, cols):
    """Rotary embedding the way nvFuser's benchmarks write it (slice the two
    halves of the head dim, cat them rotated), simplified to one head of
    `cols` per row: x * cos + cat(-x[:, h:], x[:, :h]) * sin."""
    x = _up(fd, cf, _tensor(fd, cf, 2, low), low)
    cos = _up(fd, cf, _tensor(fd, cf, 1, low), low)
    sin = _up(fd, cf, _tensor(fd, cf, 1, low), low)
    rows, h = x.size(0), cols // 2
    x1 = fd.ops.slice(x, [0, 0], [rows, h])
    x2 = fd.ops.slice(x, [0, h], [rows, cols])
    rot = fd.ops.cat([fd.ops.neg(x2), x1], dim=1)
    y = fd.ops.add(fd.ops.mul(x, _cols(fd, cos, x)), fd.ops.mul(rot, _cols(fd, sin, x)))
    fd.add_output(_down(fd, cf, y, low))


def def_pad_pointwise(fd, cf, low, cols):
    x = _up(fd, cf, _tensor(fd, cf, 2, low), low)
    p = fd.ops.pad(x, [1, 2], 0.0)
    fd.add_output(_down(fd, cf, fd.ops.relu(fd.ops.add(fd.ops.mul(p, 2.0), 1.0)), low))


# --- numpy --------------------------------------------------------------------

def np_chain(np, a, b):
    return (np.maximum(np.tanh(a * b + 1.0) * 0.5 + a, 0.0),)


def np_softmax(np, x):
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return (e / e.sum(axis=1, keepdims=True),)


def np_softmax_dim0(np, x):
    e = np.exp(x - x.max(axis=0, keepdims=True))
    return (e / e.sum(axis=0, keepdims=True),)


def np_batchnorm(np, x, axes):
    mean = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True)
    return ((x - mean) / np.sqrt(var + EPS),)


def np_layernorm(np, x, w, b):
    mean = x.mean(axis=1, keepdims=True)
    var = x.var(axis=1, keepdims=True)
    return ((x - mean) / np.sqrt(var + EPS) * w + b,)


def np_rmsnorm(np, x, w):
    return (x / np.sqrt((x * x).mean(axis=1, keepdims=True) + EPS) * w,)


def np_rope(np, x, cos, sin):
    h = x.shape[1] // 2
    return (x * cos + np.concatenate([-x[:, h:], x[:, :h]], axis=1) * sin,)


def np_pad_pointwise(np, x):
    return (np.maximum(np.pad(x, ((0, 0), (1, 2))) * 2.0 + 1.0, 0.0),)


# --- numexpr ------------------------------------------------------------------

def ne_chain(ne, a, b):
    return (ne.evaluate("maximum(tanh(a * b + 1) * 0.5 + a, 0)", local_dict={"a": a, "b": b}),)


def ne_bcast_add(ne, x, bias):
    return (ne.evaluate("x + bias", local_dict={"x": x, "bias": bias}),)


def ne_row_sum(ne, x):
    return (ne.evaluate("sum(x, axis=1)", local_dict={"x": x}),)


def ne_col_sum(ne, x):
    return (ne.evaluate("sum(x, axis=0)", local_dict={"x": x}),)


# --- torch --------------------------------------------------------------------

def t_chain(torch, a, b):
    return (torch.relu(torch.tanh(a * b + 1.0) * 0.5 + a),)


def t_batchnorm(torch, x, dims):
    var, mean = torch.var_mean(x, dim=dims, correction=0, keepdim=True)
    return ((x - mean) * torch.rsqrt(var + EPS),)


def t_layernorm(torch, x, w, b):
    return (torch.nn.functional.layer_norm(x, (x.shape[1],), w, b, EPS),)


def t_rmsnorm(torch, x, w):
    return (torch.nn.functional.rms_norm(x, (x.shape[1],), w, EPS),)


def t_var_mean(torch, x):
    return tuple(torch.var_mean(x, dim=1, correction=0))


def t_rope(torch, x, cos, sin):
    h = x.shape[1] // 2
    return (x * cos + torch.cat([-x[:, h:], x[:, :h]], dim=1) * sin,)


def t_pad_pointwise(torch, x):
    return (torch.relu(torch.nn.functional.pad(x, (1, 2)) * 2.0 + 1.0),)


FUSIONS = (
    Fusion("pointwise_chain", _vec2, lambda r, c, n: [n], def_chain, np_chain, ne_chain,
           t_chain, "relu(tanh(a*b + 1)*0.5 + a), two inputs"),
    Fusion("broadcast_add", lambda n: [("x", matrix(n)), ("bias", (matrix(n)[1],))],
           lambda r, c, n: [r * c], def_bcast_add,
           lambda np, x, bias: (x + bias,), ne_bcast_add,
           lambda torch, x, bias: (x + bias,), "x[r, c] + bias[c]"),
    Fusion("row_sum", _mat, lambda r, c, n: [r], def_row_sum,
           lambda np, x: (x.sum(axis=1),), ne_row_sum,
           lambda torch, x: (x.sum(dim=1),), "sum over the inner dim"),
    Fusion("col_sum", _mat, lambda r, c, n: [c], def_col_sum,
           lambda np, x: (x.sum(axis=0),), ne_col_sum,
           lambda torch, x: (x.sum(dim=0),), "sum over the outer dim"),
    Fusion("softmax", _mat, lambda r, c, n: [r * c], def_softmax, np_softmax, None,
           lambda torch, x: (torch.softmax(x, dim=1),), "row softmax"),
    Fusion("layernorm", _mat_wb, lambda r, c, n: [r * c], def_layernorm, np_layernorm, None,
           t_layernorm, "layer norm over rows, weight and bias"),
    Fusion("rmsnorm", _mat_w, lambda r, c, n: [r * c], def_rmsnorm, np_rmsnorm, None,
           t_rmsnorm, "RMS norm over rows, weight"),
    Fusion("var_mean", _mat, lambda r, c, n: [r, r], def_var_mean,
           lambda np, x: (x.var(axis=1), x.mean(axis=1)), None, t_var_mean,
           "variance and mean over rows"),
    Fusion("rope", _mat_wb, lambda r, c, n: [r * c], def_rope, np_rope, None, t_rope,
           "rotary embedding: x*cos + cat(-x[:, h:], x[:, :h])*sin (slice + cat)"),
    Fusion("pad_pointwise", _mat, lambda r, c, n: [r * (c + 3)], def_pad_pointwise, np_pad_pointwise,
           None, t_pad_pointwise, "relu(pad(x, (1, 2))*2 + 1) (pad read in place)"),
    Fusion("index_select_pointwise", _mat_rows, lambda r, c, n: [r * c], def_index_select,
           lambda np, x, idx: (np.maximum(x[idx] * 0.5 + 1.0, 0.0),), None,
           lambda torch, x, idx: (torch.relu(torch.index_select(x, 0, idx) * 0.5 + 1.0),),
           "relu(index_select(x, idx, 0)*0.5 + 1): rows of x in random order"),
    Fusion("embedding", _table_ids, lambda r, c, n: [r * c], def_embedding,
           lambda np, ids, w: (w[ids],), None,
           lambda torch, ids, w: (torch.nn.functional.embedding(ids, w),),
           "embedding lookup: rows of weight[r, c] at r random ids"),
    Fusion("cumsum", _mat, lambda r, c, n: [r * c], def_cumsum,
           lambda np, x: (np.cumsum(x, axis=1),), None,
           lambda torch, x: (torch.cumsum(x, dim=1),), "cumulative sum along rows"),
    Fusion("welford", _mat, lambda r, c, n: [r, r], def_welford,
           lambda np, x: (x.var(axis=1), x.mean(axis=1)), None, t_var_mean,
           "welford over rows: var_sum / n and mean (var_mean's reference)"),
)
# Layouts beyond rows: outer reductions, several non-adjacent axes, dim 0.
LAYOUT_FUSIONS = (
    Fusion("sum_nchw", _nchw, lambda r, c, n: [images(n)[1]], def_sum_nchw,
           lambda np, x: (x.sum(axis=(0, 2, 3)),), None,
           lambda torch, x: (x.sum(dim=(0, 2, 3)),), "sum over N, H, W of NCHW images"),
    Fusion("sum_nhwc", _nhwc, lambda r, c, n: [images(n)[1]], def_sum_nhwc,
           lambda np, x: (x.sum(axis=(0, 1, 2)),), None,
           lambda torch, x: (x.sum(dim=(0, 1, 2)),), "sum over N, H, W of NHWC images"),
    Fusion("bn_stats_nchw", _nchw, lambda r, c, n: [images(n)[1]] * 2, def_bn_stats_nchw,
           lambda np, x: (x.var(axis=(0, 2, 3)), x.mean(axis=(0, 2, 3))), None,
           lambda torch, x: tuple(torch.var_mean(x, dim=(0, 2, 3), correction=0)),
           "batch statistics (var, mean) over N, H, W of NCHW images"),
    Fusion("bn_stats_nhwc", _nhwc, lambda r, c, n: [images(n)[1]] * 2, def_bn_stats_nhwc,
           lambda np, x: (x.var(axis=(0, 1, 2)), x.mean(axis=(0, 1, 2))), None,
           lambda torch, x: tuple(torch.var_mean(x, dim=(0, 1, 2), correction=0)),
           "batch statistics (var, mean) over N, H, W of NHWC images"),
    Fusion("batchnorm_nchw", _nchw, lambda r, c, n: [_prod(images(n))], def_batchnorm_nchw,
           lambda np, x: np_batchnorm(np, x, (0, 2, 3)), None,
           lambda torch, x: t_batchnorm(torch, x, (0, 2, 3)),
           "batchnorm forward (no affine) of NCHW images"),
    Fusion("batchnorm_nhwc", _nhwc, lambda r, c, n: [_prod(images(n))], def_batchnorm_nhwc,
           lambda np, x: np_batchnorm(np, x, (0, 1, 2)), None,
           lambda torch, x: t_batchnorm(torch, x, (0, 1, 2)),
           "batchnorm forward (no affine) of NHWC images"),
    Fusion("softmax_dim0", _mat, lambda r, c, n: [r * c], def_softmax_dim0, np_softmax_dim0,
           None, lambda torch, x: (torch.softmax(x, dim=0),), "softmax over dim 0 (columns)"),
)
FUSIONS = FUSIONS + LAYOUT_FUSIONS
BY_NAME = {f.name: f for f in FUSIONS}


def bytes_moved(f: Fusion, n: int, itemsize: int) -> int:
    r, c = matrix(n)
    specs = f.inputs(n)
    elems = sum(_prod(s[1]) for s in specs if len(s) == 2) + sum(f.outputs(r, c, n))
    return elems * itemsize + 8 * sum(_prod(s[1]) for s in specs if len(s) == 3)


def _prod(shape):
    p = 1
    for s in shape:
        p *= s
    return p
