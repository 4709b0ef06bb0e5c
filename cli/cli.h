/*
 * cli.h: one run of nube: its global options, how it prints, and the API
 * client it talks through, made (and nubed started) on first use.
 */
#pragma once

#include "client.h"
#include "output.h"
#include "profile.h"

/* A command of nube (commands.h). */
typedef struct NubeCliCommand NubeCliCommand;

/* Error code of command-line mistakes: main() exits with status 2. */
#define NUBE_CLI_USAGE "nube.Usage"

/* Options every command takes (before or after the command words). */
typedef struct {
    char *endpoint_url;
    char *profile;
    char *region;
    char *state_dir;
    char *output;
    gboolean no_autostart;
    gboolean debug;
    gboolean help;
} NubeCliGlobalOptions;

typedef struct {
    NubeCliGlobalOptions opts;
    const char *command; /* command words, e.g. "image import", or NULL */
    NubeCliOutputFormat format;
    NubeCliProfile *profile; /* resolved by nube_cli_client() */
    NubeCliClient *client;
} NubeCli;

/* Sets CLI to its defaults: no options, table output, no client yet. */
void nube_cli_init(NubeCli *cli);

/* Frees what CLI owns and sets it back to its defaults. */
void nube_cli_clear(NubeCli *cli);

/* Sets ERR to a usage error (code NUBE_CLI_USAGE).  Returns -EINVAL. */
int nube_cli_usage(NubeError **err, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/*
 * The client for the resolved endpoint and keys.  When nothing listens at a
 * loopback endpoint and --no-autostart was not given, starts nubed first
 * and resolves again (nubed writes the local credentials when it first
 * starts).  Returns a client owned by CLI, or NULL with ERR set.
 */
NubeCliClient *nube_cli_client(NubeCli *cli, NubeError **err);

/*
 * The opening of a command that talks to nubed at once: parses *ARGC and
 * *ARGV with CMD's OPTIONS as nube_cli_args_parse() does, then gets the
 * client as nube_cli_client() does.  Returns the client, or NULL with
 * *STATUS set to what the command returns: 0 when --help was printed,
 * -EINVAL with a usage error, -EIO with ERR set when there is no client.
 */
NubeCliClient *nube_cli_begin(NubeCli *cli, const NubeCliCommand *cmd, const GOptionEntry *options,
                              int *argc, char ***argv, int *status, NubeError **err);

/*
 * The profile resolved for CLI (owned by CLI), resolving it if needed.
 * NULL with ERR set when a configuration file cannot be read.
 */
const NubeCliProfile *nube_cli_profile(NubeCli *cli, NubeError **err);
