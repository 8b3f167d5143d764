"""The catalogue of adversarial testing: how many bad inputs, misuse
sequences and random programs a run tried, each of which had to end in a
right answer or a clear exception (never a crash, a hang or a wrong
answer).

Property-based suites count what they try with `tried(kind)`; the files
named in ADVERSARIAL count by their passed test cases. With
CFUSER_CATALOGUE=path set, the session writes the counts there as JSON
(`make check` writes reports/out/catalogue.json; the dashboard shows it).
"""

from __future__ import annotations

import collections
import json
import os

COUNTS: collections.Counter = collections.Counter()

# test file -> what its cases are
ADVERSARIAL = {
    "test_errors.py": "bad inputs (exceptions table and checks)",
    "test_reentrancy.py": "re-entrant callbacks and replaced allocators",
    "test_active_fusion.py": "guard and definition misuse",
    "test_edge_values.py": "edge values against torch",
    "test_conversion.py": "tensor conversion errors",
    "test_sequences.py": "sequence conversion",
    "test_cache_lifetime.py": "cache lifetime",
    "test_misuse_frontend.py": "front-end misuse (closed definitions, wrong types)",
}


def tried(kind: str, n: int = 1) -> None:
    COUNTS[kind] += n


def write(path: str, passed_by_file: dict, failed_by_file: dict) -> dict:
    cases = {desc: {"passed": passed_by_file.get(f, 0), "failed": failed_by_file.get(f, 0)}
             for f, desc in ADVERSARIAL.items()}
    doc = {
        "schema": "cfuser-catalogue/1",
        "cases": cases,
        "generated": dict(sorted(COUNTS.items())),
        "total_tried": sum(c["passed"] + c["failed"] for c in cases.values()) + sum(COUNTS.values()),
        "total_failed": sum(c["failed"] for c in cases.values()),
    }
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        json.dump(doc, f, indent=1)
    return doc
