/*
 * fuzz-query.c: libFuzzer target for nube_query_parse() and the EC2 list
 * helpers on whatever it accepts.
 */
#include "query.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void exercise(const NubeQuery *q)
{
    gint64 n = 0;
    gboolean b = FALSE;
    g_autofree const char **ids = nube_query_list(q, "InstanceId");
    g_autoptr(GArray) specs = nube_query_indices(q, "TagSpecification");
    g_autoptr(GArray) filters = nube_query_filters(q, NULL);
    nube_query_int(q, "MaxResults", 5, 1000, 6, &n, NULL);
    nube_query_bool(q, "DryRun", FALSE, &b, NULL);

    g_assert(filters == NULL || filters->len <= specs->len + nube_query_size(q));
    for (size_t i = 0; ids[i] != NULL; i++) {
        g_autofree char *enc = nube_uri_encode(ids[i], TRUE);
        g_assert(strlen(enc) >= strlen(ids[i]));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    g_autoptr(NubeError) err = NULL;
    g_autoptr(NubeQuery) q = nube_query_parse((const char *) data, size, &err);
    if (q == NULL) {
        g_assert(err != NULL && err->message != NULL);
        return 0;
    }
    exercise(q);

    g_autoptr(NubeQuery) merged = nube_query_parse("Action=X", 8, NULL);
    nube_query_merge(merged, q);
    g_assert(nube_query_size(merged) >= nube_query_size(q));
    return 0;
}
