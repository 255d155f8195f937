// The uplink wire format: the docs' test vectors, round trips, and a precise refusal
// for every malformed frame or control message.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ed25519 } from '@noble/curves/ed25519.js';
import { SEALED_CHUNK_SIZE } from '../src/age/stream.js';
import {
  decodeSegmentFrame,
  encodeControl,
  encodeSegmentFrame,
  frameOverhead,
  MAX_FRAME_BYTES,
  MAX_SEGMENT_BYTES,
  parseDeviceMessage,
  parseRelayMessage,
  type DeviceMessage,
  type RelayMessage,
} from '../src/uplink/wire.js';
import { authMessage } from '../tools/relay/phone-auth.js';
import { makeClipId } from '../src/device/doorbell.js';
import { ROOT, seededRandom } from './helpers.js';
import { errorCode as code } from './helpers.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const unhex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));

interface Vectors {
  segmentFrames: { clip: string; index: number; bytes: string; frame: string }[];
  control: { from?: 'device' | 'relay'; message: DeviceMessage | RelayMessage; text: string }[];
  phoneAuth: { challenge: string; origin: string; message: string; seed: string; publicKey: string; signature: string };
}

/** The JSON block after `<!-- test-vectors -->` in docs/relay-api.md. */
function docVectors(): Vectors {
  const doc = fs.readFileSync(path.join(ROOT, 'docs', 'relay-api.md'), 'utf8');
  const m = /<!-- test-vectors -->\s*```json\n([\s\S]*?)\n```/.exec(doc);
  assert.ok(m, 'docs/relay-api.md has a test-vectors block');
  return JSON.parse(m[1]) as Vectors;
}

describe('uplink wire format', function () {
  const v = docVectors();

  it('segment frames match the documented vectors and decode back', () => {
    for (const f of v.segmentFrames) {
      const frame = encodeSegmentFrame(f.clip, f.index, unhex(f.bytes));
      assert.equal(hex(frame), f.frame);
      const d = decodeSegmentFrame(frame);
      assert.deepEqual({ clip: d.clipId, index: d.index, bytes: hex(d.bytes) }, { clip: f.clip, index: f.index, bytes: f.bytes });
    }
  });

  it('control messages match the documented text and parse back', () => {
    for (const c of v.control) {
      assert.equal(encodeControl(c.message), c.text);
      const fromDevice = c.from ? c.from === 'device' : ['begin', 'end', 'incomplete'].includes(c.message.t);
      const parsed = fromDevice ? parseDeviceMessage(c.text) : parseRelayMessage(c.text);
      assert.deepEqual(parsed, c.message);
    }
  });

  it('the phone login message and its signature match the documented vector', () => {
    const p = v.phoneAuth;
    const message = authMessage(new Uint8Array(Buffer.from(p.challenge, 'base64')), p.origin);
    assert.equal(hex(message), p.message);
    const seed = unhex(p.seed);
    assert.equal(Buffer.from(ed25519.getPublicKey(seed)).toString('base64'), p.publicKey);
    assert.equal(Buffer.from(ed25519.sign(message, seed)).toString('base64'), p.signature);
  });

  it('overhead: 6 + clip id length bytes per frame (29 for a sealbell clip id)', () => {
    const id = makeClipId(1_800_000_000_000, seededRandom('wire'));
    assert.equal(id.length, 23);
    const frame = encodeSegmentFrame(id, 5, new Uint8Array(SEALED_CHUNK_SIZE));
    assert.equal(frame.length - SEALED_CHUNK_SIZE, 29);
    assert.equal(frameOverhead(id), 29);
    assert.equal(MAX_SEGMENT_BYTES, 65_552);
    assert.equal(MAX_FRAME_BYTES, 65_622);
  });

  it('refuses malformed frames with WIRE_FORMAT', () => {
    const good = encodeSegmentFrame('clip1', 2, new Uint8Array([1, 2, 3]));
    const bad: Uint8Array[] = [
      new Uint8Array(0),
      new Uint8Array([0x01]),
      Uint8Array.from([0x02, ...good.subarray(1)]),
      Uint8Array.from([0x01, 0, ...good.subarray(2)]),
      Uint8Array.from([0x01, 65, ...good.subarray(2)]),
      good.subarray(0, 2 + 5 + 4), // no segment bytes
      good.subarray(0, 5),
      Uint8Array.from([0x01, 3, 0x61, 0x2f, 0x62, 0, 0, 0, 0, 1]), // "a/b"
      Uint8Array.from([0x01, 2, 0x2e, 0x2e, 0, 0, 0, 0, 1]), // ".."
      Uint8Array.from([0x01, 2, 0x61, 0x80, 0, 0, 0, 0, 1]), // non-ASCII
      new Uint8Array(MAX_FRAME_BYTES + 1).fill(1),
    ];
    for (const b of bad) assert.equal(code(() => decodeSegmentFrame(b)), 'WIRE_FORMAT', hex(b.subarray(0, 12)));
    assert.equal(code(() => encodeSegmentFrame('../x', 0, new Uint8Array(1))), 'WIRE_FORMAT');
    assert.equal(code(() => encodeSegmentFrame('a', -1, new Uint8Array(1))), 'WIRE_FORMAT');
    assert.equal(code(() => encodeSegmentFrame('a', 2 ** 32, new Uint8Array(1))), 'WIRE_FORMAT');
    assert.equal(code(() => encodeSegmentFrame('a', 0, new Uint8Array(0))), 'WIRE_FORMAT');
    assert.equal(code(() => encodeSegmentFrame('a', 0, new Uint8Array(MAX_SEGMENT_BYTES + 1))), 'WIRE_FORMAT');
  });

  it('refuses malformed control messages: WIRE_FORMAT, BAD_ID, or WIRE_TYPE for an unknown type', () => {
    const device: [string, string][] = [
      ['', 'WIRE_FORMAT'],
      ['null', 'WIRE_FORMAT'],
      ['[]', 'WIRE_FORMAT'],
      ['{"t":"begin","clip":"c","epoch":1.5}', 'WIRE_FORMAT'],
      ['{"t":"begin","clip":"../c","epoch":1}', 'BAD_ID'],
      ['{"t":"begin","epoch":1}', 'BAD_ID'],
      ['{"t":"end","clip":"c","segments":0,"manifest":"","signature":""}', 'WIRE_FORMAT'],
      [`{"t":"end","clip":"c","segments":1,"manifest":"${'x'.repeat(16_385)}","signature":""}`, 'WIRE_FORMAT'],
      ['{"t":"incomplete","clip":"c","reason":"bored"}', 'WIRE_FORMAT'],
      ['{"t":"hello"}', 'WIRE_TYPE'],
      [`{"t":"begin","clip":"c","epoch":1,"pad":"${'x'.repeat(70_000)}"}`, 'WIRE_FORMAT'],
    ];
    for (const [text, c] of device) assert.equal(code(() => parseDeviceMessage(text)), c, text.slice(0, 60));
    assert.equal(code(() => parseDeviceMessage(new Uint8Array([0xff, 0xfe]))), 'WIRE_FORMAT');
    const relay: [string, string][] = [
      ['{"t":"hello","v":1,"device":"D","window":0}', 'WIRE_FORMAT'],
      ['{"t":"ack","clip":"c"}', 'WIRE_FORMAT'],
      ['{"t":"ack","clip":"c","close":"maybe"}', 'WIRE_FORMAT'],
      ['{"t":"ack","clip":"a/b","seg":1}', 'WIRE_FORMAT'],
      ['{"t":"error","code":"lower","message":"x"}', 'WIRE_FORMAT'],
      ['{"t":"error","code":"X","message":"x","seg":-1}', 'WIRE_FORMAT'],
      ['{"t":"news"}', 'WIRE_TYPE'],
    ];
    for (const [text, c] of relay) assert.equal(code(() => parseRelayMessage(text)), c, text);
  });
});
