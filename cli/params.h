/*
 * params.h: the parameters of one EC2 Query API request, in the order they
 * were added, and their application/x-www-form-urlencoded body.
 */
#pragma once

#include <glib.h>

#define NUBE_EC2_VERSION "2016-11-15"

typedef struct NubeParams NubeParams;

/* A new, empty parameter list (free with nube_params_free()). */
NubeParams *nube_params_new(void);
/* Frees PARAMS and the copies it holds (NULL is allowed). */
void nube_params_free(NubeParams *params);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(NubeParams, nube_params_free)

/* Appends KEY=VALUE (both copied). */
void nube_params_add(NubeParams *params, const char *key, const char *value);

/* Appends PREFIX.1=VALUES[0], PREFIX.2=VALUES[1], … (the EC2 list form). */
void nube_params_add_list(NubeParams *params, const char *prefix, const char *const *values);

/*
 * The request body "Action=ACTION&Version=2016-11-15&K=V&…", every key and
 * value percent-encoded with AWS's rules.  Returns a new string.
 */
char *nube_params_encode(const NubeParams *params, const char *action);
