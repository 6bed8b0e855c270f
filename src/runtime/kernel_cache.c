/* Kernel binary cache files: "CLSKBIN" 0x01, the 16-byte key, payload length (u64 LE),
 * payload XXH3-64 (u64 LE), payload. A file is used only if every field checks out. */
#include "runtime/kernel_cache.h"
#include "runtime/file_atomic.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#define XXH_STATIC_LINKING_ONLY /* XXH3_state_t on the stack */
#include <xxhash.h>

static const uint8_t magic[8] = {'C', 'L', 'S', 'K', 'B', 'I', 'N', 1};
enum { HEADER_SIZE = 8 + 16 + 8 + 8 };

cls_cache_key cls_cache_key_of(const char *const *parts, size_t count)
{
    XXH3_state_t state;
    XXH3_128bits_reset(&state);
    for (size_t i = 0; i < count; i++) {
        const char *part = parts[i] ? parts[i] : "";
        uint64_t len = strlen(part);
        XXH3_128bits_update(&state, &len, sizeof len);
        XXH3_128bits_update(&state, part, len);
    }
    XXH128_canonical_t canonical;
    XXH128_canonicalFromHash(&canonical, XXH3_128bits_digest(&state));
    cls_cache_key key;
    memcpy(key.bytes, canonical.digest, sizeof key.bytes);
    return key;
}

void cls_cache_key_hex(const cls_cache_key *key, char hex[33])
{
    for (int i = 0; i < 16; i++)
        snprintf(hex + 2 * i, 3, "%02x", key->bytes[i]);
}

cls_status cls_cache_default_dir(char *buf, size_t size)
{
    const char *xdg = getenv("XDG_CACHE_HOME");
    const char *home = getenv("HOME");
    int n;
    if (xdg && *xdg)
        n = snprintf(buf, size, "%s/clstyle", xdg);
    else if (home && *home)
        n = snprintf(buf, size, "%s/.cache/clstyle", home);
    else
        return cls_error(CLS_ERR_IO, "neither XDG_CACHE_HOME nor HOME is set");
    if (n < 0 || (size_t)n >= size)
        return cls_error(CLS_ERR_IO, "kernel cache path is too long");
    return CLS_OK;
}

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static cls_status entry_path(const char *dir, const cls_cache_key *key, char *buf, size_t size)
{
    char hex[33];
    cls_cache_key_hex(key, hex);
    int n = snprintf(buf, size, "%s/%s.clbin", dir, hex);
    if (n < 0 || (size_t)n >= size)
        return cls_error(CLS_ERR_IO, "kernel cache path is too long: %s", dir);
    return CLS_OK;
}

static bool read_exact(int fd, void *buf, size_t size)
{
    uint8_t *p = buf;
    while (size > 0) {
        ssize_t n = read(fd, p, size);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        p += n;
        size -= (size_t)n;
    }
    return true;
}

static cls_status reject(bool *rejected, const char *path, const char *why)
{
    *rejected = true;
    return cls_error(CLS_ERR_CACHE_MISS, "kernel cache file %s rejected: %s", path, why);
}

/* Checks the header and payload already read against the key. */
static const char *validate(const uint8_t *header, const cls_cache_key *key, const void *payload,
                            uint64_t length)
{
    if (get_u64(header + 24) != length)
        return "length field does not match the file size (truncated?)";
    if (memcmp(header + 8, key->bytes, 16) != 0)
        return "written for another key";
    if (XXH3_64bits(payload, length) != get_u64(header + 32))
        return "checksum mismatch (corrupt)";
    return NULL;
}

cls_status cls_cache_load(const char *dir, const cls_cache_key *key, void **data, size_t *size,
                          bool *rejected)
{
    cls_status status = CLS_OK;
    char path[4096];
    uint8_t *payload = NULL;
    int fd = -1;
    *data = NULL;
    *size = 0;
    *rejected = false;
    CLS_TRY(entry_path(dir, key, path, sizeof path));

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        status = cls_error(CLS_ERR_CACHE_MISS, "no kernel cache file %s", path);
        goto fail;
    }
    struct stat st;
    uint8_t header[HEADER_SIZE];
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        status = reject(rejected, path, "not a regular file");
        goto fail;
    }
    if ((uint64_t)st.st_size < HEADER_SIZE || !read_exact(fd, header, HEADER_SIZE)) {
        status = reject(rejected, path, "shorter than its header (truncated)");
        goto fail;
    }
    if (memcmp(header, magic, sizeof magic) != 0) {
        status = reject(rejected, path, "bad magic bytes");
        goto fail;
    }
    uint64_t length = (uint64_t)st.st_size - HEADER_SIZE;
    if (length == 0 || length > CLS_CACHE_MAX_PAYLOAD) {
        status = reject(rejected, path, "payload size out of range");
        goto fail;
    }
    payload = malloc(length);
    CLS_CHECK_ALLOC(payload, "a kernel cache entry");
    if (!read_exact(fd, payload, length)) {
        status = reject(rejected, path, "read failed");
        goto fail;
    }
    const char *why = validate(header, key, payload, length);
    if (why) {
        status = reject(rejected, path, why);
        goto fail;
    }
    close(fd);
    *data = payload;
    *size = (size_t)length;
    return CLS_OK;
fail:
    if (fd >= 0)
        close(fd);
    free(payload);
    return status;
}

/* mkdir -p for the cache directory. */
static cls_status make_dirs(const char *dir)
{
    char path[4096];
    int n = snprintf(path, sizeof path, "%s", dir);
    if (n < 0 || (size_t)n >= sizeof path)
        return cls_error(CLS_ERR_IO, "kernel cache path is too long");
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, 0755) != 0 && errno != EEXIST)
            return cls_error(CLS_ERR_IO, "cannot create %s: %s", path, strerror(errno));
        *p = '/';
    }
    if (mkdir(path, 0755) != 0 && errno != EEXIST)
        return cls_error(CLS_ERR_IO, "cannot create %s: %s", path, strerror(errno));
    return CLS_OK;
}

cls_status cls_cache_store(const char *dir, const cls_cache_key *key, const void *data, size_t size)
{
    cls_status status = CLS_OK;
    char path[4096];
    uint8_t *file = NULL;
    if (size == 0 || size > CLS_CACHE_MAX_PAYLOAD)
        return cls_error(CLS_ERR_INVALID_ARGUMENT, "kernel cache entry of %zu bytes", size);
    CLS_TRY(make_dirs(dir));
    CLS_TRY(entry_path(dir, key, path, sizeof path));
    file = malloc(HEADER_SIZE + size);
    CLS_CHECK_ALLOC(file, "a kernel cache entry");
    memcpy(file, magic, sizeof magic);
    memcpy(file + 8, key->bytes, 16);
    put_u64(file + 24, size);
    put_u64(file + 32, XXH3_64bits(data, size));
    memcpy(file + HEADER_SIZE, data, size);
    /* A unique temporary renamed into place: concurrent writers never share a file and a
     * reader sees either a whole entry or none. */
    status = cls_write_file_atomic(path, file, HEADER_SIZE + size);
fail:
    free(file);
    return status;
}
