/*
 * golden.h: comparing generated text with a golden file, for every test
 * suite: tests/PART/golden/NAME under the source tree ($NUBE_SRCDIR, which
 * meson sets for every test).  With NUBE_TEST_REGENERATE=1 in the
 * environment the golden file is (re)written instead of compared; any other
 * value, or none, compares.
 */
#pragma once

#include <glib.h>

/* The path of golden file NAME of PART ("virt", "api") (caller frees). */
char *golden_path(const char *part, const char *name);

/* Asserts ACTUAL equals golden file NAME of PART byte for byte (or
 * rewrites it). */
void golden_check(const char *part, const char *name, const char *actual);
