/*
 * db.h: nubed's SQLite database: the truth for what users asked for.
 * WAL, foreign keys, prepared statements only.  One connection shared by
 * the daemon's threads under a recursive lock; a caller that needs several
 * statements to be atomic holds nube_db_lock() across a transaction.
 * This file is the one place that converts SQLite errors.
 */
#pragma once

#include "error.h"

#include <glib.h>
#include <sqlite3.h>

typedef struct NubeDb NubeDb;

/*
 * Opens (creating) the database at PATH and applies the migrations compiled
 * in from schemas/migrations that it has not seen yet, each in one
 * transaction.  NULL with ERR on failure.
 */
NubeDb *nube_db_open(const char *path, NubeError **err);
void nube_db_close(NubeDb *db);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(NubeDb, nube_db_close)

/* Schema version after migrations (PRAGMA user_version). */
int nube_db_schema_version(NubeDb *db);

void nube_db_lock(NubeDb *db);
void nube_db_unlock(NubeDb *db);

/* BEGIN IMMEDIATE / COMMIT / ROLLBACK.  The caller holds the lock. */
int nube_db_begin(NubeDb *db, NubeError **err);
int nube_db_commit(NubeDb *db, NubeError **err);
void nube_db_rollback(NubeDb *db);

/* A prepared statement for SQL (caller finalizes, e.g. with g_autoptr). */
sqlite3_stmt *nube_db_prepare(NubeDb *db, const char *sql, NubeError **err);

/*
 * Binds ARGS to STMT: a format of one character per parameter,
 * 's' (const char *, NULL binds NULL), 'i' (gint64), 'b' (GBytes *, NULL binds NULL).
 */
int nube_db_bind(NubeDb *db, sqlite3_stmt *stmt, const char *fmt, ...);

/*
 * Runs a statement that returns no rows: prepare SQL, bind per FMT, step.
 * Returns the number of changed rows (>= 0) or -errno with ERR.
 */
int nube_db_exec(NubeDb *db, NubeError **err, const char *sql, const char *fmt, ...);

/* Makes one record of the current row of STMT (a new object). */
typedef gpointer (*NubeDbRowFn)(sqlite3_stmt *stmt);

/*
 * Runs the query SQL with parameters bound per FMT (as nube_db_bind()) and
 * returns one record per row made by ROW (an array freeing them with
 * FREE_FN), or NULL with ERR.
 */
GPtrArray *nube_db_select(NubeDb *db, NubeError **err, NubeDbRowFn row, GDestroyNotify free_fn,
                          const char *sql, const char *fmt, ...);

/* Steps STMT: 1 for a row, 0 when done, -errno with ERR on error. */
int nube_db_step(NubeDb *db, sqlite3_stmt *stmt, NubeError **err);

/* Column helpers: a new string (NULL for SQL NULL). */
char *nube_db_col_str(sqlite3_stmt *stmt, int col);

/* Converts the connection's last error into ERR with context WHAT. */
int nube_db_error(NubeDb *db, const char *what, NubeError **err);

static inline void nube_stmt_finalizep(sqlite3_stmt **s)
{
    sqlite3_finalize(*s);
}
#define _cleanup_stmt_ _cleanup_(nube_stmt_finalizep)
