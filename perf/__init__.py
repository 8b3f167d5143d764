"""cfuser's benchmarks: binary size, import time, call overhead, instruction
counts, kernel throughput and memory, written as one JSON document per run.

Entry point: ``python3 -m perf.run --help``.
"""
