/* HTTPS with Debian's civetweb 1.15 and OpenSSL 3 (--tls-cert). */
#ifndef JOBS_SERVER_TLS_H
#define JOBS_SERVER_TLS_H

#include <stdbool.h>


/** Loads libjobs-tls-compat.so so that civetweb finds SSL_get_peer_certificate; false, after a
 * message, when HTTPS would not work. */
bool srv_tls_prepare(void);

/** Whether the certificate file (certificate and private key) can be read and gives other users
 * no access (mode & 007 clear; the group may read it), and, once srv_tls_prepare() has loaded
 * the compat module (call that first), whether it holds a certificate and the private key that
 * belongs to it, without a passphrase; false after a message saying why not. */
bool srv_tls_cert_check(const char *file);

#endif
