/*
 * attributes.c: DescribeInstanceAttribute and ModifyInstanceAttribute.
 * The instance type and the user data of a stopped instance can change;
 * its next start uses them (lifecycle.c builds the domain and rewrites the
 * NoCloud seed from the record at every boot).  As on EC2, cloud-init runs
 * user data once per instance id, so new user data runs only on an image
 * whose cloud-init (or agent) has not yet run it for that id.
 */
#include "api.h"
#include "xml.h"
#include "catalog.h"

#include <string.h>

typedef char *(*AttributeFn)(const NubeInstance *inst);

static char *attr_instance_type(const NubeInstance *inst)
{
    return g_strdup(inst->instance_type);
}

static char *attr_user_data(const NubeInstance *inst)
{
    gsize len = 0;
    const guchar *data = inst->user_data ? g_bytes_get_data(inst->user_data, &len) : NULL;
    return len > 0 ? g_base64_encode(data, len) : NULL;
}

static char *attr_false(const NubeInstance *inst)
{
    return g_strdup("false");
}

/* A shutdown from inside the guest stops an ebs instance and ends an
 * instance-store one (lifecycle.c). */
static char *attr_shutdown_behavior(const NubeInstance *inst)
{
    return g_strdup(g_str_equal(inst->root_device_type, "ebs") ? "stop" : "terminate");
}

static char *attr_root_device_name(const NubeInstance *inst)
{
    return g_strdup("/dev/vda");
}

/* EC2's instance attributes; those without a function are EC2's but not
 * nube's (UnsupportedOperation). */
static const struct {
    const char *name;
    AttributeFn get;
} attributes[] = {
    { "instanceType", attr_instance_type },
    { "userData", attr_user_data },
    { "disableApiTermination", attr_false },
    { "disableApiStop", attr_false },
    { "instanceInitiatedShutdownBehavior", attr_shutdown_behavior },
    { "rootDeviceName", attr_root_device_name },
    { "ebsOptimized", attr_false },
    { "kernel", NULL },
    { "ramdisk", NULL },
    { "blockDeviceMapping", NULL },
    { "productCodes", NULL },
    { "sourceDestCheck", NULL },
    { "groupSet", NULL },
    { "sriovNetSupport", NULL },
    { "enaSupport", NULL },
    { "enclaveOptions", NULL },
};

/* The attribute NAME, or -1 with ERR "InvalidParameterValue". */
static int attribute_index(const char *name, NubeError **err)
{
    for (size_t i = 0; i < G_N_ELEMENTS(attributes); i++)
        if (g_str_equal(attributes[i].name, name))
            return (int) i;
    return nube_error_setc(err, EINVAL, "InvalidParameterValue",
                           "Value (%s) for parameter attribute is invalid. Unknown attribute.",
                           name);
}

static int unsupported(const char *name, NubeError **err)
{
    return nube_error_setc(err, ENOTSUP, "UnsupportedOperation",
                           "The attribute '%s' is not supported by nube.", name);
}

/* The instance of the parameter InstanceId.  NULL with ERR. */
static NubeInstance *instance_param(const NubeApiRequest *req, NubeError **err)
{
    const char *id = nube_api_require_id(req, "InstanceId", NUBE_RESOURCE_INSTANCE, err);
    return id ? nube_instance_get(req->cloud->db, id, err) : NULL;
}

/* ---- DescribeInstanceAttribute -------------------------------------------- */

int nube_api_describe_instance_attribute(NubeApiRequest *req, xmlNodePtr resp, NubeError **err)
{
    g_autoptr(NubeInstance) inst = instance_param(req, err);
    if (inst == NULL)
        return -EINVAL;
    const char *name = nube_api_require(req, "Attribute", err);
    int i = name ? attribute_index(name, err) : -EINVAL;
    if (i < 0)
        return i;
    if (attributes[i].get == NULL)
        return unsupported(name, err);
    g_autofree char *value = attributes[i].get(inst);
    nube_xml_add(resp, "instanceId", inst->id);
    xmlNodePtr node = nube_xml_add(resp, name, NULL);
    if (value != NULL)
        nube_xml_add(node, "value", value);
    return 0;
}

/* ---- ModifyInstanceAttribute ---------------------------------------------- */

/* Parameters that set one attribute each, with the attribute's name. */
static const struct {
    const char *param;
    const char *attribute;
} value_params[] = {
    { "InstanceType.Value", "instanceType" },
    { "UserData.Value", "userData" },
    { "DisableApiTermination.Value", "disableApiTermination" },
    { "DisableApiStop.Value", "disableApiStop" },
    { "InstanceInitiatedShutdownBehavior.Value", "instanceInitiatedShutdownBehavior" },
    { "EbsOptimized.Value", "ebsOptimized" },
    { "SourceDestCheck.Value", "sourceDestCheck" },
    { "Kernel.Value", "kernel" },
    { "Ramdisk.Value", "ramdisk" },
    { "SriovNetSupport.Value", "sriovNetSupport" },
    { "EnaSupport.Value", "enaSupport" },
};

/* Counts one more requested change (NAME = VALUE); EC2 takes one per call. */
static int add_change(const char *name, const char *value, const char **attr, const char **val,
                      int *count, NubeError **err)
{
    if (++*count > 1)
        return nube_error_setc(err, EINVAL, "InvalidParameterCombination",
                               "Only one attribute can be specified per call.");
    *attr = name;
    *val = value;
    return 0;
}

/* The one attribute the request changes (*ATTR) and its value (*VALUE,
 * NULL for the list forms GroupId.N and BlockDeviceMapping.N). */
static int requested_change(const NubeApiRequest *req, const char **attr, const char **value,
                            NubeError **err)
{
    const char *name = nube_query_get(req->q, "Attribute");
    int count = 0;
    if (name != NULL && nube_api_require(req, "Value", err) == NULL)
        return -EINVAL;
    if (name == NULL && nube_query_get(req->q, "Value") != NULL)
        return nube_error_setc(err, EINVAL, "MissingParameter",
                               "The request must contain the parameter Attribute (with Value)");
    if (name != NULL &&
        (attribute_index(name, err) < 0 ||
         add_change(name, nube_query_get(req->q, "Value"), attr, value, &count, err) < 0))
        return -EINVAL;
    for (size_t i = 0; i < G_N_ELEMENTS(value_params); i++) {
        const char *v = nube_query_get(req->q, value_params[i].param);
        if (v != NULL && add_change(value_params[i].attribute, v, attr, value, &count, err) < 0)
            return -EINVAL;
    }
    g_autofree const char **groups = nube_query_list(req->q, "GroupId");
    g_autoptr(GArray) mappings = nube_query_indices(req->q, "BlockDeviceMapping");
    if ((groups[0] != NULL && add_change("groupSet", NULL, attr, value, &count, err) < 0) ||
        (mappings->len > 0 && add_change("blockDeviceMapping", NULL, attr, value, &count, err) < 0))
        return -EINVAL;
    if (count == 0)
        return nube_error_setc(err, EINVAL, "MissingParameter",
                               "The request must contain the parameter Attribute, "
                               "InstanceType.Value or UserData.Value");
    return 0;
}

static int modify_type(NubeDb *db, const NubeInstance *inst, const char *value, NubeError **err)
{
    const NubeInstanceType *type = value ? nube_catalog_type(value, NULL) : NULL;
    if (type == NULL)
        return nube_error_setc(err, EINVAL, "InvalidInstanceAttributeValue",
                               "Value (%s) for parameter instanceType is invalid.",
                               value ? value : "");
    return nube_instance_set_type(db, inst->id, type->name, type->vcpus, type->memory_mib, err);
}

static int modify_user_data(NubeDb *db, const NubeInstance *inst, const char *value,
                            NubeError **err)
{
    g_autoptr(GBytes) ud = nube_api_user_data(value ? value : "", err);
    if (ud == NULL)
        return -EINVAL;
    return nube_instance_set_user_data(db, inst->id, ud, err);
}

int nube_api_modify_instance_attribute(NubeApiRequest *req, xmlNodePtr resp, NubeError **err)
{
    g_autoptr(NubeInstance) inst = instance_param(req, err);
    if (inst == NULL)
        return -EINVAL;
    const char *attr = NULL, *value = NULL;
    if (requested_change(req, &attr, &value, err) < 0)
        return -EINVAL;
    int r;
    if (g_str_equal(attr, "instanceType"))
        r = modify_type(req->cloud->db, inst, value, err);
    else if (g_str_equal(attr, "userData"))
        r = modify_user_data(req->cloud->db, inst, value, err);
    else
        r = unsupported(attr, err);
    if (r < 0)
        return r;
    nube_xml_add_bool(resp, "return", TRUE);
    return 0;
}
