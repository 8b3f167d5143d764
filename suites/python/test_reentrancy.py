"""Python code that runs while cfuser reads an argument: an item's __index__,
__bool__ or __dlpack__ that mutates the list being read, defines nodes,
marks outputs, or raises; and allocators (numpy.empty) replaced by functions
that return the wrong buffer.

Each case was a crash or a silent wrong answer found by an adversarial run.
"""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from conftest import cfuser

D = cfuser.DataType


class Clears:
    """An integer (and bool) that empties the list holding it when read."""

    def __init__(self, lst, value):
        self.lst, self.value = lst, value

    def __index__(self):
        self.lst.clear()
        gc.collect()
        return self.value

    def __bool__(self):
        self.lst.clear()
        gc.collect()
        return bool(self.value)


def list_with_clearing_item(first, value, rest):
    lst = [first]
    lst.append(Clears(lst, value))
    lst.extend(rest)
    return lst


@pytest.mark.parametrize("op", ["reshape", "expand", "full", "broadcast_in_dim"])
def test_size_list_cleared_by_an_items_index(op):
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[1, -1, -1], dtype=D.Double)
        sizes = list_with_clearing_item(1, 2, [3])
        if op == "reshape":
            y = fd.ops.reshape(x, sizes)
        elif op == "expand":
            y = fd.ops.expand(x, sizes)
        elif op == "full":
            y = fd.ops.full(sizes, 1.5, dtype=D.Double)
        else:
            y = fd.ops.broadcast_in_dim(x, sizes, [0, 1, 2])
        fd.add_output(y)
    # the snapshot was read: the shape is the list as it was passed
    out = fd.execute([np.ones((1, 2, 3))])[0]
    assert out.shape == (1, 2, 3)


def test_broadcast_flags_cleared_by_an_items_bool():
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1], dtype=D.Double)
        flags = [True]
        flags.append(Clears(flags, False))
        flags.append(True)
        # a non-bool item is refused by type, after the snapshot
        with pytest.raises(TypeError, match="item 1 must be a bool"):
            fd.ops.broadcast(x, flags)


def test_execute_inputs_cleared_by_an_inputs_index():
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1], dtype=D.Double)
        n = fd.define_scalar(dtype=D.Int)
        fd.add_output(fd.ops.add(x, n))
    inputs = [np.ones(3)]
    inputs.append(Clears(inputs, 2))
    out = fd.execute(inputs)[0]
    np.testing.assert_array_equal(out, np.full(3, 3.0))


def test_execute_inputs_cleared_by_a_dlpack_producer():
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1], dtype=D.Double)
        y = fd.define_tensor(shape=[-1], dtype=D.Double)
        fd.add_output(fd.ops.add(x, y))
    inputs: list = []

    class Evil:
        def __init__(self, arr):
            self.arr = arr

        def __dlpack__(self, *args, **kwargs):
            inputs.clear()
            gc.collect()
            return self.arr.__dlpack__(*args, **kwargs)

        def __dlpack_device__(self):
            return self.arr.__dlpack_device__()

    inputs.extend([Evil(np.ones(4)), np.arange(4.0)])
    np.testing.assert_array_equal(fd.execute(inputs)[0], np.arange(4.0) + 1)


def test_a_lone_tensor_is_not_taken_as_the_input_list():
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1], dtype=D.Double)
        fd.add_output(fd.ops.add(x, 1.0))
    with pytest.raises(TypeError, match=r"wrap a single tensor in a list"):
        fd.execute(np.ones((1, 3)))
    import torch

    with pytest.raises(TypeError, match=r"wrap a single tensor in a list"):
        fd.execute(torch.ones(1, 3, dtype=torch.float64))
    with pytest.raises(TypeError, match="list or tuple"):
        fd.execute("abc")


def test_failed_op_rolls_back_nodes_made_by_its_callbacks():
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1, -1], dtype=D.Double)
        made = []

        class Defines:
            def __index__(self):
                t = fd.ops.add(x, 1.0)
                fd.add_output(t)
                made.append(t)
                return 3

        class Raises:
            def __index__(self):
                raise ValueError("bad item")

        before = (len(fd.fusion.vals()), len(fd.fusion.exprs()), len(fd.fusion.outputs()))
        with pytest.raises(ValueError, match="bad item"):
            fd.ops.reshape(x, [Defines(), Raises()])
        assert (len(fd.fusion.vals()), len(fd.fusion.exprs()), len(fd.fusion.outputs())) == before
        # the ids are reused: a new scalar must not come back as the old wrapper
        s = fd.define_scalar(1.5)
        assert type(s).__name__ == "Scalar"
        assert made[0] is not s
        with pytest.raises(cfuser.Error, match="rolled back"):
            fd.ops.add(made[0], 1.0)
        assert "removed" in repr(made[0])
        fd.add_output(fd.ops.mul(x, 2.0))
    out = fd.execute([np.ones((2, 3))])
    assert len(out) == 1
    np.testing.assert_array_equal(out[0], np.full((2, 3), 2.0))


_CHILD = """
import numpy as np, cfuser
real = np.empty
np.empty = {patch}
with cfuser.FusionDefinition() as fd:
    x = fd.define_tensor(shape=[-1], dtype=cfuser.DataType.Double)
    fd.add_output(fd.ops.add(x, 1.0))
try:
    fd.execute([np.ones(100000)])
    print("no error")
except cfuser.Error as e:
    print(type(e).__name__, e)
"""


@pytest.mark.parametrize(
    "patch",
    [
        "lambda shape, dtype=None: real(1, dtype)",  # too small
        "lambda shape, dtype=None: real(shape, np.float32)",  # wrong dtype
        "lambda shape, dtype=None: real(tuple(2 * s for s in shape), dtype)[::2]",  # strided
        "lambda shape, dtype=None: np.frombuffer(bytes(8 * shape[0]), dtype)",  # read-only
    ],
)
def test_patched_numpy_empty_is_checked_before_writing(patch):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([os.path.dirname(os.path.dirname(cfuser.__file__)), env.get("PYTHONPATH", "")])
    r = subprocess.run([sys.executable, "-c", textwrap.dedent(_CHILD.format(patch=patch))], capture_output=True,
                       text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "numpy.empty returned an array that is not" in r.stdout, r.stdout


# --- probes: every argument that takes a sequence, every kind of callback ----------------
class Acts:
    """What a probe does, before giving `value`, to the list holding it or
    to the fusion being built."""

    def __init__(self, kind, value, lst=None, fd=None):
        self.kind, self.value, self.lst, self.fd = kind, value, lst, fd

    def act(self):
        if self.kind == "clear":
            self.lst.clear()
            gc.collect()
        elif self.kind == "grow":
            self.lst.extend([1] * 1000)
        elif self.kind == "raise":
            raise ValueError("probe refuses")
        elif self.kind == "define":
            t = self.fd.define_tensor(shape=[-1], dtype=D.Double)
            self.fd.add_output(self.fd.ops.neg(t))


class Probe(Acts):
    """An integer and a bool (__index__, __bool__) that acts when read."""

    def __index__(self):
        self.act()
        return int(self.value)

    def __bool__(self):
        self.act()
        return bool(self.value)


class FloatProbe(Acts):
    """A number with __float__ only, that acts when read."""

    def __float__(self):
        self.act()
        return float(self.value)


# (name, call(fd, x, seq), the list as it should be, which item to replace)
SEQ_ARGS = [
    ("define_tensor.shape", lambda fd, x, s: fd.define_tensor(shape=s), [-1, -1], 1),
    ("define_tensor.contiguity", lambda fd, x, s: fd.define_tensor(shape=[-1, -1], contiguity=s), [True, True], 1),
    ("define_tensor.stride_order", lambda fd, x, s: fd.define_tensor(shape=[-1, -1], stride_order=s), [1, 0], 1),
    ("define_tensor.sizes", lambda fd, x, s: fd.define_tensor(sizes=s, strides=[3, 1]), [2, 3], 1),
    ("define_tensor.strides", lambda fd, x, s: fd.define_tensor(sizes=[2, 3], strides=s), [3, 1], 1),
    ("reshape.new_shape", lambda fd, x, s: fd.ops.reshape(x, s), [3, 2], 1),
    ("expand.shape", lambda fd, x, s: fd.ops.expand(x, s), [2, 3], 1),
    ("full.shape", lambda fd, x, s: fd.ops.full(s, 1.0, dtype=D.Double), [2, 3], 1),
    ("broadcast_in_dim.shape", lambda fd, x, s: fd.ops.broadcast_in_dim(x, s, [0, 1]), [2, 3, 4], 1),
    ("broadcast_in_dim.broadcast_dims", lambda fd, x, s: fd.ops.broadcast_in_dim(x, [2, 3, 4], s), [0, 1], 1),
    ("broadcast.is_broadcast_dim", lambda fd, x, s: fd.ops.broadcast(x, s), [False, False, True], 2),
    ("permute.dims", lambda fd, x, s: fd.ops.permute(x, s), [1, 0], 1),
    ("sum.dims", lambda fd, x, s: fd.ops.sum(x, dims=s), [0, 1], 1),
    ("var.dims", lambda fd, x, s: fd.ops.var(x, dims=s), [0, 1], 1),
]


@pytest.mark.parametrize("kind", ["clear", "grow", "raise", "define"])
@pytest.mark.parametrize("name,call,good,at", SEQ_ARGS, ids=[a[0] for a in SEQ_ARGS])
def test_sequence_argument_probes(name, call, good, at, kind):
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1, -1], dtype=D.Double)
        fd.add_output(fd.ops.mul(x, 2.0))
        seq = list(good)
        seq[at] = Probe(kind, good[at], seq, fd)
        try:
            call(fd, x, seq)
        except ValueError as e:
            assert kind == "raise" or isinstance(e, cfuser.Error), e
        except (cfuser.Error, TypeError):
            pass  # a clear refusal is fine; a crash or a wrong fusion is not
    # the fusion is still whole: it runs, and its first output is right
    n = len(fd.fusion.inputs())
    inputs = [np.ones((2, 3))] + [np.ones(2)] * (n - 1)
    try:
        out = fd.execute(inputs)
    except cfuser.Error:
        # inputs defined by the op under test (define_tensor) may want other shapes
        assert name.startswith("define_tensor")
        return
    np.testing.assert_array_equal(out[0], np.full((2, 3), 2.0))


@pytest.mark.parametrize("kind", ["clear", "grow", "raise", "define"])
def test_execute_scalar_input_probes(kind):
    with cfuser.FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1], dtype=D.Double)
        s = fd.define_scalar(dtype=D.Double)
        fd.add_output(fd.ops.mul(x, s))
    inputs: list = [np.ones(3)]
    inputs.append(FloatProbe(kind, 2.5, inputs, fd))
    try:
        out = fd.execute(inputs)
    except ValueError as e:
        assert kind == "raise" or isinstance(e, cfuser.Error), e
        return
    except (cfuser.Error, TypeError):
        return
    np.testing.assert_array_equal(out[0], np.full(3, 2.5))
