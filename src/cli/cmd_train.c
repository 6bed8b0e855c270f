/* `clstyle train`: trains a fast-style transformer network on a folder of photos, with
 * progress, a JSON lines log, atomic checkpoints and a clean stop on Ctrl-C. */
#include "cli/cli.h"
#include "cli/signals.h"
#include "cli/train_options.h"
#include "io/io.h"
#include "net/model.h"
#include "runtime/file_atomic.h"
#include "train/dataset.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Everything a run holds, released in one place. */
typedef struct train_job {
    cls_train_options *t;
    char vgg_path[4096];
    cls_image style;
    cls_dataset *data;
    cls_ctx *ctx;
    cls_model *vgg;
    cls_ffnet *net;
    cls_trainer *trainer;
    FILE *log;
    float *batch;
    long total_steps, step, images, saved_step;
    int epoch;
    double start, last_line;
    bool tty, bar_open;
} train_job;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void end_bar(train_job *j)
{
    if (j->bar_open)
        fputc('\n', stderr);
    j->bar_open = false;
}

static int fail(train_job *j, cls_status status)
{
    end_bar(j);
    return cls_cli_fail(status);
}

static void release(train_job *j)
{
    if (j->log)
        fclose(j->log);
    cls_trainer_destroy(j->trainer);
    cls_ffnet_destroy(j->net);
    cls_model_destroy(j->vgg);
    cls_ctx_destroy(j->ctx);
    cls_dataset_close(j->data);
    cls_image_free(&j->style);
    free(j->batch);
}

static void warn_skipped(void *user, const char *message)
{
    train_job *j = user;
    if (j->t->common.verbosity < 0)
        return;
    end_bar(j);
    fprintf(stderr, "clstyle: warning: %s\n", message);
}

/* The VGG-16 file (named or installed), checked without a device to be VGG-16. */
static cls_status find_vgg(train_job *j)
{
    cls_status status = CLS_OK;
    cls_weights *w = NULL;
    cls_vgg_arch arch;
    if (j->t->vgg)
        snprintf(j->vgg_path, sizeof j->vgg_path, "%s", j->t->vgg);
    else
        CLS_TRY(cls_model_find_vgg16(j->vgg_path, sizeof j->vgg_path));
    CLS_TRY(cls_model_check(j->vgg_path));
    CLS_TRY(cls_weights_open(j->vgg_path, &w));
    CLS_TRY(cls_model_detect_arch(w, j->vgg_path, &arch));
    if (arch != CLS_VGG16)
        status = cls_error(CLS_ERR_WEIGHTS_MISMATCH,
                           "%s holds %s weights; training's loss network is VGG-16 "
                           "(torchvision's vgg16-397923af.pth: `tools/fetch-model.sh vgg16`, "
                           "or name a file with --vgg)",
                           j->vgg_path, cls_vgg_arch_name(arch));
fail:
    cls_weights_close(w);
    return status;
}

static cls_status read_style(train_job *j)
{
    cls_image raw = {0};
    cls_status status = cls_image_read(j->t->style, NULL, &raw);
    if (status != CLS_OK || j->t->style_size == 0) {
        j->style = raw;
        return status;
    }
    /* pytorch/examples' load_image(size=N): a square N x N whatever the aspect. */
    status = cls_image_resize(&raw, j->t->style_size, j->t->style_size, &j->style);
    cls_image_free(&raw);
    return status;
}

static cls_status open_dataset(train_job *j)
{
    const cls_dataset_params p = {.dir = j->t->dataset,
                                  .image_size = j->t->params.image_size,
                                  .batch_size = j->t->params.batch_size,
                                  .shuffle = j->t->shuffle,
                                  .shuffle_seed = j->t->shuffle_seed,
                                  .warn = warn_skipped,
                                  .warn_user = j};
    cls_status status = cls_dataset_open(&p, &j->data);
    if (status != CLS_OK)
        return status;
    const long files = (long)cls_dataset_file_count(j->data);
    const long per_epoch = (files + p.batch_size - 1) / p.batch_size;
    j->total_steps = per_epoch * j->t->epochs;
    const size_t floats = (size_t)p.batch_size * 3 * p.image_size * p.image_size;
    j->batch = malloc(floats * sizeof *j->batch);
    if (!j->batch)
        return cls_error(CLS_ERR_OUT_OF_HOST_MEMORY, "a training batch of %zu floats", floats);
    return CLS_OK;
}

static cls_status open_log(train_job *j)
{
    if (!j->t->log)
        return CLS_OK;
    j->log = fopen(j->t->log, "w");
    if (!j->log)
        return cls_error(CLS_ERR_IO, "cannot create the log %s: %s", j->t->log, strerror(errno));
    return CLS_OK;
}

/* Everything that can be checked without the device, so a wrong file is reported at once. */
static cls_status prepare(train_job *j)
{
    cls_status status = CLS_OK;
    CLS_TRY(find_vgg(j));
    if (j->t->init)
        CLS_TRY(cls_ffnet_check(j->t->init));
    CLS_TRY(read_style(j));
    CLS_TRY(cls_probe_directory_writable(j->t->output));
    CLS_TRY(open_dataset(j));
    CLS_TRY(open_log(j));
fail:
    return status;
}

static cls_status open_device(train_job *j)
{
    cls_status status = CLS_OK;
    const cls_train_options *t = j->t;
    cls_ctx_params params = cls_cli_ctx_params(&t->common);
    size_t bytes = 0;
    CLS_TRY(cls_ctx_create(&params, &j->ctx));
    CLS_TRY(cls_model_load(j->ctx, j->vgg_path, &j->vgg));
    if (t->init)
        CLS_TRY(cls_ffnet_load(j->ctx, t->init, &j->net));
    else
        CLS_TRY(cls_ffnet_create_random(j->ctx, t->seed, &j->net));
    CLS_TRY(cls_trainer_plan_bytes(j->vgg, j->net, &t->params, &bytes));
    if (t->common.verbosity >= 0) {
        const double mib = 1048576.0;
        const double weights =
            (double)(cls_model_device_bytes(j->vgg) + cls_ffnet_device_bytes(j->net));
        fprintf(stderr,
                "clstyle: train on %s: a step of %d images of %dx%d needs %.0f MiB of device "
                "memory (%.0f MiB of it weights)\n",
                cls_ctx_device(j->ctx)->name, t->params.batch_size, t->params.image_size,
                t->params.image_size, ((double)bytes + weights) / mib, weights / mib);
    }
    CLS_TRY(cls_trainer_create(j->vgg, j->net, &j->style, &t->params, &j->trainer));
fail:
    return status;
}

static void format_duration(double s, char *buf, size_t size)
{
    const long total = s > 0 && s < 1e9 ? (long)(s + 0.5) : 0;
    if (total >= 3600)
        snprintf(buf, size, "%ldh %02ldm", total / 3600, total / 60 % 60);
    else if (total >= 60)
        snprintf(buf, size, "%ldm %02lds", total / 60, total % 60);
    else
        snprintf(buf, size, "%lds", total);
}

static void draw_progress(train_job *j, const cls_train_losses *l)
{
    if (j->t->common.verbosity < 0)
        return;
    const double elapsed = now() - j->start;
    const double rate = elapsed > 0 ? j->images / elapsed : 0.0;
    const double per_step = j->step > 0 ? elapsed / j->step : 0.0;
    const long left_steps = j->total_steps > j->step ? j->total_steps - j->step : 0;
    char left[32];
    format_duration(per_step * left_steps, left, sizeof left);
    if (j->tty) {
        fprintf(stderr,
                "\rstep %ld/%ld (epoch %d/%d)  %.2f images/s  content %.4g  style %.4g  "
                "total %.4g  %s left ",
                j->step, j->total_steps, j->epoch + 1, j->t->epochs, rate, l->content, l->style,
                l->total, left);
        j->bar_open = true;
    } else if (j->step == 1 || now() - j->last_line >= 10.0) {
        fprintf(stderr,
                "clstyle: step %ld/%ld (epoch %d/%d), %.2f images/s, content %.6g, style %.6g, "
                "total %.6g, %s left\n",
                j->step, j->total_steps, j->epoch + 1, j->t->epochs, rate, l->content, l->style,
                l->total, left);
        j->last_line = now();
    }
}

static cls_status log_step(train_job *j, const cls_train_losses *l)
{
    if (!j->log)
        return CLS_OK;
    fprintf(j->log,
            "{\"step\": %ld, \"images\": %ld, \"content\": %.9g, \"style\": %.9g, \"total\": "
            "%.9g, \"elapsed_s\": %.3f}\n",
            j->step, j->images, l->content, l->style, l->total, now() - j->start);
    if (fflush(j->log) != 0 || ferror(j->log))
        return cls_error(CLS_ERR_IO, "writing the log %s: %s", j->t->log, strerror(errno));
    return CLS_OK;
}

/* Replaces the model file with the current weights (atomically: a failure leaves the last
 * checkpoint as it was). */
static cls_status checkpoint(train_job *j)
{
    if (j->saved_step == j->step)
        return CLS_OK;
    cls_signals_block();
    cls_status status = cls_ffnet_save(j->net, j->t->output);
    cls_signals_unblock();
    if (status != CLS_OK)
        return status;
    j->saved_step = j->step;
    if (j->t->common.verbosity > 0) {
        end_bar(j);
        fprintf(stderr, "clstyle: step %ld: wrote %s\n", j->step, j->t->output);
    }
    return CLS_OK;
}

static cls_status one_step(train_job *j, int count)
{
    cls_train_losses l;
    cls_status status = cls_trainer_step(j->trainer, j->batch, count, &l);
    if (status != CLS_OK)
        return status;
    j->step++;
    j->images += count;
    CLS_TRY(log_step(j, &l));
    draw_progress(j, &l);
    if (j->t->checkpoint_every > 0 && j->step % j->t->checkpoint_every == 0)
        CLS_TRY(checkpoint(j));
fail:
    return status;
}

/* One pass over the dataset; *stopped on Ctrl-C. */
static cls_status run_epoch(train_job *j, bool *stopped)
{
    cls_status status = cls_dataset_start_epoch(j->data, j->epoch);
    for (int count = 1; status == CLS_OK;) {
        if (cls_signals_interrupted()) {
            *stopped = true;
            break;
        }
        CLS_TRY(cls_dataset_next_batch(j->data, j->batch, &count));
        if (count == 0)
            break;
        CLS_TRY(one_step(j, count));
    }
    if (status == CLS_OK)
        status = checkpoint(j);
fail:
    return status;
}

static void say_saved_state(train_job *j)
{
    end_bar(j);
    if (j->saved_step > 0)
        fprintf(stderr, "clstyle: %s keeps the weights of step %ld (the last checkpoint)\n",
                j->t->output, j->saved_step);
    else
        fprintf(stderr, "clstyle: no checkpoint was written; %s is unchanged\n", j->t->output);
}

static void summary(train_job *j)
{
    if (j->t->common.verbosity < 0)
        return;
    end_bar(j);
    cls_dataset_stats s;
    cls_dataset_get_stats(j->data, &s);
    const double seconds = now() - j->start;
    char took[32];
    format_duration(seconds, took, sizeof took);
    fprintf(stderr,
            "clstyle: trained %ld steps on %ld images in %s (%.2f images/s), wrote %s; the "
            "device waited %.1f s for photos to decode",
            j->step, j->images, took, seconds > 0 ? j->images / seconds : 0.0, j->t->output,
            s.wait_s);
    if (s.skipped)
        fprintf(stderr, "; %zu unreadable photo%s skipped", s.skipped, s.skipped == 1 ? "" : "s");
    fputs("\n", stderr);
}

static int train_all(train_job *j)
{
    bool stopped = false;
    cls_status status = CLS_OK;
    j->start = j->last_line = now();
    for (j->epoch = 0; j->epoch < j->t->epochs && !stopped && status == CLS_OK; j->epoch++)
        status = run_epoch(j, &stopped);
    if (status != CLS_OK) {
        const int rc = fail(j, status);
        say_saved_state(j);
        return rc;
    }
    if (stopped) {
        status = checkpoint(j);
        end_bar(j);
        if (status != CLS_OK)
            return fail(j, status);
        fprintf(stderr, "clstyle: interrupted at step %ld; wrote %s\n", j->step, j->t->output);
        return CLS_EXIT_INTERRUPTED;
    }
    summary(j);
    return CLS_EXIT_OK;
}

int cls_cmd_train(int argc, char **argv)
{
    cls_train_options t;
    bool help = false;
    int rc = cls_train_parse(argc, argv, &t, &help);
    if (rc != CLS_EXIT_OK)
        return rc;
    if (help) {
        cls_train_print_help(stdout);
        return CLS_EXIT_OK;
    }
    train_job j = {.t = &t, .tty = isatty(STDERR_FILENO) == 1};
    cls_status status;
    cls_signals_install();
    if ((status = prepare(&j)) != CLS_OK || (status = open_device(&j)) != CLS_OK) {
        rc = fail(&j, status);
        goto done;
    }
    if (t.common.verbosity >= 0)
        fprintf(stderr, "clstyle: %zu photos in %s, %d epoch%s of %ld steps\n",
                cls_dataset_file_count(j.data), t.dataset, t.epochs, t.epochs == 1 ? "" : "s",
                j.total_steps / t.epochs);
    rc = train_all(&j);
done:
    release(&j);
    return rc;
}
