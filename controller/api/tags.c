/*
 * tags.c: CreateTags, DeleteTags and DescribeTags on instances, images,
 * volumes, key pairs and security groups (the kind of each resource comes
 * from its id, see resource.h).  A request changes every resource it names
 * or none.
 */
#include "api.h"
#include "xml.h"
#include "resource.h"
#include "tags.h"

/* ResourceId.N (at least one), each a well-formed id of a taggable kind.
 * NULL with ERR. */
static const char **resource_ids(const NubeApiRequest *req, NubeError **err)
{
    g_autofree const char **ids = nube_query_list(req->q, "ResourceId");
    if (ids[0] == NULL) {
        nube_error_setc(err, EINVAL, "MissingParameter",
                        "The request must contain the parameter ResourceId.N");
        return NULL;
    }
    for (size_t i = 0; ids[i] != NULL; i++)
        if (nube_resource_kind(ids[i]) == NULL) {
            nube_error_setc(err, EINVAL, "InvalidID", "The ID '%s' is not valid", ids[i]);
            return NULL;
        }
    return g_steal_pointer(&ids);
}

/* Tag.N.Key / Tag.N.Value as NubeTag, in N order; *INDICES (if not NULL)
 * gets each one's N (guint) and *HAS_VALUE (if not NULL) whether its Value
 * was given. */
static GPtrArray *request_tags(const NubeApiRequest *req, GArray **indices, GArray **has_value)
{
    g_autoptr(GPtrArray) tags = nube_tags_new();
    g_autoptr(GArray) given = g_array_new(FALSE, FALSE, sizeof(gboolean));
    g_autoptr(GArray) idx = nube_query_indices(req->q, "Tag");
    for (guint i = 0; i < idx->len; i++) {
        guint n = g_array_index(idx, guint, i);
        g_autofree char *kk = g_strdup_printf("Tag.%u.Key", n);
        g_autofree char *vk = g_strdup_printf("Tag.%u.Value", n);
        const char *key = nube_query_get(req->q, kk);
        const char *value = nube_query_get(req->q, vk);
        gboolean has = value != NULL;
        nube_tags_add(tags, key ? key : "", value);
        g_array_append_val(given, has);
    }
    if (indices != NULL)
        *indices = g_steal_pointer(&idx);
    if (has_value != NULL)
        *has_value = g_steal_pointer(&given);
    return g_steal_pointer(&tags);
}

typedef int (*TagChangeFn)(NubeDb *db, const char *id, const GPtrArray *tags,
                           const GArray *has_value, NubeError **err);

/* Checks that every resource of IDS exists and applies FN to each, in one
 * transaction: all change or none. */
static int change_all(NubeDb *db, const char **ids, TagChangeFn fn, const GPtrArray *tags,
                      const GArray *has_value, NubeError **err)
{
    nube_db_lock(db);
    int r = nube_db_begin(db, err);
    for (size_t i = 0; r == 0 && ids[i] != NULL; i++)
        r = nube_resource_check(db, ids[i], NULL, err);
    for (size_t i = 0; r >= 0 && ids[i] != NULL; i++)
        r = fn(db, ids[i], tags, has_value, err);
    if (r >= 0)
        r = nube_db_commit(db, err);
    else
        nube_db_rollback(db);
    nube_db_unlock(db);
    return r < 0 ? r : 0;
}

/* ---- CreateTags ------------------------------------------------------------ */

static int add_tags(NubeDb *db, const char *id, const GPtrArray *tags, const GArray *has_value,
                    NubeError **err)
{
    return nube_tags_add_limited(db, id, tags, err);
}

int nube_api_create_tags(NubeApiRequest *req, xmlNodePtr resp, NubeError **err)
{
    g_autofree const char **ids = resource_ids(req, err);
    if (ids == NULL)
        return -EINVAL;
    g_autoptr(GPtrArray) tags = request_tags(req, NULL, NULL);
    if (tags->len == 0)
        return nube_error_setc(err, EINVAL, "MissingParameter",
                               "The request must contain the parameter Tag.N.Key");
    if (nube_tags_validate(tags, err) < 0)
        return -EINVAL;
    if (change_all(req->cloud->db, ids, add_tags, tags, NULL, err) < 0)
        return -EINVAL;
    nube_xml_add_bool(resp, "return", TRUE);
    return 0;
}

/* ---- DeleteTags ------------------------------------------------------------ */

/* Every Tag.N of TAGS (whose indices are INDICES) names a key that is not
 * reserved. */
static int check_delete_keys(const GPtrArray *tags, const GArray *indices, NubeError **err)
{
    for (guint i = 0; i < tags->len; i++) {
        const NubeTag *t = g_ptr_array_index(tags, i);
        if (t->key[0] == '\0')
            return nube_error_setc(err, EINVAL, "MissingParameter",
                                   "The request must contain the parameter Tag.%u.Key",
                                   g_array_index(indices, guint, i));
        if (g_str_has_prefix(t->key, "aws:"))
            return nube_error_setc(err, EINVAL, "InvalidParameterValue",
                                   "Tag key '%s' uses the reserved prefix 'aws:'.", t->key);
    }
    return 0;
}

static int delete_tags(NubeDb *db, const char *id, const GPtrArray *tags, const GArray *has_value,
                       NubeError **err)
{
    if (tags->len == 0)
        return nube_tags_delete(db, id, NULL, NULL, err);
    for (guint i = 0; i < tags->len; i++) {
        const NubeTag *t = g_ptr_array_index(tags, i);
        gboolean match_value = g_array_index(has_value, gboolean, i);
        int r = nube_tags_delete(db, id, t->key, match_value ? t->value : NULL, err);
        if (r < 0)
            return r;
    }
    return 0;
}

int nube_api_delete_tags(NubeApiRequest *req, xmlNodePtr resp, NubeError **err)
{
    g_autofree const char **ids = resource_ids(req, err);
    if (ids == NULL)
        return -EINVAL;
    g_autoptr(GArray) indices = NULL, has_value = NULL;
    g_autoptr(GPtrArray) tags = request_tags(req, &indices, &has_value);
    if (check_delete_keys(tags, indices, err) < 0)
        return -EINVAL;
    if (change_all(req->cloud->db, ids, delete_tags, tags, has_value, err) < 0)
        return -EINVAL;
    nube_xml_add_bool(resp, "return", TRUE);
    return 0;
}

/* ---- DescribeTags ---------------------------------------------------------- */

static char *field_resource_type(const NubeApiRequest *req, const void *item)
{
    const NubeResourceTag *rt = item;
    const NubeResourceKind *kind = nube_resource_kind(rt->resource_id);
    return g_strdup(kind ? kind->type : NULL);
}

static const NubeApiFilterField tag_filters[] = {
    NUBE_FILTER_MEMBER("key", NubeResourceTag, tag.key),
    NUBE_FILTER_MEMBER("value", NubeResourceTag, tag.value),
    NUBE_FILTER_MEMBER("resource-id", NubeResourceTag, resource_id),
    NUBE_FILTER_FN("resource-type", field_resource_type),
    NUBE_FILTER_END,
};

/* The tag filters (tag:KEY, tag-key, tag-value) see the one tag. */
static int tag_filter(const NubeApiRequest *req, const void *item, const NubeFilter *f,
                      gboolean *match, NubeError **err)
{
    const NubeResourceTag *rt = item;
    g_autoptr(GPtrArray) one = g_ptr_array_new();
    g_ptr_array_add(one, (gpointer) &rt->tag);
    return nube_api_filter_fields(req, tag_filters, rt, one, f, match, err);
}

/* Removes from TAGS (sorted by resource id) those whose resource users no
 * longer see (terminated long ago, deregistered, deleted).  0 or -EIO. */
static int drop_orphans(NubeDb *db, GPtrArray *tags, NubeError **err)
{
    g_autofree char *last = NULL;
    gboolean visible = FALSE;
    for (guint i = 0; i < tags->len;) {
        const NubeResourceTag *rt = tags->pdata[i];
        if (last == NULL || !g_str_equal(last, rt->resource_id)) {
            g_autoptr(NubeError) e = NULL;
            int r = nube_resource_check(db, rt->resource_id, NULL, &e);
            if (r < 0 && r != -EINVAL && r != -ENOENT)
                return nube_error_propagate(err, g_steal_pointer(&e));
            visible = r == 0;
            g_free(last);
            last = g_strdup(rt->resource_id);
        }
        if (visible)
            i++;
        else
            g_ptr_array_remove_index(tags, i);
    }
    return 0;
}

static void render_tag(xmlNodePtr set, const NubeResourceTag *rt)
{
    const NubeResourceKind *kind = nube_resource_kind(rt->resource_id);
    xmlNodePtr item = nube_xml_add(set, "item", NULL);
    nube_xml_add(item, "resourceId", rt->resource_id);
    nube_xml_add(item, "resourceType", kind ? kind->type : NULL);
    nube_xml_add(item, "key", rt->tag.key);
    nube_xml_add(item, "value", rt->tag.value);
}

int nube_api_describe_tags(NubeApiRequest *req, xmlNodePtr resp, NubeError **err)
{
    g_autoptr(GPtrArray) all = nube_tags_list(req->cloud->db, err);
    if (all == NULL || drop_orphans(req->cloud->db, all, err) < 0)
        return -EIO;
    if (nube_api_filter_items(req, all, tag_filter, NULL, err) < 0)
        return -EINVAL;
    guint start = 0, end = 0;
    g_autofree char *next = NULL;
    if (nube_api_page(req, 5, 1000, all->len, &start, &end, &next, err) < 0)
        return -EINVAL;
    xmlNodePtr set = nube_xml_add(resp, "tagSet", NULL);
    for (guint i = start; i < end; i++)
        render_tag(set, all->pdata[i]);
    if (next != NULL)
        nube_xml_add(resp, "nextToken", next);
    return 0;
}
