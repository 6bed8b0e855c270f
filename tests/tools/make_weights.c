/* make-weights: writes random VGG weights as a safetensors, PyTorch zip or legacy PyTorch
 * file, so tests need neither Python nor torch nor the real 548 MB download. */
#include "random_vgg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: make-weights --arch vgg19|vgg16 --format safetensors|pth|pth-legacy\n"
    "                    [--dtype f32|f16|bf16] [--seed N] [--extra-classifier] OUT\n"
    "\n"
    "Writes He-initialised random weights for every conv of torchvision's VGG\n"
    "(features.{i}.weight [cout, cin, 3, 3], features.{i}.bias [cout]). The same seed\n"
    "gives the same float32 values in every format; f16 and bf16 store their rounding.\n"
    "  --extra-classifier  also write an unused classifier.0.weight [16, 25088]\n"
    "  --seed N            the random stream's seed (default 20170320)\n";

typedef struct options {
    cls_vgg_arch arch;
    const char *format;
    cls_dtype dtype;
    uint64_t seed;
    bool extra_classifier;
    const char *out;
} options;

static bool parse_dtype(const char *s, cls_dtype *dtype)
{
    static const char *const names[] = {"f32", "f16", "bf16"};
    for (int i = 0; i < 3; i++) {
        if (strcmp(s, names[i]) == 0) {
            *dtype = (cls_dtype)i;
            return true;
        }
    }
    return false;
}

static bool parse_value(options *o, const char *flag, const char *value)
{
    char *end;
    if (strcmp(flag, "--arch") == 0) {
        o->arch = strcmp(value, "vgg16") == 0 ? CLS_VGG16 : CLS_VGG19;
        return strcmp(value, "vgg16") == 0 || strcmp(value, "vgg19") == 0;
    }
    if (strcmp(flag, "--format") == 0) {
        o->format = value;
        return strcmp(value, "safetensors") == 0 || strcmp(value, "pth") == 0 ||
               strcmp(value, "pth-legacy") == 0;
    }
    if (strcmp(flag, "--dtype") == 0)
        return parse_dtype(value, &o->dtype);
    if (strcmp(flag, "--seed") == 0) {
        o->seed = strtoull(value, &end, 0);
        return *value && !*end;
    }
    return false;
}

static bool parse(int argc, char **argv, options *o)
{
    *o = (options){.arch = CLS_VGG19, .dtype = CLS_DTYPE_F32, .seed = RANDOM_VGG_DEFAULT_SEED};
    bool arch = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--extra-classifier") == 0) {
            o->extra_classifier = true;
        } else if (strncmp(argv[i], "--", 2) == 0) {
            if (i + 1 >= argc || !parse_value(o, argv[i], argv[i + 1])) {
                fprintf(stderr, "make-weights: bad or missing value for %s\n", argv[i]);
                return false;
            }
            arch |= strcmp(argv[i], "--arch") == 0;
            i++;
        } else if (!o->out) {
            o->out = argv[i];
        } else {
            fprintf(stderr, "make-weights: unexpected argument %s\n", argv[i]);
            return false;
        }
    }
    if (!arch || !o->format || !o->out) {
        fprintf(stderr, "make-weights: --arch, --format and OUT are required\n");
        return false;
    }
    return true;
}

int main(int argc, char **argv)
{
    options o;
    random_vgg v;
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(usage, stdout);
        return 0;
    }
    if (!parse(argc, argv, &o)) {
        fputs(usage, stderr);
        return 2;
    }
    cls_status status = random_vgg_make(o.arch, o.seed, o.extra_classifier, &v);
    writer_options wo = {.dtype = o.dtype, .metadata_modules = v.modules};
    if (status == CLS_OK) {
        if (strcmp(o.format, "safetensors") == 0)
            status = writer_safetensors(o.out, v.tensors, v.count, &wo);
        else if (strcmp(o.format, "pth") == 0)
            status = writer_pth(o.out, v.tensors, v.count, &wo);
        else
            status = writer_pth_legacy(o.out, v.tensors, v.count, &wo);
    }
    random_vgg_free(&v);
    if (status != CLS_OK) {
        fprintf(stderr, "make-weights: %s: %s\n", cls_status_str(status), cls_last_error());
        return 1;
    }
    return 0;
}
