/*
 * lifecycle.c: instance operations, events and reconciliation (see
 * lifecycle.h).
 */
#include "lifecycle.h"
#include "agentstatus.h"
#include "clienttoken.h"
#include "domain_xml.h"
#include "forwards.h"
#include "fault.h"
#include "fsutil.h"
#include "images.h"
#include "log.h"
#include "overlay.h"
#include "secgroup.h"
#include "imds.h"
#include "instdir.h"
#include "nocloud.h"
#include "tags.h"
#include "volume.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define GUEST_PRIVATE_IP NUBE_GUEST_IP

typedef struct {
    NubeCloud *d;
    char *id;
    gboolean force;
} InstanceJob;

static void instance_job_free(gpointer p)
{
    InstanceJob *job = p;
    g_free(job->id);
    g_free(job);
}

/*
 * One owner per instance at a time: every job that changes an instance's
 * guest or files (launch, stop, terminate, the bake's stop) holds the
 * instance while it runs, so a terminate queued during a launch runs after
 * it, never beside it.  Jobs re-read the record once they own it.
 */
typedef struct {
    GMutex lock;
    guint users; /* holders and waiters, under owners_lock */
} Owner;

static GMutex owners_lock;
static GHashTable *owners; /* instance id -> Owner */

static Owner *instance_own(const char *id)
{
    g_mutex_lock(&owners_lock);
    if (owners == NULL)
        owners = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    Owner *o = g_hash_table_lookup(owners, id);
    if (o == NULL) {
        o = g_new0(Owner, 1);
        g_mutex_init(&o->lock);
        g_hash_table_insert(owners, g_strdup(id), o);
    }
    o->users++;
    g_mutex_unlock(&owners_lock);
    g_mutex_lock(&o->lock);
    return o;
}

static void instance_disown(const char *id, Owner *o)
{
    g_mutex_unlock(&o->lock);
    g_mutex_lock(&owners_lock);
    if (--o->users == 0) {
        g_mutex_clear(&o->lock);
        g_hash_table_remove(owners, id);
    }
    g_mutex_unlock(&owners_lock);
}

/* Instances whose launch nubed promised and found started at its start:
 * if libvirt then reports their QEMU failed (a start cut off by nubed's
 * death), they are launched again instead of shown stopped.  Id -> the
 * monotonic time until which that holds. */
#define RELAUNCH_WINDOW_S 120
static GMutex relaunch_lock;
static GHashTable *relaunch;

static void relaunch_watch(const char *id)
{
    g_mutex_lock(&relaunch_lock);
    if (relaunch == NULL)
        relaunch = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    gint64 *until = g_new(gint64, 1);
    *until = g_get_monotonic_time() + RELAUNCH_WINDOW_S * G_USEC_PER_SEC;
    g_hash_table_insert(relaunch, g_strdup(id), until);
    g_mutex_unlock(&relaunch_lock);
}

/* TRUE (once) if ID is watched and its window is open. */
static gboolean relaunch_take(const char *id)
{
    g_mutex_lock(&relaunch_lock);
    gint64 *until = relaunch ? g_hash_table_lookup(relaunch, id) : NULL;
    gboolean open = until != NULL && g_get_monotonic_time() < *until;
    if (until != NULL)
        g_hash_table_remove(relaunch, id);
    g_mutex_unlock(&relaunch_lock);
    return open;
}

static void queue(NubeCloud *d, NubeJobFn fn, const char *id, gboolean force)
{
    InstanceJob *job = g_new0(InstanceJob, 1);
    job->d = d;
    job->id = g_strdup(id);
    job->force = force;
    nube_jobs_push(d->jobs, fn, job, instance_job_free);
}

static void set_state(NubeCloud *d, const char *id, NubeInstanceStates from, NubeInstanceState to,
                      const char *reason)
{
    g_autoptr(NubeError) err = NULL;
    const char *name = nube_instance_state_name(to);
    if (nube_instance_transition(d->db, id, from, to, reason, NULL, &err) == 0)
        nube_info("%s: %s%s%s", id, name, reason ? ": " : "", reason ? reason : "");
    else
        nube_debug("%s: not moved to %s: %s", id, name, err->message);
}

/* ---- launching ---------------------------------------------------------- */

static char *new_mac(void)
{
    unsigned char b[3];
    nube_random_bytes(b, sizeof(b), NULL);
    return g_strdup_printf("52:54:00:%02x:%02x:%02x", b[0], b[1], b[2]);
}

static NubeInstance *new_record(NubeCloud *d, const NubeLaunchRequest *req, const char *reservation,
                                guint index)
{
    NubeInstance *inst = nube_instance_new();
    gint64 now = g_get_real_time() / G_USEC_PER_SEC;
    inst->id = nube_id_new("i");
    inst->reservation_id = g_strdup(reservation);
    inst->owner_id = g_strdup(req->owner_id);
    inst->image_id = g_strdup(req->image->id);
    inst->instance_type = g_strdup(req->type->name);
    inst->launch_index = index;
    inst->state = NUBE_INSTANCE_PENDING;
    inst->state_changed_at = now;
    inst->root_device_type = g_strdup(req->image->root_device_type);
    inst->base_sha256 = g_strdup(req->image->base_sha256);
    inst->user_data = req->user_data ? g_bytes_ref(req->user_data) : NULL;
    inst->mac = new_mac();
    inst->private_ip = g_strdup(GUEST_PRIVATE_IP);
    inst->hostname = g_strdup(inst->id);
    inst->vcpus = req->type->vcpus;
    inst->memory_mib = req->type->memory_mib;
    inst->accelerator = g_strdup(nube_accel_name(d->accel));
    inst->launch_time = now;
    inst->forwards = g_array_new(FALSE, TRUE, sizeof(NubePortForward));
    inst->extra_ports = g_array_new(FALSE, FALSE, sizeof(guint16));
    inst->key_name = g_strdup(req->key_name);
    inst->public_key = g_strdup(req->public_key);
    inst->groups = g_ptr_array_ref((GPtrArray *) req->groups);
    inst->metadata_http_tokens = g_strdup(req->metadata_tokens ? req->metadata_tokens : "optional");
    inst->metadata_http_endpoint =
        g_strdup(req->metadata_endpoint ? req->metadata_endpoint : "enabled");
    inst->metadata_hop_limit = req->metadata_hop_limit > 0 ? req->metadata_hop_limit : 1;
    inst->no_seed = req->no_seed;
    inst->client_token = g_strdup(req->client_token);
    inst->tags = nube_tags_new();
    for (guint i = 0; req->tags != NULL && i < req->tags->len; i++) {
        const NubeTag *t = g_ptr_array_index(req->tags, i);
        nube_tags_add(inst->tags, t->key, t->value);
    }
    return inst;
}

/* The volume record of INST's ebs root disk, with REQ's volume tags. */
static int insert_root_volume(NubeCloud *d, const NubeLaunchRequest *req, const NubeInstance *inst,
                              NubeError **err)
{
    g_autofree char *id = g_strconcat("vol-", inst->id + 2, NULL);
    NubeVolume vol = {
        .id = id,
        .owner_id = inst->owner_id,
        .instance_id = inst->id,
        .base_sha256 = inst->base_sha256,
        .size = req->image->virtual_size,
        .state = "in-use",
        .delete_on_termination = !req->keep_root,
        .created_at = inst->launch_time,
        .attached_at = inst->launch_time,
    };
    int r = nube_volume_insert(d->db, &vol, err);
    return r < 0 ? r : nube_tags_set(d->db, id, req->volume_tags, err);
}

static int insert_all(NubeCloud *d, const NubeLaunchRequest *req, GPtrArray *insts, NubeError **err)
{
    const NubeInstance *first = g_ptr_array_index(insts, 0);
    nube_db_lock(d->db);
    int r = nube_db_begin(d->db, err);
    if (r == 0 && req->client_token != NULL)
        r = nube_client_token_insert(d->db, req->owner_id, req->client_token, req->request_digest,
                                     first->reservation_id, err);
    for (guint i = 0; r >= 0 && i < insts->len; i++) {
        const NubeInstance *inst = g_ptr_array_index(insts, i);
        r = nube_instance_insert(d->db, inst, err);
        if (r >= 0 && g_str_equal(inst->root_device_type, "ebs"))
            r = insert_root_volume(d, req, inst, err);
    }
    if (r >= 0)
        r = nube_db_commit(d->db, err);
    else
        nube_db_rollback(d->db);
    nube_db_unlock(d->db);
    return r;
}

static void launch_job(gpointer data);

/* Adds a forward of GUEST_PORT from a free host port to INST. */
static int add_forward(NubeCloud *d, NubeInstance *inst, guint16 guest_port, gboolean extra,
                       GArray *taken, NubeError **err)
{
    NubePortForward f = { .guest_port = guest_port };
    if ((f.host_port = nube_forwards_pick_port(d->db, taken, err)) == 0)
        return -EADDRINUSE;
    g_array_append_val(inst->forwards, f);
    if (extra)
        g_array_append_val(inst->extra_ports, guest_port);
    return 0;
}

/* The forwards of INST: NubeForwardPort's ports, then those the groups'
 * rules open (GROUP_PORTS), each once. */
static int plan_forwards(NubeCloud *d, const NubeLaunchRequest *req, const GArray *group_ports,
                         NubeInstance *inst, GArray *taken, NubeError **err)
{
    const GArray *extra = req->forward_ports;
    for (guint k = 0; extra != NULL && k < extra->len; k++)
        if (add_forward(d, inst, g_array_index(extra, guint16, k), TRUE, taken, err) < 0)
            return -EADDRINUSE;
    for (guint k = 0; k < group_ports->len; k++) {
        guint16 port = g_array_index(group_ports, guint16, k);
        gboolean dup = FALSE;
        for (guint j = 0; extra != NULL && j < extra->len && !dup; j++)
            dup = g_array_index(extra, guint16, j) == port;
        if (!dup && add_forward(d, inst, port, FALSE, taken, err) < 0)
            return -EADDRINUSE;
    }
    return 0;
}

/* The ids of REQ's groups (NULL-terminated, strings borrowed). */
static const char **group_ids(const NubeLaunchRequest *req)
{
    const char **ids = g_new0(const char *, req->groups->len + 1);
    for (guint i = 0; i < req->groups->len; i++)
        ids[i] = ((const NubeSecGroup *) g_ptr_array_index(req->groups, i))->id;
    return ids;
}

static void log_pending(const NubeInstance *inst)
{
    g_autofree char *ssh = g_strdup("closed");
    for (guint k = 0; k < inst->forwards->len; k++) {
        const NubePortForward *f = &g_array_index(inst->forwards, NubePortForward, k);
        if (f->guest_port == 22) {
            g_free(ssh);
            ssh = g_strdup_printf("on 127.0.0.1:%u", f->host_port);
        }
    }
    nube_info("%s: pending (image %s, type %s, %u forwarded port(s), ssh %s)", inst->id,
              inst->image_id, inst->instance_type, inst->forwards->len, ssh);
}

GPtrArray *nube_lifecycle_run(NubeCloud *d, const NubeLaunchRequest *req, NubeError **err)
{
    g_autoptr(GPtrArray) insts =
        g_ptr_array_new_with_free_func((GDestroyNotify) nube_instance_free);
    g_autoptr(GArray) taken = g_array_new(FALSE, FALSE, sizeof(guint16));
    g_autofree char *reservation = nube_id_new("r");
    g_autofree const char **gids = group_ids(req);
    g_autoptr(GArray) group_ports = nube_secgroup_ports(d->db, gids, err);
    if (group_ports == NULL)
        return NULL;

    for (guint i = 0; i < req->count; i++) {
        NubeInstance *inst = new_record(d, req, reservation, i);
        g_ptr_array_add(insts, inst);
        if (plan_forwards(d, req, group_ports, inst, taken, err) < 0)
            return NULL;
    }
    if (insert_all(d, req, insts, err) < 0)
        return NULL;
    nube_fault_point("run.recorded");
    for (guint i = 0; i < insts->len; i++) {
        const NubeInstance *inst = g_ptr_array_index(insts, i);
        log_pending(inst);
        queue(d, launch_job, inst->id, FALSE);
    }
    return g_steal_pointer(&insts);
}

static int write_disks(NubeCloud *d, const NubeInstance *inst, const char *dir, NubeError **err)
{
    g_autofree char *overlay = g_build_filename(dir, NUBE_INSTDIR_ROOT_DISK, NULL);
    g_autofree char *seed = g_build_filename(dir, NUBE_INSTDIR_SEED, NULL);
    NubeBase base = { 0 };

    if (!g_file_test(overlay, G_FILE_TEST_EXISTS)) {
        int r = nube_store_lookup(d->store, inst->base_sha256, &base, err);
        if (r == 0)
            r = nube_overlay_create(base.path, overlay, 0, err);
        nube_base_clear(&base);
        if (r < 0)
            return r;
    }
    if (inst->no_seed) {
        unlink(seed);
        return 0;
    }
    gsize ud_len = 0;
    const void *ud = inst->user_data ? g_bytes_get_data(inst->user_data, &ud_len) : NULL;
    NubeNoCloudSpec spec = {
        .instance_id = inst->id,
        .hostname = inst->hostname,
        .mac = inst->mac,
        .user_data = ud,
        .user_data_len = ud_len,
        .public_key = inst->public_key,
    };
    return nube_nocloud_write(&spec, seed, err);
}

static char *domain_xml_for(NubeCloud *d, const NubeInstance *inst, const NubeImage *img,
                            const char *dir, NubeError **err)
{
    g_autofree char *kernel =
        img->kernel_sha256 ? nube_store_blob_path(d->store, img->kernel_sha256) : NULL;
    g_autofree char *initrd =
        img->ramdisk_sha256 ? nube_store_blob_path(d->store, img->ramdisk_sha256) : NULL;
    g_autofree char *disk = g_build_filename(dir, NUBE_INSTDIR_ROOT_DISK, NULL);
    g_autofree char *seed = g_build_filename(dir, NUBE_INSTDIR_SEED, NULL);
    g_autofree char *console = g_build_filename(dir, NUBE_INSTDIR_CONSOLE, NULL);
    g_autofree char *agent = g_build_filename(dir, NUBE_INSTDIR_AGENT_SOCKET, NULL);
    g_autofree char *imds = g_build_filename(dir, NUBE_INSTDIR_IMDS_SOCKET, NULL);
    if (img->kernel_sha256 != NULL && kernel == NULL) {
        nube_error_set(err, ENOENT, "kernel of image '%s' is missing from the store", img->id);
        return NULL;
    }
    NubeDomainSpec spec = {
        .name = inst->id,
        .uuid = NULL,
        .accel = d->accel,
        .vcpus = (guint) inst->vcpus,
        .memory_mib = (guint) inst->memory_mib,
        .kernel = kernel,
        .initrd = initrd,
        .cmdline = img->kernel_cmdline,
        .disk_path = disk,
        .seed_path = inst->no_seed ? NULL : seed,
        .console_path = console,
        .agent_socket = agent,
        /* The metadata service needs QEMU to start socat: only where nube
         * configures the driver's sandbox (the embedded driver). */
        .own_sandbox = nube_hypervisor_embedded(d->hv),
        .imds_socket = nube_hypervisor_embedded(d->hv) ? imds : NULL,
        .mac = inst->mac,
        .forwards = (const NubePortForward *) inst->forwards->data,
        .n_forwards = inst->forwards->len,
    };
    return nube_domain_xml(&spec, err);
}

/* Writes the instance's disks and domain and starts it. */
static int boot_domain(NubeCloud *d, const char *id, NubeError **err)
{
    g_autoptr(NubeInstance) inst = nube_instance_get(d->db, id, err);
    if (inst == NULL)
        return -ENOENT;
    g_autoptr(NubeImage) img = nube_image_get(d->db, inst->image_id, err);
    if (img == NULL)
        return -ENOENT;

    g_autofree char *dir = nube_cloud_instance_dir(d, id);
    if (nube_mkdir_p(dir, 0700, err) < 0 || write_disks(d, inst, dir, err) < 0)
        return -EIO;
    g_autofree char *xml = domain_xml_for(d, inst, img, dir, err);
    if (xml == NULL)
        return -EIO;
    if (nube_hypervisor_define(d->hv, xml, err) < 0)
        return -EIO;
    nube_agent_status_new_boot(d->db, id);
    nube_imds_kick(d->imds); /* its socket, before the guest may ask */
    if (nube_hypervisor_start(d->hv, id, err) < 0)
        return -EIO;
    nube_agentlink_kick(d->agents);
    return 0;
}

/* Boots ID with the forwards its groups' rules open now.  A rule changed
 * while it boots waits for the guest to run, then is applied to it. */
static int boot_instance(NubeCloud *d, const char *id, NubeError **err)
{
    nube_forwards_lock();
    int r = nube_forwards_sync(d->db, d->hv, id, err);
    if (r == 0)
        r = boot_domain(d, id, err);
    nube_forwards_unlock();
    return r;
}

/* Launches the pending instance JOB->id, which the caller owns. */
static void launch_owned(InstanceJob *job)
{
    g_autoptr(NubeError) err = NULL;
    g_autoptr(NubeInstance) now = nube_instance_get(job->d->db, job->id, NULL);
    if (now == NULL || now->state != NUBE_INSTANCE_PENDING) {
        nube_info("%s: not launched: it is %s", job->id,
                  now ? nube_instance_state_name(now->state) : "gone");
        return;
    }
    NubeDomainState st = NUBE_DOMAIN_ABSENT;
    if (nube_hypervisor_state(job->d->hv, job->id, &st, NULL) == 0 && st == NUBE_DOMAIN_RUNNING) {
        set_state(job->d, job->id, NUBE_STATE_BIT(NUBE_INSTANCE_PENDING), NUBE_INSTANCE_RUNNING,
                  NULL);
        return; /* launched already (a launch queued twice) */
    }
    nube_fault_point("launch.begin");
    if (boot_instance(job->d, job->id, &err) == 0) {
        nube_fault_point("launch.started");
        return;
    }
    nube_err("%s: launch failed: %s", job->id, err->message);
    g_autofree char *reason = g_strdup_printf("Server.InternalError: %s", err->message);
    nube_hypervisor_destroy(job->d->hv, job->id, NULL);
    /* The instance is shown stopped with the cause; its disk (if made) is
     * kept, so the user can start it again or terminate it. */
    g_autoptr(NubeInstance) inst = nube_instance_get(job->d->db, job->id, NULL);
    if (inst != NULL && inst->state == NUBE_INSTANCE_PENDING)
        set_state(job->d, job->id, NUBE_STATE_BIT(NUBE_INSTANCE_PENDING), NUBE_INSTANCE_STOPPED,
                  reason);
}

static void launch_job(gpointer data)
{
    InstanceJob *job = data;
    Owner *o = instance_own(job->id);
    launch_owned(job);
    instance_disown(job->id, o);
}

/* ---- stop, start, reboot, terminate --------------------------------------- */

/* Asks the guest agent, if one is connected, to power the guest off.  TRUE
 * if it agreed (the guest is shutting down). */
static gboolean agent_shutdown(NubeCloud *d, const char *id)
{
    NubeMsg cmd, reply;
    g_autoptr(NubeError) err = NULL;
    if (!nube_agentlink_ready(d->agents, id))
        return FALSE;
    nube_msg_init(&cmd);
    nube_msg_init(&reply);
    cmd.type = NUBE_MSG_SHUTDOWN;
    cmd.mode = strdup("poweroff");
    int r = nube_agentlink_call(d->agents, id, &cmd, 10 * 1000, &reply, &err);
    nube_msg_clear(&cmd);
    nube_msg_clear(&reply);
    if (r < 0)
        nube_warn("%s: %s; using the ACPI power button", id, err->message);
    else
        nube_info("%s: shutting down through the guest agent", id);
    return r == 0;
}

/* TRUE if ID was asked to terminate: a clean stop need not wait any more
 * (the terminate job, waiting for the instance, powers the guest off). */
static gboolean terminating(NubeCloud *d, const char *id)
{
    g_autoptr(NubeInstance) inst = nube_instance_get(d->db, id, NULL);
    return inst == NULL || inst->state == NUBE_INSTANCE_SHUTTING_DOWN ||
           inst->state == NUBE_INSTANCE_TERMINATED;
}

/* Shuts the guest of ID down in the caller's thread: cleanly (through its
 * agent, else the ACPI power button) unless FORCE, powered off if that
 * fails or takes more than NUBE_STOP_TIMEOUT s.  Returns when it is off. */
static void stop_guest(NubeCloud *d, const char *id, gboolean force)
{
    g_autoptr(NubeError) err = NULL;

    if (force || (!agent_shutdown(d, id) && nube_hypervisor_shutdown(d->hv, id, &err) < 0)) {
        if (err != NULL)
            nube_warn("%s: clean shutdown failed (%s), powering off", id, err->message);
        nube_hypervisor_destroy(d->hv, id, NULL);
        return;
    }
    for (int waited = 0; waited < NUBE_STOP_TIMEOUT; waited++) {
        NubeDomainState st = NUBE_DOMAIN_RUNNING;
        nube_hypervisor_state(d->hv, id, &st, NULL);
        if (st != NUBE_DOMAIN_RUNNING || terminating(d, id))
            return;
        g_usleep(G_USEC_PER_SEC);
    }
    nube_warn("%s: no clean shutdown after %d s, powering off", id, NUBE_STOP_TIMEOUT);
    nube_hypervisor_destroy(d->hv, id, NULL);
}

static void stop_job(gpointer data)
{
    InstanceJob *job = data;
    Owner *o = instance_own(job->id);
    if (!terminating(job->d, job->id))
        stop_guest(job->d, job->id, job->force);
    instance_disown(job->id, o);
}

static int refuse_instance_store(const NubeInstance *inst, const char *what, NubeError **err)
{
    if (!g_str_equal(inst->root_device_type, "instance-store"))
        return 0;
    return nube_error_setc(err, EINVAL, "UnsupportedOperation",
                           "The instance '%s' does not have an 'ebs' root device type and "
                           "cannot be %s.",
                           inst->id, what);
}

/* Moves ID to stopping: 1 if its guest is to be stopped, 0 if it is
 * stopped already, or -errno with an EC2 error.  *PREV as for
 * nube_lifecycle_stop(). */
static int begin_stop(NubeCloud *d, const char *id, const char *reason, NubeInstanceState *prev,
                      NubeError **err)
{
    g_autoptr(NubeInstance) inst = nube_instance_get(d->db, id, err);
    if (inst == NULL)
        return -ENOENT;
    if (refuse_instance_store(inst, "stopped", err) < 0)
        return -EINVAL;
    if (inst->state == NUBE_INSTANCE_STOPPED) {
        *prev = NUBE_INSTANCE_STOPPED;
        return 0;
    }
    int r = nube_instance_transition(d->db, id, NUBE_INSTANCE_LIVE, NUBE_INSTANCE_STOPPING, reason,
                                     prev, err);
    return r < 0 ? r : 1;
}

int nube_lifecycle_stop(NubeCloud *d, const char *id, gboolean force, NubeInstanceState *prev,
                        NubeError **err)
{
    int r = begin_stop(d, id, "Client.UserInitiatedShutdown: User initiated shutdown", prev, err);
    if (r > 0)
        queue(d, stop_job, id, force);
    return MIN(r, 0);
}

int nube_lifecycle_stop_wait(NubeCloud *d, const char *id, NubeInstanceState *prev, NubeError **err)
{
    int r = begin_stop(d, id, NUBE_BAKE_STOP_REASON, prev, err);
    if (r > 0) {
        Owner *o = instance_own(id);
        stop_guest(d, id, FALSE);
        instance_disown(id, o);
    }
    return MIN(r, 0);
}

int nube_lifecycle_start(NubeCloud *d, const char *id, NubeInstanceState *prev, NubeError **err)
{
    g_autoptr(NubeInstance) inst = nube_instance_get(d->db, id, err);
    if (inst == NULL)
        return -ENOENT;
    if (inst->state == NUBE_INSTANCE_RUNNING || inst->state == NUBE_INSTANCE_PENDING) {
        *prev = inst->state;
        return 0;
    }
    int r = nube_instance_transition(d->db, id, NUBE_STATE_BIT(NUBE_INSTANCE_STOPPED),
                                     NUBE_INSTANCE_PENDING, NULL, prev, err);
    if (r < 0)
        return r;
    queue(d, launch_job, id, FALSE);
    return 0;
}

int nube_lifecycle_reboot(NubeCloud *d, const char *id, NubeError **err)
{
    g_autoptr(NubeInstance) inst = nube_instance_get(d->db, id, err);
    if (inst == NULL)
        return -ENOENT;
    if (inst->state != NUBE_INSTANCE_RUNNING)
        return nube_error_setc(err, EBUSY, "IncorrectInstanceState",
                               "The instance '%s' is not in the 'running' state (it is '%s').", id,
                               nube_instance_state_name(inst->state));
    nube_agent_status_new_boot(d->db, id);
    return nube_hypervisor_reboot(d->hv, id, err);
}

/* An ebs root kept after terminate moves to STATE/volumes and becomes an
 * available volume; otherwise its record is marked deleted (the file goes
 * with the instance directory). */
static int release_root_volume(NubeCloud *d, const char *id, const char *dir, NubeError **err)
{
    g_autoptr(NubeVolume) vol = nube_volume_of_instance(d->db, id);
    if (vol == NULL)
        return 0;
    if (vol->delete_on_termination)
        return nube_volume_mark_deleted(d->db, vol->id, err);

    g_autofree char *disk = g_build_filename(dir, NUBE_INSTDIR_ROOT_DISK, NULL);
    g_autofree char *dest = nube_volume_path(d->cfg->state_dir, vol->id);
    g_autofree char *vdir = g_path_get_dirname(dest);
    if (nube_mkdir_p(vdir, 0700, err) < 0)
        return -EIO;
    if (rename(disk, dest) < 0 && errno != ENOENT)
        return nube_error_set(err, errno, "keep '%s' as volume '%s'", disk, dest);
    nube_info("%s: root disk kept as volume %s", id, vol->id);
    return nube_volume_detach(d->db, vol->id, err);
}

/* Terminates JOB->id, which the caller owns, if it is shutting down. */
static void terminate_owned(InstanceJob *job)
{
    NubeCloud *d = job->d;
    g_autoptr(NubeError) err = NULL;

    g_autoptr(NubeInstance) inst = nube_instance_get(d->db, job->id, &err);
    if (inst == NULL || inst->state != NUBE_INSTANCE_SHUTTING_DOWN)
        return;
    g_autofree char *dir = nube_cloud_instance_dir(d, job->id);
    int r = nube_hypervisor_destroy(d->hv, job->id, &err);
    if (r == 0)
        r = nube_hypervisor_undefine(d->hv, job->id, &err);
    if (r == 0)
        nube_fault_point("terminate.undefined");
    if (r < 0 || release_root_volume(d, job->id, dir, &err) < 0 || nube_rm_rf(dir, &err) < 0) {
        nube_err("%s: terminate: %s", job->id, err->message);
        return;
    }
    set_state(d, job->id, NUBE_STATE_BIT(NUBE_INSTANCE_SHUTTING_DOWN), NUBE_INSTANCE_TERMINATED,
              inst->state_reason);
    g_autoptr(NubeImage) img = nube_image_get(d->db, inst->image_id, NULL);
    nube_images_gc_files(d, inst->base_sha256, img ? img->kernel_sha256 : NULL,
                         img ? img->ramdisk_sha256 : NULL);
}

static void terminate_job(gpointer data)
{
    InstanceJob *job = data;
    Owner *o = instance_own(job->id);
    terminate_owned(job);
    instance_disown(job->id, o);
}

int nube_lifecycle_terminate(NubeCloud *d, const char *id, NubeInstanceState *prev, NubeError **err)
{
    g_autoptr(NubeInstance) inst = nube_instance_get(d->db, id, err);
    if (inst == NULL)
        return -ENOENT;
    if (inst->state == NUBE_INSTANCE_TERMINATED || inst->state == NUBE_INSTANCE_SHUTTING_DOWN) {
        *prev = inst->state;
        return 0;
    }
    int r = nube_instance_transition(
        d->db, id, NUBE_INSTANCE_NOT_TERMINATED, NUBE_INSTANCE_SHUTTING_DOWN,
        "Client.UserInitiatedShutdown: User initiated shutdown", prev, err);
    if (r < 0)
        return r;
    queue(d, terminate_job, id, TRUE);
    return 0;
}

/* ---- events and reconciliation -------------------------------------------- */

static void on_ephemeral_stopped(NubeCloud *d, const NubeInstance *inst, const char *detail);

static void on_stopped(NubeCloud *d, const char *id, const char *detail)
{
    const NubeInstanceStates started =
        NUBE_STATE_BIT(NUBE_INSTANCE_PENDING) | NUBE_STATE_BIT(NUBE_INSTANCE_RUNNING);

    g_autoptr(NubeInstance) inst = nube_instance_get(d->db, id, NULL);
    if (inst == NULL)
        return;
    if (g_str_equal(inst->root_device_type, "instance-store")) {
        on_ephemeral_stopped(d, inst, detail);
        return;
    }
    if (inst->state == NUBE_INSTANCE_STOPPING) {
        set_state(d, id, NUBE_STATE_BIT(NUBE_INSTANCE_STOPPING), NUBE_INSTANCE_STOPPED,
                  inst->state_reason);
    } else if (nube_instance_state_in(inst->state, started) && g_str_equal(detail, "failed") &&
               relaunch_take(id)) {
        /* A start cut off when nubed died: the launch was promised. */
        nube_warn("%s: its QEMU, started before nubed restarted, failed; launching again", id);
        set_state(d, id, started, NUBE_INSTANCE_PENDING, NULL);
        queue(d, launch_job, id, FALSE);
    } else if (nube_instance_state_in(inst->state, started)) {
        g_autofree char *reason =
            g_str_equal(detail, "shutdown")
                ? g_strdup("Client.InstanceInitiatedShutdown: Instance initiated shutdown")
                : g_strdup_printf("Server.InternalError: the guest stopped (%s)", detail);
        set_state(d, id, started, NUBE_INSTANCE_STOPPED, reason);
    }
}

/* An instance-store instance cannot be stopped: when its guest ends, the
 * instance and its disk end with it, as on EC2. */
static void on_ephemeral_stopped(NubeCloud *d, const NubeInstance *inst, const char *detail)
{
    if (!nube_instance_state_in(inst->state, NUBE_INSTANCE_LIVE))
        return;
    g_autofree char *reason =
        g_str_equal(detail, "shutdown")
            ? g_strdup("Client.InstanceInitiatedShutdown: Instance initiated shutdown")
            : g_strdup_printf("Server.InternalError: the guest stopped (%s); its instance-store "
                              "root disk is lost",
                              detail);
    set_state(d, inst->id, NUBE_INSTANCE_LIVE, NUBE_INSTANCE_SHUTTING_DOWN, reason);
    queue(d, terminate_job, inst->id, TRUE);
}

void nube_lifecycle_on_event(const char *name, NubeDomainEvent event, const char *detail,
                             void *opaque)
{
    NubeCloud *d = opaque;

    if (!nube_id_valid(name, "i"))
        return;
    nube_debug("%s: libvirt event %d (%s)", name, event, detail);
    if (event == NUBE_DOMAIN_EVENT_STARTED)
        set_state(d, name, NUBE_STATE_BIT(NUBE_INSTANCE_PENDING), NUBE_INSTANCE_RUNNING, NULL);
    else if (event == NUBE_DOMAIN_EVENT_STOPPED)
        on_stopped(d, name, detail);
}

static void reconcile_one(NubeCloud *d, const NubeInstance *inst, NubeDomainState st)
{
    const NubeInstanceStates down =
        NUBE_STATE_BIT(NUBE_INSTANCE_PENDING) | NUBE_STATE_BIT(NUBE_INSTANCE_STOPPED);
    const NubeInstanceStates up =
        NUBE_STATE_BIT(NUBE_INSTANCE_RUNNING) | NUBE_STATE_BIT(NUBE_INSTANCE_STOPPING);
    NubeInstanceState s = inst->state;

    if (s == NUBE_INSTANCE_SHUTTING_DOWN) {
        queue(d, terminate_job, inst->id, TRUE);
    } else if (st == NUBE_DOMAIN_RUNNING) {
        if (s == NUBE_INSTANCE_STOPPING)
            queue(d, stop_job, inst->id, FALSE);
        else if (s == NUBE_INSTANCE_PENDING)
            relaunch_watch(inst->id);
        if (s != NUBE_INSTANCE_STOPPING)
            set_state(d, inst->id, down, NUBE_INSTANCE_RUNNING, NULL);
    } else if (s == NUBE_INSTANCE_PENDING) {
        queue(d, launch_job, inst->id, FALSE);
    } else if (nube_instance_state_in(s, up) &&
               g_str_equal(inst->root_device_type, "instance-store")) {
        on_ephemeral_stopped(d, inst, "died while nubed was not running");
    } else if (nube_instance_state_in(s, up)) {
        set_state(d, inst->id, up, NUBE_INSTANCE_STOPPED,
                  s == NUBE_INSTANCE_STOPPING
                      ? inst->state_reason
                      : "Server.InternalError: the guest stopped while nubed was not running");
    }
}

/* What a periodic look at the hypervisor corrects: an event that was never
 * delivered (libvirt reconnects to guests in threads of its own while nubed
 * starts, and a guest that died meanwhile is found dead only then). */
static void resync_one(NubeCloud *d, const NubeInstance *inst, NubeDomainState st)
{
    if (inst->state == NUBE_INSTANCE_RUNNING && st != NUBE_DOMAIN_RUNNING)
        on_stopped(d, inst->id, st == NUBE_DOMAIN_ABSENT ? "vanished" : "failed");
    else if (inst->state == NUBE_INSTANCE_PENDING && st == NUBE_DOMAIN_RUNNING)
        set_state(d, inst->id, NUBE_STATE_BIT(NUBE_INSTANCE_PENDING), NUBE_INSTANCE_RUNNING, NULL);
}

void nube_lifecycle_resync(NubeCloud *d)
{
    g_autoptr(GPtrArray) all = nube_instance_list(d->db, G_MAXINT64, NULL);
    for (guint i = 0; all != NULL && i < all->len; i++) {
        const NubeInstance *inst = g_ptr_array_index(all, i);
        NubeDomainState st = NUBE_DOMAIN_ABSENT;
        if (nube_hypervisor_state(d->hv, inst->id, &st, NULL) == 0)
            resync_one(d, inst, st);
    }
}

/* TRUE if ALL has no record of ID that is not terminated: a domain or
 * directory of such an id belongs to nothing. */
static gboolean belongs_to_nothing(const GPtrArray *all, const char *id)
{
    for (guint i = 0; i < all->len; i++) {
        const NubeInstance *inst = g_ptr_array_index(all, i);
        if (g_str_equal(inst->id, id))
            return inst->state == NUBE_INSTANCE_TERMINATED;
    }
    return TRUE;
}

/* Removes the domains (running QEMU or only a definition) and instance
 * directories that belong to no instance that is not terminated: what a
 * crash or a race left between a record's end and its guest's. */
static void remove_orphans(NubeCloud *d, const GPtrArray *all)
{
    g_autoptr(NubeError) err = NULL;
    g_autoptr(GPtrArray) doms = nube_hypervisor_list(d->hv, &err);
    for (guint i = 0; doms != NULL && i < doms->len; i++) {
        const char *name = g_ptr_array_index(doms, i);
        if (!nube_id_valid(name, "i") || !belongs_to_nothing(all, name))
            continue;
        nube_warn("%s: removing its domain, which belongs to no live instance", name);
        if (nube_hypervisor_destroy(d->hv, name, &err) < 0 ||
            nube_hypervisor_undefine(d->hv, name, &err) < 0)
            nube_warn("%s: %s", name, err->message);
        g_clear_pointer(&err, nube_error_free);
    }
    if (doms == NULL)
        nube_warn("cannot look for orphan domains: %s", err->message);
    g_autoptr(GDir) dir = g_dir_open(d->instances_dir, 0, NULL);
    const char *name;
    while (dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
        if (!nube_id_valid(name, "i") || !belongs_to_nothing(all, name))
            continue;
        g_autofree char *path = g_build_filename(d->instances_dir, name, NULL);
        nube_warn("%s: removing its directory, which belongs to no live instance", name);
        g_autoptr(NubeError) rerr = NULL;
        if (nube_rm_rf(path, &rerr) < 0)
            nube_warn("%s: %s", name, rerr->message);
    }
}

int nube_lifecycle_reconcile(NubeCloud *d, NubeError **err)
{
    g_autoptr(GPtrArray) all = nube_instance_list(d->db, G_MAXINT64, err);
    if (all == NULL)
        return -EIO;
    for (guint i = 0; i < all->len; i++) {
        const NubeInstance *inst = g_ptr_array_index(all, i);
        NubeDomainState st = NUBE_DOMAIN_ABSENT;
        g_autoptr(NubeError) herr = NULL;
        if (nube_hypervisor_state(d->hv, inst->id, &st, &herr) < 0) {
            nube_warn("%s: cannot read its state: %s", inst->id, herr->message);
            continue;
        }
        reconcile_one(d, inst, st);
    }
    remove_orphans(d, all);
    nube_info("reconciled %u instance(s) with the hypervisor", all->len);
    return 0;
}

GBytes *nube_lifecycle_console(NubeCloud *d, const char *id, gsize max)
{
    g_autofree char *path = nube_instdir_path(d->instances_dir, id, NUBE_INSTDIR_CONSOLE);
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0)
        return g_bytes_new(NULL, 0);

    gsize len = MIN((gsize) st.st_size, max);
    g_autofree char *buf = g_malloc(len + 1);
    ssize_t n = pread(fd, buf, len, st.st_size - len);
    if (n < 0)
        n = 0;
    return g_bytes_new_take(g_steal_pointer(&buf), n);
}
