/* libFuzzer target: `clstyle train`'s option parser (cls_train_parse). The input is split on
 * NUL bytes into argv[1..]. A successful parse must hold what a run needs and only values
 * the trainer accepts. */
#include "cli/train_options.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_ARGS = 300 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What cls_trainer_create would refuse, or a run could not do. */
static bool runnable(const cls_train_options *t)
{
    const cls_train_params *p = &t->params;
    return t->style && t->dataset && t->output && t->epochs >= 1 && p->batch_size >= 1 &&
           p->image_size >= 8 && p->image_size % 4 == 0 && t->style_size >= 0 &&
           t->checkpoint_every >= 0 && p->learning_rate > 0.0 && isfinite(p->learning_rate) &&
           p->content_weight >= 0.0 && isfinite(p->content_weight) && p->style_weight >= 0.0 &&
           isfinite(p->style_weight) && p->tv_weight >= 0.0 && isfinite(p->tv_weight);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    char *argv[MAX_ARGS + 2];
    int argc = 0;
    if (!text)
        abort();
    memcpy(text, data, size);
    text[size] = '\0';
    argv[argc++] = "train";
    for (size_t start = 0; start <= size && argc <= MAX_ARGS; argc++) {
        argv[argc] = text + start;
        start += strlen(text + start) + 1;
    }
    argv[argc] = NULL;
    cls_train_options options;
    bool help = false;
    const int rc = cls_train_parse(argc, argv, &options, &help);
    if (rc != CLS_EXIT_OK && rc != CLS_EXIT_USAGE)
        abort();
    if (rc == CLS_EXIT_OK && !help && !runnable(&options))
        abort();
    free(text);
    return 0;
}
