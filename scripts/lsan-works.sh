#!/usr/bin/env bash
# Exits 0 when LeakSanitizer works on this machine (it fails, e.g., under ptrace), 1 otherwise.
set -euo pipefail
cc=${CC:-cc}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
printf 'int main(void) { return 0; }\n' > "$dir/probe.c"
"$cc" -fsanitize=address "$dir/probe.c" -o "$dir/probe" 2>/dev/null || exit 1
ASAN_OPTIONS=detect_leaks=1 "$dir/probe" >/dev/null 2>&1
