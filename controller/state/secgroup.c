/*
 * secgroup.c: security group records (see secgroup.h).
 */
#include "secgroup.h"
#include "fsutil.h"
#include "tags.h"

#include <string.h>

#define GROUP_COLUMNS "id, owner_id, name, description, vpc_id, created_at"
#define RULE_COLUMNS  "id, group_id, protocol, from_port, to_port, cidr, description"

void nube_sg_rule_free(NubeSgRule *rule)
{
    if (rule == NULL)
        return;
    g_free(rule->id);
    g_free(rule->group_id);
    g_free(rule->protocol);
    g_free(rule->cidr);
    g_free(rule->description);
    g_free(rule);
}

void nube_secgroup_free(NubeSecGroup *sg)
{
    if (sg == NULL)
        return;
    g_free(sg->id);
    g_free(sg->owner_id);
    g_free(sg->name);
    g_free(sg->description);
    g_free(sg->vpc_id);
    if (sg->rules != NULL)
        g_ptr_array_unref(sg->rules);
    if (sg->tags != NULL)
        g_ptr_array_unref(sg->tags);
    g_free(sg);
}

static gpointer group_from_row(sqlite3_stmt *stmt)
{
    NubeSecGroup *sg = g_new0(NubeSecGroup, 1);
    sg->id = nube_db_col_str(stmt, 0);
    sg->owner_id = nube_db_col_str(stmt, 1);
    sg->name = nube_db_col_str(stmt, 2);
    sg->description = nube_db_col_str(stmt, 3);
    sg->vpc_id = nube_db_col_str(stmt, 4);
    sg->created_at = sqlite3_column_int64(stmt, 5);
    return sg;
}

static gpointer rule_from_row(sqlite3_stmt *stmt)
{
    NubeSgRule *rule = g_new0(NubeSgRule, 1);
    rule->id = nube_db_col_str(stmt, 0);
    rule->group_id = nube_db_col_str(stmt, 1);
    rule->protocol = nube_db_col_str(stmt, 2);
    rule->from_port = sqlite3_column_int64(stmt, 3);
    rule->to_port = sqlite3_column_int64(stmt, 4);
    rule->cidr = nube_db_col_str(stmt, 5);
    rule->description = nube_db_col_str(stmt, 6);
    return rule;
}

/* Rules and tags of SG.  0 or -EIO with ERR; the caller holds the lock. */
static int group_complete(NubeDb *db, NubeSecGroup *sg, NubeError **err)
{
    sg->rules = nube_db_select(db, err, rule_from_row, (GDestroyNotify) nube_sg_rule_free,
                               "SELECT " RULE_COLUMNS " FROM security_group_rules "
                               "WHERE group_id = ?1 ORDER BY protocol, from_port, to_port, cidr",
                               "s", sg->id);
    if (sg->rules == NULL)
        return -EIO;
    sg->tags = nube_tags_get(db, sg->id, err);
    return sg->tags ? 0 : -EIO;
}

/* Groups of OWNER matching WHERE_SQL (?2 bound to ARG if not NULL), with
 * rules and tags.  NULL with ERR. */
static GPtrArray *group_query(NubeDb *db, const char *owner, const char *where_sql, const char *arg,
                              NubeError **err)
{
    g_autofree char *sql =
        g_strdup_printf("SELECT " GROUP_COLUMNS " FROM security_groups WHERE owner_id = ?1 %s "
                        "ORDER BY name, id",
                        where_sql);
    nube_db_lock(db);
    g_autoptr(GPtrArray) out =
        nube_db_select(db, err, group_from_row, (GDestroyNotify) nube_secgroup_free, sql,
                       arg ? "ss" : "s", owner, arg);
    for (guint i = 0; out != NULL && i < out->len; i++)
        if (group_complete(db, out->pdata[i], err) < 0)
            g_clear_pointer(&out, g_ptr_array_unref);
    nube_db_unlock(db);
    return g_steal_pointer(&out);
}

static NubeSecGroup *group_one(NubeDb *db, const char *owner, const char *where_sql,
                               const char *arg, NubeError **err)
{
    NubeError *qerr = NULL;
    g_autoptr(GPtrArray) all = group_query(db, owner, where_sql, arg, &qerr);
    if (all == NULL) {
        nube_error_propagate(err, qerr);
        return NULL;
    }
    if (all->len == 0) {
        nube_error_setc(err, ENOENT, "InvalidGroup.NotFound",
                        "The security group '%s' does not exist", arg);
        return NULL;
    }
    return g_ptr_array_steal_index(all, 0);
}

NubeSecGroup *nube_secgroup_get(NubeDb *db, const char *owner, const char *id, NubeError **err)
{
    return group_one(db, owner, "AND id = ?2", id, err);
}

NubeSecGroup *nube_secgroup_by_name(NubeDb *db, const char *owner, const char *name,
                                    NubeError **err)
{
    return group_one(db, owner, "AND name = ?2", name, err);
}

GPtrArray *nube_secgroup_list(NubeDb *db, const char *owner, NubeError **err)
{
    return group_query(db, owner, "", NULL, err);
}

/* Runs FN in one transaction under the lock: commit if it returns >= 0. */
static int in_transaction(NubeDb *db, int (*fn)(NubeDb *db, gpointer data, NubeError **err),
                          gpointer data, NubeError **err)
{
    NubeError *e = NULL;
    nube_db_lock(db);
    int r = nube_db_begin(db, &e);
    if (r == 0)
        r = fn(db, data, &e);
    if (r >= 0)
        r = nube_db_commit(db, &e);
    else
        nube_db_rollback(db);
    nube_db_unlock(db);
    return r < 0 ? nube_error_propagate(err, e) : 0;
}

static int insert_rule(NubeDb *db, const char *group_id, const NubeSgRule *rule, NubeError **err)
{
    return nube_db_exec(db, err,
                        "INSERT INTO security_group_rules (" RULE_COLUMNS ", created_at) "
                        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                        "sssiissi", rule->id, group_id, rule->protocol, rule->from_port,
                        rule->to_port, rule->cidr, rule->description,
                        g_get_real_time() / G_USEC_PER_SEC);
}

static int make_default(NubeDb *db, gpointer owner, NubeError **err)
{
    g_autofree char *id = nube_id_new("sg");
    int r = nube_db_exec(
        db, err,
        "INSERT INTO security_groups (" GROUP_COLUMNS ") "
        "SELECT ?1, ?2, '" NUBE_SECGROUP_DEFAULT "', "
        "'default VPC security group', NULL, ?3 WHERE NOT EXISTS "
        "(SELECT 1 FROM security_groups WHERE owner_id = ?2 AND name = '" NUBE_SECGROUP_DEFAULT
        "')",
        "ssi", id, (const char *) owner, g_get_real_time() / G_USEC_PER_SEC);
    if (r <= 0)
        return r;
    g_autofree char *rule_id = nube_id_new("sgr");
    NubeSgRule ssh = { .id = rule_id,
                       .protocol = "tcp",
                       .from_port = 22,
                       .to_port = 22,
                       .cidr = "0.0.0.0/0",
                       .description = "SSH" };
    return insert_rule(db, id, &ssh, err);
}

int nube_secgroup_ensure_default(NubeDb *db, const char *owner, NubeError **err)
{
    g_autoptr(NubeSecGroup) sg = nube_secgroup_by_name(db, owner, NUBE_SECGROUP_DEFAULT, NULL);
    if (sg != NULL)
        return 0;
    return in_transaction(db, make_default, (gpointer) owner, err);
}

typedef struct {
    const NubeSecGroup *sg;
    const GPtrArray *tags;
} InsertGroup;

static int insert_group(NubeDb *db, gpointer data, NubeError **err)
{
    const InsertGroup *ig = data;
    const NubeSecGroup *sg = ig->sg;
    int r = nube_db_exec(db, err,
                         "INSERT INTO security_groups (" GROUP_COLUMNS ") "
                         "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                         "sssssi", sg->id, sg->owner_id, sg->name, sg->description, sg->vpc_id,
                         sg->created_at);
    if (r == -EEXIST) {
        nube_error_free(g_steal_pointer(err));
        return nube_error_setc(err, EEXIST, "InvalidGroup.Duplicate",
                               "The security group '%s' already exists", sg->name);
    }
    return r < 0 ? r : nube_tags_set(db, sg->id, ig->tags, err);
}

int nube_secgroup_insert(NubeDb *db, const NubeSecGroup *sg, const GPtrArray *tags, NubeError **err)
{
    InsertGroup ig = { sg, tags };
    return in_transaction(db, insert_group, &ig, err);
}

/* The first instance not terminated that uses GROUP_ID (new string), or
 * NULL. */
static char *group_user(NubeDb *db, const char *group_id)
{
    _cleanup_stmt_ sqlite3_stmt *stmt =
        nube_db_prepare(db,
                        "SELECT i.id FROM instance_groups ig JOIN instances i "
                        "ON i.id = ig.instance_id WHERE ig.group_id = ?1 "
                        "AND i.state != 'terminated' ORDER BY i.id LIMIT 1",
                        NULL);
    if (stmt == NULL || nube_db_bind(db, stmt, "s", group_id) < 0 ||
        nube_db_step(db, stmt, NULL) != 1)
        return NULL;
    return nube_db_col_str(stmt, 0);
}

static int delete_group(NubeDb *db, gpointer data, NubeError **err)
{
    const NubeSecGroup *sg = data;
    g_autofree char *user = group_user(db, sg->id);
    if (user != NULL)
        return nube_error_setc(err, EBUSY, "DependencyViolation",
                               "resource %s has a dependent object (instance %s)", sg->id, user);
    const char *const sql[] = {
        "DELETE FROM instance_groups WHERE group_id = ?1",
        "DELETE FROM security_group_rules WHERE group_id = ?1",
        "DELETE FROM tags WHERE resource_id = ?1",
        "DELETE FROM security_groups WHERE id = ?1",
    };
    for (size_t i = 0; i < G_N_ELEMENTS(sql); i++) {
        int r = nube_db_exec(db, err, sql[i], "s", sg->id);
        if (r < 0)
            return r;
    }
    return 0;
}

int nube_secgroup_delete(NubeDb *db, const NubeSecGroup *sg, NubeError **err)
{
    if (g_str_equal(sg->name, NUBE_SECGROUP_DEFAULT))
        return nube_error_setc(err, EPERM, "CannotDelete",
                               "the specified group: \"%s\" name: \"%s\" cannot be deleted by a "
                               "user",
                               sg->id, sg->name);
    return in_transaction(db, delete_group, (gpointer) sg, err);
}

static char *rule_text(const NubeSgRule *rule)
{
    return g_strdup_printf("peer: %s, %s, from port: %" G_GINT64_FORMAT
                           ", to port: %" G_GINT64_FORMAT ", ALLOW",
                           rule->cidr, rule->protocol, rule->from_port, rule->to_port);
}

typedef struct {
    const char *group_id;
    GPtrArray *rules;
} RuleChange;

static int count_rules(NubeDb *db, const char *group_id, NubeError **err)
{
    _cleanup_stmt_ sqlite3_stmt *stmt =
        nube_db_prepare(db, "SELECT count(*) FROM security_group_rules WHERE group_id = ?1", err);
    if (stmt == NULL || nube_db_bind(db, stmt, "s", group_id) < 0)
        return -EIO;
    int r = nube_db_step(db, stmt, err);
    return r == 1 ? sqlite3_column_int(stmt, 0) : MIN(r, -EIO);
}

static int add_rules(NubeDb *db, gpointer data, NubeError **err)
{
    RuleChange *c = data;
    int n = count_rules(db, c->group_id, err);
    if (n < 0)
        return n;
    if (n + c->rules->len > NUBE_SECGROUP_MAX_RULES)
        return nube_error_setc(err, EINVAL, "RulesPerSecurityGroupLimitExceeded",
                               "The maximum number of rules per security group (%d) has been "
                               "reached.",
                               NUBE_SECGROUP_MAX_RULES);
    for (guint i = 0; i < c->rules->len; i++) {
        NubeSgRule *rule = c->rules->pdata[i];
        if (rule->id == NULL)
            rule->id = nube_id_new("sgr");
        int r = insert_rule(db, c->group_id, rule, err);
        if (r == -EEXIST) {
            g_autofree char *text = rule_text(rule);
            nube_error_free(g_steal_pointer(err));
            return nube_error_setc(err, EEXIST, "InvalidPermission.Duplicate",
                                   "the specified rule \"%s\" already exists", text);
        }
        if (r < 0)
            return r;
    }
    return 0;
}

int nube_secgroup_add_rules(NubeDb *db, const char *group_id, GPtrArray *rules, NubeError **err)
{
    RuleChange c = { group_id, rules };
    return in_transaction(db, add_rules, &c, err);
}

static int remove_rules(NubeDb *db, gpointer data, NubeError **err)
{
    RuleChange *c = data;
    for (guint i = 0; i < c->rules->len; i++) {
        const NubeSgRule *rule = c->rules->pdata[i];
        int r = nube_db_exec(db, err,
                             "DELETE FROM security_group_rules WHERE group_id = ?1 AND "
                             "protocol = ?2 AND from_port = ?3 AND to_port = ?4 AND cidr = ?5",
                             "ssiis", c->group_id, rule->protocol, rule->from_port, rule->to_port,
                             rule->cidr);
        if (r < 0)
            return r;
        if (r == 0) {
            g_autofree char *text = rule_text(rule);
            return nube_error_setc(err, ENOENT, "InvalidPermission.NotFound",
                                   "The specified rule \"%s\" does not exist in this security "
                                   "group.",
                                   text);
        }
    }
    return 0;
}

int nube_secgroup_remove_rules(NubeDb *db, const char *group_id, const GPtrArray *rules,
                               NubeError **err)
{
    RuleChange c = { group_id, (GPtrArray *) rules };
    return in_transaction(db, remove_rules, &c, err);
}

static gpointer string_from_row(sqlite3_stmt *stmt)
{
    return nube_db_col_str(stmt, 0);
}

GPtrArray *nube_secgroup_instances(NubeDb *db, const char *group_id, NubeError **err)
{
    return nube_db_select(db, err, string_from_row, g_free,
                          "SELECT i.id FROM instance_groups ig JOIN instances i "
                          "ON i.id = ig.instance_id WHERE ig.group_id = ?1 "
                          "AND i.state != 'terminated' ORDER BY i.id",
                          "s", group_id);
}

/* Marks the ports of the rows (from_port, to_port) of STMT in OPEN. */
static int mark_ports(NubeDb *db, sqlite3_stmt *stmt, guint8 *open, NubeError **err)
{
    int r;
    while ((r = nube_db_step(db, stmt, err)) == 1) {
        gint64 from = sqlite3_column_int64(stmt, 0), to = sqlite3_column_int64(stmt, 1);
        for (gint64 p = MAX(from, 1); p <= MIN(to, 65535); p++)
            open[p / 8] |= 1 << (p % 8);
    }
    return r;
}

static GArray *ports_of(const guint8 *open)
{
    GArray *ports = g_array_new(FALSE, FALSE, sizeof(guint16));
    for (guint p = 1; p <= 65535; p++)
        if (open[p / 8] & (1 << (p % 8))) {
            guint16 port = (guint16) p;
            g_array_append_val(ports, port);
        }
    return ports;
}

GArray *nube_secgroup_ports(NubeDb *db, const char *const *group_ids, NubeError **err)
{
    g_autofree guint8 *open = g_malloc0(65536 / 8);
    nube_db_lock(db);
    _cleanup_stmt_ sqlite3_stmt *stmt =
        nube_db_prepare(db,
                        "SELECT from_port, to_port FROM security_group_rules "
                        "WHERE group_id = ?1 AND protocol = 'tcp'",
                        err);
    int r = stmt ? 0 : -EIO;
    for (size_t i = 0; r == 0 && group_ids != NULL && group_ids[i] != NULL; i++) {
        sqlite3_reset(stmt);
        nube_db_bind(db, stmt, "s", group_ids[i]);
        r = mark_ports(db, stmt, open, err);
    }
    nube_db_unlock(db);
    return r < 0 ? NULL : ports_of(open);
}

GArray *nube_secgroup_instance_ports(NubeDb *db, const char *instance_id, NubeError **err)
{
    g_autofree guint8 *open = g_malloc0(65536 / 8);
    nube_db_lock(db);
    _cleanup_stmt_ sqlite3_stmt *stmt =
        nube_db_prepare(db,
                        "SELECT r.from_port, r.to_port FROM security_group_rules r "
                        "JOIN instance_groups ig ON ig.group_id = r.group_id "
                        "WHERE ig.instance_id = ?1 AND r.protocol = 'tcp'",
                        err);
    int r = stmt ? 0 : -EIO;
    if (r == 0) {
        nube_db_bind(db, stmt, "s", instance_id);
        r = mark_ports(db, stmt, open, err);
    }
    nube_db_unlock(db);
    return r < 0 ? NULL : ports_of(open);
}

static gpointer ref_from_row(sqlite3_stmt *stmt)
{
    NubeSecGroup *sg = g_new0(NubeSecGroup, 1);
    sg->id = nube_db_col_str(stmt, 0);
    sg->name = nube_db_col_str(stmt, 1);
    return sg;
}

GPtrArray *nube_secgroup_of_instance(NubeDb *db, const char *instance_id, NubeError **err)
{
    return nube_db_select(db, err, ref_from_row, (GDestroyNotify) nube_secgroup_free,
                          "SELECT g.id, g.name FROM instance_groups ig JOIN security_groups g "
                          "ON g.id = ig.group_id WHERE ig.instance_id = ?1 ORDER BY ig.position",
                          "s", instance_id);
}
