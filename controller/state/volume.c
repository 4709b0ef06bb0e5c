/*
 * volume.c: volume records (see volume.h).
 */
#include "volume.h"
#include "tags.h"

#define VOLUME_COLUMNS                                                             \
    "id, owner_id, instance_id, base_sha256, size, state, delete_on_termination, " \
    "created_at, attached_at"

void nube_volume_free(NubeVolume *vol)
{
    if (vol == NULL)
        return;
    g_free(vol->id);
    g_free(vol->owner_id);
    g_free(vol->instance_id);
    g_free(vol->base_sha256);
    g_free(vol->state);
    if (vol->tags != NULL)
        g_ptr_array_unref(vol->tags);
    g_free(vol);
}

static gpointer volume_from_row(sqlite3_stmt *stmt)
{
    NubeVolume *vol = g_new0(NubeVolume, 1);
    vol->id = nube_db_col_str(stmt, 0);
    vol->owner_id = nube_db_col_str(stmt, 1);
    vol->instance_id = nube_db_col_str(stmt, 2);
    vol->base_sha256 = nube_db_col_str(stmt, 3);
    vol->size = sqlite3_column_int64(stmt, 4);
    vol->state = nube_db_col_str(stmt, 5);
    vol->delete_on_termination = sqlite3_column_int(stmt, 6) != 0;
    vol->created_at = sqlite3_column_int64(stmt, 7);
    vol->attached_at = sqlite3_column_int64(stmt, 8);
    return vol;
}

static GPtrArray *volume_query(NubeDb *db, const char *where_sql, const char *arg, NubeError **err)
{
    g_autofree char *sql = g_strdup_printf("SELECT " VOLUME_COLUMNS " FROM volumes %s", where_sql);
    nube_db_lock(db);
    g_autoptr(GPtrArray) out = nube_db_select(
        db, err, volume_from_row, (GDestroyNotify) nube_volume_free, sql, arg ? "s" : "", arg);
    for (guint i = 0; out != NULL && i < out->len; i++) {
        NubeVolume *vol = out->pdata[i];
        if ((vol->tags = nube_tags_get(db, vol->id, err)) == NULL)
            g_clear_pointer(&out, g_ptr_array_unref);
    }
    nube_db_unlock(db);
    return g_steal_pointer(&out);
}

int nube_volume_insert(NubeDb *db, const NubeVolume *v, NubeError **err)
{
    int r =
        nube_db_exec(db, err,
                     "INSERT INTO volumes (" VOLUME_COLUMNS ") VALUES "
                     "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                     "ssssisiii", v->id, v->owner_id, v->instance_id, v->base_sha256, v->size,
                     v->state, (gint64) v->delete_on_termination, v->created_at, v->attached_at);
    return r < 0 ? r : 0;
}

NubeVolume *nube_volume_get(NubeDb *db, const char *id, NubeError **err)
{
    NubeError *qerr = NULL;
    g_autoptr(GPtrArray) all = volume_query(db, "WHERE id = ?1 AND state != 'deleted'", id, &qerr);
    if (all == NULL) {
        nube_error_propagate(err, qerr);
        return NULL;
    }
    if (all->len == 0) {
        nube_error_setc(err, ENOENT, "InvalidVolume.NotFound", "The volume '%s' does not exist.",
                        id);
        return NULL;
    }
    return g_ptr_array_steal_index(all, 0);
}

NubeVolume *nube_volume_of_instance(NubeDb *db, const char *instance_id)
{
    g_autoptr(GPtrArray) all =
        volume_query(db, "WHERE instance_id = ?1 AND state = 'in-use'", instance_id, NULL);
    if (all == NULL || all->len == 0)
        return NULL;
    return g_ptr_array_steal_index(all, 0);
}

GPtrArray *nube_volume_list(NubeDb *db, NubeError **err)
{
    return volume_query(db, "WHERE state != 'deleted' ORDER BY created_at, id", NULL, err);
}

int nube_volume_detach(NubeDb *db, const char *id, NubeError **err)
{
    int r = nube_db_exec(db, err,
                         "UPDATE volumes SET state = 'available', instance_id = NULL, "
                         "attached_at = NULL WHERE id = ?1",
                         "s", id);
    return r < 0 ? r : 0;
}

int nube_volume_mark_deleted(NubeDb *db, const char *id, NubeError **err)
{
    int r =
        nube_db_exec(db, err, "UPDATE volumes SET state = 'deleted', deleted_at = ?2 WHERE id = ?1",
                     "si", id, g_get_real_time() / G_USEC_PER_SEC);
    return r < 0 ? r : 0;
}

char *nube_volume_path(const char *state_dir, const char *id)
{
    g_autofree char *name = g_strconcat(id, ".qcow2", NULL);
    return g_build_filename(state_dir, "volumes", name, NULL);
}
