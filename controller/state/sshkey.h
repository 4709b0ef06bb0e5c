/*
 * sshkey.h: SSH keys as EC2 handles them.  New key pairs are made with
 * libcrypto: RSA 2048 with its private key as a PKCS#1 PEM ("BEGIN RSA
 * PRIVATE KEY"), Ed25519 with its private key in OpenSSH's own format
 * ("BEGIN OPENSSH PRIVATE KEY", PROTOCOL.key, unencrypted).  Imported
 * OpenSSH public keys are read strictly.  Fingerprints are EC2's:
 *   - RSA made here: SHA-1 of the DER PKCS#8 private key, colon hex;
 *   - RSA imported: MD5 of the DER SubjectPublicKeyInfo, colon hex;
 *   - Ed25519 (both): base64 of the SHA-256 of the public key blob, with
 *     the '=' padding EC2 shows (ssh-keygen -l shows the same digest
 *     without it, after "SHA256:").
 */
#pragma once

#include "error.h"

#include <glib.h>

typedef enum {
    NUBE_SSHKEY_RSA,
    NUBE_SSHKEY_ED25519,
} NubeSshKeyType;

/* RSA keys made here, and the smallest RSA key accepted on import. */
#define NUBE_SSHKEY_RSA_BITS     2048
#define NUBE_SSHKEY_RSA_MIN_BITS 2048
#define NUBE_SSHKEY_RSA_MAX_BITS 16384

typedef struct {
    NubeSshKeyType type;
    char *public_key;  /* "ssh-ed25519 AAAA…" or "ssh-rsa AAAA…", no comment */
    char *fingerprint; /* as EC2 shows it */
    char *private_pem; /* the private key (nube_sshkey_generate only), else NULL */
} NubeSshKey;

/* Frees KEY's strings, wiping the private key first. */
void nube_sshkey_clear(NubeSshKey *key);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(NubeSshKey, nube_sshkey_clear)

/* "rsa" or "ed25519". */
const char *nube_sshkey_type_name(NubeSshKeyType type);

/* EC2's KeyType value NAME ("rsa", "ed25519") into *OUT.  0 or -EINVAL. */
int nube_sshkey_type_parse(const char *name, NubeSshKeyType *out);

/*
 * Makes a new key pair of TYPE; COMMENT (may be NULL) goes into an Ed25519
 * private key.  Fills OUT (caller clears).  0 or -errno with ERR.
 */
int nube_sshkey_generate(NubeSshKeyType type, const char *comment, NubeSshKey *out,
                         NubeError **err);

/*
 * Reads one OpenSSH public key line "ssh-ed25519|ssh-rsa BASE64 [COMMENT]"
 * (LEN bytes of TEXT, a final line break allowed; no options, no other
 * lines).  The blob must be exactly what its type says: the type string
 * again, then the 32-byte Ed25519 key, or RSA's e and n as canonical
 * positive mpints with an odd e >= 3 and an odd n of at least
 * NUBE_SSHKEY_RSA_MIN_BITS bits, and nothing after.  Fills OUT without
 * private_pem (caller clears).  0, or -EINVAL with "InvalidKey.Format"
 * (or "InvalidParameterValue" for an RSA key that is too small or large).
 */
int nube_sshkey_import(const char *text, size_t len, NubeSshKey *out, NubeError **err);
