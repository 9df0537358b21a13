# Ringway — the two commands are `make demo` and `make test`. Everything else is CMake.
# Build trees: build/test (ASan+UBSan, the suite), build/release (the demo, benchmarks).
JOBS    ?= $(shell nproc 2>/dev/null || echo 2)
TESTDIR := build/test
RELDIR  := build/release
CTEST_ARGS ?=

VGDIR   ?= build/valgrind
VALGRIND := valgrind --quiet --trace-children=yes --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect --num-callers=30 --suppressions=$(CURDIR)/tests/valgrind.supp

.PHONY: all demo test build release deps fuzz bench chaos valgrind clean

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

# The release build is compiled too: -O2 finds warnings (-Werror) that -O0 does not.
test: build release
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

# SIGKILL to each kind of process under 200 calls/s, next to Kamailio (docs/operations.md).
chaos:
	@tools/install-deps.sh bench
	cmake -S . -B $(RELDIR) -DCMAKE_BUILD_TYPE=Release -DRINGWAY_TESTS=OFF
	cmake --build $(RELDIR) -j$(JOBS)
	bench/kill-under-load.sh $(RELDIR)

# The integration tests under valgrind memcheck (no sanitizers, glibc's malloc in this build):
# every service a test starts (tests/harness/proc.c, tests/harness/wrap.sh) runs under
# $RINGWAY_WRAP, and a memory error or a definite/indirect leak makes the service exit 99 and
# its test fail (--trace-children: sip-edge's exec'd workers too, their reports in its log).
# The tests wait ten times longer and shrink their floods when wrapped.
valgrind: deps
	cmake -S . -B $(VGDIR) -DCMAKE_BUILD_TYPE=Debug -DRINGWAY_SANITIZE=OFF -DRINGWAY_TCMALLOC=OFF
	cmake --build $(VGDIR) -j$(JOBS)
	cd $(VGDIR) && RINGWAY_WRAP="$(VALGRIND)" ctest -L integration --output-on-failure -j$(JOBS) --timeout 1200 $(CTEST_ARGS)

clean:
	rm -rf build
