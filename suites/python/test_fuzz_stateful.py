"""Stateful fuzzing of the definition API (hypothesis RuleBasedStateMachine).

Fusions, guards and definitions are made, entered and exited in any order
(on this thread and on others), re-initialised, deleted and collected;
ops are applied to nodes of any fusion, ops fail midway, fusions execute.
The invariants: nothing crashes, every misuse raises cfuser.Error or
TypeError, and the active fusion is always the one a model of the
per-thread stack predicts.
"""
# harness deadline: 600  (200 runs of 40 steps in the long budget: under ASan about 370 s of its own time on amd-epyc-2c-24g)

from __future__ import annotations

import gc
import threading

import numpy as np
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from conftest import cfuser
from catalogue import tried
from fuzzing import fuzz_settings

D = cfuser.DataType
MISUSE = (cfuser.Error, TypeError)


class Raising:
    def __index__(self):
        raise ValueError("an item that refuses")


class DefinitionAPI(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.fusions: list = []
        self.guards: list = []
        self.stack: list = []       # model: (guard, fusion) entered on this thread, innermost last
        self.nodes: list = []       # (fusion, TensorView)

    # --- objects -------------------------------------------------------------
    @rule()
    def new_fusion(self):
        self.fusions.append(cfuser.Fusion())

    @precondition(lambda self: self.fusions)
    @rule(k=st.integers(0, 99))
    def new_guard(self, k):
        self.guards.append(cfuser.FusionGuard(self.fusions[k % len(self.fusions)]))

    @precondition(lambda self: self.guards)
    @rule(k=st.integers(0, 99))
    def enter(self, k):
        g = self.guards[k % len(self.guards)]
        entered = any(e[0] is g for e in self.stack)
        try:
            f = g.__enter__()
        except MISUSE:
            assert entered
            return
        assert not entered
        self.stack.append((g, f))

    @precondition(lambda self: self.guards)
    @rule(k=st.integers(0, 99))
    def exit(self, k):
        g = self.guards[k % len(self.guards)]
        pos = [i for i, e in enumerate(self.stack) if e[0] is g]
        try:
            g.__exit__(None, None, None)
        except MISUSE:
            assert pos and pos[0] != len(self.stack) - 1
            return
        if pos:
            assert pos[0] == len(self.stack) - 1
            self.stack.pop()
            while self.stack and self.stack[-1][0] is None:  # entries of dropped guards below it end too
                self.stack.pop()

    @precondition(lambda self: self.guards and self.fusions)
    @rule(k=st.integers(0, 99), j=st.integers(0, 99))
    def reinit(self, k, j):
        g = self.guards[k % len(self.guards)]
        entered = any(e[0] is g for e in self.stack)
        try:
            g.__init__(self.fusions[j % len(self.fusions)])
        except MISUSE:
            assert entered
            return
        assert not entered

    @precondition(lambda self: self.guards)
    @rule(k=st.integers(0, 99))
    def exit_on_another_thread(self, k):
        g = self.guards[k % len(self.guards)]
        entered = any(e[0] is g for e in self.stack)
        out: list = []

        def other():
            try:
                g.__exit__(None, None, None)
                out.append("ok")
            except MISUSE:
                out.append("refused")

        t = threading.Thread(target=other)
        t.start()
        t.join()
        assert out == (["refused"] if entered else ["ok"])

    @precondition(lambda self: self.guards)
    @rule(k=st.integers(0, 99))
    def drop_guard(self, k):
        g = self.guards.pop(k % len(self.guards))
        # a dropped guard ends its entry: at once when innermost, else later
        idx = [i for i, e in enumerate(self.stack) if e[0] is g]
        del g  # no cycle holds a guard: it dies here
        if idx:
            i = idx[0]
            self.stack[i] = (None, self.stack[i][1])
            while self.stack and self.stack[-1][0] is None:
                self.stack.pop()

    @precondition(lambda self: self.fusions)
    @rule(k=st.integers(0, 99))
    def drop_fusion(self, k):
        self.fusions.pop(k % len(self.fusions))

    # --- definitions ----------------------------------------------------------
    @rule()
    def define_on_active(self):
        try:
            t = cfuser.define_tensor(shape=[-1, -1], dtype=D.Double)
        except MISUSE:
            assert not self.stack
            return
        assert self.stack
        self.nodes.append((self.stack[-1][1], t))

    @precondition(lambda self: self.nodes)
    @rule(k=st.integers(0, 99), j=st.integers(0, 99), op=st.sampled_from(["add", "mul", "maximum"]))
    def binary(self, k, j, op):
        (fa, a), (fb, b) = self.nodes[k % len(self.nodes)], self.nodes[j % len(self.nodes)]
        active = self.stack[-1][1] if self.stack else None
        try:
            out = getattr(cfuser.ops, op)(a, b)
        except MISUSE:  # an op needs its operands' fusion active (not closed, not another)
            assert fa is not fb or active is not fa
            return
        assert fa is fb and active is fa
        self.nodes.append((fa, out))

    @precondition(lambda self: self.nodes)
    @rule(k=st.integers(0, 99))
    def failing_op(self, k):
        f, a = self.nodes[k % len(self.nodes)]
        before = len(f.vals())
        try:
            cfuser.ops.reshape(a, [2, Raising()])
        except (ValueError, *MISUSE):
            pass
        assert len(f.vals()) == before

    @precondition(lambda self: self.nodes)
    @rule(k=st.integers(0, 99))
    def mark_output_and_execute(self, k):
        f, t = self.nodes[k % len(self.nodes)]
        try:
            f.add_output(t)
        except MISUSE:
            pass
        n = len(f.inputs())
        ins = [np.ones((2, 3)) for _ in range(n)]
        outs = cfuser.FusionExecutorCache(f).execute(ins)
        aliases = cfuser._C._ir_dump(f)[4]
        assert len(outs) == sum(visible for _, visible in aliases)
        # an output that is an input, or is written into one (by any of its
        # entries), is that input
        written = {id(v): a for v, (a, _) in zip(f.outputs(), aliases) if a >= 0}
        shown = [v for v, (_, visible) in zip(f.outputs(), aliases) if visible]
        for o, v in zip(outs, shown):
            target = f.vals()[written[id(v)]] if id(v) in written else v
            pos = [i for i, x in enumerate(f.inputs()) if x is target]
            assert (o is ins[pos[0]]) if pos else all(o is not x for x in ins)

    @precondition(lambda self: self.nodes)
    @rule(k=st.integers(0, 99), j=st.integers(0, 99))
    def alias_output(self, k, j):
        f, t = self.nodes[k % len(self.nodes)]
        ins = f.inputs()
        target = ins[j % len(ins)] if ins else t
        before = (len(f.outputs()), cfuser._C._ir_dump(f)[4])
        try:
            f.add_output(t, target)
        except MISUSE:
            assert (len(f.outputs()), cfuser._C._ir_dump(f)[4]) == before

    @precondition(lambda self: len(self.nodes) > 50)
    @rule()
    def forget_nodes(self):
        self.nodes = self.nodes[-10:]

    @invariant()
    def active_matches_the_model(self):
        tried("definition API steps (stateful, in random order)")
        want = self.stack[-1][1] if self.stack else None
        assert cfuser._C.active_fusion() is want

    def teardown(self):
        for g, _ in reversed(self.stack):
            if g is not None:
                g.__exit__(None, None, None)
        self.stack.clear()
        self.guards.clear()
        gc.collect()
        assert cfuser._C.active_fusion() is None


TestDefinitionAPI = DefinitionAPI.TestCase
TestDefinitionAPI.settings = fuzz_settings(short=60, long=200, stateful_step_count=40)
