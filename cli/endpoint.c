/*
 * endpoint.c: parsing the endpoint URL (see endpoint.h), with libcurl's URL
 * parser so that nube and libcurl agree on what the URL means.
 */
#include "endpoint.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

typedef CURLU NubeCurlUrl;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(NubeCurlUrl, curl_url_cleanup)

/* A part of H as a GLib string (caller frees), or NULL if absent. */
static char *url_part(CURLU *h, CURLUPart part, unsigned flags)
{
    char *s = NULL;
    if (curl_url_get(h, part, &s, flags) != CURLUE_OK)
        return NULL;
    char *copy = g_strdup(s);
    curl_free(s);
    return copy;
}

static char *strip_brackets(const char *host)
{
    size_t len = strlen(host);
    if (len >= 2 && host[0] == '[' && host[len - 1] == ']')
        return g_strndup(host + 1, len - 2);
    return g_strdup(host);
}

static gboolean host_is_loopback(const char *host)
{
    struct in_addr a4;
    struct in6_addr a6;

    if (g_ascii_strcasecmp(host, "localhost") == 0)
        return TRUE;
    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, host, &a6) == 1)
        return IN6_IS_ADDR_LOOPBACK(&a6);
    return FALSE;
}

static int endpoint_fill(NubeCliEndpoint *ep, CURLU *h, NubeError **err)
{
    g_autofree char *scheme = url_part(h, CURLUPART_SCHEME, 0);
    if (scheme == NULL || (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0))
        return nube_error_set(err, EINVAL, "endpoint URL '%s' is not http:// or https://", ep->url);

    g_autofree char *host = url_part(h, CURLUPART_HOST, 0);
    g_autofree char *port = url_part(h, CURLUPART_PORT, CURLU_DEFAULT_PORT);
    g_autofree char *explicit_port = url_part(h, CURLUPART_PORT, 0);
    if (host == NULL || *host == '\0' || port == NULL)
        return nube_error_set(err, EINVAL, "endpoint URL '%s' has no host", ep->url);

    ep->host = strip_brackets(host);
    ep->host_header =
        explicit_port ? g_strdup_printf("%s:%s", host, explicit_port) : g_strdup(host);
    ep->port = atoi(port);
    ep->loopback = host_is_loopback(ep->host);
    ep->path = url_part(h, CURLUPART_PATH, 0);
    if (ep->path == NULL || *ep->path == '\0') {
        g_free(ep->path);
        ep->path = g_strdup("/");
    }
    return 0;
}

NubeCliEndpoint *nube_cli_endpoint_parse(const char *url, NubeError **err)
{
    g_autoptr(NubeCliEndpoint) ep = g_new0(NubeCliEndpoint, 1);
    ep->url = g_strdup(url);

    g_autoptr(NubeCurlUrl) h = curl_url();
    if (h == NULL) {
        nube_error_set(err, ENOMEM, "out of memory");
        return NULL;
    }
    CURLUcode rc = curl_url_set(h, CURLUPART_URL, url, 0);
    if (rc != CURLUE_OK) {
        nube_error_set(err, EINVAL, "invalid endpoint URL '%s': %s", url, curl_url_strerror(rc));
        return NULL;
    }
    if (endpoint_fill(ep, h, err) < 0)
        return NULL;
    return g_steal_pointer(&ep);
}

void nube_cli_endpoint_free(NubeCliEndpoint *ep)
{
    if (ep == NULL)
        return;
    g_free(ep->url);
    g_free(ep->host);
    g_free(ep->host_header);
    g_free(ep->path);
    g_free(ep);
}

char *nube_cli_endpoint_listen(const NubeCliEndpoint *ep)
{
    if (g_ascii_strcasecmp(ep->host, "localhost") == 0)
        return g_strdup_printf("127.0.0.1:%d", ep->port);
    if (strchr(ep->host, ':') != NULL)
        return g_strdup_printf("[%s]:%d", ep->host, ep->port);
    return g_strdup_printf("%s:%d", ep->host, ep->port);
}
