"""Generate every op-dependent source from the op registry (core/ops/ops.toml).

    python3 opgen.py ops.toml --outdir DIR   # the C sources (CMake runs this)
    python3 opgen.py ops.toml --stub         # bindings/cfuser/ops.pyi on stdout

Outputs under DIR, each rewritten only when its text changes:
  include/cfuser/op_table.h  opcode list and the X-macro lists by kind
  ops_registry.c             names, categories, kinds, arities, flags, infixes
  cpu_float.inc, cpu_int.inc cases of the CPU engine's float and int64 loops
  cuda_text.inc              the CUDA code generator's expression templates
  ops_args.h                 argument-name arrays of the Python entries
  ops_defs.inc               generated Python entries and the method table

The table is read with tomllib and signatures with ast (both standard
library): the registry is data, and a signature is parsed as Python parses it.
"""

from __future__ import annotations

import argparse
import ast
import os
import re
import sys
import tomllib
from dataclasses import dataclass, field

SECTIONS = ("unary", "binary", "ternary", "reduction", "convert", "shape", "creation", "scan", "program")
RULES = ("same", "float", "pred", "intbool", "intonly", "floatonly", "other")
FLAGS = ("elementwise", "reduction", "shape", "indexing", "own_segment", "random", "internal")
FIELDS = {
    "rule", "doc", "args", "strict", "sig", "ret", "params", "returns", "ex", "impl", "flags",
    "infix", "cpu", "cpu_int", "cuda", "cuda_int", "cuda_bool", "print",
}
# Where the Python printer (bindings/cfuser/_printer.py) finds each argument
# of an op's call in the fusion's IR; derived from the signature unless the
# row's "print" field names it (see gen_print_specs).
PRINT_SOURCES = (
    "operand",        # the next input value of the expression
    "ints",           # the expression's integer attribute list
    "int",            # its first integer attribute (a dim)
    "flags",          # the integer attribute list as booleans
    "flag_dims",      # the dims whose flag is set in the attribute list
    "keepdim", "dtype", "correction",  # the attribute of that name
    "cast_dtype",     # the dtype of the cast the op made of its first operand
                      # (none: the input's dtype when the result keeps it)
    "extents",        # the output's extents (a shape argument)
    "extents_infer",  # the output's extents, -1 at the dim the op inferred (ints[0])
    "extents_keep",   # the output's extents, -1 where the input's extent is kept
    "none",           # not in the IR: the op never appears in a fusion (size, composites)
    "operand_opt",    # the next input value if the expression has one left, else the default
    "flag1", "flag2", # the second / third integer attribute, as a bool
    "default",        # not kept in the IR node, printed as its default: embedding_fwd's
                      # training-only arguments, and max_norm/norm_type, whose
                      # renormalisation is made of ops that print on their own
    "operands",       # every remaining input value of the expression, as a list (cat)
    # ops that make one node per dim they move (ops_movement.c): a run of such
    # nodes chained one into the next is printed as one call; a dim without a
    # node is written as the call's "leave it whole" value
    "dim_starts",     # per dim: the node's first operand after the tensor, else 0 (slice)
    "dim_ends",       # per dim: the node's second operand after the tensor, else the extent
    "dim_steps",      # per dim: the node's ints[1], else 1 (None when every one is 1)
    "dim_widths",     # (before, after) per dim, last dim first: the node's two operands
                      # after the tensor, else 0 (pad)
)
SECTION_FLAGS = {
    "unary": ["elementwise"],
    "binary": ["elementwise"],
    "ternary": ["elementwise"],
    "reduction": ["reduction"],
    "convert": ["elementwise"],
    "shape": ["shape"],
    "creation": [],
    "scan": [],
    "program": ["internal"],
}
# numpydoc types of elementwise operands
OPERAND_DOC = "TensorView, Scalar or number"
VALUE_DOC = "TensorView or Scalar"
STUB_WIDTH = 100


@dataclass
class Param:
    name: str
    annotation: str = ""
    default: str | None = None
    kwonly: bool = False


@dataclass
class Op:
    name: str
    section: str
    rule: str
    doc: str
    flags: list[str]
    entry: dict
    params: list[Param] = field(default_factory=list)
    sigs: list[tuple[list[Param], str]] = field(default_factory=list)

    @property
    def enum(self) -> str:
        return "CF_OP_" + self.name.upper()

    @property
    def elementwise_entry(self) -> bool:
        """A Python entry generated around pointwise()."""
        return self.section in ("unary", "binary", "ternary")

    @property
    def python(self) -> bool:
        return self.section != "program"

    @property
    def arity(self) -> int:
        return len(self.params) if self.elementwise_entry or self.section == "convert" else 0


class TableError(Exception):
    pass


def _parse_sig(name: str, sig: str, ret: str) -> list[Param]:
    try:
        fn = ast.parse(f"def {name}({sig}) -> {ret}: ...").body[0]
    except SyntaxError as e:
        raise TableError(f"{name}: bad signature {sig!r}: {e}") from None
    assert isinstance(fn, ast.FunctionDef)
    a = fn.args
    if a.vararg or a.kwarg or a.posonlyargs:
        raise TableError(f"{name}: *args, **kwargs and positional-only arguments are not supported")
    out = []
    pos_defaults = [None] * (len(a.args) - len(a.defaults)) + list(a.defaults)
    for arg, d in zip(a.args, pos_defaults):
        out.append(Param(arg.arg, ast.unparse(arg.annotation) if arg.annotation else "",
                         ast.unparse(d) if d is not None else None))
    for arg, d in zip(a.kwonlyargs, a.kw_defaults):
        out.append(Param(arg.arg, ast.unparse(arg.annotation) if arg.annotation else "",
                         ast.unparse(d) if d is not None else None, kwonly=True))
    return out


def load(path: str) -> list[Op]:
    with open(path, "rb") as fh:
        table = tomllib.load(fh)
    unknown = set(table) - set(SECTIONS)
    if unknown:
        raise TableError(f"unknown sections {sorted(unknown)}; known: {SECTIONS}")
    ops: list[Op] = []
    seen: set[str] = set()
    for section in SECTIONS:
        for name, e in table.get(section, {}).items():
            if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
                raise TableError(f"{name}: op names are lower-case identifiers")
            if name in seen:
                raise TableError(f"{name}: listed twice")
            seen.add(name)
            bad = set(e) - FIELDS
            if bad:
                raise TableError(f"{name}: unknown fields {sorted(bad)}")
            rule = e.get("rule", "other")
            if rule not in RULES:
                raise TableError(f"{name}: rule {rule!r} is not one of {RULES}")
            if "doc" not in e:
                raise TableError(f"{name}: no doc")
            flags = list(dict.fromkeys(SECTION_FLAGS[section] + list(e.get("flags", []))))
            for f in flags:
                if f not in FLAGS:
                    raise TableError(f"{name}: unknown flag {f!r}")
            op = Op(name, section, rule, e["doc"], flags, e)
            if section in ("unary", "binary", "ternary"):
                default = {"unary": ["x"], "binary": ["lhs", "rhs"]}.get(section)
                names = e.get("args", default)
                if not names:
                    raise TableError(f"{name}: a ternary op names its args")
                if section == "unary" and len(names) != 1 or section == "binary" and len(names) != 2:
                    raise TableError(f"{name}: a {section} op takes {1 if section == 'unary' else 2} args")
                op.params = [Param(n) for n in names]
            elif section != "program":
                sigs = e.get("sig")
                rets = e.get("ret")
                if sigs is None or rets is None:
                    raise TableError(f"{name}: needs sig and ret")
                if isinstance(sigs, str):
                    sigs, rets = [sigs], [rets]
                if len(sigs) != len(rets):
                    raise TableError(f"{name}: one ret per sig")
                op.sigs = [(_parse_sig(name, s, r), r) for s, r in zip(sigs, rets)]
                op.params = op.sigs[0][0]
                for ps, _ in op.sigs[1:]:
                    if [p.name for p in ps] != [p.name for p in op.params]:
                        raise TableError(f"{name}: overloads must keep the argument names")
            elif "args" in e:
                op.params = [Param(n) for n in e["args"]]
            for arg, src in e.get("print", {}).items():
                if arg not in [p.name for p in op.params]:
                    raise TableError(f"{name}: print names {arg!r}, which is not an argument")
                if src not in PRINT_SOURCES:
                    raise TableError(f"{name}: print source {src!r} is not one of {PRINT_SOURCES}")
            for k in ("cpu", "cpu_int", "cuda", "cuda_int", "cuda_bool"):
                if k in e and "elementwise" not in flags and section != "program":
                    raise TableError(f"{name}: {k} text belongs to elementwise ops")
            ops.append(op)
    impls: dict[str, list[str]] = {}
    for op in ops:
        if "impl" in op.entry:
            impls.setdefault(op.entry["impl"], []).append(op.name)
    for impl, names in impls.items():
        first = next(o for o in ops if o.name == names[0])
        for n in names[1:]:
            o = next(o for o in ops if o.name == n)
            if [(p.name, p.default) for p in o.params] != [(p.name, p.default) for p in first.params]:
                raise TableError(f"{n}: ops sharing impl {impl!r} take the same arguments as {names[0]}")
    return ops


# --- C helpers ----------------------------------------------------------------------


def cstr(s: str, indent: str = "    ") -> str:
    """s as adjacent C string literals, one per line of s."""
    def esc(part: str) -> str:
        return part.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    lines = s.splitlines(keepends=True) or [""]
    return ("\n" + indent).join(f'"{esc(line)}"' for line in lines)


HEADER = "/* Generated by core/ops/opgen.py from core/ops/ops.toml: edit the table, not this file. */\n"


def gen_op_table_h(ops: list[Op]) -> str:
    out = [HEADER, "#ifndef CFUSER_OP_TABLE_H\n#define CFUSER_OP_TABLE_H\n\n"]
    out.append("/* Every op in opcode order: X(name, ENUM) */\n#define CF_OPCODES(X) \\\n")
    out += [f"    X({o.name}, {o.name.upper()}) \\\n" for o in ops]
    out.append("\n")
    lists = {
        "CF_UNARY_OPS": "unary",
        "CF_BINARY_OPS": "binary",
        "CF_TERNARY_OPS": "ternary",
        "CF_REDUCTION_OPS": "reduction",
    }
    for macro, section in lists.items():
        out.append(f"/* {section} ops: X(name, ENUM, CATEGORY) */\n#define {macro}(X) \\\n")
        out += [f"    X({o.name}, {o.name.upper()}, {o.rule.upper()}) \\\n" for o in ops if o.section == section]
        out.append("\n")
    out.append("#endif\n")
    return "".join(out)


def gen_registry_c(ops: list[Op]) -> str:
    out = [HEADER, '#include "cfuser/ops.h"\n\n']
    out.append("static const char *const op_names[CF_OP_COUNT] = {\n    [CF_OP_NONE] = \"none\",\n")
    out += [f'    [{o.enum}] = "{o.name}",\n' for o in ops]
    out.append("};\n\n")
    out.append("static const unsigned char op_cats[CF_OP_COUNT] = {\n    [CF_OP_NONE] = CF_CAT_OTHER,\n")
    out += [f"    [{o.enum}] = CF_CAT_{o.rule.upper()},\n" for o in ops]
    out.append("};\n\n")
    out.append("static const unsigned char op_kinds[CF_OP_COUNT] = {\n")
    out += [f"    [{o.enum}] = CF_KIND_{o.section.upper()},\n" for o in ops]
    out.append("};\n\n")
    out.append("static const unsigned char op_arity[CF_OP_COUNT] = {\n")
    out += [f"    [{o.enum}] = {o.arity},\n" for o in ops if o.arity]
    out.append("};\n\n")
    out.append("static const unsigned short op_flags[CF_OP_COUNT] = {\n")
    for o in ops:
        fl = [f"CF_OPF_{f.upper()}" for f in o.flags] + (["CF_OPF_PYTHON"] if o.python else [])
        out.append(f"    [{o.enum}] = {' | '.join(fl) if fl else '0'},\n")
    out.append("};\n\n")
    out.append("static const char *const op_infix[CF_OP_COUNT] = {\n")
    out += [f'    [{o.enum}] = "{o.entry["infix"]}",\n' for o in ops if "infix" in o.entry]
    out.append("};\n\n")
    out.append(
        "static int valid(cf_opcode op) { return (unsigned)op < (unsigned)CF_OP_COUNT; }\n\n"
        "const char *cf_op_name(cf_opcode op) { return valid(op) ? op_names[op] : NULL; }\n"
        "cf_op_category cf_op_category_of(cf_opcode op)\n"
        "{\n    return valid(op) ? (cf_op_category)op_cats[op] : CF_CAT_OTHER;\n}\n"
        "cf_op_kind cf_op_kind_of(cf_opcode op) { return valid(op) ? (cf_op_kind)op_kinds[op] : CF_KIND_NONE; }\n"
        "int cf_op_arity(cf_opcode op) { return valid(op) ? op_arity[op] : 0; }\n"
        "unsigned cf_op_flags(cf_opcode op) { return valid(op) ? op_flags[op] : 0u; }\n"
        "const char *cf_op_infix(cf_opcode op) { return valid(op) ? op_infix[op] : NULL; }\n"
    )
    return "".join(out)


def _cpu_stmt(text: str) -> str:
    text = text.strip()
    return text if text.endswith(";") or text.endswith(")") else text + ";"


def gen_cpu_inc(ops: list[Op], key: str) -> str:
    """Cases of a kernel's switch; ops with the same loop share it."""
    groups: dict[str, list[str]] = {}
    for o in ops:
        if key in o.entry:
            groups.setdefault(_cpu_stmt(o.entry[key]), []).append(o.enum)
    out = [HEADER]
    for stmt, enums in groups.items():
        out.append("".join(f"case {e}:\n" for e in enums[:-1]) + f"case {enums[-1]}: {stmt} break;\n")
    return "".join(out)


def _cuda_template(name: str, tmpl: str) -> str:
    """{0}..{3}, {T}, {f} as the $0..$3, $T, $f codes cf_cg_op_text expands."""
    if "$" in tmpl:
        raise TableError(f"{name}: '$' is reserved in CUDA text")

    def sub(m: re.Match) -> str:
        k = m.group(1)
        if k not in ("0", "1", "2", "3", "T", "f"):
            raise TableError(f"{name}: unknown placeholder {{{k}}} in {tmpl!r}")
        return "$" + k

    return re.sub(r"\{(\w+)\}", sub, tmpl)


def gen_cuda_inc(ops: list[Op]) -> str:
    """The CUDA expression templates as one string blob (each template once)
    and offsets into it, plus one: cg_off[op][0] Float/Double, [1] Int/Int32,
    [2] Bool; 0 where the op has none (no pointers: nothing to relocate)."""
    blob: dict[str, int] = {}
    size = 0
    rows = []
    for o in ops:
        e = o.entry
        if not any(k in e for k in ("cuda", "cuda_int", "cuda_bool")):
            continue
        fl = e.get("cuda")
        it = e.get("cuda_int", fl)
        bo = e.get("cuda_bool", it)
        cells = []
        for t in (fl, it, bo):
            if t is None:
                cells.append("0")
                continue
            t = _cuda_template(o.name, t)
            if t not in blob:
                blob[t] = size
                size += len(t.encode()) + 1
            cells.append(str(blob[t] + 1))
        rows.append(f"    [{o.enum}] = {{{', '.join(cells)}}},\n")
    if size >= 0xFFFF:
        raise TableError("the CUDA templates outgrew 64 KiB")
    out = [HEADER, "static const char cg_text[] =\n"]
    out += [f'    "{t}\\0"\n' for t in blob]
    out.append("    ;\n")
    out.append("static const unsigned short cg_off[CF_OP_COUNT][3] = {\n")
    out += rows
    out.append("};\n")
    return "".join(out)


# --- Python entries -----------------------------------------------------------------


def text_signature(op: Op) -> str:
    parts = []
    star = False
    for p in op.params:
        if p.kwonly and not star:
            parts.append("*")
            star = True
        parts.append(p.name if p.default is None else f"{p.name}={p.default}")
    return f"{op.name}({', '.join(parts)})"


def example(op: Op) -> str:
    if "ex" in op.entry:
        return op.entry["ex"]
    ints = op.rule in ("intonly", "intbool")
    names = ["i0", "i1"] if ints else ["t0", "t1"]
    return f"fd.ops.{op.name}({', '.join(names[: len(op.params)])})"


def docstring(op: Op) -> str:
    descs = op.entry.get("params", {})
    for k in descs:
        if k not in [p.name for p in op.params]:
            raise TableError(f"{op.name}: params names {k!r}, which is not an argument")
    lines = [text_signature(op), "--", "", op.doc, "", "Parameters", "----------"]
    for i, p in enumerate(op.params):
        if op.elementwise_entry:
            strict = op.section == "unary" or (i == 0 and op.entry.get("strict"))
            ty = VALUE_DOC if strict else OPERAND_DOC
        else:
            types = [ps[i].annotation for ps, _ in op.sigs]
            ty = " or ".join(dict.fromkeys(types))
            if p.default is not None:
                ty += ", optional"
        lines.append(f"{p.name} : {ty}")
        if p.name in descs:
            lines.append("    " + descs[p.name])
    lines += ["", "Returns", "-------"]
    if op.elementwise_entry:
        lines.append("TensorView or Scalar")
    else:
        lines.append(" or ".join(dict.fromkeys(r for _, r in op.sigs)))
    if "returns" in op.entry:
        lines.append("    " + op.entry["returns"])
    lines += ["", "Examples", "--------", ">>> " + example(op), ""]
    return "\n".join(lines)


def _args_array_name(names: list[str]) -> str:
    return "cfb_args_" + "_".join(names)


def gen_ops_args_h(ops: list[Op]) -> str:
    out = [HEADER, "/* Argument names of the Python entries; CFB_ARGS(op) gives cfb_parse's\n"
           " * names, nnames, npos, nreq. */\n#ifndef CFB_OPS_ARGS_H\n#define CFB_OPS_ARGS_H\n\n"]
    arrays: dict[str, list[str]] = {}
    for o in ops:
        if o.python:
            names = [p.name for p in o.params]
            arrays.setdefault(_args_array_name(names), names)
    for arr, names in arrays.items():
        out.append(f"static const char *const {arr}[] = {{{', '.join(chr(34) + n + chr(34) for n in names)}}};\n")
    out.append("\n#define CFB_ARGS(op) CFB_NAMES_##op, CFB_NARGS_##op, CFB_NPOS_##op, CFB_NREQ_##op\n")
    for o in ops:
        if not o.python:
            continue
        n = len(o.params)
        npos = sum(1 for p in o.params if not p.kwonly)
        nreq = sum(1 for p in o.params if p.default is None)
        out.append(f"#define CFB_NAMES_{o.name} {_args_array_name([p.name for p in o.params])}\n"
                   f"#define CFB_NARGS_{o.name} {n}\n#define CFB_NPOS_{o.name} {npos}\n#define CFB_NREQ_{o.name} {nreq}\n")
    out.append("\n#endif\n")
    return "".join(out)


def gen_ops_defs_inc(ops: list[Op]) -> str:
    out = [HEADER, "/* Included by bindings/src/ops.c after pointwise() and the hand-written\n"
           " * entries: the generated entries, then the table of cfuser._C.ops. */\n\n"]
    sig = "(PyObject *m, PyObject *const *a, Py_ssize_t n, PyObject *k)"
    for o in ops:
        if not o.python:
            continue
        if o.elementwise_entry:
            out.append(f"static PyObject *op_{o.name}{sig}\n{{\n    return pointwise(m, {o.enum}, "
                       f"CFB_NAMES_{o.name}, {len(o.params)}, a, n, k);\n}}\n")
        elif "impl" in o.entry:
            out.append(f"static PyObject *op_{o.name}{sig}\n{{\n    return {o.entry['impl']}(m, {o.enum}, a, n, k);\n}}\n")
    out.append("\nstatic PyMethodDef op_defs[] = {\n")
    for o in ops:
        if o.python:
            out.append(f'    {{"{o.name}", (PyCFunction)(void (*)(void))op_{o.name}, METH_FASTCALL | METH_KEYWORDS,\n'
                       f"     {cstr(docstring(o), '     ')}}},\n")
    out.append("    {NULL, NULL, 0, NULL},\n};\n")
    out.append("\n/* Where the Python printer finds each op's arguments (JSON). */\n")
    out.append(f"static const char cfb_op_print_specs[] =\n    {cstr(gen_print_specs(ops))};\n")
    return "".join(out)


def _print_source(op: Op, p: Param) -> str:
    """Where the printer finds argument p of op in a fusion's IR."""
    given = op.entry.get("print", {})
    if p.name in given:
        return str(given[p.name])
    if op.elementwise_entry:
        return "operand"
    ann = " | ".join(dict.fromkeys(ps[[q.name for q in ps].index(p.name)].annotation for ps, _ in op.sigs))
    if p.name in ("keepdim", "dtype", "correction"):
        return p.name
    if ann.startswith("Sequence[") and "Scalar" in ann:
        return "extents"
    if ann == "Sequence[bool]":
        return "flags"
    if ann == "Sequence[int]":
        return "ints"
    if ann == "int":
        return "int"
    if "TensorView" in ann or "Scalar" in ann:
        return "operand"
    return "none"


def _takes_number(op: Op, i: int) -> bool:
    """Whether argument i may be a Python number (then the printer may write
    a constant as a literal there)."""
    if op.elementwise_entry:
        return not (op.section == "unary" or (i == 0 and op.entry.get("strict")))
    anns = [ps[i].annotation for ps, _ in op.sigs]
    return all(re.search(r"\b(int|float|bool)\b", a.split("[")[0] if a.startswith("Sequence") else a)
               or a.startswith("Sequence[") for a in anns)


def gen_print_specs(ops: list[Op]) -> str:
    """JSON: {op: [[arg, source, default or null, kwonly, takes a number], ...]} for every op
    with a Python entry; cfuser's printer reads it as _C._op_print_specs."""
    import json

    specs = {o.name: [[p.name, _print_source(o, p), p.default, p.kwonly, _takes_number(o, i)]
                      for i, p in enumerate(o.params)]
             for o in ops if o.python}
    return json.dumps(specs, separators=(",", ":"), sort_keys=False)


# --- the stub ----------------------------------------------------------------------

STUB_HEAD = '''"""Type stubs for cfuser.ops: the ops of a fusion (nvFuser's names), also reached as ``fd.ops``.

Generated by core/ops/opgen.py from core/ops/ops.toml (a test checks that
this file matches): edit the table, not this file.

Elementwise ops return a TensorView when any operand is a TensorView and a
Scalar when every operand is a Scalar or a Python number. Unary ops take a
TensorView or a Scalar; the other elementwise operands also take Python
numbers (bool, int, float), which become constants of the fusion.
"""

from collections.abc import Sequence
from typing import TypeAlias, overload

from cfuser._C import DataType, Scalar, TensorView

# An elementwise operand that also takes a Python number.
_Operand: TypeAlias = TensorView | Scalar | float | int | bool
# An elementwise operand known not to be a TensorView.
_ScalarOperand: TypeAlias = Scalar | float | int | bool
# An elementwise operand that must be a fusion value.
_TensorOperand: TypeAlias = TensorView | Scalar
'''


def _def(name: str, params: list[tuple[str, str, str | None]], ret: str, kwonly_from: int | None = None) -> str:
    parts = []
    for i, (n, ann, d) in enumerate(params):
        if kwonly_from is not None and i == kwonly_from:
            parts.append("*")
        parts.append(f"{n}: {ann}" + (f" = {d}" if d is not None else ""))
    one = f"def {name}({', '.join(parts)}) -> {ret}: ..."
    if len(one) <= STUB_WIDTH:
        return one
    mid = "    " + ", ".join(parts)
    if len(mid) <= STUB_WIDTH:
        return f"def {name}(\n{mid}\n) -> {ret}: ..."
    return f"def {name}(\n" + "".join(f"    {p},\n" for p in parts) + f") -> {ret}: ..."


def _elementwise_overloads(op: Op) -> list[str]:
    names = [p.name for p in op.params]
    strict = op.section == "unary" or bool(op.entry.get("strict"))
    if op.section == "unary":
        return [_def(op.name, [(names[0], "TensorView", None)], "TensorView"),
                _def(op.name, [(names[0], "Scalar", None)], "Scalar")]
    defs = []
    for i in range(len(names)):
        ps = []
        for j, n in enumerate(names):
            ann = "TensorView" if j == i else ("_TensorOperand" if strict and j == 0 and op.section == "ternary" else "_Operand")
            ps.append((n, ann, None))
        defs.append(_def(op.name, ps, "TensorView"))
    if op.section == "ternary" and strict:
        last = [(names[0], "Scalar", None)] + [(n, "_ScalarOperand", None) for n in names[1:]]
    else:
        last = [(n, "_ScalarOperand", None) for n in names]
    defs.append(_def(op.name, last, "Scalar"))
    return defs


def gen_stub(ops: list[Op]) -> str:
    pyops = sorted((o for o in ops if o.python), key=lambda o: o.name)
    out = [STUB_HEAD, "\n__all__ = [\n"] + [f'    "{o.name}",\n' for o in pyops] + ["]\n\n"]
    for o in pyops:
        if o.elementwise_entry:
            defs = _elementwise_overloads(o)
        else:
            defs = []
            for ps, ret in o.sigs:
                kw = next((i for i, p in enumerate(ps) if p.kwonly), None)
                defs.append(_def(o.name, [(p.name, p.annotation, p.default) for p in ps], ret, kw))
        for d in defs:
            if len(defs) > 1:
                out.append("@overload\n")
            out.append(d + "\n")
    return "".join(out)


def write_if_changed(path: str, text: str) -> None:
    try:
        with open(path, encoding="utf-8") as fh:
            if fh.read() == text:
                return
    except FileNotFoundError:
        pass
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)


def generate(ops: list[Op], outdir: str) -> None:
    files = {
        "include/cfuser/op_table.h": gen_op_table_h(ops),
        "ops_registry.c": gen_registry_c(ops),
        "cpu_float.inc": gen_cpu_inc(ops, "cpu"),
        "cpu_int.inc": gen_cpu_inc(ops, "cpu_int"),
        "cuda_text.inc": gen_cuda_inc(ops),
        "ops_args.h": gen_ops_args_h(ops),
        "ops_defs.inc": gen_ops_defs_inc(ops),
    }
    for rel, text in files.items():
        write_if_changed(os.path.join(outdir, rel), text)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("table")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--outdir", help="write the generated C sources here")
    g.add_argument("--stub", action="store_true", help="print ops.pyi")
    args = p.parse_args(argv)
    try:
        ops = load(args.table)
        if args.stub:
            sys.stdout.write(gen_stub(ops))
        else:
            generate(ops, args.outdir)
    except TableError as e:
        print(f"{args.table}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
