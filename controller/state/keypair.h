/*
 * keypair.h: EC2 key pair records.  Only the public key is kept; the
 * private key of CreateKeyPair is answered once and never stored.  Names
 * are unique per owner.
 */
#pragma once

#include "db.h"

typedef struct {
    char *id; /* key-… */
    char *owner_id;
    char *name;
    char *key_type;    /* "rsa" or "ed25519" */
    char *fingerprint; /* as EC2 shows it (sshkey.h) */
    char *public_key;  /* OpenSSH "TYPE BASE64", no comment */
    gint64 created_at;
    GPtrArray *tags; /* NubeTag; filled by get/list */
} NubeKeyPair;

void nube_keypair_free(NubeKeyPair *kp);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(NubeKeyPair, nube_keypair_free)

/* Checks an EC2 key name: 1 to 255 printable ASCII characters.  0 or
 * -EINVAL with "InvalidParameterValue". */
int nube_keypair_name_check(const char *name, NubeError **err);

/* Inserts KP with TAGS (may be NULL), atomically.  A name the owner already
 * uses gives "InvalidKeyPair.Duplicate".  0 or -errno with ERR. */
int nube_keypair_insert(NubeDb *db, const NubeKeyPair *kp, const GPtrArray *tags, NubeError **err);

/* OWNER's key pair NAME, NULL with "InvalidKeyPair.NotFound" if none. */
NubeKeyPair *nube_keypair_by_name(NubeDb *db, const char *owner, const char *name, NubeError **err);

/* OWNER's key pair ID, NULL with "InvalidKeyPair.NotFound" if none. */
NubeKeyPair *nube_keypair_get(NubeDb *db, const char *owner, const char *id, NubeError **err);

/* OWNER's key pairs by name (array of NubeKeyPair), NULL with ERR. */
GPtrArray *nube_keypair_list(NubeDb *db, const char *owner, NubeError **err);

/* Deletes key pair ID and its tags.  0 or -errno with ERR. */
int nube_keypair_delete(NubeDb *db, const char *id, NubeError **err);

/* "TYPE BASE64 NAME": the public key as EC2 shows it and as it goes into
 * authorized_keys (caller frees). */
char *nube_keypair_public_line(const NubeKeyPair *kp);
