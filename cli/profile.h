/*
 * profile.h: where nube sends requests and with which keys, resolved as the
 * AWS CLI does, with the local nubed as the fallback.
 *
 *   endpoint: --endpoint-url, $AWS_ENDPOINT_URL_EC2, $AWS_ENDPOINT_URL, the
 *             profile's endpoint_url, http://127.0.0.1:8773
 *   region:   --region, $AWS_REGION, $AWS_DEFAULT_REGION, the profile's
 *             region, nube-local-1
 *   keys:     $AWS_ACCESS_KEY_ID + $AWS_SECRET_ACCESS_KEY (unless --profile
 *             is given), else the profile's aws_access_key_id and
 *             aws_secret_access_key (credentials file, then config file)
 *   profile:  --profile, $AWS_PROFILE; else "nube" if the user's files have
 *             it; else "default" if they have it and an endpoint is
 *             configured (a bare AWS default profile is meant for AWS);
 *             else the local nubed's files STATE/credentials and
 *             STATE/config (profile "nube", or "default" there).
 *
 * The user's files are $AWS_SHARED_CREDENTIALS_FILE (~/.aws/credentials,
 * sections "[NAME]") and $AWS_CONFIG_FILE (~/.aws/config, sections
 * "[profile NAME]" and "[default]").  A profile named explicitly but absent
 * from them is looked up in the local nubed's files too.  STATE is
 * --state-dir, $NUBE_STATE_DIR, /var/lib/nube for root, else
 * $XDG_STATE_HOME/nube (~/.local/state/nube).
 */
#pragma once

#include "error.h"

#include <glib.h>

#define NUBE_CLI_PROFILE_DEFAULT_NAME     "nube"
#define NUBE_CLI_PROFILE_DEFAULT_ENDPOINT "http://127.0.0.1:8773"
#define NUBE_CLI_PROFILE_DEFAULT_REGION   "nube-local-1"

/* What the command line and the environment say. */
typedef struct {
    const char *endpoint_url; /* --endpoint-url, or NULL */
    const char *profile;      /* --profile, or NULL */
    const char *region;       /* --region, or NULL */
    const char *state_dir;    /* --state-dir, or NULL */
    char **envp;              /* environment to read, as g_get_environ() */
    gboolean is_root;         /* effective uid 0 */
} NubeCliProfileRequest;

typedef struct {
    char *name; /* profile used */
    char *endpoint_url;
    char *region;
    char *access_key; /* NULL when no keys were found */
    char *secret_key;
    char *credentials_source; /* "environment" or the file the keys are in */
    char *state_dir;          /* the local nubed's state directory */
    gboolean local;           /* the profile is the local nubed's */
} NubeCliProfile;

/*
 * Resolves REQ.  Returns a new profile (free with nube_cli_profile_free()) whose
 * keys may be NULL when none are configured yet, or NULL with ERR set when a
 * file exists but cannot be read or parsed.
 */
NubeCliProfile *nube_cli_profile_resolve(const NubeCliProfileRequest *req, NubeError **err);

/* Frees PROFILE, wiping its secret key (NULL is allowed). */
void nube_cli_profile_free(NubeCliProfile *profile);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(NubeCliProfile, nube_cli_profile_free)

/*
 * The local nubed's default state directory for a user with environment
 * ENVP: /var/lib/nube when IS_ROOT, else $XDG_STATE_HOME/nube, else
 * $HOME/.local/state/nube.  Returns a new string.
 */
char *nube_cli_profile_default_state_dir(char **envp, gboolean is_root);
