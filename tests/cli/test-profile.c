/*
 * test-profile.c: how nube finds its endpoint, region and keys (profile.c):
 * AWS CLI files and variables first, the local nubed's files last.
 */
#include "fsutil.h"
#include "profile.h"

#include <string.h>

typedef struct {
    char *dir; /* temporary directory: HOME and the state directory */
    char *home;
    char *state;
    char **envp;
} Fixture;

static void fixture_setup(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) gerr = NULL;
    f->dir = g_dir_make_tmp("nube-test-profile-XXXXXX", &gerr);
    g_assert_no_error(gerr);
    f->home = g_build_filename(f->dir, "home", NULL);
    f->state = g_build_filename(f->dir, "state", NULL);
    g_assert_cmpint(g_mkdir_with_parents(f->home, 0700), ==, 0);
    g_assert_cmpint(g_mkdir_with_parents(f->state, 0700), ==, 0);
    f->envp = g_environ_setenv(NULL, "HOME", f->home, TRUE);
    f->envp = g_environ_setenv(f->envp, "NUBE_STATE_DIR", f->state, TRUE);
}

static void fixture_teardown(Fixture *f, gconstpointer data)
{
    g_assert_cmpint(nube_rm_rf(f->dir, NULL), ==, 0);
    g_free(f->dir);
    g_free(f->home);
    g_free(f->state);
    g_strfreev(f->envp);
}

static void setenv_f(Fixture *f, const char *name, const char *value)
{
    f->envp = g_environ_setenv(f->envp, name, value, TRUE);
}

/* Writes TEXT to DIR/NAME (creating DIR). */
static void write_file(const char *dir, const char *name, const char *text)
{
    g_autofree char *path = g_build_filename(dir, name, NULL);
    g_autofree char *parent = g_path_get_dirname(path);
    g_assert_cmpint(g_mkdir_with_parents(parent, 0700), ==, 0);
    g_assert_true(g_file_set_contents(path, text, -1, NULL));
}

static void write_user_nube(Fixture *f)
{
    write_file(f->home, ".aws/credentials",
               "; AWS CLI files allow ';' comments\n"
               "[default]\naws_access_key_id = AKIAREALAWS\naws_secret_access_key = realsecret\n"
               "[nube]\naws_access_key_id = AKIAUSERNUBE\naws_secret_access_key = usersecret\n");
    write_file(f->home, ".aws/config",
               "[default]\nregion = eu-west-1\n"
               "[profile nube]\nregion = nube-home-1\nendpoint_url = http://127.0.0.1:9000\n");
}

static void write_local(Fixture *f)
{
    write_file(f->state, "credentials",
               "[nube]\naws_access_key_id = AKIALOCAL\naws_secret_access_key = localsecret\n");
    write_file(f->state, "config",
               "[profile nube]\nregion = nube-local-1\nendpoint_url = http://127.0.0.1:8773\n");
}

static NubeCliProfile *resolve(Fixture *f, const char *profile, const char *endpoint)
{
    NubeCliProfileRequest req = {
        .endpoint_url = endpoint,
        .profile = profile,
        .envp = f->envp,
    };
    g_autoptr(NubeError) err = NULL;
    NubeCliProfile *p = nube_cli_profile_resolve(&req, &err);
    g_assert_null(err);
    g_assert_nonnull(p);
    return p;
}

static void test_nothing_configured(Fixture *f, gconstpointer data)
{
    g_autoptr(NubeCliProfile) p = resolve(f, NULL, NULL);
    g_assert_cmpstr(p->name, ==, "nube");
    g_assert_true(p->local);
    g_assert_null(p->access_key);
    g_assert_cmpstr(p->endpoint_url, ==, "http://127.0.0.1:8773");
    g_assert_cmpstr(p->region, ==, "nube-local-1");
    g_assert_cmpstr(p->state_dir, ==, f->state);
}

static void test_local_files(Fixture *f, gconstpointer data)
{
    write_local(f);
    g_autoptr(NubeCliProfile) p = resolve(f, NULL, NULL);
    g_autofree char *creds = g_build_filename(f->state, "credentials", NULL);
    g_assert_true(p->local);
    g_assert_cmpstr(p->access_key, ==, "AKIALOCAL");
    g_assert_cmpstr(p->secret_key, ==, "localsecret");
    g_assert_cmpstr(p->credentials_source, ==, creds);
}

static void test_user_nube_profile(Fixture *f, gconstpointer data)
{
    write_user_nube(f);
    write_local(f);
    g_autoptr(NubeCliProfile) p = resolve(f, NULL, NULL);
    g_autofree char *creds = g_build_filename(f->home, ".aws", "credentials", NULL);
    g_assert_false(p->local);
    g_assert_cmpstr(p->name, ==, "nube");
    g_assert_cmpstr(p->access_key, ==, "AKIAUSERNUBE");
    g_assert_cmpstr(p->credentials_source, ==, creds);
    g_assert_cmpstr(p->endpoint_url, ==, "http://127.0.0.1:9000");
    g_assert_cmpstr(p->region, ==, "nube-home-1");
}

/* A default profile without an endpoint is AWS's, not nube's. */
static void test_aws_default_profile_skipped(Fixture *f, gconstpointer data)
{
    write_file(f->home, ".aws/credentials",
               "[default]\naws_access_key_id = AKIAREALAWS\naws_secret_access_key = realsecret\n");
    write_local(f);
    g_autoptr(NubeCliProfile) p = resolve(f, NULL, NULL);
    g_assert_true(p->local);
    g_assert_cmpstr(p->access_key, ==, "AKIALOCAL");
}

static void test_default_profile_with_endpoint(Fixture *f, gconstpointer data)
{
    write_file(f->home, ".aws/credentials",
               "[default]\naws_access_key_id = AKIADEF\naws_secret_access_key = defsecret\n");
    write_file(f->home, ".aws/config", "[default]\nendpoint_url = http://127.0.0.1:9001\n");
    g_autoptr(NubeCliProfile) p = resolve(f, NULL, NULL);
    g_assert_false(p->local);
    g_assert_cmpstr(p->name, ==, "default");
    g_assert_cmpstr(p->access_key, ==, "AKIADEF");
    g_assert_cmpstr(p->endpoint_url, ==, "http://127.0.0.1:9001");
}

/* --profile wins over the environment's keys; AWS_PROFILE does not. */
static void test_profile_option_and_env_keys(Fixture *f, gconstpointer data)
{
    write_user_nube(f);
    setenv_f(f, "AWS_ACCESS_KEY_ID", "AKIAENV");
    setenv_f(f, "AWS_SECRET_ACCESS_KEY", "envsecret");

    g_autoptr(NubeCliProfile) by_option = resolve(f, "default", NULL);
    g_assert_cmpstr(by_option->access_key, ==, "AKIAREALAWS");
    g_assert_cmpstr(by_option->region, ==, "eu-west-1");

    setenv_f(f, "AWS_PROFILE", "default");
    g_autoptr(NubeCliProfile) by_env = resolve(f, NULL, NULL);
    g_assert_cmpstr(by_env->name, ==, "default");
    g_assert_cmpstr(by_env->access_key, ==, "AKIAENV");
    g_assert_cmpstr(by_env->credentials_source, ==, "environment");
}

static void test_files_from_env(Fixture *f, gconstpointer data)
{
    write_file(f->dir, "c", "[team]\naws_access_key_id = AKIATEAM\naws_secret_access_key = t\n");
    write_file(f->dir, "k", "[profile team]\nregion = r-2\n");
    g_autofree char *c = g_build_filename(f->dir, "c", NULL);
    g_autofree char *k = g_build_filename(f->dir, "k", NULL);
    setenv_f(f, "AWS_SHARED_CREDENTIALS_FILE", c);
    setenv_f(f, "AWS_CONFIG_FILE", k);
    setenv_f(f, "AWS_PROFILE", "team");

    g_autoptr(NubeCliProfile) p = resolve(f, NULL, NULL);
    g_assert_cmpstr(p->access_key, ==, "AKIATEAM");
    g_assert_cmpstr(p->region, ==, "r-2");
    g_assert_cmpstr(p->endpoint_url, ==, "http://127.0.0.1:8773");
}

static void test_keys_in_config_file(Fixture *f, gconstpointer data)
{
    write_file(f->home, ".aws/config",
               "[profile nube]\naws_access_key_id = AKIACONF\naws_secret_access_key = c\n");
    g_autoptr(NubeCliProfile) p = resolve(f, NULL, NULL);
    g_autofree char *config = g_build_filename(f->home, ".aws", "config", NULL);
    g_assert_cmpstr(p->access_key, ==, "AKIACONF");
    g_assert_cmpstr(p->credentials_source, ==, config);
}

/* Options beat variables, which beat the files. */
static void test_endpoint_and_region_order(Fixture *f, gconstpointer data)
{
    write_user_nube(f);
    setenv_f(f, "AWS_ENDPOINT_URL", "http://127.0.0.1:9100");
    setenv_f(f, "AWS_DEFAULT_REGION", "r-default");
    g_autoptr(NubeCliProfile) env = resolve(f, NULL, NULL);
    g_assert_cmpstr(env->endpoint_url, ==, "http://127.0.0.1:9100");
    g_assert_cmpstr(env->region, ==, "r-default");

    setenv_f(f, "AWS_ENDPOINT_URL_EC2", "http://127.0.0.1:9200");
    setenv_f(f, "AWS_REGION", "r-region");
    g_autoptr(NubeCliProfile) ec2 = resolve(f, NULL, NULL);
    g_assert_cmpstr(ec2->endpoint_url, ==, "http://127.0.0.1:9200");
    g_assert_cmpstr(ec2->region, ==, "r-region");

    g_autoptr(NubeCliProfile) opt = resolve(f, NULL, "http://127.0.0.1:9300");
    g_assert_cmpstr(opt->endpoint_url, ==, "http://127.0.0.1:9300");
}

/* A profile named but found nowhere has no keys (nube then reports it). */
static void test_unknown_profile(Fixture *f, gconstpointer data)
{
    write_user_nube(f);
    g_autoptr(NubeCliProfile) p = resolve(f, "nosuch", NULL);
    g_assert_cmpstr(p->name, ==, "nosuch");
    g_assert_true(p->local);
    g_assert_null(p->access_key);
}

static void test_malformed_file(Fixture *f, gconstpointer data)
{
    write_file(f->home, ".aws/credentials", "[nube]\nthis line is no key\n");
    NubeCliProfileRequest req = { .envp = f->envp };
    g_autoptr(NubeError) err = NULL;
    g_autoptr(NubeCliProfile) p = nube_cli_profile_resolve(&req, &err);
    g_assert_null(p);
    g_assert_nonnull(err);
    g_assert_nonnull(strstr(err->message, ".aws/credentials"));
}

static void test_state_dir(Fixture *f, gconstpointer data)
{
    g_auto(GStrv) envp = g_environ_setenv(NULL, "HOME", "/home/u", TRUE);
    g_autofree char *user = nube_cli_profile_default_state_dir(envp, FALSE);
    g_autofree char *root = nube_cli_profile_default_state_dir(envp, TRUE);
    g_assert_cmpstr(user, ==, "/home/u/.local/state/nube");
    g_assert_cmpstr(root, ==, "/var/lib/nube");

    envp = g_environ_setenv(envp, "XDG_STATE_HOME", "/xdg/state", TRUE);
    g_autofree char *xdg = nube_cli_profile_default_state_dir(envp, FALSE);
    g_assert_cmpstr(xdg, ==, "/xdg/state/nube");

    NubeCliProfileRequest req = { .state_dir = "relative/dir", .envp = f->envp };
    g_autoptr(NubeCliProfile) p = nube_cli_profile_resolve(&req, NULL);
    g_autofree char *cwd = g_get_current_dir();
    g_autofree char *expected = g_build_filename(cwd, "relative", "dir", NULL);
    g_assert_cmpstr(p->state_dir, ==, expected);
}

#define ADD(path, fn) g_test_add(path, Fixture, NULL, fixture_setup, fn, fixture_teardown)

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    ADD("/cli/profile/nothing-configured", test_nothing_configured);
    ADD("/cli/profile/local-files", test_local_files);
    ADD("/cli/profile/user-nube-profile", test_user_nube_profile);
    ADD("/cli/profile/aws-default-skipped", test_aws_default_profile_skipped);
    ADD("/cli/profile/default-with-endpoint", test_default_profile_with_endpoint);
    ADD("/cli/profile/option-and-env-keys", test_profile_option_and_env_keys);
    ADD("/cli/profile/files-from-env", test_files_from_env);
    ADD("/cli/profile/keys-in-config", test_keys_in_config_file);
    ADD("/cli/profile/endpoint-region-order", test_endpoint_and_region_order);
    ADD("/cli/profile/unknown-profile", test_unknown_profile);
    ADD("/cli/profile/malformed-file", test_malformed_file);
    ADD("/cli/profile/state-dir", test_state_dir);
    return g_test_run();
}
