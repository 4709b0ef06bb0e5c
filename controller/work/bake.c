/*
 * bake.c: CreateImage (see bake.h).
 */
#include "bake.h"
#include "capture.h"
#include "fault.h"
#include "fsutil.h"
#include "instdir.h"
#include "images.h"
#include "lifecycle.h"
#include "log.h"

#include <unistd.h>

typedef struct {
    NubeCloud *d;
    char *instance_id;
    char *image_id;
    gboolean no_reboot;
    gint64 started;         /* monotonic, for progress */
    gint64 capture_started; /* after the guest's shutdown */
} BakeJob;

static void bake_job_free(gpointer p)
{
    BakeJob *job = p;
    g_free(job->instance_id);
    g_free(job->image_id);
    g_free(job);
}

static void progress(BakeJob *job, const char *message)
{
    nube_images_progress(job->d, job->image_id, job->started, message);
}

/* Polls the record of ID until its state is STATE or TIMEOUT seconds pass. */
static int wait_state(NubeCloud *d, const char *id, NubeInstanceState state, int timeout,
                      NubeError **err)
{
    for (int i = 0; i < timeout * 5; i++) {
        g_autoptr(NubeInstance) inst = nube_instance_get(d->db, id, err);
        if (inst == NULL)
            return -ENOENT;
        if (inst->state == state)
            return 0;
        if (inst->state == NUBE_INSTANCE_TERMINATED || inst->state == NUBE_INSTANCE_SHUTTING_DOWN)
            return nube_error_set(err, ECANCELED, "instance '%s' was terminated", id);
        g_usleep(G_USEC_PER_SEC / 5);
    }
    return nube_error_set(err, ETIMEDOUT, "instance '%s' did not reach '%s' in %d s", id,
                          nube_instance_state_name(state), timeout);
}

/* Seconds the record of a guest that is off may take to become stopped
 * (libvirt's event). */
#define STOPPED_EVENT_TIMEOUT 30

/* Stops the guest cleanly, flattens its disk to DEST.  *STOPPED tells
 * whether the caller must start it again. */
static int capture_stopped(BakeJob *job, const char *dest, gboolean *stopped, NubeError **err)
{
    NubeCloud *d = job->d;
    g_autoptr(NubeInstance) inst = nube_instance_get(d->db, job->instance_id, err);
    if (inst == NULL)
        return -ENOENT;
    if (inst->state != NUBE_INSTANCE_STOPPED) {
        NubeInstanceState prev;
        progress(job, "shutting the instance down");
        /* In this job's thread: a stop job could wait for a thread of the
         * pool that every bake holds. */
        if (nube_lifecycle_stop_wait(d, job->instance_id, &prev, err) < 0)
            return -EIO;
        *stopped = TRUE;
        if (wait_state(d, job->instance_id, NUBE_INSTANCE_STOPPED, STOPPED_EVENT_TIMEOUT, err) < 0)
            return -EIO;
    }
    job->capture_started = g_get_monotonic_time();
    progress(job, "flattening the disk");
    g_autofree char *overlay =
        nube_instdir_path(d->instances_dir, job->instance_id, NUBE_INSTDIR_ROOT_DISK);
    return nube_capture_flatten(overlay, dest, err);
}

/* Seconds the guest's file systems may stay frozen: the agent thaws them
 * by itself after this, whatever happens to nubed. */
#define FREEZE_LIMIT_S 60

/* Asks the guest agent to flush and freeze the file systems.  TRUE if
 * they are frozen (the copy will be consistent); FALSE (logged) if there
 * is no agent or it could not, and the copy is only crash-consistent. */
static gboolean freeze_guest(BakeJob *job)
{
    NubeMsg cmd, reply;
    g_autoptr(NubeError) err = NULL;
    nube_msg_init(&cmd);
    nube_msg_init(&reply);
    cmd.type = NUBE_MSG_PREPARE_IMAGE;
    cmd.freeze = TRUE;
    cmd.generalize = FALSE; /* done offline on the copy: the instance stays as it is */
    cmd.thaw_after = FREEZE_LIMIT_S;
    int r = nube_agentlink_call(job->d->agents, job->instance_id, &cmd, 30 * 1000, &reply, &err);
    if (r == 0)
        nube_info("%s: guest agent froze %d file system(s)", job->instance_id, reply.frozen);
    else
        nube_warn("%s: no consistent copy (%s); copying crash-consistently", job->instance_id,
                  err->message);
    nube_msg_clear(&reply);
    return r == 0;
}

static void thaw_guest(gpointer data)
{
    BakeJob *job = data;
    NubeMsg cmd, reply;
    g_autoptr(NubeError) err = NULL;
    nube_msg_init(&cmd);
    nube_msg_init(&reply);
    cmd.type = NUBE_MSG_THAW;
    if (nube_agentlink_call(job->d->agents, job->instance_id, &cmd, 30 * 1000, &reply, &err) == 0)
        nube_info("%s: guest agent thawed %d file system(s)", job->instance_id, reply.thawed);
    else
        nube_warn("%s: thaw: %s (the agent thaws by itself after %d s)", job->instance_id,
                  err->message, FREEZE_LIMIT_S);
    nube_msg_clear(&reply);
}

static int capture_running(BakeJob *job, const char *dest, NubeError **err)
{
    static const char *const skip[] = { "vdb", NULL };
    job->capture_started = g_get_monotonic_time();
    gboolean frozen = freeze_guest(job);
    progress(job, frozen ? "copying the running disk (file systems frozen by the guest agent)"
                         : "copying the running disk (crash-consistent: no guest agent)");
    return nube_hypervisor_backup_disk(job->d->hv, job->instance_id, "vda", dest, skip,
                                       frozen ? thaw_guest : NULL, job, err);
}

static int generalize_and_store(BakeJob *job, const char *tmp, NubeBase *base, NubeError **err)
{
    NubeGeneralizeOptions opts = { .tcg = job->d->accel == NUBE_ACCEL_TCG };
    g_auto(NubeGeneralizeReport) report = { 0 };

    nube_fault_point("bake.copied");
    progress(job, "generalizing (machine-id, SSH host keys, cloud-init state, logs)");
    if (nube_capture_generalize(tmp, &opts, &report, err) < 0)
        return -EIO;
    nube_info("%s: generalized in %" G_GINT64_FORMAT " ms: %s", job->image_id, report.total_ms,
              report.summary ? report.summary : "");
    progress(job, "storing");
    int r = nube_store_adopt(job->d->store, tmp, base, err);
    if (r == 0)
        nube_fault_point("bake.stored");
    return r;
}

static int finish(BakeJob *job, const NubeBase *base, NubeError **err)
{
    g_autoptr(NubeImage) img = nube_image_get(job->d->db, job->image_id, err);
    if (img == NULL)
        return -ENOENT;
    g_autoptr(NubeImage) parent =
        img->parent_image ? nube_image_get(job->d->db, img->parent_image, err) : NULL;
    if (parent == NULL)
        return -ENOENT;
    return nube_image_set_available(job->d->db, job->image_id, base->sha256,
                                    (gint64) base->virtual_size, parent->kernel_sha256,
                                    parent->ramdisk_sha256, parent->kernel_cmdline, err);
}

static int bake(BakeJob *job, gboolean *stopped, NubeError **err)
{
    g_autofree char *tmp =
        g_strdup_printf("%s/%s.qcow2", nube_store_tmp_dir(job->d->store), job->image_id);
    NubeBase base = { 0 };
    g_autoptr(NubeInstance) inst = nube_instance_get(job->d->db, job->instance_id, err);
    if (inst == NULL)
        return -ENOENT;

    gboolean live = job->no_reboot && inst->state == NUBE_INSTANCE_RUNNING;
    int r = live ? capture_running(job, tmp, err) : capture_stopped(job, tmp, stopped, err);
    if (r == 0)
        r = generalize_and_store(job, tmp, &base, err);
    unlink(tmp);
    gint64 capture_ms = (g_get_monotonic_time() - job->capture_started) / 1000;
    if (r == 0)
        r = nube_image_set_capture_ms(job->d->db, job->image_id, capture_ms, err);
    if (r == 0)
        r = finish(job, &base, err);
    if (r == 0)
        nube_info("%s: available in %.1f s after the guest was down (base %s)", job->image_id,
                  capture_ms / 1e3, base.sha256);
    else if (base.path != NULL)
        nube_images_gc_files(job->d, base.sha256, NULL, NULL);
    nube_base_clear(&base);
    return r;
}

static void bake_job(gpointer data)
{
    BakeJob *job = data;
    g_autoptr(NubeError) err = NULL;
    gboolean stopped = FALSE;

    job->started = g_get_monotonic_time();
    if (bake(job, &stopped, &err) < 0) {
        nube_err("%s: CreateImage from %s failed: %s", job->image_id, job->instance_id,
                 err->message);
        nube_image_set_failed(job->d->db, job->image_id, err->message, NULL);
    }
    if (stopped) {
        g_autoptr(NubeError) serr = NULL;
        NubeInstanceState prev;
        if (wait_state(job->d, job->instance_id, NUBE_INSTANCE_STOPPED, 60, &serr) < 0 ||
            nube_lifecycle_start(job->d, job->instance_id, &prev, &serr) < 0)
            nube_warn("%s: not started again after CreateImage: %s", job->instance_id,
                      serr->message);
    }
}

void nube_bake_start(NubeCloud *d, const NubeInstance *inst, const char *image_id,
                     gboolean no_reboot)
{
    BakeJob *job = g_new0(BakeJob, 1);
    job->d = d;
    job->instance_id = g_strdup(inst->id);
    job->image_id = g_strdup(image_id);
    job->no_reboot = no_reboot;
    nube_jobs_push(d->jobs, bake_job, job, bake_job_free);
}

/* Starts again the instance that the interrupted bake of IMG stopped. */
static void restart_instance(NubeCloud *d, const NubeImage *img)
{
    if (img->source_instance == NULL)
        return;
    g_autoptr(NubeInstance) inst = nube_instance_get(d->db, img->source_instance, NULL);
    if (inst == NULL || inst->state != NUBE_INSTANCE_STOPPED ||
        g_strcmp0(inst->state_reason, NUBE_BAKE_STOP_REASON) != 0)
        return;
    NubeInstanceState prev;
    g_autoptr(NubeError) err = NULL;
    if (nube_lifecycle_start(d, inst->id, &prev, &err) < 0)
        nube_warn("%s: not started again after image %s: %s", inst->id, img->id, err->message);
    else
        nube_info("%s: started again (its image %s was cut off)", inst->id, img->id);
}

void nube_bake_recover(NubeCloud *d)
{
    g_autoptr(GPtrArray) all = nube_image_list(d->db, NULL);
    for (guint i = 0; all != NULL && i < all->len; i++) {
        const NubeImage *img = g_ptr_array_index(all, i);
        if (g_str_equal(img->state, "pending") && g_strcmp0(img->source, "instance") == 0)
            restart_instance(d, img);
    }
}
