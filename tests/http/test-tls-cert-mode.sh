#!/usr/bin/env bash
# test-tls-cert-mode.sh JOBS_SERVER
#
# --tls-cert FILE holds the private key: a FILE that other users may read or write (or its group
# write), or that is no regular file (a FIFO's open waited for ever), is refused
# (exit 1, a message naming FILE, its mode and the chmod that fixes it, nothing created), as sshd
# and PostgreSQL refuse such a key; it was accepted. The mode looked at is the file's that the
# server reads (a symbolic link's target). Mode 0640 (the group may read it: the ssl-cert group's
# convention) and 0600 serve HTTPS.
#
# What the file holds is checked before anything is created too, with the OpenSSL civetweb uses: no
# private key, no certificate, a key that is not the certificate's (or a chain whose first
# certificate is not the key's), a key under a passphrase: exit 1, a message naming FILE and
# what is wrong, no data directory. civetweb found these only once the data directory and the
# store had been made. A chain (the server's certificate, then an intermediate's) is served whole.
set -euo pipefail
server=${1:?usage: test-tls-cert-mode.sh JOBS_SERVER}
# shellcheck source=solo.sh
source "$(dirname "$0")/solo.sh"
solo_begin tls-cert-mode

# A self-signed certificate for 127.0.0.1 and its key in one PEM ($cert), the certificate alone in
# ca.pem, which curl trusts (wait_answering's curl too, through CURL_CA_BUNDLE).
cert=$dir/server.pem
(cd "$dir" && umask 077 && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
    -nodes -keyout key.pem -out ca.pem -days 1 -subj /CN=127.0.0.1 \
    -addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1 && cat ca.pem key.pem >server.pem &&
    rm key.pem) || fail "openssl could not make a certificate"
export CURL_CA_BUNDLE=$dir/ca.pem

# Runs the server with --tls-cert $1 until it exits (a refused start exits at once) and sets
# status; fails if it is still running after 30 s (it listens, or waits on the file).
run_refused() {
    solo_launch --tls-cert "$1"
    solo_wait_exit "--tls-cert $1 (mode $(stat -L -c %a "$1")) was not refused: the server runs"
}

# Each mode that lets other users in is refused, with the words of the mode.
for m in 644:read 604:read 602:write 606:"read and write" 601:open; do
    mode=${m%%:*} verb=${m#*:}
    chmod "$mode" "$cert"
    run_refused "$cert"
    [[ $status == 1 ]] || fail "mode $mode: exit status $status, not 1; stderr: $(cat "$dir/err")"
    grep -qF -- "jobs-server: --tls-cert $cert: mode 0$mode lets every user $verb this file, which holds the private key: chmod 600 $cert (or chmod 640 $cert," \
        "$dir/err" || fail "mode $mode: no clear message: $(cat "$dir/err")"
    [[ ! -e $dir/data ]] || fail "mode $mode: a refused start created the data directory"
done

# A group that may write the key could replace it: 0660 and 0620 are refused too (0640 is not).
for mode in 660 620; do
    chmod "$mode" "$cert"
    run_refused "$cert"
    [[ $status == 1 ]] || fail "mode $mode: exit status $status, not 1"
    grep -qF -- "jobs-server: --tls-cert $cert: mode 0$mode lets the file's group write this file" \
        "$dir/err" || fail "mode $mode: no clear message: $(cat "$dir/err")"
done

# A FIFO is refused at once (a blocking open waited for a writer for ever).
mkfifo -m 600 "$dir/fifo.pem"
run_refused "$dir/fifo.pem"
[[ $status == 1 ]] || fail "a FIFO: exit status $status, not 1"
grep -qF -- "--tls-cert $dir/fifo.pem: not a regular file (a FIFO)" "$dir/err" ||
    fail "a FIFO: no clear message: $(cat "$dir/err")"

# Through a symbolic link (mode 0777 itself), the target's mode counts.
chmod 644 "$cert"
ln -s "$cert" "$dir/link.pem"
run_refused "$dir/link.pem"
[[ $status == 1 ]] || fail "a link to a file of mode 0644: exit status $status, not 1"
grep -qF -- "--tls-cert $dir/link.pem: mode 0644 lets every user read" "$dir/err" ||
    fail "a link to a file of mode 0644: no clear message: $(cat "$dir/err")"

# Modes 0640 and 0600 (also through the link) serve HTTPS.
for m in 640:"$cert" 600:"$dir/link.pem"; do
    mode=${m%%:*} file=${m#*:}
    chmod "$mode" "$cert"
    solo_launch --tls-cert "$file"
    base=https://${base#http://}
    wait_answering
    grep -qF "listening on $base" "$dir/out" || fail "mode $mode: not on HTTPS"
    stop_server
done
# What the file holds. A CA, an intermediate it signs, and a certificate for 127.0.0.1 the
# intermediate signs; another key.
(cd "$dir" && umask 077 &&
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout rootca.key \
        -out rootca.pem -days 1 -subj /CN=root -addext basicConstraints=critical,CA:TRUE \
        -addext keyUsage=keyCertSign &&
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout int.key \
        -out int.csr -subj /CN=intermediate &&
    printf 'basicConstraints=critical,CA:TRUE\nkeyUsage=keyCertSign\n' >int.ext &&
    openssl x509 -req -in int.csr -CA rootca.pem -CAkey rootca.key -CAcreateserial -days 1 \
        -extfile int.ext -out int.pem &&
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout leaf.key \
        -out leaf.csr -subj /CN=127.0.0.1 &&
    printf 'subjectAltName=IP:127.0.0.1\n' >leaf.ext &&
    openssl x509 -req -in leaf.csr -CA int.pem -CAkey int.key -CAcreateserial -days 1 \
        -extfile leaf.ext -out leaf.pem &&
    openssl genpkey -algorithm ec -pkeyopt ec_paramgen_curve:prime256v1 -out other.key &&
    openssl pkey -in leaf.key -aes256 -passout pass:secret -out secret.key &&
    cat leaf.pem leaf.key >only-leaf.pem && cat leaf.pem int.pem leaf.key >chain.pem &&
    cat int.pem leaf.pem leaf.key >chain-reversed.pem && cat leaf.pem other.key >other.pem &&
    cat leaf.pem >no-key.pem && cat leaf.key >no-cert.pem && cat leaf.pem secret.key >secret.pem &&
    : >empty.pem) >/dev/null 2>&1 || fail "openssl could not make the certificates"
rm -rf "$dir/data" # the starts above made it
for m in "no-key.pem:it holds no private key that OpenSSL can read" \
    "empty.pem:it holds no private key that OpenSSL can read" \
    "no-cert.pem:it holds no certificate that OpenSSL can read" \
    "other.pem:its private key does not belong to its first certificate" \
    "chain-reversed.pem:its private key does not belong to its first certificate" \
    "secret.pem:its private key is encrypted with a passphrase"; do
    file=$dir/${m%%:*} words=${m#*:}
    run_refused "$file" </dev/null
    [[ $status == 1 ]] || fail "${m%%:*}: exit status $status, not 1; stderr: $(cat "$dir/err")"
    grep -qF -- "jobs-server: --tls-cert $file: $words" "$dir/err" ||
        fail "${m%%:*}: no clear message: $(cat "$dir/err")"
    [[ ! -e $dir/data ]] || fail "${m%%:*}: a refused start created the data directory"
done
# The whole chain is served: a client that trusts only the root accepts it.
export CURL_CA_BUNDLE=$dir/rootca.pem
solo_launch --tls-cert "$dir/chain.pem"
base=https://${base#http://}
wait_answering
stop_server
echo "ok: --tls-cert refuses a file other users may read or write, accepts 0640 and 0600," \
    "refuses one without a certificate and its key before creating anything, serves a chain"
