// The event notice (docs/event-format.md, test/vectors/event-v1.json): the doorbell reproduces the
// vector byte for byte; stock `age -d`, `minisign -V` and typage open and check it; the phone's opener
// refuses a changed, foreign, replayed or stale one with its code; the spool keeps it across a restart.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Decrypter } from 'age-encryption';
import { bytesToHex, concatBytes, hexToBytes } from '../src/bytes.js';
import { nobleBackend } from '../src/crypto/noble.js';
import { decodePublicKey } from '../src/minisign.js';
import { formatIdentityFile } from '../src/age/identity-file.js';
import { generateIdentity, identityToRecipient } from '../src/age/x25519.js';
import { generateHybridIdentity, hybridIdentityToRecipient } from '../src/age/mlkem768x25519.js';
import { Doorbell } from '../src/device/doorbell.js';
import { PreRoll } from '../src/device/preroll.js';
import { loadOrCreateIdentity } from '../src/device/identity.js';
import { ClipOpener } from '../src/clip/opener.js';
import { SealbellError } from '../src/errors.js';
import { checkFresh, openEvent, type SeenEvents } from '../src/event/event.js';
import { Spool } from '../src/uplink/spool.js';
import { MemorySpoolStorage } from '../src/uplink/storage.js';
import { eventLine } from '../web/push/notice-text.js';
import { updatingVectors } from '../tools/vectors/rewrite-guard.js';
import { MemorySink, MemoryStore, ROOT, requireTool, run, seededRandom, tempDir } from './helpers.js';

const FILE = path.join(ROOT, 'test/vectors/event-v1.json');

interface EventVector {
  comment: string;
  randomSeed: string;
  identity: string;
  recipient: string;
  devicePublicKey: string;
  pressTime: number;
  clip: string;
  posterHex: string;
  plaintext: string;
  sealedHex: string;
  signature: string;
}

/** A sink that also takes event notices. */
class EventSink extends MemorySink {
  readonly events = new Map<string, { sealed: Uint8Array; signature: string }>();
  event(id: string, sealed: Uint8Array, signature: string) {
    this.events.set(id, { sealed, signature });
  }
}

/** A doorbell with 1 s of pre-roll, pressed: its clip and event. Everything from the seeded generator. */
function record(seed: string, recipients: (random: ReturnType<typeof seededRandom>) => { identity: string; recipient: string }) {
  const random = seededRandom(seed);
  const phone = recipients(random);
  const device = loadOrCreateIdentity(new MemoryStore(), random);
  const sink = new EventSink();
  const preRoll = new PreRoll({ duration: 1000, capacity: 1024 });
  const doorbell = new Doorbell({ backend: nobleBackend, random, identity: device, sink, width: 16, height: 8, headerPoolSize: 1, preRoll });
  doorbell.setRecipients({ epoch: 3, recipients: [phone.recipient] });
  doorbell.idle();
  const startTime = Date.UTC(2026, 10, 26, 17, 2, 0);
  const pressTime = startTime + 250;
  const frames = [1, 2, 3].map((n) => hexToBytes('ffd8' + bytesToHex(Uint8Array.of(n, n, n)) + 'ffd9'));
  doorbell.frame(frames[0], startTime + 100);
  doorbell.frame(frames[1], startTime + 200);
  const id = doorbell.press(pressTime);
  assert.equal(sink.events.size, 0, 'no event inside the press: the first chunk does not wait for it');
  doorbell.frame(frames[2], startTime + 300); // its tick makes the event
  assert.equal(sink.events.size, 1, 'the event is made on the tick after the press');
  doorbell.finishClip();
  return { phone, device, sink, id, pressTime, poster: frames[1] };
}

function makeVector(): EventVector {
  const seed = 'sealbell event vector 1';
  const r = record(seed, (random) => {
    const identity = generateIdentity(random);
    return { identity, recipient: identityToRecipient(identity) };
  });
  const ev = r.sink.events.get(r.id)!;
  const opened = openEvent(ev.sealed, ev.signature, { aead: nobleBackend.aead, device: decodePublicKey(r.device.publicKeyText), identities: [r.phone.identity] });
  const line = JSON.stringify({ v: 1, device: r.device.deviceId, clip: r.id, trigger: 'press', time: r.pressTime, poster: opened.poster!.length });
  return {
    comment: 'sealbell event notice v1 vector: see docs/event-format.md',
    randomSeed: seed,
    identity: r.phone.identity,
    recipient: r.phone.recipient,
    devicePublicKey: r.device.publicKeyText,
    pressTime: r.pressTime,
    clip: r.id,
    posterHex: bytesToHex(opened.poster!),
    plaintext: line,
    sealedHex: bytesToHex(ev.sealed),
    signature: ev.signature,
  };
}

const memorySeen = (): SeenEvents & { keys: Set<string> } => {
  const keys = new Set<string>();
  return { keys, has: (k) => keys.has(k), add: (k) => void keys.add(k) };
};

describe('event notice format and test vector', function () {
  this.timeout(60_000);
  if (updatingVectors()) fs.writeFileSync(FILE, JSON.stringify(makeVector(), null, 2) + '\n');
  const v: EventVector = JSON.parse(fs.readFileSync(FILE, 'utf8'));
  const sealed = hexToBytes(v.sealedHex);
  const device = decodePublicKey(v.devicePublicKey);
  const open = (bytes: Uint8Array = sealed, signature = v.signature, identities = [v.identity]) => openEvent(bytes, signature, { aead: nobleBackend.aead, device, identities });
  const refused = (fn: () => unknown, code: string) => assert.throws(fn, (e: unknown) => e instanceof SealbellError && e.code === code, `expected ${code}`);

  it('the doorbell reproduces the vector byte for byte', function () {
    assert.deepEqual(makeVector(), v);
  });

  it('the phone opens it: the notice, and the poster is the clip\'s poster byte for byte', function () {
    const e = open();
    assert.deepEqual({ ...e, poster: bytesToHex(e.poster!) }, { v: 1, device: decodePublicKeyId(v.devicePublicKey), clip: v.clip, trigger: 'press', time: v.pressTime, poster: v.posterHex });
    const r = record(v.randomSeed, (random) => {
      const identity = generateIdentity(random);
      return { identity, recipient: identityToRecipient(identity) };
    });
    const clip = new ClipOpener({ backend: nobleBackend, identities: [v.identity] });
    clip.push(r.sink.clips.get(v.clip)!.age);
    assert.deepEqual(clip.end().poster, hexToBytes(v.posterHex));
    assert.equal(eventLine('Front door', e.trigger, e.time, 'UTC'), 'Front door — someone rang, 17:02');
  });

  it('stock age -d opens it and minisign -V verifies it with the device key and the trusted comment', function () {
    requireTool('age');
    requireTool('minisign');
    const dir = tempDir('event-vector');
    fs.writeFileSync(path.join(dir, 'id.key'), formatIdentityFile(v.identity, new Date(0)));
    fs.writeFileSync(path.join(dir, 'event.age'), sealed);
    fs.writeFileSync(path.join(dir, 'event.age.minisig'), v.signature);
    fs.writeFileSync(path.join(dir, 'device.pub'), v.devicePublicKey);
    run('age', ['-d', '-i', path.join(dir, 'id.key'), '-o', path.join(dir, 'event.bin'), path.join(dir, 'event.age')]);
    const plain = fs.readFileSync(path.join(dir, 'event.bin'));
    assert.equal(plain.subarray(0, plain.indexOf(0x0a)).toString(), v.plaintext);
    assert.equal(plain.subarray(plain.indexOf(0x0a) + 1).toString('hex'), v.posterHex);
    const out = run('minisign', ['-V', '-p', path.join(dir, 'device.pub'), '-m', path.join(dir, 'event.age')]);
    assert.match(out, /Signature and comment signature verified/);
    assert.match(out, new RegExp(`Trusted comment: sealbell event ${v.clip} device ${decodePublicKeyId(v.devicePublicKey)}`));
  });

  it('typage (the age-encryption package) opens it too', async function () {
    const d = new Decrypter();
    d.addIdentity(v.identity);
    const plain = await d.decrypt(new Uint8Array(sealed));
    assert.equal(Buffer.from(plain).toString('hex'), Buffer.from(concatBytes(new TextEncoder().encode(v.plaintext + '\n'), hexToBytes(v.posterHex))).toString('hex'));
  });

  it('docs/event-format.md shows this vector', function () {
    const doc = fs.readFileSync(path.join(ROOT, 'docs/event-format.md'), 'utf8');
    const header = Buffer.from(sealed.subarray(0, Buffer.from(sealed).indexOf('\n', Buffer.from(sealed).indexOf('\n---') + 1))).toString();
    for (const text of [v.identity, v.recipient, v.plaintext, ...header.split('\n'), ...v.signature.trim().split('\n')]) {
      assert.ok(doc.includes(text), `the doc lacks: ${text}`);
    }
  });

  it('a changed byte, a changed signature or another device\'s key: EVENT_SIGNATURE; another phone: EVENT_NOT_FOR_YOU', function () {
    for (const at of [0, 40, sealed.length - 200, sealed.length - 1]) {
      const bad = sealed.slice();
      bad[at] ^= 1;
      refused(() => open(bad), 'EVENT_SIGNATURE');
    }
    refused(() => open(sealed.slice(0, sealed.length - 1)), 'EVENT_SIGNATURE');
    const other = loadOrCreateIdentity(new MemoryStore(), seededRandom('another doorbell'));
    refused(() => openEvent(sealed, v.signature, { aead: nobleBackend.aead, device: decodePublicKey(other.publicKeyText), identities: [v.identity] }), 'EVENT_SIGNATURE');
    refused(() => open(sealed, v.signature.replace(/^(trusted comment: .*)$/m, '$1x')), 'EVENT_SIGNATURE');
    refused(() => open(sealed, 'garbage'), 'EVENT_FORMAT');
    refused(() => open(sealed, v.signature, [generateIdentity(seededRandom('a stranger'))]), 'EVENT_NOT_FOR_YOU');
  });

  it('shown once: the same event again is EVENT_REPLAYED; one older than 10 minutes is EVENT_STALE', async function () {
    const e = open();
    const seen = memorySeen();
    await checkFresh(e, seen, v.pressTime + 1500);
    await assert.rejects(checkFresh(e, seen, v.pressTime + 2000), (err: SealbellError) => err.code === 'EVENT_REPLAYED');
    await assert.rejects(checkFresh(e, memorySeen(), v.pressTime + 11 * 60_000), (err: SealbellError) => err.code === 'EVENT_STALE');
  });

  it('a post-quantum roster: the event is sealed to the hybrid recipients like the clip, and opens with the hybrid identity', function () {
    const r = record('sealbell event pq', (random) => {
      const identity = generateHybridIdentity(random);
      return { identity, recipient: hybridIdentityToRecipient(identity) };
    });
    const ev = r.sink.events.get(r.id)!;
    assert.match(Buffer.from(ev.sealed.subarray(0, 200)).toString('latin1'), /-> mlkem768x25519 /);
    const e = openEvent(ev.sealed, ev.signature, { aead: nobleBackend.aead, device: decodePublicKey(r.device.publicKeyText), identities: [r.phone.identity] });
    assert.equal(e.clip, r.id);
    assert.deepEqual(e.poster, r.poster);
    // the event's header is the clip's: the same recipients, the same stanzas
    const clipAge = r.sink.clips.get(r.id)!.age;
    const headerEnd = Buffer.from(clipAge).indexOf('\n', Buffer.from(clipAge).indexOf('\n---') + 1) + 1;
    assert.deepEqual(ev.sealed.subarray(0, headerEnd), clipAge.subarray(0, headerEnd));
  });

  it('the spool keeps an event across a restart until the relay has it', function () {
    const storage = new MemorySpoolStorage();
    const spool = new Spool({ storage, capacity: 1 << 20 });
    spool.begin('c1', 1);
    spool.segment('c1', 0, new Uint8Array([1, 2, 3]));
    spool.event('c1', sealed, v.signature);
    const again = new Spool({ storage, capacity: 1 << 20 });
    assert.equal(again.clips()[0].event, true);
    assert.deepEqual(again.readEvent('c1'), { sealed, signature: v.signature });
    assert.equal(again.ackEvent('c1'), true);
    assert.equal(new Spool({ storage, capacity: 1 << 20 }).clips()[0].event, false);
  });
});

/** The device id (minisign key id) a public key file names. */
function decodePublicKeyId(text: string): string {
  return /minisign public key ([0-9A-F]{16})/.exec(text)![1];
}
