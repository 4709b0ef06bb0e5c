/*
 * imds.c: the instance metadata service (see imds.h).
 *
 * One libmicrohttpd daemon per live instance, each on its own unix socket
 * and with its own internal polling thread; the scan thread below creates
 * and stops them.  The HTTP layer checks the method, the token and the
 * instance's options, then looks the path up in the table `nodes`.
 */
#include "imds.h"
#include "catalog.h"
#include "fsutil.h"
#include "instance.h"
#include "instdir.h"
#include "log.h"
#include "secgroup.h"

#include <json-glib/json-glib.h>
#include <microhttpd.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* How often the live instances are looked for (ms). */
#define SCAN_INTERVAL_MS 2000
/* Longest path served; longer ones are refused. */
#define MAX_PATH 1024
/* Tokens one instance may hold at once; the soonest to expire goes first. */
#define MAX_TOKENS 1024
/* EC2's bounds of a token's lifetime (seconds). */
#define TOKEN_TTL_MAX 21600
#define TOKEN_BYTES   32
/* Concurrent connections of one instance, and their idle timeout (s). */
#define MAX_CONNECTIONS    32
#define CONNECTION_TIMEOUT 10

#define TOKEN_PATH    "/latest/api/token"
#define HDR_TOKEN     "X-aws-ec2-metadata-token"
#define HDR_TOKEN_TTL "X-aws-ec2-metadata-token-ttl-seconds"
#define TEXT_PLAIN    "text/plain"
#define OCTET_STREAM  "application/octet-stream"

/* The server of one instance. */
typedef struct {
    NubeImds *imds;
    char *id;
    char *path; /* its socket */
    dev_t dev;  /* the socket file's identity, to notice it was replaced */
    ino_t ino;
    struct MHD_Daemon *mhd;
    GMutex lock;        /* tokens */
    GHashTable *tokens; /* token -> expiry (monotonic µs, gint64 *) */
} Server;

struct NubeImds {
    NubeDb *db;
    char *instances_dir;
    char *region;
    GThread *thread;
    GMutex lock; /* kicked, closing */
    GCond cond;
    gboolean kicked;
    gboolean closing;
    GHashTable *servers; /* instance id -> Server; only the scan thread touches it */
};

/* ---- the tree ---------------------------------------------------------- */

/* What a request reads: the instance (fresh from the database) and region. */
typedef struct {
    const NubeInstance *inst;
    const char *region;
} Ctx;

/* A node's content (NULL: the node does not exist for this instance). */
typedef GBytes *(*ContentFn)(const Ctx *c);
/* Whether a node exists for this instance. */
typedef gboolean (*WhenFn)(const Ctx *c);

typedef struct {
    const char *path; /* below "/", without leading or trailing '/' */
    gboolean dir;
    WhenFn when;       /* NULL: always */
    ContentFn content; /* NULL for a directory: its children, listed */
    const char *type;  /* NULL: text/plain */
} Node;

static GBytes *text(char *s)
{
    return s ? g_bytes_new_take(s, strlen(s)) : NULL;
}

static char *hostname_of(const Ctx *c)
{
    return g_strdup_printf("%s.%s.compute.internal", c->inst->hostname, c->region);
}

static gboolean has_user_data(const Ctx *c)
{
    return c->inst->user_data != NULL && g_bytes_get_size(c->inst->user_data) > 0;
}

static gboolean has_key(const Ctx *c)
{
    return c->inst->key_name != NULL && c->inst->public_key != NULL;
}

static gboolean has_groups(const Ctx *c)
{
    return c->inst->groups != NULL && c->inst->groups->len > 0;
}

/* The versions listed at "/": every dated version answers as "latest"
 * (see unversioned()), as clients such as cloud-init ask for one. */
static GBytes *root_list(const Ctx *c)
{
    return text(g_strdup("1.0\n2009-04-04\n2016-09-02\n2018-09-24\n2021-03-23\nlatest"));
}

/* EC2 lists these without the trailing '/' of directories. */
static GBytes *latest_list(const Ctx *c)
{
    return text(
        g_strdup(has_user_data(c) ? "dynamic\nmeta-data\nuser-data" : "dynamic\nmeta-data"));
}

static GBytes *ami_id(const Ctx *c)
{
    return text(g_strdup(c->inst->image_id));
}

static GBytes *launch_index(const Ctx *c)
{
    return text(g_strdup_printf("%" G_GINT64_FORMAT, c->inst->launch_index));
}

static GBytes *root_device(const Ctx *c)
{
    return text(g_strdup("/dev/vda"));
}

static GBytes *hostname(const Ctx *c)
{
    return text(hostname_of(c));
}

static GBytes *instance_id(const Ctx *c)
{
    return text(g_strdup(c->inst->id));
}

static GBytes *instance_type(const Ctx *c)
{
    return text(g_strdup(c->inst->instance_type));
}

static GBytes *local_ipv4(const Ctx *c)
{
    return text(g_strdup(c->inst->private_ip));
}

static GBytes *mac(const Ctx *c)
{
    return text(g_strdup(c->inst->mac));
}

static GBytes *zone(const Ctx *c)
{
    return text(nube_catalog_zone(c->region));
}

static GBytes *region(const Ctx *c)
{
    return text(g_strdup(c->region));
}

static GBytes *keys_list(const Ctx *c)
{
    return text(g_strdup_printf("0=%s", c->inst->key_name));
}

static GBytes *openssh_key(const Ctx *c)
{
    const char *key = c->inst->public_key;
    return text(g_str_has_suffix(key, "\n") ? g_strdup(key) : g_strconcat(key, "\n", NULL));
}

static GBytes *reservation_id(const Ctx *c)
{
    return text(g_strdup(c->inst->reservation_id));
}

static GBytes *security_groups(const Ctx *c)
{
    g_autoptr(GString) s = g_string_new(NULL);
    for (guint i = 0; i < c->inst->groups->len; i++) {
        const NubeSecGroup *g = g_ptr_array_index(c->inst->groups, i);
        g_string_append_printf(s, "%s%s", i ? "\n" : "", g->name);
    }
    return g_string_free_to_bytes(g_steal_pointer(&s));
}

static GBytes *user_data(const Ctx *c)
{
    return g_bytes_ref(c->inst->user_data);
}

static char *iso_time(gint64 t)
{
    g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc(t);
    return dt ? g_date_time_format(dt, "%Y-%m-%dT%H:%M:%SZ") : g_strdup("1970-01-01T00:00:00Z");
}

static void add_string(JsonBuilder *b, const char *name, const char *value)
{
    json_builder_set_member_name(b, name);
    if (value != NULL)
        json_builder_add_string_value(b, value);
    else
        json_builder_add_null_value(b);
}

static GBytes *identity_document(const Ctx *c)
{
    const NubeInstance *i = c->inst;
    g_autoptr(JsonBuilder) b = json_builder_new();
    g_autofree char *az = nube_catalog_zone(c->region);
    g_autofree char *pending = iso_time(i->launch_time);
    json_builder_begin_object(b);
    add_string(b, "accountId", i->owner_id);
    add_string(b, "architecture", "x86_64");
    add_string(b, "availabilityZone", az);
    add_string(b, "billingProducts", NULL);
    add_string(b, "devpayProductCodes", NULL);
    add_string(b, "marketplaceProductCodes", NULL);
    add_string(b, "imageId", i->image_id);
    add_string(b, "instanceId", i->id);
    add_string(b, "instanceType", i->instance_type);
    add_string(b, "kernelId", NULL);
    add_string(b, "pendingTime", pending);
    add_string(b, "privateIp", i->private_ip);
    add_string(b, "ramdiskId", NULL);
    add_string(b, "region", c->region);
    add_string(b, "version", "2017-09-30");
    json_builder_end_object(b);
    g_autoptr(JsonGenerator) gen = json_generator_new();
    g_autoptr(JsonNode) root = json_builder_get_root(b);
    json_generator_set_root(gen, root);
    json_generator_set_pretty(gen, TRUE);
    return text(json_generator_to_data(gen, NULL));
}

/* Every path served, parents before children; listings keep this order. */
static const Node nodes[] = {
    { "", TRUE, NULL, root_list, NULL },
    { "latest", TRUE, NULL, latest_list, NULL },
    { "latest/meta-data", TRUE, NULL, NULL, NULL },
    { "latest/meta-data/ami-id", FALSE, NULL, ami_id, NULL },
    { "latest/meta-data/ami-launch-index", FALSE, NULL, launch_index, NULL },
    { "latest/meta-data/block-device-mapping", TRUE, NULL, NULL, NULL },
    { "latest/meta-data/block-device-mapping/ami", FALSE, NULL, root_device, NULL },
    { "latest/meta-data/block-device-mapping/root", FALSE, NULL, root_device, NULL },
    { "latest/meta-data/hostname", FALSE, NULL, hostname, NULL },
    { "latest/meta-data/instance-id", FALSE, NULL, instance_id, NULL },
    { "latest/meta-data/instance-type", FALSE, NULL, instance_type, NULL },
    { "latest/meta-data/local-hostname", FALSE, NULL, hostname, NULL },
    { "latest/meta-data/local-ipv4", FALSE, NULL, local_ipv4, NULL },
    { "latest/meta-data/mac", FALSE, NULL, mac, NULL },
    { "latest/meta-data/placement", TRUE, NULL, NULL, NULL },
    { "latest/meta-data/placement/availability-zone", FALSE, NULL, zone, NULL },
    { "latest/meta-data/placement/region", FALSE, NULL, region, NULL },
    { "latest/meta-data/public-keys", TRUE, has_key, keys_list, NULL },
    { "latest/meta-data/public-keys/0", TRUE, has_key, NULL, NULL },
    { "latest/meta-data/public-keys/0/openssh-key", FALSE, has_key, openssh_key, NULL },
    { "latest/meta-data/reservation-id", FALSE, NULL, reservation_id, NULL },
    { "latest/meta-data/security-groups", FALSE, has_groups, security_groups, NULL },
    { "latest/user-data", FALSE, has_user_data, user_data, OCTET_STREAM },
    { "latest/dynamic", TRUE, NULL, NULL, NULL },
    { "latest/dynamic/instance-identity", TRUE, NULL, NULL, NULL },
    { "latest/dynamic/instance-identity/document", FALSE, NULL, identity_document, NULL },
};

/* The direct children of DIR that exist, directories with a trailing '/'. */
static GBytes *list_children(const Ctx *c, const Node *dir)
{
    g_autoptr(GString) s = g_string_new(NULL);
    size_t n = strlen(dir->path);
    for (size_t i = 0; i < G_N_ELEMENTS(nodes); i++) {
        const Node *child = &nodes[i];
        if (strncmp(child->path, dir->path, n) != 0 || child->path[n] != '/' ||
            strchr(child->path + n + 1, '/') != NULL || (child->when && !child->when(c)))
            continue;
        g_string_append_printf(s, "%s%s%s", s->len ? "\n" : "", child->path + n + 1,
                               child->dir ? "/" : "");
    }
    return g_string_free_to_bytes(g_steal_pointer(&s));
}

/* The node at PATH (as requested, with its leading '/'), NULL if none.
 * A directory may be asked for with or without one trailing '/'. */
static const Node *node_find(const Ctx *c, const char *path)
{
    size_t len = strlen(path + 1);
    gboolean slash = len > 0 && path[len] == '/';
    if (slash)
        len--;
    for (size_t i = 0; i < G_N_ELEMENTS(nodes); i++) {
        const Node *node = &nodes[i];
        if (strlen(node->path) != len || strncmp(node->path, path + 1, len) != 0)
            continue;
        if ((slash && !node->dir) || (node->when && !node->when(c)))
            return NULL;
        return node;
    }
    return NULL;
}

/* ---- HTTP -------------------------------------------------------------- */

/* An answer before it is sent. */
typedef struct {
    unsigned int status;
    GBytes *body;
    const char *type;
    gint64 ttl; /* > 0: a token's lifetime, echoed in a header */
} Answer;

static const char *reason_of(unsigned int status)
{
    switch (status) {
    case MHD_HTTP_BAD_REQUEST:
        return "Bad Request";
    case MHD_HTTP_UNAUTHORIZED:
        return "Unauthorized";
    case MHD_HTTP_FORBIDDEN:
        return "Forbidden";
    case MHD_HTTP_NOT_FOUND:
        return "Not Found";
    case MHD_HTTP_METHOD_NOT_ALLOWED:
        return "Method Not Allowed";
    default:
        return "Internal Server Error";
    }
}

/* The small XHTML page EC2's metadata service sends with an error.
 * Returns STATUS. */
static unsigned int answer_error(Answer *a, unsigned int status)
{
    const char *reason = reason_of(status);
    char *page = g_strdup_printf(
        "<?xml version=\"1.0\" encoding=\"iso-8859-1\"?>\n"
        "<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Transitional//EN\"\n"
        "\t\"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd\">\n"
        "<html xmlns=\"http://www.w3.org/1999/xhtml\" xml:lang=\"en\" lang=\"en\">\n"
        " <head>\n  <title>%u - %s</title>\n </head>\n"
        " <body>\n  <h1>%u - %s</h1>\n </body>\n</html>\n",
        status, reason, status, reason);
    a->status = status;
    a->body = text(page);
    a->type = "text/html";
    return status;
}

/* Forgets expired tokens; if S still holds MAX_TOKENS, the soonest to expire. */
static void tokens_prune(Server *s, gint64 now)
{
    GHashTableIter it;
    gpointer key, value, soonest = NULL;
    gint64 soonest_at = G_MAXINT64;
    g_hash_table_iter_init(&it, s->tokens);
    while (g_hash_table_iter_next(&it, &key, &value)) {
        gint64 at = *(gint64 *) value;
        if (at <= now)
            g_hash_table_iter_remove(&it);
        else if (at < soonest_at) {
            soonest_at = at;
            soonest = key;
        }
    }
    if (g_hash_table_size(s->tokens) >= MAX_TOKENS && soonest != NULL)
        g_hash_table_remove(s->tokens, soonest);
}

/* A new token for S valid TTL seconds (caller frees), NULL if no randomness. */
static char *token_new(Server *s, gint64 ttl)
{
    guint8 raw[TOKEN_BYTES];
    if (nube_random_bytes(raw, sizeof(raw), NULL) < 0)
        return NULL;
    char *tok = g_base64_encode(raw, sizeof(raw));
    g_strdelimit(tok, "+", '-');
    g_strdelimit(tok, "/", '_');
    char *pad = strchr(tok, '=');
    if (pad != NULL)
        *pad = '\0';
    gint64 now = g_get_monotonic_time();
    gint64 expiry = now + ttl * G_USEC_PER_SEC;
    g_mutex_lock(&s->lock);
    tokens_prune(s, now);
    g_hash_table_replace(s->tokens, g_strdup(tok), g_memdup2(&expiry, sizeof(expiry)));
    g_mutex_unlock(&s->lock);
    return tok;
}

/* TRUE if TOKEN was handed out by S and has not expired. */
static gboolean token_valid(Server *s, const char *token)
{
    g_mutex_lock(&s->lock);
    gint64 *expiry = g_hash_table_lookup(s->tokens, token);
    gboolean ok = expiry != NULL && *expiry > g_get_monotonic_time();
    g_mutex_unlock(&s->lock);
    return ok;
}

/* The TTL header's value, 1..TOKEN_TTL_MAX, or -1. */
static gint64 parse_ttl(const char *v)
{
    guint64 n = 0;
    if (v == NULL || !g_ascii_string_to_unsigned(v, 10, 1, TOKEN_TTL_MAX, &n, NULL))
        return -1;
    return (gint64) n;
}

/* PUT /latest/api/token.  Returns the status. */
static unsigned int answer_token(Server *s, struct MHD_Connection *conn, const char *path,
                                 Answer *a)
{
    /* EC2 refuses a PUT that went through a proxy: the token would leak. */
    if (MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Forwarded-For") != NULL)
        return answer_error(a, MHD_HTTP_FORBIDDEN);
    if (!g_str_equal(path, TOKEN_PATH))
        return answer_error(a, MHD_HTTP_METHOD_NOT_ALLOWED);
    gint64 ttl = parse_ttl(MHD_lookup_connection_value(conn, MHD_HEADER_KIND, HDR_TOKEN_TTL));
    if (ttl < 0)
        return answer_error(a, MHD_HTTP_BAD_REQUEST);
    char *tok = token_new(s, ttl);
    if (tok == NULL)
        return answer_error(a, MHD_HTTP_INTERNAL_SERVER_ERROR);
    a->status = MHD_HTTP_OK;
    a->body = text(tok);
    a->type = TEXT_PLAIN;
    a->ttl = ttl;
    return a->status;
}

/* GET or HEAD of PATH by the instance of C.  Returns the status. */
static unsigned int answer_get(Server *s, struct MHD_Connection *conn, const Ctx *c,
                               const char *path, Answer *a)
{
    if (g_str_equal(path, TOKEN_PATH))
        return answer_error(a, MHD_HTTP_METHOD_NOT_ALLOWED);
    const char *token = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, HDR_TOKEN);
    if (token != NULL ? !token_valid(s, token)
                      : g_strcmp0(c->inst->metadata_http_tokens, "required") == 0)
        return answer_error(a, MHD_HTTP_UNAUTHORIZED);
    const Node *node = node_find(c, path);
    GBytes *body = NULL;
    if (node != NULL)
        body = node->content ? node->content(c) : list_children(c, node);
    if (body == NULL)
        return answer_error(a, MHD_HTTP_NOT_FOUND);
    a->status = MHD_HTTP_OK;
    a->body = body;
    a->type = node->type ? node->type : TEXT_PLAIN;
    return a->status;
}

/*
 * PATH with a dated API version ("/2009-04-04/meta-data/…") or "/1.0/" as
 * "/latest/…" (new string), or NULL when it names no version.  nube has one
 * version of the data; EC2 answers the old versions with the same values.
 */
static char *unversioned(const char *path)
{
    const char *rest = NULL;
    if (g_str_has_prefix(path, "/1.0") && (path[4] == '/' || path[4] == '\0'))
        rest = path + 4;
    else if (strlen(path) >= 11 && path[5] == '-' && path[8] == '-' &&
             (path[11] == '/' || path[11] == '\0')) {
        rest = path + 11;
        for (int i = 1; i < 11; i++)
            if (i != 5 && i != 8 && !g_ascii_isdigit(path[i]))
                return NULL;
    }
    return rest != NULL ? g_strconcat("/latest", rest, NULL) : NULL;
}

static gboolean path_acceptable(const char *path)
{
    return path[0] == '/' && strlen(path) <= MAX_PATH && strstr(path, "..") == NULL;
}

/* Whether INST is served at all: its record exists, it is live and its
 * endpoint enabled. */
static gboolean served(const NubeInstance *inst)
{
    return inst != NULL && nube_instance_state_in(inst->state, NUBE_INSTANCE_LIVE) &&
           g_strcmp0(inst->metadata_http_endpoint, "disabled") != 0;
}

/* The answer of S to METHOD on PATH, in A.  Returns the status. */
static unsigned int answer(Server *s, struct MHD_Connection *conn, const char *method,
                           const char *path, Answer *a)
{
    gboolean get =
        g_str_equal(method, MHD_HTTP_METHOD_GET) || g_str_equal(method, MHD_HTTP_METHOD_HEAD);
    if (!get && !g_str_equal(method, MHD_HTTP_METHOD_PUT))
        return answer_error(a, MHD_HTTP_METHOD_NOT_ALLOWED);
    if (!path_acceptable(path))
        return answer_error(a, MHD_HTTP_BAD_REQUEST);

    g_autoptr(NubeError) err = NULL;
    g_autoptr(NubeInstance) inst = nube_instance_get(s->imds->db, s->id, &err);
    if (inst == NULL && err != NULL && err->errnum != ENOENT)
        nube_warn("%s: metadata service: %s", s->id, err->message);
    /*
     * On EC2 a disabled endpoint does not answer at all (the connection
     * fails); here the guest's connection is already accepted by QEMU and
     * socat, so 404 for everything is the closest answer.  Terminated and
     * unknown instances get the same.
     */
    if (!served(inst))
        return answer_error(a, MHD_HTTP_NOT_FOUND);
    if (!get)
        return answer_token(s, conn, path, a);
    Ctx c = { .inst = inst, .region = s->imds->region };
    g_autofree char *latest = unversioned(path);
    return answer_get(s, conn, &c, latest ? latest : path, a);
}

static enum MHD_Result send_answer(struct MHD_Connection *conn, Answer *a)
{
    gsize len = 0;
    const void *data = a->body ? g_bytes_get_data(a->body, &len) : NULL;
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, (void *) data, MHD_RESPMEM_MUST_COPY);
    if (resp == NULL)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, a->type);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_SERVER, "nubed");
    if (a->status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD, PUT");
    if (a->ttl > 0) {
        char ttl[32];
        g_snprintf(ttl, sizeof(ttl), "%" G_GINT64_FORMAT, a->ttl);
        MHD_add_response_header(resp, HDR_TOKEN_TTL, ttl);
    }
    enum MHD_Result r = MHD_queue_response(conn, a->status, resp);
    MHD_destroy_response(resp);
    return r;
}

static void log_request(Server *s, const char *method, const char *path, unsigned int status)
{
    g_autofree char *shown = g_strndup(path, 200);
    g_autofree char *escaped = g_strescape(shown, NULL);
    g_autofree char *m = g_strndup(method, 16);
    g_autofree char *em = g_strescape(m, NULL);
    nube_debug("%s: metadata %s '%s' -> %u", s->id, em, escaped, status);
}

/* Marks a connection whose headers were seen: the body (if any) follows. */
static int seen_marker;

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    Server *s = cls;
    if (*con_cls == NULL) {
        *con_cls = &seen_marker;
        return MHD_YES;
    }
    if (*upload_data_size != 0) {
        *upload_data_size = 0; /* bodies mean nothing here: dropped */
        return MHD_YES;
    }
    Answer a = { 0 };
    log_request(s, method, url, answer(s, conn, method, url, &a));
    enum MHD_Result r = send_answer(conn, &a);
    g_clear_pointer(&a.body, g_bytes_unref);
    return r;
}

/* Paths are matched as sent: no percent-decoding, so no NUL can hide in
 * one and nothing decodes into "..". */
static size_t no_unescape(void *cls, struct MHD_Connection *conn, char *uri)
{
    return strlen(uri);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    g_strchomp(msg);
    nube_debug("%s: metadata server: %s", ((Server *) cls)->id, msg);
}

/* ---- servers ----------------------------------------------------------- */

/* A listening socket at PATH with mode 0600: bound under a temporary name,
 * restricted, then renamed over whatever stale socket PATH was.  The fd,
 * or -errno with ERR. */
static int socket_listen(const char *path, NubeError **err)
{
    g_autofree char *tmp = g_strconcat(path, ".new", NULL);
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    if (strlen(tmp) >= sizeof(sa.sun_path))
        return nube_error_set(err, ENAMETOOLONG, "socket path '%s' is too long", path);
    memcpy(sa.sun_path, tmp, strlen(tmp) + 1);
    _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return nube_error_set(err, errno, "socket");
    if (unlink(tmp) < 0 && errno != ENOENT)
        return nube_error_set(err, errno, "unlink '%s'", tmp);
    if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
        return nube_error_set(err, errno, "bind '%s'", tmp);
    int r = 0;
    if (chmod(tmp, 0600) < 0)
        r = nube_error_set(err, errno, "chmod '%s'", tmp);
    else if (listen(fd, 16) < 0)
        r = nube_error_set(err, errno, "listen '%s'", tmp);
    else if (rename(tmp, path) < 0)
        r = nube_error_set(err, errno, "rename '%s'", tmp);
    if (r < 0) {
        unlink(tmp);
        return r;
    }
    return g_steal_fd(&fd);
}

static void server_free(gpointer p)
{
    Server *s = p;
    if (s->mhd != NULL)
        MHD_stop_daemon(s->mhd); /* closes the listening socket */
    struct stat st;
    /* Only our own socket: a new one may have taken the name. */
    if (s->path != NULL && stat(s->path, &st) == 0 && st.st_dev == s->dev && st.st_ino == s->ino)
        unlink(s->path);
    g_hash_table_destroy(s->tokens);
    g_mutex_clear(&s->lock);
    g_free(s->path);
    g_free(s->id);
    g_free(s);
}

/* TRUE if the socket file of S is still the one S listens on. */
static gboolean server_intact(const Server *s)
{
    struct stat st;
    return stat(s->path, &st) == 0 && st.st_dev == s->dev && st.st_ino == s->ino;
}

/* Serves ID on STATE/instances/ID/imds.sock.  NULL with ERR. */
static Server *server_start(NubeImds *imds, const char *id, NubeError **err)
{
    g_autofree char *dir = nube_instdir_path(imds->instances_dir, id, NULL);
    if (!g_file_test(dir, G_FILE_TEST_IS_DIR)) {
        nube_error_set(err, ENOENT, "no directory '%s' yet", dir);
        return NULL;
    }
    Server *s = g_new0(Server, 1);
    s->imds = imds;
    s->id = g_strdup(id);
    g_mutex_init(&s->lock);
    s->tokens = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    g_autofree char *path = g_build_filename(dir, NUBE_INSTDIR_IMDS_SOCKET, NULL);
    int fd = socket_listen(path, err);
    struct stat st;
    if (fd < 0 || stat(path, &st) < 0) {
        if (fd >= 0)
            close(fd);
        server_free(s);
        return NULL;
    }
    s->path = g_steal_pointer(&path);
    s->dev = st.st_dev;
    s->ino = st.st_ino;
    s->mhd =
        MHD_start_daemon(MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
                         on_request, s, MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_CONNECTION_LIMIT,
                         (unsigned int) MAX_CONNECTIONS, MHD_OPTION_CONNECTION_TIMEOUT,
                         (unsigned int) CONNECTION_TIMEOUT, MHD_OPTION_UNESCAPE_CALLBACK,
                         no_unescape, NULL, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s, MHD_OPTION_END);
    if (s->mhd == NULL) {
        /* MHD closes the socket it was given only when it stops. */
        close(fd);
        server_free(s);
        nube_error_set(err, EIO, "cannot start the HTTP server on '%s'", path);
        return NULL;
    }
    return s;
}

/* ---- the scan thread --------------------------------------------------- */

/* Ids of the instances whose guest may run, NULL if the database fails. */
static GPtrArray *live_ids(NubeDb *db)
{
    g_autoptr(NubeError) err = NULL;
    GPtrArray *ids = nube_instance_live_ids(db, &err);
    if (ids == NULL)
        nube_warn("metadata service: cannot list instances: %s", err->message);
    return ids;
}

/* Stops the servers of instances no longer live, and those whose socket
 * file vanished (the instance directory was remade): they start again. */
static void drop_servers(NubeImds *imds, GPtrArray *ids)
{
    GHashTableIter it;
    gpointer key, value;
    g_hash_table_iter_init(&it, imds->servers);
    while (g_hash_table_iter_next(&it, &key, &value)) {
        if (!g_ptr_array_find_with_equal_func(ids, key, g_str_equal, NULL)) {
            nube_debug("%s: metadata service stopped (instance not live)", (char *) key);
            g_hash_table_iter_remove(&it);
        } else if (!server_intact(value)) {
            nube_debug("%s: metadata socket gone, serving anew", (char *) key);
            g_hash_table_iter_remove(&it);
        }
    }
}

static void scan(NubeImds *imds)
{
    g_autoptr(GPtrArray) ids = live_ids(imds->db);
    if (ids == NULL)
        return;
    drop_servers(imds, ids);
    for (guint i = 0; i < ids->len; i++) {
        const char *id = ids->pdata[i];
        if (g_hash_table_contains(imds->servers, id))
            continue;
        g_autoptr(NubeError) err = NULL;
        Server *s = server_start(imds, id, &err);
        if (s == NULL) {
            nube_debug("%s: metadata service: %s", id, err->message);
            continue;
        }
        nube_debug("%s: metadata service on '%s'", id, s->path);
        g_hash_table_replace(imds->servers, s->id, s);
    }
}

static gpointer scan_thread(gpointer data)
{
    NubeImds *imds = data;
    g_mutex_lock(&imds->lock);
    while (!imds->closing) {
        imds->kicked = FALSE;
        g_mutex_unlock(&imds->lock);
        scan(imds);
        g_mutex_lock(&imds->lock);
        gint64 until = g_get_monotonic_time() + SCAN_INTERVAL_MS * G_TIME_SPAN_MILLISECOND;
        while (!imds->closing && !imds->kicked)
            if (!g_cond_wait_until(&imds->cond, &imds->lock, until))
                break;
    }
    g_mutex_unlock(&imds->lock);
    return NULL;
}

/* ---- public ------------------------------------------------------------ */

NubeImds *nube_imds_start(NubeDb *db, const char *instances_dir, const char *region)
{
    NubeImds *imds = g_new0(NubeImds, 1);
    imds->db = db;
    imds->instances_dir = g_strdup(instances_dir);
    imds->region = g_strdup(region);
    g_mutex_init(&imds->lock);
    g_cond_init(&imds->cond);
    imds->servers = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, server_free);
    imds->thread = g_thread_new("imds", scan_thread, imds);
    return imds;
}

void nube_imds_stop(NubeImds *imds)
{
    if (imds == NULL)
        return;
    g_mutex_lock(&imds->lock);
    imds->closing = TRUE;
    g_cond_signal(&imds->cond);
    g_mutex_unlock(&imds->lock);
    g_thread_join(imds->thread);
    g_hash_table_destroy(imds->servers);
    g_cond_clear(&imds->cond);
    g_mutex_clear(&imds->lock);
    g_free(imds->instances_dir);
    g_free(imds->region);
    g_free(imds);
}

void nube_imds_kick(NubeImds *imds)
{
    if (imds == NULL)
        return;
    g_mutex_lock(&imds->lock);
    imds->kicked = TRUE;
    g_cond_signal(&imds->cond);
    g_mutex_unlock(&imds->lock);
}
