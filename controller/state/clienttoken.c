/*
 * clienttoken.c: RunInstances' client tokens (see clienttoken.h).
 */
#include "clienttoken.h"

int nube_client_token_find(NubeDb *db, const char *owner_id, const char *token, char **digest,
                           char **reservation_id, NubeError **err)
{
    nube_db_lock(db);
    _cleanup_stmt_ sqlite3_stmt *stmt =
        nube_db_prepare(db,
                        "SELECT request_digest, reservation_id FROM client_tokens "
                        "WHERE owner_id = ?1 AND token = ?2",
                        err);
    int r = stmt ? nube_db_bind(db, stmt, "ss", owner_id, token) : -EIO;
    if (r == 0)
        r = nube_db_step(db, stmt, err);
    if (r == 1) {
        *digest = nube_db_col_str(stmt, 0);
        *reservation_id = nube_db_col_str(stmt, 1);
    }
    nube_db_unlock(db);
    return r;
}

int nube_client_token_insert(NubeDb *db, const char *owner_id, const char *token,
                             const char *digest, const char *reservation_id, NubeError **err)
{
    NubeError *e = NULL;
    int r = nube_db_exec(db, &e,
                         "INSERT INTO client_tokens (owner_id, token, request_digest, "
                         "reservation_id, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                         "ssssi", owner_id, token, digest, reservation_id,
                         g_get_real_time() / G_USEC_PER_SEC);
    if (r == -EEXIST) {
        g_clear_pointer(&e, nube_error_free);
        return nube_error_setc(err, EALREADY, "IdempotentParameterMismatch",
                               "The client token '%s' is in use by another request.", token);
    }
    return r < 0 ? nube_error_propagate(err, e) : 0;
}
