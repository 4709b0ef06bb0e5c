/*
 * cmd_demo.c: nube demo: the classic AWS tutorial, done locally.  Instance A
 * installs Apache from its user data and serves a page; CreateImage bakes A
 * into an AMI; instance B, launched from that AMI, installs nothing and
 * serves the same page.  The point is the figures: how long the first boot
 * took until the host got HTTP 200, how long the image took, and how long
 * the relaunch took, as a share of the first boot.
 */
#include "args.h"
#include "commands.h"
#include "demo.h"
#include "fsutil.h"
#include "instances.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_TYPE        "t3.micro"
#define DEFAULT_TIMEOUT_S   900
#define TERMINATE_TIMEOUT_S 120
#define CONSOLE_TAIL_LINES  30
#define BAR_WIDTH           40
#define MARKER_BYTES        8

typedef struct {
    const char *name; /* "A" or "B" */
    char *id;
    NubeCliDemoPage page;
    gint64 launched_at; /* monotonic µs just before RunInstances */
    gboolean gone;      /* terminated by the demo */
} DemoInstance;

typedef struct {
    NubeCli *cli;
    NubeCliClient *client;
    NubeCliDemoProgress *progress;
    NubeCliDemoWait wait;
    char *type;
    gboolean keep;
    char *accelerator;
    char *accelerator_reason;
    char *marker; /* text the page carries, unique to this run */
    char *default_image;
    gboolean reused;
    char *apt_source;
    gint64 added;
    DemoInstance a, b;
    DemoInstance *watching; /* whose console explains a failure */
    char *image_id;
    char *image_name;
    double image_s;       /* CreateImage call to available, by the client */
    double capture_s;     /* nubed's figure without the shutdown, or < 0 */
    double capture_est_s; /* the same estimated from progress stamps, or < 0 */
    char *result;         /* what the current step found */
} Demo;

typedef struct {
    const char *title;
    int (*run)(Demo *d, NubeError **err);
} DemoStep;

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    interrupted = 1;
}

static void demo_instance_clear(DemoInstance *inst)
{
    g_free(inst->id);
    nube_cli_demo_page_clear(&inst->page);
}

static void demo_clear(Demo *d)
{
    nube_cli_demo_progress_free(d->progress);
    g_free(d->type);
    g_free(d->accelerator);
    g_free(d->accelerator_reason);
    g_free(d->marker);
    g_free(d->default_image);
    g_free(d->apt_source);
    demo_instance_clear(&d->a);
    demo_instance_clear(&d->b);
    g_free(d->image_id);
    g_free(d->image_name);
    g_free(d->result);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(Demo, demo_clear)

static void set_result(Demo *d, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static void set_result(Demo *d, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_free(d->result);
    d->result = g_strdup_vprintf(fmt, ap);
    va_end(ap);
}

static double seconds_between(gint64 from, gint64 to)
{
    return (double) (to - from) / G_USEC_PER_SEC;
}

/* ---- before the steps ------------------------------------------------------ */

static int demo_host(Demo *d, NubeError **err)
{
    g_autoptr(NubeCliReply) reply = nube_cli_client_call(d->client, "NubeDescribeHost", NULL, err);
    if (reply == NULL)
        return -EIO;
    d->accelerator = nube_cli_reply_text(reply, NULL, "ec2:host/ec2:accelerator");
    d->accelerator_reason = nube_cli_reply_text(reply, NULL, "ec2:host/ec2:acceleratorReason");
    if (d->accelerator == NULL)
        d->accelerator = g_strdup("unknown");
    return 0;
}

/* The number of pending or running instances: they share the CPUs with the
 * demo's guests and slow its figures down. */
static gint64 demo_others(Demo *d, NubeError **err)
{
    g_autoptr(JsonArray) all = nube_cli_instances_describe(d->client, NULL, err);
    gint64 n = 0;

    if (all == NULL)
        return -EIO;
    for (guint i = 0; i < json_array_get_length(all); i++) {
        g_autofree char *state =
            nube_cli_json_lookup(json_array_get_object_element(all, i), "State.Name");
        if (g_strcmp0(state, "pending") == 0 || g_strcmp0(state, "running") == 0)
            n++;
    }
    return n;
}

static char *marker_new(NubeError **err)
{
    guint8 bytes[MARKER_BYTES];
    if (nube_random_bytes(bytes, sizeof(bytes), err) < 0)
        return NULL;
    GString *marker = g_string_new("nube demo page ");
    for (size_t i = 0; i < sizeof(bytes); i++)
        g_string_append_printf(marker, "%02x", bytes[i]);
    return g_string_free(marker, FALSE);
}

/* ---- the steps ------------------------------------------------------------- */

static int step_default_image(Demo *d, NubeError **err)
{
    d->default_image = nube_cli_cmd_image_build_default_start(d->client, NULL, &d->reused, err);
    if (d->default_image == NULL)
        return -EIO;
    if (!d->reused)
        nube_cli_demo_progress_note(
            d->progress, "building %s (Debian 12 with cloud-init): minutes the first time",
            d->default_image);
    if (nube_cli_demo_wait_image(&d->wait, d->default_image, NULL, err) < 0)
        return -EIO;
    set_result(d, "%s%s", d->default_image, d->reused ? " (reused)" : " (built)");
    return 0;
}

static int step_packages(Demo *d, NubeError **err)
{
    static const char *const packages[] = { "apache2", NULL };

    nube_cli_demo_progress_status(d->progress, "NubeAddPackages apache2: the first time, nubed "
                                               "downloads ~50 MB from its host's Debian mirror");
    if (nube_cli_cmd_repo_add_packages(d->client, packages, &d->apt_source, &d->added, err) < 0)
        return -EIO;
    set_result(d, "%" G_GINT64_FORMAT " new package files; guests use '%s'", d->added,
               d->apt_source);
    return 0;
}

static NubeCliParams *launch_params(const Demo *d, const char *image, const char *tag,
                                    const char *user_data)
{
    NubeCliParams *params = nube_cli_params_new();
    g_autofree char *encoded = g_base64_encode((const guchar *) user_data, strlen(user_data));

    nube_cli_params_add(params, "ImageId", image);
    nube_cli_params_add(params, "InstanceType", d->type);
    nube_cli_params_add(params, "MinCount", "1");
    nube_cli_params_add(params, "MaxCount", "1");
    nube_cli_params_add(params, "UserData", encoded);
    nube_cli_params_add(params, "NubeForwardPort.1", "80");
    nube_cli_params_add(params, "TagSpecification.1.ResourceType", "instance");
    nube_cli_params_add(params, "TagSpecification.1.Tag.1.Key", "Name");
    nube_cli_params_add(params, "TagSpecification.1.Tag.1.Value", tag);
    return params;
}

/* Launches INST from IMAGE with USER_DATA and port 80 forwarded. */
static int launch(Demo *d, DemoInstance *inst, const char *image, const char *tag,
                  const char *user_data, NubeError **err)
{
    g_autoptr(NubeCliParams) params = launch_params(d, image, tag, user_data);

    inst->launched_at = g_get_monotonic_time();
    g_autoptr(NubeCliReply) reply = nube_cli_client_call(d->client, "RunInstances", params, err);
    if (reply == NULL)
        return -EIO;
    g_autoptr(JsonArray) instances = nube_cli_instances_from_run(reply);
    JsonObject *first =
        json_array_get_length(instances) > 0 ? json_array_get_object_element(instances, 0) : NULL;
    const char *id =
        first ? json_object_get_string_member_with_default(first, "InstanceId", NULL) : NULL;
    if (id == NULL)
        return nube_error_set(err, EPROTO, "the answer to RunInstances has no instance");
    inst->id = g_strdup(id);
    d->watching = inst;
    nube_cli_demo_progress_note(d->progress, "launched %s as %s (%s of %s)", inst->name, id,
                                d->type, image);
    return 0;
}

static int step_first_boot(Demo *d, NubeError **err)
{
    g_autofree char *script = nube_cli_demo_install_script(d->apt_source, d->marker, err);
    if (script == NULL)
        return -EINVAL;
    if (launch(d, &d->a, d->default_image, "nube-demo-a", script, err) < 0 ||
        nube_cli_demo_wait_page(&d->wait, "A", d->a.id, d->marker, FALSE, TRUE, &d->a.page, err) <
            0)
        return -EIO;
    set_result(d, "HTTP 200 with the page from %s", d->a.page.url);
    return 0;
}

static char *create_image(Demo *d, NubeError **err)
{
    g_autoptr(GDateTime) now = g_date_time_new_now_local();
    g_autoptr(NubeCliParams) params = nube_cli_params_new();
    g_autofree char *description =
        g_strdup_printf("nube demo: apache2 installed on %s (instance A)", d->a.id);

    d->image_name = g_date_time_format(now, "nube-demo-apache-%Y%m%d-%H%M%S");
    nube_cli_params_add(params, "InstanceId", d->a.id);
    nube_cli_params_add(params, "Name", d->image_name);
    nube_cli_params_add(params, "Description", description);
    g_autoptr(NubeCliReply) reply = nube_cli_client_call(d->client, "CreateImage", params, err);
    if (reply == NULL)
        return NULL;
    char *id = nube_cli_reply_text(reply, NULL, "ec2:imageId");
    if (id == NULL || *id == '\0') {
        g_free(id);
        nube_error_set(err, EPROTO, "the answer to CreateImage has no imageId");
        return NULL;
    }
    return id;
}

static int step_image(Demo *d, NubeError **err)
{
    gint64 start = g_get_monotonic_time();
    gint64 capture_stamp = -1;

    d->image_id = create_image(d, err);
    if (d->image_id == NULL)
        return -EIO;
    nube_cli_demo_progress_note(d->progress,
                                "CreateImage %s (%s): A is shut down cleanly, its disk "
                                "flattened and generalized, then A starts again",
                                d->image_id, d->image_name);
    if (nube_cli_demo_wait_image(&d->wait, d->image_id, &capture_stamp, err) < 0)
        return -EIO;
    d->image_s = seconds_between(start, g_get_monotonic_time());
    d->capture_s = nube_cli_demo_image_capture_seconds(d->client, d->image_id);
    d->capture_est_s = capture_stamp >= 0 ? MAX(0.0, d->image_s - (double) capture_stamp) : -1;
    set_result(d, "%s available", d->image_id);
    return 0;
}

/* Without --keep A is done with: under TCG its restart after CreateImage
 * would compete with B for the CPUs and blur B's figure. */
static int step_retire_a(Demo *d, NubeError **err)
{
    if (nube_cli_demo_terminate(&d->wait, d->a.id, err) < 0)
        return -EIO;
    d->a.gone = TRUE;
    set_result(d, "%s terminated, so that B has the CPUs to itself", d->a.id);
    return 0;
}

/* With --keep A stays: wait until it serves again, for the same reason. */
static int step_a_again(Demo *d, NubeError **err)
{
    g_auto(NubeCliDemoPage) again = { 0 };

    d->watching = &d->a;
    if (nube_cli_demo_wait_page(&d->wait, "A", d->a.id, d->marker, TRUE, FALSE, &again, err) < 0)
        return -EIO;
    g_free(d->a.page.url);
    d->a.page.url = g_steal_pointer(&again.url);
    set_result(d, "HTTP 200 from %s again", d->a.page.url);
    return 0;
}

static int step_relaunch(Demo *d, NubeError **err)
{
    if (launch(d, &d->b, d->image_id, "nube-demo-b", nube_cli_demo_relaunch_script(), err) < 0 ||
        nube_cli_demo_wait_page(&d->wait, "B", d->b.id, d->marker, FALSE, FALSE, &d->b.page, err) <
            0)
        return -EIO;
    set_result(d, "HTTP 200 with the same page from %s, nothing installed", d->b.page.url);
    return 0;
}

static int step_retire_b(Demo *d, NubeError **err)
{
    d->watching = NULL;
    if (nube_cli_demo_terminate(&d->wait, d->b.id, err) < 0)
        return -EIO;
    d->b.gone = TRUE;
    set_result(d, "%s terminated; %s stays", d->b.id, d->image_id);
    return 0;
}

static const DemoStep step_default = { "default AMI", step_default_image };
static const DemoStep step_repo = { "apache2 in the package repository", step_packages };
static const DemoStep step_a = { "first boot of A until HTTP 200", step_first_boot };
static const DemoStep step_ami = { "image of A (CreateImage)", step_image };
static const DemoStep step_a_gone = { "terminating A", step_retire_a };
static const DemoStep step_a_back = { "A serving again after CreateImage", step_a_again };
static const DemoStep step_b = { "relaunch as B until HTTP 200", step_relaunch };
static const DemoStep step_b_gone = { "terminating B", step_retire_b };

/* The steps, in order; returns their number. */
static guint demo_plan(gboolean keep, const DemoStep **plan)
{
    guint n = 0;
    plan[n++] = &step_default;
    plan[n++] = &step_repo;
    plan[n++] = &step_a;
    plan[n++] = &step_ami;
    plan[n++] = keep ? &step_a_back : &step_a_gone;
    plan[n++] = &step_b;
    if (!keep)
        plan[n++] = &step_b_gone;
    return n;
}

/* ---- failure --------------------------------------------------------------- */

static void print_console_tail(Demo *d, const DemoInstance *inst)
{
    g_autoptr(NubeError) console_err = NULL;
    g_autofree char *tail =
        nube_cli_demo_console_tail(d->client, inst->id, CONSOLE_TAIL_LINES, &console_err);

    if (tail == NULL) {
        fprintf(stderr, "nube: no console of %s (%s): %s\n", inst->name, inst->id,
                console_err->message);
        return;
    }
    fprintf(stderr, "---- last %d lines of the console of %s (%s) ----\n%s", CONSOLE_TAIL_LINES,
            inst->name, inst->id, *tail ? tail : "(empty)\n");
    fprintf(stderr, "---- end of the console of %s ----\n", inst->name);
}

/* Terminates what the demo launched and has not terminated yet. */
static void terminate_leftovers(Demo *d)
{
    volatile sig_atomic_t never = 0;
    const NubeCliDemoWait w = { .client = d->client,
                                .progress = d->progress,
                                .timeout_s = TERMINATE_TIMEOUT_S,
                                .interrupted = &never };
    DemoInstance *all[] = { &d->a, &d->b };

    for (size_t i = 0; i < G_N_ELEMENTS(all); i++) {
        g_autoptr(NubeError) term_err = NULL;
        if (all[i]->id == NULL || all[i]->gone)
            continue;
        if (nube_cli_demo_terminate(&w, all[i]->id, &term_err) < 0)
            nube_cli_demo_progress_note(d->progress, "could not terminate %s (%s): %s",
                                        all[i]->name, all[i]->id, term_err->message);
        else
            nube_cli_demo_progress_note(d->progress, "terminated %s (%s)", all[i]->name,
                                        all[i]->id);
    }
}

static void keep_leftovers(Demo *d)
{
    DemoInstance *all[] = { &d->a, &d->b };
    for (size_t i = 0; i < G_N_ELEMENTS(all); i++) {
        if (all[i]->id != NULL)
            nube_cli_demo_progress_note(d->progress, "kept %s (%s): nube console %s", all[i]->name,
                                        all[i]->id, all[i]->id);
    }
}

/* Reports the failed step; returns ERR's -errno. */
static int demo_fail(Demo *d, NubeError **err)
{
    g_autofree char *where = nube_cli_demo_progress_where(d->progress);

    nube_cli_demo_progress_end(d->progress, "FAILED");
    if (d->watching != NULL && d->watching->id != NULL)
        print_console_tail(d, d->watching);
    if (d->keep)
        keep_leftovers(d);
    else
        terminate_leftovers(d);
    return nube_error_prefix(err, "%s failed", where);
}

static int demo_steps(Demo *d, const DemoStep *const *plan, guint n, NubeError **err)
{
    for (guint i = 0; i < n; i++) {
        nube_cli_demo_progress_begin(d->progress, plan[i]->title);
        if (interrupted) {
            nube_error_set(err, EINTR, "interrupted");
            return demo_fail(d, err);
        }
        if (plan[i]->run(d, err) < 0)
            return demo_fail(d, err);
        nube_cli_demo_progress_end(d->progress, "%s", d->result ? d->result : "done");
    }
    return 0;
}

/* ---- figures --------------------------------------------------------------- */

typedef struct {
    double first_boot_s;
    double image_s;
    const char *image_by;
    double relaunch_s;
    double percent;
} DemoFigures;

static const char by_nubed[] = "nubed: the capture, A's shutdown excluded";
static const char by_client[] =
    "client: CreateImage call to available, A's shutdown included (nubed reports no figure of its own)";

static DemoFigures demo_figures(const Demo *d)
{
    DemoFigures f = { 0 };
    f.first_boot_s = seconds_between(d->a.launched_at, d->a.page.served_at);
    f.relaunch_s = seconds_between(d->b.launched_at, d->b.page.served_at);
    f.image_s = d->capture_s >= 0 ? d->capture_s : d->image_s;
    f.image_by = d->capture_s >= 0 ? by_nubed : by_client;
    f.percent = f.first_boot_s > 0 ? 100.0 * f.relaunch_s / f.first_boot_s : 0;
    return f;
}

/* Sets MEMBER to SECS in whole milliseconds (json-glib writes doubles with
 * 17 digits). */
static void set_ms(JsonObject *obj, const char *member, double secs)
{
    json_object_set_int_member(obj, member, (gint64) (secs * 1000 + 0.5));
}

static JsonObject *instance_json(const DemoInstance *inst)
{
    JsonObject *obj = json_object_new();
    json_object_set_string_member(obj, "InstanceId", inst->id);
    json_object_set_string_member(obj, "Url", inst->page.url);
    if (inst->page.running_at > 0)
        set_ms(obj, "RunningMs", seconds_between(inst->launched_at, inst->page.running_at));
    set_ms(obj, "HttpMs", seconds_between(inst->launched_at, inst->page.served_at));
    json_object_set_boolean_member(obj, "Terminated", inst->gone);
    return obj;
}

static JsonObject *image_json(const Demo *d)
{
    JsonObject *obj = json_object_new();
    json_object_set_string_member(obj, "ImageId", d->image_id);
    json_object_set_string_member(obj, "Name", d->image_name);
    set_ms(obj, "ClientMs", d->image_s);
    if (d->capture_s >= 0)
        set_ms(obj, "NubedCaptureMs", d->capture_s);
    if (d->capture_est_s >= 0)
        set_ms(obj, "EstimatedCaptureMs", d->capture_est_s);
    return obj;
}

static void print_json(const Demo *d, const DemoFigures *f, gint64 others)
{
    g_autoptr(JsonObject) obj = json_object_new();

    set_ms(obj, "FirstBootMs", f->first_boot_s);
    set_ms(obj, "ImageCreationMs", f->image_s);
    json_object_set_string_member(obj, "ImageCreationMeasuredBy", f->image_by);
    set_ms(obj, "RelaunchMs", f->relaunch_s);
    json_object_set_double_member(obj, "RelaunchPercent", f->percent);
    json_object_set_string_member(obj, "Accelerator", d->accelerator);
    json_object_set_string_member(obj, "AcceleratorReason", d->accelerator_reason);
    json_object_set_string_member(obj, "InstanceType", d->type);
    json_object_set_string_member(obj, "DefaultImageId", d->default_image);
    json_object_set_string_member(obj, "AptSource", d->apt_source);
    json_object_set_int_member(obj, "PackagesAdded", d->added);
    json_object_set_string_member(obj, "Marker", d->marker);
    json_object_set_object_member(obj, "InstanceA", instance_json(&d->a));
    json_object_set_object_member(obj, "Image", image_json(d));
    json_object_set_object_member(obj, "InstanceB", instance_json(&d->b));
    json_object_set_int_member(obj, "OtherInstancesRunning", others);
    json_object_set_boolean_member(obj, "Kept", d->keep);
    if (d->a.page.userdata != NULL && g_str_equal(d->a.page.userdata, "succeeded"))
        json_object_set_double_member(obj, "UserDataSecondsA", d->a.page.userdata_s);
    nube_cli_output_json_object(stdout, obj);
}

static char *bar(double value, double max)
{
    const char *block = g_get_charset(NULL) ? "\u2588" : "#";
    int n = max > 0 ? (int) (BAR_WIDTH * value / max + 0.5) : 0;
    GString *text = g_string_new(NULL);
    for (int i = 0; i < MAX(n, 1); i++)
        g_string_append(text, block);
    return g_string_free(text, FALSE);
}

static void add_row(JsonArray *rows, const char *what, double secs, double first, double max)
{
    JsonObject *row = json_object_new();
    g_autofree char *time = g_strdup_printf("%6.1f s", secs);
    g_autofree char *share = g_strdup_printf("%11.0f %%", first > 0 ? 100.0 * secs / first : 0);
    g_autofree char *drawn = bar(secs, max);
    json_object_set_string_member(row, "What", what);
    json_object_set_string_member(row, "Time", time);
    json_object_set_string_member(row, "Share", share);
    json_object_set_string_member(row, "Bar", drawn);
    json_array_add_object_element(rows, row);
}

static const NubeCliColumn figure_columns[] = {
    { "", "What", NULL }, { "    TIME", "Time", NULL }, { "OF FIRST BOOT", "Share", NULL },
    { "", "Bar", NULL },  { NULL, NULL, NULL },
};

#define LABEL "%-30s"

static void print_instances(const Demo *d)
{
    if (!d->keep) {
        printf(LABEL "A (%s) and B (%s) terminated; %s stays (remove it: nube image deregister "
                     "%s)\n",
               "instances:", d->a.id, d->b.id, d->image_id, d->image_id);
        return;
    }
    printf(LABEL "A  %s  %s\n", "kept running:", d->a.id, d->a.page.url);
    printf(LABEL "B  %s  %s\n", "", d->b.id, d->b.page.url);
    printf(LABEL "nube terminate %s %s\n", "remove them:", d->a.id, d->b.id);
}

static void print_image_by(const Demo *d, const DemoFigures *f)
{
    printf(LABEL "measured by %s", "image creation:", f->image_by);
    if (d->capture_s < 0 && d->capture_est_s >= 0)
        printf("; about %.0f s after A was down, by nubed's progress stamps", d->capture_est_s);
    printf("\n");
}

static void print_table(const Demo *d, const DemoFigures *f, gint64 others)
{
    g_autoptr(JsonArray) rows = json_array_new();
    double max = MAX(f->first_boot_s, MAX(f->image_s, f->relaunch_s));

    printf("nube demo: Apache installed on A, baked into %s (%s), relaunched as B\n\n", d->image_id,
           d->image_name);
    add_row(rows, "first boot until HTTP 200 (A)", f->first_boot_s, f->first_boot_s, max);
    add_row(rows, "image creation", f->image_s, f->first_boot_s, max);
    add_row(rows, "relaunch until HTTP 200 (B)", f->relaunch_s, f->first_boot_s, max);
    nube_cli_output_table(stdout, rows, figure_columns);
    printf("\n" LABEL "%.1f %%\n", "relaunch / first boot (B/A):", f->percent);
    print_image_by(d, f);
    if (d->a.page.userdata != NULL && g_str_equal(d->a.page.userdata, "succeeded"))
        printf(LABEL "%.1f s on A (measured in the guest, run by %s)\n",
               "user data (apt install):", d->a.page.userdata_s,
               d->a.page.runner ? d->a.page.runner : "?");
    printf(LABEL "%s%s%s%s\n", "accelerator:", d->accelerator, d->accelerator_reason ? " (" : "",
           d->accelerator_reason ? d->accelerator_reason : "", d->accelerator_reason ? ")" : "");
    if (others > 0)
        printf(LABEL "%" G_GINT64_FORMAT " other instance%s shared the CPUs\n", "note:", others,
               others == 1 ? "" : "s");
    print_instances(d);
}

/* ---- the command ----------------------------------------------------------- */

static void signals_catch(struct sigaction *old_int, struct sigaction *old_term)
{
    struct sigaction sa = { .sa_handler = on_signal, .sa_flags = SA_RESETHAND };
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, old_int);
    sigaction(SIGTERM, &sa, old_term);
}

static void signals_restore(const struct sigaction *old_int, const struct sigaction *old_term)
{
    sigaction(SIGINT, old_int, NULL);
    sigaction(SIGTERM, old_term, NULL);
}

static int demo_prepare(Demo *d, NubeError **err)
{
    d->client = nube_cli_client(d->cli, err);
    if (d->client == NULL || demo_host(d, err) < 0)
        return -EIO;
    d->marker = marker_new(err);
    return d->marker ? 0 : -EIO;
}

static int demo_run(Demo *d, int timeout, NubeError **err)
{
    const DemoStep *plan[8];
    guint n = demo_plan(d->keep, plan);
    struct sigaction old_int, old_term;

    if (demo_prepare(d, err) < 0)
        return -EIO;
    gint64 others = demo_others(d, err);
    if (others < 0)
        return -EIO;
    fprintf(stderr, "nube demo at %s: accelerator %s, instances %s, at most %d s per step\n",
            d->cli->profile->endpoint_url, d->accelerator, d->type, timeout);
    if (others > 0)
        fprintf(stderr,
                "nube: note: %" G_GINT64_FORMAT " other instance%s running; they share "
                "the CPUs and slow the figures down\n",
                others, others == 1 ? " is" : "s are");

    d->progress = nube_cli_demo_progress_new(stderr, isatty(STDERR_FILENO), n);
    d->wait = (NubeCliDemoWait){ .client = d->client,
                                 .progress = d->progress,
                                 .timeout_s = timeout,
                                 .interrupted = &interrupted };
    interrupted = 0;
    signals_catch(&old_int, &old_term);
    int r = demo_steps(d, plan, n, err);
    signals_restore(&old_int, &old_term);
    g_clear_pointer(&d->progress, nube_cli_demo_progress_free);
    if (r < 0)
        return r;

    DemoFigures f = demo_figures(d);
    if (d->cli->format == NUBE_CLI_OUTPUT_JSON)
        print_json(d, &f, others);
    else
        print_table(d, &f, others);
    return 0;
}

static int demo_cmd_run(NubeCli *cli, const NubeCliCommand *cmd, int argc, char **argv,
                        NubeError **err)
{
    g_auto(Demo)
        d = { .cli = cli, .a.name = "A", .b.name = "B", .capture_s = -1, .capture_est_s = -1 };
    int timeout = DEFAULT_TIMEOUT_S;
    const GOptionEntry options[] = { { "type", 't', 0, G_OPTION_ARG_STRING, &d.type,
                                       "Instance type of A and B (default: t3.micro)", "TYPE" },
                                     { "keep", 0, 0, G_OPTION_ARG_NONE, &d.keep,
                                       "Keep A and B running and print their ids and URLs", NULL },
                                     { "timeout", 0, 0, G_OPTION_ARG_INT, &timeout,
                                       "Give up a step after SEC seconds (default: 900)", "SEC" },
                                     G_OPTION_ENTRY_NULL };
    int r = nube_cli_args_parse(cli, cmd, options, &argc, &argv, err);
    if (r != 0)
        return MIN(r, 0);
    if (timeout <= 0)
        return nube_cli_usage(err, "--timeout must be positive");
    if (d.type == NULL)
        d.type = g_strdup(DEFAULT_TYPE);
    return demo_run(&d, timeout, err);
}

const NubeCliCommand nube_cli_cmd_demo = {
    .name = "demo",
    .summary = "Install Apache, bake an AMI, relaunch it: the AWS tutorial, timed",
    .description =
        "The classic AWS tutorial, done locally, with its figures:\n"
        "  1. uses (or builds) the default AMI (NubeBuildDefaultImage);\n"
        "  2. adds apache2 to nubed's package repository for guests (NubeAddPackages);\n"
        "  3. launches instance A with user data that installs apache2 from that\n"
        "     repository and writes a page with a unique marker, port 80 forwarded from\n"
        "     127.0.0.1 (NubeForwardPort), follows what A's guest agent reports (boot\n"
        "     complete, user data started, finished or failed with its error), then\n"
        "     waits until this machine gets HTTP 200 with the page;\n"
        "  4. makes an AMI of A (CreateImage) and waits until it is available;\n"
        "  5. terminates A, so that B has the CPUs to itself (--keep: waits until A\n"
        "     serves the page again instead);\n"
        "  6. launches instance B from the new AMI, installing nothing, and waits for\n"
        "     HTTP 200 with the same page;\n"
        "  7. terminates B (--keep: keeps A and B and prints their URLs).\n"
        "Then prints the time of the first boot until HTTP 200, of the image and of\n"
        "the relaunch until HTTP 200, the relaunch as a share of the first boot, the\n"
        "user data's run time on A as its guest agent measured it, and the\n"
        "accelerator.  With --output json: FirstBootMs, ImageCreationMs and\n"
        "ImageCreationMeasuredBy, RelaunchMs, RelaunchPercent, UserDataSecondsA,\n"
        "Accelerator, the ids\n"
        "and URLs (see bench/bake-relaunch).  Image creation is nubed's figure without\n"
        "A's shutdown when nubed reports one, else CreateImage call to available as\n"
        "measured here.  The AMI is kept.  Progress goes to stderr: a line per\n"
        "step, redrawn in place on a terminal.  A failure names the step and shows\n"
        "the last 30 lines of the guest's console; instances are then terminated\n"
        "unless --keep is given.  Under TCG a run takes several minutes.\n",
    .min_args = 0,
    .max_args = 0,
    .run = demo_cmd_run,
};
