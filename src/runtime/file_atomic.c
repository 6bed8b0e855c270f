/* Replacing a file atomically: a uniquely named temporary in the target's directory
 * (".<name>.XXXXXX.tmp"), written, fsync'd and closed, then renamed over the target. */
#include "runtime/file_atomic.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum { NAME_TRIES = 100 };

/* splitmix64: spreads pid, time and a counter over the six random characters. */
static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15u;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebu;
    return x ^ (x >> 31);
}

static uint64_t seed(void)
{
    static atomic_uint counter;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    uint64_t s = (uint64_t)getpid() << 32 ^ atomic_fetch_add(&counter, 1);
    return mix(s ^ mix((uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec));
}

/* Splits path into its directory ("." when none) and file name; false when the file name is
 * empty or the result does not fit. */
static bool split_path(const char *path, char *dir, size_t dir_size, const char **name)
{
    const char *slash = strrchr(path, '/');
    *name = slash ? slash + 1 : path;
    if (**name == '\0')
        return false;
    int n = slash ? snprintf(dir, dir_size, "%.*s", (int)(slash - path + (slash == path)), path)
                  : snprintf(dir, dir_size, ".");
    return n >= 0 && (size_t)n < dir_size;
}

/* Creates a new temporary file next to path (O_EXCL, retried on a name clash). On success
 * *fd is open and tmp holds its name; on failure tmp is empty. */
static cls_status open_temporary(const char *path, char *tmp, size_t size, int *fd)
{
    static const char chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    char dir[4096];
    const char *name;
    tmp[0] = '\0';
    if (!split_path(path, dir, sizeof dir, &name))
        return cls_error(CLS_ERR_INVALID_ARGUMENT, "cannot write %s: not a file name", path);
    int dir_len = (int)(name - path);
    for (int attempt = 0; attempt < NAME_TRIES; attempt++) {
        uint64_t bits = seed();
        char random[7];
        for (int i = 0; i < 6; i++, bits /= 62)
            random[i] = chars[bits % 62];
        random[6] = '\0';
        int n = snprintf(tmp, size, "%.*s.%s.%s.tmp", dir_len, path, name, random);
        if (n < 0 || (size_t)n >= size) {
            tmp[0] = '\0';
            return cls_error(CLS_ERR_IO, "cannot write %s: the path is too long", path);
        }
        *fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (*fd >= 0)
            return CLS_OK;
        if (errno != EEXIST)
            break;
    }
    int saved = errno;
    tmp[0] = '\0';
    return cls_error(CLS_ERR_IO, "cannot write %s: cannot create a file in %s: %s", path, dir,
                     strerror(saved));
}

static bool write_all(int fd, const uint8_t *data, size_t size)
{
    while (size > 0) {
        ssize_t n = write(fd, data, size);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0)
                errno = ENOSPC;
            return false;
        }
        data += n;
        size -= (size_t)n;
    }
    return true;
}

/* A replaced file keeps its permission bits; a new one gets 0666 less the umask. */
static void keep_mode(int fd, const char *path)
{
    struct stat st;
    if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
        (void)fchmod(fd, st.st_mode & 07777);
}

/* Makes the rename itself durable; a failure here cannot be undone, so it is not reported. */
static void sync_directory(const char *path)
{
    char dir[4096];
    const char *name;
    if (!split_path(path, dir, sizeof dir, &name))
        return;
    int fd = open(dir, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

cls_status cls_write_file_atomic(const char *path, const void *data, size_t size)
{
    cls_status status = CLS_OK;
    char tmp[4400];
    int fd = -1;
    CLS_TRY(open_temporary(path, tmp, sizeof tmp, &fd));
    keep_mode(fd, path);
    if (!write_all(fd, data, size) || fsync(fd) != 0) {
        status = cls_error(CLS_ERR_IO, "cannot write %s: %s", path, strerror(errno));
        goto fail;
    }
    int closed = close(fd);
    fd = -1;
    if (closed != 0) {
        status = cls_error(CLS_ERR_IO, "cannot write %s: %s", path, strerror(errno));
        goto fail;
    }
    if (rename(tmp, path) != 0) {
        status = cls_error(CLS_ERR_IO, "cannot write %s: %s", path, strerror(errno));
        goto fail;
    }
    sync_directory(path);
    return CLS_OK;
fail:
    if (fd >= 0)
        close(fd);
    if (tmp[0])
        unlink(tmp);
    return status;
}

cls_status cls_probe_directory_writable(const char *path)
{
    char tmp[4400];
    int fd = -1;
    cls_status status = open_temporary(path, tmp, sizeof tmp, &fd);
    if (status != CLS_OK)
        return status;
    close(fd);
    unlink(tmp);
    return CLS_OK;
}
