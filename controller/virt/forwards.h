/*
 * forwards.h: an instance's TCP ports forwarded from 127.0.0.1 (QEMU
 * user-mode networking's hostfwd), kept in the `forwards` table.  A forward
 * comes from a rule of the instance's security groups (secgroup.h) or from
 * RunInstances' NubeForwardPort.  Group forwards follow the rules: when a
 * rule changes they are added to or removed from the running guest's QEMU
 * at once (hostfwd_add / hostfwd_remove on its monitor), and every start
 * rebuilds them from the rules.  Host ports stay the same while the port
 * stays open, across stops and starts.
 */
#pragma once

#include "db.h"
#include "hypervisor.h"

/* The range host ports are picked from. */
#define NUBE_FORWARD_PORT_MIN  40000
#define NUBE_FORWARD_PORT_SPAN 20000

/*
 * Held while an instance's forwards are changed and while an instance is
 * booted, so a rule changed meanwhile is neither lost nor applied twice.
 * Taken before the database lock, never inside it.
 */
void nube_forwards_lock(void);
void nube_forwards_unlock(void);

/*
 * A free 127.0.0.1 port in the range, recorded for no instance that is not
 * terminated and not in TAKEN (ports already chosen by the caller; the
 * port is appended to it).  The port or 0 with ERR
 * "InsufficientInstanceCapacity".
 */
guint16 nube_forwards_pick_port(NubeDb *db, GArray *taken, NubeError **err);

/*
 * Brings the group forwards of INSTANCE_ID in line with the rules of its
 * groups: forwards of ports no rule opens any more are removed, ports newly
 * opened get a free host port (not for a port that NubeForwardPort already
 * forwards).  When its guest runs, each change is made on its QEMU too; a
 * forward QEMU refuses (host port taken meanwhile) is tried on other ports,
 * then left out with a warning (HV may be NULL: no guest runs).  The caller holds
 * nube_forwards_lock(). 0 or -errno with ERR (the database could not be read or written).
 */
int nube_forwards_sync(NubeDb *db, NubeHypervisor *hv, const char *instance_id, NubeError **err);

/* nube_forwards_sync() for every instance that is not terminated and uses
 * GROUP_ID, taking the lock; failures are logged.  Returns how many
 * instances it looked at. */
guint nube_forwards_sync_group(NubeDb *db, NubeHypervisor *hv, const char *group_id);
