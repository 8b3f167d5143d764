#!/usr/bin/env bash
# ci/nvfuser/gpu_stage.sh PYTHON RESULTS BUILD - ci/gpu.sh's stage
# "conformance": the conformance kit (suites/conformance) against cfuser (as
# PYTHON imports it) and NVIDIA's nvFuser (nvfuser_direct, carried by
# ci/nvfuser_fetch.sh and set up by ci/nvfuser/setup.sh), on CUDA tensors;
# prints the table and writes RESULTS/conformance.json. When nvFuser cannot
# be set up or imported, its column says why. The embedded runner for the
# lifecycle row is built in BUILD/conformance (the row is skipped without it).
set -uo pipefail
py=${1:?python} res=${2:?results dir} build=${3:?build dir}
root=$(cd "$(dirname "$0")/../.." && pwd)
log=$res/conformance_log.txt
: >"$log"
if cmake -S "$root" -B "$build/conformance" -DCMAKE_BUILD_TYPE=Release -DPython3_EXECUTABLE="$(command -v python3)" \
     -DCFUSER_BUILD_TESTS=OFF -DCFUSER_BUILD_HARNESS=ON -DCFUSER_CUDA=ON >>"$log" 2>&1 \
   && cmake --build "$build/conformance" -j"$(nproc)" --target cfharness_cli >>"$log" 2>&1; then
  export CFUSER_CONFORMANCE_HARNESS=$build/conformance/harness/cfharness
else
  echo "conformance: the embedded runner did not build (the lifecycle row is skipped; see $log)"
fi
extra=()
if msg=$(bash "$root/ci/nvfuser/setup.sh" "$build/nvfuser" 2>&1); then
  echo "$msg"
  # shellcheck disable=SC1091
  source "$build/nvfuser/env.sh"
  imp=$("$py" -c 'import nvfuser_direct; print(nvfuser_direct.__version__)' 2>&1 | tail -3)
  echo "conformance: import nvfuser_direct: $imp"
else
  echo "conformance: $msg"
  extra=(--unavailable "nvfuser_direct=${msg//$'\n'/ }")
fi
cd "$root" && "$py" suites/conformance/kit.py --target nvfuser_direct --target cfuser "${extra[@]}" \
  --cycles cfuser="${CFUSER_CONFORMANCE_CYCLES:-1000}" --cycles nvfuser_direct="${NVFUSER_CONFORMANCE_CYCLES:-10}" \
  --json "$res/conformance.json" 2>>"$log"
