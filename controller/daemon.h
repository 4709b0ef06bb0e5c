/*
 * daemon.h: everything one nubed holds: settings, database, image store,
 * hypervisor connection, accelerator, admin account and background jobs.
 */
#pragma once

#include "accel.h"
#include "account.h"
#include "agentlink.h"
#include "imds.h"
#include "config.h"
#include "db.h"
#include "hypervisor.h"
#include "jobs.h"
#include "pkgrepo.h"
#include "store.h"

typedef struct {
    NubeConfig cfg;
    char *instances_dir; /* STATE/instances */
    char *endpoint;      /* http://HOST:PORT */
    int lock_fd;         /* flock on STATE/nubed.lock */
    NubeDb *db;
    NubeStore *store;
    NubeHypervisor *hv;
    NubeAccel accel;
    char *accel_reason;
    NubeAccount admin;
    NubeJobs *jobs;
    NubePkgRepo *repo;     /* packages for guests, served on 127.0.0.1 */
    NubeAgentLink *agents; /* the guest agents' channels */
    NubeImds *imds;        /* the instance metadata service */
    gint64 started_at;
    GThread *resync_thread; /* periodic nube_lifecycle_resync() */
    GMutex resync_lock;
    GCond resync_cond;
    gboolean closing;
} NubeDaemon;

/* Seconds between two looks at what the hypervisor runs. */
#define NUBE_RESYNC_INTERVAL 5

/*
 * Opens the state directory of CFG (taken over: CFG is cleared), refusing
 * a second nubed on the same directory, applies migrations, makes sure the
 * admin account and its AWS CLI files exist, picks the accelerator,
 * connects to libvirt and reconciles the database with what runs.
 * NULL with ERR on failure.
 */
NubeDaemon *nube_daemon_open(NubeConfig *cfg, NubeError **err);

/* Waits for background jobs and frees everything.  Guests keep running. */
void nube_daemon_close(NubeDaemon *d);

/* STATE/instances/ID (caller frees). */
char *nube_daemon_instance_dir(const NubeDaemon *d, const char *id);
