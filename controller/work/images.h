/*
 * images.h: the image jobs that make an AMI's disk without an instance
 * (building the default image, importing a file) and the collection of
 * bases and blobs that nothing uses any more.  CreateImage's job is bake.h's.
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

/* What NubeImportImage imports: files on the nubed host, already checked
 * as parameters (absolute paths); their content is the job's to check. */
typedef struct {
    const char *path;    /* the disk image file */
    const char *format;  /* "raw", "qcow2", or NULL: detected from its header */
    const char *agent;   /* guest agent binary to put into the stored copy, or NULL */
    const char *kernel;  /* KernelPath, or NULL */
    const char *ramdisk; /* RamdiskPath, or NULL */
    const char *cmdline; /* KernelCmdline, or NULL */
} NubeImportSpec;

/*
 * Queues the import of SPEC (copied) into the pending image IMAGE_ID
 * (already recorded).  Returns at once.  A file refused by the store's
 * strict checks makes the image failed with the refusal as its reason;
 * nothing is left in the store.
 */
void nube_images_import_start(NubeCloud *d, const char *image_id, const NubeImportSpec *spec);

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

/*
 * At start, before any job runs: every image still pending was being made
 * by a job of a nubed that died; it becomes failed with the reason, and an
 * instance its CreateImage had stopped (NUBE_BAKE_STOP_REASON) is started
 * again, as the bake would have.  Returns how many images it failed.
 */
guint nube_images_recover(NubeCloud *d);
