/* Writing is atomic: failures leave no file behind and an existing target untouched, disk
 * full (RLIMIT_FSIZE) is CLS_ERR_IO; extensions; cls_image_check_writable.
 * usage: test_io_write TMP_PARENT_DIR */
#include "check.h"
#include "io/io.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmp[4096];
static cls_image image;

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

static void test_extensions(void)
{
    static const char *good[] = {"a.png", "b.PNG",  "c.Png",  "d.jpg",
                                 "e.JPG", "f.jpeg", "g.JPEG", "h.x.png"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        char path[4200];
        tmp_path(path, sizeof path, good[i]);
        CHECK_STATUS(cls_image_check_writable(path), CLS_OK);
        CHECK_STATUS(cls_image_write(path, &image, NULL), CLS_OK);
        cls_image back;
        CHECK_STATUS(cls_image_read(path, NULL, &back), CLS_OK);
        CHECK(back.width == image.width && back.height == image.height);
        cls_image_free(&back);
        unlink(path);
    }
    static const char *bad[] = {"a.gif", "b", "c.png.txt", "d.", ".png/x", "e.jpe"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char path[4200];
        tmp_path(path, sizeof path, bad[i]);
        CHECK_STATUS(cls_image_write(path, &image, NULL), CLS_ERR_INVALID_ARGUMENT);
        CHECK_CONTAINS(cls_last_error(), ".png, .jpg, .jpeg");
        CHECK_STATUS(cls_image_check_writable(path), CLS_ERR_INVALID_ARGUMENT);
    }
    CHECK(entries(tmp) == 0);
}

static void test_bad_options(void)
{
    char path[4200];
    tmp_path(path, sizeof path, "x.png");
    cls_write_options options = cls_write_options_default();
    CHECK(options.png_depth == 8 && options.jpeg_quality == 95);
    options.png_depth = 12;
    CHECK_STATUS(cls_image_write(path, &image, &options), CLS_ERR_INVALID_ARGUMENT);
    options = cls_write_options_default();
    options.jpeg_quality = 0;
    CHECK_STATUS(cls_image_write(path, &image, &options), CLS_ERR_INVALID_ARGUMENT);
    cls_image none = {0};
    CHECK_STATUS(cls_image_write(path, &none, NULL), CLS_ERR_INVALID_ARGUMENT);
    CHECK(entries(tmp) == 0);
}

/* Into a directory that does not exist: CLS_ERR_IO naming the path, nothing created. */
static void test_missing_directory(void)
{
    char path[4200];
    tmp_path(path, sizeof path, "missing/out.png");
    CHECK_STATUS(cls_image_write(path, &image, NULL), CLS_ERR_IO);
    CHECK_CONTAINS(cls_last_error(), path);
    CHECK_CONTAINS(cls_last_error(), "No such file or directory");
    CHECK_STATUS(cls_image_check_writable(path), CLS_ERR_IO);
    CHECK_CONTAINS(cls_last_error(), "No such file or directory");
    CHECK(entries(tmp) == 0);
}

/* A target that is a directory: the write fails at the rename, the directory is intact and
 * the temporary is gone. */
static void test_target_is_directory(void)
{
    char path[4200];
    tmp_path(path, sizeof path, "dir.png");
    CHECK(mkdir(path, 0755) == 0);
    CHECK_STATUS(cls_image_check_writable(path), CLS_ERR_IO);
    CHECK_STATUS(cls_image_write(path, &image, NULL), CLS_ERR_IO);
    CHECK_CONTAINS(cls_last_error(), path);
    CHECK(entries(tmp) == 1);
    CHECK(rmdir(path) == 0);
}

/* A failing write leaves an existing file as it was: wrong extension, bad options, and an
 * unwritable directory (when not running as root, who can write anyway). */
static void test_existing_file_survives(void)
{
    char path[4200];
    tmp_path(path, sizeof path, "keep.png");
    CHECK(write_text(path, "precious"));
    cls_write_options options = cls_write_options_default();
    options.png_depth = 7;
    CHECK_STATUS(cls_image_write(path, &image, &options), CLS_ERR_INVALID_ARGUMENT);
    CHECK(has_text(path, "precious"));

    char sub[4200], target[4300];
    tmp_path(sub, sizeof sub, "readonly");
    snprintf(target, sizeof target, "%s/keep.png", sub);
    CHECK(mkdir(sub, 0755) == 0);
    CHECK(write_text(target, "precious"));
    CHECK(chmod(sub, 0555) == 0);
    if (access(sub, W_OK) != 0) {
        CHECK_STATUS(cls_image_check_writable(target), CLS_ERR_IO);
        CHECK_CONTAINS(cls_last_error(), "Permission denied");
        CHECK_STATUS(cls_image_write(target, &image, NULL), CLS_ERR_IO);
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

    /* a successful write replaces the file and keeps its permission bits */
    CHECK(chmod(path, 0640) == 0);
    CHECK_STATUS(cls_image_write(path, &image, NULL), CLS_OK);
    struct stat st;
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0640);
    CHECK(!has_text(path, "precious"));
    unlink(path);
    CHECK(entries(tmp) == 0);
}

/* Disk full, simulated with a file size limit: write() fails with EFBIG (SIGXFSZ ignored),
 * the status is CLS_ERR_IO with the reason, the old file is intact, no temporary is left. */
static void test_disk_full(void)
{
    cls_image big;
    CHECK_STATUS(cls_image_alloc(&big, 256, 256), CLS_OK);
    uint32_t state = 1;
    for (size_t i = 0; i < 256 * 256 * 3; i++) {
        state = state * 1664525u + 1013904223u;
        big.pixels[i] = (float)(state >> 24);
    }
    char path[4200];
    tmp_path(path, sizeof path, "full.png");
    CHECK(write_text(path, "precious"));
    struct rlimit old;
    CHECK(getrlimit(RLIMIT_FSIZE, &old) == 0);
    struct rlimit small = {4096, old.rlim_max};
    void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
    CHECK(setrlimit(RLIMIT_FSIZE, &small) == 0);
    cls_status status = cls_image_write(path, &big, NULL);
    CHECK(setrlimit(RLIMIT_FSIZE, &old) == 0);
    signal(SIGXFSZ, old_handler);
    CHECK_STATUS(status, CLS_ERR_IO);
    CHECK_CONTAINS(cls_last_error(), path);
    CHECK_CONTAINS(cls_last_error(), strerror(EFBIG));
    CHECK(has_text(path, "precious"));
    CHECK(entries(tmp) == 1);
    unlink(path);
    cls_image_free(&big);
}

/* A relative path (no directory part) writes into the current directory. */
static void test_relative_path(void)
{
    char cwd[4096];
    CHECK(getcwd(cwd, sizeof cwd) != NULL);
    CHECK(chdir(tmp) == 0);
    CHECK_STATUS(cls_image_check_writable("rel.jpg"), CLS_OK);
    CHECK_STATUS(cls_image_write("rel.jpg", &image, NULL), CLS_OK);
    CHECK(access("rel.jpg", F_OK) == 0);
    unlink("rel.jpg");
    CHECK(entries(".") == 0);
    CHECK(chdir(cwd) == 0);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s TMP_PARENT_DIR\n", argv[0]);
        return 2;
    }
    snprintf(tmp, sizeof tmp, "%s/io-write-test-XXXXXX", argv[1]);
    if (!mkdtemp(tmp) || cls_image_alloc(&image, 5, 3) != CLS_OK) {
        perror("setup");
        return 2;
    }
    for (int i = 0; i < 5 * 3 * 3; i++)
        image.pixels[i] = (float)(i * 5);
    RUN(test_extensions);
    RUN(test_bad_options);
    RUN(test_missing_directory);
    RUN(test_target_is_directory);
    RUN(test_existing_file_survives);
    RUN(test_disk_full);
    RUN(test_relative_path);
    cls_image_free(&image);
    CHECK(rmdir(tmp) == 0); /* fails when a test left a file behind */
    return check_report();
}
