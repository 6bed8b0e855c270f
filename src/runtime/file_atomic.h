/* Replacing files atomically, so that a crash, a full disk or two processes writing at
 * once never leave a partial file where a complete one is expected. */
#ifndef CLS_RUNTIME_FILE_ATOMIC_H
#define CLS_RUNTIME_FILE_ATOMIC_H

#include "runtime/error.h"

#include <stddef.h>

/* Writes data to path through a unique temporary file in the same directory (fsync, then
 * rename over path); on failure the temporary is removed and path is left as it was. */
cls_status cls_write_file_atomic(const char *path, const void *data, size_t size);

/* Creates and removes a temporary file next to path (CLS_ERR_IO when that fails). */
cls_status cls_probe_directory_writable(const char *path);

#endif
