/**
 * @file jobs.h
 * @brief libjobs: a store of scheduled jobs on LMDB, with a scheduler tick. Include this one
 * header; it includes the others.
 *
 * Conventions (see docs/ and each header): every fallible call returns 0 or a negative
 * JOBS_E* code, outputs come first, objects handed out are owned by the caller and freed by a
 * `_free` function that accepts NULL, and one jobs_store handle is shared by all threads.
 */
#ifndef JOBS_H
#define JOBS_H

#include "jobs/common.h"
#include "jobs/errors.h"
#include "jobs/store.h"
#include "jobs/lmdb.h"
#include "jobs/run.h"
#include "jobs/job.h"
#include "jobs/batch.h"
#include "jobs/schedule.h"
#include "jobs/stack.h"
#include "jobs/scheduler.h"
#include "jobs/json.h"
#include "jobs/kv.h"

#endif
