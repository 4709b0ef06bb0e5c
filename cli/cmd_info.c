/*
 * cmd_info.c: nube info: what nubed says about its host, and how this
 * nube reached it.
 */
#include "args.h"
#include "commands.h"
#include "nube-config.h"

#include <stdio.h>

static const NubeCliReplyField host_fields[] = {
    { "Version", "ec2:version", NUBE_CLI_FIELD_STRING },
    { "LibvirtUri", "ec2:libvirtUri", NUBE_CLI_FIELD_STRING },
    { "Accelerator", "ec2:accelerator", NUBE_CLI_FIELD_STRING },
    { "AcceleratorReason", "ec2:acceleratorReason", NUBE_CLI_FIELD_STRING },
    { "StateDir", "ec2:stateDir", NUBE_CLI_FIELD_STRING },
    { "Region", "ec2:region", NUBE_CLI_FIELD_STRING },
    { "Endpoint", "ec2:endpoint", NUBE_CLI_FIELD_STRING },
    { "StartedAt", "ec2:startedAt", NUBE_CLI_FIELD_STRING },
    { NULL, NULL, 0 },
};

static const NubeCliColumn info_fields[] = {
    { "nubed version", "Host.Version", NULL },
    { "Libvirt URI", "Host.LibvirtUri", NULL },
    { "Accelerator", "Host.Accelerator", NULL },
    { "Accelerator reason", "Host.AcceleratorReason", NULL },
    { "State dir", "Host.StateDir", NULL },
    { "Region", "Host.Region", NULL },
    { "Endpoint", "Host.Endpoint", NULL },
    { "Started at", "Host.StartedAt", NULL },
    { "nube version", "Client.Version", NULL },
    { "nube endpoint", "Client.Endpoint", NULL },
    { "nube profile", "Client.Profile", NULL },
    { "nube region", "Client.Region", NULL },
    { "nube credentials", "Client.Credentials", NULL },
    { NULL, NULL, NULL },
};

static JsonObject *client_object(const NubeCliProfile *profile)
{
    JsonObject *obj = json_object_new();
    json_object_set_string_member(obj, "Version", NUBE_VERSION);
    json_object_set_string_member(obj, "Endpoint", profile->endpoint_url);
    json_object_set_string_member(obj, "Profile", profile->name);
    json_object_set_string_member(obj, "Region", profile->region);
    json_object_set_string_member(obj, "Credentials", profile->credentials_source);
    return obj;
}

static int info_run(NubeCli *cli, const NubeCliCommand *cmd, int argc, char **argv, NubeError **err)
{
    int status;
    NubeCliClient *client = nube_cli_begin(cli, cmd, NULL, &argc, &argv, &status, err);
    if (client == NULL)
        return status;
    g_autoptr(NubeCliReply) reply = nube_cli_client_call(client, "NubeDescribeHost", NULL, err);
    if (reply == NULL)
        return -EIO;

    g_autoptr(JsonObject) info = json_object_new();
    nube_cli_reply_set_object(reply, info, "Host", NULL, "ec2:host", host_fields);
    json_object_set_object_member(info, "Client", client_object(cli->profile));
    if (cli->format == NUBE_CLI_OUTPUT_JSON)
        nube_cli_output_json_object(stdout, info);
    else
        nube_cli_output_fields(stdout, info, info_fields);
    return 0;
}

const NubeCliCommand nube_cli_cmd_info = {
    .name = "info",
    .summary = "Show nubed's host and how nube reaches it",
    .description =
        "Shows what nubed reports about its host (extension action\n"
        "NubeDescribeHost: version, libvirt URI, accelerator and why, state\n"
        "directory, region, endpoint, start time) and the endpoint, profile, region and\n"
        "credentials file this nube used.\n",
    .min_args = 0,
    .max_args = 0,
    .run = info_run,
};
