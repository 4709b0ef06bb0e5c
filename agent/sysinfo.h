/*
 * sysinfo.h: what the agent tells about the guest in hello and heartbeat.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* The lowercase UUID of this boot into BUF (at least 37 bytes).  Returns 0
 * or a negative errno. */
int agent_sysinfo_boot_id(char *buf, size_t len);

/* uname -r into BUF (truncated to fit). */
void agent_sysinfo_kernel(char *buf, size_t len);

/* Seconds since the guest booted (/proc/uptime), 0 when unknown. */
double agent_sysinfo_uptime(void);

/* True when the guest has an enabled cloud-init: the program is there,
 * /etc/cloud/cloud-init.disabled is not, and the kernel command line does
 * not say cloud-init=disabled. */
bool agent_sysinfo_cloud_init(void);
