/* --tls-cert: the OpenSSL 3 shim for civetweb 1.15 (libjobs-tls-compat.so, tls-compat.c). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include <dlfcn.h>

#include "tls.h"

/* libjobs-tls-compat.so once srv_tls_prepare() has loaded it (it stays loaded until exit). */
static void *compat;

/* Debian's libcivetweb (1.15) loads OpenSSL at run time with dlopen("libssl.so") and
 * dlopen("libcrypto.so") and looks up its functions by name, OpenSSL 1.1 API. One of them,
 * SSL_get_peer_certificate, is only a macro in OpenSSL 3 (the exported function is
 * SSL_get1_peer_certificate), so civetweb would call a NULL pointer on the first HTTPS
 * connection. libjobs-tls-compat.so (tls-compat.c) exports it and has the SONAME libssl.so: once
 * it is loaded here, glibc answers civetweb's dlopen("libssl.so") with it, and civetweb finds
 * that function in it and all the others in libssl.so.3, its dependency. RTLD_LOCAL is enough
 * (glibc matches a loaded object by SONAME whatever its scope) and keeps OpenSSL's symbols out of
 * the global scope. It stays loaded until exit.
 *
 * The module is looked for next to the executable (build tree), then in JOBS_TLS_COMPAT_INSTALLED
 * relative to it (installed: bin/ and lib/jobs-server/). Returns false, with a message, when it
 * cannot be loaded or civetweb would still miss the function: the server then refuses to start
 * rather than crash on the first request. */
bool srv_tls_prepare(void)
{
    static const char *const dirs[] = {"", "/" JOBS_TLS_COMPAT_INSTALLED};
    char exe[PATH_MAX], path[PATH_MAX + 64], *slash;
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    void *ssl;
    bool ok;

    if (n > 0)
        exe[n] = '\0';
    if (n <= 0 || (size_t)n >= sizeof exe - 1 || !(slash = strrchr(exe, '/'))) {
        fprintf(stderr, "jobs-server: --tls-cert: cannot tell where jobs-server is "
                        "(/proc/self/exe), so cannot find %s\n", JOBS_TLS_COMPAT_NAME);
        return false;
    }
    *slash = '\0';
    for (size_t i = 0; !compat && i < sizeof dirs / sizeof *dirs; i++) {
        if (snprintf(path, sizeof path, "%s%s/%s", exe, dirs[i], JOBS_TLS_COMPAT_NAME) >=
                (int)sizeof path || access(path, F_OK) != 0)
            continue;
        if (!(compat = dlopen(path, RTLD_NOW | RTLD_LOCAL))) {
            fprintf(stderr, "jobs-server: --tls-cert: cannot load %s: %s\n", path, dlerror());
            return false;
        }
    }
    if (!compat) {
        fprintf(stderr, "jobs-server: --tls-cert: %s, which civetweb needs for HTTPS with "
                        "OpenSSL 3, is neither in %s nor in %s/%s\n",
                JOBS_TLS_COMPAT_NAME, exe, exe, JOBS_TLS_COMPAT_INSTALLED);
        return false;
    }
    ssl = dlopen("libssl.so", RTLD_LAZY | RTLD_LOCAL);
    ok = ssl && dlsym(ssl, "SSL_get_peer_certificate");
    if (!ok)
        fprintf(stderr, "jobs-server: --tls-cert: HTTPS does not work with this civetweb and "
                        "OpenSSL: civetweb loads libssl.so and calls SSL_get_peer_certificate, "
                        "and %s did not provide it\n", path);
    if (ssl)
        dlclose(ssl);
    return ok;
}

/* The certificate file must be a readable regular file, and closed to other users, as sshd
 * and PostgreSQL require of a private key: says why not, before civetweb does in OpenSSL's
 * words. Once srv_tls_prepare() has loaded the compat module, the file must also hold what
 * civetweb needs (a certificate and the private key that belongs to it), checked with the
 * OpenSSL civetweb will use (jobs_tls_compat_check_pem() in tls-compat.c): civetweb itself only
 * finds out once the data directory and the store are made. It is opened non-blocking, so that
 * a FIFO no process writes is refused rather than waited on for ever (a blocking open of a FIFO
 * waits for a writer). The mode is the one of the file opened here (fstat: a symbolic link's
 * target). Its group may read it (the ssl-cert group's convention), not write it. */
bool srv_tls_cert_check(const char *file)
{
    int fd = open(file, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    struct stat st;
    char byte;
    const char *who;
    bool ok = false;

    if (fd < 0 || fstat(fd, &st) != 0) {
        fprintf(stderr, "jobs-server: --tls-cert %s: %s\n", file, strerror(errno));
    } else if (S_ISDIR(st.st_mode)) {
        fprintf(stderr, "jobs-server: --tls-cert %s: %s\n", file, strerror(EISDIR));
    } else if (!S_ISREG(st.st_mode)) {
        fprintf(stderr, "jobs-server: --tls-cert %s: not a regular file (a %s): give the PEM "
                "file itself\n", file,
                S_ISFIFO(st.st_mode) ? "FIFO" : S_ISSOCK(st.st_mode) ? "socket" : "device");
    } else if (st.st_mode & (S_IRWXO | S_IWGRP)) {
        who = st.st_mode & S_IRWXO ? "every user" : "the file's group";
        fprintf(stderr, "jobs-server: --tls-cert %s: mode %04o lets %s %s this file, "
                "which holds the private key: chmod 600 %s (or chmod 640 %s, the server "
                "reading it through the file's group)\n",
                file, (unsigned)(st.st_mode & 07777), who,
                !(st.st_mode & S_IRWXO) ? "write"
                : (st.st_mode & S_IROTH) && (st.st_mode & S_IWOTH) ? "read and write"
                : st.st_mode & S_IROTH ? "read" : st.st_mode & S_IWOTH ? "write" : "open",
                file, file);
    } else if (read(fd, &byte, 1) < 0) {
        fprintf(stderr, "jobs-server: --tls-cert %s: %s\n", file, strerror(errno));
    } else {
        ok = true;
    }
    if (ok && compat) {
        int (*check)(const char *, char *, size_t);
        char why[256];

        /* dlsym returns the function as a void *, which ISO C does not convert to a function
         * pointer: copied instead, as POSIX allows. */
        void *sym = dlsym(compat, "jobs_tls_compat_check_pem");
        memcpy(&check, &sym, sizeof check);
        if (!sym) {
            fprintf(stderr, "jobs-server: --tls-cert: %s has no jobs_tls_compat_check_pem: it "
                            "is not the one this jobs-server was built with\n",
                    JOBS_TLS_COMPAT_NAME);
            ok = false;
        } else if (check(file, why, sizeof why) != 0) {
            fprintf(stderr, "jobs-server: --tls-cert %s: %s\n", file, why);
            ok = false;
        }
    }
    if (fd >= 0)
        close(fd);
    return ok;
}

/* Unix seconds `t` in ISO 8601, UTC ("2026-12-07T22:49:01Z"). */
static void iso8601(char out[32], int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;

    if (!gmtime_r(&tt, &tm) || !strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm))
        snprintf(out, 32, "@%lld", (long long)t);
}

/* An expired certificate is served rather than refused: a start that refused it would turn a
 * renewal that came late into an outage of every client, the ones that do not check the
 * certificate's dates and the API's scripts included, where a warning and the metric let the
 * operator see it coming. */
bool srv_tls_cert_expiry(const char *file, int64_t now, int64_t *not_after)
{
    int (*validity)(const char *, int64_t *, int64_t *, char *, size_t);
    int64_t not_before = 0;
    char why[256], date[32], clock[32];
    void *sym;

    *not_after = 0;
    if (!compat)
        return false;
    /* As in srv_tls_cert_check(): the void * copied into the function pointer. */
    sym = dlsym(compat, "jobs_tls_compat_cert_validity");
    memcpy(&validity, &sym, sizeof validity);
    if (!sym) {
        fprintf(stderr, "jobs-server: warning: --tls-cert: %s has no "
                        "jobs_tls_compat_cert_validity: it is not the one this jobs-server was "
                        "built with; the certificate's dates are not checked\n",
                JOBS_TLS_COMPAT_NAME);
        return false;
    }
    if (validity(file, &not_before, not_after, why, sizeof why) != 0) {
        fprintf(stderr, "jobs-server: warning: --tls-cert %s: %s; its dates are not checked\n",
                file, why);
        *not_after = 0;
        return false;
    }
    iso8601(clock, now);
    if (*not_after < now) {
        iso8601(date, *not_after);
        fprintf(stderr, "jobs-server: warning: --tls-cert %s: its certificate expired at %s "
                        "(now %s): clients that check it refuse every connection; serving it "
                        "anyway: renew it, then restart jobs-server\n",
                file, date, clock);
    } else if (not_before > now) {
        iso8601(date, not_before);
        fprintf(stderr, "jobs-server: warning: --tls-cert %s: its certificate is not valid "
                        "before %s (now %s): clients that check it refuse every connection "
                        "until then (is this machine's clock right?); serving it anyway\n",
                file, date, clock);
    } else if (*not_after - now < (int64_t)SRV_TLS_EXPIRY_WARN_DAYS * 86400) {
        int64_t days = (*not_after - now) / 86400;

        iso8601(date, *not_after);
        if (days)
            fprintf(stderr, "jobs-server: warning: --tls-cert %s: its certificate expires at %s, "
                            "in %lld day%s: renew it, then restart jobs-server\n",
                    file, date, (long long)days, days == 1 ? "" : "s");
        else
            fprintf(stderr, "jobs-server: warning: --tls-cert %s: its certificate expires at %s, "
                            "in less than a day: renew it, then restart jobs-server\n",
                    file, date);
    }
    return true;
}
