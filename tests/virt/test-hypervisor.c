/*
 * test-hypervisor.c: the libvirt driver against libvirt's built-in test
 * driver (test:///default): no QEMU, fast, but real libvirt calls, real
 * events through the event-loop thread and real libvirt errors.
 */
#include "domain_xml.h"
#include "events.h"
#include "hypervisor.h"

#include <string.h>

#define URI "test:///default"

static char *minimal_xml(const char *name)
{
    NubeDomainSpec spec = {
        .name = name,
        .accel = NUBE_ACCEL_TCG,
        .vcpus = 1,
        .memory_mib = 128,
    };
    g_autoptr(NubeError) err = NULL;
    char *xml = nube_domain_xml(&spec, &err);
    g_assert_nonnull(xml);
    return xml;
}

static NubeDomainState state_of(NubeHypervisor *hv, const char *name)
{
    NubeDomainState state = (NubeDomainState) -1;
    g_autoptr(NubeError) err = NULL;
    g_assert_cmpint(nube_hypervisor_state(hv, name, &state, &err), ==, 0);
    return state;
}

/* ERR is passed by address: C does not order the evaluation of R and ERR. */
static void check_ok(int r, NubeError **err)
{
    if (r < 0)
        g_error("unexpected error %d: %s", r, *err != NULL ? (*err)->message : "?");
}

static void test_lifecycle(void)
{
    g_autoptr(GAsyncQueue) q = g_async_queue_new_full(g_free);
    g_autoptr(NubeError) err = NULL;
    g_autoptr(NubeHypervisor) hv = nube_hypervisor_open(URI, events_push, q, &err);
    check_ok(hv != NULL ? 0 : -1, &err);
    g_assert_cmpstr(nube_hypervisor_uri(hv), ==, URI);

    const char *name = "nube-unit-1";
    g_autofree char *xml = minimal_xml(name);
    g_assert_cmpint(state_of(hv, name), ==, NUBE_DOMAIN_ABSENT);
    check_ok(nube_hypervisor_define(hv, xml, &err), &err);
    g_assert_cmpint(state_of(hv, name), ==, NUBE_DOMAIN_SHUTOFF);

    check_ok(nube_hypervisor_start(hv, name, &err), &err);
    g_autofree char *ev1 = events_wait(q, name, 10);
    g_assert_cmpstr(ev1, ==, "started booted");
    g_assert_cmpint(state_of(hv, name), ==, NUBE_DOMAIN_RUNNING);

    check_ok(nube_hypervisor_destroy(hv, name, &err), &err);
    g_autofree char *ev2 = events_wait(q, name, 10);
    g_assert_cmpstr(ev2, ==, "stopped destroyed");
    g_assert_cmpint(state_of(hv, name), ==, NUBE_DOMAIN_SHUTOFF);
    /* Destroying a stopped domain is no error. */
    check_ok(nube_hypervisor_destroy(hv, name, &err), &err);

    check_ok(nube_hypervisor_undefine(hv, name, &err), &err);
    g_assert_cmpint(state_of(hv, name), ==, NUBE_DOMAIN_ABSENT);
    /* Neither is destroying or undefining an absent one. */
    check_ok(nube_hypervisor_undefine(hv, name, &err), &err);
    check_ok(nube_hypervisor_destroy(hv, name, &err), &err);
}

/* The same name defined again (as when a stopped instance is started)
 * works with the same UUID, and with another one while the domain is off
 * (a definition from an older nube is replaced), not while it runs. */
static void test_redefine(void)
{
    g_autoptr(NubeError) err = NULL;
    g_autoptr(NubeHypervisor) hv = nube_hypervisor_open(URI, NULL, NULL, &err);
    check_ok(hv != NULL ? 0 : -1, &err);
    const char *name = "nube-unit-4";
    g_autofree char *xml = minimal_xml(name);
    check_ok(nube_hypervisor_define(hv, xml, &err), &err);
    check_ok(nube_hypervisor_define(hv, xml, &err), &err);

    g_autofree char *uuid = g_uuid_string_random();
    NubeDomainSpec other = { .name = name, .uuid = uuid, .vcpus = 1, .memory_mib = 128 };
    g_autofree char *other_xml = nube_domain_xml(&other, &err);
    check_ok(nube_hypervisor_define(hv, other_xml, &err), &err);
    check_ok(nube_hypervisor_start(hv, name, &err), &err);
    g_assert_cmpint(nube_hypervisor_define(hv, xml, &err), <, 0);
    g_assert_nonnull(strstr(err->message, "already exists with uuid"));
    g_clear_pointer(&err, nube_error_free);
    check_ok(nube_hypervisor_destroy(hv, name, &err), &err);
    check_ok(nube_hypervisor_undefine(hv, name, &err), &err);
}

static void test_errors(void)
{
    g_autoptr(NubeError) err = NULL;
    g_autoptr(NubeHypervisor) hv = nube_hypervisor_open(URI, NULL, NULL, &err);
    check_ok(hv != NULL ? 0 : -1, &err);

    g_assert_cmpint(nube_hypervisor_start(hv, "nope", &err), ==, -ENOENT);
    g_assert_nonnull(strstr(err->message, "'nope'"));
    g_assert_null(err->code);
    g_clear_pointer(&err, nube_error_free);

    /* A libvirt error, converted: the XML does not parse. */
    g_assert_cmpint(nube_hypervisor_define(hv, "<domain", &err), ==, -EINVAL);
    g_assert_nonnull(strstr(err->message, "define domain: "));
    g_clear_pointer(&err, nube_error_free);

    /* The test driver has no QEMU monitor. */
    const char *name = "nube-unit-2";
    g_autofree char *xml = minimal_xml(name);
    check_ok(nube_hypervisor_define(hv, xml, &err), &err);
    check_ok(nube_hypervisor_start(hv, name, &err), &err);
    g_autofree char *reply = NULL;
    g_assert_cmpint(nube_hypervisor_monitor(hv, name, "info status", &reply, &err), <, 0);
    g_assert_nonnull(
        strstr(err->message, "monitor command 'info status' on domain 'nube-unit-2': "));
    g_assert_null(reply);
    g_clear_pointer(&err, nube_error_free);

    check_ok(nube_hypervisor_destroy(hv, name, &err), &err);
    check_ok(nube_hypervisor_undefine(hv, name, &err), &err);
}

static void test_open_fails(void)
{
    g_autoptr(NubeError) err = NULL;
    NubeHypervisor *hv = nube_hypervisor_open("nosuchdriver:///", NULL, NULL, &err);
    g_assert_null(hv);
    g_assert_nonnull(err);
    g_assert_true(g_str_has_prefix(err->message, "connect to 'nosuchdriver:///': "));
}

/* An embedded root too long for QEMU's monitor socket is refused before
 * libvirt sees it. */
static void test_root_too_long(void)
{
    g_autofree char *state =
        g_strdup_printf("/tmp/%s", "nube-state-directory-with-a-rather-long-name");
    g_autofree char *uri = nube_hypervisor_default_uri(state);
    g_autoptr(NubeError) err = NULL;
    NubeHypervisor *hv = nube_hypervisor_open(uri, NULL, NULL, &err);
    g_assert_null(hv);
    g_assert_nonnull(err);
    g_assert_cmpint(err->errnum, ==, ENAMETOOLONG);
    g_assert_false(g_file_test(state, G_FILE_TEST_EXISTS));
}

/* Two connections share one loop thread; closing both stops it, and a
 * later open starts it again (events still arrive). */
static void test_reopen(void)
{
    g_autoptr(GAsyncQueue) q = g_async_queue_new_full(g_free);
    g_autoptr(NubeError) err = NULL;
    NubeHypervisor *a = nube_hypervisor_open(URI, NULL, NULL, &err);
    NubeHypervisor *b = nube_hypervisor_open(URI, NULL, NULL, &err);
    g_assert_nonnull(a);
    g_assert_nonnull(b);
    nube_hypervisor_close(a);
    nube_hypervisor_close(b);
    nube_hypervisor_close(NULL);

    g_autoptr(NubeHypervisor) c = nube_hypervisor_open(URI, events_push, q, &err);
    check_ok(c != NULL ? 0 : -1, &err);
    const char *name = "nube-unit-3";
    g_autofree char *xml = minimal_xml(name);
    check_ok(nube_hypervisor_define(c, xml, &err), &err);
    check_ok(nube_hypervisor_start(c, name, &err), &err);
    g_autofree char *ev = events_wait(q, name, 10);
    g_assert_cmpstr(ev, ==, "started booted");
    check_ok(nube_hypervisor_destroy(c, name, &err), &err);
    check_ok(nube_hypervisor_undefine(c, name, &err), &err);
}

static void test_default_uri(void)
{
    g_autofree char *a = nube_hypervisor_default_uri("/var/lib/nube");
    g_assert_cmpstr(a, ==, "qemu:///embed?root=/var/lib/nube/libvirt");
    /* Characters that mean something in a URI are escaped. */
    g_autofree char *b = nube_hypervisor_default_uri("/srv/my nube&x=1#?");
    g_assert_cmpstr(b, ==, "qemu:///embed?root=/srv/my%20nube%26x%3D1%23%3F/libvirt");
    /* Relative state directories become absolute. */
    g_autofree char *c = nube_hypervisor_default_uri("state");
    g_autofree char *cwd = g_get_current_dir();
    g_autofree char *want = g_strdup_printf("qemu:///embed?root=%s/state/libvirt", cwd);
    if (strpbrk(cwd, " %&#?") == NULL)
        g_assert_cmpstr(c, ==, want);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/hypervisor/test-driver/lifecycle", test_lifecycle);
    g_test_add_func("/hypervisor/test-driver/redefine", test_redefine);
    g_test_add_func("/hypervisor/test-driver/errors", test_errors);
    g_test_add_func("/hypervisor/test-driver/open-fails", test_open_fails);
    g_test_add_func("/hypervisor/test-driver/reopen", test_reopen);
    g_test_add_func("/hypervisor/default-uri", test_default_uri);
    g_test_add_func("/hypervisor/root-too-long", test_root_too_long);
    return g_test_run();
}
