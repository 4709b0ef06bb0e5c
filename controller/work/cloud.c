/*
 * cloud.c: the services of one nubed (see cloud.h).
 */
#include "cloud.h"
#include "instdir.h"

char *nube_cloud_instance_dir(const NubeCloud *cloud, const char *id)
{
    return nube_instdir_path(cloud->instances_dir, id, NULL);
}
