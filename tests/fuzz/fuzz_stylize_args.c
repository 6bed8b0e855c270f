/* libFuzzer target: `clstyle stylize`'s option parser (cls_stylize_parse) and the two
 * pieces of text it and the input finder read without the file system: the --shard value
 * (cls_inputs_parse_shard) and the frame pattern (cls_inputs_frame_number). The input is
 * split on NUL bytes into argv[1..]; the first part is also a --shard value and a frame
 * pattern, the second a file name for that pattern. */
#include "cli/stylize_inputs.h"
#include "cli/stylize_options.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_ARGS = 300 }; /* past the parser's 256 -c operands */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Printing the pattern with the number gives name exactly. Only for a pattern that
 * cls_inputs_frame_number accepted (one integer conversion, so one int argument). */
static void check_frame(const char *pattern, const char *name, long number)
{
    if (number < 0 || number > 2147483647L)
        abort();
    const size_t length = strlen(name);
    char *again = malloc(length + 2);
    if (!again)
        abort();
    /* length + 2 bytes: a longer result shows as a return value past length. */
    const int n = snprintf(again, length + 2, pattern, (int)number);
    if (n < 0 || (size_t)n != length || strcmp(again, name) != 0)
        abort();
    free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    char *argv[MAX_ARGS + 2], *parts[MAX_ARGS + 1];
    int argc = 0;
    if (!text)
        abort();
    memcpy(text, data, size);
    text[size] = '\0';
    argv[argc++] = "stylize";
    for (size_t start = 0; start <= size && argc <= MAX_ARGS; argc++) {
        argv[argc] = parts[argc - 1] = text + start;
        start += strlen(text + start) + 1;
    }
    argv[argc] = NULL;
    const int nparts = argc - 1; /* at least 1: an empty input is one empty part */

    /* getopt permutes argv; parts keeps the input's order. */
    cls_stylize_options options;
    bool help = false;
    const int rc = cls_stylize_parse(argc, argv, &options, &help);
    if (rc != CLS_EXIT_OK && rc != CLS_EXIT_USAGE)
        abort();
    if (rc == CLS_EXIT_OK && !help &&
        (!options.model || options.operand_count < 1 || !options.output))
        abort(); /* a successful parse has what a run needs */
    if (rc == CLS_EXIT_OK && !help && (options.shard_k < 0 || options.shard_k >= options.shard_n))
        abort();

    int k = -1, n = -1;
    if (cls_inputs_parse_shard(parts[0], &k, &n) && !(0 <= k && k < n))
        abort();

    long number = -1;
    const char *name = nparts > 1 ? parts[1] : "";
    if (cls_inputs_frame_number(parts[0], name, &number))
        check_frame(parts[0], name, number);
    free(text);
    return 0;
}
