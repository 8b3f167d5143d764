"""Conversion layer: sequences to int64, tensors in through DLPack, outputs.

Runs against ``cfuser._C._testing``, which exposes the conversion routines:
  as_int64_list(obj)                        -> list (as define_tensor's 'shape')
  import_tensor(obj)                        -> (dtype, shape, strides, device,
                                                data_ptr), imported then released
  alloc_output(framework, dtype, shape)     -> a new tensor
  exchange_api(type)                        -> (versions or None, in use)
                                               (cfuser's module only)
Set CFUSER_CONVERSION_MODULE to run the same tests against another module
that exposes the same three functions.
"""
import ctypes
import gc
import importlib
import os
import subprocess
import sys
import weakref

import pytest

from conftest import plain_python_only

np = pytest.importorskip("numpy")

MODULE_NAME = os.environ.get("CFUSER_CONVERSION_MODULE", "cfuser._C._testing")
conv = importlib.import_module(MODULE_NAME)

try:
    import torch
except ImportError:  # the numpy half still runs
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="torch is not installed")

# DLPack device and type codes
CPU, CUDA, CUDA_HOST, ROCM = 1, 2, 3, 10
INT, UINT, FLOAT, BFLOAT, COMPLEX, BOOL = 0, 1, 2, 4, 5, 6


# --- sequences --------------------------------------------------------------


class Index:
    def __init__(self, v):
        self.v = v

    def __index__(self):
        return self.v


@pytest.mark.parametrize(
    "obj, expected",
    [
        ([2, 3, -1], [2, 3, -1]),
        ((4,), [4]),
        ([], []),
        ((), []),
        (range(3), [0, 1, 2]),
        (range(10, 0, -3), [10, 7, 4, 1]),
        (range(5, 5), []),
        (range(-(2**63), -(2**63) + 2), [-(2**63), -(2**63) + 1]),
        ([2**63 - 1, -(2**63)], [2**63 - 1, -(2**63)]),
        ([Index(7), Index(-2)], [7, -2]),
        ({5: None}, [5]),
        (b"\x01\x02", [1, 2]),
    ],
)
def test_sequence_kinds(obj, expected):
    assert conv.as_int64_list(obj) == expected


def test_generator_and_iterators():
    assert conv.as_int64_list(x * 2 for x in range(20)) == list(range(0, 40, 2))
    assert conv.as_int64_list(iter([1, 2, 3])) == [1, 2, 3]
    assert conv.as_int64_list(map(int, "123")) == [1, 2, 3]


def test_length_hint_may_lie():
    class Lying:
        def __init__(self, n, hint):
            self.n, self.hint = n, hint

        def __iter__(self):
            return iter(range(self.n))

        def __length_hint__(self):
            return self.hint

    assert conv.as_int64_list(Lying(100, 1)) == list(range(100))
    assert conv.as_int64_list(Lying(2, 1000)) == [0, 1]


def test_numpy_sequences():
    for dt in (np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32,
               np.int64, np.uint64):
        a = np.arange(6, dtype=dt)
        assert conv.as_int64_list(a) == list(range(6))
        assert conv.as_int64_list(a[::2]) == [0, 2, 4]
    assert conv.as_int64_list(np.array([-5, 7], np.int64)) == [-5, 7]
    assert conv.as_int64_list([np.int64(3), np.int32(4), np.uint8(5)]) == [3, 4, 5]
    assert conv.as_int64_list(np.array([], np.int64)) == []


@needs_torch
def test_torch_sequences():
    assert conv.as_int64_list(torch.Size([2, 3, 4])) == [2, 3, 4]
    assert conv.as_int64_list(torch.empty(5, 6).shape) == [5, 6]
    assert conv.as_int64_list([torch.tensor(3), torch.tensor(-1)]) == [3, -1]
    assert conv.as_int64_list(torch.arange(4)) == [0, 1, 2, 3]


def test_a_million_items():
    n = 1_000_000
    expected = list(range(n))
    assert conv.as_int64_list(expected) == expected
    assert conv.as_int64_list(tuple(expected)) == expected
    assert conv.as_int64_list(range(n)) == expected
    assert conv.as_int64_list(np.arange(n)) == expected
    assert conv.as_int64_list(x for x in expected) == expected


def test_bad_item_is_named():
    with pytest.raises(TypeError) as e:
        conv.as_int64_list([1, 2, 3, "x"])
    assert str(e.value) == (
        "define_tensor() argument 'shape': item 3 must be an integer, not 'str'")
    with pytest.raises(TypeError, match=r"item 1 must be an integer, not 'float'"):
        conv.as_int64_list((1, 2.0))
    with pytest.raises(TypeError, match=r"item 2 .* not 'numpy.float64'"):
        conv.as_int64_list([1, 2, np.float64(3)])
    with pytest.raises(TypeError, match=r"item 0 .* not 'NoneType'"):
        conv.as_int64_list(x for x in [None])
    with pytest.raises(TypeError, match=r"item 0 .* not 'str'"):
        conv.as_int64_list("12")
    with pytest.raises(TypeError, match=r"item 0 .* not 'numpy.ndarray'") as e:
        conv.as_int64_list(np.ones((2, 2), np.int64))
    assert isinstance(e.value.__cause__, TypeError)
    with pytest.raises(TypeError, match=r"item 0 .* not 'numpy.float64'"):
        conv.as_int64_list(np.ones(3))


def test_not_iterable():
    with pytest.raises(TypeError) as e:
        conv.as_int64_list(5)
    assert str(e.value) == (
        "define_tensor() argument 'shape' must be a sequence of integers, not 'int'")
    with pytest.raises(TypeError, match="not 'NoneType'"):
        conv.as_int64_list(None)


def test_bool_is_rejected():
    with pytest.raises(TypeError, match=r"item 1 must be an integer, not 'bool'"):
        conv.as_int64_list([1, True])
    with pytest.raises(TypeError, match=r"item 0 .*'bool'"):
        conv.as_int64_list((False,))
    with pytest.raises(TypeError, match=r"item 0"):
        conv.as_int64_list(np.array([True, False]))


def test_overflow_names_the_item():
    with pytest.raises(OverflowError, match=r"argument 'shape': item 2 is outside the int64"):
        conv.as_int64_list([1, 2, 2**63])
    with pytest.raises(OverflowError, match=r"item 0"):
        conv.as_int64_list([-(2**63) - 1])
    with pytest.raises(OverflowError, match=r"item 1"):
        conv.as_int64_list([0, Index(2**64)])
    with pytest.raises(OverflowError, match=r"item 2"):
        conv.as_int64_list(range(2**63 - 2, 2**63 + 2))
    with pytest.raises(OverflowError, match=r"item 1"):
        conv.as_int64_list(range(0, 2**65, 2**64))
    assert conv.as_int64_list(range(2**63 - 1, -(2**63) - 10, -(2**64) + 5)) == [
        2**63 - 1, -(2**63) + 4]
    with pytest.raises(OverflowError, match=r"item 0"):
        conv.as_int64_list(range(2**64, 2**64 + 1))
    with pytest.raises(OverflowError, match=r"item 1"):
        conv.as_int64_list(np.array([1, 2**64 - 1], np.uint64))


def test_index_that_raises_propagates():
    class Bad:
        def __index__(self):
            raise ZeroDivisionError("nope")

    with pytest.raises(ZeroDivisionError):
        conv.as_int64_list([1, Bad()])

    def gen():
        yield 1
        raise KeyError("from generator")

    with pytest.raises(KeyError):
        conv.as_int64_list(gen())


def test_list_mutated_during_conversion():
    items = list(range(10))

    class Shrink:
        def __index__(self):
            del items[3:]
            return 1

    items[1] = Shrink()
    assert conv.as_int64_list(items) == [0, 1, 2]

    grow = [0]

    class Grow:
        def __index__(self):
            grow.extend(range(100))
            return 5

    grow.append(Grow())
    assert conv.as_int64_list(grow) == [0, 5] + list(range(100))


def test_sequence_refcounts():
    items = [1000 + i for i in range(10)]
    obj = Index(12345)
    before = [sys.getrefcount(x) for x in items], sys.getrefcount(obj)
    for _ in range(1000):
        conv.as_int64_list(items)
        conv.as_int64_list([obj])
        with pytest.raises(TypeError):
            conv.as_int64_list([obj, "x"])
    assert ([sys.getrefcount(x) for x in items], sys.getrefcount(obj)) == before


# --- tensors in ------------------------------------------------------------------


def addr(a):
    return a.__array_interface__["data"][0]


NUMPY_DTYPES = [
    (np.float16, "Half"), (np.float32, "Float"), (np.float64, "Double"),
    (np.int32, "Int32"), (np.int64, "Int"), (np.bool_, "Bool"),
]


@pytest.mark.parametrize("dtype, name", NUMPY_DTYPES)
def test_numpy_dtypes(dtype, name):
    a = np.zeros((2, 3), dtype)
    assert conv.import_tensor(a) == (name, (2, 3), (3, 1), -1, addr(a))


@pytest.mark.parametrize(
    "dtype", [np.uint8, np.int8, np.int16, np.uint16, np.uint32, np.uint64,
              np.complex64, np.complex128])
def test_numpy_unsupported_dtypes(dtype):
    with pytest.raises(TypeError, match=r"execute\(\) input 0: unsupported dtype "
                       + np.dtype(dtype).name):
        conv.import_tensor(np.zeros(3, dtype))


def test_numpy_views():
    a = np.arange(60, dtype=np.float32).reshape(3, 4, 5)
    assert conv.import_tensor(a.T) == ("Float", (5, 4, 3), (1, 5, 20), -1, addr(a))
    v = a[1:, ::2, 3:]
    assert conv.import_tensor(v) == ("Float", (2, 2, 2), (20, 10, 1), -1, addr(v))
    assert addr(v) == addr(a) + (20 + 3) * 4
    r = a[::-1]
    assert conv.import_tensor(r) == ("Float", (3, 4, 5), (-20, 5, 1), -1, addr(r))
    b = np.broadcast_to(np.arange(4.0), (3, 4))
    assert conv.import_tensor(b) == ("Double", (3, 4), (0, 1), -1, addr(b))


def test_numpy_zero_size_and_rank_0():
    z = np.empty((0, 3), np.float32)
    assert conv.import_tensor(z)[:2] == ("Float", (0, 3))
    s = np.array(1.5, np.float64)
    assert conv.import_tensor(s) == ("Double", (), (), -1, addr(s))


def test_readonly_input_is_fine():
    a = np.arange(4.0)
    a.flags.writeable = False
    assert conv.import_tensor(a)[:2] == ("Double", (4,))


def test_rank_9_is_rejected():
    with pytest.raises(ValueError, match=r"input 0: tensor of rank 9; cfuser supports rank 0 to 8"):
        conv.import_tensor(np.zeros([1] * 9))
    assert conv.import_tensor(np.zeros([1] * 8))[1] == (1,) * 8


def test_not_a_tensor():
    for obj in (3, [1.0, 2.0], "x", None):
        with pytest.raises(TypeError, match=r"input 0: expected a tensor .*got '"
                           + type(obj).__name__):
            conv.import_tensor(obj)


if torch is not None:
    TORCH_DTYPES = [
        (torch.float16, "Half"), (torch.bfloat16, "BFloat16"),
        (torch.float32, "Float"), (torch.float64, "Double"),
        (torch.int32, "Int32"), (torch.int64, "Int"), (torch.bool, "Bool"),
    ]
    TORCH_BAD = [torch.uint8, torch.int8, torch.int16, torch.complex64,
                 torch.float8_e4m3fn, torch.float8_e5m2]
else:
    TORCH_DTYPES, TORCH_BAD = [], []


@needs_torch
@pytest.mark.parametrize("dtype, name", TORCH_DTYPES)
def test_torch_dtypes(dtype, name):
    t = torch.zeros(2, 3, dtype=dtype)
    assert conv.import_tensor(t) == (name, (2, 3), (3, 1), -1, t.data_ptr())


@needs_torch
@pytest.mark.parametrize("dtype", TORCH_BAD)
def test_torch_unsupported_dtypes(dtype):
    with pytest.raises(TypeError, match=r"input 0: unsupported dtype"):
        conv.import_tensor(torch.zeros(3, dtype=dtype))


@needs_torch
def test_torch_views_and_kinds():
    t = torch.arange(60, dtype=torch.float32).reshape(3, 4, 5)
    assert conv.import_tensor(t.permute(2, 1, 0)) == (
        "Float", (5, 4, 3), (1, 5, 20), -1, t.data_ptr())
    v = t[1:, ::2, 3:]
    assert conv.import_tensor(v) == ("Float", (2, 2, 2), (20, 10, 1), -1, v.data_ptr())
    assert v.data_ptr() == t.data_ptr() + (20 + 3) * 4
    e = torch.ones(4).expand(3, 4)
    assert conv.import_tensor(e)[1:3] == ((3, 4), (0, 1))
    assert conv.import_tensor(torch.empty(0, 3))[:2] == ("Float", (0, 3))
    s = torch.tensor(2.5, dtype=torch.float64)
    assert conv.import_tensor(s) == ("Double", (), (), -1, s.data_ptr())
    g = torch.ones(3, requires_grad=True)
    assert conv.import_tensor(g)[:2] == ("Float", (3,))
    p = torch.nn.Parameter(torch.ones(2, 2))
    assert conv.import_tensor(p) == ("Float", (2, 2), (2, 1), -1, p.data_ptr())

    class Sub(torch.Tensor):
        pass

    sub = torch.ones(3).as_subclass(Sub)
    assert conv.import_tensor(sub)[:2] == ("Float", (3,))
    with pytest.raises(ValueError, match="rank 9"):
        conv.import_tensor(torch.zeros([1] * 9))


def test_refcounts_unchanged_after_many_imports():
    a = np.ones((4, 4), np.float32)
    objs = [a, a[::2]]
    if torch is not None:
        t = torch.ones(4, 4)
        objs += [t, t.t()]
    for obj in objs:
        conv.import_tensor(obj)
        before = sys.getrefcount(obj)
        for _ in range(2000):
            conv.import_tensor(obj)
        assert sys.getrefcount(obj) == before
    bad = np.ones(3, np.uint8)
    before = sys.getrefcount(bad)
    for _ in range(200):
        with pytest.raises(TypeError):
            conv.import_tensor(bad)
    assert sys.getrefcount(bad) == before


# --- producers written in Python --------------------------------------------------


class Wrapper:
    """A producer that forwards to a numpy array's DLPack export."""

    def __init__(self, arr):
        self.arr = arr

    def __dlpack__(self, **kw):
        return self.arr.__dlpack__(**kw)

    def __dlpack_device__(self):
        return self.arr.__dlpack_device__()


def test_other_producer_and_released_once():
    released = []
    arr = np.arange(6.0).reshape(2, 3)
    weakref.finalize(arr, released.append, 1)
    w = Wrapper(arr)
    ptr = addr(arr)
    assert conv.import_tensor(w) == ("Double", (2, 3), (3, 1), -1, ptr)
    del arr, w
    gc.collect()
    assert released == [1]


def test_legacy_only_producer():
    calls = []

    class Legacy:
        def __init__(self, a):
            self.a = a

        def __dlpack__(self, stream=None):
            calls.append(stream)
            return self.a.__dlpack__()

        def __dlpack_device__(self):
            return (CPU, 0)

    a = np.arange(4, dtype=np.int32)
    assert conv.import_tensor(Legacy(a)) == ("Int32", (4,), (1,), -1, addr(a))
    assert calls == [None]
    before = sys.getrefcount(a)
    for _ in range(500):
        conv.import_tensor(Legacy(a))
    assert sys.getrefcount(a) == before


def test_producer_that_raises_is_the_cause():
    class Boom:
        def __dlpack__(self, **kw):
            raise RuntimeError("boom")

        def __dlpack_device__(self):
            return (CPU, 0)

    with pytest.raises(ValueError, match=r"execute\(\) input 0: __dlpack__\(\) of 'Boom' failed") as e:
        conv.import_tensor(Boom())
    assert isinstance(e.value.__cause__, RuntimeError)
    assert str(e.value.__cause__) == "boom"

    class BadDevice:
        def __dlpack__(self, **kw):
            return np.ones(1).__dlpack__(**kw)

        def __dlpack_device__(self):
            raise KeyError("dev")

    with pytest.raises(ValueError, match=r"__dlpack_device__\(\)") as e:
        conv.import_tensor(BadDevice())
    assert isinstance(e.value.__cause__, KeyError)


def test_producer_forwarding_keywords():
    class Weird:
        def __dlpack__(self, **kw):
            return np.ones(3, np.float32).__dlpack__(copy=False, **kw)

    assert conv.import_tensor(Weird())[:2] == ("Float", (3,))


def test_wrong_capsule_name_and_not_a_capsule():
    capsule_new = ctypes.pythonapi.PyCapsule_New
    capsule_new.restype = ctypes.py_object
    capsule_new.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p]
    storage = ctypes.c_double(0)
    name = ctypes.c_char_p(b"not_a_tensor")
    cap = capsule_new(ctypes.addressof(storage), name, None)

    class Named:
        def __dlpack__(self, **kw):
            return cap

    with pytest.raises(ValueError, match="capsule named 'not_a_tensor'"):
        conv.import_tensor(Named())

    class Used:
        def __init__(self):
            self.c = np.ones(2).__dlpack__(max_version=(1, 0))
            np.from_dlpack(Capsuled(self.c))

        def __dlpack__(self, **kw):
            return self.c

    with pytest.raises(ValueError, match="used_dltensor_versioned"):
        conv.import_tensor(Used())

    class NotCapsule:
        def __dlpack__(self, **kw):
            return 42

    with pytest.raises(ValueError, match="returned 'int', not a DLPack capsule"):
        conv.import_tensor(NotCapsule())


class Capsuled:
    def __init__(self, c):
        self.c = c

    def __dlpack__(self, **kw):
        return self.c

    def __dlpack_device__(self):
        return (CPU, 0)


# --- capsules built by hand: every field the importer validates -------------------


class DLDevice(ctypes.Structure):
    _fields_ = [("device_type", ctypes.c_int32), ("device_id", ctypes.c_int32)]


class DLDataType(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint8), ("bits", ctypes.c_uint8),
                ("lanes", ctypes.c_uint16)]


class DLTensor(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("device", DLDevice),
                ("ndim", ctypes.c_int32), ("dtype", DLDataType),
                ("shape", ctypes.POINTER(ctypes.c_int64)),
                ("strides", ctypes.POINTER(ctypes.c_int64)),
                ("byte_offset", ctypes.c_uint64)]


class DLManagedTensorVersioned(ctypes.Structure):
    pass


DELETER_V = ctypes.CFUNCTYPE(None, ctypes.POINTER(DLManagedTensorVersioned))
DLManagedTensorVersioned._fields_ = [
    ("major", ctypes.c_uint32), ("minor", ctypes.c_uint32),
    ("manager_ctx", ctypes.c_void_p), ("deleter", DELETER_V),
    ("flags", ctypes.c_uint64), ("dl_tensor", DLTensor)]


class DLManagedTensor(ctypes.Structure):
    pass


DELETER = ctypes.CFUNCTYPE(None, ctypes.POINTER(DLManagedTensor))
DLManagedTensor._fields_ = [("dl_tensor", DLTensor),
                            ("manager_ctx", ctypes.c_void_p),
                            ("deleter", DELETER)]

_capsule_new = ctypes.pythonapi.PyCapsule_New
_capsule_new.restype = ctypes.py_object
_capsule_new.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p]


class HandMade:
    """A producer whose capsule is built field by field; counts deleter calls."""

    def __init__(self, shape, strides=None, code=FLOAT, bits=32, lanes=1,
                 device=(CPU, 0), byte_offset=0, data=None, versioned=True,
                 major=1, reported_device=None, flags=0):
        self.deleted = 0
        self.buf = (ctypes.c_double * 64)()
        self.shape = (ctypes.c_int64 * max(1, len(shape)))(*shape)
        self.strides = None
        if strides is not None:
            self.strides = (ctypes.c_int64 * max(1, len(strides)))(*strides)
        t = DLTensor()
        t.data = ctypes.addressof(self.buf) if data is None else data
        t.device = DLDevice(*device)
        t.ndim = len(shape)
        t.dtype = DLDataType(code, bits, lanes)
        t.shape = ctypes.cast(self.shape, ctypes.POINTER(ctypes.c_int64))
        if self.strides is not None:
            t.strides = ctypes.cast(self.strides, ctypes.POINTER(ctypes.c_int64))
        t.byte_offset = byte_offset
        self.versioned = versioned
        if versioned:
            self.deleter = DELETER_V(self._delete)
            self.m = DLManagedTensorVersioned(major, 0, None, self.deleter, flags, t)
        else:
            self.deleter = DELETER(self._delete)
            self.m = DLManagedTensor(t, None, self.deleter)
        self.name = b"dltensor_versioned" if versioned else b"dltensor"
        self.reported_device = reported_device or device

    def _delete(self, _ptr):
        self.deleted += 1

    def __dlpack__(self, **kw):
        return _capsule_new(ctypes.addressof(self.m), self.name, None)

    def __dlpack_device__(self):
        return self.reported_device

    @property
    def data(self):
        return ctypes.addressof(self.buf)


@pytest.mark.parametrize("versioned", [True, False])
def test_hand_made_capsule_is_deleted_once(versioned):
    p = HandMade([2, 3], versioned=versioned)
    assert conv.import_tensor(p) == ("Float", (2, 3), (3, 1), -1, p.data)
    assert p.deleted == 1


def test_cuda_device_is_reported():
    p = HandMade([4], device=(CUDA, 1))
    assert conv.import_tensor(p) == ("Float", (4,), (1,), 1, p.data)
    assert p.deleted == 1
    p = HandMade([4], device=(CUDA_HOST, 0))
    assert conv.import_tensor(p)[3] == -1


def test_byte_offset_and_alignment():
    p = HandMade([3], byte_offset=8)
    assert conv.import_tensor(p)[4] == p.data + 8
    p = HandMade([3], byte_offset=2)
    with pytest.raises(ValueError, match="not aligned for float32"):
        conv.import_tensor(p)
    assert p.deleted == 1
    p = HandMade([3], code=FLOAT, bits=16, byte_offset=2)
    assert conv.import_tensor(p)[0] == "Half"


@pytest.mark.parametrize(
    "kwargs, exc, pattern, deleted",
    [
        (dict(shape=[1] * 9), ValueError, "rank 9", 1),
        (dict(shape=[2, -1]), ValueError, "size -1 in dim 1", 1),
        (dict(shape=[2], data=0), ValueError, "NULL data", 1),
        (dict(shape=[2], code=UINT, bits=8), TypeError, "unsupported dtype uint8", 1),
        (dict(shape=[2], code=COMPLEX, bits=64), TypeError, "unsupported dtype complex64", 1),
        (dict(shape=[2], lanes=4), TypeError, "float32 x4 lanes", 1),
        (dict(shape=[2], code=BOOL, bits=1), TypeError, "unsupported dtype bool1", 1),
        (dict(shape=[2], code=99, bits=8), TypeError, "code 99", 1),
        (dict(shape=[2], device=(CUDA, -1)), ValueError, "CUDA device id -1", 0),
        (dict(shape=[2, 2], strides=[2**62, 1]), (OverflowError, ValueError), "int64", 1),
        (dict(shape=[2**40, 2**40]), (OverflowError, ValueError), "int64", 1),
        (dict(shape=[3], strides=[-(2**63)]), (OverflowError, ValueError), "int64", 1),
        (dict(shape=[2], major=2), ValueError, "DLPack 2.0", 1),
        (dict(shape=[2], reported_device=(CUDA, 0)), ValueError, "reports device", 1),
        # refused from __dlpack_device__ before anything is exported
        (dict(shape=[2], device=(ROCM, 0)), Exception, "device type 10 .rocm.", 0),
    ],
)
def test_hand_made_capsule_errors(kwargs, exc, pattern, deleted):
    p = HandMade(**kwargs)
    with pytest.raises(exc, match=pattern):
        conv.import_tensor(p)
    # A consumed capsule is deleted exactly once even when it is rejected.
    assert p.deleted == deleted


def test_unsupported_device_in_capsule():
    p = HandMade([2], device=(ROCM, 0), reported_device=(CPU, 0))
    with pytest.raises(Exception, match="device type 10"):
        conv.import_tensor(p)
    assert p.deleted == 1


def test_hand_made_edge_cases_that_are_fine():
    p = HandMade([0, 5], data=0)
    assert conv.import_tensor(p)[1:3] == ((0, 5), (5, 1))
    p = HandMade([], data=None)
    assert conv.import_tensor(p)[:3] == ("Float", (), ())
    p = HandMade([2**40, 0], strides=[2**62, 1])
    assert conv.import_tensor(p)[1] == (2**40, 0)
    p = HandMade([3, 1], strides=[1, 2**62])
    assert conv.import_tensor(p)[2] == (1, 2**62)
    p = HandMade([2], flags=1)  # read-only
    assert conv.import_tensor(p)[0] == "Float"
    assert p.deleted == 1


# --- outputs ------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype, name", NUMPY_DTYPES)
def test_numpy_outputs(dtype, name):
    for fw in ("numpy", "other"):
        out = conv.alloc_output(fw, name, [3, 4])
        assert type(out) is np.ndarray
        assert out.dtype == np.dtype(dtype) and out.shape == (3, 4)
        assert out.flags.c_contiguous and out.flags.writeable
    z = conv.alloc_output("numpy", name, [])
    assert z.shape == () and z.dtype == np.dtype(dtype)
    assert conv.alloc_output("numpy", name, [0, 7]).shape == (0, 7)


def test_numpy_has_no_bfloat16_output():
    with pytest.raises(Exception, match="bfloat16"):
        conv.alloc_output("numpy", "BFloat16", [2])


def test_cuda_stats_are_counters():
    if not hasattr(conv, "cuda_stats"):
        pytest.skip(f"{MODULE_NAME} has no cuda_stats()")
    st = conv.cuda_stats()
    if st is None:  # a build without the CUDA backend
        return
    assert set(st) == {"nvrtc_open_ns", "plans_built", "plan_build_ns", "compiles", "compile_ns",
                       "disk_hits", "module_loads", "module_load_ns", "quick_plans", "tier_swaps",
                       "tier_failures"}
    assert all(isinstance(v, int) and v >= 0 for v in st.values())
    assert st["disk_hits"] <= st["module_loads"]
    assert st["tier_swaps"] + st["tier_failures"] <= st["quick_plans"] <= st["plans_built"]
    conv.cuda_wait_background()  # returns at once with nothing queued


@needs_torch
def test_torch_exchange_api_is_found_and_used():
    """torch publishes DLPack's C exchange API (1.x, x >= 3) on its tensor
    type; execute() must use it (else every input and output goes through
    the Python-level protocol, microseconds each)."""
    if not hasattr(conv, "exchange_api"):
        pytest.skip(f"{MODULE_NAME} has no exchange_api()")
    conv.import_tensor(torch.zeros(2))
    versions, in_use = conv.exchange_api(torch.Tensor)
    assert versions and versions[0][0] == 1 and versions[0][1] >= 3, versions
    assert in_use
    assert conv.exchange_api(np.ndarray)[0] is None
    with pytest.raises(TypeError):
        conv.exchange_api(torch.zeros(2))


@needs_torch
@pytest.mark.parametrize("dtype, name", TORCH_DTYPES)
def test_torch_outputs(dtype, name):
    out = conv.alloc_output("torch", name, [3, 4])
    assert type(out) is torch.Tensor
    assert out.dtype == dtype and tuple(out.shape) == (3, 4)
    assert out.is_contiguous() and out.device.type == "cpu"
    out.fill_(1)  # the storage is ours to write
    assert conv.import_tensor(out)[:2] == (name, (3, 4))
    assert tuple(conv.alloc_output("torch", name, []).shape) == ()
    assert tuple(conv.alloc_output("torch", name, [0, 2]).shape) == (0, 2)


def test_output_refcounts():
    out = conv.alloc_output("numpy", "Float", [8])
    assert sys.getrefcount(out) == 2
    if torch is not None:
        t = conv.alloc_output("torch", "Float", [8])
        assert sys.getrefcount(t) == 2
        r = weakref.ref(t)
        del t
        assert r() is None


@plain_python_only
def test_frameworks_are_not_imported_eagerly():
    code = (
        "import sys, importlib\n"
        f"m = importlib.import_module({MODULE_NAME!r})\n"
        "m.as_int64_list([1, 2])\n"
        "class P:\n"
        "    def __dlpack__(self, **kw): raise RuntimeError('x')\n"
        "try:\n"
        "    m.import_tensor(P())\n"
        "except ValueError:\n"
        "    pass\n"
        "print('torch' in sys.modules, 'numpy' in sys.modules)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True,
                       text=True, env=dict(os.environ), check=True)
    assert r.stdout.split() == ["False", "False"]
