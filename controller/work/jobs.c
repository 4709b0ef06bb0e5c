/*
 * jobs.c: a thread pool for background work (see jobs.h).
 */
#include "jobs.h"

struct NubeJobs {
    GThreadPool *pool;
};

typedef struct {
    NubeJobFn fn;
    gpointer data;
    GDestroyNotify free_fn;
} Job;

static void run_job(gpointer item, gpointer unused)
{
    Job *job = item;
    job->fn(job->data);
    if (job->free_fn != NULL)
        job->free_fn(job->data);
    g_free(job);
}

NubeJobs *nube_jobs_new(guint max_threads)
{
    NubeJobs *jobs = g_new0(NubeJobs, 1);
    jobs->pool = g_thread_pool_new(run_job, NULL, (gint) max_threads, FALSE, NULL);
    return jobs;
}

void nube_jobs_free(NubeJobs *jobs)
{
    if (jobs == NULL)
        return;
    g_thread_pool_free(jobs->pool, FALSE, TRUE);
    g_free(jobs);
}

void nube_jobs_push(NubeJobs *jobs, NubeJobFn fn, gpointer data, GDestroyNotify free_fn)
{
    Job *job = g_new0(Job, 1);
    job->fn = fn;
    job->data = data;
    job->free_fn = free_fn;
    g_thread_pool_push(jobs->pool, job, NULL);
}
