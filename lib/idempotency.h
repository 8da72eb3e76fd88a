/* Idempotency keys of creates: the rules (see idempotency.c). Everything runs in the caller's
 * write transaction, so the key and the create it answers are committed together. */
#ifndef JOBS_LIB_IDEMPOTENCY_H
#define JOBS_LIB_IDEMPOTENCY_H

#include "store.h"

/* Checks the key's and fingerprint's sizes (NULL: no key, fine). */
int jobs__idem_check(const jobs_idempotency *idem);

/* Looks a key up at time `now`: *found with *id when a live entry answers it;
 * JOBS_EIDEMPOTENCY when a live entry has another fingerprint; *found false when there is
 * none, or only an expired one. */
int jobs__idem_find(jobs_store *s, jobs__txn *txn, uint64_t owner, jobs__kind kind,
                    const jobs_idempotency *idem, int64_t now, bool *found, uint64_t *id);

/* Records `id` as the key's answer for JOBS_IDEMPOTENCY_TTL from `now` (replacing an expired
 * entry). */
int jobs__idem_put(jobs_store *s, jobs__txn *txn, uint64_t owner, jobs__kind kind,
                   const jobs_idempotency *idem, int64_t now, uint64_t id);

/* The public replays (jobs_create_replay, jobs_schedule_create_replay): the id a live key
 * answers, in a read transaction; JOBS_ENOTFOUND when none does. `fn` names the caller in
 * messages. */
int jobs__idem_replay(uint64_t *id, jobs_store *store, uint64_t owner, jobs__kind kind,
                      const jobs_idempotency *idem, const char *fn);

#endif
