/**
 * XS conformance cases for the post-quantum hybrid recipient type (mlkem768x25519):
 * the C2SP age test kit's `hybrid` and `hybrid_low_order` vectors (test/vectors/cctv-age/,
 * from github.com/C2SP/CCTV age/testdata, 0BSD/CC0/Unlicense) opened by src/age, and a
 * seeded wrap whose bytes were produced in Node with this code (and opened by typage
 * there, test/pq-age.test.ts); then the doorbell's post-quantum flow on the real core —
 * headers prepared in idle time, a press, a clip both phones open, a live session — with
 * the same bytes as in Node. Part of the cases of test/xs/core-vectors.ts.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { base64 } from '@scure/base';
import { bytesToHex, hexToBytes, utf8ToBytes } from '../../src/bytes.js';
import { nobleAead, nobleBackend } from '../../src/crypto/noble.js';
import { Doorbell } from '../../src/device/doorbell.js';
import { loadOrCreateIdentity } from '../../src/device/identity.js';
import { MemoryKeyValueStore } from '../../src/memory-store.js';
import { ClipOpener } from '../../src/clip/opener.js';
import { decodeManifest } from '../../src/clip/manifest.js';
import { LiveSealer } from '../../src/live/sealer.js';
import { openLiveSession } from '../../src/live/opener.js';
import { concatBytes } from '../../src/bytes.js';
import type { ClipSink } from '../../src/host.js';
import { decryptAgeFile } from '../../src/age/file.js';
import { encodeHeader, openHeader } from '../../src/age/header.js';
import { parseHeader } from '../../src/age/format.js';
import { ageIdentity, anyIdentityToRecipient, generateAgeIdentity, wrapFileKey } from '../../src/age/recipients.js';
import { SealbellError } from '../../src/errors.js';
import { seededRandom } from '../seeded.js';
import type { Case } from '../../tools/xs/guest.js';

/** The kit's test identity (both vectors). */
const KIT_IDENTITY = 'AGE-SECRET-KEY-PQ-1HZLGZUPT4ETPKDEV8HSGFDCYZ4E522W0A7PU2LHT8EH9W6YLNC3SW78XKG';
const KIT_FILE_KEY = '59454c4c4f57205355424d4152494e45';
/** SHA-256 of the `hybrid` vector's plaintext ("payload:" in the kit). */
const KIT_PAYLOAD_SHA256 = '013f54400c82da08037759ada907a8b864e97de81c088a182062c4b5622fd2ab';
/** The age files of the two vectors (after the kit's text header), base64. */
const KIT_HYBRID = base64.decode(
  'YWdlLWVuY3J5cHRpb24ub3JnL3YxCi0+IG1sa2VtNzY4eDI1NTE5IE5mTGNnQWJ6dk5nZjBhUmI0UEFOQnZ5RHRJRERRS2Y4' +
  'NEpoaEZsbnZUMU5VQWNiR05yQXJSWi9UK2JjOWw0eG1LMURTbCtQWGs2bnFxR0JoYU0xZFVpVDdYMTdUVTEvYjloYVpaUHpF' +
  'YWx2WkhGRE1TZXZmaVpzaGxuU2djcFdoMHFucGdUeWJvV1RVK3pickg2WUQydWhzaGJKb2l1cWgrUHBYdERNc3RYeDRDZ3hB' +
  'U3JOVmxmU2wvY2FSVGkyNFFqSVhwQ053RUU0RndIcm1Bd1VxU0hMVXpHT0hmaVcvY2hPQ1R0RFg1OTF4NDFvNmVaNC9EdDky' +
  'VmhvWUtGY3BpYVdiUmhiZW5aWFVKeFBTMUMxc0s4NENWd2tESDdMSmpiWUNua3h0M21ldWw4a0tXaWhac1N0WllkLzZib3px' +
  'Y3pPWDd6TjVQYmFZRDFYcFl3TXdlZHpXbVBtUXp4QnliRDhab2RjUjdoRjdXVXhTbUZWSDdFeGlZSDNaTmJEQVZjZ0d3bGtU' +
  'Rm1VbWFUQ2JqR1pUdjhNK2VqbXZTdFFIZ0N0UGk0R0dSZEpGcjNIenZSem02YnZyZEYvcmRTUFJGdFJWTTdEOW83WkFBcXVE' +
  'MVBCeUUwWTVZQ1I0L3ZtVGxJbFJ3RlhrNGJlK1RzQUkrR290dWpvdTZucmlnd25mcW9HaU5TdmkvWlZ2U0tuRG9aUElFNXF3' +
  'T05DZWVKQjhDZVJocVhFanZndHdjMnpjV1VCdGpTSmdOTCtqODg3azJoMHhsWHBRcWxtRERIc0JPQ1AzL1ZvTStOWlVScUkr' +
  'Um9UdWRjd1RsOFRnbWhHclF5dG5vdnVXRkR2RTlIZ1BBczY3ZFBSQzY0LzNSRVMzaEYyQzYvUjFwUUFuQzdTMmlTaWpKbnlG' +
  'bGFESldmY1p2dk5vYW1waER2NjNrVU5iN2I5VjhFK3h3cUY4R2t1WEpuQkZEbzBQdUp6OHFXSDdzRE1FT2hJSW5tYW5EaXU2' +
  'Sy85ak9DdWJZTmROY1hyalFrbmx2azFrRmRqWjJ4WW5DNlF1cUE1K3FITUJwZ3JnMzAxUFgxNTRYNEtVY3hBM1BvRnlZTmV4' +
  'YUJLM25qa3M3UE54bDdIeVpJV2pqRGx6NTBXclFuRXFCamw4UlZWdW5lTDN2Z1Z5VTQ1R1NWV1FWT0g0SzZhZXBXUDArcDdX' +
  'VUQ1MnJoZFZINUhQWldRTDN2OFRqRXo4MEFlYjg3KzFzMXdnTSs1c2tOWDRMcE95dWhSeFEvQ2hYc1ZaclZKOFNSc0JsTzRL' +
  'K0NKMjcxckhqOGw4TkVoUkUyTy9aS0hzdDhCZS82ajVjOVNVbVJScXZJKzZiY2cwQmNxN1dpN2QwOHZEUXFqQzJjT2kxMTJD' +
  'R3JhNW1hemQvTkNJQ0M4MW9Za01tVHh0TTlmaWNmSWh2dDluSGFaU1FoMjd0ekozeFJXT2Vnd3pET2FOanJ0Sjd5dkNYYlY5' +
  'aVE2Ym9pQ2w2d2RtSW43azlzSTMwd0l1SGNWVTFDcitFTldocVZ5UmlBS2t0Z3Z4ZWdEbnF2UkIybjFhSEtvdnA2MEZzN1lJ' +
  'RHJjbHNjUkZpa1Y0NXgwUk5CZFZ0VWtXRDQzMHZaZ2Vra1pkbndwZUh4R1Y5VEllMkZDTm9vUXpVeng2djRmdDBzWjVTWUk0' +
  'OTBGMnNZWnUvc2lnNElCL0tPelZmUFhCWDlka2Z0TGdaVFd0ZlA3R0k5TmpFaXRMbi9sWVRoMmpmU0tUWVpTTStCUXQxNm0y' +
  'eWcvNFg3eGZ0QTJQM2ZTeVUxeldpbmVvY3o0REt5aWxXbVZoUFJqeTlMclRQdFFXVlZOR3JWZlVzTll3V0hKWDZGd2tGN0pO' +
  'YkNxTEVRdWVNalBoYzljbnI2NnVGK1d0MUlzdVRqMjc4TWd5WnFZbHI3bWtXOTF6eVdKTVNJWFRLbXF2NXVtOXlwYzNJSlVt' +
  'a3ZzNjdBOTFYQTh2c3BBUnNVTTRKdwpqWVBmaWxOQU1qRjB6R1JZTVlKcVIvY1RUemJpR3hRTWhHKzh6WmFpdGljCi0tLSA3' +
  'd0NnS2M0dDhrS21LSlROcllzN01vTEtIazhTcXQ4WTNvVFpjMDhzUWpNCt3fctBvvKtX3z0NMSSWrSGM1/1vgHi7+IEt2HlH' +
  'FV63vV6I',
);
const KIT_LOW_ORDER = base64.decode(
  'YWdlLWVuY3J5cHRpb24ub3JnL3YxCi0+IG1sa2VtNzY4eDI1NTE5IHBYZnZLOVVKOEt4eDR3MlJ4b2xicXVxeEd0WTRlc0dn' +
  'UnM5V280WVNQSksrclFzeW1vQ1Nob1U3cTZ5RlRtUVlPNHVXanhONHlUa3ZuQ25tNURiQm9vWE16MjJ6bDAvei92N1NNdHJs' +
  'YzU4OFhySit1VDEzODhFbi90QjVHb1JscWVEbUs5ODZjYUozNVJ3enJCZFpNU21BaTVqaUhIY1hZZXZIcTl0UVBTaGI3UnpV' +
  'R1NXRStPMlB2cTdxMU1QRUdpa3I4YitIZVlHVEZjL2RHY2NUNEcwYWE1UktLN1pjNWVCY05VYU5IYmw1WlBxUGZtaUR5VkFa' +
  'MHkycklQaHRXVkNBSUw0RHBGTEhwbTFmMkdkWUxvcjg2UkV6aGVrcFVyNDAvRmVadCszd2RoZFZzRmpZdUY3UmMvbTVZeWc1' +
  'eHM0SDlaQXBXY3FQeEt1SFlXTG5YL3c1MCtBaUVQOGZCK0w5RjJIZTBTeVdCY2Zjclk3eU9uRUt3TUVjc1VzNnlmakswbnZZ' +
  'bXNlMnpaeUFHUnRlQkJQOTZ5Zm5nRk1TVHg1T1EzYjNQVndXZTQxYTdVUkF3OC9HWW9oaWM3SEgxRlRUc3JYQUdWVE9FM1py' +
  'dTcyTW1COXprcWNTK1JYbUJnamRqaktqbFdFUE4vNDQ5anYxY01jVk1vcGxwL3c0RGFHUWJoWXE5UWQ4bzRzVDhyUUhsMHh6' +
  'Wm1haDRINUtOa0ZQS2s4YTMzY09CaG8wWHplSkJIeHNGTk11TElGa1EzeEF2SURtSXJPeU5DVHVsUG4vVzhvT1FxUG1RZTN4' +
  'b3VnbE96SGs1b0k0S1gyYlFLNWQzb3NhVVNvUUs0VFQrbnQ5eW9HblR6TnI1NjNJWWZzaXdDOGRnT2NhRXZuYTNoaWFpMzZj' +
  'OFlta1dzb3JGbmNROXFaUXd2di9IOUhhbFQxV005aVVzai94bXhNbm9YWmFYb3JNSEVCOGM1Z2J0UzM5ZHR4VGZzV2JnVXRI' +
  'L0RqMjBydlZSUkhPZGdxcU1sL2Uyb3Z4Z2xwRkJySnFhclZWY1BSR1RISGttTzNSbVh0WURkUHFlNVY4cm1lSFlMcGdpZ2tR' +
  'c1EvNXVEVnFSTm5jOTdvYnh3NGJEVXZCcUNDQ0pxblJMRHU2TExKbWlzazVHZExNNEFENFBmTjRFNjc0Y2hJOTI5RFdVL1hV' +
  'Y2tPc0IyTmQ4RzlsV2JQeWZIV1o4Ri9GbjNvaG9nUVU0QXd4YklaenArTUlDTk9WRXZuTERBaHcyZ1FqaTRmN3hBMzlNUyth' +
  'QnEyV3MrL2NXa041a1Z5Uk5NUFl3U2RqRVBNVTJoTHNvS0huOVp5V05OdWdoRG1KZUNNWHRvWmF2UjFETUM5MEludGpHU3hS' +
  'NFRwa2ZGbzA1c1ZxMHhPbkpjeitRUy91Q2VYK3B6c0ZmUTV2SnNNN1NzbE5nV3l2UlhlRGRFMjFxS3paNk5WVEtxNzVubHpv' +
  'SjhacndOTFphc3Z5REZGSGNVOWhCK283VXBEcGorKzBheWEva3JkSXN1YWZUR2FBR2gzK3Bzb09LL1FFRXlRQU1kQ0ZPVkY2' +
  'TEk1UHY2YlJldnc1blJXWkk3SnljeE9TMjVpR3lFV0FHZTg4aDRxUlZQcWFBNHdGQzJqNTJ2V2J1ZkhQUWRMS08xZ251V1VK' +
  'LzVaVWlJQVpZSUgwS0NycDFZOVUyN3JKODd5allKUzgzZVBxd3JYaFVTdWxOK0t2TVkySVZzTFd3ZExUbXRqWHBHZEhoMXEz' +
  'VTlzWW9PZ2UzRHAzaXFkR2Y5MjF1UFZGTGZ4eEFQZlJGMldVZ091TWd2UW1jYnlKWFVUK1ZkdkI1d2owUlBsbENLSWs0UU5u' +
  'VjYwL09sVTNBVGFmTjBWdFlueWZrNUp3MmkwUGFRQzI0djhxeldoTzJ0T09MZDNSN0VWZm5KVzhvMUNNSkxIUXNWV2NnKzli' +
  'QkVSY3hGZ2Nqb2JZSWs3ZDBKOFIxdwpOZFRJUmRUaVgyMGZqNHF6ZVBFWDkzK3p4d2pqMDlQb3JrbXViVGEvcnV3Ci0tLSBq' +
  'Z0lvdlEzWGloMU5FTjNxLzV4My9nUTBSVC9sMCt4OG03NmNnQloyNXBFCu7PYsfOkbQzJ05o1PL5E0y3TFv+976qUsjwvA6Z' +
  'LB6DMftm',
);

// Computed in Node with this code (seeded: reproducible).
const SEEDED_RECIPIENT_SHA256 = '3391361ba4a3d211173b3161b1460630cee790d95b732cd447313243226cb082';
const SEEDED_HEADER_SHA256 = '04b855af0b30d1aa1cc89fa38b89622234827b9abda796bfd81d90bc4df2a4e3';
const DOORBELL_CLIP_SHA256 = 'd7974dd5c63827efb6c4203f0c152ccf8c423144a32543482df611392c6a80f3'; // with its poster frame
const T0 = 1_800_000_000_000;

/** A clip recorded by a doorbell sealing to two post-quantum phones (seeded: the same bytes everywhere). */
function recordPqClip(): { phones: string[]; age: Uint8Array; manifest: Uint8Array; misses: number } {
  const random = seededRandom('xs pq doorbell');
  const phones = [0, 1].map(() => generateAgeIdentity('mlkem768x25519', random));
  const segments: Uint8Array[] = [];
  let manifest: Uint8Array = new Uint8Array(0);
  const sink: ClipSink = {
    begin() {},
    segment(_id, _i, bytes) {
      segments.push(bytes.slice());
    },
    end(_id, m) {
      manifest = m;
    },
  };
  const identity = loadOrCreateIdentity(new MemoryKeyValueStore(), random);
  const doorbell = new Doorbell({ backend: nobleBackend, random, identity, sink, width: 32, height: 16, headerPoolSize: 1 });
  doorbell.setRecipients({ epoch: 1, recipients: phones.map(anyIdentityToRecipient) });
  while (doorbell.idle()); // the header is prepared before the press
  doorbell.press(T0);
  for (let i = 1; i <= 3; i++) doorbell.frame(new Uint8Array(500).fill(i), T0 + i * 100);
  doorbell.finishClip();
  return { phones, age: concatBytes(...segments), manifest, misses: doorbell.pool.misses };
}

function fail(what: string, got: string, expected: string): never {
  throw new Error(`${what}: got ${got}, expected ${expected}`);
}

function openKit(file: Uint8Array): Uint8Array {
  return decryptAgeFile(file, (h) => openHeader(h, [ageIdentity(KIT_IDENTITY)]), nobleAead);
}

export const pqCases: Case[] = [
  {
    name: 'mlkem768x25519: the C2SP kit\'s hybrid vector opens (X-Wing decapsulation, HPKE)',
    run() {
      const sum = bytesToHex(sha256(openKit(KIT_HYBRID)));
      if (sum !== KIT_PAYLOAD_SHA256) fail('payload SHA-256', sum, KIT_PAYLOAD_SHA256);
    },
  },
  {
    name: 'mlkem768x25519: the kit\'s low-order X25519 share is a malformed header',
    run() {
      try {
        openKit(KIT_LOW_ORDER);
      } catch (e) {
        if (e instanceof SealbellError && e.code === 'AGE_HEADER') return;
        throw e;
      }
      throw new Error('the low-order share was accepted');
    },
  },
  {
    name: 'mlkem768x25519: seeded key and wrap give the same bytes as Node, and open back',
    run() {
      const random = seededRandom('xs pq vector');
      const identity = ageIdentity(KIT_IDENTITY);
      const recipient = anyIdentityToRecipient(KIT_IDENTITY);
      const r = bytesToHex(sha256(utf8ToBytes(recipient)));
      if (r !== SEEDED_RECIPIENT_SHA256) fail('recipient SHA-256', r, SEEDED_RECIPIENT_SHA256);
      const fileKey = hexToBytes(KIT_FILE_KEY);
      const header = encodeHeader(fileKey, [wrapFileKey(fileKey, recipient, random)]);
      const h = bytesToHex(sha256(header));
      if (h !== SEEDED_HEADER_SHA256) fail('header SHA-256', h, SEEDED_HEADER_SHA256);
      const opened = bytesToHex(openHeader(parseHeader(header)!, [identity]));
      if (opened !== KIT_FILE_KEY) fail('file key', opened, KIT_FILE_KEY);
    },
  },
  {
    name: 'mlkem768x25519: a doorbell seals a clip to two post-quantum phones (header ready before the press), both open it',
    run() {
      const clip = recordPqClip();
      if (clip.misses !== 0) throw new Error('the header was built on the press path');
      const digest = bytesToHex(sha256(clip.age));
      if (digest !== DOORBELL_CLIP_SHA256) fail('clip SHA-256', digest, DOORBELL_CLIP_SHA256);
      const manifest = decodeManifest(clip.manifest);
      if (manifest.kem !== 'mlkem768x25519') fail('manifest kem', String(manifest.kem), 'mlkem768x25519');
      for (const phone of clip.phones) {
        const opener = new ClipOpener({ backend: nobleBackend, identities: [phone], manifest });
        opener.push(clip.age);
        const frames = opener.end().frames;
        if (frames !== 3) fail('frames', String(frames), '3');
      }
    },
  },
  {
    name: 'mlkem768x25519: a live session key wrapped to a post-quantum phone opens',
    run() {
      const random = seededRandom('xs pq live');
      const phone = generateAgeIdentity('mlkem768x25519', random);
      const device = loadOrCreateIdentity(new MemoryKeyValueStore(), random);
      const request = random(16);
      const sealer = new LiveSealer({
        aead: nobleAead, random, key: device.key, device: device.deviceId, session: 'xs-pq', request,
        epoch: 1, start: T0, width: 16, height: 8, recipient: anyIdentityToRecipient(phone),
      });
      const data = new Uint8Array([0xff, 0xd8, 7, 7, 0xff, 0xd9]);
      const record = sealer.frame(data, T0 + 100);
      const opener = openLiveSession(sealer.opening, { aead: nobleAead, identity: phone, devicePublicKey: device.key.publicKey, device: device.deviceId, request });
      const ev = opener.open(record);
      if (ev.t !== 'frame' || bytesToHex(ev.data) !== bytesToHex(data)) throw new Error(`live frame not opened: ${ev.t}`);
    },
  },
];
