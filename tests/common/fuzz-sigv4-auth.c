/*
 * fuzz-sigv4-auth.c: libFuzzer target for the SigV4 code nubed runs on
 * client input.  The input's first line is the Authorization header; the
 * next lines are the method, path, query and "Name:value" headers; after a
 * blank line comes the body.
 */
#include "sigv4.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_HEADERS 16

typedef struct {
    char *authorization;
    NubeHttpRequest req;
    NubeHttpHeader headers[MAX_HEADERS];
} FuzzRequest;

/* Splits TEXT (edited in place) into FR. */
static void fuzz_request_split(char *text, FuzzRequest *fr)
{
    char *body = strstr(text, "\n\n");
    if (body != NULL) {
        *body = '\0';
        fr->req.body = body + 2;
        fr->req.body_len = strlen(body + 2);
    }

    char *fields[3] = { NULL, NULL, NULL };
    char *line = text;
    for (int i = 0; line != NULL; i++) {
        char *next = strchr(line, '\n');
        if (next != NULL)
            *next++ = '\0';
        if (i == 0)
            fr->authorization = line;
        else if (i <= 3)
            fields[i - 1] = line;
        else if (fr->req.n_headers < MAX_HEADERS) {
            char *colon = strchr(line, ':');
            if (colon != NULL)
                *colon++ = '\0';
            fr->headers[fr->req.n_headers++] = (NubeHttpHeader){ line, colon };
        }
        line = next;
    }
    fr->req.method = fields[0];
    fr->req.path = fields[1];
    fr->req.query = fields[2];
    fr->req.headers = fr->headers;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    g_autofree char *text = g_strndup((const char *) data, size);
    FuzzRequest fr = { 0 };
    fuzz_request_split(text, &fr);

    g_auto(NubeSigV4Auth) auth = { 0 };
    g_autoptr(NubeError) err = NULL;
    if (nube_sigv4_parse_authorization(fr.authorization, &auth, &err) == 0) {
        g_autofree char *creq = nube_sigv4_canonical_request(&fr.req, auth.signed_headers, NULL);
        g_assert(creq == NULL || strstr(creq, auth.signed_headers) != NULL);
        /* A random input that passes verification is a forgery. */
        g_assert(nube_sigv4_verify(&fr.req, &auth, "secret", 1714558830, 300, NULL) != 0);
    }

    g_autofree char *signed_authz =
        nube_sigv4_sign(&fr.req, "AKID", "secret", "r", "ec2", "20240501T102030Z");
    g_assert(signed_authz == NULL || g_str_has_prefix(signed_authz, "AWS4-HMAC-SHA256 "));
    return 0;
}
