/*
 * agentlink.c: the guest agents' channels (see agentlink.h).
 */
#include "agentlink.h"
#include "agentstatus.h"
#include "instance.h"
#include "instdir.h"
#include "log.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* How often the live instances are looked for new channels (ms). */
#define SCAN_INTERVAL_MS 2000
/* Rejected messages logged per connection before only every 100th is. */
#define REJECT_LOG_BURST 20

typedef struct {
    char *id;
    int fd;
    GByteArray *buf;
    gboolean skipping; /* discarding an oversized line up to its newline */
    NubeSession session;
    guint64 rejected;
} Conn;

struct NubeAgentLink {
    NubeDb *db;
    char *instances_dir;
    GThread *thread;
    int wake_fd;
    GMutex lock;         /* conns, replies, next_id, closing */
    GCond cond;          /* a reply arrived */
    GHashTable *conns;   /* instance id -> Conn */
    GHashTable *replies; /* command id (gint64 *) -> NubeMsg * or NULL (in flight) */
    gint64 next_id;
    gboolean closing;
};

static void conn_free(gpointer p)
{
    Conn *c = p;
    if (c->fd >= 0)
        close(c->fd);
    g_byte_array_unref(c->buf);
    g_free(c->id);
    g_free(c);
}

static void reply_free(gpointer p)
{
    if (p == NULL)
        return;
    nube_msg_clear(p);
    g_free(p);
}

static void wake(NubeAgentLink *l)
{
    guint64 one = 1;
    if (write(l->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
        nube_warn("agent link: wake: %s", g_strerror(errno));
}

/* ---- finding channels -------------------------------------------------- */

/* Ids of the instances whose guest may run. */
static GPtrArray *live_ids(NubeDb *db)
{
    g_autoptr(NubeError) err = NULL;
    GPtrArray *ids = nube_instance_live_ids(db, &err);
    if (ids == NULL)
        nube_warn("agent link: cannot list instances: %s", err->message);
    return ids;
}

static int connect_channel(NubeAgentLink *l, const char *id)
{
    g_autofree char *path = nube_instdir_path(l->instances_dir, id, NUBE_INSTDIR_AGENT_SOCKET);
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    if (strlen(path) >= sizeof(sa.sun_path) || !g_file_test(path, G_FILE_TEST_EXISTS))
        return -ENOENT;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

/* Connects to the channels of live instances that have none yet and
 * drops the connections of instances no longer live. */
static void scan(NubeAgentLink *l)
{
    g_autoptr(GPtrArray) ids = live_ids(l->db);
    if (ids == NULL)
        return;
    g_mutex_lock(&l->lock);
    GHashTableIter it;
    gpointer key;
    g_hash_table_iter_init(&it, l->conns);
    while (g_hash_table_iter_next(&it, &key, NULL)) {
        if (!g_ptr_array_find_with_equal_func(ids, key, g_str_equal, NULL)) {
            nube_debug("%s: agent channel dropped (instance not live)", (char *) key);
            g_hash_table_iter_remove(&it);
        }
    }
    g_mutex_unlock(&l->lock);

    for (guint i = 0; i < ids->len; i++) {
        const char *id = ids->pdata[i];
        g_mutex_lock(&l->lock);
        gboolean have = g_hash_table_contains(l->conns, id);
        g_mutex_unlock(&l->lock);
        if (have)
            continue;
        int fd = connect_channel(l, id);
        if (fd < 0) {
            if (fd != -ENOENT && fd != -ECONNREFUSED)
                nube_debug("%s: agent channel: %s", id, g_strerror(-fd));
            continue;
        }
        Conn *c = g_new0(Conn, 1);
        c->id = g_strdup(id);
        c->fd = fd;
        c->buf = g_byte_array_new();
        nube_session_init(&c->session);
        nube_debug("%s: agent channel connected", id);
        g_mutex_lock(&l->lock);
        g_hash_table_replace(l->conns, c->id, c);
        g_mutex_unlock(&l->lock);
    }
}

/* ---- messages ---------------------------------------------------------- */

static void reject(Conn *c, const char *why)
{
    c->rejected++;
    if (c->rejected <= REJECT_LOG_BURST || c->rejected % 100 == 0)
        nube_warn("%s: agent message rejected (%" G_GUINT64_FORMAT " so far): %s", c->id,
                  c->rejected, why);
}

static void log_message(const char *id, const NubeMsg *m)
{
    switch (m->type) {
    case NUBE_MSG_HELLO:
        nube_info("%s: agent %s says hello (boot %s, kernel %s, uptime %.1f s)", id,
                  m->agent_version, m->boot_id, m->kernel, m->uptime);
        break;
    case NUBE_MSG_BOOT_COMPLETE:
        nube_info("%s: boot complete (%s) after %.1f s", id, m->system_state, m->uptime);
        break;
    case NUBE_MSG_USERDATA:
        if (m->phase == NUBE_USERDATA_STARTED)
            nube_info("%s: user data started (%s)", id, m->runner);
        else
            nube_info("%s: user data %s (%s) in %.1f s%s%s", id, m->status, m->runner, m->duration,
                      m->error ? ": " : "", m->error ? m->error : "");
        break;
    default:
        break;
    }
}

/* A result: handed to the caller waiting for it, if any. */
static void take_result(NubeAgentLink *l, Conn *c, NubeMsg *m)
{
    g_mutex_lock(&l->lock);
    gint64 key = m->id;
    gpointer old = NULL;
    if (g_hash_table_lookup_extended(l->replies, &key, NULL, &old) && old == NULL) {
        NubeMsg *copy = g_new(NubeMsg, 1);
        *copy = *m;
        nube_msg_init(m); /* ownership moved */
        g_hash_table_insert(l->replies, g_memdup2(&key, sizeof(key)), copy);
        g_cond_broadcast(&l->cond);
        g_mutex_unlock(&l->lock);
        return;
    }
    g_mutex_unlock(&l->lock);
    reject(c, "a result for no command in flight");
}

static void handle_line(NubeAgentLink *l, Conn *c, const char *line, size_t len)
{
    NubeMsg m;
    char why[256];
    nube_msg_init(&m);
    if (nube_msg_parse(line, len, &m, why, sizeof(why)) < 0) {
        reject(c, why);
        return;
    }
    if (!nube_msg_from_guest(m.type)) {
        g_snprintf(why, sizeof(why), "'%s' is not a message a guest sends",
                   nube_msg_type_name(m.type));
        reject(c, why);
    } else if (nube_session_accept(&c->session, &m, why, sizeof(why)) < 0) {
        reject(c, why);
    } else if (m.type == NUBE_MSG_RESULT) {
        take_result(l, c, &m);
    } else {
        g_autoptr(NubeError) err = NULL;
        log_message(c->id, &m);
        if (nube_agent_status_record(l->db, c->id, &m, g_get_real_time() / 1000, &err) < 0)
            nube_warn("%s: cannot record agent message: %s", c->id, err->message);
    }
    nube_msg_clear(&m);
}

/* Splits what was read into lines.  FALSE when the channel closed. */
static gboolean read_conn(NubeAgentLink *l, Conn *c)
{
    guint8 chunk[4096];
    for (;;) {
        ssize_t n = read(c->fd, chunk, sizeof(chunk));
        if (n == 0)
            return FALSE;
        if (n < 0)
            return errno == EAGAIN || errno == EINTR;
        for (ssize_t i = 0; i < n; i++) {
            if (chunk[i] == '\n') {
                if (!c->skipping)
                    handle_line(l, c, (const char *) c->buf->data, c->buf->len);
                c->skipping = FALSE;
                g_byte_array_set_size(c->buf, 0);
            } else if (!c->skipping) {
                g_byte_array_append(c->buf, &chunk[i], 1);
                if (c->buf->len >= NUBE_AGENT_MAX_LINE) {
                    reject(c, "a line longer than the protocol allows");
                    c->skipping = TRUE;
                    g_byte_array_set_size(c->buf, 0);
                }
            }
        }
    }
}

static gpointer link_thread(gpointer data)
{
    NubeAgentLink *l = data;
    gint64 next_scan = 0;
    g_autoptr(GArray) pfds = g_array_new(FALSE, TRUE, sizeof(struct pollfd));
    g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func(g_free);

    for (;;) {
        gint64 now = g_get_monotonic_time() / 1000;
        if (now >= next_scan) {
            scan(l);
            next_scan = now + SCAN_INTERVAL_MS;
        }
        g_array_set_size(pfds, 1);
        g_ptr_array_set_size(ids, 0);
        g_array_index(pfds, struct pollfd, 0) =
            (struct pollfd){ .fd = l->wake_fd, .events = POLLIN };
        g_mutex_lock(&l->lock);
        if (l->closing) {
            g_mutex_unlock(&l->lock);
            break;
        }
        GHashTableIter it;
        gpointer value;
        g_hash_table_iter_init(&it, l->conns);
        while (g_hash_table_iter_next(&it, NULL, &value)) {
            Conn *c = value;
            struct pollfd p = { .fd = c->fd, .events = POLLIN };
            g_array_append_val(pfds, p);
            g_ptr_array_add(ids, g_strdup(c->id));
        }
        g_mutex_unlock(&l->lock);

        int timeout = (int) MAX(0, next_scan - g_get_monotonic_time() / 1000);
        int r = poll((struct pollfd *) pfds->data, pfds->len, timeout);
        if (r < 0 && errno != EINTR) {
            nube_warn("agent link: poll: %s", g_strerror(errno));
            g_usleep(G_USEC_PER_SEC);
            continue;
        }
        struct pollfd *p0 = &g_array_index(pfds, struct pollfd, 0);
        if (p0->revents & POLLIN) {
            guint64 v;
            if (read(l->wake_fd, &v, sizeof(v)) == sizeof(v))
                next_scan = 0; /* kicked (or closing: checked above) */
        }
        for (guint i = 1; i < pfds->len; i++) {
            struct pollfd *p = &g_array_index(pfds, struct pollfd, i);
            if (p->revents == 0)
                continue;
            const char *id = ids->pdata[i - 1];
            /* Only this thread removes connections of live instances, and
             * scan() runs in it: C stays valid while read. */
            g_mutex_lock(&l->lock);
            Conn *c = g_hash_table_lookup(l->conns, id);
            g_mutex_unlock(&l->lock);
            if (c == NULL || c->fd != p->fd)
                continue;
            if (!read_conn(l, c)) {
                nube_debug("%s: agent channel closed", id);
                g_mutex_lock(&l->lock);
                g_hash_table_remove(l->conns, id);
                g_cond_broadcast(&l->cond);
                g_mutex_unlock(&l->lock);
            }
        }
    }
    return NULL;
}

/* ---- public ------------------------------------------------------------ */

NubeAgentLink *nube_agentlink_start(NubeDb *db, const char *instances_dir)
{
    NubeAgentLink *l = g_new0(NubeAgentLink, 1);
    l->db = db;
    l->instances_dir = g_strdup(instances_dir);
    l->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    g_mutex_init(&l->lock);
    g_cond_init(&l->cond);
    l->conns = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, conn_free);
    l->replies = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, reply_free);
    l->thread = g_thread_new("agent-link", link_thread, l);
    return l;
}

void nube_agentlink_stop(NubeAgentLink *l)
{
    if (l == NULL)
        return;
    g_mutex_lock(&l->lock);
    l->closing = TRUE;
    g_mutex_unlock(&l->lock);
    wake(l);
    g_thread_join(l->thread);
    g_hash_table_destroy(l->conns);
    g_hash_table_destroy(l->replies);
    g_mutex_clear(&l->lock);
    g_cond_clear(&l->cond);
    close(l->wake_fd);
    g_free(l->instances_dir);
    g_free(l);
}

void nube_agentlink_kick(NubeAgentLink *l)
{
    if (l != NULL)
        wake(l);
}

gboolean nube_agentlink_ready(NubeAgentLink *l, const char *id)
{
    if (l == NULL)
        return FALSE;
    g_mutex_lock(&l->lock);
    Conn *c = g_hash_table_lookup(l->conns, id);
    gboolean ready = c != NULL && c->session.hello;
    g_mutex_unlock(&l->lock);
    return ready;
}

/* Writes LINE whole to FD (non-blocking), waiting for room up to 2 s. */
static int write_line(int fd, const char *line)
{
    size_t len = strlen(line), done = 0;
    while (done < len) {
        ssize_t n = write(fd, line + done, len - done);
        if (n > 0) {
            done += (size_t) n;
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EINTR)
            return -errno;
        struct pollfd p = { .fd = fd, .events = POLLOUT };
        if (poll(&p, 1, 2000) == 0)
            return -ETIMEDOUT;
    }
    return 0;
}

int nube_agentlink_call(NubeAgentLink *l, const char *id, NubeMsg *cmd, guint timeout_ms,
                        NubeMsg *reply, NubeError **err)
{
    g_mutex_lock(&l->lock);
    Conn *c = g_hash_table_lookup(l->conns, id);
    if (c == NULL || !c->session.hello) {
        g_mutex_unlock(&l->lock);
        return nube_error_set(err, ENOTCONN, "%s: no guest agent is connected", id);
    }
    cmd->id = ++l->next_id;
    g_autofree char *line = nube_msg_format(cmd);
    if (line == NULL) {
        g_mutex_unlock(&l->lock);
        return nube_error_set(err, EINVAL, "%s: cannot format agent command '%s'", id,
                              nube_msg_type_name(cmd->type));
    }
    gint64 key = cmd->id;
    g_hash_table_insert(l->replies, g_memdup2(&key, sizeof(key)), NULL);
    int r = write_line(c->fd, line);
    gint64 until = g_get_monotonic_time() + (gint64) timeout_ms * 1000;
    NubeMsg *got = NULL;
    while (r == 0 && (got = g_hash_table_lookup(l->replies, &key)) == NULL) {
        if (!g_cond_wait_until(&l->cond, &l->lock, until))
            r = -ETIMEDOUT;
    }
    if (got != NULL) {
        *reply = *got;
        nube_msg_init(got);
    }
    g_hash_table_remove(l->replies, &key);
    g_mutex_unlock(&l->lock);

    if (r == -ETIMEDOUT)
        return nube_error_set(err, ETIMEDOUT, "%s: the guest agent did not answer '%s' in %u ms",
                              id, nube_msg_type_name(cmd->type), timeout_ms);
    if (r < 0)
        return nube_error_set(err, -r, "%s: cannot send '%s' to the guest agent", id,
                              nube_msg_type_name(cmd->type));
    if (!reply->ok)
        return nube_error_set(err, EIO, "%s: the guest agent failed '%s': %s", id,
                              nube_msg_type_name(cmd->type),
                              reply->error ? reply->error : "no reason given");
    return 0;
}
