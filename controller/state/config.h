/*
 * config.h: nubed's settings, from defaults, an optional config file
 * (GKeyFile, group [nubed]) and the command line, in that order.
 *
 *   [nubed]
 *   state_dir = /var/lib/nube
 *   listen = 127.0.0.1:8773
 *   libvirt_uri = qemu:///system     # default: embedded driver in state_dir
 *   accelerator = auto               # auto | kvm | tcg
 *   region = nube-local-1
 *   import_dirs = /srv/images;/home/me/disks  # besides STATE/import
 *   max_image_gib = 2048             # largest virtual size of an image
 */
#pragma once

#include "error.h"

#include <glib.h>

typedef struct {
    char *state_dir;
    char *listen_host;
    guint16 listen_port;
    char *libvirt_uri; /* NULL: qemu:///embed?root=STATE_DIR/libvirt */
    char *accelerator; /* "auto", "kvm" or "tcg" */
    char *region;
    char **import_dirs;    /* where NubeImportImage may read, besides
                            * STATE/import (NULL-terminated, may be NULL) */
    guint64 max_image_gib; /* largest virtual size an image may have */
} NubeConfig;

#define NUBE_DEFAULT_MAX_IMAGE_GIB 2048

#define NUBE_DEFAULT_PORT   8773
#define NUBE_DEFAULT_REGION "nube-local-1"

/* Fills CFG with the defaults (state dir depends on the uid). */
void nube_config_init(NubeConfig *cfg);
void nube_config_clear(NubeConfig *cfg);

/* The default state directory: /var/lib/nube as root, else
 * $XDG_STATE_HOME/nube.  Caller frees. */
char *nube_config_default_state_dir(void);

/* Reads PATH into CFG (keys absent from the file keep their value).
 * 0 or -errno with ERR. */
int nube_config_load_file(NubeConfig *cfg, const char *path, NubeError **err);

/* Parses "HOST:PORT" into CFG.  0 or -EINVAL with ERR. */
int nube_config_set_listen(NubeConfig *cfg, const char *listen, NubeError **err);

/* Checks the values (accelerator word, region name).  0 or -EINVAL. */
int nube_config_validate(const NubeConfig *cfg, NubeError **err);

/*
 * Path of the guest agent binary nubed puts into images (caller frees):
 * $NUBE_AGENT_PATH if set; else agent/nube-agent of the meson build tree
 * nubed runs from (BUILDDIR/controller/nubed), if that file exists; else
 * NUBE_LIBEXECDIR/nube-agent.  Looked up at each call, so an agent built
 * after nubed started is found.  Never NULL; the file may not exist.
 */
char *nube_config_agent_path(void);

/* The directories NubeImportImage may read files from: STATE/import first,
 * then CFG's import_dirs (a new NULL-terminated array, caller frees). */
char **nube_config_import_dirs(const NubeConfig *cfg);

/* Adds DIR to CFG's import_dirs. */
void nube_config_add_import_dir(NubeConfig *cfg, const char *dir);
