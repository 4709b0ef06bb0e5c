/*
 * fault.h: named points where a test can make nubed die, to prove that a
 * crash at any step loses nothing.  With NUBE_FAULT=POINT[,POINT…] in
 * nubed's environment, reaching POINT logs it and kills the process with
 * SIGKILL (no cleanup, as a power cut or the OOM killer would).  Without
 * the variable a point costs one pointer test.
 */
#pragma once

/* Kills the process if POINT is one of $NUBE_FAULT's points. */
void nube_fault_point(const char *point);
