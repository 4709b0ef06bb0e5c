/*
 * output.c: tables and JSON on stdout (see output.h).
 */
#include "output.h"

#include <errno.h>
#include <string.h>

int nube_cli_output_format_parse(const char *name, NubeCliOutputFormat *out)
{
    if (g_strcmp0(name, "table") == 0)
        *out = NUBE_CLI_OUTPUT_TABLE;
    else if (g_strcmp0(name, "json") == 0)
        *out = NUBE_CLI_OUTPUT_JSON;
    else
        return -EINVAL;
    return 0;
}

static char *scalar_text(JsonNode *node)
{
    if (node == NULL || !JSON_NODE_HOLDS_VALUE(node))
        return NULL;
    switch (json_node_get_value_type(node)) {
    case G_TYPE_STRING:
        return g_strdup(json_node_get_string(node));
    case G_TYPE_INT64:
        return g_strdup_printf("%" G_GINT64_FORMAT, json_node_get_int(node));
    case G_TYPE_BOOLEAN:
        return g_strdup(json_node_get_boolean(node) ? "true" : "false");
    case G_TYPE_DOUBLE:
        return g_strdup_printf("%g", json_node_get_double(node));
    default:
        return NULL;
    }
}

char *nube_cli_json_lookup(JsonObject *obj, const char *path)
{
    g_auto(GStrv) parts = g_strsplit(path, ".", -1);
    JsonNode *node = NULL;

    for (guint i = 0; parts[i] != NULL; i++) {
        if (obj == NULL || !json_object_has_member(obj, parts[i]))
            return NULL;
        node = json_object_get_member(obj, parts[i]);
        obj = JSON_NODE_HOLDS_OBJECT(node) ? json_node_get_object(node) : NULL;
    }
    return scalar_text(node);
}

static char *cell_text(JsonObject *row, const NubeCliColumn *col)
{
    char *text = col->path ? nube_cli_json_lookup(row, col->path) : col->cell(row);
    if (text != NULL && *text == '\0') {
        g_free(text);
        return NULL;
    }
    return text;
}

static guint count_columns(const NubeCliColumn *cols)
{
    guint n = 0;
    while (cols[n].header != NULL)
        n++;
    return n;
}

/* One GStrv per row (the header first), "-" for missing values. */
static GPtrArray *table_cells(JsonArray *rows, const NubeCliColumn *cols, guint n_cols)
{
    GPtrArray *lines = g_ptr_array_new_with_free_func((GDestroyNotify) g_strfreev);
    char **header = g_new0(char *, n_cols + 1);
    for (guint c = 0; c < n_cols; c++)
        header[c] = g_strdup(cols[c].header);
    g_ptr_array_add(lines, header);

    for (guint r = 0; r < json_array_get_length(rows); r++) {
        JsonObject *row = json_array_get_object_element(rows, r);
        char **line = g_new0(char *, n_cols + 1);
        for (guint c = 0; c < n_cols; c++) {
            char *text = cell_text(row, &cols[c]);
            line[c] = text ? text : g_strdup("-");
        }
        g_ptr_array_add(lines, line);
    }
    return lines;
}

static void print_padded(FILE *out, const char *text, glong width)
{
    glong len = g_utf8_strlen(text, -1);
    fputs(text, out);
    for (glong i = len; i < width; i++)
        fputc(' ', out);
}

void nube_cli_output_table(FILE *out, JsonArray *rows, const NubeCliColumn *cols)
{
    guint n_cols = count_columns(cols);
    g_autoptr(GPtrArray) lines = table_cells(rows, cols, n_cols);
    g_autofree glong *widths = g_new0(glong, n_cols);

    for (guint l = 0; l < lines->len; l++) {
        char **line = lines->pdata[l];
        for (guint c = 0; c < n_cols; c++)
            widths[c] = MAX(widths[c], g_utf8_strlen(line[c], -1));
    }
    for (guint l = 0; l < lines->len; l++) {
        char **line = lines->pdata[l];
        for (guint c = 0; c + 1 < n_cols; c++) {
            print_padded(out, line[c], widths[c]);
            fputs("  ", out);
        }
        fprintf(out, "%s\n", line[n_cols - 1]);
    }
}

void nube_cli_output_fields(FILE *out, JsonObject *obj, const NubeCliColumn *fields)
{
    glong width = 0;
    for (guint f = 0; fields[f].header != NULL; f++)
        width = MAX(width, g_utf8_strlen(fields[f].header, -1) + 1);

    for (guint f = 0; fields[f].header != NULL; f++) {
        g_autofree char *text = cell_text(obj, &fields[f]);
        if (text == NULL)
            continue;
        g_autofree char *label = g_strconcat(fields[f].header, ":", NULL);
        print_padded(out, label, width + 1);
        fprintf(out, "%s\n", text);
    }
}

void nube_cli_output_json(FILE *out, JsonNode *node)
{
    g_autoptr(JsonGenerator) gen = json_generator_new();
    json_generator_set_pretty(gen, TRUE);
    json_generator_set_indent(gen, 2);
    json_generator_set_root(gen, node);
    g_autofree char *text = json_generator_to_data(gen, NULL);
    fprintf(out, "%s\n", text);
}

void nube_cli_output_json_array(FILE *out, JsonArray *array)
{
    g_autoptr(JsonNode) node = json_node_init_array(json_node_alloc(), array);
    nube_cli_output_json(out, node);
}

void nube_cli_output_json_object(FILE *out, JsonObject *obj)
{
    g_autoptr(JsonNode) node = json_node_init_object(json_node_alloc(), obj);
    nube_cli_output_json(out, node);
}

char *nube_cli_output_time(const char *iso)
{
    if (iso == NULL)
        return NULL;
    g_autoptr(GDateTime) utc = g_date_time_new_from_iso8601(iso, NULL);
    if (utc == NULL)
        return g_strdup(iso);
    g_autoptr(GDateTime) local = g_date_time_to_local(utc);
    return g_date_time_format(local, "%Y-%m-%d %H:%M:%S");
}

char *nube_cli_output_size(gint64 bytes)
{
    return g_format_size_full((guint64) MAX(bytes, 0), G_FORMAT_SIZE_IEC_UNITS);
}

void nube_cli_output_rows(NubeCliOutputFormat format, JsonArray *rows, const NubeCliColumn *cols)
{
    if (format == NUBE_CLI_OUTPUT_JSON)
        nube_cli_output_json_array(stdout, rows);
    else
        nube_cli_output_table(stdout, rows, cols);
}
