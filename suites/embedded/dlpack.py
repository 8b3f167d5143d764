"""DLPack: capsules crafted in C with one defect each; a clean error and
exactly one deleter call for every one."""
import gc
import sys

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from cfcommon import *  # noqa: E402,F403
import _cfharness  # noqa: E402

P = _cfharness.DLProducer

# kind -> exception the consumer must raise (None: accepted)
DEFECTS = {
    "wrong_name": (TypeError, ValueError),
    "not_capsule": (TypeError, ValueError),
    "null_data": ValueError,
    "null_shape": ValueError,
    "ndim0": ValueError,
    "ndim_huge": ValueError,
    "ndim_negative": ValueError,
    "negative_shape": ValueError,
    "shape_overflow": (ValueError, OverflowError),
    "stride_overflow": (ValueError, OverflowError),
    "dtype_code": TypeError,
    "dtype_bits": TypeError,
    "dtype_lanes": TypeError,
    "device_cuda": (ValueError, TypeError, cfuser.Error),
    "device_mismatch": (ValueError, TypeError, cfuser.Error),
    "device_unknown": (ValueError, TypeError, cfuser.Error),
    "misaligned": ValueError,
    "version_major": (ValueError, BufferError),
    "raises": (TypeError, ValueError),
    "device_raises": (TypeError, ValueError, RuntimeError),
    "device_bad_return": (TypeError, ValueError),
}


def neg_fusion():
    with FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1], contiguity=True, dtype=DataType.Float)
        fd.add_output(fd.ops.neg(x))
    return fd


def _stats_clean(where):
    gc.collect()
    s = _cfharness.dlpack_stats()
    assert s["deleted_more"] == 0, f"{where}: a deleter ran twice: {s}"
    assert s["not_deleted"] == 0, f"{where}: a deleter never ran: {s}"
    return s


def well_formed_accepted():
    fd = neg_fusion()
    _cfharness.dlpack_reset()
    for kind, versioned in (("ok", None), ("ok", False), ("ok", True), ("ok_strided", None),
                            ("readonly", None)):
        p = P(kind, n=5, versioned=versioned)
        (out,) = fd.execute([p])
        assert np.asarray(out).tolist() == [-0.0, -1.0, -2.0, -3.0, -4.0], (kind, out)
        assert p.calls == 1, (kind, p.calls)
        del out
    s = _stats_clean("well-formed")
    assert s["made"] == 5, s


def asks_for_versioned():
    fd = neg_fusion()
    p = P("ok", n=2)
    fd.execute([p])
    mv = p.last_max_version
    assert isinstance(mv, tuple) and mv[0] >= 1, f"__dlpack__ called with max_version={mv!r}"


def malformed_rejected():
    fd = neg_fusion()
    failures = []
    for kind, exc in DEFECTS.items():
        for versioned in (False, True):
            _cfharness.dlpack_reset()
            p = P(kind, n=4, versioned=versioned)
            try:
                fd.execute([p])
            except exc as e:
                if not str(e):
                    failures.append(f"{kind}/{versioned}: empty message")
                if kind == "raises" and not isinstance(e.__cause__, ValueError):
                    failures.append(f"{kind}: producer's error not chained ({e.__cause__!r})")
            except BaseException as e:
                failures.append(f"{kind}/{versioned}: {type(e).__name__}: {e}")
            else:
                failures.append(f"{kind}/{versioned}: accepted")
            try:
                _stats_clean(kind)
            except AssertionError as e:
                failures.append(str(e))
    x = np.arange(4, dtype=np.float32)
    assert fd.execute([x])[0].tolist() == [-0.0, -1.0, -2.0, -3.0]
    assert not failures, f"{len(failures)} defects mishandled:\n" + "\n".join(failures)


def deleter_once_under_load():
    fd = neg_fusion()
    _cfharness.dlpack_reset()
    n = 300 * _cfharness.scale()
    for i in range(n):
        fd.execute([P("ok", n=3)])
        if i % 3 == 0:
            try:
                fd.execute([P("dtype_code")])
            except TypeError:
                pass
    s = _stats_clean("load")
    assert s["made"] >= n, s


def torch_roundtrip():
    import torch
    fd = neg_fusion()
    x = torch.arange(6, dtype=torch.float32)
    (out,) = fd.execute([x])
    assert isinstance(out, torch.Tensor) and out.tolist() == [-v for v in range(6)]
    base = x[::2]
    (out2,) = fd.execute([base])
    assert out2.tolist() == [-0.0, -2.0, -4.0]


def refleak_body():
    fd = neg_fusion()
    fd.execute([P("ok", n=8)])
    try:
        fd.execute([P("negative_shape")])
    except ValueError:
        pass
    _cfharness.dlpack_reset()


# numpy outputs: release-built code a debug interpreter cannot count
refleak_body.foreign_refcounts = True
