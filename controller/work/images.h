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
 * by a job of a nubed that died; it becomes failed with the reason (call
 * nube_bake_recover() first).  Bases and blobs nothing uses are removed.
 * Returns how many images it failed.
 */
guint nube_images_recover(NubeCloud *d);

/*
 * The file PATH of parameter KEY (Path, KernelPath, RamdiskPath) resolved
 * and confined: after every symbolic link is followed it must be a regular
 * file inside one of the import directories (nube_config_import_dirs()),
 * never under /proc, /sys or /dev.  Returns the resolved path (caller
 * frees), or NULL with ERR "InvalidParameterValue".
 */
char *nube_images_confine(const NubeCloud *d, const char *key, const char *path, NubeError **err);

/* What the first bytes of KERNEL and RAMDISK (either may be NULL) must be:
 * a Linux x86 boot image ("HdrS" at 0x202), an initramfs (cpio, or gzip,
 * xz, zstd, lz4, bzip2, lzma).  0, or -EINVAL with ERR
 * "InvalidParameterValue". */
int nube_images_check_boot_files(const char *kernel, const char *ramdisk, NubeError **err);

/* The virtual size of the disk image PATH read from its own header (qcow2)
 * or its length (raw), without running qemu-img, into *SIZE.  0, or -errno
 * with ERR. */
int nube_images_virtual_size(const char *path, guint64 *size, NubeError **err);

/* Everything NubeImportImage checks before it reads a file: PATH, KERNEL
 * and RAMDISK (either may be NULL) confined (nube_images_confine()), the
 * boot files what they claim to be, the disk's virtual size within
 * max_image_gib.  0, or -errno with ERR "InvalidParameterValue". */
int nube_images_import_check(const NubeCloud *d, const char *path, const char *kernel,
                             const char *ramdisk, NubeError **err);
