"""Runs the call shapes under callgrind, one dump per measured loop.

Started by instructions.py as
    valgrind --tool=callgrind ... python3 -m perf.callgrind_driver LIB[,LIB] SHAPE[,SHAPE] N
Each loop is bracketed by _cgmark.zero() and _cgmark.dump(name), so the
figures hold only the loop: interpreter start-up, imports and set-up never
count. An empty loop of the same length is dumped as "empty" for subtraction.
"""
from __future__ import annotations

import sys
import timeit


def main(argv: list[str]) -> int:
    libs, names, number = argv[0].split(","), argv[1].split(","), int(argv[2])
    import _cgmark
    import numpy as np

    from . import shapes as S

    warm = max(10, number // 10)
    empty = timeit.Timer("pass")
    empty.timeit(warm)
    _cgmark.zero()
    empty.timeit(number)
    _cgmark.dump("empty")
    for lib in libs:
        for name in names:
            if not S.available(lib, name):
                continue
            try:
                shape = S.build(lib, name, np)
            except Exception as e:
                print(f"callgrind_driver: {lib}.{name}: {type(e).__name__}: {e}", file=sys.stderr)
                continue
            for i, timer in enumerate(shape.timers):
                timer.timeit(warm)
                if shape.reset:
                    shape.reset(shape.ns)
                _cgmark.zero()
                timer.timeit(number)
                _cgmark.dump(f"{lib}:{name}:{'main' if i == 0 else 'base'}")
                if shape.reset:
                    shape.reset(shape.ns)
            if shape.teardown:
                shape.teardown(shape.ns)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
