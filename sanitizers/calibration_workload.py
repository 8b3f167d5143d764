"""The fixed workload whose time sets a run's host factor.

Run under the build, sanitizer and interpreter the suites will run under
(`cfharness run sanitizers/calibration_workload.py`, inside valgrind for
the valgrind run), or by a plain `python3`. It does the same work every
time: a pure-Python loop (the interpreter's speed) and, when cfuser imports,
fusions defined and executed on small arrays (the instrumented module's
speed). Prints one line per repetition:

    calibration: <seconds> python <seconds> cfuser <seconds|->
"""
import os
import time

LOOP = 100_000
FUSIONS = 200


def python_part():
    acc = 0
    # CFUSER_CALIBRATE_LOOPS: a longer loop where nothing is instrumented
    for i in range(LOOP * max(1, int(os.environ.get("CFUSER_CALIBRATE_LOOPS", "1")))):
        acc = (acc + i * i) % 1000003
    return acc


def cfuser_part(cfuser, np):
    x = np.linspace(-1.0, 1.0, 64 * 64, dtype=np.float32).reshape(64, 64)
    b = np.linspace(0.0, 1.0, 64, dtype=np.float32)
    for _ in range(FUSIONS):
        with cfuser.FusionDefinition() as fd:
            tx = fd.define_tensor(shape=[-1, -1], contiguity=True, dtype=cfuser.DataType.Float)
            tb = fd.define_tensor(shape=[-1], dtype=cfuser.DataType.Float)
            bb = fd.ops.broadcast_in_dim(tb, shape=tx.shape(), broadcast_dims=[1])
            y = fd.ops.tanh(fd.ops.add(tx, bb))
            fd.add_output(fd.ops.sum(y, dims=[1], keepdim=False))
        fd.execute([x, b])


def main():
    try:
        import numpy as np
        import cfuser
        if not hasattr(cfuser, "FusionDefinition"):
            cfuser = None
    except ImportError:
        cfuser = np = None
    repeats = max(1, int(os.environ.get("CFUSER_CALIBRATE_REPEATS", "3")))
    for _ in range(repeats):
        t0 = time.perf_counter()
        python_part()
        t1 = time.perf_counter()
        if cfuser is not None:
            cfuser_part(cfuser, np)
        t2 = time.perf_counter()
        cf = f"{t2 - t1:.4f}" if cfuser is not None else "-"
        print(f"calibration: {t2 - t0:.4f} python {t1 - t0:.4f} cfuser {cf}", flush=True)


if __name__ == "__main__":
    main()
