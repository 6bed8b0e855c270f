/* Parsing and validating the options of `clstyle train`. */
#include "cli/train_options.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void cls_train_print_help(FILE *out)
{
    fputs("Usage: clstyle train -s STYLE --dataset DIR -o MODEL.safetensors [OPTIONS]\n"
          "Trains a fast-style transformer network (pytorch/examples fast_neural_style's\n"
          "TransformerNet) for the style image STYLE on the photos under DIR (PNG and JPEG,\n"
          "read recursively in sorted order), as pytorch/examples' `neural_style.py train`\n"
          "does: VGG-16 as the loss network, content loss at relu2_2, Gram style losses at\n"
          "relu1_2, relu2_2, relu3_3 and relu4_3, Adam. MODEL is written as a safetensors\n"
          "state_dict that `clstyle stylize -m MODEL` and PyTorch\n"
          "(TransformerNet().load_state_dict(safetensors.torch.load_file(MODEL))) load; it is\n"
          "replaced atomically at every checkpoint, so an interrupted run leaves its latest\n"
          "weights there.\n"
          "\n"
          "  -s, --style STYLE        the style image\n"
          "      --dataset DIR        the training photos (each resized so its shorter side\n"
          "                           is --image-size, then the centre square cropped)\n"
          "  -o, --output MODEL       the model file to write (.safetensors)\n"
          "      --vgg FILE           VGG-16 weights (torchvision's vgg16-397923af.pth or a\n"
          "                           conversion); default: the installed one\n"
          "                           (`tools/fetch-model.sh vgg16`)\n"
          "      --epochs N           passes over the dataset (2)\n"
          "      --batch-size N       images per step (4)\n"
          "      --image-size N       training images are N x N, a multiple of 4 (256)\n"
          "      --style-size N       resize the style image to N x N (default: its own size)\n"
          "      --content-weight X   (1e5)\n"
          "      --style-weight X     (1e10)\n"
          "      --tv-weight X        total variation: X times the sum of squared neighbour\n"
          "                           differences of the output (0)\n"
          "      --learning-rate X    Adam's step size (1e-3); also --lr\n"
          "      --shuffle SEED       a seeded permutation of the photos every epoch\n"
          "                           (default: sorted order every epoch)\n"
          "      --init MODEL         start from a model's weights (a fresh Adam state)\n"
          "      --seed N             without --init: PyTorch's default initialisation drawn\n"
          "                           from seed N (1)\n"
          "      --checkpoint-every N write MODEL every N steps (1000; 0: only at the end of\n"
          "                           each epoch); also at the end and at Ctrl-C\n"
          "      --log FILE.jsonl     one JSON object per step: step, images, content, style,\n"
          "                           total (the weighted losses) and elapsed_s\n"
          "  -d, --device SPEC        index, P:D, gpu, cpu or a name part; see\n"
          "                           `clstyle devices`\n"
          "  -q, --quiet              errors only\n"
          "  -v, --verbose            what the runtime does\n"
          "  -h, --help\n"
          "\n"
          "Photos that cannot be read are skipped with a warning and counted at the end.\n"
          "Exit status: 0 done, 1 runtime error (a loss that is not a finite number stops\n"
          "the run and keeps the last checkpoint), 2 usage error, 130 interrupted (Ctrl-C\n"
          "finishes the current step and writes MODEL).\n",
          out);
}

static int usage(const char *what, const char *value)
{
    fprintf(stderr, "clstyle: error: %s%s%s\nTry `clstyle train --help`.\n", what, value ? " " : "",
            value ? value : "");
    return CLS_EXIT_USAGE;
}

static int parse_whole(const char *flag, const char *text, long long lo, long long hi,
                       long long *out)
{
    char *end;
    errno = 0;
    const long long v = strtoll(text, &end, 10);
    if (errno || end == text || *end || v < lo || v > hi) {
        fprintf(stderr,
                "clstyle: error: %s needs a whole number from %lld to %lld, got \"%s\"\n"
                "Try `clstyle train --help`.\n",
                flag, lo, hi, text);
        return CLS_EXIT_USAGE;
    }
    *out = v;
    return CLS_EXIT_OK;
}

static int parse_real(const char *flag, const char *text, bool positive, double *out)
{
    char *end;
    errno = 0;
    const double v = strtod(text, &end);
    if (errno || end == text || *end || !isfinite(v) || v < 0.0 || (positive && v == 0.0)) {
        fprintf(stderr,
                "clstyle: error: %s needs a finite number %s 0, got \"%s\"\n"
                "Try `clstyle train --help`.\n",
                flag, positive ? "above" : "of at least", text);
        return CLS_EXIT_USAGE;
    }
    *out = v;
    return CLS_EXIT_OK;
}

enum {
    OPT_DATASET = 256,
    OPT_VGG,
    OPT_EPOCHS,
    OPT_BATCH,
    OPT_IMAGE_SIZE,
    OPT_STYLE_SIZE,
    OPT_CONTENT_WEIGHT,
    OPT_STYLE_WEIGHT,
    OPT_TV_WEIGHT,
    OPT_LR,
    OPT_SHUFFLE,
    OPT_INIT,
    OPT_SEED,
    OPT_CHECKPOINT,
    OPT_LOG,
};

static int int_option(cls_train_options *t, int opt, const char *value)
{
    long long v = 0;
    int rc = CLS_EXIT_OK;
    switch (opt) {
    case OPT_EPOCHS:
        rc = parse_whole("--epochs", value, 1, 1000000, &v);
        t->epochs = (int)v;
        return rc;
    case OPT_BATCH:
        rc = parse_whole("--batch-size", value, 1, 1024, &v);
        t->params.batch_size = (int)v;
        return rc;
    case OPT_IMAGE_SIZE:
        rc = parse_whole("--image-size", value, 8, 8192, &v);
        t->params.image_size = (int)v;
        if (rc == CLS_EXIT_OK && v % 4)
            return usage("--image-size must be a multiple of 4 (the network's two stride-2 "
                         "convolutions), got",
                         value);
        return rc;
    case OPT_STYLE_SIZE:
        rc = parse_whole("--style-size", value, 1, 16384, &v);
        t->style_size = (int)v;
        return rc;
    case OPT_SHUFFLE:
        rc = parse_whole("--shuffle", value, 0, INT64_MAX, &v);
        t->shuffle = true;
        t->shuffle_seed = (uint64_t)v;
        return rc;
    case OPT_SEED:
        rc = parse_whole("--seed", value, 0, INT64_MAX, &v);
        t->seed = (uint64_t)v;
        return rc;
    case OPT_CHECKPOINT:
        rc = parse_whole("--checkpoint-every", value, 0, 1000000000, &v);
        t->checkpoint_every = (long)v;
        return rc;
    }
    return usage("internal: unhandled option", NULL);
}

static int value_option(cls_train_options *t, int opt, const char *value)
{
    cls_train_params *p = &t->params;
    switch (opt) {
    case OPT_DATASET: t->dataset = value; return CLS_EXIT_OK;
    case OPT_VGG: t->vgg = value; return CLS_EXIT_OK;
    case OPT_INIT: t->init = value; return CLS_EXIT_OK;
    case OPT_LOG: t->log = value; return CLS_EXIT_OK;
    case OPT_CONTENT_WEIGHT:
        return parse_real("--content-weight", value, false, &p->content_weight);
    case OPT_STYLE_WEIGHT: return parse_real("--style-weight", value, false, &p->style_weight);
    case OPT_TV_WEIGHT: return parse_real("--tv-weight", value, false, &p->tv_weight);
    case OPT_LR: return parse_real("--learning-rate", value, true, &p->learning_rate);
    }
    return int_option(t, opt, value);
}

static const char short_options[] = ":s:o:d:vqh";

/* The model is written as safetensors whatever its name; a .pth name would promise
 * torch.load, which cannot read it. */
static bool pth_name(const char *path)
{
    const char *dot = strrchr(path, '.');
    return dot && (strcasecmp(dot, ".pth") == 0 || strcasecmp(dot, ".pt") == 0);
}

static int check_required(const cls_train_options *t)
{
    if (!t->style)
        return usage("no style image: name one with -s STYLE", NULL);
    if (!t->dataset)
        return usage("no training photos: name their directory with --dataset DIR", NULL);
    if (!t->output)
        return usage("no output: name the model file to write with -o MODEL.safetensors", NULL);
    if (pth_name(t->output))
        return usage("-o writes a safetensors file (load it in PyTorch with "
                     "safetensors.torch.load_file); name it .safetensors, not",
                     t->output);
    return CLS_EXIT_OK;
}

int cls_train_parse(int argc, char **argv, cls_train_options *t, bool *help)
{
    static const struct option options[] = {
        {"style", required_argument, NULL, 's'},
        {"dataset", required_argument, NULL, OPT_DATASET},
        {"output", required_argument, NULL, 'o'},
        {"vgg", required_argument, NULL, OPT_VGG},
        {"epochs", required_argument, NULL, OPT_EPOCHS},
        {"batch-size", required_argument, NULL, OPT_BATCH},
        {"image-size", required_argument, NULL, OPT_IMAGE_SIZE},
        {"style-size", required_argument, NULL, OPT_STYLE_SIZE},
        {"content-weight", required_argument, NULL, OPT_CONTENT_WEIGHT},
        {"style-weight", required_argument, NULL, OPT_STYLE_WEIGHT},
        {"tv-weight", required_argument, NULL, OPT_TV_WEIGHT},
        {"learning-rate", required_argument, NULL, OPT_LR},
        {"lr", required_argument, NULL, OPT_LR},
        {"shuffle", required_argument, NULL, OPT_SHUFFLE},
        {"init", required_argument, NULL, OPT_INIT},
        {"seed", required_argument, NULL, OPT_SEED},
        {"checkpoint-every", required_argument, NULL, OPT_CHECKPOINT},
        {"log", required_argument, NULL, OPT_LOG},
        {"device", required_argument, NULL, 'd'},
        {"verbose", no_argument, NULL, 'v'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    *t = (cls_train_options){
        .params = cls_train_params_default(), .epochs = 2, .seed = 1, .checkpoint_every = 1000};
    opterr = 0;
    optind = 0;
    int opt, rc = CLS_EXIT_OK;
    while (rc == CLS_EXIT_OK &&
           (opt = getopt_long(argc, argv, short_options, options, NULL)) != -1) {
        switch (opt) {
        case 's': t->style = optarg; break;
        case 'o': t->output = optarg; break;
        case 'd': t->common.device_spec = optarg; break;
        case 'v':
            t->common.verbosity = t->common.verbosity < 0 ? 1 : t->common.verbosity + 1;
            break;
        case 'q': t->common.verbosity = -1; break;
        case 'h': *help = true; break;
        case ':': return usage("option needs a value:", argv[optind - 1]);
        case '?':
            if (optopt == 'm')
                return usage("train has no -m: the loss network is --vgg FILE (VGG-16), the model "
                             "it writes -o MODEL.safetensors",
                             NULL);
            if (optopt > 0 && optopt < 256 && (optopt == ':' || !strchr(short_options, optopt))) {
                const char letter[3] = {'-', (char)optopt, '\0'};
                return usage("unknown option", letter);
            }
            return usage("unknown option", argv[optind - 1]);
        default: rc = value_option(t, opt, optarg); break;
        }
    }
    if (rc != CLS_EXIT_OK || *help)
        return rc;
    if (optind < argc)
        return usage("unexpected argument", argv[optind]);
    return check_required(t);
}
