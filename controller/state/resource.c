/*
 * resource.c: resource kinds by id prefix (see resource.h).
 */
#include "fsutil.h"
#include "instance.h"
#include "resource.h"

#include <string.h>

#define STR(x)  #x
#define XSTR(x) STR(x)

static const NubeResourceKind kinds[] = {
    [NUBE_RESOURCE_INSTANCE] = { "i", "instance", "instances",
                                 "state != 'terminated' OR terminated_at >= CAST(strftime('%s', "
                                 "'now') AS INTEGER) - " XSTR(NUBE_TERMINATED_VISIBLE),
                                 "InvalidInstanceID.NotFound", "InvalidInstanceID.Malformed",
                                 NULL },
    [NUBE_RESOURCE_IMAGE] = { "ami", "image", "images", "state != 'deregistered'",
                              "InvalidAMIID.NotFound", "InvalidAMIID.Malformed", NULL },
    [NUBE_RESOURCE_VOLUME] = { "vol", "volume", "volumes", "state != 'deleted'",
                               "InvalidVolume.NotFound", "InvalidVolumeID.Malformed", NULL },
    [NUBE_RESOURCE_KEY_PAIR] = { "key", "key-pair", "key_pairs", "1", "InvalidKeyPair.NotFound",
                                 NULL, NULL },
    [NUBE_RESOURCE_SECURITY_GROUP] = { "sg", "security-group", "security_groups", "1",
                                       "InvalidGroup.NotFound", "InvalidGroupId.Malformed",
                                       " (expecting \"sg-...\")" },
};

const NubeResourceKind *nube_resource_kind(const char *id)
{
    for (size_t i = 0; id != NULL && i < G_N_ELEMENTS(kinds); i++)
        if (nube_id_valid(id, kinds[i].prefix))
            return &kinds[i];
    return NULL;
}

int nube_resource_id_check(NubeResourceKindId kind, const char *id, NubeError **err)
{
    const NubeResourceKind *k = &kinds[kind];
    if (nube_id_valid(id, k->prefix))
        return 0;
    return nube_error_setc(err, EINVAL, k->malformed ? k->malformed : "InvalidID",
                           "Invalid id: \"%s\"%s", id, k->malformed_hint ? k->malformed_hint : "");
}

const NubeResourceKind *nube_resource_kind_by_type(const char *type)
{
    for (size_t i = 0; type != NULL && i < G_N_ELEMENTS(kinds); i++)
        if (g_str_equal(kinds[i].type, type))
            return &kinds[i];
    return NULL;
}

/* 1 if the table NAME exists, 0 if not, -EIO with ERR. */
static int table_exists(NubeDb *db, const char *name, NubeError **err)
{
    nube_db_lock(db);
    _cleanup_stmt_ sqlite3_stmt *stmt =
        nube_db_prepare(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1", err);
    int r = stmt ? 0 : -EIO;
    if (stmt != NULL)
        nube_db_bind(db, stmt, "s", name);
    if (r == 0)
        r = nube_db_step(db, stmt, err);
    nube_db_unlock(db);
    return r;
}

/* 1 if the row ID of KIND's table is live, 0 if not, -EIO with ERR. */
static int row_live(NubeDb *db, const NubeResourceKind *kind, const char *id, NubeError **err)
{
    g_autofree char *sql =
        g_strdup_printf("SELECT 1 FROM %s WHERE id = ?1 AND (%s)", kind->table, kind->live_sql);
    nube_db_lock(db);
    _cleanup_stmt_ sqlite3_stmt *stmt = nube_db_prepare(db, sql, err);
    int r = stmt ? 0 : -EIO;
    if (stmt != NULL)
        nube_db_bind(db, stmt, "s", id);
    if (r == 0)
        r = nube_db_step(db, stmt, err);
    nube_db_unlock(db);
    return r;
}

int nube_resource_check(NubeDb *db, const char *id, const NubeResourceKind **kind, NubeError **err)
{
    const NubeResourceKind *k = nube_resource_kind(id);
    if (k == NULL)
        return nube_error_setc(err, EINVAL, "InvalidID", "The ID '%s' is not valid", id);
    int r = table_exists(db, k->table, err);
    if (r > 0)
        r = row_live(db, k, id, err);
    if (r < 0)
        return r;
    if (r == 0)
        return nube_error_setc(err, ENOENT, k->not_found, "The %s ID '%s' does not exist", k->type,
                               id);
    if (kind != NULL)
        *kind = k;
    return 0;
}
