#!/usr/bin/env bash
# test-install.sh SRC_DIR BUILD_DIR
#
# Installs BUILD_DIR into a temporary prefix, checks what was installed (shared library with its
# SOVERSION link, static library, headers, libjobs.pc, CMake package), then builds
# tests/package/consumer twice, with pkg-config and with find_package(libjobs), and runs it;
# then builds and runs examples/embed (docs/embedding.md) against the installed library too, and
# builds it once more with the CMake lines of docs/embedding.md.
set -euo pipefail

src=$(cd "${1:?usage: test-install.sh SRC_DIR BUILD_DIR}" && pwd)
build=$(cd "${2:?usage: test-install.sh SRC_DIR BUILD_DIR}" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/jobs-package-test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

cache_value() { # NAME: the value of NAME in BUILD_DIR's CMakeCache.txt, or ""
    sed -n "s/^$1:[A-Z]*=//p" "$build/CMakeCache.txt" | head -n 1
}

cmake --install "$build" --prefix "$prefix" > "$tmp/install.log" ||
    { cat "$tmp/install.log" >&2; fail "cmake --install"; }

# GNUInstallDirs picks lib for a prefix other than /usr, lib/<multiarch> or lib64 otherwise.
libdir=
for d in "$prefix/$(cache_value CMAKE_INSTALL_LIBDIR)" "$prefix"/lib "$prefix"/lib64 \
    "$prefix"/lib/*-linux-gnu*; do
    if [[ -e $d/pkgconfig/libjobs.pc ]]; then
        libdir=$d
        break
    fi
done
[[ -n $libdir ]] || { find "$prefix" >&2; fail "no libjobs.pc under $prefix"; }
echo "installed into $prefix, libdir ${libdir#"$prefix"/}"

major=$(sed -n 's/^#define JOBS_VERSION_MAJOR \([0-9]*\).*/\1/p' "$src/include/jobs/common.h")
[[ -n $major ]] || fail "no JOBS_VERSION_MAJOR in include/jobs/common.h"
minor=$(sed -n 's/^#define JOBS_VERSION_MINOR \([0-9]*\).*/\1/p' "$src/include/jobs/common.h")
# Before 1.0 a minor version may break the ABI: the SOVERSION is then "0.minor".
if [[ $major == 0 ]]; then
    major=0.$minor
fi
[[ -L $libdir/libjobs.so ]] || fail "libjobs.so is not a symlink"
[[ -L $libdir/libjobs.so.$major ]] || fail "no SOVERSION symlink libjobs.so.$major"
[[ -f $(readlink -f "$libdir/libjobs.so.$major") ]] || fail "libjobs.so.$major is dangling"
soname=$(objdump -p "$libdir/libjobs.so" | awk '$1 == "SONAME" { print $2 }')
[[ $soname == "libjobs.so.$major" ]] || fail "SONAME is '$soname', not libjobs.so.$major"
[[ -f $libdir/libjobs.a ]] || fail "no static library libjobs.a"
[[ -f $prefix/include/jobs.h ]] || fail "jobs.h not installed"
for h in "$src"/include/jobs/*.h; do
    [[ -f $prefix/include/jobs/$(basename "$h") ]] || fail "jobs/$(basename "$h") not installed"
done
[[ -f $libdir/cmake/libjobs/libjobsConfig.cmake ]] || fail "no CMake package config"
[[ -f $libdir/cmake/libjobs/libjobsConfigVersion.cmake ]] || fail "no CMake package version"

# An instrumented library needs an instrumented program (the sanitizer runtime must come first).
cc=$(cache_value CMAKE_C_COMPILER)
cc=${cc:-cc}
sanitize=$(cache_value JOBS_SANITIZE)
san_flags=()
if [[ -n $sanitize ]]; then
    san_flags=(-fsanitize="$sanitize" -fno-omit-frame-pointer)
    echo "library built with -fsanitize=$sanitize: so is the consumer"
fi

check_run() { # NAME PROGRAM [ENV...]: runs PROGRAM on a fresh store; it must print OK
    local name=$1 program=$2
    shift 2
    local out
    out=$(env "$@" "$program" "$tmp/store-$name") || fail "$name consumer exited $?"
    [[ $out == OK* ]] || fail "$name consumer printed '$out'"
    echo "$name: $out"
}

uses_installed_lib() { # PROGRAM [ENV...]: PROGRAM loads libjobs from the install prefix
    local program=$1
    shift
    local deps
    deps=$(env "$@" ldd "$program") || fail "ldd $program"
    [[ $deps == *"libjobs.so.$major => $libdir/"* ]] ||
        { echo "$deps" >&2; fail "$program does not load $libdir/libjobs.so.$major"; }
}

# Each installed header compiles on its own, as C99 and as C++11, without a warning.
cxx=$(cache_value CMAKE_CXX_COMPILER)
cxx=${cxx:-c++}
for h in "$prefix"/include/jobs.h "$prefix"/include/jobs/*.h; do
    name=${h#"$prefix"/include/}
    printf '#include <%s>\nint main(void) { return 0; }\n' "$name" > "$tmp/header.c"
    "$cc" -std=c99 -Wall -Wextra -Wpedantic -Werror -I"$prefix/include" -c "$tmp/header.c" \
        -o "$tmp/header.o" || fail "$name does not compile alone as C99"
    cp "$tmp/header.c" "$tmp/header.cpp"
    "$cxx" -std=c++11 -Wall -Wextra -Wpedantic -Werror -I"$prefix/include" -c "$tmp/header.cpp" \
        -o "$tmp/header.o" || fail "$name does not compile alone as C++11"
done

# (a) pkg-config
export PKG_CONFIG_PATH=$libdir/pkgconfig
pc_cflags=$(pkg-config --cflags libjobs) || fail "pkg-config --cflags libjobs"
pc_libs=$(pkg-config --libs libjobs) || fail "pkg-config --libs libjobs"
[[ $(pkg-config --modversion libjobs) == "$(cache_value CMAKE_PROJECT_VERSION)" ]] ||
    fail "libjobs.pc version $(pkg-config --modversion libjobs)"
# shellcheck disable=SC2086 # the flags are words
"$cc" -std=c11 -Wall -Wextra -Werror "${san_flags[@]}" $pc_cflags \
    "$src/tests/package/consumer/consumer.c" -o "$tmp/consumer-pc" $pc_libs ||
    fail "building the consumer with pkg-config"
uses_installed_lib "$tmp/consumer-pc" LD_LIBRARY_PATH="$libdir"
check_run pkg-config "$tmp/consumer-pc" LD_LIBRARY_PATH="$libdir"

# (b) CMake find_package(libjobs), shared and static
cmake_args=(-S "$src/tests/package/consumer" -B "$tmp/consumer-build"
    -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_COMPILER="$cc" -DCMAKE_BUILD_TYPE=Debug)
if [[ -n $sanitize ]]; then
    cmake_args+=(-DCMAKE_C_FLAGS="${san_flags[*]}"
        -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=$sanitize")
fi
cmake "${cmake_args[@]}" > "$tmp/consumer-configure.log" 2>&1 ||
    { cat "$tmp/consumer-configure.log" >&2; fail "configuring the consumer with find_package"; }
cmake --build "$tmp/consumer-build" > "$tmp/consumer-build.log" 2>&1 ||
    { cat "$tmp/consumer-build.log" >&2; fail "building the consumer with find_package"; }
uses_installed_lib "$tmp/consumer-build/consumer"
check_run find_package "$tmp/consumer-build/consumer"
check_run find_package-static "$tmp/consumer-build/consumer_static"
deps=$(ldd "$tmp/consumer-build/consumer_static") || fail "ldd consumer_static"
[[ $deps != *libjobs.so* ]] || fail "consumer_static loads libjobs.so"
# The shared library needs no pkg-config: without one, find_package(libjobs) still finds it.
cmake "${cmake_args[@]}" -B "$tmp/consumer-build-nopc" -DCONSUMER_STATIC=OFF \
    -DPKG_CONFIG_EXECUTABLE="$tmp/no-pkg-config" > "$tmp/consumer-nopc.log" 2>&1 ||
    { cat "$tmp/consumer-nopc.log" >&2; fail "find_package(libjobs) without pkg-config"; }
cmake --build "$tmp/consumer-build-nopc" >> "$tmp/consumer-nopc.log" 2>&1 ||
    { cat "$tmp/consumer-nopc.log" >&2; fail "building the consumer without pkg-config"; }
uses_installed_lib "$tmp/consumer-build-nopc/consumer"
check_run find_package-without-pkg-config "$tmp/consumer-build-nopc/consumer"

# (c) the embedding example of docs/embedding.md, built as its reader would: pkg-config against
# the installed library, then run by its own test (twice on one store, --once).
# shellcheck disable=SC2086 # the flags are words
"$cc" -std=c11 -Wall -Wextra -Werror "${san_flags[@]}" $pc_cflags \
    "$src/examples/embed/embed.c" -o "$tmp/jobs-embed" $pc_libs ||
    fail "building examples/embed against the installed library"
uses_installed_lib "$tmp/jobs-embed" LD_LIBRARY_PATH="$libdir"
LD_LIBRARY_PATH="$libdir" bash "$src/examples/embed/test-embed.sh" "$tmp/jobs-embed" \
    > "$tmp/embed.log" 2>&1 || { cat "$tmp/embed.log" >&2; fail "examples/embed on the installed library"; }
echo "embed: OK"

# (d) the CMake lines of docs/embedding.md, as written there, build examples/embed against the
# installed library (its find_package asks for a version: the package must accept it).
mkdir "$tmp/embed-cmake"
{
    echo "cmake_minimum_required(VERSION 3.25)"
    echo "project(embed LANGUAGES C)"
    sed -n '/^```cmake$/,/^```$/{/^```/d;p}' "$src/docs/embedding.md"
} > "$tmp/embed-cmake/CMakeLists.txt"
grep -q "^find_package(libjobs" "$tmp/embed-cmake/CMakeLists.txt" ||
    fail "docs/embedding.md has no \`\`\`cmake block with find_package(libjobs ...)"
cp "$src/examples/embed/embed.c" "$tmp/embed-cmake/"
cmake_args=(-S "$tmp/embed-cmake" -B "$tmp/embed-cmake/build"
    -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_COMPILER="$cc")
if [[ -n $sanitize ]]; then
    cmake_args+=(-DCMAKE_C_FLAGS="${san_flags[*]}"
        -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=$sanitize")
fi
cmake "${cmake_args[@]}" > "$tmp/embed-cmake.log" 2>&1 ||
    { cat "$tmp/embed-cmake.log" >&2; fail "configuring the CMake lines of docs/embedding.md"; }
cmake --build "$tmp/embed-cmake/build" >> "$tmp/embed-cmake.log" 2>&1 ||
    { cat "$tmp/embed-cmake.log" >&2; fail "building the CMake lines of docs/embedding.md"; }
uses_installed_lib "$tmp/embed-cmake/build/embed"
echo "embed with the CMake lines of docs/embedding.md: OK"

echo OK
