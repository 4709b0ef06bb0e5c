/*
 * cmd_image.c: nube image build-default | import | list | deregister.
 */
#include "args.h"
#include "commands.h"
#include "images.h"

#include <stdio.h>
#include <string.h>

static char *cell_size(JsonObject *image)
{
    if (!json_object_has_member(image, "NubeVirtualSize"))
        return NULL;
    return nube_cli_output_size(json_object_get_int_member(image, "NubeVirtualSize"));
}

static char *cell_created(JsonObject *image)
{
    return nube_cli_output_time(
        json_object_get_string_member_with_default(image, "CreationDate", NULL));
}

static const NubeCliColumn image_columns[] = {
    { "ID", "ImageId", NULL },   { "NAME", "Name", NULL },
    { "STATE", "State", NULL },  { "ROOT", "RootDeviceType", NULL },
    { "SIZE", NULL, cell_size }, { "CREATED", NULL, cell_created },
    { NULL, NULL, NULL },
};

static const NubeCliColumn image_fields[] = {
    { "ID", "ImageId", NULL },
    { "Name", "Name", NULL },
    { "Description", "Description", NULL },
    { "State", "State", NULL },
    { "State reason", "StateReason.Message", NULL },
    { "Reason code", "StateReason.Code", NULL },
    { "Root device", "RootDeviceType", NULL },
    { "Architecture", "Architecture", NULL },
    { "Size", NULL, cell_size },
    { "Created", "CreationDate", NULL },
    { "Source", "NubeSource", NULL },
    { "Guest agent", "NubeHasAgent", NULL },
    { "Base sha256", "NubeBaseSha256", NULL },
    { NULL, NULL, NULL },
};

/* Waits for ID if asked, then prints it (table) or the image (json). */
static int image_finish(NubeCli *cli, NubeCliClient *client, const char *id, gboolean wait,
                        JsonNode *reused, NubeError **err)
{
    g_autoptr(JsonObject) image = NULL;

    if (wait) {
        image = nube_cli_image_wait(client, id, err);
        if (image == NULL)
            return -EIO;
    } else {
        image = json_object_new();
        json_object_set_string_member(image, "ImageId", id);
    }
    if (reused != NULL)
        json_object_set_member(image, "Reused", json_node_copy(reused));
    if (cli->format == NUBE_CLI_OUTPUT_JSON)
        nube_cli_output_json_object(stdout, image);
    else
        printf("%s\n", id);
    return 0;
}

/* The imageId of a NubeBuildDefaultImage / NubeImportImage answer. */
static char *answer_image_id(NubeCliReply *reply, const char *action, NubeError **err)
{
    char *id = nube_cli_reply_text(reply, NULL, "ec2:imageId");
    if (id == NULL || *id == '\0') {
        g_free(id);
        nube_error_set(err, EPROTO, "the answer to %s has no imageId", action);
        return NULL;
    }
    return id;
}

/* Calls ACTION, which answers a new imageId, then waits for the image if
 * WAIT and prints it. */
static int image_action(NubeCli *cli, const char *action, const NubeCliParams *params,
                        gboolean wait, NubeError **err)
{
    NubeCliClient *client = nube_cli_client(cli, err);
    if (client == NULL)
        return -EIO;
    g_autoptr(NubeCliReply) reply = nube_cli_client_call(client, action, params, err);
    if (reply == NULL)
        return -EIO;
    g_autofree char *id = answer_image_id(reply, action, err);
    if (id == NULL)
        return -EPROTO;
    return image_finish(cli, client, id, wait, NULL, err);
}

static int check_root_type(const char *root_type, NubeError **err)
{
    if (root_type && strcmp(root_type, "ebs") != 0 && strcmp(root_type, "instance-store") != 0)
        return nube_cli_usage(err, "unknown root device type '%s' (ebs or instance-store)",
                              root_type);
    return 0;
}

/* Adds KEY=VALUE if VALUE is set, VALUE made absolute when PATH is TRUE. */
static void add_optional(NubeCliParams *params, const char *key, const char *value, gboolean path)
{
    if (value == NULL)
        return;
    g_autofree char *abs = path ? g_canonicalize_filename(value, NULL) : g_strdup(value);
    nube_cli_params_add(params, key, abs);
}

char *nube_cli_cmd_image_build_default_start(NubeCliClient *client, const NubeCliParams *params,
                                             gboolean *reused, NubeError **err)
{
    g_autoptr(NubeCliReply) reply =
        nube_cli_client_call(client, "NubeBuildDefaultImage", params, err);
    if (reply == NULL)
        return NULL;
    char *id = answer_image_id(reply, "NubeBuildDefaultImage", err);
    g_autofree char *text = nube_cli_reply_text(reply, NULL, "ec2:reused");
    *reused = g_strcmp0(text, "true") == 0;
    return id;
}

static int build_default_run(NubeCli *cli, const NubeCliCommand *cmd, int argc, char **argv,
                             NubeError **err)
{
    g_autofree char *name = NULL;
    g_autofree char *description = NULL;
    g_autofree char *root_type = NULL;
    gboolean wait = FALSE, no_wait = FALSE, no_cloud_init = FALSE;
    const GOptionEntry options[] = {
        { "name", 0, 0, G_OPTION_ARG_STRING, &name, "Name of the new image", "NAME" },
        { "description", 0, 0, G_OPTION_ARG_STRING, &description, "Description of the new image",
          "TEXT" },
        { "root-device-type", 0, 0, G_OPTION_ARG_STRING, &root_type,
          "Root device type of its instances (default: ebs)", "ebs|instance-store" },
        { "no-cloud-init", 0, 0, G_OPTION_ARG_NONE, &no_cloud_init,
          "Build without cloud-init: nube-agent runs the user data", NULL },
        { "wait", 0, 0, G_OPTION_ARG_NONE, &wait, "Wait until the image is available (default)",
          NULL },
        { "no-wait", 0, 0, G_OPTION_ARG_NONE, &no_wait, "Print the image id at once", NULL },
        G_OPTION_ENTRY_NULL
    };
    int r = nube_cli_args_parse(cli, cmd, options, &argc, &argv, err);
    if (r != 0)
        return MIN(r, 0);
    if (wait && no_wait)
        return nube_cli_usage(err, "--wait and --no-wait exclude each other");
    if (check_root_type(root_type, err) < 0)
        return -EINVAL;

    g_autoptr(NubeCliParams) params = nube_cli_params_new();
    add_optional(params, "Name", name, FALSE);
    add_optional(params, "Description", description, FALSE);
    add_optional(params, "RootDeviceType", root_type, FALSE);
    if (no_cloud_init)
        nube_cli_params_add(params, "NubeCloudInit", "false");

    NubeCliClient *client = nube_cli_client(cli, err);
    if (client == NULL)
        return -EIO;
    gboolean reused = FALSE;
    g_autofree char *id = nube_cli_cmd_image_build_default_start(client, params, &reused, err);
    if (id == NULL)
        return -EIO;
    if (reused)
        fprintf(stderr, "nube: reusing %s: the default image's recipe has not changed\n", id);
    g_autoptr(JsonNode) reused_node = json_node_init_boolean(json_node_alloc(), reused);
    return image_finish(cli, client, id, !no_wait, reused_node, err);
}

const NubeCliCommand nube_cli_cmd_image_build_default = {
    .name = "image build-default",
    .summary = "Build the default Debian image (or reuse it)",
    .description = "Asks nubed to build the default Debian image with mmdebstrap (extension\n"
                   "action NubeBuildDefaultImage), with cloud-init and the guest agent\n"
                   "nube-agent.  With --no-cloud-init the image has no cloud-init: it gets its\n"
                   "address by DHCP, makes its SSH host keys at first boot, and nube-agent runs\n"
                   "a \"#!\" user data script.  An image built from the same recipe (and the\n"
                   "same agent binary) is reused.  Unless --no-wait is given, waits until the\n"
                   "image is available and prints the build's progress on stderr as\n"
                   "\"[ 35s] message\".  Prints the AMI id (with --output json: the image).\n"
                   "Exits 1 if the build fails.\n",
    .min_args = 0,
    .max_args = 0,
    .run = build_default_run,
};

typedef struct {
    char *format;
    char *name;
    char *description;
    char *kernel;
    char *initrd;
    char *cmdline;
    char *root_type;
    gboolean with_agent;
    gboolean no_wait;
} ImportOptions;

static void import_options_clear(ImportOptions *o)
{
    g_free(o->format);
    g_free(o->name);
    g_free(o->description);
    g_free(o->kernel);
    g_free(o->initrd);
    g_free(o->cmdline);
    g_free(o->root_type);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(ImportOptions, import_options_clear)

static int import_check(const ImportOptions *o, NubeError **err)
{
    if (o->format && strcmp(o->format, "raw") != 0 && strcmp(o->format, "qcow2") != 0)
        return nube_cli_usage(err, "unknown format '%s' (raw or qcow2)", o->format);
    if (check_root_type(o->root_type, err) < 0)
        return -EINVAL;
    if ((o->initrd || o->cmdline) && o->kernel == NULL)
        return nube_cli_usage(err, "--initrd and --cmdline need --kernel");
    return 0;
}

static NubeCliParams *import_params(const ImportOptions *o, const char *path)
{
    NubeCliParams *params = nube_cli_params_new();
    add_optional(params, "Path", path, TRUE);
    add_optional(params, "Format", o->format, FALSE);
    add_optional(params, "Name", o->name, FALSE);
    add_optional(params, "Description", o->description, FALSE);
    add_optional(params, "KernelPath", o->kernel, TRUE);
    add_optional(params, "RamdiskPath", o->initrd, TRUE);
    add_optional(params, "KernelCmdline", o->cmdline, FALSE);
    add_optional(params, "RootDeviceType", o->root_type, FALSE);
    if (o->with_agent)
        nube_cli_params_add(params, "NubeWithAgent", "true");
    return params;
}

static int import_run(NubeCli *cli, const NubeCliCommand *cmd, int argc, char **argv,
                      NubeError **err)
{
    g_auto(ImportOptions) o = { 0 };
    const GOptionEntry options[] = {
        { "format", 0, 0, G_OPTION_ARG_STRING, &o.format,
          "Format of the file (default: detected by nubed from its header)", "raw|qcow2" },
        { "name", 0, 0, G_OPTION_ARG_STRING, &o.name, "Name of the image", "NAME" },
        { "description", 0, 0, G_OPTION_ARG_STRING, &o.description, "Description of the image",
          "TEXT" },
        { "kernel", 0, 0, G_OPTION_ARG_FILENAME, &o.kernel,
          "Kernel to boot the image with (direct kernel boot)", "PATH" },
        { "initrd", 0, 0, G_OPTION_ARG_FILENAME, &o.initrd, "Initial ramdisk for --kernel",
          "PATH" },
        { "cmdline", 0, 0, G_OPTION_ARG_STRING, &o.cmdline, "Kernel command line for --kernel",
          "TEXT" },
        { "root-device-type", 0, 0, G_OPTION_ARG_STRING, &o.root_type,
          "Root device type of its instances", "ebs|instance-store" },
        { "with-agent", 0, 0, G_OPTION_ARG_NONE, &o.with_agent,
          "Install nube-agent into the image (Linux with systemd only)", NULL },
        { "no-wait", 0, 0, G_OPTION_ARG_NONE, &o.no_wait,
          "Do not wait until the image is available", NULL },
        G_OPTION_ENTRY_NULL
    };
    int r = nube_cli_args_parse(cli, cmd, options, &argc, &argv, err);
    if (r != 0)
        return MIN(r, 0);
    if (import_check(&o, err) < 0)
        return -EINVAL;

    g_autoptr(NubeCliParams) params = import_params(&o, argv[1]);
    return image_action(cli, "NubeImportImage", params, !o.no_wait, err);
}

const NubeCliCommand nube_cli_cmd_image_import = {
    .name = "image import",
    .args = "PATH",
    .summary = "Import a raw or qcow2 disk image file as an AMI",
    .description = "Asks nubed to import the image file PATH on this machine (extension action\n"
                   "NubeImportImage; paths are made absolute here).  nubed checks the file\n"
                   "with the given format, never probing it, and refuses backing files.\n"
                   "With --kernel (and --initrd, --cmdline) instances boot that kernel directly.\n"
                   "With --with-agent nubed installs the guest agent nube-agent into the stored\n"
                   "image (its own copy; PATH is never changed); an image with no Linux root or\n"
                   "no systemd is refused.  This takes an appliance start (~15 s under TCG).\n"
                   "Waits until the image is available unless --no-wait is given; prints its\n"
                   "AMI id (with --output json: the image).\n",
    .min_args = 1,
    .max_args = 1,
    .run = import_run,
};

typedef struct {
    char *name;
    char *description;
    char *root_type;
    gboolean no_reboot;
    gboolean no_wait;
} CreateOptions;

static void create_options_clear(CreateOptions *o)
{
    g_free(o->name);
    g_free(o->description);
    g_free(o->root_type);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(CreateOptions, create_options_clear)

static int create_run(NubeCli *cli, const NubeCliCommand *cmd, int argc, char **argv,
                      NubeError **err)
{
    g_auto(CreateOptions) o = { 0 };
    const GOptionEntry options[] = {
        { "name", 0, 0, G_OPTION_ARG_STRING, &o.name, "Name of the new image (required)", "NAME" },
        { "description", 0, 0, G_OPTION_ARG_STRING, &o.description, "Description of the image",
          "TEXT" },
        { "no-reboot", 0, 0, G_OPTION_ARG_NONE, &o.no_reboot,
          "Copy the running disk without shutting the guest down (crash-consistent)", NULL },
        { "root-device-type", 0, 0, G_OPTION_ARG_STRING, &o.root_type,
          "Root device type of the image's instances (default: the instance's)",
          "ebs|instance-store" },
        { "no-wait", 0, 0, G_OPTION_ARG_NONE, &o.no_wait,
          "Do not wait until the image is available", NULL },
        G_OPTION_ENTRY_NULL
    };
    int r = nube_cli_args_parse(cli, cmd, options, &argc, &argv, err);
    if (r != 0)
        return MIN(r, 0);
    if (o.name == NULL)
        return nube_cli_usage(err, "--name is required");
    if (check_root_type(o.root_type, err) < 0)
        return -EINVAL;

    g_autoptr(NubeCliParams) params = nube_cli_params_new();
    nube_cli_params_add(params, "InstanceId", argv[1]);
    nube_cli_params_add(params, "Name", o.name);
    add_optional(params, "Description", o.description, FALSE);
    add_optional(params, "RootDeviceType", o.root_type, FALSE);
    if (o.no_reboot)
        nube_cli_params_add(params, "NoReboot", "true");
    return image_action(cli, "CreateImage", params, !o.no_wait, err);
}

const NubeCliCommand nube_cli_cmd_image_create = {
    .name = "image create",
    .args = "INSTANCE",
    .summary = "Make an AMI from an instance's disk",
    .description = "CreateImage: shuts INSTANCE down cleanly, captures and generalizes its disk\n"
                   "(new machine-id, no SSH host keys, cloud-init state cleared) and starts it\n"
                   "again; with --no-reboot the running disk is copied instead.  Waits until\n"
                   "the image is available unless --no-wait is given; prints its AMI id.\n",
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
    g_autoptr(JsonArray) images = nube_cli_images_describe(client, NULL, err);
    if (images == NULL)
        return -EIO;
    nube_cli_output_rows(cli->format, images, image_columns);
    return 0;
}

const NubeCliCommand nube_cli_cmd_image_list = {
    .name = "image list",
    .summary = "List images",
    .description = "Lists the AMIs (DescribeImages): ID NAME STATE ROOT SIZE CREATED.\n",
    .min_args = 0,
    .max_args = 0,
    .run = list_run,
};

int nube_cli_cmd_image_show(NubeCli *cli, NubeCliClient *client, const char *id, NubeError **err)
{
    g_autoptr(JsonObject) image = nube_cli_image_describe(client, id, err);
    if (image == NULL)
        return -EIO;
    if (cli->format == NUBE_CLI_OUTPUT_JSON)
        nube_cli_output_json_object(stdout, image);
    else
        nube_cli_output_fields(stdout, image, image_fields);
    return 0;
}

static int deregister_run(NubeCli *cli, const NubeCliCommand *cmd, int argc, char **argv,
                          NubeError **err)
{
    int status;
    NubeCliClient *client = nube_cli_begin(cli, cmd, NULL, &argc, &argv, &status, err);
    if (client == NULL)
        return status;
    g_autoptr(NubeCliParams) params = nube_cli_params_new();
    nube_cli_params_add(params, "ImageId", argv[1]);
    g_autoptr(NubeCliReply) reply = nube_cli_client_call(client, "DeregisterImage", params, err);
    if (reply == NULL)
        return -EIO;

    if (cli->format == NUBE_CLI_OUTPUT_JSON) {
        g_autoptr(JsonObject) obj = json_object_new();
        json_object_set_string_member(obj, "ImageId", argv[1]);
        nube_cli_reply_set_fields(reply, obj, NULL,
                                  (const NubeCliReplyField[]){
                                      { "Return", "ec2:return", NUBE_CLI_FIELD_BOOL },
                                      { NULL, NULL, 0 },
                                  });
        nube_cli_output_json_object(stdout, obj);
    } else {
        printf("%s\n", argv[1]);
    }
    return 0;
}

const NubeCliCommand nube_cli_cmd_image_deregister = {
    .name = "image deregister",
    .args = "AMI",
    .summary = "Deregister an image",
    .description = "Deregisters the AMI (DeregisterImage) and prints its id.\n",
    .min_args = 1,
    .max_args = 1,
    .run = deregister_run,
};
