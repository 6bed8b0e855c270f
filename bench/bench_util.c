/* Timing, random data, peak rate and output helpers of clstyle-bench. */
#include "bench_util.h"
#include "runtime/launch.h"

#include <stdlib.h>
#include <string.h>

bool bench_item(bench_out *out)
{
    if (out->json)
        printf("%s", out->items ? ",\n" : "");
    out->items++;
    return out->json;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double bench_median(double *v, int n)
{
    if (n < 1)
        return 0.0;
    qsort(v, (size_t)n, sizeof *v, compare_doubles);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

cls_status bench_time(cls_ctx *ctx, bench_fn fn, void *user, int warmup, int repeats,
                      double *median_s)
{
    cls_status status = CLS_OK;
    double *runs = calloc((size_t)(repeats > 0 ? repeats : 1), sizeof *runs);
    if (!runs)
        return cls_error(CLS_ERR_OUT_OF_HOST_MEMORY, "timings");
    for (int r = -warmup; r < repeats; r++) {
        CLS_CHECK_CL(clFinish(ctx->queue), "clFinish");
        double start = cls_now_seconds();
        CLS_TRY(fn(ctx, user));
        CLS_CHECK_CL(clFinish(ctx->queue), "clFinish");
        if (r >= 0)
            runs[r] = cls_now_seconds() - start;
    }
    *median_s = bench_median(runs, repeats);
fail:
    free(runs);
    return status;
}

cls_status bench_random_buffer(cls_ctx *ctx, size_t count, unsigned seed, cl_mem *out)
{
    float *host = malloc(count * sizeof *host);
    if (!host)
        return cls_error(CLS_ERR_OUT_OF_HOST_MEMORY, "benchmark data");
    for (size_t i = 0; i < count; i++) {
        seed = seed * 1664525u + 1013904223u;
        host[i] = (float)(seed >> 8) / (float)(1 << 24) - 0.5f;
    }
    cls_status status = cls_buffer_create(ctx, count * sizeof *host, "benchmark data", out);
    if (status == CLS_OK) {
        cl_int err = clEnqueueWriteBuffer(ctx->queue, *out, CL_TRUE, 0, count * sizeof *host, host,
                                          0, NULL, NULL);
        if (err != CL_SUCCESS)
            status = cls_error_cl(err, "uploading benchmark data");
    }
    free(host);
    return status;
}

cls_status bench_random_image(int size, unsigned seed, cls_image *image)
{
    cls_status status = cls_image_alloc(image, size, size);
    if (status != CLS_OK)
        return status;
    for (size_t i = 0; i < (size_t)size * (size_t)size * 3; i++) {
        seed = seed * 1664525u + 1013904223u;
        image->pixels[i] = (float)(seed >> 8) / (float)(1 << 24) * 255.0f;
    }
    return CLS_OK;
}

void bench_peak_detect(cls_ctx *ctx, double override_gflops, bench_peak *peak)
{
    cl_uint mhz = 0, width = 0;
    clGetDeviceInfo(ctx->device, CL_DEVICE_MAX_CLOCK_FREQUENCY, sizeof mhz, &mhz, NULL);
    clGetDeviceInfo(ctx->device, CL_DEVICE_NATIVE_VECTOR_WIDTH_FLOAT, sizeof width, &width, NULL);
    const unsigned cus = ctx->info.compute_units;
    const double derived = (double)cus * mhz * 1e-3 * width * 2.0;
    if (override_gflops > 0.0) {
        peak->gflops = override_gflops;
        snprintf(peak->how, sizeof peak->how,
                 "--peak-gflops %.1f (derived would be %u CUs x %u MHz x %u lanes x 2 = %.1f)",
                 override_gflops, cus, mhz, width, derived);
    } else {
        peak->gflops = derived;
        snprintf(peak->how, sizeof peak->how,
                 "%u compute units x %u MHz x %u float lanes (native vector width) x 2 (FMA)%s",
                 cus, mhz, width,
                 ctx->info.type == CLS_DEVICE_GPU
                     ? "; a GPU reports no lanes per compute unit: give --peak-gflops"
                     : "");
    }
}

double bench_gflops(double flops, double seconds)
{
    return seconds > 0.0 ? flops / seconds * 1e-9 : 0.0;
}

double bench_fraction(double gflops, const bench_peak *peak)
{
    return peak->gflops > 0.0 ? gflops / peak->gflops : 0.0;
}
