/* Device selection specs ("2", "0:1", "gpu", "nvidia") and the printable device table.
 * Pure functions over a table, so they are tested without any OpenCL device. */
#include "runtime/error.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool parse_uint(const char *s, size_t len, long *out)
{
    if (len == 0 || len > 9)
        return false;
    long v = 0;
    for (size_t i = 0; i < len; i++) {
        if (!isdigit((unsigned char)s[i]))
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

static bool contains_nocase(const char *haystack, const char *needle)
{
    size_t n = strlen(needle);
    for (const char *h = haystack; *h; h++) {
        size_t i = 0;
        while (i < n && h[i] && tolower((unsigned char)h[i]) == tolower((unsigned char)needle[i]))
            i++;
        if (i == n)
            return true;
    }
    return n == 0;
}

static bool type_from_word(const char *spec, cls_device_type *type)
{
    static const struct {
        const char *word;
        cls_device_type type;
    } words[] = {
        {"gpu", CLS_DEVICE_GPU}, {"cpu", CLS_DEVICE_CPU}, {"accelerator", CLS_DEVICE_ACCELERATOR}};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        size_t n = strlen(words[i].word);
        if (strlen(spec) != n)
            continue;
        bool same = true;
        for (size_t c = 0; c < n; c++)
            same = same && tolower((unsigned char)spec[c]) == words[i].word[c];
        if (same) {
            *type = words[i].type;
            return true;
        }
    }
    return false;
}

/* The error for a spec that selects nothing or several devices: the reason, then the
 * table, then how to pick. */
static cls_status spec_error(const cls_device_info *list, size_t count, const char *fmt, ...)
    CLS_PRINTF(3, 4);
static cls_status spec_error(const cls_device_info *list, size_t count, const char *fmt, ...)
{
    char reason[512];
    va_list args;
    va_start(args, fmt);
    vsnprintf(reason, sizeof reason, fmt, args);
    va_end(args);
    char *table = cls_device_table_format(list, count);
    cls_error(CLS_ERR_DEVICE_SPEC,
              "%s\navailable devices:\n%s"
              "select one with --device INDEX, --device P:D, a part of its name, or gpu/cpu",
              reason, table ? table : "(out of memory listing devices)\n");
    free(table);
    return CLS_ERR_DEVICE_SPEC;
}

static cls_status select_by_index(const cls_device_info *list, size_t count, const char *spec,
                                  long index, size_t *selected)
{
    if ((size_t)index >= count)
        return spec_error(list, count, "device %s does not exist (there are %zu)", spec, count);
    *selected = (size_t)index;
    return CLS_OK;
}

static cls_status select_by_pair(const cls_device_info *list, size_t count, const char *spec,
                                 long platform, long device, size_t *selected)
{
    for (size_t i = 0; i < count; i++) {
        if (list[i].platform_index == platform && list[i].device_index == device) {
            *selected = i;
            return CLS_OK;
        }
    }
    return spec_error(list, count, "no device %s (platform:device)", spec);
}

static cls_status select_by_type(const cls_device_info *list, size_t count, const char *spec,
                                 cls_device_type type, size_t *selected)
{
    for (size_t i = 0; i < count; i++) {
        if (list[i].type == type) {
            *selected = i;
            return CLS_OK;
        }
    }
    return spec_error(list, count, "no %s device found for --device %s", cls_device_type_str(type),
                      spec);
}

static cls_status select_by_name(const cls_device_info *list, size_t count, const char *spec,
                                 size_t *selected)
{
    size_t matches = 0, first = 0;
    for (size_t i = 0; i < count; i++) {
        if (contains_nocase(list[i].name, spec) || contains_nocase(list[i].platform, spec)) {
            if (matches++ == 0)
                first = i;
        }
    }
    if (matches == 0)
        return spec_error(list, count, "no device or platform name contains \"%s\"", spec);
    if (matches > 1)
        return spec_error(list, count, "\"%s\" matches %zu devices; be more specific", spec,
                          matches);
    *selected = first;
    return CLS_OK;
}

cls_status cls_device_select(const cls_device_info *list, size_t count, const char *spec,
                             size_t *selected)
{
    if (!selected || (count > 0 && !list))
        return cls_error(CLS_ERR_INVALID_ARGUMENT, "cls_device_select: NULL argument");
    if (count == 0)
        return cls_error(CLS_ERR_NO_DEVICE,
                         "no OpenCL device found; install a driver for your GPU, or PoCL "
                         "for the CPU (Debian/Ubuntu: apt-get install pocl-opencl-icd), and "
                         "check with `clinfo -l`");
    if (!spec || !*spec) {
        for (size_t i = 0; i < count; i++) {
            if (list[i].type == CLS_DEVICE_GPU) {
                *selected = i;
                return CLS_OK;
            }
        }
        *selected = 0;
        return CLS_OK;
    }

    long a = 0, b = 0;
    const char *colon = strchr(spec, ':');
    if (parse_uint(spec, strlen(spec), &a))
        return select_by_index(list, count, spec, a, selected);
    if (colon && parse_uint(spec, (size_t)(colon - spec), &a) &&
        parse_uint(colon + 1, strlen(colon + 1), &b))
        return select_by_pair(list, count, spec, a, b, selected);
    cls_device_type type;
    if (type_from_word(spec, &type))
        return select_by_type(list, count, spec, type, selected);
    return select_by_name(list, count, spec, selected);
}

/* ---- the table ---- */

static void format_bytes(uint64_t bytes, char *buf, size_t size)
{
    static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)bytes;
    size_t u = 0;
    while (v >= 1024.0 && u + 1 < sizeof units / sizeof units[0]) {
        v /= 1024.0;
        u++;
    }
    if (u == 0)
        snprintf(buf, size, "%llu B", (unsigned long long)bytes);
    else
        snprintf(buf, size, v < 10.0 ? "%.1f %s" : "%.0f %s", v, units[u]);
}

enum { COLUMNS = 13, CELL = 160 };

static const char *const headers[COLUMNS] = {
    "#",          "P:D",       "type",  "device", "platform", "OpenCL", "CUs",
    "global mem", "max alloc", "local", "fp16",   "fp64",     "driver"};

/* "OpenCL 3.0 PoCL 3.1 ..." -> "3.0": the version number is what users compare. */
static void opencl_number(const char *version, char *buf, size_t size)
{
    const char *p = strncmp(version, "OpenCL ", 7) == 0 ? version + 7 : version;
    size_t n = strcspn(p, " ");
    snprintf(buf, size, "%.*s", (int)n, p);
}

static void row_cells(const cls_device_info *d, char cells[COLUMNS][CELL])
{
    snprintf(cells[0], CELL, "%d", d->index);
    snprintf(cells[1], CELL, "%d:%d", d->platform_index, d->device_index);
    snprintf(cells[2], CELL, "%s", cls_device_type_str(d->type));
    snprintf(cells[3], CELL, "%s", d->name);
    snprintf(cells[4], CELL, "%s", d->platform);
    opencl_number(d->version, cells[5], CELL);
    snprintf(cells[6], CELL, "%u", d->compute_units);
    format_bytes(d->global_mem_bytes, cells[7], CELL);
    format_bytes(d->max_alloc_bytes, cells[8], CELL);
    format_bytes(d->local_mem_bytes, cells[9], CELL);
    snprintf(cells[10], CELL, "%s", d->fp16 ? "yes" : "no");
    snprintf(cells[11], CELL, "%s", d->fp64 ? "yes" : "no");
    snprintf(cells[12], CELL, "%s", d->driver_version);
}

char *cls_device_table_format(const cls_device_info *list, size_t count)
{
    char cells[COLUMNS][CELL];
    size_t width[COLUMNS];
    for (int c = 0; c < COLUMNS; c++)
        width[c] = strlen(headers[c]);
    for (size_t i = 0; i < count; i++) {
        row_cells(&list[i], cells);
        for (int c = 0; c < COLUMNS; c++)
            if (strlen(cells[c]) > width[c])
                width[c] = strlen(cells[c]);
    }
    size_t line = 0;
    for (int c = 0; c < COLUMNS; c++)
        line += width[c] + 2;
    size_t size = (count + 1) * (line + 1) + 1;
    char *out = malloc(size);
    if (!out)
        return NULL;
    size_t pos = 0;
    for (size_t r = 0; r <= count; r++) {
        if (r > 0)
            row_cells(&list[r - 1], cells);
        for (int c = 0; c < COLUMNS; c++) {
            const char *text = r == 0 ? headers[c] : cells[c];
            if (c == COLUMNS - 1)
                pos += (size_t)snprintf(out + pos, size - pos, "%s", text);
            else
                pos += (size_t)snprintf(out + pos, size - pos, "%-*s  ", (int)width[c], text);
        }
        pos += (size_t)snprintf(out + pos, size - pos, "\n");
    }
    return out;
}
