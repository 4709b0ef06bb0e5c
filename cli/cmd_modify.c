/*
 * cmd_modify.c: nube modify (the type and user data of a stopped instance).
 */
#include "args.h"
#include "commands.h"

#include <string.h>

/* Calls ModifyInstanceAttribute on ID with PARAM=VALUE (EC2 takes one
 * attribute per call). */
static int modify(NubeCliClient *client, const char *id, const char *param, const char *value,
                  NubeError **err)
{
    g_autoptr(NubeCliParams) params = nube_cli_params_new();
    nube_cli_params_add(params, "InstanceId", id);
    nube_cli_params_add(params, param, value);
    g_autoptr(NubeCliReply) reply =
        nube_cli_client_call(client, "ModifyInstanceAttribute", params, err);
    return reply == NULL ? -EIO : 0;
}

/* The user data of --user-data FILE or --user-data-text TEXT, base64
 * (new string), or NULL with ERR set (*ERR unset: neither was given). */
static char *user_data_b64(const char *file, const char *text, NubeError **err)
{
    g_autofree char *data = NULL;
    gsize len = 0;
    g_autoptr(GError) gerr = NULL;

    if (file != NULL && text != NULL) {
        nube_cli_usage(err, "--user-data and --user-data-text exclude each other");
        return NULL;
    }
    if (text != NULL) {
        data = g_strdup(text);
        len = strlen(text);
    } else if (file != NULL && !g_file_get_contents(file, &data, &len, &gerr)) {
        nube_error_set(err, EIO, "read user data '%s': %s", file, gerr->message);
        return NULL;
    }
    return data ? g_base64_encode((const guchar *) data, len) : NULL;
}

static int modify_run(NubeCli *cli, const NubeCliCommand *cmd, int argc, char **argv,
                      NubeError **err)
{
    g_autofree char *type = NULL, *file = NULL, *text = NULL;
    const GOptionEntry options[] = {
        { "type", 't', 0, G_OPTION_ARG_STRING, &type, "New instance type", "TYPE" },
        { "user-data", 0, 0, G_OPTION_ARG_FILENAME, &file, "File with the new user data", "FILE" },
        { "user-data-text", 0, 0, G_OPTION_ARG_STRING, &text, "The new user data as text", "TEXT" },
        G_OPTION_ENTRY_NULL
    };
    int r = nube_cli_args_parse(cli, cmd, options, &argc, &argv, err);
    if (r != 0)
        return MIN(r, 0);
    g_autofree char *user_data = user_data_b64(file, text, err);
    if (user_data == NULL && err != NULL && *err != NULL)
        return -EINVAL;
    if (type == NULL && user_data == NULL)
        return nube_cli_usage(err, "give --type, --user-data or --user-data-text");

    NubeCliClient *client = nube_cli_client(cli, err);
    if (client == NULL)
        return -EIO;
    if (type != NULL && modify(client, argv[1], "InstanceType.Value", type, err) < 0)
        return -EIO;
    if (user_data != NULL && modify(client, argv[1], "UserData.Value", user_data, err) < 0)
        return -EIO;
    return 0;
}

const NubeCliCommand nube_cli_cmd_modify = {
    .name = "modify",
    .args = "ID",
    .summary = "Change the type or user data of a stopped instance",
    .description =
        "Changes the instance type and/or the user data of stopped instance ID\n"
        "(ModifyInstanceAttribute); its next start uses them.  As on EC2, cloud-init runs\n"
        "user data once per instance: new user data is seen by the guest (in the seed and\n"
        "the metadata) but its scripts do not run again on an instance that ran them.\n"
        "Example: nube modify i-0123456789abcdef0 --type t3.small\n",
    .min_args = 1,
    .max_args = 1,
    .run = modify_run,
};
