/*
 * golden.c: golden-file comparison shared by the test suites (see golden.h).
 */
#include "golden.h"

char *golden_path(const char *part, const char *name)
{
    const char *src = g_getenv("NUBE_SRCDIR");
    g_assert_nonnull(src);
    return g_build_filename(src, "tests", part, "golden", name, NULL);
}

static gboolean regenerate(void)
{
    return g_strcmp0(g_getenv("NUBE_TEST_REGENERATE"), "1") == 0;
}

void golden_check(const char *part, const char *name, const char *actual)
{
    g_autofree char *path = golden_path(part, name);
    g_autoptr(GError) gerr = NULL;

    if (regenerate()) {
        g_assert_true(g_file_set_contents(path, actual, -1, &gerr));
        g_test_message("regenerated %s", path);
        return;
    }
    g_autofree char *expected = NULL;
    if (!g_file_get_contents(path, &expected, NULL, &gerr))
        g_error("read golden file: %s (run with NUBE_TEST_REGENERATE=1 to create it)",
                gerr->message);
    g_assert_cmpstr(actual, ==, expected);
}
