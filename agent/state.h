/*
 * state.h: what the agent keeps across boots, in its state directory
 * (default /var/lib/nube-agent):
 *
 *   instance-id     the instance id of the seed last seen
 *   userdata.json   the last user-data report: a userdata message as on the
 *                   wire plus "boot_id", the boot it was made in
 *   user-data       the script the "agent" runner ran (0700)
 *
 * Writes go through the state's memory: the wanted contents are kept and
 * written (atomically, fsynced) when allowed.  While the file systems are
 * frozen (agent_state_hold) nothing is written, because a write would
 * block the agent until the thaw; after a generalize (agent_state_forget)
 * nothing is written again, so the image stays clean.
 */
#pragma once

#include "proto.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    char *dir;
    int dirfd;
    char boot_id[37];
    bool hold;
    bool disabled;
    bool id_dirty;
    bool report_dirty;
    char *instance_id; /* wanted contents of instance-id */
    char *report;      /* wanted contents of userdata.json, NULL: none */
} AgentState;

/* Creates DIR (0700) when missing and opens it.  Returns 0 or a negative
 * errno. */
int agent_state_open(AgentState *st, const char *dir, const char *boot_id);
void agent_state_close(AgentState *st);

/* The stored instance id (malloc'd), or NULL when none. */
char *agent_state_instance_id(AgentState *st);

/* A new instance ID: the old report and script are forgotten. */
void agent_state_new_instance(AgentState *st, const char *id);

/*
 * The stored report into REPORT (a parsed userdata message).  *SAME_BOOT
 * tells whether it was made in this boot (the agent restarted) or an
 * earlier one.  Returns 0, -ENOENT when there is none, or another negative
 * errno when it is unreadable.
 */
int agent_state_load_report(AgentState *st, NubeMsg *report, bool *same_boot);

/* Stores REPORT (a userdata message) as the last report. */
void agent_state_set_report(AgentState *st, const NubeMsg *report);

/* Writes the user-data script (0700) and returns its path (malloc'd), or
 * NULL with errno set. */
char *agent_state_write_script(AgentState *st, const char *data, size_t len);

/* Removes every state file and writes nothing more (generalize). */
void agent_state_forget(AgentState *st);

/* Holds writes back (HOLD) or writes what was held back. */
void agent_state_hold(AgentState *st, bool hold);

/* Writes what is wanted and not yet written, when allowed. */
void agent_state_sync(AgentState *st);
