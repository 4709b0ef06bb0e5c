/*
 * api.c: the EC2 Query API server (see api.h).
 */
#include "api.h"
#include "api_xml.h"
#include "log.h"
#include "sigv4.h"
#include "tags.h"

#include <microhttpd.h>
#include <netdb.h>
#include <string.h>
#include <sys/socket.h>

#define MAX_BODY (1024 * 1024)
#define MAX_SKEW 300

struct NubeApi {
    NubeDaemon *d;
    struct MHD_Daemon *mhd;
};

/* What one HTTP request accumulates while its body arrives. */
typedef struct {
    char *uri; /* as sent, with the query string (for SigV4) */
    GByteArray *body;
    gboolean too_large;
    gboolean seen; /* the headers call has been answered */
    gint64 started;
} Pending;

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

/* ---- helpers for handlers ------------------------------------------------ */

const char *nube_api_require(const NubeApiRequest *req, const char *key, NubeError **err)
{
    const char *v = nube_query_get(req->q, key);
    if (v == NULL || v[0] == '\0')
        nube_error_setc(err, EINVAL, "MissingParameter",
                        "The request must contain the parameter %s", key);
    return v && v[0] ? v : NULL;
}

int nube_api_page(const NubeApiRequest *req, gint64 min, gint64 max, guint n_items, guint *start,
                  guint *end, char **next_token, NubeError **err)
{
    gint64 limit = 0, offset = 0;
    const char *token = nube_query_get(req->q, "NextToken");

    *next_token = NULL;
    if (nube_query_int(req->q, "MaxResults", min, max, G_MAXINT, &limit, err) < 0)
        return -EINVAL;
    if (token != NULL) {
        gsize len = 0;
        g_autofree guchar *raw = g_base64_decode(token, &len);
        g_autofree char *text = g_strndup((const char *) raw, len);
        char *endp = NULL;
        if (!g_str_has_prefix(text, "nube:") ||
            (offset = g_ascii_strtoll(text + 5, &endp, 10)) < 0 || *endp != '\0' ||
            offset > n_items)
            return nube_error_setc(err, EINVAL, "InvalidParameterValue",
                                   "The NextToken '%s' is not valid.", token);
    }
    *start = (guint) offset;
    *end = (guint) MIN((gint64) n_items, offset + limit);
    if (*end < n_items) {
        g_autofree char *text = g_strdup_printf("nube:%u", *end);
        *next_token = g_base64_encode((const guchar *) text, strlen(text));
    }
    return 0;
}

gboolean nube_api_filter_values_match(const NubeFilter *f, const char *value)
{
    for (size_t i = 0; value != NULL && f->values[i] != NULL; i++)
        if (g_pattern_match_simple(f->values[i], value))
            return TRUE;
    return FALSE;
}

int nube_api_filter_unknown(const NubeFilter *f, NubeError **err)
{
    return nube_error_setc(err, EINVAL, "InvalidParameterValue", "The filter '%s' is invalid",
                           f->name);
}

gboolean nube_api_filter_tags(const NubeFilter *f, const GPtrArray *tags, gboolean *match)
{
    gboolean by_key = g_str_equal(f->name, "tag-key");
    if (g_str_has_prefix(f->name, "tag:")) {
        *match = nube_api_filter_values_match(f, nube_tags_lookup(tags, f->name + 4));
        return TRUE;
    }
    if (!by_key && !g_str_equal(f->name, "tag-value"))
        return FALSE;
    *match = FALSE;
    for (guint i = 0; tags != NULL && i < tags->len && !*match; i++) {
        const NubeTag *t = g_ptr_array_index(tags, i);
        *match = nube_api_filter_values_match(f, by_key ? t->key : t->value);
    }
    return TRUE;
}

/* The value of FIELD for ITEM (new string or NULL). */
static char *field_value(const NubeApiRequest *req, const NubeApiFilterField *field,
                         const void *item)
{
    if (field->get != NULL)
        return field->get(req, item);
    if (field->offset >= 0)
        return g_strdup(G_STRUCT_MEMBER(const char *, item, field->offset));
    return g_strdup(field->constant);
}

int nube_api_filter_fields(const NubeApiRequest *req, const NubeApiFilterField *fields,
                           const void *item, const GPtrArray *tags, const NubeFilter *f,
                           gboolean *match, NubeError **err)
{
    if (nube_api_filter_tags(f, tags, match))
        return 0;
    for (const NubeApiFilterField *field = fields; field->name != NULL; field++) {
        if (!g_str_equal(field->name, f->name))
            continue;
        g_autofree char *v = field_value(req, field, item);
        *match = nube_api_filter_values_match(f, v);
        return 0;
    }
    return nube_api_filter_unknown(f, err);
}

/* Keeps in ITEMS those that KEEP (if any) accepts and every filter matches,
 * by MATCH or (if MATCH is NULL) RMATCH. */
static int filter_items(const NubeApiRequest *req, GPtrArray *items, NubeApiFilterFn match,
                        NubeApiRequestFilterFn rmatch,
                        gboolean (*keep)(const NubeApiRequest *req, const void *item),
                        NubeError **err)
{
    g_autoptr(GArray) filters = nube_query_filters(req->q, err);
    if (filters == NULL)
        return -EINVAL;
    for (guint i = 0; i < items->len;) {
        gboolean ok = keep == NULL || keep(req, items->pdata[i]);
        for (guint n = 0; n < filters->len && ok; n++) {
            const NubeFilter *f = &g_array_index(filters, NubeFilter, n);
            int r = match ? match(items->pdata[i], f, &ok, err)
                          : rmatch(req, items->pdata[i], f, &ok, err);
            if (r < 0)
                return -EINVAL;
        }
        if (ok)
            i++;
        else
            g_ptr_array_remove_index(items, i);
    }
    return 0;
}

int nube_api_filter_items(const NubeApiRequest *req, GPtrArray *items, NubeApiFilterFn match,
                          gboolean (*keep)(const NubeApiRequest *req, const void *item),
                          NubeError **err)
{
    return filter_items(req, items, match, NULL, keep, err);
}

int nube_api_filter_items_req(const NubeApiRequest *req, GPtrArray *items,
                              NubeApiRequestFilterFn match,
                              gboolean (*keep)(const NubeApiRequest *req, const void *item),
                              NubeError **err)
{
    return filter_items(req, items, NULL, match, keep, err);
}

GBytes *nube_api_user_data(const char *b64, NubeError **err)
{
    gsize len = 0;
    for (const char *p = b64; *p; p++)
        if (!g_ascii_isalnum(*p) && *p != '+' && *p != '/' && *p != '=' && !g_ascii_isspace(*p)) {
            nube_error_setc(err, EINVAL, "InvalidParameterValue",
                            "Invalid BASE64 encoding of user data.");
            return NULL;
        }
    g_autofree guchar *raw = g_base64_decode(b64, &len);
    if (len > NUBE_USER_DATA_MAX) {
        nube_error_setc(err, EINVAL, "InvalidParameterValue",
                        "User data is limited to %d bytes (got %zu).", NUBE_USER_DATA_MAX, len);
        return NULL;
    }
    return g_bytes_new_take(g_steal_pointer(&raw), len);
}

/* Adds the tags TagSpecification.N.Tag.M.{Key,Value} to TAGS. */
static void add_spec_tags(const NubeApiRequest *req, guint n, GPtrArray *tags)
{
    g_autofree char *prefix = g_strdup_printf("TagSpecification.%u.Tag", n);
    g_autoptr(GArray) idx = nube_query_indices(req->q, prefix);
    for (guint j = 0; j < idx->len; j++) {
        guint m = g_array_index(idx, guint, j);
        g_autofree char *kk = g_strdup_printf("%s.%u.Key", prefix, m);
        g_autofree char *vk = g_strdup_printf("%s.%u.Value", prefix, m);
        const char *key = nube_query_get(req->q, kk);
        nube_tags_add(tags, key ? key : "", nube_query_get(req->q, vk));
    }
}

GPtrArray *nube_api_tag_specs(const NubeApiRequest *req, const char *type,
                              const char *const *allowed, NubeError **err)
{
    g_autoptr(GPtrArray) tags = nube_tags_new();
    g_autoptr(GArray) specs = nube_query_indices(req->q, "TagSpecification");
    for (guint i = 0; i < specs->len; i++) {
        guint n = g_array_index(specs, guint, i);
        g_autofree char *rt_key = g_strdup_printf("TagSpecification.%u.ResourceType", n);
        const char *rt = nube_query_get(req->q, rt_key);
        if (rt == NULL || !g_strv_contains(allowed, rt)) {
            nube_error_setc(err, EINVAL, "InvalidParameterValue",
                            "'%s' is not a valid taggable resource type for this operation.",
                            rt ? rt : "");
            return NULL;
        }
        if (g_str_equal(rt, type))
            add_spec_tags(req, n, tags);
    }
    return nube_tags_validate(tags, err) < 0 ? NULL : g_steal_pointer(&tags);
}

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

/* ---- HTTP ------------------------------------------------------------------ */

static unsigned int status_for(const char *code)
{
    if (g_str_equal(code, "AuthFailure") || g_str_equal(code, "SignatureDoesNotMatch") ||
        g_str_equal(code, "IncompleteSignature") || g_str_equal(code, "RequestExpired"))
        return MHD_HTTP_UNAUTHORIZED;
    if (g_str_equal(code, "InternalError"))
        return MHD_HTTP_INTERNAL_SERVER_ERROR;
    return MHD_HTTP_BAD_REQUEST;
}

static enum MHD_Result send_body(struct MHD_Connection *conn, unsigned int status, const char *body,
                                 size_t len)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, (void *) body, MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(resp, "Content-Type", "text/xml;charset=UTF-8");
    MHD_add_response_header(resp, "Server", "nubed");
    enum MHD_Result ret = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result send_error(struct MHD_Connection *conn, const NubeError *err,
                                  const char *request_id)
{
    int len = 0;
    const char *code = nube_error_code(err);
    g_autofree char *body = nube_xml_error(
        code, err->code ? err->message : "An internal error has occurred.", request_id, &len);
    return send_body(conn, status_for(code), body, len);
}

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *value)
{
    GArray *headers = cls;
    NubeHttpHeader h = { .name = key, .value = value ? value : "" };
    g_array_append_val(headers, h);
    return MHD_YES;
}

static const char *raw_query(const char *uri)
{
    const char *q = strchr(uri, '?');
    return q ? q + 1 : NULL;
}

/* Checks the signature and finds the account.  0 or -errno with ERR. */
static int authenticate(NubeApi *api, struct MHD_Connection *conn, const char *method,
                        const char *path, const char *query, const Pending *p, NubeAccount *acct,
                        NubeError **err)
{
    g_autoptr(GArray) headers = g_array_new(FALSE, FALSE, sizeof(NubeHttpHeader));
    MHD_get_connection_values(conn, MHD_HEADER_KIND, collect_header, headers);
    const char *auth_value = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
    if (auth_value == NULL)
        return nube_error_setc(err, EACCES, "AuthFailure",
                               "The request is not signed: AWS Signature Version 4 is required.");

    NubeSigV4Auth auth = { 0 };
    int r = nube_sigv4_parse_authorization(auth_value, &auth, err);
    if (r == 0 && !g_str_equal(auth.region, api->d->cfg.region))
        r = nube_error_setc(err, EACCES, "AuthFailure",
                            "Credential should be scoped to a valid region, not '%s'. "
                            "This endpoint serves '%s'.",
                            auth.region, api->d->cfg.region);
    if (r == 0 && nube_account_by_access_key(api->d->db, auth.access_key, acct, NULL) < 0)
        r = nube_error_setc(err, EACCES, "AuthFailure",
                            "AWS was not able to validate the provided access credentials");
    if (r == 0) {
        NubeHttpRequest req = {
            .method = method,
            .path = path,
            .query = query,
            .headers = (const NubeHttpHeader *) headers->data,
            .n_headers = headers->len,
            .body = p->body->data,
            .body_len = p->body->len,
        };
        r = nube_sigv4_verify(&req, &auth, acct->secret_key, g_get_real_time() / G_USEC_PER_SEC,
                              MAX_SKEW, err);
    }
    nube_sigv4_auth_clear(&auth);
    return r;
}

static NubeQuery *request_params(const char *query, const Pending *p, NubeError **err)
{
    g_autoptr(NubeQuery) params = nube_query_parse((const char *) p->body->data, p->body->len, err);
    if (params == NULL)
        return NULL;
    if (query != NULL) {
        g_autoptr(NubeQuery) qp = nube_query_parse(query, strlen(query), err);
        if (qp == NULL)
            return NULL;
        nube_query_merge(params, qp);
    }
    return g_steal_pointer(&params);
}

static int handle(NubeApi *api, struct MHD_Connection *conn, const char *method, const Pending *p,
                  const char *request_id, const char **action_out, xmlDocPtr *doc, NubeError **err)
{
    const char *query = raw_query(p->uri);
    g_autofree char *path = query ? g_strndup(p->uri, query - 1 - p->uri) : g_strdup(p->uri);
    NubeAccount acct = { 0 };

    if (!g_str_equal(method, "POST") && !g_str_equal(method, "GET"))
        return nube_error_setc(err, EINVAL, "InvalidRequest", "HTTP method '%s' is not supported.",
                               method);
    if (p->too_large)
        return nube_error_setc(err, E2BIG, "InvalidRequest",
                               "The request body is larger than %d bytes.", MAX_BODY);
    g_autoptr(NubeQuery) params = request_params(query, p, err);
    if (params == NULL)
        return -EINVAL;
    int r = authenticate(api, conn, method, path, query, p, &acct, err);
    NubeApiRequest req = { .d = api->d, .q = params, .request_id = request_id, .account = &acct };
    if (r == 0 && (req.action = nube_api_require(&req, "Action", err)) != NULL &&
        nube_api_require(&req, "Version", err) != NULL) {
        *action_out = g_intern_string(req.action);
        r = nube_api_dispatch(&req, doc, err);
    } else if (r == 0) {
        r = -EINVAL;
    }
    nube_account_clear(&acct);
    return r;
}

static enum MHD_Result respond(NubeApi *api, struct MHD_Connection *conn, const char *method,
                               Pending *p)
{
    g_autofree char *request_id = g_uuid_string_random();
    g_autoptr(NubeError) err = NULL;
    xmlDocPtr doc = NULL;
    const char *action = "-";

    int r = handle(api, conn, method, p, request_id, &action, &doc, &err);
    gint64 ms = (g_get_monotonic_time() - p->started) / 1000;
    if (r < 0) {
        nube_info("api: %s %s -> %s: %s (%" G_GINT64_FORMAT " ms)", method, action,
                  nube_error_code(err), err->message, ms);
        return send_error(conn, err, request_id);
    }
    int len = 0;
    xmlChar *body = nube_xml_serialize(doc, &len);
    enum MHD_Result ret = send_body(conn, MHD_HTTP_OK, (const char *) body, len);
    xmlFree(body);
    xmlFreeDoc(doc);
    nube_debug("api: %s %s -> 200 (%" G_GINT64_FORMAT " ms)", method, action, ms);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_size, void **con_cls)
{
    Pending *p = *con_cls;
    if (!p->seen) {
        p->seen = TRUE;
        return MHD_YES;
    }
    if (*upload_size > 0) {
        if (p->body->len + *upload_size > MAX_BODY)
            p->too_large = TRUE;
        else
            g_byte_array_append(p->body, (const guint8 *) upload_data, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    return respond(cls, conn, method, p);
}

/* Called by MHD with the URI as sent, before it parses it: the start of
 * each request's state. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    Pending *p = g_new0(Pending, 1);
    p->uri = g_strdup(uri);
    p->body = g_byte_array_new();
    p->started = g_get_monotonic_time();
    return p;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    Pending *p = *con_cls;
    if (p == NULL)
        return;
    g_byte_array_unref(p->body);
    g_free(p->uri);
    g_free(p);
    *con_cls = NULL;
}

static void freeaddrinfop(struct addrinfo **ai)
{
    if (*ai != NULL)
        freeaddrinfo(*ai);
}

NubeApi *nube_api_start(NubeDaemon *d, NubeError **err)
{
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST };
    _cleanup_(freeaddrinfop) struct addrinfo *ai = NULL;
    g_autofree char *port = g_strdup_printf("%u", d->cfg.listen_port);

    if (getaddrinfo(d->cfg.listen_host, port, &hints, &ai) != 0 || ai == NULL) {
        nube_error_set(err, EINVAL, "listen address '%s' is not a numeric IP address",
                       d->cfg.listen_host);
        return NULL;
    }
    NubeApi *api = g_new0(NubeApi, 1);
    api->d = d;
    unsigned int flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                         (ai->ai_family == AF_INET6 ? MHD_USE_IPv6 : 0);
    api->mhd = MHD_start_daemon(flags, d->cfg.listen_port, NULL, NULL, on_request, api,
                                MHD_OPTION_SOCK_ADDR, ai->ai_addr, MHD_OPTION_CONNECTION_TIMEOUT,
                                (unsigned int) 120, MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
                                MHD_OPTION_URI_LOG_CALLBACK, on_uri, NULL, MHD_OPTION_END);
    if (api->mhd == NULL) {
        g_free(api);
        nube_error_set(err, EADDRINUSE, "cannot listen on %s:%s (in use?)", d->cfg.listen_host,
                       port);
        return NULL;
    }
    return api;
}

void nube_api_stop(NubeApi *api)
{
    if (api == NULL)
        return;
    MHD_stop_daemon(api->mhd);
    g_free(api);
}
