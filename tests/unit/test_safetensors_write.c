/* The safetensors writer: the layout the format prescribes (padded header, contiguous data in
 * the order given), files cls_weights_open reads back bit for bit (scalars, empty tensors,
 * metadata, names that need JSON escaping), bad input refused, and atomic replacement: a
 * failed write (bad input, missing or unwritable directory, disk full) leaves the old file.
 * usage: test_safetensors_write TMP_PARENT_DIR */
#include "check.h"
#include "weights/safetensors_write.h"
#include "weights/weights.h"

#include <dirent.h>
#include <errno.h>
#include <float.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmp[4096];

static void tmp_path(char *buf, size_t size, const char *name)
{
    snprintf(buf, size, "%s/%s", tmp, name);
}

/* Number of entries in dir other than . and .. (-1 when it cannot be read). */
static int entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

static bool write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return false;
    fputs(text, f);
    return fclose(f) == 0;
}

static bool has_text(const char *path, const char *text)
{
    char buf[256] = "";
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return strcmp(buf, text) == 0;
}

/* The whole file, malloc'd (NULL when it cannot be read). */
static uint8_t *read_all(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    uint8_t *data = NULL;
    long n = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    if (n >= 0 && fseek(f, 0, SEEK_SET) == 0 && (data = malloc((size_t)n + 1)) &&
        fread(data, 1, (size_t)n, f) != (size_t)n) {
        free(data);
        data = NULL;
    }
    fclose(f);
    *size = (size_t)n;
    return data;
}

static uint64_t le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static uint32_t bits(float f)
{
    uint32_t b;
    memcpy(&b, &f, sizeof b);
    return b;
}

static uint64_t count_of(const cls_tensor_out *t)
{
    uint64_t n = 1;
    for (int d = 0; d < t->ndim; d++)
        n *= (uint64_t)t->shape[d];
    return n;
}

/* Checks the layout the format prescribes: the header length a multiple of 8, the JSON
 * padded with spaces, the data section the tensors' bytes (little-endian on this host) in
 * the order given and nothing else. Returns the parsed header (json_object_put it). */
static json_object *check_layout(const uint8_t *file, size_t size, const cls_tensor_out *t,
                                 size_t count)
{
    CHECK(size >= 8);
    if (size < 8)
        return NULL;
    uint64_t n = le64(file);
    CHECK(n % 8 == 0 && n >= 8 && 8 + n <= size);
    if (n % 8 || n < 8 || 8 + n > size)
        return NULL;
    const char *json = (const char *)file + 8;
    CHECK(json[0] == '{');
    size_t end = (size_t)n;
    while (end > 0 && json[end - 1] == ' ')
        end--;
    CHECK(end > 0 && json[end - 1] == '}' && n - end < 8);
    char *text = strndup(json, end);
    json_object *root = text ? json_tokener_parse(text) : NULL;
    free(text);
    CHECK(root && json_object_is_type(root, json_type_object));

    const uint8_t *data = file + 8 + n;
    uint64_t offset = 0;
    for (size_t i = 0; i < count; i++) {
        json_object *entry = NULL, *offsets = NULL;
        CHECK(root && json_object_object_get_ex(root, t[i].name, &entry) &&
              json_object_object_get_ex(entry, "data_offsets", &offsets));
        uint64_t bytes = count_of(&t[i]) * 4;
        if (offsets) {
            CHECK((uint64_t)json_object_get_int64(json_object_array_get_idx(offsets, 0)) == offset);
            CHECK((uint64_t)json_object_get_int64(json_object_array_get_idx(offsets, 1)) ==
                  offset + bytes);
        }
        CHECK(8 + n + offset + bytes <= size);
        if (bytes > 0 && 8 + n + offset + bytes <= size)
            CHECK(memcmp(data + offset, t[i].data, (size_t)bytes) == 0);
        offset += bytes;
    }
    CHECK(8 + n + offset == size);
    return root;
}

/* Opens path with the weights reader and compares every tensor with t, bit for bit. */
static void check_read_back(const char *path, const cls_tensor_out *t, size_t count)
{
    cls_weights *w = NULL;
    CHECK_STATUS(cls_weights_open(path, &w), CLS_OK);
    if (!w)
        return;
    CHECK(cls_weights_get_format(w) == CLS_WEIGHTS_SAFETENSORS);
    CHECK(cls_weights_count(w) == count);
    for (size_t i = 0; i < count; i++) {
        const cls_weight_tensor *got = cls_weights_find(w, t[i].name);
        CHECK(got != NULL);
        if (!got)
            continue;
        CHECK(i >= cls_weights_count(w) || cls_weights_at(w, i) == got); /* the order given */
        CHECK(got->dtype == CLS_DTYPE_F32 && got->ndim == t[i].ndim);
        CHECK(got->count == count_of(&t[i]));
        for (int d = 0; d < got->ndim && d < t[i].ndim; d++)
            CHECK(got->shape[d] == t[i].shape[d]);
        float *values = malloc((got->count ? got->count : 1) * sizeof *values);
        CHECK_STATUS(cls_weights_read_f32(w, got, values), CLS_OK);
        uint64_t mismatches = 0;
        for (uint64_t k = 0; k < got->count; k++)
            mismatches += bits(values[k]) != bits(t[i].data[k]);
        CHECK(mismatches == 0);
        free(values);
    }
    cls_weights_close(w);
}

/* Encodes, writes, checks the file is the encoding, its layout and what the reader sees. */
static void round_trip(const char *name, const cls_tensor_out *t, size_t count,
                       const char *const *metadata, size_t metadata_count, json_object **header)
{
    char path[4200];
    tmp_path(path, sizeof path, name);
    uint8_t *encoded = NULL, *file = NULL;
    size_t encoded_size = 0, file_size = 0;
    CHECK_STATUS(
        cls_safetensors_encode(t, count, metadata, metadata_count, &encoded, &encoded_size),
        CLS_OK);
    CHECK_STATUS(cls_safetensors_write(path, t, count, metadata, metadata_count), CLS_OK);
    file = read_all(path, &file_size);
    CHECK(file && encoded && file_size == encoded_size && memcmp(file, encoded, file_size) == 0);
    json_object *root = file ? check_layout(file, file_size, t, count) : NULL;
    check_read_back(path, t, count);
    if (header)
        *header = root;
    else
        json_object_put(root);
    free(encoded);
    free(file);
    unlink(path);
}

static float weight[4 * 3 * 3 * 3], bias[4] = {-0.0f, FLT_MIN, FLT_MAX, -FLT_TRUE_MIN};
static float scalar = 127.5f, vec[5] = {1, -2, 3.25f, 1e-30f, -1e30f};
static const int64_t weight_shape[] = {4, 3, 3, 3}, bias_shape[] = {4}, vec_shape[] = {5},
                     empty_shape[] = {2, 0};

static void fill_weight(void)
{
    uint32_t state = 7;
    for (size_t i = 0; i < COUNT_OF(weight); i++) {
        state = state * 1664525u + 1013904223u;
        weight[i] = ((float)(state >> 8) / 16777216.0f - 0.5f) * 0.1f;
    }
}

/* A 4-d weight, a 1-d bias of awkward values, a 0-d scalar, an empty tensor and a vector,
 * in an order that is not sorted by name: read back exactly, in that order. */
static void test_round_trip(void)
{
    const cls_tensor_out t[] = {
        {"conv1.conv2d.weight", weight, 4, weight_shape},
        {"conv1.conv2d.bias", bias, 1, bias_shape},
        {"scale", &scalar, 0, NULL},
        {"empty", NULL, 2, empty_shape},
        {"a.vector", vec, 1, vec_shape},
    };
    json_object *root = NULL;
    round_trip("round.safetensors", t, COUNT_OF(t), NULL, 0, &root);
    json_object *entry = NULL, *shape = NULL, *v = NULL;
    CHECK(!json_object_object_get_ex(root, "__metadata__", &v));
    CHECK(json_object_object_get_ex(root, "scale", &entry) &&
          json_object_object_get_ex(entry, "shape", &shape) &&
          json_object_array_length(shape) == 0);
    CHECK(json_object_object_get_ex(entry, "dtype", &v) &&
          strcmp(json_object_get_string(v), "F32") == 0);
    json_object_put(root);

    /* no tensors at all: "{}" and six spaces, as the reference serializer writes it */
    uint8_t *out = NULL;
    size_t size = 0;
    CHECK_STATUS(cls_safetensors_encode(NULL, 0, NULL, 0, &out, &size), CLS_OK);
    CHECK(size == 16 && out && le64(out) == 8 && memcmp(out + 8, "{}      ", 8) == 0);
    free(out);
    round_trip("none.safetensors", NULL, 0, NULL, 0, NULL);
}

/* "__metadata__" comes first and holds the pairs; the reader ignores it. */
static void test_metadata(void)
{
    const cls_tensor_out t[] = {{"w", vec, 1, vec_shape}};
    const char *const metadata[] = {
        "format",  "pt",                          /* as torch's save_file writes it */
        "clstyle", "style \"mosaic\"\n\tépoch 2", /* escaped, UTF-8 */
        "",        "empty key",
    };
    json_object *root = NULL;
    round_trip("meta.safetensors", t, 1, metadata, 3, &root);
    json_object *m = NULL, *v = NULL;
    CHECK(json_object_object_get_ex(root, "__metadata__", &m) && json_object_object_length(m) == 3);
    for (size_t k = 0; k < 3; k++)
        CHECK(json_object_object_get_ex(m, metadata[2 * k], &v) &&
              strcmp(json_object_get_string(v), metadata[2 * k + 1]) == 0);
    json_object_put(root);

    uint8_t *out = NULL;
    size_t size = 0;
    CHECK_STATUS(cls_safetensors_encode(t, 1, metadata, 1, &out, &size), CLS_OK);
    static const char start[] = "{\"__metadata__\":{\"format\":\"pt\"},\"w\":";
    CHECK(out && size > 8 + strlen(start) && memcmp(out + 8, start, strlen(start)) == 0);
    free(out);
}

/* Names with quotes, backslashes, control characters and non-ASCII UTF-8 are escaped so the
 * JSON parses to the same names. */
static void test_escaping(void)
{
    static const char *const names[] = {
        "quote\"d",      "back\\slash",     "tab\tnew\nline\r", "ctrl\x01\x1f\x7f",
        "unicode é ✓ 𝄞", "slash/and:colon", "{\"a\":[1,2]}",    "\\u0041",
    };
    cls_tensor_out t[COUNT_OF(names)];
    for (size_t i = 0; i < COUNT_OF(names); i++)
        t[i] = (cls_tensor_out){names[i], &vec[i % 5], 0, NULL};
    const char *const metadata[] = {"key \"\\\b\f", "value\x02"};
    json_object *root = NULL;
    round_trip("escape.safetensors", t, COUNT_OF(t), metadata, 1, &root);
    json_object *m = NULL, *v = NULL;
    CHECK(json_object_object_get_ex(root, "__metadata__", &m) &&
          json_object_object_get_ex(m, metadata[0], &v) &&
          strcmp(json_object_get_string(v), metadata[1]) == 0);
    json_object_put(root);
}

static void check_refused(const cls_tensor_out *t, size_t count, const char *const *metadata,
                          size_t metadata_count, const char *message)
{
    uint8_t *out = NULL;
    size_t size = 7;
    CHECK_STATUS(cls_safetensors_encode(t, count, metadata, metadata_count, &out, &size),
                 CLS_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(cls_last_error(), message);
    CHECK(out == NULL && size == 7);
    char path[4200];
    tmp_path(path, sizeof path, "refused.safetensors");
    CHECK_STATUS(cls_safetensors_write(path, t, count, metadata, metadata_count),
                 CLS_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(cls_last_error(), path);
    CHECK_CONTAINS(cls_last_error(), message);
    CHECK(access(path, F_OK) != 0);
}

static void test_bad_input(void)
{
    const int64_t negative[] = {2, -1}, huge[] = {INT64_MAX, INT64_MAX, 0};
    char long_name[CLS_WEIGHT_NAME_MAX + 1];
    memset(long_name, 'n', CLS_WEIGHT_NAME_MAX);
    long_name[CLS_WEIGHT_NAME_MAX] = '\0';
    const cls_tensor_out dup[] = {
        {"a", vec, 1, vec_shape}, {"b", vec, 1, vec_shape}, {"a", &scalar, 0, NULL}};
    check_refused(dup, 3, NULL, 0, "two tensors are named a");
    const cls_tensor_out bad[][1] = {
        {{"", vec, 1, vec_shape}},
        {{NULL, vec, 1, vec_shape}},
        {{"__metadata__", vec, 1, vec_shape}},
        {{"x", vec, -1, vec_shape}},
        {{"x", vec, 9, vec_shape}},
        {{"x", vec, 2, negative}},
        {{"x", vec, 3, huge}},
        {{"x", NULL, 1, vec_shape}},
        {{"x", NULL, 0, NULL}},
        {{"x", vec, 1, NULL}},
        {{"bad \xc3\x28 utf8", vec, 1, vec_shape}},
        {{"overlong \xc0\xaf", vec, 1, vec_shape}},
        {{"surrogate \xed\xa0\x80", vec, 1, vec_shape}},
        {{long_name, vec, 1, vec_shape}},
    };
    static const char *const messages[] = {
        "tensor 0 has an empty name",
        "tensor 0 has no name",
        "reserved",
        "-1 dimensions (0 to 8",
        "9 dimensions (0 to 8",
        "dimension 1 is -1",
        "element count overflows",
        "5 values but no data",
        "1 values but no data",
        "1 dimensions but no shape",
        "not valid UTF-8",
        "not valid UTF-8",
        "not valid UTF-8",
        "longer than the limit of 255",
    };
    for (size_t i = 0; i < COUNT_OF(bad); i++)
        check_refused(bad[i], 1, NULL, 0, messages[i]);

    const cls_tensor_out ok[] = {{"w", vec, 1, vec_shape}};
    const char *const dup_keys[] = {"k", "1", "j", "2", "k", "3"};
    check_refused(ok, 1, dup_keys, 3, "two metadata keys are named k");
    const char *const null_value[] = {"k", NULL};
    check_refused(ok, 1, null_value, 1, "metadata value 0 is missing");
    const char *const bad_utf8[] = {"k\xff", "v"};
    check_refused(ok, 1, bad_utf8, 1, "metadata key 0 is not valid UTF-8");
    check_refused(ok, 1, NULL, 1, "1 metadata pairs but no list");
    check_refused(NULL, 2, NULL, 0, "2 tensors but no list");
    size_t size = 0;
    CHECK_STATUS(cls_safetensors_encode(ok, 1, NULL, 0, NULL, &size), CLS_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(cls_safetensors_write(NULL, ok, 1, NULL, 0), CLS_ERR_INVALID_ARGUMENT);
    CHECK(entries(tmp) == 0);
}

/* A header over the format's 100 MB limit is refused before the file is allocated. */
static void test_header_limit(void)
{
    if (check_quick()) {
        printf("  (quick: the 100 MB header case is not checked)\n");
        return;
    }
    size_t len = 100000000 - 32;
    char *value = malloc(len + 1);
    CHECK(value != NULL);
    if (!value)
        return;
    memset(value, 'v', len);
    value[len] = '\0';
    const cls_tensor_out t[] = {{"w", vec, 1, vec_shape}};
    const char *const metadata[] = {"k", value};
    check_refused(t, 1, metadata, 1, "over 100000000 bytes");
    value[len - 100] = '\0'; /* just under the limit: written */
    uint8_t *out = NULL;
    size_t size = 0;
    CHECK_STATUS(cls_safetensors_encode(t, 1, metadata, 1, &out, &size), CLS_OK);
    CHECK(out && le64(out) <= 100000000 && le64(out) % 8 == 0);
    free(out);
    free(value);
}

/* Failed writes leave an existing file as it was and no temporary behind: bad input, a
 * missing directory, an unwritable directory (not checked as root), a full disk. */
static void test_atomic(void)
{
    const cls_tensor_out t[] = {{"conv1.conv2d.weight", weight, 4, weight_shape},
                                {"conv1.conv2d.bias", bias, 1, bias_shape}};
    char path[4200];
    tmp_path(path, sizeof path, "model.safetensors");
    CHECK(write_text(path, "precious"));
    const cls_tensor_out dup[] = {t[0], t[0]};
    CHECK_STATUS(cls_safetensors_write(path, dup, 2, NULL, 0), CLS_ERR_INVALID_ARGUMENT);
    CHECK(has_text(path, "precious"));

    char missing[4200];
    tmp_path(missing, sizeof missing, "missing/model.safetensors");
    CHECK_STATUS(cls_safetensors_write(missing, t, 2, NULL, 0), CLS_ERR_IO);
    CHECK_CONTAINS(cls_last_error(), missing);
    CHECK_CONTAINS(cls_last_error(), "No such file or directory");

    char sub[4200], target[4300];
    tmp_path(sub, sizeof sub, "readonly");
    snprintf(target, sizeof target, "%s/model.safetensors", sub);
    CHECK(mkdir(sub, 0755) == 0);
    CHECK(write_text(target, "precious"));
    CHECK(chmod(sub, 0555) == 0);
    if (access(sub, W_OK) != 0) {
        CHECK_STATUS(cls_safetensors_write(target, t, 2, NULL, 0), CLS_ERR_IO);
        CHECK_CONTAINS(cls_last_error(), target);
        CHECK_CONTAINS(cls_last_error(), "Permission denied");
    } else {
        printf("  (running as root: the unwritable directory case is not checked)\n");
    }
    CHECK(has_text(target, "precious"));
    CHECK(entries(sub) == 1);
    CHECK(chmod(sub, 0755) == 0);
    unlink(target);
    rmdir(sub);

    /* disk full, simulated with a file size limit below the file's size (about 600 bytes) */
    struct rlimit old;
    CHECK(getrlimit(RLIMIT_FSIZE, &old) == 0);
    struct rlimit small = {256, old.rlim_max};
    void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
    CHECK(setrlimit(RLIMIT_FSIZE, &small) == 0);
    cls_status status = cls_safetensors_write(path, t, 2, NULL, 0);
    CHECK(setrlimit(RLIMIT_FSIZE, &old) == 0);
    signal(SIGXFSZ, old_handler);
    CHECK_STATUS(status, CLS_ERR_IO);
    CHECK_CONTAINS(cls_last_error(), path);
    CHECK_CONTAINS(cls_last_error(), strerror(EFBIG));
    CHECK(has_text(path, "precious"));
    CHECK(entries(tmp) == 1);

    /* a successful write replaces the file and keeps its permission bits */
    CHECK(chmod(path, 0640) == 0);
    CHECK_STATUS(cls_safetensors_write(path, t, 2, NULL, 0), CLS_OK);
    struct stat st;
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0640);
    check_read_back(path, t, 2);
    unlink(path);
    CHECK(entries(tmp) == 0);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s TMP_PARENT_DIR\n", argv[0]);
        return 2;
    }
    snprintf(tmp, sizeof tmp, "%s/safetensors-write-test-XXXXXX", argv[1]);
    if (!mkdtemp(tmp)) {
        perror("mkdtemp");
        return 2;
    }
    fill_weight();
    RUN(test_round_trip);
    RUN(test_metadata);
    RUN(test_escaping);
    RUN(test_bad_input);
    RUN(test_header_limit);
    RUN(test_atomic);
    CHECK(rmdir(tmp) == 0); /* fails when a test left a file behind */
    return check_report();
}
