/* Weight file reader: the three formats give bit-identical tensors, unused tensors are never
 * read, 16-bit conversions are exact, and every hostile file of tests/data/bad/weights gives
 * its expected status and message (and truncated or corrupted copies never crash); the
 * model check made before the device starts.
 * usage: test_weights FIXTURE_DIR TMP_PARENT_DIR */
#include "check.h"
#include "weights/weights.h"
#include "weights/weights_dtype.h"
#include "weights/weights_internal.h"
#include "tools/random_ffnet.h"
#include "tools/random_vgg.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *fixtures;
static char tmp[4096];

static void tmp_path(char *buf, size_t size, const char *name)
{
    snprintf(buf, size, "%s/%s", tmp, name);
}

static uint32_t bits(float f)
{
    uint32_t b;
    memcpy(&b, &f, sizeof b);
    return b;
}

/* What a file of dtype holds for the float32 value v. */
static float stored(cls_dtype dtype, float v)
{
    if (dtype == CLS_DTYPE_F16)
        return cls_f16_to_f32(cls_f32_to_f16(v));
    if (dtype == CLS_DTYPE_BF16)
        return cls_bf16_to_f32(cls_f32_to_bf16(v));
    return v;
}

typedef cls_status (*writer_fn)(const char *, const writer_tensor *, size_t,
                                const writer_options *);

static const struct {
    const char *name;
    writer_fn write;
    cls_weights_format format;
    cls_dtype dtype;
} files[] = {
    {"vgg.safetensors", writer_safetensors, CLS_WEIGHTS_SAFETENSORS, CLS_DTYPE_F32},
    {"vgg.pth", writer_pth, CLS_WEIGHTS_PTH_ZIP, CLS_DTYPE_F32},
    {"vgg-legacy.pth", writer_pth_legacy, CLS_WEIGHTS_PTH_LEGACY, CLS_DTYPE_F32},
    {"vgg-f16.safetensors", writer_safetensors, CLS_WEIGHTS_SAFETENSORS, CLS_DTYPE_F16},
    {"vgg-bf16.safetensors", writer_safetensors, CLS_WEIGHTS_SAFETENSORS, CLS_DTYPE_BF16},
    {"vgg-f16.pth", writer_pth, CLS_WEIGHTS_PTH_ZIP, CLS_DTYPE_F16},
    {"vgg-bf16-legacy.pth", writer_pth_legacy, CLS_WEIGHTS_PTH_LEGACY, CLS_DTYPE_BF16},
};

/* Checks the index against the tensors written, then every value bit for bit. */
static void check_tensors(const writer_tensor *tensors, size_t count, const char *path,
                          cls_weights_format format, cls_dtype dtype)
{
    cls_weights *w = NULL;
    CHECK_STATUS(cls_weights_open(path, &w), CLS_OK);
    if (!w)
        return;
    CHECK(cls_weights_get_format(w) == format);
    CHECK(cls_weights_count(w) == count);
    for (size_t i = 0; i < count && i < cls_weights_count(w); i++) {
        const cls_weight_tensor *t = cls_weights_at(w, i);
        const writer_tensor *want = &tensors[i];
        CHECK(strcmp(t->name, want->name) == 0);
        CHECK(cls_weights_find(w, want->name) == t);
        CHECK(t->dtype == dtype && t->ndim == want->ndim && t->count == writer_count(want));
        for (int d = 0; d < t->ndim && d < want->ndim; d++)
            CHECK(t->shape[d] == want->shape[d]);
        float *got = malloc(t->count * sizeof *got);
        CHECK_STATUS(cls_weights_read_f32(w, t, got), CLS_OK);
        uint64_t mismatches = 0;
        for (uint64_t k = 0; k < t->count; k++)
            mismatches += bits(got[k]) != bits(stored(dtype, want->data[k]));
        CHECK(mismatches == 0);
        free(got);
    }
    cls_weights_close(w);
}

static void check_file(const random_vgg *v, const char *path, cls_weights_format format,
                       cls_dtype dtype)
{
    check_tensors(v->tensors, v->count, path, format, dtype);
}

/* Every format, f32 and the 16-bit dtypes, of the full VGG-19 written by make-weights' code:
 * the same names, shapes and float32 values (16-bit files: their rounding of them). */
static void test_formats_agree(void)
{
    random_vgg v;
    CHECK_STATUS(random_vgg_make(CLS_VGG19, RANDOM_VGG_DEFAULT_SEED, true, &v), CLS_OK);
    CHECK(v.count == 33);
    CHECK(strcmp(v.tensors[0].name, "features.0.weight") == 0);
    CHECK(strcmp(v.tensors[31].name, "features.34.bias") == 0);
    for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
        char path[4200];
        tmp_path(path, sizeof path, files[f].name);
        writer_options opt = {.dtype = files[f].dtype, .metadata_modules = v.modules};
        CHECK_STATUS(files[f].write(path, v.tensors, v.count, &opt), CLS_OK);
        check_file(&v, path, files[f].format, files[f].dtype);
        unlink(path);
    }
    random_vgg_free(&v);
}

/* The transformer weights of make-weights --arch transformer: TransformerNet's state_dict
 * names and shapes, the same values in every format and with or without the running
 * statistics, and the last conv scaled as documented. */
static void test_ffnet_formats_agree(void)
{
    random_ffnet f, g;
    CHECK_STATUS(random_ffnet_make(1, false, &f), CLS_OK);
    CHECK_STATUS(random_ffnet_make(1, true, &g), CLS_OK);
    CHECK(f.count == 62 && g.count == 92);
    if (f.count != 62 || g.count != 92) {
        random_ffnet_free(&f);
        random_ffnet_free(&g);
        return;
    }
    CHECK(strcmp(f.tensors[0].name, "conv1.conv2d.weight") == 0);
    CHECK(f.tensors[0].shape[0] == 32 && f.tensors[0].shape[1] == 3 && f.tensors[0].shape[3] == 9);
    CHECK(strcmp(f.tensors[2].name, "in1.weight") == 0);
    CHECK(strcmp(f.tensors[12].name, "res1.conv1.conv2d.weight") == 0);
    CHECK(strcmp(f.tensors[15].name, "res1.in1.bias") == 0);
    CHECK(strcmp(f.tensors[52].name, "deconv1.conv2d.weight") == 0);
    CHECK(f.tensors[52].shape[0] == 64 && f.tensors[52].shape[1] == 128);
    CHECK(strcmp(f.tensors[60].name, "deconv3.conv2d.weight") == 0);
    CHECK(f.tensors[61].shape[0] == 3 && f.tensors[61].data[2] == 127.5f);
    CHECK(strcmp(g.tensors[4].name, "in1.running_mean") == 0);
    CHECK(strcmp(g.tensors[23].name, "res1.in1.running_var") == 0);
    uint64_t params = 0;
    for (size_t i = 0, j = 0; i < f.count; i++, j++) {
        while (strstr(g.tensors[j].name, ".running_"))
            j++;
        CHECK(strcmp(f.tensors[i].name, g.tensors[j].name) == 0);
        CHECK(memcmp(f.tensors[i].data, g.tensors[j].data,
                     writer_count(&f.tensors[i]) * sizeof(float)) == 0);
        params += writer_count(&f.tensors[i]);
    }
    CHECK(params == 1679235);
    for (size_t fi = 0; fi < 3; fi++) {
        const random_ffnet *v = fi == 2 ? &g : &f; /* the legacy file with running stats */
        char path[4200];
        tmp_path(path, sizeof path, files[fi].name);
        writer_options opt = {.dtype = CLS_DTYPE_F32,
                              .metadata_modules = v->modules,
                              .metadata_versions = v->versions};
        CHECK_STATUS(files[fi].write(path, v->tensors, v->count, &opt), CLS_OK);
        check_tensors(v->tensors, v->count, path, files[fi].format, CLS_DTYPE_F32);
        unlink(path);
    }
    random_ffnet_free(&f);
    random_ffnet_free(&g);
}

/* The classifier's bytes are NaN: reading every other tensor must not notice (they are read
 * lazily and only their own bytes), the byte counter must show only their bytes were read,
 * and reading the classifier itself finds the NaN. */
static void check_unused(const char *path, const random_vgg *v)
{
    cls_weights *w = NULL;
    CHECK_STATUS(cls_weights_open(path, &w), CLS_OK);
    if (!w)
        return;
    CHECK(cls_weights_bytes_read(w) == 0);
    uint64_t used = 0;
    const cls_weight_tensor *classifier = cls_weights_find(w, "classifier.0.weight");
    for (size_t i = 0; i < cls_weights_count(w); i++) {
        const cls_weight_tensor *t = cls_weights_at(w, i);
        if (t == classifier)
            continue;
        float *got = malloc(t->count * sizeof *got);
        CHECK_STATUS(cls_weights_read_f32(w, t, got), CLS_OK);
        used += t->count * sizeof(float);
        free(got);
    }
    CHECK(cls_weights_bytes_read(w) == used);
    CHECK(classifier && classifier->count == writer_count(&v->tensors[v->count - 1]));
    float *got = malloc(classifier->count * sizeof *got);
    CHECK_STATUS(cls_weights_read_f32(w, classifier, got), CLS_ERR_WEIGHTS_FORMAT);
    CHECK_CONTAINS(cls_last_error(), "tensor classifier.0.weight: element 0 [0,0] is NaN");
    free(got);
    cls_weights_close(w);
}

static void test_unused_tensor_not_read(void)
{
    random_vgg v;
    CHECK_STATUS(random_vgg_make(CLS_VGG16, 7, true, &v), CLS_OK);
    writer_tensor *classifier = &v.tensors[v.count - 1];
    float *nan = malloc(writer_count(classifier) * sizeof *nan);
    for (uint64_t i = 0; i < writer_count(classifier); i++)
        nan[i] = NAN;
    free((void *)classifier->data);
    classifier->data = nan;
    for (size_t f = 0; f < 3; f++) {
        char path[4200];
        tmp_path(path, sizeof path, files[f].name);
        writer_options opt = {.dtype = CLS_DTYPE_F32};
        CHECK_STATUS(files[f].write(path, v.tensors, v.count, &opt), CLS_OK);
        check_unused(path, &v);
        unlink(path);
    }
    random_vgg_free(&v);
}

/* Reference half -> float: sign * mantissa * 2^exponent in double. */
static float half_reference(uint16_t h)
{
    int exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
    double sign = (h & 0x8000) ? -1.0 : 1.0;
    if (exp == 0x1f)
        return mant ? NAN : (float)(sign * INFINITY);
    if (exp == 0)
        return (float)(sign * ldexp(mant, -24));
    return (float)(sign * ldexp(1024 + mant, exp - 25));
}

static void test_half_conversions(void)
{
    uint32_t bad_decode = 0, bad_roundtrip = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        float f = cls_f16_to_f32((uint16_t)h), ref = half_reference((uint16_t)h);
        bool nan = ((h >> 10) & 0x1f) == 0x1f && (h & 0x3ff);
        if (nan ? !isnan(f) || (bits(f) & 0x1fff) || (bits(f) >> 31) != (h >> 15)
                : bits(f) != bits(ref))
            bad_decode++;
        uint16_t back = cls_f32_to_f16(f);
        if (back != (nan ? (uint16_t)((h & 0x8000) | 0x7e00) : h))
            bad_roundtrip++;
    }
    CHECK(bad_decode == 0);
    CHECK(bad_roundtrip == 0);
    /* Rounding to nearest, ties to even, overflow and underflow. */
    CHECK(cls_f32_to_f16(1.0f + 0x1p-11f) == 0x3c00);     /* tie: down to even */
    CHECK(cls_f32_to_f16(1.0f + 3 * 0x1p-11f) == 0x3c02); /* tie: up to even */
    CHECK(cls_f32_to_f16(1.0f + 0x1p-11f + 0x1p-20f) == 0x3c01);
    CHECK(cls_f32_to_f16(65504.0f) == 0x7bff);
    CHECK(cls_f32_to_f16(65519.996f) == 0x7bff);
    CHECK(cls_f32_to_f16(65520.0f) == 0x7c00); /* rounds to infinity */
    CHECK(cls_f32_to_f16(-1e10f) == 0xfc00);
    CHECK(cls_f32_to_f16(0x1p-24f) == 0x0001); /* smallest subnormal */
    CHECK(cls_f32_to_f16(0x1p-25f) == 0x0000); /* tie: to even zero */
    CHECK(cls_f32_to_f16(0x1.000002p-25f) == 0x0001);
    CHECK(cls_f32_to_f16(3 * 0x1p-25f) == 0x0002); /* tie: up to even */
    CHECK(cls_f32_to_f16(0x1.ff8p-15f) == 0x03ff); /* largest subnormal */
    CHECK(cls_f32_to_f16(0x1.ffcp-15f) == 0x0400); /* tie: up to the smallest normal */
    CHECK(cls_f32_to_f16(-0.0f) == 0x8000);
    CHECK(cls_f32_to_f16(0x1p-149f) == 0x0000);
}

static void test_bfloat16_conversions(void)
{
    uint32_t bad = 0;
    for (uint32_t b = 0; b < 65536; b++) {
        float f = cls_bf16_to_f32((uint16_t)b);
        bool nan = (b & 0x7f80) == 0x7f80 && (b & 0x7f);
        bad += bits(f) != b << 16;
        bad += cls_f32_to_bf16(f) != (nan ? 0x7fc0 : b);
    }
    CHECK(bad == 0);
    float tie_down, tie_up, above;
    uint32_t u = 0x3f808000, v = 0x3f818000, w2 = 0x3f808001;
    memcpy(&tie_down, &u, 4);
    memcpy(&tie_up, &v, 4);
    memcpy(&above, &w2, 4);
    CHECK(cls_f32_to_bf16(tie_down) == 0x3f80);
    CHECK(cls_f32_to_bf16(tie_up) == 0x3f82);
    CHECK(cls_f32_to_bf16(above) == 0x3f81);
    CHECK(cls_f32_to_bf16(3.4e38f) == 0x7f80); /* rounds up to infinity */
}

static bool read_all(const char *path, uint8_t **data, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    fseek(f, 0, SEEK_END);
    *size = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    *data = malloc(*size ? *size : 1);
    bool ok = *data && fread(*data, 1, *size, f) == *size;
    fclose(f);
    return ok;
}

static bool write_all(const char *path, const uint8_t *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return false;
    bool ok = fwrite(data, 1, size, f) == size;
    return fclose(f) == 0 && ok;
}

/* Opens path and reads every tensor: the first failure's status, or CLS_OK with the count
 * of tensors and the sum of all values. */
static cls_status load_everything(const char *path, size_t *count, double *sum)
{
    cls_weights *w = NULL;
    cls_status status = cls_weights_open(path, &w);
    *count = 0;
    *sum = 0;
    for (size_t i = 0; status == CLS_OK && i < cls_weights_count(w); i++) {
        const cls_weight_tensor *t = cls_weights_at(w, i);
        float *v = malloc(t->count ? t->count * sizeof *v : 1);
        status = cls_weights_read_f32(w, t, v);
        for (uint64_t k = 0; status == CLS_OK && k < t->count; k++)
            *sum += v[k];
        free(v);
    }
    if (status == CLS_OK)
        *count = cls_weights_count(w);
    cls_weights_close(w);
    return status;
}

static cls_status status_named(const char *name)
{
    static const cls_status all[] = {CLS_OK, CLS_ERR_WEIGHTS_FORMAT, CLS_ERR_UNSUPPORTED,
                                     CLS_ERR_IO, CLS_ERR_OUT_OF_HOST_MEMORY};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        const char *s = cls_status_str(all[i]);
        if (strncmp(s, name, strlen(name)) == 0 && (s[strlen(name)] == ':' || !s[strlen(name)]))
            return all[i];
    }
    return CLS_ERR_INVALID_ARGUMENT;
}

static void check_manifest_line(char *line)
{
    char *name = strtok(line, "\t\n"), *want = strtok(NULL, "\t\n"), *msg = strtok(NULL, "\n");
    char path[4200], expect[300];
    size_t count;
    double sum;
    if (!name || !want)
        return;
    snprintf(path, sizeof path, "%s/%s", fixtures, name);
    cls_status got = load_everything(path, &count, &sum);
    check_count++;
    if (got != status_named(want)) {
        check_failures++;
        fprintf(stderr, "%s: got %s, expected %s\n  detail: %s\n", name, cls_status_str(got), want,
                cls_last_error());
        return;
    }
    if (got == CLS_OK) {
        const char *want_sum = msg ? strstr(msg, "sum=") : NULL;
        snprintf(expect, sizeof expect, "tensors=%zu sum=%.17g", count, sum);
        CHECK(want_sum && strtod(want_sum + 4, NULL) == sum && strncmp(msg, "tensors=", 8) == 0 &&
              (size_t)atoi(msg + 8) == count);
        if (!want_sum || strtod(want_sum + 4, NULL) != sum)
            fprintf(stderr, "%s: %s, expected %s\n", name, expect, msg ? msg : "?");
        return;
    }
    CHECK_CONTAINS(cls_last_error(), name); /* messages name the file */
    CHECK_CONTAINS(cls_last_error(), msg ? msg : "");
}

static void test_hostile_files(void)
{
    CHECK(check_manifest(fixtures, check_manifest_line) > 90);
}

/* Every prefix of the good fixtures fails cleanly; every single-byte corruption of them
 * loads or fails, never crashes (ASan and UBSan watch this in CI). */
static void mangle(const char *fixture)
{
    char src[4200], dst[4200];
    uint8_t *data = NULL;
    size_t size = 0, count, failed_prefixes = 0;
    double sum;
    snprintf(src, sizeof src, "%s/%s", fixtures, fixture);
    tmp_path(dst, sizeof dst, fixture);
    CHECK(read_all(src, &data, &size));
    for (size_t cut = 0; cut < size; cut++) {
        CHECK(write_all(dst, data, cut));
        failed_prefixes += load_everything(dst, &count, &sum) != CLS_OK;
    }
    CHECK(failed_prefixes == size);
    for (size_t at = 0; at < size; at++) {
        uint8_t saved = data[at];
        data[at] ^= (uint8_t)(at % 7 == 0 ? 0xff : 1u << (at % 8));
        CHECK(write_all(dst, data, size));
        (void)load_everything(dst, &count, &sum);
        data[at] = saved;
    }
    unlink(dst);
    free(data);
}

static void test_truncated_and_corrupted(void)
{
    static const char *const good[] = {"ok.safetensors",    "ok_zip.pth",
                                       "ok_legacy.pth",     "ok_legacy_v1_py2.pth",
                                       "ok_zip_proto4.pth", "ok_zip_deflated.pth"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        mangle(good[i]);
}

static void test_api_edges(void)
{
    cls_weights *w = (cls_weights *)1, *other = NULL;
    char path[4200];
    cls_weights_close(NULL);
    CHECK_STATUS(cls_weights_open("/nonexistent/vgg.pth", &w), CLS_ERR_IO);
    CHECK(w == NULL);
    CHECK_CONTAINS(cls_last_error(), "/nonexistent/vgg.pth: cannot open");
    CHECK_STATUS(cls_weights_open(tmp, &w), CLS_ERR_IO);
    CHECK_CONTAINS(cls_last_error(), "not a regular file");
    CHECK(strcmp(cls_weights_format_name(CLS_WEIGHTS_SAFETENSORS), "safetensors") == 0);
    CHECK(strcmp(cls_weights_format_name(CLS_WEIGHTS_PTH_ZIP), "pth") == 0);
    CHECK(strcmp(cls_weights_format_name(CLS_WEIGHTS_PTH_LEGACY), "pth-legacy") == 0);
    snprintf(path, sizeof path, "%s/ok.safetensors", fixtures);
    CHECK_STATUS(cls_weights_open(path, &w), CLS_OK);
    CHECK_STATUS(cls_weights_open(path, &other), CLS_OK);
    float v[6];
    CHECK(cls_weights_find(w, "nope") == NULL);
    CHECK(cls_weights_at(w, 99) == NULL);
    CHECK_STATUS(cls_weights_read_f32(w, cls_weights_at(other, 0), v), CLS_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(cls_last_error(), "is not from this file");
    cls_weights_close(other);
    cls_weights_close(w);
}

/* A header within 100 MB but of millions of JSON values is refused before json-c runs. */
static void test_json_value_limit(void)
{
    char path[4200];
    size_t n = 3u << 20;
    char *h = malloc(64 + 2 * n);
    int len = sprintf(h, "{\"__metadata__\":{\"x\":[");
    for (size_t i = 0; i < n; i++)
        len += sprintf(h + len, "0,");
    len += sprintf(h + len, "0]}}");
    uint8_t size[8];
    for (int i = 0; i < 8; i++)
        size[i] = (uint8_t)((uint64_t)len >> (8 * i));
    tmp_path(path, sizeof path, "values.safetensors");
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(size, 1, 8, f) == 8 && fwrite(h, 1, (size_t)len, f) == (size_t)len);
    if (f)
        fclose(f);
    cls_weights *w = NULL;
    CHECK_STATUS(cls_weights_open(path, &w), CLS_ERR_WEIGHTS_FORMAT);
    CHECK_CONTAINS(cls_last_error(), "JSON values, more than the limit of 2097152");
    unlink(path);
    free(h);
}

/* cls_model_check, the device-free check the CLI makes before the device starts: VGG-19 and
 * VGG-16 in every format pass; a missing convolution, a wrong shape and a file of other
 * tensors fail with cls_model_load's errors; values are not read (a NaN passes). */
static void write_and_check(const char *name, writer_fn write, const writer_tensor *tensors,
                            size_t count, cls_status want, const char *message)
{
    char path[4200];
    tmp_path(path, sizeof path, name);
    writer_options opt = {.dtype = CLS_DTYPE_F32};
    CHECK_STATUS(write(path, tensors, count, &opt), CLS_OK);
    CHECK_STATUS(cls_model_check(path), want);
    if (message)
        CHECK_CONTAINS(cls_last_error(), message);
    unlink(path);
}

static void test_model_check(void)
{
    random_vgg v19, v16;
    CHECK_STATUS(random_vgg_make(CLS_VGG19, RANDOM_VGG_DEFAULT_SEED, false, &v19), CLS_OK);
    CHECK_STATUS(random_vgg_make(CLS_VGG16, RANDOM_VGG_DEFAULT_SEED, false, &v16), CLS_OK);
    for (size_t f = 0; f < 3; f++)
        write_and_check(files[f].name, files[f].write, v19.tensors, v19.count, CLS_OK, NULL);
    write_and_check("vgg16.safetensors", writer_safetensors, v16.tensors, v16.count, CLS_OK, NULL);

    writer_tensor *edited = malloc(v19.count * sizeof *edited);
    memcpy(edited, v19.tensors, v19.count * sizeof *edited);
    edited[6] = edited[v19.count - 1]; /* features.7.weight replaced by the last bias */
    write_and_check("missing.safetensors", writer_safetensors, edited, v19.count - 1,
                    CLS_ERR_WEIGHTS_MISMATCH,
                    "tensor features.7.weight (shape [128, 128, 3, 3]) "
                    "is missing");
    memcpy(edited, v19.tensors, v19.count * sizeof *edited);
    edited[2].shape[2] = 9; /* features.2.weight [64, 64, 9, 1]: the same count */
    edited[2].shape[3] = 1;
    write_and_check("shape.pth", writer_pth, edited, v19.count, CLS_ERR_WEIGHTS_MISMATCH,
                    "tensor features.2.weight has shape [64, 64, 9, 1], expected [64, 64, 3, 3]");
    write_and_check("other.safetensors", writer_safetensors, edited + 1, 1,
                    CLS_ERR_WEIGHTS_MISMATCH, "neither VGG-19");

    memcpy(edited, v19.tensors, v19.count * sizeof *edited);
    float *nan_bias = malloc(64 * sizeof *nan_bias);
    memcpy(nan_bias, v19.tensors[1].data, 64 * sizeof *nan_bias);
    nan_bias[5] = NAN;
    edited[1].data = nan_bias;
    write_and_check("nan.pth", writer_pth_legacy, edited, v19.count, CLS_OK, NULL);
    free(nan_bias);
    free(edited);
    CHECK_STATUS(cls_model_check("/nonexistent/vgg19.pth"), CLS_ERR_IO);
    random_vgg_free(&v19);
    random_vgg_free(&v16);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: test_weights FIXTURE_DIR TMP_PARENT_DIR\n");
        return 2;
    }
    fixtures = argv[1];
    snprintf(tmp, sizeof tmp, "%s/weights-test-XXXXXX", argv[2]);
    if (!mkdtemp(tmp)) {
        perror("mkdtemp");
        return 2;
    }
    RUN(test_half_conversions);
    RUN(test_bfloat16_conversions);
    RUN(test_api_edges);
    RUN(test_json_value_limit);
    RUN(test_hostile_files);
    RUN(test_truncated_and_corrupted);
    RUN(test_unused_tensor_not_read);
    RUN(test_formats_agree);
    RUN(test_ffnet_formats_agree);
    RUN(test_model_check);
    rmdir(tmp);
    return check_report();
}
