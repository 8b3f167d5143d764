"""Where the nvidia-cuda-nvrtc wheel put NVRTC, for the CUDA backend.

libcfuser finds a CUDA toolkit's NVRTC itself (CFUSER_NVRTC_LIBRARY first,
then the loader's path, $CUDA_HOME, /usr/local/cuda). The wheel's lies under
a site-packages directory, on no loader path: at import, cfuser names its
files to libcfuser, which tries them after the toolkit's, and lists every
place it looked when none opens.

The wheel's files are found through the ``nvidia`` namespace package (one
directory per sys.path entry that has one), which costs a few cached stat
calls; importlib.metadata would find the same files through the
distribution's RECORD but costs milliseconds at every ``import cfuser``.
"""

import os
from importlib.machinery import PathFinder

from cfuser import _C

# nvidia-cuda-nvrtc 13.x (nvidia/cu13/lib) and 12.x (nvidia/cuda_nvrtc/lib).
LAYOUTS = (
    os.path.join("cu13", "lib", "libnvrtc.so.13"),
    os.path.join("cuda_nvrtc", "lib", "libnvrtc.so.12"),
)


def candidates() -> list[str]:
    """The NVRTC libraries of the nvidia-cuda-nvrtc wheels on sys.path, newest first."""
    spec = PathFinder.find_spec("nvidia")
    dirs = list(spec.submodule_search_locations or []) if spec is not None else []
    found = []
    for layout in LAYOUTS:
        for d in dirs:
            path = os.path.join(d, layout)
            if os.path.isfile(path):
                found.append(path)
    return found


def register() -> None:
    """Hand the wheel's NVRTC files to libcfuser (called once, at import)."""
    _C._set_nvrtc_candidates(candidates())


def info() -> tuple[int, int, str]:
    """Open NVRTC (no GPU needed): (major, minor, path of the library opened).

    Raises cfuser.DeviceError naming every place it looked when none opens.
    """
    return _C._nvrtc_info()
