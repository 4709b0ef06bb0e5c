/*
 * test-agentlink.c: nubed's side of the agent channel against a socket that
 * plays QEMU's end: the link connects, records what a guest says, answers
 * commands, and survives malformed, oversized, out-of-order and foreign
 * messages; a guest speaks only for the instance whose socket it uses.
 */
#include "fixture.h"

#include "agentlink.h"
#include "agentstatus.h"
#include "fsutil.h"
#include "instdir.h"

#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define ID_A "i-0aaaaaaaaaaaaaaa1"
#define ID_B "i-0bbbbbbbbbbbbbbb2"
#define BOOT "0f0e0d0c-0b0a-4908-8706-050403020100"

typedef struct {
    Fixture fx;
    int listen_a;
    int listen_b;
} LinkFixture;

static void insert_instance(Fixture *f, const char *id)
{
    g_autoptr(NubeInstance) o = fixture_instance_new(id, NUBE_INSTANCE_RUNNING, "t3.nano", NULL);
    fixture_set_str(&o->reservation_id, "r-0000000000000000a");
    fixture_set_str(&o->mac, "52:54:00:12:34:57");
    o->state_changed_at = 0;
    o->vcpus = 1;
    o->launch_time = 0;
    fixture_insert_instance(f, o);
}

/* The image, with the agent, and two instances of it. */
static void insert_records(Fixture *f)
{
    g_autoptr(NubeError) err = NULL;
    g_autoptr(NubeImage) img = fixture_image_new(NULL);
    fixture_set_str(&img->name, "test");
    fixture_set_str(&img->state, "available");
    img->created_at = 0;
    img->has_agent = TRUE;
    g_assert_cmpint(nube_image_insert(f->cloud.db, img, &err), ==, 0);
    insert_instance(f, ID_A);
    insert_instance(f, ID_B);
}

static const FixtureSpec spec = { "link", insert_records };

/* A listening socket at STATE/instances/ID/agent.sock, as QEMU makes. */
static int listen_at(Fixture *f, const char *id)
{
    g_autofree char *dir = nube_cloud_instance_dir(&f->cloud, id);
    g_autofree char *path = g_build_filename(dir, NUBE_INSTDIR_AGENT_SOCKET, NULL);
    g_assert_cmpint(nube_mkdir_p(dir, 0700, NULL), ==, 0);
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    g_assert_cmpuint(strlen(path), <, sizeof(sa.sun_path));
    strcpy(sa.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    g_assert_cmpint(bind(fd, (struct sockaddr *) &sa, sizeof(sa)), ==, 0);
    g_assert_cmpint(listen(fd, 1), ==, 0);
    return fd;
}

static void link_setup(LinkFixture *l, gconstpointer data)
{
    Fixture *f = &l->fx;
    fixture_setup(f, &spec);
    l->listen_a = listen_at(f, ID_A);
    l->listen_b = listen_at(f, ID_B);
    f->cloud.agents = nube_agentlink_start(f->cloud.db, f->instances_dir);
}

static void link_teardown(LinkFixture *l, gconstpointer data)
{
    nube_agentlink_stop(l->fx.cloud.agents);
    close(l->listen_a);
    close(l->listen_b);
    fixture_teardown(&l->fx, &spec);
}

static void send_text(int fd, const char *text)
{
    size_t len = strlen(text);
    g_assert_cmpint(write(fd, text, len), ==, (ssize_t) len);
}

static const char hello[] = "{\"v\":1,\"type\":\"hello\",\"agent\":\"0.1.0\",\"boot_id\":\"" BOOT
                            "\",\"kernel\":\"6.1.0\",\"uptime\":2.5,\"cloud_init\":false}\n";

/* Waits up to 5 s until CHECK(db, id) holds. */
static gboolean eventually(Fixture *f, const char *id, gboolean (*check)(NubeAgentStatus *st))
{
    for (int i = 0; i < 100; i++) {
        g_autoptr(NubeAgentStatus) st = nube_agent_status_get(f->cloud.db, id);
        if (st != NULL && check(st))
            return TRUE;
        g_usleep(50 * 1000);
    }
    return FALSE;
}

static gboolean said_hello(NubeAgentStatus *st)
{
    return st->hello_at > 0 && g_strcmp0(st->boot_id, BOOT) == 0;
}

static gboolean userdata_failed(NubeAgentStatus *st)
{
    return g_strcmp0(st->userdata_state, "failed") == 0;
}

/* Reads one command from the fd DATA and answers it with frozen=2. */
static gpointer answer_one(gpointer data)
{
    int fd = GPOINTER_TO_INT(data);
    char line[512];
    ssize_t n = read(fd, line, sizeof(line) - 1);
    g_assert_cmpint(n, >, 0);
    line[n] = '\0';
    const char *p = strstr(line, "\"id\":");
    g_assert_nonnull(p);
    long id = strtol(p + 5, NULL, 10);
    g_autofree char *out =
        g_strdup_printf("{\"v\":1,\"type\":\"result\",\"id\":%ld,\"ok\":true,\"frozen\":2}\n", id);
    send_text(fd, out);
    return NULL;
}

static void test_link(LinkFixture *l, gconstpointer data)
{
    Fixture *f = &l->fx;
    nube_agentlink_kick(f->cloud.agents);
    int a = accept4(l->listen_a, NULL, NULL, SOCK_CLOEXEC);
    int b = accept4(l->listen_b, NULL, NULL, SOCK_CLOEXEC);
    g_assert_cmpint(a, >=, 0);
    g_assert_cmpint(b, >=, 0);

    /* Before hello: out of order, dropped. */
    send_text(a, "{\"v\":1,\"type\":\"boot-complete\",\"state\":\"running\",\"uptime\":9}\n");
    /* Garbage, an oversized line, a controller's message, bad UTF-8. */
    send_text(a, "not json at all\n{\"v\":2,\"type\":\"hello\"}\n");
    g_autofree char *big = g_strnfill(NUBE_AGENT_MAX_LINE * 2, 'x');
    send_text(a, big);
    send_text(a, "\n{\"v\":1,\"type\":\"ping\",\"id\":1}\n\xff\xfe\n");
    send_text(a, hello);
    g_assert_true(eventually(f, ID_A, said_hello));
    g_autoptr(NubeAgentStatus) st = nube_agent_status_get(f->cloud.db, ID_A);
    g_assert_cmpint(st->boot_complete_at, ==, 0); /* the early one was dropped */
    /* B's guest said nothing: A's words are A's alone. */
    g_assert_null(nube_agent_status_get(f->cloud.db, ID_B));
    g_assert_true(nube_agentlink_ready(f->cloud.agents, ID_A));
    g_assert_false(nube_agentlink_ready(f->cloud.agents, ID_B));

    /* finished before started: dropped; then both in order. */
    const char finished[] =
        "{\"v\":1,\"type\":\"userdata\",\"phase\":\"finished\",\"runner\":"
        "\"agent\",\"status\":\"failed\",\"exit_code\":1,\"duration\":0.5,"
        "\"error\":\"user data script exited with status 1\",\"log\":\"boom\"}\n";
    send_text(a, finished);
    send_text(a, "{\"v\":1,\"type\":\"userdata\",\"phase\":\"started\",\"runner\":\"agent\"}\n");
    send_text(a, finished);
    g_assert_true(eventually(f, ID_A, userdata_failed));
    g_clear_pointer(&st, nube_agent_status_free);
    st = nube_agent_status_get(f->cloud.db, ID_A);
    g_assert_true(st->userdata_has_exit);
    g_assert_cmpint(st->userdata_exit, ==, 1);
    g_assert_cmpstr(st->userdata_log, ==, "boom");
    g_assert_cmpint(st->userdata_duration_ms, ==, 500);

    NubeMsg cmd, reply;
    nube_msg_init(&cmd);
    nube_msg_init(&reply);
    cmd.type = NUBE_MSG_PING;
    g_autoptr(NubeError) err = NULL;
    /* No agent on B: refused at once. */
    g_assert_cmpint(nube_agentlink_call(f->cloud.agents, ID_B, &cmd, 1000, &reply, &err), ==,
                    -ENOTCONN);
    g_clear_pointer(&err, nube_error_free);
    /* A times out when the guest does not answer. */
    g_assert_cmpint(nube_agentlink_call(f->cloud.agents, ID_A, &cmd, 300, &reply, &err), ==,
                    -ETIMEDOUT);
    g_clear_pointer(&err, nube_error_free);
    char line[256];
    ssize_t n = read(a, line, sizeof(line) - 1);
    g_assert_cmpint(n, >, 0);
    line[n] = '\0';
    g_assert_nonnull(strstr(line, "\"ping\""));
    /* A late result for that command is dropped, not crashing anything. */
    send_text(a, "{\"v\":1,\"type\":\"result\",\"id\":1,\"ok\":true}\n");

    /* A command answered by the guest (from another thread). */
    GThread *guest = g_thread_new("guest", answer_one, GINT_TO_POINTER(a));
    nube_msg_init(&cmd);
    cmd.type = NUBE_MSG_PREPARE_IMAGE;
    cmd.freeze = TRUE;
    cmd.thaw_after = 30;
    g_assert_cmpint(nube_agentlink_call(f->cloud.agents, ID_A, &cmd, 5000, &reply, &err), ==, 0);
    g_assert_true(reply.ok);
    g_assert_cmpint(reply.frozen, ==, 2);
    nube_msg_clear(&reply);
    g_thread_join(guest);

    /* The channel closes (QEMU exits): no longer ready. */
    close(a);
    for (int i = 0; i < 100 && nube_agentlink_ready(f->cloud.agents, ID_A); i++)
        g_usleep(50 * 1000);
    g_assert_false(nube_agentlink_ready(f->cloud.agents, ID_A));

    close(b);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add("/agentlink/messages", LinkFixture, NULL, link_setup, test_link, link_teardown);
    return g_test_run();
}
