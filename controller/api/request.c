/*
 * request.c: what handlers read from a request: required parameters and
 * ids, pagination, user data and tag specifications (see api.h).
 */
#include "api.h"
#include "tags.h"

#include <string.h>

const char *nube_api_require(const NubeApiRequest *req, const char *key, NubeError **err)
{
    const char *v = nube_query_get(req->q, key);
    if (v == NULL || v[0] == '\0')
        nube_error_setc(err, EINVAL, "MissingParameter",
                        "The request must contain the parameter %s", key);
    return v && v[0] ? v : NULL;
}

const char *nube_api_require_id(const NubeApiRequest *req, const char *key, NubeResourceKindId kind,
                                NubeError **err)
{
    const char *id = nube_api_require(req, key, err);
    if (id == NULL || nube_resource_id_check(kind, id, err) < 0)
        return NULL;
    return id;
}

int nube_api_page(const NubeApiRequest *req, gint64 min, gint64 max, guint n_items, guint *start,
                  guint *end, char **next_token, NubeError **err)
{
    gint64 limit = 0, offset = 0;
    const char *token = nube_query_get(req->q, "NextToken");

    *next_token = NULL;
    if (nube_query_int(req->q, "MaxResults", min, max, G_MAXINT, &limit, err) < 0)
        return -EINVAL;
    if (token != NULL) {
        gsize len = 0;
        g_autofree guchar *raw = g_base64_decode(token, &len);
        g_autofree char *text = g_strndup((const char *) raw, len);
        char *endp = NULL;
        if (!g_str_has_prefix(text, "nube:") ||
            (offset = g_ascii_strtoll(text + 5, &endp, 10)) < 0 || *endp != '\0' ||
            offset > n_items)
            return nube_error_setc(err, EINVAL, "InvalidParameterValue",
                                   "The NextToken '%s' is not valid.", token);
    }
    *start = (guint) offset;
    *end = (guint) MIN((gint64) n_items, offset + limit);
    if (*end < n_items) {
        g_autofree char *text = g_strdup_printf("nube:%u", *end);
        *next_token = g_base64_encode((const guchar *) text, strlen(text));
    }
    return 0;
}

GBytes *nube_api_user_data(const char *b64, NubeError **err)
{
    gsize len = 0;
    for (const char *p = b64; *p; p++)
        if (!g_ascii_isalnum(*p) && *p != '+' && *p != '/' && *p != '=' && !g_ascii_isspace(*p)) {
            nube_error_setc(err, EINVAL, "InvalidParameterValue",
                            "Invalid BASE64 encoding of user data.");
            return NULL;
        }
    g_autofree guchar *raw = g_base64_decode(b64, &len);
    if (len > NUBE_USER_DATA_MAX) {
        nube_error_setc(err, EINVAL, "InvalidParameterValue",
                        "User data is limited to %d bytes (got %zu).", NUBE_USER_DATA_MAX, len);
        return NULL;
    }
    return g_bytes_new_take(g_steal_pointer(&raw), len);
}

/* Adds the tags TagSpecification.N.Tag.M.{Key,Value} to TAGS. */
static void add_spec_tags(const NubeApiRequest *req, guint n, GPtrArray *tags)
{
    g_autofree char *prefix = g_strdup_printf("TagSpecification.%u.Tag", n);
    g_autoptr(GArray) idx = nube_query_indices(req->q, prefix);
    for (guint j = 0; j < idx->len; j++) {
        guint m = g_array_index(idx, guint, j);
        g_autofree char *kk = g_strdup_printf("%s.%u.Key", prefix, m);
        g_autofree char *vk = g_strdup_printf("%s.%u.Value", prefix, m);
        const char *key = nube_query_get(req->q, kk);
        nube_tags_add(tags, key ? key : "", nube_query_get(req->q, vk));
    }
}

GPtrArray *nube_api_tag_specs(const NubeApiRequest *req, const char *type,
                              const char *const *allowed, NubeError **err)
{
    g_autoptr(GPtrArray) tags = nube_tags_new();
    g_autoptr(GArray) specs = nube_query_indices(req->q, "TagSpecification");
    for (guint i = 0; i < specs->len; i++) {
        guint n = g_array_index(specs, guint, i);
        g_autofree char *rt_key = g_strdup_printf("TagSpecification.%u.ResourceType", n);
        const char *rt = nube_query_get(req->q, rt_key);
        if (rt == NULL || !g_strv_contains(allowed, rt)) {
            nube_error_setc(err, EINVAL, "InvalidParameterValue",
                            "'%s' is not a valid taggable resource type for this operation.",
                            rt ? rt : "");
            return NULL;
        }
        if (g_str_equal(rt, type))
            add_spec_tags(req, n, tags);
    }
    return nube_tags_validate(tags, err) < 0 ? NULL : g_steal_pointer(&tags);
}
