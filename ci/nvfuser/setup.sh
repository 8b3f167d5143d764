#!/usr/bin/env bash
# ci/nvfuser/setup.sh DEST - on the GPU machine: make NVIDIA's nvFuser wheel,
# as ci/nvfuser_fetch.sh packed it (.nvfuser/carry), importable with this
# machine's torch. Unpacks it into DEST/site, links the bundled NVRTC's file
# name to the toolkit's libnvrtc.so.13, builds the MessageLogger shim
# (message_logger_shim.cpp) with g++, and writes DEST/env.sh (PYTHONPATH,
# LD_LIBRARY_PATH, LD_PRELOAD) to source. Exit status 1 with the reason on
# stdout when something is missing: the caller reports it.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
dest=${1:?usage: setup.sh DEST}
carry=${NVFUSER_CARRY:-$root/.nvfuser/carry}
py=$(command -v "${PYTHON:-python3}")
[ -f "$carry/nvfuser-tree.tar.xz" ] || { echo "nvFuser not carried: no $carry/nvfuser-tree.tar.xz (run ci/nvfuser_fetch.sh on a machine with PyPI, carry .nvfuser/carry)"; exit 1; }
rm -rf "$dest" && mkdir -p "$dest/site" || exit 1
tar -C "$dest/site" -xJf "$carry/nvfuser-tree.tar.xz" || { echo "nvFuser: cannot unpack $carry/nvfuser-tree.tar.xz"; exit 1; }
name=$(cat "$carry/NVRTC_NAME")
nvrtc=""
for cand in $(ldconfig -p 2>/dev/null | awk '/libnvrtc\.so\.13 / {print $NF}') \
            "${CUDA_HOME:-/usr/local/cuda}"/lib64/libnvrtc.so.13 /usr/local/cuda/lib64/libnvrtc.so.13 \
            $("$py" -c 'import glob, nvidia; [print(p) for d in nvidia.__path__ for p in glob.glob(d + "/cu13/lib/libnvrtc.so.13") + glob.glob(d + "/cuda_nvrtc/lib/libnvrtc.so.13")]' 2>/dev/null); do
  [ -f "$cand" ] && { nvrtc=$cand; break; }
done
[ -n "$nvrtc" ] || { echo "nvFuser: no libnvrtc.so.13 on this machine to stand for the bundled $name"; exit 1; }
libs=$(ls -d "$dest"/site/*.libs | head -1)
ln -sf "$nvrtc" "$libs/$name"
torchlib=$("$py" -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))') \
  || { echo "nvFuser: torch does not import"; exit 1; }
g++ -O2 -shared -fPIC -o "$dest/libmessage_logger_shim.so" "$here/message_logger_shim.cpp" -ldl \
  || { echo "nvFuser: the MessageLogger shim did not build"; exit 1; }
cat >"$dest/env.sh" <<ENV
export PYTHONPATH=$dest/site\${PYTHONPATH:+:\$PYTHONPATH}
export LD_LIBRARY_PATH=$torchlib\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}
export LD_PRELOAD=$dest/libmessage_logger_shim.so\${LD_PRELOAD:+:\$LD_PRELOAD}
ENV
echo "nvFuser: $(ls "$dest"/site | tr '\n' ' ')| NVRTC $name -> $nvrtc | torch $torchlib"
