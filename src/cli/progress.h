/* What the user sees while a run works: a one-line progress bar on a terminal, plain
 * lines otherwise, the JSON lines log, and intermediate images. */
#ifndef CLS_CLI_PROGRESS_H
#define CLS_CLI_PROGRESS_H

#include "cli/options.h"

typedef struct cls_feedback {
    const cls_cli_options *o;
    FILE *log; /* --log, or NULL */
    bool tty;  /* stderr is a terminal: redraw one line */
    double last_draw;
    bool estimate_shown;
    double first_iteration_s; /* elapsed time at the end of iteration 1 */
    bool line_open;           /* the bar is on screen without a newline */
    cls_status error;         /* a failure inside the callback (writing an image), stops the run */
    cls_stage stages[CLS_MAX_STAGES]; /* the run's stages (cls_transfer_stages) */
    int stage_count;
    int stage;             /* the stage of the last callback, 1-based (0: none yet) */
    double stage_start_s;  /* elapsed time when it began */
    double last_elapsed_s; /* of the last callback */
    char error_detail[1024];
} cls_feedback;

/* Opens the log; CLS_ERR_IO when it cannot be created. */
cls_status cls_feedback_open(cls_feedback *f, const cls_cli_options *o);
void cls_feedback_close(cls_feedback *f);

/* The cls_progress_fn of the run: draws, logs, saves, and stops on an interrupt. */
int cls_feedback_progress(void *user, const cls_progress *p);

/* Ends the bar's line so the next message starts on its own. */
void cls_feedback_end_line(cls_feedback *f);

/* "out.png", stage 0, 100 -> "out_100.png"; stage 2 (of a multiscale run) -> "out_s2_100.png" */
void cls_numbered_path(const char *path, int stage, int iteration, char *buf, size_t size);

#endif
