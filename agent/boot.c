/*
 * boot.c: when the guest's boot is complete (see boot.h).
 */
#include "boot.h"
#include "sysinfo.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#define RETRY_S 5.0

static const char *const systemctl_paths[] = { "/usr/bin/systemctl", "/bin/systemctl", NULL };

void agent_boot_init(AgentBoot *b, bool use_systemd)
{
    memset(b, 0, sizeof(*b));
    b->use_systemd = use_systemd;
    b->child.out_fd = -1;
    b->retry_at = 0.000001; /* start at the first tick */
}

static bool complete(AgentBoot *b, const char *state)
{
    b->complete = true;
    b->retry_at = 0;
    snprintf(b->state, sizeof(b->state), "%s", state);
    b->uptime = agent_sysinfo_uptime();
    log_info("boot complete: %s", state);
    return true;
}

static const char *find_systemctl(void)
{
    for (size_t i = 0; systemctl_paths[i] != NULL; i++)
        if (access(systemctl_paths[i], X_OK) == 0)
            return systemctl_paths[i];
    return NULL;
}

bool agent_boot_tick(AgentBoot *b, double now)
{
    if (b->complete || b->child.pid != 0 || b->retry_at == 0 || now < b->retry_at)
        return false;
    b->retry_at = 0;
    const char *systemctl = b->use_systemd ? find_systemctl() : NULL;
    if (systemctl == NULL)
        return complete(b, "running");

    const char *argv[] = { systemctl, "is-system-running", "--wait", NULL };
    AgentSpawnOptions opts = { .capture = true };
    int r = agent_spawn(&b->child, argv, &opts);
    if (r < 0) {
        log_warn("run '%s': %s", systemctl, strerror(-r));
        b->retry_at = now + RETRY_S;
        return false;
    }
    b->out_len = 0;
    b->exited = false;
    return false;
}

int agent_boot_fd(const AgentBoot *b)
{
    return b->child.out_fd;
}

static void read_output(AgentBoot *b)
{
    for (;;) {
        char buf[256];
        ssize_t n = read(b->child.out_fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        if (n <= 0) {
            close(b->child.out_fd);
            b->child.out_fd = -1;
            return;
        }
        size_t room = sizeof(b->out) - 1 - b->out_len;
        size_t take = (size_t) n < room ? (size_t) n : room;
        memcpy(b->out + b->out_len, buf, take);
        b->out_len += take;
    }
}

/* The child is gone: judge its first word. */
static bool judge(AgentBoot *b, double now)
{
    if (b->child.out_fd >= 0) {
        read_output(b);
        if (b->child.out_fd >= 0)
            close(b->child.out_fd);
    }
    b->child = (AgentChild){ 0, -1 };
    b->out[b->out_len] = '\0';
    char state[32] = "";
    sscanf(b->out, "%31s", state);
    if (strcmp(state, "running") == 0 || strcmp(state, "degraded") == 0)
        return complete(b, state);
    char why[64];
    log_warn("system state '%s' (systemctl %s): asking again in %.0f s", state,
             agent_wait_status_str(b->status, why, sizeof(why)), RETRY_S);
    b->retry_at = now + RETRY_S;
    return false;
}

bool agent_boot_handle(AgentBoot *b, bool readable, double now)
{
    if (b->child.pid == 0)
        return false;
    if (readable && b->child.out_fd >= 0)
        read_output(b);
    if (!b->exited) {
        pid_t p = waitpid(b->child.pid, &b->status, WNOHANG);
        b->exited = p == b->child.pid || (p < 0 && errno == ECHILD);
    }
    /* Wait for the output's end too, unless the child is gone (a
     * grandchild may hold the pipe; its output is in the pipe already). */
    if (b->exited)
        return judge(b, now);
    return false;
}
