/*
 * test-format.c: image format detection and qcow2 header checks, on bytes
 * in memory (suite unit: no qemu-img).
 */
#include "store.h"

#include <string.h>

#define V3_LEN 104

static void put_be32(guint8 *p, guint32 v)
{
    p[0] = v >> 24;
    p[1] = v >> 16;
    p[2] = v >> 8;
    p[3] = v;
}

static void put_be64(guint8 *p, guint64 v)
{
    put_be32(p, v >> 32);
    put_be32(p + 4, (guint32) v);
}

/* A plausible standalone qcow2 v3 header in H (512 bytes). */
static void make_v3(guint8 *h)
{
    memset(h, 0, 512);
    memcpy(h, "QFI\xfb", 4);
    put_be32(h + 4, 3);
    put_be32(h + 20, 16);      /* cluster_bits */
    put_be64(h + 24, 1 << 20); /* size */
    put_be32(h + 96, 4);       /* refcount_order */
    put_be32(h + 100, V3_LEN); /* header_length */
}

static void test_detect(void)
{
    guint8 h[512];
    make_v3(h);
    g_assert_cmpstr(nube_store_detect_format(h, sizeof(h)), ==, "qcow2");
    put_be32(h + 4, 1);
    g_assert_cmpstr(nube_store_detect_format(h, sizeof(h)), ==, "qcow");

    struct {
        size_t off;
        const char *magic;
        size_t len;
        const char *format;
    } cases[] = {
        { 0, "KDMV", 4, "vmdk" },
        { 0, "# Disk DescriptorFile", 21, "vmdk" },
        { 64, "\x7f\x10\xda\xbe", 4, "vdi" },
        { 0, "vhdxfile", 8, "vhdx" },
        { 0, "conectix", 8, "vpc" },
        { 0, "QED\0", 4, "qed" },
        { 0, "LUKS\xba\xbe", 6, "luks" },
        { 0, "WithoutFreeSpace", 16, "parallels" },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        memset(h, 0x55, sizeof(h));
        memcpy(h + cases[i].off, cases[i].magic, cases[i].len);
        g_assert_cmpstr(nube_store_detect_format(h, sizeof(h)), ==, cases[i].format);
        /* a magic cut short by the end of the file is no magic */
        g_assert_cmpstr(nube_store_detect_format(h, cases[i].off + 2), ==, "raw");
    }

    memset(h, 0, sizeof(h));
    g_assert_cmpstr(nube_store_detect_format(h, sizeof(h)), ==, "raw");
    g_assert_cmpstr(nube_store_detect_format(h, 0), ==, "raw");
    memcpy(h, "QFI", 3); /* not the whole magic */
    g_assert_cmpstr(nube_store_detect_format(h, sizeof(h)), ==, "raw");
}

/* Checks H and expects a refusal whose message contains WHAT. */
static void assert_refused(const guint8 *h, size_t len, const char *what)
{
    g_autoptr(NubeError) err = NULL;
    g_assert_cmpint(nube_store_check_qcow2_header(h, len, "/x/img", &err), ==, -EINVAL);
    g_assert_nonnull(err);
    g_assert_cmpstr(nube_error_code(err), ==, "InvalidParameterValue");
    g_assert_nonnull(strstr(err->message, "'/x/img'"));
    g_assert_nonnull(strstr(err->message, what));
}

static void test_qcow2_header(void)
{
    guint8 h[512];
    make_v3(h);
    g_assert_cmpint(nube_store_check_qcow2_header(h, sizeof(h), "x", NULL), ==, 0);
    g_assert_cmpint(nube_store_check_qcow2_header(h, V3_LEN, "x", NULL), ==, 0);

    put_be64(h + 8, 0x200);
    put_be32(h + 16, 11);
    assert_refused(h, sizeof(h), "backing file");

    make_v3(h);
    put_be64(h + 72, 1ULL << 2);
    assert_refused(h, sizeof(h), "external data file");

    make_v3(h);
    put_be64(h + 72, 1ULL << 1);
    assert_refused(h, sizeof(h), "corrupt");

    make_v3(h);
    put_be64(h + 72, 1ULL << 5);
    assert_refused(h, sizeof(h), "unknown");

    make_v3(h);
    put_be64(h + 72, 1ULL); /* dirty (lazy refcounts) is readable */
    g_assert_cmpint(nube_store_check_qcow2_header(h, sizeof(h), "x", NULL), ==, 0);

    make_v3(h);
    put_be32(h + 32, 1);
    assert_refused(h, sizeof(h), "encrypted");

    make_v3(h);
    put_be32(h + 4, 4);
    assert_refused(h, sizeof(h), "version 4");

    make_v3(h);
    assert_refused(h, 80, "truncated");
    assert_refused(h, 10, "no qcow2 header");

    make_v3(h);
    put_be32(h + 4, 2); /* v2 has no feature fields */
    g_assert_cmpint(nube_store_check_qcow2_header(h, 72, "x", NULL), ==, 0);
}

/* Random bytes with a qcow2 magic: the checks never read out of bounds
 * (run under ASan) and never accept a header naming a backing file. */
static void test_random_headers(void)
{
    guint8 *h = g_malloc(512);
    for (int i = 0; i < 20000; i++) {
        size_t len = g_test_rand_int_range(0, 513);
        guint8 *p = h + 512 - len; /* the bytes end where the buffer does */
        for (size_t j = 0; j < len; j++)
            p[j] = g_test_rand_int_range(0, 256);
        if (len >= 4 && (i & 1))
            memcpy(p, "QFI\xfb", 4);
        nube_store_detect_format(p, len);
        gboolean backing = len >= 20 && (p[8] | p[9] | p[10] | p[11] | p[12] | p[13] | p[14] |
                                         p[15] | p[16] | p[17] | p[18] | p[19]);
        int r = nube_store_check_qcow2_header(p, len, "x", NULL);
        g_assert_true(r == 0 || r == -EINVAL);
        if (backing)
            g_assert_cmpint(r, ==, -EINVAL);
    }
    g_free(h);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/imagestore/format/detect", test_detect);
    g_test_add_func("/imagestore/format/qcow2-header", test_qcow2_header);
    g_test_add_func("/imagestore/format/random-headers", test_random_headers);
    return g_test_run();
}
