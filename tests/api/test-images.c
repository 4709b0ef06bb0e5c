/*
 * test-images.c: the image jobs through the API, on a store in the
 * fixture's directory and a pool of one thread.  NubeImportImage answers
 * at once with a pending image that its job makes failed with the store's
 * refusal; a missing file is refused at once; an image deregistered while
 * its job runs stays deregistered.  CreateImage, with its job on the one
 * thread, stops the instance (a domain of libvirt's test driver) without a
 * stop job, which could never run.
 */
#include "fixture.h"
#include "domain_xml.h"
#include "images.h"
#include "jobs.h"
#include "lifecycle.h"

#include <string.h>

/* A gate a job waits at, so the pool's one thread is busy until the test
 * opens it. */
typedef struct {
    GMutex lock;
    GCond cond;
    gboolean open;
} Gate;

static void gate_job(gpointer data)
{
    Gate *g = data;
    g_mutex_lock(&g->lock);
    while (!g->open)
        g_cond_wait(&g->cond, &g->lock);
    g_mutex_unlock(&g->lock);
}

static void gate_open(Gate *g)
{
    g_mutex_lock(&g->lock);
    g->open = TRUE;
    g_cond_signal(&g->cond);
    g_mutex_unlock(&g->lock);
}

/* The fixture with a store in DIR/images and a pool of one thread (that
 * runs jobs, instead of the fixture's held one). */
static void setup(Fixture *f, gconstpointer spec)
{
    g_autoptr(NubeError) err = NULL;
    fixture_setup(f, spec);
    g_autofree char *dir = g_build_filename(f->dir, "images", NULL);
    f->cloud.store = nube_store_open(dir, &err);
    g_assert_nonnull(f->cloud.store);
    nube_jobs_free(f->cloud.jobs); /* the fixture's held pool */
    f->cloud.jobs = nube_jobs_new(1);
}

static void teardown(Fixture *f, gconstpointer spec)
{
    nube_jobs_free(g_steal_pointer(&f->cloud.jobs)); /* waits for the jobs */
    nube_hypervisor_close(f->cloud.hv);
    nube_store_free(f->cloud.store);
    fixture_teardown(f, spec);
}

/* Waits up to TIMEOUT_S seconds for image ID to leave the pending state. */
static NubeImage *image_wait(Fixture *f, const char *id, int timeout_s)
{
    for (int i = 0; i < timeout_s * 20; i++) {
        g_autoptr(NubeImage) img = nube_image_get(f->cloud.db, id, NULL);
        g_assert_nonnull(img);
        if (!g_str_equal(img->state, "pending"))
            return g_steal_pointer(&img);
        g_usleep(G_USEC_PER_SEC / 20);
    }
    g_error("image '%s' still pending after %d s", id, timeout_s);
}

/* A qcow2 v3 header that names a backing file, in DIR/NAME (caller frees
 * the path). */
static char *write_backed_qcow2(Fixture *f, const char *name)
{
    guint8 head[512] = { 'Q', 'F', 'I', 0xfb };
    head[7] = 3;    /* version */
    head[15] = 112; /* backing_file_offset */
    head[19] = 11;  /* backing_file_size */
    memcpy(head + 112, "/etc/passwd", 11);
    char *path = g_build_filename(f->dir, name, NULL);
    g_assert_true(g_file_set_contents(path, (const char *) head, sizeof(head), NULL));
    return path;
}

/* NubeImportImage of PATH as NAME, answered while the pool's thread waits
 * at GATE: the image is pending, "queued".  Returns its id (caller frees). */
static char *import_queued(Fixture *f, const char *path, const char *name, Gate *gate)
{
    nube_jobs_push(f->cloud.jobs, gate_job, gate, NULL);
    g_autofree char *params = g_strdup_printf("Action=NubeImportImage&Path=%s&Name=%s", path, name);
    g_autofree char *xml = fixture_ok(f, params);
    char *id = fixture_element(xml, "imageId");
    g_autoptr(NubeImage) img = nube_image_get(f->cloud.db, id, NULL);
    g_assert_nonnull(img);
    g_assert_cmpstr(img->state, ==, "pending");
    g_assert_cmpstr(img->state_reason, ==, "queued");
    g_assert_cmpstr(img->source, ==, "import");
    return id;
}

static gboolean dir_empty(const char *path)
{
    g_autoptr(GDir) dir = g_dir_open(path, 0, NULL);
    return dir == NULL || g_dir_read_name(dir) == NULL;
}

static void test_import_refused(Fixture *f, gconstpointer data)
{
    Gate gate = { 0 };
    g_autofree char *path = write_backed_qcow2(f, "evil.qcow2");
    g_autofree char *id = import_queued(f, path, "evil-image", &gate);
    gate_open(&gate);

    g_autoptr(NubeImage) img = image_wait(f, id, 30);
    g_autofree char *refusal = g_strdup_printf(
        "image file '%s' has a backing file; only standalone images can be imported", path);
    g_assert_cmpstr(img->state, ==, "failed");
    g_assert_cmpstr(img->state_reason, ==, refusal);
    g_assert_null(img->base_sha256);
    g_autofree char *params = g_strdup_printf("Action=DescribeImages&ImageId.1=%s", id);
    g_autofree char *xml = fixture_ok(f, params);
    g_autofree char *state = fixture_element(xml, "imageState");
    g_assert_cmpstr(state, ==, "failed");
    g_autofree char *message = fixture_element(xml, "message");
    g_assert_cmpstr(message, ==, refusal);
    g_autofree char *bases = g_build_filename(f->dir, "images", "bases", NULL);
    g_assert_true(dir_empty(bases));
}

static void test_import_missing(Fixture *f, gconstpointer data)
{
    g_autofree char *path = g_build_filename(f->dir, "missing.qcow2", NULL);
    g_autofree char *params = g_strdup_printf("Action=NubeImportImage&Path=%s", path);
    fixture_refused(f, params, "InvalidParameterValue");
    g_autofree char *kernel =
        g_strdup_printf("Action=NubeImportImage&Path=/etc/passwd&KernelPath=%s", path);
    fixture_refused(f, kernel, "InvalidParameterValue");
    fixture_refused(f, "Action=NubeImportImage&Path=/etc/passwd&Format=vmdk",
                    "InvalidParameterValue");
    g_assert_cmpint(fixture_count_rows(f, "images"), ==, 0);
}

/* Deregistered while its job waits: the job's failure leaves it so. */
static void test_import_deregistered(Fixture *f, gconstpointer data)
{
    Gate gate = { 0 };
    g_autofree char *path = write_backed_qcow2(f, "evil.qcow2");
    g_autofree char *id = import_queued(f, path, "evil-image", &gate);
    g_autofree char *params = g_strdup_printf("Action=DeregisterImage&ImageId=%s", id);
    g_free(fixture_ok(f, params));
    gate_open(&gate);
    nube_jobs_free(g_steal_pointer(&f->cloud.jobs));

    g_autoptr(NubeImage) img = nube_image_get(f->cloud.db, id, NULL);
    g_assert_cmpstr(img->state, ==, "deregistered");
}

#define INSTANCE "i-0abcdef0123456789"

/* The instance INSTANCE running FIXTURE_AMI, in the database and as a
 * running domain of libvirt's test driver whose events go to the
 * lifecycle, as nubed's do. */
static void insert_running(Fixture *f)
{
    g_autoptr(NubeImage) img = fixture_image_new(NULL);
    fixture_insert_image(f, img, NULL, NULL, NULL);
    g_autoptr(NubeInstance) inst =
        fixture_instance_new(INSTANCE, NUBE_INSTANCE_RUNNING, "t3.micro", NULL);
    fixture_insert_instance(f, inst);
}

static void start_domain(Fixture *f)
{
    g_autoptr(NubeError) err = NULL;
    f->cloud.hv = nube_hypervisor_open("test:///default", nube_lifecycle_on_event, &f->cloud, &err);
    g_assert_nonnull(f->cloud.hv);
    NubeDomainSpec spec = {
        .name = INSTANCE,
        .accel = NUBE_ACCEL_TCG,
        .vcpus = 1,
        .memory_mib = 128,
    };
    g_autofree char *xml = nube_domain_xml(&spec, &err);
    g_assert_nonnull(xml);
    g_assert_cmpint(nube_hypervisor_define(f->cloud.hv, xml, &err), ==, 0);
    g_assert_cmpint(nube_hypervisor_start(f->cloud.hv, INSTANCE, &err), ==, 0);
}

/* The bake holds the pool's only thread (as when as many bakes run as the
 * pool has threads).  It must shut the guest down itself: a queued stop job
 * would wait for the bake, and the bake for the instance's stopped state
 * until it timed out (210 s).  There is no disk to flatten here, so the
 * image then fails at the flattening, and the instance is started again
 * (which fails too: no base), after the bake. */
static void test_bake_pool_full(Fixture *f, gconstpointer data)
{
    start_domain(f);
    g_autofree char *xml =
        fixture_ok(f, "Action=CreateImage&InstanceId=" INSTANCE "&Name=baked-image");
    g_autofree char *id = fixture_element(xml, "imageId");

    g_autoptr(NubeImage) img = image_wait(f, id, 30);
    g_assert_cmpstr(img->state, ==, "failed");
    g_assert_true(g_str_has_prefix(img->state_reason, "flatten '"));
    nube_jobs_free(g_steal_pointer(&f->cloud.jobs));
    NubeDomainState st = NUBE_DOMAIN_RUNNING;
    g_assert_cmpint(nube_hypervisor_state(f->cloud.hv, INSTANCE, &st, NULL), ==, 0);
    g_assert_cmpint(st, ==, NUBE_DOMAIN_SHUTOFF);
    g_autoptr(NubeInstance) inst = nube_instance_get(f->cloud.db, INSTANCE, NULL);
    g_assert_cmpint(inst->state, ==, NUBE_INSTANCE_STOPPED);
}

static const FixtureSpec empty = { "images", NULL };
static const FixtureSpec running = { "images", insert_running };

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add("/images/import/refused", Fixture, &empty, setup, test_import_refused, teardown);
    g_test_add("/images/import/missing", Fixture, &empty, setup, test_import_missing, teardown);
    g_test_add("/images/import/deregistered", Fixture, &empty, setup, test_import_deregistered,
               teardown);
    g_test_add("/images/bake/pool-full", Fixture, &running, setup, test_bake_pool_full, teardown);
    return g_test_run();
}
