/*
 * test/footage-motion-native.test.ts and the motion bench: decodes the JPEG file argv[1]
 * (argv[2] times, default 1; 0 reads the file only, the baseline the bench subtracts) with
 * hosts/moddable/native/jpeg_dc.c and prints "cols rows q" and the DC values.
 */
#include <stdio.h>
#include <stdlib.h>
#include "jpeg_dc.h"

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  FILE *f = fopen(argv[1], "rb");
  if (!f) return 2;
  static uint8_t jpeg[1 << 22];
  size_t n = fread(jpeg, 1, sizeof jpeg, f);
  fclose(f);
  int times = argc > 2 ? atoi(argv[2]) : 1;
  static int32_t dc[SB_JPEG_DC_MAX_BLOCKS];
  sb_dc_image img = {0, 0, 0};
  for (int i = 0; i < times; i++) {
    int rc = sb_jpeg_dc_image(jpeg, n, dc, sizeof dc / sizeof dc[0], &img);
    if (rc) {
      printf("error %d\n", rc);
      return 1;
    }
  }
  if (times == 0) return 0;
  printf("%d %d %d\n", img.cols, img.rows, img.q);
  for (int i = 0; i < img.cols * img.rows; i++) printf("%d%c", dc[i], i + 1 == img.cols * img.rows ? '\n' : ' ');
  return 0;
}
