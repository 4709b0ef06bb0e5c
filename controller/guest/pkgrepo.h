/*
 * pkgrepo.h: a Debian package source for guests without internet.
 *
 * A flat apt repository (DIR/: *.deb, Packages, Packages.gz, Release) built
 * on the host from the Debian mirror in the host's own apt configuration and
 * served over HTTP on the host's loopback, where user-mode networking lets a
 * guest reach it at the gateway address 169.254.169.2.  A guest uses it with
 *     deb [trusted=yes] http://169.254.169.2:PORT/ ./
 *
 * Adding packages downloads them with their complete recursive dependency
 * closure (as if installed on a system with nothing installed: a guest's
 * base may lack any non-essential dependency), with their Recommends, which
 * a guest's apt installs by default.  apt runs with private state next to
 * the repository, in DIR.apt/ (lists, an empty dpkg status, the download
 * cache), so the host's own apt state is never touched and a package
 * downloaded once is never downloaded again.  DIR.apt/ is not served.
 */
#pragma once

#include "error.h"

#include <glib.h>

typedef struct NubePkgRepo NubePkgRepo;

/* Progress callback: a one-line description of the current step (the same
 * signature as imagestore's NubeProgressFn). */
typedef void (*NubePkgRepoProgressFn)(const char *message, void *opaque);

/*
 * Opens (creating it and DIR.apt/ if needed, mode 0755) the repository in
 * DIR.  If DIR has no index yet, writes an empty one so apt can already use
 * it.  Returns the repository (free with nube_pkgrepo_free()), or NULL with
 * ERR.
 */
NubePkgRepo *nube_pkgrepo_open(const char *dir, NubeError **err);

/*
 * Adds PACKAGES (NULL-terminated Debian package names) and all their
 * dependencies to REPO, for the host's architecture, from the host's apt
 * sources; refreshes the private package lists first when they are missing
 * or more than a day old (if that fails and older lists exist, they are
 * used).  Packages already downloaded are reused.  Then rewrites the index.
 * Calls PROGRESS (may be NULL) with OPAQUE at each step.  Takes seconds to
 * minutes; adds are serialized, serving continues meanwhile.
 * Returns the number of .deb files that were new to the repository (0 when
 * everything was there already), or a negative errno with ERR (code
 * InvalidParameterValue for a name that is not a Debian package name).
 */
int nube_pkgrepo_add(NubePkgRepo *repo, const char *const *packages, NubePkgRepoProgressFn progress,
                     void *opaque, NubeError **err);

/*
 * Starts serving REPO's files (GET and HEAD) over HTTP on HOST (a numeric
 * IP address, normally "127.0.0.1") and PORT (0: a free port, see
 * nube_pkgrepo_port()), in threads of its own.  Only the repository's own
 * files are served: no subdirectories, hidden files, symbolic links or
 * other non-regular files.  0, or a negative errno with ERR (-EALREADY if
 * already serving).
 */
int nube_pkgrepo_serve(NubePkgRepo *repo, const char *host, guint16 port, NubeError **err);

/* The port REPO is served on, or 0 if it is not served. */
guint16 nube_pkgrepo_port(const NubePkgRepo *repo);

/*
 * The repository's URL as guests see it, "http://169.254.169.2:PORT/" (caller
 * frees), or NULL if REPO is not served.
 */
char *nube_pkgrepo_guest_url(const NubePkgRepo *repo);

/*
 * The apt sources line a guest needs, "deb [trusted=yes]
 * http://169.254.169.2:PORT/ ./" without a newline (caller frees), or NULL if
 * REPO is not served.
 */
char *nube_pkgrepo_apt_source_line(const NubePkgRepo *repo);

/* The repository's directory (owned by REPO). */
const char *nube_pkgrepo_dir(const NubePkgRepo *repo);

/* True if NAME is a Debian package name: [a-z0-9][a-z0-9+.-]+. */
gboolean nube_pkgrepo_name_valid(const char *name);

/* Stops serving (waiting for transfers in progress) and frees REPO.  NULL
 * is allowed. */
void nube_pkgrepo_free(NubePkgRepo *repo);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(NubePkgRepo, nube_pkgrepo_free)
