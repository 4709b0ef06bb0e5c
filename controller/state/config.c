/*
 * config.c: nubed's settings (see config.h).
 */
#include "config.h"

#include "nube-config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

char *nube_config_default_state_dir(void)
{
    if (geteuid() == 0)
        return g_strdup("/var/lib/nube");
    return g_build_filename(g_get_user_state_dir(), "nube", NULL);
}

void nube_config_init(NubeConfig *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->state_dir = nube_config_default_state_dir();
    cfg->listen_host = g_strdup("127.0.0.1");
    cfg->listen_port = NUBE_DEFAULT_PORT;
    cfg->accelerator = g_strdup("auto");
    cfg->region = g_strdup(NUBE_DEFAULT_REGION);
    cfg->max_image_gib = NUBE_DEFAULT_MAX_IMAGE_GIB;
}

void nube_config_clear(NubeConfig *cfg)
{
    g_free(cfg->state_dir);
    g_free(cfg->listen_host);
    g_free(cfg->libvirt_uri);
    g_free(cfg->accelerator);
    g_free(cfg->region);
    g_strfreev(cfg->import_dirs);
    memset(cfg, 0, sizeof(*cfg));
}

int nube_config_set_listen(NubeConfig *cfg, const char *listen, NubeError **err)
{
    const char *colon = strrchr(listen, ':');
    if (colon == NULL || colon == listen)
        return nube_error_set(err, EINVAL, "listen address '%s' is not HOST:PORT", listen);

    char *end = NULL;
    errno = 0;
    long port = strtol(colon + 1, &end, 10);
    if (errno != 0 || *end != '\0' || port < 1 || port > 65535)
        return nube_error_set(err, EINVAL, "listen port in '%s' is not 1-65535", listen);

    g_free(cfg->listen_host);
    cfg->listen_host = g_strndup(listen, colon - listen);
    cfg->listen_port = (guint16) port;
    return 0;
}

static void take_string(GKeyFile *kf, const char *key, char **dst)
{
    char *v = g_key_file_get_string(kf, "nubed", key, NULL);
    if (v != NULL) {
        g_free(*dst);
        *dst = g_strstrip(v);
    }
}

int nube_config_load_file(NubeConfig *cfg, const char *path, NubeError **err)
{
    g_autoptr(GKeyFile) kf = g_key_file_new();
    g_autoptr(GError) gerr = NULL;

    if (!g_key_file_load_from_file(kf, path, G_KEY_FILE_NONE, &gerr))
        return nube_error_set(err, EINVAL, "config file '%s': %s", path, gerr->message);

    take_string(kf, "state_dir", &cfg->state_dir);
    take_string(kf, "libvirt_uri", &cfg->libvirt_uri);
    take_string(kf, "accelerator", &cfg->accelerator);
    take_string(kf, "region", &cfg->region);
    g_auto(GStrv) dirs = g_key_file_get_string_list(kf, "nubed", "import_dirs", NULL, NULL);
    for (size_t i = 0; dirs != NULL && dirs[i] != NULL; i++)
        nube_config_add_import_dir(cfg, g_strstrip(dirs[i]));
    if (g_key_file_has_key(kf, "nubed", "max_image_gib", NULL)) {
        guint64 gib = g_key_file_get_uint64(kf, "nubed", "max_image_gib", &gerr);
        if (gerr != NULL || gib == 0)
            return nube_error_set(err, EINVAL,
                                  "config file '%s': max_image_gib is not a positive number", path);
        cfg->max_image_gib = gib;
    }

    g_autofree char *listen = g_key_file_get_string(kf, "nubed", "listen", NULL);
    if (listen != NULL && nube_config_set_listen(cfg, g_strstrip(listen), err) < 0)
        return nube_error_prefix(err, "config file '%s'", path);
    return 0;
}

static gboolean region_valid(const char *r)
{
    size_t n = strlen(r);
    if (n == 0 || n > 63 || r[0] == '-' || r[n - 1] == '-')
        return FALSE;
    for (size_t i = 0; i < n; i++)
        if (!g_ascii_isalnum(r[i]) && r[i] != '-')
            return FALSE;
    return TRUE;
}

int nube_config_validate(const NubeConfig *cfg, NubeError **err)
{
    if (!g_str_equal(cfg->accelerator, "auto") && !g_str_equal(cfg->accelerator, "kvm") &&
        !g_str_equal(cfg->accelerator, "tcg"))
        return nube_error_set(err, EINVAL, "accelerator '%s' is not auto, kvm or tcg",
                              cfg->accelerator);
    if (!region_valid(cfg->region))
        return nube_error_set(err, EINVAL, "region '%s' is not a valid name", cfg->region);
    if (cfg->state_dir == NULL || cfg->state_dir[0] != '/')
        return nube_error_set(err, EINVAL, "state directory '%s' is not an absolute path",
                              cfg->state_dir ? cfg->state_dir : "");
    for (size_t i = 0; cfg->import_dirs != NULL && cfg->import_dirs[i] != NULL; i++)
        if (!g_path_is_absolute(cfg->import_dirs[i]))
            return nube_error_set(err, EINVAL, "import directory '%s' is not an absolute path",
                                  cfg->import_dirs[i]);
    return 0;
}

/* BUILDDIR/agent/nube-agent when this program is BUILDDIR/<dir>/<name>,
 * or NULL. */
static char *build_tree_agent(void)
{
    g_autofree char *exe = g_file_read_link("/proc/self/exe", NULL);
    if (exe == NULL)
        return NULL;
    g_autofree char *dir = g_path_get_dirname(exe);
    g_autofree char *rel = g_build_filename(dir, "..", "agent", "nube-agent", NULL);
    char *path = g_canonicalize_filename(rel, NULL);
    if (!g_file_test(path, G_FILE_TEST_IS_REGULAR)) {
        g_free(path);
        return NULL;
    }
    return path;
}

char *nube_config_agent_path(void)
{
    const char *env = g_getenv("NUBE_AGENT_PATH");
    if (env != NULL && env[0] != '\0')
        return g_strdup(env);
    char *built = build_tree_agent();
    if (built != NULL)
        return built;
    return g_build_filename(NUBE_LIBEXECDIR, "nube-agent", NULL);
}

void nube_config_add_import_dir(NubeConfig *cfg, const char *dir)
{
    guint n = cfg->import_dirs ? g_strv_length(cfg->import_dirs) : 0;
    cfg->import_dirs = g_renew(char *, cfg->import_dirs, n + 2);
    cfg->import_dirs[n] = g_strdup(dir);
    cfg->import_dirs[n + 1] = NULL;
}

char **nube_config_import_dirs(const NubeConfig *cfg)
{
    g_autoptr(GStrvBuilder) b = g_strv_builder_new();
    g_autofree char *own = g_build_filename(cfg->state_dir, "import", NULL);
    g_strv_builder_add(b, own);
    for (size_t i = 0; cfg->import_dirs != NULL && cfg->import_dirs[i] != NULL; i++)
        g_strv_builder_add(b, cfg->import_dirs[i]);
    return g_strv_builder_end(b);
}
