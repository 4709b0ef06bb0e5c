/*
 * jobs.c: a thread pool for background work (see jobs.h).
 */
#include "jobs.h"

struct NubeJobs {
    GThreadPool *pool; /* NULL for a held pool */
    GMutex lock;       /* guards HELD */
    GPtrArray *held;   /* Job, in a held pool */
};

typedef struct {
    NubeJobFn fn;
    gpointer data;
    GDestroyNotify free_fn;
} Job;

static void job_drop(gpointer item)
{
    Job *job = item;
    if (job->free_fn != NULL)
        job->free_fn(job->data);
    g_free(job);
}

static void run_job(gpointer item, gpointer unused)
{
    Job *job = item;
    job->fn(job->data);
    job_drop(job);
}

NubeJobs *nube_jobs_new(guint max_threads)
{
    NubeJobs *jobs = g_new0(NubeJobs, 1);
    g_mutex_init(&jobs->lock);
    jobs->pool = g_thread_pool_new(run_job, NULL, (gint) max_threads, FALSE, NULL);
    return jobs;
}

NubeJobs *nube_jobs_new_held(void)
{
    NubeJobs *jobs = g_new0(NubeJobs, 1);
    g_mutex_init(&jobs->lock);
    jobs->held = g_ptr_array_new_with_free_func(job_drop);
    return jobs;
}

guint nube_jobs_held(NubeJobs *jobs)
{
    if (jobs->held == NULL)
        return 0;
    g_mutex_lock(&jobs->lock);
    guint n = jobs->held->len;
    g_mutex_unlock(&jobs->lock);
    return n;
}

void nube_jobs_free(NubeJobs *jobs)
{
    if (jobs == NULL)
        return;
    if (jobs->pool != NULL)
        g_thread_pool_free(jobs->pool, FALSE, TRUE);
    if (jobs->held != NULL)
        g_ptr_array_unref(jobs->held);
    g_mutex_clear(&jobs->lock);
    g_free(jobs);
}

void nube_jobs_push(NubeJobs *jobs, NubeJobFn fn, gpointer data, GDestroyNotify free_fn)
{
    Job *job = g_new0(Job, 1);
    job->fn = fn;
    job->data = data;
    job->free_fn = free_fn;
    if (jobs->pool != NULL) {
        g_thread_pool_push(jobs->pool, job, NULL);
        return;
    }
    g_mutex_lock(&jobs->lock);
    g_ptr_array_add(jobs->held, job);
    g_mutex_unlock(&jobs->lock);
}
