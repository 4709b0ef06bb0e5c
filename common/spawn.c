/*
 * spawn.c: running helper programs (see spawn.h).
 */
#include "spawn.h"
#include "log.h"

#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

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

/*
 * ARGV wrapped so that the helper and everything it starts die with nubed:
 * as root, the helper runs as the first process of a PID namespace of its
 * own (util-linux unshare(1)), which the kernel empties when that process
 * dies, and the process is killed when unshare is.  Elsewhere ARGV as it
 * is.  A new array of borrowed strings (free the array only).
 */
static const char **contained_argv(const char *const *argv)
{
    static const char *const wrap[] = { "unshare", "--pid", "--fork", "--kill-child=SIGKILL",
                                        "--" };
    static gsize can_wrap = 0;
    if (g_once_init_enter(&can_wrap)) {
        g_autofree char *prog = g_find_program_in_path("unshare");
        g_once_init_leave(&can_wrap, geteuid() == 0 && prog != NULL ? 2 : 1);
    }
    gsize n = g_strv_length((char **) argv), w = can_wrap == 2 ? G_N_ELEMENTS(wrap) : 0;
    const char **out = g_new0(const char *, w + n + 1);
    memcpy(out, wrap, w * sizeof(*out));
    memcpy(out + w, argv, n * sizeof(*out));
    return out;
}

/* nubed's pid, set before each fork (the same for every thread). */
static pid_t spawner;

/* In the child: killed when the nubed thread that started it dies (the
 * spawning thread waits for the child, so it lives as long as nubed). */
static void die_with_parent(void)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != spawner)
        _exit(127); /* the parent died before prctl */
}

static void child_plain(gpointer data)
{
    die_with_parent();
}

int nube_spawn(const char *const *argv, const char *const *envp, char **out, NubeError **err)
{
    g_auto(GStrv) env = build_env(envp);
    g_autofree char *child_out = NULL;
    g_autofree char *child_err = NULL;
    g_autoptr(GError) gerr = NULL;
    int status = 0;

    g_autofree const char **run = contained_argv(argv);
    spawner = getpid();

    nube_debug("spawn: %s", argv[0]);
    if (!g_spawn_sync(NULL, (char **) run, env, G_SPAWN_SEARCH_PATH | G_SPAWN_CLOEXEC_PIPES,
                      child_plain, NULL, &child_out, &child_err, &status, &gerr))
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
    die_with_parent();
    dup2(fd, STDOUT_FILENO);
    dup2(fd, STDERR_FILENO);
}

int nube_spawn_logged(const char *const *argv, const char *const *envp, int log_fd,
                      const char *log_path, NubeError **err)
{
    g_auto(GStrv) env = build_env(envp);
    g_autoptr(GError) gerr = NULL;
    int status = 0;

    g_autofree const char **run = contained_argv(argv);
    spawner = getpid();

    nube_debug("spawn (logged to %s): %s", log_path, argv[0]);
    if (!g_spawn_sync(NULL, (char **) run, env, G_SPAWN_SEARCH_PATH | G_SPAWN_STDIN_FROM_DEV_NULL,
                      child_redirect, GINT_TO_POINTER(log_fd), NULL, NULL, &status, &gerr))
        return nube_error_set(err, ENOENT, "run '%s': %s", argv[0], gerr->message);

    g_autofree char *log = NULL;
    if (log_path != NULL)
        g_file_get_contents(log_path, &log, NULL, NULL);
    return check_status(argv[0], status, log, err);
}
