#!/usr/bin/env bash
# ci/wheel.sh - the cfuser package as a user gets it (make check's wheel stage).
#
#  1. `pip install .` into a fresh venv (reusing build-wheel/tree as
#     scikit-build-core's build dir) and import it: the version prints.
#  2. `python -m build`: the sdist, then a wheel built from that sdist (so a
#     file missing from the sdist fails here); auditwheel repair bundles
#     SLEEF and libgomp and gives the manylinux tag; `auditwheel show` and the
#     size are written to build-wheel/wheel-report.txt.
#  3. The repaired wheel into another fresh venv, in an empty directory
#     outside the checkout, LD_LIBRARY_PATH empty: suites/python and
#     suites/install run against the installed package.
# The venvs see the interpreter's site-packages (numpy, torch, pytest, mypy
# from ci/setup.sh) but not the source or build tree. Ends with one line
# "N passed, N failed, N skipped". Env: PYTHON, JOBS (default 2).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
PY=$(command -v "${PYTHON:-python3}")
W=$ROOT/build-wheel
LOGS=$W/logs
export CMAKE_BUILD_PARALLEL_LEVEL=${JOBS:-2}
rm -rf "$W/dist" "$W/wheelhouse" "$LOGS"
mkdir -p "$W/dist" "$W/wheelhouse" "$LOGS"
# The venvs and the test run live outside the checkout, removed at exit.
VENVS=$(mktemp -d "${TMPDIR:-/tmp}/cfuser-wheel.XXXXXX")
trap 'rm -rf "$VENVS"' EXIT
t0=$(date +%s)
say() { echo "-- wheel: $* ($(( $(date +%s) - t0 )) s)"; }
fail() { echo "wheel: $*"; echo "0 passed, 1 failed"; exit 1; }
version=$(sed -nE 's/^#define CFUSER_VERSION "([^"]+)".*/\1/p' core/include/cfuser/cfuser.h)

# A venv outside the checkout that sees the interpreter's packages; prints its python.
new_venv() {
  "$PY" -m venv --system-site-packages "$VENVS/$1" >"$LOGS/venv-$1.log" 2>&1 || fail "venv $1: $(tail -3 "$LOGS/venv-$1.log")"
  echo "$VENVS/$1/bin/python"
}
# Import cfuser from a neutral directory and print its version and where it lies.
show_import() {
  (cd "$VENVS" && env -u PYTHONPATH LD_LIBRARY_PATH= "$1" -I -c \
    'import cfuser, importlib.metadata as m; print(cfuser.__version__, m.version("cfuser"), cfuser.__file__)')
}

say "pip install . (build dir build-wheel/tree)"
VPY=$(new_venv pip-install) || exit 1
"$VPY" -m pip install -q --no-deps --no-build-isolation --disable-pip-version-check \
  -Cbuild-dir="$W/tree" . >"$LOGS/pip-install.log" 2>&1 || { tail -30 "$LOGS/pip-install.log"; fail "pip install . failed"; }
got=$(show_import "$VPY") || fail "import after pip install . failed"
echo "$got"
[ "${got%% *}" = "$version" ] || fail "cfuser.__version__ is not the header's $version"

say "python -m build (sdist, then the wheel from it)"
"$PY" -m build --no-isolation --outdir "$W/dist" . >"$LOGS/build.log" 2>&1 \
  || { tail -30 "$LOGS/build.log"; fail "python -m build failed"; }
sdist=$(ls "$W"/dist/cfuser-*.tar.gz) && raw=$(ls "$W"/dist/cfuser-*.whl) || fail "no sdist or wheel"

say "auditwheel repair"
"$PY" -m auditwheel repair -w "$W/wheelhouse" "$raw" >"$LOGS/auditwheel.log" 2>&1 \
  || { tail -20 "$LOGS/auditwheel.log"; fail "auditwheel repair failed"; }
whl=$(ls "$W"/wheelhouse/cfuser-*.whl)
{
  echo "sdist: $(basename "$sdist") $(stat -c %s "$sdist") bytes"
  echo "wheel: $(basename "$whl") $(stat -c %s "$whl") bytes"
  "$PY" -m zipfile -l "$whl"
  "$PY" -m auditwheel show "$whl"
} >"$W/wheel-report.txt" 2>&1
grep -E '^(sdist|wheel):|platform tag' "$W/wheel-report.txt"

say "the wheel in a fresh venv, suites/python + suites/install against it"
VPY=$(new_venv wheel) || exit 1
"$VPY" -m pip install -q --no-deps --no-index --disable-pip-version-check "$whl" >"$LOGS/pip-wheel.log" 2>&1 \
  || { tail -20 "$LOGS/pip-wheel.log"; fail "installing the wheel failed"; }
show_import "$VPY" || fail "import of the installed wheel failed"
# The suites are copied out of the checkout, so nothing can import from it.
RUN=$VENVS/run
mkdir -p "$RUN" && cp -r suites/python suites/install "$RUN/"
(cd "$RUN" && env -u PYTHONPATH LD_LIBRARY_PATH= CFUSER_SOURCE_ROOT="$ROOT" \
   "$VPY" -m pytest -q -p no:cacheprovider python install --junitxml="$LOGS/pytest.xml") >"$LOGS/pytest.log" 2>&1
rc=$?
tail -8 "$LOGS/pytest.log"
read -r p f s < <("$PY" ci/junit_counts.py "$LOGS/pytest.xml")
[ "$rc" -eq 0 ] || [ "$f" -gt 0 ] || f=1
say "done"
echo "$p passed, $f failed, $s skipped"
[ "$f" -eq 0 ]
