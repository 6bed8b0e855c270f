/* Weight dtypes: sizes, names and the float32 <-> float16 / bfloat16 conversions, written
 * out bit by bit so subnormals, infinities and NaN come out exactly. */
#include "weights/weights_dtype.h"

#include <string.h>

size_t cls_dtype_size(cls_dtype dtype)
{
    return dtype == CLS_DTYPE_F32 ? 4 : 2;
}

const char *cls_dtype_name(cls_dtype dtype)
{
    switch (dtype) {
    case CLS_DTYPE_F32: return "F32";
    case CLS_DTYPE_F16: return "F16";
    case CLS_DTYPE_BF16: return "BF16";
    }
    return "?";
}

static float from_bits(uint32_t bits)
{
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

static uint32_t to_bits(float f)
{
    uint32_t bits;
    memcpy(&bits, &f, sizeof bits);
    return bits;
}

float cls_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
    if (exp == 0x1f) /* infinity or NaN, payload kept */
        return from_bits(sign | 0x7f800000 | mant << 13);
    if (exp != 0)
        return from_bits(sign | (exp + 112) << 23 | mant << 13);
    if (mant == 0)
        return from_bits(sign);
    /* Subnormal: mant * 2^-24, normalised for float32. */
    int shift = 0;
    while (!(mant & 0x400)) {
        mant <<= 1;
        shift++;
    }
    return from_bits(sign | (uint32_t)(113 - shift) << 23 | (mant & 0x3ff) << 13);
}

float cls_bf16_to_f32(uint16_t b)
{
    return from_bits((uint32_t)b << 16);
}

/* q plus the rounding of the dropped low `shift` bits of m, to nearest, ties to even. */
static uint32_t round_even(uint32_t q, uint32_t m, int shift)
{
    uint32_t rest = m & ((1u << shift) - 1), half = 1u << (shift - 1);
    return q + (rest > half || (rest == half && (q & 1)));
}

uint16_t cls_f32_to_f16(float f)
{
    uint32_t x = to_bits(f);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
    uint32_t abs = x & 0x7fffffff, e = abs >> 23, mant = abs & 0x7fffff;
    if (abs > 0x7f800000)
        return sign | 0x7e00; /* NaN, as torch writes it */
    if (e >= 143)
        return sign | 0x7c00; /* >= 65536, or infinity */
    if (e >= 113) {
        /* Normal half; a carry out of the mantissa rounds up to infinity correctly. */
        uint32_t q = (e - 112) << 10 | mant >> 13;
        return sign | (uint16_t)round_even(q, mant, 13);
    }
    /* Subnormal half (or zero): units of 2^-24. */
    int shift = 126 - (int)e;
    if (shift > 24)
        return sign;
    uint32_t m = mant | 0x800000;
    return sign | (uint16_t)round_even(m >> shift, m, shift);
}

uint16_t cls_f32_to_bf16(float f)
{
    uint32_t x = to_bits(f);
    if ((x & 0x7fffffff) > 0x7f800000)
        return 0x7fc0; /* NaN, as torch writes it */
    return (uint16_t)(round_even(x >> 16, x, 16));
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

void cls_dtype_decode(cls_dtype dtype, const uint8_t *src, size_t count, float *dst)
{
    switch (dtype) {
    case CLS_DTYPE_F32:
        for (size_t i = 0; i < count; i++)
            dst[i] = from_bits(le32(src + 4 * i));
        break;
    case CLS_DTYPE_F16:
        for (size_t i = 0; i < count; i++)
            dst[i] = cls_f16_to_f32((uint16_t)(src[2 * i] | src[2 * i + 1] << 8));
        break;
    case CLS_DTYPE_BF16:
        for (size_t i = 0; i < count; i++)
            dst[i] = cls_bf16_to_f32((uint16_t)(src[2 * i] | src[2 * i + 1] << 8));
        break;
    }
}
