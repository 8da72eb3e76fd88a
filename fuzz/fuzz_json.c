/* fuzz_json: every request decoder of jobs/json.h on the same bytes.
 *
 * For each decoder: the code is one the decoder documents (never JOBS_ENOMEM: nothing runs out
 * of memory here); on failure the output struct is untouched, byte for byte, and
 * jobs_error_last() says something; on success the output obeys docs/json.md (field bits only
 * for keys given, ids and timestamps in 1..2^53-1, periods in 60..31536000, names that pass
 * jobs_name_is_valid(), pointers into the struct itself). Across decoders: all six share the
 * syntax check (with jobs_json_check_object(), the check a host's own body gets), so either
 * all answer JOBS_ESYNTAX or none does; a body that the create decoder
 * accepts, the update decoder accepts with the same result. Round trip: an accepted body is
 * written again by cJSON from the decoded values, and decoding that gives the same values.
 * Envelopes (inline authentication): see check_envelope(). */
#include "fuzz.h"

#include <inttypes.h>
#include <string.h>

#include <cJSON.h>

#include <jobs.h>

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

/* A detail is text a host can show or log as it is: valid UTF-8 (RFC 3629) without control
 * bytes, as the keys it quotes are sanitised (docs/json.md: control bytes as '?', a character
 * never cut). */
static bool text_ok(const unsigned char *s)
{
    return fuzz_utf8_ok(s, false);
}

/* The decoders' possible answers (JOBS_ENOMEM and JOBS_EINVAL excluded: neither can happen). */
static void check_code(int rc, bool name_rules, bool config_rules)
{
    FUZZ_CHECK(rc == 0 || rc == JOBS_ESYNTAX || rc == JOBS_EBODY ||
               (name_rules && rc == JOBS_ENAME) || (config_rules && rc == JOBS_ECONFIG));
    if (rc != 0) {
        const char *msg = jobs_error_last();
        FUZZ_CHECK(msg && msg[0]);
        FUZZ_CHECK(text_ok((const unsigned char *)msg));
    }
}

static bool id_ok(uint64_t v)
{
    return v >= 1 && v <= JOBS_ID_MAX;
}

/* A name field: spec_name is NULL and buf "" for none, else spec_name == buf, a valid name. */
static void check_name(const char *spec_name, const char *buf, bool given)
{
    if (!given || !spec_name) {
        FUZZ_CHECK(spec_name == NULL);
        FUZZ_CHECK(buf[0] == '\0');
        return;
    }
    FUZZ_CHECK(spec_name == buf);
    FUZZ_CHECK(jobs_name_is_valid(buf, strnlen(buf, JOBS_NAME_MAX + 1)));
}

static void check_job(const jobs_json_job_body *b, bool create)
{
    const jobs_job_spec *s = &b->spec;
    unsigned all = JOBS_JOB_NAME | JOBS_JOB_STACK | JOBS_JOB_SCHEDULE | JOBS_JOB_ENABLED |
                   JOBS_JOB_DELIVERY | JOBS_JOB_LEASE | JOBS_JOB_MAX_ATTEMPTS | JOBS_JOB_MISFIRE;

    FUZZ_CHECK((s->fields & ~all) == 0);
    /* The run settings (docs/runs.md): each in its range when given, untouched when not. */
    FUZZ_CHECK((s->fields & JOBS_JOB_DELIVERY) ? (s->delivery == JOBS_DELIVERY_AT_MOST_ONCE ||
                                                  s->delivery == JOBS_DELIVERY_AT_LEAST_ONCE)
                                               : s->delivery == JOBS_DELIVERY_AT_MOST_ONCE);
    FUZZ_CHECK((s->fields & JOBS_JOB_LEASE) ? s->lease >= 1 && s->lease <= JOBS_LEASE_MAX
                                            : s->lease == 0);
    FUZZ_CHECK((s->fields & JOBS_JOB_MAX_ATTEMPTS)
                   ? s->max_attempts >= 1 && s->max_attempts <= JOBS_MAX_ATTEMPTS_MAX
                   : s->max_attempts == 0);
    if (!(s->fields & JOBS_JOB_MISFIRE))
        FUZZ_CHECK(s->misfire == JOBS_MISFIRE_COALESCE && s->misfire_value == 0);
    else if (s->misfire == JOBS_MISFIRE_SKIP)
        FUZZ_CHECK(s->misfire_value <= JOBS_GRACE_MAX);
    else if (s->misfire == JOBS_MISFIRE_CATCH_UP)
        FUZZ_CHECK(s->misfire_value >= 1 && s->misfire_value <= JOBS_CATCH_UP_MAX);
    else
        FUZZ_CHECK(s->misfire == JOBS_MISFIRE_COALESCE && s->misfire_value == 0);
    if (create)
        FUZZ_CHECK((s->fields & (JOBS_JOB_STACK | JOBS_JOB_SCHEDULE)) ==
                   (JOBS_JOB_STACK | JOBS_JOB_SCHEDULE));
    FUZZ_CHECK((s->fields & JOBS_JOB_STACK) ? id_ok(s->stack) : s->stack == 0);
    FUZZ_CHECK((s->fields & JOBS_JOB_SCHEDULE) ? id_ok(s->schedule) : s->schedule == 0);
    FUZZ_CHECK((s->fields & JOBS_JOB_ENABLED) || !s->enabled);
    check_name(s->name, b->name, s->fields & JOBS_JOB_NAME);
}

static void check_schedule(const jobs_json_schedule_body *b, bool create)
{
    const jobs_schedule_spec *s = &b->spec;
    unsigned all = JOBS_SCHEDULE_NAME | JOBS_SCHEDULE_ONCE | JOBS_SCHEDULE_CONFIG |
                   JOBS_SCHEDULE_KIND;

    FUZZ_CHECK((s->fields & ~all) == 0);
    FUZZ_CHECK(!create || (s->fields & JOBS_SCHEDULE_CONFIG));
    FUZZ_CHECK((s->fields & JOBS_SCHEDULE_ONCE) || !s->once);
    /* The kind is set by a cron config, or by an update's once: false with a period. */
    if (s->fields & JOBS_SCHEDULE_KIND) {
        FUZZ_CHECK(s->fields & JOBS_SCHEDULE_CONFIG);
        FUZZ_CHECK(s->kind == JOBS_SCHEDULE_CRON ||
                   (s->kind == JOBS_SCHEDULE_PERIODIC && !create && s->period != 0 &&
                    (s->fields & JOBS_SCHEDULE_ONCE) && !s->once));
    }
    if (s->cron) {
        FUZZ_CHECK((s->fields & JOBS_SCHEDULE_KIND) && s->kind == JOBS_SCHEDULE_CRON);
        FUZZ_CHECK(s->cron == b->cron && strlen(b->cron) <= JOBS_CRON_MAX);
        FUZZ_CHECK(s->period == 0 && s->timestamp == 0 && !s->once);
        FUZZ_CHECK(!s->tz || (s->tz == b->tz && strlen(b->tz) <= JOBS_TZ_MAX));
        check_name(s->name, b->name, s->fields & JOBS_SCHEDULE_NAME);
        return;
    }
    FUZZ_CHECK(s->tz == NULL && !((s->fields & JOBS_SCHEDULE_KIND) && s->kind != JOBS_SCHEDULE_PERIODIC));
    if (s->fields & JOBS_SCHEDULE_CONFIG) {
        /* Exactly one of the two, in its range. */
        FUZZ_CHECK((s->period != 0) != (s->timestamp != 0));
        FUZZ_CHECK(s->period == 0 ||
                   (s->period >= JOBS_PERIOD_MIN && s->period <= JOBS_PERIOD_MAX));
        FUZZ_CHECK(s->timestamp == 0 ||
                   (s->timestamp >= 1 && (uint64_t)s->timestamp <= JOBS_ID_MAX));
        /* The key matches `once` whenever `once` is known (given, or defaulted on create). */
        if (create || (s->fields & JOBS_SCHEDULE_ONCE))
            FUZZ_CHECK(s->once ? s->timestamp != 0 : s->period != 0);
    } else {
        FUZZ_CHECK(s->period == 0 && s->timestamp == 0);
    }
    check_name(s->name, b->name, s->fields & JOBS_SCHEDULE_NAME);
}

static bool same_job(const jobs_json_job_body *a, const jobs_json_job_body *b)
{
    return a->spec.fields == b->spec.fields && a->spec.stack == b->spec.stack &&
           a->spec.schedule == b->spec.schedule && a->spec.enabled == b->spec.enabled &&
           (a->spec.name == NULL) == (b->spec.name == NULL) && strcmp(a->name, b->name) == 0 &&
           a->spec.delivery == b->spec.delivery && a->spec.lease == b->spec.lease &&
           a->spec.max_attempts == b->spec.max_attempts && a->spec.misfire == b->spec.misfire &&
           a->spec.misfire_value == b->spec.misfire_value;
}

static bool same_schedule(const jobs_json_schedule_body *a, const jobs_json_schedule_body *b)
{
    /* An update's once: false with a period adds the periodic kind; nothing else differs. */
    unsigned kind = JOBS_SCHEDULE_KIND;
    bool a_cron = a->spec.cron != NULL, b_cron = b->spec.cron != NULL;

    return (a->spec.fields & ~kind) == (b->spec.fields & ~kind) && a_cron == b_cron &&
           a->spec.once == b->spec.once && a->spec.period == b->spec.period &&
           a->spec.timestamp == b->spec.timestamp &&
           (!a_cron || (strcmp(a->spec.cron, b->spec.cron) == 0 &&
                        (a->spec.tz == NULL) == (b->spec.tz == NULL) &&
                        (!a->spec.tz || strcmp(a->spec.tz, b->spec.tz) == 0))) &&
           (a->spec.name == NULL) == (b->spec.name == NULL) && strcmp(a->name, b->name) == 0;
}

/* ---- round trip: the decoded values written again as JSON by cJSON ------------------------- */

static void add_name(cJSON *o, const char *name)
{
    FUZZ_CHECK(name ? cJSON_AddStringToObject(o, "name", name) != NULL
                    : cJSON_AddNullToObject(o, "name") != NULL);
}

/* An integer member, printed exactly: cJSON's own printer loses digits near 2^53 (it accepts
 * "%1.15g" when that is within an epsilon), as docs/json.md says. */
static void add_integer(cJSON *o, const char *key, uint64_t v)
{
    char text[24];

    snprintf(text, sizeof text, "%" PRIu64, v);
    FUZZ_CHECK(cJSON_AddRawToObject(o, key, text) != NULL);
}

/* Prints `o` (and deletes it) and returns the text. */
static char *print(cJSON *o, size_t *len)
{
    char *text = cJSON_PrintUnformatted(o);

    FUZZ_CHECK(text != NULL);
    cJSON_Delete(o);
    *len = strlen(text);
    return text;
}

static void round_trip_job(const jobs_json_job_body *b)
{
    cJSON *o = cJSON_CreateObject();
    jobs_json_job_body again;
    size_t len;
    char *text;

    FUZZ_CHECK(o != NULL);
    add_integer(o, "schedule_id", b->spec.schedule);
    add_integer(o, "stack_id", b->spec.stack);
    if (b->spec.fields & JOBS_JOB_NAME)
        add_name(o, b->spec.name);
    if (b->spec.fields & JOBS_JOB_ENABLED)
        cJSON_AddBoolToObject(o, "enabled", b->spec.enabled);
    if (b->spec.fields & JOBS_JOB_DELIVERY)
        FUZZ_CHECK(cJSON_AddStringToObject(o, "delivery",
                                           b->spec.delivery == JOBS_DELIVERY_AT_LEAST_ONCE
                                               ? "at-least-once"
                                               : "at-most-once") != NULL);
    if (b->spec.fields & JOBS_JOB_LEASE)
        add_integer(o, "lease", b->spec.lease);
    if (b->spec.fields & JOBS_JOB_MAX_ATTEMPTS)
        add_integer(o, "max_attempts", b->spec.max_attempts);
    if (b->spec.fields & JOBS_JOB_MISFIRE) {
        static const char *const policies[] = {"coalesce", "skip", "catch-up"};
        cJSON *m = cJSON_AddObjectToObject(o, "misfire");

        FUZZ_CHECK(m != NULL && cJSON_AddStringToObject(m, "policy",
                                                        policies[b->spec.misfire]) != NULL);
        if (b->spec.misfire == JOBS_MISFIRE_SKIP)
            add_integer(m, "grace", b->spec.misfire_value);
        else if (b->spec.misfire == JOBS_MISFIRE_CATCH_UP)
            add_integer(m, "max", b->spec.misfire_value);
    }
    text = print(o, &len);
    FUZZ_CHECK(jobs_json_decode_job_create(&again, text, len) == 0);
    FUZZ_CHECK(same_job(b, &again));
    cJSON_free(text);
}

static void round_trip_schedule(const jobs_json_schedule_body *b)
{
    cJSON *o = cJSON_CreateObject(), *config;
    jobs_json_schedule_body again;
    size_t len;
    char *text;

    FUZZ_CHECK(o != NULL);
    if (b->spec.fields & JOBS_SCHEDULE_NAME)
        add_name(o, b->spec.name);
    if (b->spec.fields & JOBS_SCHEDULE_ONCE)
        cJSON_AddBoolToObject(o, "once", b->spec.once);
    FUZZ_CHECK((config = cJSON_AddObjectToObject(o, "config")) != NULL);
    if (b->spec.cron) {
        FUZZ_CHECK(cJSON_AddStringToObject(config, "cron", b->spec.cron) != NULL);
        if (b->spec.tz)
            FUZZ_CHECK(cJSON_AddStringToObject(config, "tz", b->spec.tz) != NULL);
    } else if (b->spec.period) {
        add_integer(config, "period", (uint64_t)b->spec.period);
    } else {
        add_integer(config, "timestamp", (uint64_t)b->spec.timestamp);
    }
    text = print(o, &len);
    FUZZ_CHECK(jobs_json_decode_schedule_create(&again, text, len) == 0);
    FUZZ_CHECK(same_schedule(b, &again));
    cJSON_free(text);
}

static void round_trip_stack(const jobs_json_stack_body *b)
{
    cJSON *o = cJSON_CreateObject();
    jobs_json_stack_body again;
    size_t len;
    char *text;

    FUZZ_CHECK(o != NULL);
    cJSON_AddStringToObject(o, "name", b->name);
    cJSON_AddBoolToObject(o, "public", b->is_public);
    text = print(o, &len);
    FUZZ_CHECK(jobs_json_decode_stack_create(&again, text, len) == 0);
    FUZZ_CHECK(strcmp(again.name, b->name) == 0 && again.is_public == b->is_public);
    cJSON_free(text);
}

/* ---- inline authentication ----------------------------------------------------------------- */

static bool is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* jobs_json_split_envelope() on the bytes themselves: an envelope or not, and an error only for
 * an envelope, told as one; what it splits out lies in the body. Then on the bytes as the
 * payload of {"auth":{},"payload":...}: a body that a decoder accepts on its own is split out
 * byte for byte (without the whitespace around it), and decodes there as it does alone (a
 * payload nests as deep as a body of its own). `rc` are the target's results for the bytes. */
static void check_envelope(const char *body, size_t size, const int *rc,
                           const jobs_json_job_body *job_update)
{
    static const char head[] = "{\"auth\":{},\"payload\":";
    jobs_json_span a, p;
    jobs_json_job_body again;
    size_t n = sizeof head - 1 + size + 1, at = 0, end = size;
    bool env;
    char *w;
    int src = jobs_json_split_envelope(&env, &a, &p, body, size);

    FUZZ_CHECK(src == 0 || src == JOBS_ESYNTAX || src == JOBS_EBODY);
    FUZZ_CHECK(env || src == 0);
    if (src != 0)
        FUZZ_CHECK(strncmp(jobs_error_last(), "inline authentication: ", 23) == 0);
    if (src == 0 && env) {
        FUZZ_CHECK(a.at >= body && a.at + a.len <= body + size && a.len >= 2 &&
                   a.at[0] == '{' && a.at[a.len - 1] == '}');
        FUZZ_CHECK(!p.at || (p.at >= body && p.at + p.len <= body + size && p.len > 0));
    }
    if (n > JOBS_JSON_BODY_MAX || (rc[1] != 0 && rc[4] != 0 && rc[5] != 0))
        return;
    FUZZ_CHECK((w = malloc(n)) != NULL);
    memcpy(w, head, sizeof head - 1);
    memcpy(w + sizeof head - 1, body, size);
    w[n - 1] = '}';
    src = jobs_json_split_envelope(&env, &a, &p, w, n);
    FUZZ_CHECK(src == 0 && env && a.len == 2 && memcmp(a.at, "{}", 2) == 0);
    while (at < end && is_ws(body[at]))
        at++;
    while (end > at && is_ws(body[end - 1]))
        end--;
    FUZZ_CHECK(p.at == w + sizeof head - 1 + at && p.len == end - at);
    if (rc[1] == 0) {
        FUZZ_CHECK(jobs_json_decode_job_update(&again, p.at, p.len) == 0);
        FUZZ_CHECK(same_job(job_update, &again));
    }
    free(w);
}

/* ---- the target ---------------------------------------------------------------------------- */

/* The output buffers, filled with a pattern before each call to see that a refusal leaves them
 * untouched. */
static struct {
    jobs_json_job_body job_create, job_update;
    jobs_json_schedule_body schedule_create, schedule_update;
    jobs_json_stack_body stack;
} out, pattern;

/* The keys jobs_json_check_object() allows here: those of a login body. */
static const char *const object_keys[] = {"username", "email", "password"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The API allows NULL exactly when the length is 0. */
    const char *body = size ? (const char *)data : NULL;
    int rc[6], syntax = 0;

    memset(&pattern, 0xa5, sizeof pattern);
    memcpy(&out, &pattern, sizeof out);

    rc[0] = jobs_json_decode_job_create(&out.job_create, body, size);
    check_code(rc[0], true, false);
    rc[1] = jobs_json_decode_job_update(&out.job_update, body, size);
    check_code(rc[1], true, false);
    rc[2] = jobs_json_decode_schedule_create(&out.schedule_create, body, size);
    check_code(rc[2], true, true);
    rc[3] = jobs_json_decode_schedule_update(&out.schedule_update, body, size);
    check_code(rc[3], true, true);
    rc[4] = jobs_json_decode_stack_create(&out.stack, body, size);
    check_code(rc[4], true, false);
    rc[5] = jobs_json_check_object(body, size, object_keys, 3);
    check_code(rc[5], false, false);

    for (int i = 0; i < 6; i++)
        syntax += rc[i] == JOBS_ESYNTAX;
    FUZZ_CHECK(syntax == 0 || syntax == 6);

    /* The stack body of the original's shape: accepted blocks are a span of the body, and
     * encode back as they are. */
    {
        jobs_json_stack_spec_body sb;
        int src = jobs_json_decode_stack(&sb, body, size, JOBS_JSON_STACK_CREATE);

        FUZZ_CHECK(src != JOBS_ESYNTAX || syntax == 6);
        if (src == 0 && (sb.spec.fields & JOBS_STACK_BLOCKS)) {
            jobs_stack_detail d = {1, 1, sb.name, false, false, JOBS_WEBHOOK_NONE,
                                   JOBS_WEBHOOK_GET, NULL, sb.spec.blocks, sb.spec.blocks_len};
            char *json = NULL;

            FUZZ_CHECK((const char *)sb.spec.blocks >= body &&
                       (const char *)sb.spec.blocks + sb.spec.blocks_len <= body + size);
            FUZZ_CHECK(sb.spec.blocks_len <= JOBS_STACK_BLOCKS_MAX);
            FUZZ_CHECK(jobs_json_encode_stack_detail(&json, &d, 0, NULL, 0) == 0);
            FUZZ_CHECK(strstr(json, "\"blocks\":") != NULL);
            jobs_json_free(json);
        }
    }

    check_envelope(body, size, rc, &out.job_update);

    /* A refused body leaves its output as it was. */
    FUZZ_CHECK(rc[0] == 0 || !memcmp(&out.job_create, &pattern.job_create, sizeof out.job_create));
    FUZZ_CHECK(rc[1] == 0 || !memcmp(&out.job_update, &pattern.job_update, sizeof out.job_update));
    FUZZ_CHECK(rc[2] == 0 || !memcmp(&out.schedule_create, &pattern.schedule_create,
                                      sizeof out.schedule_create));
    FUZZ_CHECK(rc[3] == 0 || !memcmp(&out.schedule_update, &pattern.schedule_update,
                                      sizeof out.schedule_update));
    FUZZ_CHECK(rc[4] == 0 || !memcmp(&out.stack, &pattern.stack, sizeof out.stack));

    if (rc[0] == 0) {
        check_job(&out.job_create, true);
        FUZZ_CHECK(rc[1] == 0 && same_job(&out.job_create, &out.job_update));
        round_trip_job(&out.job_create);
    }
    if (rc[1] == 0)
        check_job(&out.job_update, false);
    if (rc[2] == 0) {
        check_schedule(&out.schedule_create, true);
        FUZZ_CHECK(rc[3] == 0 && same_schedule(&out.schedule_create, &out.schedule_update));
        round_trip_schedule(&out.schedule_create);
    }
    if (rc[3] == 0)
        check_schedule(&out.schedule_update, false);
    if (rc[4] == 0) {
        FUZZ_CHECK(jobs_name_is_valid(out.stack.name, strnlen(out.stack.name, JOBS_NAME_MAX + 1)));
        round_trip_stack(&out.stack);
    }
    if (rc[5] == 0) {
        /* cJSON parses what passed into an object of the allowed keys, each at most once. */
        cJSON *root = cJSON_ParseWithLength(body, size);
        unsigned seen = 0;

        FUZZ_CHECK(root != NULL && cJSON_IsObject(root));
        for (const cJSON *c = root->child; c; c = c->next) {
            size_t k = 0;

            while (k < 3 && strcmp(c->string, object_keys[k]) != 0)
                k++;
            FUZZ_CHECK(k < 3 && !(seen & (1u << k)));
            seen |= 1u << k;
        }
        cJSON_Delete(root);
    }
    return 0;
}
