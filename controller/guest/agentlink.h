/*
 * agentlink.h: nubed's side of the guest agents' channels.
 *
 * Each domain has a virtio-serial channel org.nube.agent.0 whose host end
 * is a unix socket QEMU listens on, STATE/instances/ID/agent.sock.  One
 * thread connects to the socket of every live instance (again after a
 * guest or nubed restart), reads the agent's messages line by line,
 * checks each (agent/proto.h) and records what it says (agentstatus.h).
 * The instance a message speaks for is the one whose socket it came from;
 * nothing in a message can name another.  Malformed, oversized and
 * out-of-order messages are logged and dropped.
 */
#pragma once

#include "db.h"
#include "error.h"
#include "proto.h"

#include <glib.h>

typedef struct NubeAgentLink NubeAgentLink;

/* Starts the thread for the live instances of DB, whose directories are
 * INSTANCES_DIR/ID.  Free with nube_agentlink_stop(). */
NubeAgentLink *nube_agentlink_start(NubeDb *db, const char *instances_dir);
void nube_agentlink_stop(NubeAgentLink *link);

/* Looks for new channels now (an instance was just started). */
void nube_agentlink_kick(NubeAgentLink *link);

/* TRUE if ID's agent is connected and said hello in its current boot. */
gboolean nube_agentlink_ready(NubeAgentLink *link, const char *id);

/*
 * Sends the command CMD (its id is assigned here) to ID's agent and waits
 * up to TIMEOUT_MS for its result, stored in REPLY (caller clears).
 * 0, or -errno with ERR: -ENOTCONN when no agent is ready, -ETIMEDOUT,
 * -EIO when the agent answered ok=false (its error in the message).
 */
int nube_agentlink_call(NubeAgentLink *link, const char *id, NubeMsg *cmd, guint timeout_ms,
                        NubeMsg *reply, NubeError **err);
