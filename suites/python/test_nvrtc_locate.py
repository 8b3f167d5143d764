"""The CUDA backend finds NVRTC with no environment variable: a toolkit's
first, then the nvidia-cuda-nvrtc wheel's, which the package names to
libcfuser at import (cfuser/_nvrtc.py); when none opens, the DeviceError
lists every place it looked. No GPU is needed: NVRTC is only opened."""

from __future__ import annotations

import ctypes.util
import glob
import importlib
import importlib.metadata
import os
import subprocess
import sys

import pytest

from conftest import cfuser, plain_python_only

PKG_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(cfuser.__file__)))


def _wheel_nvrtc_files() -> list[str]:
    """The wheel's libnvrtc files, through the distribution's own file list."""
    for name in ("nvidia-cuda-nvrtc", "nvidia-cuda-nvrtc-cu12"):
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        return [
            os.path.realpath(dist.locate_file(f))
            for f in dist.files or []
            if os.path.basename(str(f)).startswith("libnvrtc.so.")
        ]
    return []


def _toolkit_nvrtc() -> bool:
    return bool(
        ctypes.util.find_library("nvrtc")
        or glob.glob("/usr/local/cuda/lib64/libnvrtc.so.1[23]")
        or any(glob.glob(os.path.join(os.environ.get(v, "/nonexistent"), "lib64", "libnvrtc.so.1[23]"))
               for v in ("CUDA_HOME", "CUDA_PATH"))
    )


def _run(code: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CFUSER_NVRTC_LIBRARY", "CUDA_HOME", "CUDA_PATH")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in [PKG_ROOT, os.environ.get("PYTHONPATH")] if p)
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)


def test_candidates_are_the_installed_wheels_files():
    files = _wheel_nvrtc_files()
    if not files:
        pytest.skip("nvidia-cuda-nvrtc is not installed here")
    found = [os.path.realpath(p) for p in cfuser._nvrtc.candidates()]
    assert found and set(found) <= set(files), (found, files)


def test_candidates_come_from_every_nvidia_directory_on_sys_path_newest_first(tmp_path, monkeypatch):
    a, b = tmp_path / "site-a", tmp_path / "site-b"
    (a / "nvidia" / "cuda_nvrtc" / "lib").mkdir(parents=True)
    (b / "nvidia" / "cu13" / "lib").mkdir(parents=True)
    (a / "nvidia" / "cuda_nvrtc" / "lib" / "libnvrtc.so.12").write_bytes(b"")
    (b / "nvidia" / "cu13" / "lib" / "libnvrtc.so.13").write_bytes(b"")
    (tmp_path / "site-c").mkdir()  # no nvidia directory: nothing from it
    monkeypatch.setattr(sys, "path", [str(tmp_path / "site-c"), str(a), str(b)])
    importlib.invalidate_caches()
    assert cfuser._nvrtc.candidates() == [
        str(b / "nvidia" / "cu13" / "lib" / "libnvrtc.so.13"),
        str(a / "nvidia" / "cuda_nvrtc" / "lib" / "libnvrtc.so.12"),
    ]


def test_no_nvidia_package_means_no_candidates(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "path", [str(tmp_path)])
    importlib.invalidate_caches()
    assert cfuser._nvrtc.candidates() == []


@plain_python_only
def test_opens_the_wheels_nvrtc_with_no_environment_variable():
    files = _wheel_nvrtc_files()
    if not files:
        pytest.skip("nvidia-cuda-nvrtc is not installed here")
    res = _run("import cfuser; print(repr(cfuser._nvrtc.info()))")
    assert res.returncode == 0, res.stderr
    major, minor, path = eval(res.stdout)
    assert major >= 12
    if _toolkit_nvrtc():
        assert os.path.realpath(path) not in files, f"the wheel's NVRTC came before the toolkit's: {path}"
    else:
        assert os.path.realpath(path) in files, (path, files)


@plain_python_only
def test_when_none_opens_the_error_lists_where_it_looked():
    if _toolkit_nvrtc():
        pytest.skip("a CUDA toolkit's NVRTC is on this machine")
    res = _run(
        "import cfuser\n"
        "cfuser._C._set_nvrtc_candidates(['/nonexistent/cfuser-site/nvidia/cu13/lib/libnvrtc.so.13'])\n"
        "try:\n"
        "    cfuser._nvrtc.info()\n"
        "except cfuser.DeviceError as e:\n"
        "    print(e)\n"
    )
    assert res.returncode == 0, res.stderr
    msg = res.stdout
    for where in ("libnvrtc.so.13", "/usr/local/cuda/lib64/libnvrtc.so.12",
                  "/nonexistent/cfuser-site/nvidia/cu13/lib/libnvrtc.so.13",
                  "pip install nvidia-cuda-nvrtc", "CFUSER_NVRTC_LIBRARY"):
        assert where in msg, msg


@plain_python_only
def test_without_a_wheel_the_error_says_so():
    if _toolkit_nvrtc():
        pytest.skip("a CUDA toolkit's NVRTC is on this machine")
    res = _run(
        "import cfuser\n"
        "cfuser._C._set_nvrtc_candidates([])\n"
        "try:\n"
        "    cfuser._nvrtc.info()\n"
        "except cfuser.DeviceError as e:\n"
        "    print(e)\n"
    )
    assert res.returncode == 0, res.stderr
    assert "no nvidia-cuda-nvrtc wheel found" in res.stdout, res.stdout


@pytest.mark.parametrize(
    "bad, exc, words",
    [
        (42, TypeError, "must be a sequence of str, not 'int'"),
        (["/x/libnvrtc.so.13", b"/y"], TypeError, "item 1 must be str, not 'bytes'"),
        ([""], ValueError, "item 0 is empty"),
    ],
)
def test_bad_candidate_lists_raise_clear_errors(bad, exc, words):
    try:
        with pytest.raises(exc, match=words.replace("(", r"\(")):
            cfuser._C._set_nvrtc_candidates(bad)
    finally:
        cfuser._nvrtc.register()
