/*
 * client.h: EC2 Query API requests to nubed over HTTP (libcurl), signed
 * with AWS Signature Version 4 (service "ec2").
 */
#pragma once

#include "endpoint.h"
#include "error.h"
#include "params.h"
#include "reply.h"

typedef struct NubeCliClient NubeCliClient;

/*
 * A client of the endpoint at URL signing with ACCESS_KEY and SECRET_KEY for
 * REGION (all copied).  Returns a new client (free with nube_cli_client_free()),
 * or NULL with ERR set when URL is no valid endpoint.
 */
NubeCliClient *nube_cli_client_new(const char *url, const char *region, const char *access_key,
                                   const char *secret_key, NubeError **err);

/* Frees CLIENT, wiping its secret key (NULL is allowed). */
void nube_cli_client_free(NubeCliClient *client);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(NubeCliClient, nube_cli_client_free)

/*
 * POSTs ACTION with PARAMS (may be NULL) and waits for the answer.  Returns
 * the parsed answer (caller frees), or NULL with ERR set: the EC2 error code
 * and message nubed sent, or an internal error (errnum ECONNREFUSED when
 * nothing listens at the endpoint).
 */
NubeCliReply *nube_cli_client_call(NubeCliClient *client, const char *action,
                                   const NubeCliParams *params, NubeError **err);

/*
 * Opens and closes a TCP connection to EP, to see whether anything listens.
 * Returns 0 if it does, -ECONNREFUSED if the connection failed, or another
 * negative errno, with ERR set.
 */
int nube_cli_client_probe(const NubeCliEndpoint *ep, NubeError **err);
