/* The training dataset reader: file order (sorted, recursive, symlinked folders skipped),
 * torchvision's Resize + CenterCrop, batches and the short last one, shuffling, skipped files
 * and their warnings, empty and all-broken folders, closing mid-epoch. Makes its images in a
 * temporary directory. */
#include "check.h"
#include "io/io.h"
#include "train/dataset.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char root[256];

static void path_of(char *out, size_t size, const char *rel)
{
    snprintf(out, size, "%s/%s", root, rel);
}

static void make_dir(const char *rel)
{
    char path[512];
    path_of(path, sizeof path, rel);
    CHECK(mkdir(path, 0700) == 0);
}

static void write_bytes(const char *rel, const char *bytes, size_t size)
{
    char path[512];
    path_of(path, sizeof path, rel);
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (f) {
        CHECK(fwrite(bytes, 1, size, f) == size);
        fclose(f);
    }
}

/* An image whose pixel (x, y) is fn(x, y). */
typedef void (*pixel_fn)(int x, int y, float rgb[3], int param);

static void write_image(const char *rel, int w, int h, pixel_fn fn, int param)
{
    char path[512];
    cls_image im;
    path_of(path, sizeof path, rel);
    CHECK_STATUS(cls_image_alloc(&im, w, h), CLS_OK);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            fn(x, y, im.pixels + ((size_t)y * w + x) * 3, param);
    cls_write_options o = cls_write_options_default();
    CHECK_STATUS(cls_image_write(path, &im, &o), CLS_OK);
    cls_image_free(&im);
}

/* Uniform: R = param, G = 100, B = 255 - param. */
static void uniform(int x, int y, float rgb[3], int param)
{
    (void)x, (void)y;
    rgb[0] = (float)param, rgb[1] = 100.0f, rgb[2] = (float)(255 - param);
}

/* Three vertical bands of a 32-wide image: red below x 8, green to x 24, blue after. */
static void bands(int x, int y, float rgb[3], int param)
{
    (void)y, (void)param;
    rgb[0] = x < 8 ? 255.0f : 0.0f;
    rgb[1] = x >= 8 && x < 24 ? 255.0f : 0.0f;
    rgb[2] = x >= 24 ? 255.0f : 0.0f;
}

/* R says the row: 10 * y. */
static void rows(int x, int y, float rgb[3], int param)
{
    (void)x, (void)param;
    rgb[0] = (float)(10 * y), rgb[1] = 50.0f, rgb[2] = 60.0f;
}

static void remove_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        DIR *dir = opendir(path);
        struct dirent *e;
        while (dir && (e = readdir(dir)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            char child[1024];
            snprintf(child, sizeof child, "%s/%s", path, e->d_name);
            remove_tree(child);
        }
        if (dir)
            closedir(dir);
        rmdir(path);
    } else {
        unlink(path);
    }
}

typedef struct warnings {
    int count;
    char text[8][1024];
} warnings;

static void on_warn(void *user, const char *message)
{
    warnings *w = user;
    if (w->count < 8)
        snprintf(w->text[w->count], sizeof w->text[0], "%s", message);
    w->count++;
}

static cls_dataset_params params_of(const char *rel, int size, int batch, warnings *w)
{
    static char dir[512];
    path_of(dir, sizeof dir, rel);
    cls_dataset_params p;
    memset(&p, 0, sizeof p);
    p.dir = dir;
    p.image_size = size;
    p.batch_size = batch;
    p.warn = on_warn;
    p.warn_user = w;
    return p;
}

static float at(const float *batch, int size, int n, int c, int y, int x)
{
    return batch[(((size_t)n * 3 + c) * size + y) * size + x];
}

/* Every value of plane c of image n is within tol of want. */
static bool plane_is(const float *batch, int size, int n, int c, float want, float tol)
{
    for (int y = 0; y < size; y++)
        for (int x = 0; x < size; x++)
            if (fabsf(at(batch, size, n, c, y, x) - want) > tol)
                return false;
    return true;
}

/* order/: nested folders, both extensions in several cases, a broken file, a text file and a
 * symlink to a folder (not followed). The R of each image says its place in sorted order. */
static void make_order_dir(void)
{
    make_dir("order");
    make_dir("order/photos");
    make_dir("order/photos/sub");
    make_dir("order/photos-2");
    write_image("order/photos-2/e.png", 12, 9, uniform, 20); /* "photos-2/" < "photos/" */
    write_image("order/photos/B.PNG", 8, 8, uniform, 40);    /* 'B' < 'a' */
    write_image("order/photos/a.png", 5, 30, uniform, 60);   /* upscaled */
    write_bytes("order/photos/broken.png", "not a png at all", 16);
    write_image("order/photos/c.jpg", 16, 16, uniform, 80); /* JPEG: near the colour */
    write_image("order/photos/sub/d.JPEG", 20, 10, uniform, 100);
    write_bytes("order/notes.txt", "hello", 5);
    write_bytes("order/photos/readme", "hello", 5);
    char target[512], link[512];
    path_of(target, sizeof target, "order/photos");
    path_of(link, sizeof link, "order/zz-link");
    CHECK(symlink(target, link) == 0);
    path_of(link, sizeof link, "order/photos/sub/loop");
    CHECK(symlink(target, link) == 0);
}

static void test_order_and_batches(void)
{
    static const int want_r[] = {20, 40, 60, 80, 100};
    const int s = 8;
    warnings w = {0};
    cls_dataset_params p = params_of("order", s, 2, &w);
    cls_dataset *d = NULL;
    CHECK_STATUS(cls_dataset_open(&p, &d), CLS_OK);
    if (!d)
        return;
    CHECK(cls_dataset_file_count(d) == 6);
    float *batch = calloc((size_t)2 * 3 * s * s, sizeof *batch);
    int count = -1;
    CHECK_STATUS(cls_dataset_next_batch(d, batch, &count), CLS_ERR_INVALID_ARGUMENT);
    for (int epoch = 0; epoch < 2; epoch++) {
        CHECK_STATUS(cls_dataset_start_epoch(d, epoch), CLS_OK);
        int seen = 0, batches[4] = {-1, -1, -1, -1};
        for (int b = 0; b < 4; b++) {
            CHECK_STATUS(cls_dataset_next_batch(d, batch, &count), CLS_OK);
            batches[b] = count;
            for (int n = 0; n < count && seen < 5; n++, seen++) {
                float tol = want_r[seen] >= 80 ? 3.0f : 1e-3f; /* JPEGs: near */
                CHECK(plane_is(batch, s, n, 0, (float)want_r[seen], tol));
                CHECK(plane_is(batch, s, n, 1, 100.0f, tol));
                CHECK(plane_is(batch, s, n, 2, (float)(255 - want_r[seen]), tol));
            }
        }
        /* five readable images in batches of 2: 2, 2, 1, then 0 (and 0 again) */
        CHECK(batches[0] == 2 && batches[1] == 2 && batches[2] == 1 && batches[3] == 0);
        CHECK(seen == 5);
        CHECK_STATUS(cls_dataset_next_batch(d, batch, &count), CLS_OK);
        CHECK(count == 0);
    }
    /* the broken file: one warning, naming it and why, over both epochs */
    CHECK(w.count == 1);
    CHECK_CONTAINS(w.text[0], "broken.png");
    CHECK_CONTAINS(w.text[0], "skipped");
    cls_dataset_stats st;
    cls_dataset_get_stats(d, &st);
    CHECK(st.skipped == 1);
    CHECK(st.images == 10);
    CHECK(st.decode_s > 0.0 && st.wait_s >= 0.0);
    cls_dataset_close(d);
    free(batch);
}

/* torchvision's Resize(S) + CenterCrop(S): the shorter side to S, the longer int(S * l / s);
 * crop offsets int(round(diff / 2.0)) with Python's half-to-even rounding. */
static void test_resize_and_crop(void)
{
    const int s = 8;
    make_dir("crop");
    make_dir("crop/a");
    write_image("crop/a/1-bands.png", 32, 16, bands, 0); /* 16x8, crop from x 4: all green */
    write_image("crop/a/2-rows13.png", 8, 13, rows, 0);  /* no resize; top round(2.5) = 2 */
    write_image("crop/a/3-rows15.png", 8, 15, rows, 0);  /* no resize; top round(3.5) = 4 */
    write_image("crop/a/4-small.png", 3, 3, uniform, 7); /* upscaled: stays uniform */
    warnings w = {0};
    cls_dataset_params p = params_of("crop", s, 4, &w);
    cls_dataset *d = NULL;
    CHECK_STATUS(cls_dataset_open(&p, &d), CLS_OK);
    if (!d)
        return;
    float *batch = calloc((size_t)4 * 3 * s * s, sizeof *batch);
    int count = 0;
    CHECK_STATUS(cls_dataset_start_epoch(d, 0), CLS_OK);
    CHECK_STATUS(cls_dataset_next_batch(d, batch, &count), CLS_OK);
    CHECK(count == 4);
    CHECK(plane_is(batch, s, 0, 0, 0.0f, 1e-3f));
    CHECK(plane_is(batch, s, 0, 1, 255.0f, 1e-3f));
    CHECK(plane_is(batch, s, 0, 2, 0.0f, 1e-3f));
    for (int y = 0; y < s; y++) {
        CHECK(at(batch, s, 1, 0, y, 3) == 10.0f * (y + 2));
        CHECK(at(batch, s, 2, 0, y, 5) == 10.0f * (y + 4));
    }
    CHECK(plane_is(batch, s, 1, 1, 50.0f, 0.0f) && plane_is(batch, s, 1, 2, 60.0f, 0.0f));
    CHECK(plane_is(batch, s, 3, 0, 7.0f, 1e-3f) && plane_is(batch, s, 3, 2, 248.0f, 1e-3f));
    CHECK_STATUS(cls_dataset_next_batch(d, batch, &count), CLS_OK);
    CHECK(count == 0);
    CHECK(w.count == 0);
    cls_dataset_close(d);
    free(batch);
}

/* The images' R values, in the order an epoch gives them (batch of all 20). */
static void epoch_order(cls_dataset *d, int epoch, int out[20])
{
    const int s = 4;
    float *batch = calloc((size_t)20 * 3 * s * s, sizeof *batch);
    int count = 0;
    CHECK_STATUS(cls_dataset_start_epoch(d, epoch), CLS_OK);
    CHECK_STATUS(cls_dataset_next_batch(d, batch, &count), CLS_OK);
    CHECK(count == 20);
    for (int i = 0; i < 20; i++)
        out[i] = (int)at(batch, s, i, 0, 0, 0);
    free(batch);
}

static void make_many_dir(void)
{
    make_dir("many");
    make_dir("many/photos");
    for (int i = 0; i < 20; i++) {
        char rel[64];
        snprintf(rel, sizeof rel, "many/photos/%02d.png", i);
        write_image(rel, 6 + i % 3, 5 + i % 4, uniform, 10 * i);
    }
}

static void test_shuffle(void)
{
    int sorted[20], a0[20], a0_again[20], a1[20], b0[20];
    warnings w = {0};
    cls_dataset_params p = params_of("many", 4, 20, &w);
    cls_dataset *d = NULL;
    CHECK_STATUS(cls_dataset_open(&p, &d), CLS_OK);
    if (!d)
        return;
    epoch_order(d, 0, sorted);
    for (int i = 0; i < 20; i++)
        CHECK(sorted[i] == 10 * i);
    cls_dataset_close(d);

    p.shuffle = true;
    p.shuffle_seed = 1;
    CHECK_STATUS(cls_dataset_open(&p, &d), CLS_OK);
    epoch_order(d, 0, a0);
    epoch_order(d, 1, a1);
    cls_dataset_close(d);
    CHECK_STATUS(cls_dataset_open(&p, &d), CLS_OK);
    epoch_order(d, 0, a0_again);
    cls_dataset_close(d);
    p.shuffle_seed = 2;
    CHECK_STATUS(cls_dataset_open(&p, &d), CLS_OK);
    epoch_order(d, 0, b0);
    cls_dataset_close(d);

    CHECK(memcmp(a0, a0_again, sizeof a0) == 0); /* reproducible */
    CHECK(memcmp(a0, a1, sizeof a0) != 0);       /* the epoch changes it */
    CHECK(memcmp(a0, b0, sizeof a0) != 0);       /* the seed changes it */
    CHECK(memcmp(a0, sorted, sizeof a0) != 0);
    bool present[20] = {false};
    for (int i = 0; i < 20; i++)
        if (a0[i] % 10 == 0 && a0[i] / 10 < 20)
            present[a0[i] / 10] = true;
    int all = 0;
    for (int i = 0; i < 20; i++)
        all += present[i];
    CHECK(all == 20); /* a permutation */
    CHECK(w.count == 0);
}

static void test_errors(void)
{
    warnings w = {0};
    cls_dataset *d = NULL;
    cls_dataset_params p = params_of("missing", 8, 2, &w);
    CHECK_STATUS(cls_dataset_open(&p, &d), CLS_ERR_IO);
    CHECK(d == NULL);
    CHECK_CONTAINS(cls_last_error(), "missing");

    make_dir("empty");
    make_dir("empty/photos");
    write_bytes("empty/photos/notes.txt", "x", 1);
    write_bytes("empty/photos/image.gif", "GIF89a", 6);
    p = params_of("empty", 8, 2, &w);
    CHECK_STATUS(cls_dataset_open(&p, &d), CLS_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(cls_last_error(), "empty");
    CHECK_CONTAINS(cls_last_error(), ".jpeg");

    p = params_of("many", 8, 0, &w);
    CHECK_STATUS(cls_dataset_open(&p, &d), CLS_ERR_INVALID_ARGUMENT);
    p = params_of("many", 0, 1, &w);
    CHECK_STATUS(cls_dataset_open(&p, &d), CLS_ERR_INVALID_ARGUMENT);

    /* every file broken: garbage, a truncated PNG, an empty JPEG */
    make_dir("broken");
    write_bytes("broken/x.png", "\x89PNG\r\n\x1a\n garbage", 17);
    write_image("broken/y.png", 16, 16, bands, 0);
    char path[512];
    path_of(path, sizeof path, "broken/y.png");
    CHECK(truncate(path, 40) == 0);
    write_bytes("broken/z.jpg", "", 0);
    p = params_of("broken", 8, 2, &w);
    CHECK_STATUS(cls_dataset_open(&p, &d), CLS_OK);
    if (!d)
        return;
    float batch[2 * 3 * 8 * 8];
    int count = -1;
    for (int epoch = 0; epoch < 2; epoch++) {
        CHECK_STATUS(cls_dataset_start_epoch(d, epoch), CLS_OK);
        CHECK_STATUS(cls_dataset_next_batch(d, batch, &count), CLS_ERR_IMAGE_FORMAT);
        CHECK(count == 0);
        CHECK_CONTAINS(cls_last_error(), "all 3 files of");
        CHECK_CONTAINS(cls_last_error(), "broken failed to decode");
    }
    CHECK(w.count == 3);
    CHECK_CONTAINS(w.text[0], "x.png");
    CHECK_CONTAINS(w.text[1], "y.png");
    CHECK_CONTAINS(w.text[2], "z.jpg");
    cls_dataset_stats st;
    cls_dataset_get_stats(d, &st);
    CHECK(st.skipped == 3 && st.images == 0);
    cls_dataset_close(d);
    cls_dataset_close(NULL);
}

/* Closing at any point: never started, just started, mid-epoch with the queue full, after a
 * restart mid-epoch; none may hang or leak (valgrind and helgrind check the rest). */
static void test_close_anywhere(void)
{
    warnings w = {0};
    cls_dataset_params p = params_of("many", 16, 1, &w);
    p.queue_batches = 1;
    cls_dataset *d = NULL;
    float batch[3 * 16 * 16];
    int count = 0;

    CHECK_STATUS(cls_dataset_open(&p, &d), CLS_OK);
    cls_dataset_close(d);

    CHECK_STATUS(cls_dataset_open(&p, &d), CLS_OK);
    CHECK_STATUS(cls_dataset_start_epoch(d, 0), CLS_OK);
    cls_dataset_close(d);

    CHECK_STATUS(cls_dataset_open(&p, &d), CLS_OK);
    CHECK_STATUS(cls_dataset_start_epoch(d, 0), CLS_OK);
    CHECK_STATUS(cls_dataset_next_batch(d, batch, &count), CLS_OK);
    CHECK(count == 1);
    nanosleep(&(struct timespec){0, 20000000}, NULL); /* the loader fills the queue, waits */
    cls_dataset_close(d);

    p.shuffle = true;
    CHECK_STATUS(cls_dataset_open(&p, &d), CLS_OK);
    CHECK_STATUS(cls_dataset_start_epoch(d, 0), CLS_OK);
    CHECK_STATUS(cls_dataset_next_batch(d, batch, &count), CLS_OK);
    CHECK_STATUS(cls_dataset_start_epoch(d, 1), CLS_OK); /* restarts: a whole new epoch */
    int total = 0;
    do {
        CHECK_STATUS(cls_dataset_next_batch(d, batch, &count), CLS_OK);
        total += count;
    } while (count > 0);
    CHECK(total == 20);
    CHECK_STATUS(cls_dataset_start_epoch(d, 2), CLS_OK);
    CHECK_STATUS(cls_dataset_next_batch(d, batch, &count), CLS_OK);
    cls_dataset_close(d);
    CHECK(w.count == 0);
}

int main(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(root, sizeof root, "%s/clstyle-test-dataset-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(root)) {
        perror("mkdtemp");
        return 1;
    }
    make_order_dir();
    make_many_dir();
    RUN(test_order_and_batches);
    RUN(test_resize_and_crop);
    RUN(test_shuffle);
    RUN(test_errors);
    RUN(test_close_anywhere);
    remove_tree(root);
    return check_report();
}
