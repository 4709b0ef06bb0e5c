/*
 * autostart.c: a detached nubed for a loopback endpoint (see autostart.h).
 */
#include "autostart.h"

#include "client.h"
#include "fsutil.h"
#include "log.h"
#include "nube-config.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/wait.h>

#define POLL_INTERVAL_US (250 * 1000)

static char *nubed_beside_self(void)
{
    g_autofree char *self = g_file_read_link("/proc/self/exe", NULL);
    if (self == NULL)
        return NULL;
    g_autofree char *dir = g_path_get_dirname(self);
    const char *const candidates[] = { "nubed", "../controller/nubed", "../sbin/nubed" };

    for (size_t i = 0; i < G_N_ELEMENTS(candidates); i++) {
        g_autofree char *path = g_build_filename(dir, candidates[i], NULL);
        if (g_file_test(path, G_FILE_TEST_IS_EXECUTABLE) && !g_file_test(path, G_FILE_TEST_IS_DIR))
            return g_canonicalize_filename(path, NULL);
    }
    return NULL;
}

char *nube_cli_autostart_find_nubed(void)
{
    char *path = nubed_beside_self();
    if (path != NULL)
        return path;
    g_autofree char *installed = g_build_filename(NUBE_SBINDIR, "nubed", NULL);
    if (g_file_test(installed, G_FILE_TEST_IS_EXECUTABLE))
        return g_steal_pointer(&installed);
    return g_find_program_in_path("nubed");
}

static void child_setup(gpointer data)
{
    setsid();
}

/* Spawns nubed with stdout and stderr on LOG_FD.  0 or -errno. */
static int nubed_spawn(const char *nubed, const NubeCliEndpoint *ep, const char *state_dir,
                       int log_fd, GPid *pid, NubeError **err)
{
    g_autofree char *listen = nube_cli_endpoint_listen(ep);
    const char *argv[] = { nubed, "--state-dir", state_dir, "--listen", listen, NULL };
    g_autoptr(GError) gerr = NULL;

    nube_debug("starting %s --state-dir %s --listen %s", nubed, state_dir, listen);
    if (!g_spawn_async_with_pipes_and_fds(
            "/", argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDIN_FROM_DEV_NULL, child_setup,
            NULL, -1, log_fd, log_fd, NULL, NULL, 0, pid, NULL, NULL, NULL, &gerr))
        return nube_error_set(err, ENOEXEC, "start '%s': %s", nubed, gerr->message);
    return 0;
}

/* 0 when NUBED is still running, else -ECHILD with ERR. */
static int nubed_check_alive(GPid pid, const char *log_path, NubeError **err)
{
    int status;
    if (waitpid(pid, &status, WNOHANG) != pid)
        return 0;
    if (WIFEXITED(status))
        return nube_error_set(err, ECHILD, "nubed exited with status %d before answering; see '%s'",
                              WEXITSTATUS(status), log_path);
    return nube_error_set(err, ECHILD, "nubed was killed by signal %d before answering; see '%s'",
                          WTERMSIG(status), log_path);
}

static gboolean nubed_ready(const NubeCliEndpoint *ep, const char *wait_for_file)
{
    g_autoptr(NubeError) ignored = NULL;
    if (nube_cli_client_probe(ep, &ignored) < 0)
        return FALSE;
    return wait_for_file == NULL || g_file_test(wait_for_file, G_FILE_TEST_EXISTS);
}

static int nubed_wait(GPid pid, const NubeCliEndpoint *ep, const char *wait_for_file,
                      const char *log_path, NubeError **err)
{
    gint64 deadline = g_get_monotonic_time() + NUBE_CLI_AUTOSTART_TIMEOUT_S * G_USEC_PER_SEC;

    while (!nubed_ready(ep, wait_for_file)) {
        if (nubed_check_alive(pid, log_path, err) < 0)
            return -ECHILD;
        if (g_get_monotonic_time() > deadline)
            return nube_error_set(err, ETIMEDOUT,
                                  "the nubed started for '%s' did not answer within %d s; see '%s'",
                                  ep->url, NUBE_CLI_AUTOSTART_TIMEOUT_S, log_path);
        g_usleep(POLL_INTERVAL_US);
    }
    return 0;
}

int nube_cli_autostart_nubed(const NubeCliEndpoint *ep, const char *state_dir,
                             const char *wait_for_file, NubeError **err)
{
    g_autofree char *nubed = nube_cli_autostart_find_nubed();
    g_autofree char *log_path = g_build_filename(state_dir, "nubed.log", NULL);
    GPid pid;

    if (nubed == NULL)
        return nube_error_set(err, ENOENT,
                              "no nubed answered at '%s' and no nubed program was found to start",
                              ep->url);
    if (nube_mkdir_p(state_dir, 0700, err) < 0)
        return nube_error_prefix(err, "start nubed");

    _cleanup_close_ int log_fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (log_fd < 0) {
        int saved = errno;
        return nube_error_set(err, saved, "open '%s': %s", log_path, g_strerror(saved));
    }
    if (nubed_spawn(nubed, ep, state_dir, log_fd, &pid, err) < 0)
        return -ENOEXEC;

    fprintf(stderr, "nube: no nubed answered at %s; started one (log: %s)\n", ep->url, log_path);
    return nubed_wait(pid, ep, wait_for_file, log_path, err);
}
