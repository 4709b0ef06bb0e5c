/*
 * volume.h: EBS-style volumes.  Every ebs-rooted instance has its root disk
 * recorded as a volume ("in-use", attached at /dev/vda).  Terminating the
 * instance deletes it, unless the launch said DeleteOnTermination=false:
 * then the disk moves to STATE/volumes/ID.qcow2 and the volume becomes
 * "available" until DeleteVolume.
 */
#pragma once

#include "db.h"

typedef struct {
    char *id;
    char *owner_id;
    char *instance_id; /* NULL when detached */
    char *base_sha256;
    gint64 size; /* bytes */
    char *state; /* "in-use", "available", "deleted" */
    gboolean delete_on_termination;
    gint64 created_at;
    gint64 attached_at;
    GPtrArray *tags;
} NubeVolume;

void nube_volume_free(NubeVolume *vol);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(NubeVolume, nube_volume_free)

/* Records VOL (in-use, attached to its instance).  0 or -errno. */
int nube_volume_insert(NubeDb *db, const NubeVolume *vol, NubeError **err);

/* The volume ID (NULL with "InvalidVolume.NotFound" if unknown or deleted). */
NubeVolume *nube_volume_get(NubeDb *db, const char *id, NubeError **err);

/* The volume attached to INSTANCE_ID, or NULL (no error) if none. */
NubeVolume *nube_volume_of_instance(NubeDb *db, const char *instance_id);

/* Volumes not deleted, oldest first.  NULL with ERR. */
GPtrArray *nube_volume_list(NubeDb *db, NubeError **err);

/* Detaches ID: state "available", no instance. */
int nube_volume_detach(NubeDb *db, const char *id, NubeError **err);

/* Marks ID deleted. */
int nube_volume_mark_deleted(NubeDb *db, const char *id, NubeError **err);

/* STATE/volumes/ID.qcow2 (caller frees). */
char *nube_volume_path(const char *state_dir, const char *id);
