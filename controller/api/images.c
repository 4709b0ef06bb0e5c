/*
 * images.c: DescribeImages, DeregisterImage, CreateImage, and nube's own
 * NubeBuildDefaultImage and NubeImportImage (docs/API.md).  The three
 * that make an image check their parameters, record it pending and queue
 * its job (work/images.c, work/bake.c).
 */
#include "api.h"
#include "xml.h"
#include "bake.h"
#include "build.h"
#include "config.h"
#include "fsutil.h"
#include "images.h"
#include "tags.h"

#include <string.h>

/* ---- rendering ------------------------------------------------------------ */

static void render_state_reason(xmlNodePtr item, const NubeImage *img)
{
    if (img->state_reason == NULL)
        return;
    xmlNodePtr sr = nube_xml_add(item, "stateReason", NULL);
    nube_xml_add(sr, "code",
                 g_str_equal(img->state, "failed") ? "Server.InternalError" : img->state);
    nube_xml_add(sr, "message", img->state_reason);
}

static void render_block_devices(xmlNodePtr item, const NubeImage *img)
{
    nube_xml_add(item, "rootDeviceType", img->root_device_type);
    nube_xml_add(item, "rootDeviceName", "/dev/vda");
    xmlNodePtr set = nube_xml_add(item, "blockDeviceMapping", NULL);
    xmlNodePtr dev = nube_xml_add(set, "item", NULL);
    nube_xml_add(dev, "deviceName", "/dev/vda");
    if (!g_str_equal(img->root_device_type, "ebs")) {
        nube_xml_add(dev, "virtualName", "ephemeral0");
        return;
    }
    xmlNodePtr ebs = nube_xml_add(dev, "ebs", NULL);
    nube_xml_add_int(ebs, "volumeSize", (img->virtual_size + (1 << 30) - 1) >> 30);
    nube_xml_add_bool(ebs, "deleteOnTermination", TRUE);
    nube_xml_add(ebs, "volumeType", "standard");
}

void nube_api_render_image(xmlNodePtr item, const NubeImage *img)
{
    nube_xml_add(item, "imageId", img->id);
    g_autofree char *location = g_strdup_printf("%s/%s", img->owner_id, img->name);
    nube_xml_add(item, "imageLocation", location);
    nube_xml_add(item, "imageState", img->state);
    nube_xml_add(item, "imageOwnerId", img->owner_id);
    nube_xml_add_time(item, "creationDate", img->created_at);
    nube_xml_add_bool(item, "isPublic", FALSE);
    nube_xml_add(item, "architecture", img->architecture);
    nube_xml_add(item, "imageType", "machine");
    if (img->kernel_sha256 != NULL) {
        g_autofree char *aki = g_strndup(img->kernel_sha256, 17);
        g_autofree char *kid = g_strconcat("aki-", aki, NULL);
        nube_xml_add(item, "kernelId", kid);
    }
    if (img->ramdisk_sha256 != NULL) {
        g_autofree char *ari = g_strndup(img->ramdisk_sha256, 17);
        g_autofree char *rid = g_strconcat("ari-", ari, NULL);
        nube_xml_add(item, "ramdiskId", rid);
    }
    nube_xml_add(item, "name", img->name);
    if (img->description != NULL)
        nube_xml_add(item, "description", img->description);
    render_block_devices(item, img);
    nube_xml_add(item, "virtualizationType", "hvm");
    render_state_reason(item, img);
    nube_xml_add_tags(item, img->tags);
    if (img->virtual_size > 0)
        nube_xml_add_int(item, "nubeVirtualSize", img->virtual_size);
    nube_xml_add(item, "nubeSource", img->source);
    if (img->source_instance != NULL) {
        nube_xml_add(item, "sourceInstanceId", img->source_instance);
        nube_xml_add(item, "nubeSourceInstanceId", img->source_instance);
    }
    if (img->parent_image != NULL)
        nube_xml_add(item, "nubeParentImageId", img->parent_image);
    nube_xml_add_bool(item, "nubeHasAgent", img->has_agent);
    if (img->capture_ms > 0) {
        char secs[32];
        g_ascii_formatd(secs, sizeof(secs), "%.1f", img->capture_ms / 1e3);
        nube_xml_add(item, "nubeCaptureSeconds", secs);
    }
    if (img->base_sha256 != NULL)
        nube_xml_add(item, "nubeBaseSha256", img->base_sha256);
}

/* ---- DescribeImages ------------------------------------------------------- */

/* Values of DescribeImages' filters (new strings, NULL: the image has
 * none). */

static char *field_creation_date(const NubeApiRequest *req, const void *item)
{
    const NubeImage *img = item;
    return nube_xml_time(img->created_at);
}

static char *field_reason_code(const NubeApiRequest *req, const void *item)
{
    const NubeImage *img = item;
    if (img->state_reason == NULL)
        return NULL;
    return g_strdup(g_str_equal(img->state, "failed") ? "Server.InternalError" : img->state);
}

/* aki-/ari- ids as rendered: the first 17 hex digits of the blob's hash. */
static char *blob_id(const char *prefix, const char *sha256)
{
    return sha256 ? g_strdup_printf("%s-%.17s", prefix, sha256) : NULL;
}

static char *field_kernel_id(const NubeApiRequest *req, const void *item)
{
    const NubeImage *img = item;
    return blob_id("aki", img->kernel_sha256);
}

static char *field_ramdisk_id(const NubeApiRequest *req, const void *item)
{
    const NubeImage *img = item;
    return blob_id("ari", img->ramdisk_sha256);
}

/* VALUE for an image with an ebs root, else none. */
static char *field_ebs(const NubeImage *img, const char *value)
{
    return g_str_equal(img->root_device_type, "ebs") ? g_strdup(value) : NULL;
}

static char *field_volume_size(const NubeApiRequest *req, const void *item)
{
    const NubeImage *img = item;
    if (!g_str_equal(img->root_device_type, "ebs"))
        return NULL;
    return g_strdup_printf("%" G_GINT64_FORMAT, (img->virtual_size + (1 << 30) - 1) >> 30);
}

static char *field_volume_type(const NubeApiRequest *req, const void *item)
{
    const NubeImage *img = item;
    return field_ebs(img, "standard");
}

static char *field_delete_on_termination(const NubeApiRequest *req, const void *item)
{
    const NubeImage *img = item;
    return field_ebs(img, "true");
}

static const NubeApiFilterField image_filters[] = {
    NUBE_FILTER_MEMBER("image-id", NubeImage, id),
    NUBE_FILTER_MEMBER("name", NubeImage, name),
    NUBE_FILTER_MEMBER("state", NubeImage, state),
    NUBE_FILTER_MEMBER("architecture", NubeImage, architecture),
    NUBE_FILTER_MEMBER("root-device-type", NubeImage, root_device_type),
    NUBE_FILTER_MEMBER("owner-id", NubeImage, owner_id),
    NUBE_FILTER_MEMBER("description", NubeImage, description),
    NUBE_FILTER_MEMBER("state-reason-message", NubeImage, state_reason),
    NUBE_FILTER_FN("creation-date", field_creation_date),
    NUBE_FILTER_FN("state-reason-code", field_reason_code),
    NUBE_FILTER_FN("kernel-id", field_kernel_id),
    NUBE_FILTER_FN("ramdisk-id", field_ramdisk_id),
    NUBE_FILTER_FN("block-device-mapping.volume-size", field_volume_size),
    NUBE_FILTER_FN("block-device-mapping.volume-type", field_volume_type),
    NUBE_FILTER_FN("block-device-mapping.delete-on-termination", field_delete_on_termination),
    NUBE_FILTER_CONST("block-device-mapping.device-name", "/dev/vda"),
    NUBE_FILTER_CONST("root-device-name", "/dev/vda"),
    NUBE_FILTER_CONST("image-type", "machine"),
    NUBE_FILTER_CONST("is-public", "false"),
    NUBE_FILTER_CONST("virtualization-type", "hvm"),
    NUBE_FILTER_END,
};

static int image_filter(const NubeApiRequest *req, const void *item, const NubeFilter *f,
                        gboolean *match, NubeError **err)
{
    const NubeImage *img = item;
    return nube_api_filter_fields(req, image_filters, img, img->tags, f, match, err);
}

static gboolean owner_matches(const NubeApiRequest *req, const void *item)
{
    const NubeImage *img = item;
    g_autofree const char **owners = nube_query_list(req->q, "Owner");
    if (owners[0] == NULL)
        return TRUE;
    for (size_t i = 0; owners[i] != NULL; i++)
        if (g_str_equal(owners[i], "self") ? g_str_equal(img->owner_id, req->account->id)
                                           : g_str_equal(owners[i], img->owner_id))
            return TRUE;
    return FALSE;
}

/* The images named by ImageId.N (all must exist) or all live ones. */
static GPtrArray *select_images(const NubeApiRequest *req, NubeError **err)
{
    g_autofree const char **ids = nube_query_list(req->q, "ImageId");
    if (ids[0] == NULL)
        return nube_image_list(req->cloud->db, err);
    g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func((GDestroyNotify) nube_image_free);
    for (size_t i = 0; ids[i] != NULL; i++) {
        if (nube_resource_id_check(NUBE_RESOURCE_IMAGE, ids[i], err) < 0)
            return NULL;
        NubeImage *img = nube_image_get(req->cloud->db, ids[i], err);
        if (img != NULL && g_str_equal(img->state, "deregistered")) {
            nube_image_free(img);
            img = NULL;
            nube_error_setc(err, ENOENT, "InvalidAMIID.NotFound",
                            "The image id '[%s]' does not exist", ids[i]);
        }
        if (img == NULL)
            return NULL;
        g_ptr_array_add(out, img);
    }
    return g_steal_pointer(&out);
}

int nube_api_describe_images(NubeApiRequest *req, xmlNodePtr resp, NubeError **err)
{
    g_autoptr(GPtrArray) all = select_images(req, err);
    if (all == NULL)
        return -ENOENT;
    if (nube_api_filter_items(req, all, image_filter, owner_matches, err) < 0)
        return -EINVAL;
    guint start = 0, end = 0;
    g_autofree char *next = NULL;
    if (nube_api_page(req, 1, 1000, all->len, &start, &end, &next, err) < 0)
        return -EINVAL;
    xmlNodePtr set = nube_xml_add(resp, "imagesSet", NULL);
    for (guint i = start; i < end; i++)
        nube_api_render_image(nube_xml_add(set, "item", NULL), all->pdata[i]);
    if (next != NULL)
        nube_xml_add(resp, "nextToken", next);
    return 0;
}

/* ---- DeregisterImage ------------------------------------------------------ */

int nube_api_deregister_image(NubeApiRequest *req, xmlNodePtr resp, NubeError **err)
{
    const char *id = nube_api_require_id(req, "ImageId", NUBE_RESOURCE_IMAGE, err);
    if (id == NULL)
        return -EINVAL;
    g_autoptr(NubeImage) img = nube_image_get(req->cloud->db, id, err);
    if (img == NULL || nube_image_deregister(req->cloud->db, id, err) < 0)
        return -ENOENT;
    nube_images_gc_files(req->cloud, img->base_sha256, img->kernel_sha256, img->ramdisk_sha256);
    nube_xml_add_bool(resp, "return", TRUE);
    return 0;
}

/* ---- shared by build and import ------------------------------------------- */

/* EC2's AMI name rules: 3-128 characters of letters, digits and ()[] ./-'@_ */
static int check_name(const char *name, NubeError **err)
{
    size_t n = strlen(name);
    if (n < 3 || n > 128)
        return nube_error_setc(err, EINVAL, "InvalidAMIName.Malformed",
                               "AMI names must be between 3 and 128 characters long ('%s').", name);
    for (size_t i = 0; i < n; i++)
        if (!g_ascii_isalnum(name[i]) && !strchr("()[] ./-'@_", name[i]))
            return nube_error_setc(err, EINVAL, "InvalidAMIName.Malformed",
                                   "AMI name '%s' contains a character that is not allowed.", name);
    return 0;
}

static int check_root_type(const char *rdt, NubeError **err)
{
    if (g_str_equal(rdt, "ebs") || g_str_equal(rdt, "instance-store"))
        return 0;
    return nube_error_setc(err, EINVAL, "InvalidParameterValue",
                           "RootDeviceType '%s' is not 'ebs' or 'instance-store'.", rdt);
}

static NubeImage *image_record(const NubeApiRequest *req, const char *name, const char *source)
{
    const char *rdt = nube_query_get(req->q, "RootDeviceType");
    NubeImage *img = nube_image_new();
    img->id = nube_id_new("ami");
    img->owner_id = g_strdup(req->account->id);
    img->name = g_strdup(name);
    img->description = g_strdup(nube_query_get(req->q, "Description"));
    img->state = g_strdup("pending");
    img->architecture = g_strdup("x86_64");
    img->root_device_type = g_strdup(rdt ? rdt : "ebs");
    img->source = g_strdup(source);
    img->created_at = g_get_real_time() / G_USEC_PER_SEC;
    img->tags = nube_tags_new();
    return img;
}

static int check_common(const NubeApiRequest *req, const char *name, NubeError **err)
{
    const char *rdt = nube_query_get(req->q, "RootDeviceType");
    if (check_name(name, err) < 0 || (rdt != NULL && check_root_type(rdt, err) < 0))
        return -EINVAL;
    const char *desc = nube_query_get(req->q, "Description");
    if (desc != NULL && strlen(desc) > 255)
        return nube_error_setc(err, EINVAL, "InvalidParameterValue",
                               "Descriptions are limited to 255 characters.");
    return 0;
}

/* The guest agent binary nubed puts into images (caller frees), or NULL
 * with ERR if it is not there. */
static char *agent_binary(NubeError **err)
{
    g_autofree char *path = nube_config_agent_path();
    if (!g_file_test(path, G_FILE_TEST_IS_REGULAR) || access(path, X_OK) < 0) {
        nube_error_set(
            err, ENOENT,
            "the guest agent binary '%s' is missing: build nube (agent/nube-agent) or set NUBE_AGENT_PATH",
            path);
        return NULL;
    }
    return g_steal_pointer(&path);
}

/* ---- NubeBuildDefaultImage ------------------------------------------------ */

/* A new AMI of ROOT_TYPE for the disk of SAME, an available image of the
 * same recipe with the other root device type: nothing to build again. */
static int register_same_disk(NubeApiRequest *req, const NubeImage *same, NubeImage *img,
                              NubeError **err)
{
    if (nube_image_insert(req->cloud->db, img, err) < 0)
        return -EINVAL;
    return nube_image_set_available(req->cloud->db, img->id, same->base_sha256, same->virtual_size,
                                    same->kernel_sha256, same->ramdisk_sha256, same->kernel_cmdline,
                                    err);
}

/* Default name and description of a built image. */
static char *build_default_name(const char *digest, gboolean cloud_init, gboolean ephemeral)
{
    return g_strdup_printf("nube-debian-12-%s%.12s%s", cloud_init ? "" : "nocloudinit-", digest,
                           ephemeral ? "-instance-store" : "");
}

static const char *build_default_description(gboolean cloud_init)
{
    return cloud_init
               ? "Debian 12 (bookworm) with cloud-init, built by nube"
               : "Debian 12 (bookworm) without cloud-init (user data run by nube-agent), built by nube";
}

int nube_api_build_default_image(NubeApiRequest *req, xmlNodePtr resp, NubeError **err)
{
    gboolean cloud_init = TRUE;
    if (nube_query_bool(req->q, "NubeCloudInit", TRUE, &cloud_init, err) < 0)
        return -EINVAL;
    const char *rdt = nube_query_get(req->q, "RootDeviceType");
    if (rdt != NULL && check_root_type(rdt, err) < 0)
        return -EINVAL;
    gboolean ephemeral = rdt != NULL && g_str_equal(rdt, "instance-store");
    g_autofree char *agent = agent_binary(err);
    if (agent == NULL)
        return -ENOENT;

    NubeBuildRecipe recipe;
    nube_build_recipe_default(&recipe);
    recipe.cloud_init = cloud_init;
    recipe.agent_path = agent;
    g_autofree char *digest = nube_build_recipe_digest(&recipe, err);
    if (digest == NULL)
        return -EIO;

    g_autoptr(NubeImage) existing =
        nube_image_find_recipe(req->cloud->db, digest, ephemeral ? "instance-store" : "ebs");
    if (existing != NULL) {
        nube_xml_add(resp, "imageId", existing->id);
        nube_xml_add_bool(resp, "reused", TRUE);
        return 0;
    }
    g_autofree char *def_name = build_default_name(digest, cloud_init, ephemeral);
    const char *name = nube_query_get(req->q, "Name") ? nube_query_get(req->q, "Name") : def_name;
    if (check_common(req, name, err) < 0)
        return -EINVAL;
    g_autoptr(NubeImage) img = image_record(req, name, "build");
    img->recipe_digest = g_strdup(digest);
    img->state_reason = g_strdup("queued");
    img->has_agent = TRUE;
    if (img->description == NULL)
        img->description = g_strdup(build_default_description(cloud_init));

    g_autoptr(NubeImage) same = nube_image_find_recipe(req->cloud->db, digest, NULL);
    if (same != NULL && g_str_equal(same->state, "available")) {
        if (register_same_disk(req, same, img, err) < 0)
            return -EINVAL;
    } else {
        if (nube_image_insert(req->cloud->db, img, err) < 0)
            return -EINVAL;
        nube_images_build_default_start(req->cloud, img->id, cloud_init, agent);
    }
    nube_xml_add(resp, "imageId", img->id);
    nube_xml_add_bool(resp, "reused", FALSE);
    return 0;
}

/* ---- NubeImportImage ------------------------------------------------------ */

/* The checks of the files named: the format said, and what
 * nube_images_import_check() checks. */
static int check_files(const NubeCloud *d, const NubeImportSpec *spec, NubeError **err)
{
    if (spec->format != NULL && !g_str_equal(spec->format, "raw") &&
        !g_str_equal(spec->format, "qcow2"))
        return nube_error_setc(err, EINVAL, "InvalidParameterValue",
                               "Format '%s' is not 'raw' or 'qcow2'.", spec->format);
    return nube_images_import_check(d, spec->path, spec->kernel, spec->ramdisk, err);
}

/* Path, Architecture, the name and NubeWithAgent; *AGENT gets the agent
 * binary if asked for (caller frees). */
static int check_import(const NubeApiRequest *req, const char *path, const char *name, char **agent,
                        NubeError **err)
{
    if (!g_path_is_absolute(path))
        return nube_error_setc(err, EINVAL, "InvalidParameterValue", "Path '%s' is not absolute.",
                               path);
    const char *arch = nube_query_get(req->q, "Architecture");
    if (arch != NULL && !g_str_equal(arch, "x86_64"))
        return nube_error_setc(err, EINVAL, "InvalidParameterValue",
                               "Architecture '%s' is not supported (x86_64 only).", arch);
    gboolean with_agent = FALSE;
    if (check_common(req, name, err) < 0 ||
        nube_query_bool(req->q, "NubeWithAgent", FALSE, &with_agent, err) < 0)
        return -EINVAL;
    if (with_agent && (*agent = agent_binary(err)) == NULL)
        return -ENOENT;
    return 0;
}

int nube_api_import_image(NubeApiRequest *req, xmlNodePtr resp, NubeError **err)
{
    const char *path = nube_api_require(req, "Path", err);
    if (path == NULL)
        return -EINVAL;
    g_autofree char *base_name = g_path_get_basename(path);
    const char *name = nube_query_get(req->q, "Name") ? nube_query_get(req->q, "Name") : base_name;
    g_autofree char *agent = NULL;
    if (check_import(req, path, name, &agent, err) < 0)
        return -EINVAL;
    NubeImportSpec spec = {
        .path = path,
        .format = nube_query_get(req->q, "Format"),
        .agent = agent,
        .kernel = nube_query_get(req->q, "KernelPath"),
        .ramdisk = nube_query_get(req->q, "RamdiskPath"),
        .cmdline = nube_query_get(req->q, "KernelCmdline"),
    };
    if (check_files(req->cloud, &spec, err) < 0)
        return -EINVAL;

    g_autoptr(NubeImage) img = image_record(req, name, "import");
    img->has_agent = agent != NULL;
    img->state_reason = g_strdup("queued");
    if (nube_image_insert(req->cloud->db, img, err) < 0)
        return -EINVAL;
    nube_images_import_start(req->cloud, img->id, &spec);
    nube_xml_add(resp, "imageId", img->id);
    return 0;
}

/* ---- CreateImage ---------------------------------------------------------- */

/* Tags of TagSpecification.N for ResourceType=image (snapshot specs are
 * accepted and have nothing to tag here). */
static GPtrArray *image_tags(const NubeApiRequest *req, NubeError **err)
{
    static const char *const allowed[] = { "image", "snapshot", NULL };
    return nube_api_tag_specs(req, "image", allowed, err);
}

/* The instance to image: known, and up (or stopped). */
static NubeInstance *imageable_instance(const NubeApiRequest *req, NubeError **err)
{
    const char *id = nube_api_require_id(req, "InstanceId", NUBE_RESOURCE_INSTANCE, err);
    if (id == NULL)
        return NULL;
    g_autoptr(NubeInstance) inst = nube_instance_get(req->cloud->db, id, err);
    if (inst == NULL)
        return NULL;
    if (inst->state != NUBE_INSTANCE_RUNNING && inst->state != NUBE_INSTANCE_STOPPED) {
        nube_error_setc(err, EBUSY, "IncorrectInstanceState",
                        "The instance '%s' is not in the 'running' or 'stopped' state "
                        "(it is '%s').",
                        id, nube_instance_state_name(inst->state));
        return NULL;
    }
    return g_steal_pointer(&inst);
}

int nube_api_create_image(NubeApiRequest *req, xmlNodePtr resp, NubeError **err)
{
    gboolean no_reboot = FALSE;
    g_autoptr(NubeInstance) inst = imageable_instance(req, err);
    if (inst == NULL)
        return -EINVAL;
    const char *name = nube_api_require(req, "Name", err);
    if (name == NULL || check_common(req, name, err) < 0 ||
        nube_query_bool(req->q, "NoReboot", FALSE, &no_reboot, err) < 0)
        return -EINVAL;
    g_autoptr(GPtrArray) tags = image_tags(req, err);
    if (tags == NULL)
        return -EINVAL;

    g_autoptr(NubeImage) img = image_record(req, name, "instance");
    if (nube_query_get(req->q, "RootDeviceType") == NULL) {
        g_free(img->root_device_type);
        img->root_device_type = g_strdup(inst->root_device_type);
    }
    img->source_instance = g_strdup(inst->id);
    img->parent_image = g_strdup(inst->image_id);
    /* The disk is the instance's: it runs the agent if its image did. */
    g_autoptr(NubeImage) parent = nube_image_get(req->cloud->db, inst->image_id, NULL);
    img->has_agent = parent != NULL && parent->has_agent;
    img->state_reason = g_strdup("queued");
    g_ptr_array_unref(img->tags);
    img->tags = g_steal_pointer(&tags);
    if (nube_image_insert(req->cloud->db, img, err) < 0)
        return -EINVAL;
    nube_bake_start(req->cloud, inst, img->id, no_reboot);
    nube_xml_add(resp, "imageId", img->id);
    return 0;
}
