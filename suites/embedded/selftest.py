"""Harness self-tests on plain Python: each function is one C-driven case."""
import gc
import os
import sys
import threading
import time

import _cfharness

_kept = []


def isolated_and_path():
    assert sys.flags.isolated == 1
    assert sys.path[0].endswith("python"), sys.path


def leaks_one_object():
    _kept.append(object())


def leaks_one_reference():
    _cfharness.leak_ref(None)


def leaks_one_fd():
    _kept.append(open(os.devnull))


def clean_work():
    d = {i: str(i) for i in range(200)}
    cycle = [d]
    cycle.append(cycle)
    del cycle, d


def allocating_work():
    return "-".join(str(i) for i in range(20))


def raises_chained():
    try:
        raise KeyError("inner cause")
    except KeyError as e:
        raise ValueError("outer") from e


def returns_false():
    return False


def deadlock():
    lock = threading.Lock()
    lock.acquire()
    t = threading.Thread(target=lock.acquire, name="waiter")
    t.start()
    t.join()


def sleeps_one_second():
    time.sleep(1.0)


def sleeps_one_and_a_half_seconds():
    time.sleep(1.5)


def finishes_in_time():
    t = threading.Thread(target=lambda: sum(range(1000)))
    t.start()
    t.join()


def failing_call_raises_memoryerror():
    def work():
        return [str(i) for i in range(50)]
    fired, result = _cfharness.call_failing(1000000, work)
    assert not fired and len(result) == 50
    try:
        _cfharness.call_failing(3, work)
    except MemoryError:
        return
    raise AssertionError("the third allocation did not fail")


def producer_deleter_once():
    import numpy as np
    _cfharness.dlpack_reset()
    for versioned in (None, False, True):
        p = _cfharness.DLProducer("ok", n=6, versioned=versioned)
        a = np.from_dlpack(p)
        assert a.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0], a
        del a
        cap = p.__dlpack__()  # never consumed: the capsule deletes it
        del cap
    gc.collect()
    s = _cfharness.dlpack_stats()
    assert s == {"made": 6, "deleted_once": 6, "deleted_more": 0, "not_deleted": 0}, s


def producer_rejected_by_numpy():
    import numpy as np
    _cfharness.dlpack_reset()
    kinds = ("dtype_code", "dtype_lanes", "device_cuda", "wrong_name", "version_major",
             "negative_shape", "ndim_huge", "not_capsule")
    for kind in kinds:
        try:
            np.from_dlpack(_cfharness.DLProducer(kind))
        except (TypeError, ValueError, BufferError, RuntimeError) as e:
            assert str(e), kind
            pass
        else:
            raise AssertionError(f"numpy accepted {kind}")
    gc.collect()
    s = _cfharness.dlpack_stats()
    assert s["deleted_more"] == 0 and s["not_deleted"] == 0, s
