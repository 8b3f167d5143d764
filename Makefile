# Thin wrapper over CMake and the scripts in ci/. See README.md.
BUILD ?= build
PYTHON ?= python3
CMAKE_FLAGS ?=
JOBS ?= $(shell nproc)

.PHONY: all build debug setup check report perf sanitize check-gpu lint clean conformance

all: build

build:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release -DPython3_EXECUTABLE=$$(command -v $(PYTHON)) $(CMAKE_FLAGS)
	cmake --build $(BUILD) -j $(JOBS)

debug:
	$(MAKE) build BUILD=build-debug CMAKE_FLAGS="-DCMAKE_BUILD_TYPE=Debug $(CMAKE_FLAGS)"

setup:
	bash ci/setup.sh

check:
	bash ci/check.sh

report:
	bash ci/report.sh

perf:
	bash ci/perf.sh

sanitize:
	bash ci/sanitize.sh

check-gpu:
	bash ci/gpu.sh

# The conformance kit against TARGET (modules with nvFuser's direct API,
# space-separated; e.g. TARGET="cfuser nvfuser_direct"): the table on stdout,
# the report in reports/out/conformance.json (suites/conformance).
TARGET ?= cfuser
conformance: build
	$(PYTHON) suites/conformance/kit.py $(foreach t,$(TARGET),--target $(t)) --path $(BUILD)/python \
	  --path $(BUILD)/suites/conformance --json reports/out/conformance.json

lint:
	bash ci/lint.sh

clean:
	rm -rf build build-*
