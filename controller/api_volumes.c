/*
 * api_volumes.c: DescribeVolumes and DeleteVolume.  Volumes are instances'
 * ebs root disks (see volume.h).
 */
#include "api.h"
#include "api_xml.h"
#include "catalog.h"
#include "fsutil.h"
#include "lifecycle.h"
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

static int volume_filter(const void *item, const NubeFilter *f, gboolean *match, NubeError **err)
{
    const NubeVolume *vol = item;
    const char *v = NULL;
    g_autofree char *dot = g_strdup(vol->delete_on_termination ? "true" : "false");
    if (g_str_has_prefix(f->name, "tag:"))
        v = nube_tags_lookup(vol->tags, f->name + 4);
    else if (g_str_equal(f->name, "volume-id"))
        v = vol->id;
    else if (g_str_equal(f->name, "status"))
        v = vol->state;
    else if (g_str_equal(f->name, "attachment.instance-id"))
        v = vol->instance_id;
    else if (g_str_equal(f->name, "attachment.delete-on-termination"))
        v = vol->instance_id ? dot : NULL;
    else
        return nube_api_filter_unknown(f, err);
    *match = nube_api_filter_values_match(f, v);
    return 0;
}

static const char *volume_id_checked(const char *id, NubeError **err)
{
    if (!nube_id_valid(id, "vol")) {
        nube_error_setc(err, EINVAL, "InvalidVolumeID.Malformed", "Invalid id: \"%s\"", id);
        return NULL;
    }
    return id;
}

static GPtrArray *select_volumes(const NubeApiRequest *req, NubeError **err)
{
    g_autofree const char **ids = nube_query_list(req->q, "VolumeId");
    if (ids[0] == NULL)
        return nube_volume_list(req->d->db, err);
    g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func((GDestroyNotify) nube_volume_free);
    for (size_t i = 0; ids[i] != NULL; i++) {
        NubeVolume *vol =
            volume_id_checked(ids[i], err) ? nube_volume_get(req->d->db, ids[i], err) : NULL;
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
        render_volume(nube_xml_add(set, "item", NULL), req->d->cfg.region, all->pdata[i]);
    if (next != NULL)
        nube_xml_add(resp, "nextToken", next);
    return 0;
}

int nube_api_delete_volume(NubeApiRequest *req, xmlNodePtr resp, NubeError **err)
{
    const char *id = nube_api_require(req, "VolumeId", err);
    if (id == NULL || volume_id_checked(id, err) == NULL)
        return -EINVAL;
    g_autoptr(NubeVolume) vol = nube_volume_get(req->d->db, id, err);
    if (vol == NULL)
        return -ENOENT;
    if (!g_str_equal(vol->state, "available"))
        return nube_error_setc(err, EBUSY, "VolumeInUse", "Volume %s is currently attached to %s",
                               id, vol->instance_id ? vol->instance_id : "an instance");
    g_autofree char *path = nube_volume_path(req->d->cfg.state_dir, id);
    if (unlink(path) < 0 && errno != ENOENT)
        return nube_error_set(err, errno, "remove '%s'", path);
    if (nube_volume_mark_deleted(req->d->db, id, err) < 0)
        return -EIO;
    nube_lifecycle_gc_image_files(req->d, vol->base_sha256, NULL, NULL);
    nube_xml_add_bool(resp, "return", TRUE);
    return 0;
}
