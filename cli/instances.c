/*
 * instances.c: EC2 instance elements as JSON (see instances.h).
 */
#include "instances.h"

#include "describe.h"
#include "output.h"

#include <string.h>

static const NubeCliReplyField instance_fields[] = {
    { "InstanceId", "ec2:instanceId", NUBE_CLI_FIELD_STRING },
    { "ImageId", "ec2:imageId", NUBE_CLI_FIELD_STRING },
    { "InstanceType", "ec2:instanceType", NUBE_CLI_FIELD_STRING },
    { "LaunchTime", "ec2:launchTime", NUBE_CLI_FIELD_STRING },
    { "PrivateIpAddress", "ec2:privateIpAddress", NUBE_CLI_FIELD_STRING },
    { "RootDeviceType", "ec2:rootDeviceType", NUBE_CLI_FIELD_STRING },
    { "RootDeviceName", "ec2:rootDeviceName", NUBE_CLI_FIELD_STRING },
    { "Architecture", "ec2:architecture", NUBE_CLI_FIELD_STRING },
    { "StateTransitionReason", "ec2:reason", NUBE_CLI_FIELD_STRING },
    { "NubeAccelerator", "ec2:nubeAccelerator", NUBE_CLI_FIELD_STRING },
    { "KeyName", "ec2:keyName", NUBE_CLI_FIELD_STRING },
    { NULL, NULL, 0 },
};

static const NubeCliReplyField group_fields[] = {
    { "GroupId", "ec2:groupId", NUBE_CLI_FIELD_STRING },
    { "GroupName", "ec2:groupName", NUBE_CLI_FIELD_STRING },
    { NULL, NULL, 0 },
};

static const NubeCliReplyField state_fields[] = {
    { "Code", "ec2:code", NUBE_CLI_FIELD_INT },
    { "Name", "ec2:name", NUBE_CLI_FIELD_STRING },
    { NULL, NULL, 0 },
};

static const NubeCliReplyField reason_fields[] = {
    { "Code", "ec2:code", NUBE_CLI_FIELD_STRING },
    { "Message", "ec2:message", NUBE_CLI_FIELD_STRING },
    { NULL, NULL, 0 },
};

static const NubeCliReplyField tag_fields[] = {
    { "Key", "ec2:key", NUBE_CLI_FIELD_STRING },
    { "Value", "ec2:value", NUBE_CLI_FIELD_STRING },
    { NULL, NULL, 0 },
};

static const NubeCliReplyField forward_fields[] = {
    { "Protocol", "ec2:protocol", NUBE_CLI_FIELD_STRING },
    { "HostIp", "ec2:hostIp", NUBE_CLI_FIELD_STRING },
    { "HostPort", "ec2:hostPort", NUBE_CLI_FIELD_INT },
    { "GuestPort", "ec2:guestPort", NUBE_CLI_FIELD_INT },
    { NULL, NULL, 0 },
};

static const NubeCliReplyField agent_fields[] = {
    { "Expected", "ec2:expected", NUBE_CLI_FIELD_BOOL },
    { "Version", "ec2:version", NUBE_CLI_FIELD_STRING },
    { "BootId", "ec2:bootId", NUBE_CLI_FIELD_STRING },
    { "Kernel", "ec2:kernel", NUBE_CLI_FIELD_STRING },
    { "CloudInit", "ec2:cloudInit", NUBE_CLI_FIELD_BOOL },
    { "HelloTime", "ec2:helloTime", NUBE_CLI_FIELD_STRING },
    { "LastSeenTime", "ec2:lastSeenTime", NUBE_CLI_FIELD_STRING },
    { "BootCompleteTime", "ec2:bootCompleteTime", NUBE_CLI_FIELD_STRING },
    { "SystemState", "ec2:systemState", NUBE_CLI_FIELD_STRING },
    { NULL, NULL, 0 },
};

static const NubeCliReplyField userdata_fields[] = {
    { "State", "ec2:state", NUBE_CLI_FIELD_STRING },
    { "Runner", "ec2:runner", NUBE_CLI_FIELD_STRING },
    { "StartTime", "ec2:startTime", NUBE_CLI_FIELD_STRING },
    { "EndTime", "ec2:endTime", NUBE_CLI_FIELD_STRING },
    { "Duration", "ec2:duration", NUBE_CLI_FIELD_STRING },
    { "ExitCode", "ec2:exitCode", NUBE_CLI_FIELD_INT },
    { "Error", "ec2:error", NUBE_CLI_FIELD_STRING },
    { "LogTail", "ec2:logTail", NUBE_CLI_FIELD_STRING },
    { NULL, NULL, 0 },
};

JsonObject *nube_cli_instance_from_node(NubeCliReply *reply, xmlNode *item)
{
    JsonObject *obj = json_object_new();

    nube_cli_reply_set_fields(reply, obj, item, instance_fields);
    nube_cli_reply_set_object(reply, obj, "State", item, "ec2:instanceState", state_fields);
    nube_cli_reply_set_object(reply, obj, "StateReason", item, "ec2:stateReason", reason_fields);
    nube_cli_reply_set_array(reply, obj, "Tags", item, "ec2:tagSet/ec2:item", tag_fields);
    nube_cli_reply_set_array(reply, obj, "SecurityGroups", item, "ec2:groupSet/ec2:item",
                             group_fields);
    nube_cli_reply_set_array(reply, obj, "NubePortForwards", item,
                             "ec2:nubePortForwardSet/ec2:item", forward_fields);
    nube_cli_reply_set_object(reply, obj, "NubeAgent", item, "ec2:nubeAgent", agent_fields);
    nube_cli_reply_set_object(reply, obj, "NubeUserData", item, "ec2:nubeUserData",
                              userdata_fields);
    return obj;
}

JsonArray *nube_cli_instances_from_run(NubeCliReply *reply)
{
    JsonArray *out = json_array_new();
    g_autoptr(GPtrArray) items = nube_cli_reply_nodes(reply, NULL, "ec2:instancesSet/ec2:item");
    for (guint i = 0; i < items->len; i++)
        json_array_add_object_element(out, nube_cli_instance_from_node(reply, items->pdata[i]));
    return out;
}

JsonArray *nube_cli_instances_describe(NubeCliClient *client, const char *const *ids,
                                       NubeError **err)
{
    return nube_cli_describe_all(client, "DescribeInstances", "InstanceId", ids,
                                 "ec2:reservationSet/ec2:item/ec2:instancesSet/ec2:item",
                                 nube_cli_instance_from_node, err);
}

JsonObject *nube_cli_instance_describe(NubeCliClient *client, const char *id, NubeError **err)
{
    const char *const ids[] = { id, NULL };
    g_autoptr(JsonArray) found = nube_cli_instances_describe(client, ids, err);
    if (found == NULL)
        return NULL;
    return nube_cli_describe_find(found, "InstanceId", id, "InvalidInstanceID.NotFound", err);
}

/* The objects of OBJ's array MEMBER, or NULL. */
static JsonArray *member_array(JsonObject *obj, const char *member)
{
    if (!json_object_has_member(obj, member))
        return NULL;
    JsonNode *node = json_object_get_member(obj, member);
    return JSON_NODE_HOLDS_ARRAY(node) ? json_node_get_array(node) : NULL;
}

char *nube_cli_instance_name(JsonObject *instance)
{
    JsonArray *tags = member_array(instance, "Tags");
    for (guint i = 0; tags && i < json_array_get_length(tags); i++) {
        JsonObject *tag = json_array_get_object_element(tags, i);
        if (g_strcmp0(json_object_get_string_member_with_default(tag, "Key", NULL), "Name") == 0)
            return nube_cli_json_lookup(tag, "Value");
    }
    return NULL;
}

char *nube_cli_instance_ssh(JsonObject *instance)
{
    JsonArray *forwards = member_array(instance, "NubePortForwards");
    for (guint i = 0; forwards && i < json_array_get_length(forwards); i++) {
        JsonObject *fwd = json_array_get_object_element(forwards, i);
        if (json_object_get_int_member_with_default(fwd, "GuestPort", 0) != 22)
            continue;
        const char *ip = json_object_get_string_member_with_default(fwd, "HostIp", "127.0.0.1");
        return g_strdup_printf(strchr(ip, ':') ? "[%s]:%" G_GINT64_FORMAT : "%s:%" G_GINT64_FORMAT,
                               ip, json_object_get_int_member_with_default(fwd, "HostPort", 0));
    }
    return NULL;
}

static char *forward_text(JsonObject *fwd)
{
    return g_strdup_printf("%s %s:%" G_GINT64_FORMAT "->%" G_GINT64_FORMAT,
                           json_object_get_string_member_with_default(fwd, "Protocol", "tcp"),
                           json_object_get_string_member_with_default(fwd, "HostIp", "?"),
                           json_object_get_int_member_with_default(fwd, "HostPort", 0),
                           json_object_get_int_member_with_default(fwd, "GuestPort", 0));
}

char *nube_cli_instance_ports(JsonObject *instance)
{
    JsonArray *forwards = member_array(instance, "NubePortForwards");
    if (forwards == NULL || json_array_get_length(forwards) == 0)
        return NULL;
    GString *text = g_string_new(NULL);
    for (guint i = 0; i < json_array_get_length(forwards); i++) {
        g_autofree char *one = forward_text(json_array_get_object_element(forwards, i));
        g_string_append_printf(text, "%s%s", i ? ", " : "", one);
    }
    return g_string_free(text, FALSE);
}

char *nube_cli_instance_groups(JsonObject *instance)
{
    JsonArray *groups = member_array(instance, "SecurityGroups");
    if (groups == NULL || json_array_get_length(groups) == 0)
        return NULL;
    GString *text = g_string_new(NULL);
    for (guint i = 0; i < json_array_get_length(groups); i++) {
        JsonObject *g = json_array_get_object_element(groups, i);
        g_string_append_printf(text, "%s%s (%s)", i ? ", " : "",
                               json_object_get_string_member_with_default(g, "GroupName", "?"),
                               json_object_get_string_member_with_default(g, "GroupId", "?"));
    }
    return g_string_free(text, FALSE);
}

char *nube_cli_instance_tags(JsonObject *instance)
{
    JsonArray *tags = member_array(instance, "Tags");
    if (tags == NULL || json_array_get_length(tags) == 0)
        return NULL;
    GString *text = g_string_new(NULL);
    for (guint i = 0; i < json_array_get_length(tags); i++) {
        JsonObject *tag = json_array_get_object_element(tags, i);
        g_string_append_printf(text, "%s%s=%s", i ? ", " : "",
                               json_object_get_string_member_with_default(tag, "Key", ""),
                               json_object_get_string_member_with_default(tag, "Value", ""));
    }
    return g_string_free(text, FALSE);
}

char *nube_cli_instance_agent_text(JsonObject *instance)
{
    g_autofree char *version = nube_cli_json_lookup(instance, "NubeAgent.Version");
    g_autofree char *expected = nube_cli_json_lookup(instance, "NubeAgent.Expected");
    if (version == NULL)
        return g_strdup(g_strcmp0(expected, "true") == 0 ? "not connected yet"
                                                         : "none in the image");
    g_autofree char *complete = nube_cli_json_lookup(instance, "NubeAgent.BootCompleteTime");
    g_autofree char *sys = nube_cli_json_lookup(instance, "NubeAgent.SystemState");
    g_autofree char *seen = nube_cli_json_lookup(instance, "NubeAgent.LastSeenTime");
    return g_strdup_printf("nube-agent %s, %s%s%s, last heard %s", version,
                           complete ? "boot complete (" : "booting", complete ? sys : "",
                           complete ? ")" : "", seen ? seen : "?");
}

char *nube_cli_instance_userdata_text(JsonObject *instance)
{
    g_autofree char *state = nube_cli_json_lookup(instance, "NubeUserData.State");
    if (state == NULL)
        return NULL;
    g_autofree char *runner = nube_cli_json_lookup(instance, "NubeUserData.Runner");
    g_autofree char *duration = nube_cli_json_lookup(instance, "NubeUserData.Duration");
    g_autofree char *exit_code = nube_cli_json_lookup(instance, "NubeUserData.ExitCode");
    g_autofree char *error = nube_cli_json_lookup(instance, "NubeUserData.Error");
    GString *text = g_string_new(state);
    if (runner != NULL)
        g_string_append_printf(text, " (run by %s)", runner);
    if (duration != NULL)
        g_string_append_printf(text, " in %s s", duration);
    if (exit_code != NULL)
        g_string_append_printf(text, ", exit code %s", exit_code);
    if (error != NULL)
        g_string_append_printf(text, ": %s", error);
    return g_string_free(text, FALSE);
}
