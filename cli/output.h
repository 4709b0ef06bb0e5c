/*
 * output.h: how nube prints what it got.  Commands turn answers into JSON
 * objects (AWS CLI-like member names); --output json prints them as they
 * are, --output table picks columns from them.
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>
#include <stdio.h>

typedef enum {
    NUBE_CLI_OUTPUT_TABLE,
    NUBE_CLI_OUTPUT_JSON,
} NubeCliOutputFormat;

/* "table" or "json" into *OUT.  Returns 0, or -EINVAL for another word. */
int nube_cli_output_format_parse(const char *name, NubeCliOutputFormat *out);

/* A cell computed from a row (a new string, or NULL for no value). */
typedef char *(*NubeCliCellFunc)(JsonObject *row);

typedef struct {
    const char *header;   /* column header, or label of a field */
    const char *path;     /* dotted member path such as "State.Name", or NULL */
    NubeCliCellFunc cell; /* used when PATH is NULL */
} NubeCliColumn;

/*
 * The value at PATH ("State.Name") in OBJ as text: strings as they are,
 * numbers in decimal, booleans as true/false.  Returns a new string, or
 * NULL when absent, null or not a scalar.
 */
char *nube_cli_json_lookup(JsonObject *obj, const char *path);

/* Prints ROWS (objects) as a table of COLS (ended by a NULL header) to OUT:
 * a header line, then one line per row, "-" for missing values. */
void nube_cli_output_table(FILE *out, JsonArray *rows, const NubeCliColumn *cols);

/* Prints OBJ as aligned "Label: value" lines, one per field of FIELDS
 * (ended by a NULL header); fields without a value are skipped. */
void nube_cli_output_fields(FILE *out, JsonObject *obj, const NubeCliColumn *fields);

/* Prints NODE as indented JSON and a newline to OUT. */
void nube_cli_output_json(FILE *out, JsonNode *node);

/* Same, for an array or an object. */
void nube_cli_output_json_array(FILE *out, JsonArray *array);
/* ROWS on stdout: as a JSON array with FORMAT json, else as a table of COLS. */
void nube_cli_output_rows(NubeCliOutputFormat format, JsonArray *rows, const NubeCliColumn *cols);
void nube_cli_output_json_object(FILE *out, JsonObject *obj);

/* An ISO 8601 time as "YYYY-MM-DD HH:MM:SS" in local time (new string);
 * text that is no ISO time is returned as it is; NULL gives NULL. */
char *nube_cli_output_time(const char *iso);

/* BYTES as "2.0 GiB" (new string). */
char *nube_cli_output_size(gint64 bytes);
