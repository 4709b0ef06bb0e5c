/*
 * accel.c: choosing the accelerator (see accel.h).
 *
 * KVM is used only when all three hold: /dev/kvm opens read-write, the
 * kvm_pvm module is not loaded (PVM nested virtualization hangs stock
 * guest kernels right after decompression, and -cpu host aborts QEMU), and
 * the CPU flags show vmx or svm.  Everything else runs under TCG.
 */
#include "accel.h"

#include <fcntl.h>
#include <string.h>

const char *nube_accel_name(NubeAccel accel)
{
    return accel == NUBE_ACCEL_KVM ? "kvm" : "tcg";
}

static char *sys_path(const char *sysroot, const char *path)
{
    return g_strconcat(sysroot != NULL ? sysroot : "", path, NULL);
}

static gboolean cpu_has_virt_flag(const char *cpuinfo)
{
    g_auto(GStrv) lines = g_strsplit(cpuinfo, "\n", -1);
    for (char **line = lines; *line != NULL; line++) {
        if (!g_str_has_prefix(*line, "flags"))
            continue;
        const char *colon = strchr(*line, ':');
        if (colon == NULL)
            continue;
        g_auto(GStrv) flags = g_strsplit_set(colon + 1, " \t", -1);
        if (g_strv_contains((const char *const *) flags, "vmx") ||
            g_strv_contains((const char *const *) flags, "svm"))
            return TRUE;
    }
    return FALSE;
}

/*
 * TRUE if KVM really works below SYSROOT.  Either way *WHY says what was
 * found, as the first half of a sentence (caller frees).
 */
static gboolean kvm_works(const char *sysroot, char **why)
{
    g_autofree char *dev = sys_path(sysroot, "/dev/kvm");
    _cleanup_close_ int fd = open(dev, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        *why = g_strdup_printf("/dev/kvm cannot be opened read-write (%s)", g_strerror(errno));
        return FALSE;
    }

    g_autofree char *pvm = sys_path(sysroot, "/sys/module/kvm_pvm");
    if (g_file_test(pvm, G_FILE_TEST_EXISTS)) {
        *why = g_strdup("/dev/kvm is PVM nested virtualization (kvm_pvm "
                        "loaded), which hangs stock guest kernels");
        return FALSE;
    }

    g_autofree char *cpuinfo_path = sys_path(sysroot, "/proc/cpuinfo");
    g_autofree char *cpuinfo = NULL;
    if (!g_file_get_contents(cpuinfo_path, &cpuinfo, NULL, NULL)) {
        *why = g_strdup("/proc/cpuinfo cannot be read");
        return FALSE;
    }
    if (!cpu_has_virt_flag(cpuinfo)) {
        *why = g_strdup("the CPU flags in /proc/cpuinfo have neither vmx "
                        "nor svm");
        return FALSE;
    }
    *why = g_strdup("/dev/kvm opens read-write, kvm_pvm is not loaded and "
                    "the CPU has vmx or svm");
    return TRUE;
}

int nube_accel_choose_in(const char *sysroot, const char *setting, NubeAccel *out, char **reason,
                         NubeError **err)
{
    if (setting == NULL || g_str_equal(setting, "auto")) {
        g_autofree char *why = NULL;
        gboolean kvm = kvm_works(sysroot, &why);
        *out = kvm ? NUBE_ACCEL_KVM : NUBE_ACCEL_TCG;
        *reason = g_strdup_printf("%s: using %s", why, kvm ? "KVM" : "TCG");
        return 0;
    }
    if (g_str_equal(setting, "tcg")) {
        *out = NUBE_ACCEL_TCG;
        *reason = g_strdup("accelerator set to 'tcg': using TCG");
        return 0;
    }
    if (g_str_equal(setting, "kvm")) {
        g_autofree char *why = NULL;
        if (!kvm_works(sysroot, &why))
            return nube_error_set(err, ENODEV,
                                  "accelerator set to 'kvm' but KVM does not work here: %s", why);
        *out = NUBE_ACCEL_KVM;
        *reason = g_strdup_printf("accelerator set to 'kvm' and %s: using KVM", why);
        return 0;
    }
    return nube_error_setc(err, EINVAL, "InvalidParameterValue",
                           "unknown accelerator '%s' (expected auto, kvm or tcg)", setting);
}

int nube_accel_choose(const char *setting, NubeAccel *out, char **reason, NubeError **err)
{
    return nube_accel_choose_in(NULL, setting, out, reason, err);
}
