/**
 * XS conformance entry for firmware updates (src/update): the vectors of docs/update-format.md
 * verify, and the Updater takes the vector release into RAM A/B slots (the rules of
 * src/update/slots.ts, kept small here), boots it on trial and marks it valid, then refuses a
 * downgrade and a corrupted image with their codes. Bundled and run by test/update-xs.test.ts;
 * the same `cases` run in Node there as the reference.
 */
import { hexToBytes, utf8ToBytes } from '../../src/bytes.js';
import { SealbellError } from '../../src/errors.js';
import { nobleBackend } from '../../src/crypto/noble.js';
import { MemoryKeyValueStore } from '../../src/memory-store.js';
import { signingKeyFromSeed } from '../../src/minisign.js';
import { authorizeRelease, signRelease, verifyAuthorization, verifyRelease, type ReleaseManifest } from '../../src/update/release.js';
import type { OtaSlots, OtaWriter, RunningState } from '../../src/update/slots.js';
import { Updater, type FirmwareInfo } from '../../src/update/updater.js';
import { runCases, type Case } from '../../tools/xs/guest.js';

const RELEASE_SEED = '0ff2f02f8963bc20e71dff874b182f2a67c41ea9d9415be3f6382f146a21541f';
const AUTHORITY_SEED = '1a25e378220ae8e4d2c6c97df492de74fd21b54baaab166aa702ed8d0917a844';
const DEVICE = '0123456789ABCDEF';
const MANIFEST = '{"v":1,"board":"esp32_cam","version":"1.4.0","security":3,"size":4096,"sha256":"d67c656e01756650d77717b0839985a056ec28ffe174601d690fc407a2ceffca"}';
const RELEASE_SIG = `untrusted comment: sealbell release 1.4.0 for esp32_cam, signed by release key 6919C13918200AFB
RUT7CiAYOcEZaW+/56ZWLfksiNEdSM2pBgIdc+c/tiww7HEMLIkmF8W9D208rElINCBu4PETJBYguwUTgJOXppUsnw6A98QstA8=
trusted comment: sealbell release v1 board esp32_cam version 1.4.0 security 3 sha256 d67c656e01756650d77717b0839985a056ec28ffe174601d690fc407a2ceffca
Pr1q5gKaE78VAA9hG8qG1Y1zuOOUzigWLWKdgLZb8Q0mkoxgZPi4dTftqcbAjTpua0Y1pxvEqpRMQRtC6mEXBQ==
`;
const AUTHORIZATION = '{"v":1,"device":"0123456789ABCDEF","release":"bc107a536ebfdb317a59dff66f76c0ef40cfb3e271bb765aeb5f266e44aaa028"}';
const AUTHORIZATION_SIG = `untrusted comment: sealbell update authorization, signed by the account authority
RURwHzhP9V4ioVjZoH0GIb0LcdsAb1HRf67mOrVnyzCHecQov/Ct3VaSii9lWfZSU5yQPAYppQrtUWIYg6V1unvTKwmPcn1BuAc=
trusted comment: sealbell update v1 device 0123456789ABCDEF release bc107a536ebfdb317a59dff66f76c0ef40cfb3e271bb765aeb5f266e44aaa028
Ghn1lsXBuMQU4cFKfZ8cGCZauMZ8D94ho1VG+60bLqUOBScykS0TZFrcwb+iws76J8Tyyujrhl5sgU+aJkN5Cg==
`;

const releaseKey = () => signingKeyFromSeed(hexToBytes(RELEASE_SEED));
const authority = () => signingKeyFromSeed(hexToBytes(AUTHORITY_SEED));
const image = () => new Uint8Array(4096).map((_, i) => i % 251);

function expect(cond: unknown, what: string): void {
  if (!cond) throw new Error(what);
}

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return e instanceof SealbellError ? e.code : `not a SealbellError: ${String(e)}`;
  }
  return 'accepted';
}

/** A/B slots in RAM, with the bootloader's rules (hosts/node/ota-flash.ts has the file-backed ones). */
class RamSlots implements OtaSlots {
  readonly slotSize = 64 * 1024;
  running = 0;
  boot = 0;
  state: string[] = ['valid', 'empty'];
  firmware: (FirmwareInfo | undefined)[] = [{ board: 'esp32_cam', version: '1.0.0', security: 1 }, undefined];
  images: Uint8Array[] = [new Uint8Array(0), new Uint8Array(0)];

  restart(): void {
    if (this.state[this.boot] === 'pending') {
      this.state[this.boot] = 'aborted';
      this.boot = 1 - this.boot;
    } else if (this.state[this.boot] === 'new') this.state[this.boot] = 'pending';
    this.running = this.boot;
  }
  runningState(): RunningState {
    return this.state[this.running] === 'pending' ? 'trial' : 'valid';
  }
  begin(release: ReleaseManifest): OtaWriter {
    const target = 1 - this.running;
    this.state[target] = 'empty';
    const parts: Uint8Array[] = [];
    return {
      write: (b) => void parts.push(b.slice()),
      complete: () => {
        const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
        let at = 0;
        for (const p of parts) (all.set(p, at), (at += p.length));
        this.images[target] = all;
        this.firmware[target] = { board: release.board, version: release.version, security: release.security };
        this.state[target] = 'new';
        this.boot = target;
      },
      abort: () => {},
    };
  }
  markValid(): void {
    this.state[this.running] = 'valid';
  }
  rollback(): void {
    this.state[this.running] = 'invalid';
    this.boot = 1 - this.running;
  }
}

function updater(slots: RamSlots, store: MemoryKeyValueStore): Updater {
  return new Updater({
    slots,
    store,
    firmware: slots.firmware[slots.running]!,
    releaseKey: releaseKey().publicKey,
    deviceId: DEVICE,
    authority: () => authority().publicKey,
    sha256: () => nobleBackend.sha256(),
  });
}

function feed(u: Updater, offer: Parameters<Updater['offer']>[0], bytes: Uint8Array): number | 'installed' {
  const { id } = u.offer(offer);
  let at: number | 'installed' = 0;
  while (typeof at === 'number' && at < bytes.length) at = u.data(id, at, bytes.subarray(at, Math.min(bytes.length, at + 1024)));
  return at;
}

export const cases: Case[] = [
  {
    name: 'update: the vectors of docs/update-format.md verify, and sign to the same text',
    run: () => {
      const r = verifyRelease(utf8ToBytes(MANIFEST), RELEASE_SIG, releaseKey().publicKey);
      expect(r.value.security === 3, 'security');
      verifyAuthorization(utf8ToBytes(AUTHORIZATION), AUTHORIZATION_SIG, authority().publicKey, DEVICE, utf8ToBytes(MANIFEST));
      const again = signRelease(r.value, releaseKey());
      expect(again.signature === RELEASE_SIG, 'the release signature is re-made byte for byte');
      expect(authorizeRelease(again.bytes, DEVICE, authority()).signature === AUTHORIZATION_SIG, 'the authorization is re-made byte for byte');
    },
  },
  {
    name: 'update: install into the inactive slot, boot on trial, mark valid; a downgrade and a corrupted image are refused',
    run: () => {
      const slots = new RamSlots();
      const store = new MemoryKeyValueStore();
      const offer = { release: utf8ToBytes(MANIFEST), releaseSignature: RELEASE_SIG, authorization: utf8ToBytes(AUTHORIZATION), authorizationSignature: AUTHORIZATION_SIG };
      expect(feed(updater(slots, store), offer, image()) === 'installed', 'installed');
      slots.restart();
      expect(slots.runningState() === 'trial' && slots.firmware[slots.running]!.version === '1.4.0', 'boots 1.4.0 on trial');
      const u = updater(slots, store);
      u.selfTest('store', 0);
      u.selfTest('relay', 0);
      expect(slots.runningState() === 'valid' && u.recordedSecurity === 3, 'valid, security 3 recorded');

      const low = signRelease({ v: 1, board: 'esp32_cam', version: '1.3.9', security: 2, size: 4096, sha256: JSON.parse(MANIFEST).sha256 }, releaseKey());
      const lowAuth = authorizeRelease(low.bytes, DEVICE, authority());
      const c1 = code(() => u.offer({ release: low.bytes, releaseSignature: low.signature, authorization: lowAuth.bytes, authorizationSignature: lowAuth.signature }));
      expect(c1 === 'UPDATE_DOWNGRADE', `downgrade: ${c1}`);

      const next = signRelease({ v: 1, board: 'esp32_cam', version: '1.5.0', security: 3, size: 4096, sha256: JSON.parse(MANIFEST).sha256 }, releaseKey());
      const nextAuth = authorizeRelease(next.bytes, DEVICE, authority());
      const bad = image();
      bad[100] ^= 1;
      const before = slots.boot;
      const c2 = code(() => feed(u, { release: next.bytes, releaseSignature: next.signature, authorization: nextAuth.bytes, authorizationSignature: nextAuth.signature }, bad));
      expect(c2 === 'UPDATE_IMAGE_HASH', `corrupted: ${c2}`);
      expect(slots.boot === before && slots.state[slots.running] === 'valid', 'the boot slot is unchanged');
    },
  },
];

runCases(cases);
