/*
 * dispatch.c: the table of EC2 actions, the parameters each reads and its
 * handler (see api.h).  A new action is a line here, its handler in the
 * file of its resource, and its entry in docs/API.md.
 *
 * Every key of a request must fit a pattern of its action (or a common
 * one) before the handler runs, as on EC2: a misspelt or unsupported
 * parameter is refused with UnknownParameter instead of being dropped.  An
 * action's patterns are exactly what its handler reads: what it honours,
 * and the few parameters it knows and refuses with a more precise error
 * (an unsupported attribute, IPv6 ranges).  'N' and 'M' segments match a
 * list index (nube_query_key_matches()).
 *
 * DryRun, which every action takes, is answered here too: with DryRun=true
 * the handler does not run (EC2's DryRunOperation).
 */
#include "api.h"
#include "xml.h"

/* Families of parameters that several actions read. */
enum {
    FILTERS = 1 << 0,   /* Filter.N: nube_api_filter_items() */
    PAGES = 1 << 1,     /* MaxResults and NextToken: nube_api_page() */
    TAG_SPECS = 1 << 2, /* TagSpecification.N: nube_api_tag_specs() */
    RULES = 1 << 3,     /* the rules of Authorize/RevokeSecurityGroupIngress */
};

/* A NULL-terminated list of patterns. */
#define PARAMS(...) ((const char *const[]){ __VA_ARGS__, NULL })

static const char *const common_params[] = { "Action", "Version", "DryRun", NULL };

static const struct {
    unsigned int family;
    const char *const *params;
} families[] = {
    { FILTERS, PARAMS("Filter.N.Name", "Filter.N.Value.M") },
    { PAGES, PARAMS("MaxResults", "NextToken") },
    { TAG_SPECS, PARAMS("TagSpecification.N.ResourceType", "TagSpecification.N.Tag.M.Key",
                        "TagSpecification.N.Tag.M.Value") },
    /* IpPermissions.N, or the flat form of a single rule.  Other sources
     * than IPv4 ranges are refused with InvalidParameterValue. */
    { RULES,
      PARAMS("IpPermissions.N.IpProtocol", "IpPermissions.N.FromPort", "IpPermissions.N.ToPort",
             "IpPermissions.N.IpRanges.M.CidrIp", "IpPermissions.N.IpRanges.M.Description",
             "IpPermissions.N.Ipv6Ranges.M.CidrIpv6", "IpPermissions.N.Ipv6Ranges.M.Description",
             "IpPermissions.N.Groups.M.GroupId", "IpPermissions.N.Groups.M.GroupName",
             "IpPermissions.N.Groups.M.UserId", "IpPermissions.N.Groups.M.VpcId",
             "IpPermissions.N.Groups.M.VpcPeeringConnectionId",
             "IpPermissions.N.Groups.M.PeeringStatus", "IpPermissions.N.Groups.M.Description",
             "IpPermissions.N.PrefixListIds.M.PrefixListId",
             "IpPermissions.N.PrefixListIds.M.Description", "IpProtocol", "FromPort", "ToPort",
             "CidrIp", "SourceSecurityGroupName", "SourceSecurityGroupOwnerId") },
};

/* clang-format off */
static const struct {
    const char *action;
    NubeApiHandler fn;
    const char *const *params;
    unsigned int families;
} actions[] = {
    { "DescribeImages", nube_api_describe_images,
      PARAMS("ImageId.N", "Owner.N"), FILTERS | PAGES },
    { "CreateImage", nube_api_create_image,
      PARAMS("InstanceId", "Name", "Description", "NoReboot", "RootDeviceType"), TAG_SPECS },
    { "DeregisterImage", nube_api_deregister_image, PARAMS("ImageId"), 0 },
    { "RunInstances", nube_api_run_instances,
      PARAMS("ImageId", "InstanceType", "MinCount", "MaxCount", "UserData", "KeyName",
             "SecurityGroupId.N", "SecurityGroup.N", "BlockDeviceMapping.N.DeviceName",
             "BlockDeviceMapping.N.Ebs.DeleteOnTermination", "MetadataOptions.HttpTokens",
             "MetadataOptions.HttpEndpoint", "MetadataOptions.HttpPutResponseHopLimit",
             "NubeForwardPort.N", "NubeNoCloudSeed", "ClientToken"),
      TAG_SPECS },
    { "DescribeInstances", nube_api_describe_instances, PARAMS("InstanceId.N"), FILTERS | PAGES },
    { "DescribeInstanceStatus", nube_api_describe_instance_status,
      PARAMS("InstanceId.N", "IncludeAllInstances"), FILTERS | PAGES },
    { "ModifyInstanceMetadataOptions", nube_api_modify_instance_metadata_options,
      PARAMS("InstanceId", "HttpTokens", "HttpEndpoint", "HttpPutResponseHopLimit"), 0 },
    { "StartInstances", nube_api_start_instances, PARAMS("InstanceId.N"), 0 },
    { "StopInstances", nube_api_stop_instances, PARAMS("InstanceId.N", "Force"), 0 },
    { "RebootInstances", nube_api_reboot_instances, PARAMS("InstanceId.N"), 0 },
    { "TerminateInstances", nube_api_terminate_instances, PARAMS("InstanceId.N"), 0 },
    { "GetConsoleOutput", nube_api_get_console_output, PARAMS("InstanceId"), 0 },
    { "DescribeVolumes", nube_api_describe_volumes, PARAMS("VolumeId.N"), FILTERS | PAGES },
    { "DeleteVolume", nube_api_delete_volume, PARAMS("VolumeId"), 0 },
    { "CreateKeyPair", nube_api_create_key_pair, PARAMS("KeyName", "KeyType", "KeyFormat"),
      TAG_SPECS },
    { "ImportKeyPair", nube_api_import_key_pair, PARAMS("KeyName", "PublicKeyMaterial"),
      TAG_SPECS },
    { "DescribeKeyPairs", nube_api_describe_key_pairs,
      PARAMS("KeyName.N", "KeyPairId.N", "IncludePublicKey"), FILTERS },
    { "DeleteKeyPair", nube_api_delete_key_pair, PARAMS("KeyName", "KeyPairId"), 0 },
    { "CreateSecurityGroup", nube_api_create_security_group,
      PARAMS("GroupName", "GroupDescription", "VpcId"), TAG_SPECS },
    { "DescribeSecurityGroups", nube_api_describe_security_groups,
      PARAMS("GroupId.N", "GroupName.N"), FILTERS | PAGES },
    { "DeleteSecurityGroup", nube_api_delete_security_group, PARAMS("GroupId", "GroupName"), 0 },
    { "AuthorizeSecurityGroupIngress", nube_api_authorize_security_group_ingress,
      PARAMS("GroupId", "GroupName"), RULES },
    { "RevokeSecurityGroupIngress", nube_api_revoke_security_group_ingress,
      PARAMS("GroupId", "GroupName", "SecurityGroupRuleId.N"), RULES },
    { "DescribeInstanceTypes", nube_api_describe_instance_types, PARAMS("InstanceType.N"),
      FILTERS | PAGES },
    { "DescribeRegions", nube_api_describe_regions, PARAMS("RegionName.N"), 0 },
    { "DescribeAvailabilityZones", nube_api_describe_availability_zones, PARAMS("ZoneName.N"), 0 },
    { "CreateTags", nube_api_create_tags, PARAMS("ResourceId.N", "Tag.N.Key", "Tag.N.Value"), 0 },
    { "DeleteTags", nube_api_delete_tags, PARAMS("ResourceId.N", "Tag.N.Key", "Tag.N.Value"), 0 },
    { "DescribeTags", nube_api_describe_tags, NULL, FILTERS | PAGES },
    { "DescribeInstanceAttribute", nube_api_describe_instance_attribute,
      PARAMS("InstanceId", "Attribute"), 0 },
    /* EC2's other attributes are refused with UnsupportedOperation. */
    { "ModifyInstanceAttribute", nube_api_modify_instance_attribute,
      PARAMS("InstanceId", "Attribute", "Value", "InstanceType.Value", "UserData.Value",
             "DisableApiTermination.Value", "DisableApiStop.Value",
             "InstanceInitiatedShutdownBehavior.Value", "EbsOptimized.Value",
             "SourceDestCheck.Value", "Kernel.Value", "Ramdisk.Value", "SriovNetSupport.Value",
             "EnaSupport.Value", "GroupId.N", "BlockDeviceMapping.N.DeviceName",
             "BlockDeviceMapping.N.Ebs.DeleteOnTermination", "BlockDeviceMapping.N.Ebs.VolumeId",
             "BlockDeviceMapping.N.NoDevice", "BlockDeviceMapping.N.VirtualName"),
      0 },
    /* nube's own extension actions (docs/API.md) */
    { "NubeBuildDefaultImage", nube_api_build_default_image,
      PARAMS("Name", "Description", "RootDeviceType", "NubeCloudInit"), 0 },
    { "NubeImportImage", nube_api_import_image,
      PARAMS("Path", "Format", "Name", "Description", "Architecture", "KernelPath",
             "RamdiskPath", "KernelCmdline", "RootDeviceType", "NubeWithAgent"),
      0 },
    { "NubeDescribeHost", nube_api_describe_host, NULL, 0 },
    { "NubeAddPackages", nube_api_add_packages, PARAMS("Package.N"), 0 },
};
/* clang-format on */

static gboolean key_in(const char *key, const char *const *patterns)
{
    for (size_t i = 0; patterns != NULL && patterns[i] != NULL; i++)
        if (nube_query_key_matches(key, patterns[i]))
            return TRUE;
    return FALSE;
}

/* Whether action A reads KEY. */
static gboolean action_reads(size_t a, const char *key)
{
    if (key_in(key, common_params) || key_in(key, actions[a].params))
        return TRUE;
    for (size_t i = 0; i < G_N_ELEMENTS(families); i++)
        if ((actions[a].families & families[i].family) && key_in(key, families[i].params))
            return TRUE;
    return FALSE;
}

/* Refuses the first key (in strcmp() order) of Q that action A does not
 * read.  0 or -EINVAL with ERR "UnknownParameter". */
static int check_params(size_t a, const NubeQuery *q, NubeError **err)
{
    g_autofree const char **keys = nube_query_keys(q);
    for (size_t i = 0; keys[i] != NULL; i++)
        if (!action_reads(a, keys[i]))
            return nube_error_setc(err, EINVAL, "UnknownParameter",
                                   "The parameter %s is not recognized", keys[i]);
    return 0;
}

/* DryRun=true: EC2's answer that the checks passed and nothing was done.
 * 0 (DryRun absent or false) or -errno with ERR. */
static int check_dry_run(const NubeQuery *q, NubeError **err)
{
    gboolean dry_run = FALSE;
    if (nube_query_bool(q, "DryRun", FALSE, &dry_run, err) < 0)
        return -EINVAL;
    if (dry_run)
        return nube_error_setc(err, ECANCELED, "DryRunOperation",
                               "Request would have succeeded, but DryRun flag is set.");
    return 0;
}

const char *nube_api_action_name(guint i)
{
    return i < G_N_ELEMENTS(actions) ? actions[i].action : NULL;
}

int nube_api_dispatch(NubeApiRequest *req, xmlDocPtr *doc, NubeError **err)
{
    for (size_t i = 0; i < G_N_ELEMENTS(actions); i++) {
        if (!g_str_equal(actions[i].action, req->action))
            continue;
        if (check_params(i, req->q, err) < 0 || check_dry_run(req->q, err) < 0)
            return -EINVAL;
        xmlNodePtr resp = nube_xml_response_new(req->action, req->request_id, doc);
        int r = actions[i].fn(req, resp, err);
        if (r < 0) {
            xmlFreeDoc(*doc);
            *doc = NULL;
        }
        return r;
    }
    return nube_error_setc(err, EINVAL, "InvalidAction",
                           "The action %s is not valid for this web service.", req->action);
}
