/*
 * daemon.h: one nubed, on top of every layer: it locks the state
 * directory, opens the services of a NubeCloud in order (database, store,
 * package repository, hypervisor, job pool, guest agents' channels,
 * metadata service), reconciles the database with what runs and resyncs it
 * periodically.  The API server (api/) is started on its cloud by main().
 */
#pragma once

#include "account.h"
#include "cloud.h"
#include "config.h"

typedef struct {
    NubeConfig cfg;
    NubeCloud cloud;     /* the services, pointing into this struct */
    char *instances_dir; /* STATE/instances */
    char *endpoint;      /* http://HOST:PORT */
    char *accel_reason;
    int lock_fd; /* flock on STATE/nubed.lock */
    NubeAccount admin;
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
