"""Large-sequence conversion through the one shared routine."""
import sys
import time

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from cfcommon import *  # noqa: E402,F403
import _cfharness  # noqa: E402

conv = None


def _conv():
    return cfuser._C._testing.as_int64_list


class Idx:
    def __init__(self, v):
        self.v = v

    def __index__(self):
        return self.v


def all_sequence_kinds():
    import torch
    f = _conv()
    want = [3, -1, 0, 7]
    kinds = {
        "list": list(want), "tuple": tuple(want), "generator": (v for v in want),
        "numpy": np.array(want, dtype=np.int64), "numpy_int32": np.array(want, dtype=np.int32),
        "numpy_scalars": [np.int64(v) for v in want], "index_objects": [Idx(v) for v in want],
        "torch_tensor_items": [torch.tensor(v) for v in want], "map": map(int, want),
    }
    for name, obj in kinds.items():
        assert f(obj) == want, (name, f(obj))
    assert f(range(-3, 4)) == list(range(-3, 4))
    assert f(torch.Size([2, 3, 4])) == [2, 3, 4]
    assert f([]) == [] and f(()) == []


def shapes_accept_every_kind():
    import torch
    for shape in ([-1, -1], (-1, -1), range(-1, 1), (v for v in (-1, -1)),
                  np.array([-1, -1]), torch.Size([2, 3])):
        with FusionDefinition() as fd:
            x = fd.define_tensor(shape=shape, dtype=DataType.Float)
            fd.add_output(fd.ops.sum(x, dims=np.array([1])))
        assert x.ndim == 2


def million_elements():
    f = _conv()
    n = 1_000_000
    for name, obj in (("list", list(range(n))), ("range", range(n)),
                      ("numpy", np.arange(n, dtype=np.int64)), ("tuple", tuple(range(n)))):
        t0 = time.perf_counter()
        r = f(obj)
        dt = time.perf_counter() - t0
        assert len(r) == n and r[0] == 0 and r[-1] == n - 1 and r[n // 2] == n // 2, name
        sys.stderr.write(f"as_int64_list({name} of {n}): {dt / n * 1e9:.1f} ns/element\n")
    g = (i for i in range(n))
    t0 = time.perf_counter()
    assert len(f(g)) == n
    sys.stderr.write(f"as_int64_list(generator of {n}): {(time.perf_counter() - t0) / n * 1e9:.1f} ns/element\n")


def bad_item_names_position():
    f = _conv()
    for k in (0, 1, 999, 54321):
        items = list(range(60000))
        items[k] = "x"
        try:
            f(items)
        except TypeError as e:
            assert str(k) in str(e) and "str" in str(e), str(e)
        else:
            raise AssertionError(f"bad item at {k} accepted")
    try:
        f(v if v != 7 else 1.5 for v in range(10))
    except TypeError as e:
        assert "7" in str(e) and "float" in str(e), str(e)
    try:
        f(5)
    except TypeError:
        pass
    else:
        raise AssertionError("an int is not a sequence")


def overflow_is_overflowerror():
    f = _conv()
    for bad in ([2 ** 63], [-(2 ** 63) - 1], [1, 2, 10 ** 30], [Idx(2 ** 64)]):
        try:
            f(bad)
        except OverflowError as e:
            assert str(len(bad) - 1) in str(e), str(e)
        else:
            raise AssertionError(f"{bad} accepted")
    assert f([2 ** 63 - 1, -(2 ** 63)]) == [2 ** 63 - 1, -(2 ** 63)]


def generator_raising_keeps_cause():
    def gen():
        yield 1
        raise KeyError("from the generator")
    try:
        _conv()(gen())
    except KeyError:
        pass


def ten_thousand_inputs():
    n = 10_000
    with FusionDefinition() as fd:
        xs = [fd.define_tensor(shape=[-1], dtype=DataType.Float) for _ in range(n)]
        acc = xs[0]
        for x in xs[1:]:
            acc = fd.ops.add(acc, x)
        fd.add_output(acc)
    arrays = [np.full(2, 1.0, dtype=np.float32) for _ in range(n)]
    for kind in (list, tuple, iter):
        t0 = time.perf_counter()
        (out,) = fd.execute(kind(arrays))
        dt = time.perf_counter() - t0
        assert out.tolist() == [float(n), float(n)], out
        sys.stderr.write(f"execute with {n} inputs ({kind.__name__}): {dt * 1e3:.1f} ms "
                         f"({dt / n * 1e9:.0f} ns/input)\n")


def pure_python_refleak_body():
    """Every built-in sequence kind and the error paths, no numpy or torch:
    a debug interpreter judges the references of these."""
    f = _conv()
    f(list(range(1000)))
    f(tuple(range(1000)))
    f(range(1000))
    f(v for v in range(100))
    f(map(int, range(100)))
    f([Idx(v) for v in range(100)])
    for bad in ([1, "x"], [1, 2**64], 3.5, [None]):
        try:
            f(bad)
        except (TypeError, OverflowError):
            pass


def refleak_body():
    f = _conv()
    f(list(range(1000)))
    f(range(1000))
    f(np.arange(1000))
    try:
        f([1, "x"])
    except TypeError:
        pass


refleak_body.foreign_refcounts = True  # numpy arrays: see pure_python_refleak_body
