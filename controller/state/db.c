/*
 * db.c: SQLite state (see db.h).
 */
#include "db.h"
#include "log.h"
#include "nube-schemas.h"

#include <gio/gio.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

struct NubeDb {
    sqlite3 *conn;
    GRecMutex lock;
};

int nube_db_error(NubeDb *db, const char *what, NubeError **err)
{
    int rc = sqlite3_extended_errcode(db->conn);
    int e = EIO;
    if ((rc & 0xff) == SQLITE_CONSTRAINT)
        e = EEXIST;
    else if ((rc & 0xff) == SQLITE_BUSY)
        e = EBUSY;
    else if ((rc & 0xff) == SQLITE_NOMEM)
        e = ENOMEM;
    return nube_error_set(err, e, "%s: sqlite: %s", what, sqlite3_errmsg(db->conn));
}

void nube_db_lock(NubeDb *db)
{
    g_rec_mutex_lock(&db->lock);
}

void nube_db_unlock(NubeDb *db)
{
    g_rec_mutex_unlock(&db->lock);
}

sqlite3_stmt *nube_db_prepare(NubeDb *db, const char *sql, NubeError **err)
{
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(db->conn, sql, -1, &stmt, NULL) != SQLITE_OK) {
        nube_db_error(db, "prepare", err);
        return NULL;
    }
    return stmt;
}

static int bind_va(sqlite3_stmt *stmt, const char *fmt, va_list ap)
{
    for (int i = 0; fmt != NULL && fmt[i] != '\0'; i++) {
        int rc = SQLITE_OK;
        if (fmt[i] == 's') {
            const char *s = va_arg(ap, const char *);
            rc = s ? sqlite3_bind_text(stmt, i + 1, s, -1, SQLITE_TRANSIENT)
                   : sqlite3_bind_null(stmt, i + 1);
        } else if (fmt[i] == 'i') {
            rc = sqlite3_bind_int64(stmt, i + 1, va_arg(ap, gint64));
        } else if (fmt[i] == 'b') {
            GBytes *b = va_arg(ap, GBytes *);
            gsize n = 0;
            const void *p = b ? g_bytes_get_data(b, &n) : NULL;
            rc = b ? sqlite3_bind_blob(stmt, i + 1, p ? p : "", (int) n, SQLITE_TRANSIENT)
                   : sqlite3_bind_null(stmt, i + 1);
        } else {
            g_assert_not_reached();
        }
        if (rc != SQLITE_OK)
            return rc;
    }
    return SQLITE_OK;
}

int nube_db_bind(NubeDb *db, sqlite3_stmt *stmt, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = bind_va(stmt, fmt, ap);
    va_end(ap);
    return rc == SQLITE_OK ? 0 : -EINVAL;
}

int nube_db_step(NubeDb *db, sqlite3_stmt *stmt, NubeError **err)
{
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_DONE)
        return 0;
    return nube_db_error(db, "step", err);
}

int nube_db_exec(NubeDb *db, NubeError **err, const char *sql, const char *fmt, ...)
{
    nube_db_lock(db);
    _cleanup_stmt_ sqlite3_stmt *stmt = nube_db_prepare(db, sql, err);
    int r = -EIO;
    if (stmt != NULL) {
        va_list ap;
        va_start(ap, fmt);
        int rc = bind_va(stmt, fmt, ap);
        va_end(ap);
        if (rc != SQLITE_OK)
            r = nube_db_error(db, "bind", err);
        else if ((r = nube_db_step(db, stmt, err)) >= 0)
            r = sqlite3_changes(db->conn);
    }
    nube_db_unlock(db);
    return r;
}

GPtrArray *nube_db_select(NubeDb *db, NubeError **err, NubeDbRowFn row, GDestroyNotify free_fn,
                          const char *sql, const char *fmt, ...)
{
    g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func(free_fn);
    nube_db_lock(db);
    _cleanup_stmt_ sqlite3_stmt *stmt = nube_db_prepare(db, sql, err);
    int r = stmt ? 0 : -EIO;
    if (stmt != NULL) {
        va_list ap;
        va_start(ap, fmt);
        if (bind_va(stmt, fmt, ap) != SQLITE_OK)
            r = nube_db_error(db, "bind", err);
        va_end(ap);
    }
    while (r == 0 && (r = nube_db_step(db, stmt, err)) == 1) {
        g_ptr_array_add(out, row(stmt));
        r = 0;
    }
    nube_db_unlock(db);
    return r < 0 ? NULL : g_steal_pointer(&out);
}

char *nube_db_col_str(sqlite3_stmt *stmt, int col)
{
    const unsigned char *s = sqlite3_column_text(stmt, col);
    return s ? g_strdup((const char *) s) : NULL;
}

static int exec_script(NubeDb *db, const char *sql, NubeError **err)
{
    char *msg = NULL;
    if (sqlite3_exec(db->conn, sql, NULL, NULL, &msg) != SQLITE_OK) {
        int r = nube_error_set(err, EIO, "sqlite: %s", msg ? msg : "error");
        sqlite3_free(msg);
        return r;
    }
    return 0;
}

int nube_db_begin(NubeDb *db, NubeError **err)
{
    return exec_script(db, "BEGIN IMMEDIATE", err);
}

int nube_db_commit(NubeDb *db, NubeError **err)
{
    return exec_script(db, "COMMIT", err);
}

void nube_db_rollback(NubeDb *db)
{
    sqlite3_exec(db->conn, "ROLLBACK", NULL, NULL, NULL);
}

int nube_db_schema_version(NubeDb *db)
{
    _cleanup_stmt_ sqlite3_stmt *stmt = nube_db_prepare(db, "PRAGMA user_version", NULL);
    if (stmt == NULL || sqlite3_step(stmt) != SQLITE_ROW)
        return -1;
    return sqlite3_column_int(stmt, 0);
}

static int migration_number(const char *name)
{
    return (int) strtol(name, NULL, 10);
}

static gint compare_names(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *) a, *(const char *const *) b);
}

static int apply_migration(NubeDb *db, const char *name, int number, NubeError **err)
{
    g_autofree char *path = g_strdup_printf("/org/nube/schemas/migrations/%s", name);
    g_autoptr(GBytes) sql = g_resources_lookup_data(path, 0, NULL);
    if (sql == NULL)
        return nube_error_set(err, ENOENT, "migration '%s' missing", name);

    g_autofree char *script = g_strndup(g_bytes_get_data(sql, NULL), g_bytes_get_size(sql));
    g_autofree char *version = g_strdup_printf("PRAGMA user_version = %d", number);
    if (nube_db_begin(db, err) < 0)
        return -EIO;
    if (exec_script(db, script, err) < 0 || exec_script(db, version, err) < 0) {
        nube_db_rollback(db);
        return nube_error_prefix(err, "migration '%s'", name);
    }
    nube_info("database: applied migration %s", name);
    return nube_db_commit(db, err);
}

static int migrate(NubeDb *db, NubeError **err)
{
    /* Referencing the resource keeps its object (and the constructor that
     * registers it) in the link of every program using libnubed. */
    (void) nube_schemas_get_resource();
    g_auto(GStrv) names = g_resources_enumerate_children("/org/nube/schemas/migrations", 0, NULL);
    if (names == NULL)
        return nube_error_set(err, ENOENT, "no migrations compiled in");

    qsort(names, g_strv_length(names), sizeof(char *), compare_names);
    int current = nube_db_schema_version(db);
    for (size_t i = 0; names[i] != NULL; i++) {
        int n = migration_number(names[i]);
        if (n <= current)
            continue;
        int r = apply_migration(db, names[i], n, err);
        if (r < 0)
            return r;
    }
    return 0;
}

NubeDb *nube_db_open(const char *path, NubeError **err)
{
    g_autofree NubeDb *db = g_new0(NubeDb, 1);
    g_rec_mutex_init(&db->lock);

    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX;
    if (sqlite3_open_v2(path, &db->conn, flags, NULL) != SQLITE_OK) {
        nube_error_set(err, EIO, "open database '%s': %s", path,
                       db->conn ? sqlite3_errmsg(db->conn) : "out of memory");
        sqlite3_close(db->conn);
        return NULL;
    }
    sqlite3_busy_timeout(db->conn, 5000);
    if (exec_script(db,
                    "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON;"
                    "PRAGMA synchronous = NORMAL;",
                    err) < 0 ||
        migrate(db, err) < 0) {
        nube_error_prefix(err, "database '%s'", path);
        sqlite3_close(db->conn);
        return NULL;
    }
    return g_steal_pointer(&db);
}

void nube_db_close(NubeDb *db)
{
    if (db == NULL)
        return;
    sqlite3_close(db->conn);
    g_rec_mutex_clear(&db->lock);
    g_free(db);
}
