/* Progress bar, periodic lines, the JSON lines log and --save-every images. */
#include "cli/progress.h"
#include "cli/signals.h"
#include "io/io.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

cls_status cls_feedback_open(cls_feedback *f, const cls_cli_options *o)
{
    memset(f, 0, sizeof *f);
    f->o = o;
    f->tty = isatty(STDERR_FILENO) && o->common.verbosity >= 0;
    if (o->log_path) {
        f->log = fopen(o->log_path, "w");
        if (!f->log)
            return CLS_ERR_IO;
    }
    return CLS_OK;
}

void cls_feedback_close(cls_feedback *f)
{
    cls_feedback_end_line(f);
    if (f->log)
        fclose(f->log);
    f->log = NULL;
}

void cls_feedback_end_line(cls_feedback *f)
{
    if (f->line_open)
        fputc('\n', stderr);
    f->line_open = false;
}

void cls_numbered_path(const char *path, int stage, int iteration, char *buf, size_t size)
{
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(path, '.');
    if (!dot || (slash && dot < slash))
        dot = path + strlen(path);
    if (stage > 0)
        snprintf(buf, size, "%.*s_s%d_%d%s", (int)(dot - path), path, stage, iteration, dot);
    else
        snprintf(buf, size, "%.*s_%d%s", (int)(dot - path), path, iteration, dot);
}

/* Seconds since the current stage began optimising. */
static double stage_elapsed(const cls_feedback *f, const cls_progress *p)
{
    return p->elapsed_s - f->stage_start_s;
}

static void duration(double seconds, char *buf, size_t size)
{
    long s = (long)(seconds + 0.5);
    if (s >= 3600)
        snprintf(buf, size, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
    else
        snprintf(buf, size, "%ld:%02ld", s / 60, s % 60);
}

static void draw(cls_feedback *f, const cls_progress *p)
{
    char elapsed[32], left[32], bar[21];
    const double in_stage = stage_elapsed(f, p);
    const double rate = in_stage > 0 ? p->iteration / in_stage : 0.0;
    duration(p->elapsed_s, elapsed, sizeof elapsed);
    duration(rate > 0 ? (p->iterations - p->iteration) / rate : 0.0, left, sizeof left);
    int filled = (int)(20.0 * p->iteration / p->iterations);
    for (int i = 0; i < 20; i++)
        bar[i] = i < filled ? '#' : '.';
    bar[20] = '\0';
    char stage[32] = "";
    if (p->stages > 1)
        snprintf(stage, sizeof stage, "stage %d/%d ", p->stage, p->stages);
    fprintf(stderr, "\r%s[%s] %d/%d  loss %.4e  %.2f it/s  %s elapsed  %s left\033[K", bar, stage,
            p->iteration, p->iterations, p->loss, rate, elapsed, left);
    f->line_open = true;
}

static void print_line(cls_feedback *f, const cls_progress *p)
{
    cls_feedback_end_line(f);
    if (p->stages > 1)
        fprintf(stderr, "stage %d/%d  ", p->stage, p->stages);
    fprintf(stderr,
            "iteration %d/%d  evals %d  loss %.6e  (content %.4e  style %.4e  tv %.4e)  %.1f s\n",
            p->iteration, p->iterations, p->evals, p->loss, p->content, p->style, p->tv,
            p->elapsed_s);
}

static void log_line(cls_feedback *f, const cls_progress *p)
{
    if (p->stages > 1)
        fprintf(f->log, "{\"stage\": %d, \"stages\": %d, \"width\": %d, \"height\": %d, ", p->stage,
                p->stages, p->width, p->height);
    else
        fputc('{', f->log);
    fprintf(f->log,
            "\"iter\": %d, \"evals\": %d, \"loss\": %.9g, \"content\": %.9g, \"style\": %.9g, "
            "\"tv\": %.9g, \"elapsed_s\": %.4f}\n",
            p->iteration, p->evals, p->loss, p->content, p->style, p->tv, p->elapsed_s);
    fflush(f->log);
}

/* Seconds the stages after the current one will take at `per` seconds per iteration of
 * the current one: an iteration's time grows with the pixels. */
static double later_stages(const cls_feedback *f, const cls_progress *p, double per)
{
    double seconds = 0.0;
    const double pixels = (double)p->width * p->height;
    for (int k = p->stage; k < f->stage_count && p->stages > 1; k++)
        seconds +=
            per * f->stages[k].iterations * f->stages[k].width * f->stages[k].height / pixels;
    return seconds;
}

/* After three iterations the speed is known: say how long the whole run (and with
 * several stages, this one) will take. The first iteration is left out, as it includes
 * compiling CLBlast's kernels. */
static void estimate(cls_feedback *f, const cls_progress *p)
{
    if (p->iteration == 1)
        f->first_iteration_s = stage_elapsed(f, p);
    if (f->estimate_shown || p->iteration < 3 || f->o->common.verbosity < 0)
        return;
    f->estimate_shown = true;
    char stage[32], run[32];
    const double per = (stage_elapsed(f, p) - f->first_iteration_s) / (p->iteration - 1);
    const double left = per * (p->iterations - p->iteration);
    duration(left, stage, sizeof stage);
    cls_feedback_end_line(f);
    if (p->stages > 1) {
        duration(left + later_stages(f, p, per), run, sizeof run);
        fprintf(stderr,
                "clstyle: %.2f s per iteration, about %s to go for this stage's %d iterations, "
                "%s for the run\n",
                per, stage, p->iterations, run);
    } else {
        fprintf(stderr, "clstyle: %.2f s per iteration, about %s to go for %d iterations\n", per,
                stage, p->iterations);
    }
}

/* A new stage of a multiscale run: say so, and time it afresh. */
static void begin_stage(cls_feedback *f, const cls_progress *p)
{
    f->stage = p->stage;
    f->stage_start_s = f->last_elapsed_s;
    f->estimate_shown = false;
    if (p->stages > 1 && f->o->common.verbosity >= 0) {
        cls_feedback_end_line(f);
        fprintf(stderr, "clstyle: stage %d/%d: %dx%d, %d iterations\n", p->stage, p->stages,
                p->width, p->height, p->iterations);
    }
}

static bool save_intermediate(cls_feedback *f, const cls_progress *p)
{
    char path[4096];
    cls_image image;
    cls_numbered_path(f->o->output, p->stages > 1 ? p->stage : 0, p->iteration, path, sizeof path);
    cls_status status = cls_transfer_current_image(p->run, &image);
    if (status == CLS_OK) {
        cls_write_options w = cls_write_options_default();
        w.png_depth = f->o->output_depth;
        w.jpeg_quality = f->o->jpeg_quality;
        cls_signals_block();
        status = cls_image_write(path, &image, &w);
        cls_signals_unblock();
        cls_image_free(&image);
    }
    if (status != CLS_OK) {
        f->error = status;
        snprintf(f->error_detail, sizeof f->error_detail, "%s", cls_last_error());
        return false;
    }
    return true;
}

int cls_feedback_progress(void *user, const cls_progress *p)
{
    cls_feedback *f = user;
    const cls_cli_options *o = f->o;
    if (p->stage != f->stage)
        begin_stage(f, p);
    f->last_elapsed_s = p->elapsed_s;
    if (f->log)
        log_line(f, p);
    if (o->common.verbosity >= 0) {
        estimate(f, p);
        if (o->print_every > 0 && p->iteration % o->print_every == 0)
            print_line(f, p);
        else if (f->tty && (now() - f->last_draw > 0.1 || p->iteration == p->iterations)) {
            draw(f, p);
            f->last_draw = now();
        }
    }
    if (o->save_every > 0 && p->iteration % o->save_every == 0 && !save_intermediate(f, p))
        return 1;
    return cls_signals_interrupted() ? 1 : 0;
}
