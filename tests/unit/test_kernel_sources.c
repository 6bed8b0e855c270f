/* The embedded kernel sources are byte-identical to the cl/ files they came from. */
#include "check.h"
#include "runtime/kernel_sources.h"

#include <stdlib.h>

static char *read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = malloc(1 << 22);
    *size = buf ? fread(buf, 1, 1 << 22, f) : 0;
    fclose(f);
    return buf;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s CL_DIR\n", argv[0]);
        return 2;
    }
    CHECK(cls_kernel_source_count > 0);
    for (size_t i = 0; i < cls_kernel_source_count; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", argv[1], cls_kernel_sources[i].file);
        size_t size = 0;
        char *disk = read_file(path, &size);
        CHECK(disk != NULL);
        CHECK(size == cls_kernel_sources[i].length);
        CHECK(disk && memcmp(disk, cls_kernel_sources[i].text, size) == 0);
        CHECK(cls_kernel_sources[i].text[cls_kernel_sources[i].length] == '\0');
        printf("%s %s (%zu bytes)\n", check_failures ? "FAIL" : "ok  ", cls_kernel_sources[i].file,
               size);
        free(disk);
    }
    return check_report();
}
