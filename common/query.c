/*
 * query.c: EC2 Query API form parameters (see query.h).
 *
 * Decoding is GLib's application/x-www-form-urlencoded iterator ('+' is a
 * space, %XX escapes, UTF-8 checked); this file adds what EC2 needs on top:
 * refusing repeated keys and NUL bytes, and the Name.N list conventions.
 */
#include "query.h"

#include <stdlib.h>
#include <string.h>

struct NubeQuery {
    GHashTable *params; /* char *key -> char *value, both owned */
};

/* Longest list index accepted: 9 digits always fits a guint. */
#define MAX_INDEX_DIGITS 9

static NubeQuery *query_new(void)
{
    NubeQuery *q = g_new0(NubeQuery, 1);
    q->params = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    return q;
}

/* Adds one decoded pair; takes KEY and VALUE.  Refuses repeats. */
static int query_add(NubeQuery *q, char *key, char *value, NubeError **err)
{
    if (*key == '\0') {
        g_free(key);
        g_free(value);
        return nube_error_setc(err, EINVAL, "MalformedQueryString",
                               "The query string contains a parameter with an empty name");
    }
    if (g_hash_table_contains(q->params, key)) {
        int r = nube_error_setc(err, EINVAL, "InvalidParameterValue",
                                "The parameter '%s' is given more than once", key);
        g_free(key);
        g_free(value);
        return r;
    }
    g_hash_table_insert(q->params, key, value);
    return 0;
}

NubeQuery *nube_query_parse(const char *data, size_t len, NubeError **err)
{
    if (data == NULL && len > 0) {
        nube_error_setc(err, EINVAL, "MalformedQueryString", "The query string is missing");
        return NULL;
    }
    if (len > (size_t) G_MAXSSIZE || (len > 0 && memchr(data, '\0', len) != NULL)) {
        nube_error_setc(err, EINVAL, "MalformedQueryString",
                        "The query string contains a NUL byte");
        return NULL;
    }

    g_autoptr(NubeQuery) q = query_new();
    if (len == 0)
        return g_steal_pointer(&q);

    GUriParamsIter iter;
    g_autoptr(GError) gerr = NULL;
    char *key = NULL;
    char *value = NULL;
    g_uri_params_iter_init(&iter, data, (gssize) len, "&", G_URI_PARAMS_WWW_FORM);
    while (g_uri_params_iter_next(&iter, &key, &value, &gerr)) {
        if (query_add(q, key, value, err) < 0)
            return NULL;
    }
    if (gerr != NULL) {
        /* GLib refuses bad %XX escapes, %00, non-UTF-8 and "k" without '='. */
        nube_error_setc(err, EINVAL, "MalformedQueryString", "The query string is malformed: %s",
                        gerr->message);
        return NULL;
    }
    return g_steal_pointer(&q);
}

void nube_query_free(NubeQuery *q)
{
    if (q == NULL)
        return;
    g_hash_table_unref(q->params);
    g_free(q);
}

const char *nube_query_get(const NubeQuery *q, const char *key)
{
    if (q == NULL || key == NULL)
        return NULL;
    return g_hash_table_lookup(q->params, key);
}

guint nube_query_size(const NubeQuery *q)
{
    return q == NULL ? 0 : g_hash_table_size(q->params);
}

void nube_query_merge(NubeQuery *dst, const NubeQuery *src)
{
    if (dst == NULL || src == NULL || dst == src)
        return;

    GHashTableIter iter;
    gpointer key, value;
    g_hash_table_iter_init(&iter, src->params);
    while (g_hash_table_iter_next(&iter, &key, &value)) {
        if (!g_hash_table_contains(dst->params, key))
            g_hash_table_insert(dst->params, g_strdup(key), g_strdup(value));
    }
}

/*
 * A list index as EC2 reads it: the LEN bytes at S are decimal digits
 * without leading zeros ("0" itself is an index), 0 to 999999999, so "X.1"
 * and "X.01" can never name the same element.  Stores it in *INDEX.
 */
static gboolean index_parse(const char *s, size_t len, guint *index)
{
    if (len == 0 || len > MAX_INDEX_DIGITS || strspn(s, "0123456789") < len ||
        (s[0] == '0' && len > 1))
        return FALSE;
    guint v = 0;
    for (size_t i = 0; i < len; i++)
        v = v * 10 + (guint) (s[i] - '0');
    *index = v;
    return TRUE;
}

/*
 * If KEY is "PREFIX.N" followed by TAIL_SEP (or the end when TAIL_SEP is
 * '\0'), stores the index N (index_parse()) in *INDEX and returns the rest
 * of KEY after N, else NULL.
 */
static const char *key_index(const char *key, const char *prefix, size_t plen, char tail_sep,
                             guint *index)
{
    if (strncmp(key, prefix, plen) != 0 || key[plen] != '.')
        return NULL;

    const char *digits = key + plen + 1;
    size_t n = strspn(digits, "0123456789");
    if (digits[n] != tail_sep || !index_parse(digits, n, index))
        return NULL;
    return digits + n;
}

typedef struct {
    guint index;
    const char *value;
} IndexedValue;

static gint indexed_value_cmp(gconstpointer a, gconstpointer b)
{
    guint ia = ((const IndexedValue *) a)->index;
    guint ib = ((const IndexedValue *) b)->index;
    return ia < ib ? -1 : ia > ib;
}

const char **nube_query_list(const NubeQuery *q, const char *prefix)
{
    g_autoptr(GArray) items = g_array_new(FALSE, FALSE, sizeof(IndexedValue));

    if (q != NULL && prefix != NULL) {
        size_t plen = strlen(prefix);
        GHashTableIter iter;
        gpointer key, value;
        g_hash_table_iter_init(&iter, q->params);
        while (g_hash_table_iter_next(&iter, &key, &value)) {
            IndexedValue item = { 0, value };
            if (key_index(key, prefix, plen, '\0', &item.index) != NULL)
                g_array_append_val(items, item);
        }
        g_array_sort(items, indexed_value_cmp);
    }

    const char **out = g_new0(const char *, items->len + 1);
    for (guint i = 0; i < items->len; i++)
        out[i] = g_array_index(items, IndexedValue, i).value;
    return out;
}

static gint guint_cmp(gconstpointer a, gconstpointer b)
{
    guint ia = *(const guint *) a;
    guint ib = *(const guint *) b;
    return ia < ib ? -1 : ia > ib;
}

/* Sorts A (of guint) and drops repeated values. */
static void indices_sort_unique(GArray *a)
{
    g_array_sort(a, guint_cmp);
    guint out = 0;
    for (guint i = 0; i < a->len; i++) {
        guint v = g_array_index(a, guint, i);
        if (out == 0 || g_array_index(a, guint, out - 1) != v)
            g_array_index(a, guint, out++) = v;
    }
    g_array_set_size(a, out);
}

GArray *nube_query_indices(const NubeQuery *q, const char *prefix)
{
    GArray *indices = g_array_new(FALSE, FALSE, sizeof(guint));
    if (q == NULL || prefix == NULL)
        return indices;

    size_t plen = strlen(prefix);
    GHashTableIter iter;
    gpointer key;
    g_hash_table_iter_init(&iter, q->params);
    while (g_hash_table_iter_next(&iter, &key, NULL)) {
        guint index;
        if (key_index(key, prefix, plen, '.', &index) != NULL)
            g_array_append_val(indices, index);
    }
    indices_sort_unique(indices);
    return indices;
}

static int key_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *) a, *(const char *const *) b);
}

const char **nube_query_keys(const NubeQuery *q)
{
    if (q == NULL)
        return g_new0(const char *, 1);
    guint n = 0;
    const char **keys = (const char **) g_hash_table_get_keys_as_array(q->params, &n);
    qsort(keys, n, sizeof(*keys), key_cmp);
    return keys;
}

gboolean nube_query_key_matches(const char *key, const char *pattern)
{
    if (key == NULL || pattern == NULL)
        return FALSE;
    for (const char *k = key, *p = pattern;; k++, p++) {
        size_t kn = strcspn(k, "."), pn = strcspn(p, ".");
        guint index;
        if (pn == 1 && (p[0] == 'N' || p[0] == 'M') ? !index_parse(k, kn, &index)
                                                    : kn != pn || strncmp(k, p, pn) != 0)
            return FALSE;
        k += kn;
        p += pn;
        if (*k == '\0' || *p == '\0')
            return *k == *p;
    }
}

/* Feeds S to SUM with its length first, so that no two lists of strings
 * give the same bytes. */
static void digest_string(GChecksum *sum, const char *s)
{
    char len[24];
    int n = g_snprintf(len, sizeof(len), "%zu:", strlen(s));
    g_checksum_update(sum, (const guchar *) len, n);
    g_checksum_update(sum, (const guchar *) s, strlen(s));
}

char *nube_query_digest(const NubeQuery *q, const char *const *excluded)
{
    g_autoptr(GChecksum) sum = g_checksum_new(G_CHECKSUM_SHA256);
    g_autofree const char **keys = nube_query_keys(q);
    for (size_t i = 0; keys[i] != NULL; i++) {
        if (excluded != NULL && g_strv_contains(excluded, keys[i]))
            continue;
        digest_string(sum, keys[i]);
        digest_string(sum, nube_query_get(q, keys[i]));
    }
    return g_strdup(g_checksum_get_string(sum));
}

static void filter_clear(gpointer data)
{
    NubeFilter *f = data;
    g_free(f->name);
    g_strfreev(f->values);
    f->name = NULL;
    f->values = NULL;
}

/* Fills F from Filter.N.Name and Filter.N.Value.M.  0 or -EINVAL. */
static int filter_read(const NubeQuery *q, guint n, NubeFilter *f, NubeError **err)
{
    g_autofree char *name_key = g_strdup_printf("Filter.%u.Name", n);
    g_autofree char *value_prefix = g_strdup_printf("Filter.%u.Value", n);

    const char *name = nube_query_get(q, name_key);
    if (name == NULL || *name == '\0')
        return nube_error_setc(err, EINVAL, "InvalidParameterValue",
                               "The filter 'Filter.%u' has no Name", n);

    g_autofree const char **values = nube_query_list(q, value_prefix);
    if (values[0] == NULL)
        return nube_error_setc(err, EINVAL, "InvalidParameterValue", "The filter '%s' has no Value",
                               name);

    f->name = g_strdup(name);
    f->values = g_strdupv((char **) values);
    return 0;
}

GArray *nube_query_filters(const NubeQuery *q, NubeError **err)
{
    g_autoptr(GArray) filters = g_array_new(FALSE, TRUE, sizeof(NubeFilter));
    g_array_set_clear_func(filters, filter_clear);

    g_autoptr(GArray) indices = nube_query_indices(q, "Filter");
    for (guint i = 0; i < indices->len; i++) {
        NubeFilter f = { NULL, NULL };
        if (filter_read(q, g_array_index(indices, guint, i), &f, err) < 0)
            return NULL;
        g_array_append_val(filters, f);
    }
    return g_steal_pointer(&filters);
}

int nube_query_int(const NubeQuery *q, const char *key, gint64 min, gint64 max, gint64 def,
                   gint64 *out, NubeError **err)
{
    const char *value = nube_query_get(q, key);
    gint64 n = def;

    /* g_ascii_string_to_signed() refuses spaces, signs other than a
     * leading '-', trailing junk and overflow. */
    if (value != NULL && !g_ascii_string_to_signed(value, 10, min, max, &n, NULL))
        return nube_error_setc(
            err, EINVAL, "InvalidParameterValue",
            "Value ('%s') for parameter %s is invalid. Expecting an integer from %" G_GINT64_FORMAT
            " to %" G_GINT64_FORMAT ".",
            value, key, min, max);
    if (out != NULL)
        *out = n;
    return 0;
}

int nube_query_bool(const NubeQuery *q, const char *key, gboolean def, gboolean *out,
                    NubeError **err)
{
    const char *value = nube_query_get(q, key);
    gboolean b = def;

    if (value != NULL) {
        if (g_ascii_strcasecmp(value, "true") == 0)
            b = TRUE;
        else if (g_ascii_strcasecmp(value, "false") == 0)
            b = FALSE;
        else
            return nube_error_setc(
                err, EINVAL, "InvalidParameterValue",
                "Value ('%s') for parameter %s is invalid. Expecting 'true' or 'false'.", value,
                key);
    }
    if (out != NULL)
        *out = b;
    return 0;
}

static gboolean is_unreserved(unsigned char c)
{
    return g_ascii_isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~';
}

char *nube_uri_encode(const char *s, gboolean encode_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    if (s == NULL)
        return g_strdup("");

    GString *out = g_string_sized_new(strlen(s) + 16);
    for (const unsigned char *p = (const unsigned char *) s; *p != '\0'; p++) {
        if (is_unreserved(*p) || (*p == '/' && !encode_slash)) {
            g_string_append_c(out, (char) *p);
        } else {
            g_string_append_c(out, '%');
            g_string_append_c(out, hex[*p >> 4]);
            g_string_append_c(out, hex[*p & 0xf]);
        }
    }
    return g_string_free(out, FALSE);
}
