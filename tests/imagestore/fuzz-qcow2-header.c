/*
 * fuzz-qcow2-header.c: libFuzzer target for the image header checks that
 * read untrusted bytes before QEMU ever sees a file (format detection and
 * the qcow2 header check of strict import).  A header the check accepts
 * must be detected as qcow2.
 */
#include "store.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *format = nube_store_detect_format(data, size);
    g_autoptr(NubeError) err = NULL;
    if (nube_store_check_qcow2_header(data, size, "fuzz", &err) == 0 &&
        strcmp(format, "qcow2") != 0)
        __builtin_trap();
    return 0;
}
