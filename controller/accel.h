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

const char *nube_accel_name(NubeAccel accel);

/*
 * SETTING is "auto", "kvm" or "tcg".  Stores the choice in *OUT and a
 * sentence saying why in *REASON (caller frees).  "kvm" when KVM does not
 * work is an error.  0 or a negative errno.
 */
int nube_accel_choose(const char *setting, NubeAccel *out, char **reason,
                      NubeError **err);
