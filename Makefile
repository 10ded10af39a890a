# The two quick-start commands (see README.md):
#   make demo   installs what is missing, builds dlc, runs the bundled model
#   make test   installs what is missing, builds dlc (-Werror), makes the
#               onnx wheel's tests (scripts/make-onnx-tests.sh: .venv, PyPI),
#               runs all tests, then `make test-sanitize`
#   make test-sanitize   builds in build-sanitize with clang-19, ASan + UBSan
#               and libFuzzer coverage, runs all tests there and each fuzz
#               target for FUZZ_SECONDS
#   make gpu-pack   builds, then packs the binaries for a lent GPU machine
#               into build-gpu/dlc-gpu.tar.xz (scripts/gpu_pack.sh)
BUILD ?= build
SANITIZE_BUILD ?= build-sanitize
JOBS ?= $(shell nproc)
FUZZ_SECONDS ?= 30
# The onnx wheel's node tests and light models (scripts/make-onnx-tests.sh),
# shared by both builds.
ONNX_TESTS ?= $(BUILD)/onnx-tests

.PHONY: deps configure build demo onnx-tests test test-sanitize gpu-pack clean

deps:
	./scripts/install-deps.sh

configure: deps
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDLC_WERROR=ON

build: configure
	cmake --build $(BUILD) -j $(JOBS)

demo: build
	./scripts/demo.sh $(BUILD)

onnx-tests:
	./scripts/make-onnx-tests.sh $(ONNX_TESTS)

test: build onnx-tests
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)
	$(MAKE) test-sanitize

# Every test under AddressSanitizer + UndefinedBehaviorSanitizer (leaks
# included), plus the libFuzzer targets (tests/fuzz) for FUZZ_SECONDS each
# from their committed corpus; any report fails the test that triggered it.
# One clang-19 build at -O0 without debug info: with ASan + UBSan + coverage,
# -O1 took 9x longer to compile (44 s vs 4.8 s of CPU for one op file), more
# than the tests gain from running faster. Reports still name functions.
test-sanitize: deps onnx-tests
	cmake -S . -B $(SANITIZE_BUILD) -G Ninja -DCMAKE_C_COMPILER=clang-19 -DCMAKE_CXX_COMPILER=clang++-19 \
	  -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_FLAGS_RELEASE=-O0 -DCMAKE_CXX_FLAGS_RELEASE=-O0 \
	  -DDLC_SANITIZE=ON -DDLC_FUZZ=ON -DDLC_FUZZ_SECONDS=$(FUZZ_SECONDS) -DDLC_ONNX_TESTS_DIR=$(abspath $(ONNX_TESTS))
	cmake --build $(SANITIZE_BUILD) -j $(JOBS)
	# cmake_consumer builds an outside project with the system compiler against
	# the installed libraries, which here carry ASan: the normal build runs it.
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --test-dir $(SANITIZE_BUILD) --output-on-failure -j $(JOBS) -E '^cmake_consumer$$'

gpu-pack: build
	./scripts/gpu_pack.sh $(BUILD) build-gpu

clean:
	rm -rf $(BUILD) $(SANITIZE_BUILD) build-gpu
