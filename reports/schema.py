"""The shape of a run's JSON (perf/run.py) and of a baseline (a recorded
run), checked with jsonschema whenever one is read, so a bad file is one
clear error naming the file and the field, not a KeyError deep in a report.

    load_run(path) -> dict        raises RunFileError
"""
from __future__ import annotations

import json
from pathlib import Path

NUMBER_OR_NULL = {"type": ["number", "null"]}

METRIC = {
    "type": "object",
    "required": ["value", "unit", "kind"],
    "properties": {
        "value": NUMBER_OR_NULL,
        "unit": {"type": "string"},
        "kind": {"enum": ["deterministic", "ratio", "info"]},
        "better": {"enum": ["lower", "higher"]},
        "samples": {"type": "array", "items": {"type": "number"}},
        "tolerance": {"type": "number", "minimum": 0},
        "reference": {"type": "string"},
        "note": {"type": "string"},
        "target": {
            "type": "object",
            "required": ["op", "value", "text"],
            "properties": {"op": {"enum": ["<=", ">="]}, "value": {"type": "number"},
                           "text": {"type": "string"}},
        },
    },
}

RUN = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "cfuser perf run or baseline",
    "type": "object",
    "required": ["schema", "date", "commit", "machine", "machine_class", "metrics"],
    "properties": {
        "schema": {"const": 1},
        "date": {"type": "string"},
        "commit": {
            "type": "object",
            "required": ["short"],
            "properties": {"sha": {"type": "string"}, "full": {"type": "string"},
                           "short": {"type": "string"}, "dirty": {"type": "boolean"}},
        },
        "machine": {"type": "object"},
        "machine_class": {"type": "string", "minLength": 1},
        "device": {"type": "string"},
        "mode": {"type": "string"},
        "metrics": {"type": "object", "additionalProperties": METRIC},
        "curves": {"type": "object"},
        "host": {"type": "object"},
        "ab": {"type": "object"},
        "suites": {"type": "object"},
        "skipped": {"type": "array"},
        "errors": {"type": "array"},
    },
}


class RunFileError(ValueError):
    """A run or baseline file that cannot be read or does not fit RUN."""


def _check(schema, doc, where: str, what: str) -> dict:
    from jsonschema import Draft202012Validator
    errors = sorted(Draft202012Validator(schema).iter_errors(doc), key=lambda e: list(e.absolute_path))
    if errors:
        lines = []
        for e in errors[:5]:
            path = "/".join(str(p) for p in e.absolute_path) or "(top level)"
            lines.append(f"  at {path}: {e.message}")
        more = f"\n  ... and {len(errors) - 5} more" if len(errors) > 5 else ""
        raise RunFileError(f"{where} is not a valid {what}:\n" + "\n".join(lines) + more)
    return doc


def validate_run(doc, where: str = "run") -> dict:
    return _check(RUN, doc, where, "cfuser run/baseline file")


def load_run(path) -> dict:
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except OSError as e:
        raise RunFileError(f"cannot read {path}: {e.strerror or e}") from e
    except ValueError as e:
        raise RunFileError(f"{path} is not JSON: {e}") from e
    return validate_run(doc, str(Path(path)))


# --- the conformance kit's report (suites/conformance/kit.py) ------------------

CONFORMANCE_CELL = {
    "type": "object",
    "required": ["status", "evidence"],
    "properties": {
        "status": {"enum": ["pass", "fail", "crash", "skip", "info"]},
        "evidence": {"type": "string"},
        "seconds": {"type": "number", "minimum": 0},
        "signal": {"type": "string"},
    },
}

CONFORMANCE = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "binding-layer conformance report",
    "type": "object",
    "required": ["schema", "date", "device", "targets", "items", "totals"],
    "properties": {
        "schema": {"const": "cfuser-conformance/1"},
        "date": {"type": "string"},
        "host": {"type": "object"},
        "device": {"type": "string"},
        "inputs": {"type": "string"},
        "targets": {"type": "array", "minItems": 1, "items": {
            "type": "object", "required": ["name", "loaded"],
            "properties": {"name": {"type": "string", "minLength": 1}, "loaded": {"type": "boolean"},
                           "version": {"type": "string"}, "file": {"type": "string"},
                           "error": {"type": ["string", "null"]}}}},
        "items": {"type": "array", "items": {
            "type": "object", "required": ["id", "title", "group", "cells"],
            "properties": {"id": {"type": "string"}, "title": {"type": "string"}, "group": {"type": "string"},
                           "cells": {"type": "object", "additionalProperties": CONFORMANCE_CELL}}}},
        "totals": {"type": "object", "additionalProperties": {
            "type": "object", "additionalProperties": {"type": "integer", "minimum": 0}}},
    },
}


def validate_conformance(doc, where: str = "conformance report") -> dict:
    """Check a report of the conformance kit against CONFORMANCE."""
    return _check(CONFORMANCE, doc, where, "conformance report")
