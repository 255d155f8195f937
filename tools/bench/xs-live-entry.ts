/**
 * XS entry for the live-view start cost (tools/bench/live.ts `xsLiveStartCost`): one
 * session opening — a fresh file key wrapped with an X25519 stanza to the phone, the
 * record key, and the device's Ed25519 signature — as a named op under xsnap; and the
 * check of the phone's signed request that comes before it (src/live/request.ts).
 */
import { nobleAead } from '../../src/crypto/noble.js';
import { LiveSealer } from '../../src/live/sealer.js';
import { signingKeyFromSeed } from '../../src/minisign.js';
import { LiveRequestCheck, signLiveRequest } from '../../src/live/request.js';
import { defineOps } from '../xs/guest.js';

const key = signingKeyFromSeed(new Uint8Array(32).fill(7));
const recipient = 'age1s5s0qzvfxzn4gayt0hwtg0hhtgxm7wsdycup4a8t5j5ca25mfe4qt4hs7q';
let counter = 0;
const random = (n: number) => new Uint8Array(n).map((_, i) => (i * 31 + counter++) & 0xff);
const small = () => new Uint8Array(1);
// The phone's side, made once at load (not measured): its auth key and one signed request.
const phone = signingKeyFromSeed(new Uint8Array(32).fill(9));
const asked = { device: '0123456789ABCDEF', session: 's', request: new Uint8Array(16).fill(5), time: 1_800_000_000_000 };
const signature = signLiveRequest(asked, phone.secretKey);

defineOps({
  noop() {
    counter = 0;
    random(16);
  },
  /** the device checks a phone's signed request: signature (Ed25519 verify), time, not a replay */
  check_request() {
    new LiveRequestCheck().check(asked, signature, phone.publicKey, asked.time);
  },
  /** what the device does when a roster phone asks (buffers for records come from the host, not timed) */
  start() {
    counter = 0; // the same bytes every run: the meter must not vary
    new LiveSealer({ aead: nobleAead, random, key, device: '0123456789ABCDEF', session: 's', request: new Uint8Array(16), epoch: 1, start: 0, width: 800, height: 600, recipient, alloc: small });
  },
});
