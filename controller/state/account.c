/*
 * account.c: accounts, access keys and the AWS CLI files (see account.h).
 */
#include "account.h"
#include "fsutil.h"
#include "log.h"

#include <string.h>

void nube_account_clear(NubeAccount *acct)
{
    g_free(acct->id);
    g_free(acct->access_key);
    g_free(acct->secret_key);
    memset(acct, 0, sizeof(*acct));
}

/* LEN random characters drawn from ALPHABET (rejection sampling, no bias). */
static char *random_string(const char *alphabet, size_t len)
{
    size_t n = strlen(alphabet);
    size_t limit = 256 - (256 % n);
    GString *s = g_string_sized_new(len);
    while (s->len < len) {
        unsigned char buf[64];
        if (nube_random_bytes(buf, sizeof(buf), NULL) < 0)
            g_error("no randomness available");
        for (size_t i = 0; i < sizeof(buf) && s->len < len; i++)
            if (buf[i] < limit)
                g_string_append_c(s, alphabet[buf[i] % n]);
    }
    return g_string_free(s, FALSE);
}

static int account_load(NubeDb *db, const char *where, const char *arg, NubeAccount *out,
                        NubeError **err)
{
    g_autofree char *sql = g_strdup_printf(
        "SELECT id, access_key, secret_key FROM accounts %s ORDER BY created_at LIMIT 1", where);
    nube_db_lock(db);
    _cleanup_stmt_ sqlite3_stmt *stmt = nube_db_prepare(db, sql, err);
    int r = stmt ? 0 : -EIO;
    if (stmt != NULL && arg != NULL)
        nube_db_bind(db, stmt, "s", arg);
    if (r == 0 && (r = nube_db_step(db, stmt, err)) == 1) {
        out->id = nube_db_col_str(stmt, 0);
        out->access_key = nube_db_col_str(stmt, 1);
        out->secret_key = nube_db_col_str(stmt, 2);
        r = 0;
    } else if (r == 0) {
        r = -ENOENT;
    }
    nube_db_unlock(db);
    return r;
}

int nube_account_by_access_key(NubeDb *db, const char *access_key, NubeAccount *out,
                               NubeError **err)
{
    return account_load(db, "WHERE access_key = ?1", access_key, out, err);
}

static int account_create(NubeDb *db, NubeAccount *out, NubeError **err)
{
    out->id = random_string("0123456789", 12);
    g_autofree char *key_tail = random_string("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16);
    out->access_key = g_strconcat("AKIA", key_tail, NULL);
    out->secret_key =
        random_string("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", 40);
    int r = nube_db_exec(db, err,
                         "INSERT INTO accounts (id, access_key, secret_key, created_at) "
                         "VALUES (?1, ?2, ?3, ?4)",
                         "sssi", out->id, out->access_key, out->secret_key,
                         g_get_real_time() / G_USEC_PER_SEC);
    if (r < 0)
        return r;
    nube_info("created admin account %s with access key %s", out->id, out->access_key);
    return 0;
}

static int write_if_missing(const char *path, const char *text, NubeError **err)
{
    if (g_file_test(path, G_FILE_TEST_EXISTS))
        return 0;
    nube_info("writing %s", path);
    return nube_file_write_atomic(path, text, strlen(text), 0600, err);
}

static int write_cli_files(const char *state_dir, const NubeAccount *acct, const char *region,
                           const char *endpoint, NubeError **err)
{
    g_autofree char *cred_path = g_build_filename(state_dir, "credentials", NULL);
    g_autofree char *conf_path = g_build_filename(state_dir, "config", NULL);
    g_autofree char *cred =
        g_strdup_printf("# Written by nubed: the admin account's keys (AWS CLI format).\n"
                        "[nube]\naws_access_key_id = %s\naws_secret_access_key = %s\n",
                        acct->access_key, acct->secret_key);
    g_autofree char *conf = g_strdup_printf("# Written by nubed (AWS CLI format).\n"
                                            "[profile nube]\nregion = %s\nendpoint_url = %s\n",
                                            region, endpoint);

    int r = write_if_missing(cred_path, cred, err);
    if (r < 0)
        return r;
    return write_if_missing(conf_path, conf, err);
}

int nube_account_ensure_admin(NubeDb *db, const char *state_dir, const char *region,
                              const char *endpoint, NubeAccount *out, NubeError **err)
{
    int r = account_load(db, "", NULL, out, err);
    if (r == -ENOENT)
        r = account_create(db, out, err);
    if (r < 0)
        return r;
    return write_cli_files(state_dir, out, region, endpoint, err);
}
