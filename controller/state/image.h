/*
 * image.h: AMI records.  States: pending → available | failed, and
 * deregistered (kept as a row so instances launched from it stay
 * describable, hidden from DescribeImages).
 */
#pragma once

#include "db.h"

typedef struct {
    char *id;
    char *owner_id;
    char *name;
    char *description;
    char *state;
    char *state_reason; /* progress while pending, cause when failed */
    char *architecture;
    char *root_device_type; /* "ebs" or "instance-store" */
    char *base_sha256;      /* NULL while pending */
    gint64 virtual_size;
    char *kernel_sha256;
    char *ramdisk_sha256;
    char *kernel_cmdline;
    char *source; /* "build", "import", "instance" */
    char *recipe_digest;
    char *source_instance;
    char *parent_image;
    gint64 created_at;  /* Unix seconds */
    gint64 capture_ms;  /* CreateImage: capture time after the guest
                         * was down, 0 if not made from an instance */
    gboolean has_agent; /* its guest runs nube-agent */
    GPtrArray *tags;    /* NubeTag; filled by get/list */
} NubeImage;

NubeImage *nube_image_new(void);
void nube_image_free(NubeImage *img);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(NubeImage, nube_image_free)

/* Inserts IMG (id, owner, name, state … as set) with its tags.  A name taken
 * by another live image of the owner gives "InvalidAMIName.Duplicate". */
int nube_image_insert(NubeDb *db, const NubeImage *img, NubeError **err);

/* The image ID (deregistered ones too), NULL with ERR
 * "InvalidAMIID.NotFound" if unknown. */
NubeImage *nube_image_get(NubeDb *db, const char *id, NubeError **err);

/* Live (not deregistered) images, oldest first (array of NubeImage). */
GPtrArray *nube_image_list(NubeDb *db, NubeError **err);

/* The live image built from RECIPE_DIGEST that is available (else pending)
 * and has ROOT_DEVICE_TYPE (NULL: any), or NULL. */
NubeImage *nube_image_find_recipe(NubeDb *db, const char *recipe_digest,
                                  const char *root_device_type);

/* Records the finished disk of ID and marks it available. */
int nube_image_set_available(NubeDb *db, const char *id, const char *base_sha256,
                             gint64 virtual_size, const char *kernel_sha256,
                             const char *ramdisk_sha256, const char *cmdline, NubeError **err);

/* Records how long capturing ID took once its guest was down. */
int nube_image_set_capture_ms(NubeDb *db, const char *id, gint64 ms, NubeError **err);

/* Sets the state reason (progress text while pending). */
int nube_image_set_reason(NubeDb *db, const char *id, const char *reason, NubeError **err);

/* Marks ID failed with REASON if it is still pending (one deregistered
 * while its job ran stays deregistered).  0 or -errno with ERR. */
int nube_image_set_failed(NubeDb *db, const char *id, const char *reason, NubeError **err);

/* Marks ID deregistered.  -ENOENT with "InvalidAMIID.NotFound" if unknown
 * or already deregistered. */
int nube_image_deregister(NubeDb *db, const char *id, NubeError **err);

/* TRUE if some live image, non-terminated instance or volume still uses
 * the base SHA256 (so it must stay in the store). */
gboolean nube_image_base_in_use(NubeDb *db, const char *sha256);

/* TRUE if some live image, or a non-terminated instance of any image, boots
 * with the blob SHA256 as kernel or ramdisk. */
gboolean nube_image_blob_in_use(NubeDb *db, const char *sha256);
