/*
 * qemuimg.c: the one wrapper around qemu-img (see qemuimg.h).
 *
 * Every invocation passes -f: letting QEMU probe a format is how a "raw"
 * upload that really is a qcow2 with a backing file reads host files.
 */
#include "qemuimg.h"
#include "spawn.h"

#include <json-glib/json-glib.h>
#include <string.h>

/* Limits for commands that parse untrusted image headers, so a crafted
 * header cannot make qemu-img eat the host's memory or CPU. */
#define LIMIT_AS  "--as=1073741824"
#define LIMIT_CPU "--cpu=60"

void nube_image_info_clear(NubeImageInfo *info)
{
    g_clear_pointer(&info->format, g_free);
    g_clear_pointer(&info->backing_file, g_free);
    g_clear_pointer(&info->backing_format, g_free);
    g_clear_pointer(&info->data_file, g_free);
    memset(info, 0, sizeof(*info));
}

/* PATH as qemu-img must see it: "./PATH" unless absolute, so that a ':'
 * in a relative name is never taken as a protocol prefix. */
static char *safe_path(const char *path)
{
    if (g_path_is_absolute(path))
        return g_strdup(path);
    return g_strconcat("./", path, NULL);
}

static char *member_string(JsonObject *obj, const char *name)
{
    JsonNode *node = json_object_get_member(obj, name);
    if (node == NULL || JSON_NODE_HOLDS_NULL(node))
        return NULL;
    if (json_node_get_value_type(node) != G_TYPE_STRING)
        return NULL;
    return g_strdup(json_node_get_string(node));
}

static guint64 member_uint(JsonObject *obj, const char *name)
{
    JsonNode *node = json_object_get_member(obj, name);
    if (node == NULL || json_node_get_value_type(node) != G_TYPE_INT64)
        return 0;
    gint64 v = json_node_get_int(node);
    return v < 0 ? 0 : (guint64) v;
}

static gboolean member_bool(JsonObject *obj, const char *name)
{
    JsonNode *node = json_object_get_member(obj, name);
    if (node == NULL || json_node_get_value_type(node) != G_TYPE_BOOLEAN)
        return FALSE;
    return json_node_get_boolean(node);
}

/* The "data" object of "format-specific", or NULL. */
static JsonObject *format_specific_data(JsonObject *root)
{
    JsonNode *fs = json_object_get_member(root, "format-specific");
    if (fs == NULL || !JSON_NODE_HOLDS_OBJECT(fs))
        return NULL;
    JsonNode *data = json_object_get_member(json_node_get_object(fs), "data");
    if (data == NULL || !JSON_NODE_HOLDS_OBJECT(data))
        return NULL;
    return json_node_get_object(data);
}

static void info_from_json(JsonObject *root, NubeImageInfo *out)
{
    out->format = member_string(root, "format");
    out->virtual_size = member_uint(root, "virtual-size");
    out->actual_size = member_uint(root, "actual-size");
    out->backing_file = member_string(root, "backing-filename");
    if (out->backing_file == NULL)
        out->backing_file = member_string(root, "full-backing-filename");
    out->backing_format = member_string(root, "backing-filename-format");

    JsonObject *data = format_specific_data(root);
    if (data != NULL) {
        out->data_file = member_string(data, "data-file");
        out->corrupt = member_bool(data, "corrupt");
    }
}

static int parse_info(const char *json, const char *path, NubeImageInfo *out, NubeError **err)
{
    g_autoptr(JsonParser) parser = json_parser_new();
    g_autoptr(GError) gerr = NULL;
    if (!json_parser_load_from_data(parser, json, -1, &gerr))
        return nube_error_set(err, EPROTO, "qemu-img info '%s': bad JSON: %s", path, gerr->message);
    JsonNode *root = json_parser_get_root(parser);
    if (root == NULL || !JSON_NODE_HOLDS_OBJECT(root))
        return nube_error_set(err, EPROTO, "qemu-img info '%s': JSON is not an object", path);

    NubeImageInfo info = { 0 };
    info_from_json(json_node_get_object(root), &info);
    if (info.format == NULL) {
        nube_image_info_clear(&info);
        return nube_error_set(err, EPROTO, "qemu-img info '%s': no format in answer", path);
    }
    *out = info;
    return 0;
}

int nube_qemuimg_info(const char *path, const char *format, NubeImageInfo *out, NubeError **err)
{
    g_autofree char *p = safe_path(path);
    const char *argv[] = { "prlimit", LIMIT_AS, LIMIT_CPU,       "--", "qemu-img", "info",
                           "-f",      format,   "--output=json", p,    NULL };
    g_autofree char *json = NULL;

    int r = nube_spawn(argv, NULL, &json, err);
    if (r < 0)
        return nube_error_prefix(err, "qemu-img info '%s'", path);
    return parse_info(json, path, out, err);
}

int nube_qemuimg_convert(const char *src, const char *src_fmt, const char *dst, NubeError **err)
{
    g_autofree char *s = safe_path(src);
    g_autofree char *d = safe_path(dst);
    const char *argv[] = { "qemu-img", "convert", "-f", src_fmt, "-O", "qcow2", s, d, NULL };

    int r = nube_spawn(argv, NULL, NULL, err);
    if (r < 0)
        return nube_error_prefix(err, "qemu-img convert '%s'", src);
    return 0;
}

int nube_qemuimg_check(const char *path, NubeError **err)
{
    g_autofree char *p = safe_path(path);
    const char *argv[] = { "prlimit", LIMIT_AS, LIMIT_CPU, "--", "qemu-img",
                           "check",   "-f",     "qcow2",   p,    NULL };
    g_autoptr(NubeError) child = NULL;

    if (nube_spawn(argv, NULL, NULL, &child) == 0)
        return 0;
    if (child->errnum != EIO) /* qemu-img did not run at all */
        return nube_error_propagate(err, g_steal_pointer(&child));
    return nube_error_set(err, EINVAL, "qemu-img check '%s': not clean: %s", path, child->message);
}

int nube_qemuimg_create_overlay(const char *path, const char *backing, guint64 size,
                                NubeError **err)
{
    if (!g_path_is_absolute(backing))
        return nube_error_set(err, EINVAL, "backing file '%s' is not an absolute path", backing);
    g_autofree char *p = safe_path(path);
    g_autofree char *sz = g_strdup_printf("%" G_GUINT64_FORMAT, size);
    const char *argv[] = { "qemu-img", "create", "-q",    "-f", "qcow2", "-F",
                           "qcow2",    "-b",     backing, p,    sz,      NULL };

    int r = nube_spawn(argv, NULL, NULL, err);
    if (r < 0)
        return nube_error_prefix(err, "qemu-img create '%s'", path);
    return 0;
}
