/*
 * server.c: the EC2 Query API server (see api.h).
 *
 * One libmicrohttpd event loop (epoll) reads every connection, so idle or
 * slow clients cost a socket, not a thread, and connections that send
 * nothing are closed after CONNECTION_TIMEOUT.  A request whose body is
 * complete is suspended and handed to a bounded pool of workers, which run
 * the action and resume the connection with the answer; past QUEUE_MAX
 * waiting requests nubed sheds load with 503 RequestLimitExceeded, which
 * the SDKs retry with back-off.
 */
#include "api.h"
#include "log.h"
#include "sigv4.h"
#include "xml.h"

#include <microhttpd.h>
#include <netdb.h>
#include <string.h>
#include <sys/socket.h>

#define MAX_BODY (1024 * 1024)
#define MAX_SKEW 300

/* Seconds a connection may stay idle (or half-open) before it is closed. */
#define CONNECTION_TIMEOUT 30
/* Connections at once, and from one client address. */
#define CONNECTION_LIMIT 4096
#define PER_IP_LIMIT     1024
/* Workers running actions, and requests that may wait for one. */
#define WORKERS   8
#define QUEUE_MAX 512

struct NubeApi {
    NubeCloud *d;
    struct MHD_Daemon *mhd;
    GThreadPool *workers;
};

/* A header of the request, copied while the connection is the loop's. */
typedef struct {
    char *name;
    char *value;
} Header;

/* What one HTTP request accumulates while its body arrives, and the
 * answer a worker made for it. */
typedef struct {
    NubeApi *api;
    struct MHD_Connection *conn;
    char *uri; /* as sent, with the query string (for SigV4) */
    char *method;
    GArray *headers; /* Header */
    GByteArray *body;
    gboolean seen; /* the headers call has been answered */
    gint64 started;
    unsigned int status; /* the answer, set by the worker */
    GBytes *answer;
} Pending;

/* ---- HTTP ------------------------------------------------------------------ */

static unsigned int status_for(const char *code)
{
    if (g_str_equal(code, "AuthFailure") || g_str_equal(code, "SignatureDoesNotMatch") ||
        g_str_equal(code, "IncompleteSignature") || g_str_equal(code, "RequestExpired"))
        return MHD_HTTP_UNAUTHORIZED;
    if (g_str_equal(code, "InternalError"))
        return MHD_HTTP_INTERNAL_SERVER_ERROR;
    if (g_str_equal(code, "RequestLimitExceeded") || g_str_equal(code, "Unavailable"))
        return MHD_HTTP_SERVICE_UNAVAILABLE;
    /* EC2 answers a dry run that would have succeeded with 412. */
    if (g_str_equal(code, "DryRunOperation"))
        return MHD_HTTP_PRECONDITION_FAILED;
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

/* The EC2 error document for ERR, with its HTTP status in *STATUS. */
static GBytes *error_answer(const NubeError *err, const char *request_id, unsigned int *status)
{
    int len = 0;
    const char *code = nube_error_code(err);
    char *body = nube_xml_error(code, err->code ? err->message : "An internal error has occurred.",
                                request_id, &len);
    *status = status_for(code);
    return g_bytes_new_take(body, len);
}

/* Sends the EC2 error document of ERR with HTTP status STATUS (0: the
 * code's own), outside the workers. */
static enum MHD_Result send_error_status(struct MHD_Connection *conn, const NubeError *err,
                                         unsigned int status)
{
    g_autofree char *request_id = g_uuid_string_random();
    unsigned int code_status = 0;
    g_autoptr(GBytes) answer = error_answer(err, request_id, &code_status);
    gsize len = 0;
    const char *body = g_bytes_get_data(answer, &len);
    nube_info("api: refused: %s: %s", nube_error_code(err), err->message);
    return send_body(conn, status ? status : code_status, body, len);
}

static enum MHD_Result send_error(struct MHD_Connection *conn, const NubeError *err)
{
    return send_error_status(conn, err, 0);
}

static enum MHD_Result copy_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
    Header h = { g_strdup(key), g_strdup(value ? value : "") };
    g_array_append_val((GArray *) cls, h);
    return MHD_YES;
}

static void header_clear(gpointer p)
{
    Header *h = p;
    g_free(h->name);
    g_free(h->value);
}

/* The value of header NAME (case-insensitive, as HTTP), or NULL. */
static const char *header_get(const Pending *p, const char *name)
{
    for (guint i = 0; i < p->headers->len; i++) {
        const Header *h = &g_array_index(p->headers, Header, i);
        if (g_ascii_strcasecmp(h->name, name) == 0)
            return h->value;
    }
    return NULL;
}

static const char *raw_query(const char *uri)
{
    const char *q = strchr(uri, '?');
    return q ? q + 1 : NULL;
}

/* Checks the signature and finds the account.  0 or -errno with ERR. */
static int authenticate(NubeApi *api, const char *path, const char *query, const Pending *p,
                        NubeAccount *acct, NubeError **err)
{
    g_autoptr(GArray) headers = g_array_new(FALSE, FALSE, sizeof(NubeHttpHeader));
    for (guint i = 0; i < p->headers->len; i++) {
        const Header *h = &g_array_index(p->headers, Header, i);
        NubeHttpHeader hh = { .name = h->name, .value = h->value };
        g_array_append_val(headers, hh);
    }
    const char *auth_value = header_get(p, "Authorization");
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
            .method = p->method,
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

static int handle(NubeApi *api, const Pending *p, const char *request_id, const char **action_out,
                  xmlDocPtr *doc, NubeError **err)
{
    const char *method = p->method;
    const char *query = raw_query(p->uri);
    g_autofree char *path = query ? g_strndup(p->uri, query - 1 - p->uri) : g_strdup(p->uri);
    NubeAccount acct = { 0 };

    if (!g_str_equal(method, "POST") && !g_str_equal(method, "GET"))
        return nube_error_setc(err, EINVAL, "InvalidRequest", "HTTP method '%s' is not supported.",
                               method);
    g_autoptr(NubeQuery) params = request_params(query, p, err);
    if (params == NULL)
        return -EINVAL;
    int r = authenticate(api, path, query, p, &acct, err);
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

/* Runs P's request and stores its answer in P (a worker's job). */
static void run_request(gpointer data, gpointer unused)
{
    Pending *p = data;
    g_autofree char *request_id = g_uuid_string_random();
    g_autoptr(NubeError) err = NULL;
    xmlDocPtr doc = NULL;
    const char *action = "-";

    int r = handle(p->api, p, request_id, &action, &doc, &err);
    gint64 ms = (g_get_monotonic_time() - p->started) / 1000;
    if (r < 0) {
        nube_info("api: %s %s -> %s: %s (%" G_GINT64_FORMAT " ms)", p->method, action,
                  nube_error_code(err), err->message, ms);
        p->answer = error_answer(err, request_id, &p->status);
    } else {
        int len = 0;
        xmlChar *body = nube_xml_serialize(doc, &len);
        p->answer = g_bytes_new(body, len);
        p->status = MHD_HTTP_OK;
        xmlFree(body);
        xmlFreeDoc(doc);
        nube_debug("api: %s %s -> 200 (%" G_GINT64_FORMAT " ms)", p->method, action, ms);
    }
    MHD_resume_connection(p->conn);
}

/*
 * Refuses at once, before any of the body is read, a body announced larger
 * than MAX_BODY (413) and one without a length (411: no EC2 client sends
 * chunked bodies, and a chunk may announce any size).  MHD closes the
 * connection after such an answer.
 */
static enum MHD_Result check_length(struct MHD_Connection *conn)
{
    const char *te = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Transfer-Encoding");
    const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
    g_autoptr(NubeError) err = NULL;
    unsigned int status = 0;
    if (te != NULL) {
        nube_error_setc(&err, EINVAL, "InvalidRequest",
                        "A request body must have a Content-Length.");
        status = MHD_HTTP_LENGTH_REQUIRED;
    } else if (cl != NULL && g_ascii_strtoull(cl, NULL, 10) > MAX_BODY) {
        nube_error_setc(&err, E2BIG, "InvalidRequest", "The request body is larger than %d bytes.",
                        MAX_BODY);
        status = MHD_HTTP_CONTENT_TOO_LARGE;
    }
    return err == NULL ? MHD_YES : send_error_status(conn, err, status);
}

/* Hands the complete request P to a worker, or sheds it when too many
 * wait already. */
static enum MHD_Result dispatch_request(NubeApi *api, struct MHD_Connection *conn, Pending *p)
{
    if (g_thread_pool_unprocessed(api->workers) >= QUEUE_MAX) {
        g_autoptr(NubeError) err = NULL;
        nube_error_setc(&err, EBUSY, "RequestLimitExceeded", "Request limit exceeded.");
        return send_error(conn, err);
    }
    p->api = api;
    p->conn = conn;
    p->headers = g_array_new(FALSE, FALSE, sizeof(Header));
    g_array_set_clear_func(p->headers, header_clear);
    MHD_get_connection_values(conn, MHD_HEADER_KIND, copy_header, p->headers);
    MHD_suspend_connection(conn);
    g_thread_pool_push(api->workers, p, NULL);
    return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_size, void **con_cls)
{
    Pending *p = *con_cls;
    if (!p->seen) {
        p->seen = TRUE;
        p->method = g_strdup(method);
        return check_length(conn);
    }
    if (p->answer != NULL) {
        gsize len = 0;
        const char *body = g_bytes_get_data(p->answer, &len);
        return send_body(conn, p->status, body, len);
    }
    if (*upload_size > 0) {
        if (p->body->len + *upload_size > MAX_BODY) {
            /* Answered at once: MHD reads no more of the body and closes
             * the connection after the answer. */
            g_autoptr(NubeError) err = NULL;
            nube_error_setc(&err, E2BIG, "InvalidRequest",
                            "The request body is larger than %d bytes.", MAX_BODY);
            *upload_size = 0;
            return send_error(conn, err);
        }
        g_byte_array_append(p->body, (const guint8 *) upload_data, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    return dispatch_request(cls, conn, p);
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
    if (p->headers != NULL)
        g_array_unref(p->headers);
    if (p->answer != NULL)
        g_bytes_unref(p->answer);
    g_free(p->method);
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
    api->workers = g_thread_pool_new(run_request, NULL, WORKERS, FALSE, NULL);
    unsigned int flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME |
                         (ai->ai_family == AF_INET6 ? MHD_USE_IPv6 : 0);
    api->mhd =
        MHD_start_daemon(flags, d->cfg->listen_port, NULL, NULL, on_request, api,
                         MHD_OPTION_SOCK_ADDR, ai->ai_addr, MHD_OPTION_CONNECTION_TIMEOUT,
                         (unsigned int) CONNECTION_TIMEOUT, MHD_OPTION_CONNECTION_LIMIT,
                         (unsigned int) CONNECTION_LIMIT, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
                         (unsigned int) PER_IP_LIMIT, MHD_OPTION_NOTIFY_COMPLETED, on_completed,
                         NULL, MHD_OPTION_URI_LOG_CALLBACK, on_uri, NULL, MHD_OPTION_END);
    if (api->mhd == NULL) {
        g_thread_pool_free(api->workers, TRUE, TRUE);
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
    /* Workers finish their requests and resume those connections first:
     * MHD must not be stopped with a connection suspended. */
    MHD_quiesce_daemon(api->mhd);
    g_thread_pool_free(api->workers, FALSE, TRUE);
    MHD_stop_daemon(api->mhd);
    g_free(api);
}
