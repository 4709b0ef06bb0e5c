/*
 * describe.c: paged Describe* actions (see describe.h).
 */
#include "describe.h"

typedef struct {
    NubeCliClient *client;
    const char *action;
    const char *id_param;
    const char *const *ids;
    const char *filter; /* Filter.1.Name of the IDS, or NULL */
    const char *item_xpath;
    NubeCliItemConvert convert;
} DescribeCall;

/* One page: appends its items to OUT, sets *TOKEN to the next page's. */
static int describe_page(const DescribeCall *call, char **token, JsonArray *out, NubeError **err)
{
    g_autoptr(NubeCliParams) params = nube_cli_params_new();
    if (call->filter != NULL && call->ids != NULL && call->ids[0] != NULL)
        nube_cli_params_add(params, "Filter.1.Name", call->filter);
    nube_cli_params_add_list(params, call->id_param, call->ids);
    if (*token != NULL)
        nube_cli_params_add(params, "NextToken", *token);

    g_autoptr(NubeCliReply) reply = nube_cli_client_call(call->client, call->action, params, err);
    if (reply == NULL)
        return -EIO;
    g_autoptr(GPtrArray) items = nube_cli_reply_nodes(reply, NULL, call->item_xpath);
    for (guint i = 0; i < items->len; i++)
        json_array_add_object_element(out, call->convert(reply, items->pdata[i]));

    /* An empty or repeated token would never end. */
    g_autofree char *next = nube_cli_reply_text(reply, NULL, "ec2:nextToken");
    if (next != NULL && (*next == '\0' || g_strcmp0(next, *token) == 0))
        g_clear_pointer(&next, g_free);
    g_free(*token);
    *token = g_steal_pointer(&next);
    return 0;
}

static JsonArray *describe_all(const DescribeCall *call, NubeError **err)
{
    g_autoptr(JsonArray) out = json_array_new();
    g_autofree char *token = NULL;

    do {
        if (describe_page(call, &token, out, err) < 0)
            return NULL;
    } while (token != NULL);
    return g_steal_pointer(&out);
}

JsonArray *nube_cli_describe_all(NubeCliClient *client, const char *action, const char *id_param,
                                 const char *const *ids, const char *item_xpath,
                                 NubeCliItemConvert convert, NubeError **err)
{
    const DescribeCall call = { client, action, id_param, ids, NULL, item_xpath, convert };
    return describe_all(&call, err);
}

JsonArray *nube_cli_describe_filtered(NubeCliClient *client, const char *action, const char *filter,
                                      const char *const *values, const char *item_xpath,
                                      NubeCliItemConvert convert, NubeError **err)
{
    const DescribeCall call = {
        .client = client,
        .action = action,
        .id_param = "Filter.1.Value",
        .ids = values,
        .filter = filter,
        .item_xpath = item_xpath,
        .convert = convert,
    };
    return describe_all(&call, err);
}

JsonObject *nube_cli_describe_find(JsonArray *items, const char *member, const char *id,
                                   const char *not_found_code, NubeError **err)
{
    for (guint i = 0; items != NULL && i < json_array_get_length(items); i++) {
        JsonObject *obj = json_array_get_object_element(items, i);
        if (g_strcmp0(json_object_get_string_member_with_default(obj, member, NULL), id) == 0)
            return json_object_ref(obj);
    }
    nube_error_setc(err, ENOENT, not_found_code, "'%s' does not exist", id);
    return NULL;
}
