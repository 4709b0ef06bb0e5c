/*
 * filter.c: Describe actions' Filter.N: values with EC2's wildcards, the tag
 * filters every action has, and tables of NubeApiFilterField (see api.h).
 */
#include "api.h"
#include "tags.h"

#include <string.h>

/* TRUE if VALUE (may be NULL: matches nothing) matches one of F's values. */
static gboolean values_match(const NubeFilter *f, const char *value)
{
    for (size_t i = 0; value != NULL && f->values[i] != NULL; i++)
        if (g_pattern_match_simple(f->values[i], value))
            return TRUE;
    return FALSE;
}

/* TRUE and *MATCH if F is tag:KEY, tag-key or tag-value; FALSE (MATCH
 * untouched) for any other filter name. */
static gboolean tags_match(const NubeFilter *f, const GPtrArray *tags, gboolean *match)
{
    gboolean by_key = g_str_equal(f->name, "tag-key");
    if (g_str_has_prefix(f->name, "tag:")) {
        *match = values_match(f, nube_tags_lookup(tags, f->name + 4));
        return TRUE;
    }
    if (!by_key && !g_str_equal(f->name, "tag-value"))
        return FALSE;
    *match = FALSE;
    for (guint i = 0; tags != NULL && i < tags->len && !*match; i++) {
        const NubeTag *t = g_ptr_array_index(tags, i);
        *match = values_match(f, by_key ? t->key : t->value);
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

/* Whether one of the values of FIELD for ITEM matches F. */
static gboolean field_matches(const NubeApiRequest *req, const NubeApiFilterField *field,
                              const void *item, const NubeFilter *f)
{
    if (field->get_all == NULL) {
        g_autofree char *v = field_value(req, field, item);
        return values_match(f, v);
    }
    g_autoptr(GPtrArray) values = g_ptr_array_new_with_free_func(g_free);
    field->get_all(req, item, values);
    for (guint i = 0; i < values->len; i++)
        if (values_match(f, values->pdata[i]))
            return TRUE;
    return FALSE;
}

int nube_api_filter_fields(const NubeApiRequest *req, const NubeApiFilterField *fields,
                           const void *item, const GPtrArray *tags, const NubeFilter *f,
                           gboolean *match, NubeError **err)
{
    if (tags_match(f, tags, match))
        return 0;
    for (const NubeApiFilterField *field = fields; field->name != NULL; field++) {
        if (g_str_equal(field->name, f->name)) {
            *match = field_matches(req, field, item, f);
            return 0;
        }
    }
    return nube_error_setc(err, EINVAL, "InvalidParameterValue", "The filter '%s' is invalid",
                           f->name);
}

int nube_api_filter_items(const NubeApiRequest *req, GPtrArray *items, NubeApiFilterFn match,
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
            if (match(req, items->pdata[i], f, &ok, err) < 0)
                return -EINVAL;
        }
        if (ok)
            i++;
        else
            g_ptr_array_remove_index(items, i);
    }
    return 0;
}
