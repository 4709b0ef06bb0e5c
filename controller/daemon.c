/*
 * daemon.c: opening and closing one nubed (see daemon.h).
 */
#include "daemon.h"
#include "fsutil.h"
#include "instdir.h"
#include "bake.h"
#include "images.h"
#include "lifecycle.h"
#include "log.h"

#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>

static int lock_state_dir(NubeDaemon *d, NubeError **err)
{
    g_autofree char *path = g_build_filename(d->cfg.state_dir, "nubed.lock", NULL);
    d->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (d->lock_fd < 0)
        return nube_error_set(err, errno, "open '%s'", path);
    if (flock(d->lock_fd, LOCK_EX | LOCK_NB) < 0)
        return nube_error_set(err, errno == EWOULDBLOCK ? EBUSY : errno,
                              "another nubed is using state directory '%s'", d->cfg.state_dir);
    return 0;
}

/* Work files of builds, imports and captures that a previous nubed left
 * when it was killed: nothing else uses the store's tmp/ while no nubed
 * runs (the state directory lock is held). */
static void clear_store_tmp(NubeDaemon *d)
{
    const char *tmp = nube_store_tmp_dir(d->cloud.store);
    g_autoptr(GDir) dir = g_dir_open(tmp, 0, NULL);
    const char *name;
    while (dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
        g_autofree char *path = g_build_filename(tmp, name, NULL);
        g_autoptr(NubeError) err = NULL;
        nube_info("removing leftover work file %s", path);
        if (nube_rm_rf(path, &err) < 0)
            nube_warn("%s", err->message);
    }
}

/* STATE/import: where NubeImportImage reads by default. */
static int make_import_dir(NubeDaemon *d, NubeError **err)
{
    g_autofree char *dir = g_build_filename(d->cfg.state_dir, "import", NULL);
    return nube_mkdir_p(dir, 0700, err);
}

static int open_state(NubeDaemon *d, NubeError **err)
{
    g_autofree char *images = g_build_filename(d->cfg.state_dir, "images", NULL);
    g_autofree char *dbpath = g_build_filename(d->cfg.state_dir, "nube.db", NULL);

    d->instances_dir = g_build_filename(d->cfg.state_dir, NUBE_INSTDIR_PARENT, NULL);
    if (nube_mkdir_p(d->cfg.state_dir, 0700, err) < 0 ||
        nube_mkdir_p(d->instances_dir, 0700, err) < 0 || make_import_dir(d, err) < 0 ||
        lock_state_dir(d, err) < 0)
        return -EIO;
    d->cloud.instances_dir = d->instances_dir;
    d->cloud.db = nube_db_open(dbpath, err);
    if (d->cloud.db == NULL)
        return -EIO;
    d->cloud.store = nube_store_open(images, err);
    if (d->cloud.store == NULL)
        return -EIO;
    clear_store_tmp(d);
    return nube_account_ensure_admin(d->cloud.db, d->cfg.state_dir, d->cfg.region, d->endpoint,
                                     &d->admin, err);
}

/* The guests' package repository, on the port after the API's if free (so
 * it stays the same across restarts), else on any free port. */
static int open_repo(NubeDaemon *d, NubeError **err)
{
    g_autofree char *dir = g_build_filename(d->cfg.state_dir, "pkgrepo", NULL);
    NubePkgRepo *repo = d->cloud.repo = nube_pkgrepo_open(dir, err);
    if (repo == NULL)
        return -EIO;
    g_autoptr(NubeError) busy = NULL;
    guint16 port = d->cfg.listen_port < 65535 ? d->cfg.listen_port + 1 : 0;
    if (nube_pkgrepo_serve(repo, "127.0.0.1", port, &busy) < 0) {
        nube_warn("package repository: port %u: %s; using another", port, busy->message);
        if (nube_pkgrepo_serve(repo, "127.0.0.1", 0, err) < 0)
            return -EIO;
    }
    g_autofree char *line = nube_pkgrepo_apt_source_line(repo);
    nube_info("package repository for guests: %s", line);
    return 0;
}

static int open_hypervisor(NubeDaemon *d, NubeError **err)
{
    if (nube_accel_choose(d->cfg.accelerator, &d->cloud.accel, &d->accel_reason, err) < 0)
        return -EINVAL;
    d->cloud.accel_reason = d->accel_reason;
    nube_info("accelerator: %s (%s)", nube_accel_name(d->cloud.accel), d->accel_reason);

    g_autofree char *uri = d->cfg.libvirt_uri ? g_strdup(d->cfg.libvirt_uri)
                                              : nube_hypervisor_default_uri(d->cfg.state_dir);
    d->cloud.hv = nube_hypervisor_open(uri, nube_lifecycle_on_event, &d->cloud, err);
    if (d->cloud.hv == NULL)
        return -EIO;
    nube_info("hypervisor: %s", uri);
    return 0;
}

static gpointer resync_loop(gpointer data)
{
    NubeDaemon *d = data;
    g_mutex_lock(&d->resync_lock);
    while (!d->closing) {
        gint64 until = g_get_monotonic_time() + NUBE_RESYNC_INTERVAL * G_USEC_PER_SEC;
        if (g_cond_wait_until(&d->resync_cond, &d->resync_lock, until) || d->closing)
            continue;
        g_mutex_unlock(&d->resync_lock);
        nube_lifecycle_resync(&d->cloud);
        g_mutex_lock(&d->resync_lock);
    }
    g_mutex_unlock(&d->resync_lock);
    return NULL;
}

static void stop_resync(NubeDaemon *d)
{
    if (d->resync_thread == NULL)
        return;
    g_mutex_lock(&d->resync_lock);
    d->closing = TRUE;
    g_cond_signal(&d->resync_cond);
    g_mutex_unlock(&d->resync_lock);
    g_thread_join(g_steal_pointer(&d->resync_thread));
}

NubeDaemon *nube_daemon_open(NubeConfig *cfg, NubeError **err)
{
    NubeDaemon *d = g_new0(NubeDaemon, 1);
    d->cfg = *cfg;
    memset(cfg, 0, sizeof(*cfg));
    d->lock_fd = -1;
    d->endpoint = g_strdup_printf("http://%s:%u", d->cfg.listen_host, d->cfg.listen_port);
    d->cloud.cfg = &d->cfg;
    d->cloud.endpoint = d->endpoint;
    d->cloud.started_at = g_get_real_time() / G_USEC_PER_SEC;
    d->cloud.jobs = nube_jobs_new(8);
    g_mutex_init(&d->resync_lock);
    g_cond_init(&d->resync_cond);

    if (open_state(d, err) < 0 || open_repo(d, err) < 0 || open_hypervisor(d, err) < 0 ||
        nube_lifecycle_reconcile(&d->cloud, err) < 0) {
        nube_daemon_close(d);
        return NULL;
    }
    nube_bake_recover(&d->cloud);
    nube_images_recover(&d->cloud);
    d->resync_thread = g_thread_new("resync", resync_loop, d);
    d->cloud.agents = nube_agentlink_start(d->cloud.db, d->instances_dir);
    d->cloud.imds = nube_imds_start(d->cloud.db, d->instances_dir, d->cfg.region);
    return d;
}

void nube_daemon_close(NubeDaemon *d)
{
    if (d == NULL)
        return;
    stop_resync(d);
    nube_jobs_free(d->cloud.jobs);
    nube_agentlink_stop(d->cloud.agents);
    nube_imds_stop(d->cloud.imds);
    nube_pkgrepo_free(d->cloud.repo);
    nube_hypervisor_close(d->cloud.hv);
    nube_store_free(d->cloud.store);
    nube_db_close(d->cloud.db);
    nube_account_clear(&d->admin);
    nube_config_clear(&d->cfg);
    if (d->lock_fd >= 0)
        close(d->lock_fd);
    g_free(d->instances_dir);
    g_free(d->endpoint);
    g_free(d->accel_reason);
    g_mutex_clear(&d->resync_lock);
    g_cond_clear(&d->resync_cond);
    g_free(d);
}
