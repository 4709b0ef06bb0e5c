/*
 * boot.h: when the guest's boot is complete.
 *
 * `systemctl is-system-running --wait` runs as a child whose stdout the
 * poll loop reads; its first word is the state.  "running" or "degraded"
 * completes the boot; anything else ("maintenance", "stopping", ...) is
 * logged and asked again 5 s later.  Without systemd (or with
 * --no-systemd) the boot is complete at once, "running".
 */
#pragma once

#include "util.h"

#include <stdbool.h>

typedef struct {
    bool use_systemd;
    AgentChild child;
    char out[128];
    size_t out_len;
    bool exited;
    int status;
    double retry_at; /* 0: nothing to do */

    bool complete;
    char state[16]; /* "running" or "degraded" */
    double uptime;  /* the guest's uptime when the boot completed */
} AgentBoot;

void agent_boot_init(AgentBoot *b, bool use_systemd);

/* Starts (or, at RETRY_AT, restarts) the wait.  Returns true when the boot
 * just completed. */
bool agent_boot_tick(AgentBoot *b, double now);

/* The child's output fd to poll (-1: none). */
int agent_boot_fd(const AgentBoot *b);

/* Reads the child's output (READABLE) and reaps it when it exited.
 * Returns true when the boot just completed. */
bool agent_boot_handle(AgentBoot *b, bool readable, double now);
