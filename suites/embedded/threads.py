"""GIL and threads: progress during execute, one cache from many threads,
per-thread definition contexts. Each case runs under the C watchdog."""
import sys
import threading
import time

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from cfcommon import *  # noqa: E402,F403
from lifetime import fusion_of  # noqa: E402
import _cfharness  # noqa: E402

THREADS = 8


def long_fusion():
    with FusionDefinition() as fd:
        x = fd.define_tensor(shape=[-1], contiguity=True, dtype=DataType.Float)
        y = x
        for _ in range(40):
            y = fd.ops.sin(fd.ops.add(y, x))
        fd.add_output(fd.ops.sum(y, dims=[0], keepdim=False))
    return fd


def background_progress():
    fd = long_fusion()
    x = np.random.default_rng(0).random(4_000_000, dtype=np.float32)
    fd.execute([x])  # compile once
    ticks = [0]
    stop = threading.Event()

    def ticker():
        while not stop.is_set():
            ticks[0] += 1
            time.sleep(0)

    t = threading.Thread(target=ticker)
    t.start()
    time.sleep(0.01)
    start = ticks[0]
    t0 = time.perf_counter()
    fd.execute([x])
    dt = time.perf_counter() - t0
    progressed = ticks[0] - start
    stop.set()
    t.join()
    sys.stderr.write(f"background_progress: execute {dt * 1e3:.1f} ms, {progressed} ticks\n")
    assert dt > 0.005, f"execute too short to judge ({dt * 1e3:.2f} ms)"
    assert progressed > 10, f"background thread made {progressed} steps during a {dt * 1e3:.0f} ms execute"


def concurrent_execute_one_cache():
    fd, *_ = small_fusion()
    fec = cfuser.FusionExecutorCache(fusion_of(fd))
    errors = []
    barrier = threading.Barrier(THREADS)
    rounds = 50 * _cfharness.scale()

    def work(k):
        try:
            rng = np.random.default_rng(k)
            barrier.wait()
            for i in range(rounds):
                rows = 1 + (k + i) % 5  # several signatures: the cache grows under contention
                x = rng.random((rows, 16), dtype=np.float32)
                b = rng.random(16, dtype=np.float32)
                check_small(fec.execute([x, b]), x, b)
        except BaseException as e:
            errors.append(e)

    ts = [threading.Thread(target=work, args=(k,)) for k in range(THREADS)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errors:
        raise errors[0]


def definitions_in_threads_stay_apart():
    errors = []
    barrier = threading.Barrier(THREADS)

    def work(k):
        try:
            for _ in range(20):
                with FusionDefinition() as fd:
                    barrier.wait()
                    xs = [fd.define_tensor(shape=[-1], dtype=DataType.Float) for _ in range(k + 1)]
                    y = xs[0]
                    for x in xs[1:]:
                        y = fd.ops.add(y, x)
                    fd.add_output(y)
                f = fusion_of(fd)
                assert len(f.inputs()) == k + 1, (k, f.inputs())
                assert len(f.outputs()) == 1
                arrs = [np.full(3, i, dtype=np.float32) for i in range(k + 1)]
                (out,) = fd.execute(arrs)
                assert out.tolist() == [float(sum(range(k + 1)))] * 3
        except BaseException as e:
            errors.append(e)
            barrier.abort()

    ts = [threading.Thread(target=work, args=(k,)) for k in range(THREADS)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errors:
        raise errors[0]
