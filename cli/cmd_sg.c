/*
 * cmd_sg.c: nube sg create | list | allow | revoke | delete.
 */
#include "args.h"
#include "commands.h"
#include "describe.h"

#include <stdio.h>
#include <string.h>

#define DEFAULT_CIDR "0.0.0.0/0"

static const NubeCliReplyField group_fields[] = {
    { "GroupId", "ec2:groupId", NUBE_CLI_FIELD_STRING },
    { "GroupName", "ec2:groupName", NUBE_CLI_FIELD_STRING },
    { "Description", "ec2:groupDescription", NUBE_CLI_FIELD_STRING },
    { "OwnerId", "ec2:ownerId", NUBE_CLI_FIELD_STRING },
    { "VpcId", "ec2:vpcId", NUBE_CLI_FIELD_STRING },
    { NULL, NULL, 0 },
};

static const NubeCliReplyField permission_fields[] = {
    { "IpProtocol", "ec2:ipProtocol", NUBE_CLI_FIELD_STRING },
    { "FromPort", "ec2:fromPort", NUBE_CLI_FIELD_INT },
    { "ToPort", "ec2:toPort", NUBE_CLI_FIELD_INT },
    { NULL, NULL, 0 },
};

static const NubeCliReplyField range_fields[] = {
    { "CidrIp", "ec2:cidrIp", NUBE_CLI_FIELD_STRING },
    { "Description", "ec2:description", NUBE_CLI_FIELD_STRING },
    { NULL, NULL, 0 },
};

static const NubeCliReplyField tag_fields[] = {
    { "Key", "ec2:key", NUBE_CLI_FIELD_STRING },
    { "Value", "ec2:value", NUBE_CLI_FIELD_STRING },
    { NULL, NULL, 0 },
};

/* IpPermissions[] {IpProtocol, FromPort, ToPort, IpRanges[]} of ITEM. */
static JsonArray *permissions_of(NubeCliReply *reply, xmlNode *item)
{
    JsonArray *out = json_array_new();
    g_autoptr(GPtrArray) nodes = nube_cli_reply_nodes(reply, item, "ec2:ipPermissions/ec2:item");
    for (guint i = 0; i < nodes->len; i++) {
        JsonObject *perm = json_object_new();
        nube_cli_reply_set_fields(reply, perm, nodes->pdata[i], permission_fields);
        nube_cli_reply_set_array(reply, perm, "IpRanges", nodes->pdata[i], "ec2:ipRanges/ec2:item",
                                 range_fields);
        json_array_add_object_element(out, perm);
    }
    return out;
}

static JsonObject *group_from_node(NubeCliReply *reply, xmlNode *item)
{
    JsonObject *obj = json_object_new();
    nube_cli_reply_set_fields(reply, obj, item, group_fields);
    json_object_set_array_member(obj, "IpPermissions", permissions_of(reply, item));
    nube_cli_reply_set_array(reply, obj, "Tags", item, "ec2:tagSet/ec2:item", tag_fields);
    return obj;
}

/* "tcp/22 from 0.0.0.0/0, tcp/8000-8010 from 10.0.0.0/8", or NULL. */
static char *cell_ingress(JsonObject *group)
{
    JsonArray *perms = json_object_get_array_member(group, "IpPermissions");
    g_autoptr(GString) text = g_string_new(NULL);
    for (guint i = 0; perms != NULL && i < json_array_get_length(perms); i++) {
        JsonObject *perm = json_array_get_object_element(perms, i);
        gint64 from = json_object_get_int_member_with_default(perm, "FromPort", 0);
        gint64 to = json_object_get_int_member_with_default(perm, "ToPort", 0);
        g_autofree char *ports =
            from == to ? g_strdup_printf("%" G_GINT64_FORMAT, from)
                       : g_strdup_printf("%" G_GINT64_FORMAT "-%" G_GINT64_FORMAT, from, to);
        JsonArray *ranges = json_object_get_array_member(perm, "IpRanges");
        for (guint j = 0; ranges != NULL && j < json_array_get_length(ranges); j++) {
            JsonObject *range = json_array_get_object_element(ranges, j);
            g_string_append_printf(
                text, "%s%s/%s from %s", text->len ? ", " : "",
                json_object_get_string_member_with_default(perm, "IpProtocol", "?"), ports,
                json_object_get_string_member_with_default(range, "CidrIp", "?"));
        }
    }
    return text->len ? g_string_free(g_steal_pointer(&text), FALSE) : NULL;
}

static const NubeCliColumn group_columns[] = {
    { "ID", "GroupId", NULL },
    { "NAME", "GroupName", NULL },
    { "DESCRIPTION", "Description", NULL },
    { "INGRESS", NULL, cell_ingress },
    { NULL, NULL, NULL },
};

/* GroupId for an sg-… argument, GroupName otherwise (names cannot start
 * with "sg-"). */
static void add_group(NubeCliParams *params, const char *group)
{
    nube_cli_params_add(params, g_str_has_prefix(group, "sg-") ? "GroupId" : "GroupName", group);
}

/* Calls ACTION with PARAMS and prints GROUP (or, with --output json, the
 * answer's return value). */
static int call_and_print(NubeCli *cli, const char *action, NubeCliParams *params,
                          const char *group, NubeError **err)
{
    NubeCliClient *client = nube_cli_client(cli, err);
    if (client == NULL)
        return -EIO;
    g_autoptr(NubeCliReply) reply = nube_cli_client_call(client, action, params, err);
    if (reply == NULL)
        return -EIO;
    g_autofree char *id = nube_cli_reply_text(reply, NULL, "ec2:groupId");
    if (cli->format == NUBE_CLI_OUTPUT_JSON) {
        g_autoptr(JsonObject) obj = json_object_new();
        json_object_set_string_member(obj, "GroupId", id ? id : group);
        nube_cli_reply_set_fields(reply, obj, NULL,
                                  (const NubeCliReplyField[]){
                                      { "Return", "ec2:return", NUBE_CLI_FIELD_BOOL },
                                      { NULL, NULL, 0 },
                                  });
        nube_cli_output_json_object(stdout, obj);
    } else {
        printf("%s\n", id ? id : group);
    }
    return 0;
}

static int create_run(NubeCli *cli, const NubeCliCommand *cmd, int argc, char **argv,
                      NubeError **err)
{
    g_autofree char *description = NULL;
    const GOptionEntry options[] = { { "description", 'd', 0, G_OPTION_ARG_STRING, &description,
                                       "What the group is for (required)", "TEXT" },
                                     G_OPTION_ENTRY_NULL };
    int r = nube_cli_args_parse(cli, cmd, options, &argc, &argv, err);
    if (r != 0)
        return MIN(r, 0);
    if (description == NULL)
        return nube_cli_usage(err, "--description is required");
    g_autoptr(NubeCliParams) params = nube_cli_params_new();
    nube_cli_params_add(params, "GroupName", argv[1]);
    nube_cli_params_add(params, "GroupDescription", description);
    return call_and_print(cli, "CreateSecurityGroup", params, argv[1], err);
}

const NubeCliCommand nube_cli_cmd_sg_create = {
    .name = "sg create",
    .args = "NAME",
    .summary = "Make a security group",
    .description = "Makes security group NAME (CreateSecurityGroup) without rules and prints\n"
                   "its id.  Example: nube sg create web --description 'web servers'\n",
    .min_args = 1,
    .max_args = 1,
    .run = create_run,
};

static int list_run(NubeCli *cli, const NubeCliCommand *cmd, int argc, char **argv, NubeError **err)
{
    int status;
    NubeCliClient *client = nube_cli_begin(cli, cmd, NULL, &argc, &argv, &status, err);
    if (client == NULL)
        return status;
    g_autoptr(JsonArray) groups =
        nube_cli_describe_all(client, "DescribeSecurityGroups", "GroupId", NULL,
                              "ec2:securityGroupInfo/ec2:item", group_from_node, err);
    if (groups == NULL)
        return -EIO;
    nube_cli_output_rows(cli->format, groups, group_columns);
    return 0;
}

const NubeCliCommand nube_cli_cmd_sg_list = {
    .name = "sg list",
    .summary = "List security groups and their rules",
    .description = "Lists the security groups (DescribeSecurityGroups): ID NAME DESCRIPTION\n"
                   "INGRESS.  Each TCP port a rule opens is forwarded to the instances of the\n"
                   "group from a port on 127.0.0.1 (see `nube ps`); the CIDR is recorded but\n"
                   "the forwards listen on 127.0.0.1 only.\n",
    .min_args = 0,
    .max_args = 0,
    .run = list_run,
};

/* PORT or FROM-TO into FromPort and ToPort (nubed checks the values). */
static int add_ports(NubeCliParams *params, const char *spec, NubeError **err)
{
    g_auto(GStrv) parts = g_strsplit(spec, "-", 2);
    for (int i = 0; parts[i] != NULL; i++)
        if (parts[i][0] == '\0' || strspn(parts[i], "0123456789") != strlen(parts[i]))
            return nube_cli_usage(err, "'%s' is not PORT or PORT-PORT", spec);
    nube_cli_params_add(params, "IpPermissions.1.FromPort", parts[0]);
    nube_cli_params_add(params, "IpPermissions.1.ToPort", parts[1] ? parts[1] : parts[0]);
    return 0;
}

/* allow / revoke: one TCP rule. */
static int rule_run(NubeCli *cli, const NubeCliCommand *cmd, const char *action, int argc,
                    char **argv, NubeError **err)
{
    g_autofree char *cidr = NULL;
    const GOptionEntry options[] = { { "cidr", 'c', 0, G_OPTION_ARG_STRING, &cidr,
                                       "Source addresses (default: 0.0.0.0/0)", "CIDR" },
                                     G_OPTION_ENTRY_NULL };
    int r = nube_cli_args_parse(cli, cmd, options, &argc, &argv, err);
    if (r != 0)
        return MIN(r, 0);
    g_autoptr(NubeCliParams) params = nube_cli_params_new();
    add_group(params, argv[1]);
    nube_cli_params_add(params, "IpPermissions.1.IpProtocol", "tcp");
    if (add_ports(params, argv[2], err) < 0)
        return -EINVAL;
    nube_cli_params_add(params, "IpPermissions.1.IpRanges.1.CidrIp", cidr ? cidr : DEFAULT_CIDR);
    return call_and_print(cli, action, params, argv[1], err);
}

static int allow_run(NubeCli *cli, const NubeCliCommand *cmd, int argc, char **argv,
                     NubeError **err)
{
    return rule_run(cli, cmd, "AuthorizeSecurityGroupIngress", argc, argv, err);
}

const NubeCliCommand nube_cli_cmd_sg_allow = {
    .name = "sg allow",
    .args = "GROUP PORT[-PORT]",
    .summary = "Open TCP ports of a security group",
    .description = "Adds a rule to GROUP (an sg-… id or a name) that opens the TCP ports\n"
                   "(AuthorizeSecurityGroupIngress; at most 64 ports per rule).  Running\n"
                   "instances of the group get a forward from a free port on 127.0.0.1 for\n"
                   "each port at once; `nube ps` and `nube describe` show them.\n"
                   "Example: nube sg allow web 8080 --cidr 10.0.0.0/8\n",
    .min_args = 2,
    .max_args = 2,
    .run = allow_run,
};

static int revoke_run(NubeCli *cli, const NubeCliCommand *cmd, int argc, char **argv,
                      NubeError **err)
{
    return rule_run(cli, cmd, "RevokeSecurityGroupIngress", argc, argv, err);
}

const NubeCliCommand nube_cli_cmd_sg_revoke = {
    .name = "sg revoke",
    .args = "GROUP PORT[-PORT]",
    .summary = "Remove a rule of a security group",
    .description = "Removes the rule of GROUP with these TCP ports and CIDR\n"
                   "(RevokeSecurityGroupIngress).  A port no other rule of an instance's\n"
                   "groups opens stops being forwarded at once.\n",
    .min_args = 2,
    .max_args = 2,
    .run = revoke_run,
};

static int delete_run(NubeCli *cli, const NubeCliCommand *cmd, int argc, char **argv,
                      NubeError **err)
{
    int r = nube_cli_args_parse(cli, cmd, NULL, &argc, &argv, err);
    if (r != 0)
        return MIN(r, 0);
    g_autoptr(NubeCliParams) params = nube_cli_params_new();
    add_group(params, argv[1]);
    return call_and_print(cli, "DeleteSecurityGroup", params, argv[1], err);
}

const NubeCliCommand nube_cli_cmd_sg_delete = {
    .name = "sg delete",
    .args = "GROUP",
    .summary = "Delete a security group",
    .description = "Deletes GROUP (DeleteSecurityGroup): refused while an instance that is not\n"
                   "terminated uses it, and for the group \"default\".\n",
    .min_args = 1,
    .max_args = 1,
    .run = delete_run,
};
