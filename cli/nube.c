/*
 * nube.c: main() of the nube command: global options, dispatch to the
 * commands, and the one place where errors are reported.
 */
#include "args.h"
#include "commands.h"
#include "log.h"
#include "nube-config.h"

#include <curl/curl.h>
#include <locale.h>
#include <stdio.h>
#include <string.h>

#define SUMMARY_COLUMN 32

static const NubeCliCommand *const commands[] = {
    &nube_cli_cmd_demo,
    &nube_cli_cmd_image_build_default,
    &nube_cli_cmd_image_import,
    &nube_cli_cmd_image_create,
    &nube_cli_cmd_image_list,
    &nube_cli_cmd_image_deregister,
    &nube_cli_cmd_repo_add,
    &nube_cli_cmd_run,
    &nube_cli_cmd_ps,
    &nube_cli_cmd_describe,
    &nube_cli_cmd_stop,
    &nube_cli_cmd_start,
    &nube_cli_cmd_reboot,
    &nube_cli_cmd_terminate,
    &nube_cli_cmd_wait,
    &nube_cli_cmd_console,
    &nube_cli_cmd_keypair_create,
    &nube_cli_cmd_keypair_import,
    &nube_cli_cmd_keypair_list,
    &nube_cli_cmd_keypair_delete,
    &nube_cli_cmd_sg_create,
    &nube_cli_cmd_sg_list,
    &nube_cli_cmd_sg_allow,
    &nube_cli_cmd_sg_revoke,
    &nube_cli_cmd_sg_delete,
    &nube_cli_cmd_info,
    &nube_cli_cmd_modify,
    &nube_cli_cmd_tag,
    &nube_cli_cmd_untag,
    &nube_cli_cmd_tags,
};

static const char description[] =
    "Endpoint and credentials are found as the AWS CLI finds them: --endpoint-url,\n"
    "--profile, --region; $AWS_ENDPOINT_URL, $AWS_PROFILE, $AWS_REGION,\n"
    "$AWS_ACCESS_KEY_ID and $AWS_SECRET_ACCESS_KEY; profile \"nube\" (else\n"
    "\"default\" when it names an endpoint_url) in $AWS_SHARED_CREDENTIALS_FILE\n"
    "(~/.aws/credentials, [nube]) and $AWS_CONFIG_FILE (~/.aws/config,\n"
    "[profile nube] with region and endpoint_url).  Without any of these nube\n"
    "uses the local nubed: STATE/credentials, STATE/config and\n"
    "http://127.0.0.1:8773.  When nothing answers at a loopback endpoint, nube\n"
    "starts `nubed --state-dir STATE --listen HOST:PORT` (log: STATE/nubed.log)\n"
    "unless --no-autostart is given.\n"
    "\n"
    "Exit status: 0 on success, 1 when a request or a wait fails, 2 for a\n"
    "command-line mistake.  Run 'nube COMMAND --help' for a command's options.\n";

static char *commands_summary(void)
{
    GString *text = g_string_new("The command-line client of nubed, a small private cloud "
                                 "speaking the EC2 Query API.\n\nCommands:");
    for (size_t i = 0; i < G_N_ELEMENTS(commands); i++) {
        g_autofree char *usage =
            g_strdup_printf("%s%s%s", commands[i]->name, commands[i]->args ? " " : "",
                            commands[i]->args ? commands[i]->args : "");
        glong len = g_utf8_strlen(usage, -1);
        g_string_append_printf(text, "\n  %s", usage);
        if (len > SUMMARY_COLUMN - 3)
            g_string_append_printf(text, "\n  %*s", SUMMARY_COLUMN - 2, "");
        else
            g_string_append_printf(text, "%*s", (int) (SUMMARY_COLUMN - 2 - len), "");
        g_string_append(text, commands[i]->summary);
    }
    return g_string_free(text, FALSE);
}

static GOptionContext *main_context(NubeCliGlobalOptions *opts, gboolean *version)
{
    const GOptionEntry entries[] = { { "version", 0, 0, G_OPTION_ARG_NONE, version,
                                       "Print the version of nube", NULL },
                                     G_OPTION_ENTRY_NULL };
    g_autofree char *summary = commands_summary();
    GOptionContext *ctx = g_option_context_new("COMMAND [ARGUMENT…]");

    g_option_context_set_help_enabled(ctx, FALSE);
    g_option_context_set_strict_posix(ctx, TRUE);
    g_option_context_set_summary(ctx, summary);
    g_option_context_set_description(ctx, description);
    g_option_context_add_group(ctx, nube_cli_args_global_group(opts));
    g_option_context_add_main_entries(ctx, entries, NULL);
    return ctx;
}

/* Whether ARGV starts with the words of NAME; sets *N_WORDS. */
static gboolean command_matches(const char *name, int argc, char **argv, int *n_words)
{
    g_auto(GStrv) words = g_strsplit(name, " ", -1);
    int n = (int) g_strv_length(words);

    if (n > argc)
        return FALSE;
    for (int i = 0; i < n; i++) {
        if (strcmp(words[i], argv[i]) != 0)
            return FALSE;
    }
    *n_words = n;
    return TRUE;
}

static const NubeCliCommand *command_find(int argc, char **argv, int *n_words)
{
    for (size_t i = 0; i < G_N_ELEMENTS(commands); i++) {
        if (command_matches(commands[i]->name, argc, argv, n_words))
            return commands[i];
    }
    return NULL;
}

/* Whether WORD is the first word of commands such as "image import". */
static gboolean is_group(const char *word)
{
    g_autofree char *prefix = g_strconcat(word, " ", NULL);
    for (size_t i = 0; i < G_N_ELEMENTS(commands); i++) {
        if (g_str_has_prefix(commands[i]->name, prefix))
            return TRUE;
    }
    return FALSE;
}

static gboolean is_help(const char *arg)
{
    return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0;
}

static int print_help(GOptionContext *ctx)
{
    g_autofree char *help = g_option_context_get_help(ctx, FALSE, NULL);
    fputs(help, stdout);
    return 0;
}

static int unknown_command(int argc, char **argv, NubeError **err)
{
    if (!is_group(argv[0]))
        return nube_cli_usage(err, "unknown command '%s'", argv[0]);
    if (argc > 1)
        return nube_cli_usage(err, "unknown command '%s %s'", argv[0], argv[1]);
    return nube_cli_usage(err, "missing %s command", argv[0]);
}

static int nube_main(NubeCli *cli, int argc, char **argv, NubeError **err)
{
    NubeCliGlobalOptions opts = { 0 };
    gboolean version = FALSE;
    g_autoptr(GOptionContext) ctx = main_context(&opts, &version);
    g_autoptr(GError) gerr = NULL;
    int n_words = 0;

    if (!g_option_context_parse(ctx, &argc, &argv, &gerr))
        return nube_cli_usage(err, "%s", gerr->message);
    if (nube_cli_args_apply(cli, &opts, err) < 0)
        return -EINVAL;
    if (version) {
        printf("nube %s\n", NUBE_VERSION);
        return 0;
    }
    if (cli->opts.help)
        return print_help(ctx);
    if (argc < 2)
        return nube_cli_usage(err, "missing command");
    const NubeCliCommand *cmd = command_find(argc - 1, argv + 1, &n_words);
    if (cmd == NULL && argc > 2 && is_help(argv[2]) && is_group(argv[1]))
        return print_help(ctx);
    if (cmd == NULL)
        return unknown_command(argc - 1, argv + 1, err);
    return cmd->run(cli, cmd, argc - n_words, argv + n_words, err);
}

/* Prints ERR once and returns the exit status. */
static int report(const NubeCli *cli, const NubeError *err)
{
    if (err == NULL) {
        fprintf(stderr, "nube: failed without a message\n");
        return 1;
    }
    if (g_strcmp0(err->code, NUBE_CLI_USAGE) == 0) {
        fprintf(stderr, "nube: %s\nTry 'nube %s%s--help' for more information.\n", err->message,
                cli->command ? cli->command : "", cli->command ? " " : "");
        return 2;
    }
    if (err->code != NULL)
        fprintf(stderr, "nube: %s: %s\n", err->code, err->message);
    else
        fprintf(stderr, "nube: %s\n", err->message);
    return 1;
}

int main(int argc, char **argv)
{
    g_autoptr(NubeError) err = NULL;
    NubeCli cli;

    setlocale(LC_ALL, "");
    g_set_prgname("nube");
    nube_log_set_ident("nube");
    curl_global_init(CURL_GLOBAL_DEFAULT);
    nube_cli_init(&cli);

    int status = nube_main(&cli, argc, argv, &err) < 0 ? report(&cli, err) : 0;
    if (fflush(stdout) != 0 && status == 0) {
        fprintf(stderr, "nube: write to stdout: %s\n", g_strerror(errno));
        status = 1;
    }
    nube_cli_clear(&cli);
    curl_global_cleanup();
    return status;
}
