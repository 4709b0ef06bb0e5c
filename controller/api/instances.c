/*
 * instances.c: RunInstances, DescribeInstances, Start/Stop/Reboot/
 * TerminateInstances and GetConsoleOutput.
 */
#include "api.h"
#include "xml.h"
#include "catalog.h"
#include "clienttoken.h"
#include "keypair.h"
#include "lifecycle.h"
#include "secgroup.h"
#include "tags.h"

#include <string.h>

#define MAX_LAUNCH  20
#define CONSOLE_MAX (64 * 1024)

/* ---- rendering ------------------------------------------------------------ */

void nube_api_render_state(xmlNodePtr parent, const char *name, NubeInstanceState state)
{
    xmlNodePtr node = nube_xml_add(parent, name, NULL);
    nube_xml_add_int(node, "code", nube_instance_state_code(state));
    nube_xml_add(node, "name", nube_instance_state_name(state));
}

static void render_reason(xmlNodePtr item, const char *reason)
{
    if (reason == NULL) {
        nube_xml_add(item, "reason", NULL);
        return;
    }
    g_autofree char *code = g_strdup(reason);
    char *colon = strchr(code, ':');
    if (colon != NULL)
        *colon = '\0';
    nube_xml_add(item, "reason", reason);
    xmlNodePtr sr = nube_xml_add(item, "stateReason", NULL);
    nube_xml_add(sr, "code", code);
    nube_xml_add(sr, "message", reason);
}

static void render_forward(xmlNodePtr set, gint64 host_port, gint64 guest_port)
{
    xmlNodePtr fwd = nube_xml_add(set, "item", NULL);
    nube_xml_add(fwd, "protocol", "tcp");
    nube_xml_add(fwd, "hostIp", "127.0.0.1");
    nube_xml_add_int(fwd, "hostPort", host_port);
    nube_xml_add_int(fwd, "guestPort", guest_port);
}

static void render_forwards(xmlNodePtr item, const NubeInstance *inst)
{
    xmlNodePtr set = nube_xml_add(item, "nubePortForwardSet", NULL);
    if (inst->state == NUBE_INSTANCE_TERMINATED)
        return;
    for (guint i = 0; inst->forwards != NULL && i < inst->forwards->len; i++) {
        const NubePortForward *f = &g_array_index(inst->forwards, NubePortForward, i);
        render_forward(set, f->host_port, f->guest_port);
    }
}

static void render_groups(xmlNodePtr item, const NubeInstance *inst)
{
    xmlNodePtr set = nube_xml_add(item, "groupSet", NULL);
    for (guint i = 0; inst->groups != NULL && i < inst->groups->len; i++) {
        const NubeSecGroup *g = g_ptr_array_index(inst->groups, i);
        xmlNodePtr gi = nube_xml_add(set, "item", NULL);
        nube_xml_add(gi, "groupId", g->id);
        nube_xml_add(gi, "groupName", g->name);
    }
}

static void render_block_devices(xmlNodePtr item, const NubeInstance *inst)
{
    nube_xml_add(item, "rootDeviceType", inst->root_device_type);
    nube_xml_add(item, "rootDeviceName", "/dev/vda");
    xmlNodePtr set = nube_xml_add(item, "blockDeviceMapping", NULL);
    if (inst->root_volume_id == NULL)
        return;
    xmlNodePtr dev = nube_xml_add(set, "item", NULL);
    nube_xml_add(dev, "deviceName", "/dev/vda");
    xmlNodePtr ebs = nube_xml_add(dev, "ebs", NULL);
    nube_xml_add(ebs, "volumeId", inst->root_volume_id);
    nube_xml_add(ebs, "status", "attached");
    nube_xml_add_time(ebs, "attachTime", inst->launch_time);
    nube_xml_add_bool(ebs, "deleteOnTermination", inst->root_delete_on_termination);
}

static void render_metadata_options(xmlNodePtr parent, const char *name, const NubeInstance *inst);

void nube_api_render_instance(xmlNodePtr item, const char *region, const NubeInstance *inst)
{
    g_autofree char *zone = nube_catalog_zone(region);
    g_autofree char *dns = g_strdup_printf("%s.%s.compute.internal", inst->hostname, region);
    gboolean live = inst->state != NUBE_INSTANCE_TERMINATED;

    nube_xml_add(item, "instanceId", inst->id);
    nube_xml_add(item, "imageId", inst->image_id);
    nube_api_render_state(item, "instanceState", inst->state);
    nube_xml_add(item, "privateDnsName", live ? dns : NULL);
    nube_xml_add(item, "dnsName", NULL);
    render_reason(item, inst->state_reason);
    if (inst->key_name != NULL)
        nube_xml_add(item, "keyName", inst->key_name);
    if (inst->client_token != NULL)
        nube_xml_add(item, "clientToken", inst->client_token);
    nube_xml_add_int(item, "amiLaunchIndex", inst->launch_index);
    nube_xml_add(item, "productCodes", NULL);
    nube_xml_add(item, "instanceType", inst->instance_type);
    nube_xml_add_time(item, "launchTime", inst->launch_time);
    xmlNodePtr placement = nube_xml_add(item, "placement", NULL);
    nube_xml_add(placement, "availabilityZone", zone);
    nube_xml_add(placement, "tenancy", "default");
    xmlNodePtr mon = nube_xml_add(item, "monitoring", NULL);
    nube_xml_add(mon, "state", "disabled");
    if (live)
        nube_xml_add(item, "privateIpAddress", inst->private_ip);
    render_groups(item, inst);
    nube_xml_add(item, "architecture", "x86_64");
    render_block_devices(item, inst);
    nube_xml_add(item, "virtualizationType", "hvm");
    nube_xml_add(item, "hypervisor",
                 inst->accelerator && g_str_equal(inst->accelerator, "kvm") ? "kvm" : "qemu");
    nube_xml_add_tags(item, inst->tags);
    xmlNodePtr cpu = nube_xml_add(item, "cpuOptions", NULL);
    nube_xml_add_int(cpu, "coreCount", inst->vcpus);
    nube_xml_add_int(cpu, "threadsPerCore", 1);
    render_forwards(item, inst);
    render_metadata_options(item, "metadataOptions", inst);
    nube_xml_add(item, "nubeAccelerator", inst->accelerator);
    nube_xml_add_bool(item, "nubeNoCloudSeed", !inst->no_seed);
    nube_api_render_agent(item, inst);
}

/* ---- ids and filters ------------------------------------------------------ */

/* Instance ids of InstanceId.N, checked for form.  NULL with ERR. */
static const char **instance_ids(const NubeApiRequest *req, gboolean required, NubeError **err)
{
    g_autofree const char **ids = nube_query_list(req->q, "InstanceId");
    if (required && ids[0] == NULL) {
        nube_error_setc(err, EINVAL, "MissingParameter",
                        "The request must contain the parameter InstanceId");
        return NULL;
    }
    for (size_t i = 0; ids[i] != NULL; i++)
        if (nube_resource_id_check(NUBE_RESOURCE_INSTANCE, ids[i], err) < 0)
            return NULL;
    return g_steal_pointer(&ids);
}

/* The records of IDS, all or an "InvalidInstanceID.NotFound" naming the
 * unknown ones. */
static GPtrArray *load_instances(NubeCloud *d, const char **ids, NubeError **err)
{
    g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func((GDestroyNotify) nube_instance_free);
    g_autoptr(GString) missing = g_string_new(NULL);
    for (size_t i = 0; ids[i] != NULL; i++) {
        NubeError *e = NULL;
        NubeInstance *inst = nube_instance_get(d->db, ids[i], &e);
        if (inst == NULL && e != NULL && e->errnum != ENOENT)
            return nube_error_propagate(err, e), NULL;
        nube_error_free(e);
        if (inst != NULL)
            g_ptr_array_add(out, inst);
        else
            g_string_append_printf(missing, "%s'%s'", missing->len ? ", " : "", ids[i]);
    }
    if (missing->len > 0) {
        nube_error_setc(err, ENOENT, "InvalidInstanceID.NotFound",
                        "The instance IDs %s do not exist", missing->str);
        return NULL;
    }
    return g_steal_pointer(&out);
}

/* Values of DescribeInstances' filters (new strings, NULL: the instance has
 * none, so no value matches). */

static char *field_state_name(const NubeApiRequest *req, const void *item)
{
    const NubeInstance *inst = item;
    return g_strdup(nube_instance_state_name(inst->state));
}

static char *field_state_code(const NubeApiRequest *req, const void *item)
{
    const NubeInstance *inst = item;
    return g_strdup_printf("%d", nube_instance_state_code(inst->state));
}

static char *field_zone(const NubeApiRequest *req, const void *item)
{
    return nube_catalog_zone(req->cloud->cfg->region);
}

static char *field_private_dns(const NubeApiRequest *req, const void *item)
{
    const NubeInstance *inst = item;
    if (inst->state == NUBE_INSTANCE_TERMINATED)
        return NULL;
    return g_strdup_printf("%s.%s.compute.internal", inst->hostname, req->cloud->cfg->region);
}

static char *field_private_ip(const NubeApiRequest *req, const void *item)
{
    const NubeInstance *inst = item;
    return inst->state == NUBE_INSTANCE_TERMINATED ? NULL : g_strdup(inst->private_ip);
}

static char *field_launch_time(const NubeApiRequest *req, const void *item)
{
    const NubeInstance *inst = item;
    return nube_xml_time(inst->launch_time);
}

static char *field_launch_index(const NubeApiRequest *req, const void *item)
{
    const NubeInstance *inst = item;
    return g_strdup_printf("%" G_GINT64_FORMAT, inst->launch_index);
}

static char *field_hypervisor(const NubeApiRequest *req, const void *item)
{
    const NubeInstance *inst = item;
    return g_strdup(g_strcmp0(inst->accelerator, "kvm") == 0 ? "kvm" : "qemu");
}

static char *field_reason_code(const NubeApiRequest *req, const void *item)
{
    const NubeInstance *inst = item;
    const char *colon = inst->state_reason ? strchr(inst->state_reason, ':') : NULL;
    return colon ? g_strndup(inst->state_reason, colon - inst->state_reason)
                 : g_strdup(inst->state_reason);
}

static char *field_root_device(const NubeApiRequest *req, const void *item)
{
    const NubeInstance *inst = item;
    return inst->root_volume_id ? g_strdup("/dev/vda") : NULL;
}

static char *field_root_status(const NubeApiRequest *req, const void *item)
{
    const NubeInstance *inst = item;
    return inst->root_volume_id ? g_strdup("attached") : NULL;
}

static char *field_root_dot(const NubeApiRequest *req, const void *item)
{
    const NubeInstance *inst = item;
    if (inst->root_volume_id == NULL)
        return NULL;
    return g_strdup(inst->root_delete_on_termination ? "true" : "false");
}

static char *field_root_attach_time(const NubeApiRequest *req, const void *item)
{
    const NubeInstance *inst = item;
    return inst->root_volume_id ? nube_xml_time(inst->launch_time) : NULL;
}

static char *field_vcpus(const NubeApiRequest *req, const void *item)
{
    const NubeInstance *inst = item;
    return g_strdup_printf("%" G_GINT64_FORMAT, inst->vcpus);
}

/* Adds the id (BY_ID) or name of each of INST's security groups. */
static void group_values(const NubeInstance *inst, gboolean by_id, GPtrArray *values)
{
    for (guint i = 0; inst->groups != NULL && i < inst->groups->len; i++) {
        const NubeSecGroup *g = g_ptr_array_index(inst->groups, i);
        g_ptr_array_add(values, g_strdup(by_id ? g->id : g->name));
    }
}

static void field_group_ids(const NubeApiRequest *req, const void *item, GPtrArray *values)
{
    group_values(item, TRUE, values);
}

static void field_group_names(const NubeApiRequest *req, const void *item, GPtrArray *values)
{
    group_values(item, FALSE, values);
}

static const NubeApiFilterField instance_filters[] = {
    NUBE_FILTER_MEMBER("instance-id", NubeInstance, id),
    NUBE_FILTER_FN("instance-state-name", field_state_name),
    NUBE_FILTER_MEMBER("image-id", NubeInstance, image_id),
    NUBE_FILTER_MEMBER("instance-type", NubeInstance, instance_type),
    NUBE_FILTER_MEMBER("reservation-id", NubeInstance, reservation_id),
    NUBE_FILTER_MEMBER("root-device-type", NubeInstance, root_device_type),
    NUBE_FILTER_MEMBER("owner-id", NubeInstance, owner_id),
    NUBE_FILTER_MEMBER("key-name", NubeInstance, key_name),
    NUBE_FILTER_MEMBER("reason", NubeInstance, state_reason),
    NUBE_FILTER_MEMBER("state-reason-message", NubeInstance, state_reason),
    NUBE_FILTER_FN("instance-state-code", field_state_code),
    NUBE_FILTER_FN("availability-zone", field_zone),
    NUBE_FILTER_FN("placement.availability-zone", field_zone),
    NUBE_FILTER_FN("private-dns-name", field_private_dns),
    NUBE_FILTER_FN("private-ip-address", field_private_ip),
    NUBE_FILTER_FN("launch-time", field_launch_time),
    NUBE_FILTER_FN("launch-index", field_launch_index),
    NUBE_FILTER_FN("ami-launch-index", field_launch_index),
    NUBE_FILTER_FN("hypervisor", field_hypervisor),
    NUBE_FILTER_FN("state-reason-code", field_reason_code),
    NUBE_FILTER_FN("block-device-mapping.device-name", field_root_device),
    NUBE_FILTER_MEMBER("block-device-mapping.volume-id", NubeInstance, root_volume_id),
    NUBE_FILTER_FN("block-device-mapping.status", field_root_status),
    NUBE_FILTER_FN("block-device-mapping.delete-on-termination", field_root_dot),
    NUBE_FILTER_FN("block-device-mapping.attach-time", field_root_attach_time),
    NUBE_FILTER_FN("cpu-options.core-count", field_vcpus),
    /* Some security group of the instance matches (group-id and
     * group-name are EC2-Classic's names). */
    NUBE_FILTER_VALUES("instance.group-id", field_group_ids),
    NUBE_FILTER_VALUES("instance.group-name", field_group_names),
    NUBE_FILTER_VALUES("group-id", field_group_ids),
    NUBE_FILTER_VALUES("group-name", field_group_names),
    NUBE_FILTER_CONST("architecture", "x86_64"),
    NUBE_FILTER_CONST("virtualization-type", "hvm"),
    NUBE_FILTER_CONST("root-device-name", "/dev/vda"),
    NUBE_FILTER_CONST("tenancy", "default"),
    NUBE_FILTER_CONST("placement.tenancy", "default"),
    NUBE_FILTER_CONST("monitoring-state", "disabled"),
    NUBE_FILTER_CONST("cpu-options.threads-per-core", "1"),
    /* No public address: these match nothing. */
    NUBE_FILTER_CONST("dns-name", NULL),
    NUBE_FILTER_CONST("ip-address", NULL),
    NUBE_FILTER_END,
};

static int instance_filter(const NubeApiRequest *req, const void *item, const NubeFilter *f,
                           gboolean *match, NubeError **err)
{
    const NubeInstance *inst = item;
    return nube_api_filter_fields(req, instance_filters, inst, inst->tags, f, match, err);
}

/* ---- DescribeInstances ---------------------------------------------------- */

static void render_reservations(xmlNodePtr resp, const NubeApiRequest *req, GPtrArray *insts,
                                guint start, guint end)
{
    xmlNodePtr set = nube_xml_add(resp, "reservationSet", NULL);
    xmlNodePtr rset = NULL;
    const char *current = NULL;
    for (guint i = start; i < end; i++) {
        const NubeInstance *inst = insts->pdata[i];
        if (current == NULL || !g_str_equal(current, inst->reservation_id)) {
            xmlNodePtr r = nube_xml_add(set, "item", NULL);
            nube_xml_add(r, "reservationId", inst->reservation_id);
            nube_xml_add(r, "ownerId", inst->owner_id);
            nube_xml_add(r, "groupSet", NULL);
            rset = nube_xml_add(r, "instancesSet", NULL);
            current = inst->reservation_id;
        }
        nube_api_render_instance(nube_xml_add(rset, "item", NULL), req->cloud->cfg->region, inst);
    }
}

int nube_api_describe_instances(NubeApiRequest *req, xmlNodePtr resp, NubeError **err)
{
    g_autofree const char **ids = instance_ids(req, FALSE, err);
    if (ids == NULL)
        return -EINVAL;
    if (ids[0] != NULL && nube_query_get(req->q, "MaxResults") != NULL)
        return nube_error_setc(err, EINVAL, "InvalidParameterCombination",
                               "The parameter instancesSet cannot be used with the parameter "
                               "maxResults");
    gint64 since = g_get_real_time() / G_USEC_PER_SEC - NUBE_TERMINATED_VISIBLE;
    g_autoptr(GPtrArray) all = ids[0] ? load_instances(req->cloud, ids, err)
                                      : nube_instance_list(req->cloud->db, since, err);
    if (all == NULL || nube_api_filter_items(req, all, instance_filter, NULL, err) < 0)
        return -EINVAL;

    guint start = 0, end = 0;
    g_autofree char *next = NULL;
    if (nube_api_page(req, 5, 1000, all->len, &start, &end, &next, err) < 0)
        return -EINVAL;
    render_reservations(resp, req, all, start, end);
    if (next != NULL)
        nube_xml_add(resp, "nextToken", next);
    return 0;
}

/* ---- RunInstances --------------------------------------------------------- */

/* Tags of TagSpecification.N for ResourceType TYPE, "instance" or "volume"
 * (an ebs root's; an instance-store root has no volume to tag).  A new
 * array, NULL with ERR. */
static GPtrArray *launch_tags(const NubeApiRequest *req, const char *type, NubeError **err)
{
    static const char *const allowed[] = { "instance", "volume", NULL };
    return nube_api_tag_specs(req, type, allowed, err);
}

static int launch_count(const NubeApiRequest *req, guint *count, NubeError **err)
{
    gint64 min = 0, max = 0;
    if (nube_query_int(req->q, "MinCount", 1, G_MAXINT, 1, &min, err) < 0 ||
        nube_query_int(req->q, "MaxCount", 1, G_MAXINT, 1, &max, err) < 0)
        return -EINVAL;
    if (min > max)
        return nube_error_setc(err, EINVAL, "InvalidParameterValue",
                               "MinCount (%" G_GINT64_FORMAT
                               ") is larger than MaxCount (%" G_GINT64_FORMAT ").",
                               min, max);
    if (min > MAX_LAUNCH)
        return nube_error_setc(err, EINVAL, "InstanceLimitExceeded",
                               "You have requested more instances (%" G_GINT64_FORMAT
                               ") than your current instance limit of %d allows.",
                               min, MAX_LAUNCH);
    *count = (guint) MIN(max, MAX_LAUNCH);
    return 0;
}

static NubeImage *launchable_image(const NubeApiRequest *req, NubeError **err)
{
    const char *id = nube_api_require_id(req, "ImageId", NUBE_RESOURCE_IMAGE, err);
    if (id == NULL)
        return NULL;
    g_autoptr(NubeImage) img = nube_image_get(req->cloud->db, id, err);
    if (img == NULL)
        return NULL;
    if (g_str_equal(img->state, "deregistered")) {
        nube_error_setc(err, ENOENT, "InvalidAMIID.NotFound", "The image id '[%s]' does not exist",
                        id);
        return NULL;
    }
    if (!g_str_equal(img->state, "available")) {
        nube_error_setc(err, EINVAL, "InvalidAMIID.Unavailable",
                        "The image '%s' is not available (it is '%s').", id, img->state);
        return NULL;
    }
    return g_steal_pointer(&img);
}

/* nube's extension NubeForwardPort.N: guest TCP ports (not 22, which
 * security groups open) to forward whatever the groups say. */
static GArray *forward_ports(const NubeApiRequest *req, NubeError **err)
{
    g_autoptr(GArray) ports = g_array_new(FALSE, FALSE, sizeof(guint16));
    g_autofree const char **values = nube_query_list(req->q, "NubeForwardPort");
    for (size_t i = 0; values[i] != NULL; i++) {
        char *end = NULL;
        gint64 p = g_ascii_strtoll(values[i], &end, 10);
        if (*values[i] == '\0' || *end != '\0' || p < 1 || p > 65535 || p == 22) {
            nube_error_setc(err, EINVAL, "InvalidParameterValue",
                            "NubeForwardPort '%s' is not a TCP port from 1 to 65535 other "
                            "than 22 (open SSH with a security group rule).",
                            values[i]);
            return NULL;
        }
        guint16 port = (guint16) p;
        for (guint j = 0; j < ports->len; j++)
            if (g_array_index(ports, guint16, j) == port) {
                nube_error_setc(err, EINVAL, "InvalidParameterValue",
                                "NubeForwardPort %u is given twice.", port);
                return NULL;
            }
        g_array_append_val(ports, port);
    }
    if (ports->len > 16) {
        nube_error_setc(err, EINVAL, "InvalidParameterValue",
                        "At most 16 ports can be forwarded (got %u).", ports->len);
        return NULL;
    }
    return g_steal_pointer(&ports);
}

/* BlockDeviceMapping.N for the root device: only DeleteOnTermination of an
 * ebs root can be chosen here. */
static int root_mapping(const NubeApiRequest *req, const NubeImage *img, gboolean *keep,
                        NubeError **err)
{
    static const char *const root_names[] = { "/dev/vda", "/dev/xvda", "/dev/sda1", NULL };
    g_autoptr(GArray) idx = nube_query_indices(req->q, "BlockDeviceMapping");
    *keep = FALSE;
    for (guint i = 0; i < idx->len; i++) {
        guint n = g_array_index(idx, guint, i);
        g_autofree char *dk = g_strdup_printf("BlockDeviceMapping.%u.DeviceName", n);
        g_autofree char *dot_key =
            g_strdup_printf("BlockDeviceMapping.%u.Ebs.DeleteOnTermination", n);
        const char *dev = nube_query_get(req->q, dk);
        if (dev == NULL || !g_strv_contains(root_names, dev))
            return nube_error_setc(err, EINVAL, "InvalidBlockDeviceMapping",
                                   "Only the root device (/dev/vda) can be mapped, not '%s'.",
                                   dev ? dev : "");
        if (!g_str_equal(img->root_device_type, "ebs"))
            return nube_error_setc(err, EINVAL, "InvalidBlockDeviceMapping",
                                   "The image '%s' has an instance-store root device.", img->id);
        gboolean dot = TRUE;
        if (nube_query_bool(req->q, dot_key, TRUE, &dot, err) < 0)
            return -EINVAL;
        *keep = !dot;
    }
    return 0;
}

/* KeyName: the requester's key pair (NULL without ERR when none is
 * asked for), whose public key goes to the instances. */
static NubeKeyPair *launch_key(const NubeApiRequest *req, NubeError **err)
{
    const char *name = nube_query_get(req->q, "KeyName");
    if (name == NULL || *name == '\0')
        return NULL;
    return nube_keypair_by_name(req->cloud->db, req->account->id, name, err);
}

/* SecurityGroupId.N and SecurityGroup.N (names), each once, or the
 * default group.  NULL with ERR. */
static GPtrArray *launch_groups(const NubeApiRequest *req, NubeError **err)
{
    g_autoptr(GPtrArray) groups =
        nube_api_security_groups(req, "SecurityGroupId", "SecurityGroup", err);
    if (groups == NULL)
        return NULL;
    for (guint i = 0; i < groups->len; i++)
        for (guint j = i + 1; j < groups->len;)
            if (g_str_equal(((NubeSecGroup *) groups->pdata[i])->id,
                            ((NubeSecGroup *) groups->pdata[j])->id))
                g_ptr_array_remove_index(groups, j);
            else
                j++;
    if (groups->len > NUBE_SECGROUP_MAX_PER_INSTANCE) {
        nube_error_setc(err, EINVAL, "SecurityGroupsPerInterfaceLimitExceeded",
                        "An instance can have at most %d security groups (got %u).",
                        NUBE_SECGROUP_MAX_PER_INSTANCE, groups->len);
        return NULL;
    }
    if (groups->len == 0) {
        NubeSecGroup *def =
            nube_secgroup_by_name(req->cloud->db, req->account->id, NUBE_SECGROUP_DEFAULT, err);
        if (def == NULL)
            return NULL;
        g_ptr_array_add(groups, def);
    }
    return g_steal_pointer(&groups);
}

/* PREFIX"HttpTokens", PREFIX"HttpEndpoint" and PREFIX"HttpPutResponseHopLimit"
 * (NULL / 0 when absent), checked. */
static int metadata_options(const NubeApiRequest *req, const char *prefix, const char **tokens,
                            const char **endpoint, gint64 *hop_limit, NubeError **err)
{
    static const char *const token_values[] = { "optional", "required", NULL };
    static const char *const endpoint_values[] = { "enabled", "disabled", NULL };
    g_autofree char *tk = g_strconcat(prefix, "HttpTokens", NULL);
    g_autofree char *ek = g_strconcat(prefix, "HttpEndpoint", NULL);
    g_autofree char *hk = g_strconcat(prefix, "HttpPutResponseHopLimit", NULL);

    *tokens = nube_query_get(req->q, tk);
    *endpoint = nube_query_get(req->q, ek);
    if (*tokens != NULL && !g_strv_contains(token_values, *tokens))
        return nube_error_setc(err, EINVAL, "InvalidParameterValue",
                               "Value (%s) for parameter %s is invalid. Valid values: optional, "
                               "required.",
                               *tokens, tk);
    if (*endpoint != NULL && !g_strv_contains(endpoint_values, *endpoint))
        return nube_error_setc(err, EINVAL, "InvalidParameterValue",
                               "Value (%s) for parameter %s is invalid. Valid values: enabled, "
                               "disabled.",
                               *endpoint, ek);
    return nube_query_int(req->q, hk, 1, 64, 0, hop_limit, err);
}

static void render_metadata_options(xmlNodePtr parent, const char *name, const NubeInstance *inst)
{
    xmlNodePtr mo = nube_xml_add(parent, name, NULL);
    nube_xml_add(mo, "state", "applied");
    nube_xml_add(mo, "httpTokens", inst->metadata_http_tokens);
    nube_xml_add_int(mo, "httpPutResponseHopLimit", inst->metadata_hop_limit);
    nube_xml_add(mo, "httpEndpoint", inst->metadata_http_endpoint);
    nube_xml_add(mo, "httpProtocolIpv6", "disabled");
    nube_xml_add(mo, "instanceMetadataTags", "disabled");
}

int nube_api_modify_instance_metadata_options(NubeApiRequest *req, xmlNodePtr resp, NubeError **err)
{
    const char *id = nube_api_require_id(req, "InstanceId", NUBE_RESOURCE_INSTANCE, err);
    if (id == NULL)
        return -EINVAL;
    const char *tokens = NULL, *endpoint = NULL;
    gint64 hops = 0;
    if (metadata_options(req, "", &tokens, &endpoint, &hops, err) < 0)
        return -EINVAL;
    if (nube_instance_set_metadata_options(req->cloud->db, id, tokens, endpoint, hops, err) < 0)
        return -ENOENT;
    g_autoptr(NubeInstance) inst = nube_instance_get(req->cloud->db, id, err);
    if (inst == NULL)
        return -ENOENT;
    nube_xml_add(resp, "instanceId", inst->id);
    render_metadata_options(resp, "instanceMetadataOptions", inst);
    return 0;
}

/* What RunInstances' parameters ask for: the launch request and what it
 * points to. */
typedef struct {
    NubeLaunchRequest lr;
    NubeImage *image;
    NubeKeyPair *key;
    char *public_key;
    GPtrArray *groups;
    GBytes *user_data;
    GPtrArray *tags;
    GPtrArray *volume_tags;
    GArray *forward_ports;
} Launch;

static void launch_clear(Launch *l)
{
    g_clear_pointer(&l->image, nube_image_free);
    g_clear_pointer(&l->key, nube_keypair_free);
    g_clear_pointer(&l->public_key, g_free);
    g_clear_pointer(&l->groups, g_ptr_array_unref);
    g_clear_pointer(&l->user_data, g_bytes_unref);
    g_clear_pointer(&l->tags, g_ptr_array_unref);
    g_clear_pointer(&l->volume_tags, g_ptr_array_unref);
    g_clear_pointer(&l->forward_ports, g_array_unref);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(Launch, launch_clear)

/* ImageId, MinCount/MaxCount and InstanceType. */
static int launch_what(const NubeApiRequest *req, Launch *l, NubeError **err)
{
    const char *type_name = nube_query_get(req->q, "InstanceType");
    if ((l->image = launchable_image(req, err)) == NULL || launch_count(req, &l->lr.count, err) < 0)
        return -EINVAL;
    l->lr.image = l->image;
    l->lr.type = nube_catalog_type(type_name ? type_name : nube_catalog_default_type(), err);
    return l->lr.type == NULL ? -EINVAL : 0;
}

/* KeyName and the security groups. */
static int launch_access(const NubeApiRequest *req, Launch *l, NubeError **err)
{
    NubeError *kerr = NULL;
    l->key = launch_key(req, &kerr);
    if (kerr != NULL)
        return nube_error_propagate(err, kerr);
    if (l->key != NULL) {
        l->public_key = nube_keypair_public_line(l->key);
        l->lr.key_name = l->key->name;
        l->lr.public_key = l->public_key;
    }
    l->lr.groups = l->groups = launch_groups(req, err);
    return l->groups == NULL ? -EINVAL : 0;
}

/* UserData and the tag specifications. */
static int launch_content(const NubeApiRequest *req, Launch *l, NubeError **err)
{
    const char *ud = nube_query_get(req->q, "UserData");
    if (ud != NULL && (l->user_data = nube_api_user_data(ud, err)) == NULL)
        return -EINVAL;
    l->lr.user_data = l->user_data;
    l->lr.tags = l->tags = launch_tags(req, "instance", err);
    if (l->tags == NULL)
        return -EINVAL;
    l->lr.volume_tags = l->volume_tags = launch_tags(req, "volume", err);
    return l->volume_tags == NULL ? -EINVAL : 0;
}

/* NubeForwardPort.N, the root's BlockDeviceMapping, MetadataOptions and
 * NubeNoCloudSeed. */
static int launch_options(const NubeApiRequest *req, Launch *l, NubeError **err)
{
    gboolean seed = TRUE;
    l->lr.forward_ports = l->forward_ports = forward_ports(req, err);
    if (l->forward_ports == NULL || root_mapping(req, l->image, &l->lr.keep_root, err) < 0 ||
        metadata_options(req, "MetadataOptions.", &l->lr.metadata_tokens, &l->lr.metadata_endpoint,
                         &l->lr.metadata_hop_limit, err) < 0 ||
        nube_query_bool(req->q, "NubeNoCloudSeed", TRUE, &seed, err) < 0)
        return -EINVAL;
    l->lr.no_seed = !seed;
    return 0;
}

/* RunInstances' answer: the reservation of INSTS. */
static void render_run(xmlNodePtr resp, const NubeApiRequest *req, const GPtrArray *insts)
{
    const NubeInstance *first = insts->pdata[0];
    nube_xml_add(resp, "reservationId", first->reservation_id);
    nube_xml_add(resp, "ownerId", first->owner_id);
    nube_xml_add(resp, "groupSet", NULL);
    xmlNodePtr set = nube_xml_add(resp, "instancesSet", NULL);
    for (guint i = 0; i < insts->len; i++)
        nube_api_render_instance(nube_xml_add(set, "item", NULL), req->cloud->cfg->region,
                                 insts->pdata[i]);
}

/* ClientToken in *TOKEN: NULL when absent or empty, else 1 to 64 ASCII
 * characters (InvalidParameterValue otherwise). */
static int client_token(const NubeApiRequest *req, const char **token, NubeError **err)
{
    const char *t = nube_query_get(req->q, "ClientToken");
    *token = NULL;
    if (t == NULL || *t == '\0')
        return 0;
    gboolean ascii = TRUE;
    for (const char *p = t; *p != '\0'; p++)
        ascii = ascii && (unsigned char) *p < 0x80;
    if (!ascii || strlen(t) > NUBE_CLIENT_TOKEN_MAX)
        return nube_error_setc(err, EINVAL, "InvalidParameterValue",
                               "Value ('%s') for parameter ClientToken is invalid: a client token "
                               "is 1 to %d ASCII characters.",
                               t, NUBE_CLIENT_TOKEN_MAX);
    *token = t;
    return 0;
}

/*
 * Answers the reservation that the requester's TOKEN made, as it is now, if
 * the token was used before.  Returns 1 when answered, 0 for a new token,
 * -errno with ERR ("IdempotentParameterMismatch" when the token came with
 * other parameters than DIGEST's).
 */
static int replay(const NubeApiRequest *req, const char *token, const char *digest, xmlNodePtr resp,
                  NubeError **err)
{
    g_autofree char *was = NULL, *reservation = NULL;
    int r =
        nube_client_token_find(req->cloud->db, req->account->id, token, &was, &reservation, err);
    if (r <= 0)
        return r;
    if (!g_str_equal(was, digest))
        return nube_error_setc(err, EINVAL, "IdempotentParameterMismatch",
                               "Arguments on this idempotent request are inconsistent with "
                               "arguments used in previous request(s).");
    g_autoptr(GPtrArray) insts = nube_instance_list_reservation(req->cloud->db, reservation, err);
    if (insts == NULL)
        return -EIO;
    if (insts->len == 0)
        return nube_error_set(err, ENOENT, "the reservation '%s' of client token '%s' is gone",
                              reservation, token);
    render_run(resp, req, insts);
    return 1;
}

/* Launches what the request asks for, recording TOKEN (may be NULL) with
 * DIGEST, and answers the new reservation. */
static int launch(NubeApiRequest *req, const char *token, const char *digest, xmlNodePtr resp,
                  NubeError **err)
{
    g_auto(Launch) l = { .lr = { .owner_id = req->account->id } };
    if (launch_what(req, &l, err) < 0 || launch_access(req, &l, err) < 0 ||
        launch_content(req, &l, err) < 0 || launch_options(req, &l, err) < 0)
        return -EINVAL;
    l.lr.client_token = token;
    l.lr.request_digest = digest;

    NubeError *lerr = NULL;
    g_autoptr(GPtrArray) insts = nube_lifecycle_run(req->cloud, &l.lr, &lerr);
    if (insts == NULL && lerr != NULL && lerr->errnum == EALREADY) {
        /* A request with the same token recorded it first: this one is
         * answered as its retry. */
        g_clear_pointer(&lerr, nube_error_free);
        int r = replay(req, token, digest, resp, err);
        return r != 0 ? MIN(r, 0) : nube_error_set(err, EIO, "client token '%s' lost", token);
    }
    if (insts == NULL)
        return nube_error_propagate(err, lerr);
    render_run(resp, req, insts);
    return 0;
}

int nube_api_run_instances(NubeApiRequest *req, xmlNodePtr resp, NubeError **err)
{
    /* Parameters that do not change what a retry asks for. */
    static const char *const not_digested[] = { "ClientToken", "DryRun", NULL };
    const char *token = NULL;
    if (client_token(req, &token, err) < 0)
        return -EINVAL;
    g_autofree char *digest = token ? nube_query_digest(req->q, not_digested) : NULL;
    int r = token ? replay(req, token, digest, resp, err) : 0;
    if (r != 0)
        return MIN(r, 0);
    return launch(req, token, digest, resp, err);
}

/* ---- state changes -------------------------------------------------------- */

typedef int (*StateChangeFn)(NubeCloud *d, const NubeInstance *inst, gboolean flag,
                             NubeInstanceState *prev, NubeError **err);

static int do_start(NubeCloud *d, const NubeInstance *inst, gboolean flag, NubeInstanceState *prev,
                    NubeError **err)
{
    return nube_lifecycle_start(d, inst->id, prev, err);
}

static int do_stop(NubeCloud *d, const NubeInstance *inst, gboolean force, NubeInstanceState *prev,
                   NubeError **err)
{
    return nube_lifecycle_stop(d, inst->id, force, prev, err);
}

static int do_terminate(NubeCloud *d, const NubeInstance *inst, gboolean flag,
                        NubeInstanceState *prev, NubeError **err)
{
    return nube_lifecycle_terminate(d, inst->id, prev, err);
}

/* Checks every id first (EC2 acts on all or none), then changes each and
 * answers instancesSet with currentState and previousState. */
static int change_states(NubeApiRequest *req, xmlNodePtr resp, StateChangeFn fn, gboolean flag,
                         NubeError **err)
{
    g_autofree const char **ids = instance_ids(req, TRUE, err);
    if (ids == NULL)
        return -EINVAL;
    g_autoptr(GPtrArray) insts = load_instances(req->cloud, ids, err);
    if (insts == NULL)
        return -ENOENT;

    xmlNodePtr set = nube_xml_add(resp, "instancesSet", NULL);
    for (guint i = 0; i < insts->len; i++) {
        const NubeInstance *inst = insts->pdata[i];
        NubeInstanceState prev = inst->state;
        if (fn(req->cloud, inst, flag, &prev, err) < 0)
            return -EINVAL;
        g_autoptr(NubeInstance) now = nube_instance_get(req->cloud->db, inst->id, err);
        if (now == NULL)
            return -EIO;
        xmlNodePtr item = nube_xml_add(set, "item", NULL);
        nube_xml_add(item, "instanceId", inst->id);
        nube_api_render_state(item, "currentState", now->state);
        nube_api_render_state(item, "previousState", prev);
    }
    return 0;
}

int nube_api_start_instances(NubeApiRequest *req, xmlNodePtr resp, NubeError **err)
{
    return change_states(req, resp, do_start, FALSE, err);
}

int nube_api_stop_instances(NubeApiRequest *req, xmlNodePtr resp, NubeError **err)
{
    gboolean force = FALSE;
    if (nube_query_bool(req->q, "Force", FALSE, &force, err) < 0)
        return -EINVAL;
    return change_states(req, resp, do_stop, force, err);
}

int nube_api_terminate_instances(NubeApiRequest *req, xmlNodePtr resp, NubeError **err)
{
    return change_states(req, resp, do_terminate, FALSE, err);
}

int nube_api_reboot_instances(NubeApiRequest *req, xmlNodePtr resp, NubeError **err)
{
    g_autofree const char **ids = instance_ids(req, TRUE, err);
    if (ids == NULL)
        return -EINVAL;
    g_autoptr(GPtrArray) insts = load_instances(req->cloud, ids, err);
    if (insts == NULL)
        return -ENOENT;
    for (guint i = 0; i < insts->len; i++)
        if (nube_lifecycle_reboot(req->cloud, ((NubeInstance *) insts->pdata[i])->id, err) < 0)
            return -EINVAL;
    nube_xml_add_bool(resp, "return", TRUE);
    return 0;
}

int nube_api_get_console_output(NubeApiRequest *req, xmlNodePtr resp, NubeError **err)
{
    const char *id = nube_api_require_id(req, "InstanceId", NUBE_RESOURCE_INSTANCE, err);
    if (id == NULL)
        return -EINVAL;
    g_autoptr(NubeInstance) inst = nube_instance_get(req->cloud->db, id, err);
    if (inst == NULL)
        return -ENOENT;

    g_autoptr(GBytes) log = nube_lifecycle_console(req->cloud, id, CONSOLE_MAX);
    gsize len = 0;
    const guchar *data = g_bytes_get_data(log, &len);
    g_autofree char *b64 = g_base64_encode(data, len);
    nube_xml_add(resp, "instanceId", id);
    nube_xml_add_time(resp, "timestamp", g_get_real_time() / G_USEC_PER_SEC);
    nube_xml_add(resp, "output", b64);
    return 0;
}
