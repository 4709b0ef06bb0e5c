/*
 * test-begin.c: the opening the commands share (nube_cli_begin() in cli.c):
 * what it returns after --help, a usage mistake, without keys and with a
 * client, and that a usage mistake never gets as far as the profile (so it
 * never starts nubed).
 */
#include "cli.h"
#include "commands.h"
#include "fsutil.h"

#include <string.h>

static const NubeCliCommand one_arg = {
    .name = "test",
    .args = "ID",
    .summary = "A command taking one argument",
    .min_args = 1,
    .max_args = 1,
};

typedef struct {
    char *dir; /* temporary HOME and (empty) state directory */
    NubeCli cli;
    GStrv words; /* owns the strings of ARGV */
    char **argv; /* what nube_cli_begin() rearranges */
    int argc;
    int status;
    NubeError *err;
} Fixture;

static void fixture_setup(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) gerr = NULL;
    f->dir = g_dir_make_tmp("nube-test-begin-XXXXXX", &gerr);
    g_assert_no_error(gerr);
    g_setenv("HOME", f->dir, TRUE);
    const char *const unset[] = { "AWS_ACCESS_KEY_ID",
                                  "AWS_SECRET_ACCESS_KEY",
                                  "AWS_PROFILE",
                                  "AWS_CONFIG_FILE",
                                  "AWS_SHARED_CREDENTIALS_FILE",
                                  "AWS_ENDPOINT_URL",
                                  "AWS_ENDPOINT_URL_EC2",
                                  "NUBE_STATE_DIR" };
    for (size_t i = 0; i < G_N_ELEMENTS(unset); i++)
        g_unsetenv(unset[i]);
    nube_cli_init(&f->cli);
    f->status = 1; /* neither of the values nube_cli_begin() sets */
}

static void fixture_teardown(Fixture *f, gconstpointer data)
{
    nube_cli_clear(&f->cli);
    nube_error_free(f->err);
    g_free(f->argv);
    g_strfreev(f->words);
    g_assert_cmpint(nube_rm_rf(f->dir, NULL), ==, 0);
    g_free(f->dir);
}

/* nube_cli_begin() on "test WORDS…" (NULL-terminated) with the state
 * directory of F, nothing started. */
static NubeCliClient *begin(Fixture *f, const char *const *words)
{
    g_autoptr(GPtrArray) all = g_ptr_array_new();
    g_ptr_array_add(all, (char *) "test");
    g_ptr_array_add(all, (char *) "--no-autostart");
    g_ptr_array_add(all, (char *) "--endpoint-url=http://127.0.0.1:9");
    g_autofree char *state = g_strdup_printf("--state-dir=%s", f->dir);
    g_ptr_array_add(all, state);
    for (size_t i = 0; words[i] != NULL; i++)
        g_ptr_array_add(all, (char *) words[i]);
    g_ptr_array_add(all, NULL);

    f->words = g_strdupv((char **) all->pdata);
    f->argc = (int) all->len - 1;
    f->argv = g_memdup2(f->words, all->len * sizeof(char *));
    return nube_cli_begin(&f->cli, &one_arg, NULL, &f->argc, &f->argv, &f->status, &f->err);
}

static void test_usage(Fixture *f, gconstpointer data)
{
    g_assert_null(begin(f, (const char *const[]){ NULL }));
    g_assert_cmpint(f->status, ==, -EINVAL);
    g_assert_nonnull(f->err);
    g_assert_cmpstr(f->err->code, ==, NUBE_CLI_USAGE);
    g_assert_cmpstr(f->err->message, ==, "missing argument: nube test ID");
    g_assert_null(f->cli.profile);
    g_assert_null(f->cli.client);
}

static void test_help(Fixture *f, gconstpointer data)
{
    if (g_test_subprocess()) {
        g_assert_null(begin(f, (const char *const[]){ "--help", NULL }));
        g_assert_cmpint(f->status, ==, 0);
        g_assert_null(f->err);
        g_assert_null(f->cli.profile);
        return;
    }
    g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_passed();
    g_test_trap_assert_stdout("*Usage:* test ID*A command taking one argument*");
}

static void test_no_keys(Fixture *f, gconstpointer data)
{
    g_assert_null(begin(f, (const char *const[]){ "i-1", NULL }));
    g_assert_cmpint(f->status, ==, -EIO);
    g_assert_nonnull(f->err);
    g_assert_cmpint(f->err->errnum, ==, ENOKEY);
    g_assert_nonnull(f->cli.profile);
}

static void test_client(Fixture *f, gconstpointer data)
{
    g_setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", TRUE);
    g_setenv("AWS_SECRET_ACCESS_KEY", "secret", TRUE);
    NubeCliClient *client = begin(f, (const char *const[]){ "i-1", NULL });
    g_assert_nonnull(client);
    g_assert_true(client == f->cli.client);
    g_assert_cmpint(f->status, ==, 0);
    g_assert_null(f->err);
    g_assert_cmpint(f->argc, ==, 2);
    g_assert_cmpstr(f->argv[1], ==, "i-1");
    g_assert_cmpstr(f->cli.profile->endpoint_url, ==, "http://127.0.0.1:9");
}

#define ADD(path, fn) g_test_add(path, Fixture, NULL, fixture_setup, fn, fixture_teardown)

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    ADD("/cli/begin/usage", test_usage);
    ADD("/cli/begin/help", test_help);
    ADD("/cli/begin/no-keys", test_no_keys);
    ADD("/cli/begin/client", test_client);
    return g_test_run();
}
