/* Weight dtypes: element sizes, names, and exact conversions between float32 and the 16-bit
 * formats (IEEE half, bfloat16), from little-endian bytes. */
#ifndef CLS_WEIGHTS_WEIGHTS_DTYPE_H
#define CLS_WEIGHTS_WEIGHTS_DTYPE_H

#include "weights/weights.h"

size_t cls_dtype_size(cls_dtype dtype);      /* 4 or 2 */
const char *cls_dtype_name(cls_dtype dtype); /* "F32", "F16", "BF16" as safetensors spells them */

float cls_f16_to_f32(uint16_t h);  /* exact, subnormals, infinities and NaN payloads kept */
float cls_bf16_to_f32(uint16_t b); /* exact */
uint16_t cls_f32_to_f16(float f);  /* round to nearest even, as torch's .half() */
uint16_t cls_f32_to_bf16(float f); /* round to nearest even, NaN stays NaN */

/* Converts count little-endian elements of dtype at src to float32. */
void cls_dtype_decode(cls_dtype dtype, const uint8_t *src, size_t count, float *dst);

#endif
