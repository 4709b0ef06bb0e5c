/*
 * catalog.c: instance types, region and zone (see catalog.h).
 */
#include "catalog.h"
#include "nube-schemas.h"

#include <gio/gio.h>
#include <json-glib/json-glib.h>

static GPtrArray *types;
static char *default_type;

static void type_free(gpointer p)
{
    NubeInstanceType *t = p;
    g_free(t->name);
    g_free(t);
}

static void load_type(JsonArray *arr, guint i, JsonNode *node, gpointer data)
{
    JsonObject *o = json_node_get_object(node);
    NubeInstanceType *t = g_new0(NubeInstanceType, 1);
    t->name = g_strdup(json_object_get_string_member(o, "name"));
    t->vcpus = json_object_get_int_member(o, "vcpus");
    t->memory_mib = json_object_get_int_member(o, "memory_mib");
    t->burstable = json_object_get_boolean_member_with_default(o, "burstable", FALSE);
    g_ptr_array_add(data, t);
}

static gpointer load_catalog(gpointer unused)
{
    (void) nube_schemas_get_resource();
    g_autoptr(GBytes) data =
        g_resources_lookup_data("/org/nube/schemas/instance-types.json", 0, NULL);
    g_autoptr(JsonParser) parser = json_parser_new();
    g_autoptr(GError) gerr = NULL;

    if (data == NULL || !json_parser_load_from_data(parser, g_bytes_get_data(data, NULL),
                                                    g_bytes_get_size(data), &gerr))
        g_error("instance-types.json: %s", gerr ? gerr->message : "missing");

    JsonObject *root = json_node_get_object(json_parser_get_root(parser));
    types = g_ptr_array_new_with_free_func(type_free);
    json_array_foreach_element(json_object_get_array_member(root, "types"), load_type, types);
    default_type = g_strdup(json_object_get_string_member(root, "default"));
    return NULL;
}

const GPtrArray *nube_catalog_types(void)
{
    static GOnce once = G_ONCE_INIT;
    g_once(&once, load_catalog, NULL);
    return types;
}

const NubeInstanceType *nube_catalog_type(const char *name, NubeError **err)
{
    const GPtrArray *all = nube_catalog_types();
    for (guint i = 0; name != NULL && i < all->len; i++) {
        const NubeInstanceType *t = g_ptr_array_index(all, i);
        if (g_str_equal(t->name, name))
            return t;
    }
    nube_error_setc(err, EINVAL, "InvalidParameterValue", "Invalid value '%s' for InstanceType.",
                    name ? name : "");
    return NULL;
}

const char *nube_catalog_default_type(void)
{
    nube_catalog_types();
    return default_type;
}

char *nube_catalog_zone(const char *region)
{
    return g_strconcat(region, "a", NULL);
}
