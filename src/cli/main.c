/* The clstyle command: `clstyle [OPTIONS]` stylises an image by optimisation; `clstyle
 * stylize` by a trained network (fast style); `clstyle devices`, `clstyle check`, `clstyle
 * info MODEL` and `clstyle tune` are the other subcommands. */
#include "cli/options.h"

#include <getopt.h>
#include <string.h>

static int usage_error(const char *what, const char *arg)
{
    fprintf(stderr, "clstyle: error: %s %s\nTry `clstyle --help`.\n", what, arg);
    return CLS_EXIT_USAGE;
}

/* Options shared by the subcommands: -d, -v, -q, -h; the rest are operands. */
static int parse_common(int argc, char **argv, cls_cli_common *common, bool *help)
{
    static const struct option options[] = {
        {"device", required_argument, NULL, 'd'},
        {"verbose", no_argument, NULL, 'v'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    opterr = 0;
    optind = 0; /* a full reset of getopt's state, as in cls_cli_parse */
    int opt;
    while ((opt = getopt_long(argc, argv, ":d:vqh", options, NULL)) != -1) {
        switch (opt) {
        case 'd': common->device_spec = optarg; break;
        case 'v': common->verbosity = common->verbosity < 0 ? 1 : common->verbosity + 1; break;
        case 'q': common->verbosity = -1; break;
        case 'h': *help = true; break;
        case ':': return usage_error("option needs a value:", argv[optind - 1]);
        default: return usage_error("unknown option", argv[optind - 1]);
        }
    }
    return CLS_EXIT_OK;
}

static int subcommand(const char *name, int argc, char **argv)
{
    cls_cli_common common = {0};
    bool help = false;
    int rc = parse_common(argc, argv, &common, &help);
    if (rc != CLS_EXIT_OK)
        return rc;
    if (help) {
        cls_cli_print_help(stdout);
        return CLS_EXIT_OK;
    }
    const int operands = argc - optind;
    if (strcmp(name, "info") == 0) {
        if (operands != 1)
            return usage_error("usage:", "clstyle info MODEL");
        return cls_cmd_info(argv[optind]);
    }
    if (operands != 0)
        return usage_error("unexpected argument", argv[optind]);
    return strcmp(name, "devices") == 0 ? cls_cmd_devices(&common) : cls_cmd_check(&common);
}

int main(int argc, char **argv)
{
    static const char *const commands[] = {"devices", "check", "info"};
    if (argc < 2) {
        cls_cli_print_help(stderr);
        return CLS_EXIT_USAGE;
    }
    for (int i = 0; i < 3; i++)
        if (strcmp(argv[1], commands[i]) == 0)
            return subcommand(commands[i], argc - 1, argv + 1);
    if (strcmp(argv[1], "tune") == 0)
        return cls_cmd_tune(argc - 1, argv + 1);
    if (strcmp(argv[1], "stylize") == 0)
        return cls_cmd_stylize(argc - 1, argv + 1);
    if (strcmp(argv[1], "train") == 0)
        return cls_cmd_train(argc - 1, argv + 1);
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--list-devices") == 0)
            return cls_cmd_devices(&(cls_cli_common){0});
    if (argv[1][0] != '-')
        return usage_error("unknown command", argv[1]);
    cls_cli_options options;
    bool done = false;
    int rc = cls_cli_parse(argc, argv, &options, &done);
    if (rc != CLS_EXIT_OK || done)
        return rc;
    return cls_cmd_transfer(&options);
}
