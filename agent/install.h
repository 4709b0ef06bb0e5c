/*
 * install.h: `nube-agent install --root DIR`, which puts the running agent
 * binary and its systemd unit into the file system tree at DIR ("/" or an
 * image being built) and enables the unit.  The image builders run it:
 * the mmdebstrap hook on the host, and libguestfs inside an imported image.
 */
#pragma once

#include <stddef.h>

#define AGENT_INSTALL_BINARY "usr/sbin/nube-agent"
#define AGENT_INSTALL_UNIT   "etc/systemd/system/nube-agent.service"
#define AGENT_INSTALL_WANTS  "etc/systemd/system/multi-user.target.wants/nube-agent.service"

/* The unit file's text. */
extern const char agent_install_unit[];

/*
 * Installs into ROOT; idempotent.  Paths inside ROOT are resolved as if
 * ROOT were "/" (RESOLVE_IN_ROOT), so a symlink in the tree cannot send a
 * write outside it.  Returns 0, or a negative errno with the reason in
 * ERRBUF.
 */
int agent_install(const char *root, char *errbuf, size_t errlen);
