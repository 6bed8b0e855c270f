/* libFuzzer target: PyTorch zip checkpoints (torch.save since 1.6): libzip, the records, the
 * data.pkl unpickler and the storages, through cls_weights_open and cls_weights_read_f32. */
#include "fuzz_weights.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4 || memcmp(data, "PK\x03\x04", 4) != 0)
        return 0; /* not taken for a zip checkpoint by format detection */
    fuzz_weights_file(data, size);
    return 0;
}
