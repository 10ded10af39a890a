# The two quick-start commands (see README.md):
#   make demo   installs what is missing, builds dlc, runs the bundled model
#   make test   installs what is missing, builds dlc (-Werror), runs all tests
BUILD ?= build
JOBS ?= $(shell nproc)

.PHONY: deps configure build demo test clean

deps:
	./scripts/install-deps.sh

configure: deps
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDLC_WERROR=ON

build: configure
	cmake --build $(BUILD) -j $(JOBS)

demo: build
	./scripts/demo.sh $(BUILD)

test: build
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

clean:
	rm -rf $(BUILD)
