/*
 * commands.c: what the agent does for the controller's commands: ping,
 * prepare-image (sync, generalize, freeze), thaw and shutdown.  Every
 * command gets one result with its id.
 */
#include "agent.h"
#include "util.h"

#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <string.h>
#include <sys/reboot.h>
#include <sys/wait.h>

static const char *const cloud_init_clean[] = { "/usr/bin/cloud-init", "clean", "--logs", NULL };

static void reply(Agent *a, int64_t id, bool ok, const char *error, int frozen, int thawed)
{
    NubeMsg msg;
    nube_msg_init(&msg);
    msg.type = NUBE_MSG_RESULT;
    msg.id = id;
    msg.ok = ok;
    msg.error = ok ? NULL : (char *) error;
    msg.frozen = frozen;
    msg.thawed = thawed;
    agent_send(a, &msg);
}

/* Removes the SSH host keys: each clone makes its own at first boot. */
static int remove_host_keys(char *errbuf, size_t errlen)
{
    glob_t g;
    int r = glob("/etc/ssh/ssh_host_*", GLOB_NOSORT, NULL, &g);
    if (r == GLOB_NOMATCH)
        return 0;
    if (r != 0) {
        snprintf(errbuf, errlen, "list '/etc/ssh/ssh_host_*'");
        return -1;
    }
    int ret = 0;
    for (size_t i = 0; i < g.gl_pathc; i++) {
        if (unlink(g.gl_pathv[i]) < 0 && errno != ENOENT && ret == 0) {
            snprintf(errbuf, errlen, "remove '%s': %s", g.gl_pathv[i], strerror(errno));
            ret = -1;
        }
    }
    globfree(&g);
    return ret;
}

static int generalize(Agent *a, char *errbuf, size_t errlen)
{
    if (access(cloud_init_clean[0], X_OK) == 0) {
        int status = agent_run(cloud_init_clean);
        if (status < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            char why[64];
            snprintf(errbuf, errlen, "cloud-init clean --logs %s",
                     status < 0 ? strerror(-status)
                                : agent_wait_status_str(status, why, sizeof(why)));
            return -1;
        }
    }
    if (remove_host_keys(errbuf, errlen) < 0)
        return -1;
    agent_state_forget(&a->state);
    if (unlink(a->opt.log_file) < 0 && errno != ENOENT)
        log_warn("remove '%s': %s", a->opt.log_file, strerror(errno));
    log_info("generalized: cloud-init cleaned, SSH host keys, agent state and log removed");
    return 0;
}

static void prepare_image(Agent *a, const NubeMsg *cmd)
{
    char err[NUBE_AGENT_MAX_ERROR];
    if (cmd->freeze && agent_freeze_active(&a->freeze))
        return reply(a, cmd->id, false, "the file systems are frozen already", 0, 0);
    sync();
    if (cmd->generalize && generalize(a, err, sizeof(err)) < 0)
        return reply(a, cmd->id, false, err, 0, 0);
    if (!cmd->freeze)
        return reply(a, cmd->id, true, NULL, 0, 0);

    /* Held before the freeze: a write to a frozen file system would block
     * the agent until the thaw. */
    agent_state_hold(&a->state, true);
    int n = agent_freeze(&a->freeze, agent_now() + cmd->thaw_after, err, sizeof(err));
    if (n < 0) {
        agent_state_hold(&a->state, false);
        log_warn("prepare-image: %s", err);
        return reply(a, cmd->id, false, err, 0, 0);
    }
    log_info("froze %d file systems; thawing by myself in %d s", n, cmd->thaw_after);
    reply(a, cmd->id, true, NULL, n, 0);
}

int agent_command_thaw(Agent *a, char *errbuf, size_t errlen)
{
    if (!agent_freeze_active(&a->freeze))
        return 0;
    int n = agent_thaw(&a->freeze, errbuf, errlen);
    agent_state_hold(&a->state, false);
    agent_userdata_thawed(&a->ud);
    if (n >= 0)
        log_info("thawed %d file systems", n);
    else
        log_warn("%s", errbuf);
    return n;
}

static void thaw(Agent *a, const NubeMsg *cmd)
{
    char err[NUBE_AGENT_MAX_ERROR];
    int n = agent_command_thaw(a, err, sizeof(err));
    reply(a, cmd->id, n >= 0, err, 0, n > 0 ? n : 0);
}

/* The result goes out before the guest goes down. */
static void shutdown_guest(Agent *a, const NubeMsg *cmd)
{
    char err[NUBE_AGENT_MAX_ERROR];
    bool reboot_mode = strcmp(cmd->mode, "reboot") == 0;
    (void) agent_command_thaw(a, err, sizeof(err));
    reply(a, cmd->id, true, NULL, 0, 0);
    log_info("shutdown: %s", cmd->mode);

    const char *argv[] = { "/usr/bin/systemctl", cmd->mode, NULL };
    if (access(argv[0], X_OK) < 0)
        argv[0] = "/bin/systemctl";
    int status = access(argv[0], X_OK) == 0 ? agent_run(argv) : -ENOENT;
    if (status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return;
    log_warn("systemctl %s failed: rebooting the hard way", cmd->mode);
    sync();
    reboot(reboot_mode ? RB_AUTOBOOT : RB_POWER_OFF);
    log_err("reboot(2): %s", strerror(errno));
}

void agent_command_line(Agent *a, const char *line, size_t len)
{
    NubeMsg cmd;
    char err[256];
    if (nube_msg_parse(line, len, &cmd, err, sizeof(err)) < 0) {
        log_warn("ignored a message from the controller: %s", err);
        return;
    }
    switch (cmd.type) {
    case NUBE_MSG_PING:
        reply(a, cmd.id, true, NULL, 0, 0);
        break;
    case NUBE_MSG_PREPARE_IMAGE:
        prepare_image(a, &cmd);
        break;
    case NUBE_MSG_THAW:
        thaw(a, &cmd);
        break;
    case NUBE_MSG_SHUTDOWN:
        shutdown_guest(a, &cmd);
        break;
    default:
        log_warn("ignored a '%s' message from the controller", nube_msg_type_name(cmd.type));
        break;
    }
    nube_msg_clear(&cmd);
}
