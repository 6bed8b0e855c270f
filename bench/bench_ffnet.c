/* Fast style in clstyle-bench: seconds per image of a transformer network (the whole
 * cls_ffnet_run call a user's frame costs: upload, forward, download) and its device memory. */
#include "bench_util.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct stylize_run {
    cls_ffnet *net;
    cls_image input, output;
} stylize_run;

static cls_status stylize_once(cls_ctx *ctx, void *user)
{
    (void)ctx;
    stylize_run *r = user;
    return cls_ffnet_run(r->net, &r->input, &r->output);
}

/* What a run at size x size holds on the device: the plan's buffers and derived weights not
 * made yet, and the weights (with the derived ones made so far). */
static cls_status stylize_bytes(cls_ffnet *net, int size, size_t *bytes)
{
    size_t plan = 0;
    cls_status status = cls_ffnet_plan_bytes(net, size, size, &plan);
    *bytes = plan + cls_ffnet_device_bytes(net);
    return status;
}

/* The median and the fastest of o->repeats runs after o->warmup: on a shared machine the
 * fastest says what the code can do, the median what a user saw. */
typedef struct stylize_times {
    double median, fastest;
} stylize_times;

static cls_status time_runs(cls_ctx *ctx, stylize_run *r, const bench_options *o, stylize_times *t)
{
    cls_status status = CLS_OK;
    const int n = o->repeats;
    double *runs = malloc((size_t)n * sizeof *runs);
    CLS_CHECK_ALLOC(runs, "timings");
    CLS_TRY(bench_time(ctx, stylize_once, r, o->warmup, 1, &runs[0]));
    for (int i = 1; i < n; i++)
        CLS_TRY(bench_time(ctx, stylize_once, r, 0, 1, &runs[i]));
    t->median = bench_median(runs, n); /* sorts */
    t->fastest = runs[0];
fail:
    free(runs);
    return status;
}

static void print_stylize(int size, const stylize_times *t, size_t bytes, const bench_options *o,
                          bench_out *out)
{
    if (bench_item(out))
        printf("{\"op\": \"stylize\", \"size\": %d, \"s\": %.6f, \"images_per_s\": %.4f, "
               "\"min_s\": %.6f, \"device_bytes\": %zu, \"warmup\": %d, \"repeats\": %d}",
               size, t->median, 1.0 / t->median, t->fastest, bytes, o->warmup, o->repeats);
    else
        printf("stylize %4dx%-4d  %9.2f ms per image  %7.3f images/s (fastest %.2f ms)   "
               "device memory %8.1f MiB\n",
               size, size, t->median * 1e3, 1.0 / t->median, t->fastest * 1e3,
               (double)bytes / (1024.0 * 1024.0));
    fflush(stdout);
}

static cls_status stylize_size(cls_ctx *ctx, cls_ffnet *net, int size, const bench_options *o,
                               bench_out *out)
{
    cls_status status = CLS_OK;
    stylize_run r = {.net = net};
    size_t bytes = 0;
    stylize_times t = {0, 0};
    CLS_TRY(stylize_bytes(net, size, &bytes)); /* before the run makes any of it */
    CLS_TRY(bench_random_image(size, 31, &r.input));
    CLS_TRY(time_runs(ctx, &r, o, &t));
    print_stylize(size, &t, bytes, o, out);
fail:
    cls_image_free(&r.output);
    cls_image_free(&r.input);
    return status;
}

static cls_status stylize_memory(cls_ffnet *net, int size, bench_out *out)
{
    size_t bytes = 0;
    cls_status status = stylize_bytes(net, size, &bytes);
    if (status != CLS_OK)
        return status;
    if (bench_item(out))
        printf("{\"op\": \"stylize_memory\", \"size\": %d, \"device_bytes\": %zu}", size, bytes);
    else
        printf("stylize %4dx%-4d  (not run)                             device memory %8.1f MiB\n",
               size, size, (double)bytes / (1024.0 * 1024.0));
    fflush(stdout);
    return CLS_OK;
}

static bool contains(const int *sizes, int count, int size)
{
    for (int i = 0; i < count; i++)
        if (sizes[i] == size)
            return true;
    return false;
}

cls_status bench_stylize(cls_ctx *ctx, const char *path, const int *sizes, int count,
                         const bench_options *o, bench_out *out)
{
    static const int memory_sizes[] = {1024, 2048};
    cls_status status = CLS_OK;
    cls_ffnet *net = NULL;
    CLS_TRY(cls_ffnet_load(ctx, path, &net));
    for (int i = 0; i < count; i++)
        CLS_TRY(stylize_size(ctx, net, sizes[i], o, out));
    for (size_t i = 0; i < sizeof memory_sizes / sizeof memory_sizes[0]; i++)
        if (!contains(sizes, count, memory_sizes[i]))
            CLS_TRY(stylize_memory(net, memory_sizes[i], out));
fail:
    cls_ffnet_destroy(net);
    return status;
}
