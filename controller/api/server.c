/*
 * server.c: the EC2 Query API server (see api.h).
 */
#include "api.h"
#include "xml.h"
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
    NubeCloud *d;
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
    if (r == 0 && !g_str_equal(auth.region, api->d->cfg->region))
        r = nube_error_setc(err, EACCES, "AuthFailure",
                            "Credential should be scoped to a valid region, not '%s'. "
                            "This endpoint serves '%s'.",
                            auth.region, api->d->cfg->region);
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
    NubeApiRequest req = {
        .cloud = api->d, .q = params, .request_id = request_id, .account = &acct
    };
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

NubeApi *nube_api_start(NubeCloud *d, NubeError **err)
{
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST };
    _cleanup_(freeaddrinfop) struct addrinfo *ai = NULL;
    g_autofree char *port = g_strdup_printf("%u", d->cfg->listen_port);

    if (getaddrinfo(d->cfg->listen_host, port, &hints, &ai) != 0 || ai == NULL) {
        nube_error_set(err, EINVAL, "listen address '%s' is not a numeric IP address",
                       d->cfg->listen_host);
        return NULL;
    }
    NubeApi *api = g_new0(NubeApi, 1);
    api->d = d;
    unsigned int flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                         (ai->ai_family == AF_INET6 ? MHD_USE_IPv6 : 0);
    api->mhd = MHD_start_daemon(flags, d->cfg->listen_port, NULL, NULL, on_request, api,
                                MHD_OPTION_SOCK_ADDR, ai->ai_addr, MHD_OPTION_CONNECTION_TIMEOUT,
                                (unsigned int) 120, MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
                                MHD_OPTION_URI_LOG_CALLBACK, on_uri, NULL, MHD_OPTION_END);
    if (api->mhd == NULL) {
        g_free(api);
        nube_error_set(err, EADDRINUSE, "cannot listen on %s:%s (in use?)", d->cfg->listen_host,
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
