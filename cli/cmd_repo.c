/*
 * cmd_repo.c: nube repo add: Debian packages for guests without internet,
 * in nubed's package repository on the host.
 */
#include "args.h"
#include "commands.h"

#include <stdio.h>

int nube_cli_cmd_repo_add_packages(NubeCliClient *client, const char *const *packages,
                                   char **apt_source, gint64 *added, NubeError **err)
{
    g_autoptr(NubeCliParams) params = nube_cli_params_new();
    nube_cli_params_add_list(params, "Package", packages);
    g_autoptr(NubeCliReply) reply = nube_cli_client_call(client, "NubeAddPackages", params, err);
    if (reply == NULL)
        return -EIO;

    g_autofree char *source = nube_cli_reply_text(reply, NULL, "ec2:aptSource");
    g_autofree char *count = nube_cli_reply_text(reply, NULL, "ec2:added");
    if (source == NULL || *g_strstrip(source) == '\0')
        return nube_error_set(err, EPROTO, "the answer to NubeAddPackages has no aptSource");
    *added = 0;
    if (count != NULL)
        g_ascii_string_to_signed(g_strstrip(count), 10, 0, G_MAXINT64, added, NULL);
    *apt_source = g_steal_pointer(&source);
    return 0;
}

static int repo_add_run(NubeCli *cli, const NubeCliCommand *cmd, int argc, char **argv,
                        NubeError **err)
{
    int status;
    NubeCliClient *client = nube_cli_begin(cli, cmd, NULL, &argc, &argv, &status, err);
    if (client == NULL)
        return status;

    g_autofree char *source = NULL;
    gint64 added = 0;
    if (nube_cli_cmd_repo_add_packages(client, (const char *const *) argv + 1, &source, &added,
                                       err) < 0)
        return -EIO;
    if (cli->format == NUBE_CLI_OUTPUT_JSON) {
        g_autoptr(JsonObject) obj = json_object_new();
        json_object_set_int_member(obj, "Added", added);
        json_object_set_string_member(obj, "AptSource", source);
        nube_cli_output_json_object(stdout, obj);
    } else {
        fprintf(stderr, "nube: %" G_GINT64_FORMAT " new package file%s in the repository\n", added,
                added == 1 ? "" : "s");
        printf("%s\n", source);
    }
    return 0;
}

const NubeCliCommand nube_cli_cmd_repo_add = {
    .name = "repo add",
    .args = "PACKAGE…",
    .summary = "Add Debian packages to the guests' package repository",
    .description = "Asks nubed to add the packages and all their dependencies to its package\n"
                   "repository for guests (extension action NubeAddPackages): guests have no\n"
                   "internet, so nubed downloads them from the Debian mirror of its host's apt\n"
                   "configuration (the first time; seconds to minutes) and serves them to guests\n"
                   "on 169.254.169.2.  Prints the apt source line a guest needs, e.g.\n"
                   "  deb [trusted=yes] http://169.254.169.2:PORT/ ./\n"
                   "for /etc/apt/sources.list.d/nube.list (with --output json: Added, AptSource).\n"
                   "Example: nube repo add apache2\n",
    .min_args = 1,
    .max_args = -1,
    .run = repo_add_run,
};
