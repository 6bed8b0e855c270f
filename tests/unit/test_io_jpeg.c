/* JPEG reading and writing: the committed baseline, progressive, grayscale, CMYK and EXIF
 * orientation files (tests/tools/make_test_images.py), YCCK and plain CMYK made here with
 * libjpeg, quality and chroma subsampling of written files, the EXIF reader on raw blocks.
 * usage: test_io_jpeg IMAGES_DIR TMP_PARENT_DIR */
#include "check.h"
#include "io/io_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jpeglib.h>

static const char *images;
static char tmp[4096];

/* The committed pattern: 3 x 2 blocks of 16x16, one colour each. */
enum { BLOCK = 16 };
static const float pattern[6][3] = {{255, 0, 0},   {0, 255, 0},   {0, 0, 255},
                                    {255, 255, 0}, {255, 0, 255}, {255, 255, 255}};

static void image_path(char *buf, size_t size, const char *name)
{
    snprintf(buf, size, "%s/%s", images, name);
}

/* The largest difference between the mean of each block's central 8x8 and its colour. */
static double block_error(const cls_image *image, const float colors[6][3])
{
    double worst = 0.0;
    for (int b = 0; b < 6; b++) {
        int x0 = (b % 3) * BLOCK + 4, y0 = (b / 3) * BLOCK + 4;
        for (int c = 0; c < 3; c++) {
            double sum = 0.0;
            for (int y = y0; y < y0 + 8; y++)
                for (int x = x0; x < x0 + 8; x++)
                    sum += image->pixels[((size_t)y * image->width + x) * 3 + c];
            worst = fmax(worst, fabs(sum / 64.0 - colors[b][c]));
        }
    }
    return worst;
}

static void check_pattern_file(const char *name, const float colors[6][3], double tolerance)
{
    char path[4200];
    image_path(path, sizeof path, name);
    cls_image image;
    bool had_alpha = true;
    cls_read_options options = cls_read_options_default();
    options.had_alpha = &had_alpha;
    CHECK_STATUS(cls_image_read(path, &options, &image), CLS_OK);
    CHECK(!had_alpha);
    CHECK(image.width == 3 * BLOCK && image.height == 2 * BLOCK);
    if (image.pixels && image.width == 3 * BLOCK && image.height == 2 * BLOCK) {
        double error = block_error(&image, colors);
        if (error > tolerance)
            fprintf(stderr, "%s: block colours off by %g\n", name, error);
        CHECK(error <= tolerance);
    }
    cls_image_free(&image);
}

static void test_committed_files(void)
{
    static const float grays[6][3] = {{0, 0, 0},       {50, 50, 50},    {100, 100, 100},
                                      {150, 150, 150}, {200, 200, 200}, {255, 255, 255}};
    /* make_test_images.py's inks through (255 - c)(255 - k) / 255 */
    static const float cmyk[6][3] = {{255, 255, 255}, {0, 255, 255},
                                     {255, 0, 255},   {255, 255, 0},
                                     {155, 155, 155}, {127.0f * 127.0f / 255.0f, 127, 127}};
    check_pattern_file("rgb_baseline.jpg", pattern, 4.0);
    check_pattern_file("rgb_progressive.jpg", pattern, 4.0);
    check_pattern_file("gray.jpg", grays, 2.0);
    check_pattern_file("cmyk.jpg", cmyk, 4.0);
}

/* Every orientation reads back as the upright pattern (48x32). */
static void test_exif_orientation_files(void)
{
    const char *names[] = {"orient_1.jpg", "orient_2.jpg", "orient_3.jpg",
                           "orient_4.jpg", "orient_5.jpg", "orient_6.jpg",
                           "orient_7.jpg", "orient_8.jpg", "orient_6_le.jpg"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        printf("  %s\n", names[i]);
        check_pattern_file(names[i], pattern, 10.0);
    }
}

static void put16(uint8_t *p, bool big, unsigned v)
{
    p[big ? 0 : 1] = (uint8_t)(v >> 8), p[big ? 1 : 0] = (uint8_t)v;
}

static void put32(uint8_t *p, bool big, uint32_t v)
{
    put16(p + (big ? 0 : 2), big, v >> 16), put16(p + (big ? 2 : 0), big, v & 0xffff);
}

/* A TIFF block with IFD0 at 8 holding one entry. */
static size_t tiff_block(uint8_t *out, bool big, unsigned tag, unsigned type, uint32_t count,
                         uint32_t value)
{
    memcpy(out, big ? "MM\0*" : "II*\0", 4);
    put32(out + 4, big, 8);
    put16(out + 8, big, 1);
    put16(out + 10, big, tag);
    put16(out + 12, big, type);
    put32(out + 14, big, count);
    memset(out + 18, 0, 4);
    if (type == 3)
        put16(out + 18, big, value);
    else
        put32(out + 18, big, value);
    put32(out + 22, big, 0);
    return 26;
}

static void test_exif_reader(void)
{
    uint8_t block[64];
    for (int big = 0; big < 2; big++) {
        for (unsigned v = 0; v <= 9; v++) {
            size_t n = tiff_block(block, big, 0x0112, 3, 1, v);
            CHECK(cls_exif_orientation(block, n) == (v >= 1 && v <= 8 ? (int)v : 1));
        }
        size_t n = tiff_block(block, big, 0x0112, 4, 1, 6); /* LONG, as some writers do */
        CHECK(cls_exif_orientation(block, n) == 6);
        n = tiff_block(block, big, 0x0112, 3, 2, 6); /* two values: not an orientation */
        CHECK(cls_exif_orientation(block, n) == 1);
        n = tiff_block(block, big, 0x0110, 3, 1, 6); /* another tag */
        CHECK(cls_exif_orientation(block, n) == 1);
        n = tiff_block(block, big, 0x0112, 3, 1, 6);
        for (size_t cut = 0; cut < 20; cut++) /* the entry's value is at 18..19 */
            CHECK(cls_exif_orientation(block, cut) == 1);
        CHECK(cls_exif_orientation(block, 20) == 6);
        put16(block + 8, big, 0xffff); /* a count far past the end */
        CHECK(cls_exif_orientation(block, n) == 6);
        put16(block + 10, big, 0x0110);
        CHECK(cls_exif_orientation(block, n) == 1);
        put32(block + 4, big, 0xfffffff0u); /* IFD0 past the end */
        CHECK(cls_exif_orientation(block, n) == 1);
        put32(block + 4, big, 0xffffffffu);
        CHECK(cls_exif_orientation(block, n) == 1);
    }
    CHECK(cls_exif_orientation((const uint8_t *)"IM*\0\x08\0\0\0", 8) == 1);
}

/* Writes CMYK samples (as stored) with libjpeg, as YCCK or CMYK, with or without the Adobe
 * marker. */
static bool write_cmyk(const char *path, const uint8_t *samples, int width, int height,
                       J_COLOR_SPACE space, bool adobe)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return false;
    struct jpeg_compress_struct cinfo;
    struct jpeg_error_mgr err;
    cinfo.err = jpeg_std_error(&err); /* exits on error: fine in a test writing known data */
    jpeg_create_compress(&cinfo);
    jpeg_stdio_dest(&cinfo, f);
    cinfo.image_width = (JDIMENSION)width;
    cinfo.image_height = (JDIMENSION)height;
    cinfo.input_components = 4;
    cinfo.in_color_space = JCS_CMYK;
    jpeg_set_defaults(&cinfo);
    jpeg_set_colorspace(&cinfo, space);
    jpeg_set_quality(&cinfo, 98, TRUE);
    for (int c = 0; c < 4; c++)
        cinfo.comp_info[c].h_samp_factor = cinfo.comp_info[c].v_samp_factor = 1;
    cinfo.write_Adobe_marker = adobe;
    jpeg_start_compress(&cinfo, TRUE);
    while (cinfo.next_scanline < cinfo.image_height) {
        JSAMPROW row = (JSAMPROW)samples + (size_t)cinfo.next_scanline * width * 4;
        jpeg_write_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    return fclose(f) == 0;
}

/* Inks per block; Adobe files store 255 - ink, plain ones the ink itself. */
static void test_ycck_and_plain_cmyk(void)
{
    static const uint8_t inks[6][4] = {{0, 0, 0, 0},   {255, 0, 0, 0}, {0, 255, 0, 0},
                                       {0, 0, 255, 0}, {0, 0, 0, 100}, {128, 0, 0, 128}};
    float want[6][3];
    for (int b = 0; b < 6; b++)
        for (int c = 0; c < 3; c++)
            want[b][c] = (255.0f - inks[b][c]) * (255.0f - inks[b][3]) / 255.0f;
    static uint8_t samples[2 * BLOCK][3 * BLOCK][4];
    static const struct {
        const char *name;
        J_COLOR_SPACE space;
        bool adobe;
    } kinds[] = {{"ycck.jpg", JCS_YCCK, true},
                 {"cmyk_adobe.jpg", JCS_CMYK, true},
                 {"cmyk_plain.jpg", JCS_CMYK, false}};
    for (size_t k = 0; k < 3; k++) {
        for (int y = 0; y < 2 * BLOCK; y++)
            for (int x = 0; x < 3 * BLOCK; x++)
                for (int c = 0; c < 4; c++) {
                    uint8_t ink = inks[(y / BLOCK) * 3 + x / BLOCK][c];
                    samples[y][x][c] = kinds[k].adobe ? (uint8_t)(255 - ink) : ink;
                }
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", tmp, kinds[k].name);
        CHECK(write_cmyk(path, &samples[0][0][0], 3 * BLOCK, 2 * BLOCK, kinds[k].space,
                         kinds[k].adobe));
        cls_image image;
        CHECK_STATUS(cls_image_read(path, NULL, &image), CLS_OK);
        if (image.pixels) {
            double error = block_error(&image, want);
            if (error > 3.0)
                fprintf(stderr, "%s: off by %g\n", kinds[k].name, error);
            CHECK(error <= 3.0);
        }
        cls_image_free(&image);
        unlink(path);
    }
}

/* The sampling factor of the first component, from the file's header. */
static int luma_sampling(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    struct jpeg_decompress_struct cinfo;
    struct jpeg_error_mgr err;
    cinfo.err = jpeg_std_error(&err);
    jpeg_create_decompress(&cinfo);
    jpeg_stdio_src(&cinfo, f);
    jpeg_read_header(&cinfo, TRUE);
    int factor = cinfo.comp_info[0].h_samp_factor;
    jpeg_destroy_decompress(&cinfo);
    fclose(f);
    return factor;
}

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* A smooth colour gradient written at several qualities: read back within a tolerance
 * that grows as quality drops, 4:4:4 at 90 and above, 4:2:0 below. */
static void test_write_quality(void)
{
    enum { W = 64, H = 48 };
    cls_image image;
    CHECK_STATUS(cls_image_alloc(&image, W, H), CLS_OK);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            float *p = image.pixels + ((size_t)y * W + x) * 3;
            p[0] = 255.0f * x / (W - 1), p[1] = 255.0f * y / (H - 1);
            p[2] = 128.0f + 100.0f * sinf(x * 0.2f);
        }
    static const struct {
        int quality, sampling;
        double mean_error;
    } cases[] = {{100, 1, 0.8}, {95, 1, 1.2}, {90, 1, 1.5}, {75, 2, 4.0}, {30, 2, 8.0}};
    long last_size = 1L << 30;
    char path[4200];
    snprintf(path, sizeof path, "%s/quality.Jpeg", tmp);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cls_write_options options = cls_write_options_default();
        options.jpeg_quality = cases[i].quality;
        CHECK_STATUS(cls_image_write(path, &image, &options), CLS_OK);
        CHECK(luma_sampling(path) == cases[i].sampling);
        long size = file_size(path);
        CHECK(size > 0 && size < last_size);
        last_size = size;
        cls_image back;
        CHECK_STATUS(cls_image_read(path, NULL, &back), CLS_OK);
        double sum = 0.0;
        for (size_t j = 0; back.pixels && j < (size_t)W * H * 3; j++)
            sum += fabs(back.pixels[j] - cls_sample_to_u8(image.pixels[j]));
        printf("  quality %d: %ld bytes, mean error %.3f\n", cases[i].quality, size,
               sum / (W * H * 3));
        CHECK(sum / (W * H * 3) <= cases[i].mean_error);
        cls_image_free(&back);
    }
    CHECK(cls_write_options_default().jpeg_quality == 95);
    unlink(path);
    cls_image_free(&image);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s IMAGES_DIR TMP_PARENT_DIR\n", argv[0]);
        return 2;
    }
    images = argv[1];
    snprintf(tmp, sizeof tmp, "%s/io-jpeg-test-XXXXXX", argv[2]);
    if (!mkdtemp(tmp)) {
        perror("mkdtemp");
        return 2;
    }
    RUN(test_committed_files);
    RUN(test_exif_orientation_files);
    RUN(test_exif_reader);
    RUN(test_ycck_and_plain_cmyk);
    RUN(test_write_quality);
    CHECK(rmdir(tmp) == 0); /* fails when a test left a file behind */
    return check_report();
}
