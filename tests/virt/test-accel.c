/*
 * test-accel.c: the accelerator choice on fake hosts (a temporary
 * directory holding dev/kvm, sys/module/kvm_pvm and proc/cpuinfo).
 */
#include "accel.h"
#include "fsutil.h"

#include <string.h>

#define FLAGS_VMX "fpu vme de pse tsc msr pae mce cx8 apic vmx sse sse2"
#define FLAGS_SVM "fpu vme de pse tsc msr pae svm sse sse2 lm"
/* Words that merely contain vmx/svm must not count. */
#define FLAGS_NONE "fpu vme de pse tsc vmxx nosvm sse sse2 hypervisor"

typedef struct {
    gboolean kvm_dev;  /* dev/kvm exists (and so opens read-write) */
    gboolean pvm;      /* sys/module/kvm_pvm exists */
    const char *flags; /* flags line of proc/cpuinfo; NULL: no file */
} FakeHost;

static void write_text(const char *root, const char *rel, const char *text)
{
    g_autofree char *path = g_build_filename(root, rel, NULL);
    g_autofree char *dir = g_path_get_dirname(path);
    g_assert_cmpint(g_mkdir_with_parents(dir, 0700), ==, 0);
    g_assert_true(g_file_set_contents(path, text, -1, NULL));
}

static char *fake_host_new(const FakeHost *host)
{
    g_autoptr(GError) gerr = NULL;
    char *root = g_dir_make_tmp("nube-accel-XXXXXX", &gerr);
    g_assert_no_error(gerr);
    if (host->kvm_dev)
        write_text(root, "dev/kvm", "");
    if (host->pvm) {
        g_autofree char *mod = g_build_filename(root, "sys/module/kvm_pvm", NULL);
        g_assert_cmpint(g_mkdir_with_parents(mod, 0700), ==, 0);
    }
    if (host->flags != NULL) {
        /* Two processors, as in the real file. */
        g_autofree char *cpuinfo =
            g_strdup_printf("processor\t: 0\nvendor_id\t: GenuineIntel\nflags\t\t: %s\n\n"
                            "processor\t: 1\nvendor_id\t: GenuineIntel\nflags\t\t: %s\n\n",
                            host->flags, host->flags);
        write_text(root, "proc/cpuinfo", cpuinfo);
    }
    return root;
}

static void fake_host_free(char *root)
{
    g_assert_cmpint(nube_rm_rf(root, NULL), ==, 0);
    g_free(root);
}

/* Runs the choice on HOST; returns the return value, fills the rest. */
static int choose_on(const FakeHost *host, const char *setting, NubeAccel *accel, char **reason,
                     NubeError **err)
{
    char *root = fake_host_new(host);
    *accel = (NubeAccel) -1;
    *reason = NULL;
    int r = nube_accel_choose_in(root, setting, accel, reason, err);
    fake_host_free(root);
    return r;
}

static void assert_choice(const FakeHost *host, const char *setting, NubeAccel want,
                          const char *want_reason)
{
    NubeAccel accel;
    g_autofree char *reason = NULL;
    g_autoptr(NubeError) err = NULL;
    g_assert_cmpint(choose_on(host, setting, &accel, &reason, &err), ==, 0);
    g_assert_null(err);
    g_assert_cmpint(accel, ==, want);
    g_assert_cmpstr(reason, ==, want_reason);
}

static const FakeHost good_vmx = { TRUE, FALSE, FLAGS_VMX };
static const FakeHost good_svm = { TRUE, FALSE, FLAGS_SVM };
static const FakeHost no_dev = { FALSE, FALSE, FLAGS_VMX };
static const FakeHost pvm = { TRUE, TRUE, FLAGS_NONE };
static const FakeHost pvm_vmx = { TRUE, TRUE, FLAGS_VMX };
static const FakeHost no_flags = { TRUE, FALSE, FLAGS_NONE };
static const FakeHost no_cpuinfo = { TRUE, FALSE, NULL };

#define KVM_OK "/dev/kvm opens read-write, kvm_pvm is not loaded and the CPU has vmx or svm"
#define PVM \
    "/dev/kvm is PVM nested virtualization (kvm_pvm loaded), which hangs stock guest kernels"

static void test_auto_kvm(void)
{
    assert_choice(&good_vmx, "auto", NUBE_ACCEL_KVM, KVM_OK ": using KVM");
    assert_choice(&good_svm, "auto", NUBE_ACCEL_KVM, KVM_OK ": using KVM");
    assert_choice(&good_vmx, NULL, NUBE_ACCEL_KVM, KVM_OK ": using KVM");
}

static void test_auto_no_dev(void)
{
    assert_choice(&no_dev, "auto", NUBE_ACCEL_TCG,
                  "/dev/kvm cannot be opened read-write (No such file or directory): using TCG");
}

static void test_auto_pvm(void)
{
    assert_choice(&pvm, "auto", NUBE_ACCEL_TCG, PVM ": using TCG");
    /* PVM wins even if the CPU flags looked fine. */
    assert_choice(&pvm_vmx, "auto", NUBE_ACCEL_TCG, PVM ": using TCG");
}

static void test_auto_no_flags(void)
{
    assert_choice(&no_flags, "auto", NUBE_ACCEL_TCG,
                  "the CPU flags in /proc/cpuinfo have neither vmx nor svm: using TCG");
    assert_choice(&no_cpuinfo, "auto", NUBE_ACCEL_TCG, "/proc/cpuinfo cannot be read: using TCG");
}

static void test_tcg(void)
{
    assert_choice(&good_vmx, "tcg", NUBE_ACCEL_TCG, "accelerator set to 'tcg': using TCG");
    assert_choice(&pvm, "tcg", NUBE_ACCEL_TCG, "accelerator set to 'tcg': using TCG");
}

static void test_kvm_works(void)
{
    assert_choice(&good_vmx, "kvm", NUBE_ACCEL_KVM,
                  "accelerator set to 'kvm' and " KVM_OK ": using KVM");
}

static void assert_kvm_refused(const FakeHost *host, const char *why)
{
    NubeAccel accel;
    g_autofree char *reason = NULL;
    g_autoptr(NubeError) err = NULL;
    g_assert_cmpint(choose_on(host, "kvm", &accel, &reason, &err), ==, -ENODEV);
    g_assert_nonnull(err);
    g_assert_cmpint(err->errnum, ==, ENODEV);
    g_assert_null(err->code);
    g_assert_nonnull(strstr(err->message, why));
    g_assert_null(reason);
}

static void test_kvm_refused(void)
{
    assert_kvm_refused(&pvm, "kvm_pvm loaded");
    assert_kvm_refused(&no_dev, "/dev/kvm cannot be opened");
    assert_kvm_refused(&no_flags, "neither vmx nor svm");
}

static void test_bad_setting(void)
{
    NubeAccel accel;
    g_autofree char *reason = NULL;
    g_autoptr(NubeError) err = NULL;
    g_assert_cmpint(choose_on(&good_vmx, "hvf", &accel, &reason, &err), ==, -EINVAL);
    g_assert_nonnull(err);
    g_assert_cmpstr(nube_error_code(err), ==, "InvalidParameterValue");
    g_assert_nonnull(strstr(err->message, "'hvf'"));
}

/* The real host: whatever it is, "auto" decides and says why; where
 * kvm_pvm is loaded (the project's test machines) the answer is TCG. */
static void test_real_host(void)
{
    NubeAccel accel;
    g_autofree char *reason = NULL;
    g_autoptr(NubeError) err = NULL;
    g_assert_cmpint(nube_accel_choose("auto", &accel, &reason, &err), ==, 0);
    g_assert_nonnull(reason);
    g_test_message("this host: %s (%s)", nube_accel_name(accel), reason);
    if (g_file_test("/sys/module/kvm_pvm", G_FILE_TEST_EXISTS)) {
        g_assert_cmpint(accel, ==, NUBE_ACCEL_TCG);
        g_assert_cmpstr(reason, ==, PVM ": using TCG");
    }
}

static void test_names(void)
{
    g_assert_cmpstr(nube_accel_name(NUBE_ACCEL_KVM), ==, "kvm");
    g_assert_cmpstr(nube_accel_name(NUBE_ACCEL_TCG), ==, "tcg");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/accel/auto/kvm", test_auto_kvm);
    g_test_add_func("/accel/auto/no-dev", test_auto_no_dev);
    g_test_add_func("/accel/auto/pvm", test_auto_pvm);
    g_test_add_func("/accel/auto/no-flags", test_auto_no_flags);
    g_test_add_func("/accel/tcg", test_tcg);
    g_test_add_func("/accel/kvm/works", test_kvm_works);
    g_test_add_func("/accel/kvm/refused", test_kvm_refused);
    g_test_add_func("/accel/bad-setting", test_bad_setting);
    g_test_add_func("/accel/real-host", test_real_host);
    g_test_add_func("/accel/names", test_names);
    return g_test_run();
}
