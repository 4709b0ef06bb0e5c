/*
 * nube-agent.c: the nube guest agent (issue #4).
 *
 * A static program started by systemd early in the guest's boot.  It talks
 * to nubed over the virtio-serial port org.nube.agent.0 with the protocol
 * of schemas/agent-protocol.md: hello (and the current state) whenever
 * nubed connects, boot-complete, the user data's progress, heartbeats, and
 * results of nubed's commands.  One thread, one poll() loop; children
 * (systemctl, the user data script) are watched through a signalfd.
 */
#include "agent.h"
#include "install.h"
#include "nube-config.h"
#include "seed.h"
#include "sysinfo.h"
#include "util.h"

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>

#define DEFAULT_PORT      "/dev/virtio-ports/" NUBE_AGENT_PORT_NAME
#define DEFAULT_STATE_DIR "/var/lib/nube-agent"
#define DEFAULT_LOG_FILE  "/var/log/nube-agent-userdata.log"
#define DEFAULT_CONSOLE   "/dev/console"
#define SEED_TRIES        10

static void usage(FILE *out)
{
    fprintf(out, "Usage: nube-agent [OPTION...]\n"
                 "       nube-agent install --root DIR\n"
                 "\n"
                 "The nube guest agent: reports boot, user data and liveness to nubed over\n"
                 "the virtio-serial port " NUBE_AGENT_PORT_NAME " and runs its commands.\n"
                 "`install` copies this program and its systemd unit into the tree DIR.\n"
                 "\n"
                 "  --port PATH           the port, or a unix socket to connect to\n"
                 "                        (default " DEFAULT_PORT ")\n"
                 "  --state-dir DIR       state kept across boots (default " DEFAULT_STATE_DIR ")\n"
                 "  --seed-dir DIR        read meta-data and user-data from DIR instead of\n"
                 "                        mounting the seed volume 'cidata'\n"
                 "  --log-file PATH       the user data script's output is appended here\n"
                 "                        (default " DEFAULT_LOG_FILE ")\n"
                 "  --console PATH|none   and copied here (default " DEFAULT_CONSOLE ")\n"
                 "  --no-systemd          the boot is complete at once (state running)\n"
                 "  --cloud-init=yes|no|auto  whether cloud-init runs the user data\n"
                 "                        (default auto: detected)\n"
                 "  --version             print the version\n"
                 "  --help                print this help\n");
}

/* ---- options ---- */

static int usage_error(const char *what)
{
    fprintf(stderr, "nube-agent: %s\n", what);
    return 1;
}

enum {
    OPT_PORT = 256,
    OPT_STATE_DIR,
    OPT_SEED_DIR,
    OPT_LOG_FILE,
    OPT_CONSOLE,
    OPT_NO_SYSTEMD,
    OPT_CLOUD_INIT,
    OPT_VERSION,
    OPT_HELP,
    OPT_ROOT
};

static const struct option long_options[] = {
    { "port", required_argument, NULL, OPT_PORT },
    { "state-dir", required_argument, NULL, OPT_STATE_DIR },
    { "seed-dir", required_argument, NULL, OPT_SEED_DIR },
    { "log-file", required_argument, NULL, OPT_LOG_FILE },
    { "console", required_argument, NULL, OPT_CONSOLE },
    { "no-systemd", no_argument, NULL, OPT_NO_SYSTEMD },
    { "cloud-init", required_argument, NULL, OPT_CLOUD_INIT },
    { "version", no_argument, NULL, OPT_VERSION },
    { "help", no_argument, NULL, OPT_HELP },
    { "root", required_argument, NULL, OPT_ROOT },
    { 0 },
};

/* Returns -1 to exit with 0 (help, version), 1 on a bad option, 0 to run. */
static int parse_options(int argc, char **argv, AgentOptions *o, const char **root)
{
    *o = (AgentOptions){
        .port = DEFAULT_PORT,
        .state_dir = DEFAULT_STATE_DIR,
        .log_file = DEFAULT_LOG_FILE,
        .console = DEFAULT_CONSOLE,
        .use_systemd = true,
    };
    int c;
    while ((c = getopt_long(argc, argv, "", long_options, NULL)) != -1) {
        switch (c) {
        case OPT_PORT:
            o->port = optarg;
            break;
        case OPT_STATE_DIR:
            o->state_dir = optarg;
            break;
        case OPT_SEED_DIR:
            o->seed_dir = optarg;
            break;
        case OPT_LOG_FILE:
            o->log_file = optarg;
            break;
        case OPT_CONSOLE:
            o->console = strcmp(optarg, "none") == 0 ? NULL : optarg;
            break;
        case OPT_NO_SYSTEMD:
            o->use_systemd = false;
            break;
        case OPT_ROOT:
            *root = optarg;
            break;
        case OPT_CLOUD_INIT:
            if (strcmp(optarg, "yes") == 0)
                o->cloud_init = AGENT_CLOUD_INIT_YES;
            else if (strcmp(optarg, "no") == 0)
                o->cloud_init = AGENT_CLOUD_INIT_NO;
            else if (strcmp(optarg, "auto") == 0)
                o->cloud_init = AGENT_CLOUD_INIT_AUTO;
            else
                return usage_error("--cloud-init takes yes, no or auto");
            break;
        case OPT_VERSION:
            printf("nube-agent %s\n", NUBE_VERSION);
            return -1;
        case OPT_HELP:
            usage(stdout);
            return -1;
        default:
            usage(stderr);
            return 1;
        }
    }
    return 0;
}

/* ---- sending ---- */

void agent_send(Agent *a, const NubeMsg *msg)
{
    _cleanup_free_ char *line = nube_msg_format(msg);
    if (line == NULL) {
        log_err("cannot format a '%s' message", nube_msg_type_name(msg->type));
        return;
    }
    if (!agent_channel_send(&a->chan, line, agent_now()))
        log_info("the controller went away");
}

static void send_ud(void *ctx, const NubeMsg *msg)
{
    agent_send(ctx, msg);
}

static void send_hello(Agent *a)
{
    NubeMsg m;
    nube_msg_init(&m);
    m.type = NUBE_MSG_HELLO;
    m.agent_version = (char *) NUBE_VERSION;
    m.boot_id = a->boot_id;
    m.kernel = a->kernel;
    m.uptime = agent_sysinfo_uptime();
    m.cloud_init = a->cloud_init;
    agent_send(a, &m);
}

static void send_boot_complete(Agent *a)
{
    NubeMsg m;
    nube_msg_init(&m);
    m.type = NUBE_MSG_BOOT_COMPLETE;
    m.system_state = a->boot.state;
    m.uptime = a->boot.uptime;
    agent_send(a, &m);
}

static void send_heartbeat(Agent *a)
{
    NubeMsg m;
    nube_msg_init(&m);
    m.type = NUBE_MSG_HEARTBEAT;
    m.uptime = agent_sysinfo_uptime();
    agent_send(a, &m);
}

/* hello, then what the controller would have heard had it been there. */
static void on_connect(Agent *a, double now)
{
    log_info("the controller connected");
    send_hello(a);
    if (a->boot.complete)
        send_boot_complete(a);
    agent_userdata_replay(&a->ud);
    a->heartbeat_at = now + NUBE_AGENT_HEARTBEAT_S;
}

static void on_line(void *ctx, const char *line, size_t len)
{
    agent_command_line(ctx, line, len);
}

/* ---- setup ---- */

/*
 * Reads the seed when due.  The seed's disk may show up a little after the
 * agent starts (early in the boot, before udev has probed it): a missing
 * volume is looked for again every second, SEED_TRIES times, before the
 * agent concludes there is none.
 */
static void seed_tick(Agent *a, double now)
{
    if (a->seed_at == 0 || now < a->seed_at)
        return;
    AgentSeed seed;
    char err[512];
    int r = agent_seed_read(a->opt.seed_dir, &seed, err, sizeof(err));
    if (r == -ENOENT && a->opt.seed_dir == NULL && ++a->seed_tries < SEED_TRIES) {
        agent_seed_clear(&seed);
        a->seed_at = now + 1.0;
        return;
    }
    a->seed_at = 0;
    if (r < 0)
        log_warn("seed: %s", err);
    agent_userdata_load(&a->ud, r == 0 ? &seed : NULL);
    agent_seed_clear(&seed);
}

static int agent_setup(Agent *a)
{
    int r = agent_sysinfo_boot_id(a->boot_id, sizeof(a->boot_id));
    if (r < 0) {
        log_err("read the boot id: %s", strerror(-r));
        return r;
    }
    agent_sysinfo_kernel(a->kernel, sizeof(a->kernel));
    a->cloud_init = a->opt.cloud_init == AGENT_CLOUD_INIT_AUTO
                        ? agent_sysinfo_cloud_init()
                        : a->opt.cloud_init == AGENT_CLOUD_INIT_YES;
    if ((r = agent_channel_init(&a->chan, a->opt.port)) < 0)
        return r;
    if ((r = agent_state_open(&a->state, a->opt.state_dir, a->boot_id)) < 0) {
        log_err("state directory '%s': %s", a->opt.state_dir, strerror(-r));
        return r;
    }
    agent_freeze_init(&a->freeze);
    agent_freeze_recover();
    agent_boot_init(&a->boot, a->opt.use_systemd);

    a->ud.runner = a->cloud_init ? "cloud-init" : "agent";
    a->ud.log_file = a->opt.log_file;
    a->ud.console = a->opt.console;
    a->ud.state = &a->state;
    a->ud.send = send_ud;
    a->ud.send_ctx = a;
    agent_userdata_init(&a->ud);
    a->seed_at = agent_now();
    log_info("nube-agent %s started (boot %s, kernel %s, cloud-init %s)", NUBE_VERSION, a->boot_id,
             a->kernel, a->cloud_init ? "yes" : "no");
    return 0;
}

/* SIGCHLD, SIGTERM and SIGINT arrive through a signalfd. */
static int signals_setup(void)
{
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGCHLD);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
        return -errno;
    signal(SIGPIPE, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    int fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

/* ---- the loop ---- */

enum { PFD_SIGNAL, PFD_CHANNEL, PFD_BOOT, PFD_SCRIPT, PFD_COUNT };

static void on_signals(Agent *a, int sfd, double now)
{
    struct signalfd_siginfo si;
    while (read(sfd, &si, sizeof(si)) == (ssize_t) sizeof(si)) {
        if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
            log_info("stopping on signal %u", si.ssi_signo);
            a->quit = true;
        }
    }
    /* Children are reaped by pid, so helpers run with agent_run() are not
     * taken from under it. */
    if (agent_boot_handle(&a->boot, false, now))
        send_boot_complete(a);
    agent_userdata_handle(&a->ud, false, now, agent_freeze_active(&a->freeze));
}

static void on_timers(Agent *a, double now)
{
    seed_tick(a, now);
    if (agent_boot_tick(&a->boot, now))
        send_boot_complete(a);
    if (agent_channel_tick(&a->chan, now))
        on_connect(a, now);
    if (a->chan.connected && now >= a->heartbeat_at) {
        send_heartbeat(a);
        a->heartbeat_at = now + NUBE_AGENT_HEARTBEAT_S;
    }
    if (agent_freeze_active(&a->freeze) && now >= a->freeze.thaw_at) {
        char err[NUBE_AGENT_MAX_ERROR];
        log_warn("no thaw from the controller: thawing by myself");
        (void) agent_command_thaw(a, err, sizeof(err));
    }
    agent_userdata_tick(&a->ud, now, a->boot.complete, agent_freeze_active(&a->freeze));
}

static void earliest(double *due, double t)
{
    if (t > 0 && (*due == 0 || t < *due))
        *due = t;
}

/* Milliseconds until the next timer. */
static int poll_timeout(const Agent *a, double now)
{
    double due = 0;
    bool frozen = agent_freeze_active(&a->freeze);
    if (!a->chan.connected)
        earliest(&due, a->chan.retry_at > 0 ? a->chan.retry_at : now);
    else
        earliest(&due, a->heartbeat_at);
    earliest(&due, a->boot.retry_at);
    earliest(&due, a->seed_at);
    earliest(&due, a->freeze.thaw_at);
    earliest(&due, agent_userdata_due(&a->ud, a->boot.complete, frozen));
    if (due == 0)
        return -1;
    double ms = (due - now) * 1000.0;
    return ms <= 0 ? 0 : ms > 60000 ? 60000 : (int) ms + 1;
}

static void agent_run_loop(Agent *a, int sfd)
{
    while (!a->quit) {
        double now = agent_now();
        on_timers(a, now);
        struct pollfd pfd[PFD_COUNT] = {
            [PFD_SIGNAL] = { .fd = sfd, .events = POLLIN },
            [PFD_BOOT] = { .fd = agent_boot_fd(&a->boot), .events = POLLIN },
            [PFD_SCRIPT] = { .fd = agent_userdata_fd(&a->ud), .events = POLLIN },
        };
        agent_channel_pollfd(&a->chan, &pfd[PFD_CHANNEL]);
        if (poll(pfd, PFD_COUNT, poll_timeout(a, now)) < 0) {
            if (errno != EINTR)
                log_err("poll: %s", strerror(errno));
            continue;
        }
        now = agent_now();
        bool frozen = agent_freeze_active(&a->freeze);
        if (pfd[PFD_CHANNEL].revents &&
            !agent_channel_handle(&a->chan, pfd[PFD_CHANNEL].revents, now, on_line, a))
            log_info("the controller disconnected");
        if (pfd[PFD_BOOT].revents && agent_boot_handle(&a->boot, true, now))
            send_boot_complete(a);
        if (pfd[PFD_SCRIPT].revents)
            agent_userdata_handle(&a->ud, true, now, frozen);
        if (pfd[PFD_SIGNAL].revents)
            on_signals(a, sfd, now);
    }
}

static int run_agent(const AgentOptions *opt)
{
    static Agent agent; /* big (line buffers): not on the stack */
    Agent *a = &agent;
    a->opt = *opt;
    int sfd = signals_setup();
    if (sfd < 0) {
        log_err("signals: %s", strerror(-sfd));
        return 1;
    }
    if (agent_setup(a) < 0)
        return 1;
    agent_run_loop(a, sfd);

    char err[NUBE_AGENT_MAX_ERROR];
    if (agent_command_thaw(a, err, sizeof(err)) > 0)
        log_info("thawed the file systems before exiting");
    agent_userdata_clear(&a->ud);
    agent_channel_close(&a->chan);
    agent_state_close(&a->state);
    close(sfd);
    return 0;
}

static int run_install(const char *root)
{
    char err[1024];
    if (root == NULL) {
        fprintf(stderr, "nube-agent: install needs --root DIR\n");
        return 1;
    }
    if (agent_install(root, err, sizeof(err)) < 0) {
        fprintf(stderr, "nube-agent: install into '%s': %s\n", root, err);
        return 1;
    }
    printf("nube-agent: installed into '%s'\n", root);
    return 0;
}

int main(int argc, char **argv)
{
    AgentOptions opt;
    const char *root = NULL;
    int r = parse_options(argc, argv, &opt, &root);
    if (r != 0)
        return r < 0 ? 0 : r;
    if (optind < argc && strcmp(argv[optind], "install") == 0 && optind + 1 == argc)
        return run_install(root);
    if (optind < argc || root != NULL) {
        usage(stderr);
        return 1;
    }
    return run_agent(&opt);
}
