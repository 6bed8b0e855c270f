/* PNG reading and writing: every colour type and bit depth (files made here with libpng),
 * Adam7, 16-bit precision, alpha and tRNS over white, eXIf orientation, write round trips.
 * usage: test_io_png TMP_PARENT_DIR */
#include "check.h"
#include "io/io.h"
#include "io/io_internal.h"

#include <math.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>
#include <zlib.h>

static char tmp[4096];

/* A PNG to write: samples holds width * channels values per row, each below 2^depth. */
typedef struct png_spec {
    int width, height, depth, color_type, interlace;
    const uint16_t *samples;
    const png_color *palette;
    int palette_size;
    const png_byte *trns; /* palette alpha */
    int trns_count;
    const png_color_16 *trns_color; /* gray or RGB colour that is transparent */
    const png_byte *exif;
    int exif_size;
} png_spec;

/* A non-interlaced spec without palette, tRNS or eXIf. */
static png_spec spec_of(int width, int height, int depth, int color_type, const uint16_t *samples)
{
    png_spec s;
    memset(&s, 0, sizeof s);
    s.width = width, s.height = height, s.depth = depth, s.color_type = color_type;
    s.samples = samples;
    return s;
}

static int channels_of(int color_type)
{
    switch (color_type) {
    case PNG_COLOR_TYPE_GRAY_ALPHA: return 2;
    case PNG_COLOR_TYPE_RGB: return 3;
    case PNG_COLOR_TYPE_RGB_ALPHA: return 4;
    default: return 1;
    }
}

/* One row of samples packed as PNG stores them: bits MSB first below 8, big-endian at 16. */
static void pack_row(const png_spec *s, const uint16_t *in, png_byte *out)
{
    int n = s->width * channels_of(s->color_type);
    if (s->depth < 8)
        memset(out, 0, (size_t)(n * s->depth + 7) / 8);
    for (int i = 0; i < n; i++) {
        if (s->depth == 16) {
            out[2 * i] = (png_byte)(in[i] >> 8);
            out[2 * i + 1] = (png_byte)in[i];
        } else if (s->depth == 8) {
            out[i] = (png_byte)in[i];
        } else {
            int bit = i * s->depth;
            out[bit / 8] |= (png_byte)(in[i] << (8 - s->depth - bit % 8));
        }
    }
}

static void set_chunks(png_structp png, png_infop info, const png_spec *s)
{
    png_set_IHDR(png, info, (png_uint_32)s->width, (png_uint_32)s->height, s->depth, s->color_type,
                 s->interlace, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (s->palette)
        png_set_PLTE(png, info, s->palette, s->palette_size);
    if (s->trns || s->trns_color)
        png_set_tRNS(png, info, s->trns, s->trns_count, s->trns_color);
    if (s->exif)
        png_set_eXIf_1(png, info, (png_uint_32)s->exif_size, (png_bytep)s->exif);
}

static bool write_png(const char *path, const png_spec *s)
{
    FILE *volatile f = fopen(path, "wb");
    png_byte *volatile row = malloc((size_t)s->width * 8);
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    bool ok = false;
    if (!f || !row || !info || setjmp(png_jmpbuf(png)))
        goto done;
    png_init_io(png, f);
    set_chunks(png, info, s);
    png_write_info(png, info);
    int passes = png_set_interlace_handling(png);
    int n = s->width * channels_of(s->color_type);
    for (int pass = 0; pass < passes; pass++) {
        for (int y = 0; y < s->height; y++) {
            pack_row(s, s->samples + (size_t)y * n, row);
            png_write_row(png, row);
        }
    }
    png_write_end(png, info);
    ok = true;
done:
    png_destroy_write_struct(&png, &info);
    free(row);
    if (f)
        fclose(f);
    return ok;
}

static void tmp_path(char *buf, size_t size, const char *name)
{
    snprintf(buf, size, "%s/%s", tmp, name);
}

static uint32_t rng_state = 12345;
static uint32_t rng(void)
{
    rng_state = rng_state * 1664525u + 1013904223u;
    return rng_state >> 8;
}

/* The colour and alpha (0..1) the spec says pixel i has. */
static void expected_pixel(const png_spec *s, size_t i, double rgb[3], double *alpha)
{
    int ch = channels_of(s->color_type);
    const uint16_t *p = s->samples + i * ch;
    double max = (double)((1 << s->depth) - 1);
    *alpha = 1.0;
    if (s->color_type == PNG_COLOR_TYPE_PALETTE) {
        png_color c = s->palette[p[0]];
        rgb[0] = c.red, rgb[1] = c.green, rgb[2] = c.blue;
        if (p[0] < s->trns_count)
            *alpha = s->trns[p[0]] / 255.0;
        return;
    }
    bool color = s->color_type & PNG_COLOR_MASK_COLOR;
    for (int c = 0; c < 3; c++)
        rgb[c] = p[color ? c : 0] * 255.0 / max;
    if (s->color_type & PNG_COLOR_MASK_ALPHA)
        *alpha = p[color ? 3 : 1] / max;
    if (s->trns_color) {
        const png_color_16 *t = s->trns_color;
        bool match =
            color ? p[0] == t->red && p[1] == t->green && p[2] == t->blue : p[0] == t->gray;
        if (match)
            *alpha = 0.0;
    }
}

/* Writes spec, reads it back and compares every pixel with alpha composited over white. */
static void check_round_trip(const char *name, const png_spec *s)
{
    char path[4200];
    tmp_path(path, sizeof path, name);
    CHECK(write_png(path, s));
    cls_image image;
    bool had_alpha = true, want_alpha = false;
    cls_read_options options = cls_read_options_default();
    options.had_alpha = &had_alpha;
    CHECK_STATUS(cls_image_read(path, &options, &image), CLS_OK);
    CHECK(image.width == s->width && image.height == s->height);
    double worst = 0.0;
    for (size_t i = 0; image.pixels && i < (size_t)s->width * s->height; i++) {
        double rgb[3], a;
        expected_pixel(s, i, rgb, &a);
        want_alpha |= a < 1.0;
        for (int c = 0; c < 3; c++)
            worst = fmax(worst, fabs(image.pixels[3 * i + c] - (a * rgb[c] + (1 - a) * 255.0)));
    }
    if (worst > 1e-3)
        fprintf(stderr, "%s: off by %g\n", name, worst);
    CHECK(worst <= 1e-3);
    CHECK(had_alpha == want_alpha);
    cls_image_free(&image);
    unlink(path);
}

static void random_samples(uint16_t *samples, size_t n, int depth, int below)
{
    for (size_t i = 0; i < n; i++)
        samples[i] = (uint16_t)(rng() % (below ? (uint32_t)below : 1u << depth));
}

enum { W = 13, H = 7 };

static void test_every_colour_type_and_depth(void)
{
    static const struct {
        int color_type, depths[5];
    } kinds[] = {
        {PNG_COLOR_TYPE_GRAY, {1, 2, 4, 8, 16}}, {PNG_COLOR_TYPE_GRAY_ALPHA, {8, 16}},
        {PNG_COLOR_TYPE_RGB, {8, 16}},           {PNG_COLOR_TYPE_RGB_ALPHA, {8, 16}},
        {PNG_COLOR_TYPE_PALETTE, {1, 2, 4, 8}},
    };
    png_color palette[256];
    for (int i = 0; i < 256; i++)
        palette[i] = (png_color){(png_byte)rng(), (png_byte)rng(), (png_byte)rng()};
    uint16_t samples[W * H * 4];
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        for (int d = 0; d < 5 && kinds[k].depths[d]; d++) {
            for (int interlace = 0; interlace < 2; interlace++) {
                png_spec s = spec_of(W, H, kinds[k].depths[d], kinds[k].color_type, samples);
                s.interlace = interlace;
                int palette_size = 1 << (s.depth < 8 ? s.depth : 8);
                if (s.color_type == PNG_COLOR_TYPE_PALETTE)
                    s.palette = palette, s.palette_size = palette_size;
                random_samples(samples, (size_t)W * H * channels_of(s.color_type), s.depth,
                               s.palette ? palette_size : 0);
                char name[64];
                snprintf(name, sizeof name, "type%d_depth%d_%s.png", s.color_type, s.depth,
                         interlace ? "adam7" : "plain");
                check_round_trip(name, &s);
            }
        }
    }
}

static void test_palette_with_trns(void)
{
    png_color palette[4] = {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {10, 20, 30}};
    png_byte trns[3] = {0, 128, 255}; /* entry 3 has none: opaque */
    uint16_t samples[W * H];
    random_samples(samples, W * H, 2, 4);
    samples[0] = 0, samples[1] = 1, samples[2] = 3;
    png_spec s = spec_of(W, H, 2, PNG_COLOR_TYPE_PALETTE, samples);
    s.palette = palette, s.palette_size = 4, s.trns = trns, s.trns_count = 3;
    check_round_trip("palette_trns.png", &s);
    s.interlace = PNG_INTERLACE_ADAM7;
    check_round_trip("palette_trns_adam7.png", &s);
}

static void test_trns_colour(void)
{
    uint16_t gray[W * H], rgb[W * H * 3];
    random_samples(gray, W * H, 8, 4);
    random_samples(rgb, W * H * 3, 16, 3);
    png_color_16 gray_key = {.gray = 2}, rgb_key = {.red = 1, .green = 2, .blue = 0};
    rgb[0] = 1, rgb[1] = 2, rgb[2] = 0;
    png_spec g = spec_of(W, H, 8, PNG_COLOR_TYPE_GRAY, gray);
    g.trns_color = &gray_key;
    check_round_trip("gray_trns.png", &g);
    png_spec c = spec_of(W, H, 16, PNG_COLOR_TYPE_RGB, rgb);
    c.trns_color = &rgb_key;
    check_round_trip("rgb16_trns.png", &c);
}

/* 1000 of 65535 is 3.8911, not the 4 an 8-bit detour would give; alpha 0 is white, black at
 * half alpha is halfway to white. */
static void test_16bit_precision_and_alpha(void)
{
    uint16_t samples[4 * 2] = {1000, 65535, 65535, 65535, 1000, 0, 0, 32768};
    png_spec s = spec_of(2, 2, 16, PNG_COLOR_TYPE_GRAY_ALPHA, samples);
    char path[4200];
    tmp_path(path, sizeof path, "precision.png");
    CHECK(write_png(path, &s));
    cls_image image;
    bool had_alpha = false;
    cls_read_options options = cls_read_options_default();
    options.had_alpha = &had_alpha;
    CHECK_STATUS(cls_image_read(path, &options, &image), CLS_OK);
    CHECK(had_alpha);
    double v = 1000.0 * 255.0 / 65535.0;
    double half = 32768.0 / 65535.0;
    CHECK(fabs(image.pixels[0] - v) < 1e-4 && fabs(image.pixels[2] - v) < 1e-4);
    CHECK(fabs(image.pixels[3] - 255.0) < 1e-4);
    CHECK(fabs(image.pixels[6] - 255.0) < 1e-4);              /* 1000 at alpha 0: white */
    CHECK(fabs(image.pixels[9] - (1 - half) * 255.0) < 1e-3); /* black at half: grey */
    cls_image_free(&image);
    unlink(path);
}

/* A 3x2 image whose eXIf chunk says orientation 6: read as 2x3, rotated clockwise. */
static void test_exif_chunk(void)
{
    uint16_t samples[6] = {0, 1, 2, 3, 4, 5};
    static const png_byte exif[] = {'M', 'M', 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3,
                                    0,   0,   0, 1,  0, 6, 0, 0, 0, 0, 0,    0,    0, 0};
    png_spec s = spec_of(3, 2, 8, PNG_COLOR_TYPE_GRAY, samples);
    s.exif = exif, s.exif_size = sizeof exif;
    char path[4200];
    tmp_path(path, sizeof path, "exif.png");
    CHECK(write_png(path, &s));
    cls_image image;
    CHECK_STATUS(cls_image_read(path, NULL, &image), CLS_OK);
    CHECK(image.width == 2 && image.height == 3);
    /* stored rows (0 1 2) (3 4 5) rotated 90 clockwise: (3 0) (4 1) (5 2) */
    static const int want[6] = {3, 0, 4, 1, 5, 2};
    for (int i = 0; image.pixels && i < 6; i++)
        CHECK(image.pixels[3 * i] == want[i]);
    cls_image_free(&image);
    unlink(path);
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8),
    p[3] = (uint8_t)v;
}

static long peak_rss_kib(void)
{
    struct rusage u;
    return getrusage(RUSAGE_SELF, &u) == 0 ? u.ru_maxrss : 0;
}

/* Found by fuzzing: libpng kept every text chunk decompressed, so 100 zTXt chunks of 15 KB,
 * each inflating to 15 MB of text, cost 1.5 GB and 11 s to read a 1.5 MB file. Text is
 * never used and must be skipped: the image reads with its peak memory nearly unchanged. */
static void test_text_chunk_bomb(void)
{
    uint16_t samples[6] = {0, 1, 2, 3, 4, 5};
    png_spec s = spec_of(3, 2, 8, PNG_COLOR_TYPE_GRAY, samples);
    char path[4200];
    tmp_path(path, sizeof path, "text_bomb.png");
    CHECK(write_png(path, &s));
    cls_bytes file = {0};
    CHECK_STATUS(cls_read_file_bytes(path, &file), CLS_OK);
    unlink(path);
    /* zTXt: keyword, NUL, method 0, zlib data of 15 MiB of 'a'. */
    const size_t text_size = (size_t)15 << 20;
    uint8_t *text = malloc(text_size);
    uLongf packed_size = compressBound(text_size);
    uint8_t *chunk = malloc(12 + 9 + packed_size);
    const int chunks = 100;
    uint8_t *bomb = NULL;
    if (!text || !chunk || !file.data)
        goto done;
    memset(text, 'a', text_size);
    CHECK(compress2(chunk + 8 + 9, &packed_size, text, text_size, 9) == Z_OK);
    const size_t data_size = 9 + packed_size, chunk_size = 12 + data_size;
    put_be32(chunk, (uint32_t)data_size);
    memcpy(chunk + 4, "zTXtComment\0\0", 4 + 9);
    put_be32(chunk + 8 + data_size, (uint32_t)crc32(0, chunk + 4, (uInt)(4 + data_size)));
    const size_t iend = file.size - 12, size = file.size + chunks * chunk_size;
    bomb = malloc(size);
    if (!bomb)
        goto done;
    memcpy(bomb, file.data, iend);
    for (int i = 0; i < chunks; i++)
        memcpy(bomb + iend + i * chunk_size, chunk, chunk_size);
    memcpy(bomb + size - 12, file.data + iend, 12);
    const long before = peak_rss_kib();
    cls_image image;
    cls_read_options options = cls_read_options_default();
    CHECK_STATUS(cls_image_decode(bomb, size, "text_bomb.png", &options, &image), CLS_OK);
    CHECK(image.width == 3 && image.height == 2);
    const long grown = peak_rss_kib() - before;
    printf("  %d zTXt chunks of %zu bytes (15 MiB of text each): peak memory grew %ld KiB\n",
           chunks, chunk_size, grown);
    CHECK(grown < 64 * 1024);
    cls_image_free(&image);
done:
    free(bomb);
    free(chunk);
    free(text);
    cls_bytes_free(&file);
}

static void test_write_round_trips(void)
{
    cls_image image;
    CHECK_STATUS(cls_image_alloc(&image, 17, 9), CLS_OK);
    for (size_t i = 0; i < 17 * 9 * 3; i++)
        image.pixels[i] = (float)(rng() % 25600) / 100.0f;
    float special[] = {-3.0f, 300.0f, 127.5f, NAN, 254.6f, 0.49f};
    memcpy(image.pixels, special, sizeof special);
    char path[4200];
    tmp_path(path, sizeof path, "round_trip.PNG");
    for (int depth = 8; depth <= 16; depth += 8) {
        cls_write_options options = cls_write_options_default();
        options.png_depth = depth;
        CHECK_STATUS(cls_image_write(path, &image, &options), CLS_OK);
        cls_image back;
        CHECK_STATUS(cls_image_read(path, NULL, &back), CLS_OK);
        CHECK(back.width == 17 && back.height == 9);
        double worst = 0.0;
        for (size_t i = 0; back.pixels && i < 17 * 9 * 3; i++) {
            float v = image.pixels[i];
            double clamped = isnan(v) ? 0.0 : fmin(fmax(v, 0.0), 255.0);
            double want = depth == 8 ? floor(clamped + 0.5) : clamped;
            worst = fmax(worst, fabs(back.pixels[i] - want));
        }
        CHECK(worst <= (depth == 8 ? 1e-4 : 0.5 * 255.0 / 65535.0 + 1e-4));
        if (depth == 8 && back.pixels) {
            CHECK(back.pixels[0] == 0.0f && back.pixels[1] == 255.0f);
            CHECK(back.pixels[2] == 128.0f && back.pixels[3] == 0.0f);
            CHECK(back.pixels[4] == 255.0f && back.pixels[5] == 0.0f);
        }
        cls_image_free(&back);
    }
    unlink(path);
    cls_image_free(&image);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s TMP_PARENT_DIR\n", argv[0]);
        return 2;
    }
    snprintf(tmp, sizeof tmp, "%s/io-png-test-XXXXXX", argv[1]);
    if (!mkdtemp(tmp)) {
        perror("mkdtemp");
        return 2;
    }
    RUN(test_every_colour_type_and_depth);
    RUN(test_palette_with_trns);
    RUN(test_trns_colour);
    RUN(test_16bit_precision_and_alpha);
    RUN(test_exif_chunk);
    RUN(test_text_chunk_bomb);
    RUN(test_write_round_trips);
    CHECK(rmdir(tmp) == 0); /* fails when a test left a file behind */
    return check_report();
}
