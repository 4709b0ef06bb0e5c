/*
 * instance.c: instance records and state transitions (see instance.h).
 */
#include "instance.h"
#include "secgroup.h"
#include "tags.h"
#include "volume.h"

#include <string.h>

#define INSTANCE_COLUMNS                                                           \
    "id, reservation_id, owner_id, image_id, instance_type, launch_index, state, " \
    "state_reason, state_changed_at, root_device_type, base_sha256, user_data, "   \
    "mac, private_ip, hostname, vcpus, memory_mib, accelerator, launch_time, "     \
    "terminated_at, key_name, public_key, metadata_http_tokens, "                  \
    "metadata_http_endpoint, metadata_hop_limit, nocloud_seed"
/* What is read: the columns, whether the image has the agent and the
 * reservation's client token. */
#define INSTANCE_SELECT                                                                        \
    INSTANCE_COLUMNS ", (SELECT has_agent FROM images WHERE images.id = instances.image_id), " \
                     "(SELECT token FROM client_tokens "                                       \
                     "WHERE client_tokens.reservation_id = instances.reservation_id)"

/* The one table of states: EC2's names (also the database's) and codes. */
static const struct {
    const char *name;
    int code;
} states[] = {
    [NUBE_INSTANCE_PENDING] = { "pending", 0 },
    [NUBE_INSTANCE_RUNNING] = { "running", 16 },
    [NUBE_INSTANCE_SHUTTING_DOWN] = { "shutting-down", 32 },
    [NUBE_INSTANCE_TERMINATED] = { "terminated", 48 },
    [NUBE_INSTANCE_STOPPING] = { "stopping", 64 },
    [NUBE_INSTANCE_STOPPED] = { "stopped", 80 },
};

const char *nube_instance_state_name(NubeInstanceState state)
{
    return (guint) state < G_N_ELEMENTS(states) ? states[state].name : NULL;
}

int nube_instance_state_code(NubeInstanceState state)
{
    return (guint) state < G_N_ELEMENTS(states) ? states[state].code : -1;
}

int nube_instance_state_parse(const char *name, NubeInstanceState *state)
{
    for (guint i = 0; name != NULL && i < G_N_ELEMENTS(states); i++) {
        if (g_str_equal(states[i].name, name)) {
            *state = (NubeInstanceState) i;
            return 0;
        }
    }
    return -EINVAL;
}

/* STATES as a list of SQL strings: 'pending', 'running' (new string). */
static char *sql_states(NubeInstanceStates set)
{
    GString *sql = g_string_new(NULL);
    for (guint i = 0; i < G_N_ELEMENTS(states); i++)
        if (nube_instance_state_in((NubeInstanceState) i, set))
            g_string_append_printf(sql, "%s'%s'", sql->len > 0 ? ", " : "", states[i].name);
    return g_string_free(sql, FALSE);
}

NubeInstance *nube_instance_new(void)
{
    return g_new0(NubeInstance, 1);
}

void nube_instance_free(NubeInstance *inst)
{
    if (inst == NULL)
        return;
    char **strings[] = {
        &inst->id,
        &inst->reservation_id,
        &inst->owner_id,
        &inst->image_id,
        &inst->instance_type,
        &inst->state_reason,
        &inst->root_device_type,
        &inst->base_sha256,
        &inst->mac,
        &inst->private_ip,
        &inst->hostname,
        &inst->accelerator,
        &inst->key_name,
        &inst->public_key,
        &inst->metadata_http_tokens,
        &inst->metadata_http_endpoint,
        &inst->client_token,
    };
    for (size_t i = 0; i < G_N_ELEMENTS(strings); i++)
        g_free(*strings[i]);
    if (inst->user_data != NULL)
        g_bytes_unref(inst->user_data);
    if (inst->tags != NULL)
        g_ptr_array_unref(inst->tags);
    if (inst->forwards != NULL)
        g_array_unref(inst->forwards);
    if (inst->extra_ports != NULL)
        g_array_unref(inst->extra_ports);
    if (inst->groups != NULL)
        g_ptr_array_unref(inst->groups);
    g_free(inst->root_volume_id);
    nube_agent_status_free(inst->agent);
    g_free(inst);
}

static gpointer instance_from_row(sqlite3_stmt *stmt)
{
    NubeInstance *inst = nube_instance_new();
    inst->id = nube_db_col_str(stmt, 0);
    inst->reservation_id = nube_db_col_str(stmt, 1);
    inst->owner_id = nube_db_col_str(stmt, 2);
    inst->image_id = nube_db_col_str(stmt, 3);
    inst->instance_type = nube_db_col_str(stmt, 4);
    inst->launch_index = sqlite3_column_int64(stmt, 5);
    /* The schema's CHECK admits only the table's names: the fallback, an
     * instance left alone, is never taken. */
    inst->state = NUBE_INSTANCE_TERMINATED;
    nube_instance_state_parse((const char *) sqlite3_column_text(stmt, 6), &inst->state);
    inst->state_reason = nube_db_col_str(stmt, 7);
    inst->state_changed_at = sqlite3_column_int64(stmt, 8);
    inst->root_device_type = nube_db_col_str(stmt, 9);
    inst->base_sha256 = nube_db_col_str(stmt, 10);
    if (sqlite3_column_type(stmt, 11) != SQLITE_NULL)
        inst->user_data =
            g_bytes_new(sqlite3_column_blob(stmt, 11), sqlite3_column_bytes(stmt, 11));
    inst->mac = nube_db_col_str(stmt, 12);
    inst->private_ip = nube_db_col_str(stmt, 13);
    inst->hostname = nube_db_col_str(stmt, 14);
    inst->vcpus = sqlite3_column_int64(stmt, 15);
    inst->memory_mib = sqlite3_column_int64(stmt, 16);
    inst->accelerator = nube_db_col_str(stmt, 17);
    inst->launch_time = sqlite3_column_int64(stmt, 18);
    inst->terminated_at = sqlite3_column_int64(stmt, 19);
    inst->key_name = nube_db_col_str(stmt, 20);
    inst->public_key = nube_db_col_str(stmt, 21);
    inst->metadata_http_tokens = nube_db_col_str(stmt, 22);
    inst->metadata_http_endpoint = nube_db_col_str(stmt, 23);
    inst->metadata_hop_limit = sqlite3_column_int64(stmt, 24);
    inst->no_seed = sqlite3_column_int(stmt, 25) == 0;
    inst->has_agent = sqlite3_column_int(stmt, 26) != 0;
    inst->client_token = nube_db_col_str(stmt, 27);
    return inst;
}

/* The forwards of INST and which of them NubeForwardPort asked for. */
static int forwards_get(NubeDb *db, NubeInstance *inst, NubeError **err)
{
    inst->forwards = g_array_new(FALSE, TRUE, sizeof(NubePortForward));
    inst->extra_ports = g_array_new(FALSE, FALSE, sizeof(guint16));
    _cleanup_stmt_ sqlite3_stmt *stmt =
        nube_db_prepare(db,
                        "SELECT guest_port, host_port, origin = 'extra' FROM forwards "
                        "WHERE instance_id = ?1 ORDER BY guest_port",
                        err);
    int r = stmt ? 0 : -EIO;
    if (stmt != NULL)
        nube_db_bind(db, stmt, "s", inst->id);
    while (r == 0 && (r = nube_db_step(db, stmt, err)) == 1) {
        NubePortForward f = { .guest_port = (guint16) sqlite3_column_int(stmt, 0),
                              .host_port = (guint16) sqlite3_column_int(stmt, 1) };
        g_array_append_val(inst->forwards, f);
        if (sqlite3_column_int(stmt, 2) != 0)
            g_array_append_val(inst->extra_ports, f.guest_port);
        r = 0;
    }
    return r;
}

/* Tags, forwards, groups and root volume of INST.  0 or -EIO with ERR. */
static int instance_complete(NubeDb *db, NubeInstance *inst, NubeError **err)
{
    inst->tags = nube_tags_get(db, inst->id, err);
    if (inst->tags == NULL || forwards_get(db, inst, err) < 0 ||
        (inst->groups = nube_secgroup_of_instance(db, inst->id, err)) == NULL)
        return -EIO;
    g_autoptr(NubeVolume) vol = nube_volume_of_instance(db, inst->id);
    if (vol != NULL) {
        inst->root_volume_id = g_strdup(vol->id);
        inst->root_delete_on_termination = vol->delete_on_termination;
    }
    inst->agent = nube_agent_status_get(db, inst->id);
    return 0;
}

/* SELECT INSTANCE_COLUMNS … WHERE_SQL with ARG bound if not NULL, else
 * IARG.  The instances, complete, or NULL with ERR. */
static GPtrArray *instance_query(NubeDb *db, const char *where_sql, const char *arg, gint64 iarg,
                                 NubeError **err)
{
    g_autofree char *sql =
        g_strdup_printf("SELECT " INSTANCE_SELECT " FROM instances %s", where_sql);
    nube_db_lock(db);
    g_autoptr(GPtrArray) out =
        arg ? nube_db_select(db, err, instance_from_row, (GDestroyNotify) nube_instance_free, sql,
                             "s", arg)
            : nube_db_select(db, err, instance_from_row, (GDestroyNotify) nube_instance_free, sql,
                             "i", iarg);
    for (guint i = 0; out != NULL && i < out->len; i++)
        if (instance_complete(db, out->pdata[i], err) < 0)
            g_clear_pointer(&out, g_ptr_array_unref);
    nube_db_unlock(db);
    return g_steal_pointer(&out);
}

static gboolean is_extra(const NubeInstance *i, guint16 guest_port)
{
    for (guint k = 0; i->extra_ports != NULL && k < i->extra_ports->len; k++)
        if (g_array_index(i->extra_ports, guint16, k) == guest_port)
            return TRUE;
    return FALSE;
}

static int insert_forwards(NubeDb *db, const NubeInstance *i, NubeError **err)
{
    int r = 0;
    for (guint k = 0; r >= 0 && i->forwards != NULL && k < i->forwards->len; k++) {
        const NubePortForward *f = &g_array_index(i->forwards, NubePortForward, k);
        r = nube_db_exec(db, err,
                         "INSERT INTO forwards (instance_id, guest_port, host_port, origin) "
                         "VALUES (?1, ?2, ?3, ?4)",
                         "siis", i->id, (gint64) f->guest_port, (gint64) f->host_port,
                         is_extra(i, f->guest_port) ? "extra" : "group");
    }
    return r;
}

static int insert_groups(NubeDb *db, const NubeInstance *i, NubeError **err)
{
    int r = 0;
    for (guint k = 0; r >= 0 && i->groups != NULL && k < i->groups->len; k++) {
        const NubeSecGroup *g = g_ptr_array_index(i->groups, k);
        r = nube_db_exec(db, err,
                         "INSERT INTO instance_groups (instance_id, group_id, position) "
                         "VALUES (?1, ?2, ?3)",
                         "ssi", i->id, g->id, (gint64) k);
    }
    return r;
}

int nube_instance_insert(NubeDb *db, const NubeInstance *i, NubeError **err)
{
    int r = nube_db_exec(db, err,
                         "INSERT INTO instances (" INSTANCE_COLUMNS
                         ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, "
                         "?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, COALESCE(?23, 'optional'), "
                         "COALESCE(?24, 'enabled'), MAX(?25, 1), ?26)",
                         "sssssississbsssiisiissssii", i->id, i->reservation_id, i->owner_id,
                         i->image_id, i->instance_type, i->launch_index,
                         nube_instance_state_name(i->state), i->state_reason, i->state_changed_at,
                         i->root_device_type, i->base_sha256, i->user_data, i->mac, i->private_ip,
                         i->hostname, i->vcpus, i->memory_mib, i->accelerator, i->launch_time,
                         i->terminated_at, i->key_name, i->public_key, i->metadata_http_tokens,
                         i->metadata_http_endpoint, i->metadata_hop_limit, (gint64) !i->no_seed);
    if (r < 0 || (r = insert_forwards(db, i, err)) < 0 || (r = insert_groups(db, i, err)) < 0)
        return r;
    return nube_tags_set(db, i->id, i->tags, err);
}

NubeInstance *nube_instance_get(NubeDb *db, const char *id, NubeError **err)
{
    NubeError *qerr = NULL;
    g_autoptr(GPtrArray) all = instance_query(db, "WHERE id = ?1", id, 0, &qerr);
    if (all == NULL) {
        nube_error_propagate(err, qerr);
        return NULL;
    }
    if (all->len == 0) {
        nube_error_setc(err, ENOENT, "InvalidInstanceID.NotFound",
                        "The instance ID '%s' does not exist", id);
        return NULL;
    }
    return g_ptr_array_steal_index(all, 0);
}

GPtrArray *nube_instance_list_reservation(NubeDb *db, const char *reservation_id, NubeError **err)
{
    return instance_query(db, "WHERE reservation_id = ?1 ORDER BY launch_index, id", reservation_id,
                          0, err);
}

GPtrArray *nube_instance_list(NubeDb *db, gint64 terminated_since, NubeError **err)
{
    return instance_query(db,
                          "WHERE state != 'terminated' OR terminated_at >= ?1 "
                          "ORDER BY launch_time, launch_index, id",
                          NULL, terminated_since, err);
}

int nube_instance_transition(NubeDb *db, const char *id, NubeInstanceStates from,
                             NubeInstanceState to, const char *reason, NubeInstanceState *prev,
                             NubeError **err)
{
    nube_db_lock(db);
    g_autoptr(NubeInstance) inst = nube_instance_get(db, id, err);
    int r = inst ? 0 : -ENOENT;
    if (r == 0 && !nube_instance_state_in(inst->state, from))
        r = nube_error_setc(err, EBUSY, "IncorrectInstanceState",
                            "The instance '%s' is not in a state from which it can be "
                            "moved to '%s' (it is '%s').",
                            id, nube_instance_state_name(to),
                            nube_instance_state_name(inst->state));
    gint64 now = g_get_real_time() / G_USEC_PER_SEC;
    if (r == 0)
        r = nube_db_exec(db, err,
                         "UPDATE instances SET state = ?2, state_reason = ?3, "
                         "state_changed_at = ?4, terminated_at = CASE WHEN ?5 "
                         "THEN ?4 ELSE terminated_at END WHERE id = ?1",
                         "sssii", id, nube_instance_state_name(to), reason, now,
                         (gint64) (to == NUBE_INSTANCE_TERMINATED));
    if (r >= 0 && prev != NULL)
        *prev = inst->state;
    nube_db_unlock(db);
    return r < 0 ? r : 0;
}

GArray *nube_instance_ports_in_use(NubeDb *db, NubeError **err)
{
    g_autoptr(GArray) ports = g_array_new(FALSE, FALSE, sizeof(guint16));
    nube_db_lock(db);
    _cleanup_stmt_ sqlite3_stmt *stmt =
        nube_db_prepare(db,
                        "SELECT f.host_port FROM forwards f JOIN instances i "
                        "ON i.id = f.instance_id WHERE i.state != 'terminated'",
                        err);
    int r = stmt ? 0 : -EIO;
    while (r == 0 && (r = nube_db_step(db, stmt, err)) == 1) {
        guint16 p = (guint16) sqlite3_column_int(stmt, 0);
        g_array_append_val(ports, p);
        r = 0;
    }
    nube_db_unlock(db);
    return r < 0 ? NULL : g_steal_pointer(&ports);
}

/* The error for an update of ID refused because it is not stopped (or
 * does not exist).  Returns -errno. */
static int not_stopped(NubeDb *db, const char *id, NubeError **err)
{
    g_autoptr(NubeInstance) inst = nube_instance_get(db, id, err);
    if (inst == NULL)
        return -ENOENT;
    return nube_error_setc(err, EBUSY, "IncorrectInstanceState",
                           "The instance '%s' is not in the 'stopped' state (it is '%s').", id,
                           nube_instance_state_name(inst->state));
}

int nube_instance_set_type(NubeDb *db, const char *id, const char *type, gint64 vcpus,
                           gint64 memory_mib, NubeError **err)
{
    nube_db_lock(db);
    int r = nube_db_exec(db, err,
                         "UPDATE instances SET instance_type = ?2, vcpus = ?3, memory_mib = ?4 "
                         "WHERE id = ?1 AND state = 'stopped'",
                         "ssii", id, type, vcpus, memory_mib);
    if (r == 0)
        r = not_stopped(db, id, err);
    nube_db_unlock(db);
    return r < 0 ? r : 0;
}

int nube_instance_set_user_data(NubeDb *db, const char *id, GBytes *user_data, NubeError **err)
{
    GBytes *ud = user_data != NULL && g_bytes_get_size(user_data) > 0 ? user_data : NULL;
    nube_db_lock(db);
    int r = nube_db_exec(db, err,
                         "UPDATE instances SET user_data = ?2 WHERE id = ?1 AND state = 'stopped'",
                         "sb", id, ud);
    if (r == 0)
        r = not_stopped(db, id, err);
    nube_db_unlock(db);
    return r < 0 ? r : 0;
}

int nube_instance_set_metadata_options(NubeDb *db, const char *id, const char *tokens,
                                       const char *endpoint, gint64 hop_limit, NubeError **err)
{
    int r =
        nube_db_exec(db, err,
                     "UPDATE instances SET "
                     "metadata_http_tokens = COALESCE(?2, metadata_http_tokens), "
                     "metadata_http_endpoint = COALESCE(?3, metadata_http_endpoint), "
                     "metadata_hop_limit = CASE WHEN ?4 > 0 THEN ?4 ELSE metadata_hop_limit END "
                     "WHERE id = ?1 AND state != 'terminated'",
                     "sssi", id, tokens, endpoint, hop_limit);
    if (r == 0)
        return nube_error_setc(err, ENOENT, "InvalidInstanceID.NotFound",
                               "The instance ID '%s' does not exist", id);
    return r < 0 ? r : 0;
}

static gpointer id_from_row(sqlite3_stmt *stmt)
{
    return nube_db_col_str(stmt, 0);
}

GPtrArray *nube_instance_live_ids(NubeDb *db, NubeError **err)
{
    g_autofree char *live = sql_states(NUBE_INSTANCE_LIVE);
    g_autofree char *sql = g_strdup_printf("SELECT id FROM instances WHERE state IN (%s)", live);
    nube_db_lock(db);
    GPtrArray *ids = nube_db_select(db, err, id_from_row, g_free, sql, "");
    nube_db_unlock(db);
    return ids;
}
