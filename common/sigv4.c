/*
 * sigv4.c: AWS Signature Version 4 (see sigv4.h).
 *
 * The canonical request follows AWS's "Create a canonical request" rules:
 * normalized, URI-encoded path; query parameters decoded then re-encoded
 * with AWS's rules and sorted by key then value; lowercase header names
 * with trimmed, space-collapsed values; hex SHA-256 of the payload.
 * Hashing and HMAC come from OpenSSL's libcrypto.
 */
#include "sigv4.h"

#include "fsutil.h"
#include "query.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>

#define SIGV4_ALGORITHM  "AWS4-HMAC-SHA256"
#define SIGV4_TERMINATOR "aws4_request"
#define SIGV4_SERVICE    "ec2"
#define UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"
#define AMZ_DATE_LEN     16 /* YYYYMMDD'T'HHMMSS'Z' */
#define SIG_HEX_LEN      64

#define MSG_SIGNATURE_MISMATCH \
    "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."

void nube_sigv4_auth_clear(NubeSigV4Auth *auth)
{
    if (auth == NULL)
        return;
    g_free(auth->access_key);
    g_free(auth->date);
    g_free(auth->region);
    g_free(auth->service);
    g_free(auth->signed_headers);
    g_free(auth->signature);
    memset(auth, 0, sizeof(*auth));
}

/* ---- small validators ---- */

static gboolean all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!g_ascii_isdigit(s[i]))
            return FALSE;
    return TRUE;
}

static gboolean is_lower_hex(const char *s, size_t n)
{
    if (s == NULL || strlen(s) != n)
        return FALSE;
    for (size_t i = 0; i < n; i++)
        if (!g_ascii_isdigit(s[i]) && !(s[i] >= 'a' && s[i] <= 'f'))
            return FALSE;
    return TRUE;
}

/* RFC 9110 token characters, lowercase letters only. */
static gboolean is_lower_token(const char *s)
{
    if (*s == '\0')
        return FALSE;
    for (; *s != '\0'; s++) {
        if (!g_ascii_islower(*s) && !g_ascii_isdigit(*s) && strchr("!#$%&'*+-.^_`|~", *s) == NULL)
            return FALSE;
    }
    return TRUE;
}

/* A SignedHeaders value: lowercase header names, sorted, no repeats. */
static gboolean signed_headers_valid(const char *list)
{
    if (list == NULL || *list == '\0')
        return FALSE;

    g_auto(GStrv) names = g_strsplit(list, ";", -1);
    for (guint i = 0; names[i] != NULL; i++) {
        if (!is_lower_token(names[i]))
            return FALSE;
        if (i > 0 && strcmp(names[i - 1], names[i]) >= 0)
            return FALSE;
    }
    return TRUE;
}

static gboolean signed_headers_has(const char *list, const char *name)
{
    g_auto(GStrv) names = g_strsplit(list, ";", -1);
    return g_strv_contains((const char *const *) names, name);
}

/* ---- Authorization header ---- */

typedef struct {
    const char *credential;
    const char *signed_headers;
    const char *signature;
} AuthParams;

/* Stores the value of one "Key=Value" component into P. */
static int auth_param_set(AuthParams *p, char *component, NubeError **err)
{
    char *eq = strchr(component, '=');
    if (eq == NULL)
        return nube_error_setc(err, EINVAL, "IncompleteSignature",
                               "The Authorization header component '%s' is not Key=Value",
                               component);
    *eq = '\0';
    const char *key = g_strstrip(component);
    const char *value = g_strstrip(eq + 1);

    const char **slot = NULL;
    if (strcmp(key, "Credential") == 0)
        slot = &p->credential;
    else if (strcmp(key, "SignedHeaders") == 0)
        slot = &p->signed_headers;
    else if (strcmp(key, "Signature") == 0)
        slot = &p->signature;
    else
        return nube_error_setc(err, EINVAL, "IncompleteSignature",
                               "The Authorization header has an unknown parameter '%s'", key);
    if (*slot != NULL)
        return nube_error_setc(err, EINVAL, "IncompleteSignature",
                               "The Authorization header gives '%s' more than once", key);
    *slot = value;
    return 0;
}

/* Splits "Credential=…, SignedHeaders=…, Signature=…" (edited in place). */
static int auth_params_split(char **components, AuthParams *p, NubeError **err)
{
    for (guint i = 0; components[i] != NULL; i++) {
        if (*g_strstrip(components[i]) == '\0')
            continue;
        int r = auth_param_set(p, components[i], err);
        if (r < 0)
            return r;
    }
    if (p->credential != NULL && p->signed_headers != NULL && p->signature != NULL)
        return 0;

    g_autoptr(GString) msg = g_string_new(NULL);
    if (p->credential == NULL)
        g_string_append(msg, "Authorization header requires 'Credential' parameter. ");
    if (p->signed_headers == NULL)
        g_string_append(msg, "Authorization header requires 'SignedHeaders' parameter. ");
    if (p->signature == NULL)
        g_string_append(msg, "Authorization header requires 'Signature' parameter. ");
    g_strchomp(msg->str);
    return nube_error_setc(err, EINVAL, "IncompleteSignature", "%s", msg->str);
}

/* "AKID/YYYYMMDD/region/service/aws4_request" into AUTH's scope fields. */
static int credential_parse(const char *credential, NubeSigV4Auth *auth, NubeError **err)
{
    g_auto(GStrv) parts = g_strsplit(credential, "/", 6);
    if (g_strv_length(parts) != 5)
        return nube_error_setc(
            err, EINVAL, "AuthFailure",
            "The Credential '%s' must have the form access-key/YYYYMMDD/region/service/aws4_request",
            credential);
    if (strlen(parts[1]) != 8 || !all_digits(parts[1], 8))
        return nube_error_setc(err, EINVAL, "AuthFailure",
                               "The Credential date '%s' must be YYYYMMDD", parts[1]);
    if (*parts[0] == '\0' || *parts[2] == '\0' || *parts[3] == '\0')
        return nube_error_setc(err, EINVAL, "AuthFailure",
                               "The Credential '%s' has an empty access key, region or service",
                               credential);
    if (strcmp(parts[4], SIGV4_TERMINATOR) != 0)
        return nube_error_setc(
            err, EINVAL, "AuthFailure",
            "Credential should be scoped with a valid terminator: 'aws4_request', not '%s'",
            parts[4]);

    auth->access_key = g_strdup(parts[0]);
    auth->date = g_strdup(parts[1]);
    auth->region = g_strdup(parts[2]);
    auth->service = g_strdup(parts[3]);
    return 0;
}

/* Checks the algorithm and returns where the parameters start, or NULL. */
static const char *auth_skip_algorithm(const char *value, NubeError **err)
{
    while (*value == ' ' || *value == '\t')
        value++;
    size_t alen = strcspn(value, " \t");
    if (alen != strlen(SIGV4_ALGORITHM) || strncmp(value, SIGV4_ALGORITHM, alen) != 0) {
        g_autofree char *algorithm = g_strndup(value, alen);
        nube_error_setc(err, EINVAL, "AuthFailure",
                        "Unsupported signature algorithm '%s': only AWS4-HMAC-SHA256 is supported",
                        algorithm);
        return NULL;
    }
    return value + alen;
}

int nube_sigv4_parse_authorization(const char *value, NubeSigV4Auth *auth, NubeError **err)
{
    if (auth == NULL)
        return nube_error_set(err, EINVAL, "no place to store the Authorization header");
    if (value == NULL || *value == '\0')
        return nube_error_setc(err, EINVAL, "IncompleteSignature",
                               "The Authorization header is missing or empty");

    const char *params = auth_skip_algorithm(value, err);
    if (params == NULL)
        return -EINVAL;

    g_auto(GStrv) components = g_strsplit(params, ",", -1);
    AuthParams p = { NULL, NULL, NULL };
    int r = auth_params_split(components, &p, err);
    if (r < 0)
        return r;

    if (!signed_headers_valid(p.signed_headers))
        return nube_error_setc(
            err, EINVAL, "AuthFailure",
            "SignedHeaders '%s' must be lowercase header names, sorted, separated by ';'",
            p.signed_headers);
    if (!is_lower_hex(p.signature, SIG_HEX_LEN))
        return nube_error_setc(err, EINVAL, "AuthFailure",
                               "The Signature must be 64 lowercase hexadecimal digits");

    NubeSigV4Auth parsed = { 0 };
    r = credential_parse(p.credential, &parsed, err);
    if (r < 0)
        return r;
    parsed.signed_headers = g_strdup(p.signed_headers);
    parsed.signature = g_strdup(p.signature);
    *auth = parsed;
    return 0;
}

/* ---- canonical request ---- */

/*
 * The path with "." / ".." segments resolved and empty segments dropped
 * (AWS normalizes paths for every service but S3), each segment URI-encoded
 * as given: an already-encoded path is encoded again, as botocore does.
 */
static char *canonical_uri(const char *path)
{
    if (path == NULL || *path == '\0')
        return g_strdup("/");

    g_auto(GStrv) segments = g_strsplit(path, "/", -1);
    g_autoptr(GPtrArray) kept = g_ptr_array_new();
    for (guint i = 0; segments[i] != NULL; i++) {
        const char *seg = segments[i];
        if (*seg == '\0' || strcmp(seg, ".") == 0)
            continue;
        if (strcmp(seg, "..") == 0) {
            if (kept->len > 0)
                g_ptr_array_remove_index(kept, kept->len - 1);
            continue;
        }
        g_ptr_array_add(kept, (gpointer) seg);
    }

    GString *out = g_string_new(NULL);
    for (guint i = 0; i < kept->len; i++) {
        g_autofree char *enc = nube_uri_encode(g_ptr_array_index(kept, i), TRUE);
        g_string_append_c(out, '/');
        g_string_append(out, enc);
    }
    if (kept->len == 0 || g_str_has_suffix(path, "/"))
        g_string_append_c(out, '/');
    return g_string_free(out, FALSE);
}

typedef struct {
    char *key;   /* URI-encoded */
    char *value; /* URI-encoded */
} QueryPair;

static void query_pair_clear(gpointer data)
{
    QueryPair *p = data;
    g_free(p->key);
    g_free(p->value);
}

static gint query_pair_cmp(gconstpointer a, gconstpointer b)
{
    const QueryPair *pa = a;
    const QueryPair *pb = b;
    int c = strcmp(pa->key, pb->key);
    return c != 0 ? c : strcmp(pa->value, pb->value);
}

/* Decodes RAW as the server will ('+' is a space, like query.c) and
 * collects the re-encoded pairs.  NULL with ERR on a malformed query. */
static GArray *query_pairs(const char *raw, NubeError **err)
{
    g_autoptr(GArray) pairs = g_array_new(FALSE, FALSE, sizeof(QueryPair));
    g_array_set_clear_func(pairs, query_pair_clear);

    GUriParamsIter iter;
    g_autoptr(GError) gerr = NULL;
    char *key = NULL;
    char *value = NULL;
    g_uri_params_iter_init(&iter, raw, -1, "&", G_URI_PARAMS_WWW_FORM);
    while (g_uri_params_iter_next(&iter, &key, &value, &gerr)) {
        QueryPair p = { nube_uri_encode(key, TRUE), nube_uri_encode(value, TRUE) };
        g_array_append_val(pairs, p);
        g_free(key);
        g_free(value);
    }
    if (gerr != NULL) {
        nube_error_setc(err, EINVAL, "MalformedQueryString", "The query string is malformed: %s",
                        gerr->message);
        return NULL;
    }
    return g_steal_pointer(&pairs);
}

static char *canonical_query(const char *raw, NubeError **err)
{
    if (raw == NULL || *raw == '\0')
        return g_strdup("");

    g_autoptr(GArray) pairs = query_pairs(raw, err);
    if (pairs == NULL)
        return NULL;
    g_array_sort(pairs, query_pair_cmp);

    GString *out = g_string_new(NULL);
    for (guint i = 0; i < pairs->len; i++) {
        const QueryPair *p = &g_array_index(pairs, QueryPair, i);
        g_string_append_printf(out, "%s%s=%s", i > 0 ? "&" : "", p->key, p->value);
    }
    return g_string_free(out, FALSE);
}

/* Appends VALUE to OUT without leading/trailing space, runs collapsed. */
static void append_trimall(GString *out, const char *value)
{
    gboolean pending_space = FALSE;
    gboolean started = FALSE;
    for (const char *p = value ? value : ""; *p != '\0'; p++) {
        if (g_ascii_isspace(*p)) {
            pending_space = started;
            continue;
        }
        if (pending_space)
            g_string_append_c(out, ' ');
        g_string_append_c(out, *p);
        pending_space = FALSE;
        started = TRUE;
    }
}

/* Appends "name:v1,v2\n" for every header called NAME; FALSE if none. */
static gboolean append_header(GString *out, const NubeHttpRequest *req, const char *name)
{
    gboolean found = FALSE;
    for (size_t i = 0; req->headers != NULL && i < req->n_headers; i++) {
        const NubeHttpHeader *h = &req->headers[i];
        if (h->name == NULL || g_ascii_strcasecmp(h->name, name) != 0)
            continue;
        g_string_append(out, found ? "," : name);
        if (!found)
            g_string_append_c(out, ':');
        append_trimall(out, h->value);
        found = TRUE;
    }
    if (found)
        g_string_append_c(out, '\n');
    return found;
}

static char *canonical_headers(const NubeHttpRequest *req, const char *signed_headers,
                               NubeError **err)
{
    g_auto(GStrv) names = g_strsplit(signed_headers, ";", -1);
    g_autoptr(GString) out = g_string_new(NULL);
    for (guint i = 0; names[i] != NULL; i++) {
        if (!append_header(out, req, names[i])) {
            nube_error_setc(err, EINVAL, "AuthFailure",
                            "The signed header '%s' is not in the request", names[i]);
            return NULL;
        }
    }
    return g_string_free(g_steal_pointer(&out), FALSE);
}

/* Trimmed value of the first header called NAME (caller frees), or NULL. */
static char *header_get(const NubeHttpRequest *req, const char *name)
{
    for (size_t i = 0; req->headers != NULL && i < req->n_headers; i++) {
        const NubeHttpHeader *h = &req->headers[i];
        if (h->name != NULL && g_ascii_strcasecmp(h->name, name) == 0) {
            GString *v = g_string_new(NULL);
            append_trimall(v, h->value);
            return g_string_free(v, FALSE);
        }
    }
    return NULL;
}

static void body_sha256_hex(const NubeHttpRequest *req, char hex[65])
{
    if (req->body == NULL)
        nube_sha256_hex("", 0, hex);
    else
        nube_sha256_hex(req->body, req->body_len, hex);
}

static char *payload_hash(const NubeHttpRequest *req)
{
    g_autofree char *declared = header_get(req, "x-amz-content-sha256");
    if (declared != NULL && strcmp(declared, UNSIGNED_PAYLOAD) != 0)
        return g_steal_pointer(&declared);

    char hex[65];
    body_sha256_hex(req, hex);
    return g_strdup(hex);
}

char *nube_sigv4_canonical_request(const NubeHttpRequest *req, const char *signed_headers,
                                   NubeError **err)
{
    if (req == NULL) {
        nube_error_setc(err, EINVAL, "AuthFailure", "No request to sign");
        return NULL;
    }
    if (!signed_headers_valid(signed_headers)) {
        nube_error_setc(
            err, EINVAL, "AuthFailure",
            "SignedHeaders '%s' must be lowercase header names, sorted, separated by ';'",
            signed_headers ? signed_headers : "");
        return NULL;
    }

    g_autofree char *query = canonical_query(req->query, err);
    if (query == NULL)
        return NULL;
    g_autofree char *headers = canonical_headers(req, signed_headers, err);
    if (headers == NULL)
        return NULL;
    g_autofree char *uri = canonical_uri(req->path);
    g_autofree char *payload = payload_hash(req);

    return g_strdup_printf("%s\n%s\n%s\n%s\n%s\n%s", req->method ? req->method : "", uri, query,
                           headers, signed_headers, payload);
}

/* ---- string to sign, signature ---- */

char *nube_sigv4_string_to_sign(const char *amz_date, const char *scope,
                                const char *canonical_request)
{
    char hash[65];
    const char *creq = canonical_request ? canonical_request : "";
    nube_sha256_hex(creq, strlen(creq), hash);
    return g_strdup_printf(SIGV4_ALGORITHM "\n%s\n%s\n%s", amz_date ? amz_date : "",
                           scope ? scope : "", hash);
}

/* HMAC-SHA256 of MSG under KEY into OUT.  FALSE if libcrypto fails. */
static gboolean hmac_sha256(const void *key, size_t key_len, const char *msg, unsigned char out[32])
{
    unsigned int len = 0;
    if (key_len > G_MAXINT)
        return FALSE;
    const unsigned char *data = (const unsigned char *) msg;
    unsigned char *md = HMAC(EVP_sha256(), key, (int) key_len, data, strlen(msg), out, &len);
    return md != NULL && len == 32;
}

static void hex_encode32(const unsigned char md[32], char out[65])
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < 32; i++) {
        out[2 * i] = digits[md[i] >> 4];
        out[2 * i + 1] = digits[md[i] & 0xf];
    }
    out[64] = '\0';
}

/* Cleanup for strings holding key material: wiped, then freed. */
static void secret_freep(char **s)
{
    if (*s != NULL) {
        OPENSSL_cleanse(*s, strlen(*s));
        g_free(*s);
    }
}

void nube_sigv4_signature(const char *secret, const char *date, const char *region,
                          const char *service, const char *string_to_sign, char out[65])
{
    /* Key derivation: kDate, kRegion, kService, kSigning, then the
     * signature; every intermediate key is wiped. */
    const char *steps[] = {
        date ? date : "",
        region ? region : "",
        service ? service : "",
        SIGV4_TERMINATOR,
        string_to_sign ? string_to_sign : "",
    };
    _cleanup_(secret_freep) char *seed = g_strconcat("AWS4", secret ? secret : "", NULL);
    unsigned char key[32];
    unsigned char next[32];
    gboolean ok = hmac_sha256(seed, strlen(seed), steps[0], key);

    for (size_t i = 1; ok && i < G_N_ELEMENTS(steps); i++) {
        ok = hmac_sha256(key, sizeof(key), steps[i], next);
        memcpy(key, next, sizeof(key));
    }
    /* On failure OUT is "", which never equals a valid signature. */
    if (ok)
        hex_encode32(key, out);
    else
        out[0] = '\0';

    OPENSSL_cleanse(key, sizeof(key));
    OPENSSL_cleanse(next, sizeof(next));
}

/* ---- timestamps ---- */

/* "YYYYMMDD'T'HHMMSS'Z'" to a UTC date, or NULL. */
static GDateTime *amz_date_parse(const char *s)
{
    if (s == NULL || strlen(s) != AMZ_DATE_LEN || s[8] != 'T' || s[15] != 'Z' ||
        !all_digits(s, 8) || !all_digits(s + 9, 6))
        return NULL;

    int v[6];
    static const int off[6] = { 0, 4, 6, 9, 11, 13 };
    static const int len[6] = { 4, 2, 2, 2, 2, 2 };
    for (int i = 0; i < 6; i++) {
        v[i] = 0;
        for (int j = 0; j < len[i]; j++)
            v[i] = v[i] * 10 + (s[off[i] + j] - '0');
    }
    /* g_date_time_new_utc() refuses out-of-range fields. */
    return g_date_time_new_utc(v[0], v[1], v[2], v[3], v[4], v[5]);
}

/* RFC 9110 IMF-fixdate "Sun, 06 Nov 1994 08:49:37 GMT", or NULL. */
static GDateTime *http_date_parse(const char *s)
{
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    char wday[4], mon[4];
    int day, year, hour, min, sec, end = -1;

    if (s == NULL ||
        sscanf(s, "%3[A-Za-z], %2d %3[A-Za-z] %4d %2d:%2d:%2d GMT%n", wday, &day, mon, &year, &hour,
               &min, &sec, &end) != 7 ||
        end < 0 || s[end] != '\0')
        return NULL;

    const char *m = strstr(months, mon);
    if (strlen(mon) != 3 || m == NULL || (m - months) % 3 != 0)
        return NULL;
    return g_date_time_new_utc(year, (int) (m - months) / 3 + 1, day, hour, min, sec);
}

/*
 * The request time from X-Amz-Date, else Date.  Returns it as an X-Amz-Date
 * string (caller frees), sets *NAME to the header used and *UNIX to the
 * time; NULL with ERR "AuthFailure" if neither header is usable.
 */
static char *request_time(const NubeHttpRequest *req, const char **name, gint64 *unix_time,
                          NubeError **err)
{
    g_autofree char *value = header_get(req, "x-amz-date");
    g_autoptr(GDateTime) dt = NULL;

    *name = "x-amz-date";
    if (value != NULL) {
        dt = amz_date_parse(value);
    } else if ((value = header_get(req, "date")) != NULL) {
        *name = "date";
        dt = http_date_parse(value);
    } else {
        nube_error_setc(
            err, EACCES, "AuthFailure",
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.");
        return NULL;
    }
    if (dt == NULL) {
        nube_error_setc(err, EACCES, "AuthFailure", "The %s header '%s' is not a valid timestamp",
                        *name, value);
        return NULL;
    }
    *unix_time = g_date_time_to_unix(dt);
    return g_date_time_format(dt, "%Y%m%dT%H%M%SZ");
}

/* ---- verification ---- */

static gboolean auth_complete(const NubeSigV4Auth *auth)
{
    return auth != NULL && auth->access_key != NULL && auth->date != NULL && auth->region != NULL &&
           auth->service != NULL && auth->signed_headers != NULL && auth->signature != NULL;
}

/* Scope and signed-header rules that do not need the secret. */
static int verify_scope(const NubeSigV4Auth *auth, const char *amz_date, const char *time_header,
                        NubeError **err)
{
    if (strcmp(auth->service, SIGV4_SERVICE) != 0)
        return nube_error_setc(err, EACCES, "AuthFailure",
                               "Credential should be scoped to correct service: '%s', not '%s'",
                               SIGV4_SERVICE, auth->service);
    if (strncmp(auth->date, amz_date, 8) != 0 || strlen(auth->date) != 8)
        return nube_error_setc(err, EACCES, "AuthFailure",
                               "Date in Credential scope '%s' does not match the request date '%s'",
                               auth->date, amz_date);
    if (!signed_headers_valid(auth->signed_headers) ||
        !signed_headers_has(auth->signed_headers, "host"))
        return nube_error_setc(err, EACCES, "AuthFailure",
                               "The 'host' header must be signed (SignedHeaders '%s')",
                               auth->signed_headers);
    if (!signed_headers_has(auth->signed_headers, time_header))
        return nube_error_setc(err, EACCES, "AuthFailure",
                               "The '%s' header must be signed (SignedHeaders '%s')", time_header,
                               auth->signed_headers);
    return 0;
}

static int verify_clock(gint64 request_time, const char *amz_date, gint64 now, int max_skew,
                        NubeError **err)
{
    gint64 skew = MAX(max_skew, 0);
    if (now > request_time + skew || now < request_time - skew)
        return nube_error_setc(
            err, EACCES, "RequestExpired",
            "Request has expired: its time '%s' is more than %d seconds away from the server time",
            amz_date, (int) skew);
    return 0;
}

/* A declared x-amz-content-sha256 must be the body's hash: the canonical
 * request trusts the header, so this is what ties the signature to the body. */
static int verify_payload(const NubeHttpRequest *req, NubeError **err)
{
    g_autofree char *declared = header_get(req, "x-amz-content-sha256");
    if (declared == NULL || strcmp(declared, UNSIGNED_PAYLOAD) == 0)
        return 0;

    char hex[65];
    body_sha256_hex(req, hex);
    if (g_ascii_strcasecmp(declared, hex) != 0)
        return nube_error_setc(err, EACCES, "AuthFailure",
                               "The x-amz-content-sha256 header does not match the request body");
    return 0;
}

/* Computes the signature the client should have sent into OUT. */
static int expected_signature(const NubeHttpRequest *req, const NubeSigV4Auth *auth,
                              const char *secret, const char *amz_date, char out[65],
                              NubeError **err)
{
    NubeError *cerr = NULL;
    g_autofree char *creq = nube_sigv4_canonical_request(req, auth->signed_headers, &cerr);
    if (creq == NULL) {
        g_autoptr(NubeError) e = cerr;
        return nube_error_setc(err, EACCES, nube_error_code(e), "%s", e->message);
    }

    g_autofree char *scope =
        g_strdup_printf("%s/%s/%s/" SIGV4_TERMINATOR, auth->date, auth->region, auth->service);
    g_autofree char *sts = nube_sigv4_string_to_sign(amz_date, scope, creq);
    nube_sigv4_signature(secret, auth->date, auth->region, auth->service, sts, out);
    return 0;
}

int nube_sigv4_verify(const NubeHttpRequest *req, const NubeSigV4Auth *auth, const char *secret,
                      gint64 now, int max_skew, NubeError **err)
{
    if (req == NULL || secret == NULL || !auth_complete(auth))
        return nube_error_setc(err, EACCES, "AuthFailure",
                               "The request has no complete AWS Signature Version 4 authorization");

    const char *time_header = NULL;
    gint64 request_unix = 0;
    g_autofree char *amz_date = request_time(req, &time_header, &request_unix, err);
    if (amz_date == NULL)
        return -EACCES;

    int r = verify_scope(auth, amz_date, time_header, err);
    if (r == 0)
        r = verify_clock(request_unix, amz_date, now, max_skew, err);
    if (r == 0)
        r = verify_payload(req, err);
    if (r < 0)
        return r;

    char expected[65];
    r = expected_signature(req, auth, secret, amz_date, expected, err);
    if (r < 0)
        return r;

    gboolean match = strlen(expected) == SIG_HEX_LEN && strlen(auth->signature) == SIG_HEX_LEN &&
                     CRYPTO_memcmp(expected, auth->signature, SIG_HEX_LEN) == 0;
    OPENSSL_cleanse(expected, sizeof(expected));
    if (!match)
        return nube_error_setc(err, EACCES, "SignatureDoesNotMatch", MSG_SIGNATURE_MISMATCH);
    return 0;
}

/* ---- signing (CLI) ---- */

static gint str_ptr_cmp(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/* Every header name of REQ, lowercased, sorted, ';'-joined; NULL if a
 * name is not a valid header name. */
static char *signed_headers_of(const NubeHttpRequest *req)
{
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    for (size_t i = 0; req->headers != NULL && i < req->n_headers; i++) {
        if (req->headers[i].name == NULL)
            return NULL;
        g_ptr_array_add(names, g_ascii_strdown(req->headers[i].name, -1));
    }
    g_ptr_array_sort(names, str_ptr_cmp);

    GString *out = g_string_new(NULL);
    for (guint i = 0; i < names->len; i++) {
        const char *name = g_ptr_array_index(names, i);
        if (i > 0 && strcmp(name, g_ptr_array_index(names, i - 1)) == 0)
            continue;
        g_string_append_printf(out, "%s%s", out->len > 0 ? ";" : "", name);
    }
    char *list = g_string_free(out, FALSE);
    if (!signed_headers_valid(list)) {
        g_free(list);
        return NULL;
    }
    return list;
}

char *nube_sigv4_sign(const NubeHttpRequest *req, const char *access_key, const char *secret,
                      const char *region, const char *service, const char *amz_date)
{
    g_autoptr(GDateTime) when = amz_date_parse(amz_date);
    if (req == NULL || access_key == NULL || secret == NULL || region == NULL || service == NULL ||
        when == NULL)
        return NULL;

    g_autofree char *signed_headers = signed_headers_of(req);
    if (signed_headers == NULL)
        return NULL;
    g_autofree char *creq = nube_sigv4_canonical_request(req, signed_headers, NULL);
    if (creq == NULL)
        return NULL;

    g_autofree char *date = g_strndup(amz_date, 8);
    g_autofree char *scope = g_strdup_printf("%s/%s/%s/" SIGV4_TERMINATOR, date, region, service);
    g_autofree char *sts = nube_sigv4_string_to_sign(amz_date, scope, creq);
    char signature[65];
    nube_sigv4_signature(secret, date, region, service, sts, signature);
    if (signature[0] == '\0')
        return NULL;

    return g_strdup_printf(SIGV4_ALGORITHM " Credential=%s/%s, SignedHeaders=%s, Signature=%s",
                           access_key, scope, signed_headers, signature);
}
