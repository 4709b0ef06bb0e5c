/*
 * account.h: accounts and their access keys.  On first start nubed creates
 * the admin account and writes its keys, mode 0600, to STATE/credentials in
 * the AWS CLI's credentials-file format (profile "nube"), and the region
 * and endpoint to STATE/config (profile "nube").
 */
#pragma once

#include "db.h"

typedef struct {
    char *id;         /* 12 digits, EC2's owner id */
    char *access_key; /* "AKIA" + 16 upper-case letters and digits */
    char *secret_key; /* 40 characters */
} NubeAccount;

void nube_account_clear(NubeAccount *acct);

/*
 * Makes sure the admin account exists (creating it on first start) and that
 * STATE_DIR/credentials and STATE_DIR/config exist (rewritten if missing).
 * Fills OUT (caller clears).  0 or -errno with ERR.
 */
int nube_account_ensure_admin(NubeDb *db, const char *state_dir, const char *region,
                              const char *endpoint, NubeAccount *out, NubeError **err);

/* The account owning ACCESS_KEY into OUT.  -ENOENT (no ERR) if unknown. */
int nube_account_by_access_key(NubeDb *db, const char *access_key, NubeAccount *out,
                               NubeError **err);
