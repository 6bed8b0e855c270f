/* Reading golden files (format in golden.h), distrusting every byte. */
#include "golden.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAGIC "CLSGOLD1\n"
#define LINE_MAX_BYTES 512

typedef struct reader {
    FILE *f;
    const char *label;
    size_t offset; /* bytes consumed so far */
    long size;     /* bytes from where reading began to the end, or -1 when unknown */
    size_t record; /* 1-based number of the record being read, 0 before the first */
    char *err;
    size_t err_size;
} reader;

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static int
fail(reader *r, const char *fmt, ...)
{
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (r->err_size == 0)
        return -1;
    if (r->record)
        snprintf(r->err, r->err_size, "%s: record %zu at byte %zu: %s", r->label, r->record,
                 r->offset, what);
    else
        snprintf(r->err, r->err_size, "%s: %s", r->label, what);
    return -1;
}

/* Bytes from the current position to the end, or -1 for a stream that cannot seek. */
static long bytes_left(FILE *f)
{
    long here = ftell(f);
    if (here < 0 || fseek(f, 0, SEEK_END) != 0)
        return -1;
    long end = ftell(f);
    if (fseek(f, here, SEEK_SET) != 0 || end < here)
        return -1;
    return end - here;
}

static bool is_name_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '/' || c == '-';
}

/* Reads one header line without its LF into line. Returns 1, 0 at a clean end of file, or
 * -1 after reporting the problem. */
static int read_line(reader *r, char *line)
{
    size_t len = 0;
    for (;;) {
        int c = getc(r->f);
        if (c == EOF) {
            if (ferror(r->f))
                return fail(r, "read error");
            if (len == 0)
                return 0;
            return fail(r, "file ends inside a header line");
        }
        if (c == '\n')
            break;
        if (c < 0x20 || c > 0x7e)
            return fail(r, "header line holds byte 0x%02x, not printable ASCII", (unsigned)c);
        if (len + 2 > LINE_MAX_BYTES)
            return fail(r, "header line longer than %d bytes", LINE_MAX_BYTES);
        line[len++] = (char)c;
    }
    line[len] = '\0';
    r->offset += len + 1;
    return 1;
}

/* Parses a decimal integer in [min, max] without sign or leading zeros at *p, then moves
 * *p past it. */
static bool parse_uint(const char **p, size_t min, size_t max, size_t *out)
{
    const char *s = *p;
    size_t v = 0;
    if (*s < '0' || *s > '9' || (s[0] == '0' && s[1] >= '0' && s[1] <= '9'))
        return false;
    for (; *s >= '0' && *s <= '9'; s++) {
        size_t digit = (size_t)(*s - '0');
        if (digit > max || v > (max - digit) / 10)
            return false;
        v = v * 10 + digit;
    }
    if (v < min)
        return false;
    *p = s;
    *out = v;
    return true;
}

static int parse_header(reader *r, const char *line, ref_golden_tensor *t)
{
    const char *p = line;
    if (strncmp(p, "tensor ", 7) != 0)
        return fail(r, "expected \"tensor <name> <ndim> <dims...>\", got \"%.40s\"", line);
    p += 7;

    size_t len = 0;
    while (is_name_char(p[len]))
        len++;
    if (len == 0 || (p[len] != ' ' && p[len] != '\0'))
        return fail(r, "tensor name must be 1 or more of [A-Za-z0-9_./-]");
    if (len > REF_GOLDEN_NAME_MAX)
        return fail(r, "tensor name longer than %d characters", REF_GOLDEN_NAME_MAX);
    memcpy(t->name, p, len);
    t->name[len] = '\0';
    p += len;

    size_t ndim = 0;
    if (*p++ != ' ' || !parse_uint(&p, 0, REF_GOLDEN_NDIM_MAX, &ndim))
        return fail(r, "tensor %s: ndim must be an integer 0..%d", t->name, REF_GOLDEN_NDIM_MAX);
    t->ndim = (int)ndim;
    t->count = 1;
    for (size_t i = 0; i < ndim; i++) {
        if (*p++ != ' ' || !parse_uint(&p, 1, REF_GOLDEN_COUNT_MAX, &t->dims[i]))
            return fail(r, "tensor %s: dim %zu of %zu is missing or not an integer 1..%zu", t->name,
                        i, ndim, REF_GOLDEN_COUNT_MAX);
        if (t->count > REF_GOLDEN_COUNT_MAX / t->dims[i])
            return fail(r, "tensor %s: more than %zu values", t->name, REF_GOLDEN_COUNT_MAX);
        t->count *= t->dims[i];
    }
    if (*p != '\0')
        return fail(r, "tensor %s: unexpected \"%.20s\" after %zu dims", t->name, p, ndim);
    return 0;
}

static float float_from_le(const unsigned char *b)
{
    uint32_t bits =
        (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
    float v;
    memcpy(&v, &bits, sizeof v);
    return v;
}

static int read_data(reader *r, ref_golden_tensor *t)
{
    size_t bytes = t->count * 4;
    /* Checked before allocating, so a hostile header cannot make us allocate a gigabyte. */
    if (r->size >= 0) {
        size_t left = (size_t)r->size > r->offset ? (size_t)r->size - r->offset : 0;
        if (left < bytes)
            return fail(r, "tensor %s: truncated: needs %zu bytes of data, file has %zu left",
                        t->name, bytes, left);
    }
    t->data = malloc(bytes);
    if (!t->data)
        return fail(r, "tensor %s: out of memory for %zu bytes", t->name, bytes);
    size_t got = fread(t->data, 1, bytes, r->f);
    if (got != bytes)
        return fail(r, "tensor %s: truncated: needs %zu bytes of data, got %zu", t->name, bytes,
                    got);
    /* Decoding in place is safe: value i only reads bytes 4i..4i+3 before writing them. */
    unsigned char *raw = (unsigned char *)t->data;
    for (size_t i = 0; i < t->count; i++)
        t->data[i] = float_from_le(raw + 4 * i);
    r->offset += bytes;
    return 0;
}

static int add_tensor(reader *r, ref_golden *g, ref_golden_tensor *t)
{
    if (ref_golden_find(g, t->name))
        return fail(r, "tensor %s appears twice", t->name);
    ref_golden_tensor *grown = realloc(g->tensors, (g->count + 1) * sizeof *grown);
    if (!grown)
        return fail(r, "out of memory");
    g->tensors = grown;
    g->tensors[g->count++] = *t;
    return 0;
}

int ref_golden_read(FILE *f, const char *label, ref_golden *golden, char *err, size_t err_size)
{
    reader r = {.f = f, .label = label, .err = err, .err_size = err_size};
    ref_golden g = {0};
    char line[LINE_MAX_BYTES];
    if (err_size)
        err[0] = '\0';
    *golden = g;

    r.size = bytes_left(f);
    char magic[sizeof MAGIC - 1];
    if (fread(magic, 1, sizeof magic, f) != sizeof magic || memcmp(magic, MAGIC, sizeof magic))
        return fail(&r, "not a golden file: it does not start with \"CLSGOLD1\\n\"");
    r.offset = sizeof magic;

    for (;;) {
        ref_golden_tensor t = {0};
        r.record = g.count + 1;
        int got = read_line(&r, line);
        if (got == 0)
            break;
        if (got < 0 || parse_header(&r, line, &t) != 0 || read_data(&r, &t) != 0 ||
            add_tensor(&r, &g, &t) != 0) {
            free(t.data);
            ref_golden_free(&g);
            return -1;
        }
    }
    *golden = g;
    return 0;
}

int ref_golden_load(const char *path, ref_golden *golden, char *err, size_t err_size)
{
    ref_golden empty = {0};
    *golden = empty;
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (err_size)
            snprintf(err, err_size, "%s: cannot open", path);
        return -1;
    }
    int status = ref_golden_read(f, path, golden, err, err_size);
    fclose(f);
    return status;
}

const ref_golden_tensor *ref_golden_find(const ref_golden *golden, const char *name)
{
    for (size_t i = 0; i < golden->count; i++)
        if (strcmp(golden->tensors[i].name, name) == 0)
            return &golden->tensors[i];
    return NULL;
}

/* "[d0, d1, ...]" into buf. */
static void format_dims(char *buf, size_t size, int ndim, const size_t *dims)
{
    size_t used = (size_t)snprintf(buf, size, "[");
    for (int i = 0; i < ndim && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s%zu", i ? ", " : "", dims[i]);
    if (used < size)
        snprintf(buf + used, size - used, "]");
}

const float *ref_golden_get(const ref_golden *golden, const char *name, int ndim,
                            const size_t *dims, char *err, size_t err_size)
{
    const ref_golden_tensor *t = ref_golden_find(golden, name);
    if (!t) {
        if (err_size)
            snprintf(err, err_size, "no tensor called %s", name);
        return NULL;
    }
    bool same = t->ndim == ndim;
    for (int i = 0; same && i < ndim; i++)
        same = t->dims[i] == dims[i];
    if (!same) {
        char want[160], have[160];
        format_dims(want, sizeof want, ndim, dims);
        format_dims(have, sizeof have, t->ndim, t->dims);
        if (err_size)
            snprintf(err, err_size, "tensor %s has shape %s, expected %s", name, have, want);
        return NULL;
    }
    return t->data;
}

void ref_golden_free(ref_golden *golden)
{
    for (size_t i = 0; i < golden->count; i++)
        free(golden->tensors[i].data);
    free(golden->tensors);
    golden->tensors = NULL;
    golden->count = 0;
}
