/*
 * accel.h: choosing the accelerator: KVM only where it really works, TCG
 * otherwise (no /dev/kvm, a PVM nested /dev/kvm that hangs stock kernels,
 * no vmx/svm, or a configured override).
 */
#pragma once

#include "error.h"

typedef enum {
    NUBE_ACCEL_TCG,
    NUBE_ACCEL_KVM,
} NubeAccel;

/* "kvm" or "tcg" (static). */
const char *nube_accel_name(NubeAccel accel);

/*
 * SETTING is "auto" (or NULL), "kvm" or "tcg".  Stores the choice in *OUT and a
 * sentence saying why in *REASON (caller frees).  "kvm" when KVM does not
 * work is an error.  0 or a negative errno.
 */
int nube_accel_choose(const char *setting, NubeAccel *out, char **reason, NubeError **err);

/*
 * Same as nube_accel_choose() but probes SYSROOT/dev/kvm,
 * SYSROOT/sys/module/kvm_pvm and SYSROOT/proc/cpuinfo instead of the real
 * ones, so tests can fake a host.  SYSROOT "" or NULL is the real host.
 */
int nube_accel_choose_in(const char *sysroot, const char *setting, NubeAccel *out, char **reason,
                         NubeError **err);
