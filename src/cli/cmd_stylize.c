/* `clstyle stylize`: fast style, one forward pass of a trained transformer network per
 * image, over one image, a list, a directory or numbered video frames. */
#include "cli/cli.h"
#include "cli/signals.h"
#include "cli/stylize_inputs.h"
#include "cli/stylize_options.h"
#include "io/io.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* -m names a file, else an installed model: $XDG_DATA_HOME/clstyle/NAME.pth or
 * .safetensors (default ~/.local/share), where tools/fetch-model.sh puts them. */
static cls_status find_model(const char *model, char *buf, size_t size)
{
    if (access(model, F_OK) == 0 || strchr(model, '/')) {
        snprintf(buf, size, "%s", model);
        return CLS_OK;
    }
    const char *data = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
    char dir[3072];
    if (data && *data)
        snprintf(dir, sizeof dir, "%s/clstyle", data);
    else
        snprintf(dir, sizeof dir, "%s/.local/share/clstyle", home ? home : ".");
    static const char *const extensions[] = {".pth", ".safetensors"};
    for (int i = 0; i < 2; i++) {
        snprintf(buf, size, "%s/%s%s", dir, model, extensions[i]);
        if (access(buf, F_OK) == 0)
            return CLS_OK;
    }
    return cls_error(CLS_ERR_IO,
                     "no model file %s, and no installed model of that name in %s (%s.pth or "
                     "%s.safetensors); install the published ones with `tools/fetch-model.sh "
                     "candy` (or mosaic, rain_princess, udnie)",
                     model, dir, model, model);
}

/* Everything a run holds, released in one place. */
typedef struct job {
    cls_stylize_options *s;
    cls_input_list inputs;
    char model_path[4096];
    char output_dir[4096]; /* empty: one input, output is a file */
    cls_ctx *ctx;
    cls_ffnet *net;
    int plan_width, plan_height; /* the size whose memory was checked last */
    bool bar_open;
    double last_line; /* when the last progress line went to a non-terminal */
} job;

static void release(job *j)
{
    cls_ffnet_destroy(j->net);
    cls_ctx_destroy(j->ctx);
    cls_inputs_free(&j->inputs);
}

static void end_bar(job *j)
{
    if (j->bar_open)
        fputc('\n', stderr);
    j->bar_open = false;
}

static int fail(job *j, cls_status status)
{
    end_bar(j);
    return cls_cli_fail(status);
}

static cls_status collect_inputs(job *j)
{
    cls_status status = CLS_OK;
    for (int i = 0; i < j->s->operand_count; i++)
        CLS_TRY(cls_inputs_add(&j->inputs, j->s->operands[i], j->s->common.verbosity < 0));
    cls_inputs_shard(&j->inputs, j->s->shard_k, j->s->shard_n);
fail:
    return status;
}

/* A collection, or an existing directory as OUTPUT, writes into a directory (made here when
 * missing); one input writes the file OUTPUT. */
static cls_status prepare_output(job *j)
{
    struct stat st;
    const char *out = j->s->output;
    const bool is_dir = stat(out, &st) == 0 && S_ISDIR(st.st_mode);
    if (!j->inputs.collection && !is_dir)
        return cls_image_check_writable(out);
    if (!is_dir && mkdir(out, 0777) != 0)
        return cls_error(CLS_ERR_IO, "cannot create the output directory %s: %s", out,
                         strerror(errno));
    snprintf(j->output_dir, sizeof j->output_dir, "%s", out);
    char probe[4200];
    snprintf(probe, sizeof probe, "%s/probe.png", out);
    return cls_image_check_writable(probe);
}

/* The output path of an input: OUTPUT, or its name in the output directory (.png added when
 * the name has no extension the writer knows). */
static void output_path(const job *j, const cls_input *in, char *buf, size_t size)
{
    if (!j->output_dir[0]) {
        snprintf(buf, size, "%s", j->s->output);
        return;
    }
    const char *dot = strrchr(in->name, '.');
    const bool known = dot && (strcasecmp(dot, ".png") == 0 || strcasecmp(dot, ".jpg") == 0 ||
                               strcasecmp(dot, ".jpeg") == 0);
    snprintf(buf, size, "%s/%s%s", j->output_dir, in->name, known ? "" : ".png");
}

static cls_status open_device(job *j)
{
    cls_status status = CLS_OK;
    cls_ctx_params params = cls_cli_ctx_params(&j->s->common);
    CLS_TRY(cls_ctx_create(&params, &j->ctx));
    CLS_TRY(cls_ffnet_load(j->ctx, j->model_path, &j->net));
fail:
    return status;
}

static cls_status read_input(const job *j, const cls_input *in, cls_image *out)
{
    cls_image raw;
    cls_read_options r = cls_read_options_default();
    r.max_pixels = (uint64_t)j->s->max_pixels;
    cls_status status = cls_image_read(in->path, &r, &raw);
    if (status != CLS_OK || j->s->size == 0)
        goto done;
    int w, h;
    cls_image_fit(raw.width, raw.height, j->s->size, &w, &h);
    if (w == raw.width && h == raw.height)
        goto done;
    status = cls_image_resize(&raw, w, h, out);
    cls_image_free(&raw);
    return status;
done:
    *out = raw;
    return status;
}

/* Says what a size needs the first time it comes, and refuses what cannot fit. */
static cls_status check_memory(job *j, int width, int height)
{
    if (width == j->plan_width && height == j->plan_height)
        return CLS_OK;
    size_t bytes = 0;
    cls_status status = cls_ffnet_plan_bytes(j->net, width, height, &bytes);
    if (status != CLS_OK)
        return status;
    const cls_device_info *d = cls_ctx_device(j->ctx);
    const double mib = 1048576.0, total = (double)(bytes + cls_ffnet_device_bytes(j->net));
    if (j->s->common.verbosity > 0 || (j->s->common.verbosity == 0 && j->plan_width == 0))
        fprintf(stderr,
                "clstyle: stylize on %s: %dx%d needs %.0f MiB of device memory (%.1f MiB of it "
                "weights)\n",
                d->name, width, height, total / mib, cls_ffnet_device_bytes(j->net) / mib);
    if (total > (double)d->global_mem_bytes)
        return cls_error(CLS_ERR_OUT_OF_DEVICE_MEMORY,
                         "a %dx%d image needs %.0f MiB of device memory but %s has %.0f MiB; "
                         "resize it with --size",
                         width, height, total / mib, d->name, d->global_mem_bytes / mib);
    j->plan_width = width;
    j->plan_height = height;
    return CLS_OK;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void draw_progress(job *j, size_t done, double start, bool tty)
{
    const size_t total = j->inputs.count;
    if (j->s->common.verbosity < 0 || total < 2)
        return;
    const double elapsed = now() - start, rate = elapsed > 0 ? done / elapsed : 0;
    const double left = rate > 0 ? (total - done) / rate : 0;
    if (tty) {
        char bar[31];
        const size_t filled = done * 30 / total;
        for (size_t i = 0; i < 30; i++)
            bar[i] = i < filled ? '#' : '-';
        bar[30] = 0;
        fprintf(stderr, "\r[%s] %zu/%zu images, %.2f images/s, %.0f s left ", bar, done, total,
                rate, left);
        j->bar_open = true;
    } else if (done == 1 || done == total || now() - j->last_line >= 5.0) {
        /* A log, not a screen: a line after the first image, then every 5 s at most. */
        fprintf(stderr, "clstyle: %zu/%zu images, %.2f images/s, %.0f s left\n", done, total, rate,
                left);
        j->last_line = now();
    }
}

/* Stylises one input and writes it; image errors are reported and counted, device errors end
 * the run (returned). */
static cls_status stylize_one(job *j, const cls_input *in, cls_image *out, int *failed)
{
    cls_image image = {0};
    char path[4400];
    cls_status status = read_input(j, in, &image);
    if (status == CLS_OK)
        status = check_memory(j, image.width, image.height);
    if (status == CLS_ERR_IO || status == CLS_ERR_IMAGE_FORMAT ||
        status == CLS_ERR_IMAGE_TOO_LARGE || status == CLS_ERR_SHAPE) {
        end_bar(j);
        cls_cli_fail(status);
        (*failed)++;
        cls_image_free(&image);
        return CLS_OK;
    }
    if (status == CLS_OK && (out->width != image.width || out->height != image.height))
        cls_image_free(out);
    if (status == CLS_OK)
        status = cls_ffnet_run(j->net, &image, out);
    if (status == CLS_OK && j->s->original_colors)
        status = cls_image_original_colors(&image, out);
    if (status == CLS_OK) {
        cls_write_options w = cls_write_options_default();
        w.png_depth = j->s->output_depth;
        w.jpeg_quality = j->s->jpeg_quality;
        output_path(j, in, path, sizeof path);
        cls_signals_block();
        cls_status written = cls_image_write(path, out, &w);
        cls_signals_unblock();
        if (written != CLS_OK) {
            end_bar(j);
            cls_cli_fail(written);
            (*failed)++;
        }
    }
    cls_image_free(&image);
    return status;
}

static int run_all(job *j)
{
    cls_image out = {0};
    int failed = 0, code = CLS_EXIT_OK;
    size_t done = 0;
    const bool tty = isatty(STDERR_FILENO);
    const double start = now();
    for (; done < j->inputs.count; done++) {
        if (cls_signals_interrupted()) {
            end_bar(j);
            fprintf(stderr, "clstyle: interrupted after %zu of %zu images\n", done,
                    j->inputs.count);
            code = CLS_EXIT_INTERRUPTED;
            break;
        }
        cls_status status = stylize_one(j, &j->inputs.items[done], &out, &failed);
        if (status != CLS_OK) {
            code = fail(j, status);
            break;
        }
        draw_progress(j, done + 1, start, tty);
    }
    end_bar(j);
    cls_image_free(&out);
    const double seconds = now() - start;
    const size_t written = done - (size_t)failed;
    if (code == CLS_EXIT_OK && written > 0 && j->s->common.verbosity >= 0)
        fprintf(stderr, "clstyle: wrote %zu image%s to %s in %.2f s (%.2f images/s)\n", written,
                written == 1 ? "" : "s", j->s->output, seconds,
                seconds > 0 ? written / seconds : 0.0);
    if (code == CLS_EXIT_OK && failed) {
        fprintf(stderr, "clstyle: error: %d of %zu images failed (see above)\n", failed,
                j->inputs.count);
        code = CLS_EXIT_RUNTIME;
    }
    return code;
}

int cls_cmd_stylize(int argc, char **argv)
{
    cls_stylize_options s;
    bool help = false;
    int rc = cls_stylize_parse(argc, argv, &s, &help);
    if (rc != CLS_EXIT_OK)
        return rc;
    if (help) {
        cls_stylize_print_help(stdout);
        return CLS_EXIT_OK;
    }
    job j = {.s = &s};
    cls_status status;
    cls_signals_install();
    /* Everything that can be checked without the device first: a wrong model file or an
     * unwritable output is reported at once. */
    if ((status = find_model(s.model, j.model_path, sizeof j.model_path)) != CLS_OK ||
        (status = cls_ffnet_check(j.model_path)) != CLS_OK ||
        (status = collect_inputs(&j)) != CLS_OK || (status = prepare_output(&j)) != CLS_OK) {
        rc = fail(&j, status);
        goto done;
    }
    if (j.inputs.count == 0) {
        if (s.common.verbosity >= 0)
            fprintf(stderr, "clstyle: shard %d/%d has no inputs; nothing to do\n", s.shard_k,
                    s.shard_n);
        goto done;
    }
    if ((status = open_device(&j)) != CLS_OK) {
        rc = fail(&j, status);
        goto done;
    }
    if (s.common.verbosity >= 0 && j.inputs.count > 1)
        fprintf(stderr, "clstyle: %zu images with %s\n", j.inputs.count, j.model_path);
    rc = run_all(&j);
done:
    release(&j);
    return rc;
}
