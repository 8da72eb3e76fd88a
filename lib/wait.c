/* jobs_store_wait(): a scheduler loop's sleep that a write making something due sooner cuts
 * short (lib/backend.h: wait, notify_due). */
#include <time.h>

#include "store.h"

#define WAIT_MAX_MS 86400000

int jobs_store_wait(int64_t *due, jobs_store *store, int64_t before, int timeout_ms)
{
    int64_t when = 0;
    int rc;

    if (!store)
        return jobs__error(JOBS_EINVAL, "jobs_store_wait needs a store");
    if (timeout_ms < 0 || timeout_ms > WAIT_MAX_MS)
        return jobs__error(JOBS_EINVAL, "jobs_store_wait: the timeout is 0..%d ms, not %d",
                           WAIT_MAX_MS, timeout_ms);
    if (store->be->wait) {
        rc = store->be->wait(store, before, timeout_ms, &when);
        if (rc == 1 && due)
            *due = when;
        return rc;
    }
    struct timespec ts = {timeout_ms / 1000, (long)(timeout_ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
    return 0;
}
