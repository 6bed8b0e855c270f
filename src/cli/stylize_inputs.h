/* The images `clstyle stylize` works on: files named one by one, the images directly in a
 * directory, or numbered frames (frame_%05d.png), in a fixed order, and every N-th of them
 * for --shard K/N. */
#ifndef CLS_CLI_STYLIZE_INPUTS_H
#define CLS_CLI_STYLIZE_INPUTS_H

#include "runtime/error.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct cls_input {
    char *path; /* as read */
    char *name; /* the file name, which the output keeps in a directory */
} cls_input;

typedef struct cls_input_list {
    cls_input *items;
    size_t count, capacity;
    bool collection; /* several operands, a directory or a pattern: the output is a directory */
} cls_input_list;

/* Adds what one -c operand names: a directory's images (sorted by name; other files skipped
 * with one warning each on stderr unless quiet), the frames of a printf pattern with one
 * integer conversion (%d, %05d, ...; sorted by number), or the file itself. CLS_ERR_IO when
 * the operand names nothing readable, or a directory or pattern without images. */
cls_status cls_inputs_add(cls_input_list *list, const char *operand, bool quiet);

/* Keeps the inputs k, k + n, k + 2n, ... (0 <= k < n) of the list's order. */
void cls_inputs_shard(cls_input_list *list, int k, int n);

void cls_inputs_free(cls_input_list *list);

/* Whether the file starts like a PNG or a JPEG. */
bool cls_inputs_looks_like_image(const char *path);

/* Whether name is name_pattern's file name for some frame number >= 0 (which goes to
 * *number): the pattern has the one integer conversion cls_inputs_add takes (%d, %05d) and
 * printing it with the number gives name exactly. False for anything else, a pattern that
 * is no frame pattern included. No file system access. */
bool cls_inputs_frame_number(const char *name_pattern, const char *name, long *number);

/* Parses "K/N" with 0 <= K < N; false on anything else. */
bool cls_inputs_parse_shard(const char *text, int *k, int *n);

#endif
