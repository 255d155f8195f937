/* See jpeg_dc.h and src/motion/jpeg-dc.ts (the same steps, in the same order). */
#include "jpeg_dc.h"
#include <string.h>

typedef struct {
  int32_t maxcode[18];
  int32_t valptr[17];
  int32_t mincode[17];
  const uint8_t *values;
  int present;
} huff;

typedef struct {
  int id, h, v, tq;
  huff *dc, *ac;
  int32_t pred;
} comp;

typedef struct {
  const uint8_t *b;
  size_t n, pos;
  uint32_t acc;
  int bits;
} bitreader;

static void build(huff *t, const uint8_t *counts, const uint8_t *values) {
  int32_t code = 0, k = 0;
  for (int l = 1; l <= 16; l++) {
    t->valptr[l] = k;
    t->mincode[l] = code;
    code += counts[l - 1];
    k += counts[l - 1];
    t->maxcode[l] = counts[l - 1] ? code - 1 : -1;
    code <<= 1;
  }
  t->values = values;
  t->present = 1;
}

static int bit(bitreader *r) {
  if (r->bits == 0) {
    uint8_t byte = 0;
    if (r->pos < r->n) {
      byte = r->b[r->pos];
      if (byte == 0xff) {
        uint8_t next = r->pos + 1 < r->n ? r->b[r->pos + 1] : 0xd9;
        if (next == 0) r->pos += 2;
        else byte = 0;
      } else r->pos++;
    }
    r->acc = byte;
    r->bits = 8;
  }
  r->bits--;
  return (r->acc >> r->bits) & 1;
}

static int32_t bits(bitreader *r, int count) {
  int32_t v = 0;
  for (int i = 0; i < count; i++) v = (v << 1) | bit(r);
  return v;
}

static int decode(bitreader *r, const huff *t) {
  int32_t code = 0;
  for (int l = 1; l <= 16; l++) {
    code = (code << 1) | bit(r);
    if (code <= t->maxcode[l]) return t->values[t->valptr[l] + code - t->mincode[l]];
  }
  return -1;
}

static int32_t extend(int32_t v, int s) { return v < (1 << (s - 1)) ? v - (1 << s) + 1 : v; }

int sb_jpeg_dc_image(const uint8_t *j, size_t n, int32_t *dc, size_t max, sb_dc_image *out) {
  huff dct[4], act[4];
  comp comps[4];
  comp *scan[4];
  int ncomp = 0, nscan = 0, width = 0, height = 0, restart = 0, lumaTable = 0;
  int quant[4] = {-1, -1, -1, -1};
  memset(dct, 0, sizeof dct);
  memset(act, 0, sizeof act);
  if (n < 4 || j[0] != 0xff || j[1] != 0xd8) return -1;
  size_t p = 2;
  for (;;) {
    if (p + 4 > n || j[p] != 0xff) return -2;
    uint8_t marker = j[p + 1];
    if (marker == 0xff) { p++; continue; }
    size_t length = ((size_t)j[p + 2] << 8) | j[p + 3];
    if (length < 2 || p + 2 + length > n) return -3;
    const uint8_t *seg = j + p + 4;
    size_t sn = length - 2;
    if (marker == 0xc0 || marker == 0xc1) {
      if (sn < 6) return -4;
      height = (seg[1] << 8) | seg[2];
      width = (seg[3] << 8) | seg[4];
      ncomp = seg[5];
      if (ncomp < 1 || ncomp > 4 || sn < 6 + 3 * (size_t)ncomp || !width || !height) return -4;
      for (int i = 0; i < ncomp; i++) {
        comps[i].id = seg[6 + i * 3];
        comps[i].h = seg[7 + i * 3] >> 4;
        comps[i].v = seg[7 + i * 3] & 15;
        comps[i].tq = seg[8 + i * 3] & 3;
        comps[i].pred = 0;
        if (comps[i].h < 1 || comps[i].v < 1 || comps[i].h > 4 || comps[i].v > 4) return -4;
      }
      lumaTable = comps[0].tq;
    } else if (marker >= 0xc2 && marker <= 0xcf && marker != 0xc4 && marker != 0xc8 && marker != 0xcc) {
      return -5;
    } else if (marker == 0xc4) {
      for (size_t q = 0; q < sn;) {
        if (q + 17 > sn) return -6;
        int tc = seg[q] >> 4, th = seg[q] & 15;
        size_t total = 0;
        for (int i = 0; i < 16; i++) total += seg[q + 1 + i];
        if (th > 3 || q + 17 + total > sn) return -6;
        build(tc == 0 ? &dct[th] : &act[th], seg + q + 1, seg + q + 17);
        q += 17 + total;
      }
    } else if (marker == 0xdb) {
      for (size_t q = 0; q < sn;) {
        int sixteen = seg[q] >> 4;
        if (q + 1 + (sixteen ? 128 : 64) > sn) return -7;
        quant[seg[q] & 3] = sixteen ? (seg[q + 1] << 8) | seg[q + 2] : seg[q + 1];
        q += 1 + (sixteen ? 128 : 64);
      }
    } else if (marker == 0xdd) {
      if (sn < 2) return -8;
      restart = (seg[0] << 8) | seg[1];
    } else if (marker == 0xda) {
      if (!ncomp || sn < 1) return -9;
      nscan = seg[0];
      if (nscan < 1 || nscan > ncomp || sn < 1 + 2 * (size_t)nscan) return -9;
      for (int i = 0; i < nscan; i++) {
        comp *c = 0;
        for (int k = 0; k < ncomp; k++) if (comps[k].id == seg[1 + i * 2]) c = &comps[k];
        if (!c) return -9;
        if ((seg[2 + i * 2] >> 4) > 3 || (seg[2 + i * 2] & 15) > 3) return -9;
        c->dc = &dct[seg[2 + i * 2] >> 4];
        c->ac = &act[seg[2 + i * 2] & 15];
        if (!c->dc->present || !c->ac->present) return -9;
        scan[i] = c;
      }
      p += 2 + length;
      break;
    } else if (marker == 0xd9) {
      return -10;
    }
    p += 2 + length;
  }
  comp *luma = &comps[0];
  if (scan[0] != luma || quant[lumaTable] < 0) return -11;
  int hmax = 1, vmax = 1;
  for (int i = 0; i < ncomp; i++) {
    if (comps[i].h > hmax) hmax = comps[i].h;
    if (comps[i].v > vmax) vmax = comps[i].v;
  }
  int single = nscan == 1;
  int mcuCols, mcuRows;
  if (single) {
    mcuCols = ((width * luma->h + hmax - 1) / hmax + 7) / 8;
    mcuRows = ((height * luma->v + vmax - 1) / vmax + 7) / 8;
  } else {
    mcuCols = (width + 8 * hmax - 1) / (8 * hmax);
    mcuRows = (height + 8 * vmax - 1) / (8 * vmax);
  }
  int cols = single ? mcuCols : mcuCols * luma->h;
  int rows = single ? mcuRows : mcuRows * luma->v;
  /* the shape is known from here on, also when `dc` is too small: the caller can make room and ask again */
  out->cols = cols;
  out->rows = rows;
  out->q = quant[lumaTable];
  if ((size_t)cols * (size_t)rows > max) return SB_JPEG_DC_TOO_SMALL;
  bitreader r = {j, n, p, 0, 0};
  for (int i = 0; i < nscan; i++) scan[i]->pred = 0;
  int total = mcuCols * mcuRows;
  for (int m = 0; m < total; m++) {
    if (restart && m > 0 && m % restart == 0) {
      r.bits = 0;
      if (r.pos + 1 < n && r.b[r.pos] == 0xff && r.b[r.pos + 1] >= 0xd0 && r.b[r.pos + 1] <= 0xd7) r.pos += 2;
      else return -13;
      for (int i = 0; i < nscan; i++) scan[i]->pred = 0;
    }
    int mx = m % mcuCols, my = m / mcuCols;
    for (int i = 0; i < nscan; i++) {
      comp *c = scan[i];
      int bh = single ? 1 : c->h, bv = single ? 1 : c->v;
      for (int by = 0; by < bv; by++) {
        for (int bx = 0; bx < bh; bx++) {
          int s = decode(&r, c->dc);
          if (s < 0 || s > 11) return -14;
          if (s) c->pred += extend(bits(&r, s), s);
          for (int k = 1; k < 64;) {
            int rs = decode(&r, c->ac);
            if (rs < 0) return -14;
            int size = rs & 15;
            if (size == 0) {
              if (rs != 0xf0) break;
              k += 16;
              continue;
            }
            bits(&r, size);
            k += (rs >> 4) + 1;
          }
          if (c == luma) dc[(my * bv + by) * cols + mx * bh + bx] = c->pred;
        }
      }
    }
  }
  return 0;
}

void sb_dc_cell_sums(const int32_t *dc, int cols, int rows, const int32_t *colCell, const int32_t *rowCell, int32_t *sums) {
  for (int y = 0; y < rows; y++, dc += cols) {
    int32_t *row = sums + rowCell[y];
    for (int x = 0; x < cols; x++) row[colCell[x]] += dc[x];
  }
}
