/*
 * instance.h: instance records and their state machine, with EC2's codes:
 *   pending(0) → running(16) → stopping(64) → stopped(80) → pending …
 *   any live state → shutting-down(32) → terminated(48)
 * Terminated instances stay describable for NUBE_TERMINATED_VISIBLE seconds.
 */
#pragma once

#include "agentstatus.h"
#include "db.h"

#define NUBE_TERMINATED_VISIBLE (2 * 3600)

/* An instance's state.  Its EC2 name and code come from one table
 * (instance.c); the database keeps the name. */
typedef enum {
    NUBE_INSTANCE_PENDING,
    NUBE_INSTANCE_RUNNING,
    NUBE_INSTANCE_SHUTTING_DOWN,
    NUBE_INSTANCE_TERMINATED,
    NUBE_INSTANCE_STOPPING,
    NUBE_INSTANCE_STOPPED,
} NubeInstanceState;

/* A set of states: NUBE_STATE_BIT(a) | NUBE_STATE_BIT(b) … */
typedef guint NubeInstanceStates;
#define NUBE_STATE_BIT(state) (1u << (state))

/* Where the guest may run (pending, running, stopping). */
#define NUBE_INSTANCE_LIVE                                                           \
    (NUBE_STATE_BIT(NUBE_INSTANCE_PENDING) | NUBE_STATE_BIT(NUBE_INSTANCE_RUNNING) | \
     NUBE_STATE_BIT(NUBE_INSTANCE_STOPPING))
/* Every state but terminated. */
#define NUBE_INSTANCE_NOT_TERMINATED                              \
    (NUBE_INSTANCE_LIVE | NUBE_STATE_BIT(NUBE_INSTANCE_STOPPED) | \
     NUBE_STATE_BIT(NUBE_INSTANCE_SHUTTING_DOWN))

/* Whether STATE is one of STATES. */
static inline gboolean nube_instance_state_in(NubeInstanceState state, NubeInstanceStates states)
{
    return (states & NUBE_STATE_BIT(state)) != 0;
}

/* EC2's name of STATE ("shutting-down"), static; NULL if STATE is none. */
const char *nube_instance_state_name(NubeInstanceState state);

/* EC2's numeric code of STATE (32 for shutting-down), -1 if STATE is none. */
int nube_instance_state_code(NubeInstanceState state);

/* The state EC2 names NAME in *STATE.  0, or -EINVAL (*STATE unchanged) if
 * NAME (may be NULL) names none. */
int nube_instance_state_parse(const char *name, NubeInstanceState *state);

/* A TCP port of the guest forwarded from 127.0.0.1. */
typedef struct {
    guint16 host_port; /* on 127.0.0.1 */
    guint16 guest_port;
} NubePortForward;

typedef struct {
    char *id;
    char *reservation_id;
    char *owner_id;
    char *image_id;
    char *instance_type;
    gint64 launch_index;
    NubeInstanceState state;
    char *state_reason;
    gint64 state_changed_at;
    char *root_device_type;
    char *base_sha256;
    GBytes *user_data; /* decoded; NULL if none */
    char *mac;
    char *private_ip;
    char *hostname;
    gint64 vcpus;
    gint64 memory_mib;
    char *accelerator;
    gint64 launch_time;
    gint64 terminated_at;
    GPtrArray *tags;      /* NubeTag */
    GArray *forwards;     /* NubePortForward, by guest port: all forwarded ports
                           * (SSH too when its groups open port 22) */
    GArray *extra_ports;  /* guint16: guest ports of FORWARDS that NubeForwardPort
                           * asked for; the others come from its groups' rules */
    char *key_name;       /* KeyName at launch, NULL if none */
    char *public_key;     /* that key's "TYPE BASE64 NAME" line, NULL if none */
    GPtrArray *groups;    /* NubeSecGroup (id and name only), in launch order */
    char *root_volume_id; /* ebs root: its volume, NULL otherwise */
    gboolean root_delete_on_termination;
    char *metadata_http_tokens;   /* "optional" (IMDSv1 and v2) or "required" (v2) */
    char *metadata_http_endpoint; /* "enabled" or "disabled" */
    gint64 metadata_hop_limit;    /* HttpPutResponseHopLimit, 1..64 */
    gboolean no_seed;             /* boots without a NoCloud seed (NubeNoCloudSeed=false):
                                   * cloud-init finds the metadata service */
    gboolean has_agent;           /* its image's guest runs nube-agent */
    char *client_token;           /* RunInstances' ClientToken, NULL if none
                                   * (read only: clienttoken.h records it) */
    NubeAgentStatus *agent;       /* what the agent reported, NULL if nothing */
} NubeInstance;

NubeInstance *nube_instance_new(void);
void nube_instance_free(NubeInstance *inst);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(NubeInstance, nube_instance_free)

/* Inserts INST with its tags, forwards and groups.  The caller holds the
 * db lock and a transaction when several instances must appear together. */
int nube_instance_insert(NubeDb *db, const NubeInstance *inst, NubeError **err);

/* INST ID, NULL with ERR "InvalidInstanceID.NotFound" if unknown. */
NubeInstance *nube_instance_get(NubeDb *db, const char *id, NubeError **err);

/* All instances but those terminated before TERMINATED_SINCE (Unix
 * seconds), oldest first.  NULL with ERR. */
GPtrArray *nube_instance_list(NubeDb *db, gint64 terminated_since, NubeError **err);

/* The instances of the reservation RESERVATION_ID (terminated ones too),
 * by launch index.  NULL with ERR. */
GPtrArray *nube_instance_list_reservation(NubeDb *db, const char *reservation_id, NubeError **err);

/* Ids (strings) of the instances whose guest may run (pending, running,
 * stopping), NULL with ERR if the database fails.  Takes the database lock. */
GPtrArray *nube_instance_live_ids(NubeDb *db, NubeError **err);

/*
 * Moves ID to state TO if its current state is one of FROM, recording
 * REASON.  Stores the previous state in *PREV if not NULL.  Returns 0, or
 * -EBUSY with ERR "IncorrectInstanceState" if the current state is not in
 * FROM (-ENOENT, -EIO with ERR).
 */
int nube_instance_transition(NubeDb *db, const char *id, NubeInstanceStates from,
                             NubeInstanceState to, const char *reason, NubeInstanceState *prev,
                             NubeError **err);

/* The host ports forwarded to instances that are not terminated. */
GArray *nube_instance_ports_in_use(NubeDb *db, NubeError **err);

/*
 * ModifyInstanceAttribute: sets the instance type TYPE (with its VCPUS and
 * MEMORY_MIB) of ID, used from its next start.  Only while ID is stopped:
 * -EBUSY with ERR "IncorrectInstanceState" otherwise, -ENOENT with
 * "InvalidInstanceID.NotFound" if unknown.  0 on success.
 */
int nube_instance_set_type(NubeDb *db, const char *id, const char *type, gint64 vcpus,
                           gint64 memory_mib, NubeError **err);

/* Sets the user data of stopped ID (NULL or empty: none), which its next
 * start writes into the seed.  Errors as nube_instance_set_type(). */
int nube_instance_set_user_data(NubeDb *db, const char *id, GBytes *user_data, NubeError **err);

/* ModifyInstanceMetadataOptions of ID: TOKENS, ENDPOINT (NULL: unchanged),
 * HOP_LIMIT (0: unchanged).  0, or -errno with ERR
 * ("InvalidInstanceID.NotFound" for an unknown or terminated one). */
int nube_instance_set_metadata_options(NubeDb *db, const char *id, const char *tokens,
                                       const char *endpoint, gint64 hop_limit, NubeError **err);
