#!/usr/bin/env bash
# Install what cfuser's build, tests and benchmarks need on a fresh Debian 12
# machine: Debian packages (as root, with apt-get) and the pinned Python
# packages of requirements*.txt (tests, benchmarks, wheel building). Does
# nothing that is already done.
set -euo pipefail
cd "$(dirname "$0")/.."

DEB_PKGS=(cmake pkg-config python3-venv libcriterion-dev libsleef-dev libomp-14-dev valgrind hyperfine clang clang-tidy
          cppcheck libclang-rt-14-dev chromium python3.11-dbg binutils)
missing=()
for p in "${DEB_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# cmake may come from pip instead of Debian; only ask apt for it when absent.
if command -v cmake >/dev/null 2>&1; then
  missing=("${missing[@]/cmake}")
fi
missing=($(printf '%s\n' "${missing[@]}" | grep -v '^$' || true))
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: need root to install ${missing[*]}" >&2; exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

PY=${PYTHON:-python3}
REQS=(requirements.txt requirements-bench.txt requirements-build.txt)
if ! "$PY" - "${REQS[@]}" <<'PYEOF'
import sys
from importlib import metadata
bad = []
for line in (l for f in sys.argv[1:] for l in open(f)):
    line = line.split("#")[0].strip()
    if not line:
        continue
    name, ver = line.split("==")
    try:
        have = metadata.version(name)
    except metadata.PackageNotFoundError:
        bad.append(line); continue
    if have.split("+")[0] != ver:
        bad.append(line)
sys.exit(1 if bad else 0)
PYEOF
then
  echo "setup: installing pinned Python packages"
  "$PY" -m pip install -q --disable-pip-version-check "${REQS[@]/#/-r}"
fi
echo "setup: done"
