/*
 * sigv4.h: AWS Signature Version 4 (HMAC-SHA256), for signing requests in
 * the CLI and checking them in nubed.  Shared so both sides compute the
 * canonical request the same way.
 */
#pragma once

#include "error.h"

#include <stddef.h>

typedef struct {
    const char *name;  /* as received; compared case-insensitively */
    const char *value; /* as received; trimmed and space-collapsed here */
} NubeHttpHeader;

typedef struct {
    const char *method; /* "POST" */
    const char *path;   /* raw path, e.g. "/" */
    const char *query;  /* raw query string without '?', or NULL */
    const NubeHttpHeader *headers;
    size_t n_headers;
    const void *body;
    size_t body_len;
} NubeHttpRequest;

/* What the Authorization header says. */
typedef struct {
    char *access_key;
    char *date; /* YYYYMMDD of the credential scope */
    char *region;
    char *service;
    char *signed_headers; /* "content-type;host;x-amz-date" */
    char *signature;      /* 64 lowercase hex digits */
} NubeSigV4Auth;

/* Frees AUTH's strings and zeroes it (AUTH may be NULL or already clear). */
void nube_sigv4_auth_clear(NubeSigV4Auth *auth);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(NubeSigV4Auth, nube_sigv4_auth_clear)

/*
 * Parses an "AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…"
 * header value into AUTH, which must start zeroed (`g_auto(NubeSigV4Auth)
 * auth = { 0 };`); the caller clears it.  Returns 0, or -EINVAL with ERR
 * code "IncompleteSignature" (empty header, a parameter missing, repeated,
 * unknown or not Key=Value) or "AuthFailure" (another algorithm, a
 * credential scope that is not KEY/YYYYMMDD/region/service/aws4_request,
 * SignedHeaders not lowercase/sorted/unique, a Signature that is not 64
 * lowercase hex digits); AUTH is then left untouched.
 */
int nube_sigv4_parse_authorization(const char *value, NubeSigV4Auth *auth, NubeError **err);

/*
 * The canonical request for REQ with the given signed headers (";"-joined
 * lowercase names, sorted).  The path is normalized ("." / ".." / empty
 * segments) and each segment URI-encoded as given; query parameters are
 * decoded like a form ('+' is a space, as query.c does) and re-encoded with
 * nube_uri_encode().  Payload hash: the x-amz-content-sha256 header if
 * present and not UNSIGNED-PAYLOAD, else sha256(body).  Returns a new string
 * (caller frees), or NULL with ERR set: code "AuthFailure" when a signed
 * header is missing or SIGNED_HEADERS is malformed, "MalformedQueryString"
 * when the query cannot be decoded.
 */
char *nube_sigv4_canonical_request(const NubeHttpRequest *req, const char *signed_headers,
                                   NubeError **err);

/* The string to sign for AMZ_DATE (YYYYMMDD'T'HHMMSS'Z') and SCOPE
 * ("date/region/service/aws4_request").  Returns a new string. */
char *nube_sigv4_string_to_sign(const char *amz_date, const char *scope,
                                const char *canonical_request);

/* Hex signature (65 bytes with NUL) of STRING_TO_SIGN into OUT; OUT is ""
 * (never a valid signature) if libcrypto fails. */
void nube_sigv4_signature(const char *secret, const char *date, const char *region,
                          const char *service, const char *string_to_sign, char out[65]);

/*
 * Checks REQ's SigV4 signature against SECRET.  NOW is the current Unix time;
 * requests whose X-Amz-Date (or Date) is more than MAX_SKEW seconds away are
 * refused with "RequestExpired" (EC2 allows 300).  AUTH is the parsed
 * Authorization header; the caller has looked SECRET up by AUTH->access_key
 * and checks AUTH->region itself.  Also refused with "AuthFailure": a
 * service other than "ec2", a scope date that is not X-Amz-Date's, "host"
 * or the date header not signed, a signed header missing from REQ, an
 * x-amz-content-sha256 that is not the body's hash.  Signatures are compared
 * in constant time.  Returns 0 if the signature matches, else -EACCES with
 * ERR code "SignatureDoesNotMatch", "AuthFailure", "RequestExpired" or
 * "MalformedQueryString".
 */
int nube_sigv4_verify(const NubeHttpRequest *req, const NubeSigV4Auth *auth, const char *secret,
                      gint64 now, int max_skew, NubeError **err);

/*
 * Signs a request for the CLI: returns the Authorization header value
 * (caller frees) for REQ, whose headers must already contain Host and
 * X-Amz-Date (AMZ_DATE); all of REQ's headers are signed.  Returns NULL if
 * an argument is NULL, AMZ_DATE is not YYYYMMDD'T'HHMMSS'Z', REQ has no
 * headers or a header without a name, or its query cannot be decoded.
 */
char *nube_sigv4_sign(const NubeHttpRequest *req, const char *access_key, const char *secret,
                      const char *region, const char *service, const char *amz_date);
