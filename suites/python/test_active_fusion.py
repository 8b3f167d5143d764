"""The active fusion: guards and definitions entered and exited in any order,
on any thread, dropped, collected or re-initialised while entered.

Regressions of an adversarial run: each of these ended in a use-after-free
(the active fusion was a borrowed pointer) or defined nodes in the wrong
fusion. Crash-prone cases run in a child process, so a crash is a failure
with its signal, not the end of the run.
"""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest

from conftest import cfuser

D = cfuser.DataType
active = cfuser._C.active_fusion
_REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run_child(code: str) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([os.path.dirname(os.path.dirname(cfuser.__file__)), env.get("PYTHONPATH", "")])
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, env=env, timeout=120)


@pytest.fixture(autouse=True)
def no_active_fusion_left():
    assert active() is None
    yield
    gc.collect()
    assert active() is None, "a test left a fusion active"


def test_reinit_of_entered_guard_is_refused_and_harmless():
    f1, f2 = cfuser.Fusion(), cfuser.Fusion()
    g = cfuser.FusionGuard(f1)
    g.__enter__()
    with pytest.raises(cfuser.Error, match="entered"):
        g.__init__(f2)
    assert active() is f1
    t = cfuser.define_tensor(shape=[-1])
    assert len(f1.inputs()) == 1 and len(f2.inputs()) == 0
    g.__exit__(None, None, None)


def test_guards_exited_out_of_order_raise_and_keep_the_fusion_alive():
    f1 = cfuser.Fusion()
    g1, g2 = cfuser.FusionGuard(f1), cfuser.FusionGuard(cfuser.Fusion())
    g1.__enter__()
    g2.__enter__()
    with pytest.raises(cfuser.Error, match="out of order"):
        g1.__exit__(None, None, None)
    del f1
    gc.collect()
    # the outer fusion is still referenced by the active stack: usable
    g2.__exit__(None, None, None)
    t = cfuser.define_tensor(shape=[-1, -1])
    assert t is not None and len(active().inputs()) == 1
    g1.__exit__(None, None, None)


@pytest.mark.parametrize("order", ["fifo", "lifo"])
def test_entered_guards_deleted_in_any_order(order):
    g1, g2 = cfuser.FusionGuard(cfuser.Fusion()), cfuser.FusionGuard(cfuser.Fusion())
    g1.__enter__()
    inner = g2.__enter__()
    if order == "fifo":
        del g1
        gc.collect()
        assert active() is inner  # the inner one is still the active one
        del g2
    else:
        del g2
        del g1
    del inner


def test_entered_guards_collected_together_in_a_cycle():
    g1, g2 = cfuser.FusionGuard(cfuser.Fusion()), cfuser.FusionGuard(cfuser.Fusion())
    g1.__enter__()
    g2.__enter__()
    cycle: list = [g1, g2]
    cycle.append(cycle)
    del g1, g2, cycle
    gc.collect()
    with pytest.raises(cfuser.Error, match="no active fusion"):
        cfuser.define_tensor(shape=[-1])


def test_guard_exited_on_another_thread_raises():
    f = cfuser.Fusion()
    g = cfuser.FusionGuard(f)
    g.__enter__()
    errors: list = []

    def other():
        try:
            g.__exit__(None, None, None)
        except Exception as e:  # noqa: BLE001 - collected for the assertion
            errors.append(e)
        errors.append(active())

    th = threading.Thread(target=other)
    th.start()
    th.join()
    assert isinstance(errors[0], cfuser.Error) and "another thread" in str(errors[0])
    assert errors[1] is None  # the other thread never had it active
    assert active() is f
    g.__exit__(None, None, None)


def test_thread_ending_with_a_guard_entered_releases_the_fusion():
    import weakref

    f = cfuser.Fusion()
    ref = weakref.ref(f)

    def worker(fusion):
        cfuser.FusionGuard(fusion).__enter__()  # never exited; the guard dies at once

    th = threading.Thread(target=worker, args=(f,))
    th.start()
    th.join()
    del f
    gc.collect()
    assert ref() is None


def test_definitions_exited_out_of_order_raise():
    fd1, fd2 = cfuser.FusionDefinition(), cfuser.FusionDefinition()
    fd1.__enter__()
    fd2.__enter__()
    with pytest.raises(cfuser.Error, match="out of order"):
        fd1.__exit__(None, None, None)
    fd2.__exit__(None, None, None)
    fd1.__exit__(None, None, None)


def test_nested_with_of_one_definition_keeps_it_active():
    fd, other = cfuser.FusionDefinition(), cfuser.FusionDefinition()
    with other:
        with fd:
            with fd:
                pass
            assert active() is fd.fusion
            x = fd.define_tensor(shape=[-1], dtype=D.Double)
            y = fd.ops.add(x, fd.ops.full([3], 1.0, dtype=D.Double))
            fd.add_output(y)
        assert active() is other.fusion
    assert len(other.fusion.inputs()) == 0 and len(other.fusion.exprs()) == 0
    np.testing.assert_array_equal(fd.execute([np.arange(3.0)])[0], np.arange(3.0) + 1)


def test_define_tensor_goes_into_its_own_definition_whatever_is_active():
    fd, other = cfuser.FusionDefinition(), cfuser.FusionDefinition()
    with other:
        fd.define_tensor(shape=[-1])
        fd.define_scalar(2.0)
    assert len(fd.fusion.inputs()) == 1 and len(other.fusion.inputs()) == 0


def test_exit_of_a_definition_never_entered_raises():
    with pytest.raises(cfuser.Error, match="not entered"):
        cfuser.FusionDefinition().__exit__(None, None, None)


def test_guards_left_entered_at_interpreter_exit_do_not_crash():
    r = run_child(
        """
        import cfuser
        fd1, fd2 = cfuser.FusionDefinition(), cfuser.FusionDefinition()
        fd1.__enter__(); fd2.__enter__()
        try:
            fd1.__exit__(None, None, None)
        except cfuser.Error:
            pass
        g = cfuser.FusionGuard(cfuser.Fusion()); g.__enter__()
        print("ok")
        """
    )
    assert r.returncode == 0 and r.stdout.strip() == "ok", (r.returncode, r.stderr[-2000:])


def test_guard_stress_many_threads_random_orders():
    import random

    def worker(seed, errors):
        rng = random.Random(seed)
        try:
            for _ in range(300):
                guards = [cfuser.FusionGuard(cfuser.Fusion()) for _ in range(rng.randint(1, 4))]
                for g in guards:
                    g.__enter__()
                order = list(guards)
                rng.shuffle(order)
                for g in order:
                    try:
                        g.__exit__(None, None, None)
                    except cfuser.Error:
                        pass
                cfuser.define_tensor(shape=[-1]) if active() is not None else None
                del guards, order, g
            gc.collect()
            if active() is not None:
                errors.append("left active")
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    errors: list = []
    threads = [threading.Thread(target=worker, args=(s, errors)) for s in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
