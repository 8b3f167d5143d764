#!/usr/bin/env bash
# ci/nvfuser_fetch.sh - run on a machine that reaches PyPI: fetch NVIDIA's
# nvFuser wheel (nvfuser_direct) for the GPU machine's Python 3.12, so the
# conformance kit can check it there (ci/gpu.sh, stage "conformance").
#
#   bash ci/nvfuser_fetch.sh [VERSION]     (default 0.2.36.dev20260301, "0.2.36")
#
# Leaves, under .nvfuser/ (gitignored):
#   wheel/      the wheel as downloaded (80 MB)
#   tree/       the wheel unpacked, without its bundled NVRTC (109 MB) and
#               C++ headers: what runs; here for nm/c++filt
#   carry/nvfuser-tree.tar.xz
#               tree/ packed (about 25 MB: what travels to the GPU machine,
#               whose transfer is limited to 64 MiB; the unpacked tree is
#               130 MB), and carry/NVRTC_NAME, the bundled NVRTC's file name
#               that ci/nvfuser/setup.sh links to the toolkit's libnvrtc.so.13
# and prints the c10 symbols the wheel needs that this machine's torch lacks.
set -euo pipefail
cd "$(dirname "$0")/.."
version=${1:-0.2.36.dev20260301}
dist=nvfuser-cu130-torch210
out=.nvfuser
py=$(command -v "${PYTHON:-python3}")
mkdir -p "$out/wheel" "$out/carry"
rm -f "$out"/wheel/*.whl
"$py" -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
  --platform manylinux2014_x86_64 -d "$out/wheel" "$dist==$version" >"$out/wheel/pip.log" 2>&1 \
  || { tail -5 "$out/wheel/pip.log"; exit 1; }
whl=$(ls "$out"/wheel/*.whl)
echo "nvfuser_fetch: $whl ($(du -m "$whl" | cut -f1) MB)"
rm -rf "$out/tree"
mkdir -p "$out/tree"
unzip -q "$whl" -d "$out/tree"
nvrtc=$(cd "$out/tree" && ls ./*.libs/libnvrtc-*.so* | head -1)
[ -n "$nvrtc" ] || { echo "nvfuser_fetch: no bundled NVRTC in the wheel"; exit 1; }
basename "$nvrtc" >"$out/carry/NVRTC_NAME"
rm -f "$out/tree/$nvrtc"
rm -rf "$out/tree/nvfuser_common/include"
echo "nvfuser_fetch: left out $(basename "$nvrtc") and nvfuser_common/include; tree $(du -sm "$out/tree" | cut -f1) MB"
tar -C "$out/tree" -cf - . | xz -T2 -6 >"$out/carry/nvfuser-tree.tar.xz"
echo "nvfuser_fetch: $out/carry/nvfuser-tree.tar.xz $(du -m "$out/carry/nvfuser-tree.tar.xz" | cut -f1) MB"

# The c10 constructor that changed between torch 2.10 and 2.11, as the
# wheel needs it and as this machine's torch defines it.
echo "nvfuser_fetch: c10::MessageLogger symbols the wheel needs:"
for so in "$out"/tree/nvfuser_common/lib/*.so "$out"/tree/nvfuser_direct/*.so; do
  nm -D --undefined-only "$so" | awk '/MessageLogger/ {print "  " $2}' | while read -r s; do
    echo "  $s  $(echo "$s" | c++filt)  ($(basename "$so"))"; done
done
c10=$("$py" -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib", "libc10.so"))' 2>/dev/null || true)
if [ -f "$c10" ]; then
  echo "nvfuser_fetch: defined by this machine's $c10:"
  nm -D --defined-only "$c10" | awk '/MessageLoggerC[12]/ {print $3}' | while read -r s; do echo "  $s  $(echo "$s" | c++filt)"; done
fi
