/*
 * spawn.h: running helper programs (qemu-img, mmdebstrap, genisoimage).
 * The child is always reaped; its stderr tail goes into the error message.
 * Helpers die with nubed: each is killed when nubed dies (PR_SET_PDEATHSIG)
 * and, as root, runs in a PID namespace of its own, so that what it started
 * (dpkg under mmdebstrap) dies with it.
 */
#pragma once

#include "error.h"

/*
 * Runs ARGV (argv[0] looked up in PATH) with ENVP added to the current
 * environment (NULL: none added) and waits for it.  On exit status 0 returns
 * 0 and, if OUT is not NULL, stores its stdout (caller frees).  Otherwise
 * returns a negative errno and sets ERR to "PROG exited with status N:
 * <stderr tail>".
 */
int nube_spawn(const char *const *argv, const char *const *envp, char **out, NubeError **err);

/*
 * Like nube_spawn() but STDOUT and STDERR of the child go to the file
 * descriptor LOG_FD (for long steps whose output is a progress log).  On
 * failure the error holds the last lines of that log, read back from
 * LOG_PATH.
 */
int nube_spawn_logged(const char *const *argv, const char *const *envp, int log_fd,
                      const char *log_path, NubeError **err);
