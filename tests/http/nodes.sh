# nodes.sh: sourced by the test scripts that start several jobs-server processes.
#
# start_node K ARGS...  starts "$server" --listen 127.0.0.1:0 --data "$dir/K" --access-log off
#                       ARGS in the background (NODE_DIR=$dir/K in its environment, for a
#                       --run-command script), its output in $dir/K/out and err; waits until it
#                       listens, then appends its pid to `pids` and its base URL to `bases`.
# The script provides $server, $dir and the arrays pids and bases.
start_node() {
    local k=$1 base
    shift
    mkdir -p -m 0700 "$dir/$k"
    NODE_DIR="$dir/$k" "$server" --listen 127.0.0.1:0 --data "$dir/$k" --access-log off "$@" \
        >"$dir/$k/out" 2>"$dir/$k/err" &
    pids+=($!)
    for _ in $(seq 1 300); do
        grep -q 'listening on' "$dir/$k/out" 2>/dev/null && break
        sleep 0.1
    done
    base=$(grep -o 'http://[0-9.:]*' "$dir/$k/out" | head -1)
    [[ -n $base ]] || fail "server $k did not start"
    bases+=("$base")
}

# stop_nodes: ends every server start_node started (TERM, then waits for each).
stop_nodes() {
    local p
    for p in "${pids[@]}"; do
        kill "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
}

# fail MESSAGE: says it, with the end of each server's standard error, and exits 1.
fail() {
    local k
    echo "FAIL: $*" >&2
    for k in "$dir"/*/err; do
        [[ -e $k ]] || continue
        echo "--- server $(basename "$(dirname "$k")") stderr:" >&2
        tail -5 "$k" >&2
    done
    exit 1
}
