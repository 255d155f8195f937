/**
 * XS conformance entry for live view (src/live): the vector of docs/live-format.md is
 * rebuilt under XS byte for byte, opened, and the device's sessions refuse a phone that
 * is not in the roster. Bundled and run by test/live-xs.test.ts; the same `cases` run
 * in Node there as the reference.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { ed25519 } from '@noble/curves/ed25519.js';
import { encodeAuthKey } from '../../src/roster/roster.js';
import { signLiveRequest } from '../../src/live/request.js';
import { bytesToHex, hexToBytes, utf8ToBytes } from '../../src/bytes.js';
import { nobleAead } from '../../src/crypto/noble.js';
import { decodePublicKey } from '../../src/minisign.js';
import { openLiveSession } from '../../src/live/opener.js';
import { LiveSessions } from '../../src/live/sessions.js';
import { loadOrCreateIdentity } from '../../src/device/identity.js';
import { MemoryKeyValueStore } from '../../src/memory-store.js';
import { generateIdentity, identityToRecipient } from '../../src/age/x25519.js';
import { runCases, type Case } from '../../tools/xs/guest.js';
import { makeLiveVector, openLiveVector } from '../live-vector.js';
import { seededRandom } from '../seeded.js';

/** SHA-256 of JSON.stringify(test/vectors/live-v1.json); test/live-xs.test.ts checks it against the file. */
export const LIVE_VECTOR_DIGEST = '25535d48cf589d3b646b50e7169eb2feb71deed6ef3a8046471bc88689c4fc94';

function expect(cond: unknown, what: string): void {
  if (!cond) throw new Error(what);
}

export const cases: Case[] = [
  {
    name: 'the live vector is rebuilt byte for byte',
    run() {
      const digest = bytesToHex(sha256(utf8ToBytes(JSON.stringify(makeLiveVector()))));
      expect(digest === LIVE_VECTOR_DIGEST, `vector digest ${digest}`);
    },
  },
  {
    name: 'the opener opens it; a replay and a forgery are flagged',
    run() {
      const v = makeLiveVector();
      const opener = openLiveVector(v);
      const r0 = hexToBytes(v.records[0].record);
      const e0 = opener.open(r0);
      expect(e0.t === 'frame' && bytesToHex(e0.data) === v.records[0].data, 'frame 0');
      const again = opener.open(r0);
      expect(again.t === 'dropped' && again.reason === 'replayed', 'replay flagged');
      const forged = hexToBytes(v.records[1].record);
      forged[20] ^= 1;
      const f = opener.open(forged);
      expect(f.t === 'dropped' && f.reason === 'forged', 'forgery flagged');
    },
  },
  {
    name: 'sessions: only a roster phone gets an opening',
    run() {
      const random = seededRandom('xs-live-sessions');
      const identity = loadOrCreateIdentity(new MemoryKeyValueStore(), random);
      const phone = generateIdentity(random);
      const authSeed = random(32);
      const auth = encodeAuthKey(ed25519.getPublicKey(authSeed));
      const sent: string[] = [];
      const sessions = new LiveSessions({
        aead: nobleAead,
        random,
        identity,
        width: 16,
        height: 8,
        roster: () => ({ v: 1, device: identity.deviceId, epoch: 1, phones: [{ name: 'p', recipient: identityToRecipient(phone), auth }], history: null }),
      });
      sessions.attach({
        sendLive: (s, kind) => sent.push(`${s}:${kind}`),
        refuseLive: (s, code) => sent.push(`${s}:${code}`),
        endLive: (s, reason) => sent.push(`${s}:end:${reason}`),
      });
      const request = new Uint8Array(16);
      const signature = signLiveRequest({ device: identity.deviceId, session: 'b', request, time: 0 }, authSeed);
      sessions.onLiveRequest({ session: 'a', phone: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=', request, time: 0, signature }, 0);
      sessions.onLiveRequest({ session: 'b', phone: auth, request, time: 0, signature: new Uint8Array(64) }, 0); // unsigned: nobody asked
      sessions.onLiveRequest({ session: 'b', phone: auth, request, time: 0, signature }, 0);
      sessions.onLiveRequest({ session: 'c', phone: auth, request, time: 0, signature }, 0); // moved to another session: the signature covers the id
      sessions.frame(Uint8Array.of(0xff, 0xd8, 1), 100);
      sessions.tick(200_000);
      sessions.onLiveRequest({ session: 'b', phone: auth, request, time: 0, signature }, 200_001); // the relay replays it later
      expect(sent.join() === 'a:LIVE_NOT_IN_ROSTER,b:LIVE_SIGNATURE,b:opening,c:LIVE_SIGNATURE,b:record,b:record,b:end:timeout,b:LIVE_REPLAYED', sent.join());
    },
  },
];

runCases(cases);
