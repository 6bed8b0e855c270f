/* The clstyle command: global options, then a subcommand. */
#include "cli/cli.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static void print_help(FILE *out)
{
    fprintf(out,
            "Usage: clstyle COMMAND [OPTIONS]\n"
            "Neural style transfer (Gatys et al.) on any OpenCL device.\n"
            "\n"
            "Commands:\n"
            "  devices              list OpenCL devices (also: --list-devices)\n"
            "  check                build every kernel on the device and run a known-answer\n"
            "                       self-check; shows whether the kernel cache was used\n"
            "\n"
            "Options:\n"
            "  -d, --device SPEC    device to run on: an index from `clstyle devices` (2),\n"
            "                       PLATFORM:DEVICE (1:0), gpu, cpu, accelerator, or a part\n"
            "                       of the device or platform name (nvidia, pthread).\n"
            "                       Default: $CLSTYLE_DEVICE, else the first GPU, else the\n"
            "                       first device\n"
            "  -v, --verbose        say what the runtime does (device, kernel cache, build\n"
            "                       times); twice for debug detail\n"
            "  -q, --quiet          print errors only\n"
            "      --list-devices   same as `clstyle devices`\n"
            "      --version        print the version and exit\n"
            "  -h, --help           print this help and exit\n"
            "\n"
            "Environment:\n"
            "  CLSTYLE_DEVICE           default for --device\n"
            "  CLSTYLE_NO_KERNEL_CACHE  set to 1 to never read or write compiled kernels\n"
            "  CLSTYLE_KERNEL_DIR       read kernel sources from this directory (development)\n"
            "  XDG_CACHE_HOME           compiled kernels go to $XDG_CACHE_HOME/clstyle\n"
            "                           (default ~/.cache/clstyle)\n"
            "\n"
            "Exit status: 0 success, 1 runtime error, 2 usage error.\n");
}

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "clstyle: error: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nTry `clstyle --help`.\n");
    return CLS_EXIT_USAGE;
}

enum { OPT_LIST_DEVICES = 256, OPT_VERSION };

int main(int argc, char **argv)
{
    static const struct option options[] = {
        {"device", required_argument, NULL, 'd'},
        {"verbose", no_argument, NULL, 'v'},
        {"quiet", no_argument, NULL, 'q'},
        {"list-devices", no_argument, NULL, OPT_LIST_DEVICES},
        {"version", no_argument, NULL, OPT_VERSION},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    cls_cli_common common = {0};
    bool list_devices = false;
    opterr = 0;
    int opt;
    while ((opt = getopt_long(argc, argv, ":d:vqh", options, NULL)) != -1) {
        switch (opt) {
        case 'd':
            if (!*optarg)
                return usage_error("--device needs a non-empty value%s", "");
            common.device_spec = optarg;
            break;
        case 'v': common.verbosity = common.verbosity < 0 ? 1 : common.verbosity + 1; break;
        case 'q': common.verbosity = -1; break;
        case OPT_LIST_DEVICES: list_devices = true; break;
        case OPT_VERSION: printf("clstyle %s\n", cls_version()); return CLS_EXIT_OK;
        case 'h': print_help(stdout); return CLS_EXIT_OK;
        case ':': return usage_error("option %s needs a value", argv[optind - 1]);
        default: return usage_error("unknown option %s", argv[optind - 1]);
        }
    }
    if (list_devices)
        return cls_cmd_devices(&common);
    if (optind >= argc) {
        print_help(stderr);
        return CLS_EXIT_USAGE;
    }
    const char *command = argv[optind];
    if (optind + 1 < argc)
        return usage_error("unexpected argument %s", argv[optind + 1]);
    if (strcmp(command, "devices") == 0)
        return cls_cmd_devices(&common);
    if (strcmp(command, "check") == 0)
        return cls_cmd_check(&common);
    return usage_error("unknown command %s", command);
}
