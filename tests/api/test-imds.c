/*
 * test-imds.c: the instance metadata service over its unix sockets, as a
 * guest reaches it through socat: each instance sees its own metadata and
 * user data only, the listings, EC2's IMDSv2 token flow and its errors,
 * the instance's options applied at once, the identity document, garbage
 * survived, and the socket gone once the instance is terminated.
 */
#include "fixture.h"

#include "fsutil.h"
#include "imds.h"
#include "instdir.h"
#include "secgroup.h"

#include <curl/curl.h>
#include <json-glib/json-glib.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define ID_A      "i-0aaaaaaaaaaaaaaa1"
#define ID_B      "i-0bbbbbbbbbbbbbbb2"
#define SG_ID     "sg-0123456789abcdef0"
#define KEY_LINE  "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeFakeFakeFakeFakeFakeFakeFakeFake mykey"
#define USER_DATA "#!/bin/sh\necho hello from A\n"

#define HDR_TTL   "X-aws-ec2-metadata-token-ttl-seconds"
#define HDR_TOKEN "X-aws-ec2-metadata-token"

typedef struct {
    Fixture fx;
    char *sock_a;
    char *sock_b;
    NubeImds *imds;
} ImdsFixture;

/* A: user data, a key and a group.  B: none of these. */
static void insert_records(Fixture *f)
{
    g_autoptr(NubeError) err = NULL;
    g_autoptr(NubeImage) img = fixture_image_new(NULL);
    fixture_set_str(&img->state, "available");
    g_assert_cmpint(nube_image_insert(f->cloud.db, img, &err), ==, 0);
    NubeSecGroup sg = {
        .id = SG_ID, .owner_id = FIXTURE_OWNER, .name = "web", .description = "web servers"
    };
    g_assert_cmpint(nube_secgroup_insert(f->cloud.db, &sg, NULL, &err), ==, 0);

    g_autoptr(NubeInstance) a = fixture_instance_new(ID_A, NUBE_INSTANCE_RUNNING, "t3.micro", "a");
    a->user_data = g_bytes_new_static(USER_DATA, strlen(USER_DATA));
    a->key_name = g_strdup("mykey");
    a->public_key = g_strdup(KEY_LINE);
    a->groups = g_ptr_array_new_with_free_func((GDestroyNotify) nube_secgroup_free);
    NubeSecGroup *ref = g_new0(NubeSecGroup, 1);
    ref->id = g_strdup(SG_ID);
    g_ptr_array_add(a->groups, ref);
    fixture_insert_instance(f, a);

    g_autoptr(NubeInstance) b = fixture_instance_new(ID_B, NUBE_INSTANCE_RUNNING, "t3.nano", "b");
    fixture_set_str(&b->mac, "52:54:00:12:34:57");
    fixture_set_str(&b->private_ip, "10.0.2.16");
    b->launch_index = 1;
    fixture_insert_instance(f, b);
}

static const FixtureSpec spec = { "imds", insert_records };

static char *socket_of(Fixture *f, const char *id)
{
    g_autofree char *dir = nube_cloud_instance_dir(&f->cloud, id);
    g_assert_cmpint(nube_mkdir_p(dir, 0700, NULL), ==, 0);
    return g_build_filename(dir, NUBE_INSTDIR_IMDS_SOCKET, NULL);
}

/* Waits up to 5 s until PATH exists (or, if not EXISTS, is gone). */
static gboolean socket_eventually(const char *path, gboolean exists)
{
    for (int i = 0; i < 100; i++) {
        if (g_file_test(path, G_FILE_TEST_EXISTS) == exists)
            return TRUE;
        g_usleep(50 * 1000);
    }
    return FALSE;
}

static void imds_setup(ImdsFixture *t, gconstpointer data)
{
    Fixture *f = &t->fx;
    fixture_setup(f, &spec);
    t->sock_a = socket_of(f, ID_A);
    t->sock_b = socket_of(f, ID_B);
    /* A stale socket file from an earlier nubed is replaced. */
    g_assert_true(g_file_set_contents(t->sock_a, "stale", -1, NULL));
    t->imds = nube_imds_start(f->cloud.db, f->instances_dir, f->cfg.region);
    nube_imds_kick(t->imds);
    g_assert_true(socket_eventually(t->sock_b, TRUE));
    struct stat st;
    for (int i = 0; i < 100 && (stat(t->sock_a, &st) < 0 || !S_ISSOCK(st.st_mode)); i++)
        g_usleep(50 * 1000);
    g_assert_cmpint(stat(t->sock_a, &st), ==, 0);
    g_assert_true(S_ISSOCK(st.st_mode));
    g_assert_cmpint(st.st_mode & 0777, ==, 0600);
}

static void imds_teardown(ImdsFixture *t, gconstpointer data)
{
    nube_imds_stop(t->imds);
    /* Stopping removes the sockets. */
    g_assert_false(g_file_test(t->sock_a, G_FILE_TEST_EXISTS));
    g_free(t->sock_a);
    g_free(t->sock_b);
    fixture_teardown(&t->fx, &spec);
}

/* ---- HTTP over the sockets --------------------------------------------- */

typedef struct {
    long status;
    GString *body;
    char *type;
} Reply;

static void reply_clear(Reply *r)
{
    if (r->body != NULL)
        g_string_free(r->body, TRUE);
    g_free(r->type);
    memset(r, 0, sizeof(*r));
}

static size_t on_body(char *data, size_t size, size_t n, void *userdata)
{
    g_string_append_len(userdata, data, (gssize) (size * n));
    return size * n;
}

/* METHOD PATH on SOCK with the header lines HEADERS (NULL-terminated, may
 * be NULL), the way curl in a guest sends it.  Fills R (clear it). */
static void http(const char *sock, const char *method, const char *path, const char *const *headers,
                 Reply *r)
{
    CURL *c = curl_easy_init();
    struct curl_slist *hl = NULL;
    g_autofree char *url = g_strconcat("http://169.254.169.254", path, NULL);
    memset(r, 0, sizeof(*r));
    r->body = g_string_new(NULL);
    for (size_t i = 0; headers != NULL && headers[i] != NULL; i++)
        hl = curl_slist_append(hl, headers[i]);
    curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, sock);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r->body);
    if (g_str_equal(method, "HEAD"))
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    else if (!g_str_equal(method, "GET"))
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK)
        g_error("%s %s on '%s': %s", method, path, sock, curl_easy_strerror(rc));
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    char *type = NULL;
    curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &type);
    r->type = g_strdup(type);
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);
}

/* Asserts that GET PATH on SOCK (with HEADERS) answers STATUS and, unless
 * BODY is NULL, exactly BODY. */
static void expect(const char *sock, const char *path, const char *const *headers, long status,
                   const char *body)
{
    Reply r;
    http(sock, "GET", path, headers, &r);
    g_test_message("GET %s -> %ld", path, r.status);
    g_assert_cmpint(r.status, ==, status);
    if (body != NULL)
        g_assert_cmpstr(r.body->str, ==, body);
    reply_clear(&r);
}

/* A token for SOCK's instance valid TTL seconds (caller frees). */
static char *token_for(const char *sock, const char *ttl)
{
    g_autofree char *h = g_strdup_printf(HDR_TTL ": %s", ttl);
    const char *headers[] = { h, NULL };
    Reply r;
    http(sock, "PUT", "/latest/api/token", headers, &r);
    g_assert_cmpint(r.status, ==, 200);
    g_assert_cmpuint(r.body->len, >=, 32);
    g_assert_true(g_str_has_prefix(r.type, "text/plain"));
    char *tok = g_strdup(r.body->str);
    reply_clear(&r);
    return tok;
}

static void set_option(Fixture *f, const char *id, const char *column, const char *value)
{
    g_autoptr(NubeError) err = NULL;
    g_autofree char *sql = g_strdup_printf("UPDATE instances SET %s = ?2 WHERE id = ?1", column);
    g_assert_cmpint(nube_db_exec(f->cloud.db, &err, sql, "ss", id, value), ==, 1);
}

/* ---- tests ------------------------------------------------------------- */

static void test_own_data(ImdsFixture *t, gconstpointer data)
{
    const char *a = t->sock_a, *b = t->sock_b;
    expect(a, "/latest/meta-data/instance-id", NULL, 200, ID_A);
    expect(b, "/latest/meta-data/instance-id", NULL, 200, ID_B);
    expect(a, "/latest/user-data", NULL, 200, USER_DATA);
    expect(b, "/latest/user-data", NULL, 404, NULL);
    expect(a, "/latest/meta-data/local-ipv4", NULL, 200, "10.0.2.15");
    expect(b, "/latest/meta-data/local-ipv4", NULL, 200, "10.0.2.16");
    expect(b, "/latest/meta-data/mac", NULL, 200, "52:54:00:12:34:57");
    expect(a, "/latest/meta-data/instance-type", NULL, 200, "t3.micro");
    expect(b, "/latest/meta-data/instance-type", NULL, 200, "t3.nano");
    expect(b, "/latest/meta-data/ami-launch-index", NULL, 200, "1");
    expect(a, "/latest/meta-data/ami-id", NULL, 200, FIXTURE_AMI);
    expect(a, "/latest/meta-data/reservation-id", NULL, 200, "r-0abcdef0123456789");
    expect(a, "/latest/meta-data/local-hostname", NULL, 200, ID_A ".nube-local-1.compute.internal");
    expect(a, "/latest/meta-data/hostname", NULL, 200, ID_A ".nube-local-1.compute.internal");
    expect(a, "/latest/meta-data/placement/availability-zone", NULL, 200, "nube-local-1a");
    expect(a, "/latest/meta-data/placement/region", NULL, 200, "nube-local-1");
    expect(a, "/latest/meta-data/public-keys/0/openssh-key", NULL, 200, KEY_LINE "\n");
    expect(b, "/latest/meta-data/public-keys/0/openssh-key", NULL, 404, NULL);
    expect(a, "/latest/meta-data/security-groups", NULL, 200, "web");
    expect(b, "/latest/meta-data/security-groups", NULL, 404, NULL);
    expect(a, "/latest/meta-data/block-device-mapping/root", NULL, 200, "/dev/vda");

    Reply r;
    http(a, "GET", "/latest/user-data", NULL, &r);
    g_assert_cmpstr(r.type, ==, "application/octet-stream");
    reply_clear(&r);
    /* HEAD: the status without a body. */
    http(a, "HEAD", "/latest/meta-data/instance-id", NULL, &r);
    g_assert_cmpint(r.status, ==, 200);
    g_assert_cmpuint(r.body->len, ==, 0);
    reply_clear(&r);
}

static void test_listings(ImdsFixture *t, gconstpointer data)
{
    const char *a = t->sock_a, *b = t->sock_b;
    expect(a, "/", NULL, 200, "1.0\n2009-04-04\n2016-09-02\n2018-09-24\n2021-03-23\nlatest");
    /* Dated versions (cloud-init asks for them) answer as latest. */
    expect(a, "/2009-04-04/meta-data/instance-id", NULL, 200, "i-0aaaaaaaaaaaaaaa1");
    expect(a, "/2021-03-23/", NULL, 200, "dynamic\nmeta-data\nuser-data");
    expect(a, "/1.0/meta-data/instance-id", NULL, 200, "i-0aaaaaaaaaaaaaaa1");
    expect(a, "/2009-0x-04/meta-data/instance-id", NULL, 404, NULL);
    expect(a, "/latest", NULL, 200, "dynamic\nmeta-data\nuser-data");
    expect(a, "/latest/", NULL, 200, "dynamic\nmeta-data\nuser-data");
    expect(b, "/latest/", NULL, 200, "dynamic\nmeta-data");
    expect(a, "/latest/meta-data/", NULL, 200,
           "ami-id\nami-launch-index\nblock-device-mapping/\nhostname\ninstance-id\n"
           "instance-type\nlocal-hostname\nlocal-ipv4\nmac\nplacement/\npublic-keys/\n"
           "reservation-id\nsecurity-groups");
    expect(b, "/latest/meta-data", NULL, 200,
           "ami-id\nami-launch-index\nblock-device-mapping/\nhostname\ninstance-id\n"
           "instance-type\nlocal-hostname\nlocal-ipv4\nmac\nplacement/\nreservation-id");
    expect(a, "/latest/meta-data/placement/", NULL, 200, "availability-zone\nregion");
    expect(a, "/latest/meta-data/block-device-mapping/", NULL, 200, "ami\nroot");
    expect(a, "/latest/meta-data/public-keys/", NULL, 200, "0=mykey");
    expect(a, "/latest/meta-data/public-keys/0/", NULL, 200, "openssh-key");
    expect(b, "/latest/meta-data/public-keys/", NULL, 404, NULL);
    expect(a, "/latest/dynamic/", NULL, 200, "instance-identity/");
    expect(a, "/latest/dynamic/instance-identity/", NULL, 200, "document");
}

static void test_not_found(ImdsFixture *t, gconstpointer data)
{
    const char *a = t->sock_a;
    const char *paths[] = {
        "/nothing",
        "/latest/meta-data/nothing",
        "/latest/meta-data/instance-id/", /* a file, not a directory */
        "/latest/meta-data//",
        "/latest//meta-data",
        "/latest/meta-data/instance-id%00",
        "/2009-04-40x/meta-data/instance-id",
        "/latest/meta-data/public-keys/1/openssh-key",
    };
    for (size_t i = 0; i < G_N_ELEMENTS(paths); i++)
        expect(a, paths[i], NULL, 404, NULL);
    /* Refused outright: dot segments and very long paths. */
    expect(a, "/latest/meta-data/../user-data", NULL, 400, NULL);
    g_autofree char *longer = g_strnfill(2000, 'x');
    g_autofree char *path = g_strconcat("/latest/", longer, NULL);
    expect(a, path, NULL, 400, NULL);

    Reply r;
    http(a, "GET", "/nothing", NULL, &r);
    g_assert_nonnull(strstr(r.body->str, "404 - Not Found"));
    reply_clear(&r);
    /* Only GET, HEAD and PUT (of a token). */
    const char *methods[] = { "POST", "DELETE", "PATCH", "OPTIONS" };
    for (size_t i = 0; i < G_N_ELEMENTS(methods); i++) {
        http(a, methods[i], "/latest/meta-data/instance-id", NULL, &r);
        g_assert_cmpint(r.status, ==, 405);
        reply_clear(&r);
    }
    http(a, "PUT", "/latest/meta-data/instance-id", NULL, &r);
    g_assert_cmpint(r.status, ==, 405);
    reply_clear(&r);
    expect(a, "/latest/api/token", NULL, 405, NULL);
}

static void test_tokens(ImdsFixture *t, gconstpointer data)
{
    Fixture *f = &t->fx;
    const char *a = t->sock_a, *b = t->sock_b;
    Reply r;
    /* PUT without a TTL, or with an invalid one: 400. */
    const char *bad_ttls[] = { NULL, "0", "21601", "-5", "abc", "", "60x", "99999999999999999999" };
    for (size_t i = 0; i < G_N_ELEMENTS(bad_ttls); i++) {
        g_autofree char *h = bad_ttls[i] ? g_strdup_printf(HDR_TTL ": %s", bad_ttls[i]) : NULL;
        const char *headers[] = { h, NULL };
        http(a, "PUT", "/latest/api/token", headers, &r);
        g_test_message("TTL '%s' -> %ld", bad_ttls[i] ? bad_ttls[i] : "(none)", r.status);
        g_assert_cmpint(r.status, ==, 400);
        reply_clear(&r);
    }
    /* Through a proxy: 403. */
    const char *proxied[] = { HDR_TTL ": 60", "X-Forwarded-For: 10.0.0.1", NULL };
    http(a, "PUT", "/latest/api/token", proxied, &r);
    g_assert_cmpint(r.status, ==, 403);
    reply_clear(&r);

    g_autofree char *tok_a = token_for(a, "21600");
    g_autofree char *tok_b = token_for(b, "60");
    g_assert_cmpstr(tok_a, !=, tok_b);
    g_autofree char *with_a = g_strdup_printf(HDR_TOKEN ": %s", tok_a);
    g_autofree char *with_b = g_strdup_printf(HDR_TOKEN ": %s", tok_b);
    const char *ha[] = { with_a, NULL }, *hb[] = { with_b, NULL };
    const char *bogus[] = { HDR_TOKEN ": AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", NULL };
    expect(a, "/latest/meta-data/instance-id", ha, 200, ID_A);
    expect(b, "/latest/meta-data/instance-id", hb, 200, ID_B);
    expect(a, "/latest/meta-data/instance-id", bogus, 401, NULL);
    /* A's token is A's alone. */
    expect(b, "/latest/meta-data/instance-id", ha, 401, NULL);
    expect(a, "/latest/meta-data/instance-id", hb, 401, NULL);

    /* Tokens required: IMDSv1 refused, v2 served, at once. */
    set_option(f, ID_A, "metadata_http_tokens", "required");
    expect(a, "/latest/meta-data/instance-id", NULL, 401, NULL);
    expect(a, "/latest/user-data", NULL, 401, NULL);
    expect(a, "/latest/meta-data/instance-id", ha, 200, ID_A);
    expect(a, "/latest/user-data", ha, 200, USER_DATA);
    expect(b, "/latest/meta-data/instance-id", NULL, 200, ID_B); /* B still optional */
    set_option(f, ID_A, "metadata_http_tokens", "optional");
    expect(a, "/latest/meta-data/instance-id", NULL, 200, ID_A);

    /* An expired token: 401. */
    g_autofree char *short_lived = token_for(a, "1");
    g_autofree char *with_short = g_strdup_printf(HDR_TOKEN ": %s", short_lived);
    const char *hs[] = { with_short, NULL };
    expect(a, "/latest/meta-data/instance-id", hs, 200, ID_A);
    g_usleep(1100 * 1000);
    expect(a, "/latest/meta-data/instance-id", hs, 401, NULL);

    /* Endpoint disabled: nothing is served, tokens neither. */
    set_option(f, ID_B, "metadata_http_endpoint", "disabled");
    expect(b, "/latest/meta-data/instance-id", NULL, 404, NULL);
    expect(b, "/latest/meta-data/instance-id", hb, 404, NULL);
    const char *ttl[] = { HDR_TTL ": 60", NULL };
    http(b, "PUT", "/latest/api/token", ttl, &r);
    g_assert_cmpint(r.status, ==, 404);
    reply_clear(&r);
    set_option(f, ID_B, "metadata_http_endpoint", "enabled");
    expect(b, "/latest/meta-data/instance-id", hb, 200, ID_B);
}

static void test_identity(ImdsFixture *t, gconstpointer data)
{
    Reply r;
    http(t->sock_a, "GET", "/latest/dynamic/instance-identity/document", NULL, &r);
    g_assert_cmpint(r.status, ==, 200);
    g_autoptr(JsonParser) p = json_parser_new();
    g_autoptr(GError) error = NULL;
    g_assert_true(json_parser_load_from_data(p, r.body->str, (gssize) r.body->len, &error));
    JsonObject *o = json_node_get_object(json_parser_get_root(p));
    g_assert_nonnull(o);
    g_assert_cmpstr(json_object_get_string_member(o, "instanceId"), ==, ID_A);
    g_assert_cmpstr(json_object_get_string_member(o, "accountId"), ==, FIXTURE_OWNER);
    g_assert_cmpstr(json_object_get_string_member(o, "imageId"), ==, FIXTURE_AMI);
    g_assert_cmpstr(json_object_get_string_member(o, "instanceType"), ==, "t3.micro");
    g_assert_cmpstr(json_object_get_string_member(o, "privateIp"), ==, "10.0.2.15");
    g_assert_cmpstr(json_object_get_string_member(o, "region"), ==, "nube-local-1");
    g_assert_cmpstr(json_object_get_string_member(o, "availabilityZone"), ==, "nube-local-1a");
    g_assert_cmpstr(json_object_get_string_member(o, "architecture"), ==, "x86_64");
    g_assert_cmpstr(json_object_get_string_member(o, "version"), ==, "2017-09-30");
    /* 1795000100 */
    g_assert_cmpstr(json_object_get_string_member(o, "pendingTime"), ==, "2026-11-18T11:08:20Z");
    g_assert_true(json_object_get_null_member(o, "kernelId"));
    g_assert_true(json_object_get_null_member(o, "billingProducts"));
    reply_clear(&r);
}

/* Raw bytes no HTTP client would send: the server answers or closes, and
 * keeps serving. */
static void test_garbage(ImdsFixture *t, gconstpointer data)
{
    static const char *const inputs[] = {
        "GET /latest/meta-data/instance-id\0/x HTTP/1.1\r\nHost: a\r\n\r\n",
        "\x01\x02\x03\xff\xfe garbage\r\n\r\n",
        "GET  HTTP/1.1\r\n\r\n",
        "GET latest HTTP/1.1\r\nHost: a\r\n\r\n",
        "PUT /latest/api/token HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
        "X-aws-ec2-metadata-token-ttl-seconds: 60\r\n\r\nhello",
        "GET /latest/meta-data/ HTTP/1.1\r\nHost: a\r\nX-aws-ec2-metadata-token: \r\n\r\n",
        "BREW /coffee HTCPCP/1.0\r\n\r\n",
    };
    static const size_t lens[] = { 59, 0, 0, 0, 0, 0, 0 };
    for (size_t i = 0; i < G_N_ELEMENTS(inputs); i++) {
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        strcpy(sa.sun_path, t->sock_a);
        g_assert_cmpint(connect(fd, (struct sockaddr *) &sa, sizeof(sa)), ==, 0);
        size_t len = lens[i] ? lens[i] : strlen(inputs[i]);
        g_assert_cmpint(write(fd, inputs[i], len), ==, (ssize_t) len);
        shutdown(fd, SHUT_WR);
        char buf[4096];
        ssize_t n = read(fd, buf, sizeof(buf) - 1);
        g_assert_cmpint(n, >=, 0);
        buf[n] = '\0';
        g_test_message("input %zu -> %.40s", i, buf);
        /* An empty token is no token of this instance. */
        if (i == 5)
            g_assert_true(g_str_has_prefix(buf, "HTTP/1.1 401"));
        close(fd);
    }
    /* Random bytes. */
    GRand *rng = g_rand_new_with_seed(5);
    for (int i = 0; i < 50; i++) {
        guint8 junk[512];
        for (size_t k = 0; k < sizeof(junk); k++)
            junk[k] = (guint8) g_rand_int(rng);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        strcpy(sa.sun_path, t->sock_a);
        g_assert_cmpint(connect(fd, (struct sockaddr *) &sa, sizeof(sa)), ==, 0);
        g_assert_cmpint(write(fd, junk, sizeof(junk)), ==, (ssize_t) sizeof(junk));
        shutdown(fd, SHUT_WR);
        /* Most are refused at once; one cut mid-request may wait for the
         * server's idle timeout, holding one of this instance's slots. */
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        g_assert_cmpint(poll(&pfd, 1, 200), >=, 0);
        close(fd);
    }
    g_rand_free(rng);
    expect(t->sock_a, "/latest/meta-data/instance-id", NULL, 200, ID_A);
}

static void test_terminated(ImdsFixture *t, gconstpointer data)
{
    Fixture *f = &t->fx;
    g_autofree char *tok = token_for(t->sock_b, "60");
    set_option(f, ID_B, "state", "terminated");
    /* At once: the record says terminated. */
    expect(t->sock_b, "/latest/meta-data/instance-id", NULL, 404, NULL);
    /* Within one scan: the socket is gone; A is still served. */
    g_assert_true(socket_eventually(t->sock_b, FALSE));
    expect(t->sock_a, "/latest/meta-data/instance-id", NULL, 200, ID_A);
    /* A started instance gets a server at once when kicked, with fresh tokens. */
    set_option(f, ID_B, "state", "pending");
    nube_imds_kick(t->imds);
    g_assert_true(socket_eventually(t->sock_b, TRUE));
    g_autofree char *with = g_strdup_printf(HDR_TOKEN ": %s", tok);
    const char *h[] = { with, NULL };
    expect(t->sock_b, "/latest/meta-data/instance-id", h, 401, NULL);
    expect(t->sock_b, "/latest/meta-data/instance-id", NULL, 200, ID_B);
    /* The record gone altogether: 404. */
    g_autoptr(NubeError) err = NULL;
    g_assert_cmpint(
        nube_db_exec(f->cloud.db, &err, "DELETE FROM tags WHERE resource_id = ?1", "s", ID_B), >=,
        0);
    g_assert_cmpint(
        nube_db_exec(f->cloud.db, &err, "DELETE FROM instances WHERE id = ?1", "s", ID_B), ==, 1);
    expect(t->sock_b, "/latest/meta-data/instance-id", NULL, 404, NULL);
    g_assert_true(socket_eventually(t->sock_b, FALSE));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    g_test_add("/imds/own-data", ImdsFixture, NULL, imds_setup, test_own_data, imds_teardown);
    g_test_add("/imds/listings", ImdsFixture, NULL, imds_setup, test_listings, imds_teardown);
    g_test_add("/imds/not-found", ImdsFixture, NULL, imds_setup, test_not_found, imds_teardown);
    g_test_add("/imds/tokens", ImdsFixture, NULL, imds_setup, test_tokens, imds_teardown);
    g_test_add("/imds/identity", ImdsFixture, NULL, imds_setup, test_identity, imds_teardown);
    g_test_add("/imds/garbage", ImdsFixture, NULL, imds_setup, test_garbage, imds_teardown);
    g_test_add("/imds/terminated", ImdsFixture, NULL, imds_setup, test_terminated, imds_teardown);
    int r = g_test_run();
    curl_global_cleanup();
    return r;
}
