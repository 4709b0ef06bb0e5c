/*
 * cloud.c: the services of one nubed (see cloud.h).
 */
#include "cloud.h"

char *nube_cloud_instance_dir(const NubeCloud *cloud, const char *id)
{
    return g_build_filename(cloud->instances_dir, id, NULL);
}
