/*
 * client.c: signed EC2 Query API requests over libcurl (see client.h).
 * This file is the one wrapper of libcurl's errors.
 */
#include "client.h"

#include "log.h"
#include "sigv4.h"

#include <curl/curl.h>
#include <string.h>

#define CONTENT_TYPE      "application/x-www-form-urlencoded; charset=utf-8"
#define MAX_ANSWER        (64u << 20)
#define CONNECT_TIMEOUT_S 10L

struct NubeCliClient {
    NubeCliEndpoint *endpoint;
    char *region;
    char *access_key;
    char *secret_key;
};

typedef CURL NubeCurl;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(NubeCurl, curl_easy_cleanup)
typedef struct curl_slist NubeCurlList;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(NubeCurlList, curl_slist_free_all)

NubeCliClient *nube_cli_client_new(const char *url, const char *region, const char *access_key,
                                   const char *secret_key, NubeError **err)
{
    NubeCliEndpoint *ep = nube_cli_endpoint_parse(url, err);
    if (ep == NULL)
        return NULL;
    NubeCliClient *client = g_new0(NubeCliClient, 1);
    client->endpoint = ep;
    client->region = g_strdup(region);
    client->access_key = g_strdup(access_key);
    client->secret_key = g_strdup(secret_key);
    return client;
}

void nube_cli_client_free(NubeCliClient *client)
{
    if (client == NULL)
        return;
    nube_cli_endpoint_free(client->endpoint);
    g_free(client->region);
    g_free(client->access_key);
    if (client->secret_key)
        explicit_bzero(client->secret_key, strlen(client->secret_key));
    g_free(client->secret_key);
    g_free(client);
}

/* Maps a libcurl failure to the project's error. */
static int curl_error(NubeError **err, const NubeCliEndpoint *ep, CURLcode rc, const char *detail)
{
    int errnum = rc == CURLE_COULDNT_CONNECT      ? ECONNREFUSED
                 : rc == CURLE_OPERATION_TIMEDOUT ? ETIMEDOUT
                 : rc == CURLE_OUT_OF_MEMORY      ? ENOMEM
                                                  : EIO;
    return nube_error_set(err, errnum, "cannot reach nubed at '%s': %s", ep->url,
                          detail && *detail ? detail : curl_easy_strerror(rc));
}

/* A curl handle for EP with the settings every request shares. */
static NubeCurl *curl_for(const NubeCliEndpoint *ep, char *errbuf)
{
    CURL *curl = curl_easy_init();
    if (curl == NULL)
        return NULL;
    curl_easy_setopt(curl, CURLOPT_URL, ep->url);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT_S);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    if (ep->loopback)
        curl_easy_setopt(curl, CURLOPT_PROXY, "");
    return curl;
}

static size_t collect(char *data, size_t size, size_t n, void *user)
{
    GByteArray *body = user;
    if (body->len + size * n > MAX_ANSWER)
        return 0;
    g_byte_array_append(body, (const guint8 *) data, (guint) (size * n));
    return size * n;
}

static char *amz_date_now(void)
{
    g_autoptr(GDateTime) now = g_date_time_new_now_utc();
    return g_date_time_format(now, "%Y%m%dT%H%M%SZ");
}

/* The request headers, Authorization included, for BODY. */
static NubeCurlList *signed_headers(const NubeCliClient *client, const char *body)
{
    g_autofree char *amz_date = amz_date_now();
    const NubeHttpHeader headers[] = {
        { "Content-Type", CONTENT_TYPE },
        { "Host", client->endpoint->host_header },
        { "X-Amz-Date", amz_date },
    };
    const NubeHttpRequest req = {
        .method = "POST",
        .path = client->endpoint->path,
        .query = NULL,
        .headers = headers,
        .n_headers = G_N_ELEMENTS(headers),
        .body = body,
        .body_len = strlen(body),
    };
    g_autofree char *auth = nube_sigv4_sign(&req, client->access_key, client->secret_key,
                                            client->region, "ec2", amz_date);
    struct curl_slist *list = NULL;
    for (size_t i = 0; i < G_N_ELEMENTS(headers); i++) {
        g_autofree char *line = g_strdup_printf("%s: %s", headers[i].name, headers[i].value);
        list = curl_slist_append(list, line);
    }
    g_autofree char *auth_line = g_strdup_printf("Authorization: %s", auth ? auth : "");
    list = curl_slist_append(list, auth_line);
    return curl_slist_append(list, "Expect:");
}

/* Turns a non-2xx answer into ERR. */
static int answer_error(const NubeCliEndpoint *ep, long status, GByteArray *body, NubeError **err)
{
    g_autoptr(NubeError) parse_err = NULL;
    g_autoptr(NubeCliReply) reply =
        nube_cli_reply_parse((const char *) body->data, body->len, &parse_err);
    if (reply != NULL && nube_cli_reply_error(reply, err) < 0)
        return -EIO;
    g_autofree char *text =
        g_utf8_make_valid(body->len ? (const char *) body->data : "", MIN(body->len, 200));
    g_strstrip(text);
    return nube_error_set(err, EIO, "HTTP %ld from '%s'%s%s", status, ep->url, *text ? ": " : "",
                          text);
}

static NubeCliReply *answer_parse(const NubeCliEndpoint *ep, long status, GByteArray *body,
                                  NubeError **err)
{
    nube_debug("HTTP %ld: %.*s", status, (int) MIN(body->len, 4096),
               body->len ? (const char *) body->data : "");
    if (status < 200 || status > 299) {
        answer_error(ep, status, body, err);
        return NULL;
    }
    NubeCliReply *reply = nube_cli_reply_parse((const char *) body->data, body->len, err);
    if (reply == NULL)
        nube_error_prefix(err, "answer from '%s'", ep->url);
    return reply;
}

NubeCliReply *nube_cli_client_call(NubeCliClient *client, const char *action,
                                   const NubeCliParams *params, NubeError **err)
{
    char errbuf[CURL_ERROR_SIZE] = "";
    g_autoptr(NubeCliParams) none = params ? NULL : nube_cli_params_new();
    g_autofree char *body = nube_cli_params_encode(params ? params : none, action);
    g_autoptr(NubeCurlList) headers = signed_headers(client, body);
    g_autoptr(GByteArray) answer = g_byte_array_new();
    g_autoptr(NubeCurl) curl = curl_for(client->endpoint, errbuf);
    long status = 0;

    if (curl == NULL) {
        nube_error_set(err, ENOMEM, "cannot create a libcurl handle");
        return NULL;
    }
    nube_debug("POST %s %s", client->endpoint->url, body);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) strlen(body));
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, answer);

    CURLcode rc = curl_easy_perform(curl);
    if (rc != CURLE_OK) {
        curl_error(err, client->endpoint, rc, errbuf);
        return NULL;
    }
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    return answer_parse(client->endpoint, status, answer, err);
}

int nube_cli_client_probe(const NubeCliEndpoint *ep, NubeError **err)
{
    char errbuf[CURL_ERROR_SIZE] = "";
    g_autoptr(NubeCurl) curl = curl_for(ep, errbuf);
    if (curl == NULL)
        return nube_error_set(err, ENOMEM, "cannot create a libcurl handle");

    curl_easy_setopt(curl, CURLOPT_CONNECT_ONLY, 1L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 2L);
    CURLcode rc = curl_easy_perform(curl);
    if (rc != CURLE_OK)
        return curl_error(err, ep, rc, errbuf);
    return 0;
}
