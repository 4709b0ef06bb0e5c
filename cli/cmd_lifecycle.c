/*
 * cmd_lifecycle.c: nube stop | start | reboot | terminate | wait.
 */
#include "args.h"
#include "commands.h"
#include "instances.h"

#include <stdio.h>
#include <string.h>

#define WAIT_INTERVAL_S        2
#define WAIT_DEFAULT_TIMEOUT_S 600

static const NubeCliReplyField change_fields[] = {
    { "InstanceId", "ec2:instanceId", NUBE_CLI_FIELD_STRING },
    { NULL, NULL, 0 },
};

static const NubeCliReplyField state_fields[] = {
    { "Code", "ec2:code", NUBE_CLI_FIELD_INT },
    { "Name", "ec2:name", NUBE_CLI_FIELD_STRING },
    { NULL, NULL, 0 },
};

static const NubeCliColumn change_columns[] = {
    { "ID", "InstanceId", NULL },
    { "PREVIOUS", "PreviousState.Name", NULL },
    { "CURRENT", "CurrentState.Name", NULL },
    { NULL, NULL, NULL },
};

/* The instancesSet of a Start/Stop/TerminateInstances answer. */
static JsonArray *state_changes(NubeCliReply *reply)
{
    g_autoptr(GPtrArray) items = nube_cli_reply_nodes(reply, NULL, "ec2:instancesSet/ec2:item");
    JsonArray *out = json_array_new();

    for (guint i = 0; i < items->len; i++) {
        JsonObject *obj = json_object_new();
        nube_cli_reply_set_fields(reply, obj, items->pdata[i], change_fields);
        nube_cli_reply_set_object(reply, obj, "CurrentState", items->pdata[i], "ec2:currentState",
                                  state_fields);
        nube_cli_reply_set_object(reply, obj, "PreviousState", items->pdata[i], "ec2:previousState",
                                  state_fields);
        json_array_add_object_element(out, obj);
    }
    return out;
}

/* ARGV[1 .. ARGC-1] as a NULL-terminated array (free the array only). */
static const char **ids_of(int argc, char **argv)
{
    const char **ids = g_new0(const char *, (size_t) argc);
    for (int i = 1; i < argc; i++)
        ids[i - 1] = argv[i];
    return ids;
}

/*
 * stop, start, terminate: parses the command line (with --force when
 * WITH_FORCE), calls ACTION for the instance ids in it and prints what
 * changed.
 */
static int change_run(NubeCli *cli, const NubeCliCommand *cmd, const char *action,
                      gboolean with_force, int argc, char **argv, NubeError **err)
{
    gboolean force = FALSE;
    const GOptionEntry options[] = { { "force", 'f', 0, G_OPTION_ARG_NONE, &force,
                                       "Power off without a clean shutdown", NULL },
                                     G_OPTION_ENTRY_NULL };
    int status;
    NubeCliClient *client =
        nube_cli_begin(cli, cmd, with_force ? options : NULL, &argc, &argv, &status, err);
    if (client == NULL)
        return status;
    g_autofree const char **ids = ids_of(argc, argv);
    g_autoptr(NubeCliParams) params = nube_cli_params_new();
    nube_cli_params_add_list(params, "InstanceId", ids);
    if (force)
        nube_cli_params_add(params, "Force", "true");
    g_autoptr(NubeCliReply) reply = nube_cli_client_call(client, action, params, err);
    if (reply == NULL)
        return -EIO;

    g_autoptr(JsonArray) changes = state_changes(reply);
    nube_cli_output_rows(cli->format, changes, change_columns);
    return 0;
}

static int stop_run(NubeCli *cli, const NubeCliCommand *cmd, int argc, char **argv, NubeError **err)
{
    return change_run(cli, cmd, "StopInstances", TRUE, argc, argv, err);
}

const NubeCliCommand nube_cli_cmd_stop = {
    .name = "stop",
    .args = "ID…",
    .summary = "Stop instances",
    .description = "Stops instances (StopInstances) and prints ID PREVIOUS CURRENT states.\n"
                   "Instances with an instance-store root device cannot be stopped.\n",
    .min_args = 1,
    .max_args = -1,
    .run = stop_run,
};

static int start_run(NubeCli *cli, const NubeCliCommand *cmd, int argc, char **argv,
                     NubeError **err)
{
    return change_run(cli, cmd, "StartInstances", FALSE, argc, argv, err);
}

const NubeCliCommand nube_cli_cmd_start = {
    .name = "start",
    .args = "ID…",
    .summary = "Start stopped instances",
    .description = "Starts instances (StartInstances) and prints ID PREVIOUS CURRENT states.\n",
    .min_args = 1,
    .max_args = -1,
    .run = start_run,
};

static int terminate_run(NubeCli *cli, const NubeCliCommand *cmd, int argc, char **argv,
                         NubeError **err)
{
    return change_run(cli, cmd, "TerminateInstances", FALSE, argc, argv, err);
}

const NubeCliCommand nube_cli_cmd_terminate = {
    .name = "terminate",
    .args = "ID…",
    .summary = "Terminate instances (their disks are deleted)",
    .description =
        "Terminates instances (TerminateInstances) and prints ID PREVIOUS CURRENT states.\n",
    .min_args = 1,
    .max_args = -1,
    .run = terminate_run,
};

static int reboot_run(NubeCli *cli, const NubeCliCommand *cmd, int argc, char **argv,
                      NubeError **err)
{
    int status;
    NubeCliClient *client = nube_cli_begin(cli, cmd, NULL, &argc, &argv, &status, err);
    if (client == NULL)
        return status;
    g_autofree const char **ids = ids_of(argc, argv);
    g_autoptr(NubeCliParams) params = nube_cli_params_new();
    nube_cli_params_add_list(params, "InstanceId", ids);
    g_autoptr(NubeCliReply) reply = nube_cli_client_call(client, "RebootInstances", params, err);
    if (reply == NULL)
        return -EIO;

    g_autoptr(JsonArray) rebooted = json_array_new();
    for (guint i = 0; ids[i] != NULL; i++) {
        JsonObject *obj = json_object_new();
        json_object_set_string_member(obj, "InstanceId", ids[i]);
        json_array_add_object_element(rebooted, obj);
    }
    nube_cli_output_rows(cli->format, rebooted,
                         (const NubeCliColumn[]){
                             { "ID", "InstanceId", NULL },
                             { NULL, NULL, NULL },
                         });
    return 0;
}

const NubeCliCommand nube_cli_cmd_reboot = {
    .name = "reboot",
    .args = "ID…",
    .summary = "Reboot instances",
    .description = "Reboots instances (RebootInstances) and prints their ids.\n",
    .min_args = 1,
    .max_args = -1,
    .run = reboot_run,
};

/*
 * Whether running INSTANCE is ready: its agent reported the boot complete
 * and the user data (if any) succeeded.  1 ready, 0 not yet, -errno with
 * ERR (the guest's error and log) when it never will be.
 */
static int ready_check(JsonObject *instance, const char *id, NubeError **err)
{
    g_autofree char *ud = nube_cli_json_lookup(instance, "NubeUserData.State");
    g_autofree char *complete = nube_cli_json_lookup(instance, "NubeAgent.BootCompleteTime");
    if (g_strcmp0(ud, "failed") == 0) {
        g_autofree char *text = nube_cli_instance_userdata_text(instance);
        g_autofree char *log = nube_cli_json_lookup(instance, "NubeUserData.LogTail");
        return nube_error_set(err, EIO, "instance '%s': user data %s%s%s", id, text,
                              log ? "\nlast lines of its log:\n" : "", log ? log : "");
    }
    if (g_strcmp0(ud, "unknown") == 0)
        return nube_error_set(err, ENOTSUP,
                              "instance '%s' has no guest agent that can report its user data "
                              "(none in the image, or no NoCloud seed to read it from); wait "
                              "for 'running' instead",
                              id);
    if (complete == NULL)
        return 0;
    return g_strcmp0(ud, "succeeded") == 0 || g_strcmp0(ud, "none") == 0;
}

/*
 * Looks at instance ID once.  Returns 1 when it reached TARGET (*FOUND set),
 * 0 to keep waiting, or -errno with ERR set when it never will.
 */
static int wait_check(NubeCliClient *client, const char *id, const char *target, JsonObject **found,
                      char **state, NubeError **err)
{
    g_autoptr(NubeError) describe_err = NULL;
    g_autoptr(JsonObject) instance = nube_cli_instance_describe(client, id, &describe_err);

    /* A terminated instance may already be forgotten. */
    if (instance == NULL && strcmp(target, "terminated") == 0 &&
        g_strcmp0(describe_err->code, "InvalidInstanceID.NotFound") == 0)
        return 1;
    if (instance == NULL)
        return nube_error_propagate(err, g_steal_pointer(&describe_err));

    g_free(*state);
    *state = nube_cli_json_lookup(instance, "State.Name");
    if (strcmp(target, "ready") == 0 && g_strcmp0(*state, "running") == 0) {
        int r = ready_check(instance, id, err);
        if (r > 0)
            *found = g_steal_pointer(&instance);
        return r;
    }
    if (strcmp(target, "ready") == 0 && g_strcmp0(*state, "pending") != 0)
        return nube_error_set(err, ECANCELED, "instance '%s' is %s, not ready", id, *state);
    if (g_strcmp0(*state, target) == 0) {
        *found = g_steal_pointer(&instance);
        return 1;
    }
    if (g_strcmp0(*state, "terminated") == 0) {
        g_autofree char *reason = nube_cli_json_lookup(instance, "StateReason.Message");
        return nube_error_set(err, ECANCELED, "instance '%s' is terminated, not %s%s%s", id, target,
                              reason ? ": " : "", reason ? reason : "");
    }
    return 0;
}

static int wait_loop(NubeCli *cli, NubeCliClient *client, const char *id, const char *target,
                     int timeout, NubeError **err)
{
    gint64 deadline = g_get_monotonic_time() + (gint64) timeout * G_USEC_PER_SEC;
    g_autoptr(JsonObject) instance = NULL;
    g_autofree char *state = NULL;
    int r;

    while ((r = wait_check(client, id, target, &instance, &state, err)) == 0) {
        gint64 left = deadline - g_get_monotonic_time();
        if (left <= 0)
            return nube_error_set(err, ETIMEDOUT,
                                  "timed out after %d s waiting for '%s' to be %s; it is %s",
                                  timeout, id, target, state ? state : "unknown");
        g_usleep(MIN(left, WAIT_INTERVAL_S * G_USEC_PER_SEC));
    }
    if (r < 0)
        return r;
    if (cli->format == NUBE_CLI_OUTPUT_JSON && instance != NULL)
        nube_cli_output_json_object(stdout, instance);
    else if (cli->format != NUBE_CLI_OUTPUT_JSON)
        printf("%s %s\n", id, target);
    return 0;
}

static int wait_run(NubeCli *cli, const NubeCliCommand *cmd, int argc, char **argv, NubeError **err)
{
    int timeout = WAIT_DEFAULT_TIMEOUT_S;
    const GOptionEntry options[] = { { "timeout", 0, 0, G_OPTION_ARG_INT, &timeout,
                                       "Give up after SEC seconds (default: 600)", "SEC" },
                                     G_OPTION_ENTRY_NULL };
    int r = nube_cli_args_parse(cli, cmd, options, &argc, &argv, err);
    if (r != 0)
        return MIN(r, 0);
    const char *target = argv[2];
    if (strcmp(target, "running") != 0 && strcmp(target, "stopped") != 0 &&
        strcmp(target, "terminated") != 0 && strcmp(target, "ready") != 0)
        return nube_cli_usage(
            err, "cannot wait for state '%s' (running, ready, stopped or terminated)", target);
    if (timeout < 0)
        return nube_cli_usage(err, "--timeout must not be negative");

    NubeCliClient *client = nube_cli_client(cli, err);
    if (client == NULL)
        return -EIO;
    return wait_loop(cli, client, argv[1], target, timeout, err);
}

const NubeCliCommand nube_cli_cmd_wait = {
    .name = "wait",
    .args = "ID running|ready|stopped|terminated",
    .summary = "Wait until an instance reaches a state",
    .description = "Polls instance ID every 2 s (DescribeInstances) until it is in the state.\n"
                   "Exits 1, naming the state it is in, when --timeout passes first or when it\n"
                   "is terminated while waiting for another state.\n"
                   "'ready' means running, with the guest agent reporting the boot complete\n"
                   "and the user data (if any) succeeded; it fails at once, with the guest's\n"
                   "error and the last lines of the user data's log, when the user data failed,\n"
                   "and when the image has no agent.\n",
    .min_args = 2,
    .max_args = 2,
    .run = wait_run,
};
