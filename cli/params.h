/*
 * params.h: the parameters of one EC2 Query API request, in the order they
 * were added, and their application/x-www-form-urlencoded body.
 */
#pragma once

#include <glib.h>

#define NUBE_CLI_EC2_VERSION "2016-11-15"

typedef struct NubeCliParams NubeCliParams;

/* A new, empty parameter list (free with nube_cli_params_free()). */
NubeCliParams *nube_cli_params_new(void);
/* Frees PARAMS and the copies it holds (NULL is allowed). */
void nube_cli_params_free(NubeCliParams *params);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(NubeCliParams, nube_cli_params_free)

/* Appends KEY=VALUE (both copied). */
void nube_cli_params_add(NubeCliParams *params, const char *key, const char *value);

/* Appends PREFIX.1=VALUES[0], PREFIX.2=VALUES[1], … (the EC2 list form). */
void nube_cli_params_add_list(NubeCliParams *params, const char *prefix, const char *const *values);

/*
 * The request body "Action=ACTION&Version=2016-11-15&K=V&…", every key and
 * value percent-encoded with AWS's rules.  Returns a new string.
 */
char *nube_cli_params_encode(const NubeCliParams *params, const char *action);
