/* The EXIF Orientation tag, read from IFD0 of a TIFF-structured block: every offset and count
 * is checked against the block, and no IFD link is followed, so a hostile block can neither
 * read out of bounds nor loop. Everything else in EXIF is ignored. */
#include "io/io_internal.h"

#include <string.h>

enum { TAG_ORIENTATION = 0x0112, TYPE_SHORT = 3, TYPE_LONG = 4, ENTRY_SIZE = 12 };

typedef struct tiff_block {
    const uint8_t *data;
    size_t size;
    bool big_endian;
} tiff_block;

static bool get16(const tiff_block *t, size_t offset, uint32_t *value)
{
    if (offset > t->size || t->size - offset < 2)
        return false;
    const uint8_t *p = t->data + offset;
    *value = t->big_endian ? (uint32_t)(p[0] << 8 | p[1]) : (uint32_t)(p[1] << 8 | p[0]);
    return true;
}

static bool get32(const tiff_block *t, size_t offset, uint32_t *value)
{
    uint32_t first, second;
    if (!get16(t, offset, &first) || !get16(t, offset + 2, &second))
        return false;
    *value = t->big_endian ? first << 16 | second : second << 16 | first;
    return true;
}

/* The value of an Orientation entry (SHORT as the standard says, or LONG as some writers
 * have it), 1 when it is anything else. */
static int entry_value(const tiff_block *t, size_t entry)
{
    uint32_t type, count, value;
    if (!get16(t, entry + 2, &type) || !get32(t, entry + 4, &count) || count != 1)
        return 1;
    if (type == TYPE_SHORT && get16(t, entry + 8, &value))
        return value >= 1 && value <= 8 ? (int)value : 1;
    if (type == TYPE_LONG && get32(t, entry + 8, &value))
        return value >= 1 && value <= 8 ? (int)value : 1;
    return 1;
}

int cls_exif_orientation(const uint8_t *data, size_t size)
{
    tiff_block t = {.data = data, .size = size};
    if (size < 8)
        return 1;
    if (memcmp(data, "MM\0*", 4) == 0)
        t.big_endian = true;
    else if (memcmp(data, "II*\0", 4) != 0)
        return 1;
    uint32_t ifd, count;
    if (!get32(&t, 4, &ifd) || !get16(&t, ifd, &count))
        return 1;
    for (uint32_t i = 0; i < count; i++) {
        size_t entry = (size_t)ifd + 2 + (size_t)i * ENTRY_SIZE;
        uint32_t tag;
        if (!get16(&t, entry, &tag))
            return 1; /* the count claims more entries than the block holds */
        if (tag == TAG_ORIENTATION)
            return entry_value(&t, entry);
    }
    return 1;
}
