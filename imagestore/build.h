/*
 * build.h: the default AMI: Debian with a cloud kernel, cloud-init (or not)
 * and nube's guest agent, built from the Debian mirror in the host's own apt
 * configuration with mmdebstrap, turned into a qcow2 without root mounts or
 * loop devices (mkfs.ext4 -d, qemu-img convert), booted by direct kernel
 * boot.
 */
#pragma once

#include "error.h"
#include "store.h"

#include <glib.h>

typedef struct {
    const char *suite;           /* "bookworm" */
    const char *const *packages; /* extra packages, NULL-terminated or NULL */
    const char *sources_path;    /* apt sources for mmdebstrap; NULL: the host's */
    gboolean cloud_init;         /* include and configure cloud-init; FALSE:
                                  * DHCP by ifupdown, SSH host keys made by a
                                  * unit, user data run by the agent */
    const char *agent_path;      /* nube-agent binary, installed into the
                                  * image with `install --root`; NULL: none */
    guint64 disk_size;           /* root disk bytes; 0: 4 GiB */
} NubeBuildRecipe;

/* Fills R with the default recipe (bookworm, cloud-init, host sources, no
 * agent). */
void nube_build_recipe_default(NubeBuildRecipe *r);

/*
 * sha256 (hex, caller frees) of everything that determines the image: the
 * recipe, the content of the apt sources used, the sha256 of the agent
 * binary (not its path) and the builder's own version.  Building again with
 * the same digest may reuse the existing AMI.  NULL with ERR if the sources
 * or the agent cannot be read.
 */
char *nube_build_recipe_digest(const NubeBuildRecipe *r, NubeError **err);

typedef struct {
    NubeBase base;
    char kernel_sha256[65];  /* blob in the store */
    char ramdisk_sha256[65]; /* blob in the store */
    char *cmdline;           /* kernel command line, e.g. "root=/dev/vda …" */
} NubeBuildResult;

void nube_build_result_clear(NubeBuildResult *res);

/* Progress callback: a one-line description of the current step. */
typedef void (*NubeProgressFn)(const char *message, void *opaque);

/*
 * Builds the image for R into STORE (work files under the store's tmp dir,
 * removed on every path) and fills OUT (caller clears).  Calls PROGRESS (may
 * be NULL) at each step.  Takes minutes.  0 or a negative errno; on failure
 * OUT holds only the kernel_sha256 / ramdisk_sha256 of blobs already stored
 * (empty strings otherwise), for the caller to collect if unused.  Needs
 * root (mmdebstrap --mode=unshare into a directory).
 */
int nube_build_default_image(NubeStore *store, const NubeBuildRecipe *r, NubeProgressFn progress,
                             void *opaque, NubeBuildResult *out, NubeError **err);
