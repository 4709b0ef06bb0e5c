/*
 * commands.h: the commands of nube.  Each one parses its own options with
 * nube_cli_begin() (or nube_cli_args_parse() when it checks them before
 * talking to nubed) and returns 0, or a negative errno with ERR set; main()
 * reports the error.
 */
#pragma once

#include "cli.h"

struct NubeCliCommand {
    const char *name;        /* command words: "ps", "image import" */
    const char *args;        /* positional arguments for the usage line */
    const char *summary;     /* one line, for `nube --help` */
    const char *description; /* more text for `nube CMD --help`, or NULL */
    int min_args;            /* number of positional arguments */
    int max_args;            /* -1: no limit */
    int (*run)(NubeCli *cli, const NubeCliCommand *cmd, int argc, char **argv, NubeError **err);
};

/* cmd_image.c */
extern const NubeCliCommand nube_cli_cmd_image_build_default;
extern const NubeCliCommand nube_cli_cmd_image_import;
extern const NubeCliCommand nube_cli_cmd_image_create;
extern const NubeCliCommand nube_cli_cmd_image_list;
extern const NubeCliCommand nube_cli_cmd_image_deregister;

/* Prints image ID in detail (for `nube describe ami-…`).  0, or -errno
 * with ERR set. */
int nube_cli_cmd_image_show(NubeCli *cli, NubeCliClient *client, const char *id, NubeError **err);

/*
 * Starts building the default image (NubeBuildDefaultImage with PARAMS, may
 * be NULL), or finds the image of the same recipe.  Returns its id (new
 * string) and sets *REUSED, or NULL with ERR set.  Does not wait.
 */
char *nube_cli_cmd_image_build_default_start(NubeCliClient *client, const NubeCliParams *params,
                                             gboolean *reused, NubeError **err);

/* cmd_repo.c */
extern const NubeCliCommand nube_cli_cmd_repo_add;

/*
 * Adds PACKAGES (NULL-terminated names) and their dependencies to nubed's
 * package repository for guests (NubeAddPackages; synchronous, seconds to
 * minutes).  Returns 0 with *APT_SOURCE (new string, "deb [trusted=yes]
 * http://169.254.169.2:PORT/ ./") and *ADDED (new .deb files) set, or a negative
 * errno with ERR set.
 */
int nube_cli_cmd_repo_add_packages(NubeCliClient *client, const char *const *packages,
                                   char **apt_source, gint64 *added, NubeError **err);

/* cmd_demo.c */
extern const NubeCliCommand nube_cli_cmd_demo;

/* cmd_instance.c */
extern const NubeCliCommand nube_cli_cmd_run;
extern const NubeCliCommand nube_cli_cmd_ps;
extern const NubeCliCommand nube_cli_cmd_describe;
extern const NubeCliCommand nube_cli_cmd_console;

/* cmd_lifecycle.c */
extern const NubeCliCommand nube_cli_cmd_stop;
extern const NubeCliCommand nube_cli_cmd_start;
extern const NubeCliCommand nube_cli_cmd_reboot;
extern const NubeCliCommand nube_cli_cmd_terminate;
extern const NubeCliCommand nube_cli_cmd_wait;

/* cmd_info.c */
extern const NubeCliCommand nube_cli_cmd_info;

/* cmd_keypair.c */
extern const NubeCliCommand nube_cli_cmd_keypair_create;
extern const NubeCliCommand nube_cli_cmd_keypair_import;
extern const NubeCliCommand nube_cli_cmd_keypair_list;
extern const NubeCliCommand nube_cli_cmd_keypair_delete;

/* cmd_sg.c */
extern const NubeCliCommand nube_cli_cmd_sg_create;
extern const NubeCliCommand nube_cli_cmd_sg_list;
extern const NubeCliCommand nube_cli_cmd_sg_allow;
extern const NubeCliCommand nube_cli_cmd_sg_revoke;
extern const NubeCliCommand nube_cli_cmd_sg_delete;

/* cmd_tag.c */
extern const NubeCliCommand nube_cli_cmd_tag;
extern const NubeCliCommand nube_cli_cmd_untag;
extern const NubeCliCommand nube_cli_cmd_tags;

/* cmd_modify.c */
extern const NubeCliCommand nube_cli_cmd_modify;
