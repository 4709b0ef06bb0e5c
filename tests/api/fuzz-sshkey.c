/*
 * fuzz-sshkey.c: libFuzzer target for nube_sshkey_import(), the parser of
 * ImportKeyPair's untrusted public keys.  A key it accepts must import
 * again, from the line it stores, to the same key and fingerprint.
 */
#include "sshkey.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    g_auto(NubeSshKey) key = { 0 };
    if (nube_sshkey_import((const char *) data, size, &key, NULL) < 0)
        return 0;
    g_auto(NubeSshKey) again = { 0 };
    g_assert(nube_sshkey_import(key.public_key, strlen(key.public_key), &again, NULL) == 0);
    g_assert(g_str_equal(key.public_key, again.public_key));
    g_assert(g_str_equal(key.fingerprint, again.fingerprint));
    g_assert(key.private_pem == NULL);
    return 0;
}
