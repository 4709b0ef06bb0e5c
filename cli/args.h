/*
 * args.h: command-line parsing with GOption: the global options and the
 * options and positional arguments of one command, with --help.
 */
#pragma once

#include "commands.h"

/*
 * The global options, storing into OPTS, as a group for a GOptionContext
 * (caller owns it until it is added to a context).
 */
GOptionGroup *nube_cli_args_global_group(NubeCliGlobalOptions *opts);

/*
 * Moves the options set in SRC into DST (SRC's strings are taken; SRC is
 * left empty), then applies the result: --debug, the --output format.
 * Returns 0, or -EINVAL with a usage error for an unknown format.
 */
int nube_cli_args_apply(NubeCli *cli, NubeCliGlobalOptions *src, NubeError **err);

/*
 * Parses *ARGC and *ARGV (ARGV[0] is the last command word) with CMD's OPTIONS
 * (may be NULL) and the global options.  On return ARGV[1 .. *ARGC-1] are
 * the positional arguments ("--" removed).  Returns 0 to go on, 1 when
 * --help was printed (the command should then return 0), or -EINVAL with a
 * usage error.
 */
int nube_cli_args_parse(NubeCli *cli, const NubeCliCommand *cmd, const GOptionEntry *options,
                        int *argc, char ***argv, NubeError **err);
