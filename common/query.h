/*
 * query.h: application/x-www-form-urlencoded parameters of the EC2 Query
 * API (Action=…&Version=…&InstanceId.1=…), and the EC2 list/struct
 * conventions built on them (Name.N, Filter.N.Name, Filter.N.Value.M,
 * TagSpecification.N.Tag.M.Key).
 */
#pragma once

#include "error.h"

#include <glib.h>

typedef struct NubeQuery NubeQuery;

/*
 * Parses a form-encoded body or query string of LEN bytes (DATA need not be
 * NUL-terminated).  Keys are case-sensitive as in EC2.  Returns a new query
 * (free with nube_query_free), or NULL with ERR code "InvalidParameterValue"
 * for a repeated key (after decoding) or "MalformedQueryString" for an
 * invalid percent escape, a NUL byte (raw or %00), text that is not UTF-8,
 * an empty key or a parameter without '='.
 */
NubeQuery *nube_query_parse(const char *data, size_t len, NubeError **err);
/* Frees Q and every string it owns; NULL is fine. */
void nube_query_free(NubeQuery *q);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(NubeQuery, nube_query_free)

/* Value of KEY, or NULL.  Owned by Q. */
const char *nube_query_get(const NubeQuery *q, const char *key);

/* Number of parameters. */
guint nube_query_size(const NubeQuery *q);

/* Copies into DST every parameter of SRC whose key DST lacks (GET query +
 * body); DST's values win. */
void nube_query_merge(NubeQuery *dst, const NubeQuery *src);

/*
 * Values of PREFIX.N in index order.  An index N is decimal without leading
 * zeros, 0 to 999999999 ("0" is one); indices need not be contiguous, as in
 * EC2, and other keys are ignored.  Returns a NULL-terminated array of
 * borrowed strings (free the array only with g_free), never NULL.
 */
const char **nube_query_list(const NubeQuery *q, const char *prefix);

/* Sorted distinct indices N (same rules as nube_query_list) for which some
 * key starts with "PREFIX.N.".  Returns a GArray of guint (caller unrefs),
 * never NULL. */
GArray *nube_query_indices(const NubeQuery *q, const char *prefix);

/* Every key of Q in strcmp() order: a NULL-terminated array of borrowed
 * strings (free the array only with g_free), never NULL. */
const char **nube_query_keys(const NubeQuery *q);

/*
 * Whether KEY fits PATTERN: both split at '.' into as many segments, a
 * pattern segment "N" or "M" matching a list index (as nube_query_list
 * reads them) and any other one itself, e.g. "Filter.N.Value.M" matches
 * "Filter.0.Value.12" but not "Filter.01.Value.1" or "Filter.1.Value".
 * FALSE if either is NULL.
 */
gboolean nube_query_key_matches(const char *key, const char *pattern);

/* SHA-256 (64 lowercase hex digits, a new string) of Q's keys and values
 * but the keys in EXCLUDED (NULL-terminated, may be NULL): the same for two
 * queries with the same parameters and values, whatever their order, and
 * (but for a SHA-256 collision) different otherwise. */
char *nube_query_digest(const NubeQuery *q, const char *const *excluded);

typedef struct {
    char *name;
    char **values; /* NULL-terminated */
} NubeFilter;

/* Filter.N.Name / Filter.N.Value.M, in N order with values in M order.
 * Returns an array of NubeFilter (with a clear func set; caller unrefs),
 * empty when there are no filters; NULL with ERR "InvalidParameterValue" if
 * a filter has no (or an empty) name or no value. */
GArray *nube_query_filters(const NubeQuery *q, NubeError **err);

/* Parses an integer parameter KEY (decimal, optional sign, no spaces) in
 * [MIN, MAX] into *OUT; if absent, sets DEF.  Returns 0, or -EINVAL with ERR
 * "InvalidParameterValue" when malformed or out of range (*OUT untouched). */
int nube_query_int(const NubeQuery *q, const char *key, gint64 min, gint64 max, gint64 def,
                   gint64 *out, NubeError **err);

/* "true"/"false" (case-insensitive) for KEY into *OUT, DEF if absent.
 * Returns 0, or -EINVAL with ERR "InvalidParameterValue" for anything else
 * (*OUT untouched). */
int nube_query_bool(const NubeQuery *q, const char *key, gboolean def, gboolean *out,
                    NubeError **err);

/* Percent-encodes S with AWS's rules (unreserved: A-Z a-z 0-9 - _ . ~;
 * '/' kept unless ENCODE_SLASH; %XX uppercase).  Returns a new string
 * (caller frees); NULL gives "". */
char *nube_uri_encode(const char *s, gboolean encode_slash);
