/* The HTTP API's JSON. Encoders write by hand into a growing buffer, so that every integer is
 * printed exactly (cJSON prints numbers with %1.15g). Decoders first check the body themselves
 * with a strict, non-recursive scanner (RFC 8259 grammar, UTF-8, depth, \u0000), then let cJSON
 * build the tree, and read integers from the source text rather than from cJSON's double. */
#include <inttypes.h>
#include <stdio.h>

#include <cJSON.h>
#include <unicode/utf8.h>

#include "util.h"

/* ---- output buffer ----------------------------------------------------------------------- */

typedef struct jbuf {
    char *p;
    size_t len;
    size_t cap;
    bool oom;
} jbuf;

static void jb_put(jbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->cap - b->len <= n) {
        size_t cap = b->cap ? b->cap : 256;
        char *p;

        while (cap - b->len <= n)
            cap *= 2;
        if (!(p = jobs__realloc(b->p, cap))) {
            b->oom = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

/* Room for n more bytes up front, so that a known-size answer does not grow by doubling. */
static void jb_reserve(jbuf *b, size_t n)
{
    char *p;

    if (b->oom || b->cap - b->len > n)
        return;
    if (!(p = jobs__realloc(b->p, b->len + n + 1))) {
        b->oom = true;
        return;
    }
    b->p = p;
    b->cap = b->len + n + 1;
}

static void jb_lit(jbuf *b, const char *s)
{
    jb_put(b, s, strlen(s));
}

/* Decimal digits, written backwards from the end of t[24]; returns where they start. (Not
 * snprintf: a page of jobs prints some forty numbers, and snprintf was most of its cost.) */
static char *u64_digits(char t[24], uint64_t v)
{
    char *p = t + 24;

    do {
        *--p = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return p;
}

static void jb_u64(jbuf *b, uint64_t v)
{
    char t[24], *p = u64_digits(t, v);

    jb_put(b, p, (size_t)(t + 24 - p));
}

static void jb_i64(jbuf *b, int64_t v)
{
    char t[24], *p = u64_digits(t, v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v);

    if (v < 0)
        *--p = '-';
    jb_put(b, p, (size_t)(t + 24 - p));
}

static void jb_bool(jbuf *b, bool v)
{
    jb_lit(b, v ? "true" : "false");
}

/* A JSON string, or null for NULL. Output stays UTF-8; a byte that does not start a valid
 * sequence becomes U+FFFD, so that the output is valid JSON whatever the input. */
static void jb_strn(jbuf *b, const char *str, size_t n);

static void jb_str(jbuf *b, const char *str)
{
    if (!str) {
        jb_lit(b, "null");
        return;
    }
    jb_strn(b, str, strlen(str));
}

/* str[0..n) as a JSON string: a NUL byte becomes \u0000. */
static void jb_strn(jbuf *b, const char *str, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0, run = 0;

    jb_put(b, "\"", 1);
    while (i < n) {
        unsigned char c = s[i];
        char esc[7];
        size_t k;

        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
            i++; /* printable ASCII: as it is, without the UTF-8 check */
            run++;
            continue;
        }
        if (c >= 0x80) {
            k = jobs__utf8_seq_len(s + i, n - i);
            if (k) {
                i += k;
                run += k;
                continue;
            }
        }
        jb_put(b, (const char *)s + i - run, run);
        run = 0;
        switch (c) {
        case '"':  jb_lit(b, "\\\""); break;
        case '\\': jb_lit(b, "\\\\"); break;
        case '\b': jb_lit(b, "\\b"); break;
        case '\f': jb_lit(b, "\\f"); break;
        case '\n': jb_lit(b, "\\n"); break;
        case '\r': jb_lit(b, "\\r"); break;
        case '\t': jb_lit(b, "\\t"); break;
        default:
            if (c < 0x20 || c == 0x7f) {
                memcpy(esc, "\\u00", 4);
                esc[4] = hex[c >> 4];
                esc[5] = hex[c & 0xf];
                jb_put(b, esc, 6);
            } else {
                jb_lit(b, "\xef\xbf\xbd"); /* U+FFFD for a byte of invalid UTF-8 */
            }
        }
        i++;
    }
    jb_put(b, (const char *)s + i - run, run);
    jb_put(b, "\"", 1);
}

static int jb_finish(jbuf *b, char **out)
{
    if (b->oom) {
        jobs__free(b->p);
        return jobs__error(JOBS_ENOMEM, "out of memory writing JSON");
    }
    *out = b->p;
    return 0;
}

/* ---- encoders ---------------------------------------------------------------------------- */

void jobs_json_free(char *json)
{
    jobs__free(json);
}

static void put_job(jbuf *b, const jobs_job *j, unsigned int flags)
{
    jb_lit(b, "{\"id\":");
    jb_u64(b, j->id);
    if (flags & JOBS_JSON_OWNER) {
        jb_lit(b, ",\"owner\":");
        jb_u64(b, j->owner);
    }
    jb_lit(b, ",\"name\":");
    jb_str(b, j->name);
    jb_lit(b, ",\"stack\":");
    jb_u64(b, j->stack);
    jb_lit(b, ",\"schedule\":");
    jb_u64(b, j->schedule);
    jb_lit(b, ",\"next_run\":");
    if (j->do_run)
        jb_i64(b, j->next_run);
    else
        jb_lit(b, "null");
    jb_lit(b, ",\"do_run\":");
    jb_bool(b, j->do_run);
    jb_lit(b, ",\"do_del\":");
    jb_bool(b, j->do_del);
    jb_put(b, "}", 1);
}

static void put_schedule(jbuf *b, const jobs_schedule *s)
{
    jb_lit(b, "{\"id\":");
    jb_u64(b, s->id);
    jb_lit(b, ",\"owner\":");
    jb_u64(b, s->owner);
    jb_lit(b, ",\"name\":");
    jb_str(b, s->name);
    jb_lit(b, ",\"once\":");
    jb_bool(b, s->once);
    if (s->kind == JOBS_SCHEDULE_CRON && s->cron) {
        jb_lit(b, ",\"config\":{\"cron\":");
        jb_str(b, s->cron);
        jb_lit(b, ",\"tz\":");
        jb_str(b, s->tz ? s->tz : "UTC");
    } else if (s->once) {
        jb_lit(b, ",\"config\":{\"timestamp\":");
        jb_i64(b, s->timestamp);
    } else {
        jb_lit(b, ",\"config\":{\"period\":");
        jb_i64(b, s->period);
    }
    jb_lit(b, "}}");
}

static void put_stack(jbuf *b, const jobs_stack *s)
{
    jb_lit(b, "{\"id\":");
    jb_u64(b, s->id);
    jb_lit(b, ",\"owner\":");
    jb_u64(b, s->owner);
    jb_lit(b, ",\"name\":");
    jb_str(b, s->name);
    jb_lit(b, ",\"public\":");
    jb_bool(b, s->is_public);
    jb_put(b, "}", 1);
}

static void put_time_or_null(jbuf *b, int64_t t)
{
    if (t)
        jb_i64(b, t);
    else
        jb_lit(b, "null");
}

static void put_run(jbuf *b, const jobs_run *r)
{
    jb_lit(b, "{\"id\":");
    jb_u64(b, r->id);
    jb_lit(b, ",\"job\":");
    if (r->job)
        jb_u64(b, r->job);
    else
        jb_lit(b, "null");
    jb_lit(b, ",\"stack\":");
    jb_u64(b, r->stack);
    jb_lit(b, ",\"slot\":");
    jb_i64(b, r->slot);
    jb_lit(b, ",\"trigger\":");
    jb_str(b, jobs_run_trigger_name(r->trigger));
    jb_lit(b, ",\"state\":");
    jb_str(b, jobs_run_state_name(r->state));
    jb_lit(b, ",\"attempt\":");
    jb_u64(b, r->attempt);
    jb_lit(b, ",\"created\":");
    jb_i64(b, r->created);
    jb_lit(b, ",\"started\":");
    put_time_or_null(b, r->started);
    jb_lit(b, ",\"finished\":");
    put_time_or_null(b, r->finished);
    jb_lit(b, ",\"lease_until\":");
    put_time_or_null(b, r->lease_until);
    jb_lit(b, ",\"missed\":");
    jb_u64(b, r->missed);
    jb_lit(b, ",\"missed_since\":");
    put_time_or_null(b, r->missed_since);
    jb_lit(b, ",\"message\":");
    jb_str(b, r->message);
    jb_lit(b, ",\"output\":");
    jb_strn(b, r->output ? r->output : "", r->output ? r->output_len : 0);
    jb_put(b, "}", 1);
}

static void put_page_head(jbuf *b, uint64_t count, uint32_t page_size, uint64_t page,
                          const char *key)
{
    jb_lit(b, "{\"count\":");
    jb_u64(b, count);
    jb_lit(b, ",\"pagesize\":");
    jb_u64(b, page_size);
    jb_lit(b, ",\"page\":");
    jb_u64(b, page);
    jb_lit(b, ",\"");
    jb_lit(b, key);
    jb_lit(b, "\":[");
}

/* Checks the output argument and the input of an encoder, and clears *out. */
static int encode_start(char **out, const void *in, const char *fn)
{
    if (!out)
        return jobs__error(JOBS_EINVAL, "%s: out is NULL", fn);
    *out = NULL;
    if (!in)
        return jobs__error(JOBS_EINVAL, "%s: nothing to encode (NULL)", fn);
    return 0;
}

/* `{"key":N}`: `head` is the opening up to the colon. */
static int encode_number(char **out, const char *fn, const char *head, uint64_t v)
{
    jbuf b = {0};

    if (!out)
        return jobs__error(JOBS_EINVAL, "%s: out is NULL", fn);
    *out = NULL;
    jb_lit(&b, head);
    jb_u64(&b, v);
    jb_put(&b, "}", 1);
    return jb_finish(&b, out);
}

int jobs_json_encode_job(char **out, const jobs_job *job, unsigned int flags)
{
    jbuf b = {0};
    int rc;

    if ((rc = encode_start(out, job, "jobs_json_encode_job")))
        return rc;
    if (flags & ~(unsigned int)JOBS_JSON_OWNER)
        return jobs__error(JOBS_EINVAL, "jobs_json_encode_job: unknown flags 0x%x", flags);
    put_job(&b, job, flags);
    return jb_finish(&b, out);
}

/* A page of any kind: the head, then each item as `put` writes it. */
typedef void (*put_item_fn)(jbuf *b, const void *item);

static int encode_page(char **out, const char *fn, const char *key, uint64_t count,
                       uint32_t page_size, uint64_t page, size_t n, const void *items,
                       size_t item_size, size_t item_guess, put_item_fn put)
{
    jbuf b = {0};

    if (n && !items)
        return jobs__error(JOBS_EINVAL, "%s: n is %zu but %s is NULL", fn, n, key);
    jb_reserve(&b, 64 + n * item_guess); /* one allocation for a page of ordinary items */
    put_page_head(&b, count, page_size, page, key);
    for (size_t i = 0; i < n; i++) {
        if (i)
            jb_put(&b, ",", 1);
        put(&b, (const char *)items + i * item_size);
    }
    jb_lit(&b, "]}");
    return jb_finish(&b, out);
}

static void put_job_item(jbuf *b, const void *item)
{
    put_job(b, item, 0);
}

static void put_schedule_item(jbuf *b, const void *item)
{
    put_schedule(b, item);
}

static void put_stack_item(jbuf *b, const void *item)
{
    put_stack(b, item);
}

/* An item already encoded (a NUL-terminated JSON text). */
static void put_text_item(jbuf *b, const void *item)
{
    jb_lit(b, *(const char *const *)item);
}

int jobs_json_encode_job_page(char **out, const jobs_job_page *page)
{
    static const char fn[] = "jobs_json_encode_job_page";
    int rc = encode_start(out, page, fn);

    /* a job without a long name is about 110 bytes */
    return rc ? rc
              : encode_page(out, fn, "jobs", page->count, page->page_size, page->page, page->n,
                            page->jobs, sizeof(*page->jobs), 160, put_job_item);
}

int jobs_json_encode_run(char **out, const jobs_run *run)
{
    jbuf b = {0};
    int rc;

    if ((rc = encode_start(out, run, "jobs_json_encode_run")))
        return rc;
    put_run(&b, run);
    return jb_finish(&b, out);
}

static void put_run_item(jbuf *b, const void *item)
{
    put_run(b, *(const jobs_run *const *)item);
}

int jobs_json_encode_run_page(char **out, const jobs_run_page *page)
{
    static const char fn[] = "jobs_json_encode_run_page";
    int rc = encode_start(out, page, fn);

    /* a run with a short message is about 200 bytes */
    return rc ? rc
              : encode_page(out, fn, "runs", page->count, page->page_size, page->page, page->n,
                            page->runs, sizeof(*page->runs), 240, put_run_item);
}

int jobs_json_encode_run_id(char **out, uint64_t run)
{
    return encode_number(out, "jobs_json_encode_run_id", "{\"run\":", run);
}

/* The members of a job policy, `"delivery":...,"misfire":{...}` (no braces around them); its
 * misfire is checked by the caller. */
static void put_policy_members(jbuf *b, const jobs_job_policy *p)
{
    static const char *const misfire[] = {"\"coalesce\"", "\"skip\"", "\"catch-up\""};

    /* The values are constants: written as they are, not through the string escaper. */
    if (p->delivery == JOBS_DELIVERY_AT_LEAST_ONCE)
        jb_lit(b, "\"delivery\":\"at-least-once\"");
    else
        jb_lit(b, "\"delivery\":\"at-most-once\"");
    jb_lit(b, ",\"lease\":");
    jb_u64(b, p->lease);
    jb_lit(b, ",\"max_attempts\":");
    jb_u64(b, p->max_attempts);
    jb_lit(b, ",\"misfire\":{\"policy\":");
    jb_put(b, misfire[p->misfire], strlen(misfire[p->misfire]));
    if (p->misfire == JOBS_MISFIRE_SKIP) {
        jb_lit(b, ",\"grace\":");
        jb_u64(b, p->misfire_value);
    } else if (p->misfire == JOBS_MISFIRE_CATCH_UP) {
        jb_lit(b, ",\"max\":");
        jb_u64(b, p->misfire_value);
    }
    jb_put(b, "}", 1);
}

static int check_policy(const jobs_job_policy *p, const char *fn)
{
    if ((unsigned)p->misfire > JOBS_MISFIRE_CATCH_UP)
        return jobs__error(JOBS_EINVAL, "%s: misfire %d", fn, (int)p->misfire);
    return 0;
}

int jobs_json_encode_job_policy(char **out, const jobs_job_policy *p)
{
    jbuf b = {0};
    int rc;

    if ((rc = encode_start(out, p, "jobs_json_encode_job_policy")) ||
        (rc = check_policy(p, "jobs_json_encode_job_policy")))
        return rc;
    jb_put(&b, "{", 1);
    put_policy_members(&b, p);
    jb_put(&b, "}", 1);
    return jb_finish(&b, out);
}

/* A job as put_job() writes it, with its policy's members before the closing brace. */
static void put_job_with_policy(jbuf *b, const jobs_job *j, const jobs_job_policy *p,
                                unsigned int flags)
{
    put_job(b, j, flags);
    if (!p)
        return;
    if (b->oom)
        return;
    b->p[b->len - 1] = ','; /* over the closing brace */
    put_policy_members(b, p);
    jb_put(b, "}", 1);
}

int jobs_json_encode_job_with_policy(char **out, const jobs_job *job,
                                     const jobs_job_policy *policy, unsigned int flags)
{
    static const char fn[] = "jobs_json_encode_job_with_policy";
    jbuf b = {0};
    int rc;

    if ((rc = encode_start(out, job, fn)) || (policy && (rc = check_policy(policy, fn))))
        return rc;
    if (flags & ~(unsigned int)JOBS_JSON_OWNER)
        return jobs__error(JOBS_EINVAL, "%s: unknown flags 0x%x", fn, flags);
    put_job_with_policy(&b, job, policy, flags);
    return jb_finish(&b, out);
}

int jobs_json_encode_job_page_with_policies(char **out, const jobs_job_page *page,
                                            const jobs_job_policy *policies)
{
    static const char fn[] = "jobs_json_encode_job_page_with_policies";
    jbuf b = {0};
    int rc = encode_start(out, page, fn);

    if (rc)
        return rc;
    if (!policies)
        return jobs_json_encode_job_page(out, page);
    if (page->n && !page->jobs)
        return jobs__error(JOBS_EINVAL, "%s: n is %zu but jobs is NULL", fn, page->n);
    for (size_t i = 0; i < page->n; i++)
        if ((rc = check_policy(&policies[i], fn)))
            return rc;
    jb_reserve(&b, 64 + page->n * 260);
    put_page_head(&b, page->count, page->page_size, page->page, "jobs");
    for (size_t i = 0; i < page->n; i++) {
        if (i)
            jb_put(&b, ",", 1);
        put_job_with_policy(&b, &page->jobs[i], &policies[i], 0);
    }
    jb_lit(&b, "]}");
    return jb_finish(&b, out);
}

int jobs_json_encode_schedule(char **out, const jobs_schedule *schedule)
{
    jbuf b = {0};
    int rc;

    if ((rc = encode_start(out, schedule, "jobs_json_encode_schedule")))
        return rc;
    put_schedule(&b, schedule);
    return jb_finish(&b, out);
}

int jobs_json_encode_schedule_page(char **out, const jobs_schedule_page *page)
{
    static const char fn[] = "jobs_json_encode_schedule_page";
    int rc = encode_start(out, page, fn);

    return rc ? rc
              : encode_page(out, fn, "schedules", page->count, page->page_size, page->page,
                            page->n, page->schedules, sizeof(*page->schedules), 96,
                            put_schedule_item);
}

int jobs_json_encode_stack(char **out, const jobs_stack *stack)
{
    jbuf b = {0};
    int rc;

    if ((rc = encode_start(out, stack, "jobs_json_encode_stack")))
        return rc;
    put_stack(&b, stack);
    return jb_finish(&b, out);
}

int jobs_json_encode_stack_page(char **out, const jobs_stack_page *page)
{
    static const char fn[] = "jobs_json_encode_stack_page";
    int rc = encode_start(out, page, fn);

    return rc ? rc
              : encode_page(out, fn, "stacks", page->count, page->page_size, page->page, page->n,
                            page->stacks, sizeof(*page->stacks), 80, put_stack_item);
}

static const char *const webhook_names[] = {NULL, "public", "token", "user"};
static const char *const method_names[] = {"GET", "POST"};

static int scan(const char *body, size_t len, size_t max_depth);

/* scan() for a question about bytes that are no request body (stored blocks, a run's output):
 * its refusal is an answer, not the caller's error, and an encoder that succeeds leaves
 * jobs_error_last() as it was (jobs/errors.h), so the detail scan() wrote is put back. */
static int scan_quietly(const char *p, size_t n, size_t max_depth)
{
    char kept[JOBS__ERROR_MAX];
    int rc;

    snprintf(kept, sizeof kept, "%s", jobs_error_last());
    if ((rc = scan(p, n, max_depth)))
        jobs__error(rc, "%s", kept);
    return rc;
}

/* Whether stored blocks are one JSON array by the body rules (what the JSON layer stores; a C
 * host may store other bytes, which are never written into an answer). */
static bool blocks_are_array(const char *p, size_t n)
{
    size_t i = 0;

    while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r'))
        i++;
    return i < n && p[i] == '[' && scan_quietly(p, n, JOBS_JSON_DEPTH_MAX) == 0;
}

int jobs_json_encode_stack_detail(char **out, const jobs_stack_detail *st, unsigned int flags,
                                  const jobs_job *jobs, size_t njobs)
{
    static const char fn[] = "jobs_json_encode_stack_detail";
    jbuf b = {0};
    bool shown;
    int rc;

    if ((rc = encode_start(out, st, fn)))
        return rc;
    if (flags & ~(unsigned int)JOBS_JSON_STACK_OWNER)
        return jobs__error(JOBS_EINVAL, "%s: unknown flags 0x%x", fn, flags);
    if ((flags & JOBS_JSON_STACK_OWNER) && njobs && !jobs)
        return jobs__error(JOBS_EINVAL, "%s: njobs is %zu but jobs is NULL", fn, njobs);
    if ((unsigned)st->webhook > JOBS_WEBHOOK_USER || (unsigned)st->webhook_method > 1)
        return jobs__error(JOBS_EINVAL, "%s: unknown webhook kind or method", fn);
    /* Stored blocks that are not one JSON array (bytes a C host stored) are shown as none: the
     * stack, and a page holding it, stay readable, and the bytes are never written raw. */
    shown = st->blocks && blocks_are_array(st->blocks, st->blocks_len);
    jb_reserve(&b, 256 + (shown ? st->blocks_len : 0) + njobs * 80);
    jb_lit(&b, "{\"id\":");
    jb_u64(&b, st->id);
    jb_lit(&b, ",\"owner\":");
    jb_u64(&b, st->owner);
    jb_lit(&b, ",\"name\":");
    jb_str(&b, st->name);
    jb_lit(&b, ",\"public\":");
    jb_bool(&b, st->is_public);
    jb_lit(&b, ",\"needs_approval\":");
    jb_bool(&b, st->needs_approval);
    jb_lit(&b, ",\"webhook\":");
    jb_str(&b, webhook_names[st->webhook]);
    jb_lit(&b, ",\"webhook_method\":");
    jb_str(&b, method_names[st->webhook_method]);
    jb_lit(&b, ",\"blocks\":");
    if (shown)
        jb_put(&b, st->blocks, st->blocks_len);
    else
        jb_lit(&b, "[]");
    if (flags & JOBS_JSON_STACK_OWNER) {
        jb_lit(&b, ",\"webhook_token\":");
        jb_str(&b, st->webhook_token);
        jb_lit(&b, ",\"jobs\":[");
        for (size_t i = 0; i < njobs; i++) {
            jb_lit(&b, i ? ",{\"id\":" : "{\"id\":");
            jb_u64(&b, jobs[i].id);
            jb_lit(&b, ",\"name\":");
            jb_str(&b, jobs[i].name);
            jb_lit(&b, ",\"do_run\":");
            jb_bool(&b, jobs[i].do_run);
            jb_lit(&b, ",\"schedule\":");
            jb_u64(&b, jobs[i].schedule);
            jb_put(&b, "}", 1);
        }
        jb_put(&b, "]", 1);
    }
    jb_put(&b, "}", 1);
    return jb_finish(&b, out);
}

int jobs_json_encode_stack_page_items(char **out, const jobs_stack_page *page,
                                      const char *const *items)
{
    static const char fn[] = "jobs_json_encode_stack_page_items";
    size_t total = 0;
    int rc;

    if ((rc = encode_start(out, page, fn)))
        return rc;
    if (page->n && !items)
        return jobs__error(JOBS_EINVAL, "%s: n is %zu but items is NULL", fn, page->n);
    for (size_t i = 0; i < page->n; i++) {
        if (!items[i] || !items[i][0])
            return jobs__error(JOBS_EINVAL, "%s: item %zu is %s", fn, i,
                               items[i] ? "empty" : "NULL");
        total += strlen(items[i]) + 1;
    }
    return encode_page(out, fn, "stacks", page->count, page->page_size, page->page, page->n,
                       items, sizeof(*items), page->n ? total / page->n + 1 : 0, put_text_item);
}

int jobs_json_encode_id(char **out, uint64_t id)
{
    return encode_number(out, "jobs_json_encode_id", "{\"id\":", id);
}

int jobs_json_encode_delete(char **out, jobs_delete_outcome outcome, uint64_t id)
{
    jbuf b = {0};

    if (!out)
        return jobs__error(JOBS_EINVAL, "jobs_json_encode_delete: out is NULL");
    *out = NULL;
    if (outcome == JOBS_DELETED)
        jb_lit(&b, "{\"deleted\":");
    else if (outcome == JOBS_QUEUED_FOR_DELETION)
        jb_lit(&b, "{\"queued_for_deletion\":");
    else
        return jobs__error(JOBS_EINVAL, "jobs_json_encode_delete: unknown outcome %d",
                           (int)outcome);
    jb_u64(&b, id);
    jb_put(&b, "}", 1);
    return jb_finish(&b, out);
}

static int encode_fault(char **out, int fault, const char *msg, const char *detail)
{
    jbuf b = {0};

    jb_lit(&b, "{\"code\":");
    jb_i64(&b, fault);
    jb_lit(&b, ",\"msg\":");
    jb_str(&b, msg);
    if (detail) {
        jb_lit(&b, ",\"detail\":");
        jb_str(&b, detail);
    }
    jb_put(&b, "}", 1);
    return jb_finish(&b, out);
}

int jobs_json_encode_error(char **out, int code, const char *msg)
{
    if (!out)
        return jobs__error(JOBS_EINVAL, "jobs_json_encode_error: out is NULL");
    *out = NULL;
    /* msg is often jobs_error_last(): it is read here before anything could overwrite it. */
    return encode_fault(out, jobs_fault_code(code), msg && *msg ? msg : jobs_strerror(code),
                        NULL);
}

int jobs_json_encode_fault(char **out, int fault, const char *msg)
{
    if (!out)
        return jobs__error(JOBS_EINVAL, "jobs_json_encode_fault: out is NULL");
    *out = NULL;
    /* A fault without a message tells a client nothing it can show or act upon. */
    if (!msg || !*msg)
        return jobs__error(JOBS_EINVAL, "jobs_json_encode_fault: msg is %s",
                           msg ? "empty" : "NULL");
    if (fault < 0)
        return jobs__error(JOBS_EINVAL, "jobs_json_encode_fault: fault %d is negative", fault);
    return encode_fault(out, fault, msg, NULL);
}

int jobs_json_encode_fault_detail(char **out, int fault, const char *msg, const char *detail)
{
    if (!out)
        return jobs__error(JOBS_EINVAL, "jobs_json_encode_fault_detail: out is NULL");
    *out = NULL;
    if (!msg || !*msg)
        return jobs__error(JOBS_EINVAL, "jobs_json_encode_fault_detail: msg is %s",
                           msg ? "empty" : "NULL");
    if (fault < 0)
        return jobs__error(JOBS_EINVAL, "jobs_json_encode_fault_detail: fault %d is negative",
                           fault);
    return encode_fault(out, fault, msg, detail);
}

/* ---- the scanner: strict JSON, before cJSON sees the body --------------------------------
 *
 * cJSON is lenient where the contract is not: it takes any byte <= 0x20 as whitespace, raw
 * control characters in strings, leading zeros ("01"), "1." and ".5"-like numbers after a
 * digit, invalid UTF-8, and it truncates strings at \u0000. Scanning first keeps all of that
 * away: a body that passes is valid JSON that cJSON parses exactly, so cJSON can then only fail
 * for want of memory. (cJSON still resets its process-wide error position at every parse; see
 * docs/json.md, "Threads and memory".) */

/* The longest number every cJSON 1.7.x parses whole (some releases copy at most 63 characters
 * to strtod), so that the scanner and cJSON agree on what each number is. No number this long
 * can be right for any key; a longer one is refused as JOBS_EBODY. */
#define NUMBER_MAX 63

static bool is_ws(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

/* The characters cJSON collects into a number before calling strtod. */
static bool is_number_char(unsigned char c)
{
    return is_digit(c) || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E';
}

static int syntax_error(size_t at, const char *what)
{
    return jobs__error(JOBS_ESYNTAX, "not valid JSON: %s at byte %zu", what, at);
}

static bool hex4(const unsigned char *s, size_t len, size_t at, unsigned int *v)
{
    *v = 0;
    if (at > len || len - at < 4)
        return false;
    for (size_t i = at; i < at + 4; i++) {
        unsigned char c = s[i];
        unsigned int d;

        if (is_digit(c))
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            return false;
        *v = (*v << 4) | d;
    }
    return true;
}

/* A string starting at s[*pos] == '"'. Notes the first \u0000 in *nul_at. */
static int scan_string(const unsigned char *s, size_t len, size_t *pos, size_t *nul_at)
{
    size_t i = *pos + 1;

    while (i < len) {
        unsigned char c = s[i];
        unsigned int cu, lo;
        size_t k;

        if (c == '"') {
            *pos = i + 1;
            return 0;
        }
        if (c < 0x20)
            return syntax_error(i, "unescaped control character in a string");
        if (c >= 0x80) {
            if (!(k = jobs__utf8_seq_len(s + i, len - i)))
                return syntax_error(i, "invalid UTF-8 in a string");
            i += k;
            continue;
        }
        if (c != '\\') {
            i++;
            continue;
        }
        if (i + 1 >= len)
            break;
        switch (s[i + 1]) {
        case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
            i += 2;
            continue;
        case 'u':
            break;
        default:
            return syntax_error(i, "invalid escape in a string");
        }
        if (!hex4(s, len, i + 2, &cu))
            return syntax_error(i, "invalid \\u escape");
        if (cu == 0 && *nul_at == SIZE_MAX)
            *nul_at = i;
        if (cu >= 0xdc00 && cu <= 0xdfff)
            return syntax_error(i, "unpaired UTF-16 surrogate escape");
        if (cu >= 0xd800 && cu <= 0xdbff) {
            /* cJSON, like Unicode, wants the low half right after the high one. */
            if (len - i < 12 || s[i + 6] != '\\' || s[i + 7] != 'u' ||
                !hex4(s, len, i + 8, &lo) || lo < 0xdc00 || lo > 0xdfff)
                return syntax_error(i, "unpaired UTF-16 surrogate escape");
            i += 12;
            continue;
        }
        i += 6;
    }
    return syntax_error(*pos, "unterminated string");
}

/* A number starting at s[*pos] ('-' or a digit): the whole run of number characters (what
 * cJSON takes) must match RFC 8259's number grammar. Its length is the caller's to judge. */
static int scan_number(const unsigned char *s, size_t len, size_t *pos)
{
    size_t start = *pos, end = start, i = start;

    while (end < len && is_number_char(s[end]))
        end++;
    if (i < end && s[i] == '-')
        i++;
    if (i < end && s[i] == '0') {
        i++;
    } else if (i < end && s[i] >= '1' && s[i] <= '9') {
        while (i < end && is_digit(s[i]))
            i++;
    } else {
        return syntax_error(start, "invalid number");
    }
    if (i < end && s[i] == '.') {
        if (++i >= end || !is_digit(s[i]))
            return syntax_error(start, "invalid number");
        while (i < end && is_digit(s[i]))
            i++;
    }
    if (i < end && (s[i] == 'e' || s[i] == 'E')) {
        if (++i < end && (s[i] == '+' || s[i] == '-'))
            i++;
        if (i >= end || !is_digit(s[i]))
            return syntax_error(start, "invalid number");
        while (i < end && is_digit(s[i]))
            i++;
    }
    if (i != end)
        return syntax_error(start, "invalid number");
    *pos = end;
    return 0;
}

static bool scan_literal(const unsigned char *s, size_t len, size_t *pos)
{
    static const char *const literals[] = {"true", "false", "null"};

    for (size_t k = 0; k < 3; k++) {
        size_t n = strlen(literals[k]);

        if (len - *pos >= n && memcmp(s + *pos, literals[k], n) == 0) {
            *pos += n;
            return true;
        }
    }
    return false;
}

enum scan_state {
    S_VALUE,          /* a value (top level, after ':' or after ',' in an array) */
    S_VALUE_OR_CLOSE, /* just after '[' */
    S_KEY,            /* after ',' in an object */
    S_KEY_OR_CLOSE,   /* just after '{' */
    S_COLON,          /* after a key */
    S_AFTER,          /* after a value inside a container: ',' or the closing bracket */
    S_DONE            /* after the top-level value: only whitespace may follow */
};

/* Checks that body is exactly one JSON value, nested at most max_depth deep (JOBS_JSON_DEPTH_MAX
 * for a body; an envelope adds one level), with no \u0000 in any string. Iterative: nothing
 * recurses, whatever the depth. The grammar comes first: a body that is not JSON (60,000 '['
 * never closed) is a syntax error, and only a well formed body that nests too deep is
 * JOBS_EBODY. The open brackets are kept one bit each ('{' or '['): a body of at most
 * JOBS_JSON_BODY_MAX bytes opens at most that many. */
#define SCAN_OPEN(d) ((open_bits[(d) / 8] >> ((d) % 8)) & 1u ? '{' : '[')
static int scan(const char *body, size_t len, size_t max_depth)
{
    const unsigned char *s = (const unsigned char *)body;
    unsigned char open_bits[JOBS_JSON_BODY_MAX / 8 + 1];
    enum scan_state state = S_VALUE;
    size_t pos = 0, nul_at = SIZE_MAX, deep_at = SIZE_MAX, long_at = SIZE_MAX;
    size_t depth = 0;
    int rc;

    if (len > JOBS_JSON_BODY_MAX)
        return jobs__error(JOBS_EBODY, "the body is %zu bytes, more than %d", len,
                           JOBS_JSON_BODY_MAX);

    for (;;) {
        unsigned char c;

        while (pos < len && is_ws(s[pos]))
            pos++;
        if (pos == len)
            break;
        c = s[pos];
        if (state == S_DONE)
            return syntax_error(pos, "unexpected data after the JSON value");
        if (state == S_COLON) {
            if (c != ':')
                return syntax_error(pos, "expected ':' after a key");
            pos++;
            state = S_VALUE;
            continue;
        }
        if ((state == S_AFTER && c == (SCAN_OPEN(depth - 1) == '{' ? '}' : ']')) ||
            (state == S_KEY_OR_CLOSE && c == '}') || (state == S_VALUE_OR_CLOSE && c == ']')) {
            pos++;
            depth--;
            state = depth ? S_AFTER : S_DONE;
            continue;
        }
        if (state == S_AFTER) {
            if (c != ',')
                return syntax_error(pos, SCAN_OPEN(depth - 1) == '{' ? "expected ',' or '}'"
                                                                : "expected ',' or ']'");
            pos++;
            state = SCAN_OPEN(depth - 1) == '{' ? S_KEY : S_VALUE;
            continue;
        }
        if (state == S_KEY || state == S_KEY_OR_CLOSE) {
            if (c != '"')
                return syntax_error(pos, "expected a string key");
            if ((rc = scan_string(s, len, &pos, &nul_at)))
                return rc;
            state = S_COLON;
            continue;
        }
        /* S_VALUE or S_VALUE_OR_CLOSE */
        if (c == '{' || c == '[') {
            if (depth == max_depth && deep_at == SIZE_MAX)
                deep_at = pos;
            if (c == '{')
                open_bits[depth / 8] = (unsigned char)(open_bits[depth / 8] | 1u << depth % 8);
            else
                open_bits[depth / 8] = (unsigned char)(open_bits[depth / 8] & ~(1u << depth % 8));
            depth++;
            pos++;
            state = c == '{' ? S_KEY_OR_CLOSE : S_VALUE_OR_CLOSE;
            continue;
        }
        if (c == '"')
            rc = scan_string(s, len, &pos, &nul_at);
        else if (c == '-' || is_digit(c)) {
            size_t start = pos;

            if (!(rc = scan_number(s, len, &pos)) && pos - start > NUMBER_MAX &&
                long_at == SIZE_MAX)
                long_at = start;
        } else if (!scan_literal(s, len, &pos))
            return syntax_error(pos, "expected a value");
        else
            rc = 0;
        if (rc)
            return rc;
        state = depth ? S_AFTER : S_DONE;
    }
    if (state != S_DONE)
        return syntax_error(len, "unexpected end of the body");
    if (deep_at != SIZE_MAX)
        return jobs__error(JOBS_EBODY, "the body is nested deeper than %zu levels (at byte %zu)",
                           max_depth, deep_at);
    if (long_at != SIZE_MAX)
        return jobs__error(JOBS_EBODY, "the number at byte %zu is longer than %d characters",
                           long_at, NUMBER_MAX);
    if (nul_at != SIZE_MAX)
        return jobs__error(JOBS_EBODY, "a string holds \\u0000 (at byte %zu), which is not "
                           "allowed", nul_at);
    return 0;
}
#undef SCAN_OPEN

/* ---- envelopes --------------------------------------------------------------------------- */

static const char *key_label(char *dst, size_t cap, const char *key);

/* Skips the value at s[*pos] of a body the scanner accepted. */
static void skip_value(const unsigned char *s, size_t len, size_t *pos)
{
    size_t nul_at = SIZE_MAX;
    int depth = 0;

    do {
        while (*pos < len && is_ws(s[*pos]))
            (*pos)++;
        if (*pos >= len)
            return;
        switch (s[*pos]) {
        case '"': scan_string(s, len, pos, &nul_at); break;
        case '{': case '[': depth++; (*pos)++; break;
        case '}': case ']': depth--; (*pos)++; break;
        case ',': case ':': (*pos)++; break;
        default:
            if (s[*pos] == '-' || is_digit(s[*pos])) {
                if (scan_number(s, len, pos))
                    return;
            } else if (!scan_literal(s, len, pos)) {
                return;
            }
        }
    } while (depth > 0);
}

/* The string s[from..to) (quotes included) equals the ASCII `want` once its escapes are read.
 * Lexical, without cJSON (which would write its process-wide error for a bad escape): the string
 * need not have been scanned, and an escape that is not right simply does not match. */
static bool key_is(const unsigned char *s, size_t from, size_t to, const char *want)
{
    size_t n = strlen(want), k = 0, i = from + 1;

    if (to - from < 2)
        return false;
    to--; /* the closing quote */
    while (i < to) {
        unsigned int c = s[i];

        if (c == '\\') {
            static const char plain[] = "\"\\/", named[] = "bfnrt", value[] = "\b\f\n\r\t";
            const char *e;

            if (i + 1 >= to)
                return false;
            if (s[i + 1] == 'u') {
                if (!hex4(s, to, i + 2, &c) || c >= 0x80)
                    return false; /* `want` is ASCII: nothing else matches */
                i += 6;
            } else if (s[i + 1] && (e = strchr(plain, s[i + 1]))) {
                c = (unsigned char)*e;
                i += 2;
            } else if (s[i + 1] && (e = strchr(named, s[i + 1]))) {
                c = (unsigned char)value[e - named];
                i += 2;
            } else {
                return false;
            }
        } else {
            i++;
        }
        if (k >= n || (unsigned char)want[k++] != c)
            return false;
    }
    return k == n;
}

/* The text of the string s[from..to) (quotes included) of a scanned body, its escapes read
 * (a \u pair as one code point, in UTF-8), into dst[cap], cut short when longer: a key named in
 * a detail as the client meant it. Lexical, as key_is(). */
static const char *string_text(char *dst, size_t cap, const unsigned char *s, size_t from,
                               size_t to)
{
    static const char named[] = "\"\\/bfnrt", value[] = "\"\\/\b\f\n\r\t";
    size_t i = from + 1, o = 0;

    to--; /* the closing quote */
    while (i < to && o + 5 < cap) {
        unsigned int c, lo;
        const char *e;

        if (s[i] != '\\') {
            dst[o++] = (char)s[i++];
            continue;
        }
        if (s[i + 1] != 'u') {
            e = strchr(named, s[i + 1]);
            dst[o++] = e ? value[e - named] : '?';
            i += 2;
            continue;
        }
        hex4(s, to, i + 2, &c);
        i += 6;
        if (c >= 0xd800 && c <= 0xdbff && i < to && hex4(s, to, i + 2, &lo)) {
            c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
            i += 6;
        }
        U8_APPEND_UNSAFE(dst, o, c); /* a code point of a scanned body: valid */
    }
    dst[o] = '\0';
    return dst;
}

/* The end of the string at s[*pos] == '"' by its quotes and backslashes alone (no other check):
 * *pos after its closing quote, or false when it is not closed. */
static bool string_end(const unsigned char *s, size_t len, size_t *pos)
{
    for (size_t i = *pos + 1; i < len; i++) {
        if (s[i] == '\\')
            i++;
        else if (s[i] == '"') {
            *pos = i + 1;
            return true;
        }
    }
    return false;
}

/* Whether a body has an envelope's shape: its top level opens an object, and one of that
 * object's keys (read before anything that stops the reading) is "auth". Lexical only, strings
 * and brackets without the grammar, so that an envelope is known as one whatever is wrong
 * inside it, and its fault is told as the envelope's: a UTF-8 byte order mark before it too,
 * which the grammar refuses (else a client whose tool adds one would be told that it sent no
 * credentials). */
static bool looks_like_envelope(const unsigned char *s, size_t len)
{
    size_t pos = 0, depth = 1;
    bool key_next = true;

    if (len >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0)
        pos = 3;
    while (pos < len && is_ws(s[pos]))
        pos++;
    if (pos >= len || s[pos] != '{')
        return false;
    for (pos++; pos < len;) {
        unsigned char c = s[pos];

        if (c == '"') {
            size_t from = pos;

            if (!string_end(s, len, &pos))
                return false;
            if (depth == 1 && key_next) {
                if (key_is(s, from, pos, "auth"))
                    return true;
                key_next = false;
            }
            continue;
        }
        if (c == '{' || c == '[')
            depth++;
        else if ((c == '}' || c == ']') && --depth == 0)
            return false;
        else if (c == ',' && depth == 1)
            key_next = true;
        pos++;
    }
    return false;
}

int jobs_json_split_envelope(bool *is_envelope, jobs_json_span *auth, jobs_json_span *payload,
                             const char *body, size_t len)
{
    const unsigned char *s = (const unsigned char *)body;
    jobs_json_span a = {NULL, 0}, p = {NULL, 0};
    size_t pos = 0, nul_at = SIZE_MAX;
    size_t other_from = 0, other_to = 0;
    int others = 0, dup = 0, rc;
    char label[64];

    if (!is_envelope || !auth || !payload)
        return jobs__error(JOBS_EINVAL, "jobs_json_split_envelope: an output is NULL");
    *is_envelope = false;
    *auth = a;
    *payload = p;
    if (!body || len == 0 || !looks_like_envelope(s, len))
        return 0; /* not ours to judge: the route's decoder says what is wrong */
    *is_envelope = true;
    /* The envelope is judged as a body, with one level more for itself: a payload may nest as
     * deep as a body of its own. Its fault (a payload's included) is the request's. */
    if ((rc = scan(body, len, JOBS_JSON_DEPTH_MAX + 1)))
        return jobs__error(rc, "inline authentication: %s", jobs_error_last());
    while (pos < len && is_ws(s[pos]))
        pos++;
    pos++; /* the '{' */
    for (;;) {
        size_t kfrom, kto, vfrom;

        while (pos < len && is_ws(s[pos]))
            pos++;
        if (s[pos] == '}')
            break;
        if (s[pos] == ',') {
            pos++;
            continue;
        }
        kfrom = pos;
        scan_string(s, len, &pos, &nul_at);
        kto = pos;
        while (pos < len && (is_ws(s[pos]) || s[pos] == ':'))
            pos++;
        vfrom = pos;
        skip_value(s, len, &pos);
        if (key_is(s, kfrom, kto, "auth")) {
            dup += a.at != NULL;
            a.at = body + vfrom;
            a.len = pos - vfrom;
        } else if (key_is(s, kfrom, kto, "payload")) {
            dup += p.at != NULL;
            p.at = body + vfrom;
            p.len = pos - vfrom;
        } else if (!others++) {
            other_from = kfrom;
            other_to = kto;
        }
    }
    if (!a.at) { /* cannot be: the shape found the key the walk finds */
        *is_envelope = false;
        return 0;
    }
    if (dup)
        return jobs__error(JOBS_EBODY, "inline authentication: 'auth' or 'payload' given twice");
    if (others) {
        char key[256];

        return jobs__error(JOBS_EBODY, "inline authentication: unknown key '%s' beside 'auth' "
                           "and 'payload'", key_label(label, sizeof label,
                                                      string_text(key, sizeof key, s,
                                                                  other_from, other_to)));
    }
    if (a.at[0] != '{')
        return jobs__error(JOBS_EBODY, "inline authentication: 'auth' must be an object");
    *auth = a;
    *payload = p;
    return 0;
}

/* ---- decoding helpers -------------------------------------------------------------------- */

static void wipe_strings(cJSON *node);
static int repeated_key(const cJSON *it, const char *where, bool quote);

/* Checks, scans and parses a body whose top level must be an object. A tree refused here is
 * wiped before it is freed: it may be a login body that is not an object ("password"). */
static int parse_body(cJSON **root, const char *body, size_t len)
{
    const char *end = NULL;
    int rc;

    *root = NULL;
    if (!body && len)
        return jobs__error(JOBS_EINVAL, "the body is NULL but its length is %zu", len);
    if (len > JOBS_JSON_BODY_MAX)
        return jobs__error(JOBS_EBODY, "the body is %zu bytes, more than %d", len,
                           JOBS_JSON_BODY_MAX);
    if (len == 0)
        return jobs__error(JOBS_ESYNTAX, "not valid JSON: the body is empty");
    if ((rc = scan(body, len, JOBS_JSON_DEPTH_MAX)))
        return rc;
    /* The scan accepted the body, so a NULL here can only mean memory ran out. */
    if (!(*root = cJSON_ParseWithLengthOpts(body, len, &end, 0)))
        return jobs__error(JOBS_ENOMEM, "out of memory parsing the body");
    while (end && end < body + len && is_ws((unsigned char)*end))
        end++;
    if (end != body + len) {
        wipe_strings(*root);
        cJSON_Delete(*root);
        *root = NULL;
        return syntax_error(end ? (size_t)(end - body) : 0,
                            "unexpected data after the JSON value");
    }
    if (!cJSON_IsObject(*root)) {
        wipe_strings(*root);
        cJSON_Delete(*root);
        *root = NULL;
        return jobs__error(JOBS_EBODY, "the body must be a JSON object");
    }
    return 0;
}

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

/* A key for a detail message: at most 40 bytes, valid UTF-8 kept, anything else as '?'. */
static const char *key_label(char *dst, size_t cap, const char *key)
{
    const unsigned char *s = (const unsigned char *)(key ? key : "");
    size_t n = strlen((const char *)s), i = 0, o = 0;

    while (i < n && o + 8 < cap && o < 40) {
        size_t k = jobs__utf8_seq_len(s + i, n - i);

        if (k == 1 && (s[i] < 0x20 || s[i] == 0x7f))
            k = 0;
        if (o + (k ? k : 1) > 40)
            break; /* at most 40 bytes, a character never cut */
        if (k) {
            memcpy(dst + o, s + i, k);
            o += k;
            i += k;
        } else {
            dst[o++] = '?';
            i++;
        }
    }
    if (i < n) {
        memcpy(dst + o, "...", 3);
        o += 3;
    }
    dst[o] = '\0';
    return dst;
}

/* Sorts an object's members onto `keys` (found[k] for keys[k]): an unknown or repeated key is
 * `code`. cJSON keeps every member of an object, duplicates included, in body order. */
static int collect(const cJSON *obj, const char *const *keys, size_t n, const cJSON **found,
                   int code, const char *where)
{
    char label[64];

    for (size_t k = 0; k < n; k++)
        found[k] = NULL;
    for (const cJSON *c = obj->child; c; c = c->next) {
        size_t k = 0;

        while (k < n && (!c->string || strcmp(c->string, keys[k]) != 0))
            k++;
        if (k == n)
            return jobs__error(code, "unknown key '%s'%s",
                               key_label(label, sizeof(label), c->string), where);
        if (found[k])
            return jobs__error(code, "duplicate key '%s'%s", keys[k], where);
        found[k] = c;
    }
    return 0;
}

/* The position of number `it` among the numbers of the tree, in body order. */
static bool number_ordinal(const cJSON *node, const cJSON *it, size_t *count)
{
    if (node == it)
        return true;
    if (cJSON_IsNumber(node))
        (*count)++;
    for (const cJSON *c = node->child; c; c = c->next)
        if (number_ordinal(c, it, count))
            return true;
    return false;
}

/* The source text of the k-th number of a scanned body (numbers are what the scanner took
 * them to be: runs of number characters outside strings). */
static bool number_text(const char *body, size_t len, size_t k, const char **tok, size_t *n)
{
    size_t i = 0;

    while (i < len) {
        unsigned char c = (unsigned char)body[i];

        if (c == '"') {
            for (i++; i < len && body[i] != '"'; i++)
                if (body[i] == '\\')
                    i++;
            i++;
        } else if (c == '-' || is_digit(c)) {
            size_t start = i;

            while (i < len && is_number_char((unsigned char)body[i]))
                i++;
            if (k-- == 0) {
                *tok = body + start;
                *n = i - start;
                return true;
            }
        } else {
            i++;
        }
    }
    return false;
}

/* Whether the number text t (RFC 8259 grammar, at most NUMBER_MAX characters) is exactly an
 * integer in lo..hi (hi < 10^16). Exact: 1.0 and 1e2 are integers, 1.5 and
 * 9007199254740991.4 are not, whatever a double would round them to. */
static bool exact_integer_in(const char *t, size_t n, uint64_t lo, uint64_t hi, uint64_t *v)
{
    char digits[NUMBER_MAX + 1];
    size_t nd = 0, i = 0, first = 0;
    long scale = 0, e = 0;
    bool neg = false, eneg = false;
    uint64_t x = 0;

    if (i < n && t[i] == '-') {
        neg = true;
        i++;
    }
    for (; i < n && is_digit((unsigned char)t[i]); i++)
        digits[nd++] = t[i];
    if (i < n && t[i] == '.')
        for (i++; i < n && is_digit((unsigned char)t[i]); i++, scale--)
            digits[nd++] = t[i];
    if (i < n && (t[i] == 'e' || t[i] == 'E')) {
        i++;
        if (i < n && (t[i] == '+' || t[i] == '-'))
            eneg = t[i++] == '-';
        for (; i < n; i++)
            if (e < 1000000)
                e = e * 10 + (t[i] - '0');
        scale += eneg ? -e : e;
    }
    while (first < nd && digits[first] == '0')
        first++;
    if (first < nd) {
        while (digits[nd - 1] == '0') {
            nd--;
            scale++;
        }
        if (scale < 0 || neg || (long)(nd - first) + scale > 16)
            return false;
        for (size_t k = first; k < nd; k++)
            x = x * 10 + (uint64_t)(digits[k] - '0');
        for (long k = 0; k < scale; k++)
            x *= 10;
    }
    *v = x;
    return x >= lo && x <= hi;
}

typedef struct int_rule {
    const char *key;   /* the key, for the message */
    uint64_t lo, hi;   /* the range */
    const char *range; /* the range, for the message */
    int code;          /* the error for anything else */
    const char *where; /* "" or " in 'config'" */
} int_rule;

static int get_integer(uint64_t *v, const cJSON *root, const cJSON *it, const char *body,
                       size_t len, const int_rule *r)
{
    const char *tok = NULL;
    size_t n = 0, k = 0;

    if (!cJSON_IsNumber(it))
        return jobs__error(r->code, "'%s'%s must be an integer in %s (got %s)", r->key,
                           r->where, r->range, type_name(it));
    if (!number_ordinal(root, it, &k) || !number_text(body, len, k, &tok, &n))
        return jobs__error(JOBS_EBODY, "'%s'%s: cannot find the number in the body", r->key,
                           r->where);
    if (!exact_integer_in(tok, n, r->lo, r->hi, v))
        return jobs__error(r->code, "'%s'%s must be an integer in %s (got %.*s)", r->key,
                           r->where, r->range, (int)n, tok);
    return 0;
}

static int get_bool(bool *v, const cJSON *it, const char *key)
{
    if (!cJSON_IsBool(it))
        return jobs__error(JOBS_EBODY, "'%s' must be true or false (got %s)", key,
                           type_name(it));
    *v = cJSON_IsTrue(it);
    return 0;
}

/* A name into dst (JOBS_NAME_MAX + 1 bytes); *name points at dst, or is NULL for null when
 * `nullable`. */
static int get_name(char *dst, const char **name, const cJSON *it, bool nullable)
{
    size_t n;

    if (nullable && cJSON_IsNull(it)) {
        dst[0] = '\0';
        *name = NULL;
        return 0;
    }
    if (!cJSON_IsString(it) || !it->valuestring)
        return jobs__error(JOBS_EBODY, "'name' must be a string%s (got %s)",
                           nullable ? " or null" : "", type_name(it));
    n = strlen(it->valuestring);
    if (n == 0)
        return jobs__error(JOBS_ENAME, "'name' must not be empty");
    if (n > JOBS_NAME_MAX)
        return jobs__error(JOBS_ENAME, "'name' is %zu bytes, more than %d", n, JOBS_NAME_MAX);
    if (!jobs_name_is_valid(it->valuestring, n))
        return jobs__error(JOBS_ENAME, "'name' must be valid UTF-8 without control characters");
    memcpy(dst, it->valuestring, n + 1);
    *name = dst;
    return 0;
}

static int_rule id_rule(const char *key)
{
    int_rule r = {key, 1, JOBS_ID_MAX, "1..2^53-1", JOBS_EBODY, ""};

    return r;
}

/* ---- decoders ---------------------------------------------------------------------------- */

/* `misfire`: "coalesce", "skip", "catch-up", or {"policy": one of them, "grace": seconds (skip),
 * "max": runs (catch-up)}; a bare "skip" has a grace of 0, a bare "catch-up" a max of 10. */
static int get_misfire(jobs_job_spec *sp, const cJSON *root, const cJSON *it, const char *body,
                       size_t len)
{
    static const char *const names[] = {"coalesce", "skip", "catch-up"};
    static const char *const keys[] = {"policy", "grace", "max"};
    const cJSON *found[3] = {NULL, NULL, NULL}, *policy = it;
    uint64_t v = 0;
    int rc, k = 0;

    if (cJSON_IsObject(it)) {
        if ((rc = collect(it, keys, 3, found, JOBS_EBODY, " in 'misfire'")))
            return rc;
        policy = found[0];
    } else if (!cJSON_IsString(it)) {
        return jobs__error(JOBS_EBODY, "'misfire' must be a string or an object (got %s)",
                           type_name(it));
    }
    if (!policy)
        return jobs__error(JOBS_EBODY, "'misfire' needs a policy: \"coalesce\", \"skip\" or "
                           "\"catch-up\"");
    if (!cJSON_IsString(policy) || !policy->valuestring)
        return jobs__error(JOBS_EBODY, "'misfire' needs a policy: \"coalesce\", \"skip\" or "
                           "\"catch-up\" (got %s)", type_name(policy));
    while (k < 3 && strcmp(policy->valuestring, names[k]) != 0)
        k++;
    if (k == 3)
        return jobs__error(JOBS_EBODY, "'misfire' must be \"coalesce\", \"skip\" or "
                           "\"catch-up\"");
    if ((found[1] && k != JOBS_MISFIRE_SKIP) || (found[2] && k != JOBS_MISFIRE_CATCH_UP))
        return jobs__error(JOBS_EBODY, "'misfire': 'grace' goes with skip, 'max' with catch-up");
    sp->misfire = (jobs_misfire)k;
    sp->misfire_value = k == JOBS_MISFIRE_CATCH_UP ? 10 : 0;
    if (found[1]) {
        int_rule r = {"grace", 0, JOBS_GRACE_MAX, "0..604800", JOBS_EBODY, " in 'misfire'"};
        if ((rc = get_integer(&v, root, found[1], body, len, &r)))
            return rc;
        sp->misfire_value = (uint32_t)v;
    }
    if (found[2]) {
        int_rule r = {"max", 1, JOBS_CATCH_UP_MAX, "1..100", JOBS_EBODY, " in 'misfire'"};
        if ((rc = get_integer(&v, root, found[2], body, len, &r)))
            return rc;
        sp->misfire_value = (uint32_t)v;
    }
    sp->fields |= JOBS_JOB_MISFIRE;
    return 0;
}

/* The run keys of a job body: delivery, lease, max_attempts, misfire (docs/runs.md). */
static int decode_run_keys(jobs_job_spec *sp, const cJSON *root, const cJSON *const *found,
                           const char *body, size_t len)
{
    uint64_t v;
    int rc;

    if (found[0]) {
        const char *d = cJSON_IsString(found[0]) ? found[0]->valuestring : NULL;

        if (!d)
            return jobs__error(JOBS_EBODY, "'delivery' must be \"at-most-once\" or "
                               "\"at-least-once\" (got %s)", type_name(found[0]));
        if (strcmp(d, "at-most-once") != 0 && strcmp(d, "at-least-once") != 0)
            return jobs__error(JOBS_EBODY, "'delivery' must be \"at-most-once\" or "
                               "\"at-least-once\"");
        sp->delivery = d[3] == 'l' ? JOBS_DELIVERY_AT_LEAST_ONCE : JOBS_DELIVERY_AT_MOST_ONCE;
        sp->fields |= JOBS_JOB_DELIVERY;
    }
    if (found[1]) {
        int_rule r = {"lease", 1, JOBS_LEASE_MAX, "1..604800", JOBS_EBODY, ""};
        if ((rc = get_integer(&v, root, found[1], body, len, &r)))
            return rc;
        sp->lease = (uint32_t)v;
        sp->fields |= JOBS_JOB_LEASE;
    }
    if (found[2]) {
        int_rule r = {"max_attempts", 1, JOBS_MAX_ATTEMPTS_MAX, "1..100", JOBS_EBODY, ""};
        if ((rc = get_integer(&v, root, found[2], body, len, &r)))
            return rc;
        sp->max_attempts = (uint32_t)v;
        sp->fields |= JOBS_JOB_MAX_ATTEMPTS;
    }
    return found[3] ? get_misfire(sp, root, found[3], body, len) : 0;
}

static int decode_job(jobs_json_job_body *out, const char *body, size_t len, bool create)
{
    static const char *const keys[] = {"schedule_id", "stack_id", "name", "enabled", "delivery",
                                       "lease", "max_attempts", "misfire"};
    const cJSON *found[8];
    jobs_json_job_body b;
    cJSON *root;
    int rc;

    if (!out)
        return jobs__error(JOBS_EINVAL, "out is NULL");
    if ((rc = parse_body(&root, body, len)))
        return rc;
    memset(&b, 0, sizeof(b));
    if ((rc = collect(root, keys, 8, found, JOBS_EBODY, "")))
        goto done;
    for (size_t k = 0; create && k < 2; k++)
        if (!found[k]) {
            rc = jobs__error(JOBS_EBODY, "missing required key '%s'", keys[k]);
            goto done;
        }
    if ((rc = decode_run_keys(&b.spec, root, found + 4, body, len)))
        goto done;
    if (found[0]) {
        int_rule r = id_rule("schedule_id");

        if ((rc = get_integer(&b.spec.schedule, root, found[0], body, len, &r)))
            goto done;
        b.spec.fields |= JOBS_JOB_SCHEDULE;
    }
    if (found[1]) {
        int_rule r = id_rule("stack_id");

        if ((rc = get_integer(&b.spec.stack, root, found[1], body, len, &r)))
            goto done;
        b.spec.fields |= JOBS_JOB_STACK;
    }
    if (found[2]) {
        if ((rc = get_name(b.name, &b.spec.name, found[2], true)))
            goto done;
        b.spec.fields |= JOBS_JOB_NAME;
    }
    if (found[3]) {
        if ((rc = get_bool(&b.spec.enabled, found[3], "enabled")))
            goto done;
        b.spec.fields |= JOBS_JOB_ENABLED;
    }
    *out = b;
    out->spec.name = b.spec.name ? out->name : NULL;
done:
    cJSON_Delete(root);
    return rc;
}

int jobs_json_decode_job_create(jobs_json_job_body *out, const char *body, size_t len)
{
    return decode_job(out, body, len, true);
}

int jobs_json_decode_job_update(jobs_json_job_body *out, const char *body, size_t len)
{
    return decode_job(out, body, len, false);
}

/* A cron config's string into dst (max + 1 bytes). Anything wrong is JOBS_ECONFIG; whether the
 * expression parses and the zone exists is the library's check, with its own detail. */
static int get_cron_string(char *dst, const cJSON *it, const char *key, size_t max)
{
    size_t n;

    if (!cJSON_IsString(it) || !it->valuestring)
        return jobs__error(JOBS_ECONFIG, "'%s' in 'config' must be a string (got %s)", key,
                           type_name(it));
    n = strlen(it->valuestring);
    if (n > max)
        return jobs__error(JOBS_ECONFIG, strcmp(key, "cron") == 0
                                             ? "cron: the expression is %zu bytes long; at most %zu"
                                             : "tz: the zone name is %zu bytes long; at most %zu",
                           n, max);
    memcpy(dst, it->valuestring, n + 1);
    return 0;
}

/* `config`: an object with exactly one of `period`, `timestamp` and `cron` (with `tz`), the
 * one `once` asks for when it is known (given, or defaulted on create). Everything wrong with
 * it is JOBS_ECONFIG. */
static int decode_config(jobs_json_schedule_body *b, const cJSON *root, const cJSON *cfg,
                         const char *body, size_t len, bool once_known, bool once_given)
{
    static const char *const keys[] = {"period", "timestamp", "cron", "tz"};
    static const int_rule period = {"period", JOBS_PERIOD_MIN, JOBS_PERIOD_MAX, "60..31536000",
                                    JOBS_ECONFIG, " in 'config'"};
    static const int_rule timestamp = {"timestamp", 1, JOBS_ID_MAX, "1..2^53-1", JOBS_ECONFIG,
                                       " in 'config'"};
    const cJSON *found[4];
    uint64_t v;
    int rc;

    if (!cJSON_IsObject(cfg))
        return jobs__error(JOBS_ECONFIG, "'config' must be an object (got %s)", type_name(cfg));
    if ((rc = collect(cfg, keys, 4, found, JOBS_ECONFIG, " in 'config'")))
        return rc;
    if (!found[0] && !found[1] && !found[2])
        return jobs__error(JOBS_ECONFIG, found[3] ? "'tz' in 'config' needs 'cron'"
                                                  : "'config' must hold 'period', 'timestamp' "
                                                    "or 'cron'");
    if (!!found[0] + !!found[1] + !!found[2] > 1)
        return jobs__error(JOBS_ECONFIG, "'config' must hold only one of 'period', 'timestamp' "
                           "and 'cron' ('%s' and '%s' are exclusive)",
                           found[0] ? "period" : "timestamp", found[2] ? "cron" : "timestamp");
    if (found[3] && !found[2])
        return jobs__error(JOBS_ECONFIG, "'tz' in 'config' belongs to a cron schedule, not "
                           "with '%s'", found[0] ? "period" : "timestamp");
    if (once_known && b->spec.once && found[0])
        return jobs__error(JOBS_ECONFIG, "a one-time schedule's config is {\"timestamp\": N}, "
                           "not 'period'");
    if (once_known && b->spec.once && found[2])
        return jobs__error(JOBS_ECONFIG, "a cron schedule is never one-time: 'once' must be "
                           "false");
    if (once_known && !b->spec.once && found[1])
        return jobs__error(JOBS_ECONFIG, "a periodic schedule's config is {\"period\": N}, not "
                           "'timestamp' (set \"once\": true for a one-time schedule)");
    if (found[0]) {
        if ((rc = get_integer(&v, root, found[0], body, len, &period)))
            return rc;
        b->spec.period = (int64_t)v;
        if (once_given) { /* PUT {"once": false, "config": {"period": N}}: periodic, even from
                             cron */
            b->spec.fields |= JOBS_SCHEDULE_KIND;
            b->spec.kind = JOBS_SCHEDULE_PERIODIC;
        }
    } else if (found[1]) {
        if ((rc = get_integer(&v, root, found[1], body, len, &timestamp)))
            return rc;
        b->spec.timestamp = (int64_t)v;
    } else {
        if ((rc = get_cron_string(b->cron, found[2], "cron", JOBS_CRON_MAX)) ||
            (found[3] && (rc = get_cron_string(b->tz, found[3], "tz", JOBS_TZ_MAX))))
            return rc;
        b->spec.fields |= JOBS_SCHEDULE_KIND;
        b->spec.kind = JOBS_SCHEDULE_CRON;
        b->spec.cron = b->cron;
        b->spec.tz = found[3] ? b->tz : NULL;
    }
    b->spec.fields |= JOBS_SCHEDULE_CONFIG;
    return 0;
}

static int decode_schedule(jobs_json_schedule_body *out, const char *body, size_t len,
                           bool create)
{
    static const char *const keys[] = {"name", "once", "config"};
    const cJSON *found[3];
    jobs_json_schedule_body b;
    cJSON *root;
    int rc;

    if (!out)
        return jobs__error(JOBS_EINVAL, "out is NULL");
    if ((rc = parse_body(&root, body, len)))
        return rc;
    memset(&b, 0, sizeof(b));
    if ((rc = collect(root, keys, 3, found, JOBS_EBODY, "")))
        goto done;
    if (create && !found[2]) {
        rc = jobs__error(JOBS_EBODY, "missing required key 'config'");
        goto done;
    }
    if (found[0]) {
        if ((rc = get_name(b.name, &b.spec.name, found[0], true)))
            goto done;
        b.spec.fields |= JOBS_SCHEDULE_NAME;
    }
    if (found[1]) {
        if ((rc = get_bool(&b.spec.once, found[1], "once")))
            goto done;
        b.spec.fields |= JOBS_SCHEDULE_ONCE;
    }
    if (found[2] && (rc = decode_config(&b, root, found[2], body, len, create || found[1],
                                        !create && found[1])))
        goto done;
    *out = b;
    out->spec.name = b.spec.name ? out->name : NULL;
    out->spec.cron = b.spec.cron ? out->cron : NULL;
    out->spec.tz = b.spec.tz ? out->tz : NULL;
done:
    cJSON_Delete(root);
    return rc;
}

int jobs_json_decode_schedule_create(jobs_json_schedule_body *out, const char *body, size_t len)
{
    return decode_schedule(out, body, len, true);
}

int jobs_json_decode_schedule_update(jobs_json_schedule_body *out, const char *body, size_t len)
{
    return decode_schedule(out, body, len, false);
}

int jobs_json_decode_stack_create(jobs_json_stack_body *out, const char *body, size_t len)
{
    static const char *const keys[] = {"name", "public"};
    const cJSON *found[2];
    jobs_json_stack_body b;
    const char *name = NULL;
    cJSON *root;
    int rc;

    if (!out)
        return jobs__error(JOBS_EINVAL, "out is NULL");
    if ((rc = parse_body(&root, body, len)))
        return rc;
    memset(&b, 0, sizeof(b));
    if ((rc = collect(root, keys, 2, found, JOBS_EBODY, "")))
        goto done;
    if (!found[0]) {
        rc = jobs__error(JOBS_EBODY, "missing required key 'name'");
        goto done;
    }
    if ((rc = get_name(b.name, &name, found[0], false)))
        goto done;
    if (found[1] && (rc = get_bool(&b.is_public, found[1], "public")))
        goto done;
    *out = b;
done:
    cJSON_Delete(root);
    return rc;
}

/* The text of top-level member `key` of a body that parse_body() accepted (so it is well
 * formed and its keys were found once each). */
static jobs_json_span member_span(const char *body, size_t len, const char *key)
{
    const unsigned char *s = (const unsigned char *)body;
    jobs_json_span sp = {NULL, 0};
    size_t pos = 0, nul_at = SIZE_MAX;

    while (pos < len && is_ws(s[pos]))
        pos++;
    pos++; /* '{' */
    while (pos < len) {
        size_t kfrom, kto, vfrom;

        while (pos < len && (is_ws(s[pos]) || s[pos] == ','))
            pos++;
        if (pos >= len || s[pos] == '}')
            break;
        kfrom = pos;
        scan_string(s, len, &pos, &nul_at);
        kto = pos;
        while (pos < len && (is_ws(s[pos]) || s[pos] == ':'))
            pos++;
        vfrom = pos;
        skip_value(s, len, &pos);
        if (key_is(s, kfrom, kto, key)) {
            sp.at = body + vfrom;
            sp.len = pos - vfrom;
            break;
        }
    }
    return sp;
}

static int get_choice(int *v, const cJSON *it, const char *key, const char *const *names,
                      int n, bool nullable, const char *allowed)
{
    if (nullable && cJSON_IsNull(it)) {
        *v = 0;
        return 0;
    }
    for (int i = 0; cJSON_IsString(it) && it->valuestring && i < n; i++)
        if (names[i] && strcmp(it->valuestring, names[i]) == 0) {
            *v = i;
            return 0;
        }
    /* A string is not quoted back (it is the client's, of any length); another type is named. */
    if (!cJSON_IsString(it))
        return jobs__error(JOBS_EBODY, "'%s' must be %s (got %s)", key, allowed, type_name(it));
    return jobs__error(JOBS_EBODY, "'%s' must be %s", key, allowed);
}

int jobs_json_decode_stack(jobs_json_stack_spec_body *out, const char *body, size_t len,
                           unsigned int flags)
{
    enum { NAME, BLOCKS, WEBHOOK, METHOD, APPROVAL, PUBLIC, SCHEDULE, ENABLED, NKEYS };
    static const char *const keys[NKEYS] = {"name", "blocks", "webhook", "webhook_method",
                                            "needs_approval", "public", "schedule_id",
                                            "enabled"};
    bool create = flags & JOBS_JSON_STACK_CREATE;
    const cJSON *found[NKEYS];
    jobs_json_stack_spec_body b;
    const char *name = NULL;
    cJSON *root;
    int rc, v = 0;

    if (!out)
        return jobs__error(JOBS_EINVAL, "out is NULL");
    if (flags & ~(unsigned)(JOBS_JSON_STACK_CREATE | JOBS_JSON_STACK_BLOCKS_REQUIRED))
        return jobs__error(JOBS_EINVAL, "jobs_json_decode_stack: unknown flags 0x%x", flags);
    if ((rc = parse_body(&root, body, len)))
        return rc;
    memset(&b, 0, sizeof(b));
    b.spec.webhook = JOBS_WEBHOOK_NONE;
    b.spec.webhook_method = JOBS_WEBHOOK_GET;
    /* schedule_id and enabled make the first job: a create's keys only. */
    if ((rc = collect(root, keys, create ? NKEYS : SCHEDULE, found, JOBS_EBODY, "")))
        goto done;
    if (create && !found[NAME]) {
        rc = jobs__error(JOBS_EBODY, "missing required key 'name'");
        goto done;
    }
    if ((flags & JOBS_JSON_STACK_BLOCKS_REQUIRED) && !found[BLOCKS]) {
        rc = jobs__error(JOBS_EBODY, "missing required key 'blocks'");
        goto done;
    }
    if (found[NAME]) {
        if ((rc = get_name(b.name, &name, found[NAME], false)))
            goto done;
        b.spec.fields |= JOBS_STACK_NAME;
    }
    if (found[BLOCKS]) {
        jobs_json_span sp;
        const cJSON *it;

        if (!cJSON_IsArray(found[BLOCKS])) {
            rc = jobs__error(JOBS_EBODY, "'blocks' must be an array (got %s)",
                             type_name(found[BLOCKS]));
            goto done;
        }
        cJSON_ArrayForEach(it, found[BLOCKS])
            if (!cJSON_IsObject(it) && !cJSON_IsArray(it)) {
                rc = jobs__error(JOBS_EBODY, "each item of 'blocks' must be an object or an "
                                 "array (got %s)", type_name(it));
                goto done;
            }
        /* The blocks go to every reader of the stack and, as its runs' input, to the stack's
         * program: a key twice in one of their objects would be read as either value, or
         * refused by a strict parser, as in a webhook's JSON body. */
        if ((rc = repeated_key(found[BLOCKS], "'blocks'", true)))
            goto done;
        sp = member_span(body, len, "blocks");
        if (!sp.at || sp.len > JOBS_STACK_BLOCKS_MAX) {
            rc = jobs__error(JOBS_EBODY, "'blocks' must be at most %d bytes",
                             JOBS_STACK_BLOCKS_MAX);
            goto done;
        }
        b.spec.blocks = sp.at;
        b.spec.blocks_len = sp.len;
        b.spec.fields |= JOBS_STACK_BLOCKS;
    }
    if (found[WEBHOOK]) {
        if ((rc = get_choice(&v, found[WEBHOOK], "webhook", webhook_names, 4, true,
                             "null, \"public\", \"token\" or \"user\"")))
            goto done;
        b.spec.webhook = (jobs_webhook)v;
        b.spec.fields |= JOBS_STACK_WEBHOOK;
    }
    if (found[METHOD]) {
        if ((rc = get_choice(&v, found[METHOD], "webhook_method", method_names, 2, false,
                             "\"GET\" or \"POST\"")))
            goto done;
        b.spec.webhook_method = (jobs_webhook_method)v;
        b.spec.fields |= JOBS_STACK_WEBHOOK_METHOD;
    }
    if (found[APPROVAL]) {
        if ((rc = get_bool(&b.spec.needs_approval, found[APPROVAL], "needs_approval")))
            goto done;
        b.spec.fields |= JOBS_STACK_NEEDS_APPROVAL;
    }
    if (found[PUBLIC]) {
        if ((rc = get_bool(&b.spec.is_public, found[PUBLIC], "public")))
            goto done;
        b.spec.fields |= JOBS_STACK_PUBLIC;
    }
    if (create && found[SCHEDULE]) {
        int_rule r = id_rule("schedule_id");

        if ((rc = get_integer(&b.job.schedule, root, found[SCHEDULE], body, len, &r)))
            goto done;
        b.job.fields |= JOBS_JOB_SCHEDULE;
        b.first_job = true;
    }
    if (create && found[ENABLED]) {
        if ((rc = get_bool(&b.job.enabled, found[ENABLED], "enabled")))
            goto done;
        if (b.first_job)
            b.job.fields |= JOBS_JOB_ENABLED;
    }
    *out = b;
    out->spec.name = name ? out->name : NULL;
done:
    cJSON_Delete(root);
    return rc;
}

/* Wipes every string of a tree before it is freed: a host's body may hold a secret. */
static void wipe_strings(cJSON *node)
{
    for (; node; node = node->next) {
        if (cJSON_IsString(node) && node->valuestring)
            explicit_bzero(node->valuestring, strlen(node->valuestring));
        wipe_strings(node->child);
    }
}

int jobs_json_check_object(const char *body, size_t len, const char *const *keys, size_t nkeys)
{
    const cJSON **found;
    cJSON *root;
    int rc;

    if (!keys && nkeys)
        return jobs__error(JOBS_EINVAL, "jobs_json_check_object: keys is NULL");
    for (size_t i = 0; i < nkeys; i++)
        if (!keys[i])
            return jobs__error(JOBS_EINVAL, "jobs_json_check_object: keys[%zu] is NULL", i);
    if ((rc = parse_body(&root, body, len)))
        return rc;
    if (!(found = jobs__malloc((nkeys ? nkeys : 1) * sizeof(*found))))
        rc = jobs__error(JOBS_ENOMEM, "out of memory");
    else if (!(rc = collect(root, keys, nkeys, found, JOBS_EBODY, "")))
        rc = repeated_key(root, "the body", false); /* in members' objects too; a key there
                                                      may be a part of a secret: not quoted */
    jobs__free(found);
    wipe_strings(root);
    cJSON_Delete(root);
    return rc;
}

/* ---- webhooks ---------------------------------------------------------------------------- */

/* A pair's name as names are grouped, and the pair's position. */
typedef struct pair_key {
    const char *at;
    size_t len;
    size_t i;
} pair_key;

static int pair_key_cmp(const pair_key *x, const pair_key *y)
{
    int c = x->len && y->len ? memcmp(x->at, y->at, x->len < y->len ? x->len : y->len) : 0;

    if (c || x->len != y->len)
        return c ? c : x->len < y->len ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

static bool pair_key_same(const pair_key *x, const pair_key *y)
{
    return x->len == y->len && (!x->len || memcmp(x->at, y->at, x->len) == 0);
}

/* Sorts k[0..n) by name, then position, with tmp[0..n): a bottom-up merge sort, O(n log n)
 * whatever the names (a webhook's names are the client's to choose). */
static void sort_pair_keys(pair_key *k, pair_key *tmp, size_t n)
{
    for (size_t w = 1; w < n; w *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * w) {
            size_t mid = n - lo > w ? lo + w : n, hi = n - mid > w ? mid + w : n;
            size_t a = lo, b = mid, o = lo;

            while (a < mid && b < hi)
                tmp[o++] = pair_key_cmp(&k[b], &k[a]) < 0 ? k[b++] : k[a++];
            while (a < mid)
                tmp[o++] = k[a++];
            while (b < hi)
                tmp[o++] = k[b++];
        }
        memcpy(k, tmp, n * sizeof(*k));
    }
}

/* `"name":value` members of an object from pairs: a name given once has its value as a string,
 * a name given more than once an array of its values in order. Names keep their first order.
 * The names are sorted once (by name, then position), so that each group is a run of the
 * sorted keys whose first is the name's first appearance: O(n log n), not a pass over all the
 * names for each one. Names are grouped as they are written (U+FFFD for each byte that is not
 * UTF-8), so that names which differ only there are one member, never a key given twice. */
static void put_pairs(jbuf *b, const jobs_json_pair *p, size_t n)
{
    pair_key *k = NULL, *tmp = NULL;
    size_t *group = NULL; /* per pair: where its group starts in k, SIZE_MAX if not its first */
    jbuf names = {0};     /* every name as written, one after the other */
    bool first = true;

    jb_put(b, "{", 1);
    if (!n || b->oom)
        goto done;
    if (n > SIZE_MAX / sizeof(*k) || !(k = jobs__malloc(n * sizeof(*k))) ||
        !(tmp = jobs__malloc(n * sizeof(*tmp))) || !(group = jobs__malloc(n * sizeof(*group)))) {
        b->oom = true;
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        size_t at = names.len;

        jb_strn(&names, p[i].name, p[i].name_len);
        k[i] = (pair_key){NULL, names.len - at, i};
        tmp[i].len = at; /* where it starts, until the buffer stops moving */
        group[i] = SIZE_MAX;
    }
    if (names.oom) {
        b->oom = true;
        goto done;
    }
    for (size_t i = 0; i < n; i++)
        k[i].at = names.p + tmp[i].len;
    sort_pair_keys(k, tmp, n);
    for (size_t g = 0; g < n; g++)
        if (g == 0 || !pair_key_same(&k[g - 1], &k[g]))
            group[k[g].i] = g;
    for (size_t i = 0; i < n; i++) {
        size_t g = group[i], e = g + 1;

        if (g == SIZE_MAX)
            continue;
        while (e < n && pair_key_same(&k[g], &k[e]))
            e++;
        if (!first)
            jb_put(b, ",", 1);
        first = false;
        jb_put(b, k[g].at, k[g].len);
        jb_put(b, ":", 1);
        if (e - g == 1) {
            jb_strn(b, p[i].value, p[i].value_len);
            continue;
        }
        jb_put(b, "[", 1);
        for (size_t m = g; m < e; m++) {
            if (m > g)
                jb_put(b, ",", 1);
            jb_strn(b, p[k[m].i].value, p[k[m].i].value_len);
        }
        jb_put(b, "]", 1);
    }
done:
    jobs__free(names.p);
    jobs__free(k);
    jobs__free(tmp);
    jobs__free(group);
    jb_put(b, "}", 1);
}

static bool pairs_ok(const jobs_json_pair *p, size_t n)
{
    if (n && !p)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((p[i].name_len && !p[i].name) || (p[i].value_len && !p[i].value))
            return false;
    return true;
}

/* JOBS_EBODY when an object of `it` (itself, or one nested in it) has a key twice, quoting it
 * when `quote` and it is short and printable; else 0 or JOBS_ENOMEM. `where` names `it` in the
 * detail ("the body", "'blocks'"). Keys are compared byte for byte (the scan refused \u0000, so each
 * is a C string), sorted once per object: O(n log n) whatever the keys, which are the client's
 * to choose. The nesting is at most JOBS_JSON_DEPTH_MAX deep. */
static int repeated_key(const cJSON *it, const char *where, bool quote)
{
    const cJSON *c;
    size_t n = 0, i;
    int rc = 0;

    if (!cJSON_IsObject(it) && !cJSON_IsArray(it))
        return 0;
    for (c = it->child; c; c = c->next)
        n++;
    if (cJSON_IsObject(it) && n > 1) {
        pair_key *k = jobs__malloc(2 * n * sizeof(*k));

        if (!k)
            return jobs__error(JOBS_ENOMEM, "out of memory");
        for (i = 0, c = it->child; c; c = c->next, i++)
            k[i] = (pair_key){c->string ? c->string : "", c->string ? strlen(c->string) : 0, i};
        sort_pair_keys(k, k + n, n);
        for (i = 1; i < n && !rc; i++) {
            if (!pair_key_same(&k[i - 1], &k[i]))
                continue;
            bool printable = quote && k[i].len <= 32;

            for (size_t j = 0; j < k[i].len && printable; j++)
                printable = k[i].at[j] >= 0x20 && k[i].at[j] < 0x7f && k[i].at[j] != '\'' &&
                            k[i].at[j] != '\\';
            rc = printable ? jobs__error(JOBS_EBODY, "duplicate key '%.*s' in %s",
                                         (int)k[i].len, k[i].at, where)
                           : jobs__error(JOBS_EBODY, "a key is given twice in one object of %s",
                                         where);
        }
        jobs__free(k);
    }
    for (c = it->child; c && !rc; c = c->next)
        rc = repeated_key(c, where, quote);
    return rc;
}

int jobs_json_encode_hook_input(char **out, const jobs_json_hook_request *req)
{
    static const char fn[] = "jobs_json_encode_hook_input";
    size_t at, end;
    jbuf b = {0};
    int rc;

    if ((rc = encode_start(out, req, fn)))
        return rc;
    if (!pairs_ok(req->get, req->nget) || !pairs_ok(req->post, req->npost) ||
        !pairs_ok(req->headers, req->nheaders) || (req->json_len && !req->json))
        return jobs__error(JOBS_EINVAL, "%s: a count without its array or string", fn);
    if (req->json) {
        /* Checked as every body is: one object, and (as a stack's program reads the whole body)
         * no key given twice in any object of it. */
        cJSON *root;

        if ((rc = parse_body(&root, req->json, req->json_len)))
            return rc;
        rc = repeated_key(root, "the body", true);
        wipe_strings(root);
        cJSON_Delete(root);
        if (rc)
            return rc;
    }
    jb_lit(&b, "{\"GET\":");
    put_pairs(&b, req->get, req->nget);
    jb_lit(&b, ",\"POST\":");
    put_pairs(&b, req->post, req->npost);
    jb_lit(&b, ",\"JSON\":");
    if (req->json) {
        /* The body as sent, without the whitespace around it. */
        for (at = 0; is_ws((unsigned char)req->json[at]); at++)
            ;
        for (end = req->json_len; end > at && is_ws((unsigned char)req->json[end - 1]); end--)
            ;
        jb_put(&b, req->json + at, end - at);
    } else {
        jb_lit(&b, "{}");
    }
    jb_lit(&b, ",\"HEADERS\":");
    put_pairs(&b, req->headers, req->nheaders);
    jb_put(&b, "}", 1);
    return jb_finish(&b, out);
}

/* A run's end as a webhook answers it (`ok` `{"status":0,"result":`, `failed`
 * `{"status":1,"err":`) or as exec does (`{"success":`, `{"error":`): the head, the output or
 * the error, and the run's id. `fn` names the public function in messages. */
static int encode_run_end(char **out, const char *fn, const char *ok, const char *failed,
                          uint64_t run, bool succeeded, const char *output, size_t len,
                          const char *err)
{
    jbuf b = {0};

    if (!out)
        return jobs__error(JOBS_EINVAL, "%s: out is NULL", fn);
    *out = NULL;
    if (len && !output)
        return jobs__error(JOBS_EINVAL, "%s: len is %zu but output is NULL", fn, len);
    if (succeeded) {
        size_t at = 0, end = len;

        jb_put(&b, ok, strlen(ok));
        while (at < end && is_ws((unsigned char)output[at]))
            at++;
        while (end > at && is_ws((unsigned char)output[end - 1]))
            end--;
        /* JSON output is the result itself; anything else (empty included) is a string. Only
         * the grammar (and UTF-8) decides, not the request-body rules (depth, long numbers,
         * \u0000): a stack echoing its input, which nests one level deeper than the body it
         * holds, gets the same type of result whatever the body. The scanner's refusal is no
         * error of this call. */
        if (end > at && len <= JOBS_JSON_BODY_MAX &&
            scan_quietly(output, len, SIZE_MAX) != JOBS_ESYNTAX)
            jb_put(&b, output + at, end - at);
        else
            jb_strn(&b, output ? output : "", len);
    } else {
        jb_put(&b, failed, strlen(failed));
        jb_str(&b, err ? err : "the run failed");
    }
    if (run) {
        jb_lit(&b, ",\"run\":");
        jb_u64(&b, run);
    }
    jb_put(&b, "}", 1);
    return jb_finish(&b, out);
}

int jobs_json_encode_hook_result(char **out, uint64_t run, bool succeeded, const char *output,
                                 size_t len, const char *err)
{
    return encode_run_end(out, "jobs_json_encode_hook_result", "{\"status\":0,\"result\":",
                          "{\"status\":1,\"err\":", run, succeeded, output, len, err);
}

int jobs_json_encode_exec_result(char **out, uint64_t run, bool succeeded, const char *output,
                                 size_t len, const char *err)
{
    return encode_run_end(out, "jobs_json_encode_exec_result", "{\"success\":", "{\"error\":",
                          run, succeeded, output, len, err);
}
