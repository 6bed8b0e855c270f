/* Colour matching of the style images to the content image before a run (the public
 * cls_image_match_colors), and the copies of the style images a run matches. */
#ifndef CLS_TRANSFER_COLOR_MATCH_H
#define CLS_TRANSFER_COLOR_MATCH_H

#include "clstyle.h"

/* *copies: count new images, styles[i] matched to content with how (free with
 * cls_styles_free). */
cls_status cls_styles_matched(const cls_image *content, cls_color_match how,
                              const cls_image *styles, int count, cls_image **copies);

void cls_styles_free(cls_image *copies, int count); /* NULL is a no-op */

#endif
