/*
 * test-hypervisor-qemu.c: a real QEMU process started by libvirt's
 * embedded driver in a temporary root: a 128 MiB TCG machine without a
 * disk (it sits in SeaBIOS), with the user-mode NIC and a port forward.
 * Checks events, state, monitor commands (hostfwd_add/remove as the
 * controller uses them), the forward listening on 127.0.0.1, destroy and
 * undefine, and that no QEMU process is left.
 *
 * Assertions are non-fatal so the domain is destroyed even when a check
 * fails: the embedded driver's QEMU outlives this process otherwise.
 */
#include "domain_xml.h"
#include "instdir.h"
#include "events.h"
#include "fsutil.h"
#include "hypervisor.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>

#define EVENT_TIMEOUT_S 60

typedef struct {
    char *root;
    char *name;
    char *console;
    char *agent; /* the agent channel's socket, QEMU listening */
    char *imds;  /* the metadata service's socket (QEMU's guestfwd runs socat) */
    GAsyncQueue *events;
    NubeHypervisor *hv;
    guint16 port;
} Ctx;

/* A TCP port on 127.0.0.1 that was free a moment ago. */
static guint16 free_port(void)
{
    _cleanup_close_ int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof(sa);
    g_assert_cmpint(bind(fd, (struct sockaddr *) &sa, sizeof(sa)), ==, 0);
    g_assert_cmpint(getsockname(fd, (struct sockaddr *) &sa, &len), ==, 0);
    return ntohs(sa.sin_port);
}

static gboolean port_accepts(guint16 port)
{
    _cleanup_close_ int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET,
                              .sin_port = htons(port),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    return connect(fd, (struct sockaddr *) &sa, sizeof(sa)) == 0;
}

/* PIDs of QEMU processes running domain NAME (from /proc). */
static GArray *qemu_pids(const char *name)
{
    GArray *pids = g_array_new(FALSE, FALSE, sizeof(int));
    g_autofree char *needle = g_strdup_printf("guest=%s,", name);
    g_autoptr(GDir) proc = g_dir_open("/proc", 0, NULL);
    const char *ent;
    while (proc != NULL && (ent = g_dir_read_name(proc)) != NULL) {
        if (!g_ascii_isdigit(ent[0]))
            continue;
        g_autofree char *path = g_strdup_printf("/proc/%s/cmdline", ent);
        g_autofree char *cmd = NULL;
        gsize len = 0;
        if (!g_file_get_contents(path, &cmd, &len, NULL))
            continue;
        for (gsize i = 0; i + 1 < len; i++)
            if (cmd[i] == '\0')
                cmd[i] = ' ';
        if (strstr(cmd, needle) != NULL) {
            int pid = atoi(ent);
            g_array_append_val(pids, pid);
        }
    }
    return pids;
}

static gboolean ok(int r, NubeError **err, const char *what)
{
    if (r >= 0)
        return TRUE;
    g_test_fail_printf("%s: %s", what, *err != NULL ? (*err)->message : "?");
    g_clear_pointer(err, nube_error_free);
    return FALSE;
}

static NubeDomainState state(Ctx *c)
{
    NubeDomainState st = (NubeDomainState) -1;
    g_autoptr(NubeError) err = NULL;
    ok(nube_hypervisor_state(c->hv, c->name, &st, &err), &err, "state");
    return st;
}

static char *monitor(Ctx *c, const char *hmp)
{
    g_autoptr(NubeError) err = NULL;
    char *reply = NULL;
    if (!ok(nube_hypervisor_monitor(c->hv, c->name, hmp, &reply, &err), &err, hmp))
        return g_strdup("");
    g_test_message("%s -> %s", hmp, reply);
    return reply;
}

static void expect_event(Ctx *c, const char *want)
{
    g_autofree char *ev = events_wait(c->events, c->name, EVENT_TIMEOUT_S);
    g_assert_cmpstr(ev, ==, want);
}

static gboolean define_and_start(Ctx *c)
{
    NubePortForward fwd = { c->port, 80 };
    NubeDomainSpec spec = {
        .name = c->name,
        .accel = NUBE_ACCEL_TCG,
        .vcpus = 1,
        .memory_mib = 128,
        .console_path = c->console,
        .agent_socket = c->agent,
        .own_sandbox = TRUE,
        .imds_socket = c->imds,
        .mac = "52:54:00:4e:75:01",
        .forwards = &fwd,
        .n_forwards = 1,
    };
    g_autoptr(NubeError) err = NULL;
    g_autofree char *xml = nube_domain_xml(&spec, &err);
    if (!ok(xml != NULL ? 0 : -1, &err, "domain xml") ||
        !ok(nube_hypervisor_define(c->hv, xml, &err), &err, "define"))
        return FALSE;
    g_assert_cmpint(state(c), ==, NUBE_DOMAIN_SHUTOFF);
    if (!ok(nube_hypervisor_start(c->hv, c->name, &err), &err, "start"))
        return FALSE;
    expect_event(c, "started booted");
    g_assert_cmpint(state(c), ==, NUBE_DOMAIN_RUNNING);
    return !g_test_failed();
}

static void check_monitor(Ctx *c)
{
    /* QEMU listens on the agent channel's socket (nubed connects). */
    g_assert_true(g_file_test(c->agent, G_FILE_TEST_EXISTS));

    g_autofree char *status = monitor(c, "info status");
    g_assert_nonnull(strstr(status, "VM status: running"));

    g_autofree char *port = g_strdup_printf("%u", c->port);
    g_autofree char *usernet = monitor(c, "info usernet");
    g_assert_nonnull(strstr(usernet, "HOST_FORWARD"));
    g_assert_nonnull(strstr(usernet, port));
    g_assert_true(port_accepts(c->port));

    /* A forward added and removed on the running guest. */
    guint16 extra = free_port();
    g_autofree char *add =
        g_strdup_printf("hostfwd_add " NUBE_DOMAIN_NETDEV " tcp:127.0.0.1:%u-:22", extra);
    g_autofree char *remove =
        g_strdup_printf("hostfwd_remove " NUBE_DOMAIN_NETDEV " tcp:127.0.0.1:%u", extra);
    g_autofree char *add_reply = monitor(c, add);
    g_assert_cmpstr(add_reply, ==, "");
    g_assert_true(port_accepts(extra));
    g_autofree char *remove_reply = monitor(c, remove);
    g_assert_nonnull(strstr(remove_reply, "removed"));
    g_assert_false(port_accepts(extra));

    /* HMP reports a failed command only in its reply text: the call
     * itself succeeds.  Callers must read the reply. */
    g_autofree char *busy =
        g_strdup_printf("hostfwd_add " NUBE_DOMAIN_NETDEV " tcp:127.0.0.1:%u-:22", c->port);
    g_autofree char *busy_reply = monitor(c, busy);
    g_assert_nonnull(strstr(busy_reply, "Could not set up host forwarding rule"));
}

static void check_power(Ctx *c)
{
    g_autoptr(NubeError) err = NULL;
    /* A machine reset shows up as a reboot event. */
    g_autofree char *reset = monitor(c, "system_reset");
    expect_event(c, "rebooted reboot");

    /* SeaBIOS has no ACPI handler, so the buttons are pressed in vain,
     * but libvirt must accept both requests. */
    ok(nube_hypervisor_shutdown(c->hv, c->name, &err), &err, "shutdown");
    ok(nube_hypervisor_reboot(c->hv, c->name, &err), &err, "reboot");
    g_assert_cmpint(state(c), ==, NUBE_DOMAIN_RUNNING);
}

static void check_files(Ctx *c)
{
    g_assert_true(g_file_test(c->console, G_FILE_TEST_IS_REGULAR));
    /* Without virtlogd QEMU's stderr goes to ROOT/log/qemu/NAME.log. */
    g_autofree char *log = g_strdup_printf("%s/libvirt/log/qemu/%s.log", c->root, c->name);
    g_assert_true(g_file_test(log, G_FILE_TEST_IS_REGULAR));
}

static void destroy_and_undefine(Ctx *c)
{
    g_autoptr(NubeError) err = NULL;
    if (ok(nube_hypervisor_destroy(c->hv, c->name, &err), &err, "destroy"))
        expect_event(c, "stopped destroyed");
    g_assert_cmpint(state(c), ==, NUBE_DOMAIN_SHUTOFF);
    ok(nube_hypervisor_destroy(c->hv, c->name, &err), &err, "destroy again");

    /* QEMU exiting by itself (as after a guest power-off) is a shutdown. */
    if (ok(nube_hypervisor_start(c->hv, c->name, &err), &err, "restart")) {
        expect_event(c, "started booted");
        g_autofree char *bye = NULL;
        nube_hypervisor_monitor(c->hv, c->name, "quit", &bye, NULL);
        expect_event(c, "stopped shutdown");
        g_assert_cmpint(state(c), ==, NUBE_DOMAIN_SHUTOFF);
    }

    ok(nube_hypervisor_undefine(c->hv, c->name, &err), &err, "undefine");
    g_assert_cmpint(state(c), ==, NUBE_DOMAIN_ABSENT);
    ok(nube_hypervisor_undefine(c->hv, c->name, &err), &err, "undefine again");

    g_assert_cmpint(nube_hypervisor_start(c->hv, c->name, &err), ==, -ENOENT);
    g_clear_pointer(&err, nube_error_free);
}

/* Whatever happened, no QEMU of this test survives it. */
static void cleanup(Ctx *c)
{
    if (c->hv != NULL) {
        nube_hypervisor_destroy(c->hv, c->name, NULL);
        nube_hypervisor_undefine(c->hv, c->name, NULL);
        nube_hypervisor_close(c->hv);
    }
    g_autoptr(GArray) pids = qemu_pids(c->name);
    for (guint i = 0; i < pids->len; i++) {
        int pid = g_array_index(pids, int, i);
        g_test_fail_printf("QEMU %d of %s still running: killed", pid, c->name);
        kill(pid, SIGKILL);
    }
    nube_rm_rf(c->root, NULL);
    g_free(c->root);
    g_free(c->name);
    g_free(c->console);
    g_free(c->agent);
    g_free(c->imds);
    g_async_queue_unref(c->events);
}

static void test_lifecycle(void)
{
    g_autoptr(GError) gerr = NULL;
    g_autoptr(NubeError) err = NULL;
    g_autofree char *id = nube_id_new("nube-test");
    Ctx c = {
        .root = g_dir_make_tmp("nube-hv-XXXXXX", &gerr),
        .name = g_steal_pointer(&id),
        .events = g_async_queue_new_full(g_free),
        .port = free_port(),
    };
    g_assert_nonnull(c.root);
    c.console = g_build_filename(c.root, NUBE_INSTDIR_CONSOLE, NULL);
    c.agent = g_build_filename(c.root, NUBE_INSTDIR_AGENT_SOCKET, NULL);
    c.imds = g_build_filename(c.root, NUBE_INSTDIR_IMDS_SOCKET, NULL);

    g_autofree char *uri = nube_hypervisor_default_uri(c.root);
    c.hv = nube_hypervisor_open(uri, events_push, c.events, &err);
    if (ok(c.hv != NULL ? 0 : -1, &err, "open") && define_and_start(&c)) {
        check_monitor(&c);
        check_files(&c);
        check_power(&c);
        destroy_and_undefine(&c);
    }
    cleanup(&c);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_set_nonfatal_assertions();
    g_test_add_func("/hypervisor/qemu/lifecycle", test_lifecycle);
    return g_test_run();
}
