/*
 * qemuimg.h: the one wrapper around qemu-img.  Every call names the image
 * format explicitly: nube never lets QEMU probe a format.  Relative paths are
 * passed as "./PATH" so that QEMU never reads "proto:..." or "json:{...}"
 * out of a file name.  info and check, which parse untrusted headers, run
 * under prlimit (1 GiB address space, 60 s CPU) as OpenStack does.
 */
#pragma once

#include "error.h"

#include <glib.h>

typedef struct {
    char *format;         /* "qcow2", "raw", … as qemu-img reports it */
    guint64 virtual_size; /* bytes the guest sees */
    guint64 actual_size;  /* bytes used on the host */
    char *backing_file;   /* NULL if none */
    char *backing_format; /* NULL if none */
    char *data_file;      /* qcow2 external data file, NULL if none */
    gboolean corrupt;     /* qcow2 marked corrupt */
} NubeImageInfo;

void nube_image_info_clear(NubeImageInfo *info);

/* `qemu-img info -f FORMAT --output=json PATH` into OUT (caller clears).
 * 0 or a negative errno. */
int nube_qemuimg_info(const char *path, const char *format, NubeImageInfo *out, NubeError **err);

/* `qemu-img convert -f SRC_FMT -O qcow2 SRC DST` (DST is created).
 * 0 or a negative errno. */
int nube_qemuimg_convert(const char *src, const char *src_fmt, const char *dst, NubeError **err);

/* `qemu-img check -f qcow2 PATH`.  0 if clean, -EINVAL with ERR otherwise
 * (leaked clusters count as not clean). */
int nube_qemuimg_check(const char *path, NubeError **err);

/*
 * `qemu-img create -f qcow2 -F qcow2 -b BACKING PATH SIZE`: a new qcow2 at
 * PATH (created or truncated) backed by the qcow2 BACKING, with virtual size
 * SIZE bytes.  BACKING must be an absolute path: it is recorded as given.
 * 0 or a negative errno.
 */
int nube_qemuimg_create_overlay(const char *path, const char *backing, guint64 size,
                                NubeError **err);
