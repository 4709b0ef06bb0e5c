/*
 * keypair.c: key pair records (see keypair.h).
 */
#include "keypair.h"
#include "tags.h"

#include <string.h>

#define KEYPAIR_COLUMNS "id, owner_id, name, key_type, fingerprint, public_key, created_at"

void nube_keypair_free(NubeKeyPair *kp)
{
    if (kp == NULL)
        return;
    g_free(kp->id);
    g_free(kp->owner_id);
    g_free(kp->name);
    g_free(kp->key_type);
    g_free(kp->fingerprint);
    g_free(kp->public_key);
    if (kp->tags != NULL)
        g_ptr_array_unref(kp->tags);
    g_free(kp);
}

int nube_keypair_name_check(const char *name, NubeError **err)
{
    size_t n = name ? strlen(name) : 0;
    if (n < 1 || n > 255)
        return nube_error_setc(err, EINVAL, "InvalidParameterValue",
                               "The key name must be 1 to 255 ASCII characters long.");
    for (size_t i = 0; i < n; i++)
        if ((guchar) name[i] < 0x20 || (guchar) name[i] > 0x7e)
            return nube_error_setc(err, EINVAL, "InvalidParameterValue",
                                   "The key name '%s' has a character that is not printable "
                                   "ASCII.",
                                   g_utf8_validate(name, -1, NULL) ? name : "(not UTF-8)");
    return 0;
}

static gpointer keypair_from_row(sqlite3_stmt *stmt)
{
    NubeKeyPair *kp = g_new0(NubeKeyPair, 1);
    kp->id = nube_db_col_str(stmt, 0);
    kp->owner_id = nube_db_col_str(stmt, 1);
    kp->name = nube_db_col_str(stmt, 2);
    kp->key_type = nube_db_col_str(stmt, 3);
    kp->fingerprint = nube_db_col_str(stmt, 4);
    kp->public_key = nube_db_col_str(stmt, 5);
    kp->created_at = sqlite3_column_int64(stmt, 6);
    return kp;
}

/* Key pairs of OWNER matching WHERE_SQL (?2 bound to ARG if not NULL),
 * with their tags.  NULL with ERR. */
static GPtrArray *keypair_query(NubeDb *db, const char *owner, const char *where_sql,
                                const char *arg, NubeError **err)
{
    g_autofree char *sql = g_strdup_printf(
        "SELECT " KEYPAIR_COLUMNS " FROM key_pairs WHERE owner_id = ?1 %s ORDER BY name, id",
        where_sql);
    nube_db_lock(db);
    g_autoptr(GPtrArray) out =
        nube_db_select(db, err, keypair_from_row, (GDestroyNotify) nube_keypair_free, sql,
                       arg ? "ss" : "s", owner, arg);
    for (guint i = 0; out != NULL && i < out->len; i++) {
        NubeKeyPair *kp = out->pdata[i];
        if ((kp->tags = nube_tags_get(db, kp->id, err)) == NULL)
            g_clear_pointer(&out, g_ptr_array_unref);
    }
    nube_db_unlock(db);
    return g_steal_pointer(&out);
}

static NubeKeyPair *keypair_one(NubeDb *db, const char *owner, const char *where_sql,
                                const char *arg, const char *what, NubeError **err)
{
    NubeError *qerr = NULL;
    g_autoptr(GPtrArray) all = keypair_query(db, owner, where_sql, arg, &qerr);
    if (all == NULL) {
        nube_error_propagate(err, qerr);
        return NULL;
    }
    if (all->len == 0) {
        nube_error_setc(err, ENOENT, "InvalidKeyPair.NotFound", "The %s '%s' does not exist", what,
                        arg);
        return NULL;
    }
    return g_ptr_array_steal_index(all, 0);
}

int nube_keypair_insert(NubeDb *db, const NubeKeyPair *kp, const GPtrArray *tags, NubeError **err)
{
    NubeError *e = NULL;
    nube_db_lock(db);
    int r = nube_db_begin(db, &e);
    if (r == 0)
        r = nube_db_exec(db, &e,
                         "INSERT INTO key_pairs (" KEYPAIR_COLUMNS
                         ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                         "ssssssi", kp->id, kp->owner_id, kp->name, kp->key_type, kp->fingerprint,
                         kp->public_key, kp->created_at);
    if (r == -EEXIST) {
        g_clear_pointer(&e, nube_error_free);
        r = nube_error_setc(&e, EEXIST, "InvalidKeyPair.Duplicate",
                            "The keypair '%s' already exists.", kp->name);
    }
    if (r >= 0)
        r = nube_tags_set(db, kp->id, tags, &e);
    if (r >= 0)
        r = nube_db_commit(db, &e);
    else
        nube_db_rollback(db);
    nube_db_unlock(db);
    return r < 0 ? nube_error_propagate(err, e) : 0;
}

NubeKeyPair *nube_keypair_by_name(NubeDb *db, const char *owner, const char *name, NubeError **err)
{
    return keypair_one(db, owner, "AND name = ?2", name, "key pair", err);
}

NubeKeyPair *nube_keypair_get(NubeDb *db, const char *owner, const char *id, NubeError **err)
{
    return keypair_one(db, owner, "AND id = ?2", id, "key pair ID", err);
}

GPtrArray *nube_keypair_list(NubeDb *db, const char *owner, NubeError **err)
{
    return keypair_query(db, owner, "", NULL, err);
}

int nube_keypair_delete(NubeDb *db, const char *id, NubeError **err)
{
    nube_db_lock(db);
    int r = nube_db_begin(db, err);
    if (r == 0)
        r = nube_db_exec(db, err, "DELETE FROM tags WHERE resource_id = ?1", "s", id);
    if (r >= 0)
        r = nube_db_exec(db, err, "DELETE FROM key_pairs WHERE id = ?1", "s", id);
    if (r >= 0)
        r = nube_db_commit(db, err);
    else
        nube_db_rollback(db);
    nube_db_unlock(db);
    return r < 0 ? r : 0;
}

char *nube_keypair_public_line(const NubeKeyPair *kp)
{
    return g_strdup_printf("%s %s", kp->public_key, kp->name);
}
