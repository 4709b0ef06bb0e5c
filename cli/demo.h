/*
 * demo.h: the parts of `nube demo` below the command: a progress line per
 * step, the user data that installs Apache in a guest, reading a guest's
 * web page from the host through its forwarded port on 127.0.0.1, the tail
 * of a guest's console, and waiting for an instance to serve the page or
 * for an image to become available.
 */
#pragma once

#include "client.h"

#include <signal.h>
#include <stdio.h>

/* ---- progress ------------------------------------------------------------ */

typedef struct NubeCliDemoProgress NubeCliDemoProgress;

/*
 * Progress of N_STEPS steps printed on OUT.  LIVE (OUT is a terminal): the
 * current step's line, with its elapsed seconds and a status, is redrawn in
 * place every second by a thread of its own; otherwise each step prints one
 * line when it ends.  Returns a new object (free with
 * nube_cli_demo_progress_free()).
 */
NubeCliDemoProgress *nube_cli_demo_progress_new(FILE *out, gboolean live, guint n_steps);

/* Stops the redrawing thread and frees P (NULL is allowed). */
void nube_cli_demo_progress_free(NubeCliDemoProgress *p);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(NubeCliDemoProgress, nube_cli_demo_progress_free)

/* Whether P redraws a line in place (OUT is a terminal). */
gboolean nube_cli_demo_progress_live(const NubeCliDemoProgress *p);

/* Starts the next step, called TITLE (copied). */
void nube_cli_demo_progress_begin(NubeCliDemoProgress *p, const char *title);

/* "step 3/7 (TITLE)" of the current step (new string), for error messages. */
char *nube_cli_demo_progress_where(const NubeCliDemoProgress *p);

/* Sets the status shown after the elapsed time of the live line (ignored
 * when P is not live). */
void nube_cli_demo_progress_status(NubeCliDemoProgress *p, const char *fmt, ...)
    G_GNUC_PRINTF(2, 3);

/* Prints an indented line about the current step (in both modes). */
void nube_cli_demo_progress_note(NubeCliDemoProgress *p, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/* Ends the current step with one line: "[3/7] TITLE  12.3 s  RESULT". */
void nube_cli_demo_progress_end(NubeCliDemoProgress *p, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/* ---- the guest's side ------------------------------------------------------ */

/*
 * The user data of instance A: a shell script that points apt at
 * APT_SOURCE alone ("deb [trusted=yes] http://169.254.169.2:PORT/ ./", as
 * NubeAddPackages answers; the guest has no internet), installs apache2,
 * writes a page containing MARKER and enables Apache.  Returns a new
 * string, or NULL with ERR set when APT_SOURCE or MARKER could break out of
 * the script's quoting.
 */
char *nube_cli_demo_install_script(const char *apt_source, const char *marker, NubeError **err);

/* The user data of instance B: a script that installs nothing and only says
 * so on the console (static string). */
const char *nube_cli_demo_relaunch_script(void);

/*
 * GETs URL (a loopback http:// URL; short timeouts, no proxy).  Returns 1
 * when the answer is HTTP 200 and its body contains MARKER, 0 for any other
 * answer (*STATUS is its HTTP status), or a negative errno with ERR set to
 * why nothing answered (connection refused or reset, timeout).
 */
int nube_cli_demo_page_get(const char *url, const char *marker, long *status, NubeError **err);

/*
 * The last N_LINES lines of instance ID's console (GetConsoleOutput), with
 * carriage returns and terminal escape sequences removed.  Returns a new
 * string (empty when the console is empty), or NULL with ERR set.
 */
char *nube_cli_demo_console_tail(NubeCliClient *client, const char *id, guint n_lines,
                                 NubeError **err);

/* ---- waiting --------------------------------------------------------------- */

/* What the waits share. */
typedef struct {
    NubeCliClient *client;
    NubeCliDemoProgress *progress;
    int timeout_s;                      /* give up after this long */
    volatile sig_atomic_t *interrupted; /* set by a signal handler */
} NubeCliDemoWait;

/* What nube_cli_demo_wait_page() saw. */
typedef struct {
    char *url;         /* http://127.0.0.1:PORT/ forwarded to the guest's port 80 */
    gint64 running_at; /* monotonic µs when it was first seen running, or 0 */
    gint64 served_at;  /* monotonic µs of the HTTP 200 with the marker */
    char *userdata;    /* what the guest agent reported: "succeeded", "none" … */
    double userdata_s; /* how long the user data ran, as the guest measured */
    char *runner;      /* who ran it: "cloud-init" or "agent" */
} NubeCliDemoPage;

/* Frees what PAGE holds and zeroes it. */
void nube_cli_demo_page_clear(NubeCliDemoPage *page);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(NubeCliDemoPage, nube_cli_demo_page_clear)

/*
 * Every second, until the page with MARKER answers HTTP 200 at the host
 * port forwarded to instance ID's port 80: looks at the instance
 * (DescribeInstances), notes its state changes as "NAME (ID) is STATE" and
 * what its guest agent reports (boot complete, user data started and
 * finished), and probes the page.  AFTER_USERDATA: the user data makes the
 * page, so the page is probed only once the agent reported it done (at
 * once for an image without an agent).  User data that failed ends the
 * wait with the guest's error and log.  RESTARTING: the instance may still be stopping or
 * stopped during the first 30 s (as right after CreateImage, which starts
 * it again).  Returns 0 with PAGE filled, or a negative errno with ERR set
 * when the instance leaves pending/running, has no forward of port 80 once
 * running, the timeout passes or the wait is interrupted.
 */
int nube_cli_demo_wait_page(const NubeCliDemoWait *w, const char *name, const char *id,
                            const char *marker, gboolean restarting, gboolean after_userdata,
                            NubeCliDemoPage *page, NubeError **err);

/*
 * Terminates instance ID (TerminateInstances) and waits, every second, until
 * it is terminated (or forgotten).  Returns 0, or a negative errno with ERR
 * set.
 */
int nube_cli_demo_terminate(const NubeCliDemoWait *w, const char *id, NubeError **err);

/*
 * Every second, until image ID is available: notes each new progress
 * message of its stateReason.  If CAPTURE_STAMP is not NULL, sets it to
 * nubed's own stamp ("[ 12s] …", seconds into its CreateImage job) of the
 * first message after the guest's shutdown, or -1 if none was seen.
 * Returns 0, or a negative errno with ERR set to the stateReason's code and
 * message when the image failed, or on a timeout or interruption.
 */
int nube_cli_demo_wait_image(const NubeCliDemoWait *w, const char *id, gint64 *capture_stamp,
                             NubeError **err);

/*
 * nubed's own measure of the capture of image ID, excluding the guest's
 * shutdown (element nubeCaptureSeconds of the DescribeImages item), or a
 * negative value when nubed does not give one.
 */
double nube_cli_demo_image_capture_seconds(NubeCliClient *client, const char *id);
