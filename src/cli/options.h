/* The options of the main command (`clstyle -c CONTENT -s STYLE -o OUT ...`): parsed,
 * validated and turned into library parameters. */
#ifndef CLS_CLI_OPTIONS_H
#define CLS_CLI_OPTIONS_H

#include "cli/cli.h"

#include <stdint.h>
#include <stdio.h>

enum { CLS_CLI_MAX_STYLES = 16, CLS_CLI_MAX_WEIGHTS = 32 };

typedef struct cls_cli_options {
    cls_cli_common common;
    const char *content;
    const char *styles[CLS_CLI_MAX_STYLES];
    int style_count;
    double blend[CLS_CLI_MAX_STYLES];
    int blend_count; /* 0: equal */
    const char *output;
    const char *model;
    int size;
    double style_scale;
    const char *init_file; /* --init FILE */
    double layer_weights[CLS_CLI_MAX_WEIGHTS];
    int print_every, save_every;
    const char *log_path;
    int output_depth, jpeg_quality;
    uint64_t max_pixels;
    bool original_colors;
    int multiscale; /* --multiscale 1, --no-multiscale -1, else 0: by --size */
    bool min_scale_given, stage_iterations_given;
    char styles_buffer[4096];                    /* -s list, split in place */
    const char *style_masks[CLS_CLI_MAX_STYLES]; /* --style-masks, one per style image */
    int style_mask_count;
    char style_masks_buffer[4096];
    const char *content_mask; /* --content-mask */
    cls_transfer_params params;
} cls_cli_options;

/* Parses argv (without the program name's subcommand logic: every argument is an option
 * of the main command). Returns CLS_EXIT_OK, or CLS_EXIT_USAGE after printing
 * "clstyle: error: ..." naming the flag; *done is set when --help or --version answered. */
int cls_cli_parse(int argc, char **argv, cls_cli_options *o, bool *done);

/* Prints the main command's help, every default included. */
void cls_cli_print_help(FILE *out);

/* Runs the main command with parsed options; returns the exit code. */
int cls_cmd_transfer(cls_cli_options *o);

#endif
