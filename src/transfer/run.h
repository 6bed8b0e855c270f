/* The state of one style transfer run, shared by its parts: targets, the objective and the
 * optimisation loop. */
#ifndef CLS_TRANSFER_RUN_H
#define CLS_TRANSFER_RUN_H

#include "net/net.h"
#include "optim/vec.h"
#include "transfer/layers.h"

/* Losses of one evaluation, weighted. */
typedef struct cls_loss_terms {
    int eval;
    double total, content, style, tv;
} cls_loss_terms;

enum { CLS_TERMS_RING = 64 }; /* more than the evaluations of one line search */

/* Per style layer: the target Gram matrix and working space of the same size. */
typedef struct cls_style_slot {
    int layer, channels;
    cl_mem target, gram, grad_gram;
} cls_style_slot;

typedef struct cls_content_slot {
    int layer;
    cl_mem target;      /* with a content mask: the features times the mask's square root */
    float *target_host; /* a tiled run's target, in host memory instead (planes of C x H x W) */
    cl_mem mask;        /* the square root of the content mask at this layer, or NULL */
} cls_content_slot;

/* One style image's region at one style layer (style_masks): its mask at the layer's size,
 * the guided Gram's extra scale 1 / mean(mask^2), and the style image's own Gram target. */
typedef struct cls_region {
    cl_mem mask, target;
    double inv_energy;
} cls_region;

/* Exact tiling (tiled.c): a tile owns the pixels [y0, y1) x [x0, x1) and runs the network on
 * its region, those plus a halo, clipped to the image. */
typedef struct cls_tile {
    int y0, x0, y1, x1;
    int ry0, rx0, ry1, rx1;
} cls_tile;

typedef struct cls_tiling {
    int height, width; /* of the image tiled */
    int align;         /* the cumulative pooling stride to the deepest tap: origins' multiple */
    int halo, tile;    /* pixels; multiples of align */
    int count;         /* tiles; 0: the run is not tiled */
    cls_tile *tiles;
    int region_h, region_w;             /* the largest region: what the network is planned for */
    cl_mem x, grad;                     /* a region of the image, and its gradient */
    cl_mem masked, masked_grad, target; /* the largest tap's size */
    cl_mem own[2 * CLS_MAX_LAYER_LIST]; /* per tap: the positions the tile owns, 1 or 0 */
    float *mask_host;
} cls_tiling;

struct cls_transfer {
    cls_ctx *ctx;
    cls_model *model;
    cls_transfer_params params;
    int width, height;
    size_t n; /* 3 * width * height */

    cls_layer_list content_layers, style_layers;
    int taps[2 * CLS_MAX_LAYER_LIST], tap_count;
    cls_net *net;
    cls_content_slot content[CLS_MAX_LAYER_LIST];
    cls_style_slot style[CLS_MAX_LAYER_LIST];

    cl_mem x;      /* the image being optimised */
    float *x_good; /* on the host: the image after the last iteration with a finite loss */
    cl_mem losses; /* one float per content layer, per style layer, and tv */
    float *losses_host;

    /* style_masks: regions per style layer (0: no masks), their weights (the blend weights
     * scaled to mean 1) and region[layer * regions + r]; masked features and their
     * gradient, the size of the largest masked tap */
    int regions;
    double *region_weight;
    cls_region *region;
    cl_mem masked, masked_grad;

    /* normalize_gradients: one loss layer's own gradient, before it is normalised and
     * added, and the vector space its L1 norm is taken in */
    cl_mem layer_grad;
    cls_vec_space norm_space;

    cls_tiling tiling;                    /* count 0: untiled */
    bool history_on_host;                 /* L-BFGS keeps its history in host memory */
    cls_loss_terms terms[CLS_TERMS_RING]; /* by evaluation number, modulo the ring */
    double start;
    size_t device_bytes;
};

/* Everything cls_transfer_run does before the optimiser: inputs checked, style images
 * colour-matched, buffers, targets and the start image (in x). Close with
 * cls_transfer_close; the tests evaluate the objective of an open run. */
cls_status cls_transfer_open(cls_ctx *ctx, cls_model *model, const cls_image *content,
                             const cls_image *styles, int style_count, const double *blend_weights,
                             const cls_transfer_params *params, cls_transfer **out);
void cls_transfer_close(cls_transfer *run); /* NULL is a no-op */

/* cls_transfer_open with exact tiling: tiles owning tile x tile pixels, a halo of `halo`
 * pixels (0: the receptive field of the deepest tap, cls_tiling_halo), the network planned
 * for the largest region. Not with masks or normalize_gradients (CLS_ERR_UNSUPPORTED). The
 * objective then equals the untiled one up to float rounding. */
cls_status cls_transfer_open_tiled(cls_ctx *ctx, cls_model *model, const cls_image *content,
                                   const cls_image *styles, int style_count,
                                   const double *blend_weights, const cls_transfer_params *params,
                                   int tile, int halo, cls_transfer **out);

/* The halo exact tiling needs up to layer `last`: the receptive field's radius (a 3 x 3
 * convolution adds one pixel at its stride, a 2 x 2 pooling one more), rounded up to a
 * multiple of *align, the cumulative pooling stride. */
int cls_tiling_halo(const cls_model *model, int last, int *align);
/* The tiles of an image of height x width for run's layers (tiled.c); cls_tiling_release
 * frees them and their buffers (cls_tiling_allocate, for run->tiling). */
cls_status cls_tiling_plan(const cls_transfer *run, int height, int width, int tile, int halo,
                           cls_tiling *tiling);
cls_status cls_tiling_allocate(cls_transfer *run, size_t *bytes);
/* The device bytes cls_tiling_allocate takes for run->tiling. */
size_t cls_tiling_bytes(const cls_transfer *run);
void cls_tiling_release(cls_tiling *tiling);
/* The style targets of a tiled run: each style image tiled as the content, its Gram matrices
 * added up over the tiles (no masks: tiling refuses them). */
cls_status cls_tiled_style_targets(cls_transfer *run, const cls_image *styles, int count,
                                   const double *blend);
/* The content targets of a tiled run, computed tile by tile into the whole-image targets. */
cls_status cls_tiled_content_targets(cls_transfer *run, cl_mem content);
/* The objective of a tiled run: the losses into run->losses_host (slots of them), the
 * gradient into grad. */
cls_status cls_tiled_evaluate(cls_transfer *run, cl_mem x, cl_mem grad, int slots);

/* Coefficients of one squared-difference loss: value = value_scale * sum (x - t)^2 and
 * grad += grad_coef * (x - t), grad_coef = weight * unit_coef (unit_coef: the gradient of the
 * unweighted value, which normalize_gradients normalises before weighing). */
typedef struct cls_sqdiff_coef {
    float value_scale, grad_coef, unit_coef;
    double weight;
} cls_sqdiff_coef;

/* Content layer i's and style layer i's coefficients for a layer of shape s (the whole
 * image's). */
cls_sqdiff_coef cls_content_coef(const cls_transfer *run, int i, cls_shape s);
cls_sqdiff_coef cls_style_coef(const cls_transfer *run, int i, cls_shape s);

/* cls_transfer_run at the content's size alone (params->multiscale is not looked at). */
cls_status cls_transfer_run_single(cls_ctx *ctx, cls_model *model, const cls_image *content,
                                   const cls_image *styles, int style_count,
                                   const double *blend_weights, const cls_transfer_params *params,
                                   cls_image *output, cls_transfer_result *result);

/* cls_transfer_run with params->multiscale: a single-scale run per stage (multiscale.c). */
cls_status cls_multiscale_run(cls_ctx *ctx, cls_model *model, const cls_image *content,
                              const cls_image *styles, int style_count, const double *blend_weights,
                              const cls_transfer_params *params, cls_image *output,
                              cls_transfer_result *result);

/* The style targets: each style layer's Gram matrices, blended over the style images
 * (blend: one weight per image, normalised here; NULL for equal). Each style image gets a
 * network of its own size for the time it takes. */
cls_status cls_style_targets(cls_transfer *run, const cls_image *styles, int count,
                             const double *blend);

/* The content targets: the content image's features at the content layers (run->net). */
cls_status cls_content_targets(cls_transfer *run, cl_mem content);

/* CLS_ERR_CANCELLED when the caller's cancel callback asks to stop, else CLS_OK. */
cls_status cls_transfer_poll_cancel(const cls_transfer *run);

/* Poolings up to and including layer (a pooling layer's output is already halved). */
int cls_run_poolings(const cls_transfer *run, int layer);

/* A layer's output for an image of height x width (each pooling halves, rounding down). */
cls_shape cls_run_layer_shape(const cls_transfer *run, int layer, int height, int width);

/* The Gram normaliser of a layer: 1 / (C H W) by default, 1 for the paper's. */
float cls_gram_scale(const cls_transfer *run, cls_shape s);

/* The scratch the style layers' Gram matrices take (cls_gram_scratch_bytes) for an image of
 * height x width: the net's plan counts it (cls_net_config.work_scratch). */
size_t cls_run_gram_scratch_bytes(const cls_transfer *run, int height, int width);

/* normalize_gradients' buffers, sized for the largest content or style tap of run->net:
 * `elements` floats (and the norm's scalars). *bytes (may be NULL): the device bytes. */
cls_status cls_grad_norm_allocate(cls_transfer *run, size_t elements, size_t *bytes);
void cls_grad_norm_release(cls_transfer *run);

/* Device bytes cls_grad_norm_allocate takes for `elements` floats. */
size_t cls_grad_norm_bytes(const cls_ctx *ctx, size_t elements);

/* grad += weight * g / (|g|_1 + 1e-8), g the first count floats of run->layer_grad. */
cls_status cls_grad_norm_add(cls_transfer *run, size_t count, double weight, cl_mem grad);

/* Masks (style_masks, content_mask): checked, resized to the content, pooled to every loss
 * layer's size and uploaded; the region targets and masked-feature buffers allocated. Before
 * the targets are computed. */
cls_status cls_masks_prepare(cls_transfer *run, const double *blend, int style_count);
void cls_masks_release(cls_transfer *run);

/* Device bytes cls_masks_prepare allocates. */
size_t cls_masks_plan_bytes(const cls_transfer *run);

/* The region of style layer i and style image r. */
static inline cls_region *cls_run_region(const cls_transfer *run, int i, int r)
{
    return &run->region[i * run->regions + r];
}

/* Loss slots per style layer: one per region, else one. */
static inline int cls_run_style_slots(const cls_transfer *run)
{
    return run->regions > 0 ? run->regions : 1;
}

/* The objective the optimisers minimise: f(x) and its gradient. */
cls_status cls_transfer_evaluate(void *run, cl_mem x, cl_mem grad, int eval, double *loss);

/* The loss terms an evaluation recorded (zeros if it is no longer in the ring). */
cls_loss_terms cls_transfer_terms(const cls_transfer *run, int eval);

#endif
