/* The options of `clstyle stylize` (`clstyle stylize -m MODEL -c INPUT -o OUTPUT ...`):
 * parsed and validated, for the command and its fuzz target (tests/fuzz). */
#ifndef CLS_CLI_STYLIZE_OPTIONS_H
#define CLS_CLI_STYLIZE_OPTIONS_H

#include "cli/cli.h"

#include <stdbool.h>
#include <stdio.h>

enum { CLS_STYLIZE_MAX_OPERANDS = 256 };

typedef struct cls_stylize_options {
    cls_cli_common common;
    const char *model;
    const char *operands[CLS_STYLIZE_MAX_OPERANDS];
    int operand_count;
    const char *output;
    int size; /* 0: each image keeps its size */
    int shard_k, shard_n;
    int output_depth, jpeg_quality;
    long long max_pixels;
    bool original_colors;
} cls_stylize_options;

/* Parses argv (argv[0] is "stylize"). Returns CLS_EXIT_OK, or CLS_EXIT_USAGE after printing
 * "clstyle: error: ..."; *help is set when --help was given (and nothing else is checked).
 * A successful parse without --help has a model, at least one operand and an output. The
 * strings stay argv's. */
int cls_stylize_parse(int argc, char **argv, cls_stylize_options *s, bool *help);

/* Prints the command's help. */
void cls_stylize_print_help(FILE *out);

#endif
