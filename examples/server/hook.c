/* The webhook table: see hook.h. */
#include "hook.h"
#include "handler.h"
#include "route.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sodium.h>

/* One waiting hook request. */
typedef struct waiter {
    bool used;
    uint64_t stack, run;
    char *input; /* until the runner takes it; NULL for an exec run (the stack's blocks) */
    size_t input_len;
    bool taken;  /* the runner took the run (and its input) */
    bool done, succeeded, too_long;
    char message[JOBS_RUN_MESSAGE_MAX + 1];
    char *output;
    size_t output_len;
} waiter;

struct srv_hooks {
    pthread_mutex_t mu;
    pthread_cond_t cv; /* a waiter's run ended */
    unsigned max, per_stack, wait_s;
    waiter *w;
    bool (*deliver)(void *, const jobs_event *);
    void *deliver_ctx;
    bool stopping;
};

srv_hooks *srv_hooks_new(unsigned max_waiting, unsigned per_stack, unsigned wait_s)
{
    srv_hooks *h = calloc(1, sizeof *h);
    pthread_condattr_t ca;

    if (!h)
        return NULL;
    h->max = max_waiting ? max_waiting : 1;
    h->per_stack = per_stack ? per_stack : 1;
    h->wait_s = wait_s;
    if (!(h->w = calloc(h->max, sizeof *h->w))) {
        free(h);
        return NULL;
    }
    pthread_mutex_init(&h->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&h->cv, &ca);
    pthread_condattr_destroy(&ca);
    return h;
}

static void waiter_clear(waiter *w)
{
    free(w->input);
    free(w->output);
    memset(w, 0, sizeof *w);
}

void srv_hooks_free(srv_hooks *h)
{
    if (!h)
        return;
    for (unsigned i = 0; i < h->max; i++)
        waiter_clear(&h->w[i]);
    pthread_cond_destroy(&h->cv);
    pthread_mutex_destroy(&h->mu);
    free(h->w);
    free(h);
}

void srv_hooks_stop(srv_hooks *h)
{
    if (!h)
        return;
    pthread_mutex_lock(&h->mu);
    h->stopping = true;
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
}

void srv_hooks_set_deliver(srv_hooks *h, bool (*deliver)(void *, const jobs_event *), void *ctx)
{
    pthread_mutex_lock(&h->mu);
    h->deliver = deliver;
    h->deliver_ctx = ctx;
    pthread_mutex_unlock(&h->mu);
}

srv_hook_refusal srv_hooks_begin(int *slot, int *rc, uint64_t *run, srv_hooks *h,
                                 jobs_store *store, uint64_t owner, uint64_t stack,
                                 jobs_run_trigger trigger, char *input, size_t input_len)
{
    unsigned mine = 0, free_at = h->max;
    bool (*deliver)(void *, const jobs_event *);
    void *deliver_ctx;
    jobs_event ev;

    *slot = -1;
    *rc = 0;
    *run = 0;
    pthread_mutex_lock(&h->mu);
    for (unsigned i = 0; i < h->max; i++) {
        if (!h->w[i].used && free_at == h->max)
            free_at = i;
        mine += h->w[i].used && h->w[i].stack == stack;
    }
    if (mine >= h->per_stack || free_at == h->max) {
        pthread_mutex_unlock(&h->mu);
        free(input);
        return mine >= h->per_stack ? SRV_HOOK_STACK_BUSY : SRV_HOOK_ALL_BUSY;
    }
    /* The place is taken (it counts against the bounds) before the run is made, and the table
     * is not held during that write. The run is made delivered, to this process alone: only
     * this process holds its input, so no tick (here or on another node of a shared store)
     * may take it, and the runner sees it only once it is handed over below, with its waiter
     * in place. */
    h->w[free_at].used = true;
    h->w[free_at].stack = stack;
    pthread_mutex_unlock(&h->mu);
    *rc = jobs_run_start_stack(&ev, store, owner, stack, trigger);
    pthread_mutex_lock(&h->mu);
    if (*rc != 0) {
        waiter_clear(&h->w[free_at]);
        pthread_mutex_unlock(&h->mu);
        free(input);
        return SRV_HOOK_OK;
    }
    *run = ev.run;
    h->w[free_at].run = *run;
    h->w[free_at].input = input;
    h->w[free_at].input_len = input_len;
    *slot = (int)free_at;
    deliver = h->deliver;
    deliver_ctx = h->deliver_ctx;
    pthread_mutex_unlock(&h->mu);
    /* Not run without a deliver function (jobs-server sets its runner's whenever it has a
     * runner): the run ends failed here, and so does the hook. A runner that cannot take the
     * run (its queue is full) ends both itself, and counts the run's end in /metrics as it
     * counts every run's (runner.h). */
    if (!deliver) {
        static const char why[] = "not started: this server runs no runs (no --run-command)";

        jobs_run_finish(store, owner, *run, false, why);
        srv_hooks_done(h, *run, false, why, NULL, 0, false);
    } else {
        deliver(deliver_ctx, &ev);
    }
    return SRV_HOOK_OK;
}

void srv_hooks_wait(srv_hook_outcome *out, srv_hooks *h, int slot)
{
    waiter *w = &h->w[slot];
    struct timespec until;

    memset(out, 0, sizeof *out);
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += h->wait_s;
    pthread_mutex_lock(&h->mu);
    while (!w->done && !h->stopping &&
           pthread_cond_timedwait(&h->cv, &h->mu, &until) != ETIMEDOUT)
        ;
    if (w->done) {
        out->ended = true;
        out->succeeded = w->succeeded;
        out->too_long = w->too_long;
        memcpy(out->message, w->message, sizeof out->message);
        out->output = w->output;
        out->output_len = w->output_len;
        w->output = NULL;
    } else {
        out->stopping = h->stopping;
    }
    /* The place is free again; a run that goes on finds no waiter when it ends. */
    waiter_clear(w);
    pthread_mutex_unlock(&h->mu);
}

static waiter *find(srv_hooks *h, uint64_t run)
{
    for (unsigned i = 0; i < h->max; i++)
        if (h->w[i].used && h->w[i].run == run)
            return &h->w[i];
    return NULL;
}

bool srv_hooks_take_input(srv_hooks *h, uint64_t run, char **input, size_t *len)
{
    waiter *w;
    bool ok = false;

    *input = NULL;
    *len = 0;
    pthread_mutex_lock(&h->mu);
    if ((w = find(h, run)) && !w->taken) {
        *input = w->input;
        *len = w->input_len;
        w->input = NULL;
        w->taken = true;
        ok = true;
    }
    pthread_mutex_unlock(&h->mu);
    return ok;
}

void srv_hooks_done(srv_hooks *h, uint64_t run, bool succeeded, const char *message,
                    const char *output, size_t len, bool too_long)
{
    waiter *w;

    pthread_mutex_lock(&h->mu);
    if ((w = find(h, run)) && !w->done) {
        w->done = true;
        w->succeeded = succeeded;
        w->too_long = too_long;
        snprintf(w->message, sizeof w->message, "%s", message ? message : "");
        if (len && (w->output = malloc(len)) != NULL) {
            memcpy(w->output, output, len);
            w->output_len = len;
        }
        pthread_cond_broadcast(&h->cv);
    }
    pthread_mutex_unlock(&h->mu);
}

/* ---- the routes ------------------------------------------------------------------------------ */

static void set_json(srv_response *res, const srv_app *app, int status, char *json)
{
    if (!json) {
        srv_fault(res, app, SRV_FAULT_INTERNAL, "out of memory");
        return;
    }
    free(res->body);
    res->status = status;
    res->body = json;
    res->body_len = strlen(json);
}

/* The pairs of a query or form body into a growing array; false for a malformed escape (or no
 * memory: *oom set). `buf` has room for len + 1 bytes and holds the decoded strings. */
static bool parse_pairs(jobs_json_pair **out, size_t *n, const char *s, size_t len, char *buf,
                        bool *oom)
{
    size_t pos = 0, cap = 0;
    const char *name, *value;
    size_t nl, vl;
    int got;

    *out = NULL;
    *n = 0;
    while ((got = srv_form_next(&pos, s, len, &buf, &name, &nl, &value, &vl)) == 1) {
        if (*n == cap) {
            jobs_json_pair *grown = realloc(*out, (cap = cap ? 2 * cap : 8) * sizeof *grown);
            if (!grown) {
                *oom = true;
                return false;
            }
            *out = grown;
        }
        (*out)[(*n)++] = (jobs_json_pair){name, nl, value, vl};
    }
    return got == 0;
}

static bool is_form(const char *type)
{
    return type && strncasecmp(type + strspn(type, " \t"), "application/x-www-form-urlencoded",
                               33) == 0;
}

/* The run's input from the request; false with the fault in `res`. */
static bool hook_input(char **input, srv_response *res, const srv_app *app,
                       const srv_request *req)
{
    jobs_json_hook_request in;
    jobs_json_pair *get = NULL, *post = NULL, *headers = NULL;
    size_t qlen = req->query ? strlen(req->query) : 0, nget = 0, npost = 0, nh = 0;
    char *qbuf = malloc(qlen + 1), *fbuf = malloc(req->body_len + 1);
    bool oom = !qbuf || !fbuf, ok = false;
    int rc;

    *input = NULL;
    memset(&in, 0, sizeof in);
    if (oom)
        goto out;
    if (!parse_pairs(&get, &nget, req->query ? req->query : "", qlen, qbuf, &oom)) {
        if (!oom)
            srv_fault(res, app, SRV_FAULT_PARAM, "malformed percent-escape in the query");
        goto out;
    }
    if (req->body_len && is_form(req->content_type)) {
        if (!parse_pairs(&post, &npost, req->body, req->body_len, fbuf, &oom)) {
            if (!oom)
                srv_fault(res, app, SRV_FAULT_PARAM, "malformed percent-escape in the form body");
            goto out;
        }
    } else if (req->body_len) {
        in.json = req->body;
        in.json_len = req->body_len;
    }
    if (req->n_headers && !(headers = calloc(req->n_headers, sizeof *headers))) {
        oom = true;
        goto out;
    }
    /* The session and credentials (the server's and a proxy's) stay here: the child is the
     * stack's, not the caller's. */
    for (size_t i = 0; i < req->n_headers; i++)
        if (strcasecmp(req->headers[i].name, "Cookie") != 0 &&
            strcasecmp(req->headers[i].name, "Authorization") != 0 &&
            strcasecmp(req->headers[i].name, "Proxy-Authorization") != 0)
            headers[nh++] = (jobs_json_pair){req->headers[i].name, strlen(req->headers[i].name),
                                             req->headers[i].value,
                                             strlen(req->headers[i].value)};
    in.get = get;
    in.nget = nget;
    in.post = post;
    in.npost = npost;
    in.headers = headers;
    in.nheaders = nh;
    if ((rc = jobs_json_encode_hook_input(input, &in)) != 0) {
        oom = rc == JOBS_ENOMEM;
        if (!oom)
            srv_lib_fault(res, app, rc);
        goto out;
    }
    ok = true;
out:
    if (oom)
        srv_fault(res, app, SRV_FAULT_INTERNAL, "out of memory");
    free(get);
    free(post);
    free(headers);
    free(qbuf);
    free(fbuf);
    return ok;
}

/* The first `token` parameter of the query equals the stack's token (in constant time). */
static bool token_matches(const srv_request *req, const char *token)
{
    size_t qlen = req->query ? strlen(req->query) : 0, pos = 0, nl, vl;
    char *buf = malloc(qlen + 1), *at = buf;
    const char *name, *value;
    bool ok = false;

    if (!buf || !token)
        goto out;
    while (srv_form_next(&pos, req->query ? req->query : "", qlen, &at, &name, &nl, &value,
                         &vl) == 1)
        if (nl == 5 && memcmp(name, "token", 5) == 0) {
            ok = vl == JOBS_WEBHOOK_TOKEN_LEN &&
                 sodium_memcmp(value, token, JOBS_WEBHOOK_TOKEN_LEN) == 0;
            break;
        }
out:
    free(buf);
    return ok;
}

/* The `err` of a failed run: its message, and the end of its output (what a failing command
 * printed is usually why), each NUL byte of it as U+FFFD: the text is a C string, which ended
 * at the first NUL and lost the end that follows it. */
static char *failure_text(const srv_hook_outcome *o)
{
    static const char replacement[] = "\xEF\xBF\xBD";
    size_t at = 0, end = o->output_len, keep = 1024, n;
    char *s;

    while (end > 0 && (o->output[end - 1] == '\n' || o->output[end - 1] == ' '))
        end--;
    if (end > keep)
        at = end - keep;
    if (!(s = malloc(sizeof o->message + 2 + 3 * keep + 1)))
        return NULL;
    n = (size_t)snprintf(s, sizeof o->message + 2 + 1, "%s%s", o->message,
                         end > at ? ": " : "");
    for (size_t i = at; i < end; i++) {
        if (o->output[i] == '\0') {
            memcpy(s + n, replacement, 3);
            n += 3;
        } else {
            s[n++] = o->output[i];
        }
    }
    s[n] = '\0';
    return s;
}

/* How a run's end is answered: as a webhook ({"status":...}) or as exec ({"success":...} or
 * {"error":...}). */
typedef int (*run_end_encoder)(char **out, uint64_t run, bool succeeded, const char *output,
                               size_t len, const char *err);

static run_end_encoder encoder(bool exec)
{
    return exec ? jobs_json_encode_exec_result : jobs_json_encode_hook_result;
}

/* Without --run-command nothing would run the stack: no run is made, the failure is in the
 * body (a webhook's "status" 1, exec's "error"). */
static void answer_no_runner(srv_response *res, const srv_app *app, bool exec)
{
    char *json = NULL;
    int rc = encoder(exec)(&json, 0, false, NULL, 0,
                           exec ? "this server runs no command (--run-command): the stack "
                                  "cannot run"
                                : "this server runs no command (--run-command): the webhook "
                                  "cannot run");

    set_json(res, app, 200, rc ? NULL : json);
}

/* Makes the run of `stack` for its `owner` (`input` taken over; NULL: the stack's blocks),
 * hands it to the runner, waits for its end and answers it: as a webhook, or as exec. */
static void run_and_answer(srv_response *res, srv_app *app, uint64_t owner, uint64_t stack,
                           jobs_run_trigger trigger, char *input, size_t input_len, bool exec)
{
    srv_hook_outcome o;
    srv_hook_refusal why;
    uint64_t run = 0;
    char *json = NULL, *err = NULL, msg[160];
    int rc = 0, slot;

    why = srv_hooks_begin(&slot, &rc, &run, app->hooks, app->store, owner, stack, trigger, input,
                          input_len);
    if (why != SRV_HOOK_OK) {
        snprintf(res->headers + strlen(res->headers), sizeof res->headers - strlen(res->headers),
                 "Retry-After: 1\r\n");
        srv_fault(res, app, SRV_FAULT_HOOK_BUSY,
                  why == SRV_HOOK_STACK_BUSY
                      ? (exec ? "too many runs of this stack are waited for at once; try again"
                              : "too many webhook requests of this stack at once; try again")
                      : (exec ? "too many runs are waited for at once; try again"
                              : "too many webhook requests at once; try again"));
        return;
    }
    if (rc) {
        srv_lib_fault(res, app, rc);
        return;
    }
    srv_hooks_wait(&o, app->hooks, slot);
    if (o.ended && o.succeeded && !o.too_long) {
        rc = encoder(exec)(&json, run, true, o.output, o.output_len, NULL);
    } else {
        /* A failed run is answered its message and the end of its output, whatever its
         * length (the runner hands the end of a long one); the 64 KiB rule is for success. */
        /* At a stop the runner ends the run (an at-most-once run fails: docs/runs.md),
         * unless it ends by itself first: it does not go on, as after a wait. */
        if (!o.ended && o.stopping)
            snprintf(msg, sizeof msg, "the server is stopping, which ends the run unless it "
                     "ends first: see its history (run %llu)", (unsigned long long)run);
        else if (!o.ended)
            snprintf(msg, sizeof msg, "the run did not end in time; it may still end (run %llu)",
                     (unsigned long long)run);
        else if (o.succeeded)
            snprintf(msg, sizeof msg, "the run succeeded, but its output is over %d bytes",
                     SRV_HOOK_OUTPUT_MAX);
        err = o.ended && !o.succeeded ? failure_text(&o) : NULL;
        rc = encoder(exec)(&json, run, false, NULL, 0, err ? err : msg);
        free(err);
    }
    free(o.output);
    set_json(res, app, 200, rc ? NULL : json);
}

void srv_hook_route(srv_response *res, srv_app *app, const srv_request *req, uint64_t caller,
                    bool cross_site, uint64_t id)
{
    static const char *const methods[] = {"GET", "POST"};
    jobs_stack_detail *d = NULL;
    jobs_webhook kind;
    uint64_t owner;
    const char *method;
    char *input = NULL, msg[160];
    bool denied;
    int rc = 0;

    res->user = caller;
    if ((rc = jobs_stack_get_webhook(&d, app->store, id)) == JOBS_ENOTFOUND ||
        (rc == 0 && d->webhook == JOBS_WEBHOOK_NONE)) {
        jobs_stack_detail_free(d);
        srv_fault(res, app, SRV_FAULT_NOHOOK, "no such stack, or its webhook is null");
        return;
    }
    if (rc) {
        srv_lib_fault(res, app, rc);
        return;
    }
    owner = d->owner;
    kind = d->webhook;
    method = methods[d->webhook_method];
    denied = kind == JOBS_WEBHOOK_TOKEN && !token_matches(req, d->webhook_token);
    jobs_stack_detail_free(d);
    if (denied) {
        srv_fault(res, app, SRV_FAULT_HOOK_DENIED, "wrong or missing token");
        return;
    }
    if (kind == JOBS_WEBHOOK_USER && !caller) {
        srv_fault(res, app, SRV_FAULT_UNAUTH, "not authenticated: this webhook is its owner's");
        return;
    }
    if (kind == JOBS_WEBHOOK_USER && cross_site) {
        srv_fault(res, app, SRV_FAULT_CROSS_SITE,
                  "cross-site request refused: a \"user\" webhook called with the auth_tkt "
                  "cookie from a page of another origin");
        return;
    }
    if (kind == JOBS_WEBHOOK_USER && caller != owner) {
        srv_fault(res, app, SRV_FAULT_HOOK_DENIED, "only the stack's owner may call this webhook");
        return;
    }
    /* The method is checked once the caller may call it: before, a caller without the token
     * (or not the owner) learnt the stack's webhook_method from the 405 and its Allow. */
    if (strcmp(req->method, method) != 0) {
        snprintf(res->headers + strlen(res->headers), sizeof res->headers - strlen(res->headers),
                 "Allow: %s\r\n", method);
        snprintf(msg, sizeof msg, "this stack's webhook answers %s only", method);
        srv_fault(res, app, SRV_FAULT_METHOD, msg);
        return;
    }
    /* Bad input is refused whether or not anything would run it. */
    if (!hook_input(&input, res, app, req))
        return;
    if (!app->hooks) {
        /* Nothing would run it: no run is made (docs/http-api.md). */
        free(input);
        answer_no_runner(res, app, false);
        return;
    }
    run_and_answer(res, app, owner, id, JOBS_TRIGGER_HOOK, input, strlen(input), false);
}

/* GET /blockstacks/exec/<id> (docs/http-api.md, "Running a stack by hand"). */
void srv_exec_route(srv_response *res, srv_app *app, uint64_t caller, uint64_t id)
{
    jobs_stack_detail *d = NULL;
    char msg[96];
    bool hook;
    int rc;

    res->user = caller;
    if ((rc = jobs_stack_get_webhook(&d, app->store, id)) == 0 && d->owner != caller)
        rc = JOBS_ENOTFOUND;
    if (rc == JOBS_ENOTFOUND) {
        /* Another user's stack answers as one that does not exist. */
        jobs_stack_detail_free(d);
        snprintf(msg, sizeof msg, "stack %" PRIu64 " not found", id);
        srv_fault(res, app, SRV_FAULT_NOTFOUND, msg);
        return;
    }
    if (rc) {
        jobs_stack_detail_free(d);
        srv_lib_fault(res, app, rc);
        return;
    }
    hook = d->webhook != JOBS_WEBHOOK_NONE;
    jobs_stack_detail_free(d);
    if (hook) {
        snprintf(msg, sizeof msg,
                 "stack %" PRIu64 " has a webhook: run it through /blockstacks/hook/%" PRIu64,
                 id, id);
        srv_fault(res, app, SRV_FAULT_EXEC_HOOK, msg);
        return;
    }
    if (!app->hooks) {
        answer_no_runner(res, app, true);
        return;
    }
    /* No input of its own: the runner gives the child the stack's blocks, as to a scheduled
     * run. */
    run_and_answer(res, app, caller, id, JOBS_TRIGGER_MANUAL, NULL, 0, true);
}

