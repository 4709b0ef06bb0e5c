/*
 * overlay.h: per-instance copy-on-write disks.  An overlay is a qcow2 whose
 * backing file is a base of the store, with the backing format set
 * explicitly; creating one never copies the base.
 */
#pragma once

#include "error.h"

#include <glib.h>

/*
 * Creates OVERLAY_PATH (mode 0600) backed by BASE_PATH (a standalone qcow2,
 * recorded as an absolute path with backing format qcow2), written whole
 * (temp name in the same directory, fsync, rename).  SIZE is the virtual
 * size in bytes, 0 for the base's; a size below the base's is refused with
 * code "InvalidParameterValue".  An existing OVERLAY_PATH is never replaced
 * (-EEXIST).  0 or a negative errno; on failure nothing is left behind.
 */
int nube_overlay_create(const char *base_path, const char *overlay_path, guint64 size,
                        NubeError **err);

/* The backing file and its format recorded in OVERLAY_PATH (caller frees;
 * both NULL if it records none).  0 or a negative errno. */
int nube_overlay_backing(const char *overlay_path, char **backing, char **backing_format,
                         NubeError **err);
