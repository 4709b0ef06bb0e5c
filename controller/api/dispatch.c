/*
 * dispatch.c: the table of EC2 actions and their handlers (see api.h).  A
 * new action is a line here, its handler in the file of its resource, and
 * its entry in docs/API.md.
 */
#include "api.h"
#include "xml.h"

static const struct {
    const char *action;
    NubeApiHandler fn;
} actions[] = {
    { "DescribeImages", nube_api_describe_images },
    { "CreateImage", nube_api_create_image },
    { "DeregisterImage", nube_api_deregister_image },
    { "RunInstances", nube_api_run_instances },
    { "DescribeInstances", nube_api_describe_instances },
    { "DescribeInstanceStatus", nube_api_describe_instance_status },
    { "ModifyInstanceMetadataOptions", nube_api_modify_instance_metadata_options },
    { "StartInstances", nube_api_start_instances },
    { "StopInstances", nube_api_stop_instances },
    { "RebootInstances", nube_api_reboot_instances },
    { "TerminateInstances", nube_api_terminate_instances },
    { "GetConsoleOutput", nube_api_get_console_output },
    { "DescribeVolumes", nube_api_describe_volumes },
    { "DeleteVolume", nube_api_delete_volume },
    { "CreateKeyPair", nube_api_create_key_pair },
    { "ImportKeyPair", nube_api_import_key_pair },
    { "DescribeKeyPairs", nube_api_describe_key_pairs },
    { "DeleteKeyPair", nube_api_delete_key_pair },
    { "CreateSecurityGroup", nube_api_create_security_group },
    { "DescribeSecurityGroups", nube_api_describe_security_groups },
    { "DeleteSecurityGroup", nube_api_delete_security_group },
    { "AuthorizeSecurityGroupIngress", nube_api_authorize_security_group_ingress },
    { "RevokeSecurityGroupIngress", nube_api_revoke_security_group_ingress },
    { "DescribeInstanceTypes", nube_api_describe_instance_types },
    { "DescribeRegions", nube_api_describe_regions },
    { "DescribeAvailabilityZones", nube_api_describe_availability_zones },
    { "CreateTags", nube_api_create_tags },
    { "DeleteTags", nube_api_delete_tags },
    { "DescribeTags", nube_api_describe_tags },
    { "DescribeInstanceAttribute", nube_api_describe_instance_attribute },
    { "ModifyInstanceAttribute", nube_api_modify_instance_attribute },
    /* nube's own extension actions (docs/API.md) */
    { "NubeBuildDefaultImage", nube_api_build_default_image },
    { "NubeImportImage", nube_api_import_image },
    { "NubeDescribeHost", nube_api_describe_host },
    { "NubeAddPackages", nube_api_add_packages },
};

int nube_api_dispatch(NubeApiRequest *req, xmlDocPtr *doc, NubeError **err)
{
    for (size_t i = 0; i < G_N_ELEMENTS(actions); i++) {
        if (!g_str_equal(actions[i].action, req->action))
            continue;
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
