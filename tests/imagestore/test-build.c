/*
 * test-build.c: the default image's recipe digest (suite unit: no root, no
 * mmdebstrap).  What the image gets must change the digest (the agent's
 * bytes, cloud-init or not); where the agent binary lies must not.
 */
#include "build.h"
#include "testutil.h"

#include <string.h>

typedef struct {
    char *scratch;
    char *sources;
} Fixture;

static void fixture_setup(Fixture *f, gconstpointer data)
{
    f->scratch = scratch_new();
    f->sources = g_build_filename(f->scratch, "debian.list", NULL);
    g_assert_true(g_file_set_contents(
        f->sources, "deb http://deb.debian.org/debian bookworm main\n", -1, NULL));
}

static void fixture_teardown(Fixture *f, gconstpointer data)
{
    g_free(f->sources);
    scratch_free(f->scratch);
}

/* A file NAME in the scratch directory holding CONTENT (caller frees). */
static char *agent_file(Fixture *f, const char *name, const char *content)
{
    char *path = g_build_filename(f->scratch, name, NULL);
    g_assert_true(g_file_set_contents(path, content, -1, NULL));
    return path;
}

static char *digest_of(Fixture *f, gboolean cloud_init, const char *agent)
{
    NubeBuildRecipe r;
    nube_build_recipe_default(&r);
    r.sources_path = f->sources;
    r.cloud_init = cloud_init;
    r.agent_path = agent;
    g_autoptr(NubeError) err = NULL;
    char *digest = nube_build_recipe_digest(&r, &err);
    if (digest == NULL)
        g_error("digest: %s", err->message);
    g_assert_cmpuint(strlen(digest), ==, 64);
    return digest;
}

static void test_digest_agent(Fixture *f, gconstpointer data)
{
    g_autofree char *a = agent_file(f, "a", "agent version 1");
    g_autofree char *a_elsewhere = agent_file(f, "elsewhere", "agent version 1");
    g_autofree char *b = agent_file(f, "b", "agent version 2");

    g_autofree char *none = digest_of(f, TRUE, NULL);
    g_autofree char *with_a = digest_of(f, TRUE, a);
    g_autofree char *with_a2 = digest_of(f, TRUE, a_elsewhere);
    g_autofree char *with_b = digest_of(f, TRUE, b);
    g_autofree char *again = digest_of(f, TRUE, a);

    g_assert_cmpstr(with_a, ==, again);
    g_assert_cmpstr(with_a, ==, with_a2); /* the path does not matter */
    g_assert_cmpstr(with_a, !=, with_b);  /* the bytes do */
    g_assert_cmpstr(with_a, !=, none);
}

static void test_digest_cloud_init(Fixture *f, gconstpointer data)
{
    g_autofree char *a = agent_file(f, "a", "agent");
    g_autofree char *with = digest_of(f, TRUE, a);
    g_autofree char *without = digest_of(f, FALSE, a);
    g_assert_cmpstr(with, !=, without);
}

static void test_digest_agent_missing(Fixture *f, gconstpointer data)
{
    g_autofree char *missing = g_build_filename(f->scratch, "no-agent", NULL);
    const char *const bad[] = { missing, "relative/nube-agent" };
    for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
        NubeBuildRecipe r;
        nube_build_recipe_default(&r);
        r.sources_path = f->sources;
        r.agent_path = bad[i];
        g_autoptr(NubeError) err = NULL;
        g_autofree char *digest = nube_build_recipe_digest(&r, &err);
        g_assert_null(digest);
        g_test_message("%s", err->message);
        g_assert_nonnull(strstr(err->message, bad[i]));
    }
}

#define ADD(name, fn) \
    g_test_add("/imagestore/build/" name, Fixture, NULL, fixture_setup, fn, fixture_teardown)

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    ADD("digest-agent", test_digest_agent);
    ADD("digest-cloud-init", test_digest_cloud_init);
    ADD("digest-agent-missing", test_digest_agent_missing);
    return g_test_run();
}
