"""The exceptions table: bad inputs across the API, each with the exception
type it must raise and a fragment its message must contain."""
import sys

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from cfcommon import *  # noqa: E402,F403
from lifetime import fusion_of  # noqa: E402
import _cfharness  # noqa: E402

F = DataType.Float
E = cfuser.Error
np_f32 = np.ones((3, 4), dtype=np.float32)
np_b = np.ones(4, dtype=np.float32)


def _other_tensor():
    with FusionDefinition() as other:
        t = other.define_tensor(shape=[-1, -1], dtype=F)
        other.add_output(t)
    return other, t


_OTHER = _other_tensor()


class Raising:
    """A producer whose __dlpack__ raises: the cause must be chained."""

    def __dlpack__(self, **kw):
        raise KeyError("producer exploded")

    def __dlpack_device__(self):
        return (1, 0)


# (id, where, call, exception, message fragment, must also be cfuser.Error)
# where: "def" runs inside a definition with x (2-D), v (1-D), s (scalar);
#        "exec" runs fd.execute on small_fusion's fd; "any" takes nothing.
D = "def"
X = "exec"
A = "any"
TABLE = [
    # define_tensor
    ("dt_shape_str", D, lambda fd, x, v, s: fd.define_tensor(shape="ab", dtype=F), TypeError, "shape", False),
    ("dt_shape_float", D, lambda fd, x, v, s: fd.define_tensor(shape=[1.5], dtype=F), TypeError, "shape", False),
    ("dt_shape_none_item", D, lambda fd, x, v, s: fd.define_tensor(shape=[-1, None], dtype=F), TypeError, "1", False),
    ("dt_shape_overflow", D, lambda fd, x, v, s: fd.define_tensor(shape=[2 ** 70], dtype=F), OverflowError, "shape", False),
    ("dt_shape_minus2", D, lambda fd, x, v, s: fd.define_tensor(shape=[-2], dtype=F), ValueError, "shape", True),
    ("dt_dtype_str", D, lambda fd, x, v, s: fd.define_tensor(shape=[-1], dtype="float"), TypeError, "dtype", False),
    ("dt_dtype_int", D, lambda fd, x, v, s: fd.define_tensor(shape=[-1], dtype=3), TypeError, "dtype", False),
    ("dt_unknown_kw", D, lambda fd, x, v, s: fd.define_tensor(shape=[-1], dtype=F, bogus=1), TypeError, "bogus", False),
    ("dt_contiguity_len", D, lambda fd, x, v, s: fd.define_tensor(shape=[-1, -1], contiguity=[True, True, True], dtype=F), ValueError, "contiguity", True),
    ("dt_stride_order_len", D, lambda fd, x, v, s: fd.define_tensor(shape=[-1, -1], stride_order=[0], dtype=F), ValueError, "stride_order", True),
    ("dt_stride_order_dup", D, lambda fd, x, v, s: fd.define_tensor(shape=[-1, -1], stride_order=[0, 0], dtype=F), ValueError, "stride_order", True),
    ("dt_sizes_strides_len", D, lambda fd, x, v, s: fd.define_tensor(sizes=[2, 3], strides=[1], dtype=F), ValueError, "strides", True),
    ("dt_sizes_negative", D, lambda fd, x, v, s: fd.define_tensor(sizes=[-4], strides=[1], dtype=F), ValueError, "sizes", True),
    ("dt_rank_huge", D, lambda fd, x, v, s: fd.define_tensor(shape=[-1] * 100, dtype=F), ValueError, "define_tensor", True),
    # define_scalar
    ("ds_dtype_str", D, lambda fd, x, v, s: fd.define_scalar(1.0, dtype="double"), TypeError, "dtype", False),
    ("ds_value_str", D, lambda fd, x, v, s: fd.define_scalar("one", dtype=DataType.Double), TypeError, "value", False),
    ("ds_value_list", D, lambda fd, x, v, s: fd.define_scalar([1], dtype=DataType.Int), TypeError, "value", False),
    ("ds_int_overflow", D, lambda fd, x, v, s: fd.define_scalar(2 ** 80, dtype=DataType.Int), OverflowError, "value", False),
    # binary / unary ops
    ("add_str", D, lambda fd, x, v, s: fd.ops.add(x, "a"), TypeError, "rhs", False),
    ("add_none", D, lambda fd, x, v, s: fd.ops.add(None, x), TypeError, "lhs", False),
    ("add_missing", D, lambda fd, x, v, s: fd.ops.add(x), TypeError, "rhs", False),
    ("add_unknown_kw", D, lambda fd, x, v, s: fd.ops.add(lhs=x, rhs=x, alpha=2), TypeError, "alpha", False),
    ("add_other_fusion", D, lambda fd, x, v, s: fd.ops.add(x, _OTHER[1]), ValueError, "fusion", True),
    ("add_list", D, lambda fd, x, v, s: fd.ops.add(x, [1, 2]), TypeError, "rhs", False),
    ("neg_str", D, lambda fd, x, v, s: fd.ops.neg("x"), TypeError, "x", False),
    ("exp_missing", D, lambda fd, x, v, s: fd.ops.exp(), TypeError, "x", False),
    ("where_missing", D, lambda fd, x, v, s: fd.ops.where(x, x), TypeError, "where", False),
    ("bitwise_float", D, lambda fd, x, v, s: fd.ops.bitwise_and(x, x), TypeError, "bitwise_and", True),
    ("shift_float", D, lambda fd, x, v, s: fd.ops.bitwise_left_shift(x, x), TypeError, "bitwise_left_shift", True),
    # reductions
    ("sum_dim_range", D, lambda fd, x, v, s: fd.ops.sum(x, dims=[5]), IndexError, "dims", True),
    ("sum_dim_neg_range", D, lambda fd, x, v, s: fd.ops.sum(x, dims=[-3]), IndexError, "dims", True),
    ("sum_dims_str", D, lambda fd, x, v, s: fd.ops.sum(x, dims="0"), TypeError, "dims", False),
    ("sum_dims_dup", D, lambda fd, x, v, s: fd.ops.sum(x, dims=[0, 0]), ValueError, "dims", True),
    ("max_dim_range", D, lambda fd, x, v, s: fd.ops.max(x, dims=[2]), IndexError, "dims", True),
    ("var_dim_range", D, lambda fd, x, v, s: fd.ops.var(x, dims=[9], correction=1), IndexError, "dims", True),
    ("sum_scalar", D, lambda fd, x, v, s: fd.ops.sum(s, dims=[0]), TypeError, "sum", False),
    # shape ops
    ("bid_dims_len", D, lambda fd, x, v, s: fd.ops.broadcast_in_dim(v, shape=[-1, -1], broadcast_dims=[0, 1]), ValueError, "broadcast_dims", True),
    ("bid_dims_range", D, lambda fd, x, v, s: fd.ops.broadcast_in_dim(v, shape=[-1, -1], broadcast_dims=[4]), IndexError, "broadcast_dims", True),
    ("bid_shape_short", D, lambda fd, x, v, s: fd.ops.broadcast_in_dim(x, shape=[-1], broadcast_dims=[0, 1]), ValueError, "shape", True),
    ("permute_dup", D, lambda fd, x, v, s: fd.ops.permute(x, dims=[0, 0]), ValueError, "dims", True),
    ("permute_len", D, lambda fd, x, v, s: fd.ops.permute(x, dims=[0]), ValueError, "dims", True),
    ("permute_range", D, lambda fd, x, v, s: fd.ops.permute(x, dims=[0, 7]), IndexError, "dims", True),
    ("reshape_two_infer", D, lambda fd, x, v, s: fd.ops.reshape(x, new_shape=[-1, -1, 2]), ValueError, "new_shape", True),
    ("reshape_str", D, lambda fd, x, v, s: fd.ops.reshape(x, new_shape="x"), TypeError, "new_shape", False),
    ("squeeze_range", D, lambda fd, x, v, s: fd.ops.squeeze(x, dims=[5]), IndexError, "dims", True),
    ("cast_dtype_str", D, lambda fd, x, v, s: fd.ops.cast(x, dtype="half"), TypeError, "dtype", False),
    ("cast_missing", D, lambda fd, x, v, s: fd.ops.cast(x), TypeError, "dtype", False),
    ("expand_len", D, lambda fd, x, v, s: fd.ops.expand(x, shape=[2]), ValueError, "shape", True),
    # outputs
    ("add_output_int", D, lambda fd, x, v, s: fd.add_output(5), TypeError, "add_output", False),
    ("add_output_alias_rank", D, lambda fd, x, v, s: fd.add_output(x, v), ValueError, "alias_input", True),
    ("add_output_other", D, lambda fd, x, v, s: fd.add_output(_OTHER[1]), ValueError, "fusion", True),
    # node accessors
    ("axis_range", D, lambda fd, x, v, s: x.axis(5), IndexError, "axis", True),
    ("axis_neg_range", D, lambda fd, x, v, s: x.axis(-3), IndexError, "axis", True),
    ("axis_str", D, lambda fd, x, v, s: x.axis("0"), TypeError, "axis", False),
    ("expr_input_range", D, lambda fd, x, v, s: fd.ops.neg(x).definition().input(3), IndexError, "input", True),
    ("expr_output_range", D, lambda fd, x, v, s: fd.ops.neg(x).definition().output(1), IndexError, "output", True),
    # execute
    ("ex_count_few", X, lambda fd: fd.execute([np_f32]), ValueError, "input", True),
    ("ex_count_many", X, lambda fd: fd.execute([np_f32, np_b, np_b]), ValueError, "input", True),
    ("ex_dtype", X, lambda fd: fd.execute([np_f32.astype(np.float64), np_b]), TypeError, "dtype", True),
    ("ex_rank", X, lambda fd: fd.execute([np_b, np_b]), ValueError, "dims", True),
    ("ex_shape_mismatch", X, lambda fd: fd.execute([np_f32, np.ones(5, dtype=np.float32)]), ValueError, "execute", True),
    ("ex_not_tensor", X, lambda fd: fd.execute(["abc", np_b]), TypeError, "0", True),
    ("ex_none_input", X, lambda fd: fd.execute([np_f32, None]), TypeError, "1", True),
    ("ex_not_sequence", X, lambda fd: fd.execute(5), TypeError, "inputs", False),
    ("ex_dlpack_raises", X, lambda fd: fd.execute([Raising(), np_b]), ValueError, "input 0", True),
    ("ex_crafted_dtype", X, lambda fd: fd.execute([_cfharness.DLProducer("dtype_code", n=4), np_b]), TypeError, "dtype", True),
    ("ex_unknown_kw", X, lambda fd: fd.execute([np_f32, np_b], bogus=True), TypeError, "bogus", False),
    # elsewhere
    ("fec_not_fusion", A, lambda: cfuser.FusionExecutorCache(5), TypeError, "fusion", False),
    ("empty_fusion", A, lambda: _empty().execute([]), ValueError, "empty", True),
    ("datatype_bad", A, lambda: DataType(987654), ValueError, "987654", False),
]


def _empty():
    with FusionDefinition() as fd:
        pass
    return fd


def counts(fd):
    f = fusion_of(fd)
    return len(f.vals()), len(f.exprs()), len(f.inputs()), len(f.outputs())


def _check(entry, run):
    name, _, _, exc, frag, cf = entry
    try:
        run()
    except BaseException as e:  # judged below
        if not isinstance(e, exc):
            return f"{name}: raised {type(e).__name__}({e}) instead of {exc.__name__}"
        if cf and not isinstance(e, E):
            return f"{name}: {type(e).__name__} is not a cfuser.Error"
        if frag.lower() not in str(e).lower():
            return f"{name}: message {str(e)!r} lacks {frag!r}"
        if name == "ex_dlpack_raises" and not isinstance(e.__cause__, KeyError):
            return f"{name}: the producer's KeyError is not chained as __cause__ ({e.__cause__!r})"
        return None
    return f"{name}: no exception (expected {exc.__name__})"


def table_size():
    return len(TABLE)


def run_table(only=None):
    failures = []
    exec_fd = small_fusion()[0]
    for entry in TABLE:
        name, where, call = entry[:3]
        if only is not None and where != only:
            continue
        if where == D:
            with FusionDefinition() as fd:
                x = fd.define_tensor(shape=[-1, -1], contiguity=True, dtype=F)
                v = fd.define_tensor(shape=[-1], contiguity=True, dtype=F)
                s = fd.define_scalar(2.0, dtype=DataType.Double)
                before = counts(fd)
                msg = _check(entry, lambda: call(fd, x, v, s))
                after = counts(fd)
                # an op that fails leaves no node behind; ops evaluated
                # before the failing one (e.g. neg(x) before .input(3)) may
                if msg is None and before != after and not name.startswith("expr_"):
                    msg = f"{name}: the failed call changed the fusion {before} -> {after}"
                # the definition must close with an output
                if not any(o is x for o in fd.fusion.outputs()):
                    fd.add_output(x)
        elif where == X:
            msg = _check(entry, lambda: call(exec_fd))
        else:
            msg = _check(entry, call)
        if msg:
            failures.append(msg)
    if only is None:
        # the fusion that saw every execute error still works
        x_np, b_np = small_inputs()
        check_small(exec_fd.execute([x_np, b_np]), x_np, b_np)
    ran = sum(1 for e in TABLE if only is None or e[1] == only)
    sys.stderr.write(f"exceptions table: {ran} entries, {len(failures)} failures\n")
    assert not failures, f"{len(failures)} of {ran} entries:\n" + "\n".join(failures)


# execute rows pass numpy arrays: release-built code a debug interpreter cannot count
run_table.foreign_refcounts = True


def definition_errors():
    """The rows raised while defining (no numpy involved): a debug
    interpreter judges their references."""
    run_table(only=D)


def hierarchy():
    assert issubclass(cfuser.Error, RuntimeError)
    for name, base in [("InvalidArgumentError", ValueError), ("InvalidTypeError", TypeError),
                       ("OutOfRangeError", IndexError), ("OutOfMemoryError", MemoryError),
                       ("SizeOverflowError", OverflowError)]:
        cls = getattr(cfuser, name)
        assert issubclass(cls, cfuser.Error) and issubclass(cls, base), name
    try:
        with FusionDefinition() as fd:
            x = fd.define_tensor(shape=[-1], dtype=F)
            fd.ops.sum(x, dims=[3])
    except cfuser.Error:
        pass
    try:
        with FusionDefinition() as fd:
            x = fd.define_tensor(shape=[-1], dtype=F)
            fd.ops.sum(x, dims=[3])
    except IndexError:
        pass


def int_division_by_zero_defined():
    with FusionDefinition() as fd:
        a = fd.define_tensor(shape=[-1], dtype=DataType.Int)
        b = fd.define_tensor(shape=[-1], dtype=DataType.Int)
        fd.add_output(fd.ops.div(a, b))
        fd.add_output(fd.ops.fmod(a, b))
    outs = fd.execute([np.array([1, -7, 0], dtype=np.int64), np.zeros(3, dtype=np.int64)])
    assert len(outs) == 2 and outs[0].shape == (3,)
