/* Finding the images of a stylize run: files, directories and numbered frames. */
#include "cli/stylize_inputs.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static cls_status push(cls_input_list *list, const char *path)
{
    if (list->count == list->capacity) {
        size_t capacity = list->capacity ? 2 * list->capacity : 16;
        cls_input *grown = realloc(list->items, capacity * sizeof *grown);
        if (!grown)
            return cls_error(CLS_ERR_OUT_OF_HOST_MEMORY, "allocating the list of inputs");
        list->items = grown;
        list->capacity = capacity;
    }
    cls_input *in = &list->items[list->count];
    in->path = strdup(path);
    if (!in->path)
        return cls_error(CLS_ERR_OUT_OF_HOST_MEMORY, "allocating the list of inputs");
    const char *slash = strrchr(in->path, '/');
    in->name = slash ? (char *)slash + 1 : in->path;
    list->count++;
    return CLS_OK;
}

bool cls_inputs_looks_like_image(const char *path)
{
    unsigned char head[8] = {0};
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    const size_t got = fread(head, 1, sizeof head, f);
    fclose(f);
    static const unsigned char png[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    return (got == 8 && memcmp(head, png, 8) == 0) ||
           (got >= 3 && head[0] == 0xff && head[1] == 0xd8 && head[2] == 0xff);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The entries of dir (without . and ..), sorted; NULL with *count 0 when unreadable. */
static char **sorted_entries(const char *dir, size_t *count)
{
    DIR *d = opendir(dir);
    char **names = NULL;
    size_t n = 0, capacity = 0;
    *count = 0;
    if (!d)
        return NULL;
    for (struct dirent *e; (e = readdir(d));) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (n == capacity) {
            capacity = capacity ? 2 * capacity : 64;
            char **grown = realloc(names, capacity * sizeof *grown);
            if (!grown)
                break;
            names = grown;
        }
        if (!(names[n] = strdup(e->d_name)))
            break;
        n++;
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof *names, by_name);
    *count = n;
    return names;
}

static void free_entries(char **names, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free(names[i]);
    free(names);
}

static cls_status add_directory(cls_input_list *list, const char *dir, bool quiet)
{
    cls_status status = CLS_OK;
    size_t count, added = 0;
    char **names = sorted_entries(dir, &count);
    char path[4096];
    for (size_t i = 0; i < count && status == CLS_OK; i++) {
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) || !cls_inputs_looks_like_image(path)) {
            if (!quiet)
                fprintf(stderr, "clstyle: warning: skipping %s: not a PNG or JPEG image\n", path);
            continue;
        }
        status = push(list, path);
        added++;
    }
    free_entries(names, count);
    if (status == CLS_OK && added == 0)
        status = cls_error(CLS_ERR_IO, "%s: no PNG or JPEG images in this directory", dir);
    return status;
}

/* The pattern's single integer conversion ("%d", "%05d"): where it starts and ends. */
static bool find_conversion(const char *pattern, size_t *start, size_t *end)
{
    bool found = false;
    for (size_t i = 0; pattern[i]; i++) {
        if (pattern[i] != '%')
            continue;
        if (pattern[i + 1] == '%') {
            i++;
            continue;
        }
        size_t j = i + 1;
        if (pattern[j] == '0')
            j++;
        while (pattern[j] >= '0' && pattern[j] <= '9')
            j++;
        if (pattern[j] != 'd' || found)
            return false;
        *start = i;
        *end = j + 1;
        found = true;
    }
    return found;
}

typedef struct frame {
    long number;
    char *path;
} frame;

static int by_number(const void *a, const void *b)
{
    const long x = ((const frame *)a)->number, y = ((const frame *)b)->number;
    return (x > y) - (x < y);
}

/* The longest name printed for a match: a field width past it cannot match, and is refused
 * before printf spends seconds padding one (%2147483647d) or fails on it (past INT_MAX). */
enum { FRAME_NAME_MAX = 4095 };

bool cls_inputs_frame_number(const char *name_pattern, const char *name, long *number)
{
    size_t start = 0, end = 0, width = 0; /* set by find_conversion; GCC -O2 cannot tell */
    if (!find_conversion(name_pattern, &start, &end))
        return false;
    for (size_t i = start + 1; i + 1 < end; i++) /* the digits between '%' and 'd' */
        if ((width = width * 10 + (size_t)(name_pattern[i] - '0')) > FRAME_NAME_MAX)
            return false;
    /* The literal text before the conversion: the pattern's, with "%%" read as "%". */
    size_t at = 0;
    for (size_t i = 0; i < start; i++, at++) {
        if (name[at] != name_pattern[i])
            return false;
        if (name_pattern[i] == '%')
            i++; /* the second '%' of "%%" */
    }
    char *rest;
    errno = 0;
    const char *digits = name + at;
    if (*digits < '0' || *digits > '9')
        return false;
    *number = strtol(digits, &rest, 10);
    if (errno || *number < 0 || *number > 999999999)
        return false;
    char again[FRAME_NAME_MAX + 1];
    /* The pattern checked above; a longer result was cut and is not name. */
    const int printed = snprintf(again, sizeof again, name_pattern, (int)*number);
    return printed >= 0 && printed <= FRAME_NAME_MAX && strcmp(again, name) == 0;
}

static cls_status add_pattern(cls_input_list *list, const char *pattern)
{
    cls_status status = CLS_OK;
    char dir[4096] = ".";
    const char *slash = strrchr(pattern, '/'), *name_pattern = slash ? slash + 1 : pattern;
    if (slash)
        snprintf(dir, sizeof dir, "%.*s", slash == pattern ? 1 : (int)(slash - pattern), pattern);
    size_t count, nframes = 0;
    char **names = sorted_entries(dir, &count);
    frame *frames = calloc(count ? count : 1, sizeof *frames);
    if (!frames) {
        free_entries(names, count);
        return cls_error(CLS_ERR_OUT_OF_HOST_MEMORY, "allocating the list of frames");
    }
    for (size_t i = 0; i < count; i++)
        if (cls_inputs_frame_number(name_pattern, names[i], &frames[nframes].number))
            frames[nframes++].path = names[i];
    qsort(frames, nframes, sizeof *frames, by_number);
    char path[4096];
    for (size_t i = 0; i < nframes && status == CLS_OK; i++) {
        snprintf(path, sizeof path, "%s%s%s", slash ? dir : "", slash && dir[1] ? "/" : "",
                 frames[i].path);
        status = push(list, path);
    }
    free(frames);
    free_entries(names, count);
    if (status == CLS_OK && nframes == 0)
        status = cls_error(CLS_ERR_IO, "%s: no file matches this frame pattern", pattern);
    return status;
}

cls_status cls_inputs_add(cls_input_list *list, const char *operand, bool quiet)
{
    struct stat st;
    size_t start, end;
    if (stat(operand, &st) == 0 && S_ISDIR(st.st_mode)) {
        list->collection = true;
        return add_directory(list, operand, quiet);
    }
    if (stat(operand, &st) != 0 && find_conversion(operand, &start, &end)) {
        list->collection = true;
        return add_pattern(list, operand);
    }
    if (access(operand, R_OK) != 0) /* before the device starts; decoding errors come later */
        return cls_error(CLS_ERR_IO, "cannot read %s: %s", operand, strerror(errno));
    if (list->count > 0)
        list->collection = true;
    return push(list, operand);
}

void cls_inputs_shard(cls_input_list *list, int k, int n)
{
    size_t kept = 0;
    for (size_t i = 0; i < list->count; i++) {
        if ((long)(i % (size_t)n) == k)
            list->items[kept++] = list->items[i];
        else
            free(list->items[i].path);
    }
    list->count = kept;
}

void cls_inputs_free(cls_input_list *list)
{
    for (size_t i = 0; i < list->count; i++)
        free(list->items[i].path);
    free(list->items);
    memset(list, 0, sizeof *list);
}

bool cls_inputs_parse_shard(const char *text, int *k, int *n)
{
    char *slash, *end;
    errno = 0;
    long kk = strtol(text, &slash, 10);
    if (slash == text || *slash != '/' || slash[1] < '0' || slash[1] > '9')
        return false;
    long nn = strtol(slash + 1, &end, 10);
    if (errno || *end || nn < 1 || nn > 1000000 || kk < 0 || kk >= nn || text[0] < '0' ||
        text[0] > '9')
        return false;
    *k = (int)kk;
    *n = (int)nn;
    return true;
}
