/**
 * XS entry for the camera-motion cost (tools/bench/motion.ts): the DC image of one SVGA JPEG
 * (src/motion/jpeg-dc.ts, JavaScript entropy decoding) and the detector's grid comparison,
 * each one metered delivery. The frame comes in as hex through `load` (not metered).
 */
import { hexToBytes } from '../../src/bytes.js';
import { jpegDcImage, type DcImage } from '../../src/motion/jpeg-dc.js';
import { MotionDetector } from '../../src/motion/detector.js';
import { defineOps } from '../xs/guest.js';

let frame = new Uint8Array(0);
let image: DcImage | undefined;
const detector = new MotionDetector({ zones: ['AAAABBBB', 'AAAABBBB', 'CCCCDDDD', 'CCCCDDDD', 'CCCCDDDD', 'CCCCDDDD'] });

defineOps({
  noop() {},
  load(hex: unknown) {
    frame = hexToBytes(hex as string);
    return frame.length;
  },
  dc() {
    image = jpegDcImage(frame);
  },
  detect() {
    return detector.frame(image!);
  },
  /** the DC image as numbers, for the test that compares it with Node's */
  image: () => ({ cols: image!.cols, rows: image!.rows, q: image!.q, dc: Array.from(image!.dc) }),
});
