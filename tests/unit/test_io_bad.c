/* Bad input: every file of the corrupt, truncated and hostile corpus (its MANIFEST says the
 * status and a message substring), unreadable paths, and the pixel limit.
 * usage: test_io_bad BAD_IMAGES_DIR TMP_PARENT_DIR */
#include "check.h"
#include "io/io.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *bad_dir;
static char tmp[4096];

static cls_status status_named(const char *name)
{
    static const struct {
        const char *name;
        cls_status status;
    } known[] = {
        {"CLS_OK", CLS_OK},
        {"CLS_ERR_IO", CLS_ERR_IO},
        {"CLS_ERR_IMAGE_FORMAT", CLS_ERR_IMAGE_FORMAT},
        {"CLS_ERR_IMAGE_TOO_LARGE", CLS_ERR_IMAGE_TOO_LARGE},
    };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strcmp(known[i].name, name) == 0)
            return known[i].status;
    fprintf(stderr, "MANIFEST: unknown status %s\n", name);
    return (cls_status)1;
}

/* One MANIFEST line: file, status, message substring (for CLS_OK: WxH). */
static void check_case(char *line)
{
    char *file = strtok(line, "\t\n");
    char *status = strtok(NULL, "\t\n");
    char *message = strtok(NULL, "\n");
    CHECK(file && status && message);
    if (!file || !status || !message)
        return;
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", bad_dir, file);
    cls_image image;
    cls_status want = status_named(status);
    cls_status got = cls_image_read(path, NULL, &image);
    printf("  %-36s %s\n", file, got == CLS_OK ? "ok" : cls_last_error());
    CHECK_STATUS(got, want);
    if (got == CLS_OK) {
        char size[64];
        snprintf(size, sizeof size, "%dx%d", image.width, image.height);
        CHECK_CONTAINS(size, message);
    } else {
        CHECK_CONTAINS(cls_last_error(), message);
        CHECK_CONTAINS(cls_last_error(), file);
        CHECK(image.pixels == NULL && image.width == 0);
    }
    cls_image_free(&image);
}

static void test_corpus(void)
{
    CHECK(check_manifest(bad_dir, check_case) >= 40);
}

static void test_unreadable(void)
{
    cls_image image;
    char path[4200];
    snprintf(path, sizeof path, "%s/no-such-file.png", tmp);
    CHECK_STATUS(cls_image_read(path, NULL, &image), CLS_ERR_IO);
    CHECK_CONTAINS(cls_last_error(), path);
    CHECK_CONTAINS(cls_last_error(), "No such file or directory");
    CHECK_STATUS(cls_image_read(tmp, NULL, &image), CLS_ERR_IO);
    CHECK_CONTAINS(cls_last_error(), "not a regular file");
    CHECK(image.pixels == NULL);
}

/* A small image is refused under a smaller limit, by both decoders, before decoding; at
 * exactly the limit it is read. */
static void test_pixel_limit(void)
{
    cls_image image;
    CHECK_STATUS(cls_image_alloc(&image, 6, 4), CLS_OK);
    static const char *names[] = {"limit.png", "limit.jpg"};
    for (int i = 0; i < 2; i++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", tmp, names[i]);
        CHECK_STATUS(cls_image_write(path, &image, NULL), CLS_OK);
        cls_read_options options = cls_read_options_default();
        CHECK(options.max_pixels == 100000000);
        options.max_pixels = 23;
        cls_image back;
        CHECK_STATUS(cls_image_read(path, &options, &back), CLS_ERR_IMAGE_TOO_LARGE);
        CHECK_CONTAINS(cls_last_error(), "6x4 is 24 pixels, over the limit of 23");
        options.max_pixels = 24;
        CHECK_STATUS(cls_image_read(path, &options, &back), CLS_OK);
        cls_image_free(&back);
        unlink(path);
    }
    cls_image_free(&image);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s BAD_IMAGES_DIR TMP_PARENT_DIR\n", argv[0]);
        return 2;
    }
    bad_dir = argv[1];
    snprintf(tmp, sizeof tmp, "%s/io-bad-test-XXXXXX", argv[2]);
    if (!mkdtemp(tmp)) {
        perror("mkdtemp");
        return 2;
    }
    RUN(test_corpus);
    RUN(test_unreadable);
    RUN(test_pixel_limit);
    CHECK(rmdir(tmp) == 0);
    return check_report();
}
