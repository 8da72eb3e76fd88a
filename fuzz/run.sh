#!/usr/bin/env bash
# Runs libFuzzer targets built with -DJOBS_FUZZ=ON, one after the other, each for a set time, and
# prints what each did. Used by `make fuzz` and `make fuzz-smoke`; see fuzz/README.md.
#
#   fuzz/run.sh BUILD_DIR SECONDS [TARGET...]     (default: all five targets)
#
# Each target reads its seed corpus fuzz/corpus/<target>/ and BUILD_DIR/fuzz-work/corpus/<target>/,
# and writes new inputs only to the latter, so the repository's corpus is never flooded (and the
# work corpus carries over to the next run). Crash inputs go to
# BUILD_DIR/fuzz-work/artifacts/<target>/<run>/. Exits 1 when a target crashed, leaked, hung
# or ran out of memory.
set -euo pipefail

if [[ $# -lt 2 ]]; then
    echo "usage: $0 BUILD_DIR SECONDS [TARGET...]" >&2
    exit 2
fi
build=$1
seconds=$2
shift 2
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(fuzz_json fuzz_record fuzz_cron fuzz_path fuzz_handler)

src=$(cd "$(dirname "$0")" && pwd)
work=$build/fuzz-work
run=$(date +%Y%m%d-%H%M%S)

# Leak checking only where LeakSanitizer works (not under ptrace, e.g. in some sandboxes).
if CC=${FUZZ_CC:-clang} "$src/../scripts/lsan-works.sh"; then leaks=1; else leaks=0; fi

failed=0
rows=()
for t in "${targets[@]}"; do
    bin=$build/fuzz/$t
    corpus=$work/corpus/$t
    artifacts=$work/artifacts/$t/$run
    log=$work/$t.log
    if [[ ! -x $bin ]]; then
        echo "fuzz: $bin is missing (build with -DJOBS_FUZZ=ON)" >&2
        exit 2
    fi
    mkdir -p "$corpus" "$artifacts"
    # The handler's store lives in TMPDIR: on tmpfs where there is one, so that a disk busy
    # with other work cannot stall its writes. Removed after the run, also after a crash.
    tmp=$(mktemp -d "${FUZZ_TMP:-/dev/shm}/jobs-fuzz.XXXXXX" 2>/dev/null) ||
        { mkdir -p "$work"; tmp=$(mktemp -d "$work/tmp.XXXXXX"); }
    dict=()
    [[ -f $src/$t.dict ]] && dict=(-dict="$src/$t.dict")
    echo "fuzz: $t for ${seconds} s (log: $log)"
    status=0
    # nice: the machine may be busy with other work. -timeout: a hang loops forever, and 60 s
    # leaves room for a loaded machine (a 13 s stall of a 1 ms input was seen at load 15).
    TMPDIR=$tmp \
    ASAN_OPTIONS=detect_leaks=$leaks \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    nice -n 10 "$bin" -max_total_time="$seconds" -timeout=60 -rss_limit_mb=4096 \
        -print_final_stats=1 -detect_leaks=$leaks -artifact_prefix="$artifacts/" \
        "${dict[@]}" "$corpus" "$src/corpus/$t" >"$log" 2>&1 || status=$?
    rm -rf "$tmp"

    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
    ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
    crashes=$(find "$artifacts" -type f | wc -l)
    size=$(find "$corpus" "$src/corpus/$t" -type f | wc -l)
    rows+=("$(printf '%-13s %6s %11s %8s %6s %7s %7s %8s' "$t" "$seconds" "${execs:-?}" \
        "${rate:-?}" "${cov:-?}" "${ft:-?}" "$size" "$crashes")")
    if [[ $status -ne 0 || $crashes -ne 0 ]]; then
        failed=1
        echo "fuzz: $t FAILED (exit $status); its log ends:" >&2
        tail -n 40 "$log" >&2
        find "$artifacts" -type f -exec echo "fuzz: input kept: {}" \; >&2
    fi
done

printf '%-13s %6s %11s %8s %6s %7s %7s %8s\n' target seconds execs exec/s cov ft corpus crashes
printf '%s\n' "${rows[@]}"
exit $failed
