/* libFuzzer target: safetensors files (8-byte header length, json-c header, offsets) through
 * cls_weights_open and cls_weights_read_f32. */
#include "fuzz_weights.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The PyTorch formats have their own targets; anything else goes to format detection
     * and, with '{' at byte 8, to the safetensors reader. */
    if ((size >= 4 && memcmp(data, "PK\x03\x04", 4) == 0) || (size && data[0] == 0x80))
        return 0;
    fuzz_weights_file(data, size);
    return 0;
}
