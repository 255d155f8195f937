/**
 * XS entry for the post-quantum figures (tools/bench/pq.ts): one recipient stanza wrapped
 * (the doorbell's idle-time cost per recipient per clip) for X25519 and for the hybrid
 * mlkem768x25519 type, and a live session start with each, as named ops under xsnap.
 * Keys are made at load time, outside the measured ops.
 */
import { nobleAead } from '../../src/crypto/noble.js';
import { LiveSealer } from '../../src/live/sealer.js';
import { signingKeyFromSeed } from '../../src/minisign.js';
import { anyIdentityToRecipient, wrapFileKey } from '../../src/age/recipients.js';
import { encodeHybridIdentity } from '../../src/age/mlkem768x25519.js';
import { encodeIdentity } from '../../src/age/x25519.js';
import { defineOps } from '../xs/guest.js';

const key = signingKeyFromSeed(new Uint8Array(32).fill(7));
const classic = anyIdentityToRecipient(encodeIdentity(new Uint8Array(32).fill(3)));
const hybrid = anyIdentityToRecipient(encodeHybridIdentity(new Uint8Array(32).fill(5)));
const fileKey = new Uint8Array(16).fill(9);
let counter = 0;
/** the same bytes every run, so the meter does not vary with the input */
const random = (n: number) => new Uint8Array(n).map((_, i) => (i * 31 + counter++) & 0xff);
const small = () => new Uint8Array(1);

const liveStart = (recipient: string) => {
  counter = 0;
  new LiveSealer({ aead: nobleAead, random, key, device: '0123456789ABCDEF', session: 's', request: new Uint8Array(16), epoch: 1, start: 0, width: 800, height: 600, recipient, alloc: small });
};

defineOps({
  noop() {
    counter = 0;
    random(16);
  },
  x25519_stanza() {
    counter = 0;
    wrapFileKey(fileKey, classic, random);
  },
  pq_stanza() {
    counter = 0;
    wrapFileKey(fileKey, hybrid, random);
  },
  x25519_live_start() {
    liveStart(classic);
  },
  pq_live_start() {
    liveStart(hybrid);
  },
});
