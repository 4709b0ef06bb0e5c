/*
 * filter.c: Describe actions' Filter.N: values with EC2's wildcards, the tag
 * filters every action has, and tables of NubeApiFilterField (see api.h).
 */
#include "api.h"
#include "tags.h"

#include <string.h>

gboolean nube_api_filter_values_match(const NubeFilter *f, const char *value)
{
    for (size_t i = 0; value != NULL && f->values[i] != NULL; i++)
        if (g_pattern_match_simple(f->values[i], value))
            return TRUE;
    return FALSE;
}

int nube_api_filter_unknown(const NubeFilter *f, NubeError **err)
{
    return nube_error_setc(err, EINVAL, "InvalidParameterValue", "The filter '%s' is invalid",
                           f->name);
}

gboolean nube_api_filter_tags(const NubeFilter *f, const GPtrArray *tags, gboolean *match)
{
    gboolean by_key = g_str_equal(f->name, "tag-key");
    if (g_str_has_prefix(f->name, "tag:")) {
        *match = nube_api_filter_values_match(f, nube_tags_lookup(tags, f->name + 4));
        return TRUE;
    }
    if (!by_key && !g_str_equal(f->name, "tag-value"))
        return FALSE;
    *match = FALSE;
    for (guint i = 0; tags != NULL && i < tags->len && !*match; i++) {
        const NubeTag *t = g_ptr_array_index(tags, i);
        *match = nube_api_filter_values_match(f, by_key ? t->key : t->value);
    }
    return TRUE;
}

/* The value of FIELD for ITEM (new string or NULL). */
static char *field_value(const NubeApiRequest *req, const NubeApiFilterField *field,
                         const void *item)
{
    if (field->get != NULL)
        return field->get(req, item);
    if (field->offset >= 0)
        return g_strdup(G_STRUCT_MEMBER(const char *, item, field->offset));
    return g_strdup(field->constant);
}

int nube_api_filter_fields(const NubeApiRequest *req, const NubeApiFilterField *fields,
                           const void *item, const GPtrArray *tags, const NubeFilter *f,
                           gboolean *match, NubeError **err)
{
    if (nube_api_filter_tags(f, tags, match))
        return 0;
    for (const NubeApiFilterField *field = fields; field->name != NULL; field++) {
        if (!g_str_equal(field->name, f->name))
            continue;
        g_autofree char *v = field_value(req, field, item);
        *match = nube_api_filter_values_match(f, v);
        return 0;
    }
    return nube_api_filter_unknown(f, err);
}

/* Keeps in ITEMS those that KEEP (if any) accepts and every filter matches,
 * by MATCH or (if MATCH is NULL) RMATCH. */
static int filter_items(const NubeApiRequest *req, GPtrArray *items, NubeApiFilterFn match,
                        NubeApiRequestFilterFn rmatch,
                        gboolean (*keep)(const NubeApiRequest *req, const void *item),
                        NubeError **err)
{
    g_autoptr(GArray) filters = nube_query_filters(req->q, err);
    if (filters == NULL)
        return -EINVAL;
    for (guint i = 0; i < items->len;) {
        gboolean ok = keep == NULL || keep(req, items->pdata[i]);
        for (guint n = 0; n < filters->len && ok; n++) {
            const NubeFilter *f = &g_array_index(filters, NubeFilter, n);
            int r = match ? match(items->pdata[i], f, &ok, err)
                          : rmatch(req, items->pdata[i], f, &ok, err);
            if (r < 0)
                return -EINVAL;
        }
        if (ok)
            i++;
        else
            g_ptr_array_remove_index(items, i);
    }
    return 0;
}

int nube_api_filter_items(const NubeApiRequest *req, GPtrArray *items, NubeApiFilterFn match,
                          gboolean (*keep)(const NubeApiRequest *req, const void *item),
                          NubeError **err)
{
    return filter_items(req, items, match, NULL, keep, err);
}

int nube_api_filter_items_req(const NubeApiRequest *req, GPtrArray *items,
                              NubeApiRequestFilterFn match,
                              gboolean (*keep)(const NubeApiRequest *req, const void *item),
                              NubeError **err)
{
    return filter_items(req, items, NULL, match, keep, err);
}
