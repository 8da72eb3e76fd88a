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
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#undef SSL_get_peer_certificate

/* Ownership as in OpenSSL 1.1: returns a new reference, or NULL; the caller frees it with
 * X509_free (civetweb 1.15 keeps it in mg_client_cert.peer_cert and frees it when the
 * connection closes). SSL_get1_peer_certificate is the same function under its OpenSSL 3 name. */
__attribute__((visibility("default"))) X509 *SSL_get_peer_certificate(const SSL *ssl);

X509 *SSL_get_peer_certificate(const SSL *ssl)
{
    return SSL_get1_peer_certificate(ssl);
}

/* Called by jobs-server (tls.c, through dlsym) before it creates anything: whether civetweb will
 * be able to serve HTTPS with PEM file `file`, which civetweb 1.15 loads as its certificate, its
 * private key (which must be the certificate's), then again as the certificate chain. 0, or
 * -1 with the reason in msg[size]. A key under a passphrase is refused: OpenSSL would ask for the
 * passphrase on the terminal, where a service has none. Only libssl's functions are used here
 * (the module links libcrypto too, for jobs_tls_compat_cert_validity()). */
__attribute__((visibility("default"))) int jobs_tls_compat_check_pem(const char *file, char *msg,
                                                                     size_t size);

static int no_passphrase(char *buf, int size, int rwflag, void *userdata)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    *(int *)userdata = 1;
    return 0;
}

int jobs_tls_compat_check_pem(const char *file, char *msg, size_t size)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    int asked = 0;
    const char *why = NULL;

    if (!ctx) {
        snprintf(msg, size, "OpenSSL cannot make a TLS context");
        return -1;
    }
    SSL_CTX_set_default_passwd_cb(ctx, no_passphrase);
    SSL_CTX_set_default_passwd_cb_userdata(ctx, &asked);
    /* The key first, unlike civetweb: loaded after it, a certificate that is not the key's
     * only unsets the key, where a key loaded after the certificate fails the same way whether
     * it is missing or another's, and that is told apart only by OpenSSL's error queue, in
     * libcrypto. Either order accepts the same files. */
    if (SSL_CTX_use_PrivateKey_file(ctx, file, SSL_FILETYPE_PEM) != 1)
        why = asked ? "its private key is encrypted with a passphrase, which jobs-server cannot "
                      "give: decrypt it (openssl pkey -in KEY -out KEY.plain)"
                    : "it holds no private key that OpenSSL can read (a PEM block \"BEGIN "
                      "PRIVATE KEY\", \"BEGIN RSA PRIVATE KEY\" or \"BEGIN EC PRIVATE KEY\")";
    else if (SSL_CTX_use_certificate_file(ctx, file, SSL_FILETYPE_PEM) != 1)
        why = "it holds no certificate that OpenSSL can read (a PEM block \"BEGIN "
              "CERTIFICATE\")";
    else if (SSL_CTX_check_private_key(ctx) != 1)
        why = "its private key does not belong to its first certificate (the server's own "
              "certificate comes first, then the chain's)";
    else if (SSL_CTX_use_certificate_chain_file(ctx, file) != 1)
        why = "OpenSSL cannot read its certificates as a chain";
    SSL_CTX_free(ctx);
    if (why)
        snprintf(msg, size, "%s", why);
    return why ? -1 : 0;
}

/* Called by jobs-server (tls.c, through dlsym) once jobs_tls_compat_check_pem() accepted
 * `file`: the validity period of its first certificate (the server's own, the one civetweb
 * serves), notBefore in *not_before and notAfter in *not_after, Unix seconds. 0, or -1 with
 * the reason in msg[size]. */
__attribute__((visibility("default"))) int jobs_tls_compat_cert_validity(const char *file,
                                                                         int64_t *not_before,
                                                                         int64_t *not_after,
                                                                         char *msg, size_t size);

/* An ASN1_TIME (UTCTime or GeneralizedTime, always UTC in a certificate) in Unix seconds. */
static int unix_seconds(int64_t *out, const ASN1_TIME *t)
{
    struct tm tm;

    if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
        return -1;
    *out = (int64_t)timegm(&tm);
    return 0;
}

int jobs_tls_compat_cert_validity(const char *file, int64_t *not_before, int64_t *not_after,
                                  char *msg, size_t size)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    const char *why = NULL;
    X509 *cert;

    if (!ctx) {
        snprintf(msg, size, "OpenSSL cannot make a TLS context");
        return -1;
    }
    /* Loaded as civetweb loads it: the first certificate of the file is the one served. */
    if (SSL_CTX_use_certificate_file(ctx, file, SSL_FILETYPE_PEM) != 1 ||
        !(cert = SSL_CTX_get0_certificate(ctx)))
        why = "it holds no certificate that OpenSSL can read";
    else if (unix_seconds(not_before, X509_get0_notBefore(cert)) != 0 ||
             unix_seconds(not_after, X509_get0_notAfter(cert)) != 0)
        why = "OpenSSL cannot read its certificate's validity period";
    SSL_CTX_free(ctx);
    if (why)
        snprintf(msg, size, "%s", why);
    return why ? -1 : 0;
}
