/*
 * endpoint.h: the URL nube talks to, taken apart once: the Host header to
 * send and sign, whether it is loopback (where nube may start nubed itself)
 * and the HOST:PORT to give such a nubed.
 */
#pragma once

#include "error.h"

#include <glib.h>

typedef struct {
    char *url;         /* as given */
    char *host;        /* host name or address, IPv6 without brackets */
    char *host_header; /* "host[:port]" as written in the URL */
    char *path;        /* request path, "/" when the URL has none */
    int port;          /* explicit, or the scheme's default */
    gboolean loopback; /* localhost, 127.0.0.0/8 or ::1 */
} NubeCliEndpoint;

/*
 * Parses URL (http:// or https://).  Returns a new endpoint (free with
 * nube_cli_endpoint_free()), or NULL with ERR set when the URL is malformed or
 * of another scheme.
 */
NubeCliEndpoint *nube_cli_endpoint_parse(const char *url, NubeError **err);

/* Frees EP (NULL is allowed). */
void nube_cli_endpoint_free(NubeCliEndpoint *ep);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(NubeCliEndpoint, nube_cli_endpoint_free)

/*
 * The "HOST:PORT" a nubed started for EP should listen on ("localhost" as
 * 127.0.0.1, IPv6 in brackets).  Returns a new string.
 */
char *nube_cli_endpoint_listen(const NubeCliEndpoint *ep);
