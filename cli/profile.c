/*
 * profile.c: endpoint, region and keys, resolved as the AWS CLI does, with
 * the local nubed's files as the fallback (see profile.h for the order).
 */
#include "profile.h"

#include <string.h>

/* A pair of AWS CLI files: credentials ("[NAME]") and config ("[profile
 * NAME]").  A file that does not exist is a NULL key file. */
typedef struct {
    char *credentials_path;
    char *config_path;
    GKeyFile *credentials;
    GKeyFile *config;
} ProfileFiles;

static void files_clear(ProfileFiles *files)
{
    g_free(files->credentials_path);
    g_free(files->config_path);
    if (files->credentials)
        g_key_file_unref(files->credentials);
    if (files->config)
        g_key_file_unref(files->config);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(ProfileFiles, files_clear)

/* A variable of REQ's environment; empty counts as unset. */
static const char *env_get(const NubeCliProfileRequest *req, const char *name)
{
    const char *value = g_environ_getenv(req->envp, name);
    return value && *value ? value : NULL;
}

static const char *first_set(const char *a, const char *b, const char *c)
{
    return a ? a : b ? b : c;
}

static char *home_dir(char **envp)
{
    const char *home = g_environ_getenv(envp, "HOME");
    return g_strdup(home && *home ? home : g_get_home_dir());
}

/* PATH with a leading "~/" expanded, as the AWS CLI does. */
static char *expand_home(const NubeCliProfileRequest *req, const char *path)
{
    if (!g_str_has_prefix(path, "~/"))
        return g_strdup(path);
    g_autofree char *home = home_dir(req->envp);
    return g_build_filename(home, path + 2, NULL);
}

char *nube_cli_profile_default_state_dir(char **envp, gboolean is_root)
{
    if (is_root)
        return g_strdup("/var/lib/nube");
    const char *xdg = g_environ_getenv(envp, "XDG_STATE_HOME");
    if (xdg && g_path_is_absolute(xdg))
        return g_build_filename(xdg, "nube", NULL);
    g_autofree char *home = home_dir(envp);
    return g_build_filename(home, ".local", "state", "nube", NULL);
}

static char *state_dir(const NubeCliProfileRequest *req)
{
    const char *dir = req->state_dir ? req->state_dir : env_get(req, "NUBE_STATE_DIR");
    if (dir == NULL)
        return nube_cli_profile_default_state_dir(req->envp, req->is_root);
    return g_canonicalize_filename(dir, NULL);
}

/* The AWS CLI also allows ';' comments, GKeyFile only '#'. */
static void semicolon_comments(char *data)
{
    for (char *line = data; line != NULL && *line != '\0';) {
        char *p = line + strspn(line, " \t");
        if (*p == ';')
            *p = '#';
        line = strchr(line, '\n');
        if (line)
            line++;
    }
}

/* Loads PATH into *OUT; a missing file leaves *OUT NULL.  0 or -errno. */
static int keyfile_load(const char *path, GKeyFile **out, NubeError **err)
{
    g_autofree char *data = NULL;
    g_autoptr(GError) gerr = NULL;
    gsize len;

    *out = NULL;
    if (!g_file_get_contents(path, &data, &len, &gerr)) {
        if (g_error_matches(gerr, G_FILE_ERROR, G_FILE_ERROR_NOENT))
            return 0;
        return nube_error_set(err, EIO, "read '%s': %s", path, gerr->message);
    }
    semicolon_comments(data);
    g_autoptr(GKeyFile) kf = g_key_file_new();
    if (!g_key_file_load_from_data(kf, data, len, G_KEY_FILE_NONE, &gerr))
        return nube_error_set(err, EINVAL, "parse '%s': %s", path, gerr->message);
    *out = g_steal_pointer(&kf);
    return 0;
}

static int files_load(ProfileFiles *files, char *credentials_path, char *config_path,
                      NubeError **err)
{
    files->credentials_path = credentials_path;
    files->config_path = config_path;
    if (keyfile_load(credentials_path, &files->credentials, err) < 0 ||
        keyfile_load(config_path, &files->config, err) < 0)
        return -EIO;
    return 0;
}

static int user_files_load(const NubeCliProfileRequest *req, ProfileFiles *files, NubeError **err)
{
    g_autofree char *home = home_dir(req->envp);
    const char *creds = env_get(req, "AWS_SHARED_CREDENTIALS_FILE");
    const char *config = env_get(req, "AWS_CONFIG_FILE");

    return files_load(
        files,
        creds ? expand_home(req, creds) : g_build_filename(home, ".aws", "credentials", NULL),
        config ? expand_home(req, config) : g_build_filename(home, ".aws", "config", NULL), err);
}

static int local_files_load(const char *dir, ProfileFiles *files, NubeError **err)
{
    return files_load(files, g_build_filename(dir, "credentials", NULL),
                      g_build_filename(dir, "config", NULL), err);
}

/* The config file's group for profile NAME (borrowed), or NULL. */
static const char *config_group(const ProfileFiles *files, const char *name, char **buf)
{
    if (files->config == NULL)
        return NULL;
    if (strcmp(name, "default") == 0 && g_key_file_has_group(files->config, "default"))
        return "default";
    *buf = g_strdup_printf("profile %s", name);
    return g_key_file_has_group(files->config, *buf) ? *buf : NULL;
}

static gboolean files_have(const ProfileFiles *files, const char *name)
{
    g_autofree char *buf = NULL;
    if (files->credentials && g_key_file_has_group(files->credentials, name))
        return TRUE;
    return config_group(files, name, &buf) != NULL;
}

/* KEY of profile NAME in the credentials file (or config file), stripped.
 * A new string, or NULL if absent or empty. */
static char *files_value(const ProfileFiles *files, gboolean credentials, const char *name,
                         const char *key)
{
    g_autofree char *buf = NULL;
    GKeyFile *kf = credentials ? files->credentials : files->config;
    const char *group = credentials ? name : config_group(files, name, &buf);

    if (kf == NULL || group == NULL)
        return NULL;
    g_autofree char *value = g_key_file_get_value(kf, group, key, NULL);
    if (value == NULL || *g_strstrip(value) == '\0')
        return NULL;
    return g_steal_pointer(&value);
}

static gboolean endpoint_configured(const NubeCliProfileRequest *req, const ProfileFiles *user,
                                    const char *name)
{
    g_autofree char *url = files_value(user, FALSE, name, "endpoint_url");
    return req->endpoint_url || env_get(req, "AWS_ENDPOINT_URL_EC2") ||
           env_get(req, "AWS_ENDPOINT_URL") || url;
}

/* The profile of the user's files used when none is named: "nube", else
 * "default" if an endpoint is configured (else it is meant for AWS). */
static const char *implicit_user_profile(const NubeCliProfileRequest *req, const ProfileFiles *user)
{
    if (files_have(user, NUBE_CLI_PROFILE_DEFAULT_NAME))
        return NUBE_CLI_PROFILE_DEFAULT_NAME;
    if (files_have(user, "default") && endpoint_configured(req, user, "default"))
        return "default";
    return NULL;
}

/*
 * Picks the profile (sets PROFILE's name and local flag) and returns the
 * files it is read from: USER or LOCAL, which is loaded when needed.
 * NULL with ERR set if the local files cannot be read.
 */
static ProfileFiles *profile_choose(const NubeCliProfileRequest *req, NubeCliProfile *profile,
                                    ProfileFiles *user, ProfileFiles *local, NubeError **err)
{
    const char *named = first_set(req->profile, env_get(req, "AWS_PROFILE"), NULL);
    const char *user_name =
        named ? (files_have(user, named) ? named : NULL) : implicit_user_profile(req, user);

    if (user_name != NULL) {
        profile->name = g_strdup(user_name);
        return user;
    }
    if (local_files_load(profile->state_dir, local, err) < 0)
        return NULL;
    profile->local = TRUE;
    if (named == NULL && !files_have(local, NUBE_CLI_PROFILE_DEFAULT_NAME) &&
        files_have(local, "default"))
        named = "default";
    profile->name = g_strdup(named ? named : NUBE_CLI_PROFILE_DEFAULT_NAME);
    return local;
}

static void profile_keys(const NubeCliProfileRequest *req, NubeCliProfile *profile,
                         const ProfileFiles *files)
{
    const char *env_access = env_get(req, "AWS_ACCESS_KEY_ID");
    const char *env_secret = env_get(req, "AWS_SECRET_ACCESS_KEY");

    if (req->profile == NULL && env_access && env_secret) {
        profile->access_key = g_strdup(env_access);
        profile->secret_key = g_strdup(env_secret);
        profile->credentials_source = g_strdup("environment");
        return;
    }
    for (int in_credentials = 1; in_credentials >= 0; in_credentials--) {
        g_autofree char *access =
            files_value(files, in_credentials, profile->name, "aws_access_key_id");
        g_autofree char *secret =
            files_value(files, in_credentials, profile->name, "aws_secret_access_key");
        if (access && secret) {
            profile->access_key = g_steal_pointer(&access);
            profile->secret_key = g_steal_pointer(&secret);
            profile->credentials_source =
                g_strdup(in_credentials ? files->credentials_path : files->config_path);
            return;
        }
    }
}

static void profile_settings(const NubeCliProfileRequest *req, NubeCliProfile *profile,
                             const ProfileFiles *files)
{
    const char *endpoint = first_set(req->endpoint_url, env_get(req, "AWS_ENDPOINT_URL_EC2"),
                                     env_get(req, "AWS_ENDPOINT_URL"));
    const char *region =
        first_set(req->region, env_get(req, "AWS_REGION"), env_get(req, "AWS_DEFAULT_REGION"));

    profile->endpoint_url =
        endpoint ? g_strdup(endpoint) : files_value(files, FALSE, profile->name, "endpoint_url");
    if (profile->endpoint_url == NULL)
        profile->endpoint_url = g_strdup(NUBE_CLI_PROFILE_DEFAULT_ENDPOINT);
    profile->region =
        region ? g_strdup(region) : files_value(files, FALSE, profile->name, "region");
    if (profile->region == NULL)
        profile->region = g_strdup(NUBE_CLI_PROFILE_DEFAULT_REGION);
}

NubeCliProfile *nube_cli_profile_resolve(const NubeCliProfileRequest *req, NubeError **err)
{
    g_autoptr(NubeCliProfile) profile = g_new0(NubeCliProfile, 1);
    g_auto(ProfileFiles) user = { 0 };
    g_auto(ProfileFiles) local = { 0 };

    profile->state_dir = state_dir(req);
    if (user_files_load(req, &user, err) < 0)
        return NULL;
    ProfileFiles *files = profile_choose(req, profile, &user, &local, err);
    if (files == NULL)
        return NULL;
    profile_keys(req, profile, files);
    profile_settings(req, profile, files);
    return g_steal_pointer(&profile);
}

void nube_cli_profile_free(NubeCliProfile *profile)
{
    if (profile == NULL)
        return;
    g_free(profile->name);
    g_free(profile->endpoint_url);
    g_free(profile->region);
    g_free(profile->access_key);
    if (profile->secret_key)
        explicit_bzero(profile->secret_key, strlen(profile->secret_key));
    g_free(profile->secret_key);
    g_free(profile->credentials_source);
    g_free(profile->state_dir);
    g_free(profile);
}
