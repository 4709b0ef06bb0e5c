/*
 * tags.c: EC2 tags (see tags.h).
 */
#include "tags.h"

#include <string.h>

void nube_tag_free(NubeTag *tag)
{
    if (tag == NULL)
        return;
    g_free(tag->key);
    g_free(tag->value);
    g_free(tag);
}

GPtrArray *nube_tags_new(void)
{
    return g_ptr_array_new_with_free_func((GDestroyNotify) nube_tag_free);
}

void nube_tags_add(GPtrArray *tags, const char *key, const char *value)
{
    NubeTag *t = g_new0(NubeTag, 1);
    t->key = g_strdup(key);
    t->value = g_strdup(value ? value : "");
    g_ptr_array_add(tags, t);
}

const char *nube_tags_lookup(const GPtrArray *tags, const char *key)
{
    for (guint i = 0; tags != NULL && i < tags->len; i++) {
        const NubeTag *t = g_ptr_array_index(tags, i);
        if (g_str_equal(t->key, key))
            return t->value;
    }
    return NULL;
}

int nube_tags_validate(const GPtrArray *tags, NubeError **err)
{
    if (tags->len > NUBE_TAGS_MAX)
        return nube_error_setc(err, EINVAL, "TagLimitExceeded",
                               "The maximum number of tags per resource is %d (got %u).",
                               NUBE_TAGS_MAX, tags->len);
    for (guint i = 0; i < tags->len; i++) {
        const NubeTag *t = g_ptr_array_index(tags, i);
        glong klen = g_utf8_strlen(t->key, -1);
        if (!g_utf8_validate(t->key, -1, NULL) || !g_utf8_validate(t->value, -1, NULL))
            return nube_error_setc(err, EINVAL, "InvalidParameterValue",
                                   "Tag keys and values must be UTF-8.");
        if (klen < 1 || klen > NUBE_TAG_KEY_MAX)
            return nube_error_setc(err, EINVAL, "InvalidParameterValue",
                                   "Tag key '%s' must be 1 to %d characters long.", t->key,
                                   NUBE_TAG_KEY_MAX);
        if (g_str_has_prefix(t->key, "aws:"))
            return nube_error_setc(err, EINVAL, "InvalidParameterValue",
                                   "Tag key '%s' uses the reserved prefix 'aws:'.", t->key);
        if (g_utf8_strlen(t->value, -1) > NUBE_TAG_VALUE_MAX)
            return nube_error_setc(err, EINVAL, "InvalidParameterValue",
                                   "The value of tag '%s' is longer than %d characters.", t->key,
                                   NUBE_TAG_VALUE_MAX);
        for (guint j = 0; j < i; j++)
            if (g_str_equal(((NubeTag *) g_ptr_array_index(tags, j))->key, t->key))
                return nube_error_setc(err, EINVAL, "InvalidParameterValue",
                                       "Duplicate tag key '%s'.", t->key);
    }
    return 0;
}

int nube_tags_set(NubeDb *db, const char *resource_id, const GPtrArray *tags, NubeError **err)
{
    for (guint i = 0; tags != NULL && i < tags->len; i++) {
        const NubeTag *t = g_ptr_array_index(tags, i);
        int r = nube_db_exec(db, err,
                             "INSERT OR REPLACE INTO tags (resource_id, key, value) "
                             "VALUES (?1, ?2, ?3)",
                             "sss", resource_id, t->key, t->value);
        if (r < 0)
            return r;
    }
    return 0;
}

int nube_tags_add_limited(NubeDb *db, const char *resource_id, const GPtrArray *tags,
                          NubeError **err)
{
    g_autoptr(GPtrArray) have = nube_tags_get(db, resource_id, err);
    if (have == NULL)
        return -EIO;
    guint total = have->len;
    for (guint i = 0; i < tags->len; i++)
        if (nube_tags_lookup(have, ((const NubeTag *) g_ptr_array_index(tags, i))->key) == NULL)
            total++;
    if (total > NUBE_TAGS_MAX)
        return nube_error_setc(err, EINVAL, "TagLimitExceeded",
                               "The maximum number of tags per resource is %d: '%s' would have %u.",
                               NUBE_TAGS_MAX, resource_id, total);
    return nube_tags_set(db, resource_id, tags, err);
}

GPtrArray *nube_tags_get(NubeDb *db, const char *resource_id, NubeError **err)
{
    g_autoptr(GPtrArray) tags = nube_tags_new();
    nube_db_lock(db);
    _cleanup_stmt_ sqlite3_stmt *stmt =
        nube_db_prepare(db, "SELECT key, value FROM tags WHERE resource_id = ?1 ORDER BY key", err);
    int r = stmt ? 0 : -EIO;
    if (stmt != NULL)
        nube_db_bind(db, stmt, "s", resource_id);
    while (r == 0 && (r = nube_db_step(db, stmt, err)) == 1) {
        NubeTag *t = g_new0(NubeTag, 1);
        t->key = nube_db_col_str(stmt, 0);
        t->value = nube_db_col_str(stmt, 1);
        g_ptr_array_add(tags, t);
        r = 0;
    }
    nube_db_unlock(db);
    return r < 0 ? NULL : g_steal_pointer(&tags);
}

void nube_resource_tag_free(NubeResourceTag *tag)
{
    if (tag == NULL)
        return;
    g_free(tag->resource_id);
    g_free(tag->tag.key);
    g_free(tag->tag.value);
    g_free(tag);
}

static gpointer resource_tag_from_row(sqlite3_stmt *stmt)
{
    NubeResourceTag *t = g_new0(NubeResourceTag, 1);
    t->resource_id = nube_db_col_str(stmt, 0);
    t->tag.key = nube_db_col_str(stmt, 1);
    t->tag.value = nube_db_col_str(stmt, 2);
    return t;
}

GPtrArray *nube_tags_list(NubeDb *db, NubeError **err)
{
    return nube_db_select(db, err, resource_tag_from_row, (GDestroyNotify) nube_resource_tag_free,
                          "SELECT resource_id, key, value FROM tags ORDER BY resource_id, key", "");
}

int nube_tags_delete(NubeDb *db, const char *resource_id, const char *key, const char *value,
                     NubeError **err)
{
    return nube_db_exec(db, err,
                        "DELETE FROM tags WHERE resource_id = ?1 AND (?2 IS NULL OR key = ?2) "
                        "AND (?3 IS NULL OR value = ?3)",
                        "sss", resource_id, key, value);
}
