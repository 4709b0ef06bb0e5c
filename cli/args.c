/*
 * args.c: GOption-based parsing of global and command options (see args.h).
 */
#include "args.h"

#include "log.h"

#include <stdio.h>
#include <string.h>

GOptionGroup *nube_cli_args_global_group(NubeCliGlobalOptions *opts)
{
    const GOptionEntry entries[] = {
        { "endpoint-url", 0, 0, G_OPTION_ARG_STRING, &opts->endpoint_url,
          "URL of nubed (default: the profile's, else http://127.0.0.1:8773)", "URL" },
        { "profile", 0, 0, G_OPTION_ARG_STRING, &opts->profile,
          "Profile of the AWS CLI files to use (default: nube, then default)", "NAME" },
        { "region", 0, 0, G_OPTION_ARG_STRING, &opts->region,
          "Region to sign requests for (default: the profile's, else nube-local-1)", "REGION" },
        { "state-dir", 0, 0, G_OPTION_ARG_FILENAME, &opts->state_dir,
          "State directory of the local nubed (default: $NUBE_STATE_DIR, else /var/lib/nube as root, ~/.local/state/nube otherwise)",
          "DIR" },
        { "output", 'o', 0, G_OPTION_ARG_STRING, &opts->output,
          "Output format: table (default) or json", "table|json" },
        { "no-autostart", 0, 0, G_OPTION_ARG_NONE, &opts->no_autostart,
          "Do not start a local nubed when none answers", NULL },
        { "debug", 0, 0, G_OPTION_ARG_NONE, &opts->debug, "Log requests and answers on stderr",
          NULL },
        { "help", 'h', 0, G_OPTION_ARG_NONE, &opts->help, "Show this help", NULL },
        G_OPTION_ENTRY_NULL
    };
    GOptionGroup *group =
        g_option_group_new("global", "Global Options:", "Show the global options", NULL, NULL);
    g_option_group_add_entries(group, entries);
    return group;
}

static void take_string(char **dst, char **src)
{
    if (*src == NULL)
        return;
    g_free(*dst);
    *dst = g_steal_pointer(src);
}

int nube_cli_args_apply(NubeCli *cli, NubeCliGlobalOptions *src, NubeError **err)
{
    NubeCliGlobalOptions *dst = &cli->opts;

    take_string(&dst->endpoint_url, &src->endpoint_url);
    take_string(&dst->profile, &src->profile);
    take_string(&dst->region, &src->region);
    take_string(&dst->state_dir, &src->state_dir);
    take_string(&dst->output, &src->output);
    dst->no_autostart |= src->no_autostart;
    dst->debug |= src->debug;
    dst->help |= src->help;

    if (dst->debug)
        nube_log_set_level(NUBE_LOG_DEBUG);
    if (dst->output && nube_cli_output_format_parse(dst->output, &cli->format) < 0)
        return nube_cli_usage(err, "unknown output format '%s' (table or json)", dst->output);
    return 0;
}

static GOptionContext *command_context(const NubeCliCommand *cmd, const GOptionEntry *options,
                                       NubeCliGlobalOptions *opts)
{
    g_autofree char *params =
        g_strdup_printf("%s%s%s", cmd->name, cmd->args ? " " : "", cmd->args ? cmd->args : "");
    GOptionContext *ctx = g_option_context_new(params);

    g_option_context_set_help_enabled(ctx, FALSE);
    g_option_context_set_summary(ctx, cmd->summary);
    if (cmd->description)
        g_option_context_set_description(ctx, cmd->description);
    if (options != NULL) {
        GOptionGroup *group =
            g_option_group_new("command", "Options:", "Show the command's options", NULL, NULL);
        g_option_group_add_entries(group, options);
        g_option_context_add_group(ctx, group);
    }
    g_option_context_add_group(ctx, nube_cli_args_global_group(opts));
    return ctx;
}

/* Removes the first "--" from ARGV[1..]. */
static void drop_separator(int *argc, char **argv)
{
    for (int i = 1; i < *argc; i++) {
        if (strcmp(argv[i], "--") == 0) {
            memmove(&argv[i], &argv[i + 1], sizeof(char *) * (size_t) (*argc - i));
            (*argc)--;
            return;
        }
    }
}

static int check_count(const NubeCliCommand *cmd, int n)
{
    if (n < cmd->min_args)
        return -1;
    if (cmd->max_args >= 0 && n > cmd->max_args)
        return 1;
    return 0;
}

int nube_cli_args_parse(NubeCli *cli, const NubeCliCommand *cmd, const GOptionEntry *options,
                        int *argc, char ***argv, NubeError **err)
{
    NubeCliGlobalOptions opts = { 0 };
    g_autoptr(GOptionContext) ctx = command_context(cmd, options, &opts);
    g_autoptr(GError) gerr = NULL;

    cli->command = cmd->name;
    if (!g_option_context_parse(ctx, argc, argv, &gerr))
        return nube_cli_usage(err, "%s", gerr->message);
    if (nube_cli_args_apply(cli, &opts, err) < 0)
        return -EINVAL;
    if (cli->opts.help) {
        g_autofree char *help = g_option_context_get_help(ctx, FALSE, NULL);
        fputs(help, stdout);
        return 1;
    }
    drop_separator(argc, *argv);
    int count = check_count(cmd, *argc - 1);
    if (count < 0)
        return nube_cli_usage(err, "missing argument: nube %s %s", cmd->name, cmd->args);
    if (count > 0)
        return nube_cli_usage(err, "unexpected argument '%s'", (*argv)[cmd->max_args + 1]);
    return 0;
}
