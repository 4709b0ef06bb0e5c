/*
 * test-sigv4.c: AWS Signature Version 4 (common/sigv4.c).
 *
 * Two sets of fixtures under tests/common/sigv4/:
 *   aws/       cases of AWS's published SigV4 test suite (canonical request,
 *              string to sign, Authorization header for each request);
 *   botocore/  EC2 Query requests signed by botocore, the AWS CLI's signer
 *              (make-botocore-fixtures.py regenerates them).
 * The rest checks what nubed relies on: every tampering is refused with
 * the EC2 error code a client would see, and no input crashes.
 */
#include "sigv4.h"

#include "fsutil.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define AWS_SECRET   "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define AWS_AMZ_DATE "20150830T123600Z"
#define MAX_SKEW     300

/* ---- fixture requests ---- */

/* A request read from a file in the layout of AWS's test suite:
 * "METHOD TARGET HTTP/1.1", "Name:value" lines, a blank line, the body. */
typedef struct {
    GPtrArray *strings; /* owns every string the request points to */
    GArray *headers;    /* NubeHttpHeader */
    NubeHttpRequest req;
} TestRequest;

static void test_request_free(TestRequest *t)
{
    if (t == NULL)
        return;
    g_array_unref(t->headers);
    g_ptr_array_unref(t->strings);
    g_free(t);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TestRequest, test_request_free)

static const char *keep(TestRequest *t, char *s)
{
    g_ptr_array_add(t->strings, s);
    return s;
}

static void test_request_sync(TestRequest *t)
{
    t->req.headers = (const NubeHttpHeader *) (void *) t->headers->data;
    t->req.n_headers = t->headers->len;
}

static TestRequest *test_request_new(void)
{
    TestRequest *t = g_new0(TestRequest, 1);
    t->strings = g_ptr_array_new_with_free_func(g_free);
    t->headers = g_array_new(FALSE, TRUE, sizeof(NubeHttpHeader));
    test_request_sync(t);
    return t;
}

static void test_request_add_header(TestRequest *t, const char *name, const char *value)
{
    NubeHttpHeader h = { keep(t, g_strdup(name)), keep(t, g_strdup(value)) };
    g_array_append_val(t->headers, h);
    test_request_sync(t);
}

/* Replaces the value of the first header NAME, or adds it. */
static void test_request_set_header(TestRequest *t, const char *name, const char *value)
{
    for (guint i = 0; i < t->headers->len; i++) {
        NubeHttpHeader *h = &g_array_index(t->headers, NubeHttpHeader, i);
        if (g_ascii_strcasecmp(h->name, name) == 0) {
            h->value = keep(t, g_strdup(value));
            return;
        }
    }
    test_request_add_header(t, name, value);
}

static void test_request_remove_header(TestRequest *t, const char *name)
{
    for (guint i = t->headers->len; i > 0; i--) {
        if (g_ascii_strcasecmp(g_array_index(t->headers, NubeHttpHeader, i - 1).name, name) == 0)
            g_array_remove_index(t->headers, i - 1);
    }
    test_request_sync(t);
}

static void test_request_set_body(TestRequest *t, const char *body)
{
    t->req.body = keep(t, g_strdup(body));
    t->req.body_len = strlen(body);
}

/* Parses "METHOD TARGET HTTP/1.1" into T. */
static void test_request_parse_line(TestRequest *t, const char *line)
{
    const char *sp = strchr(line, ' ');
    const char *proto = g_strrstr(line, " HTTP/");
    g_assert_nonnull(sp);
    g_assert_true(proto != NULL && proto > sp);

    t->req.method = keep(t, g_strndup(line, sp - line));
    g_autofree char *target = g_strndup(sp + 1, proto - sp - 1);
    char *q = strchr(target, '?');
    if (q != NULL) {
        t->req.query = keep(t, g_strdup(q + 1));
        *q = '\0';
    }
    t->req.path = keep(t, g_strdup(target));
}

static TestRequest *test_request_load(const char *path)
{
    g_autofree char *text = NULL;
    gsize len = 0;
    g_autoptr(GError) gerr = NULL;
    g_assert_true(g_file_get_contents(path, &text, &len, &gerr));

    TestRequest *t = test_request_new();
    char *blank = strstr(text, "\n\n");
    if (blank != NULL) {
        *blank = '\0';
        test_request_set_body(t, blank + 2);
    }

    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    test_request_parse_line(t, lines[0]);
    for (guint i = 1; lines[i] != NULL; i++) {
        char *colon = strchr(lines[i], ':');
        g_assert_nonnull(colon);
        *colon = '\0';
        test_request_add_header(t, lines[i], colon + 1);
    }
    return t;
}

/* A copy of T with only the headers named in SIGNED (";"-joined). */
static TestRequest *test_request_only(const TestRequest *t, const char *signed_headers)
{
    g_auto(GStrv) names = g_strsplit(signed_headers, ";", -1);
    TestRequest *c = test_request_new();
    c->req = t->req;
    for (guint i = 0; i < t->headers->len; i++) {
        const NubeHttpHeader *h = &g_array_index(t->headers, NubeHttpHeader, i);
        g_autofree char *lower = g_ascii_strdown(h->name, -1);
        if (g_strv_contains((const char *const *) names, lower))
            test_request_add_header(c, h->name, h->value);
    }
    test_request_sync(c);
    return c;
}

static char *fixture_path(const char *first, ...) G_GNUC_NULL_TERMINATED;

static char *fixture_path(const char *first, ...)
{
    const char *srcdir = g_getenv("NUBE_SRCDIR");
    g_autofree char *base =
        g_build_filename(srcdir ? srcdir : NUBE_TEST_SRCDIR, "tests", "common", "sigv4", NULL);
    g_autoptr(GString) path = g_string_new(base);
    va_list ap;
    va_start(ap, first);
    for (const char *p = first; p != NULL; p = va_arg(ap, const char *)) {
        g_string_append_c(path, G_DIR_SEPARATOR);
        g_string_append(path, p);
    }
    va_end(ap);
    return g_string_free(g_steal_pointer(&path), FALSE);
}

static char *read_text(const char *path)
{
    char *text = NULL;
    g_autoptr(GError) gerr = NULL;
    if (!g_file_get_contents(path, &text, NULL, &gerr))
        g_error("fixture: %s", gerr->message);
    return text;
}

static gint64 amz_date_unix(const char *amz_date)
{
    int y, mo, d, h, mi, s;
    g_assert_cmpint(sscanf(amz_date, "%4d%2d%2dT%2d%2d%2dZ", &y, &mo, &d, &h, &mi, &s), ==, 6);
    g_autoptr(GDateTime) dt = g_date_time_new_utc(y, mo, d, h, mi, s);
    g_assert_nonnull(dt);
    return g_date_time_to_unix(dt);
}

/* Asserts that ERR is set with CODE and clears it. */
static void assert_error(NubeError **err, const char *code)
{
    g_assert_nonnull(*err);
    g_assert_cmpstr(nube_error_code(*err), ==, code);
    g_assert_nonnull((*err)->message);
    g_clear_pointer(err, nube_error_free);
}

/* ---- AWS's test suite ---- */

static void test_aws_vector(gconstpointer data)
{
    const char *name = data;
    g_autofree char *dir = fixture_path("aws", name, NULL);
    g_autofree char *req_path = g_strdup_printf("%s/%s.req", dir, name);
    g_autofree char *creq_path = g_strdup_printf("%s/%s.creq", dir, name);
    g_autofree char *sts_path = g_strdup_printf("%s/%s.sts", dir, name);
    g_autofree char *authz_path = g_strdup_printf("%s/%s.authz", dir, name);
    g_autoptr(TestRequest) t = test_request_load(req_path);
    g_autofree char *creq = read_text(creq_path);
    g_autofree char *sts = read_text(sts_path);
    g_autofree char *authz = read_text(authz_path);
    g_autoptr(NubeError) err = NULL;
    g_auto(NubeSigV4Auth) auth = { 0 };

    g_assert_cmpint(nube_sigv4_parse_authorization(authz, &auth, &err), ==, 0);
    g_assert_cmpstr(auth.access_key, ==, "AKIDEXAMPLE");
    g_assert_cmpstr(auth.date, ==, "20150830");
    g_assert_cmpstr(auth.region, ==, "us-east-1");
    g_assert_cmpstr(auth.service, ==, "service");

    g_autofree char *got_creq = nube_sigv4_canonical_request(&t->req, auth.signed_headers, &err);
    g_assert_null(err);
    g_assert_cmpstr(got_creq, ==, creq);

    g_autofree char *got_sts = nube_sigv4_string_to_sign(
        AWS_AMZ_DATE, "20150830/us-east-1/service/aws4_request", got_creq);
    g_assert_cmpstr(got_sts, ==, sts);

    char sig[65];
    nube_sigv4_signature(AWS_SECRET, auth.date, auth.region, auth.service, got_sts, sig);
    g_assert_cmpstr(sig, ==, auth.signature);

    g_autofree char *signed_authz =
        nube_sigv4_sign(&t->req, "AKIDEXAMPLE", AWS_SECRET, "us-east-1", "service", AWS_AMZ_DATE);
    g_assert_cmpstr(signed_authz, ==, authz);

    /* A correct signature, but nubed only serves the "ec2" service. */
    g_assert_cmpint(
        nube_sigv4_verify(&t->req, &auth, AWS_SECRET, amz_date_unix(AWS_AMZ_DATE), MAX_SKEW, &err),
        ==, -EACCES);
    assert_error(&err, "AuthFailure");
}

/* ---- botocore ---- */

typedef struct {
    char *access_key;
    char *secret;
    char *region;
    char *service;
    char *amz_date;
    gint64 when;
} BotoContext;

static BotoContext boto;

static char **boto_load_context(void)
{
    g_autofree char *path = fixture_path("botocore", "context.ini", NULL);
    g_autoptr(GKeyFile) kf = g_key_file_new();
    g_autoptr(GError) gerr = NULL;
    if (!g_key_file_load_from_file(kf, path, G_KEY_FILE_NONE, &gerr))
        g_error("%s: %s", path, gerr->message);

    boto.access_key = g_key_file_get_string(kf, "botocore", "access_key", NULL);
    boto.secret = g_key_file_get_string(kf, "botocore", "secret", NULL);
    boto.region = g_key_file_get_string(kf, "botocore", "region", NULL);
    boto.service = g_key_file_get_string(kf, "botocore", "service", NULL);
    boto.amz_date = g_key_file_get_string(kf, "botocore", "amz_date", NULL);
    char **cases = g_key_file_get_string_list(kf, "botocore", "cases", NULL, NULL);
    if (boto.secret == NULL || boto.amz_date == NULL || cases == NULL || cases[0] == NULL)
        g_error("%s: incomplete", path);
    boto.when = amz_date_unix(boto.amz_date);
    return cases;
}

/* Loads botocore's case NAME; replaces *AUTHZ with its Authorization. */
static TestRequest *boto_load(const char *name, char **authz)
{
    g_autofree char *dir = fixture_path("botocore", name, NULL);
    g_autofree char *req_path = g_strdup_printf("%s/%s.req", dir, name);
    g_autofree char *authz_path = g_strdup_printf("%s/%s.authz", dir, name);
    g_free(*authz);
    *authz = read_text(authz_path);
    return test_request_load(req_path);
}

static void boto_parse(const char *authz, NubeSigV4Auth *auth)
{
    g_autoptr(NubeError) err = NULL;
    g_assert_cmpint(nube_sigv4_parse_authorization(authz, auth, &err), ==, 0);
    g_assert_cmpstr(auth->access_key, ==, boto.access_key);
    g_assert_cmpstr(auth->region, ==, boto.region);
    g_assert_cmpstr(auth->service, ==, "ec2");
}

static void test_boto_sign(gconstpointer data)
{
    g_autofree char *authz = NULL;
    g_autoptr(TestRequest) all = boto_load(data, &authz);
    g_auto(NubeSigV4Auth) auth = { 0 };
    boto_parse(authz, &auth);

    /* botocore leaves User-Agent and a few others unsigned. */
    g_autoptr(TestRequest) t = test_request_only(all, auth.signed_headers);
    g_autofree char *got = nube_sigv4_sign(&t->req, boto.access_key, boto.secret, boto.region,
                                           boto.service, boto.amz_date);
    g_assert_cmpstr(got, ==, authz);
}

static void test_boto_verify(gconstpointer data)
{
    g_autofree char *authz = NULL;
    g_autoptr(TestRequest) t = boto_load(data, &authz);
    g_auto(NubeSigV4Auth) auth = { 0 };
    g_autoptr(NubeError) err = NULL;
    boto_parse(authz, &auth);

    g_assert_cmpint(nube_sigv4_verify(&t->req, &auth, boto.secret, boto.when, MAX_SKEW, &err), ==,
                    0);
    g_assert_null(err);
    /* Right at the edges of the allowed clock skew. */
    g_assert_cmpint(
        nube_sigv4_verify(&t->req, &auth, boto.secret, boto.when + MAX_SKEW, MAX_SKEW, &err), ==,
        0);
    g_assert_cmpint(
        nube_sigv4_verify(&t->req, &auth, boto.secret, boto.when - MAX_SKEW, MAX_SKEW, &err), ==,
        0);
}

/* Verifies T against AUTHZ with botocore's secret and clock; expects CODE
 * (NULL: accepted). */
static void verify_expect(const TestRequest *t, const char *authz, const char *secret, gint64 now,
                          const char *code)
{
    g_auto(NubeSigV4Auth) auth = { 0 };
    g_autoptr(NubeError) err = NULL;
    g_assert_cmpint(nube_sigv4_parse_authorization(authz, &auth, &err), ==, 0);

    int r = nube_sigv4_verify(&t->req, &auth, secret, now, MAX_SKEW, &err);
    if (code == NULL) {
        if (r != 0)
            g_error("refused: %s: %s", nube_error_code(err), err->message);
        return;
    }
    g_assert_cmpint(r, ==, -EACCES);
    g_assert_nonnull(err);
    g_assert_cmpint(err->errnum, ==, EACCES);
    g_assert_cmpstr(nube_error_code(err), ==, code);
    if (strcmp(code, "SignatureDoesNotMatch") == 0)
        g_assert_true(g_str_has_prefix(
            err->message,
            "The request signature we calculated does not match the signature you provided."));
}

static void test_verify_tampered_body(void)
{
    g_autofree char *authz = NULL;
    g_autoptr(TestRequest) t = boto_load("describe-instances", &authz);

    test_request_set_body(t, "Action=DescribeInstances&Version=2016-11-16");
    verify_expect(t, authz, boto.secret, boto.when, "SignatureDoesNotMatch");

    test_request_set_body(t, "Action=TerminateInstances&Version=2016-11-15&InstanceId.1=i-1");
    verify_expect(t, authz, boto.secret, boto.when, "SignatureDoesNotMatch");

    t->req.body = NULL;
    t->req.body_len = 0;
    verify_expect(t, authz, boto.secret, boto.when, "SignatureDoesNotMatch");
}

static void test_verify_tampered_header(void)
{
    g_autofree char *authz = NULL;
    g_autoptr(TestRequest) t = boto_load("describe-instances", &authz);

    /* Headers botocore leaves unsigned may change freely. */
    test_request_set_header(t, "User-Agent", "something else");
    test_request_add_header(t, "X-Forwarded-For", "10.0.0.1");
    verify_expect(t, authz, boto.secret, boto.when, NULL);

    /* Whitespace around and inside values is not significant. */
    test_request_set_header(t, "Content-Type",
                            "  application/x-www-form-urlencoded;   charset=utf-8 ");
    verify_expect(t, authz, boto.secret, boto.when, NULL);

    test_request_set_header(t, "Content-Type", "application/x-www-form-urlencoded");
    verify_expect(t, authz, boto.secret, boto.when, "SignatureDoesNotMatch");

    g_autoptr(TestRequest) t2 = boto_load("describe-instances", &authz);
    test_request_set_header(t2, "Host", "127.0.0.1:8774");
    verify_expect(t2, authz, boto.secret, boto.when, "SignatureDoesNotMatch");

    /* A second value for a signed header changes its canonical form. */
    g_autoptr(TestRequest) t3 = boto_load("describe-instances", &authz);
    test_request_add_header(t3, "content-type", "text/plain");
    verify_expect(t3, authz, boto.secret, boto.when, "SignatureDoesNotMatch");
}

static void test_verify_tampered_query(void)
{
    g_autofree char *authz = NULL;
    g_autoptr(TestRequest) t = boto_load("describe-regions-get", &authz);
    const char *orig = t->req.query;

    /* Order and equivalent encodings do not matter: the canonical query
     * string is what is signed. */
    t->req.query = "Version=2016-11-15&Action=DescribeRegions&Filter.1.Name=region-name"
                   "&Filter.1.Value.1=nube%20local*&Filter.1.Value.2=a%2Bb%2Fc%7Ed%3D%C3%A9";
    verify_expect(t, authz, boto.secret, boto.when, NULL);

    t->req.query = "Version=2016-11-15&Action=DescribeRegions&Filter.1.Name=region-name"
                   "&Filter.1.Value.1=nube+local*&Filter.1.Value.2=a+b%2Fc%7Ed%3D%C3%A9";
    verify_expect(t, authz, boto.secret, boto.when, "SignatureDoesNotMatch");

    g_autofree char *extra = g_strconcat(orig, "&DryRun=true", NULL);
    t->req.query = extra;
    verify_expect(t, authz, boto.secret, boto.when, "SignatureDoesNotMatch");

    t->req.query = "Action=DescribeRegions&Version=%zz";
    verify_expect(t, authz, boto.secret, boto.when, "MalformedQueryString");
}

static void test_verify_wrong_secret(void)
{
    g_autofree char *authz = NULL;
    g_autoptr(TestRequest) t = boto_load("run-instances", &authz);

    verify_expect(t, authz, "nube/Secret+Key/EXAMPLE0123456789abcdefgi", boto.when,
                  "SignatureDoesNotMatch");
    verify_expect(t, authz, "", boto.when, "SignatureDoesNotMatch");

    /* One hex digit of the signature changed. */
    g_autofree char *bad = g_strdup(authz);
    char *last = bad + strlen(bad) - 1;
    *last = *last == '0' ? '1' : '0';
    verify_expect(t, bad, boto.secret, boto.when, "SignatureDoesNotMatch");
}

static void test_verify_skew(void)
{
    g_autofree char *authz = NULL;
    g_autoptr(TestRequest) t = boto_load("describe-instances", &authz);

    verify_expect(t, authz, boto.secret, boto.when + MAX_SKEW + 1, "RequestExpired");
    verify_expect(t, authz, boto.secret, boto.when - MAX_SKEW - 1, "RequestExpired");
    verify_expect(t, authz, boto.secret, boto.when + 86400 * 365, "RequestExpired");
    verify_expect(t, authz, boto.secret, G_MININT64, "RequestExpired");
    verify_expect(t, authz, boto.secret, G_MAXINT64, "RequestExpired");
}

/* Signs T with botocore's credentials and NUBE's own signer. */
static char *nube_sign(const TestRequest *t, const char *service, const char *amz_date)
{
    char *authz =
        nube_sigv4_sign(&t->req, boto.access_key, boto.secret, boto.region, service, amz_date);
    g_assert_nonnull(authz);
    return authz;
}

static TestRequest *ec2_request(void)
{
    TestRequest *t = test_request_new();
    t->req.method = "POST";
    t->req.path = "/";
    test_request_set_body(t, "Action=DescribeInstances&Version=2016-11-15");
    test_request_add_header(t, "Content-Type", "application/x-www-form-urlencoded; charset=utf-8");
    return t;
}

static void test_verify_unsigned_host(void)
{
    /* Correctly signed, but without Host among the signed headers. */
    g_autoptr(TestRequest) t = ec2_request();
    test_request_add_header(t, "X-Amz-Date", boto.amz_date);
    g_autofree char *authz = nube_sign(t, "ec2", boto.amz_date);
    test_request_add_header(t, "Host", "127.0.0.1:8773");
    verify_expect(t, authz, boto.secret, boto.when, "AuthFailure");

    /* Host is signed but missing from the request. */
    g_autofree char *boto_authz = NULL;
    g_autoptr(TestRequest) b = boto_load("describe-instances", &boto_authz);
    test_request_remove_header(b, "Host");
    verify_expect(b, boto_authz, boto.secret, boto.when, "AuthFailure");
}

static void test_verify_dates(void)
{
    /* X-Amz-Date present but left out of the signature. */
    g_autoptr(TestRequest) t = ec2_request();
    test_request_add_header(t, "Host", "127.0.0.1:8773");
    g_autofree char *authz = nube_sign(t, "ec2", boto.amz_date);
    verify_expect(t, authz, boto.secret, boto.when, "AuthFailure"); /* no date at all */
    test_request_add_header(t, "X-Amz-Date", boto.amz_date);
    verify_expect(t, authz, boto.secret, boto.when, "AuthFailure");

    /* A signed Date header instead of X-Amz-Date. */
    g_autoptr(TestRequest) d = ec2_request();
    test_request_add_header(d, "Host", "127.0.0.1:8773");
    test_request_add_header(d, "Date", "Wed, 01 May 2024 10:20:30 GMT");
    g_autofree char *dauthz = nube_sign(d, "ec2", boto.amz_date);
    verify_expect(d, dauthz, boto.secret, boto.when, NULL);
    verify_expect(d, dauthz, boto.secret, boto.when + 3600, "RequestExpired");
    test_request_set_header(d, "Date", "Wed, 01 May 2024 10:20:30 CEST");
    verify_expect(d, dauthz, boto.secret, boto.when, "AuthFailure");

    /* Credential scope of another day than X-Amz-Date. */
    g_autoptr(TestRequest) s = ec2_request();
    test_request_add_header(s, "Host", "127.0.0.1:8773");
    test_request_add_header(s, "X-Amz-Date", boto.amz_date);
    g_autofree char *sauthz = nube_sign(s, "ec2", "20240502T102030Z");
    verify_expect(s, sauthz, boto.secret, boto.when, "AuthFailure");

    /* Malformed X-Amz-Date values. */
    const char *bad[] = { "",
                          "2024-05-01T10:20:30Z",
                          "20240501T102030",
                          "20241301T102030Z",
                          "20240501T250000Z",
                          "2024050lT102030Z",
                          "20240501T102030Zx" };
    for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
        test_request_set_header(s, "X-Amz-Date", bad[i]);
        verify_expect(s, sauthz, boto.secret, boto.when, "AuthFailure");
    }
}

static void test_verify_service(void)
{
    g_autoptr(TestRequest) t = ec2_request();
    test_request_add_header(t, "Host", "127.0.0.1:8773");
    test_request_add_header(t, "X-Amz-Date", boto.amz_date);
    g_autofree char *ok = nube_sign(t, "ec2", boto.amz_date);
    verify_expect(t, ok, boto.secret, boto.when, NULL);
    g_autofree char *s3 = nube_sign(t, "s3", boto.amz_date);
    verify_expect(t, s3, boto.secret, boto.when, "AuthFailure");
}

static void test_verify_content_sha256(void)
{
    char hex[65];
    g_autoptr(TestRequest) t = ec2_request();
    test_request_add_header(t, "Host", "127.0.0.1:8773");
    test_request_add_header(t, "X-Amz-Date", boto.amz_date);
    nube_sha256_hex(t->req.body, t->req.body_len, hex);

    test_request_add_header(t, "X-Amz-Content-SHA256", hex);
    g_autofree char *good = nube_sign(t, "ec2", boto.amz_date);
    verify_expect(t, good, boto.secret, boto.when, NULL);

    /* The body must still be signed when the client says UNSIGNED-PAYLOAD. */
    test_request_set_header(t, "X-Amz-Content-SHA256", "UNSIGNED-PAYLOAD");
    g_autofree char *unsigned_payload = nube_sign(t, "ec2", boto.amz_date);
    verify_expect(t, unsigned_payload, boto.secret, boto.when, NULL);
    test_request_set_body(t, "Action=TerminateInstances&Version=2016-11-15");
    verify_expect(t, unsigned_payload, boto.secret, boto.when, "SignatureDoesNotMatch");

    /* A signature over a declared hash that is not the body's. */
    g_autoptr(TestRequest) lie = ec2_request();
    test_request_add_header(lie, "Host", "127.0.0.1:8773");
    test_request_add_header(lie, "X-Amz-Date", boto.amz_date);
    nube_sha256_hex("other", 5, hex);
    test_request_add_header(lie, "X-Amz-Content-SHA256", hex);
    g_autofree char *lie_authz = nube_sign(lie, "ec2", boto.amz_date);
    verify_expect(lie, lie_authz, boto.secret, boto.when, "AuthFailure");
}

/* ---- Authorization header parsing ---- */

static void test_parse_good(void)
{
    const char *values[] = {
        ("AWS4-HMAC-SHA256 Credential=AKID/20240501/nube-local-1/ec2/aws4_request, "
         "SignedHeaders=content-type;host;x-amz-date, "
         "Signature=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"),
        ("AWS4-HMAC-SHA256 Credential=AKID/20240501/nube-local-1/ec2/aws4_request,"
         "SignedHeaders=content-type;host;x-amz-date,"
         "Signature=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"),
        ("  AWS4-HMAC-SHA256   Signature=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef ,"
         " SignedHeaders=content-type;host;x-amz-date , Credential=AKID/20240501/nube-local-1/ec2/aws4_request"),
    };
    for (guint i = 0; i < G_N_ELEMENTS(values); i++) {
        g_auto(NubeSigV4Auth) auth = { 0 };
        g_autoptr(NubeError) err = NULL;
        g_assert_cmpint(nube_sigv4_parse_authorization(values[i], &auth, &err), ==, 0);
        g_assert_cmpstr(auth.access_key, ==, "AKID");
        g_assert_cmpstr(auth.date, ==, "20240501");
        g_assert_cmpstr(auth.region, ==, "nube-local-1");
        g_assert_cmpstr(auth.service, ==, "ec2");
        g_assert_cmpstr(auth.signed_headers, ==, "content-type;host;x-amz-date");
        g_assert_cmpstr(auth.signature, ==,
                        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
    }
}

#define CRED "Credential=AKID/20240501/nube-local-1/ec2/aws4_request"
#define SH   "SignedHeaders=host;x-amz-date"
#define SIG  "Signature=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void test_parse_bad(void)
{
    static const struct {
        const char *value;
        const char *code;
    } cases[] = {
        { NULL, "IncompleteSignature" },
        { "", "IncompleteSignature" },
        { "AWS4-HMAC-SHA256", "IncompleteSignature" },
        { "AWS4-HMAC-SHA256 ", "IncompleteSignature" },
        { "AWS4-HMAC-SHA256 " CRED ", " SH, "IncompleteSignature" },
        { "AWS4-HMAC-SHA256 " CRED ", " SIG, "IncompleteSignature" },
        { "AWS4-HMAC-SHA256 " SH ", " SIG, "IncompleteSignature" },
        { "AWS4-HMAC-SHA256 " CRED ", " SH ", " SIG ", " CRED, "IncompleteSignature" },
        { "AWS4-HMAC-SHA256 " CRED ", " SH ", " SIG ", Foo=bar", "IncompleteSignature" },
        { "AWS4-HMAC-SHA256 " CRED ", " SH ", " SIG ", junk", "IncompleteSignature" },
        { "AWS4-HMAC-SHA256 " CRED " " SH " " SIG, "IncompleteSignature" },
        { "AWS4-HMAC-SHA1 " CRED ", " SH ", " SIG, "AuthFailure" },
        { "AWS4-HMAC-SHA256" CRED ", " SH ", " SIG, "AuthFailure" },
        { "AWS AKID:c2lnbmF0dXJl", "AuthFailure" },
        { "AWS4-HMAC-SHA256 Credential=AKID/20240501/nube-local-1/ec2, " SH ", " SIG,
          "AuthFailure" },
        { "AWS4-HMAC-SHA256 Credential=AKID/20240501/nube-local-1/ec2/aws4_request/x, " SH ", " SIG,
          "AuthFailure" },
        { "AWS4-HMAC-SHA256 Credential=AKID/20240501/nube-local-1/ec2/aws5_request, " SH ", " SIG,
          "AuthFailure" },
        { "AWS4-HMAC-SHA256 Credential=AKID/2024051/nube-local-1/ec2/aws4_request, " SH ", " SIG,
          "AuthFailure" },
        { "AWS4-HMAC-SHA256 Credential=AKID/2024O501/nube-local-1/ec2/aws4_request, " SH ", " SIG,
          "AuthFailure" },
        { "AWS4-HMAC-SHA256 Credential=/20240501/nube-local-1/ec2/aws4_request, " SH ", " SIG,
          "AuthFailure" },
        { "AWS4-HMAC-SHA256 Credential=AKID/20240501//ec2/aws4_request, " SH ", " SIG,
          "AuthFailure" },
        { "AWS4-HMAC-SHA256 Credential=, " SH ", " SIG, "AuthFailure" },
        { "AWS4-HMAC-SHA256 " CRED ", SignedHeaders=, " SIG, "AuthFailure" },
        { "AWS4-HMAC-SHA256 " CRED ", SignedHeaders=x-amz-date;host, " SIG, "AuthFailure" },
        { "AWS4-HMAC-SHA256 " CRED ", SignedHeaders=Host;x-amz-date, " SIG, "AuthFailure" },
        { "AWS4-HMAC-SHA256 " CRED ", SignedHeaders=host;host;x-amz-date, " SIG, "AuthFailure" },
        { "AWS4-HMAC-SHA256 " CRED ", SignedHeaders=host;;x-amz-date, " SIG, "AuthFailure" },
        { "AWS4-HMAC-SHA256 " CRED ", SignedHeaders=host x;x-amz-date, " SIG, "AuthFailure" },
        { "AWS4-HMAC-SHA256 " CRED ", " SH ", Signature=", "AuthFailure" },
        { "AWS4-HMAC-SHA256 " CRED ", " SH
          ", Signature=0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef",
          "AuthFailure" },
        { "AWS4-HMAC-SHA256 " CRED ", " SH
          ", Signature=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde",
          "AuthFailure" },
        { "AWS4-HMAC-SHA256 " CRED ", " SH ", " SIG "0", "AuthFailure" },
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        NubeSigV4Auth auth = { 0 };
        g_autoptr(NubeError) err = NULL;
        g_test_message("Authorization: %s", cases[i].value ? cases[i].value : "(null)");
        g_assert_cmpint(nube_sigv4_parse_authorization(cases[i].value, &auth, &err), ==, -EINVAL);
        assert_error(&err, cases[i].code);
        /* Nothing is stored on failure. */
        g_assert_null(auth.access_key);
        g_assert_null(auth.signature);
    }
}

/* ---- canonical request details ---- */

static void test_canonical_query(void)
{
    g_autoptr(TestRequest) t = test_request_new();
    g_autoptr(NubeError) err = NULL;
    t->req.method = "GET";
    t->req.path = "/";
    test_request_add_header(t, "Host", "h");

    /* '+' is a space; escapes are decoded then re-encoded with AWS's rules;
     * sorting is by encoded key then value. */
    t->req.query = "b=x+y&a-=1&a=%7e%41&a=%2F&c=";
    g_autofree char *creq = nube_sigv4_canonical_request(&t->req, "host", &err);
    g_assert_null(err);
    g_assert_cmpstr(creq, ==,
                    "GET\n/\na=%2F&a=~A&a-=1&b=x%20y&c=\nhost:h\n\nhost\n"
                    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");

    const char *bad[] = { "a=%", "a=%4", "a=%zz", "a=%00", "a=%ff", "a", "a=1&&b=2" };
    for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
        t->req.query = bad[i];
        g_assert_null(nube_sigv4_canonical_request(&t->req, "host", &err));
        assert_error(&err, "MalformedQueryString");
    }
}

static void test_canonical_headers(void)
{
    g_autoptr(TestRequest) t = test_request_new();
    g_autoptr(NubeError) err = NULL;
    t->req.method = "POST";
    t->req.path = "/a b/%2F/./c/../d/";
    test_request_add_header(t, "HOST", "\t h \t");
    test_request_add_header(t, "X-Multi", " a  b ");
    test_request_add_header(t, "x-multi", "");
    test_request_add_header(t, "x-MULTI", "c\t\td");

    g_autofree char *creq = nube_sigv4_canonical_request(&t->req, "host;x-multi", &err);
    g_assert_null(err);
    g_assert_cmpstr(creq, ==,
                    "POST\n/a%20b/%252F/d/\n\nhost:h\nx-multi:a b,,c d\n\nhost;x-multi\n"
                    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");

    g_assert_null(nube_sigv4_canonical_request(&t->req, "host;x-missing", &err));
    assert_error(&err, "AuthFailure");
    g_assert_null(nube_sigv4_canonical_request(&t->req, "x-multi;host", &err));
    assert_error(&err, "AuthFailure");
    g_assert_null(nube_sigv4_canonical_request(&t->req, NULL, &err));
    assert_error(&err, "AuthFailure");
}

/* ---- robustness ---- */

static void test_robust_null(void)
{
    g_autoptr(NubeError) err = NULL;
    NubeHttpRequest empty = { 0 };
    NubeHttpHeader nulls[] = { { NULL, NULL }, { "host", NULL }, { NULL, "x" } };
    NubeHttpRequest weird = {
        .headers = nulls, .n_headers = G_N_ELEMENTS(nulls), .body = NULL, .body_len = 12
    };
    g_auto(NubeSigV4Auth) auth = { 0 };
    char sig[65];

    g_assert_null(nube_sigv4_canonical_request(NULL, "host", &err));
    assert_error(&err, "AuthFailure");
    g_assert_null(nube_sigv4_canonical_request(&empty, "host", &err));
    assert_error(&err, "AuthFailure");
    g_autofree char *creq = nube_sigv4_canonical_request(&weird, "host", &err);
    g_assert_cmpstr(creq, ==,
                    "\n/\n\nhost:\n\nhost\n"
                    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");

    g_autofree char *sts = nube_sigv4_string_to_sign(NULL, NULL, NULL);
    g_assert_nonnull(sts);
    nube_sigv4_signature(NULL, NULL, NULL, NULL, NULL, sig);
    g_assert_cmpuint(strlen(sig), ==, 64);

    g_assert_null(nube_sigv4_sign(NULL, "a", "s", "r", "ec2", AWS_AMZ_DATE));
    g_assert_null(nube_sigv4_sign(&empty, "a", "s", "r", "ec2", AWS_AMZ_DATE));
    g_assert_null(nube_sigv4_sign(&weird, "a", "s", "r", "ec2", AWS_AMZ_DATE));
    g_assert_null(nube_sigv4_sign(&empty, NULL, NULL, NULL, NULL, NULL));
    g_assert_null(nube_sigv4_sign(&empty, "a", "s", "r", "ec2", "2015"));

    g_assert_cmpint(nube_sigv4_verify(NULL, NULL, NULL, 0, 0, &err), ==, -EACCES);
    assert_error(&err, "AuthFailure");
    g_assert_cmpint(nube_sigv4_verify(&weird, &auth, "s", 0, 0, &err), ==, -EACCES);
    assert_error(&err, "AuthFailure");
    g_assert_cmpint(nube_sigv4_parse_authorization("x", NULL, &err), ==, -EINVAL);
    g_clear_pointer(&err, nube_error_free);

    nube_sigv4_auth_clear(NULL);
    nube_sigv4_auth_clear(&auth);
    nube_sigv4_auth_clear(&auth);
}

static void test_robust_huge(void)
{
    g_autofree char *authz = NULL;
    g_autoptr(TestRequest) t = boto_load("describe-instances", &authz);
    g_autofree char *big = g_malloc(4 << 20);
    memset(big, 'a', (4 << 20) - 1);
    big[(4 << 20) - 1] = '\0';

    test_request_set_header(t, "Content-Type", big);
    verify_expect(t, authz, boto.secret, boto.when, "SignatureDoesNotMatch");

    g_autofree char *huge_authz = g_strconcat("AWS4-HMAC-SHA256 Credential=", big, NULL);
    NubeSigV4Auth auth = { 0 };
    g_autoptr(NubeError) err = NULL;
    g_assert_cmpint(nube_sigv4_parse_authorization(huge_authz, &auth, &err), ==, -EINVAL);
    assert_error(&err, "IncompleteSignature");

    g_autofree char *many = g_strnfill(1 << 20, ',');
    g_assert_cmpint(nube_sigv4_parse_authorization(many, &auth, &err), ==, -EINVAL);
    g_clear_pointer(&err, nube_error_free);
}

/* Random bytes in every field: nothing crashes (run under ASan/UBSan). */
static void test_robust_random(void)
{
    static const char alphabet[] =
        "AWS4-HMAC-SHA256 Credential=/,;= \t%+aws4_request"
        "SignedHeaders=host;x-amz-dateSignature=0123456789abcdef\xff\x01";
    for (int round = 0; round < 2000; round++) {
        char buf[160];
        int n = g_test_rand_int_range(0, sizeof(buf));
        for (int i = 0; i < n; i++)
            buf[i] = alphabet[g_test_rand_int_range(0, sizeof(alphabet) - 1)];
        buf[n] = '\0';

        NubeSigV4Auth auth = { 0 };
        g_autoptr(NubeError) err = NULL;
        if (nube_sigv4_parse_authorization(buf, &auth, &err) == 0)
            g_assert_cmpint(nube_sigv4_verify(&(NubeHttpRequest){ 0 }, &auth, "s", 0, 0, NULL), <,
                            0);
        nube_sigv4_auth_clear(&auth);

        NubeHttpHeader h[] = { { "host", buf }, { "x-amz-date", buf }, { buf, buf } };
        NubeHttpRequest req = { buf, buf, buf, h, G_N_ELEMENTS(h), buf, (size_t) n };
        g_autofree char *creq = nube_sigv4_canonical_request(&req, "host;x-amz-date", NULL);
        g_assert_true(creq == NULL || strstr(creq, "\nhost:") != NULL);
        g_autofree char *signed_authz = nube_sigv4_sign(&req, buf, buf, buf, buf, buf);
        g_assert_true(signed_authz == NULL ||
                      g_str_has_prefix(signed_authz, "AWS4-HMAC-SHA256 Credential="));
    }
}

static gint str_ptr_cmp(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *) a, *(const char *const *) b);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

    g_autofree char *aws_dir = fixture_path("aws", NULL);
    g_autoptr(GDir) dir = g_dir_open(aws_dir, 0, NULL);
    if (dir == NULL)
        g_error("no AWS test vectors in '%s'", aws_dir);
    g_autoptr(GPtrArray) vectors = g_ptr_array_new_with_free_func(g_free);
    const char *name;
    while ((name = g_dir_read_name(dir)) != NULL)
        g_ptr_array_add(vectors, g_strdup(name));
    g_ptr_array_sort(vectors, str_ptr_cmp);
    g_assert_cmpuint(vectors->len, >=, 20);
    for (guint i = 0; i < vectors->len; i++) {
        const char *v = g_ptr_array_index(vectors, i);
        g_autofree char *path = g_strdup_printf("/sigv4/aws/%s", v);
        g_test_add_data_func(path, v, test_aws_vector);
    }

    g_auto(GStrv) cases = boto_load_context();
    for (guint i = 0; cases[i] != NULL; i++) {
        g_autofree char *sign = g_strdup_printf("/sigv4/botocore/%s/sign", cases[i]);
        g_autofree char *verify = g_strdup_printf("/sigv4/botocore/%s/verify", cases[i]);
        g_test_add_data_func(sign, cases[i], test_boto_sign);
        g_test_add_data_func(verify, cases[i], test_boto_verify);
    }

    g_test_add_func("/sigv4/verify/tampered-body", test_verify_tampered_body);
    g_test_add_func("/sigv4/verify/tampered-header", test_verify_tampered_header);
    g_test_add_func("/sigv4/verify/tampered-query", test_verify_tampered_query);
    g_test_add_func("/sigv4/verify/wrong-secret", test_verify_wrong_secret);
    g_test_add_func("/sigv4/verify/clock-skew", test_verify_skew);
    g_test_add_func("/sigv4/verify/unsigned-host", test_verify_unsigned_host);
    g_test_add_func("/sigv4/verify/dates", test_verify_dates);
    g_test_add_func("/sigv4/verify/service", test_verify_service);
    g_test_add_func("/sigv4/verify/content-sha256", test_verify_content_sha256);
    g_test_add_func("/sigv4/parse/good", test_parse_good);
    g_test_add_func("/sigv4/parse/bad", test_parse_bad);
    g_test_add_func("/sigv4/canonical/query", test_canonical_query);
    g_test_add_func("/sigv4/canonical/headers-and-path", test_canonical_headers);
    g_test_add_func("/sigv4/robust/null", test_robust_null);
    g_test_add_func("/sigv4/robust/huge", test_robust_huge);
    g_test_add_func("/sigv4/robust/random", test_robust_random);

    return g_test_run();
}
