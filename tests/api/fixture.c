/*
 * fixture.c: the daemon, records and requests the API unit tests share.
 */
#include "fixture.h"

#include "api.h"
#include "xml.h"
#include "catalog.h"
#include "fsutil.h"
#include "instdir.h"
#include "tags.h"
#include "volume.h"

#include <string.h>

#define VERSION "&Version=2016-11-15"

void fixture_setup(Fixture *f, gconstpointer spec)
{
    const FixtureSpec *s = spec;
    g_autoptr(NubeError) err = NULL;
    g_autofree char *tmpl = g_strdup_printf("nube-%s-XXXXXX", s->name);
    f->dir = g_dir_make_tmp(tmpl, NULL);
    g_assert_nonnull(f->dir);
    g_autofree char *db = g_build_filename(f->dir, "nube.db", NULL);
    nube_config_init(&f->cfg);
    f->instances_dir = g_build_filename(f->dir, NUBE_INSTDIR_PARENT, NULL);
    nube_config_add_import_dir(&f->cfg, f->dir);
    f->cloud.cfg = &f->cfg;
    f->cloud.instances_dir = f->instances_dir;
    f->cloud.endpoint = "http://127.0.0.1:8773";
    f->cloud.db = nube_db_open(db, &err);
    g_assert_nonnull(f->cloud.db);
    f->cloud.jobs = nube_jobs_new_held();
    g_assert_cmpint(nube_db_exec(f->cloud.db, &err,
                                 "INSERT INTO accounts VALUES (?1, 'AKIATESTTESTTESTTEST', 's', 0)",
                                 "s", FIXTURE_OWNER),
                    ==, 1);
    f->acct.id = g_strdup(FIXTURE_OWNER);
    if (s->insert != NULL)
        s->insert(f);
}

void fixture_teardown(Fixture *f, gconstpointer spec)
{
    nube_jobs_free(f->cloud.jobs);
    nube_db_close(f->cloud.db);
    nube_config_clear(&f->cfg);
    g_free(f->instances_dir);
    nube_account_clear(&f->acct);
    nube_rm_rf(f->dir, NULL);
    g_free(f->dir);
}

static GPtrArray *name_tags(const char *name)
{
    if (name == NULL)
        return NULL;
    GPtrArray *tags = nube_tags_new();
    nube_tags_add(tags, "Name", name);
    return tags;
}

NubeImage *fixture_image_new(const char *name_tag)
{
    NubeImage *img = nube_image_new();
    img->id = g_strdup(FIXTURE_AMI);
    img->owner_id = g_strdup(FIXTURE_OWNER);
    img->name = g_strdup("debian-12-test");
    img->state = g_strdup("pending");
    img->source = g_strdup("import");
    img->created_at = 1795000000;
    img->tags = name_tags(name_tag);
    return img;
}

void fixture_insert_image(Fixture *f, const NubeImage *img, const char *kernel_sha256,
                          const char *ramdisk_sha256, const char *cmdline)
{
    g_autoptr(NubeError) err = NULL;
    g_assert_cmpint(nube_image_insert(f->cloud.db, img, &err), ==, 0);
    g_assert_cmpint(nube_image_set_available(f->cloud.db, img->id, "ab12", 4294967296,
                                             kernel_sha256, ramdisk_sha256, cmdline, &err),
                    ==, 0);
}

NubeInstance *fixture_instance_new(const char *id, NubeInstanceState state, const char *type,
                                   const char *name_tag)
{
    const NubeInstanceType *t = nube_catalog_type(type, NULL);
    g_assert_nonnull(t);
    NubeInstance *inst = nube_instance_new();
    inst->id = g_strdup(id);
    inst->reservation_id = g_strdup("r-0abcdef0123456789");
    inst->owner_id = g_strdup(FIXTURE_OWNER);
    inst->image_id = g_strdup(FIXTURE_AMI);
    inst->instance_type = g_strdup(type);
    inst->state = state;
    inst->state_changed_at = 1795000100;
    inst->root_device_type = g_strdup("ebs");
    inst->base_sha256 = g_strdup("ab12");
    inst->mac = g_strdup("52:54:00:12:34:56");
    inst->private_ip = g_strdup("10.0.2.15");
    inst->hostname = g_strdup(id);
    inst->vcpus = t->vcpus;
    inst->memory_mib = t->memory_mib;
    inst->launch_time = 1795000100;
    inst->tags = name_tags(name_tag);
    return inst;
}

void fixture_insert_instance(Fixture *f, const NubeInstance *inst)
{
    g_autoptr(NubeError) err = NULL;
    g_assert_cmpint(nube_instance_insert(f->cloud.db, inst, &err), ==, 0);
}

void fixture_set_str(char **field, const char *value)
{
    g_free(*field);
    *field = g_strdup(value);
}

void fixture_insert_volume(Fixture *f, const char *id, const char *instance_id)
{
    g_autoptr(NubeError) err = NULL;
    NubeVolume vol = {
        .id = (char *) id,
        .owner_id = FIXTURE_OWNER,
        .instance_id = (char *) instance_id,
        .base_sha256 = "ab12",
        .size = 4294967296,
        .state = "in-use",
        .delete_on_termination = TRUE,
        .created_at = 1795000100,
        .attached_at = 1795000100,
    };
    g_assert_cmpint(nube_volume_insert(f->cloud.db, &vol, &err), ==, 0);
}

/* Runs PARAMS; the answer XML (free it), or NULL with *CODE and, if
 * MESSAGE is not NULL, *MESSAGE set (both freed first). */
static char *call(Fixture *f, const char *params, char **code, char **message)
{
    g_autoptr(NubeError) err = NULL;
    g_autoptr(NubeQuery) q = nube_query_parse(params, strlen(params), &err);
    g_assert_nonnull(q);
    NubeApiRequest req = {
        .cloud = &f->cloud,
        .q = q,
        .action = nube_query_get(q, "Action"),
        .request_id = FIXTURE_REQUEST_ID,
        .account = &f->acct,
    };
    xmlDocPtr doc = NULL;
    g_clear_pointer(code, g_free);
    if (message != NULL)
        g_clear_pointer(message, g_free);
    if (nube_api_dispatch(&req, &doc, &err) < 0) {
        *code = g_strdup(nube_error_code(err));
        if (message != NULL)
            *message = g_strdup(err->message);
        g_test_message("%.200s: %s: %.200s", params, *code, err->message);
        return NULL;
    }
    int len = 0;
    xmlChar *text = nube_xml_serialize(doc, &len);
    char *out = g_strndup((const char *) text, len);
    xmlFree(text);
    xmlFreeDoc(doc);
    return out;
}

char *fixture_call(Fixture *f, const char *params, char **code)
{
    return call(f, params, code, NULL);
}

char *fixture_ok(Fixture *f, const char *params)
{
    g_autofree char *full = g_strconcat(params, VERSION, NULL);
    g_autofree char *code = NULL;
    char *xml = fixture_call(f, full, &code);
    if (xml == NULL)
        g_error("%s failed: %s", params, code);
    return xml;
}

char *fixture_refused_message(Fixture *f, const char *params, const char *code)
{
    g_autofree char *full = g_strconcat(params, VERSION, NULL);
    g_autofree char *got = NULL;
    char *message = NULL;
    g_autofree char *xml = call(f, full, &got, &message);
    if (xml != NULL)
        g_error("%s succeeded, expected %s", params, code);
    g_assert_cmpstr(got, ==, code);
    return message;
}

void fixture_refused(Fixture *f, const char *params, const char *code)
{
    g_free(fixture_refused_message(f, params, code));
}

int fixture_count_rows(Fixture *f, const char *table)
{
    g_autofree char *sql = g_strdup_printf("SELECT count(*) FROM %s", table);
    sqlite3_stmt *stmt = nube_db_prepare(f->cloud.db, sql, NULL);
    g_assert_cmpint(nube_db_step(f->cloud.db, stmt, NULL), ==, 1);
    int n = sqlite3_column_int(stmt, 0);
    sqlite3_finalize(stmt);
    return n;
}

/* Appends every row of TABLE to OUT. */
static void dump_table(Fixture *f, const char *table, GString *out)
{
    g_autofree char *sql = g_strdup_printf("SELECT * FROM \"%s\" ORDER BY rowid", table);
    sqlite3_stmt *stmt = nube_db_prepare(f->cloud.db, sql, NULL);
    g_assert_nonnull(stmt);
    g_string_append_printf(out, "[%s]\n", table);
    while (nube_db_step(f->cloud.db, stmt, NULL) == 1) {
        for (int c = 0; c < sqlite3_column_count(stmt); c++) {
            const unsigned char *v = sqlite3_column_text(stmt, c);
            g_string_append_printf(out, "%s%s", c ? "|" : "", v ? (const char *) v : "NULL");
        }
        g_string_append_c(out, '\n');
    }
    sqlite3_finalize(stmt);
}

char *fixture_dump(Fixture *f)
{
    g_autoptr(GString) out = g_string_new(NULL);
    g_autoptr(GPtrArray) tables = g_ptr_array_new_with_free_func(g_free);
    sqlite3_stmt *stmt = nube_db_prepare(
        f->cloud.db, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name", NULL);
    g_assert_nonnull(stmt);
    while (nube_db_step(f->cloud.db, stmt, NULL) == 1)
        g_ptr_array_add(tables, g_strdup((const char *) sqlite3_column_text(stmt, 0)));
    sqlite3_finalize(stmt);
    for (guint i = 0; i < tables->len; i++)
        dump_table(f, tables->pdata[i], out);
    return g_string_free(g_steal_pointer(&out), FALSE);
}

char *fixture_element(const char *xml, const char *name)
{
    g_autofree char *open = g_strdup_printf("<%s>", name);
    g_autofree char *close = g_strdup_printf("</%s>", name);
    const char *start = strstr(xml, open);
    g_assert_nonnull(start);
    start += strlen(open);
    const char *end = strstr(start, close);
    g_assert_nonnull(end);
    return g_strndup(start, end - start);
}

guint fixture_count(const char *haystack, const char *needle)
{
    guint n = 0;
    for (const char *p = haystack; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}
