/* libjobs-tls-compat.so: lets Debian 12's civetweb 1.15 serve HTTPS with OpenSSL 3.
 *
 * civetweb 1.15 loads OpenSSL at run time, dlopen("libssl.so") and dlopen("libcrypto.so"), and
 * looks up each function it needs by name, OpenSSL 1.1 API. With OpenSSL 3 one name is missing:
 * SSL_get_peer_certificate became a macro for SSL_get1_peer_certificate. civetweb calls it for
 * every HTTPS connection, right after the handshake.
 *
 * This library exports that one function, depends on libssl.so.3 and has the SONAME libssl.so
 * (see CMakeLists.txt). jobs-server dlopen()s it before civetweb initialises TLS; glibc then
 * answers civetweb's dlopen("libssl.so") with this already loaded library, and civetweb's dlsym()
 * finds SSL_get_peer_certificate here and every other function in libssl.so.3 behind it.
 * Nothing else links against it. */
#include <openssl/ssl.h>

#undef SSL_get_peer_certificate

/* Ownership as in OpenSSL 1.1: returns a new reference, or NULL; the caller frees it with
 * X509_free (civetweb 1.15 keeps it in mg_client_cert.peer_cert and frees it when the
 * connection closes). SSL_get1_peer_certificate is the same function under its OpenSSL 3 name. */
__attribute__((visibility("default"))) X509 *SSL_get_peer_certificate(const SSL *ssl);

X509 *SSL_get_peer_certificate(const SSL *ssl)
{
    return SSL_get1_peer_certificate(ssl);
}
