/*
 * testutil.c: helpers shared by the imagestore tests (see testutil.h).
 */
#include "testutil.h"
#include "fsutil.h"

#include <string.h>

char *scratch_new(void)
{
    g_autoptr(GError) gerr = NULL;
    char *dir = g_dir_make_tmp("nube-imagestore-XXXXXX", &gerr);
    g_assert_no_error(gerr);
    return dir;
}

void scratch_free(char *dir)
{
    if (dir == NULL)
        return;
    g_autoptr(NubeError) err = NULL;
    if (nube_rm_rf(dir, &err) < 0)
        g_printerr("cannot remove scratch dir: %s\n", err->message);
    g_free(dir);
}

static gboolean spawn(const char *const *argv, char **out, char **errout)
{
    g_autoptr(GError) gerr = NULL;
    int status = 0;
    g_assert_true(g_spawn_sync(NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, out,
                               errout, &status, &gerr));
    g_assert_no_error(gerr);
    return g_spawn_check_wait_status(status, NULL);
}

char *run(const char *const *argv)
{
    char *out = NULL;
    g_autofree char *errout = NULL;
    if (!spawn(argv, &out, &errout)) {
        g_autofree char *cmd = g_strjoinv(" ", (char **) argv);
        g_error("'%s' failed: %s", cmd, errout);
    }
    return out;
}

gboolean run_ok(const char *const *argv)
{
    g_autofree char *out = NULL;
    g_autofree char *errout = NULL;
    return spawn(argv, &out, &errout);
}

void write_pattern(const char *path, gsize size)
{
    g_autofree guint8 *buf = g_malloc(size);
    for (gsize i = 0; i < size; i++)
        buf[i] = (guint8) ((i * 7 + i / 4096) % 251 + 1);
    g_autoptr(GError) gerr = NULL;
    g_file_set_contents(path, (const char *) buf, size, &gerr);
    g_assert_no_error(gerr);
}

guint dir_count(const char *dir)
{
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    guint n = 0;
    while (d != NULL && g_dir_read_name(d) != NULL)
        n++;
    return n;
}

char *file_sha256(const char *path)
{
    g_autofree char *data = NULL;
    gsize len = 0;
    g_autoptr(GError) gerr = NULL;
    g_file_get_contents(path, &data, &len, &gerr);
    g_assert_no_error(gerr);
    return g_compute_checksum_for_data(G_CHECKSUM_SHA256, (guint8 *) data, len);
}

gboolean files_equal(const char *a, const char *b)
{
    g_autofree char *da = NULL;
    g_autofree char *db = NULL;
    gsize la = 0, lb = 0;
    g_assert_true(g_file_get_contents(a, &da, &la, NULL));
    g_assert_true(g_file_get_contents(b, &db, &lb, NULL));
    return la == lb && memcmp(da, db, la) == 0;
}
