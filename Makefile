# Thin wrapper over CMake/CTest. The build itself is described in CMakeLists.txt.
#   make test         install deps, build + test build/ (Debug, -Werror), then build-asan/
#                     (ASan+UBSan), then build build-release/ (Release, -Werror: gcc -O2 warns
#                     where -O0 does not), then 30 s of each fuzz target (build-fuzz/, clang)
#   make run          install deps, build, start jobs-server on http://127.0.0.1:8080 (the web
#                     console at /, docs/console.md), data in ./var;
#                     the terminal shows scheduler events, the access log goes to var/access.log
#   make run-embed    build, then run the embedding example (build/examples/embed/jobs-embed)
#                     on the same store, ./var/store (no HTTP), until Ctrl-C
#   make build        install deps, build build/
#   make test-debug, make test-asan, make build-release, make fuzz-smoke: one step of make test
#   make docs         the API reference (Doxygen) in build/docs/api/html
#   make bench        build bench/jobs-bench in build-release/ (Release) and run it, writing
#                     bench/results.json (BENCH_ARGS=--quick for N = 10k only); bench-pg:
#                     the same with a PostgreSQL column, on a throwaway cluster
#   make tsan         the threaded tests under ThreadSanitizer (build-tsan/)
#   make coverage     line and branch coverage of lib/ and examples/server/ (build-coverage/)
#   make crash-test   200 kill-and-verify cycles (tests/crash/); crash-test-pg: on PostgreSQL
#   make power-test   the power-loss test at length (tests/powerloss/, docs/reliability.md)
#   make fuzz         each libFuzzer target for FUZZ_TIME seconds (default 300)
#   make soak         wrk against jobs-server for SOAK_SECONDS (default 300)
#   make clean        remove the build trees and ./var
# There is no `make help`: this list is the help. JOBS=N sets the build's parallelism (default 2).

BUILD_DIR ?= build
ASAN_DIR  ?= build-asan
RELEASE_DIR ?= build-release
BENCH_ARGS ?=
JOBS      ?= 2
# Tests run at once: one more than the compiler's jobs, since most tests wait (for a server, a
# child, a database) more than they compute: on this 2-core machine the Debug suite took 571 s
# with 2 and 436 s with 3, using 1.1 cores.
CTEST_JOBS ?= $(shell echo $$(($(JOBS) + 1)))
CMAKE     ?= cmake
CTEST     ?= ctest
SANITIZE  ?= address,undefined
# Warnings are errors in every tree built here (CI); a plain `cmake` build leaves them warnings.
WERROR    ?= ON

CTEST_FLAGS = --output-on-failure -j$(CTEST_JOBS)

.PHONY: all deps build build-asan build-release test test-debug test-asan run run-embed docs \
	bench clean

all: build

deps:
	@scripts/install-deps.sh

build: deps
	$(CMAKE) -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=Debug -DJOBS_WERROR=$(WERROR)
	$(CMAKE) --build $(BUILD_DIR) -j$(JOBS)

build-asan: deps
	$(CMAKE) -S . -B $(ASAN_DIR) -DCMAKE_BUILD_TYPE=Debug -DJOBS_SANITIZE=$(SANITIZE) \
	    -DJOBS_WERROR=$(WERROR)
	$(CMAKE) --build $(ASAN_DIR) -j$(JOBS)

test: test-debug test-asan build-release fuzz-smoke

# The whole tree in Release, built only: gcc -O2 raises warnings (-Wformat-truncation) that the
# Debug build does not see, and a packager builds Release.
build-release: deps
	$(CMAKE) -S . -B $(RELEASE_DIR) -DCMAKE_BUILD_TYPE=Release -DJOBS_WERROR=$(WERROR)
	$(CMAKE) --build $(RELEASE_DIR) -j$(JOBS)

test-debug: build
	$(CTEST) --test-dir $(BUILD_DIR) $(CTEST_FLAGS)

# Leak checking only where LeakSanitizer works (it does not under ptrace, e.g. in some sandboxes).
test-asan: build-asan
	@if scripts/lsan-works.sh; then leaks=1; else leaks=0; \
	    echo "LeakSanitizer does not work here: leak checking off"; fi; \
	set -x; \
	ASAN_OPTIONS=detect_leaks=$$leaks \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	$(CTEST) --test-dir $(ASAN_DIR) $(CTEST_FLAGS)

# The terminal shows the scheduler's events; the access log goes to var/access.log
# (`tail -f var/access.log` in another terminal), created with mode 0600 in var/, which is made
# 0700 as jobs-server's data directory.
RUN_ACCESS_LOG ?= var/access.log
run: build
	install -d -m 0700 var
	@echo "console: http://127.0.0.1:8080/ (log in as demo; docs/console.md)"
	$(BUILD_DIR)/examples/server/jobs-server --data var --listen 127.0.0.1:8080 \
	    --access-log $(RUN_ACCESS_LOG)

run-embed: build
	$(BUILD_DIR)/examples/embed/jobs-embed var/store

docs: build
	$(CMAKE) --build $(BUILD_DIR) --target docs

bench: deps
	$(CMAKE) -S . -B $(RELEASE_DIR) -DCMAKE_BUILD_TYPE=Release -DJOBS_WERROR=$(WERROR)
	$(CMAKE) --build $(RELEASE_DIR) -j$(JOBS) --target jobs-bench
	$(RELEASE_DIR)/bench/jobs-bench --json bench/results.json \
	    --source "$$(git describe --always --dirty 2>/dev/null)" $(BENCH_ARGS)

# The same with libjobs on PostgreSQL as a fourth column (jobs-bench --pg), on a throwaway
# cluster of scripts/pg-test-cluster.sh; then pg-bench's ticks by 1, 2 and 4 processes.
.PHONY: bench-pg
bench-pg: deps
	$(CMAKE) -S . -B $(RELEASE_DIR) -DCMAKE_BUILD_TYPE=Release -DJOBS_WERROR=$(WERROR)
	$(CMAKE) --build $(RELEASE_DIR) -j$(JOBS) --target jobs-bench pg-bench
	scripts/pg-test-cluster.sh run -- sh -c '$(RELEASE_DIR)/bench/jobs-bench \
	    --json bench/results.json --source "$$(git describe --always --dirty 2>/dev/null)" \
	    --pg "$$JOBS_TEST_STORE" $(BENCH_ARGS) && $(RELEASE_DIR)/bench/pg-bench \
	    --store "$$JOBS_TEST_STORE" --creates 2000 --deep 500000 --due 4000 --procs 1,2,4'

clean:
	rm -rf $(BUILD_DIR) $(ASAN_DIR) $(RELEASE_DIR) build-tsan build-coverage build-fuzz var

# ThreadSanitizer over the tests that run threads (concurrent creates and group commit and its
# wake-ups, jobs_store_wait, ticks, several processes, map growth under load, backups and batches
# beside writers, per-thread error details, clocks and cron caches, the runner's workers, the
# HTTP server with many clients, its access-log writer and scheduler threads). The pattern had
# missed commit_wakeups, test_wait, isolation, backup, batch, clock, test_cron, errors and runner.
# Every report goes to a file of TSAN_DIR/tsan-reports/ (log_path), and any file there fails the
# target: a jobs-server started by a bash test (the access-log, SIGHUP and wake scripts) wrote
# its report to a log in a temporary directory, and its exit status (66) was checked by no one.
TSAN_DIR ?= build-tsan
TSAN_WRITES = concurrency|group_commit|commit_wakeups|test_wait|isolation|map_growth|test_backup
TSAN_OTHERS = test_batch|scheduler|processes|test_clock|test_cron$$|test_errors
TSAN_TESTS ?= $(TSAN_WRITES)|$(TSAN_OTHERS)|^runner$$|http
TSAN_REPORTS = $(abspath $(TSAN_DIR))/tsan-reports
.PHONY: tsan
tsan: deps
	$(CMAKE) -S . -B $(TSAN_DIR) -DCMAKE_BUILD_TYPE=Debug -DJOBS_SANITIZE=thread \
	    -DJOBS_WERROR=$(WERROR)
	$(CMAKE) --build $(TSAN_DIR) -j$(JOBS)
	rm -rf $(TSAN_REPORTS) && mkdir -p $(TSAN_REPORTS)
	TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:log_path=$(TSAN_REPORTS)/report \
	$(CTEST) --test-dir $(TSAN_DIR) $(CTEST_FLAGS) -R '$(TSAN_TESTS)'; rc=$$?; \
	if [ -n "$$(ls $(TSAN_REPORTS))" ]; then \
	    cat $(TSAN_REPORTS)/*; echo "make tsan: ThreadSanitizer reports above"; exit 1; \
	fi; exit $$rc

# Line and branch coverage of lib/ and examples/server/ from the whole test suite (gcovr).
# Fails when lib/'s line coverage is under COVERAGE_MIN percent.
COVERAGE_DIR ?= build-coverage
COVERAGE_MIN ?= 90
# Only COVERAGE_DIR is searched (not other build trees under the source root), and not its fuzz
# harnesses, which build handler.c a second time. Atomic counters keep threads from corrupting
# the counts, but the crash tests SIGKILL processes that may be writing their .gcda files: lines
# gcov cannot parse are skipped rather than failing the report.
GCOVR_FLAGS ?= --exclude-directories '.*/fuzz/.*' --gcov-ignore-parse-errors
.PHONY: coverage
coverage:
	@scripts/install-deps.sh gcovr
	$(CMAKE) -S . -B $(COVERAGE_DIR) -DCMAKE_BUILD_TYPE=Debug \
	    -DCMAKE_C_FLAGS="--coverage -fprofile-update=atomic" \
	    -DCMAKE_EXE_LINKER_FLAGS=--coverage -DCMAKE_SHARED_LINKER_FLAGS=--coverage \
	    -DJOBS_WERROR=$(WERROR)
	$(CMAKE) --build $(COVERAGE_DIR) -j$(JOBS)
	find $(COVERAGE_DIR) -name '*.gcda' -delete
	rm -f $(COVERAGE_DIR)/tests-failed
	$(CTEST) --test-dir $(COVERAGE_DIR) $(CTEST_FLAGS) -E '^(exports|package_consumer)$$' || \
	    touch $(COVERAGE_DIR)/tests-failed
	gcovr -r . $(COVERAGE_DIR) --object-directory $(COVERAGE_DIR) $(GCOVR_FLAGS) \
	    --filter 'examples/server/' \
	    --print-summary \
	    --txt $(COVERAGE_DIR)/server.txt
	gcovr -r . $(COVERAGE_DIR) --object-directory $(COVERAGE_DIR) $(GCOVR_FLAGS) \
	    --filter 'lib/' --print-summary \
	    --html-details $(COVERAGE_DIR)/coverage.html --txt $(COVERAGE_DIR)/lib.txt \
	    --fail-under-line $(COVERAGE_MIN)
	@echo "coverage: $(COVERAGE_DIR)/lib.txt, $(COVERAGE_DIR)/server.txt, $(COVERAGE_DIR)/coverage.html"
	@if [ -e $(COVERAGE_DIR)/tests-failed ]; then echo "coverage: some tests failed"; exit 1; fi

# Crash safety (tests/crash/): SIGKILL a library writer process and jobs-server at random
# moments, restart, and check that no acknowledged write is lost or half there and that the
# store verifier passes; CRASH_CYCLES kill cycles, half each. CRASH_ARGS="--seed N" replays a run.
CRASH_CYCLES ?= 200
CRASH_ARGS ?=
.PHONY: crash-test
crash-test: build
	$(BUILD_DIR)/tests/crash/test_crash --cycles $(CRASH_CYCLES) \
	    --server $(BUILD_DIR)/examples/server/jobs-server $(CRASH_ARGS)

# The same against PostgreSQL: a throwaway cluster (scripts/pg-test-cluster.sh), each writer's
# store a fresh schema of it (test_crash --pg).
.PHONY: crash-test-pg
crash-test-pg: build
	scripts/pg-test-cluster.sh run -- sh -c '$(BUILD_DIR)/tests/crash/test_crash \
	    --cycles $(CRASH_CYCLES) --server $(BUILD_DIR)/examples/server/jobs-server \
	    --pg "$$JOBS_TEST_STORE" $(CRASH_ARGS)'

# Power loss (tests/powerloss/, docs/reliability.md): the store's writes and flushes logged by
# an LD_PRELOAD interposer, then the file images power loss could leave, each opened, verified
# and checked against every acknowledged write. One writer thread without group commit, then
# POWER_THREADS threads with group commit, for each seed of POWER_SEEDS. ctest runs a short one.
POWER_OPS ?= 2000
POWER_POINTS ?= 4000
POWER_VARIANTS ?= 8
POWER_THREADS ?= 8
POWER_SEEDS ?= 1 2 3
.PHONY: power-test
power-test: build
	$(CMAKE) --build $(BUILD_DIR) -j$(JOBS) --target powerloss plrec
	mkdir -p $(BUILD_DIR)/power-test
	set -e; for s in $(POWER_SEEDS); do \
	    $(BUILD_DIR)/tests/powerloss/powerloss all --preload $(BUILD_DIR)/tests/powerloss/plrec.so \
	        --dir $(BUILD_DIR)/power-test/1-$$s --ops $(POWER_OPS) --points $(POWER_POINTS) \
	        --variants $(POWER_VARIANTS) --seed $$s; \
	    $(BUILD_DIR)/tests/powerloss/powerloss all --preload $(BUILD_DIR)/tests/powerloss/plrec.so \
	        --dir $(BUILD_DIR)/power-test/$(POWER_THREADS)-$$s --threads $(POWER_THREADS) --group \
	        --ops $$(( $(POWER_OPS) / $(POWER_THREADS) )) --points $(POWER_POINTS) \
	        --variants $(POWER_VARIANTS) --seed $$s; \
	done

# Fuzzing (fuzz/README.md): the libFuzzer targets, built with clang (ASan+UBSan) in $(FUZZ_DIR)/,
# each run for FUZZ_TIME seconds, one after the other; prints execs, coverage and crashes per
# target and fails if any crashed. New inputs go to $(FUZZ_DIR)/fuzz-work/, never to fuzz/corpus/.
# fuzz-smoke is the 30-second run for `make test`. FUZZ_TARGETS="fuzz_json" runs a subset.
FUZZ_DIR ?= build-fuzz
FUZZ_TIME ?= 300
FUZZ_CC ?= clang
FUZZ_TARGETS ?= fuzz_json fuzz_record fuzz_cron fuzz_path fuzz_handler
.PHONY: fuzz fuzz-smoke fuzz-build
fuzz-build: deps
	$(CMAKE) -S . -B $(FUZZ_DIR) -DCMAKE_C_COMPILER=$(FUZZ_CC) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	    -DJOBS_FUZZ=ON -DJOBS_POSTGRES=OFF -DJOBS_BUILD_TESTS=OFF -DJOBS_BUILD_EXAMPLES=OFF -DJOBS_BUILD_BENCH=OFF \
	    -DJOBS_WERROR=$(WERROR)
	$(CMAKE) --build $(FUZZ_DIR) -j$(JOBS) --target $(FUZZ_TARGETS)
fuzz: fuzz-build
	FUZZ_CC=$(FUZZ_CC) fuzz/run.sh $(FUZZ_DIR) $(FUZZ_TIME) $(FUZZ_TARGETS)
fuzz-smoke: fuzz-build
	FUZZ_CC=$(FUZZ_CC) fuzz/run.sh $(FUZZ_DIR) 30 $(FUZZ_TARGETS)

# Load and soak (issue 5): build/ as `make build` does, then tests/soak/soak.sh for SOAK_SECONDS:
# wrk with a mixed GET/POST/PUT/DELETE script against jobs-server; fails on any unexpected
# status, any socket error, or RSS growth of 5 % or more over the second half
# (tests/soak/README.md). The ctest `soak` runs the same for 30 s.
SOAK_SECONDS ?= 300
.PHONY: soak
soak: build
	nice tests/soak/soak.sh $(BUILD_DIR)/examples/server/jobs-server $(SOAK_SECONDS)
