/* Stack webhooks (GET|POST /blockstacks/hook/<id>): the request becomes a run of the stack
 * (trigger "hook") whose child reads the request as its input, and the hook answers when the run
 * ends. GET /blockstacks/exec/<id> (the owner runs a stack by hand, trigger "manual") is made,
 * waited for and bounded the same way. The table here joins the two sides: the request thread
 * that waits, and the runner's worker that needs the input and reports the end. It also bounds
 * the requests that wait: at most `per_stack` of one stack at once, and at most `max_waiting` in
 * all (hooks and exec together), since each holds one of civetweb's worker threads. See
 * docs/http-api.md, "Webhooks". */
#ifndef JOBS_SERVER_HOOK_H
#define JOBS_SERVER_HOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jobs.h>

/** Hook requests of one stack that may wait at once (more: 429, fault 134). */
#define SRV_HOOK_PER_STACK 4

/** The most output of a run a hook answers with (more: the hook answers status 1). */
#define SRV_HOOK_OUTPUT_MAX JOBS_JSON_BODY_MAX

typedef struct srv_hooks srv_hooks;

/**
 * The table: at most `max_waiting` hook requests wait at once in all (at least 1), at most
 * `per_stack` of one stack; a request waits `wait_s` seconds at most for its run to end. NULL
 * when out of memory.
 */
srv_hooks *srv_hooks_new(unsigned max_waiting, unsigned per_stack, unsigned wait_s);

/** Frees the table (no request may wait any more). Accepts NULL. */
void srv_hooks_free(srv_hooks *h);

/** What runs a hook's run: `deliver` gets the run (delivered to this process by
 * jobs_run_start_stack(), never by a tick) and returns false when it cannot start it; it then
 * ends the run failed and answers the request's wait itself (srv_hooks_done()), as the runner's
 * submit does. Set it before requests come in (jobs-server: the runner's submit). Without one
 * the run ends failed at once, and so does the request. */
void srv_hooks_set_deliver(srv_hooks *h, bool (*deliver)(void *, const jobs_event *), void *ctx);

/** Stopping: every request that waits stops waiting (its run goes on without it). Accepts
 * NULL. */
void srv_hooks_stop(srv_hooks *h);

/** Why srv_hooks_begin() refused. */
typedef enum srv_hook_refusal {
    SRV_HOOK_OK = 0,
    SRV_HOOK_STACK_BUSY, /**< per_stack requests of this stack wait already */
    SRV_HOOK_ALL_BUSY    /**< max_waiting requests wait already */
} srv_hook_refusal;

/**
 * Makes the run of a hook request (trigger JOBS_TRIGGER_HOOK) or of an exec request
 * (JOBS_TRIGGER_MANUAL): takes a place in the table for `stack` (refused when there is none),
 * makes the run delivered to this process (jobs_run_start_stack(), with `trigger`, for the
 * stack's `owner`), keeps `input` (taken over: freed by the table; NULL for none, when the child
 * is to read the stack's blocks as a scheduled run does) for the runner and hands the run to
 * the deliver function. *rc is the library's code of the run's creation (the place is given back
 * when it failed). On SRV_HOOK_OK with *rc 0, *slot is the place, to pass to srv_hooks_wait().
 */
srv_hook_refusal srv_hooks_begin(int *slot, int *rc, uint64_t *run, srv_hooks *h,
                                 jobs_store *store, uint64_t owner, uint64_t stack,
                                 jobs_run_trigger trigger, char *input, size_t input_len);

/** How a hook's run ended, as srv_hooks_wait() reports it. */
typedef struct srv_hook_outcome {
    bool ended;     /**< false: not within the wait (the run goes on without a waiter) */
    bool stopping;  /**< not ended because the server is stopping (srv_hooks_stop()) */
    bool succeeded; /**< the run succeeded */
    bool too_long;  /**< its output was over SRV_HOOK_OUTPUT_MAX */
    char message[JOBS_RUN_MESSAGE_MAX + 1]; /**< the run's outcome message */
    char *output;   /**< its output (malloc'd; the caller frees it), or NULL */
    size_t output_len;
} srv_hook_outcome;

/** Waits for the run of `slot` to end (wait_s at most) and gives the place back. */
void srv_hooks_wait(srv_hook_outcome *out, srv_hooks *h, int slot);

/**
 * Runner side: the input of run `run`, taken over by the caller (free()), when a request waits
 * for it (once: a second call is false); *input is NULL when the request gave none (exec: the
 * child reads the stack's blocks). False when no request waits (it gave up, or the server
 * restarted since the run was made): a hook run must then not be run, since its input is gone.
 * A request that waits is told the run's end by srv_hooks_done().
 */
bool srv_hooks_take_input(srv_hooks *h, uint64_t run, char **input, size_t *len);

/**
 * Runner side: hook run `run` ended (already recorded on the run). `output` is copied.
 * Nothing happens when no request waits for it any more.
 */
void srv_hooks_done(srv_hooks *h, uint64_t run, bool succeeded, const char *message,
                    const char *output, size_t len, bool too_long);

struct srv_app;
struct srv_request;
struct srv_response;

/**
 * GET|POST /blockstacks/hook/<id> for `caller` (0: no session): checks the stack's webhook
 * (kind, method, token or owner), makes the run with the request as its input, waits for it
 * (app->hooks; NULL: no runner, no run) and answers {"status":0,"result":...} or
 * {"status":1,"err":...}, or a fault. `cross_site`: the caller's session is the auth_tkt
 * cookie of a browser's request from another origin, which a `"user"` webhook refuses (140).
 */
void srv_hook_route(struct srv_response *res, struct srv_app *app,
                    const struct srv_request *req, uint64_t caller, bool cross_site,
                    uint64_t id);

/**
 * GET /blockstacks/exec/<id> for `caller` (a user: the route needs a session): the owner runs
 * a stack whose `webhook` is null by hand. Makes the run (trigger manual; its child reads the
 * stack's blocks), waits for it as a hook does (same table, same bounds) and answers
 * {"success":...,"run":N} or {"error":"...","run":N}; another user's stack or none is 404
 * (fault 6), a stack with a webhook 409 (fault 141).
 */
void srv_exec_route(struct srv_response *res, struct srv_app *app, uint64_t caller, uint64_t id);

#endif
