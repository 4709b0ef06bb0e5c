/*
 * agentstatus.h: what an instance's guest agent reported (table
 * agent_status), and the status checks of DescribeInstanceStatus made
 * from it.
 *
 * The boot fields describe the current boot of the guest and are cleared
 * when the instance is (re)started; the user-data fields describe the one
 * run of the user data (first boot of the instance id) and stay.
 */
#pragma once

#include "db.h"
#include "proto.h"

/* No message from a connected agent for this long: the instance is
 * impaired (the agent sends a heartbeat every NUBE_AGENT_HEARTBEAT_S). */
#define NUBE_AGENT_STALE_MS (30 * 1000)

typedef struct {
    char *agent_version;
    char *boot_id;
    char *kernel;
    gboolean cloud_init;
    gint64 hello_at; /* Unix ms; 0: no hello in this boot yet */
    gint64 boot_complete_at;
    char *system_state;
    gint64 last_seen_at;
    char *userdata_state; /* NULL, "running", "succeeded", "failed" */
    char *userdata_runner;
    gboolean userdata_has_exit;
    gint64 userdata_exit;
    gint64 userdata_duration_ms;
    char *userdata_error;
    char *userdata_log;
    gint64 userdata_started_at;
    gint64 userdata_finished_at;
} NubeAgentStatus;

void nube_agent_status_free(NubeAgentStatus *st);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(NubeAgentStatus, nube_agent_status_free)

/* The record of ID, or NULL if its agent never spoke (or on error). */
NubeAgentStatus *nube_agent_status_get(NubeDb *db, const char *id);

/* Records MSG, a guest message the session accepted, from ID's agent at
 * NOW_MS.  A hello with another boot id than the last starts a new boot. */
int nube_agent_status_record(NubeDb *db, const char *id, const NubeMsg *msg, gint64 now_ms,
                             NubeError **err);

/* Forgets the boot fields of ID: its guest is being (re)started. */
void nube_agent_status_new_boot(NubeDb *db, const char *id);

/* One of EC2's status check results. */
typedef enum {
    NUBE_CHECK_OK,
    NUBE_CHECK_IMPAIRED,
    NUBE_CHECK_INITIALIZING,
    NUBE_CHECK_INSUFFICIENT_DATA,
    NUBE_CHECK_NOT_APPLICABLE,
} NubeCheckStatus;

typedef struct {
    NubeCheckStatus status;
    gint64 impaired_since; /* Unix ms, when impaired and known */
    const char *reason;    /* why impaired (static text), or NULL */
} NubeCheck;

/* "ok", "impaired", … as EC2 spells the summary status. */
const char *nube_check_status_name(NubeCheckStatus s);
/* "passed", "failed", "initializing", "insufficient-data" for a detail. */
const char *nube_check_detail_name(NubeCheckStatus s);

/*
 * The system and instance status checks of an instance (RUNNING or not)
 * whose image HAS_AGENT, with AGENT its record (may be NULL), at NOW_MS:
 * not-applicable unless running; without an agent the system check is ok
 * (the hypervisor runs it) and the instance check insufficient-data; with
 * one, both initializing until the agent's hello, then ok; the instance
 * check is impaired when the user data failed or the agent went silent.
 */
void nube_agent_status_checks(gboolean running, gboolean has_agent, const NubeAgentStatus *agent,
                              gint64 now_ms, NubeCheck *system, NubeCheck *instance);
