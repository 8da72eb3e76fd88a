/* HTTPS with Debian's civetweb 1.15 and OpenSSL 3 (--tls-cert). */
#ifndef JOBS_SERVER_TLS_H
#define JOBS_SERVER_TLS_H

#include <stdbool.h>
#include <stdint.h>


/** Loads libjobs-tls-compat.so so that civetweb finds SSL_get_peer_certificate; false, after a
 * message, when HTTPS would not work. */
bool srv_tls_prepare(void);

/** Whether the certificate file (certificate and private key) can be read and gives other users
 * no access (mode & 007 clear; the group may read it), and, once srv_tls_prepare() has loaded
 * the compat module (call that first), whether it holds a certificate and the private key that
 * belongs to it, without a passphrase; false after a message saying why not. */
bool srv_tls_cert_check(const char *file);

/** Days before its notAfter from which srv_tls_cert_expiry() warns of a certificate. */
#define SRV_TLS_EXPIRY_WARN_DAYS 14

/** Once srv_tls_cert_check() has accepted `file`: says on standard error, as a warning (the
 * server serves the certificate nonetheless), when its first certificate (the one served) has
 * expired, is not valid yet, or expires within SRV_TLS_EXPIRY_WARN_DAYS days of `now` (Unix
 * seconds), naming the file and the date. Stores its notAfter (Unix seconds) in *not_after and
 * returns true; false, after a warning, when its dates cannot be read. */
bool srv_tls_cert_expiry(const char *file, int64_t now, int64_t *not_after);

#endif
