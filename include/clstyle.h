/*
 * clstyle: neural style transfer (Gatys, Ecker & Bethge) as a portable OpenCL engine.
 *
 * Usage:
 *
 *     cls_ctx_params cp = cls_ctx_params_default();
 *     cp.device_spec = "gpu";               // or NULL: $CLSTYLE_DEVICE, else first GPU
 *     cls_ctx *ctx = NULL;
 *     cls_model *model = NULL;
 *     char weights[4096];
 *     cls_status st = cls_ctx_create(&cp, &ctx);
 *     if (st == CLS_OK)
 *         st = cls_model_find(weights, sizeof weights);     // or name a .pth yourself
 *     if (st == CLS_OK)
 *         st = cls_model_load(ctx, weights, &model);
 *
 *     cls_image content = ..., style = ...;  // RGB floats 0..255, row by row
 *     cls_transfer_params tp = cls_transfer_params_default();
 *     tp.iterations = 500;
 *     cls_image out;
 *     cls_transfer_result result;
 *     if (st == CLS_OK)
 *         st = cls_transfer_run(ctx, model, &content, &style, 1, NULL, &tp, &out, &result);
 *     if (st != CLS_OK)
 *         fprintf(stderr, "%s: %s\n", cls_status_str(st), cls_last_error());
 *     ...use out.pixels...
 *     cls_image_free(&out);
 *     cls_model_destroy(model);
 *     cls_ctx_destroy(ctx);
 *
 * Every function that can fail returns a cls_status: CLS_OK (0) or a negative code.
 * OpenCL's own error codes are passed through unchanged; clstyle's start at -1024.
 * cls_last_error() then says what failed, in words, for the calling thread.
 * The library never prints, exits or aborts; diagnostics go to the log callback.
 * A context and everything made with it are used from one thread at a time.
 */
#ifndef CLSTYLE_H
#define CLSTYLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CLSTYLE_VERSION_MAJOR 0
#define CLSTYLE_VERSION_MINOR 1
#define CLSTYLE_VERSION_PATCH 0

/* The library's version as "MAJOR.MINOR.PATCH". */
const char *cls_version(void);

/* ---------------------------------------------------------------------------------------
 * Status codes
 * ------------------------------------------------------------------------------------- */

/* X(name, value, description). OpenCL's codes (-1 .. -72 and extensions) are not listed
 * here but are valid cls_status values too; cls_status_str() names them. */
#define CLS_STATUS_LIST(X)                                                                         \
    X(CLS_OK, 0, "success")                                                                        \
    X(CLS_ERR_INVALID_ARGUMENT, -1024, "invalid argument")                                         \
    X(CLS_ERR_OUT_OF_HOST_MEMORY, -1025, "out of host memory")                                     \
    X(CLS_ERR_NO_DEVICE, -1026, "no OpenCL device available")                                      \
    X(CLS_ERR_DEVICE_SPEC, -1027, "device selection matches no device or several")                 \
    X(CLS_ERR_KERNEL_BUILD, -1028, "OpenCL kernel build failed")                                   \
    X(CLS_ERR_KERNEL_SOURCE, -1029, "OpenCL kernel source missing or unreadable")                  \
    X(CLS_ERR_KERNEL_NOT_FOUND, -1030, "no such OpenCL kernel")                                    \
    X(CLS_ERR_IO, -1031, "file input/output error")                                                \
    X(CLS_ERR_CACHE_MISS, -1032, "kernel cache has no usable entry")                               \
    X(CLS_ERR_BLAS, -1033, "CLBlast failed")                                                       \
    X(CLS_ERR_BLAS_ARGUMENT, -1034, "CLBlast rejected its arguments")                              \
    X(CLS_ERR_UNSUPPORTED, -1035, "not supported by this device or build")                         \
    X(CLS_ERR_OUT_OF_DEVICE_MEMORY, -1036, "out of device memory")                                 \
    X(CLS_ERR_SHAPE, -1037, "tensor shapes do not fit together")                          \
    X(CLS_ERR_WEIGHTS_FORMAT, -1038, "weight file is malformed")                           \
    X(CLS_ERR_WEIGHTS_MISMATCH, -1039, "weight file does not fit the network")             \
    X(CLS_ERR_CANCELLED, -1040, "cancelled by the caller")                                 \
    X(CLS_ERR_NOT_FINITE, -1041, "loss or gradient is not a finite number")                \
    X(CLS_ERR_IMAGE_FORMAT, -1042, "image file is corrupt or not supported")               \
    X(CLS_ERR_IMAGE_TOO_LARGE, -1043, "image has more pixels than allowed")

#define CLS_STATUS_ENUM_ENTRY_(name, value, text) name = value,
typedef enum cls_status { CLS_STATUS_LIST(CLS_STATUS_ENUM_ENTRY_) } cls_status;
#undef CLS_STATUS_ENUM_ENTRY_

/* A static string naming the status: "CLS_ERR_NO_DEVICE: no OpenCL device available",
 * "CL_OUT_OF_RESOURCES", or "unknown status". Never NULL. */
const char *cls_status_str(cls_status status);

/* What the last failing call on this thread was doing when it failed: the call, the
 * OpenCL error name, the file, tensor or device involved, a build log. Empty string when
 * nothing has failed yet. Valid until the next failing call on the same thread. */
const char *cls_last_error(void);

/* ---------------------------------------------------------------------------------------
 * Logging: the library reports what it does through this callback, never to stdout.
 * ------------------------------------------------------------------------------------- */

typedef enum cls_log_level {
    CLS_LOG_WARN = 0,  /* something degraded but the call goes on (cache not writable) */
    CLS_LOG_INFO = 1,  /* what a user asked for with --verbose (device chosen, timings) */
    CLS_LOG_DEBUG = 2, /* details for developers (each cache lookup, build logs) */
} cls_log_level;

typedef void (*cls_log_fn)(void *user, cls_log_level level, const char *message);

/* ---------------------------------------------------------------------------------------
 * Devices
 * ------------------------------------------------------------------------------------- */

typedef enum cls_device_type {
    CLS_DEVICE_OTHER = 0,
    CLS_DEVICE_GPU = 1,
    CLS_DEVICE_CPU = 2,
    CLS_DEVICE_ACCELERATOR = 3,
} cls_device_type;

/* One row of the device table. Strings are NUL-terminated, truncated if longer. */
typedef struct cls_device_info {
    int index;          /* position in the table: what `--device N` selects */
    int platform_index; /* P of `--device P:D` */
    int device_index;   /* D of `--device P:D`: index within its platform */
    char platform[128]; /* CL_PLATFORM_NAME, e.g. "Portable Computing Language" */
    char platform_version[128];
    char name[128];   /* CL_DEVICE_NAME */
    char vendor[128]; /* CL_DEVICE_VENDOR */
    cls_device_type type;
    char version[128];       /* CL_DEVICE_VERSION, e.g. "OpenCL 3.0 PoCL ..." */
    char driver_version[64]; /* CL_DRIVER_VERSION */
    uint32_t compute_units;
    uint32_t native_float_width; /* CL_DEVICE_NATIVE_VECTOR_WIDTH_FLOAT: SIMD lanes */
    uint64_t global_mem_bytes;
    uint64_t max_alloc_bytes;
    uint64_t local_mem_bytes;
    bool fp16; /* cl_khr_fp16 */
    bool fp64; /* cl_khr_fp64 or a non-zero CL_DEVICE_DOUBLE_FP_CONFIG */
} cls_device_info;

/* "gpu", "cpu", "accelerator" or "other". */
const char *cls_device_type_str(cls_device_type type);

/* Enumerates every device of every OpenCL platform, in platform order. *out is allocated
 * by the library (free with cls_device_list_free); *count may be 0 with CLS_OK when an
 * ICD loader is present but reports no platform. */
cls_status cls_device_list(cls_device_info **out, size_t *count);
void cls_device_list_free(cls_device_info *list);

/* Picks one device from a table with a selection spec:
 *   NULL or ""           the first GPU, else the first device
 *   "2"                  index into the table
 *   "1:0"                platform index : device index within that platform
 *   "gpu", "cpu", "accelerator"  the first device of that type
 *   anything else        case-insensitive substring of the platform or device name;
 *                        it must match exactly one device
 * On a spec that matches nothing or several devices, returns CLS_ERR_DEVICE_SPEC and
 * cls_last_error() lists the devices. Does not read the environment. */
cls_status cls_device_select(const cls_device_info *list, size_t count, const char *spec,
                             size_t *selected);

/* Writes the table in aligned columns, one device a line, with a header line. Returns a
 * string allocated with malloc (caller frees) or NULL when out of memory. */
char *cls_device_table_format(const cls_device_info *list, size_t count);

/* ---------------------------------------------------------------------------------------
 * Context: one device, its queue and every clstyle kernel, built (or loaded from the
 * on-disk kernel cache) once at creation.
 * ------------------------------------------------------------------------------------- */

typedef struct cls_ctx cls_ctx;

typedef struct cls_ctx_params {
    /* Device selection spec (see cls_device_select). NULL: $CLSTYLE_DEVICE, else the
     * default choice. */
    const char *device_spec;
    /* Directory of compiled kernel binaries. NULL: $XDG_CACHE_HOME/clstyle, else
     * $HOME/.cache/clstyle. */
    const char *cache_dir;
    /* Never read or write compiled kernels on disk. Also set by
     * $CLSTYLE_NO_KERNEL_CACHE=1. */
    bool disable_cache;
    /* Read the .cl sources from this directory instead of the copies built into the
     * library. NULL: $CLSTYLE_KERNEL_DIR when set, else the built-in sources. */
    const char *kernel_dir;
    /* Create the command queue with profiling enabled (benchmarks). */
    bool profiling;
    /* Build every kernel program (one per cl/ file) in cls_ctx_create, as `clstyle check`
     * does, so a driver that cannot build one fails here. Otherwise each program is built
     * (or loaded from the kernel cache) when a kernel of it is first launched: a run builds
     * only what it uses, which on a fresh cache saves seconds (PoCL: about 7 s of a style
     * transfer's start on 2 cores). */
    bool build_all_kernels;
    /* Do not apply the CLBlast parameters `clstyle tune` stored for the device (in the
     * cache directory above). Also set by $CLSTYLE_NO_BLAS_TUNING=1. */
    bool no_blas_tuning;
    /* Same input, same image, on any machine with this OpenCL implementation and device:
     * every choice that changes the summation order comes from fixed rules on the device's
     * properties, never from timings. The 3x3 convolution algorithm of each layer is the
     * device rule's (cls_transfer_choose_algorithms times nothing, stored choices are not
     * read), and no tuned CLBlast parameters are applied (implies no_blas_tuning). Also
     * set by $CLSTYLE_REPRODUCIBLE=1. Without it a first run times both convolution
     * algorithms per layer shape and keeps the faster: reruns on that cache give the same
     * image, but a fresh cache may choose otherwise, and L-BFGS on style losses is chaotic
     * enough for that to change the picture. */
    bool reproducible;
    /* Receives progress and warnings; NULL discards them. */
    cls_log_fn log;
    void *log_user;
    /* Messages above this level are not formatted at all. */
    cls_log_level log_level;
} cls_ctx_params;

/* No device spec, default cache, built-in kernels, warnings only, no callback. */
cls_ctx_params cls_ctx_params_default(void);

/* How context creation went, and the kernel programs built since: where the time went and
 * what the kernel cache did. */
typedef struct cls_ctx_startup {
    double seconds_total;   /* from entering cls_ctx_create to a ready context */
    double seconds_kernels; /* building or loading kernel programs (so far: see below) */
    /* The kernel programs built so far (one per cl/ file): all of them in cls_ctx_create
     * with cls_ctx_params.build_all_kernels, else those the context has launched from. */
    int programs;
    int cache_hits;     /* programs loaded from the on-disk cache */
    int cache_rejected; /* cache files found but corrupt or mismatched, rebuilt */
    int compiled;       /* programs compiled from source */
    int blas_tuned_kernels; /* CLBlast kernels given stored tuned parameters (cls_ctx_tune_blas) */
} cls_ctx_startup;

cls_status cls_ctx_create(const cls_ctx_params *params, cls_ctx **out);
/* Saves the binaries of the kernel programs compiled from source during the context's life
 * to the kernel cache (seconds on PoCL, only after a run on a fresh cache), then frees
 * everything. NULL is a no-op. */
void cls_ctx_destroy(cls_ctx *ctx);

const cls_device_info *cls_ctx_device(const cls_ctx *ctx);
const cls_ctx_startup *cls_ctx_startup_stats(const cls_ctx *ctx);

/* Runs every self-check kernel on the context's device and compares with values computed
 * on the host: a quick way to find a broken driver before a long run. CLS_OK when the
 * device computes correctly; CLS_ERR_UNSUPPORTED with the mismatch in cls_last_error()
 * otherwise. */
cls_status cls_ctx_self_check(cls_ctx *ctx);

/* ---------------------------------------------------------------------------------------
 * Tuning: CLBlast ships tuned GEMM parameters for few devices (none for PoCL or recent
 * GPUs), and its defaults can be several times slower than tuned ones. cls_ctx_tune_blas
 * searches for better ones for the GEMM shapes of a style transfer (the Gram matrices of
 * the style layers and their gradients), checks every candidate's results against a run
 * with the parameters in use before, and stores the winner in the cache directory
 * ($XDG_CACHE_HOME/clstyle/blas-KEY.txt, KEY a hash of the platform, device, driver and
 * CLBlast versions). Every later cls_ctx_create on that device applies it. Only GPUs need
 * it: on other devices the Gram matrices run on clstyle's own kernels
 * (cls_ctx_gram_uses_clblast).
 * ------------------------------------------------------------------------------------- */

/* Whether the context's Gram matrices go through CLBlast (GPUs; $CLSTYLE_GRAM=clblast or
 * =kernel forces either), which tuning can speed up. */
bool cls_ctx_gram_uses_clblast(const cls_ctx *ctx);

/* Passed to the progress callback after each candidate and at each stage. */
typedef struct cls_tune_progress {
    const char *stage;   /* "baseline", "Xgemm", "XgemmDirect", "routing" */
    int candidate;       /* 1-based within the stage; 0 for stage messages and the parameters
                          * in use; -1, -2, ... for the best few timed again at the end */
    int candidates;      /* candidates the stage has (it may stop early on the budget) */
    const char *params;  /* the candidate's parameters, "MWG=64 NWG=64 ..." */
    double gflops;       /* its rate on the search shapes; 0 when rejected */
    double best_gflops;  /* the best of the stage so far, CLBlast's current ones included */
    const char *note;    /* NULL, or why the candidate was rejected, or a stage message */
    double elapsed_s;    /* since the tuning started */
} cls_tune_progress;

typedef void (*cls_tune_progress_fn)(void *user, const cls_tune_progress *progress);

typedef struct cls_tune_params {
    /* Seconds for the whole tuning; no new candidate starts once the search share of it is
     * spent (120). The first candidate's kernel compilation may overrun small budgets. */
    double time_budget_s;
    /* Image sizes whose Gram shapes are tuned: NULL for 256 and 512. The search times the
     * smallest size; the before/after report covers all. */
    const int *sizes;
    int size_count;
    /* 2 or 4: also tune for the batched products of Winograd F(m x m, 3 x 3) convolution of
     * VGG-19's layers (Cout x tiles = (Cout x Cin)(Cin x tiles)); 0: Gram shapes only. */
    int winograd_tile;
    cls_tune_progress_fn progress; /* NULL: none */
    void *progress_user;
} cls_tune_params;

/* 120 s, sizes 256 and 512, no callback. */
cls_tune_params cls_tune_params_default(void);

enum { CLS_TUNE_MAX_SHAPES = 64 };

/* One GEMM of the workload: row-major M x N = (M x K)(K x N). */
typedef struct cls_tune_shape {
    /* "relu1_1 256 Gram" (F F^T), "relu1_1 256 Gram grad" (S F) or "conv 64->64 256 F(4)" */
    char what[48];
    int m, n, k;
    /* Median of 3 runs each: before with the parameters in use, after with the winning
     * kernel of the path the new switch size picks for the shape. */
    double gflops_before, gflops_after;
} cls_tune_shape;

typedef struct cls_tune_result {
    int candidates_tried;    /* parameter sets compiled and run */
    int candidates_rejected; /* of which failed or computed wrong results */
    double seconds;
    bool stored;            /* the winner beat the parameters in use before and was stored */
    char path[4096];        /* the tuning file */
    char params[1024];      /* what was stored: one "Kernel: NAME=V ..." line per kernel */
    double total_s_before, total_s_after; /* all shapes once */
    int shape_count;
    cls_tune_shape shapes[CLS_TUNE_MAX_SHAPES];
} cls_tune_result;

/* Tunes CLBlast's SGEMM for ctx's device (see above) and, when the result is more than 2%
 * faster over all shapes than what the device used before, stores it and leaves it
 * applied; otherwise the previous parameters stay in use, and when the device has no tuning
 * file yet one saying that CLBlast's parameters were best is stored (an existing file is
 * kept). CLS_ERR_IO when the file cannot be written (nothing is applied then). Tune with a context created with no_blas_tuning to start from CLBlast's own
 * defaults. Other contexts on the same device in this process see the new parameters too
 * (CLBlast keeps them per device). */
cls_status cls_ctx_tune_blas(cls_ctx *ctx, const cls_tune_params *params, cls_tune_result *result);

/* ---------------------------------------------------------------------------------------
 * Models: VGG-19 or VGG-16 weights as torchvision publishes them
 * ------------------------------------------------------------------------------------- */

typedef struct cls_model cls_model;

/* Loads a weight file: safetensors (F32, F16 or BF16), a PyTorch checkpoint (.pth, zip or
 * the legacy format of torchvision's vgg19-dcbb9e9d.pth), recognised by content. Only the
 * features.{i}.weight / .bias tensors are read; every one is checked for shape and for
 * NaN/Inf. */
cls_status cls_model_load(cls_ctx *ctx, const char *path, cls_model **out);

/* Checks without a device what cls_model_load checks before it reads values: the file's
 * format, the architecture, and every convolution's tensors and shapes, with the same
 * errors. The CLI calls it before opening the device, so a damaged or wrong file is
 * reported at once rather than after the device's start-up. NaN/Inf values and data errors
 * (a bad CRC) are found only by cls_model_load, which reads the values. */
cls_status cls_model_check(const char *path);
void cls_model_destroy(cls_model *model); /* NULL is a no-op */

/* "vgg19" or "vgg16". */
const char *cls_model_arch(const cls_model *model);

/* Device memory the model holds now, in bytes: the loaded weights and the derived weights
 * made so far (add it to cls_transfer_plan_bytes). */
size_t cls_model_device_bytes(const cls_model *model);

/* Where clstyle looks for weights when none are named: $CLSTYLE_MODEL, else
 * $XDG_DATA_HOME/clstyle/vgg19.pth or .safetensors (default ~/.local/share), else
 * torchvision's download cache ($TORCH_HOME/hub/checkpoints/vgg19-dcbb9e9d.pth, default
 * ~/.cache/torch). Writes the first existing file into buf; CLS_ERR_IO when there is none,
 * with every place tried and how to get the weights in cls_last_error(). */
cls_status cls_model_find(char *buf, size_t size);

/* The same for VGG-16, the loss network of training: $CLSTYLE_VGG16, else
 * $XDG_DATA_HOME/clstyle/vgg16.pth or .safetensors (where `tools/fetch-model.sh vgg16`
 * installs it), else torchvision's cache (vgg16-397923af.pth). */
cls_status cls_model_find_vgg16(char *buf, size_t size);

/* ---------------------------------------------------------------------------------------
 * Images: RGB, interleaved, float values in 0..255
 * ------------------------------------------------------------------------------------- */

typedef struct cls_image {
    int width, height;
    float *pixels; /* width * height * 3 values: row by row, R G B per pixel */
} cls_image;

/* Allocates pixels (zeroed); free with cls_image_free. */
cls_status cls_image_alloc(cls_image *image, int width, int height);
void cls_image_free(cls_image *image); /* frees pixels and zeroes the struct */

/* ---------------------------------------------------------------------------------------
 * Style transfer (Gatys et al.): optimise an image so that its VGG features match the
 * content image's and its Gram matrices match the style images'.
 * ------------------------------------------------------------------------------------- */

typedef enum cls_optimizer {
    CLS_OPTIMIZER_LBFGS = 0, /* torch.optim.LBFGS semantics */
    CLS_OPTIMIZER_ADAM = 1,  /* torch.optim.Adam semantics */
} cls_optimizer;

typedef enum cls_init {
    CLS_INIT_CONTENT = 0, /* start from the content image */
    CLS_INIT_RANDOM = 1,  /* Gaussian noise, sigma 90, from params.seed */
    CLS_INIT_STYLE = 2,   /* the first style image (it must have the content's size) */
    CLS_INIT_IMAGE = 3,   /* params.init_image (the content's size) */
} cls_init;

typedef enum cls_pooling {
    CLS_POOLING_MAX = 0,
    CLS_POOLING_AVG = 1,
} cls_pooling;

typedef enum cls_normalization {
    /* content: mean of (F - P)^2; Gram F F^T / (C H W); style per layer: sum of (G - A)^2;
     * the layers averaged (or weighted by style_layer_weights, normalised to sum 1). */
    CLS_NORMALIZATION_DEFAULT = 0,
    /* Gatys et al.'s paper: content 1/2 sum (F - P)^2; Gram F F^T; style per layer
     * sum (G - A)^2 / (4 N^2 M^2), N channels and M = H W. */
    CLS_NORMALIZATION_PAPER = 1,
} cls_normalization;

/* Colour matching of the style images to the content image, before the run (Gatys et al.
 * 2017, "Controlling Perceptual Factors in Neural Style Transfer"): the style's colours
 * become the content's, so the result keeps the content's palette while the style's
 * textures are transferred. --original-colors does the like on the output instead. */
typedef enum cls_color_match {
    CLS_COLOR_MATCH_NONE = 0,
    /* The affine map x -> A (x - mu_s) + mu_c on RGB pixels, A = Sigma_c^(1/2) Sigma_s^(-1/2)
     * (symmetric square roots): the style gets the content's RGB mean and covariance. */
    CLS_COLOR_MATCH_MEAN_COV = 1,
    /* Per channel, exact histogram matching: the style's values in sorted order (ties by
     * pixel index) get the content's quantiles at (rank + 0.5) / style pixels. */
    CLS_COLOR_MATCH_HISTOGRAM = 2,
} cls_color_match;

typedef struct cls_transfer cls_transfer;

/* Passed to the progress callback after every iteration. Losses are weighted, so
 * loss = content + style + tv. */
typedef struct cls_progress {
    int iteration;     /* 1-based */
    int iterations;    /* requested */
    int evals;         /* network evaluations so far (L-BFGS' line search adds some) */
    double loss, content, style, tv;
    double elapsed_s;  /* since the optimisation started (targets excluded) */
    cls_transfer *run; /* for cls_transfer_current_image() during the callback */
    /* Multiscale (cls_transfer_params.multiscale): the stage, 1-based, of stages, and its
     * image size; iteration, iterations and evals count within the stage, elapsed_s from the
     * first stage's start. A single-scale run is stage 1 of 1 at the content's size. */
    int stage, stages;
    int width, height;
} cls_progress;

/* Return 0 to go on, anything else to stop: the run then ends cleanly with the current
 * image as its output and result.cancelled set. */
typedef int (*cls_progress_fn)(void *user, const cls_progress *progress);

/* Polled on the calling thread while the run prepares (before and after each style image's
 * and the content's features are computed) and after every iteration; return nonzero to
 * stop. Before the first iteration cls_transfer_run then returns CLS_ERR_CANCELLED and no
 * image; afterwards the run ends as when the progress callback returns nonzero. A signal
 * handler or another thread sets what it reads (e.g. an atomic flag). */
typedef int (*cls_cancel_fn)(void *user);

typedef struct cls_transfer_params {
    int iterations;           /* 1000 */
    cls_optimizer optimizer;  /* L-BFGS */
    double learning_rate;     /* 0: the optimiser's default (L-BFGS 1, Adam 10) */
    int lbfgs_history;        /* 100 correction pairs */
    bool line_search;         /* L-BFGS strong-Wolfe line search (true); false: fixed steps */
    /* Evaluations one line search may take: 25 (torch.optim.LBFGS's max_ls; a search may run
     * past the run's budget of iterations * 5 / 4 evaluations, and the run stops after it, as
     * in PyTorch releases before pytorch/pytorch#135026), or 0: what is left of the budget, as
     * PyTorch does since (2.15). Both are checked against PyTorch. */
    int max_line_search;
    double content_weight;    /* 1e5 */
    double style_weight;      /* 3e4 */
    double tv_weight;         /* 1 */
    /* Comma-separated layer names of the model: conv (pre-ReLU), relu or pool outputs. */
    const char *content_layers; /* "conv4_2" */
    const char *style_layers;   /* "relu1_1,relu2_1,relu3_1,relu4_1,relu5_1" */
    /* One weight per style layer (normalised to sum 1), or NULL for equal weights. */
    const double *style_layer_weights;
    int style_layer_weight_count;
    cls_pooling pooling;             /* max */
    cls_normalization normalization; /* default */
    cls_init init;                   /* content */
    const cls_image *init_image;     /* for CLS_INIT_IMAGE */
    uint64_t seed;                   /* for CLS_INIT_RANDOM (0) */
    cls_progress_fn progress;        /* NULL: no callback */
    void *progress_user;
    cls_cancel_fn cancel;            /* NULL: only the progress callback can stop a run */
    void *cancel_user;
    /* Match the style images' colours to the content's before the targets are computed
     * (cls_image_match_colors on copies; the caller's images are not changed). With
     * CLS_INIT_STYLE the run starts from the matched first style image. (none) */
    cls_color_match color_match;
    /* neural-style's -normalize_gradients: each content and style loss layer's gradient is
     * divided by its L1 norm + 1e-8 before the layer's weight applies (the TV term is not
     * normalised). The gradient is then no longer the loss's, so a strong-Wolfe line search
     * would fail: allowed only with CLS_OPTIMIZER_ADAM or line_search false, otherwise
     * cls_transfer_run returns CLS_ERR_INVALID_ARGUMENT. (false) */
    bool normalize_gradients;
    /* Spatial control with guided Gram matrices (Gatys et al. 2017, "Controlling Perceptual
     * Factors in Neural Style Transfer"). A mask is an image of any size (resized to the
     * content's) read as one weight per pixel: the mean of its RGB values / 255.
     * style_masks: NULL, or style_mask_count (= the number of style images) masks, mask r
     * guiding style image r to its region of the result. Each style image is then a loss
     * term of its own: at every style layer, sum (G_r - A_r)^2 with A_r the Gram matrix of
     * the whole style image r and G_r = gram(F * m) / mean(m^2) for the mask m pooled to
     * the layer's size (2x2 means, as the network pools), so a mask of ones changes
     * nothing; the blend weights are scaled to mean 1, each style at full strength in its
     * region. content_mask: NULL, or where the content loss applies: the squared error of
     * each pixel times the mask. A mask that is 0 everywhere, or whose region vanishes at a
     * style layer, is CLS_ERR_INVALID_ARGUMENT. */
    const cls_image *style_masks;
    int style_mask_count;
    const cls_image *content_mask;
    /* Coarse-to-fine (crowsonkb's style-transfer-pytorch, neural-style's multires scripts):
     * the run goes through stages whose longer side grows by a factor of about sqrt(2), from
     * min_scale up to the content's (cls_transfer_stages). Each stage has about half the
     * pixels of the next; it stylises the content, style images and masks resized by the
     * stage's factor (area averaging down, as cls_image_resize), and starts from the previous
     * stage's result resized up; the first stage starts from init. The last stage runs
     * `iterations`, every earlier one stage_iterations (0: `iterations` too, so the earlier
     * stages together cost about as much as the last). The output has the content's size,
     * also when the run is cancelled or diverges in an earlier stage (its image resized up).
     * (false, 128, 0) */
    bool multiscale;
    int min_scale;        /* the first stage's longer side, at least 16 */
    int stage_iterations; /* iterations of every stage but the last; 0: `iterations` */
    /* Device memory the run may take in all, the model's weights included; 0 for the
     * device's global memory. A run (or multiscale stage) whose plan does not fit
     * is tiled exactly: the network runs on overlapping tiles whose halo covers the receptive
     * field of the deepest layer used, each feature position taken from one tile, the Gram
     * matrices and losses summed over tiles, each tile's gradient back-propagated from its own
     * positions; the loss and gradient equal the untiled ones (to float rounding, see
     * cls_transfer_plan). The largest tiles that fit are used. Not with masks or
     * normalize_gradients (CLS_ERR_OUT_OF_DEVICE_MEMORY says so). Before tiling, L-BFGS
     * moves its history to host memory (cls_transfer_plan_info.history_on_host). (0) */
    size_t max_device_bytes;
} cls_transfer_params;

/* The defaults above: the settings of gordicaleksa/pytorch-neural-style-transfer. */
cls_transfer_params cls_transfer_params_default(void);

typedef struct cls_transfer_result {
    int iterations, evals;
    double loss, content, style, tv; /* of the output image's last evaluation, weighted */
    bool cancelled;                  /* the progress callback stopped the run */
    const char *stop_reason;         /* static text: why the optimiser stopped */
    size_t device_bytes;             /* device memory the run allocated (weights excluded) */
    double seconds;                  /* the optimisation (targets excluded) */
} cls_transfer_result;

enum { CLS_MAX_STAGES = 32 };

typedef struct cls_stage {
    int width, height, iterations;
} cls_stage;

/* The stages a run for a content image of width x height goes through, smallest first, into
 * stages[CLS_MAX_STAGES]; returns their count. One stage (the content's size, `iterations`)
 * without multiscale or when the longer side is at most min_scale. With multiscale the
 * longer sides are L / sqrt(2)^k for k = K-1 .. 0 (L the content's), K the most that keeps
 * the first at least min_scale, at most CLS_MAX_STAGES; a stage whose shorter side would be
 * below 16 pixels (what the deepest VGG layers need) is left out. Returns 0 with the error
 * set for invalid parameters (a min_scale below 16, negative stage_iterations). */
int cls_transfer_stages(int width, int height, const cls_transfer_params *params,
                        cls_stage stages[CLS_MAX_STAGES]);

/* How a run for a content image of width x height uses the device (cls_transfer_plan). */
typedef struct cls_transfer_plan_info {
    size_t device_bytes;  /* what it allocates, the model's weights excluded */
    size_t untiled_bytes; /* what it would untiled (= device_bytes when untiled) */
    int tile;             /* pixels a tile owns each way; 0: untiled */
    int tiles, halo;      /* how many tiles; the pixels around each that it runs too */
    int region_width, region_height; /* the largest tile with its halo */
    /* L-BFGS keeps its history (and the vectors it only copies) in host memory, host_bytes
     * of it, and uploads each history vector when an iteration needs it: chosen when the
     * run does not fit the device otherwise and the history takes at most half of the
     * host's memory; the results are the same as with the history on the device. */
    bool history_on_host;
    size_t host_bytes;
} cls_transfer_plan_info;

/* Plans a run without allocating: whether it fits params->max_device_bytes (or the device)
 * whole or in tiles, and what it then needs. CLS_ERR_OUT_OF_DEVICE_MEMORY, saying how much
 * is needed and for what, when not even the smallest tiles fit (the image itself, the
 * optimiser's device vectors and the targets stay whole on the device). With tiles, max pooling and
 * ReLU decisions on values within float rounding of a tie can differ from an untiled run's
 * (Winograd's sums depend on the image size); the tests hold losses to 1e-4 and gradients
 * to 1e-4 with direct convolution. */
cls_status cls_transfer_plan(const cls_model *model, int width, int height,
                             const cls_transfer_params *params, cls_transfer_plan_info *plan);

/* Device memory a run would allocate for a content image of width x height, without
 * allocating: activations, optimiser state, scratch, and the derived weights (Winograd-
 * transformed or flipped) the model does not hold yet; the loaded weights themselves are
 * cls_model_device_bytes. A multiscale run's stages run one after another, each freeing
 * what it took, so its last stage (the content's size) is what it needs. Tiled when the whole
 * does not fit (cls_transfer_plan); CLS_ERR_OUT_OF_DEVICE_MEMORY when not even tiles fit. */
cls_status cls_transfer_plan_bytes(const cls_model *model, int width, int height,
                                   const cls_transfer_params *params, size_t *bytes);

/* Chooses the convolution algorithm of every layer a run for a content image of width x
 * height uses, by timing the candidates on the device: once per device, driver and shape,
 * the choices kept in the cache directory, so later runs only read them (seconds at 512x512
 * the first time, nothing after). cls_transfer_run does this itself; calling it first makes
 * cls_transfer_plan_bytes exact and lets a caller say why the first run pauses. params (NULL:
 * the defaults): its cancel callback is polled between layers. A reproducible context
 * (cls_ctx_params.reproducible) times nothing. *measured (may be NULL): the layer shapes timed
 * now; with dry_run nothing is timed and *measured counts the shapes that would be. With
 * params->multiscale, the shapes of every stage. */
cls_status cls_transfer_choose_algorithms(cls_model *model, int width, int height,
                                          const cls_transfer_params *params, bool dry_run,
                                          int *measured);

/* Stylises content with the style images (blend_weights: one per style image, normalised
 * to sum 1; NULL for equal). Style images may have any size. *output is allocated with the
 * content's size (free with cls_image_free) and holds clamp(x + mean, 0, 255). When the
 * loss becomes NaN or infinite, returns CLS_ERR_NOT_FINITE with *output holding the image
 * of the last finite iteration. */
cls_status cls_transfer_run(cls_ctx *ctx, cls_model *model, const cls_image *content,
                            const cls_image *styles, int style_count,
                            const double *blend_weights, const cls_transfer_params *params,
                            cls_image *output, cls_transfer_result *result);

/* During a progress callback: a copy of the current image (free with cls_image_free). */
cls_status cls_transfer_current_image(cls_transfer *run, cls_image *out);

/* Gives image the colours of content (same size): image's luminance with content's chroma
 * (YCbCr), so only the style's textures and strokes are transferred. */
cls_status cls_image_original_colors(const cls_image *content, cls_image *image);

/* Gives style the colours of content (any sizes) in place, as described at cls_color_match:
 * the matched values are clamped to 0..255. Mean-cov clamps the covariances' eigenvalues
 * at 1e-5 of the largest (and at least 1e-8), so a flat or grey image gives a finite map.
 * CLS_COLOR_MATCH_NONE leaves style as it is. CLS_ERR_INVALID_ARGUMENT for a missing image
 * or an unknown method; CLS_ERR_OUT_OF_HOST_MEMORY. */
cls_status cls_image_match_colors(const cls_image *content, cls_color_match how, cls_image *style);

/* ---------------------------------------------------------------------------------------
 * Fast style (Johnson et al., "Perceptual Losses for Real-Time Style Transfer"): a trained
 * transformer network that stylises an image in one forward pass. The network is the
 * TransformerNet of pytorch/examples fast_neural_style, whose published models (candy,
 * mosaic, rain_princess, udnie) and state_dicts clstyle reads as they are:
 *
 *     cls_ffnet *net = NULL;
 *     cls_image out = {0};
 *     st = cls_ffnet_load(ctx, "candy.pth", &net);
 *     for (each frame)                       // one plan of device buffers per image size
 *         st = cls_ffnet_run(net, &frame, &out);
 *     cls_image_free(&out);
 *     cls_ffnet_destroy(net);
 * ------------------------------------------------------------------------------------- */

typedef struct cls_ffnet cls_ffnet;

/* Loads a TransformerNet state_dict (legacy or zip .pth, or safetensors; recognised by
 * content) onto ctx's device. Every tensor of the network must be there with its shape and
 * finite values; a tensor the network does not have is an error naming it, except the
 * instance norms' running_mean / running_var that old PyTorch versions saved (ignored, as
 * pytorch/examples does). CLS_ERR_WEIGHTS_MISMATCH for a file of another network (a VGG
 * file says so). */
cls_status cls_ffnet_load(cls_ctx *ctx, const char *path, cls_ffnet **out);

/* What cls_ffnet_load checks before reading any value (format, every tensor and shape),
 * without a device. */
cls_status cls_ffnet_check(const char *path);

void cls_ffnet_destroy(cls_ffnet *net); /* NULL is a no-op */

/* Device memory the network holds now: its weights and the derived (Winograd-transformed)
 * weights made so far. */
size_t cls_ffnet_device_bytes(const cls_ffnet *net);

/* Device memory a run on a width x height image would allocate now (the buffers of that
 * size and the derived weights not made yet), without allocating. CLS_ERR_SHAPE for an image
 * below 8 pixels on a side. */
cls_status cls_ffnet_plan_bytes(const cls_ffnet *net, int width, int height, size_t *bytes);

/* Stylises input (any size of at least 8 x 8; sides that are not multiples of 4 are padded by
 * reflection inside and cropped) into output, RGB 0..255 clamped. When output->pixels is
 * NULL it is allocated (free with cls_image_free); otherwise it must have the input's size
 * and is overwritten, so a stream of frames allocates nothing after the first: the device
 * buffers of the last size are kept for the next call of that size. */
cls_status cls_ffnet_run(cls_ffnet *net, const cls_image *input, cls_image *output);

/* Writes the network's weights as a safetensors file holding exactly TransformerNet's
 * state_dict with pytorch/examples' key names (float32), so PyTorch loads it with
 * TransformerNet().load_state_dict(safetensors.torch.load_file(path)) and cls_ffnet_load
 * reads it. The file is replaced atomically: on failure (a full disk, say) the previous file
 * at path is left as it was. */
cls_status cls_ffnet_save(cls_ffnet *net, const char *path);

/* A network with PyTorch's default initialisation of TransformerNet's layers (convolution
 * weights and biases uniform in +-1 / sqrt(fan_in), instance norms' weights 1 and biases 0),
 * drawn from seed: the start of a training run without --init. */
cls_status cls_ffnet_create_random(cls_ctx *ctx, uint64_t seed, cls_ffnet **out);

/* ---------------------------------------------------------------------------------------
 * Training a transformer network as pytorch/examples fast_neural_style `neural_style.py
 * train` does, on any OpenCL device: VGG-16 (torchvision's weights) as the loss network on
 * inputs normalised as torchvision expects, content loss at relu2_2, style loss of Gram
 * matrices (F F^T / (C H W) per image) at relu1_2, relu2_2, relu3_3 and relu4_3, Adam on
 * every weight. The network's output is not clamped during training.
 *
 *     cls_trainer *tr = NULL;
 *     cls_train_params tp = cls_train_params_default();
 *     st = cls_trainer_create(vgg16, net, &style, &tp, &tr);
 *     for (each batch of n <= tp.batch_size images, [n][3][S][S] floats 0..255)
 *         st = cls_trainer_step(tr, batch, n, &losses);
 *     st = cls_ffnet_save(net, "style.safetensors");
 *     cls_trainer_destroy(tr);
 * ------------------------------------------------------------------------------------- */

typedef struct cls_train_params {
    int batch_size;        /* images per step; default 4 */
    int image_size;        /* S: every training image is S x S (a multiple of 4); 256 */
    double content_weight; /* times the mean squared relu2_2 difference; 1e5 */
    double style_weight;   /* times the sum over the taps of mean squared Gram differences; 1e10 */
    double tv_weight;      /* times the sum of squared neighbour differences of the output; 0 */
    double learning_rate;  /* Adam's (betas 0.9, 0.999, eps 1e-8); 1e-3 */
} cls_train_params;

cls_train_params cls_train_params_default(void);

/* The weighted losses of one step, evaluated before its update. */
typedef struct cls_train_losses {
    double content, style, tv, total;
} cls_train_losses;

typedef struct cls_trainer cls_trainer;

/* Plans a trainer of net (whose weights it changes in place) with the loss network vgg16 (a
 * VGG-16 model on the same context) and the style image at the size it is used. The Adam
 * state starts fresh (step 0). CLS_ERR_WEIGHTS_MISMATCH when vgg16 is not VGG-16;
 * CLS_ERR_SHAPE when the style image or the training size is too small for the loss
 * network; CLS_ERR_OUT_OF_DEVICE_MEMORY saying how much a step needs. */
cls_status cls_trainer_create(cls_model *vgg16, cls_ffnet *net, const cls_image *style,
                              const cls_train_params *params, cls_trainer **out);
void cls_trainer_destroy(cls_trainer *trainer); /* NULL is a no-op */

/* The device memory a trainer of these parameters would take (its buffers and gradients,
 * both networks' activations and the Adam state, not the weights), without allocating. */
cls_status cls_trainer_plan_bytes(const cls_model *vgg16, const cls_ffnet *net,
                                  const cls_train_params *params, size_t *bytes);

/* The device memory the trainer holds, the same accounting. */
size_t cls_trainer_device_bytes(const cls_trainer *trainer);

/* One step on count (1 .. batch_size) images, images[count][3][S][S] planar RGB floats in
 * 0..255: the losses (before the update) into *losses, then one Adam update of every weight.
 * When a loss is not finite the weights are left as they were and CLS_ERR_NOT_FINITE says at
 * which step. */
cls_status cls_trainer_step(cls_trainer *trainer, const float *images, int count,
                            cls_train_losses *losses);

/* Steps taken so far. */
long cls_trainer_steps(const cls_trainer *trainer);

#ifdef __cplusplus
}
#endif

#endif /* CLSTYLE_H */
