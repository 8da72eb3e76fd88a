# pg-private.sh, sourced by the tests that stop their database (test-pg-restart.sh,
# test-pg-outage.sh, test-pg-runner-outage.sh): a private throwaway cluster (an outage would
# disturb the shared one), user ann (password ann-pw), and jobs-server on it with the default
# login limits and no access log (start_server; not started when $pg_private_later is set, for
# a test that starts it itself with more options). Needs $src, $server and $tag (a word for the
# temporary directory's name); sets $cluster, $dir, $pgdir, $uri, $pid and $base, and defines
# fail(), start_server(), req() and req_as(); stops and removes everything at exit.
cluster="$src/scripts/pg-test-cluster.sh"
dir=$(mktemp -d "/tmp/jobs-$tag-XXXXXX")
pgdir=$dir.pg
pid=

cleanup() {
    [[ -n $pid ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    bash "$cluster" stop "$pgdir" || true
    rm -rf "$dir"
}
trap cleanup EXIT
fail() {
    echo "FAIL: $*" >&2
    echo "--- server stderr:" >&2
    tail -20 "$dir/err" >&2 || true
    exit 1
}

uri=$(bash "$cluster" start "$pgdir")
chmod 0700 "$dir"
echo 'ann-pw' | "$server" user add ann --data "$dir" --store "$uri" >/dev/null

# start_server [OPTION...]: jobs-server on the store with these options too; sets $pid and $base.
start_server() {
    : >"$dir/out"
    "$server" --listen 127.0.0.1:0 --data "$dir" --store "$uri" --access-log off "$@" \
        >"$dir/out" 2>"$dir/err" &
    pid=$!
    for _ in $(seq 1 300); do
        grep -q 'listening on' "$dir/out" 2>/dev/null && break
        sleep 0.1
    done
    base=$(grep -o 'http://[0-9.:]*' "$dir/out" | head -1)
    [[ -n $base ]] || fail "the server did not start"
}

# req_as JAR METHOD PATH [BODY]: prints "STATUS BODY", with the cookies of $dir/JAR.
req_as() {
    local out jar=$dir/$1
    if [[ $# -ge 4 ]]; then
        out=$(curl -s -m 30 -b "$jar" -c "$jar" -X "$2" --json "$4" -w ' %{http_code}' \
            "$base$3")
    else
        out=$(curl -s -m 30 -b "$jar" -c "$jar" -X "$2" -w ' %{http_code}' "$base$3")
    fi
    echo "${out##* } ${out% *}"
}
# req METHOD PATH [BODY]: req_as with the one jar $dir/jar.
req() {
    req_as jar "$@"
}

[[ -n ${pg_private_later:-} ]] || start_server
