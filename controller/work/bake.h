/*
 * bake.h: CreateImage: an instance's disk becomes a new AMI.
 *
 * Default (EC2's): the guest is shut down cleanly, its disk is flattened
 * into a standalone qcow2, and the guest is started again.  NoReboot: the
 * running disk is copied at one instant by the hypervisor (crash-consistent)
 * while the guest keeps running.  Either way the copy is generalized (one
 * libguestfs launch: machine-id, SSH host keys, cloud-init instance state,
 * logs, leases, histories) so clones are new machines, and stored by sha256
 * like every base.
 */
#pragma once

#include "cloud.h"
#include "image.h"
#include "instance.h"

/* At start, before nube_images_recover(): an instance that a CreateImage
 * cut off by nubed's death had stopped (NUBE_BAKE_STOP_REASON) is started
 * again, as the bake would have. */
void nube_bake_recover(NubeCloud *d);

/*
 * Queues the capture of INST into the pending image IMAGE_ID (already
 * recorded).  Returns at once; the image becomes available or failed.
 */
void nube_bake_start(NubeCloud *d, const NubeInstance *inst, const char *image_id,
                     gboolean no_reboot);
