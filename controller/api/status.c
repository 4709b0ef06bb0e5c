/*
 * status.c: DescribeInstanceStatus, and the agent's report in
 * DescribeInstances (extension elements nubeAgent and nubeUserData).
 */
#include "agentstatus.h"
#include "api.h"
#include "xml.h"
#include "catalog.h"

#include <string.h>

/* An instance with its status checks, for filtering and rendering. */
typedef struct {
    NubeInstance *inst;
    const char *zone;
    NubeCheck system;
    NubeCheck instance;
} StatusItem;

static void status_item_free(gpointer p)
{
    StatusItem *s = p;
    nube_instance_free(s->inst);
    g_free(s);
}

/* The agent's running/succeeded/failed, else "none" (no user data),
 * "pending" (not reported yet) or "unknown" (no agent to report it). */
const char *nube_api_userdata_state(const NubeInstance *inst)
{
    if (inst->agent != NULL && inst->agent->userdata_state != NULL)
        return inst->agent->userdata_state;
    /* The agent reads the user data from the NoCloud seed: without one,
     * only cloud-init (from the metadata service) knows it. */
    if (inst->no_seed && inst->user_data != NULL && g_bytes_get_size(inst->user_data) > 0)
        return "unknown";
    if (inst->user_data == NULL || g_bytes_get_size(inst->user_data) == 0)
        return "none";
    return inst->has_agent || inst->agent != NULL ? "pending" : "unknown";
}

void nube_api_render_agent(xmlNodePtr item, const NubeInstance *inst)
{
    const NubeAgentStatus *a = inst->agent;
    xmlNodePtr agent = nube_xml_add(item, "nubeAgent", NULL);
    nube_xml_add_bool(agent, "expected", inst->has_agent);
    if (a != NULL && a->hello_at > 0) {
        nube_xml_add(agent, "version", a->agent_version);
        nube_xml_add(agent, "bootId", a->boot_id);
        nube_xml_add(agent, "kernel", a->kernel);
        nube_xml_add_bool(agent, "cloudInit", a->cloud_init);
        nube_xml_add_time(agent, "helloTime", a->hello_at / 1000);
        nube_xml_add_time(agent, "lastSeenTime", a->last_seen_at / 1000);
        if (a->boot_complete_at > 0) {
            nube_xml_add_time(agent, "bootCompleteTime", a->boot_complete_at / 1000);
            nube_xml_add(agent, "systemState", a->system_state);
        }
    }

    xmlNodePtr ud = nube_xml_add(item, "nubeUserData", NULL);
    nube_xml_add(ud, "state", nube_api_userdata_state(inst));
    if (a == NULL || a->userdata_state == NULL)
        return;
    nube_xml_add(ud, "runner", a->userdata_runner);
    if (a->userdata_started_at > 0)
        nube_xml_add_time(ud, "startTime", a->userdata_started_at / 1000);
    if (g_str_equal(a->userdata_state, "running"))
        return;
    if (a->userdata_finished_at > 0)
        nube_xml_add_time(ud, "endTime", a->userdata_finished_at / 1000);
    char secs[32];
    g_snprintf(secs, sizeof(secs), "%.3f", a->userdata_duration_ms / 1000.0);
    nube_xml_add(ud, "duration", secs);
    if (a->userdata_has_exit)
        nube_xml_add_int(ud, "exitCode", a->userdata_exit);
    if (a->userdata_error != NULL)
        nube_xml_add(ud, "error", a->userdata_error);
    if (a->userdata_log != NULL)
        nube_xml_add(ud, "logTail", a->userdata_log);
}

/* ---- DescribeInstanceStatus --------------------------------------------- */

/* Values of DescribeInstanceStatus' filters (new strings). */
static char *field_state_name(const NubeApiRequest *req, const void *item)
{
    const StatusItem *s = item;
    return g_strdup(nube_instance_state_name(s->inst->state));
}

static char *field_state_code(const NubeApiRequest *req, const void *item)
{
    const StatusItem *s = item;
    return g_strdup_printf("%d", nube_instance_state_code(s->inst->state));
}

static char *field_instance_status(const NubeApiRequest *req, const void *item)
{
    const StatusItem *s = item;
    return g_strdup(nube_check_status_name(s->instance.status));
}

static char *field_instance_reachability(const NubeApiRequest *req, const void *item)
{
    const StatusItem *s = item;
    return g_strdup(nube_check_detail_name(s->instance.status));
}

static char *field_system_status(const NubeApiRequest *req, const void *item)
{
    const StatusItem *s = item;
    return g_strdup(nube_check_status_name(s->system.status));
}

static char *field_system_reachability(const NubeApiRequest *req, const void *item)
{
    const StatusItem *s = item;
    return g_strdup(nube_check_detail_name(s->system.status));
}

static const NubeApiFilterField status_filters[] = {
    NUBE_FILTER_FN("instance-state-name", field_state_name),
    NUBE_FILTER_FN("instance-state-code", field_state_code),
    NUBE_FILTER_FN("instance-status.status", field_instance_status),
    NUBE_FILTER_FN("instance-status.reachability", field_instance_reachability),
    NUBE_FILTER_FN("system-status.status", field_system_status),
    NUBE_FILTER_FN("system-status.reachability", field_system_reachability),
    NUBE_FILTER_MEMBER("availability-zone", StatusItem, zone),
    NUBE_FILTER_END,
};

static int status_filter(const NubeApiRequest *req, const void *item, const NubeFilter *f,
                         gboolean *match, NubeError **err)
{
    const StatusItem *s = item;
    return nube_api_filter_fields(req, status_filters, s, s->inst->tags, f, match, err);
}

static void render_check(xmlNodePtr item, const char *name, const NubeCheck *c)
{
    xmlNodePtr node = nube_xml_add(item, name, NULL);
    nube_xml_add(node, "status", nube_check_status_name(c->status));
    xmlNodePtr details = nube_xml_add(node, "details", NULL);
    if (c->status == NUBE_CHECK_NOT_APPLICABLE)
        return;
    xmlNodePtr d = nube_xml_add(details, "item", NULL);
    nube_xml_add(d, "name", "reachability");
    nube_xml_add(d, "status", nube_check_detail_name(c->status));
    if (c->status == NUBE_CHECK_IMPAIRED && c->impaired_since > 0)
        nube_xml_add_time(d, "impairedSince", c->impaired_since / 1000);
}

static void render_status(xmlNodePtr set, const char *zone, const StatusItem *s)
{
    xmlNodePtr item = nube_xml_add(set, "item", NULL);
    nube_xml_add(item, "instanceId", s->inst->id);
    nube_xml_add(item, "availabilityZone", zone);
    nube_api_render_state(item, "instanceState", s->inst->state);
    render_check(item, "systemStatus", &s->system);
    render_check(item, "instanceStatus", &s->instance);
    nube_xml_add(item, "eventsSet", NULL);
    if (s->instance.reason != NULL)
        nube_xml_add(item, "nubeImpairedReason", s->instance.reason);
    nube_api_render_agent(item, s->inst);
}

int nube_api_describe_instance_status(NubeApiRequest *req, xmlNodePtr resp, NubeError **err)
{
    g_autofree const char **ids = nube_query_list(req->q, "InstanceId");
    for (size_t i = 0; ids[i] != NULL; i++)
        if (nube_resource_id_check(NUBE_RESOURCE_INSTANCE, ids[i], err) < 0)
            return -EINVAL;
    if (ids[0] != NULL && nube_query_get(req->q, "MaxResults") != NULL)
        return nube_error_setc(err, EINVAL, "InvalidParameterCombination",
                               "The parameter instancesSet cannot be used with the parameter "
                               "maxResults");
    gboolean all_states = FALSE;
    if (nube_query_bool(req->q, "IncludeAllInstances", FALSE, &all_states, err) < 0)
        return -EINVAL;

    gint64 since = g_get_real_time() / G_USEC_PER_SEC - NUBE_TERMINATED_VISIBLE;
    g_autoptr(GPtrArray) insts = nube_instance_list(req->cloud->db, since, err);
    if (insts == NULL)
        return -EIO;
    g_autoptr(GString) missing = g_string_new(NULL);
    for (size_t i = 0; ids[i] != NULL; i++) {
        gboolean found = FALSE;
        for (guint j = 0; j < insts->len && !found; j++)
            found = g_str_equal(((NubeInstance *) insts->pdata[j])->id, ids[i]);
        if (!found)
            g_string_append_printf(missing, "%s'%s'", missing->len ? ", " : "", ids[i]);
    }
    if (missing->len > 0)
        return nube_error_setc(err, ENOENT, "InvalidInstanceID.NotFound",
                               "The instance IDs %s do not exist", missing->str);

    gint64 now = g_get_real_time() / 1000;
    g_autofree char *zone = nube_catalog_zone(req->cloud->cfg->region);
    g_autoptr(GPtrArray) items = g_ptr_array_new_with_free_func(status_item_free);
    while (insts->len > 0) {
        NubeInstance *inst = g_ptr_array_steal_index(insts, 0);
        if ((ids[0] != NULL && !g_strv_contains((const char *const *) ids, inst->id)) ||
            (!all_states && inst->state != NUBE_INSTANCE_RUNNING)) {
            nube_instance_free(inst);
            continue;
        }
        StatusItem *s = g_new0(StatusItem, 1);
        s->inst = inst;
        s->zone = zone;
        nube_agent_status_checks(inst->state == NUBE_INSTANCE_RUNNING, inst->has_agent, inst->agent,
                                 now, &s->system, &s->instance);
        g_ptr_array_add(items, s);
    }
    if (nube_api_filter_items(req, items, status_filter, NULL, err) < 0)
        return -EINVAL;

    guint start = 0, end = 0;
    g_autofree char *next = NULL;
    if (nube_api_page(req, 5, 1000, items->len, &start, &end, &next, err) < 0)
        return -EINVAL;
    xmlNodePtr set = nube_xml_add(resp, "instanceStatusSet", NULL);
    for (guint i = start; i < end; i++)
        render_status(set, zone, items->pdata[i]);
    if (next != NULL)
        nube_xml_add(resp, "nextToken", next);
    return 0;
}
