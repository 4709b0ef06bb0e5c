/*
 * cli.c: a run of nube and its lazily made client (see cli.h).
 */
#include "cli.h"

#include "args.h"
#include "autostart.h"

#include <stdarg.h>

void nube_cli_init(NubeCli *cli)
{
    *cli = (NubeCli){ .format = NUBE_CLI_OUTPUT_TABLE };
}

void nube_cli_clear(NubeCli *cli)
{
    g_free(cli->opts.endpoint_url);
    g_free(cli->opts.profile);
    g_free(cli->opts.region);
    g_free(cli->opts.state_dir);
    g_free(cli->opts.output);
    nube_cli_profile_free(cli->profile);
    nube_cli_client_free(cli->client);
    nube_cli_init(cli);
}

int nube_cli_usage(NubeError **err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    return nube_error_setc(err, EINVAL, NUBE_CLI_USAGE, "%s", msg);
}

static int cli_resolve(NubeCli *cli, NubeError **err)
{
    g_auto(GStrv) envp = g_get_environ();
    const NubeCliProfileRequest req = {
        .endpoint_url = cli->opts.endpoint_url,
        .profile = cli->opts.profile,
        .region = cli->opts.region,
        .state_dir = cli->opts.state_dir,
        .envp = envp,
        .is_root = geteuid() == 0,
    };
    NubeCliProfile *profile = nube_cli_profile_resolve(&req, err);
    if (profile == NULL)
        return -EIO;
    nube_cli_profile_free(cli->profile);
    cli->profile = profile;
    return 0;
}

const NubeCliProfile *nube_cli_profile(NubeCli *cli, NubeError **err)
{
    if (cli->profile == NULL && cli_resolve(cli, err) < 0)
        return NULL;
    return cli->profile;
}

/* Starts nubed if nothing answers at a loopback endpoint; then resolves
 * again, since the first start writes the local credentials. */
static int cli_autostart(NubeCli *cli, NubeError **err)
{
    g_autoptr(NubeCliEndpoint) ep = nube_cli_endpoint_parse(cli->profile->endpoint_url, err);
    g_autoptr(NubeError) probe_err = NULL;

    if (ep == NULL)
        return -EINVAL;
    if (!ep->loopback || nube_cli_client_probe(ep, &probe_err) != -ECONNREFUSED)
        return 0;

    g_autofree char *creds = cli->profile->local && cli->profile->access_key == NULL
                                 ? g_build_filename(cli->profile->state_dir, "credentials", NULL)
                                 : NULL;
    if (nube_cli_autostart_nubed(ep, cli->profile->state_dir, creds, err) < 0)
        return -EIO;
    return cli_resolve(cli, err);
}

static int no_credentials(const NubeCliProfile *profile, NubeError **err)
{
    if (profile->local)
        return nube_error_set(
            err, ENOKEY,
            "no credentials for profile '%s' in '%s/credentials' (nubed writes them when it first starts), ~/.aws/credentials or the environment",
            profile->name, profile->state_dir);
    return nube_error_set(
        err, ENOKEY,
        "no credentials: profile '%s' has no aws_access_key_id and aws_secret_access_key",
        profile->name);
}

NubeCliClient *nube_cli_client(NubeCli *cli, NubeError **err)
{
    if (cli->client != NULL)
        return cli->client;
    if (nube_cli_profile(cli, err) == NULL)
        return NULL;
    if (!cli->opts.no_autostart && cli_autostart(cli, err) < 0)
        return NULL;
    if (cli->profile->access_key == NULL) {
        no_credentials(cli->profile, err);
        return NULL;
    }
    cli->client = nube_cli_client_new(cli->profile->endpoint_url, cli->profile->region,
                                      cli->profile->access_key, cli->profile->secret_key, err);
    return cli->client;
}

NubeCliClient *nube_cli_begin(NubeCli *cli, const NubeCliCommand *cmd, const GOptionEntry *options,
                              int *argc, char ***argv, int *status, NubeError **err)
{
    int r = nube_cli_args_parse(cli, cmd, options, argc, argv, err);
    if (r != 0) {
        *status = MIN(r, 0);
        return NULL;
    }
    NubeCliClient *client = nube_cli_client(cli, err);
    *status = client == NULL ? -EIO : 0;
    return client;
}
