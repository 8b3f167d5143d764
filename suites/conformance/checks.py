"""The conformance checklist: one function per row of the report.

Each check takes a Target (target.py) and returns (status, evidence):
status "pass", "fail" or "info" (a measurement with no bar), evidence one
line a reader can act on. A check that raises fails with the exception as
its evidence; one that kills its process is reported as a crash by the
runner (kit.py), which runs every check in a child process, and the checks
marked isolated (use after free when the binding is wrong) each in a child
of their own, so a corrupted heap cannot blame a later row.

Rows that need cfuser's C internals (the failing allocator, the debug
interpreter's reference counts) have `internal=True`: for other targets they
are skipped with that reason. Rows that run the embedded runner (harness/)
have `embedded=True`.
"""
from __future__ import annotations

import enum
import gc
import inspect
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Check:
    id: str
    title: str
    group: str
    fn: Callable
    isolated: bool = False   # its own child process (a crash-prone path)
    internal: bool = False   # needs cfuser's C internals
    embedded: bool = False   # runs the embedded runner (harness/)
    timeout: float = 300.0


CHECKS: list[Check] = []


def check(id, title, group, **kw):
    def deco(fn):
        CHECKS.append(Check(id, title, group, fn, **kw))
        return fn
    return deco


def collect():
    for _ in range(3):
        gc.collect()


def short(e: BaseException, n=160) -> str:
    text = " ".join(str(e).split())
    return f"{type(e).__name__}: {text[:n]}{'...' if len(text) > n else ''}"


# --- keep-alive: a node outlives its FusionDefinition -------------------------
#
# The node is taken, its text recorded, every other reference dropped, the
# garbage collected, 50 new fusions built (so freed memory is reused), and
# then it is used again: its str(), repr() and one accessor further down.
# Kept alive: pass. A clean exception: fail. Changed text: fail (it read
# freed memory). A signal: the runner reports the crash.

def _keepalive(t, get, use):
    fd, x, y, s, z = t.small()
    node = get(t, fd, x, z)
    before = str(node)
    del fd, x, y, s, z
    collect()
    churn = [t.small() for _ in range(50)]
    del churn
    collect()
    try:
        after = str(node)
        repr(node)
        detail = use(t, node)
    except Exception as e:
        return "fail", f"unusable once its FusionDefinition is gone: {short(e)}"
    if after != before:
        return "fail", f"its text changed after its owner died (read freed memory): {before[:60]!r} -> {after[:60]!r}"
    return "pass", f"usable after its FusionDefinition died and 50 fusions were built ({detail})"


def _use_expr(t, e):
    out = e.output(0)
    str(out)
    return f"definition().output(0) = {str(out)[:40]}"


def _use_list(t, xs):
    xs = list(xs)
    texts = [str(u) for u in xs]
    for u in xs:
        str(u.output(0))
    return f"{len(texts)} uses"


def _use_val(t, v):
    return f"str = {str(v)[:40]}"


def _use_fusion(t, f):
    if not (hasattr(f, "inputs") and hasattr(f, "outputs")):  # no accessors: its text then
        text = f.print_math() if hasattr(f, "print_math") else str(f)
        return f"print_math() of {len(text)} chars"
    n_in, n_out = len(list(f.inputs())), len(list(f.outputs()))
    if (n_in, n_out) != (2, 2):
        raise AssertionError(f"the fusion has {n_in} inputs and {n_out} outputs, defined with 2 and 2")
    return "2 inputs, 2 outputs"


@check("keepalive.definition", "keep-alive: t.definition()", "lifetime", isolated=True)
def keepalive_definition(t):
    return _keepalive(t, lambda t, fd, x, z: z.definition(), _use_expr)


@check("keepalive.uses", "keep-alive: t.uses()", "lifetime", isolated=True)
def keepalive_uses(t):
    return _keepalive(t, lambda t, fd, x, z: x.uses(), _use_list)


@check("keepalive.domain", "keep-alive: t.domain()", "lifetime", isolated=True)
def keepalive_domain(t):
    return _keepalive(t, lambda t, fd, x, z: x.domain(), _use_val)


@check("keepalive.extent", "keep-alive: t.axis(0).extent()", "lifetime", isolated=True)
def keepalive_extent(t):
    return _keepalive(t, lambda t, fd, x, z: x.axis(0).extent(), _use_val)


@check("keepalive.fusion", "keep-alive: fd.fusion", "lifetime", isolated=True)
def keepalive_fusion(t):
    return _keepalive(t, lambda t, fd, x, z: t.fusion_of(fd), _use_fusion)


# --- repr of every node type -----------------------------------------------------

def _informative(obj):
    r = repr(obj)
    if not isinstance(r, str) or not r:
        return False, f"repr is {r!r}"
    if " object at 0x" in r:
        return False, f"Python's default repr: {r[:70]}"
    return True, f"{r[:70]}"


def _repr_row(t, type_name, get):
    cls = t.find_type(type_name)
    fd, x, y, s, z = t.small()
    obj = get(t, fd, x, s, z)
    if cls is not None and not isinstance(obj, cls):
        return "fail", f"{type(obj).__name__} is not a {type_name}"
    ok, ev = _informative(obj)
    return ("pass" if ok else "fail"), ev


def _fec(t, fd):
    fec_type = t.find_type("FusionExecutorCache")
    if fec_type is None:
        raise AssertionError("no FusionExecutorCache type")
    return fec_type(t.fusion_of(fd))


REPR_ROWS = {
    "Val": lambda t, fd, x, s, z: x.axis(0).extent(),
    "Expr": lambda t, fd, x, s, z: z.definition(),
    "IterDomain": lambda t, fd, x, s, z: x.axis(0),
    "TensorDomain": lambda t, fd, x, s, z: x.domain(),
    "TensorView": lambda t, fd, x, s, z: x,
    "Fusion": lambda t, fd, x, s, z: t.fusion_of(fd),
    "FusionExecutorCache": lambda t, fd, x, s, z: _fec(t, fd),
}

for _name, _get in REPR_ROWS.items():
    check(f"repr.{_name}", f"repr: {_name}", "repr")(
        lambda t, _name=_name, _get=_get: _repr_row(t, _name, _get))


@check("repr.Statement", "repr: Statement (the base of every node)", "repr")
def repr_statement(t):
    st = t.find_type("Statement")
    fd, x, y, s, z = t.small()
    nodes = [x, z.definition(), x.axis(0), x.domain(), x.axis(0).extent()]
    if st is not None:
        if st.__repr__ is object.__repr__:
            return "fail", f"{st.__name__} defines no __repr__: every node without its own shows Python's default"
        base = f"{st.__name__}.__repr__ defined"
    else:
        base = "no Statement base class"
    bad = [type(n).__name__ for n in nodes if not _informative(n)[0]]
    if bad:
        return "fail", f"{base}; default repr on {', '.join(bad)}"
    return "pass", f"{base}; every node type has an informative repr"


# --- sequence conversion -----------------------------------------------------------

@check("seqconv.per_element", "sequence conversion: cost per element", "conversion")
def seqconv_per_element(t):
    """define_tensor(sizes=[1]*n, strides=[1]*(n+1)) converts both lists and
    is refused (a rank or length mismatch): the slope of its time between
    n = 10^4 and 10^5 is the cost per converted element."""
    def timed(n):
        sizes, strides = [1] * n, [1] * (n + 1)
        best = float("inf")
        for _ in range(5):
            with t.FusionDefinition() as fd:
                t0 = time.perf_counter()
                try:
                    fd.define_tensor(sizes=sizes, strides=strides, dtype=t.DataType.Float)
                except Exception as e:  # the expected refusal
                    err = e
                else:
                    err = None
                best = min(best, time.perf_counter() - t0)
        return best, err
    small, err_small = timed(10_000)
    large, err_large = timed(100_000)
    if err_large is None:
        return "fail", "define_tensor accepted 100000 dims"
    if isinstance(err_large, TypeError) and "sizes" in str(err_large) and "keyword" in str(err_large):
        return "fail", f"no sizes=/strides= form to convert through: {short(err_large)}"
    ns = (large - small) / 90_000 * 1e9
    bar = 250.0
    ev = f"{ns:.0f} ns per element (10^4: {small * 1e3:.2f} ms, 10^5: {large * 1e3:.2f} ms; bar {bar:.0f} ns)"
    return ("pass" if ns <= bar else "fail"), ev


# --- tensor caster errors ------------------------------------------------------------

def _expect_error(call, kinds, tokens):
    """(ok, text): call() must raise one of kinds, its message naming one of
    tokens; a bare RuntimeError or SystemError is not enough."""
    try:
        call()
    except Exception as e:
        ok_type = isinstance(e, kinds) and type(e) not in (RuntimeError, SystemError, Exception)
        ok_msg = any(tok in str(e) for tok in tokens)
        return ok_type and ok_msg, short(e, 110), ok_type, ok_msg
    return False, "accepted", False, False


@check("caster.errors", "tensor caster: bad inputs to execute", "conversion")
def caster_errors(t):
    fd, *_ = t.small()
    good = t.tensor(3, 4)
    cases = {
        "object()": ([object(), good], (TypeError,), ["0", "object"]),
        "a str": (["abc", good], (TypeError,), ["0", "str"]),
        "a float64 tensor for a Float input": ([t.tensor(3, 4, dtype="float64"), good],
                                              (TypeError, ValueError), ["0", "ouble", "float64"]),
        "a 1-D tensor for a 2-D input": ([t.tensor(5), good], (ValueError, TypeError), ["0", "dim", "rank"]),
    }
    bad = []
    for what, (inputs, kinds, tokens) in cases.items():
        ok, text, *_ = _expect_error(lambda: fd.execute(inputs), kinds, tokens)
        if not ok:
            bad.append(f"{what} -> {text}")
    if bad:
        return "fail", f"{len(bad)} of {len(cases)} without a typed error naming the input: " + "; ".join(bad)
    return "pass", f"all {len(cases)} raise TypeError/ValueError naming input 0"


# --- exceptions ---------------------------------------------------------------------

def _misuse_cases(t):
    fd, x, y, s, z = t.small()

    def bad_operand():
        with t.FusionDefinition() as fd2:
            a = t.define_input(fd2)
            fd2.ops.add(a, "x")

    def bad_shape():
        with t.FusionDefinition() as fd2:
            fd2.define_tensor(shape=[-7, 3], contiguity=True, dtype=t.DataType.Float)

    return {
        "axis(99) of a 2-D tensor": (lambda: x.axis(99), (IndexError,), ["99"]),
        "ops.add(t, 'x')": (bad_operand, (TypeError,), ["str", "'x'"]),
        "execute with 1 of 2 inputs": (lambda: fd.execute([t.tensor(3, 4)]), (ValueError, TypeError), ["2"]),
        "define_tensor(shape=[-7, 3])": (bad_shape, (ValueError,), ["-7"]),
        "Expr.output(5) of a 1-output expr": (lambda: z.definition().output(5), (IndexError,), ["5"]),
    }


@check("exceptions.types", "exceptions: built-in types (TypeError, ValueError, IndexError)", "errors")
def exception_types(t):
    rows, bad = [], []
    for what, (call, kinds, tokens) in _misuse_cases(t).items():
        _, text, ok_type, _ = _expect_error(call, kinds, tokens)
        rows.append(text.split(":")[0])
        if not ok_type:
            bad.append(f"{what} -> {text}")
    if bad:
        return "fail", f"{len(bad)} of {len(rows)} not a matching built-in: " + "; ".join(bad)
    return "pass", f"{len(rows)} misuses: " + ", ".join(rows)


_CXX_NOISE = ("Exception raised from", ".cpp:", ".h:", "c10::", "std::", "nvfuser::", ".cu:")


@check("exceptions.messages", "exceptions: messages name the bad value, no C++ internals", "errors")
def exception_messages(t):
    bad = []
    n = 0
    for what, (call, kinds, tokens) in _misuse_cases(t).items():
        n += 1
        try:
            call()
        except Exception as e:
            msg = str(e)
            noise = [w for w in _CXX_NOISE if w in msg]
            if noise:
                bad.append(f"{what}: C++ internals ({noise[0]!r}) in {len(msg)} chars")
            elif len(msg) > 1000:
                bad.append(f"{what}: {len(msg)} chars")
            elif not any(tok in msg for tok in tokens):
                bad.append(f"{what}: does not name {tokens[0]!r}: {msg[:80]!r}")
        else:
            bad.append(f"{what}: accepted")
    if bad:
        return "fail", f"{len(bad)} of {n}: " + "; ".join(bad)
    return "pass", f"{n} messages name the bad value, none carries C++ internals"


# --- the interpreter lock during execute --------------------------------------------------

@check("gil.execute", "GIL released during execute (a background thread makes progress)", "threads")
def gil_execute(t):
    """A Python thread spins, noting every wait longer than 2 ms; the main
    thread runs a first execute (compile and run) of a chain of ops on an
    input large enough for the call to last 100 ms or more. With the lock
    held through the call, the thread's longest wait is the whole call."""
    stalls = []
    stop = threading.Event()

    def spin():
        last = time.perf_counter()
        while not stop.is_set():
            now = time.perf_counter()
            if now - last > 0.002:
                stalls.append((last, now))
            last = now

    th = threading.Thread(target=spin, daemon=True)
    th.start()
    n, results = 1 << 20, []
    try:
        while len(results) < 5:  # up to five calls of 100 ms or more: the best one
            fd = t.chain()
            x = t.tensor(n)
            t.synchronize()
            del stalls[:]
            t0 = time.perf_counter()
            fd.execute([x])
            t1 = time.perf_counter()
            t.synchronize()
            longest = max((min(b, t1) - max(a, t0) for a, b in list(stalls)), default=0.0)
            if t1 - t0 >= 0.1 or n >= 1 << 26:
                results.append((max(longest, 0.0) / (t1 - t0), t1 - t0, max(longest, 0.0)))
                if results[-1][0] <= 0.25:
                    break
            else:
                n *= 4
    finally:
        stop.set()
        th.join()
    _, dt, longest = min(results)
    ev = (f"a first execute (compile and run, {n} elements) took {dt * 1e3:.0f} ms; the longest a Python "
          f"thread waited for the lock meanwhile: {longest * 1e3:.0f} ms ({longest / dt:.0%} of the call)")
    if dt < 0.02:
        return "fail", ev + " (too short to judge)"
    return ("pass" if longest <= 0.5 * dt else "fail"), ev


# --- signatures, keyword arguments, enums ---------------------------------------------------

def _public_callables(t):
    """(qualified name, callable) of the public API: module functions, the
    ops, and the methods of the node, fusion and executor types."""
    seen, out = set(), []

    def add(qual, obj):
        if id(obj) in seen:
            return
        seen.add(id(obj))
        out.append((qual, obj))

    for mod in t.type_homes():
        for name in dir(mod):
            obj = getattr(mod, name, None)
            if name.startswith("_") or isinstance(obj, type) or not callable(obj):
                continue
            if getattr(obj, "__module__", None) in ("typing", "builtins") and not hasattr(obj, "__text_signature__"):
                continue
            add(f"{getattr(mod, '__name__', '?')}.{name}", obj)
    with t.FusionDefinition() as fd:
        pass
    for name in dir(fd.ops):
        obj = getattr(fd.ops, name, None)
        if not name.startswith("_") and callable(obj) and not isinstance(obj, type):
            add(f"ops.{name}", obj)
    for tname in ("Statement", "Val", "Expr", "IterDomain", "TensorDomain", "TensorView",
                  "Fusion", "FusionExecutorCache", "FusionDefinition"):
        cls = t.FusionDefinition if tname == "FusionDefinition" else t.find_type(tname)
        if cls is None:
            continue
        for name, obj in vars(cls).items():
            if name.startswith("_") or isinstance(obj, (property, type)):
                continue
            if callable(obj) or hasattr(obj, "__get__") and not hasattr(obj, "__set__"):
                if callable(getattr(cls, name, None)):
                    add(f"{tname}.{name}", getattr(cls, name))
    return out


@check("signatures.coverage", "inspect.signature on every public callable", "signatures")
def signature_coverage(t):
    items = _public_callables(t)
    missing = []
    for qual, obj in items:
        try:
            sig = inspect.signature(obj)
        except (ValueError, TypeError):
            missing.append(qual)
            continue
        params = list(sig.parameters.values())
        if any(p.kind is p.VAR_POSITIONAL for p in params) and any(p.kind is p.VAR_KEYWORD for p in params) \
                and len(params) <= 3:
            missing.append(qual + "(*args, **kwargs)")
    have = len(items) - len(missing)
    ev = f"{have} of {len(items)} have a signature"
    if missing:
        ev += "; without: " + ", ".join(missing[:6]) + (f", ... ({len(missing) - 6} more)" if len(missing) > 6 else "")
    return ("pass" if not missing and items else "fail"), ev


def _registry():
    """Elementwise ops of cfuser's registry (core/ops/ops.toml) with their
    argument names (nvFuser's), and the rule that picks operand dtypes."""
    import tomllib
    doc = tomllib.loads((REPO / "core" / "ops" / "ops.toml").read_text())
    out = []
    defaults = {"unary": ["x"], "binary": ["lhs", "rhs"]}
    for section in ("unary", "binary", "ternary"):
        for name, row in doc.get(section, {}).items():
            args = row.get("args", defaults.get(section))
            if args:
                out.append((name, args, row.get("rule", "same")))
    return out


@check("kwargs.ops", "keyword arguments on every elementwise op", "signatures")
def keyword_arguments(t):
    """Every elementwise op of the registry that the target has, called
    once positionally and once with each argument by name (the names
    nvFuser documents: x; lhs, rhs; the ternary ops' own)."""
    tried, refused, first = 0, [], None
    with t.FusionDefinition() as fd:
        f = t.define_input(fd, ndim=1)
        i = t.define_input(fd, ndim=1, dtype=t.DataType.Int)
        for name, args, rule in _registry():
            op = getattr(fd.ops, name, None)
            if op is None:
                continue
            operands = [i] * len(args) if rule in ("intonly", "intbool") else [f] * len(args)
            try:
                op(*operands)
            except Exception:
                continue  # not callable with these operands at all: not this row's business
            tried += 1
            try:
                op(**dict(zip(args, operands)))
            except Exception as e:
                refused.append(name)
                first = first or f"{name}({', '.join(a + '=' for a in args)}): {short(e, 90)}"
    if not tried:
        return "fail", "no elementwise op of the registry could be called"
    if refused:
        return "fail", f"{len(refused)} of {tried} refuse keywords; {first}"
    return "pass", f"all {tried} elementwise ops take their arguments by name"


@check("enums.types", "enum types are Python enums (enum.Enum)", "signatures")
def enum_types(t):
    found, bad = [], []
    for mod in t.type_homes():
        for name in dir(mod):
            cls = getattr(mod, name, None)
            if name.startswith("_") or not isinstance(cls, type) or not hasattr(cls, "__members__"):
                continue
            if cls.__name__ in {c.__name__ for c in found}:
                continue
            found.append(cls)
            if not issubclass(cls, enum.Enum):
                bad.append(cls.__name__)
    if t.DataType not in found:
        found.append(t.DataType)
        if not issubclass(t.DataType, enum.Enum):
            bad.append("DataType")
    if bad:
        return "fail", f"{len(bad)} of {len(found)} enum types are not enum.Enum: {', '.join(sorted(bad)[:8])}"
    return "pass", f"{len(found)} enum types, all enum.Enum: {', '.join(sorted(c.__name__ for c in found)[:8])}"
