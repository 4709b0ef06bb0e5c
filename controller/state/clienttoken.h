/*
 * clienttoken.h: RunInstances' client tokens (table client_tokens): each
 * account's token, the digest of the parameters of the request that used
 * it and the reservation that request made, so a retry with the same token
 * gets that reservation instead of new instances.
 */
#pragma once

#include "db.h"

/* Longest token, in ASCII characters (EC2's limit). */
#define NUBE_CLIENT_TOKEN_MAX 64

/*
 * Looks up OWNER_ID's TOKEN.  Returns 1 and sets *DIGEST and
 * *RESERVATION_ID (new strings, caller frees) if it is known, 0 if not,
 * -errno with ERR if the database fails.  Takes the database lock.
 */
int nube_client_token_find(NubeDb *db, const char *owner_id, const char *token, char **digest,
                           char **reservation_id, NubeError **err);

/*
 * Records OWNER_ID's TOKEN for the request of DIGEST that made
 * RESERVATION_ID.  The caller holds the database lock and the transaction
 * that records the reservation's instances.  0, or -EALREADY with ERR
 * "IdempotentParameterMismatch" if the account has the token already (a
 * request with it got there first), -errno with ERR otherwise.
 */
int nube_client_token_insert(NubeDb *db, const char *owner_id, const char *token,
                             const char *digest, const char *reservation_id, NubeError **err);
