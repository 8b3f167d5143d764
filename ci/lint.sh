#!/usr/bin/env bash
# Static checks with the checked-in configurations: clang-tidy (.clang-tidy)
# over core and the bindings, cppcheck (.cppcheck-suppressions) over core.
# Needs a compile database: the release build's (build/compile_commands.json).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
extra=()
[ "${1:-}" = "--analyzer" ] && extra=(--checks='clang-analyzer-*' --warnings-as-errors='')
echo "lint: clang-tidy"
files=$(ls core/src/*.c core/src/ir/*.c core/src/cpu/*.c core/src/cuda/*.c bindings/src/*.c)
# shellcheck disable=SC2086
echo $files | xargs -n 6 -P "$(nproc)" clang-tidy -p "$BUILD" --quiet "${extra[@]}" 2>&1 \
  | grep -vE '^[0-9]+ warnings? generated|^Suppressed|^Use -header-filter' | tee reports/out/clang-tidy.log || true
if grep -qE '(warning|error):' reports/out/clang-tidy.log; then
  echo "lint: clang-tidy found problems"; exit 1
fi
echo "lint: cppcheck"
# the op registry's generated headers (core/ops/opgen.py) live in the build
cppcheck -q --enable=warning,portability --error-exitcode=1 --inline-suppr --std=c11 \
  -I core/include -I core/src -I "$BUILD/gen/include" -I "$BUILD/gen" --suppressions-list=.cppcheck-suppressions core/src
echo "lint: clean"
