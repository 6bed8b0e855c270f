/* libFuzzer target: legacy PyTorch checkpoints (a pickle stream: magic number, protocol,
 * sys_info, state_dict, storage keys, then the raw storages), through cls_weights_open and
 * cls_weights_read_f32. */
#include "fuzz_weights.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0 || data[0] != 0x80)
        return 0; /* not a pickle: not taken for a legacy checkpoint by format detection */
    fuzz_weights_file(data, size);
    return 0;
}
