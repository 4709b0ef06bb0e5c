/*
 * autostart.h: starting a local nubed when nothing answers at a loopback
 * endpoint, so that `nube run …` works on a fresh machine.
 */
#pragma once

#include "endpoint.h"
#include "error.h"

#define NUBE_CLI_AUTOSTART_TIMEOUT_S 30

/*
 * The nubed program to start: "nubed" beside this program,
 * ../controller/nubed (the build tree, cli/nube beside controller/nubed),
 * ../sbin/nubed, the configured sbindir, then $PATH.  Returns a new path,
 * or NULL.
 */
char *nube_cli_autostart_find_nubed(void);

/*
 * Starts `nubed --state-dir STATE_DIR --listen HOST:PORT` for EP, detached
 * (own session, stdin /dev/null, stdout and stderr appended to
 * STATE_DIR/nubed.log), says so on stderr, and waits up to 30 s until it
 * accepts connections and, if WAIT_FOR_FILE is not NULL, that file exists.
 * Returns 0, or a negative errno with ERR set (nubed not found, exited, or
 * silent for too long).
 */
int nube_cli_autostart_nubed(const NubeCliEndpoint *ep, const char *state_dir,
                             const char *wait_for_file, NubeError **err);
