/* make-weights: writes random VGG or transformer weights as a safetensors, PyTorch zip or
 * legacy PyTorch file, so tests need neither Python nor torch nor the real downloads; edits
 * make the wrong files that loaders must refuse. */
#include "random_ffnet.h"
#include "random_vgg.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
    "usage: make-weights --arch vgg19|vgg16|transformer\n"
    "                    --format safetensors|pth|pth-legacy [--dtype f32|f16|bf16]\n"
    "                    [--seed N] [--extra-classifier] [--running-stats] [EDIT...] OUT\n"
    "\n"
    "vgg19, vgg16: He-initialised random weights for every conv of torchvision's VGG\n"
    "(features.{i}.weight [cout, cin, 3, 3], features.{i}.bias [cout]).\n"
    "transformer: the TransformerNet of pytorch/examples fast_neural_style (conv1.conv2d.*,\n"
    "in1.*, ..., res1.conv1.conv2d.*, res1.in1.*, ..., deconv3.conv2d.*), its last conv\n"
    "scaled so the output spans 0..255.\n"
    "The same seed gives the same float32 values in every format; f16 and bf16 store their\n"
    "rounding.\n"
    "  --extra-classifier  vgg: also write an unused classifier.0.weight [16, 25088]\n"
    "  --running-stats     transformer: also write in*.running_mean and in*.running_var,\n"
    "                      as the published (legacy) models hold\n"
    "  --seed N            the random stream's seed (default 20170320 for vgg, 20160327 for\n"
    "                      transformer)\n"
    "Edits, for files that must be refused (each may be given up to 8 times):\n"
    "  --drop NAME         leave tensor NAME out\n"
    "  --reshape NAME=D,D  give tensor NAME that shape (its values cycled to fill it)\n"
    "  --add NAME=D,D      add a tensor NAME of that shape (small values) at the end\n"
    "  --nan NAME          make the middle element of tensor NAME a NaN\n"
    "  --truncate BYTES    cut the written file to its first BYTES bytes\n";

enum { MAX_EDITS = 8 };

typedef enum arch { ARCH_VGG19, ARCH_VGG16, ARCH_TRANSFORMER } arch;
typedef enum edit_kind { EDIT_DROP, EDIT_RESHAPE, EDIT_ADD, EDIT_NAN } edit_kind;

typedef struct edit {
    edit_kind kind;
    char name[256];
    int ndim;
    int64_t shape[CLS_WEIGHT_MAX_DIMS];
    bool used;
} edit;

typedef struct options {
    arch arch;
    const char *format;
    cls_dtype dtype;
    uint64_t seed;
    bool seed_given, extra_classifier, running_stats;
    edit edits[4 * MAX_EDITS];
    size_t nedits;
    long long truncate; /* -1: no */
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

/* NAME or NAME=D,D,...: the shape is required for with_shape. */
static bool parse_edit(options *o, edit_kind kind, const char *value, bool with_shape)
{
    size_t same = 0;
    for (size_t i = 0; i < o->nedits; i++)
        same += o->edits[i].kind == kind;
    if (same >= MAX_EDITS)
        return false;
    edit *e = &o->edits[o->nedits];
    *e = (edit){.kind = kind};
    const char *eq = strchr(value, '=');
    size_t len = eq ? (size_t)(eq - value) : strlen(value);
    if (len == 0 || len >= sizeof e->name || (eq != NULL) != with_shape)
        return false;
    memcpy(e->name, value, len);
    for (const char *p = eq; p && *p;) {
        char *end;
        errno = 0;
        long long d = strtoll(p + 1, &end, 10);
        if (end == p + 1 || errno || d < 0 || d > (1ll << 31) || e->ndim == CLS_WEIGHT_MAX_DIMS ||
            (*end && *end != ','))
            return false;
        e->shape[e->ndim++] = d;
        p = *end ? end : NULL;
    }
    o->nedits++;
    return true;
}

static bool parse_value(options *o, const char *flag, const char *value)
{
    char *end;
    if (strcmp(flag, "--arch") == 0) {
        static const char *const names[] = {"vgg19", "vgg16", "transformer"};
        for (int i = 0; i < 3; i++) {
            if (strcmp(value, names[i]) == 0) {
                o->arch = (arch)i;
                return true;
            }
        }
        return false;
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
        o->seed_given = true;
        return *value && !*end;
    }
    if (strcmp(flag, "--truncate") == 0) {
        o->truncate = strtoll(value, &end, 0);
        return *value && !*end && o->truncate >= 0;
    }
    if (strcmp(flag, "--drop") == 0)
        return parse_edit(o, EDIT_DROP, value, false);
    if (strcmp(flag, "--reshape") == 0)
        return parse_edit(o, EDIT_RESHAPE, value, true);
    if (strcmp(flag, "--add") == 0)
        return parse_edit(o, EDIT_ADD, value, true);
    if (strcmp(flag, "--nan") == 0)
        return parse_edit(o, EDIT_NAN, value, false);
    return false;
}

static bool parse(int argc, char **argv, options *o)
{
    memset(o, 0, sizeof *o);
    o->dtype = CLS_DTYPE_F32;
    o->truncate = -1;
    bool arch = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--extra-classifier") == 0) {
            o->extra_classifier = true;
        } else if (strcmp(argv[i], "--running-stats") == 0) {
            o->running_stats = true;
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
    if ((o->arch == ARCH_TRANSFORMER && o->extra_classifier) ||
        (o->arch != ARCH_TRANSFORMER && o->running_stats)) {
        fprintf(stderr, "make-weights: --extra-classifier is for vgg, --running-stats for "
                        "transformer\n");
        return false;
    }
    if (!o->seed_given)
        o->seed = o->arch == ARCH_TRANSFORMER ? RANDOM_FFNET_DEFAULT_SEED : RANDOM_VGG_DEFAULT_SEED;
    return true;
}

/* The tensors to write: the generated ones with the edits applied. Buffers the edits
 * allocate are appended to owned (at most 4 * MAX_EDITS). */
static cls_status apply_edits(options *o, const writer_tensor *in, size_t n, writer_tensor **out,
                              size_t *nout, float **owned, size_t *nowned)
{
    writer_tensor *t = calloc(n + o->nedits, sizeof *t);
    if (!t)
        return cls_error(CLS_ERR_OUT_OF_HOST_MEMORY, "allocating the tensor list");
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        bool keep = true;
        writer_tensor copy = in[i];
        for (size_t k = 0; k < o->nedits; k++) {
            edit *e = &o->edits[k];
            if (e->kind == EDIT_ADD || strcmp(e->name, in[i].name) != 0)
                continue;
            e->used = true;
            if (e->kind == EDIT_DROP) {
                keep = false;
                continue;
            }
            uint64_t old = writer_count(&copy);
            if (e->kind == EDIT_RESHAPE) {
                copy.ndim = e->ndim;
                memcpy(copy.shape, e->shape, sizeof e->shape);
            }
            uint64_t count = writer_count(&copy);
            float *v = malloc((count ? count : 1) * sizeof *v);
            if (!v) {
                free(t);
                return cls_error(CLS_ERR_OUT_OF_HOST_MEMORY, "allocating %s", e->name);
            }
            for (uint64_t j = 0; j < count; j++)
                v[j] = old ? copy.data[j % old] : 0.25f;
            if (e->kind == EDIT_NAN && count)
                v[count / 2] = NAN;
            copy.data = v;
            owned[(*nowned)++] = v;
        }
        if (keep)
            t[m++] = copy;
    }
    for (size_t k = 0; k < o->nedits; k++) {
        edit *e = &o->edits[k];
        if (e->kind != EDIT_ADD)
            continue;
        writer_tensor add = {.name = e->name, .ndim = e->ndim};
        memcpy(add.shape, e->shape, sizeof e->shape);
        uint64_t count = writer_count(&add);
        float *v = malloc((count ? count : 1) * sizeof *v);
        if (!v) {
            free(t);
            return cls_error(CLS_ERR_OUT_OF_HOST_MEMORY, "allocating %s", e->name);
        }
        for (uint64_t j = 0; j < count; j++)
            v[j] = (float)((int)(j % 17) - 8) / 64.0f;
        add.data = v;
        owned[(*nowned)++] = v;
        t[m++] = add;
        e->used = true;
    }
    for (size_t k = 0; k < o->nedits; k++) {
        if (!o->edits[k].used) {
            free(t);
            return cls_error(CLS_ERR_INVALID_ARGUMENT, "no tensor named %s to edit",
                             o->edits[k].name);
        }
    }
    *out = t;
    *nout = m;
    return CLS_OK;
}

static cls_status write_file(const options *o, const writer_tensor *t, size_t n,
                             const char *const *modules, const int *versions)
{
    writer_options wo = {
        .dtype = o->dtype, .metadata_modules = modules, .metadata_versions = versions};
    cls_status status;
    if (strcmp(o->format, "safetensors") == 0)
        status = writer_safetensors(o->out, t, n, &wo);
    else if (strcmp(o->format, "pth") == 0)
        status = writer_pth(o->out, t, n, &wo);
    else
        status = writer_pth_legacy(o->out, t, n, &wo);
    if (status == CLS_OK && o->truncate >= 0 && truncate(o->out, (off_t)o->truncate) != 0)
        status = cls_error(CLS_ERR_IO, "truncating %s: %s", o->out, strerror(errno));
    return status;
}

int main(int argc, char **argv)
{
    options o;
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(usage, stdout);
        return 0;
    }
    if (!parse(argc, argv, &o)) {
        fputs(usage, stderr);
        return 2;
    }
    random_vgg v = {0};
    random_ffnet f = {0};
    const writer_tensor *tensors;
    size_t count;
    const char *const *modules;
    const int *versions = NULL;
    cls_status status;
    if (o.arch == ARCH_TRANSFORMER) {
        status = random_ffnet_make(o.seed, o.running_stats, &f);
        tensors = f.tensors, count = f.count, modules = f.modules, versions = f.versions;
    } else {
        status = random_vgg_make(o.arch == ARCH_VGG16 ? CLS_VGG16 : CLS_VGG19, o.seed,
                                 o.extra_classifier, &v);
        tensors = v.tensors, count = v.count, modules = v.modules;
    }
    writer_tensor *edited = NULL;
    float *owned[4 * MAX_EDITS];
    size_t nedited = 0, nowned = 0;
    if (status == CLS_OK)
        status = apply_edits(&o, tensors, count, &edited, &nedited, owned, &nowned);
    if (status == CLS_OK)
        status = write_file(&o, edited, nedited, modules, versions);
    for (size_t i = 0; i < nowned; i++)
        free(owned[i]);
    free(edited);
    random_vgg_free(&v);
    random_ffnet_free(&f);
    if (status != CLS_OK) {
        fprintf(stderr, "make-weights: %s: %s\n", cls_status_str(status), cls_last_error());
        return 1;
    }
    return 0;
}
