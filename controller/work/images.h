/*
 * images.h: the image jobs that make an AMI's disk without an instance
 * (building the default image) and the collection of bases and blobs that
 * nothing uses any more.  CreateImage's job is bake.h's.
 *
 * The API records the image pending and queues its job; the job makes it
 * available, or failed with the error's message as its state reason.
 * While pending, the state reason is the job's progress ("[ 35s] step").
 */
#pragma once

#include "cloud.h"

/*
 * Queues the build of the default image into the pending image IMAGE_ID
 * (already recorded): the default recipe with CLOUD_INIT and the guest
 * agent binary AGENT_PATH (both copied), the recipe the caller digested.
 * Returns at once.
 */
void nube_images_build_default_start(NubeCloud *d, const char *image_id, gboolean cloud_init,
                                     const char *agent_path);

/*
 * Records MESSAGE as the progress of the pending image IMAGE_ID, with the
 * seconds since STARTED (monotonic microseconds) in front, and logs it.
 */
void nube_images_progress(NubeCloud *d, const char *image_id, gint64 started, const char *message);

/*
 * Removes the base BASE_SHA256 and the blobs KERNEL_SHA256 and
 * RAMDISK_SHA256 from the store if no image, instance or volume needs them
 * any more.  Each may be NULL.  A file that cannot be removed stays
 * (nothing is reported).
 */
void nube_images_gc_files(NubeCloud *d, const char *base_sha256, const char *kernel_sha256,
                          const char *ramdisk_sha256);
