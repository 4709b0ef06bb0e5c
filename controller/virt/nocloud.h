/*
 * nocloud.h: the NoCloud seed of an instance: meta-data (instance id and
 * hostname), user-data and network-config, as an ISO 9660 volume labelled
 * "cidata" attached to the guest as a read-only virtio disk.
 */
#pragma once

#include "error.h"

#include <glib.h>

typedef struct {
    const char *instance_id;
    const char *hostname;
    const char *mac;       /* the guest NIC's MAC, for network-config */
    const void *user_data; /* verbatim; NULL or empty: an empty user-data */
    size_t user_data_len;
    const char *public_key; /* OpenSSH public key line for the default user
                             * (meta-data "public-keys"), NULL: none */
} NubeNoCloudSpec;

/*
 * The meta-data and network-config documents (caller frees both).  Values
 * are double-quoted YAML scalars with escapes.  A public key is listed
 * under "public-keys", which cloud-init's NoCloud source adds to the
 * default user's authorized keys (an image without cloud-init needs its own
 * way to read it).  0, or -EINVAL when the instance id, hostname or MAC is
 * missing or not UTF-8, or the public key is not UTF-8.
 */
int nube_nocloud_render(const NubeNoCloudSpec *spec, char **meta_data, char **network_config,
                        NubeError **err);

/* Writes the seed ISO to ISO_PATH whole (temp name, then rename), using
 * genisoimage.  0 or a negative errno. */
int nube_nocloud_write(const NubeNoCloudSpec *spec, const char *iso_path, NubeError **err);
