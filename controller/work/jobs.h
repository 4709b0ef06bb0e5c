/*
 * jobs.h: background work of nubed (launching guests, building images,
 * waiting for a clean shutdown), so API calls answer at once as EC2's do.
 * A job never waits for another job of the pool: with every thread busy
 * waiting, that job would never run (CreateImage stops its instance in its
 * own thread, nube_lifecycle_stop_wait()).
 */
#pragma once

#include <glib.h>

typedef struct NubeJobs NubeJobs;
typedef void (*NubeJobFn)(gpointer data);

/* A pool of up to MAX_THREADS workers.  Free with nube_jobs_free(). */
NubeJobs *nube_jobs_new(guint max_threads);

/* A pool that runs nothing: jobs are kept until nube_jobs_free(), which
 * frees their data unrun.  For tests of what an action queues.  Free with
 * nube_jobs_free(). */
NubeJobs *nube_jobs_new_held(void);

/* How many jobs a held pool keeps (0 for a pool that runs them). */
guint nube_jobs_held(NubeJobs *jobs);

/* Waits for queued jobs to finish (a held pool: frees them unrun) and
 * frees the pool.  NULL is fine. */
void nube_jobs_free(NubeJobs *jobs);

/* Runs FN(DATA) on a worker, then FREE_FN(DATA) if not NULL. */
void nube_jobs_push(NubeJobs *jobs, NubeJobFn fn, gpointer data, GDestroyNotify free_fn);
