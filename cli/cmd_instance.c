/*
 * cmd_instance.c: nube run | ps | describe | console.
 */
#include "args.h"
#include "commands.h"
#include "instances.h"

#include <stdio.h>
#include <string.h>

#define DEFAULT_INSTANCE_TYPE "t3.micro"

static char *cell_launched(JsonObject *instance)
{
    return nube_cli_output_time(
        json_object_get_string_member_with_default(instance, "LaunchTime", NULL));
}

static const NubeCliColumn ps_columns[] = {
    { "ID", "InstanceId", NULL },        { "NAME", NULL, nube_cli_instance_name },
    { "STATE", "State.Name", NULL },     { "TYPE", "InstanceType", NULL },
    { "IMAGE", "ImageId", NULL },        { "SSH", NULL, nube_cli_instance_ssh },
    { "LAUNCHED", NULL, cell_launched }, { NULL, NULL, NULL },
};

static const NubeCliColumn describe_fields[] = {
    { "ID", "InstanceId", NULL },
    { "Name", NULL, nube_cli_instance_name },
    { "State", "State.Name", NULL },
    { "State reason", "StateReason.Message", NULL },
    { "Transition", "StateTransitionReason", NULL },
    { "Type", "InstanceType", NULL },
    { "Image", "ImageId", NULL },
    { "Root device", "RootDeviceType", NULL },
    { "Architecture", "Architecture", NULL },
    { "Accelerator", "NubeAccelerator", NULL },
    { "Launched", "LaunchTime", NULL },
    { "Private IP", "PrivateIpAddress", NULL },
    { "Key pair", "KeyName", NULL },
    { "Security groups", NULL, nube_cli_instance_groups },
    { "SSH", NULL, nube_cli_instance_ssh },
    { "Ports", NULL, nube_cli_instance_ports },
    { "Tags", NULL, nube_cli_instance_tags },
    { "Agent", NULL, nube_cli_instance_agent_text },
    { "User data", NULL, nube_cli_instance_userdata_text },
    { "User data log", "NubeUserData.LogTail", NULL },
    { NULL, NULL, NULL },
};

typedef struct {
    char *type;
    int count;
    char *user_data;
    char *user_data_text;
    char **tags;
    char *name;
    char **forward_ports;
    char *delete_on_termination;
    char *key;
    char **groups;
    gboolean no_seed;
    char *metadata_tokens;
} RunOptions;

static void run_options_clear(RunOptions *o)
{
    g_free(o->type);
    g_free(o->user_data);
    g_free(o->user_data_text);
    g_strfreev(o->tags);
    g_free(o->name);
    g_strfreev(o->forward_ports);
    g_free(o->delete_on_termination);
    g_free(o->key);
    g_free(o->metadata_tokens);
    g_strfreev(o->groups);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(RunOptions, run_options_clear)

/* Adds the user data, base64-encoded, from the file or the text. */
static int run_user_data(const RunOptions *o, NubeCliParams *params, NubeError **err)
{
    g_autofree char *data = NULL;
    gsize len = 0;
    g_autoptr(GError) gerr = NULL;

    if (o->user_data && o->user_data_text)
        return nube_cli_usage(err, "--user-data and --user-data-text exclude each other");
    if (o->user_data_text) {
        data = g_strdup(o->user_data_text);
        len = strlen(data);
    } else if (o->user_data && !g_file_get_contents(o->user_data, &data, &len, &gerr)) {
        return nube_error_set(err, EIO, "read user data '%s': %s", o->user_data, gerr->message);
    }
    if (data == NULL)
        return 0;
    g_autofree char *encoded = g_base64_encode((const guchar *) data, len);
    nube_cli_params_add(params, "UserData", encoded);
    return 0;
}

static void add_tag(NubeCliParams *params, guint n, const char *key, const char *value)
{
    g_autofree char *k = g_strdup_printf("TagSpecification.1.Tag.%u.Key", n);
    g_autofree char *v = g_strdup_printf("TagSpecification.1.Tag.%u.Value", n);
    nube_cli_params_add(params, k, key);
    nube_cli_params_add(params, v, value);
}

/* Adds --name and every --tag K=V as instance tags. */
static int run_tags(const RunOptions *o, NubeCliParams *params, NubeError **err)
{
    guint n = 0;

    if (o->name == NULL && (o->tags == NULL || o->tags[0] == NULL))
        return 0;
    nube_cli_params_add(params, "TagSpecification.1.ResourceType", "instance");
    if (o->name != NULL)
        add_tag(params, ++n, "Name", o->name);
    for (guint i = 0; o->tags != NULL && o->tags[i] != NULL; i++) {
        g_auto(GStrv) kv = g_strsplit(o->tags[i], "=", 2);
        if (kv[0] == NULL || kv[1] == NULL || *kv[0] == '\0')
            return nube_cli_usage(err, "tag '%s' is not KEY=VALUE", o->tags[i]);
        if (o->name != NULL && strcmp(kv[0], "Name") == 0)
            return nube_cli_usage(err, "--name and --tag Name=… both set the Name tag");
        add_tag(params, ++n, kv[0], kv[1]);
    }
    return 0;
}

/* --forward-port P (nube's NubeForwardPort.N) and --delete-on-termination
 * (the root's BlockDeviceMapping). */
static int run_devices(const RunOptions *o, NubeCliParams *params, NubeError **err)
{
    for (guint i = 0; o->forward_ports != NULL && o->forward_ports[i] != NULL; i++) {
        g_autofree char *key = g_strdup_printf("NubeForwardPort.%u", i + 1);
        nube_cli_params_add(params, key, o->forward_ports[i]);
    }
    const char *dot = o->delete_on_termination;
    if (dot == NULL)
        return 0;
    if (strcmp(dot, "true") != 0 && strcmp(dot, "false") != 0)
        return nube_cli_usage(err, "--delete-on-termination takes true or false");
    nube_cli_params_add(params, "BlockDeviceMapping.1.DeviceName", "/dev/vda");
    nube_cli_params_add(params, "BlockDeviceMapping.1.Ebs.DeleteOnTermination", dot);
    return 0;
}

/* --key NAME (KeyName) and each --security-group: SecurityGroupId.N for an
 * sg-… id, SecurityGroup.N for a name. */
static void run_access(const RunOptions *o, NubeCliParams *params)
{
    guint n_ids = 0, n_names = 0;
    if (o->key != NULL)
        nube_cli_params_add(params, "KeyName", o->key);
    if (o->no_seed)
        nube_cli_params_add(params, "NubeNoCloudSeed", "false");
    if (o->metadata_tokens != NULL)
        nube_cli_params_add(params, "MetadataOptions.HttpTokens", o->metadata_tokens);
    for (guint i = 0; o->groups != NULL && o->groups[i] != NULL; i++) {
        gboolean id = g_str_has_prefix(o->groups[i], "sg-");
        g_autofree char *key = g_strdup_printf("%s.%u", id ? "SecurityGroupId" : "SecurityGroup",
                                               id ? ++n_ids : ++n_names);
        nube_cli_params_add(params, key, o->groups[i]);
    }
}

static NubeCliParams *run_params(const RunOptions *o, const char *ami, NubeError **err)
{
    g_autoptr(NubeCliParams) params = nube_cli_params_new();
    g_autofree char *count = g_strdup_printf("%d", o->count);

    nube_cli_params_add(params, "ImageId", ami);
    nube_cli_params_add(params, "InstanceType", o->type ? o->type : DEFAULT_INSTANCE_TYPE);
    nube_cli_params_add(params, "MinCount", count);
    nube_cli_params_add(params, "MaxCount", count);
    if (run_user_data(o, params, err) < 0 || run_tags(o, params, err) < 0 ||
        run_devices(o, params, err) < 0)
        return NULL;
    run_access(o, params);
    return g_steal_pointer(&params);
}

static void run_print(NubeCli *cli, JsonArray *instances)
{
    if (cli->format == NUBE_CLI_OUTPUT_JSON) {
        nube_cli_output_json_array(stdout, instances);
        return;
    }
    for (guint i = 0; i < json_array_get_length(instances); i++) {
        JsonObject *obj = json_array_get_object_element(instances, i);
        printf("%s\n", json_object_get_string_member_with_default(obj, "InstanceId", "?"));
    }
}

static int run_run(NubeCli *cli, const NubeCliCommand *cmd, int argc, char **argv, NubeError **err)
{
    g_auto(RunOptions) o = { .count = 1 };
    const GOptionEntry options[] = {
        { "type", 't', 0, G_OPTION_ARG_STRING, &o.type, "Instance type (default: t3.micro)",
          "TYPE" },
        { "count", 'n', 0, G_OPTION_ARG_INT, &o.count, "Number of instances (default: 1)", "N" },
        { "user-data", 0, 0, G_OPTION_ARG_FILENAME, &o.user_data,
          "File to give the instances as user data", "FILE" },
        { "user-data-text", 0, 0, G_OPTION_ARG_STRING, &o.user_data_text,
          "Text to give the instances as user data", "TEXT" },
        { "tag", 0, 0, G_OPTION_ARG_STRING_ARRAY, &o.tags, "Tag the instances (repeatable)",
          "KEY=VALUE" },
        { "name", 0, 0, G_OPTION_ARG_STRING, &o.name, "Name the instances (tag Name)", "NAME" },
        { "forward-port", 'p', 0, G_OPTION_ARG_STRING_ARRAY, &o.forward_ports,
          "Forward this guest TCP port from a free port on 127.0.0.1 whatever the security "
          "groups say (repeatable)",
          "PORT" },
        { "key", 'k', 0, G_OPTION_ARG_STRING, &o.key,
          "Key pair whose public key the default user accepts", "NAME" },
        { "security-group", 'g', 0, G_OPTION_ARG_STRING_ARRAY, &o.groups,
          "Security group (repeatable; default: the group 'default', which opens SSH)", "ID|NAME" },
        { "no-seed", 0, 0, G_OPTION_ARG_NONE, &o.no_seed,
          "Boot without a NoCloud seed: cloud-init finds the metadata service "
          "(169.254.169.254) instead",
          NULL },
        { "metadata-tokens", 0, 0, G_OPTION_ARG_STRING, &o.metadata_tokens,
          "The metadata service's HttpTokens: optional (IMDSv1 and v2) or required (v2 only)",
          "optional|required" },
        { "delete-on-termination", 0, 0, G_OPTION_ARG_STRING, &o.delete_on_termination,
          "Whether terminating deletes an ebs root disk (default true; false keeps it as a volume)",
          "true|false" },
        G_OPTION_ENTRY_NULL
    };
    int r = nube_cli_args_parse(cli, cmd, options, &argc, &argv, err);
    if (r != 0)
        return MIN(r, 0);
    if (o.count < 1)
        return nube_cli_usage(err, "--count must be at least 1");
    g_autoptr(NubeCliParams) params = run_params(&o, argv[1], err);
    if (params == NULL)
        return -EINVAL;

    NubeCliClient *client = nube_cli_client(cli, err);
    if (client == NULL)
        return -EIO;
    g_autoptr(NubeCliReply) reply = nube_cli_client_call(client, "RunInstances", params, err);
    if (reply == NULL)
        return -EIO;
    g_autoptr(JsonArray) instances = nube_cli_instances_from_run(reply);
    run_print(cli, instances);
    return 0;
}

const NubeCliCommand nube_cli_cmd_run = {
    .name = "run",
    .args = "AMI",
    .summary = "Launch instances of an image",
    .description = "Launches --count instances of AMI (RunInstances) and prints their ids\n"
                   "(with --output json: the instances).  User data (e.g. a cloud-init\n"
                   "#cloud-config or a shell script) is sent base64-encoded.  Each TCP\n"
                   "port the rules of the instances' security groups open (SSH in the\n"
                   "default group) is forwarded from a free port on 127.0.0.1.\n"
                   "Example: nube run ami-0123456789abcdef0 --name web --user-data init.sh\n",
    .min_args = 1,
    .max_args = 1,
    .run = run_run,
};

static JsonArray *without_terminated(JsonArray *instances)
{
    JsonArray *out = json_array_new();
    for (guint i = 0; i < json_array_get_length(instances); i++) {
        JsonObject *obj = json_array_get_object_element(instances, i);
        g_autofree char *state = nube_cli_json_lookup(obj, "State.Name");
        if (g_strcmp0(state, "terminated") != 0)
            json_array_add_object_element(out, json_object_ref(obj));
    }
    return out;
}

static int ps_run(NubeCli *cli, const NubeCliCommand *cmd, int argc, char **argv, NubeError **err)
{
    gboolean all = FALSE;
    const GOptionEntry options[] = { { "all", 'a', 0, G_OPTION_ARG_NONE, &all,
                                       "Show terminated instances too", NULL },
                                     G_OPTION_ENTRY_NULL };
    int status;
    NubeCliClient *client = nube_cli_begin(cli, cmd, options, &argc, &argv, &status, err);
    if (client == NULL)
        return status;
    g_autoptr(JsonArray) found = nube_cli_instances_describe(client, NULL, err);
    if (found == NULL)
        return -EIO;

    g_autoptr(JsonArray) shown = all ? json_array_ref(found) : without_terminated(found);
    nube_cli_output_rows(cli->format, shown, ps_columns);
    return 0;
}

const NubeCliCommand nube_cli_cmd_ps = {
    .name = "ps",
    .summary = "List instances",
    .description = "Lists instances (DescribeInstances): ID NAME STATE TYPE IMAGE SSH LAUNCHED.\n"
                   "SSH is the host address forwarded to the guest's port 22 (none when no\n"
                   "security group of the instance opens it).\n",
    .min_args = 0,
    .max_args = 0,
    .run = ps_run,
};

static int describe_run(NubeCli *cli, const NubeCliCommand *cmd, int argc, char **argv,
                        NubeError **err)
{
    int status;
    NubeCliClient *client = nube_cli_begin(cli, cmd, NULL, &argc, &argv, &status, err);
    if (client == NULL)
        return status;
    if (g_str_has_prefix(argv[1], "ami-"))
        return nube_cli_cmd_image_show(cli, client, argv[1], err);

    g_autoptr(JsonObject) instance = nube_cli_instance_describe(client, argv[1], err);
    if (instance == NULL)
        return -EIO;
    if (cli->format == NUBE_CLI_OUTPUT_JSON)
        nube_cli_output_json_object(stdout, instance);
    else
        nube_cli_output_fields(stdout, instance, describe_fields);
    return 0;
}

const NubeCliCommand nube_cli_cmd_describe = {
    .name = "describe",
    .args = "ID",
    .summary = "Show everything about an instance (or an AMI)",
    .description = "Shows one instance (DescribeInstances): state and its reason, type, image,\n"
                   "root device type, launch time, private IP, forwarded ports, tags, and\n"
                   "what its guest agent reported: boot, and the user data's result and log.\n"
                   "Given an ami-… id, shows that image (DescribeImages).\n",
    .min_args = 1,
    .max_args = 1,
    .run = describe_run,
};

static void console_print(NubeCli *cli, NubeCliReply *reply, const char *id)
{
    g_autofree char *encoded = nube_cli_reply_text(reply, NULL, "ec2:output");
    gsize len = 0;
    g_autofree guchar *data = encoded ? g_base64_decode(g_strstrip(encoded), &len) : NULL;

    if (cli->format != NUBE_CLI_OUTPUT_JSON) {
        if (len > 0)
            fwrite(data, 1, len, stdout);
        return;
    }
    g_autoptr(JsonObject) obj = json_object_new();
    g_autofree char *text =
        g_utf8_make_valid((const char *) (data ? data : (guchar *) ""), (gssize) len);
    json_object_set_string_member(obj, "InstanceId", id);
    nube_cli_reply_set_fields(reply, obj, NULL,
                              (const NubeCliReplyField[]){
                                  { "Timestamp", "ec2:timestamp", NUBE_CLI_FIELD_STRING },
                                  { NULL, NULL, 0 },
                              });
    json_object_set_string_member(obj, "Output", text);
    nube_cli_output_json_object(stdout, obj);
}

static int console_run(NubeCli *cli, const NubeCliCommand *cmd, int argc, char **argv,
                       NubeError **err)
{
    int status;
    NubeCliClient *client = nube_cli_begin(cli, cmd, NULL, &argc, &argv, &status, err);
    if (client == NULL)
        return status;
    g_autoptr(NubeCliParams) params = nube_cli_params_new();
    nube_cli_params_add(params, "InstanceId", argv[1]);
    g_autoptr(NubeCliReply) reply = nube_cli_client_call(client, "GetConsoleOutput", params, err);
    if (reply == NULL)
        return -EIO;
    console_print(cli, reply, argv[1]);
    return 0;
}

const NubeCliCommand nube_cli_cmd_console = {
    .name = "console",
    .args = "ID",
    .summary = "Print an instance's console output",
    .description = "Prints the serial console output of instance ID (GetConsoleOutput).\n",
    .min_args = 1,
    .max_args = 1,
    .run = console_run,
};
