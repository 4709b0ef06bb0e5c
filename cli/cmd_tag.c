/*
 * cmd_tag.c: nube tag | untag | tags.
 */
#include "args.h"
#include "commands.h"
#include "describe.h"

#include <stdio.h>
#include <string.h>

static const NubeCliReplyField tag_fields[] = {
    { "ResourceId", "ec2:resourceId", NUBE_CLI_FIELD_STRING },
    { "ResourceType", "ec2:resourceType", NUBE_CLI_FIELD_STRING },
    { "Key", "ec2:key", NUBE_CLI_FIELD_STRING },
    { "Value", "ec2:value", NUBE_CLI_FIELD_STRING },
    { NULL, NULL, 0 },
};

static const NubeCliColumn tag_columns[] = {
    { "ID", "ResourceId", NULL }, { "TYPE", "ResourceType", NULL },
    { "KEY", "Key", NULL },       { "VALUE", "Value", NULL },
    { NULL, NULL, NULL },
};

/*
 * Adds Tag.N.Key (and Tag.N.Value when the argument has '=') for each
 * KEY[=VALUE] of ARGS.  VALUE_REQUIRED: every argument must have '='.
 * 0, or -EINVAL with a usage error.
 */
static int add_tag_args(NubeCliParams *params, char **args, int n, gboolean value_required,
                        NubeError **err)
{
    for (int i = 0; i < n; i++) {
        const char *eq = strchr(args[i], '=');
        if ((value_required && eq == NULL) || eq == args[i] || args[i][0] == '\0')
            return nube_cli_usage(err, "tag '%s' is not %s", args[i],
                                  value_required ? "KEY=VALUE" : "KEY or KEY=VALUE");
        g_autofree char *key = eq ? g_strndup(args[i], eq - args[i]) : g_strdup(args[i]);
        g_autofree char *kk = g_strdup_printf("Tag.%d.Key", i + 1);
        nube_cli_params_add(params, kk, key);
        if (eq != NULL) {
            g_autofree char *vk = g_strdup_printf("Tag.%d.Value", i + 1);
            nube_cli_params_add(params, vk, eq + 1);
        }
    }
    return 0;
}

/* Calls ACTION (CreateTags, DeleteTags) with ResourceId.1 and PARAMS. */
static int call_tags(NubeCli *cli, const char *action, const char *id, NubeCliParams *params,
                     NubeError **err)
{
    NubeCliClient *client = nube_cli_client(cli, err);
    if (client == NULL)
        return -EIO;
    nube_cli_params_add(params, "ResourceId.1", id);
    g_autoptr(NubeCliReply) reply = nube_cli_client_call(client, action, params, err);
    return reply == NULL ? -EIO : 0;
}

static int tag_run(NubeCli *cli, const NubeCliCommand *cmd, int argc, char **argv, NubeError **err)
{
    int r = nube_cli_args_parse(cli, cmd, NULL, &argc, &argv, err);
    if (r != 0)
        return MIN(r, 0);
    g_autoptr(NubeCliParams) params = nube_cli_params_new();
    if (add_tag_args(params, argv + 2, argc - 2, TRUE, err) < 0)
        return -EINVAL;
    return call_tags(cli, "CreateTags", argv[1], params, err);
}

const NubeCliCommand nube_cli_cmd_tag = {
    .name = "tag",
    .args = "ID KEY=VALUE…",
    .summary = "Tag an instance, image, volume, key pair or security group",
    .description = "Adds the tags to resource ID (CreateTags), replacing the values of keys it\n"
                   "has.  A resource has at most 50 tags; keys are 1 to 128 characters and may\n"
                   "not start with 'aws:', values up to 256.  Either every tag is added or none.\n"
                   "Example: nube tag i-0123456789abcdef0 Name=web env=test\n",
    .min_args = 2,
    .max_args = -1,
    .run = tag_run,
};

static int untag_run(NubeCli *cli, const NubeCliCommand *cmd, int argc, char **argv,
                     NubeError **err)
{
    gboolean all = FALSE;
    const GOptionEntry options[] = { { "all", 'a', 0, G_OPTION_ARG_NONE, &all,
                                       "Remove every tag of the resource", NULL },
                                     G_OPTION_ENTRY_NULL };
    int r = nube_cli_args_parse(cli, cmd, options, &argc, &argv, err);
    if (r != 0)
        return MIN(r, 0);
    if (all != (argc == 2))
        return nube_cli_usage(err, "give either tag keys or --all");
    g_autoptr(NubeCliParams) params = nube_cli_params_new();
    if (add_tag_args(params, argv + 2, argc - 2, FALSE, err) < 0)
        return -EINVAL;
    return call_tags(cli, "DeleteTags", argv[1], params, err);
}

const NubeCliCommand nube_cli_cmd_untag = {
    .name = "untag",
    .args = "ID KEY[=VALUE]…",
    .summary = "Remove tags from a resource",
    .description = "Removes the tags KEY from resource ID (DeleteTags); KEY=VALUE removes the\n"
                   "tag only if it has that value.  --all removes every tag of ID.\n",
    .min_args = 1,
    .max_args = -1,
    .run = untag_run,
};

static JsonObject *tag_from_item(NubeCliReply *reply, xmlNode *item)
{
    JsonObject *obj = json_object_new();
    nube_cli_reply_set_fields(reply, obj, item, tag_fields);
    return obj;
}

static int tags_run(NubeCli *cli, const NubeCliCommand *cmd, int argc, char **argv, NubeError **err)
{
    int status;
    NubeCliClient *client = nube_cli_begin(cli, cmd, NULL, &argc, &argv, &status, err);
    if (client == NULL)
        return status;
    g_autofree const char **ids = g_new0(const char *, (size_t) argc);
    for (int i = 1; i < argc; i++)
        ids[i - 1] = argv[i];
    g_autoptr(JsonArray) tags = nube_cli_describe_filtered(
        client, "DescribeTags", "resource-id", ids, "ec2:tagSet/ec2:item", tag_from_item, err);
    if (tags == NULL)
        return -EIO;
    nube_cli_output_rows(cli->format, tags, tag_columns);
    return 0;
}

const NubeCliCommand nube_cli_cmd_tags = {
    .name = "tags",
    .args = "[ID…]",
    .summary = "List tags (of every resource, or of ID…)",
    .description = "Lists tags (DescribeTags): ID TYPE KEY VALUE, of the resources ID… or of\n"
                   "all instances, images, volumes, key pairs and security groups.\n",
    .min_args = 0,
    .max_args = -1,
    .run = tags_run,
};
