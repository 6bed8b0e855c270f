/* The options of `clstyle train` (`clstyle train -s STYLE --dataset DIR -o MODEL ...`):
 * parsed and validated, for the command and its fuzz target (tests/fuzz). */
#ifndef CLS_CLI_TRAIN_OPTIONS_H
#define CLS_CLI_TRAIN_OPTIONS_H

#include "cli/cli.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

typedef struct cls_train_options {
    cls_cli_common common;
    const char *style;   /* -s */
    const char *dataset; /* --dataset */
    const char *output;  /* -o: the model file (safetensors) */
    const char *vgg;     /* --vgg, NULL: the installed VGG-16 */
    const char *init;    /* --init, NULL: PyTorch's default initialisation from --seed */
    const char *log;     /* --log FILE.jsonl, or NULL */
    cls_train_params params;
    int epochs;
    int style_size; /* 0: the style image at its own size */
    bool shuffle;
    uint64_t shuffle_seed;
    uint64_t seed;         /* of the initial weights without --init */
    long checkpoint_every; /* steps; 0: only at the end of each epoch */
} cls_train_options;

/* Parses argv (argv[0] is "train"). Returns CLS_EXIT_OK, or CLS_EXIT_USAGE after printing
 * "clstyle: error: ..."; *help is set when --help was given (and nothing else is checked).
 * A successful parse without --help has a style image, a dataset and an output. The strings
 * stay argv's. */
int cls_train_parse(int argc, char **argv, cls_train_options *t, bool *help);

/* Prints the command's help. */
void cls_train_print_help(FILE *out);

#endif
