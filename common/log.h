/*
 * log.h: logging for programs.  Library code (common/, imagestore/) only
 * ever calls nube_debug(); the daemon and the CLI decide what is shown.
 */
#pragma once

#include <glib.h>

typedef enum {
    NUBE_LOG_DEBUG,
    NUBE_LOG_INFO,
    NUBE_LOG_WARN,
    NUBE_LOG_ERROR,
} NubeLogLevel;

/* Messages below LEVEL are dropped.  Default: NUBE_LOG_INFO, or DEBUG when
 * the environment has NUBE_DEBUG=1. */
void nube_log_set_level(NubeLogLevel level);
void nube_log_set_ident(const char *ident);

void nube_log(NubeLogLevel level, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

#define nube_debug(...) nube_log(NUBE_LOG_DEBUG, __VA_ARGS__)
#define nube_info(...)  nube_log(NUBE_LOG_INFO, __VA_ARGS__)
#define nube_warn(...)  nube_log(NUBE_LOG_WARN, __VA_ARGS__)
#define nube_err(...)   nube_log(NUBE_LOG_ERROR, __VA_ARGS__)
