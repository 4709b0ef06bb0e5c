/*
 * nubed.c: main() of the nube daemon: settings, then the state (database,
 * images, hypervisor), then the API server; runs until SIGTERM/SIGINT.
 * Guests keep running when nubed stops.
 */
#include "api.h"
#include "config.h"
#include "daemon.h"
#include "log.h"
#include "nube-config.h"

#include <glib-unix.h>
#include <stdio.h>
#include <stdlib.h>

static gboolean on_signal(gpointer loop)
{
    nube_info("stopping on signal");
    g_main_loop_quit(loop);
    return G_SOURCE_REMOVE;
}

static int parse_args(int argc, char **argv, NubeConfig *cfg, NubeError **err)
{
    g_autofree char *config_file = NULL, *state_dir = NULL, *listen = NULL;
    g_autofree char *uri = NULL, *accel = NULL, *region = NULL;
    g_auto(GStrv) import_dirs = NULL;
    gboolean version = FALSE, debug = FALSE;
    GOptionEntry entries[] = {
        { "config", 'c', 0, G_OPTION_ARG_FILENAME, &config_file, "Config file", "FILE" },
        { "state-dir", 0, 0, G_OPTION_ARG_FILENAME, &state_dir, "State directory", "DIR" },
        { "listen", 0, 0, G_OPTION_ARG_STRING, &listen, "API address (127.0.0.1:8773)",
          "HOST:PORT" },
        { "libvirt-uri", 0, 0, G_OPTION_ARG_STRING, &uri,
          "libvirt URI (default: embedded driver in the state directory)", "URI" },
        { "accelerator", 0, 0, G_OPTION_ARG_STRING, &accel, "auto, kvm or tcg", "ACCEL" },
        { "region", 0, 0, G_OPTION_ARG_STRING, &region, "Region name", "NAME" },
        { "import-dir", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &import_dirs,
          "A directory NubeImportImage may read (besides STATE/import; repeatable)", "DIR" },
        { "debug", 'd', 0, G_OPTION_ARG_NONE, &debug, "Log debug messages", NULL },
        { "version", 0, 0, G_OPTION_ARG_NONE, &version, "Print the version", NULL },
        { NULL },
    };
    g_autoptr(GOptionContext) ctx = g_option_context_new("- the nube daemon");
    g_autoptr(GError) gerr = NULL;
    g_option_context_add_main_entries(ctx, entries, NULL);
    if (!g_option_context_parse(ctx, &argc, &argv, &gerr))
        return nube_error_set(err, EINVAL, "%s", gerr->message);
    if (version) {
        printf("nubed %s\n", NUBE_VERSION);
        exit(0);
    }
    if (debug)
        nube_log_set_level(NUBE_LOG_DEBUG);
    if (config_file != NULL && nube_config_load_file(cfg, config_file, err) < 0)
        return -EINVAL;
#define TAKE(opt, field)                    \
    if (opt) {                              \
        g_free(cfg->field);                 \
        cfg->field = g_steal_pointer(&opt); \
    }
    TAKE(state_dir, state_dir);
    TAKE(uri, libvirt_uri);
    TAKE(accel, accelerator);
    TAKE(region, region);
#undef TAKE
    for (size_t i = 0; import_dirs != NULL && import_dirs[i] != NULL; i++)
        nube_config_add_import_dir(cfg, import_dirs[i]);
    if (listen != NULL && nube_config_set_listen(cfg, listen, err) < 0)
        return -EINVAL;
    return nube_config_validate(cfg, err);
}

int main(int argc, char **argv)
{
    NubeConfig cfg;
    g_autoptr(NubeError) err = NULL;

    nube_log_set_ident("nubed");
    nube_config_init(&cfg);
    if (parse_args(argc, argv, &cfg, &err) < 0) {
        fprintf(stderr, "nubed: %s\n", err->message);
        nube_config_clear(&cfg);
        return 2;
    }
    NubeDaemon *d = nube_daemon_open(&cfg, &err);
    if (d == NULL) {
        nube_err("%s", err->message);
        return 1;
    }
    NubeApi *api = nube_api_start(&d->cloud, &err);
    if (api == NULL) {
        nube_err("%s", err->message);
        nube_daemon_close(d);
        return 1;
    }
    nube_info("nubed %s listening on %s (state %s)", NUBE_VERSION, d->endpoint, d->cfg.state_dir);

    g_autoptr(GMainLoop) loop = g_main_loop_new(NULL, FALSE);
    g_unix_signal_add(SIGTERM, on_signal, loop);
    g_unix_signal_add(SIGINT, on_signal, loop);
    g_main_loop_run(loop);

    nube_api_stop(api);
    nube_daemon_close(d);
    return 0;
}
