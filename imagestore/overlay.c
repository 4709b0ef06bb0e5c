/*
 * overlay.c: per-instance copy-on-write disks (see overlay.h).
 */
#include "overlay.h"
#include "fsutil.h"
#include "qemuimg.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>

static void tmp_unlink(char **tmp)
{
    if (*tmp == NULL)
        return;
    unlink(*tmp);
    g_free(*tmp);
}
#define _cleanup_tmp_ _cleanup_(tmp_unlink)

/* Virtual size of the standalone qcow2 BASE. */
static int base_size(const char *base, guint64 *size, NubeError **err)
{
    NubeImageInfo info = { 0 };
    int r = nube_qemuimg_info(base, "qcow2", &info, err);
    if (r < 0)
        return r;
    if (info.backing_file != NULL || info.data_file != NULL)
        r = nube_error_set(err, EINVAL, "base '%s' is not a standalone qcow2", base);
    *size = info.virtual_size;
    nube_image_info_clear(&info);
    return r;
}

int nube_overlay_create(const char *base_path, const char *overlay_path, guint64 size,
                        NubeError **err)
{
    /* The overlay records the base by absolute path. */
    g_autofree char *base = g_canonicalize_filename(base_path, NULL);
    guint64 base_bytes = 0;
    int r = base_size(base, &base_bytes, err);
    if (r < 0)
        return nube_error_prefix(err, "create overlay '%s'", overlay_path);
    if (size != 0 && size < base_bytes)
        return nube_error_setc(err, EINVAL, "InvalidParameterValue",
                               "disk size %" G_GUINT64_FORMAT
                               " is smaller than the image size %" G_GUINT64_FORMAT,
                               size, base_bytes);

    _cleanup_tmp_ char *tmp = nube_file_tmp_sibling(overlay_path, err);
    if (tmp == NULL)
        return nube_error_prefix(err, "create overlay '%s'", overlay_path);
    r = nube_qemuimg_create_overlay(tmp, base, size ? size : base_bytes, err);
    if (r == 0)
        r = nube_file_commit(tmp, overlay_path, err);
    if (r < 0)
        return nube_error_prefix(err, "create overlay '%s'", overlay_path);
    g_clear_pointer(&tmp, g_free); /* renamed: nothing to unlink */
    return 0;
}

int nube_overlay_backing(const char *overlay_path, char **backing, char **backing_format,
                         NubeError **err)
{
    NubeImageInfo info = { 0 };
    int r = nube_qemuimg_info(overlay_path, "qcow2", &info, err);
    if (r < 0)
        return r;
    *backing = g_steal_pointer(&info.backing_file);
    *backing_format = g_steal_pointer(&info.backing_format);
    nube_image_info_clear(&info);
    return 0;
}
