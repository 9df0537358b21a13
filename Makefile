# Ringway — the two commands are `make demo` and `make test`. Everything else is CMake.
# Build trees: build/test (ASan+UBSan, the suite), build/release (the demo, benchmarks).
JOBS    ?= $(shell nproc 2>/dev/null || echo 2)
TESTDIR := build/test
RELDIR  := build/release
CTEST_ARGS ?=

.PHONY: all demo test build release deps fuzz bench valgrind clean

all: release

deps:
	@tools/install-deps.sh test

build: deps
	cmake -S . -B $(TESTDIR) -DCMAKE_BUILD_TYPE=Debug -DRINGWAY_SANITIZE=ON
	cmake --build $(TESTDIR) -j$(JOBS)

release:
	@tools/install-deps.sh demo
	cmake -S . -B $(RELDIR) -DCMAKE_BUILD_TYPE=Release -DRINGWAY_TESTS=OFF
	cmake --build $(RELDIR) -j$(JOBS)

test: build
	cd $(TESTDIR) && ctest --output-on-failure -j$(JOBS) $(CTEST_ARGS)

demo: release
	tools/demo.sh $(RELDIR)

fuzz:
	@tools/install-deps.sh fuzz
	fuzz/run.sh $${FUZZ_SECONDS:-30}

bench:
	@tools/install-deps.sh bench
	cmake -S . -B $(RELDIR) -DCMAKE_BUILD_TYPE=Release -DRINGWAY_TESTS=OFF
	cmake --build $(RELDIR) -j$(JOBS)
	bench/run.sh $(RELDIR)

clean:
	rm -rf build
