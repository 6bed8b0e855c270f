/* libFuzzer target: PNG files through cls_image_decode, the decoder behind the CLI's image
 * reading (libpng, colour transforms, eXIf orientation, alpha compositing). Mutations get
 * their chunk CRCs recomputed (most of the time), or libpng would refuse nearly all of them
 * at the first chunk touched. */
#include "io/io.h"

#include <string.h>
#include <zlib.h>

/* Small enough that a hostile header cannot make a run allocate gigabytes (4 Mpx of floats
 * is 48 MiB); the same check guards the CLI's default of 100 Mpx. */
enum { MAX_PIXELS = 1 << 22 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed);

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Rewrites the CRC of every complete chunk after the signature. */
static void fix_crcs(uint8_t *data, size_t size)
{
    for (size_t pos = 8; size - pos >= 12;) {
        uint32_t length = be32(data + pos);
        if (length > size - pos - 12)
            return;
        uLong crc = crc32(crc32(0L, Z_NULL, 0), data + pos + 4, (uInt)length + 4);
        uint8_t *out = data + pos + 8 + length;
        out[0] = (uint8_t)(crc >> 24);
        out[1] = (uint8_t)(crc >> 16);
        out[2] = (uint8_t)(crc >> 8);
        out[3] = (uint8_t)crc;
        pos += 12 + (size_t)length;
    }
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
    size = LLVMFuzzerMutate(data, size, max_size);
    if (seed % 8 != 0 && size >= 8) /* one mutation in 8 keeps its CRCs as they came out */
        fix_crcs(data, size);
    return size;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t magic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (size < sizeof magic || memcmp(data, magic, sizeof magic) != 0)
        return 0; /* fuzz_jpeg has the other format; the dispatch is trivial */
    bool had_alpha = false;
    cls_read_options options = cls_read_options_default();
    options.max_pixels = MAX_PIXELS;
    options.had_alpha = &had_alpha;
    cls_image image;
    if (cls_image_decode(data, size, "fuzz.png", &options, &image) == CLS_OK)
        cls_image_free(&image);
    else
        (void)strlen(cls_last_error());
    return 0;
}
