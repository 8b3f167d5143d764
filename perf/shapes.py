"""The call shapes whose per-call cost perf measures, for cfuser and for the
nanobind and pybind11 twins, written once and used by both the wall-time
loop (overhead.py) and the instruction counter (callgrind_driver.py).

Each shape is a statement run by timeit.Timer in a namespace built by a
setup function. A shape that needs fresh state between samples (defining
ops grows the fusion) has a reset. A per-element shape is the difference of
two statements (1024 items minus 0 items) divided by 1024.
"""
from __future__ import annotations

import timeit
from dataclasses import dataclass, field
from typing import Callable

LIBS = ("cfuser", "nanobind", "pybind11")
TWIN_MODULES = {"nanobind": "_nb_twin", "pybind11": "_pb_twin"}
N_ELEMS = 1024
PER_ELEM_LEN = 1024


@dataclass
class Shape:
    """One call shape for one library."""
    lib: str
    name: str
    stmt: str
    ns: dict
    base_stmt: str | None = None     # subtracted (per-element shapes)
    divisor: int = 1                 # items per call for per-element shapes
    reset: Callable[[dict], None] | None = None
    teardown: Callable[[dict], None] | None = None
    uses_torch: bool = False
    timers: list = field(default_factory=list)

    def __post_init__(self):
        self.timers = [timeit.Timer(self.stmt, globals=self.ns)]
        if self.base_stmt is not None:
            self.timers.append(timeit.Timer(self.base_stmt, globals=self.ns))

    def seconds_per_call(self, number: int) -> float:
        t = self.timers[0].timeit(number)
        if len(self.timers) > 1:
            t -= self.timers[1].timeit(number)
        if self.reset:
            self.reset(self.ns)
        return t / number / self.divisor


DESCRIPTIONS = {
    "add": "define a binary op: new node that keeps its fusion alive (fd.ops.add(t0, t1))",
    "accessor": "IR accessor returning a node (tv.definition())",
    "int_list_16": "list of 16 ints in, int64 list out (as_int64_list)",
    "int_list_per_elem": "sequence conversion cost per element (1024 minus 0 items)",
    "execute_add_1k": "cached execute of a + b, two 1k float32 numpy inputs (DLPack in, array out)",
    "execute_8in_1k": "cached execute summing 8 1k-element numpy tensors (DLPack)",
    "execute_add_1k_torch": "cached execute of a + b on two 1k float32 torch tensors",
    "execute_chain_1k": "cached execute of the 6-op chain, two 1k float32 numpy inputs",
    "execute_chain_1k_torch": "cached execute of the chain on two 1k float32 torch tensors",
    "fec_execute_chain_1k": "FusionExecutorCache.execute of the chain, 1k numpy inputs",
}
SHAPE_NAMES = tuple(DESCRIPTIONS)


# --- cfuser -----------------------------------------------------------------

def _cf_tensor(fd, cfuser):
    return fd.define_tensor(shape=[-1], contiguity=True, dtype=cfuser.DataType.Float)


def cf_chain(fd, a, b):
    ops = fd.ops
    return ops.relu(ops.add(ops.mul(ops.tanh(ops.add(ops.mul(a, b), 1.0)), 0.5), a))


def _cf_chain_fd(cfuser):
    with cfuser.FusionDefinition() as fd:
        a = _cf_tensor(fd, cfuser)
        b = _cf_tensor(fd, cfuser)
        fd.add_output(cf_chain(fd, a, b))
    return fd


def _cf_open_definition(ns):
    cfuser = ns["cfuser"]
    fd = cfuser.FusionDefinition()
    fd.__enter__()
    ns.update(fd=fd, t0=_cf_tensor(fd, cfuser), t1=_cf_tensor(fd, cfuser))


def _cf_close_definition(ns):
    fd = ns["fd"]
    fd.add_output(fd.ops.add(ns["t0"], ns["t1"]))
    fd.__exit__(None, None, None)


def _cf_reopen(ns):
    _cf_close_definition(ns)
    _cf_open_definition(ns)


def cfuser_shape(name: str, np, torch=None) -> Shape:
    import cfuser
    import cfuser._C  # noqa: F401  (the _testing hooks live there)
    ns: dict = {"cfuser": cfuser}
    if name == "add":
        _cf_open_definition(ns)
        return Shape("cfuser", name, "fd.ops.add(t0, t1)", ns, reset=_cf_reopen,
                     teardown=_cf_close_definition)
    if name == "accessor":
        with cfuser.FusionDefinition() as fd:
            y = fd.ops.add(_cf_tensor(fd, cfuser), _cf_tensor(fd, cfuser))
            fd.add_output(y)
        ns.update(fd=fd, y=y)
        return Shape("cfuser", name, "y.definition()", ns)
    if name in ("int_list_16", "int_list_per_elem"):
        ns["as_int64_list"] = cfuser._C._testing.as_int64_list
        return _int_list_shape("cfuser", name, ns)
    if name in ("execute_chain_1k", "execute_chain_1k_torch", "fec_execute_chain_1k"):
        fd = _cf_chain_fd(cfuser)
        a, b = _inputs(name, np, torch)
        ns.update(fd=fd, a=a, b=b)
        stmt = "fd.execute([a, b])"
        if name == "fec_execute_chain_1k":
            ns["fec"] = cfuser.FusionExecutorCache(fd.fusion)
            stmt = "fec.execute([a, b])"
        _check_chain(eval(stmt, ns)[0], a, b, np)
        return Shape("cfuser", name, stmt, ns, uses_torch=name.endswith("torch"))
    if name in ("execute_add_1k", "execute_add_1k_torch"):
        with cfuser.FusionDefinition() as fd:
            fd.add_output(fd.ops.add(_cf_tensor(fd, cfuser), _cf_tensor(fd, cfuser)))
        a, b = _inputs(name, np, torch)
        ns.update(fd=fd, a=a, b=b)
        _check_sum(ns["fd"].execute([a, b])[0], [a, b], np)
        return Shape("cfuser", name, "fd.execute([a, b])", ns, uses_torch=name.endswith("torch"))
    if name == "execute_8in_1k":
        with cfuser.FusionDefinition() as fd:
            ts = [_cf_tensor(fd, cfuser) for _ in range(8)]
            acc = ts[0]
            for t in ts[1:]:
                acc = fd.ops.add(acc, t)
            fd.add_output(acc)
        ns.update(fd=fd, xs=_eight(np))
        return Shape("cfuser", name, "fd.execute(xs)", ns)
    raise KeyError(name)


# --- twins ------------------------------------------------------------------

def twin_shape(lib: str, name: str, np, torch=None) -> Shape:
    import importlib
    m = importlib.import_module(TWIN_MODULES[lib])
    ns: dict = {"m": m}
    if name == "add":
        g = m.Graph()
        ns.update(g=g, t0=g.define_input(), t1=g.define_input())
        return Shape(lib, name, "g.add(t0, t1)", ns, reset=lambda ns: ns["g"].truncate(2))
    if name == "accessor":
        g = m.Graph()
        y = g.add(g.define_input(), g.define_input())
        ns.update(g=g, y=y)
        return Shape(lib, name, "y.definition()", ns)
    if name in ("int_list_16", "int_list_per_elem"):
        ns["as_int64_list"] = m.as_int64_list
        return _int_list_shape(lib, name, ns)
    if name in ("execute_add_1k", "execute_add_1k_torch"):
        a, b = _inputs(name, np, torch)
        ns.update(a=a, b=b, execute=m.execute)
        _check_sum(m.execute([a, b]), [a, b], np)
        return Shape(lib, name, "execute([a, b])", ns, uses_torch=name.endswith("torch"))
    if name == "execute_8in_1k":
        ns.update(execute=m.execute, xs=_eight(np))
        return Shape(lib, name, "execute(xs)", ns)
    raise KeyError(name)


# --- shared pieces ----------------------------------------------------------

def _int_list_shape(lib, name, ns):
    if name == "int_list_16":
        ns["L"] = list(range(16))
        return Shape(lib, name, "as_int64_list(L)", ns)
    ns["L0"] = []
    ns["L1"] = list(range(PER_ELEM_LEN))
    return Shape(lib, name, "as_int64_list(L1)", ns, base_stmt="as_int64_list(L0)",
                 divisor=PER_ELEM_LEN)


def _inputs(name, np, torch):
    rng = np.random.default_rng(0)
    a = rng.standard_normal(N_ELEMS, dtype=np.float32)
    b = rng.standard_normal(N_ELEMS, dtype=np.float32)
    if name.endswith("torch"):
        if torch is None:
            raise RuntimeError("torch shapes need torch")
        return torch.from_numpy(a), torch.from_numpy(b)
    return a, b


def _eight(np):
    rng = np.random.default_rng(1)
    return [rng.standard_normal(N_ELEMS, dtype=np.float32) for _ in range(8)]


def _check_chain(out, a, b, np):
    """A benchmark of a wrong answer is worthless: check once before timing."""
    a = np.asarray(a)
    b = np.asarray(b)
    ref = np.maximum(np.tanh(a * b + 1.0) * 0.5 + a, 0.0)
    got = np.asarray(out)
    if not np.allclose(got, ref, rtol=1e-5, atol=1e-6):
        raise AssertionError("chain result differs from numpy's")


def _check_sum(out, xs, np):
    ref = sum(np.asarray(x) for x in xs)
    if not np.allclose(np.asarray(out), ref, rtol=1e-5, atol=1e-5):
        raise AssertionError("sum of inputs differs from numpy's")


def build(lib: str, name: str, np, torch=None) -> Shape:
    if lib == "cfuser":
        return cfuser_shape(name, np, torch)
    return twin_shape(lib, name, np, torch)


# The twins price the glue, so their "executor" only adds; the chain's 1k
# tanh calls would swamp the binding cost. The chain shapes are cfuser's
# absolute targets and have no twin.
CFUSER_ONLY = ("execute_chain_1k", "execute_chain_1k_torch", "fec_execute_chain_1k")


def available(lib: str, name: str) -> bool:
    return lib == "cfuser" or name not in CFUSER_ONLY
