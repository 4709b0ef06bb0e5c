/*
 * cloud.h: the services that the instance lifecycle, the image jobs and
 * the API act on, each typed: the settings, the database, the image store,
 * the hypervisor, the job pool and the guest-facing services.
 *
 * The daemon (controller/daemon.c) opens them in order and fills a
 * NubeCloud; nothing here points back at the daemon.  Members are owned by
 * the daemon and live as long as it does.
 */
#pragma once

#include "accel.h"
#include "agentlink.h"
#include "config.h"
#include "db.h"
#include "hypervisor.h"
#include "imds.h"
#include "jobs.h"
#include "pkgrepo.h"
#include "store.h"

typedef struct {
    const NubeConfig *cfg;
    const char *instances_dir; /* STATE/instances */
    const char *endpoint;      /* http://HOST:PORT of the API */
    gint64 started_at;         /* unix seconds */
    NubeDb *db;
    NubeStore *store;
    NubeHypervisor *hv;
    NubeAccel accel;
    const char *accel_reason;
    NubeJobs *jobs;
    NubePkgRepo *repo;     /* packages for guests, served on 127.0.0.1 */
    NubeAgentLink *agents; /* the guest agents' channels */
    NubeImds *imds;        /* the instance metadata service */
} NubeCloud;

/* STATE/instances/ID (caller frees). */
char *nube_cloud_instance_dir(const NubeCloud *cloud, const char *id);
