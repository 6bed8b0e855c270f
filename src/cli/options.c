/* Parsing and validating the main command's options. */
#include "cli/options.h"
#include "transfer/layers.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

enum {
    OPT_STYLE_BLEND = 256,
    OPT_SIZE,
    OPT_STYLE_SCALE,
    OPT_ITERATIONS,
    OPT_OPTIMIZER,
    OPT_LEARNING_RATE,
    OPT_LBFGS_HISTORY,
    OPT_LINE_SEARCH,
    OPT_MAX_LS,
    OPT_REPRODUCIBLE,
    OPT_STYLE_MASKS,
    OPT_CONTENT_MASK,
    OPT_CONTENT_WEIGHT,
    OPT_STYLE_WEIGHT,
    OPT_TV_WEIGHT,
    OPT_CONTENT_LAYERS,
    OPT_STYLE_LAYERS,
    OPT_STYLE_LAYER_WEIGHTS,
    OPT_POOLING,
    OPT_INIT,
    OPT_SEED,
    OPT_ORIGINAL_COLORS,
    OPT_NORMALIZATION,
    OPT_COLOR_MATCH,
    OPT_NORMALIZE_GRADIENTS,
    OPT_PRINT_EVERY,
    OPT_SAVE_EVERY,
    OPT_LOG,
    OPT_OUTPUT_DEPTH,
    OPT_JPEG_QUALITY,
    OPT_MAX_PIXELS,
    OPT_MULTISCALE,
    OPT_NO_MULTISCALE,
    OPT_MIN_SCALE,
    OPT_STAGE_ITERATIONS,
    OPT_MAX_MEMORY,
    OPT_VERSION,
};

static const char short_options[] = ":c:s:o:m:d:qvh";
static const struct option long_options[] = {
    {"content", required_argument, NULL, 'c'},
    {"style", required_argument, NULL, 's'},
    {"style-blend-weights", required_argument, NULL, OPT_STYLE_BLEND},
    {"output", required_argument, NULL, 'o'},
    {"model", required_argument, NULL, 'm'},
    {"device", required_argument, NULL, 'd'},
    {"size", required_argument, NULL, OPT_SIZE},
    {"style-scale", required_argument, NULL, OPT_STYLE_SCALE},
    {"multiscale", no_argument, NULL, OPT_MULTISCALE},
    {"no-multiscale", no_argument, NULL, OPT_NO_MULTISCALE},
    {"min-scale", required_argument, NULL, OPT_MIN_SCALE},
    {"stage-iterations", required_argument, NULL, OPT_STAGE_ITERATIONS},
    {"max-memory", required_argument, NULL, OPT_MAX_MEMORY},
    {"iterations", required_argument, NULL, OPT_ITERATIONS},
    {"optimizer", required_argument, NULL, OPT_OPTIMIZER},
    {"learning-rate", required_argument, NULL, OPT_LEARNING_RATE},
    {"lbfgs-history", required_argument, NULL, OPT_LBFGS_HISTORY},
    {"line-search", required_argument, NULL, OPT_LINE_SEARCH},
    {"max-ls", required_argument, NULL, OPT_MAX_LS},
    {"content-weight", required_argument, NULL, OPT_CONTENT_WEIGHT},
    {"style-weight", required_argument, NULL, OPT_STYLE_WEIGHT},
    {"tv-weight", required_argument, NULL, OPT_TV_WEIGHT},
    {"content-layers", required_argument, NULL, OPT_CONTENT_LAYERS},
    {"style-layers", required_argument, NULL, OPT_STYLE_LAYERS},
    {"style-layer-weights", required_argument, NULL, OPT_STYLE_LAYER_WEIGHTS},
    {"pooling", required_argument, NULL, OPT_POOLING},
    {"init", required_argument, NULL, OPT_INIT},
    {"seed", required_argument, NULL, OPT_SEED},
    {"original-colors", no_argument, NULL, OPT_ORIGINAL_COLORS},
    {"normalization", required_argument, NULL, OPT_NORMALIZATION},
    {"color-match", required_argument, NULL, OPT_COLOR_MATCH},
    {"normalize-gradients", no_argument, NULL, OPT_NORMALIZE_GRADIENTS},
    {"print-every", required_argument, NULL, OPT_PRINT_EVERY},
    {"save-every", required_argument, NULL, OPT_SAVE_EVERY},
    {"log", required_argument, NULL, OPT_LOG},
    {"output-depth", required_argument, NULL, OPT_OUTPUT_DEPTH},
    {"jpeg-quality", required_argument, NULL, OPT_JPEG_QUALITY},
    {"max-pixels", required_argument, NULL, OPT_MAX_PIXELS},
    {"reproducible", no_argument, NULL, OPT_REPRODUCIBLE},
    {"style-masks", required_argument, NULL, OPT_STYLE_MASKS},
    {"content-mask", required_argument, NULL, OPT_CONTENT_MASK},
    {"quiet", no_argument, NULL, 'q'},
    {"verbose", no_argument, NULL, 'v'},
    {"version", no_argument, NULL, OPT_VERSION},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

void cls_cli_print_help(FILE *out)
{
    fputs("Usage: clstyle -c CONTENT -s STYLE[,STYLE...] -o OUTPUT [OPTIONS]\n"
          "       clstyle stylize -m MODEL -c INPUT -o OUTPUT   (fast style)\n"
          "       clstyle train -s STYLE --dataset DIR -o MODEL (train a fast-style model)\n"
          "       clstyle devices | check | info MODEL | tune\n"
          "Neural style transfer (Gatys et al.) on any OpenCL device: paints CONTENT in the\n"
          "style of STYLE. Images: PNG or JPEG. Defaults reproduce the settings of\n"
          "gordicaleksa/pytorch-neural-style-transfer (VGG-19, L-BFGS).\n"
          "\n"
          "Images:\n"
          "  -c, --content FILE           the picture to repaint\n"
          "  -s, --style FILE[,FILE...]   one or more style images\n"
          "      --style-blend-weights W[,W...]  one weight per style image (default: equal)\n"
          "  -o, --output FILE            result, .png or .jpg (default: out.png)\n"
          "      --size N                 longest side of the result in pixels (512)\n"
          "      --style-scale X          style images are resized to size * X (1.0)\n"
          "      --multiscale             coarse to fine: stages from --min-scale up to\n"
          "                               --size, each sqrt(2) larger, each started from\n"
          "                               the last result (default above --size 512)\n"
          "      --no-multiscale          one stage at --size\n"
          "      --min-scale N            longest side of the first stage (128)\n"
          "      --stage-iterations N     iterations of every stage but the last, which\n"
          "                               runs --iterations (default: --iterations)\n"
          "      --original-colors        keep the content's colours (transfer luminance only)\n"
          "      --color-match none|mean-cov|histogram  give the style images the content's\n"
          "                               colours before the run (none)\n"
          "      --style-masks FILE[,FILE...]  one mask per style image: where on the\n"
          "                               result each style goes (white: there, black: not)\n"
          "      --content-mask FILE      where the content is kept (white: kept, black: free)\n"
          "      --output-depth 8|16      PNG bits per channel (8)\n"
          "      --jpeg-quality N         1..100 (95)\n"
          "      --max-pixels N           refuse larger input images (100000000)\n"
          "\n"
          "Model and device:\n"
          "  -m, --model FILE             VGG-19/16 weights, .pth or .safetensors (default:\n"
          "                               $CLSTYLE_MODEL, ~/.local/share/clstyle/vgg19.pth,\n"
          "                               torchvision's cache; tools/fetch-model.sh gets it)\n"
          "  -d, --device SPEC            index, P:D, gpu, cpu or a name part (first GPU);\n"
          "                               see `clstyle devices`\n"
          "      --max-memory SIZE        device memory the run may use, e.g. 1G, 512M (the\n"
          "                               device's); a larger image is tiled exactly\n"
          "      --reproducible           the same image on every run and fresh cache (same\n"
          "                               OpenCL driver and device): no algorithm timing\n"
          "\n"
          "Optimisation:\n"
          "      --iterations N           (1000)\n"
          "      --optimizer lbfgs|adam   (lbfgs)\n"
          "      --learning-rate X        (L-BFGS 1, Adam 10)\n"
          "      --lbfgs-history N        correction pairs kept; less saves memory (100)\n"
          "      --line-search strong-wolfe|none  (strong-wolfe; none is neural-style's)\n"
          "      --max-ls N|budget        evaluations one line search may take (25: it may\n"
          "                               run past 1.25 x iterations evaluations, as older\n"
          "                               PyTorch); budget: never past them (PyTorch 2.15)\n"
          "      --init content|random|style|FILE  starting image (content)\n"
          "      --seed N                 for --init random (0)\n"
          "\n"
          "Losses:\n"
          "      --content-weight X       (1e5)\n"
          "      --style-weight X         (3e4)\n"
          "      --tv-weight X            total variation, smooths noise (1)\n"
          "      --content-layers L[,L...]  (conv4_2)\n"
          "      --style-layers L[,L...]  (relu1_1,relu2_1,relu3_1,relu4_1,relu5_1)\n"
          "      --style-layer-weights W[,W...]  one per style layer (default: equal)\n"
          "      --pooling max|avg        (max)\n"
          "      --normalization default|paper  loss normalisation (default)\n"
          "      --normalize-gradients    each loss layer's gradient to unit L1 norm before\n"
          "                               its weight (neural-style's); needs --optimizer adam\n"
          "                               or --line-search none\n"
          "\n"
          "Feedback:\n"
          "      --print-every N          a progress line every N iterations (50)\n"
          "      --save-every N           also write OUTPUT_<iteration>.png every N (0: off;\n"
          "                               OUTPUT_s<stage>_<iteration>.png with stages)\n"
          "      --log FILE.jsonl         one JSON object per iteration\n"
          "  -q, --quiet                  errors only\n"
          "  -v, --verbose                what the runtime does (device, kernel cache)\n"
          "      --version, -h, --help\n"
          "\n"
          "Commands:\n"
          "  devices                      list OpenCL devices (also --list-devices)\n"
          "  check                        build every kernel on the device (-d) and run a\n"
          "                               known-answer self-check\n"
          "  info MODEL                   what a weight file holds\n"
          "  stylize -m MODEL -c IN -o OUT  fast style: one pass of a trained network per\n"
          "                               image, video frame or directory; see\n"
          "                               `clstyle stylize --help`\n"
          "  train -s STYLE --dataset DIR -o MODEL  train a fast-style network on a folder of\n"
          "                               photos, as pytorch/examples does; see\n"
          "                               `clstyle train --help`\n"
          "  tune [--time-budget S]       search faster CLBlast GEMM parameters for the\n"
          "                               device (-d) and store them for later runs\n"
          "\n"
          "Environment:\n"
          "  CLSTYLE_DEVICE               default for --device\n"
          "  CLSTYLE_MODEL                default for --model\n"
          "  CLSTYLE_NO_KERNEL_CACHE=1    never read or write compiled kernels\n"
          "  CLSTYLE_KERNEL_DIR           read kernel sources from this directory\n"
          "  CLSTYLE_NO_BLAS_TUNING=1     ignore the parameters `clstyle tune` stored\n"
          "  CLSTYLE_REPRODUCIBLE=1       as --reproducible\n"
          "  CLSTYLE_PROFILE=1            at exit, the time each kernel took\n"
          "  XDG_CACHE_HOME               compiled kernels and tuned parameters go to\n"
          "                               $XDG_CACHE_HOME/clstyle\n"
          "                               (default ~/.cache/clstyle)\n"
          "\n"
          "Exit status: 0 done, 1 runtime error, 2 usage error, 130 interrupted (Ctrl-C\n"
          "writes the current image first; a second Ctrl-C quits at once).\n",
          out);
}

static int usage(const char *fmt, ...) CLS_CLI_PRINTF(1, 2);
static int usage(const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    fputs("clstyle: error: ", stderr);
    vfprintf(stderr, fmt, args);
    fputs("\nTry `clstyle --help`.\n", stderr);
    va_end(args);
    return CLS_EXIT_USAGE;
}

static bool parse_double(const char *text, double *out)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(text, &end);
    if (errno || end == text || *end || !isfinite(v))
        return false;
    *out = v;
    return true;
}

static bool parse_long(const char *text, long long lo, long long hi, long long *out)
{
    char *end = NULL;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno || end == text || *end || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

/* A comma-separated list of finite numbers >= 0 into out[max]. */
static bool parse_list(const char *text, double *out, int max, int *count)
{
    char buf[1024];
    if (strlen(text) >= sizeof buf)
        return false;
    strcpy(buf, text);
    *count = 0;
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (*count == max || !parse_double(tok, &out[*count]) || out[*count] < 0.0)
            return false;
        (*count)++;
    }
    return *count > 0 && text[strlen(text) - 1] != ',';
}

static int choose(const char *flag, const char *value, const char *const *names, int n, int *out)
{
    for (int i = 0; i < n; i++) {
        if (strcmp(value, names[i]) == 0) {
            *out = i;
            return CLS_EXIT_OK;
        }
    }
    return usage("%s: unknown value \"%s\"", flag, value);
}

static int int_option(const char *flag, const char *value, long long lo, long long hi, int *out)
{
    long long v;
    if (!parse_long(value, lo, hi, &v))
        return usage("%s needs a whole number from %lld to %lld, got \"%s\"", flag, lo, hi, value);
    *out = (int)v;
    return CLS_EXIT_OK;
}

static int double_option(const char *flag, const char *value, double lo, double *out)
{
    if (!parse_double(value, out) || *out < lo)
        return usage("%s needs a finite number >= %g, got \"%s\"", flag, lo, value);
    return CLS_EXIT_OK;
}

/* A byte count with an optional binary unit: 1073741824, 1G, 1GiB, 512M, 1.5G. */
static int memory_option(const char *flag, const char *value, size_t *out)
{
    char *end = NULL;
    errno = 0;
    const double v = strtod(value, &end);
    double unit = 1.0;
    if (end && (*end == 'K' || *end == 'k'))
        unit = 1024.0;
    else if (end && (*end == 'M' || *end == 'm'))
        unit = 1048576.0;
    else if (end && (*end == 'G' || *end == 'g'))
        unit = 1073741824.0;
    if (end && unit > 1.0)
        end += strcmp(end + 1, "iB") == 0 || strcmp(end + 1, "B") == 0 ? strlen(end) : 1;
    const double bytes = v * unit;
    if (errno || end == value || !end || *end || !isfinite(v) || bytes < 16.0 * 1048576.0 ||
        bytes > 1125899906842624.0)
        return usage("%s needs a size from 16M to 1024T, as bytes or with K, M or G (binary: "
                     "1G is 1024M), got \"%s\"",
                     flag, value);
    *out = (size_t)bytes;
    return CLS_EXIT_OK;
}

/* A comma-separated list of files, split in place into buffer (size bytes). */
static int split_files(const char *flag, const char *value, char *buffer, size_t size,
                       const char **items, int *count)
{
    if (strlen(value) >= size)
        return usage("%s: list too long", flag);
    strcpy(buffer, value);
    *count = 0;
    char *save = NULL;
    for (char *tok = strtok_r(buffer, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (*count == CLS_CLI_MAX_STYLES)
            return usage("%s: at most %d images", flag, CLS_CLI_MAX_STYLES);
        items[(*count)++] = tok;
    }
    return *count ? CLS_EXIT_OK : usage("%s needs at least one file", flag);
}

static int init_option(cls_cli_options *o, const char *value)
{
    static const char *const names[] = {"content", "random", "style"};
    for (int i = 0; i < 3; i++) {
        if (strcmp(value, names[i]) == 0) {
            o->params.init = (cls_init)i;
            return CLS_EXIT_OK;
        }
    }
    o->params.init = CLS_INIT_IMAGE; /* anything else is a file */
    o->init_file = value;
    return CLS_EXIT_OK;
}

/* Options that set a number, a choice or a list. */
static int value_option(cls_cli_options *o, int id, const char *flag, const char *v)
{
    static const char *const optimizers[] = {"lbfgs", "adam"};
    static const char *const searches[] = {"strong-wolfe", "none"};
    static const char *const poolings[] = {"max", "avg"};
    static const char *const normalizations[] = {"default", "paper"};
    static const char *const color_matches[] = {"none", "mean-cov", "histogram"};
    cls_transfer_params *p = &o->params;
    int choice = 0, rc = CLS_EXIT_OK;
    long long big = 0;
    switch (id) {
    case OPT_SIZE: return int_option(flag, v, 16, 16384, &o->size);
    case OPT_STYLE_SCALE: return double_option(flag, v, 0.01, &o->style_scale);
    case OPT_MIN_SCALE:
        o->min_scale_given = true;
        return int_option(flag, v, 16, 16384, &p->min_scale);
    case OPT_MAX_MEMORY: return memory_option(flag, v, &p->max_device_bytes);
    case OPT_STAGE_ITERATIONS:
        o->stage_iterations_given = true;
        return int_option(flag, v, 1, 1000000, &p->stage_iterations);
    case OPT_ITERATIONS: return int_option(flag, v, 1, 1000000, &p->iterations);
    case OPT_LBFGS_HISTORY: return int_option(flag, v, 1, 1000, &p->lbfgs_history);
    case OPT_LEARNING_RATE:
        rc = double_option(flag, v, 0.0, &p->learning_rate);
        return rc || p->learning_rate > 0.0 ? rc : usage("%s must be above 0", flag);
    case OPT_CONTENT_WEIGHT: return double_option(flag, v, 0.0, &p->content_weight);
    case OPT_STYLE_WEIGHT: return double_option(flag, v, 0.0, &p->style_weight);
    case OPT_TV_WEIGHT: return double_option(flag, v, 0.0, &p->tv_weight);
    case OPT_PRINT_EVERY: return int_option(flag, v, 0, 1000000, &o->print_every);
    case OPT_SAVE_EVERY: return int_option(flag, v, 0, 1000000, &o->save_every);
    case OPT_JPEG_QUALITY: return int_option(flag, v, 1, 100, &o->jpeg_quality);
    case OPT_OUTPUT_DEPTH:
        rc = int_option(flag, v, 8, 16, &o->output_depth);
        return rc || o->output_depth == 8 || o->output_depth == 16 ? rc
                                                                   : usage("%s: 8 or 16", flag);
    case OPT_SEED:
        if (!parse_long(v, 0, INT64_MAX, &big))
            return usage("%s needs a whole number >= 0, got \"%s\"", flag, v);
        p->seed = (uint64_t)big;
        return CLS_EXIT_OK;
    case OPT_MAX_PIXELS:
        if (!parse_long(v, 1, (long long)1 << 40, &big))
            return usage("%s needs a whole number >= 1, got \"%s\"", flag, v);
        o->max_pixels = (uint64_t)big;
        return CLS_EXIT_OK;
    case OPT_OPTIMIZER:
        rc = choose(flag, v, optimizers, 2, &choice);
        p->optimizer = choice;
        break;
    case OPT_LINE_SEARCH:
        rc = choose(flag, v, searches, 2, &choice);
        p->line_search = !choice;
        break;
    case OPT_MAX_LS:
        if (strcmp(v, "budget") == 0) {
            p->max_line_search = 0;
            return CLS_EXIT_OK;
        }
        return int_option(flag, v, 1, 1000, &p->max_line_search);
    case OPT_POOLING:
        rc = choose(flag, v, poolings, 2, &choice);
        p->pooling = choice;
        break;
    case OPT_NORMALIZATION:
        rc = choose(flag, v, normalizations, 2, &choice);
        p->normalization = choice;
        break;
    case OPT_COLOR_MATCH:
        rc = choose(flag, v, color_matches, 3, &choice);
        p->color_match = (cls_color_match)choice;
        break;
    case OPT_STYLE_BLEND:
        if (!parse_list(v, o->blend, CLS_CLI_MAX_STYLES, &o->blend_count))
            return usage("%s needs numbers >= 0 separated by commas, got \"%s\"", flag, v);
        break;
    case OPT_STYLE_LAYER_WEIGHTS:
        if (!parse_list(v, o->layer_weights, CLS_CLI_MAX_WEIGHTS, &p->style_layer_weight_count))
            return usage("%s needs numbers >= 0 separated by commas, got \"%s\"", flag, v);
        p->style_layer_weights = o->layer_weights;
        break;
    default: return usage("internal: unhandled option %s", flag);
    }
    return rc;
}

static void set_defaults(cls_cli_options *o)
{
    memset(o, 0, sizeof *o);
    o->params = cls_transfer_params_default();
    o->output = "out.png";
    o->size = 512;
    o->style_scale = 1.0;
    o->print_every = 50;
    o->output_depth = 8;
    o->jpeg_quality = 95;
    o->max_pixels = 100000000;
}

/* Multiscale is on when asked for, when a multiscale option is given, and by default above
 * 512 pixels, where a single-scale run paints the style's patterns at the network's small
 * receptive field and starts far from a good minimum (crowsonkb's style-transfer-pytorch
 * always works coarse to fine). */
static int settle_multiscale(cls_cli_options *o)
{
    const char *given = o->min_scale_given          ? "--min-scale"
                        : o->stage_iterations_given ? "--stage-iterations"
                                                    : NULL;
    if (o->multiscale < 0 && given)
        return usage("%s sets up multiscale stages, which --no-multiscale turns off: drop one "
                     "of them",
                     given);
    o->params.multiscale = o->multiscale > 0 || (o->multiscale == 0 && (given || o->size > 512));
    if (o->params.multiscale && o->min_scale_given && o->params.min_scale > o->size)
        return usage("--min-scale %d is above --size %d: the first stage cannot be larger than "
                     "the result; give a smaller --min-scale",
                     o->params.min_scale, o->size);
    return CLS_EXIT_OK;
}

/* Checks that need every option: counts that must agree, required images. */
static int check_consistency(cls_cli_options *o)
{
    if (!o->content)
        return usage("no content image: give one with -c/--content FILE");
    if (o->style_count == 0)
        return usage("no style image: give one or more with -s/--style FILE[,FILE...]");
    if (o->blend_count && o->blend_count != o->style_count)
        return usage("--style-blend-weights has %d values for %d style images", o->blend_count,
                     o->style_count);
    if (o->style_mask_count && o->style_mask_count != o->style_count)
        return usage("--style-masks has %d masks for %d style images: give one per style image, "
                     "in the order of -s",
                     o->style_mask_count, o->style_count);
    /* Layer names are checked against VGG-19, whose names include all of VGG-16's. */
    cls_layer_list list;
    if (cls_layer_list_parse(CLS_VGG19, o->params.content_layers, NULL, 0, "--content-layers",
                             &list) != CLS_OK)
        return usage("%s", cls_last_error());
    const int rc = settle_multiscale(o);
    if (rc != CLS_EXIT_OK)
        return rc;
    const cls_transfer_params *p = &o->params;
    if (p->normalize_gradients && p->optimizer == CLS_OPTIMIZER_LBFGS && p->line_search)
        return usage("--normalize-gradients needs --optimizer adam or --line-search none: the "
                     "normalised gradient is not the loss's, so the strong-Wolfe line search "
                     "would reject its steps");
    if (cls_layer_list_parse(CLS_VGG19, p->style_layers, p->style_layer_weights,
                             p->style_layer_weights ? p->style_layer_weight_count : 0,
                             "--style-layers", &list) != CLS_OK)
        return usage("%s%s", cls_last_error(),
                     p->style_layer_weights ? " (--style-layer-weights)" : "");
    return CLS_EXIT_OK;
}

int cls_cli_parse(int argc, char **argv, cls_cli_options *o, bool *done)
{
    set_defaults(o);
    *done = false;
    opterr = 0;
    /* 0, not 1: a full reset of getopt's state (GNU and musl), so a parse that stopped inside
     * a cluster of short options ("-zq") leaves nothing pointing into that argv for the
     * next one (the fuzz target parses many argvs in one process). */
    optind = 0;
    int opt, index = -1;
    while ((opt = getopt_long(argc, argv, short_options, long_options, &index)) != -1) {
        char name[64]; /* as the user wrote it, for messages */
        if (index >= 0)
            snprintf(name, sizeof name, "--%s", long_options[index].name);
        else
            snprintf(name, sizeof name, "-%c", opt);
        int rc = CLS_EXIT_OK;
        index = -1;
        switch (opt) {
        case 'c': o->content = optarg; break;
        case 's':
            rc = split_files("--style", optarg, o->styles_buffer, sizeof o->styles_buffer,
                             o->styles, &o->style_count);
            break;
        case OPT_STYLE_MASKS:
            rc = split_files("--style-masks", optarg, o->style_masks_buffer,
                             sizeof o->style_masks_buffer, o->style_masks, &o->style_mask_count);
            break;
        case OPT_CONTENT_MASK: o->content_mask = optarg; break;
        case 'o': o->output = optarg; break;
        case 'm': o->model = optarg; break;
        case 'd': o->common.device_spec = optarg; break;
        case 'q': o->common.verbosity = -1; break;
        case 'v':
            o->common.verbosity = o->common.verbosity < 0 ? 1 : o->common.verbosity + 1;
            break;
        case OPT_REPRODUCIBLE: o->common.reproducible = true; break;
        case OPT_INIT: rc = init_option(o, optarg); break;
        case OPT_CONTENT_LAYERS: o->params.content_layers = optarg; break;
        case OPT_STYLE_LAYERS: o->params.style_layers = optarg; break;
        case OPT_ORIGINAL_COLORS: o->original_colors = true; break;
        case OPT_MULTISCALE: o->multiscale = 1; break;
        case OPT_NO_MULTISCALE: o->multiscale = -1; break;
        case OPT_NORMALIZE_GRADIENTS: o->params.normalize_gradients = true; break;
        case OPT_LOG: o->log_path = optarg; break;
        case OPT_VERSION:
            printf("clstyle %s\n", cls_version());
            *done = true;
            return CLS_EXIT_OK;
        case 'h':
            cls_cli_print_help(stdout);
            *done = true;
            return CLS_EXIT_OK;
        case ':': return usage("option %s needs a value", argv[optind - 1]);
        case '?':
            /* Inside a cluster ("-zq") getopt has not moved past the argument yet, so
             * argv[optind - 1] would name the one before: name the letter instead. A long
             * option (optopt 0, or its value for "--quiet=1") has been moved past. */
            if (optopt > 0 && optopt < 256 && (optopt == ':' || !strchr(short_options, optopt)))
                return usage("unknown option -%c", optopt);
            return usage("unknown option %s", argv[optind - 1]);
        default: rc = value_option(o, opt, name, optarg); break;
        }
        if (rc != CLS_EXIT_OK)
            return rc;
    }
    if (optind < argc)
        return usage("unexpected argument \"%s\"", argv[optind]);
    return check_consistency(o);
}
