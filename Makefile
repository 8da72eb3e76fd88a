# Thin wrapper over CMake/CTest. The build itself is described in CMakeLists.txt.
#   make test   install deps, build + test build/ (Debug, -Werror), then build-asan/ (ASan+UBSan)
#   make run    install deps, build, start jobs-server on http://127.0.0.1:8080 with its data in ./var
#   make build  install deps, build build/
#   make clean  remove the build trees and ./var

BUILD_DIR ?= build
ASAN_DIR  ?= build-asan
JOBS      ?= 2
CMAKE     ?= cmake
CTEST     ?= ctest
SANITIZE  ?= address,undefined

CTEST_FLAGS = --output-on-failure -j$(JOBS)

.PHONY: all deps build build-asan test test-debug test-asan run run-embed clean

all: build

deps:
	@scripts/install-deps.sh

build: deps
	$(CMAKE) -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=Debug
	$(CMAKE) --build $(BUILD_DIR) -j$(JOBS)

build-asan: deps
	$(CMAKE) -S . -B $(ASAN_DIR) -DCMAKE_BUILD_TYPE=Debug -DJOBS_SANITIZE=$(SANITIZE)
	$(CMAKE) --build $(ASAN_DIR) -j$(JOBS)

test: test-debug test-asan

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

run: build
	$(BUILD_DIR)/examples/server/jobs-server --data var --listen 127.0.0.1:8080

run-embed: build
	$(BUILD_DIR)/examples/embed/jobs-embed var

clean:
	rm -rf $(BUILD_DIR) $(ASAN_DIR) var
