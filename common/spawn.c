/*
 * spawn.c: running helper programs (see spawn.h).
 */
#include "spawn.h"
#include "log.h"

#include <string.h>

static char **build_env(const char *const *envp)
{
    char **env = g_get_environ();
    for (size_t i = 0; envp != NULL && envp[i] != NULL; i++) {
        const char *eq = strchr(envp[i], '=');
        if (eq == NULL)
            continue;
        g_autofree char *name = g_strndup(envp[i], eq - envp[i]);
        env = g_environ_setenv(env, name, eq + 1, TRUE);
    }
    return env;
}

static char *tail_lines(const char *text, int max_lines)
{
    if (text == NULL)
        return g_strdup("");
    g_autofree char *copy = g_strstrip(g_strdup(text));
    const char *p = copy + strlen(copy);
    int lines = 0;
    while (p > copy) {
        p--;
        if (*p == '\n' && ++lines == max_lines) {
            p++;
            break;
        }
    }
    return g_strdup(p);
}

static int check_status(const char *prog, int status, const char *errtext, NubeError **err)
{
    g_autoptr(GError) gerr = NULL;
    if (g_spawn_check_wait_status(status, &gerr))
        return 0;
    g_autofree char *tail = tail_lines(errtext, 8);
    return nube_error_set(err, EIO, "%s failed (%s): %s", prog, gerr->message, tail);
}

int nube_spawn(const char *const *argv, const char *const *envp, char **out, NubeError **err)
{
    g_auto(GStrv) env = build_env(envp);
    g_autofree char *child_out = NULL;
    g_autofree char *child_err = NULL;
    g_autoptr(GError) gerr = NULL;
    int status = 0;

    nube_debug("spawn: %s", argv[0]);
    if (!g_spawn_sync(NULL, (char **) argv, env, G_SPAWN_SEARCH_PATH | G_SPAWN_CLOEXEC_PIPES, NULL,
                      NULL, &child_out, &child_err, &status, &gerr))
        return nube_error_set(err, ENOENT, "run '%s': %s", argv[0], gerr->message);

    int r = check_status(argv[0], status, child_err, err);
    if (r < 0)
        return r;
    if (out != NULL)
        *out = g_steal_pointer(&child_out);
    return 0;
}

static void child_redirect(gpointer data)
{
    int fd = GPOINTER_TO_INT(data);
    dup2(fd, STDOUT_FILENO);
    dup2(fd, STDERR_FILENO);
}

int nube_spawn_logged(const char *const *argv, const char *const *envp, int log_fd,
                      const char *log_path, NubeError **err)
{
    g_auto(GStrv) env = build_env(envp);
    g_autoptr(GError) gerr = NULL;
    int status = 0;

    nube_debug("spawn (logged to %s): %s", log_path, argv[0]);
    if (!g_spawn_sync(NULL, (char **) argv, env, G_SPAWN_SEARCH_PATH | G_SPAWN_STDIN_FROM_DEV_NULL,
                      child_redirect, GINT_TO_POINTER(log_fd), NULL, NULL, &status, &gerr))
        return nube_error_set(err, ENOENT, "run '%s': %s", argv[0], gerr->message);

    g_autofree char *log = NULL;
    if (log_path != NULL)
        g_file_get_contents(log_path, &log, NULL, NULL);
    return check_status(argv[0], status, log, err);
}
