/**
 * Camera motion's DC image from the native decoder (hosts/moddable/native/jpeg_dc.c), in
 * the shape src/motion/jpeg-dc.ts gives: the same values (test/motion-native-xs.test.ts),
 * at a fraction of the JavaScript decoder's cost per frame; and the detector's sum over its
 * grid done natively too (`sumCells`: in XS it costs about 30 units per block). One buffer of DC values is kept
 * and reused from frame to frame (it grows once to the camera's size), so motion makes no
 * frame-sized garbage: the detector reads an image before the next frame comes. Kept apart
 * from the `@` binding so that the same wrapper runs under xsnap in CI (tools/xs-native).
 */
import { SealbellError } from '../../src/errors.js';
import { MAX_DC_BLOCKS, type DcImage } from '../../src/motion/jpeg-dc.js';

/**
 * xs_sealbell_jpeg_dc over the buffers of two Int32Arrays: 0, or the C decoder's negative
 * error (-12: `dc` too small, `shape` filled in)
 */
export type JpegDcNative = (jpeg: Uint8Array, dc: ArrayBufferLike, shape: ArrayBufferLike) => number;

const TOO_SMALL = -12;

/** xs_sealbell_dc_cells: adds each block of a cols × rows DC image to its grid cell (all Int32Array buffers) */
export type DcCellsNative = (dc: ArrayBufferLike, cols: number, rows: number, colCell: ArrayBufferLike, rowCell: ArrayBufferLike, sums: ArrayBufferLike) => void;

// (not `native`: xsc reads a call of that name as a native-function declaration)
export function makeDcImage(decode: JpegDcNative, cells: DcCellsNative): (jpeg: Uint8Array) => DcImage {
  const shape = new Int32Array(3);
  let dc = new Int32Array(64);
  return (jpeg) => {
    if (jpeg.length < 4) throw new SealbellError('MOTION_JPEG', 'cannot read the camera frame for motion: not a JPEG');
    let rc = decode(jpeg, dc.buffer, shape.buffer);
    if (rc === TOO_SMALL) {
      const blocks = shape[0] * shape[1];
      if (blocks > MAX_DC_BLOCKS) throw new SealbellError('MOTION_JPEG', 'cannot read the camera frame for motion: the frame is larger than 2048×2048');
      dc = new Int32Array(blocks);
      rc = decode(jpeg, dc.buffer, shape.buffer);
    }
    if (rc !== 0) throw new SealbellError('MOTION_JPEG', `cannot read the camera frame for motion: not a baseline JPEG the decoder reads (native error ${rc})`);
    const [cols, rows, q] = shape;
    const buffer = dc.buffer;
    return {
      cols,
      rows,
      q,
      dc: dc.subarray(0, cols * rows),
      sumCells: (colCell, rowCell, sums) => cells(buffer, cols, rows, colCell.buffer, rowCell.buffer, sums.buffer),
    };
  };
}
