/*
 * agentstatus.c: the agent_status table and the status checks (see
 * agentstatus.h).
 */
#include "agentstatus.h"

#include "log.h"

#include <string.h>

#define STATUS_COLUMNS                                                             \
    "agent_version, boot_id, kernel, cloud_init, hello_at, boot_complete_at, "     \
    "system_state, last_seen_at, userdata_state, userdata_runner, userdata_exit, " \
    "userdata_duration_ms, userdata_error, userdata_log, userdata_started_at, "    \
    "userdata_finished_at"

void nube_agent_status_free(NubeAgentStatus *st)
{
    if (st == NULL)
        return;
    g_free(st->agent_version);
    g_free(st->boot_id);
    g_free(st->kernel);
    g_free(st->system_state);
    g_free(st->userdata_state);
    g_free(st->userdata_runner);
    g_free(st->userdata_error);
    g_free(st->userdata_log);
    g_free(st);
}

static gpointer status_from_row(sqlite3_stmt *stmt)
{
    NubeAgentStatus *st = g_new0(NubeAgentStatus, 1);
    st->agent_version = nube_db_col_str(stmt, 0);
    st->boot_id = nube_db_col_str(stmt, 1);
    st->kernel = nube_db_col_str(stmt, 2);
    st->cloud_init = sqlite3_column_int(stmt, 3) != 0;
    st->hello_at = sqlite3_column_int64(stmt, 4);
    st->boot_complete_at = sqlite3_column_int64(stmt, 5);
    st->system_state = nube_db_col_str(stmt, 6);
    st->last_seen_at = sqlite3_column_int64(stmt, 7);
    st->userdata_state = nube_db_col_str(stmt, 8);
    st->userdata_runner = nube_db_col_str(stmt, 9);
    st->userdata_has_exit = sqlite3_column_type(stmt, 10) != SQLITE_NULL;
    st->userdata_exit = sqlite3_column_int64(stmt, 10);
    st->userdata_duration_ms = sqlite3_column_int64(stmt, 11);
    st->userdata_error = nube_db_col_str(stmt, 12);
    st->userdata_log = nube_db_col_str(stmt, 13);
    st->userdata_started_at = sqlite3_column_int64(stmt, 14);
    st->userdata_finished_at = sqlite3_column_int64(stmt, 15);
    return st;
}

NubeAgentStatus *nube_agent_status_get(NubeDb *db, const char *id)
{
    g_autoptr(NubeError) err = NULL;
    nube_db_lock(db);
    g_autoptr(GPtrArray) rows = nube_db_select(
        db, &err, status_from_row, (GDestroyNotify) nube_agent_status_free,
        "SELECT " STATUS_COLUMNS " FROM agent_status WHERE instance_id = ?1", "s", id);
    nube_db_unlock(db);
    if (rows == NULL || rows->len == 0)
        return NULL;
    return g_ptr_array_steal_index(rows, 0);
}

static int record_hello(NubeDb *db, const char *id, const NubeMsg *m, gint64 now, NubeError **err)
{
    /* Another boot id than the last: the guest rebooted, so whatever the
     * last boot completed no longer holds. */
    int r = nube_db_exec(db, err,
                         "UPDATE agent_status SET boot_complete_at = NULL, system_state = NULL, "
                         "hello_at = NULL WHERE instance_id = ?1 AND boot_id IS NOT ?2",
                         "ss", id, m->boot_id);
    if (r < 0)
        return r;
    return nube_db_exec(db, err,
                        "UPDATE agent_status SET agent_version = ?2, boot_id = ?3, kernel = ?4, "
                        "cloud_init = ?5, hello_at = COALESCE(hello_at, ?6), last_seen_at = ?6 "
                        "WHERE instance_id = ?1",
                        "ssssii", id, m->agent_version, m->boot_id, m->kernel,
                        (gint64) m->cloud_init, now);
}

static int record_userdata(NubeDb *db, const char *id, const NubeMsg *m, gint64 now,
                           NubeError **err)
{
    if (m->phase == NUBE_USERDATA_STARTED)
        /* A replay after a reconnect must not undo a recorded finish. */
        return nube_db_exec(db, err,
                            "UPDATE agent_status SET userdata_state = 'running', "
                            "userdata_runner = ?2, userdata_started_at = ?3, last_seen_at = ?3, "
                            "userdata_exit = NULL, userdata_duration_ms = NULL, "
                            "userdata_error = NULL, userdata_log = NULL, "
                            "userdata_finished_at = NULL "
                            "WHERE instance_id = ?1 AND userdata_state IS NULL",
                            "ssi", id, m->runner, now);
    int r = nube_db_exec(db, err,
                         "UPDATE agent_status SET userdata_state = ?2, userdata_runner = ?3, "
                         "userdata_duration_ms = ?4, userdata_error = ?5, userdata_log = ?6, "
                         "userdata_finished_at = COALESCE(userdata_finished_at, ?7), "
                         "userdata_started_at = COALESCE(userdata_started_at, ?7), "
                         "last_seen_at = ?7 WHERE instance_id = ?1",
                         "sssissi", id, m->status, m->runner, (gint64) (m->duration * 1000.0),
                         m->error, m->log, now);
    if (r >= 0 && m->has_exit_code)
        r = nube_db_exec(db, err,
                         "UPDATE agent_status SET userdata_exit = ?2 WHERE instance_id = ?1", "si",
                         id, (gint64) m->exit_code);
    return r;
}

int nube_agent_status_record(NubeDb *db, const char *id, const NubeMsg *msg, gint64 now_ms,
                             NubeError **err)
{
    nube_db_lock(db);
    int r = nube_db_begin(db, err);
    if (r == 0)
        r = nube_db_exec(db, err, "INSERT OR IGNORE INTO agent_status (instance_id) VALUES (?1)",
                         "s", id);
    if (r >= 0) {
        switch (msg->type) {
        case NUBE_MSG_HELLO:
            r = record_hello(db, id, msg, now_ms, err);
            break;
        case NUBE_MSG_BOOT_COMPLETE:
            r = nube_db_exec(db, err,
                             "UPDATE agent_status SET system_state = ?2, last_seen_at = ?3, "
                             "boot_complete_at = COALESCE(boot_complete_at, ?3) "
                             "WHERE instance_id = ?1",
                             "ssi", id, msg->system_state, now_ms);
            break;
        case NUBE_MSG_USERDATA:
            r = record_userdata(db, id, msg, now_ms, err);
            break;
        default:
            r = nube_db_exec(db, err,
                             "UPDATE agent_status SET last_seen_at = ?2 "
                             "WHERE instance_id = ?1",
                             "si", id, now_ms);
            break;
        }
    }
    if (r >= 0)
        r = nube_db_commit(db, err);
    else
        nube_db_rollback(db);
    nube_db_unlock(db);
    return r < 0 ? r : 0;
}

void nube_agent_status_new_boot(NubeDb *db, const char *id)
{
    g_autoptr(NubeError) err = NULL;
    if (nube_db_exec(db, &err,
                     "UPDATE agent_status SET boot_id = NULL, hello_at = NULL, "
                     "boot_complete_at = NULL, system_state = NULL, last_seen_at = NULL "
                     "WHERE instance_id = ?1",
                     "s", id) < 0)
        nube_warn("%s: cannot reset its agent status: %s", id, err->message);
}

const char *nube_check_status_name(NubeCheckStatus s)
{
    static const char *const names[] = {
        [NUBE_CHECK_OK] = "ok",
        [NUBE_CHECK_IMPAIRED] = "impaired",
        [NUBE_CHECK_INITIALIZING] = "initializing",
        [NUBE_CHECK_INSUFFICIENT_DATA] = "insufficient-data",
        [NUBE_CHECK_NOT_APPLICABLE] = "not-applicable",
    };
    return names[s];
}

const char *nube_check_detail_name(NubeCheckStatus s)
{
    static const char *const names[] = {
        [NUBE_CHECK_OK] = "passed",
        [NUBE_CHECK_IMPAIRED] = "failed",
        [NUBE_CHECK_INITIALIZING] = "initializing",
        [NUBE_CHECK_INSUFFICIENT_DATA] = "insufficient-data",
        [NUBE_CHECK_NOT_APPLICABLE] = "not-applicable",
    };
    return names[s];
}

void nube_agent_status_checks(gboolean running, gboolean has_agent, const NubeAgentStatus *agent,
                              gint64 now_ms, NubeCheck *system, NubeCheck *instance)
{
    memset(system, 0, sizeof(*system));
    memset(instance, 0, sizeof(*instance));
    if (!running) {
        system->status = instance->status = NUBE_CHECK_NOT_APPLICABLE;
        return;
    }
    gboolean hello = agent != NULL && agent->hello_at > 0;
    if (!hello) {
        /* An agent may also run in an image not recorded as having one. */
        system->status = has_agent ? NUBE_CHECK_INITIALIZING : NUBE_CHECK_OK;
        instance->status = has_agent ? NUBE_CHECK_INITIALIZING : NUBE_CHECK_INSUFFICIENT_DATA;
        return;
    }
    system->status = NUBE_CHECK_OK;
    instance->status = NUBE_CHECK_OK;
    if (agent->userdata_state != NULL && g_str_equal(agent->userdata_state, "failed")) {
        instance->status = NUBE_CHECK_IMPAIRED;
        instance->impaired_since = agent->userdata_finished_at;
        instance->reason = "the user data failed";
    } else if (now_ms - agent->last_seen_at > NUBE_AGENT_STALE_MS) {
        instance->status = NUBE_CHECK_IMPAIRED;
        instance->impaired_since = agent->last_seen_at + NUBE_AGENT_STALE_MS;
        instance->reason = "the guest agent stopped answering";
    }
}
