# The README's two commands, and a few more. CMake does the building.
BUILD ?= build
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=
LISTEN ?= 127.0.0.1:8080

.PHONY: all deps build run test test-unit fuzz bench format clean

all: build

deps:
	@bash scripts/install-deps.sh

build:
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

# Installs what is missing, builds, starts cmcpd with its built-in tools.
run: deps build
	@bash scripts/run.sh $(BUILD) $(LISTEN)

# Installs what is missing, builds (warnings are errors), runs every test.
test: deps
	@$(MAKE) --no-print-directory build CMAKE_FLAGS="-DCMCP_WERROR=ON $(CMAKE_FLAGS)"
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS) --timeout 1200

test-unit: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS) -L unit

# libFuzzer targets, built with clang in their own tree.
fuzz:
	@CC=clang cmake -S . -B build-fuzz -DCMCP_FUZZ=ON -DCMCP_TESTS=OFF \
	  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build build-fuzz -j $(JOBS)
	@echo "fuzzers in build-fuzz/fuzz/; e.g. build-fuzz/fuzz/fuzz_jsonrpc tests/fuzz/corpus/jsonrpc"

bench: build
	@bash scripts/bench.sh $(BUILD)

format:
	@clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) build-fuzz
