/* The on-disk cache of compiled kernel programs: one file per key, checksummed, written
 * atomically so concurrent processes and crashes never leave a file that is trusted. */
#ifndef CLS_RUNTIME_KERNEL_CACHE_H
#define CLS_RUNTIME_KERNEL_CACHE_H

#include "runtime/error.h"

#include <stddef.h>
#include <stdint.h>

/* 128-bit key: a hash of everything that decides the compiled binary. */
typedef struct cls_cache_key {
    uint8_t bytes[16];
} cls_cache_key;

/* Hashes the parts in order; each part's length is hashed too, so ("ab","c") and
 * ("a","bc") give different keys. */
cls_cache_key cls_cache_key_of(const char *const *parts, size_t count);

/* Writes the key as 32 lowercase hex digits and a NUL into hex[33]. */
void cls_cache_key_hex(const cls_cache_key *key, char hex[33]);

/* The default directory: $XDG_CACHE_HOME/clstyle, else $HOME/.cache/clstyle.
 * CLS_ERR_IO when neither variable is set. */
cls_status cls_cache_default_dir(char *buf, size_t size);

/* Cache files larger than this are rejected without being read. */
#define CLS_CACHE_MAX_PAYLOAD ((uint64_t)256 << 20)

/* Looks up key in dir. CLS_OK with *data (malloc'd) and *size on a hit. On a miss returns
 * CLS_ERR_CACHE_MISS, sets *rejected when a file existed but was corrupt, truncated or
 * written for another key, and the detail says which. */
cls_status cls_cache_load(const char *dir, const cls_cache_key *key, void **data, size_t *size,
                          bool *rejected);

/* Stores data under key: creates dir (and parents), writes a temporary file, renames it
 * into place. CLS_ERR_IO with the reason when the directory is not writable. */
cls_status cls_cache_store(const char *dir, const cls_cache_key *key, const void *data,
                           size_t size);

#endif
