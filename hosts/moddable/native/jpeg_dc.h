/*
 * The DC-coefficient image of a baseline JPEG, in C: the same algorithm and output as
 * src/motion/jpeg-dc.ts (test/footage-motion-native.test.ts compares them), for the device,
 * where the JavaScript decoder costs far too much per frame. Bound to XS by xs_jpeg_dc.c.
 */
#ifndef SEALBELL_JPEG_DC_H
#define SEALBELL_JPEG_DC_H

#include <stddef.h>
#include <stdint.h>

/* The most luma blocks a frame may have (2048×2048 pixels); MAX_DC_BLOCKS in src/motion/jpeg-dc.ts. */
#define SB_JPEG_DC_MAX_BLOCKS 65536

typedef struct {
  int cols;
  int rows;
  int q;
} sb_dc_image;

/* `dc` has room for fewer blocks than the image has; `out` holds the image's shape. */
#define SB_JPEG_DC_TOO_SMALL (-12)

/*
 * Decodes `jpeg` (length `n`) into `dc` (room for `max` values, row by row): 0 on success,
 * SB_JPEG_DC_TOO_SMALL (with `out` filled in) when `dc` is too small, another negative
 * number if the JPEG cannot be read (not baseline, malformed).
 */
int sb_jpeg_dc_image(const uint8_t *jpeg, size_t n, int32_t *dc, size_t max, sb_dc_image *out);

/*
 * Camera motion's grid (src/motion/detector.ts): adds each block of the cols × rows DC image
 * to its cell, sums[rowCell[y] + colCell[x]] (the caller zeroes `sums` and makes sure every
 * index is inside it).
 */
void sb_dc_cell_sums(const int32_t *dc, int cols, int rows, const int32_t *colCell, const int32_t *rowCell, int32_t *sums);

#endif
