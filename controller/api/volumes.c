/*
 * volumes.c: DescribeVolumes and DeleteVolume.  Volumes are instances'
 * ebs root disks (see volume.h).
 */
#include "api.h"
#include "xml.h"
#include "catalog.h"
#include "lifecycle.h"
#include "fsutil.h"
#include "images.h"
#include "tags.h"
#include "volume.h"

static void render_volume(xmlNodePtr item, const char *region, const NubeVolume *vol)
{
    g_autofree char *zone = nube_catalog_zone(region);
    nube_xml_add(item, "volumeId", vol->id);
    nube_xml_add_int(item, "size", (vol->size + (1 << 30) - 1) >> 30);
    nube_xml_add(item, "snapshotId", NULL);
    nube_xml_add(item, "availabilityZone", zone);
    nube_xml_add(item, "status", vol->state);
    nube_xml_add_time(item, "createTime", vol->created_at);
    xmlNodePtr set = nube_xml_add(item, "attachmentSet", NULL);
    if (vol->instance_id != NULL) {
        xmlNodePtr att = nube_xml_add(set, "item", NULL);
        nube_xml_add(att, "volumeId", vol->id);
        nube_xml_add(att, "instanceId", vol->instance_id);
        nube_xml_add(att, "device", "/dev/vda");
        nube_xml_add(att, "status", "attached");
        nube_xml_add_time(att, "attachTime", vol->attached_at);
        nube_xml_add_bool(att, "deleteOnTermination", vol->delete_on_termination);
    }
    nube_xml_add(item, "volumeType", "standard");
    nube_xml_add_bool(item, "encrypted", FALSE);
    nube_xml_add_bool(item, "multiAttachEnabled", FALSE);
    nube_xml_add_tags(item, vol->tags);
    nube_xml_add(item, "nubeBaseSha256", vol->base_sha256);
}

/* Values of DescribeVolumes' filters (new strings, NULL: none). */

static char *field_size(const NubeApiRequest *req, const void *item)
{
    const NubeVolume *vol = item;
    return g_strdup_printf("%" G_GINT64_FORMAT, (vol->size + (1 << 30) - 1) >> 30);
}

static char *field_zone(const NubeApiRequest *req, const void *item)
{
    return nube_catalog_zone(req->cloud->cfg->region);
}

static char *field_create_time(const NubeApiRequest *req, const void *item)
{
    const NubeVolume *vol = item;
    return nube_xml_time(vol->created_at);
}

/* VALUE if VOL is attached, else none. */
static char *attached(const NubeVolume *vol, const char *value)
{
    return vol->instance_id ? g_strdup(value) : NULL;
}

static char *field_attach_time(const NubeApiRequest *req, const void *item)
{
    const NubeVolume *vol = item;
    return vol->instance_id ? nube_xml_time(vol->attached_at) : NULL;
}

static char *field_attach_device(const NubeApiRequest *req, const void *item)
{
    return attached(item, "/dev/vda");
}

static char *field_attach_status(const NubeApiRequest *req, const void *item)
{
    return attached(item, "attached");
}

static char *field_attach_dot(const NubeApiRequest *req, const void *item)
{
    const NubeVolume *vol = item;
    return attached(vol, vol->delete_on_termination ? "true" : "false");
}

static const NubeApiFilterField volume_filters[] = {
    NUBE_FILTER_MEMBER("volume-id", NubeVolume, id),
    NUBE_FILTER_MEMBER("status", NubeVolume, state),
    NUBE_FILTER_MEMBER("attachment.instance-id", NubeVolume, instance_id),
    NUBE_FILTER_FN("attachment.delete-on-termination", field_attach_dot),
    NUBE_FILTER_FN("attachment.attach-time", field_attach_time),
    NUBE_FILTER_FN("attachment.device", field_attach_device),
    NUBE_FILTER_FN("attachment.status", field_attach_status),
    NUBE_FILTER_FN("size", field_size),
    NUBE_FILTER_FN("availability-zone", field_zone),
    NUBE_FILTER_FN("create-time", field_create_time),
    NUBE_FILTER_CONST("volume-type", "standard"),
    NUBE_FILTER_CONST("encrypted", "false"),
    NUBE_FILTER_CONST("multi-attach-enabled", "false"),
    NUBE_FILTER_CONST("fast-restored", "false"),
    /* Volumes are never made from snapshots. */
    NUBE_FILTER_CONST("snapshot-id", NULL),
    NUBE_FILTER_END,
};

static int volume_filter(const NubeApiRequest *req, const void *item, const NubeFilter *f,
                         gboolean *match, NubeError **err)
{
    const NubeVolume *vol = item;
    return nube_api_filter_fields(req, volume_filters, vol, vol->tags, f, match, err);
}

static GPtrArray *select_volumes(const NubeApiRequest *req, NubeError **err)
{
    g_autofree const char **ids = nube_query_list(req->q, "VolumeId");
    if (ids[0] == NULL)
        return nube_volume_list(req->cloud->db, err);
    g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func((GDestroyNotify) nube_volume_free);
    for (size_t i = 0; ids[i] != NULL; i++) {
        NubeVolume *vol = nube_resource_id_check(NUBE_RESOURCE_VOLUME, ids[i], err) < 0
                              ? NULL
                              : nube_volume_get(req->cloud->db, ids[i], err);
        if (vol == NULL)
            return NULL;
        g_ptr_array_add(out, vol);
    }
    return g_steal_pointer(&out);
}

int nube_api_describe_volumes(NubeApiRequest *req, xmlNodePtr resp, NubeError **err)
{
    g_autoptr(GPtrArray) all = select_volumes(req, err);
    if (all == NULL)
        return -ENOENT;
    if (nube_api_filter_items(req, all, volume_filter, NULL, err) < 0)
        return -EINVAL;
    guint start = 0, end = 0;
    g_autofree char *next = NULL;
    if (nube_api_page(req, 5, 500, all->len, &start, &end, &next, err) < 0)
        return -EINVAL;
    xmlNodePtr set = nube_xml_add(resp, "volumeSet", NULL);
    for (guint i = start; i < end; i++)
        render_volume(nube_xml_add(set, "item", NULL), req->cloud->cfg->region, all->pdata[i]);
    if (next != NULL)
        nube_xml_add(resp, "nextToken", next);
    return 0;
}

int nube_api_delete_volume(NubeApiRequest *req, xmlNodePtr resp, NubeError **err)
{
    const char *id = nube_api_require_id(req, "VolumeId", NUBE_RESOURCE_VOLUME, err);
    if (id == NULL)
        return -EINVAL;
    g_autoptr(NubeVolume) vol = nube_volume_get(req->cloud->db, id, err);
    if (vol == NULL)
        return -ENOENT;
    if (!g_str_equal(vol->state, "available"))
        return nube_error_setc(err, EBUSY, "VolumeInUse", "Volume %s is currently attached to %s",
                               id, vol->instance_id ? vol->instance_id : "an instance");
    g_autofree char *path = nube_volume_path(req->cloud->cfg->state_dir, id);
    if (unlink(path) < 0 && errno != ENOENT)
        return nube_error_set(err, errno, "remove '%s'", path);
    if (nube_volume_mark_deleted(req->cloud->db, id, err) < 0)
        return -EIO;
    nube_images_gc_files(req->cloud, vol->base_sha256, NULL, NULL);
    nube_xml_add_bool(resp, "return", TRUE);
    return 0;
}
