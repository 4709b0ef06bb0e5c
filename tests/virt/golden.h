/*
 * golden.h: comparing generated text with a golden file under
 * tests/virt/golden.  With NUBE_TEST_REGENERATE=1 in the environment the
 * golden file is (re)written instead.
 */
#pragma once

#include <glib.h>

/* The path of golden file NAME (caller frees). */
char *golden_path(const char *name);

/* Asserts ACTUAL equals golden file NAME byte for byte (or rewrites it). */
void golden_check(const char *name, const char *actual);
