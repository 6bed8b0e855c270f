/* The training dataset: image files from a folder, decoded, resized and centre-cropped on the
 * host by a loader thread into batches while the device works on the previous batch. */
#ifndef CLS_TRAIN_DATASET_H
#define CLS_TRAIN_DATASET_H

#include "runtime/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Called once per skipped file (unreadable or corrupt), with the file and the reason. It is
 * called on the thread that calls cls_dataset_next_batch, never on the loader thread. */
typedef void (*cls_dataset_warn_fn)(void *user, const char *message);

typedef struct cls_dataset_params {
    const char *dir; /* read recursively; symlinked directories are not followed */
    int image_size;  /* S: the shorter side resized to S, then the centre S x S */
    int batch_size;  /* N >= 1 */
    bool shuffle;    /* a permutation per epoch, from shuffle_seed and the epoch number;
                        false: the sorted order every epoch */
    uint64_t shuffle_seed;
    int queue_batches; /* batches the loader may run ahead (0: 2) */
    cls_dataset_warn_fn warn;
    void *warn_user;
} cls_dataset_params;

typedef struct cls_dataset cls_dataset;

/* Lists the .png, .jpg and .jpeg files (any case) under dir, sorted byte-wise by their path
 * relative to dir ('/' separators): for files in dir/class/ the order of torchvision's
 * ImageFolder. CLS_ERR_IO when dir cannot be read, CLS_ERR_INVALID_ARGUMENT when it holds
 * no such file or a parameter is out of range; the message names dir. */
cls_status cls_dataset_open(const cls_dataset_params *params, cls_dataset **out);

size_t cls_dataset_file_count(const cls_dataset *dataset);

/* Starts the loader thread on epoch `epoch` (from 0). An epoch still running is stopped
 * first. */
cls_status cls_dataset_start_epoch(cls_dataset *dataset, int epoch);

/* Blocks until the next batch is ready and copies it into batch: N x 3 x S x S floats (the
 * planes R, G, B of each image, values 0..255). *count is the number of images in it:
 * batch_size, fewer in the last batch of an epoch, 0 once the epoch is over. Files that
 * cannot be read are skipped (warn, stats.skipped) and the batch is filled from the next
 * ones. CLS_ERR_IMAGE_FORMAT when a whole epoch gave no image; another error when the loader
 * failed (out of memory); CLS_ERR_INVALID_ARGUMENT before cls_dataset_start_epoch. */
cls_status cls_dataset_next_batch(cls_dataset *dataset, float *batch, int *count);

typedef struct cls_dataset_stats {
    size_t skipped;  /* distinct files skipped (each is read and warned about once) */
    double wait_s;   /* time cls_dataset_next_batch was blocked waiting for the loader */
    double decode_s; /* loader time spent reading, decoding, resizing and cropping */
    size_t images;   /* images delivered in batches */
} cls_dataset_stats;

/* Totals over every epoch so far. */
void cls_dataset_get_stats(const cls_dataset *dataset, cls_dataset_stats *stats);

/* Stops and joins the loader (at any point, also mid-epoch) and frees everything; NULL ok. */
void cls_dataset_close(cls_dataset *dataset);

#endif
