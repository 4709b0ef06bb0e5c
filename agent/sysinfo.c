/*
 * sysinfo.c: what the agent tells about the guest (see sysinfo.h).
 */
#include "sysinfo.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

int agent_sysinfo_boot_id(char *buf, size_t len)
{
    _cleanup_free_ char *data = NULL;
    size_t n;
    int r = agent_read_file("/proc/sys/kernel/random/boot_id", 64, &data, &n, NULL);
    if (r < 0)
        return r;
    agent_strip(data);
    if (strlen(data) != 36 || len < 37)
        return -EINVAL;
    memcpy(buf, data, 37);
    return 0;
}

void agent_sysinfo_kernel(char *buf, size_t len)
{
    struct utsname u;
    if (uname(&u) < 0)
        snprintf(buf, len, "unknown");
    else
        snprintf(buf, len, "%s", u.release);
}

double agent_sysinfo_uptime(void)
{
    _cleanup_free_ char *data = NULL;
    size_t n;
    if (agent_read_file("/proc/uptime", 128, &data, &n, NULL) < 0)
        return 0;
    double up = strtod(data, NULL);
    return up >= 0 ? up : 0;
}

static bool cmdline_disables(void)
{
    _cleanup_free_ char *data = NULL;
    size_t n;
    if (agent_read_file("/proc/cmdline", 65536, &data, &n, NULL) < 0)
        return false;
    for (char *tok = strtok(data, " \t\n"); tok != NULL; tok = strtok(NULL, " \t\n"))
        if (strcmp(tok, "cloud-init=disabled") == 0)
            return true;
    return false;
}

bool agent_sysinfo_cloud_init(void)
{
    return access("/usr/bin/cloud-init", X_OK) == 0 &&
           !agent_exists("/etc/cloud/cloud-init.disabled") && !cmdline_disables();
}
