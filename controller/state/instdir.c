/*
 * instdir.c: paths in an instance directory (see instdir.h).
 */
#include "instdir.h"

char *nube_instdir_path(const char *instances_dir, const char *id, const char *name)
{
    return g_build_filename(instances_dir, id, name, NULL);
}
