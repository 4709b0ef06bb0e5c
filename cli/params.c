/*
 * params.c: EC2 Query API request parameters (see params.h).
 */
#include "params.h"

#include "query.h"

struct NubeCliParams {
    GPtrArray *pairs; /* key, value, key, value, … (owned) */
};

NubeCliParams *nube_cli_params_new(void)
{
    NubeCliParams *params = g_new0(NubeCliParams, 1);
    params->pairs = g_ptr_array_new_with_free_func(g_free);
    return params;
}

void nube_cli_params_free(NubeCliParams *params)
{
    if (params == NULL)
        return;
    g_ptr_array_unref(params->pairs);
    g_free(params);
}

void nube_cli_params_add(NubeCliParams *params, const char *key, const char *value)
{
    g_ptr_array_add(params->pairs, g_strdup(key));
    g_ptr_array_add(params->pairs, g_strdup(value));
}

void nube_cli_params_add_list(NubeCliParams *params, const char *prefix, const char *const *values)
{
    for (guint i = 0; values != NULL && values[i] != NULL; i++) {
        g_autofree char *key = g_strdup_printf("%s.%u", prefix, i + 1);
        nube_cli_params_add(params, key, values[i]);
    }
}

static void append_pair(GString *body, const char *key, const char *value)
{
    g_autofree char *k = nube_uri_encode(key, TRUE);
    g_autofree char *v = nube_uri_encode(value, TRUE);
    g_string_append_printf(body, "&%s=%s", k, v);
}

char *nube_cli_params_encode(const NubeCliParams *params, const char *action)
{
    GString *body = g_string_new(NULL);
    g_autofree char *a = nube_uri_encode(action, TRUE);
    g_string_append_printf(body, "Action=%s&Version=%s", a, NUBE_CLI_EC2_VERSION);
    for (guint i = 0; i + 1 < params->pairs->len; i += 2)
        append_pair(body, params->pairs->pdata[i], params->pairs->pdata[i + 1]);
    return g_string_free(body, FALSE);
}
