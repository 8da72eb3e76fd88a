/* The login body's decoder: the library checks the body (size, syntax, UTF-8, depth, \u0000,
 * the keys), then cJSON, which then parses it exactly, gives the members. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>
#include <sodium.h>

#include <jobs.h>

#include "credentials.h"

static const char *type_name(const cJSON *it)
{
    if (cJSON_IsString(it))
        return "a string";
    if (cJSON_IsNumber(it))
        return "a number";
    if (cJSON_IsBool(it))
        return "a boolean";
    if (cJSON_IsNull(it))
        return "null";
    if (cJSON_IsObject(it))
        return "an object";
    if (cJSON_IsArray(it))
        return "an array";
    return "something else";
}

/* A string member of 1..max bytes into dst (max + 1 bytes); JOBS_EBODY with `msg` otherwise. */
static int get_text(char *dst, size_t max, const cJSON *it, const char *key, char *msg,
                    size_t msg_size)
{
    size_t n;

    if (!cJSON_IsString(it) || !it->valuestring) {
        snprintf(msg, msg_size, "'%s' must be a string (got %s)", key, type_name(it));
        return JOBS_EBODY;
    }
    n = strlen(it->valuestring);
    if (n == 0 || n > max) {
        snprintf(msg, msg_size, "'%s' must be 1..%zu bytes", key, max);
        return JOBS_EBODY;
    }
    memcpy(dst, it->valuestring, n + 1);
    return 0;
}

int srv_decode_credentials(srv_credentials *out, const char *body, size_t len, char *msg,
                           size_t msg_size)
{
    static const char *const keys[] = {"username", "email", "password"};
    const cJSON *found[3] = {NULL, NULL, NULL};
    srv_credentials *b = NULL;
    cJSON *root = NULL;
    int rc;

    if (!out) {
        snprintf(msg, msg_size, "out is NULL");
        return JOBS_EINVAL;
    }
    if ((rc = jobs_json_check_object(body, len, keys, 3)) != 0) {
        snprintf(msg, msg_size, "%s", jobs_error_last());
        return rc;
    }
    /* The check accepted the body, so a NULL here can only mean memory ran out; on the heap,
     * not the stack: it holds a password, and is wiped before it is freed. */
    if (!(root = cJSON_ParseWithLength(body, len)) || !(b = malloc(sizeof *b))) {
        snprintf(msg, msg_size, "out of memory");
        rc = JOBS_ENOMEM;
        goto done;
    }
    memset(b, 0, sizeof *b);
    for (size_t k = 0; k < 3; k++)
        found[k] = cJSON_GetObjectItemCaseSensitive(root, keys[k]);
    if (!found[2]) {
        snprintf(msg, msg_size, "missing required key 'password'");
        rc = JOBS_EBODY;
        goto done;
    }
    if (!found[0] && !found[1]) {
        snprintf(msg, msg_size, "missing key 'username' or 'email'");
        rc = JOBS_EBODY;
        goto done;
    }
    if ((found[0] &&
         (rc = get_text(b->user, SRV_LOGIN_MAX, found[0], "username", msg, msg_size))) ||
        (found[1] && (rc = get_text(b->mail, SRV_LOGIN_MAX, found[1], "email", msg, msg_size))) ||
        (rc = get_text(b->password, SRV_PASSWORD_MAX, found[2], "password", msg,
                       msg_size)))
        goto done;
    memcpy(out, b, sizeof *out);
    out->username = found[0] ? out->user : NULL;
    out->email = found[1] ? out->mail : NULL;
done:
    if (b) {
        sodium_memzero(b, sizeof *b);
        free(b);
    }
    /* cJSON's copy of the password goes with the tree; wipe it first. */
    if (found[2] && cJSON_IsString(found[2]) && found[2]->valuestring)
        sodium_memzero(found[2]->valuestring, strlen(found[2]->valuestring));
    cJSON_Delete(root);
    return rc;
}
