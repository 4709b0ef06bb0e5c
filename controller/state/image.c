/*
 * image.c: AMI records (see image.h).
 */
#include "image.h"
#include "tags.h"

#include <string.h>

#define IMAGE_COLUMNS                                                                    \
    "id, owner_id, name, description, state, state_reason, architecture, "               \
    "root_device_type, base_sha256, virtual_size, kernel_sha256, ramdisk_sha256, "       \
    "kernel_cmdline, source, recipe_digest, source_instance, parent_image, created_at, " \
    "capture_ms, has_agent"

NubeImage *nube_image_new(void)
{
    return g_new0(NubeImage, 1);
}

void nube_image_free(NubeImage *img)
{
    if (img == NULL)
        return;
    char **strings[] = {
        &img->id,
        &img->owner_id,
        &img->name,
        &img->description,
        &img->state,
        &img->state_reason,
        &img->architecture,
        &img->root_device_type,
        &img->base_sha256,
        &img->kernel_sha256,
        &img->ramdisk_sha256,
        &img->kernel_cmdline,
        &img->source,
        &img->recipe_digest,
        &img->source_instance,
        &img->parent_image,
    };
    for (size_t i = 0; i < G_N_ELEMENTS(strings); i++)
        g_free(*strings[i]);
    if (img->tags != NULL)
        g_ptr_array_unref(img->tags);
    g_free(img);
}

static gpointer image_from_row(sqlite3_stmt *stmt)
{
    NubeImage *img = nube_image_new();
    img->id = nube_db_col_str(stmt, 0);
    img->owner_id = nube_db_col_str(stmt, 1);
    img->name = nube_db_col_str(stmt, 2);
    img->description = nube_db_col_str(stmt, 3);
    img->state = nube_db_col_str(stmt, 4);
    img->state_reason = nube_db_col_str(stmt, 5);
    img->architecture = nube_db_col_str(stmt, 6);
    img->root_device_type = nube_db_col_str(stmt, 7);
    img->base_sha256 = nube_db_col_str(stmt, 8);
    img->virtual_size = sqlite3_column_int64(stmt, 9);
    img->kernel_sha256 = nube_db_col_str(stmt, 10);
    img->ramdisk_sha256 = nube_db_col_str(stmt, 11);
    img->kernel_cmdline = nube_db_col_str(stmt, 12);
    img->source = nube_db_col_str(stmt, 13);
    img->recipe_digest = nube_db_col_str(stmt, 14);
    img->source_instance = nube_db_col_str(stmt, 15);
    img->parent_image = nube_db_col_str(stmt, 16);
    img->created_at = sqlite3_column_int64(stmt, 17);
    img->capture_ms = sqlite3_column_int64(stmt, 18);
    img->has_agent = sqlite3_column_int(stmt, 19) != 0;
    return img;
}

/* Runs SELECT IMAGE_COLUMNS … WHERE_SQL with ARG (may be NULL) and returns
 * the images with their tags, or NULL with ERR. */
static GPtrArray *image_query(NubeDb *db, const char *where_sql, const char *arg, NubeError **err)
{
    g_autofree char *sql = g_strdup_printf("SELECT " IMAGE_COLUMNS " FROM images %s", where_sql);
    nube_db_lock(db);
    g_autoptr(GPtrArray) out = nube_db_select(
        db, err, image_from_row, (GDestroyNotify) nube_image_free, sql, arg ? "s" : "", arg);
    for (guint i = 0; out != NULL && i < out->len; i++) {
        NubeImage *img = out->pdata[i];
        if ((img->tags = nube_tags_get(db, img->id, err)) == NULL)
            g_clear_pointer(&out, g_ptr_array_unref);
    }
    nube_db_unlock(db);
    return g_steal_pointer(&out);
}

static NubeImage *image_query_one(NubeDb *db, const char *where_sql, const char *arg,
                                  NubeError **err)
{
    g_autoptr(GPtrArray) all = image_query(db, where_sql, arg, err);
    if (all == NULL || all->len == 0)
        return NULL;
    return g_ptr_array_steal_index(all, 0);
}

int nube_image_insert(NubeDb *db, const NubeImage *img, NubeError **err)
{
    NubeError *e = NULL;
    nube_db_lock(db);
    int r = nube_db_begin(db, &e);
    if (r == 0)
        r = nube_db_exec(
            db, &e,
            "INSERT INTO images (id, owner_id, name, description, state, "
            "state_reason, architecture, root_device_type, source, "
            "recipe_digest, source_instance, parent_image, created_at, has_agent) "
            "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
            "ssssssssssssii", img->id, img->owner_id, img->name, img->description, img->state,
            img->state_reason, img->architecture ? img->architecture : "x86_64",
            img->root_device_type ? img->root_device_type : "ebs", img->source, img->recipe_digest,
            img->source_instance, img->parent_image, img->created_at, (gint64) img->has_agent);
    if (r == -EEXIST) {
        g_clear_pointer(&e, nube_error_free);
        r = nube_error_setc(&e, EEXIST, "InvalidAMIName.Duplicate",
                            "AMI name '%s' is already in use by an AMI of this account.",
                            img->name);
    }
    if (r >= 0)
        r = nube_tags_set(db, img->id, img->tags, &e);
    if (r >= 0)
        r = nube_db_commit(db, &e);
    else
        nube_db_rollback(db);
    nube_db_unlock(db);
    if (r < 0)
        return nube_error_propagate(err, e);
    return 0;
}

NubeImage *nube_image_get(NubeDb *db, const char *id, NubeError **err)
{
    NubeError *qerr = NULL;
    NubeImage *img = image_query_one(db, "WHERE id = ?1", id, &qerr);
    if (qerr != NULL)
        nube_error_propagate(err, qerr);
    else if (img == NULL)
        nube_error_setc(err, ENOENT, "InvalidAMIID.NotFound", "The image id '[%s]' does not exist",
                        id);
    return img;
}

GPtrArray *nube_image_list(NubeDb *db, NubeError **err)
{
    return image_query(db, "WHERE state != 'deregistered' ORDER BY created_at, id", NULL, err);
}

NubeImage *nube_image_find_recipe(NubeDb *db, const char *recipe_digest,
                                  const char *root_device_type)
{
    g_autoptr(GPtrArray) all = image_query(db,
                                           "WHERE recipe_digest = ?1 AND state IN ('pending', "
                                           "'available') ORDER BY state = 'available' DESC, "
                                           "created_at DESC",
                                           recipe_digest, NULL);
    for (guint i = 0; all != NULL && i < all->len; i++) {
        const NubeImage *img = all->pdata[i];
        if (root_device_type == NULL || g_str_equal(img->root_device_type, root_device_type))
            return g_ptr_array_steal_index(all, i);
    }
    return NULL;
}

int nube_image_set_available(NubeDb *db, const char *id, const char *base_sha256,
                             gint64 virtual_size, const char *kernel_sha256,
                             const char *ramdisk_sha256, const char *cmdline, NubeError **err)
{
    int r = nube_db_exec(
        db, err,
        "UPDATE images SET state = 'available', state_reason = NULL, "
        "base_sha256 = ?2, virtual_size = ?3, kernel_sha256 = ?4, "
        "ramdisk_sha256 = ?5, kernel_cmdline = ?6 WHERE id = ?1 AND state = 'pending'",
        "ssisss", id, base_sha256, virtual_size, kernel_sha256, ramdisk_sha256, cmdline);
    if (r == 0)
        return nube_error_setc(err, ENOENT, "InvalidAMIID.NotFound",
                               "The image '%s' was deregistered while it was being made", id);
    return r < 0 ? r : 0;
}

int nube_image_set_capture_ms(NubeDb *db, const char *id, gint64 ms, NubeError **err)
{
    int r = nube_db_exec(db, err, "UPDATE images SET capture_ms = ?2 WHERE id = ?1", "si", id, ms);
    return r < 0 ? r : 0;
}

int nube_image_set_reason(NubeDb *db, const char *id, const char *reason, NubeError **err)
{
    int r = nube_db_exec(db, err, "UPDATE images SET state_reason = ?2 WHERE id = ?1", "ss", id,
                         reason);
    return r < 0 ? r : 0;
}

int nube_image_set_failed(NubeDb *db, const char *id, const char *reason, NubeError **err)
{
    int r = nube_db_exec(db, err,
                         "UPDATE images SET state = 'failed', state_reason = ?2 "
                         "WHERE id = ?1 AND state = 'pending'",
                         "ss", id, reason);
    return r < 0 ? r : 0;
}

int nube_image_deregister(NubeDb *db, const char *id, NubeError **err)
{
    int r = nube_db_exec(db, err,
                         "UPDATE images SET state = 'deregistered', deregistered_at = ?2 "
                         "WHERE id = ?1 AND state != 'deregistered'",
                         "si", id, g_get_real_time() / G_USEC_PER_SEC);
    if (r == 0)
        return nube_error_setc(err, ENOENT, "InvalidAMIID.NotFound",
                               "The image id '[%s]' does not exist", id);
    return r < 0 ? r : 0;
}

static gboolean exists(NubeDb *db, const char *sql, const char *arg)
{
    nube_db_lock(db);
    _cleanup_stmt_ sqlite3_stmt *stmt = nube_db_prepare(db, sql, NULL);
    gboolean found = TRUE; /* on error, keep the file */
    if (stmt != NULL) {
        nube_db_bind(db, stmt, "s", arg);
        found = nube_db_step(db, stmt, NULL) != 0;
    }
    nube_db_unlock(db);
    return found;
}

gboolean nube_image_base_in_use(NubeDb *db, const char *sha256)
{
    return exists(db,
                  "SELECT 1 FROM images WHERE base_sha256 = ?1 AND state != 'deregistered' "
                  "UNION ALL SELECT 1 FROM instances WHERE base_sha256 = ?1 "
                  "AND state != 'terminated' UNION ALL SELECT 1 FROM volumes "
                  "WHERE base_sha256 = ?1 AND state != 'deleted' LIMIT 1",
                  sha256);
}

gboolean nube_image_blob_in_use(NubeDb *db, const char *sha256)
{
    return exists(db,
                  "SELECT 1 FROM images WHERE (kernel_sha256 = ?1 OR ramdisk_sha256 = ?1) "
                  "AND state != 'deregistered' UNION ALL SELECT 1 FROM instances i "
                  "JOIN images m ON m.id = i.image_id WHERE (m.kernel_sha256 = ?1 OR "
                  "m.ramdisk_sha256 = ?1) AND i.state != 'terminated' LIMIT 1",
                  sha256);
}
