/* Device selection specs and the device table, on a made-up table (no OpenCL needed). */
#include "check.h"

#include <stdlib.h>

static cls_device_info table[4];

static void make_table(void)
{
    const struct {
        int p, d;
        const char *platform, *name;
        cls_device_type type;
    } rows[] = {
        {0, 0, "Portable Computing Language", "pthread-haswell-AMD EPYC", CLS_DEVICE_CPU},
        {1, 0, "NVIDIA CUDA", "NVIDIA GeForce RTX 3090", CLS_DEVICE_GPU},
        {1, 1, "NVIDIA CUDA", "NVIDIA GeForce RTX 4090", CLS_DEVICE_GPU},
        {2, 0, "Xilinx", "FPGA card", CLS_DEVICE_ACCELERATOR},
    };
    for (int i = 0; i < 4; i++) {
        memset(&table[i], 0, sizeof table[i]);
        table[i].index = i;
        table[i].platform_index = rows[i].p;
        table[i].device_index = rows[i].d;
        snprintf(table[i].platform, sizeof table[i].platform, "%s", rows[i].platform);
        snprintf(table[i].name, sizeof table[i].name, "%s", rows[i].name);
        snprintf(table[i].version, sizeof table[i].version, "OpenCL 3.0 test");
        table[i].type = rows[i].type;
        table[i].global_mem_bytes = (uint64_t)24 << 30;
    }
}

static size_t pick(const char *spec, cls_status want)
{
    size_t chosen = 999;
    CHECK_STATUS(cls_device_select(table, 4, spec, &chosen), want);
    return chosen;
}

static void default_prefers_gpu(void)
{
    CHECK(pick(NULL, CLS_OK) == 1);
    CHECK(pick("", CLS_OK) == 1);
    size_t chosen = 9;
    CHECK_STATUS(cls_device_select(table, 1, NULL, &chosen), CLS_OK);
    CHECK(chosen == 0); /* no GPU: the first device */
}

static void by_index_and_pair(void)
{
    CHECK(pick("0", CLS_OK) == 0);
    CHECK(pick("3", CLS_OK) == 3);
    CHECK(pick("1:1", CLS_OK) == 2);
    CHECK(pick("2:0", CLS_OK) == 3);
    pick("4", CLS_ERR_DEVICE_SPEC);
    CHECK_CONTAINS(cls_last_error(), "device 4 does not exist");
    CHECK_CONTAINS(cls_last_error(), "NVIDIA GeForce RTX 4090"); /* the list is shown */
    pick("99999999999", CLS_ERR_DEVICE_SPEC);
    pick("1:7", CLS_ERR_DEVICE_SPEC);
    CHECK_CONTAINS(cls_last_error(), "no device 1:7");
}

static void by_type(void)
{
    CHECK(pick("gpu", CLS_OK) == 1);
    CHECK(pick("GPU", CLS_OK) == 1);
    CHECK(pick("cpu", CLS_OK) == 0);
    CHECK(pick("accelerator", CLS_OK) == 3);
    size_t chosen;
    CHECK_STATUS(cls_device_select(table, 1, "gpu", &chosen), CLS_ERR_DEVICE_SPEC);
    CHECK_CONTAINS(cls_last_error(), "no gpu device");
}

static void by_name(void)
{
    CHECK(pick("rtx 4090", CLS_OK) == 2);
    pick("4090", CLS_ERR_DEVICE_SPEC); /* all digits is always an index */
    CHECK(pick("pthread", CLS_OK) == 0);
    CHECK(pick("portable", CLS_OK) == 0); /* platform name, any case */
    CHECK(pick("xilinx", CLS_OK) == 3);
    pick("nvidia", CLS_ERR_DEVICE_SPEC);
    CHECK_CONTAINS(cls_last_error(), "matches 2 devices");
    pick("nosuchthing", CLS_ERR_DEVICE_SPEC);
    CHECK_CONTAINS(cls_last_error(), "no device or platform name contains \"nosuchthing\"");
    CHECK_CONTAINS(cls_last_error(), "pthread-haswell-AMD EPYC");
    CHECK_CONTAINS(cls_last_error(), "--device");
}

static void no_devices(void)
{
    size_t chosen;
    CHECK_STATUS(cls_device_select(NULL, 0, NULL, &chosen), CLS_ERR_NO_DEVICE);
    CHECK_CONTAINS(cls_last_error(), "pocl-opencl-icd");
}

static void table_format(void)
{
    char *text = cls_device_table_format(table, 4);
    CHECK(text != NULL);
    CHECK_CONTAINS(text, "P:D");
    CHECK_CONTAINS(text, "24 GiB");
    CHECK_CONTAINS(text, "1:1");
    /* Aligned: every line has the device column at the same offset. */
    const char *line = text;
    long column = -1;
    int lines = 0;
    while (line && *line) {
        const char *type = strstr(line, lines == 0 ? "device" : (lines == 1 ? "pthread" : "N"));
        const char *end = strchr(line, '\n');
        if (lines <= 1 && type && end && type < end) {
            long here = (long)(type - line);
            CHECK(column < 0 || here == column);
            column = here;
        }
        lines++;
        line = end ? end + 1 : NULL;
    }
    CHECK(lines == 5);
    free(text);
}

int main(void)
{
    make_table();
    RUN(default_prefers_gpu);
    RUN(by_index_and_pair);
    RUN(by_type);
    RUN(by_name);
    RUN(no_devices);
    RUN(table_format);
    return check_report();
}
