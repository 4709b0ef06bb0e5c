/*
 * forwards.c: forwarded ports of instances (see forwards.h).
 */
#include "forwards.h"
#include "domain_xml.h"
#include "instance.h"
#include "log.h"
#include "secgroup.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

/* Host ports QEMU may refuse (taken by another program since we looked)
 * before a forward is given up. */
#define ADD_ATTEMPTS 3

static GMutex forwards_mutex;

void nube_forwards_lock(void)
{
    g_mutex_lock(&forwards_mutex);
}

void nube_forwards_unlock(void)
{
    g_mutex_unlock(&forwards_mutex);
}

static gboolean port_free(guint16 port)
{
    _cleanup_close_ int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return fd >= 0 && bind(fd, (struct sockaddr *) &sa, sizeof(sa)) == 0;
}

static gboolean port_listed(const GArray *ports, guint16 port)
{
    for (guint i = 0; ports != NULL && i < ports->len; i++)
        if (g_array_index(ports, guint16, i) == port)
            return TRUE;
    return FALSE;
}

guint16 nube_forwards_pick_port(NubeDb *db, GArray *taken, NubeError **err)
{
    g_autoptr(GArray) used = nube_instance_ports_in_use(db, err);
    if (used == NULL)
        return 0;
    guint start = g_random_int_range(0, NUBE_FORWARD_PORT_SPAN);
    for (guint i = 0; i < NUBE_FORWARD_PORT_SPAN; i++) {
        guint16 port = NUBE_FORWARD_PORT_MIN + (start + i) % NUBE_FORWARD_PORT_SPAN;
        if (!port_listed(used, port) && !port_listed(taken, port) && port_free(port)) {
            g_array_append_val(taken, port);
            return port;
        }
    }
    nube_error_setc(err, EADDRINUSE, "InsufficientInstanceCapacity",
                    "No free host port is left for port forwarding.");
    return 0;
}

typedef struct {
    guint16 guest_port;
    guint16 host_port;
    gboolean from_group;
} Row;

static GArray *rows_get(NubeDb *db, const char *id, NubeError **err)
{
    g_autoptr(GArray) rows = g_array_new(FALSE, TRUE, sizeof(Row));
    nube_db_lock(db);
    _cleanup_stmt_ sqlite3_stmt *stmt = nube_db_prepare(
        db, "SELECT guest_port, host_port, origin FROM forwards WHERE instance_id = ?1", err);
    int r = stmt ? 0 : -EIO;
    if (stmt != NULL)
        nube_db_bind(db, stmt, "s", id);
    while (r == 0 && (r = nube_db_step(db, stmt, err)) == 1) {
        Row row = {
            .guest_port = (guint16) sqlite3_column_int(stmt, 0),
            .host_port = (guint16) sqlite3_column_int(stmt, 1),
            .from_group = g_strcmp0((const char *) sqlite3_column_text(stmt, 2), "group") == 0,
        };
        g_array_append_val(rows, row);
        r = 0;
    }
    nube_db_unlock(db);
    return r < 0 ? NULL : g_steal_pointer(&rows);
}

static gboolean guest_forwarded(const GArray *rows, guint16 guest_port)
{
    for (guint i = 0; i < rows->len; i++)
        if (g_array_index(rows, Row, i).guest_port == guest_port)
            return TRUE;
    return FALSE;
}

/* The database and the hypervisor the forwards are kept in. */
typedef struct {
    NubeDb *db;
    NubeHypervisor *hv;
} Host;

static gboolean guest_running(const Host *d, const char *id)
{
    NubeDomainState st = NUBE_DOMAIN_ABSENT;
    return d->hv != NULL && nube_hypervisor_state(d->hv, id, &st, NULL) == 0 &&
           st == NUBE_DOMAIN_RUNNING;
}

/* Runs HMP on ID's QEMU.  The reply (new string), or NULL after a warning. */
static char *monitor(const Host *d, const char *id, const char *hmp)
{
    g_autoptr(NubeError) err = NULL;
    char *reply = NULL;
    if (nube_hypervisor_monitor(d->hv, id, hmp, &reply, &err) < 0) {
        nube_warn("%s: %s", id, err->message);
        return NULL;
    }
    return g_strstrip(reply);
}

static void qemu_remove(const Host *d, const char *id, guint16 host_port)
{
    g_autofree char *hmp =
        g_strdup_printf("hostfwd_remove " NUBE_DOMAIN_NETDEV " tcp:127.0.0.1:%u", host_port);
    g_autofree char *reply = monitor(d, id, hmp);
    if (reply != NULL && strstr(reply, "removed") == NULL)
        nube_warn("%s: %s: %s", id, hmp, reply);
}

/* HMP answers an empty reply when the forward is set up, an error text
 * otherwise. */
static gboolean qemu_add(const Host *d, const char *id, guint16 host_port, guint16 guest_port)
{
    g_autofree char *hmp = g_strdup_printf(
        "hostfwd_add " NUBE_DOMAIN_NETDEV " tcp:127.0.0.1:%u-:%u", host_port, guest_port);
    g_autofree char *reply = monitor(d, id, hmp);
    if (reply != NULL && *reply != '\0')
        nube_warn("%s: %s: %s", id, hmp, reply);
    return reply != NULL && *reply == '\0';
}

static int remove_forward(const Host *d, const char *id, const Row *row, gboolean running,
                          NubeError **err)
{
    if (running)
        qemu_remove(d, id, row->host_port);
    int r =
        nube_db_exec(d->db, err, "DELETE FROM forwards WHERE instance_id = ?1 AND guest_port = ?2",
                     "si", id, (gint64) row->guest_port);
    if (r < 0)
        return r;
    nube_info("%s: guest port %u closed (was 127.0.0.1:%u)", id, row->guest_port, row->host_port);
    return 0;
}

static int add_forward(const Host *d, const char *id, guint16 guest_port, gboolean running,
                       GArray *taken, NubeError **err)
{
    for (int attempt = 0; attempt < ADD_ATTEMPTS; attempt++) {
        guint16 host_port = nube_forwards_pick_port(d->db, taken, err);
        if (host_port == 0)
            return -EADDRINUSE;
        if (running && !qemu_add(d, id, host_port, guest_port))
            continue;
        int r = nube_db_exec(d->db, err,
                             "INSERT INTO forwards (instance_id, guest_port, host_port, origin) "
                             "VALUES (?1, ?2, ?3, 'group')",
                             "sii", id, (gint64) guest_port, (gint64) host_port);
        if (r < 0) {
            if (running)
                qemu_remove(d, id, host_port);
            return r;
        }
        nube_info("%s: guest port %u forwarded from 127.0.0.1:%u", id, guest_port, host_port);
        return 0;
    }
    nube_warn("%s: guest port %u left unforwarded: QEMU refused %d host ports", id, guest_port,
              ADD_ATTEMPTS);
    return 0;
}

static int sync_instance(const Host *d, const char *id, NubeError **err)
{
    g_autoptr(GArray) want = nube_secgroup_instance_ports(d->db, id, err);
    g_autoptr(GArray) rows = want ? rows_get(d->db, id, err) : NULL;
    if (rows == NULL)
        return -EIO;
    g_autoptr(GArray) taken = g_array_new(FALSE, FALSE, sizeof(guint16));
    gboolean running = guest_running(d, id);

    for (guint i = 0; i < rows->len; i++) {
        const Row *row = &g_array_index(rows, Row, i);
        if (row->from_group && !port_listed(want, row->guest_port) &&
            remove_forward(d, id, row, running, err) < 0)
            return -EIO;
    }
    for (guint i = 0; i < want->len; i++) {
        guint16 port = g_array_index(want, guint16, i);
        if (!guest_forwarded(rows, port) && add_forward(d, id, port, running, taken, err) < 0)
            return -EIO;
    }
    return 0;
}

int nube_forwards_sync(NubeDb *db, NubeHypervisor *hv, const char *id, NubeError **err)
{
    const Host host = { db, hv };
    return sync_instance(&host, id, err);
}

guint nube_forwards_sync_group(NubeDb *db, NubeHypervisor *hv, const char *group_id)
{
    g_autoptr(NubeError) err = NULL;
    g_autoptr(GPtrArray) ids = nube_secgroup_instances(db, group_id, &err);
    if (ids == NULL) {
        nube_warn("security group %s: cannot list its instances: %s", group_id, err->message);
        return 0;
    }
    for (guint i = 0; i < ids->len; i++) {
        g_autoptr(NubeError) serr = NULL;
        nube_forwards_lock();
        if (nube_forwards_sync(db, hv, ids->pdata[i], &serr) < 0)
            nube_warn("%s: forwards of security group %s: %s", (char *) ids->pdata[i], group_id,
                      serr->message);
        nube_forwards_unlock();
    }
    return ids->len;
}
