/* Parsing and validating the options of `clstyle stylize`. */
#include "cli/stylize_options.h"
#include "cli/stylize_inputs.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

void cls_stylize_print_help(FILE *out)
{
    fputs("Usage: clstyle stylize -m MODEL -c INPUT [-c INPUT...] -o OUTPUT [OPTIONS]\n"
          "Fast style transfer: one pass of a trained transformer network (pytorch/examples\n"
          "fast_neural_style: candy, mosaic, rain_princess, udnie, or one `clstyle train`\n"
          "wrote) per image. One INPUT writes the file OUTPUT; several, a directory (its PNG\n"
          "and JPEG images, in name order) or numbered frames (frame_%05d.png, from the\n"
          "lowest number present) write into the directory OUTPUT, keeping the names.\n"
          "\n"
          "  -m, --model MODEL        a model file (.pth or .safetensors), or the name of an\n"
          "                           installed one (tools/fetch-model.sh candy installs\n"
          "                           ~/.local/share/clstyle/candy.pth)\n"
          "  -c, --content INPUT      an image, a directory or a frame pattern; repeatable\n"
          "  -o, --output OUTPUT      the result: a file, or a directory for several inputs\n"
          "                           (created if missing)\n"
          "      --size N             resize the longest side to N first (default: keep)\n"
          "      --shard K/N          only inputs K, K+N, K+2N, ... of the sorted list\n"
          "                           (0 <= K < N): one share of the work per machine\n"
          "      --original-colors    keep each input's colours (luminance transfer)\n"
          "      --output-depth 8|16  PNG bits per channel (8)\n"
          "      --jpeg-quality N     1..100 (95)\n"
          "      --max-pixels N       refuse larger input images (100000000)\n"
          "  -d, --device SPEC        index, P:D, gpu, cpu or a name part; see\n"
          "                           `clstyle devices`\n"
          "      --reproducible       the same images on every run and fresh cache (same\n"
          "                           OpenCL driver and device): no algorithm timing\n"
          "  -q, --quiet              errors only\n"
          "  -v, --verbose            what the runtime does\n"
          "  -h, --help\n"
          "\n"
          "Exit status: 0 done, 1 runtime error (an image that cannot be read or written is\n"
          "reported and the others still run), 2 usage error, 130 interrupted (Ctrl-C\n"
          "finishes the current image first).\n",
          out);
}

static int usage(const char *what, const char *value)
{
    fprintf(stderr, "clstyle: error: %s%s%s\nTry `clstyle stylize --help`.\n", what,
            value ? " " : "", value ? value : "");
    return CLS_EXIT_USAGE;
}

static bool parse_int(const char *text, long long lo, long long hi, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno || end == text || *end || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

static int parse_number(const char *flag, const char *text, long long lo, long long hi,
                        long long *out)
{
    if (parse_int(text, lo, hi, out))
        return CLS_EXIT_OK;
    fprintf(stderr,
            "clstyle: error: %s needs a whole number from %lld to %lld, got \"%s\"\n"
            "Try `clstyle stylize --help`.\n",
            flag, lo, hi, text);
    return CLS_EXIT_USAGE;
}

enum {
    OPT_SIZE = 256,
    OPT_SHARD,
    OPT_ORIGINAL_COLORS,
    OPT_DEPTH,
    OPT_QUALITY,
    OPT_MAX_PIXELS,
    OPT_REPRODUCIBLE
};

static int value_option(cls_stylize_options *s, int opt, const char *value)
{
    long long v = 0;
    int rc = CLS_EXIT_OK;
    switch (opt) {
    case OPT_SIZE:
        rc = parse_number("--size", value, 8, 16384, &v);
        s->size = (int)v;
        return rc;
    case OPT_SHARD:
        return cls_inputs_parse_shard(value, &s->shard_k, &s->shard_n)
                   ? CLS_EXIT_OK
                   : usage("--shard needs K/N with 0 <= K < N, got", value);
    case OPT_DEPTH:
        rc = parse_number("--output-depth", value, 8, 16, &v);
        s->output_depth = (int)v;
        return rc || v == 8 || v == 16 ? rc : usage("--output-depth: 8 or 16, got", value);
    case OPT_QUALITY:
        rc = parse_number("--jpeg-quality", value, 1, 100, &v);
        s->jpeg_quality = (int)v;
        return rc;
    case OPT_MAX_PIXELS: return parse_number("--max-pixels", value, 1, 1LL << 40, &s->max_pixels);
    }
    return usage("internal: unhandled option", NULL);
}

static const char short_options[] = ":m:c:o:d:vqh";

int cls_stylize_parse(int argc, char **argv, cls_stylize_options *s, bool *help)
{
    static const struct option options[] = {
        {"model", required_argument, NULL, 'm'},
        {"content", required_argument, NULL, 'c'},
        {"output", required_argument, NULL, 'o'},
        {"size", required_argument, NULL, OPT_SIZE},
        {"shard", required_argument, NULL, OPT_SHARD},
        {"original-colors", no_argument, NULL, OPT_ORIGINAL_COLORS},
        {"output-depth", required_argument, NULL, OPT_DEPTH},
        {"jpeg-quality", required_argument, NULL, OPT_QUALITY},
        {"max-pixels", required_argument, NULL, OPT_MAX_PIXELS},
        {"device", required_argument, NULL, 'd'},
        {"reproducible", no_argument, NULL, OPT_REPRODUCIBLE},
        {"verbose", no_argument, NULL, 'v'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    *s = (cls_stylize_options){
        .shard_n = 1, .output_depth = 8, .jpeg_quality = 95, .max_pixels = 100000000};
    opterr = 0;
    optind = 0;
    int opt, rc = CLS_EXIT_OK;
    while (rc == CLS_EXIT_OK &&
           (opt = getopt_long(argc, argv, short_options, options, NULL)) != -1) {
        switch (opt) {
        case 'm': s->model = optarg; break;
        case 'c':
            if (s->operand_count == CLS_STYLIZE_MAX_OPERANDS)
                return usage("at most 256 -c operands; name a directory or a frame pattern", NULL);
            s->operands[s->operand_count++] = optarg;
            break;
        case 'o': s->output = optarg; break;
        case 'd': s->common.device_spec = optarg; break;
        case 'v':
            s->common.verbosity = s->common.verbosity < 0 ? 1 : s->common.verbosity + 1;
            break;
        case 'q': s->common.verbosity = -1; break;
        case 'h': *help = true; break;
        case OPT_ORIGINAL_COLORS: s->original_colors = true; break;
        case OPT_REPRODUCIBLE: s->common.reproducible = true; break;
        case ':': return usage("option needs a value:", argv[optind - 1]);
        case '?':
            /* Inside a cluster ("-zq") getopt has not moved past the argument: name the
             * letter, as the main command's parser does. */
            if (optopt > 0 && optopt < 256 && (optopt == ':' || !strchr(short_options, optopt))) {
                const char letter[3] = {'-', (char)optopt, '\0'};
                return usage("unknown option", letter);
            }
            return usage("unknown option", argv[optind - 1]);
        default: rc = value_option(s, opt, optarg); break;
        }
    }
    if (rc != CLS_EXIT_OK || *help)
        return rc;
    if (optind < argc)
        return usage("unexpected argument", argv[optind]);
    if (!s->model)
        return usage("no model: name one with -m MODEL (a .pth or .safetensors file, or an "
                     "installed model such as candy)",
                     NULL);
    if (s->operand_count == 0)
        return usage("no input: give an image, a directory or a frame pattern with -c", NULL);
    if (!s->output)
        return usage("no output: name a file (one input) or a directory with -o", NULL);
    return CLS_EXIT_OK;
}
