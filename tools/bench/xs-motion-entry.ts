/**
 * XS entry for the camera-motion cost (tools/bench/motion.ts): the DC image of one SVGA JPEG
 * (src/motion/jpeg-dc.ts, JavaScript entropy decoding; or, in the xsnap-sealbell worker, the
 * device's C decoder through its XS binding: hosts/moddable/dc-image.ts) and the detector's
 * grid comparison, each one metered delivery. The frame comes in as hex through `load` (not
 * metered).
 */
import { hexToBytes } from '../../src/bytes.js';
import { jpegDcImage, type DcImage } from '../../src/motion/jpeg-dc.js';
import { MotionDetector } from '../../src/motion/detector.js';
import { hasNatives, nativeDcImage } from '../xs-native/guest.js';
import { defineOps } from '../xs/guest.js';

let frame = new Uint8Array(0);
let image: DcImage | undefined;
let imageNative: DcImage | undefined;
const ZONES = ['AAAABBBB', 'AAAABBBB', 'CCCCDDDD', 'CCCCDDDD', 'CCCCDDDD', 'CCCCDDDD'];
const detector = new MotionDetector({ zones: ZONES });
/** the same detector over the native path (its grid summed natively too) */
const detectorNative = new MotionDetector({ zones: ZONES });
const dcNative = hasNatives ? nativeDcImage() : undefined;

/** The DC image as plain numbers (for comparing with Node's). */
const plain = (i: DcImage) => ({ cols: i.cols, rows: i.rows, q: i.q, dc: Array.from(i.dc) });

defineOps({
  noop() {},
  load(hex: unknown) {
    frame = hexToBytes(hex as string);
    return frame.length;
  },
  dc() {
    image = jpegDcImage(frame);
  },
  dcNative() {
    if (!dcNative) throw new Error('not in the xsnap-sealbell worker: no native decoder');
    imageNative = dcNative(frame);
  },
  /** the native decoder's answer to the loaded bytes: its image, or its error (code and message) */
  tryNative() {
    try {
      return plain(dcNative!(frame));
    } catch (e) {
      return { error: String(e), code: (e as { code?: string }).code };
    }
  },
  detect() {
    return detector.frame(image!);
  },
  detectNative() {
    return detectorNative.frame(imageNative!);
  },
  /** the DC image as numbers, for the test that compares it with Node's */
  image: () => plain(image!),
});
