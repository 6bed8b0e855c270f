/* The per-device file of tuned CLBlast parameters: a short text file, checksummed, written
 * atomically, named and checked by a hash of the device identity and versions. */
#include "runtime/blas_status.h"
#include "runtime/blas_tune.h"
#include "runtime/file_atomic.h"
#include "runtime/kernel_cache.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <xxhash.h>

static const char header[] = "clstyle BLAS tuning 1\n";
enum { MAX_FILE = 64 * 1024 };

size_t *cls_blas_params_find(cls_blas_params *p, const char *name)
{
    for (int i = 0; i < p->count; i++)
        if (strcmp(p->names[i], name) == 0)
            return &p->values[i];
    return NULL;
}

void cls_blas_params_format(const cls_blas_params *p, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < p->count && used < size; i++) {
        int n =
            snprintf(buf + used, size - used, "%s%s=%zu", i ? " " : "", p->names[i], p->values[i]);
        if (n < 0)
            break;
        used += (size_t)n;
    }
}

cls_status cls_blas_params_override(cl_device_id device, const cls_blas_params *p)
{
    cls_status status = CLS_OK;
    const char *names[CLS_BLAS_MAX_PARAMS];
    for (int i = 0; i < p->count; i++)
        names[i] = p->names[i];
    CLS_CHECK_BLAS(CLBlastOverrideParameters(device, p->kernel, CLBlastPrecisionSingle,
                                             (size_t)p->count, names, p->values),
                   p->kernel);
fail:
    if (status != CLS_OK)
        cls_error_context(status, "CLBlastOverrideParameters");
    return status;
}

#define CLS_STR_(x) #x
#define CLS_XSTR_(x) CLS_STR_(x)
#define CLBLAST_VERSION_TEXT                                                                       \
    CLS_XSTR_(CLBLAST_VERSION_MAJOR)                                                               \
    "." CLS_XSTR_(CLBLAST_VERSION_MINOR) "." CLS_XSTR_(CLBLAST_VERSION_PATCH)

static void identity_key(const cls_ctx *ctx, char hex[33])
{
    const cls_device_info *d = &ctx->info;
    const char *parts[] = {"blas-tuning-1", d->platform, d->platform_version, d->name,
                           d->vendor,       d->version,  d->driver_version,   CLBLAST_VERSION_TEXT};
    cls_cache_key key = cls_cache_key_of(parts, sizeof parts / sizeof parts[0]);
    cls_cache_key_hex(&key, hex);
}

cls_status cls_blas_tuning_path(const cls_ctx *ctx, char *buf, size_t size)
{
    if (!ctx->tuning_dir[0])
        return cls_error(CLS_ERR_IO, "no cache directory for the BLAS tuning file "
                                     "(set XDG_CACHE_HOME or HOME)");
    char hex[33];
    identity_key(ctx, hex);
    int n = snprintf(buf, size, "%s/blas-%s.txt", ctx->tuning_dir, hex);
    if (n < 0 || (size_t)n >= size)
        return cls_error(CLS_ERR_IO, "BLAS tuning path is too long");
    return CLS_OK;
}

static cls_status make_dirs(const char *path)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
            return cls_error(CLS_ERR_IO, "creating %s: %s", tmp, strerror(errno));
        *p = '/';
    }
    return CLS_OK;
}

cls_status cls_blas_tuning_write(const cls_ctx *ctx, const char *path, const cls_blas_params *sets,
                                 int count)
{
    cls_status status = CLS_OK;
    char *text = malloc(MAX_FILE);
    CLS_CHECK_ALLOC(text, "the BLAS tuning file");
    char hex[33];
    identity_key(ctx, hex);
    int used = snprintf(text, MAX_FILE,
                        "%sdevice: %s\nplatform: %s (%s)\ndriver: %s\nclblast: %s\nkey: %s\n",
                        header, ctx->info.name, ctx->info.platform, ctx->info.platform_version,
                        ctx->info.driver_version, CLBLAST_VERSION_TEXT, hex);
    for (int i = 0; i < count && used < MAX_FILE - 1024; i++) {
        char values[1024];
        cls_blas_params_format(&sets[i], values, sizeof values);
        used += snprintf(text + used, (size_t)(MAX_FILE - used), "kernel %s %s\n", sets[i].kernel,
                         values);
    }
    if (used >= MAX_FILE - 64) {
        status = cls_error(CLS_ERR_INVALID_ARGUMENT, "too many BLAS parameters to store");
        goto fail;
    }
    used += snprintf(text + used, (size_t)(MAX_FILE - used), "checksum %016" PRIx64 "\n",
                     (uint64_t)XXH3_64bits(text, (size_t)used));
    CLS_TRY(make_dirs(path));
    CLS_TRY(cls_write_file_atomic(path, text, (size_t)used));
fail:
    free(text);
    return status;
}

/* Parses "kernel NAME K=V K=V ..." (line without its newline) into p. */
static bool parse_kernel_line(char *line, cls_blas_params *p)
{
    memset(p, 0, sizeof *p);
    char *save = NULL;
    char *tok = strtok_r(line, " ", &save);
    if (!tok || strcmp(tok, "kernel") != 0)
        return false;
    tok = strtok_r(NULL, " ", &save);
    if (!tok || strlen(tok) >= CLS_BLAS_NAME_LEN)
        return false;
    strcpy(p->kernel, tok);
    while ((tok = strtok_r(NULL, " ", &save)) != NULL) {
        char *eq = strchr(tok, '=');
        if (!eq || eq == tok || (size_t)(eq - tok) >= CLS_BLAS_NAME_LEN ||
            p->count >= CLS_BLAS_MAX_PARAMS)
            return false;
        for (const char *c = tok; c < eq; c++)
            if (!((*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '_'))
                return false;
        char *end;
        errno = 0;
        unsigned long long v = strtoull(eq + 1, &end, 10);
        if (*end || end == eq + 1 || errno || v > 1000000)
            return false;
        memcpy(p->names[p->count], tok, (size_t)(eq - tok));
        p->values[p->count++] = (size_t)v;
    }
    return p->count > 0;
}

cls_status cls_blas_tuning_read(const cls_ctx *ctx, const char *path, cls_blas_params *sets,
                                int max, int *count)
{
    cls_status status = CLS_OK;
    char *text = NULL;
    *count = 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (errno == ENOENT)
            return cls_error(CLS_ERR_CACHE_MISS, "no BLAS tuning file %s", path);
        return cls_error(CLS_ERR_IO, "opening %s: %s", path, strerror(errno));
    }
    text = malloc(MAX_FILE + 1);
    CLS_CHECK_ALLOC(text, "the BLAS tuning file");
    size_t size = fread(text, 1, MAX_FILE + 1, f);
    if (ferror(f) || size > MAX_FILE) {
        status = cls_error(CLS_ERR_IO, "%s is unreadable or too large", path);
        goto fail;
    }
    text[size] = '\0';
    /* The last line is the checksum of everything before it. */
    char *last = size >= 2 ? text + size - 2 : text;
    while (last > text && last[-1] != '\n')
        last--;
    uint64_t want = 0;
    char *end = NULL;
    if (size < 2 || text[size - 1] != '\n' || strncmp(last, "checksum ", 9) != 0 ||
        (want = strtoull(last + 9, &end, 16), end != text + size - 1) ||
        want != (uint64_t)XXH3_64bits(text, (size_t)(last - text))) {
        status = cls_error(CLS_ERR_IO, "%s is corrupt (checksum)", path);
        goto fail;
    }
    *last = '\0';
    char hex[33], key_line[64];
    identity_key(ctx, hex);
    snprintf(key_line, sizeof key_line, "key: %s", hex);
    if (strncmp(text, header, sizeof header - 1) != 0) {
        status = cls_error(CLS_ERR_IO, "%s is not a clstyle BLAS tuning file", path);
        goto fail;
    }
    bool key_ok = false;
    char *save = NULL;
    for (char *line = strtok_r(text + sizeof header - 1, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        if (strncmp(line, "kernel ", 7) == 0) {
            if (*count >= max || !parse_kernel_line(line, &sets[*count])) {
                status = cls_error(CLS_ERR_IO, "%s: malformed line \"%.60s\"", path, line);
                goto fail;
            }
            (*count)++;
        } else if (strncmp(line, "key: ", 5) == 0) {
            key_ok = strcmp(line, key_line) == 0;
        }
    }
    if (!key_ok) {
        status =
            cls_error(CLS_ERR_IO, "%s was written for another device, driver or CLBlast", path);
        goto fail;
    }
fail:
    if (status != CLS_OK)
        *count = 0;
    fclose(f);
    free(text);
    return status;
}

void cls_blas_tuning_apply(cls_ctx *ctx)
{
    char path[4200];
    cls_blas_params sets[CLS_BLAS_MAX_KERNELS];
    int count = 0;
    ctx->startup.blas_tuned_kernels = 0;
    if (!ctx->tuning_dir[0] || cls_blas_tuning_path(ctx, path, sizeof path) != CLS_OK) {
        cls_error_clear();
        return;
    }
    cls_status status = cls_blas_tuning_read(ctx, path, sets, CLS_BLAS_MAX_KERNELS, &count);
    if (status == CLS_ERR_CACHE_MISS) {
        cls_log(ctx, CLS_LOG_DEBUG, "BLAS tuning: none for this device (%s)", path);
        cls_error_clear();
        return;
    }
    if (status != CLS_OK) {
        cls_log(ctx, CLS_LOG_WARN,
                "ignoring the BLAS tuning file: %s; run `clstyle tune` to "
                "make a new one",
                cls_last_error());
        cls_error_clear();
        return;
    }
    for (int i = 0; i < count; i++) {
        if (cls_blas_params_override(ctx->device, &sets[i]) != CLS_OK) {
            cls_log(ctx, CLS_LOG_WARN, "BLAS tuning file %s: %s; run `clstyle tune` again", path,
                    cls_last_error());
            cls_error_clear();
            continue;
        }
        ctx->startup.blas_tuned_kernels++;
    }
    cls_log(ctx, CLS_LOG_INFO, "BLAS tuning: %d CLBlast kernel%s tuned for this device (%s)",
            ctx->startup.blas_tuned_kernels, ctx->startup.blas_tuned_kernels == 1 ? "" : "s", path);
}
