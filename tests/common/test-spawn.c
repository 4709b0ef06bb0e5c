/*
 * test-spawn.c: helpers die with the process that started them.  A child
 * process plays nubed: it runs a helper that starts a grandchild, and is
 * killed with SIGKILL while both run.  Both must be gone at once; as root
 * the grandchild too (the helper's PID namespace), elsewhere only the
 * helper (PR_SET_PDEATHSIG), which the test says.
 */
#include "spawn.h"

#include <string.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

static gboolean gone_within(pid_t pid, int ms)
{
    for (int i = 0; i < ms / 20; i++) {
        if (kill(pid, 0) < 0)
            return TRUE;
        g_usleep(20 * 1000);
    }
    return kill(pid, 0) < 0;
}

/* The pid (as this process sees it: a helper in a PID namespace of its own
 * knows itself by another number) of the process whose command line has
 * the argument ARG, waiting up to 10 s. */
static pid_t find_process(const char *arg)
{
    for (int i = 0; i < 500; i++) {
        g_autoptr(GDir) proc = g_dir_open("/proc", 0, NULL);
        const char *name;
        while (proc != NULL && (name = g_dir_read_name(proc)) != NULL) {
            g_autofree char *path = g_strdup_printf("/proc/%s/cmdline", name);
            g_autofree char *cmdline = NULL;
            gsize len = 0;
            if (!g_ascii_isdigit(name[0]) || !g_file_get_contents(path, &cmdline, &len, NULL))
                continue;
            for (gsize off = 0; off < len; off += strlen(cmdline + off) + 1)
                if (g_str_equal(cmdline + off, arg))
                    return (pid_t) g_ascii_strtoll(name, NULL, 10);
        }
        g_usleep(20 * 1000);
    }
    g_assert_not_reached();
}

static void test_helpers_die_with_nubed(void)
{
    /* Unique arguments, to find the two processes. */
    g_autofree char *nap = g_strdup_printf("600.%u", g_random_int_range(1, 1000000));
    g_autofree char *script = g_strdup_printf("sleep %s & wait # helper", nap);

    pid_t nubed = fork();
    g_assert_cmpint(nubed, >=, 0);
    if (nubed == 0) {
        const char *argv[] = { "sh", "-c", script, NULL };
        nube_spawn(argv, NULL, NULL, NULL);
        _exit(0);
    }
    pid_t helper = find_process(script);
    pid_t grandchild = find_process(nap);
    g_assert_cmpint(kill(helper, 0), ==, 0);
    g_assert_cmpint(kill(grandchild, 0), ==, 0);

    g_assert_cmpint(kill(nubed, SIGKILL), ==, 0);
    g_assert_cmpint(waitpid(nubed, NULL, 0), ==, nubed);
    g_assert_true(gone_within(helper, 2000));
    if (geteuid() == 0) {
        g_assert_true(gone_within(grandchild, 2000));
    } else {
        g_test_message("not root: no PID namespace, the helper's own children outlive it");
        kill(grandchild, SIGKILL);
    }
}

static void test_status_and_output(void)
{
    const char *ok[] = { "sh", "-c", "echo out; echo err >&2", NULL };
    g_autofree char *out = NULL;
    g_autoptr(NubeError) err = NULL;
    g_assert_cmpint(nube_spawn(ok, NULL, &out, &err), ==, 0);
    g_assert_cmpstr(out, ==, "out\n");

    const char *bad[] = { "sh", "-c", "echo broken >&2; exit 3", NULL };
    g_assert_cmpint(nube_spawn(bad, NULL, NULL, &err), <, 0);
    g_assert_nonnull(strstr(err->message, "broken"));
    g_assert_nonnull(strstr(err->message, "sh failed"));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/spawn/status-and-output", test_status_and_output);
    g_test_add_func("/spawn/helpers-die-with-nubed", test_helpers_die_with_nubed);
    return g_test_run();
}
