/* The training dataset reader: lists a folder's images, and a loader thread decodes, resizes
 * and crops them into a bounded queue of batches ahead of the consumer. */
#include "train/dataset.h"
#include "io/io.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

/* Nested folders deeper than this are refused (symlinked folders are not followed, so only a
 * real tree this deep, or a bind-mount loop, gets here). */
#define MAX_DEPTH 64

/* The message of a loader error, copied out of the loader's thread-local detail. */
#define MESSAGE_SIZE 2048

struct cls_dataset {
    char *dir;
    char **files; /* full paths "dir/relative", sorted with strcmp (same as the relative ones) */
    size_t file_count;
    bool *bad;     /* files that failed to read: warned about once, then left out */
    size_t *order; /* this epoch's order of files */
    int image_size, batch_size, queue_batches;
    bool shuffle;
    uint64_t shuffle_seed;
    size_t image_floats, batch_floats;
    cls_dataset_warn_fn warn;
    void *warn_user;

    pthread_mutex_t mutex;
    pthread_cond_t not_empty, not_full;
    /* Everything below is guarded by mutex. The slots form a ring: `filled` ready batches from
     * `head`; the loader fills slot (head + filled) % queue_batches before it publishes it. */
    float *slots;
    int *slot_count;
    int head, filled;
    bool started, running, cancel, done;
    pthread_t thread;
    cls_status loader_status;
    char loader_message[MESSAGE_SIZE];
    char *first_failure; /* the reason of the first skipped file, for the all-failed error */
    char **warnings;     /* pending messages for warn, delivered by next_batch */
    size_t warning_count;
    cls_dataset_stats stats;
};

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* ---- listing ---------------------------------------------------------------------------- */

typedef struct file_list {
    char **paths;
    size_t count, capacity;
} file_list;

static bool has_image_extension(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot && (strcasecmp(dot, ".png") == 0 || strcasecmp(dot, ".jpg") == 0 ||
                   strcasecmp(dot, ".jpeg") == 0);
}

static char *join_path(const char *dir, const char *name)
{
    size_t a = strlen(dir), b = strlen(name);
    char *path = malloc(a + b + 2);
    if (path) {
        memcpy(path, dir, a);
        path[a] = '/';
        memcpy(path + a + 1, name, b + 1);
    }
    return path;
}

static cls_status list_add(file_list *list, char *path)
{
    if (list->count == list->capacity) {
        size_t capacity = list->capacity ? 2 * list->capacity : 256;
        char **paths = realloc(list->paths, capacity * sizeof *paths);
        if (!paths) {
            free(path);
            return cls_error(CLS_ERR_OUT_OF_HOST_MEMORY, "allocating the dataset's file list");
        }
        list->paths = paths;
        list->capacity = capacity;
    }
    list->paths[list->count++] = path;
    return CLS_OK;
}

/* Adds the image files under path (a directory) to list; symlinked directories are skipped
 * (no loops), symlinked files are followed, anything but a regular file is left out (a FIFO
 * would block the loader). */
static cls_status list_dir(const char *root, const char *path, int depth, file_list *list)
{
    cls_status status = CLS_OK;
    char *child = NULL;
    DIR *dir = NULL;
    if (depth > MAX_DEPTH) {
        status = cls_error(CLS_ERR_IO, "dataset %s: folders nested deeper than %d at %s", root,
                           MAX_DEPTH, path);
        goto fail;
    }
    dir = opendir(path);
    if (!dir) {
        if (depth == 0)
            status = cls_error(CLS_ERR_IO, "cannot open the dataset directory %s: %s", path,
                               strerror(errno));
        else
            status = cls_error(CLS_ERR_IO, "dataset %s: cannot open the directory %s: %s", root,
                               path, strerror(errno));
        goto fail;
    }
    for (;;) {
        errno = 0;
        struct dirent *entry = readdir(dir);
        if (!entry) {
            if (errno != 0) {
                status = cls_error(CLS_ERR_IO, "dataset %s: cannot read the directory %s: %s", root,
                                   path, strerror(errno));
                goto fail;
            }
            break;
        }
        const char *name = entry->d_name;
        if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
            continue;
        child = join_path(path, name);
        CLS_CHECK_ALLOC(child, "a dataset file name");
        struct stat st;
        bool image = false;
        if (lstat(child, &st) == 0) {
            if (S_ISDIR(st.st_mode)) {
                CLS_TRY(list_dir(root, child, depth + 1, list));
            } else if (S_ISLNK(st.st_mode)) {
                image = has_image_extension(name) && stat(child, &st) == 0 && S_ISREG(st.st_mode);
            } else {
                image = S_ISREG(st.st_mode) && has_image_extension(name);
            }
        }
        if (image) {
            status = list_add(list, child);
            child = NULL; /* the list owns it, or list_add freed it */
            if (status != CLS_OK)
                goto fail;
        }
        free(child);
        child = NULL;
    }
fail:
    free(child);
    if (dir)
        closedir(dir);
    return status;
}

static int compare_paths(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* ---- one image -------------------------------------------------------------------------- */

/* Python's round() of k / 2.0: halves go to the even neighbour. */
static int round_half_even_half(int k)
{
    int q = k / 2;
    return k % 2 == 0 || q % 2 == 0 ? q : q + 1;
}

/* The size torchvision's Resize(S) gives a w x h image: the shorter side S, the longer
 * int(S * long / short) (truncated; the product is exact in a double). */
static void resized_size(int w, int h, int s, int *out_w, int *out_h)
{
    int shorter = w <= h ? w : h, longer = w <= h ? h : w;
    int64_t scaled = (int64_t)((double)((int64_t)s * longer) / (double)shorter);
    int new_long = scaled > INT32_MAX ? INT32_MAX : (int)scaled;
    *out_w = w <= h ? s : new_long;
    *out_h = w <= h ? new_long : s;
}

/* Reads path into dst (3 planes of S x S), as torchvision's Resize(S) then CenterCrop(S).
 * Sets *skip for a file that cannot be used (anything but running out of memory). */
static cls_status load_image(const cls_dataset *d, const char *path, float *dst, bool *skip)
{
    cls_status status = CLS_OK;
    cls_image raw = {0}, sized = {0};
    const cls_image *src = &raw;
    const int s = d->image_size;
    cls_read_options options = cls_read_options_default();
    *skip = false;
    status = cls_image_read(path, &options, &raw);
    if (status != CLS_OK) {
        *skip = status != CLS_ERR_OUT_OF_HOST_MEMORY;
        goto fail;
    }
    int w, h;
    resized_size(raw.width, raw.height, s, &w, &h);
    /* torchvision returns the image unchanged when the size would not change (shorter side
     * already S). Otherwise cls_image_resize: area averaging (a box filter with exact
     * coverage) where it shrinks, bilinear with half-pixel centres where it grows. PIL's
     * antialiased bilinear (torchvision's default on PIL images) is the same when growing but
     * shrinks with a triangle filter twice as wide (smoother), and rounds to 8 bits after
     * each pass; values here stay float. Uniform areas are the same either way; edges
     * differ by a few levels. */
    if (w != raw.width || h != raw.height) {
        if ((uint64_t)w * (uint64_t)h > options.max_pixels) {
            status = cls_error(CLS_ERR_IMAGE_TOO_LARGE,
                               "%s: %dx%d resized to %dx%d for a %d-pixel crop is over the limit "
                               "of %llu pixels (aspect ratio too extreme)",
                               path, raw.width, raw.height, w, h, s,
                               (unsigned long long)options.max_pixels);
            *skip = true;
            goto fail;
        }
        CLS_TRY(cls_image_resize(&raw, w, h, &sized));
        src = &sized;
    }
    /* CenterCrop: top = int(round((h - S) / 2.0)), left likewise (both sides are >= S). */
    int top = round_half_even_half(src->height - s), left = round_half_even_half(src->width - s);
    size_t plane = (size_t)s * s;
    for (int y = 0; y < s; y++) {
        const float *row = src->pixels + ((size_t)(top + y) * src->width + left) * 3;
        float *r = dst + (size_t)y * s, *g = r + plane, *b = g + plane;
        for (int x = 0; x < s; x++) {
            r[x] = row[3 * x];
            g[x] = row[3 * x + 1];
            b[x] = row[3 * x + 2];
        }
    }
fail:
    cls_image_free(&raw);
    cls_image_free(&sized);
    return status;
}

/* ---- the loader thread ------------------------------------------------------------------ */

/* The slot to fill next, once one is free; -1 when cancelled. */
static int acquire_slot(cls_dataset *d)
{
    pthread_mutex_lock(&d->mutex);
    while (d->filled == d->queue_batches && !d->cancel)
        pthread_cond_wait(&d->not_full, &d->mutex);
    int slot = d->cancel ? -1 : (d->head + d->filled) % d->queue_batches;
    pthread_mutex_unlock(&d->mutex);
    return slot;
}

static void publish_slot(cls_dataset *d, int slot, int count)
{
    pthread_mutex_lock(&d->mutex);
    d->slot_count[slot] = count;
    d->filled++;
    pthread_cond_signal(&d->not_empty);
    pthread_mutex_unlock(&d->mutex);
}

static bool cancelled(cls_dataset *d)
{
    pthread_mutex_lock(&d->mutex);
    bool cancel = d->cancel;
    pthread_mutex_unlock(&d->mutex);
    return cancel;
}

/* Records a skipped file (the reason is this thread's error detail); false when out of
 * memory. */
static bool record_skip(cls_dataset *d, const char *path)
{
    const char *why = cls_last_error();
    char message[MESSAGE_SIZE];
    if (strstr(why, path))
        snprintf(message, sizeof message, "skipped an unreadable image: %s", why);
    else
        snprintf(message, sizeof message, "skipped the unreadable image %s: %s", path, why);
    char *copy = strdup(message);
    char *first = d->first_failure ? NULL : strdup(why);
    bool ok = copy && (d->first_failure || first);
    pthread_mutex_lock(&d->mutex);
    if (first)
        d->first_failure = first;
    if (copy)
        d->warnings[d->warning_count++] = copy;
    d->stats.skipped++;
    pthread_mutex_unlock(&d->mutex);
    return ok;
}

static void *loader_main(void *arg)
{
    cls_dataset *d = arg;
    cls_status status = CLS_OK;
    int slot = -1, fill = 0;
    size_t loaded = 0;
    for (size_t k = 0; k < d->file_count; k++) {
        size_t f = d->order[k];
        if (d->bad[f])
            continue;
        if (slot < 0) {
            slot = acquire_slot(d);
            if (slot < 0)
                goto done;
            fill = 0;
        } else if (cancelled(d)) {
            goto done;
        }
        float *dst = d->slots + (size_t)slot * d->batch_floats + (size_t)fill * d->image_floats;
        bool skip;
        double started = now_s();
        status = load_image(d, d->files[f], dst, &skip);
        double took = now_s() - started;
        pthread_mutex_lock(&d->mutex);
        d->stats.decode_s += took;
        pthread_mutex_unlock(&d->mutex);
        if (status != CLS_OK && skip) {
            d->bad[f] = true;
            status = CLS_OK;
            if (!record_skip(d, d->files[f])) {
                status = cls_error(CLS_ERR_OUT_OF_HOST_MEMORY, "allocating a dataset warning");
                goto done;
            }
            continue;
        }
        if (status != CLS_OK) {
            cls_error_context(status, "dataset %s: reading %s", d->dir, d->files[f]);
            goto done;
        }
        loaded++;
        if (++fill == d->batch_size) {
            publish_slot(d, slot, fill);
            slot = -1;
        }
    }
    if (slot >= 0 && fill > 0)
        publish_slot(d, slot, fill);
    if (loaded == 0) {
        status = cls_error(CLS_ERR_IMAGE_FORMAT, "all %zu files of %s failed to decode%s%s",
                           d->file_count, d->dir, d->first_failure ? "; the first: " : "",
                           d->first_failure ? d->first_failure : "");
    }
done:
    pthread_mutex_lock(&d->mutex);
    d->done = true;
    d->loader_status = status;
    if (status != CLS_OK)
        snprintf(d->loader_message, sizeof d->loader_message, "%s", cls_last_error());
    pthread_cond_broadcast(&d->not_empty);
    pthread_mutex_unlock(&d->mutex);
    return NULL;
}

/* Stops the loader of the current epoch, if any, and waits for it. */
static void stop_loader(cls_dataset *d)
{
    pthread_mutex_lock(&d->mutex);
    bool running = d->running;
    d->cancel = true;
    pthread_cond_broadcast(&d->not_full);
    pthread_cond_broadcast(&d->not_empty);
    pthread_mutex_unlock(&d->mutex);
    if (running)
        pthread_join(d->thread, NULL);
    pthread_mutex_lock(&d->mutex);
    d->running = false;
    pthread_mutex_unlock(&d->mutex);
}

/* ---- shuffling -------------------------------------------------------------------------- */

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Uniform in [0, bound), without modulo bias. */
static uint64_t random_below(uint64_t *state, uint64_t bound)
{
    uint64_t threshold = (0 - bound) % bound;
    for (;;) {
        uint64_t r = splitmix64(state);
        if (r >= threshold)
            return r % bound;
    }
}

static void make_order(cls_dataset *d, int epoch)
{
    for (size_t i = 0; i < d->file_count; i++)
        d->order[i] = i;
    if (!d->shuffle)
        return;
    uint64_t state = d->shuffle_seed ^ (0xD1B54A32D192ED03ull * ((uint64_t)epoch + 1));
    splitmix64(&state);
    for (size_t i = d->file_count - 1; i > 0; i--) {
        size_t j = (size_t)random_below(&state, (uint64_t)i + 1);
        size_t t = d->order[i];
        d->order[i] = d->order[j];
        d->order[j] = t;
    }
}

/* ---- the API ---------------------------------------------------------------------------- */

/* Frees what a dataset owns besides its thread and locks, and the dataset. */
static void free_dataset(cls_dataset *d)
{
    for (size_t i = 0; i < d->warning_count; i++)
        free(d->warnings[i]);
    for (size_t i = 0; i < d->file_count; i++)
        free(d->files[i]);
    free(d->files);
    free(d->bad);
    free(d->order);
    free(d->warnings);
    free(d->slots);
    free(d->slot_count);
    free(d->first_failure);
    free(d->dir);
    free(d);
}

cls_status cls_dataset_open(const cls_dataset_params *p, cls_dataset **out)
{
    cls_status status = CLS_OK;
    cls_dataset *d = NULL;
    file_list list = {0};
    bool mutex_ready = false, empty_ready = false, full_ready = false;
    if (!out || !p || !p->dir || !*p->dir)
        return cls_error(CLS_ERR_INVALID_ARGUMENT, "dataset: no directory given");
    *out = NULL;
    if (p->image_size < 1 || p->image_size > 16384 || p->batch_size < 1 || p->batch_size > 65536 ||
        p->queue_batches < 0 || p->queue_batches > 1024)
        return cls_error(CLS_ERR_INVALID_ARGUMENT,
                         "dataset %s: image size %d (1..16384), batch size %d (1..65536) or "
                         "queue depth %d (0..1024) out of range",
                         p->dir, p->image_size, p->batch_size, p->queue_batches);

    d = calloc(1, sizeof *d);
    CLS_CHECK_ALLOC(d, "a dataset");
    d->dir = strdup(p->dir);
    CLS_CHECK_ALLOC(d->dir, "the dataset's directory name");
    for (size_t n = strlen(d->dir); n > 1 && d->dir[n - 1] == '/'; n--)
        d->dir[n - 1] = '\0';
    d->image_size = p->image_size;
    d->batch_size = p->batch_size;
    d->queue_batches = p->queue_batches ? p->queue_batches : 2;
    d->image_floats = (size_t)3 * p->image_size * p->image_size;
    d->batch_floats = d->image_floats * (size_t)p->batch_size;
    d->warn = p->warn;
    d->warn_user = p->warn_user;
    d->shuffle = p->shuffle;
    d->shuffle_seed = p->shuffle_seed;

    CLS_TRY(list_dir(d->dir, d->dir, 0, &list));
    if (list.count == 0) {
        status = cls_error(CLS_ERR_INVALID_ARGUMENT,
                           "no .png, .jpg or .jpeg files in the dataset directory %s (searched "
                           "recursively)",
                           d->dir);
        goto fail;
    }
    qsort(list.paths, list.count, sizeof *list.paths, compare_paths);
    d->files = list.paths;
    d->file_count = list.count;
    list.paths = NULL;
    d->bad = calloc(d->file_count, sizeof *d->bad);
    CLS_CHECK_ALLOC(d->bad, "the dataset's file flags");
    d->order = malloc(d->file_count * sizeof *d->order);
    CLS_CHECK_ALLOC(d->order, "the dataset's order");
    d->warnings = calloc(d->file_count, sizeof *d->warnings);
    CLS_CHECK_ALLOC(d->warnings, "the dataset's warnings");
    d->slots = malloc((size_t)d->queue_batches * d->batch_floats * sizeof *d->slots);
    CLS_CHECK_ALLOC(d->slots, "the dataset's batch queue");
    d->slot_count = calloc((size_t)d->queue_batches, sizeof *d->slot_count);
    CLS_CHECK_ALLOC(d->slot_count, "the dataset's batch queue");

    if (pthread_mutex_init(&d->mutex, NULL) != 0)
        goto no_sync;
    mutex_ready = true;
    if (pthread_cond_init(&d->not_empty, NULL) != 0)
        goto no_sync;
    empty_ready = true;
    if (pthread_cond_init(&d->not_full, NULL) != 0)
        goto no_sync;
    full_ready = true;
    *out = d;
    return CLS_OK;
no_sync:
    status = cls_error(CLS_ERR_OUT_OF_HOST_MEMORY, "dataset %s: cannot create a mutex", d->dir);
fail:
    for (size_t i = 0; i < list.count && list.paths; i++)
        free(list.paths[i]);
    free(list.paths);
    if (d) {
        if (full_ready)
            pthread_cond_destroy(&d->not_full);
        if (empty_ready)
            pthread_cond_destroy(&d->not_empty);
        if (mutex_ready)
            pthread_mutex_destroy(&d->mutex);
        free_dataset(d);
    }
    return status;
}

size_t cls_dataset_file_count(const cls_dataset *d)
{
    return d ? d->file_count : 0;
}

cls_status cls_dataset_start_epoch(cls_dataset *d, int epoch)
{
    if (!d || epoch < 0)
        return cls_error(CLS_ERR_INVALID_ARGUMENT, "dataset: no dataset or a negative epoch");
    stop_loader(d);
    make_order(d, epoch);
    pthread_mutex_lock(&d->mutex);
    d->head = d->filled = 0;
    d->cancel = d->done = false;
    d->loader_status = CLS_OK;
    d->loader_message[0] = '\0';
    d->started = true;
    pthread_mutex_unlock(&d->mutex);

    /* The loader takes no signals: they stay with the application's threads. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int err = pthread_create(&d->thread, NULL, loader_main, d);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_mutex_lock(&d->mutex);
    d->running = err == 0;
    if (err != 0) {
        d->done = true;
        d->loader_status = CLS_ERR_OUT_OF_HOST_MEMORY;
        snprintf(d->loader_message, sizeof d->loader_message,
                 "dataset %s: cannot start the loader thread: %s", d->dir, strerror(err));
    }
    pthread_mutex_unlock(&d->mutex);
    if (err != 0)
        return cls_error(CLS_ERR_OUT_OF_HOST_MEMORY,
                         "dataset %s: cannot start the loader thread: %s", d->dir, strerror(err));
    return CLS_OK;
}

/* Hands the pending warnings to warn, outside the lock. */
static void deliver_warnings(cls_dataset *d, char **pending, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        if (d->warn)
            d->warn(d->warn_user, pending[i]);
        free(pending[i]);
    }
}

cls_status cls_dataset_next_batch(cls_dataset *d, float *batch, int *count)
{
    cls_status status = CLS_OK;
    char **pending = NULL;
    size_t pending_count = 0;
    if (count)
        *count = 0;
    if (!d || !batch || !count)
        return cls_error(CLS_ERR_INVALID_ARGUMENT, "dataset: no dataset, batch or count");
    pthread_mutex_lock(&d->mutex);
    if (!d->started) {
        pthread_mutex_unlock(&d->mutex);
        return cls_error(CLS_ERR_INVALID_ARGUMENT,
                         "dataset %s: next batch asked for before an epoch was started", d->dir);
    }
    if (d->filled == 0 && !d->done) {
        double started = now_s();
        while (d->filled == 0 && !d->done)
            pthread_cond_wait(&d->not_empty, &d->mutex);
        d->stats.wait_s += now_s() - started;
    }
    /* The warnings queued so far, with the batch they belong to (or before the error). */
    if (d->warning_count > 0) {
        pending = malloc(d->warning_count * sizeof *pending);
        if (pending) {
            memcpy(pending, d->warnings, d->warning_count * sizeof *pending);
            pending_count = d->warning_count;
            d->warning_count = 0;
        }
    }
    int slot = -1, n = 0;
    if (d->filled > 0) {
        slot = d->head;
        n = d->slot_count[slot];
    } else if (d->loader_status != CLS_OK) {
        status = cls_error(d->loader_status, "%s", d->loader_message);
    }
    pthread_mutex_unlock(&d->mutex);

    if (slot >= 0) {
        /* The slot stays the consumer's until it is released below: the loader only fills
         * slots outside the ready ones. */
        memcpy(batch, d->slots + (size_t)slot * d->batch_floats,
               (size_t)n * d->image_floats * sizeof *batch);
        pthread_mutex_lock(&d->mutex);
        d->head = (d->head + 1) % d->queue_batches;
        d->filled--;
        d->stats.images += (size_t)n;
        pthread_cond_signal(&d->not_full);
        pthread_mutex_unlock(&d->mutex);
        *count = n;
    }
    deliver_warnings(d, pending, pending_count);
    free(pending);
    return status;
}

void cls_dataset_get_stats(const cls_dataset *d, cls_dataset_stats *s)
{
    if (!s)
        return;
    memset(s, 0, sizeof *s);
    if (!d)
        return;
    /* The mutex is the one mutable part of a const dataset. */
    cls_dataset *m = (cls_dataset *)d;
    pthread_mutex_lock(&m->mutex);
    *s = m->stats;
    pthread_mutex_unlock(&m->mutex);
}

void cls_dataset_close(cls_dataset *d)
{
    if (!d)
        return;
    stop_loader(d);
    pthread_cond_destroy(&d->not_full);
    pthread_cond_destroy(&d->not_empty);
    pthread_mutex_destroy(&d->mutex);
    free_dataset(d);
}
