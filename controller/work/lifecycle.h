/*
 * lifecycle.h: what happens to instances: launching them, stopping,
 * starting, rebooting and terminating them, following libvirt's lifecycle
 * events, and reconciling the database with what runs when nubed starts.
 * SQLite holds what users asked for; libvirt is the truth for what runs.
 */
#pragma once

#include "catalog.h"
#include "cloud.h"
#include "hypervisor.h"
#include "image.h"
#include "instance.h"

typedef struct {
    const char *owner_id;
    const NubeImage *image;
    const NubeInstanceType *type;
    guint count;
    GBytes *user_data;             /* decoded, may be NULL */
    const GPtrArray *tags;         /* NubeTag for each instance, may be NULL */
    const GPtrArray *volume_tags;  /* NubeTag for each ebs root volume, may be NULL */
    const GArray *forward_ports;   /* guint16 guest TCP ports to forward from
                                    * 127.0.0.1 whatever the groups say
                                    * (NubeForwardPort), may be NULL */
    gboolean keep_root;            /* ebs root: DeleteOnTermination=false */
    const char *key_name;          /* KeyName, may be NULL */
    const char *public_key;        /* its "TYPE BASE64 NAME" line, for the seed */
    const GPtrArray *groups;       /* NubeSecGroup: the instances' security
                                    * groups (at least one); their rules' TCP
                                    * ports are forwarded too */
    const char *metadata_tokens;   /* MetadataOptions.HttpTokens, NULL: optional */
    const char *metadata_endpoint; /* MetadataOptions.HttpEndpoint, NULL: enabled */
    gint64 metadata_hop_limit;     /* MetadataOptions.HttpPutResponseHopLimit, 0: 1 */
    gboolean no_seed;              /* NubeNoCloudSeed=false: no NoCloud seed disk */
    const char *client_token;      /* ClientToken, recorded with the instances
                                    * (clienttoken.h), may be NULL */
    const char *request_digest;    /* the request's digest, with a client token */
} NubeLaunchRequest;

/* Seconds a clean shutdown may take before the guest is powered off. */
#define NUBE_STOP_TIMEOUT 180

/*
 * Records REQ->count instances in state pending (all or none, with REQ's
 * client token if any) and queues their launch.  Returns the new records
 * (caller unrefs), NULL with ERR (-EALREADY "IdempotentParameterMismatch"
 * when another request recorded the client token first).
 */
GPtrArray *nube_lifecycle_run(NubeCloud *d, const NubeLaunchRequest *req, NubeError **err);

/* StopInstances for ID (FORCE: power off at once).  *PREV gets the state
 * before.  0 or -errno with an EC2 error. */
int nube_lifecycle_stop(NubeCloud *d, const char *id, gboolean force, NubeInstanceState *prev,
                        NubeError **err);

/* nube_lifecycle_stop() (clean) done in the caller's thread: returns once
 * the guest is off, after up to NUBE_STOP_TIMEOUT s (then it is powered
 * off).  For jobs, which must never wait for another job of the pool: with
 * every thread busy that job would never run.  The record becomes stopped
 * when libvirt's event arrives, on the hypervisor's event thread.  0 or
 * -errno with an EC2 error. */
int nube_lifecycle_stop_wait(NubeCloud *d, const char *id, NubeInstanceState *prev,
                             NubeError **err);

/* The state reason of an instance that nube_lifecycle_stop_wait() stopped
 * (CreateImage without NoReboot), so that a bake cut off by a crash can
 * start it again. */
#define NUBE_BAKE_STOP_REASON \
    "Client.UserInitiatedShutdown: CreateImage stopped the instance to copy its disk"

/* StartInstances for ID. */
int nube_lifecycle_start(NubeCloud *d, const char *id, NubeInstanceState *prev, NubeError **err);

/* RebootInstances for ID (running instances only). */
int nube_lifecycle_reboot(NubeCloud *d, const char *id, NubeError **err);

/* TerminateInstances for ID (a terminated one is answered as is). */
int nube_lifecycle_terminate(NubeCloud *d, const char *id, NubeInstanceState *prev,
                             NubeError **err);

/* Hypervisor event callback (OPAQUE is the NubeCloud). */
void nube_lifecycle_on_event(const char *name, NubeDomainEvent event, const char *detail,
                             void *opaque);

/* Brings the records in line with what libvirt runs.  0 or -errno. */
int nube_lifecycle_reconcile(NubeCloud *d, NubeError **err);

/* Corrects records whose guest changed state without an event reaching
 * nubed (run periodically). */
void nube_lifecycle_resync(NubeCloud *d);

/* The last MAX bytes of ID's serial console log, or an empty buffer. */
GBytes *nube_lifecycle_console(NubeCloud *d, const char *id, gsize max);
