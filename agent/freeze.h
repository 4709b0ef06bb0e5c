/*
 * freeze.h: freezing the guest's file systems for a consistent disk
 * snapshot (prepare-image with freeze), and thawing them.
 *
 * Frozen are the writable local block file systems in /proc/self/mounts
 * (ext2/3/4, xfs, btrfs, vfat, f2fs), each once, with FIFREEZE on its
 * mount point; thawed in reverse order.  The mount points frozen are
 * listed in AGENT_FREEZE_MARKER (on /run, a tmpfs, never frozen) so that
 * an agent restarted after a crash thaws what its predecessor left.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define AGENT_FREEZE_MARKER "/run/nube-agent/frozen"
#define AGENT_FREEZE_MAX    64

typedef struct {
    int n;
    int fds[AGENT_FREEZE_MAX];
    char *paths[AGENT_FREEZE_MAX];
    double thaw_at; /* monotonic; 0 when not frozen */
} AgentFreeze;

void agent_freeze_init(AgentFreeze *f);

static inline bool agent_freeze_active(const AgentFreeze *f)
{
    return f->thaw_at > 0;
}

/*
 * Freezes the file systems until agent_thaw() (or THAW_AT, which the
 * caller watches).  Returns how many were frozen (>= 0), or -1 with the
 * reason in ERRBUF after thawing whatever had been frozen.
 */
int agent_freeze(AgentFreeze *f, double thaw_at, char *errbuf, size_t errlen);

/* Thaws in reverse order.  Returns how many were thawed, or -1 with the
 * reason (the first failure) in ERRBUF; all are tried either way. */
int agent_thaw(AgentFreeze *f, char *errbuf, size_t errlen);

/* Thaws what a previous run of the agent left frozen (the marker), if
 * anything.  Logs what it does. */
void agent_freeze_recover(void);
