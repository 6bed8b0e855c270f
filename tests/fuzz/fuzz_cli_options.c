/* libFuzzer target: the main command's option parser (cls_cli_parse). The input is split
 * on NUL bytes into argv[1..]; the parser must return a status (never exit) whatever it
 * gets, --help and --version included. */
#include "cli/options.h"

#include <stdlib.h>
#include <string.h>

enum { MAX_ARGS = 256 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    char *argv[MAX_ARGS + 2];
    int argc = 0;
    if (!text)
        abort();
    memcpy(text, data, size);
    text[size] = '\0';
    argv[argc++] = "clstyle";
    for (size_t start = 0; start <= size && argc <= MAX_ARGS; argc++) {
        argv[argc] = text + start;
        start += strlen(text + start) + 1;
    }
    argv[argc] = NULL;
    cls_cli_options options;
    bool done = false;
    int rc = cls_cli_parse(argc, argv, &options, &done);
    if (rc != CLS_EXIT_OK && rc != CLS_EXIT_USAGE)
        abort();
    if (rc == CLS_EXIT_OK && !done && (!options.content || options.style_count < 1))
        abort(); /* a successful parse has the images it needs */
    free(text);
    return 0;
}
