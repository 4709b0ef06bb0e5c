/*
 * catalog.c: DescribeInstanceTypes, DescribeRegions,
 * DescribeAvailabilityZones and nube's own NubeDescribeHost.
 */
#include "api.h"
#include "xml.h"
#include "catalog.h"
#include "log.h"
#include "nube-config.h"

static void render_type(xmlNodePtr item, const NubeInstanceType *t)
{
    nube_xml_add(item, "instanceType", t->name);
    nube_xml_add_bool(item, "currentGeneration", TRUE);
    nube_xml_add_bool(item, "freeTierEligible", g_str_equal(t->name, "t3.micro"));
    xmlNodePtr usage = nube_xml_add(item, "supportedUsageClasses", NULL);
    nube_xml_add(usage, "item", "on-demand");
    xmlNodePtr rdt = nube_xml_add(item, "supportedRootDeviceTypes", NULL);
    nube_xml_add(rdt, "item", "ebs");
    nube_xml_add(rdt, "item", "instance-store");
    xmlNodePtr virt = nube_xml_add(item, "supportedVirtualizationTypes", NULL);
    nube_xml_add(virt, "item", "hvm");
    nube_xml_add_bool(item, "bareMetal", FALSE);
    nube_xml_add(item, "hypervisor", "nitro");
    xmlNodePtr proc = nube_xml_add(item, "processorInfo", NULL);
    nube_xml_add(nube_xml_add(proc, "supportedArchitectures", NULL), "item", "x86_64");
    xmlNodePtr cpu = nube_xml_add(item, "vCpuInfo", NULL);
    nube_xml_add_int(cpu, "defaultVCpus", t->vcpus);
    nube_xml_add_int(cpu, "defaultCores", t->vcpus);
    nube_xml_add_int(cpu, "defaultThreadsPerCore", 1);
    xmlNodePtr mem = nube_xml_add(item, "memoryInfo", NULL);
    nube_xml_add_int(mem, "sizeInMiB", t->memory_mib);
    nube_xml_add_bool(item, "instanceStorageSupported", FALSE);
    nube_xml_add_bool(item, "burstablePerformanceSupported", t->burstable);
}

/* Values of DescribeInstanceTypes' filters (new strings). */

static char *field_bool(gboolean b)
{
    return g_strdup(b ? "true" : "false");
}

static char *field_free_tier(const NubeApiRequest *req, const void *item)
{
    const NubeInstanceType *t = item;
    return field_bool(g_str_equal(t->name, "t3.micro"));
}

static char *field_burstable(const NubeApiRequest *req, const void *item)
{
    const NubeInstanceType *t = item;
    return field_bool(t->burstable);
}

static char *field_memory(const NubeApiRequest *req, const void *item)
{
    const NubeInstanceType *t = item;
    return g_strdup_printf("%u", t->memory_mib);
}

static char *field_vcpus(const NubeApiRequest *req, const void *item)
{
    const NubeInstanceType *t = item;
    return g_strdup_printf("%u", t->vcpus);
}

/* Every type boots either root. */
static void field_root_device_types(const NubeApiRequest *req, const void *item, GPtrArray *values)
{
    g_ptr_array_add(values, g_strdup("ebs"));
    g_ptr_array_add(values, g_strdup("instance-store"));
}

static const NubeApiFilterField type_filters[] = {
    NUBE_FILTER_MEMBER("instance-type", NubeInstanceType, name),
    NUBE_FILTER_FN("free-tier-eligible", field_free_tier),
    NUBE_FILTER_FN("burstable-performance-supported", field_burstable),
    NUBE_FILTER_FN("memory-info.size-in-mib", field_memory),
    NUBE_FILTER_FN("vcpu-info.default-vcpus", field_vcpus),
    NUBE_FILTER_FN("vcpu-info.default-cores", field_vcpus),
    NUBE_FILTER_CONST("vcpu-info.default-threads-per-core", "1"),
    NUBE_FILTER_CONST("current-generation", "true"),
    NUBE_FILTER_CONST("bare-metal", "false"),
    NUBE_FILTER_CONST("hypervisor", "nitro"),
    NUBE_FILTER_CONST("instance-storage-supported", "false"),
    NUBE_FILTER_CONST("processor-info.supported-architecture", "x86_64"),
    NUBE_FILTER_CONST("supported-usage-class", "on-demand"),
    NUBE_FILTER_CONST("supported-virtualization-type", "hvm"),
    NUBE_FILTER_VALUES("supported-root-device-type", field_root_device_types),
    NUBE_FILTER_END,
};

static int type_filter(const NubeApiRequest *req, const void *item, const NubeFilter *f,
                       gboolean *match, NubeError **err)
{
    return nube_api_filter_fields(req, type_filters, item, NULL, f, match, err);
}

int nube_api_describe_instance_types(NubeApiRequest *req, xmlNodePtr resp, NubeError **err)
{
    g_autofree const char **names = nube_query_list(req->q, "InstanceType");
    for (size_t i = 0; names[i] != NULL; i++)
        if (nube_catalog_type(names[i], err) == NULL)
            return -EINVAL;

    const GPtrArray *all = nube_catalog_types();
    g_autoptr(GPtrArray) chosen = g_ptr_array_new();
    for (guint i = 0; i < all->len; i++) {
        const NubeInstanceType *t = all->pdata[i];
        if (names[0] == NULL || g_strv_contains(names, t->name))
            g_ptr_array_add(chosen, all->pdata[i]);
    }
    if (nube_api_filter_items(req, chosen, type_filter, NULL, err) < 0)
        return -EINVAL;
    guint start = 0, end = 0;
    g_autofree char *next = NULL;
    if (nube_api_page(req, 5, 100, chosen->len, &start, &end, &next, err) < 0)
        return -EINVAL;
    xmlNodePtr set = nube_xml_add(resp, "instanceTypeSet", NULL);
    for (guint i = start; i < end; i++)
        render_type(nube_xml_add(set, "item", NULL), chosen->pdata[i]);
    if (next != NULL)
        nube_xml_add(resp, "nextToken", next);
    return 0;
}

int nube_api_describe_regions(NubeApiRequest *req, xmlNodePtr resp, NubeError **err)
{
    g_autofree const char **names = nube_query_list(req->q, "RegionName");
    const char *region = req->cloud->cfg->region;
    for (size_t i = 0; names[i] != NULL; i++)
        if (!g_str_equal(names[i], region))
            return nube_error_setc(err, EINVAL, "InvalidParameterValue", "Invalid region: %s",
                                   names[i]);
    xmlNodePtr item = nube_xml_add(nube_xml_add(resp, "regionInfo", NULL), "item", NULL);
    nube_xml_add(item, "regionName", region);
    nube_xml_add(item, "regionEndpoint", req->cloud->endpoint);
    nube_xml_add(item, "optInStatus", "opt-in-not-required");
    return 0;
}

int nube_api_describe_availability_zones(NubeApiRequest *req, xmlNodePtr resp, NubeError **err)
{
    g_autofree char *zone = nube_catalog_zone(req->cloud->cfg->region);
    g_autofree char *zone_id = g_strdup_printf("%s-az1", req->cloud->cfg->region);
    g_autofree const char **names = nube_query_list(req->q, "ZoneName");
    for (size_t i = 0; names[i] != NULL; i++)
        if (!g_str_equal(names[i], zone))
            return nube_error_setc(err, EINVAL, "InvalidParameterValue",
                                   "The zone '%s' does not exist.", names[i]);
    xmlNodePtr item = nube_xml_add(nube_xml_add(resp, "availabilityZoneInfo", NULL), "item", NULL);
    nube_xml_add(item, "zoneName", zone);
    nube_xml_add(item, "zoneState", "available");
    nube_xml_add(item, "regionName", req->cloud->cfg->region);
    nube_xml_add(item, "zoneId", zone_id);
    nube_xml_add(item, "groupName", req->cloud->cfg->region);
    nube_xml_add(item, "networkBorderGroup", req->cloud->cfg->region);
    nube_xml_add(item, "optInStatus", "opt-in-not-required");
    nube_xml_add(item, "zoneType", "availability-zone");
    nube_xml_add(item, "messageSet", NULL);
    return 0;
}

int nube_api_describe_host(NubeApiRequest *req, xmlNodePtr resp, NubeError **err)
{
    const NubeCloud *d = req->cloud;
    xmlNodePtr host = nube_xml_add(resp, "host", NULL);
    nube_xml_add(host, "version", NUBE_VERSION);
    nube_xml_add(host, "libvirtUri", nube_hypervisor_uri(d->hv));
    nube_xml_add(host, "accelerator", nube_accel_name(d->accel));
    nube_xml_add(host, "acceleratorReason", d->accel_reason);
    nube_xml_add(host, "stateDir", d->cfg->state_dir);
    nube_xml_add(host, "region", d->cfg->region);
    nube_xml_add(host, "endpoint", d->endpoint);
    nube_xml_add_time(host, "startedAt", d->started_at);
    g_autofree char *repo = nube_pkgrepo_apt_source_line(d->repo);
    nube_xml_add(host, "packageRepository", repo);
    return 0;
}

static void add_progress(const char *message, void *opaque)
{
    nube_debug("NubeAddPackages: %s", message);
}

int nube_api_add_packages(NubeApiRequest *req, xmlNodePtr resp, NubeError **err)
{
    g_autofree const char **names = nube_query_list(req->q, "Package");
    if (names[0] == NULL)
        return nube_error_setc(err, EINVAL, "MissingParameter",
                               "The request must contain the parameter Package.N");
    int added = nube_pkgrepo_add(req->cloud->repo, names, add_progress, NULL, err);
    if (added < 0)
        return added;
    g_autofree char *line = nube_pkgrepo_apt_source_line(req->cloud->repo);
    nube_xml_add_int(resp, "added", added);
    nube_xml_add(resp, "aptSource", line);
    return 0;
}
