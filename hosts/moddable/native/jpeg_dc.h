/*
 * The DC-coefficient image of a baseline JPEG, in C: the same algorithm and output as
 * src/motion/jpeg-dc.ts (test/footage-motion-native.test.ts compares them), for the device,
 * where the JavaScript decoder costs far too much per frame. Not yet bound to XS.
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

/*
 * Decodes `jpeg` (length `n`) into `dc` (room for `max` values, row by row): 0 on success,
 * a negative number if the JPEG cannot be read (not baseline, malformed, `dc` too small).
 */
int sb_jpeg_dc_image(const uint8_t *jpeg, size_t n, int32_t *dc, size_t max, sb_dc_image *out);

#endif
